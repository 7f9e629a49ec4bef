"""The training loop: minibatches, forward, loss, backward, optimizer step, repeat.

Derived in chapter 8, *Training* (``chapters/08_training``).

:func:`fit` is the loop the chapter writes by hand, plus what a real run needs: validation
after each epoch, a history table, a progress bar, early stopping, and an immediate,
precise error when the loss or a gradient stops being a finite number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._fit_inputs import (
    check_finite_data,
    check_objects,
    check_options,
    is_classification,
    model_dtype,
    prepare_data,
)
from ._validation import as_array, as_float, as_rng, check_array, check_not_empty, describe
from .data import iterate_minibatches
from .exceptions import ArgumentTypeError, NonFiniteError
from .layers.module import Module, Parameter
from .losses import Loss
from .optim import Optimizer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["fit", "evaluate", "predict"]

Callback = Callable[[int, dict[str, float]], Any]


def fit(
    model: Module,
    loss_fn: Loss,
    optimizer: Optimizer,
    X: Any,
    y: Any,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    progress: bool = True,
    early_stopping: int | None = None,
    min_delta: float = 0.0,
    callbacks: Sequence[Callback] = (),
) -> pd.DataFrame:
    """Train ``model`` on ``(X, y)`` with minibatch gradient descent.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    model : Module
    loss_fn : Loss
        E.g. ``CrossEntropyLoss()`` (then accuracy is reported too) or ``MSELoss()``.
    optimizer : Optimizer
        Built on ``model.parameters()``.
    X : array_like, shape (n, n_features)
        Converted to the model's dtype (the one deliberate conversion).
    y : array_like, shape (n,) or (n, k)
        Integer labels for ``CrossEntropyLoss``; otherwise targets, converted to the
        model's dtype.
    epochs : int, default 10
        Passes over the data.
    batch_size : int, default 32
    validation_data : (X_val, y_val), optional
        Evaluated (in eval mode) after every epoch.
    shuffle : bool, default True
        One new random permutation of the samples per epoch.
    rng : Generator, int seed or None
        Source of the shuffling: the same seed gives bit-identical weights. A Generator is
        used as is and advanced, so saving it (``nbf.save(..., rng=generator)``) lets a
        later ``fit`` resume the same sequence of batches.
    progress : bool, default True
        Show a tqdm progress bar over epochs with the latest losses.
    early_stopping : int, optional
        Patience: stop when ``val_loss`` has not improved by more than ``min_delta`` for
        this many epochs, and restore the weights of the best epoch (also when training
        runs to the end). Needs ``validation_data``.
    min_delta : float, default 0
        Smallest decrease of ``val_loss`` that counts as an improvement.
    callbacks : sequence of callables
        ``callback(epoch, logs)`` after every epoch, ``logs`` being that epoch's history
        row as a dict; returning ``True`` stops training. A learning-rate scheduler
        (``nbf.StepLR(optimizer, 10)``...) is such a callback: it steps once per epoch.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: ``epoch``, ``loss`` (batch losses averaged over the epoch,
        weighted by batch size), ``val_loss`` with ``validation_data``, and
        ``accuracy``/``val_accuracy`` for classification losses (training accuracy is
        measured on the fly, as the weights change). ``history.attrs`` holds
        ``"best_epoch"`` and ``"stopped_early"`` when early stopping is on. The model is
        left in training mode.

    Raises
    ------
    NonFiniteError
        The loss or a gradient became NaN or infinite. The message names the epoch, the
        batch and the parameter or the first layer whose output went bad; the weights keep
        their values from before that batch. (Only an optimizer step whose update itself
        overflows, with finite gradients, can leave non-finite weights; the message of the
        next batch then says so.)
    """
    # Imported here, not at the top: ``import nbfromscratch`` must stay NumPy-only.
    import pandas as pd
    tqdm = _tqdm()

    check_objects(loss_fn, optimizer, validation_data, callbacks)
    dtype = model_dtype(model)
    X, y = prepare_data(model, loss_fn, X, y, dtype, "X", "y")
    validation = None
    if validation_data is not None:
        X_val, y_val = validation_data
        validation = prepare_data(model, loss_fn, X_val, y_val, dtype, "X_val", "y_val")
    check_options(epochs, batch_size, early_stopping, validation, min_delta)
    rng = as_rng(rng)
    named = model.named_parameters()
    params = [p for _, p in named]
    n_batches = math.ceil(len(X) / batch_size)
    classification = is_classification(loss_fn)
    best = _BestWeights(early_stopping, min_delta) if early_stopping is not None else None
    rows: list[dict[str, float]] = []

    # Overflow to inf/NaN is caught below, precisely, as NonFiniteError: NumPy's own
    # RuntimeWarnings about it would only repeat that less clearly.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            tqdm(range(1, epochs + 1), desc="fit", unit="epoch", disable=not progress) as bar:
        for epoch in bar:
            model.train()
            loss_sum, correct = 0.0, 0
            batches = iterate_minibatches(X, y, batch_size, shuffle=shuffle, rng=rng)
            for batch, (xb, yb) in enumerate(batches, start=1):
                for p in params:  # model.zero_grad(), without walking the module tree
                    p.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                _check_loss(loss, epoch, batch, n_batches, model, xb)
                # The input is data: no layer needs dL/dX of it, so skip that product.
                model.backward_params(loss_fn.backward())
                _check_gradients(model, named, epoch, batch, n_batches)  # before the step
                optimizer.step()
                loss_sum += loss * len(xb)
                if classification:
                    correct += _count_correct(out, yb)

            row: dict[str, float] = {"epoch": epoch, "loss": loss_sum / len(X)}
            if validation is not None:
                val = evaluate(model, loss_fn, *validation)
                _check_loss(val["loss"], epoch)
                row["val_loss"] = val["loss"]
            if classification:
                row["accuracy"] = correct / len(X)
                if validation is not None:
                    row["val_accuracy"] = val["accuracy"]
            rows.append(row)
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k != "epoch"}, refresh=False)

            stop = any(callback(epoch, dict(row)) is True for callback in callbacks)
            if best is not None and best.update(epoch, row["val_loss"], model):
                stop = True
            if stop:
                break

    history = pd.DataFrame(rows)
    if best is not None:
        best.restore(model)
        history.attrs["best_epoch"] = best.epoch
        history.attrs["stopped_early"] = len(rows) < epochs
    return history


def _tqdm() -> Any:
    """tqdm's bar for where we run: a notebook widget with ipywidgets, else the text bar.

    Without ipywidgets, ``tqdm.auto`` warns ("IProgress not found") into the notebook's
    output and falls back to the text bar; that bar is fine, so the warning is dropped.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        from tqdm.auto import tqdm
    return tqdm


