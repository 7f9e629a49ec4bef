"""The training loop: minibatches, forward, loss, backward, optimizer step, repeat.

Derived in chapter 8, *Training* (``chapters/08_training``).

:func:`fit` is the loop the chapter writes by hand, plus what a real run needs: validation
after each epoch, a history table, a progress bar, early stopping, and an immediate,
precise error when the loss, a gradient or a weight stops being a finite number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._fit_inputs import (
    check_finite_data,
    check_loss_fn,
    check_objects,
    check_options,
    check_owner,
    is_classification,
    model_dtype,
    prepare_data,
)

# Re-exported: _StepGuard runs the checked step; _check_gradients explains a refused one.
from ._nonfinite import (  # noqa: F401
    _check_gradients,
    _check_loss,
    _first_nonfinite,
    _modules,
    _StepGuard,
)
from ._validation import as_float, as_rng, check_array, check_not_empty
from .callbacks import Callback, EarlyStopping
from .data import iterate_minibatches
from .exceptions import NonFiniteError
from .layers._checks import seen
from .layers.module import Module, Parameter
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss
from .optim import Optimizer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["fit", "evaluate", "predict"]

CallbackLike = Callable[[int, dict[str, float]], Any] | Callback


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
    callbacks: Sequence[CallbackLike] | None = (),
) -> pd.DataFrame:
    """Train ``model`` on ``(X, y)`` with minibatch gradient descent.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    model : Module
    loss_fn : Loss
        E.g. ``CrossEntropyLoss()`` (then accuracy is reported too) or ``MSELoss()``.
    optimizer : Optimizer
        Built on ``model.parameters()``, or on some of them (the others stay frozen); an
        optimizer holding parameters that are not the model's is refused.
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
        Source of the shuffling, and of the masks of every ``Dropout`` built without its
        own ``rng``: the same seed gives bit-identical weights. A Generator is used as is
        and advanced, so saving it (``nbf.save(..., rng=generator)``) lets a later ``fit``
        resume the same sequence of batches.
    progress : bool, default True
        Show a tqdm progress bar over epochs with the latest losses.
    early_stopping : int, optional
        Shorthand for ``callbacks=[EarlyStopping(patience=early_stopping,
        min_delta=min_delta)]``: stop when ``val_loss`` has not improved by more than
        ``min_delta`` for this many epochs, and restore the weights of the best epoch.
        Needs ``validation_data``.
    min_delta : float, default 0
        Smallest decrease of ``val_loss`` that counts as an improvement.
    callbacks : sequence of Callback objects or functions ``f(epoch, logs)``, or None
        See :mod:`nbfromscratch.callbacks`. Every callback is called after every epoch
        with that epoch's history row; training stops after an epoch in which one of them
        returns a true value (``True``, ``1``...). A learning-rate scheduler
        (``nbf.StepLR(optimizer, 10)``...) is such a callback: it steps once per epoch.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: ``epoch``, ``loss`` (batch losses averaged over the epoch,
        weighted by batch size), ``val_loss`` with ``validation_data``, and
        ``accuracy``/``val_accuracy`` for classification losses (training accuracy is
        measured on the fly, as the weights change; for ``BCEWithLogitsLoss`` with k
        outputs, the fraction of the n*k outputs on the right side of 0). ``history.attrs`` holds
        ``"best_epoch"`` and ``"stopped_early"`` when early stopping is on. The model is
        left in training mode.

    Raises
    ------
    NonFiniteError
        The loss, a gradient or a weight after the optimizer step became NaN or infinite.
        The message names the epoch, the batch and the parameter or the first layer whose
        output went bad; the weights keep their values from before that batch (the
        optimizer's state, e.g. Adam's averages, is that of after it: build a new one).
    """
    # Imported here, not at the top: ``import nbfromscratch`` must stay NumPy-only.
    import pandas as pd

    callbacks = check_objects(loss_fn, optimizer, validation_data, callbacks)
    dtype = model_dtype(model)
    named = model.named_parameters()
    params = [p for _, p in named]
    guard = _StepGuard(model, named, check_owner(model, params, optimizer))
    X, y = prepare_data(model, loss_fn, X, y, dtype, "X", "y")  # checked once, here
    validation = None
    if validation_data is not None:
        X_val, y_val = validation_data
        validation = prepare_data(model, loss_fn, X_val, y_val, dtype, "X_val", "y_val")
    check_options(epochs, batch_size, early_stopping, validation, min_delta)
    if early_stopping is not None:
        callbacks.append(EarlyStopping(patience=early_stopping, min_delta=min_delta))
    if rng is not None or shuffle:  # else made only if a Dropout layer needs one
        rng = as_rng(rng)
    rng = _seed_dropout(model, rng)
    classification = is_classification(loss_fn)
    per_sample = _outputs_per_sample(loss_fn, y)
    rows: list[dict[str, float]] = []
    sizes_checked: set[int] = set()
    for callback in callbacks:
        callback.on_train_begin(model)

    # Overflow to inf/NaN is caught, precisely, as NonFiniteError: NumPy's own
    # RuntimeWarnings about it would only repeat that less clearly.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            _progress_bar(range(1, epochs + 1), progress) as bar:
        for epoch in bar:
            batches = iterate_minibatches(X, y, batch_size, shuffle=shuffle, rng=rng)
            loss_sum, correct = _train_epoch(
                model, loss_fn, optimizer, params, batches, guard, epoch,
                n_batches=math.ceil(len(X) / batch_size), classification=classification,
                sizes_checked=sizes_checked)
            row: dict[str, float] = {"epoch": epoch, "loss": loss_sum / len(X)}
            if validation is not None:
                val = _evaluate(model, loss_fn, *validation)
                _check_loss(val["loss"], epoch)
                row["val_loss"] = val["loss"]
            if classification:
                row["accuracy"] = correct / (len(X) * per_sample)
                if validation is not None:
                    row["val_accuracy"] = val["accuracy"]
            rows.append(row)
            bar.set_postfix({k: f"{v:.4g}" for k, v in row.items() if k != "epoch"}, refresh=False)
            # Every callback sees every epoch, also the one at which another asks to stop.
            if any([bool(c.on_epoch_end(epoch, dict(row), model)) for c in callbacks]):
                break

    # One array per column: pandas builds that faster than from a list of rows.
    history = pd.DataFrame({k: np.array([row[k] for row in rows]) for k in rows[0]}, copy=False)
    for callback in callbacks:
        callback.on_train_end(model, history)
    return history


def _progress_bar(epochs: range, progress: bool) -> Any:
    """tqdm's bar over the epochs, or (``progress=False``) a stand-in that shows nothing."""
    return _tqdm()(epochs, desc="fit", unit="epoch") if progress else _NoBar(epochs)


