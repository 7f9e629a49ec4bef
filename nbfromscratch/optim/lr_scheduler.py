"""Learning-rate schedules with PyTorch's names and semantics (``torch.optim.lr_scheduler``).

Derived in chapter 8, *Training* (``chapters/08_training``).

A scheduler owns one optimizer and sets its ``lr``. Creating it sets the rate of epoch 0;
each :meth:`LRScheduler.step` (once per epoch, *after* that epoch's optimizer steps) moves to
the next epoch's rate. Every schedule here is a closed-form function of the epoch count
``t`` (``last_epoch``) and the initial rate ``base_lr``, so resuming from
:meth:`LRScheduler.state_dict` gives exactly the rates of an uninterrupted run.

With :func:`~nbfromscratch.training.fit`, pass the scheduler in ``callbacks``: a scheduler
is a callback that steps once per epoch (``fit(..., callbacks=[StepLR(opt, 10)])``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_nonnegative, check_positive_int
from ..callbacks import Callback
from ..exceptions import ArgumentTypeError, ParameterError
from ..layers.module import Parameter
from .base import Optimizer
from .sgd import SGD

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR"]


class LRScheduler(Callback):
    """Base class: ``lr = lr_at(t)`` after ``t`` calls of :meth:`step`.

    Also a :class:`~nbfromscratch.callbacks.Callback`: ``fit(..., callbacks=[scheduler])``
    steps it at the end of every epoch.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    optimizer : Optimizer
    last_epoch : int, default -1
        ``-1`` starts a new schedule from the optimizer's current ``lr``; to resume, prefer
        :meth:`load_state_dict`.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ArgumentTypeError(
                f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            optimizer.initial_lr = optimizer.lr  # as PyTorch's param_groups' "initial_lr"
        elif not hasattr(optimizer, "initial_lr"):
            raise ParameterError(
                f"{type(self).__name__}: last_epoch={last_epoch} resumes a schedule, but the "
                "optimizer has no initial_lr (load its state_dict first)"
            )
        self.base_lr = float(optimizer.initial_lr)
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, t: int) -> float:
        """The learning rate after ``t`` steps (``t = 0``: the start)."""
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch's learning rate (call after the epoch's optimizer steps)."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self) -> list[float]:
        """The learning rate set by the last :meth:`step`, as a list (one per group)."""
        return list(self._last_lr)

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> None:
        """As a :func:`fit` callback: one :meth:`step` at the end of each epoch."""
        self.step()

    def __call__(self, epoch: int, logs: dict[str, float]) -> None:
        """The same step, for a hand-written loop that calls its callbacks as functions."""
        self.step()

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (whose own state_dict holds ``lr``), as in PyTorch."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output, and the optimizer's ``lr`` to its last rate."""
        if not isinstance(state_dict, dict) or set(state_dict) != set(self.state_dict()):
            raise ParameterError(
                f"{type(self).__name__}.load_state_dict(): expected the keys "
                f"{sorted(self.state_dict())}, "
                f"got {sorted(state_dict) if isinstance(state_dict, dict) else state_dict!r}"
            )
        last_epoch, last_lr = state_dict["last_epoch"], state_dict["_last_lr"]
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < 0:
            raise ParameterError(
                f"{type(self).__name__}.load_state_dict(): last_epoch must be an int >= 0, "
                f"got {last_epoch!r}"
            )
        if not isinstance(last_lr, list) or len(last_lr) != 1:
            raise ParameterError(
                f"{type(self).__name__}.load_state_dict(): _last_lr must be a list of one "
                f"rate, got {last_lr!r}"
            )
        check_nonnegative(last_lr[0], f"{type(self).__name__}.load_state_dict(): _last_lr[0]")
        base_lr = check_nonnegative(
            state_dict["base_lr"], f"{type(self).__name__}.load_state_dict(): base_lr"
        )
        # The schedule's own settings are checked by its constructor, on a throwaway optimizer.
        settings = {k: v for k, v in state_dict.items()
                    if k not in ("base_lr", "last_epoch", "_last_lr")}
        try:
            type(self)(SGD([Parameter(np.zeros(1))], lr=base_lr), **settings)
        except TypeError as err:  # a setting of a wrong type the checks did not name
            raise ParameterError(f"{type(self).__name__}.load_state_dict(): {err}") from None
        self.__dict__.update(state_dict)
        self._last_lr = list(self._last_lr)
        # Building this scheduler set a rate of its own (OneCycleLR's start, say): put back
        # the one the saved schedule had reached, and the rate it started from.
        self.optimizer.lr = float(self._last_lr[0])
        self.optimizer.initial_lr = float(self.base_lr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.optimizer.lr:.4g})"


