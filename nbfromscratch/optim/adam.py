"""Adam and AdamW (decoupled weight decay), exactly as in ``torch.optim``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .._validation import check_nonnegative
from ..layers.module import Parameter
from .base import Optimizer, check_betas

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: momentum on the gradient and on its square, with bias correction.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    ::

        g_t = grad + weight_decay * theta              (if weight_decay != 0)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2
        m^_t = m_t / (1 - beta1**t);   v^_t = v_t / (1 - beta2**t)
        theta_t = theta_{t-1} - lr * m^_t / (sqrt(v^_t) + eps)

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty added to the gradient (for decoupled decay use :class:`AdamW`).
    """

    #: AdamW sets this: decay the weights directly instead of adding to the gradient.
    _decoupled = False

    _hyperparameter_names = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        name = type(self).__name__
        self.lr = check_nonnegative(lr, f"{name}: lr")
        self.betas = check_betas(betas, name)
        self.eps = check_nonnegative(eps, f"{name}: eps")
        self.weight_decay = check_nonnegative(weight_decay, f"{name}: weight_decay")

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                t: int) -> np.ndarray:
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(theta)
            state["exp_avg_sq"] = np.zeros_like(theta)
        scratch, m, v = state["scratch"], state["exp_avg"], state["exp_avg_sq"]
        beta1, beta2 = self.betas
        if self._decoupled:
            g = grad  # AdamW decays the weights in _apply, apart from the Adam step   (7.8)
        else:
            g = self._grad(theta, grad, state, self.weight_decay)  # g = grad + wd theta   (7.7)
        # m = b1 m + (1 - b1) g   (7.7)
        m *= beta1
        np.multiply(g, 1.0 - beta1, out=scratch)
        m += scratch
        # v = b2 v + (1 - b2) g^2   (7.7)
        v *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - beta2
        v += scratch
        # theta -= lr m^ / (sqrt(v^) + eps), m^ = m / (1 - b1^t), v^ = v / (1 - b2^t)   (7.7)
        # (sqrt(v^) = sqrt(v) / sqrt(1 - b2^t): v^ itself is never stored)
        bias_correction1 = 1.0 - beta1**t
        bias_correction2 = 1.0 - beta2**t
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(bias_correction2)
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / bias_correction1
        return scratch

    def _apply(self, theta: np.ndarray, delta: np.ndarray) -> None:
        if self._decoupled and self.weight_decay != 0:
            # AdamW: theta -= lr wd theta, before and apart from the Adam step   (7.8)
            theta *= 1.0 - self.lr * self.weight_decay
        theta -= delta

    def _shrinks(self) -> bool:
        # AdamW's decay multiplies the weights by 1 - lr wd: no larger unless lr wd > 2.
        return not self._decoupled or self.lr * self.weight_decay <= 2


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter).

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    ::

        theta_t = theta_{t-1} - lr * weight_decay * theta_{t-1}
        then the Adam step of :class:`Adam` on the raw gradient (no L2 term in g_t)

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