class _NoBar:
    """The part of tqdm's interface ``fit`` uses, doing nothing: cheaper than a disabled bar."""

    def __init__(self, epochs: range) -> None:
        self.epochs = epochs

    def __iter__(self) -> Iterator[int]:
        return iter(self.epochs)

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        return None


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


def _train_epoch(
    model: Module, loss_fn: Loss, optimizer: Optimizer, params: list[Parameter],
    batches: Iterable[tuple[np.ndarray, np.ndarray]], guard: _StepGuard, epoch: int,
    n_batches: int, classification: bool, sizes_checked: set[int],
) -> tuple[float, int]:
    """One pass over the data: chapter 8's ``train_epoch``, with the checks that make it safe.

    Returns the sum of the batch losses (weighted by batch size) and the count of correct
    predictions (for classification losses). ``sizes_checked``: the batch sizes that have
    run through every layer's checks in this ``fit`` (grows as batches pass).
    """
    model.train()
    loss_sum, correct = 0.0, 0
    # Class labels and the package's CrossEntropyLoss: its forward found every row's
    # arg-max (the predicted class) already; they are compared once, after the epoch.
    predicted: list[np.ndarray] | None = None
    labels: list[np.ndarray] = []
    if classification and type(loss_fn).forward is CrossEntropyLoss.forward:
        predicted = []
    guard.begin_epoch(optimizer)  # the optimizer's arrays: checked once per epoch
    try:
        for batch, (xb, yb) in enumerate(batches, start=1):
            # Every check runs on the first batch of each size; the others pass them anyway.
            seen.on = len(xb) in sizes_checked
            for p in params:  # model.zero_grad(), without walking the module tree
                p.zero_grad()
            out = model(xb)
            loss = loss_fn.forward(out, yb)  # forward only: fit checked the targets once
            _check_loss(loss, epoch, batch, n_batches, model, xb, yb)
            # The input is data: no layer needs dL/dX of it, so skip that product.
            model.backward_params(loss_fn.backward())
            # The step, refused if it would make a weight NaN/inf (gradient or update).
            guard.step(optimizer, model, epoch, batch, n_batches)
            sizes_checked.add(len(xb))
            loss_sum += loss * len(xb)
            if predicted is not None and yb.ndim == 1:
                predicted.append(loss_fn._predicted)  # type: ignore[attr-defined]
                labels.append(yb)
            elif classification:
                correct += _count_correct(out, yb, loss_fn)
    finally:
        seen.on = False
    guard.end_epoch(optimizer, epoch)
    if predicted:
        correct += int(np.count_nonzero(np.concatenate(predicted) == np.concatenate(labels)))
    return loss_sum, correct