class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (t // step_size)``: divide by ``1/gamma`` every ``step_size`` epochs.

    Derived in chapter 8, *Training* (``chapters/08_training``).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = check_positive_int(step_size, "StepLR: step_size")
        self.gamma = check_nonnegative(gamma, "StepLR: gamma")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """``lr = base_lr * gamma ** t``.

    Derived in chapter 8, *Training* (``chapters/08_training``).
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_nonnegative(gamma, "ExponentialLR: gamma")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs (PyTorch's
    closed form; past ``T_max`` it climbs again, as PyTorch's does).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = check_positive_int(T_max, "CosineAnnealingLR: T_max")
        self.eta_min = check_nonnegative(eta_min, "CosineAnnealingLR: eta_min")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Linear warm-up: the factor goes from ``start_factor`` to ``end_factor`` in ``total_iters`` epochs.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    ``lr = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)``
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        for name, factor in (("start_factor", start_factor), ("end_factor", end_factor)):
            check_nonnegative(factor, f"LinearLR: {name}")
            if not 0 < factor <= 1:
                raise ParameterError(f"LinearLR: {name} must be in (0, 1], got {factor}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = check_positive_int(total_iters, "LinearLR: total_iters")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> float:
        frac = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up to ``max_lr``, then anneal far below the start (cosine).

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Over ``total_steps`` steps: from ``max_lr / div_factor`` up to ``max_lr`` during the first
    ``pct_start`` of them, then down to ``max_lr / (div_factor * final_div_factor)``, each
    phase a half cosine (PyTorch's ``anneal_strategy="cos"``, ``three_phase=False``). As
    PyTorch, it sets ``lr`` itself (the optimizer's ``lr`` is ignored); unlike PyTorch's
    default it does not cycle the momentum (``cycle_momentum=False``). PyTorch steps it
    once per batch; with :func:`fit` (one step per epoch) use ``total_steps=epochs``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float, total_steps: int,
                 pct_start: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, last_epoch: int = -1) -> None:
        self.max_lr = check_nonnegative(max_lr, "OneCycleLR: max_lr")
        self.total_steps = check_positive_int(total_steps, "OneCycleLR: total_steps")
        if not 0 <= check_nonnegative(pct_start, "OneCycleLR: pct_start") <= 1:
            raise ParameterError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        self.pct_start = float(pct_start)
        self.div_factor = check_nonnegative(div_factor, "OneCycleLR: div_factor")
        self.final_div_factor = check_nonnegative(final_div_factor, "OneCycleLR: final_div_factor")
        if last_epoch == -1:
            optimizer.lr = self.max_lr / self.div_factor
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> float:
        if t >= self.total_steps:
            raise ParameterError(
                f"OneCycleLR: stepped {t + 1} times, but total_steps={self.total_steps}"
            )
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        peak = float(self.pct_start * self.total_steps) - 1  # step of max_lr, as PyTorch
        last = self.total_steps - 1
        if t <= peak and peak > 0:
            return _cos_anneal(initial, self.max_lr, t / peak)
        peak = max(peak, 0.0)
        return _cos_anneal(self.max_lr, final, (t - peak) / (last - peak) if last > peak else 1.0)


def _cos_anneal(start: float, end: float, pct: float) -> float:
    """From ``start`` (pct = 0) to ``end`` (pct = 1) along half a cosine."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
