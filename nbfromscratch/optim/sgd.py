"""Stochastic gradient descent with (Nesterov) momentum, exactly as ``torch.optim.SGD``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._validation import check_nonnegative, check_unit_interval
from ..exceptions import ParameterError
from ..layers.module import Parameter
from .base import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum and Nesterov momentum.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    With :math:`\gamma` = ``lr``, :math:`\mu` = ``momentum``, :math:`\tau` = ``dampening``,
    :math:`\lambda` = ``weight_decay``::

        g_t = grad + lambda * theta                    (if lambda != 0)
        b_1 = g_1;  b_t = mu * b_{t-1} + (1 - tau) * g_t   (if mu != 0)
        g_t = g_t + mu * b_t  (nesterov)   or   g_t = b_t
        theta_t = theta_{t-1} - gamma * g_t

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
    momentum : float, default 0
    dampening : float, default 0
        In ``[0, 1]``: the fraction of each new gradient held back from the momentum.
    weight_decay : float, default 0
        L2 penalty added to the gradient.
    nesterov : bool, default False
        Requires ``momentum > 0`` and ``dampening == 0``.
    """

    _hyperparameter_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = check_nonnegative(lr, "SGD: lr")
        self.momentum = check_nonnegative(momentum, "SGD: momentum")
        self.dampening = check_unit_interval(dampening, "SGD: dampening", include_one=True)
        self.weight_decay = check_nonnegative(weight_decay, "SGD: weight_decay")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ParameterError("SGD: nesterov=True requires momentum > 0 and dampening = 0")
        self.nesterov = bool(nesterov)

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                t: int) -> np.ndarray:
        scratch = state["scratch"]
        g = self._grad(theta, grad, state, self.weight_decay)  # g = grad + wd * theta   (7.3)
        if self.momentum != 0:
            if "momentum_buffer" not in state:
                buf = state["momentum_buffer"] = g.copy()  # b_1 = g_1   (7.3)
            else:
                # b = mu b + (1 - tau) g   (7.3)
                buf = state["momentum_buffer"]
                buf *= self.momentum
                if self.dampening == 0:
                    buf += g
                else:
                    np.multiply(g, 1.0 - self.dampening, out=scratch)
                    buf += scratch
            if self.nesterov:
                # g = g + mu b   (7.3, Nesterov)
                np.multiply(buf, self.momentum, out=scratch)
                scratch += g
                g = scratch
            else:
                g = buf  # g = b   (7.3, momentum)
        # theta -= lr g   (7.3): the step is lr g
        return np.multiply(g, self.lr, out=scratch)