def _outputs_per_sample(loss_fn: Loss, y: np.ndarray) -> int:
    """How many decisions accuracy counts per sample: k for k binary outputs, else 1."""
    if isinstance(loss_fn, BCEWithLogitsLoss) and y.ndim == 2:
        return int(y.shape[1])
    return 1


def _count_correct(out: np.ndarray, target: np.ndarray, loss_fn: Loss | None = None) -> int:
    """Correct predictions in a batch: arg-max for class scores, logit > 0 for binary outputs.

    With ``BCEWithLogitsLoss`` every output is its own yes/no decision (counted one by one);
    otherwise several outputs are the scores of one choice among classes.
    """
    if out.ndim == 2 and out.shape[1] > 1 and not isinstance(loss_fn, BCEWithLogitsLoss):
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return int(np.count_nonzero(out.argmax(axis=1) == labels))
    return int(np.count_nonzero((out.reshape(target.shape) > 0) == (target > 0.5)))


def _seed_dropout(model: Module, rng: np.random.Generator | None) -> np.random.Generator | None:
    """Give every Dropout built without its own rng a generator derived from fit's ``rng``.

    ``spawn`` derives independent streams without drawing from ``rng``: the shuffling is
    the same with or without dropout layers. Returns ``rng`` (fresh entropy if it was
    ``None`` and a layer needed it).
    """
    layers = [m for m in _modules(model) if getattr(m, "rng_from_fit", False)]
    if not layers:
        return rng
    rng = as_rng(rng)
    try:
        children = rng.spawn(len(layers))
    except TypeError:  # a bit generator seeded without a SeedSequence (Philox(key=...))
        children = [np.random.default_rng(s) for s in rng.integers(2**63, size=len(layers))]
    for layer, child in zip(layers, children):
        layer.rng = child  # type: ignore[attr-defined]
    return rng


def evaluate(model: Module, loss_fn: Loss, X: Any, y: Any) -> dict[str, float]:
    """Loss (and accuracy, for classification losses) of ``model`` on a whole data set.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Runs in evaluation mode (e.g. no dropout) and restores the model's previous mode.
    ``X`` and ``y`` are checked as :func:`fit` checks them (finite, matching the model and
    the loss), and a non-finite loss raises as in ``fit``.

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
        ``BCEWithLogitsLoss`` (for k binary outputs: the fraction of the n*k outputs right).

    Raises
    ------
    NonFiniteError
        NaN or inf in ``X`` or ``y``, or a loss that is not finite (diverged weights).
    """
    check_loss_fn(loss_fn, "evaluate")
    dtype = model_dtype(model, who="evaluate")
    X, y = prepare_data(model, loss_fn, X, y, dtype, "X", "y")
    scores = _evaluate(model, loss_fn, X, y)
    if not math.isfinite(scores["loss"]):
        raise NonFiniteError(
            f"evaluate: the loss is {scores['loss']}; {_first_nonfinite(model, X, y)}"
        )
    return scores


def _evaluate(model: Module, loss_fn: Loss, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """:func:`evaluate` on data already checked (fit's validation data, every epoch)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _predict(model, X)
        scores = {"loss": loss_fn(out, y)}
    if is_classification(loss_fn):
        scores["accuracy"] = _count_correct(out, y, loss_fn) / (
            len(y) * _outputs_per_sample(loss_fn, y))
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

    Raises
    ------
    NonFiniteError
        NaN or inf in ``X``, or in the outputs of finite ``X`` (diverged weights).
    """
    dtype = model_dtype(model, who="predict")
    X = check_array(as_float(X, "X", dtype=dtype), "X", ndim=2)
    check_not_empty(X, "X")
    check_finite_data(X, "X")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _predict(model, X)
    if not math.isfinite(np.sum(out)) and not np.isfinite(out).all():
        raise NonFiniteError(f"predict: the outputs hold NaN/inf; {_first_nonfinite(model, X)}")
    return out


def _predict(model: Module, X: np.ndarray) -> np.ndarray:
    was_training = model.training
    model.eval()
    try:
        return model(X)
    finally:
        model.train(was_training)
