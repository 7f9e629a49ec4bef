"""The checks ``fit`` runs once, at its boundary, before the first batch.

Derived in chapter 8, *Training* (``chapters/08_training``).

Arguments that are objects (loss, optimizer, callbacks) must be the right kind of thing,
options must be in range, and the data must be what the model takes: 2-D, finite, of the
model's dtype, with targets that match the loss. Everything found here would otherwise stop
training half-way, in some later batch, with a less precise message.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._labels import check_labels
from ._validation import (
    as_array,
    as_float,
    check_array,
    check_finite,
    check_nonnegative,
    check_not_empty,
    check_positive_int,
    check_same_length,
    is_int,
    kind_of,
)
from .callbacks import Callback, as_callbacks
from .exceptions import (
    ArgumentTypeError,
    DTypeError,
    LabelError,
    ParameterError,
    ShapeError,
)
from .layers.module import Module, Parameter
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss

__all__ = [
    "check_loss_fn", "check_objects", "check_owner", "model_dtype", "check_options", "is_classification",
    "prepare_data", "check_finite_data", "probe_outputs",
]


def check_loss_fn(loss_fn: Any, who: str) -> None:
    """A loss object (an instance, not the class): callable, with ``backward``."""
    if isinstance(loss_fn, (type, Module)) or not (callable(loss_fn) and hasattr(loss_fn, "backward")):
        raise ArgumentTypeError(
            f"{who}: loss_fn must be a loss such as CrossEntropyLoss(), got {kind_of(loss_fn)}"
        )


def check_objects(loss_fn: Any, optimizer: Any, validation_data: Any, callbacks: Any) -> list[Callback]:
    """The arguments of fit that are objects, not data: the right kinds of thing?

    Returns the callbacks as a list of :class:`~nbfromscratch.callbacks.Callback` (functions
    wrapped; ``None`` means none).
    """
    check_loss_fn(loss_fn, "fit")
    if isinstance(optimizer, type) or not hasattr(optimizer, "step"):
        raise ArgumentTypeError(
            f"fit: optimizer must be an optimizer such as Adam(model.parameters()), "
            f"got {kind_of(optimizer)}"
        )
    if validation_data is not None and (
            not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
        raise ArgumentTypeError("fit: validation_data must be a pair (X_val, y_val)")
    return [] if callbacks is None else as_callbacks(callbacks)


def check_owner(model: Module, params: list[Parameter], optimizer: Any) -> list[Parameter]:
    """The parameters ``optimizer`` steps, all of them the model's (some may stay frozen).

    An optimizer built on another model's parameters would train nothing and say nothing;
    one holding foreign parameters would change another model. An optimizer without a
    ``params`` list (hand-written) may change any of the model's parameters.
    """
    owned = getattr(optimizer, "params", None)
    if owned is None:
        return params
    ours = {id(p) for p in params}
    foreign = [i for i, p in enumerate(owned) if id(p) not in ours]
    if foreign and len(foreign) == len(owned):
        raise ArgumentTypeError(
            f"fit: the optimizer holds none of the model's parameters (built on another "
            f"model?); build it on this one: {type(optimizer).__name__}(model.parameters())"
        )
    if foreign:
        raise ParameterError(
            f"fit: {len(foreign)} of the optimizer's {len(owned)} parameters are not the "
            f"model's, the first optimizer.params[{foreign[0]}]; fit would change another "
            "model: build the optimizer on model.parameters() (or a subset of them)"
        )
    return list(owned)


def model_dtype(model: Module, who: str = "fit") -> np.dtype:
    if not isinstance(model, Module):
        raise ArgumentTypeError(f"{who}: model must be a Module, got {kind_of(model)}")
    dtype = model.dtype
    if dtype is None:
        raise ParameterError(f"{who}: {type(model).__name__} has no parameters to train")
    return np.dtype(dtype)


def check_options(
    epochs: int, batch_size: int, early_stopping: int | None, validation: Any, min_delta: float
) -> None:
    check_positive_int(epochs, "fit: epochs")
    check_positive_int(batch_size, "fit: batch_size")
    if early_stopping is not None:
        if not is_int(early_stopping) or early_stopping < 1:
            raise ParameterError(
                f"fit: early_stopping is the patience in epochs (a positive int), got {early_stopping!r}"
            )
        if validation is None:
            raise ParameterError("fit: early_stopping watches val_loss, so it needs validation_data")
    check_nonnegative(min_delta, "fit: min_delta")


def is_classification(loss_fn: Loss) -> bool:
    return isinstance(loss_fn, (CrossEntropyLoss, BCEWithLogitsLoss))


def prepare_data(
    model: Module, loss_fn: Loss, X: Any, y: Any, dtype: np.dtype, x_name: str, y_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate once, at the boundary: 2-D finite X of the model's dtype, matching y."""
    X = check_array(as_float(X, x_name, dtype=dtype), x_name, ndim=2)
    check_not_empty(X, x_name)
    check_finite_data(X, x_name)
    y_arr = as_array(y, y_name)
    check_same_length(X, y_arr, x_name, y_name)
    # Ask the model, once, what it makes of one row: X's width and y's shape are checked
    # here, naming X_val/y_val, not in some later batch or after the first epoch.
    out_shape = probe_outputs(model, X, x_name)
    if isinstance(loss_fn, CrossEntropyLoss) and y_arr.ndim == 2 and y_arr.shape[1] == 1:
        raise ShapeError(
            f"{y_name}: has shape {y_arr.shape}, but CrossEntropyLoss takes class labels of "
            f"shape (n,): pass {y_name}.ravel() (or one-hot rows of shape (n, n_classes))"
        )
    if isinstance(loss_fn, CrossEntropyLoss) and y_arr.ndim == 1:
        # Labels must index the model's outputs.
        return X, check_labels(y_arr, out_shape[-1], y_name)
    if isinstance(loss_fn, (CrossEntropyLoss, BCEWithLogitsLoss, MSELoss)):
        fits = y_arr.shape[1:] == out_shape or (y_arr.ndim == 1 and out_shape == (1,))
        if not fits:
            raise ShapeError(
                f"{y_name}: has shape {y_arr.shape}, but the model gives outputs of shape "
                f"(n, {', '.join(map(str, out_shape))}) and {type(loss_fn).__name__} compares "
                "them element by element"
            )
    y_arr = as_float(y_arr, y_name, dtype=dtype)
    check_finite_data(y_arr, y_name)
    if is_classification(loss_fn) and y_arr.size and (y_arr.min() < 0 or y_arr.max() > 1):
        # Checked here, once: found in some later batch, it would stop training half-way.
        raise LabelError(
            f"{y_name}: the targets of {type(loss_fn).__name__} are probabilities or 0/1 "
            f"labels and must lie in [0, 1], found values from {y_arr.min()} to {y_arr.max()}"
        )
    return X, y_arr


def check_finite_data(x: np.ndarray, name: str) -> None:
    """``check_finite`` with a fast path: if ``sum(x * x)`` is finite, so is every element.

    One BLAS dot product reads the data once and allocates nothing, where
    ``isfinite(x).all()`` also writes a boolean array as large as ``x``. Only a non-finite
    result (a NaN or inf, or the overflow of huge finite values) pays for the element-wise
    check and its precise message.
    """
    if not math.isfinite(np.vdot(x, x)):
        check_finite(x, name)


def probe_outputs(model: Module, X: np.ndarray, x_name: str) -> tuple[int, ...]:
    """The shape of one output row, from a forward pass on ``X[:1]`` in evaluation mode.

    A wrong width of ``X`` is reported naming ``x_name``, with the layer's own message.
    """
    was_training = model.training
    model.eval()
    try:
        with np.errstate(all="ignore"):  # diverged weights are reported later, precisely
            return tuple(model(X[:1]).shape[1:])
    except (ShapeError, DTypeError) as err:
        raise type(err)(f"{x_name}: does not fit the model ({err})") from None
    finally:
        model.train(was_training)
