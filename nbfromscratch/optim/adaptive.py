"""Per-coordinate step sizes: Adagrad and RMSprop, exactly as in ``torch.optim``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._validation import check_nonnegative, check_unit_interval
from ..layers.module import Parameter
from .base import Optimizer

__all__ = ["Adagrad", "RMSprop"]


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate step sizes shrinking with the sum of squared gradients.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    ::

        lr_t = lr / (1 + (t - 1) * lr_decay)
        g_t = grad + weight_decay * theta              (if weight_decay != 0)
        sum_t = sum_{t-1} + g_t**2                     (sum_0 = initial_accumulator_value)
        theta_t = theta_{t-1} - lr_t * g_t / (sqrt(sum_t) + eps)

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-2
    lr_decay : float, default 0
    weight_decay : float, default 0
    initial_accumulator_value : float, default 0
    eps : float, default 1e-10
    """

    _hyperparameter_names = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params)
        self.lr = check_nonnegative(lr, "Adagrad: lr")
        self.lr_decay = check_nonnegative(lr_decay, "Adagrad: lr_decay")
        self.weight_decay = check_nonnegative(weight_decay, "Adagrad: weight_decay")
        self.initial_accumulator_value = check_nonnegative(
            initial_accumulator_value, "Adagrad: initial_accumulator_value"
        )
        self.eps = check_nonnegative(eps, "Adagrad: eps")
        for p, state in zip(self.params, self.state):
            state["sum"] = np.full_like(p.data, self.initial_accumulator_value)

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                t: int) -> np.ndarray:
        scratch, acc = state["scratch"], state["sum"]
        g = self._grad(theta, grad, state, self.weight_decay)  # g = grad + wd theta
        lr_t = self.lr / (1.0 + (t - 1) * self.lr_decay)
        # s = s + g^2   (7.5)
        np.multiply(g, g, out=scratch)
        acc += scratch
        # theta -= lr g / (sqrt(s) + eps)   (7.5)
        np.sqrt(acc, out=scratch)
        scratch += self.eps
        np.divide(g, scratch, out=scratch)
        scratch *= lr_t
        return scratch


class RMSprop(Optimizer):
    r"""RMSprop: divide by a running root-mean-square of the gradient.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    ::

        g_t = grad + weight_decay * theta              (if weight_decay != 0)
        v_t = alpha * v_{t-1} + (1 - alpha) * g_t**2
        centered: a_t = alpha * a_{t-1} + (1 - alpha) * g_t;   v~_t = v_t - a_t**2
        momentum > 0: b_t = momentum * b_{t-1} + g_t / (sqrt(v~_t) + eps);  theta -= lr * b_t
        else:         theta -= lr * g_t / (sqrt(v~_t) + eps)

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-2
    alpha : float, default 0.99
        Smoothing constant of the running average, in ``[0, 1]``.
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum : float, default 0
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its second moment.
    """

    _hyperparameter_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_nonnegative(lr, "RMSprop: lr")
        self.alpha = check_unit_interval(alpha, "RMSprop: alpha", include_one=True)
        self.eps = check_nonnegative(eps, "RMSprop: eps")
        self.weight_decay = check_nonnegative(weight_decay, "RMSprop: weight_decay")
        self.momentum = check_nonnegative(momentum, "RMSprop: momentum")
        self.centered = bool(centered)

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                t: int) -> np.ndarray:
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(theta)
            if self.centered:
                state["grad_avg"] = np.zeros_like(theta)
            if self.momentum > 0:
                state["momentum_buffer"] = np.zeros_like(theta)
        scratch, sq = state["scratch"], state["square_avg"]
        g = self._grad(theta, grad, state, self.weight_decay)  # g = grad + wd theta
        # v = alpha v + (1 - alpha) g^2   (7.6)
        sq *= self.alpha
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - self.alpha
        sq += scratch
        if self.centered:
            avg = state["grad_avg"]
            avg *= self.alpha
            np.multiply(g, 1.0 - self.alpha, out=scratch)
            avg += scratch
            np.multiply(avg, avg, out=scratch)
            np.subtract(sq, scratch, out=scratch)
            # v_t - a_t**2 is a variance (>= 0), but rounding can push it a hair below
            # zero after many identical gradients, and its square root would be NaN.
            np.maximum(scratch, 0.0, out=scratch)
            np.sqrt(scratch, out=scratch)
        else:
            np.sqrt(sq, out=scratch)
        scratch += self.eps
        np.divide(g, scratch, out=scratch)  # g / (sqrt(v) + eps)   (7.6)
        if self.momentum > 0:
            # b = mu b + g / (sqrt(v) + eps);  theta -= lr b
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += scratch
            return np.multiply(buf, self.lr, out=scratch)
        scratch *= self.lr
        return scratch
