"""Callbacks: what :func:`~nbfromscratch.fit` does at the end of every epoch, as objects.

Derived in chapter 8, *Training* (``chapters/08_training``).

One protocol for every extension of the loop: ``fit`` calls ``on_train_begin(model)`` once,
``on_epoch_end(epoch, logs, model)`` on **every** callback after **every** epoch (``logs`` is
that epoch's history row), and ``on_train_end(model, history)`` once at the end, even when a
callback stopped the run early. A callback asks to stop by returning something true from
``on_epoch_end``. A plain function ``f(epoch, logs)`` is accepted too and wrapped in
:class:`LambdaCallback`. Early stopping and the estimators' convergence rule are written
here as callbacks a reader could have written.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_nonnegative, check_positive_int, kind_of
from .exceptions import ArgumentTypeError, UnknownNameError

if TYPE_CHECKING:
    import pandas as pd

    from .layers.module import Module

__all__ = ["Callback", "LambdaCallback", "EarlyStopping", "Plateau", "as_callbacks"]


class Callback:
    """Base class: override the hooks you need; each default does nothing."""

    def on_train_begin(self, model: Module) -> None:
        """Called once, before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Module) -> Any:
        """Called after every epoch with its history row; return ``True`` to stop."""

    def on_train_end(self, model: Module, history: pd.DataFrame) -> None:
        """Called once, after the last epoch (also after an early stop)."""


class LambdaCallback(Callback):
    """A function ``f(epoch, logs)`` as a callback; its truthy result stops training."""

    def __init__(self, function: Callable[[int, dict[str, float]], Any]) -> None:
        self.function = function

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Module) -> Any:
        return self.function(epoch, dict(logs))

    def __repr__(self) -> str:
        return f"LambdaCallback({getattr(self.function, '__name__', self.function)!r})"


class _Watch(Callback):
    """Shared bookkeeping: the best value of one history column so far, and when it was."""

    def __init__(self, monitor: str, patience: int, min_delta: float, who: str) -> None:
        check_positive_int(patience, f"{who}: patience")
        check_nonnegative(min_delta, f"{who}: min_delta")
        if not isinstance(monitor, str):
            raise ArgumentTypeError(f"{who}: monitor must be a column name (str), got {monitor!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)

    def on_train_begin(self, model: Module) -> None:
        self.best, self.best_epoch, self.stale = math.inf, 0, 0

    def _value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise UnknownNameError(
                f"{type(self).__name__}: monitor={self.monitor!r} is not in the history; "
                f"columns are {sorted(logs)}"
                + (" (val_loss needs validation_data)" if self.monitor.startswith("val_") else "")
            )
        return logs[self.monitor]


class EarlyStopping(_Watch):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs, then put back the weights of the best epoch.

    ``fit(..., early_stopping=p, min_delta=d)`` is shorthand for
    ``callbacks=[EarlyStopping(patience=p, min_delta=d)]``. After training,
    ``history.attrs`` holds ``"best_epoch"`` and ``"stopped_early"``.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, monitor: str = "val_loss",
                 restore_best_weights: bool = True) -> None:
        super().__init__(monitor, patience, min_delta, "EarlyStopping")
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, model: Module) -> None:
        super().on_train_begin(model)
        self.state: dict[str, np.ndarray] | None = None
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Module) -> bool:
        value = self._value(logs)
        if value < self.best - self.min_delta:  # an improvement: remember these weights
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.state = model.state_dict()
            return False
        self.stopped = epoch - self.best_epoch >= self.patience
        return self.stopped

    def on_train_end(self, model: Module, history: pd.DataFrame) -> None:
        if self.restore_best_weights and self.state is not None:
            model.load_state_dict(self.state)
        history.attrs["best_epoch"] = self.best_epoch
        history.attrs["stopped_early"] = self.stopped

    def __repr__(self) -> str:
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"monitor={self.monitor!r}, restore_best_weights={self.restore_best_weights})")


class Plateau(_Watch):
    """scikit-learn's convergence rule: stop when ``monitor`` (the training loss by default)
    has not improved by ``tol`` for more than ``patience`` consecutive epochs.

    The estimators use it when ``early_stopping=False``, with ``tol`` and
    ``n_iter_no_change``. Unlike :class:`EarlyStopping`, it keeps the last weights.
    """

    def __init__(self, tol: float = 1e-4, patience: int = 10, monitor: str = "loss") -> None:
        super().__init__(monitor, patience, tol, "Plateau")

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Module) -> bool:
        value = self._value(logs)
        self.stale = self.stale + 1 if value > self.best - self.min_delta else 0
        self.best = min(self.best, value)
        return self.stale > self.patience

    def __repr__(self) -> str:
        return f"Plateau(tol={self.min_delta}, patience={self.patience}, monitor={self.monitor!r})"


def as_callbacks(callbacks: Any, who: str = "fit") -> list[Callback]:
    """``callbacks`` as a list of :class:`Callback`: plain functions are wrapped."""
    what = "a list of Callback objects or functions callback(epoch, logs)"
    if isinstance(callbacks, Callback) or callable(callbacks) and not isinstance(callbacks, type):
        raise ArgumentTypeError(
            f"{who}: callbacks must be {what}, got {kind_of(callbacks)} "
            "(wrap a single one in a list: [f])"
        )
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise ArgumentTypeError(f"{who}: callbacks must be {what}, got {kind_of(callbacks)}")
    out: list[Callback] = []
    for i, c in enumerate(callbacks):
        if isinstance(c, Callback):
            out.append(c)
        elif callable(c) and not isinstance(c, type):
            out.append(LambdaCallback(c))
        else:
            raise ArgumentTypeError(
                f"{who}: callbacks[{i}] must be a function callback(epoch, logs) or a Callback, "
                f"got {kind_of(c)}"
            )
    return out