class _BestWeights:
    """Early-stopping bookkeeping: the best validation loss so far and its weights."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.loss, self.epoch = math.inf, 0
        self.state: dict[str, np.ndarray] | None = None

    def update(self, epoch: int, val_loss: float, model: Module) -> bool:
        """Record an epoch's result; ``True`` when patience has run out."""
        if val_loss < self.loss - self.min_delta:
            self.loss, self.epoch, self.state = val_loss, epoch, model.state_dict()
            return False
        return epoch - self.epoch >= self.patience

    def restore(self, model: Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


def _check_loss(
    loss: float, epoch: int, batch: int | None = None, n_batches: int = 0,
    model: Module | None = None, xb: np.ndarray | None = None,
) -> None:
    if math.isfinite(loss):
        return
    if batch is None:
        raise NonFiniteError(f"fit: the validation loss is {loss} after epoch {epoch}")
    where = "" if model is None or xb is None else f"; {_first_nonfinite(model, xb)}"
    raise NonFiniteError(
        f"fit: the loss is {loss} at epoch {epoch}, batch {batch} of {n_batches}{where}; the "
        "weights keep their values from before this batch (try a smaller learning rate, or "
        "check the data)"
    )


def _first_nonfinite(model: Module, xb: np.ndarray) -> str:
    """Where a non-finite loss comes from: a weight, a layer's output, or the loss itself.

    Runs only after the loss has gone bad, so it may replay the forward pass layer by layer.
    """
    for name, p in model.named_parameters():
        if not np.isfinite(p.data).all():
            owner = next(m for m in _modules(model) if any(v is p for v in vars(m).values()))
            return (
                f"parameter '{name}' of {describe(owner)} is already NaN/inf (the previous "
                "optimizer step overflowed it, so these weights are not usable)"
            )
    layers = list(model) if hasattr(model, "__iter__") else [model]
    x = xb
    for i, layer in enumerate(layers):
        x = layer(x)
        if not np.isfinite(x).all():
            label = f"layer {i} ({describe(layer)})" if len(layers) > 1 else describe(layer)
            return f"the output of {label} is the first to hold NaN/inf"
    return "the model's output is finite, so the loss itself overflowed (check the targets' scale)"


















def _count_correct(out: np.ndarray, target: np.ndarray) -> int:
    """Correct predictions in a batch: arg-max for class scores, logit > 0 for one output."""
    if out.ndim == 2 and out.shape[1] > 1:
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return int(np.count_nonzero(out.argmax(axis=1) == labels))
    return int(np.count_nonzero((out.reshape(target.shape) > 0) == (target > 0.5)))


def _modules(module: Module) -> Iterator[Module]:
    yield module
    for child in module.children():
        yield from _modules(child)


def _check_gradients(
    model: Module, named: list[tuple[str, Parameter]], epoch: int, batch: int, n_batches: int
) -> None:
    """Raise before the optimizer step if any gradient holds a NaN or an infinity."""
    for name, p in named:
        # One BLAS dot product, no temporary array: a NaN or inf anywhere makes sum(g * g)
        # non-finite. A huge but finite gradient can overflow it too: confirm element-wise.
        if math.isfinite(np.vdot(p.grad, p.grad)) or np.isfinite(p.grad).all():
            continue
        owner = next(m for m in _modules(model) if any(v is p for v in vars(m).values()))
        raise NonFiniteError(
            f"fit: the gradient of parameter '{name}' of {describe(owner)} contains NaN or "
            f"inf at epoch {epoch}, batch {batch} of {n_batches}; the weights keep their "
            "values from before this batch (try a smaller learning rate)"
        )


def evaluate(model: Module, loss_fn: Loss, X: Any, y: Any) -> dict[str, float]:
    """Loss (and accuracy, for classification losses) of ``model`` on a whole data set.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Runs in evaluation mode (e.g. no dropout) and restores the model's previous mode.

    Parameters
    ----------
    model : Module
    loss_fn : Loss
    X : array_like, shape (n, n_features)
    y : array_like, shape (n,) or (n, k)

    Returns
    -------
    dict
        ``{"loss": float}``, plus ``"accuracy"`` for ``CrossEntropyLoss`` and
        ``BCEWithLogitsLoss``.
    """
    out = predict(model, X)
    y = as_array(y, "y")
    scores = {"loss": loss_fn(out, y)}
    if is_classification(loss_fn):
        scores["accuracy"] = _count_correct(out, y) / len(y)
    return scores


def predict(model: Module, X: Any) -> np.ndarray:
    """The model's raw outputs (e.g. logits) for ``X``, computed in evaluation mode.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    model : Module
    X : array_like, shape (n, n_features)
        Converted to the model's dtype.

    Returns
    -------
    ndarray, shape (n, n_outputs)
    """
    if not isinstance(model, Module):
        raise ArgumentTypeError(f"predict: model must be a Module, got {type(model).__name__}")
    X = check_array(as_float(X, "X", dtype=model.dtype), "X", ndim=2)
    check_not_empty(X, "X")
    check_finite_data(X, "X")
    was_training = model.training
    model.eval()
    try:
        return model(X)
    finally:
        model.train(was_training)
