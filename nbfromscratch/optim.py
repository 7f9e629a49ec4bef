"""Gradient-descent optimizers: SGD (with momentum), Adagrad, RMSprop, Adam and AdamW.

Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

Every update rule is exactly the pseudo-code of the PyTorch ``torch.optim`` documentation,
so a model trained here and one trained with PyTorch from the same weights follow the same
path (up to floating-point rounding). An optimizer only sees :class:`Parameter` objects:
it reads ``p.grad`` (never modifies it) and updates ``p.data`` **in place**, so the
arrays a model holds stay the same objects. State buffers (momentum, squared-gradient
averages...) have the dtype of their parameter, and each parameter has one scratch array
so that a step allocates no temporaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .exceptions import UnknownNameError
from .layers.module import Module, Parameter

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "get_optimizer"]


def _check_nonnegative(value: float, name: str, owner: str) -> float:
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {value}")
    return float(value)


def _check_betas(betas: tuple[float, float], owner: str) -> tuple[float, float]:
    if len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{owner}: betas[{i}] must be in [0, 1), got {beta}")
    return float(betas[0]), float(betas[1])


class Optimizer:
    """Base class: holds the parameters, their per-parameter state and the step count.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    Parameters
    ----------
    params : iterable of Parameter
        What to optimize, usually ``model.parameters()``.

    Attributes
    ----------
    params : list of Parameter
    state : list of dict
        ``state[i]`` holds the buffers of ``params[i]`` (e.g. ``"momentum_buffer"``),
        created on the first :meth:`step`.
    step_count : int
        Number of :meth:`step` calls so far (``t`` in the update formulas).
    """

    def __init__(self, params: Iterable[Parameter]) -> None:
        if isinstance(params, Module):
            raise TypeError(
                f"{type(self).__name__}: pass model.parameters(), not the model itself"
            )
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, "
                    "expected a Parameter"
                )
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        self.step_count = 0

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its current ``.grad``."""
        self.step_count += 1
        for p, state in zip(self.params, self.state):
            if "scratch" not in state:
                # One scratch array per parameter: every step reuses it for temporaries.
                state["scratch"] = np.empty_like(p.data)
            self._update(p, state, self.step_count)

    def _update(self, p: Parameter, state: dict[str, np.ndarray], t: int) -> None:
        """Apply step ``t`` (1, 2, ...) of the update rule to one parameter."""
        raise NotImplementedError

    @staticmethod
    def _grad(p: Parameter, state: dict[str, np.ndarray], weight_decay: float) -> np.ndarray:
        """``g_t = grad + weight_decay * theta`` (the L2 penalty's gradient folded in).

        Without weight decay this is ``p.grad`` itself (only read, never written);
        otherwise a buffer of its own, so that ``state["scratch"]`` stays free.
        """
        if weight_decay == 0:
            return p.grad
        if "decayed_grad" not in state:
            state["decayed_grad"] = np.empty_like(p.data)
        g = state["decayed_grad"]
        np.multiply(p.data, weight_decay, out=g)
        g += p.grad
        return g

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self._hyperparameters().items())
        return f"{type(self).__name__}({hyper})"

    def _hyperparameters(self) -> dict[str, Any]:
        return {}


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
    weight_decay : float, default 0
        L2 penalty added to the gradient.
    nesterov : bool, default False
        Requires ``momentum > 0`` and ``dampening == 0``.
    """

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
        self.lr = _check_nonnegative(lr, "lr", "SGD")
        self.momentum = _check_nonnegative(momentum, "momentum", "SGD")
        self.dampening = _check_nonnegative(dampening, "dampening", "SGD")
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay", "SGD")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening = 0")
        self.nesterov = bool(nesterov)

    def _update(self, p: Parameter, state: dict[str, np.ndarray], t: int) -> None:
        scratch = state["scratch"]
        g = self._grad(p, state, self.weight_decay)
        if self.momentum != 0:
            if "momentum_buffer" not in state:
                # b_1 = g_1: the first step has no history to damp.
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                if self.dampening == 0:
                    buf += g
                else:
                    np.multiply(g, 1.0 - self.dampening, out=scratch)
                    buf += scratch
            if self.nesterov:
                # theta -= lr * (g_t + mu * b_t), as two in-place subtractions.
                np.multiply(g, self.lr, out=scratch)
                p.data -= scratch
                np.multiply(buf, self.lr * self.momentum, out=scratch)
                p.data -= scratch
                return
            g = buf
        np.multiply(g, self.lr, out=scratch)
        p.data -= scratch

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
                "weight_decay": self.weight_decay, "nesterov": self.nesterov}


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
        self.lr = _check_nonnegative(lr, "lr", "Adagrad")
        self.lr_decay = _check_nonnegative(lr_decay, "lr_decay", "Adagrad")
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay", "Adagrad")
        self.initial_accumulator_value = _check_nonnegative(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad"
        )
        self.eps = _check_nonnegative(eps, "eps", "Adagrad")
        for p, state in zip(self.params, self.state):
            state["sum"] = np.full_like(p.data, self.initial_accumulator_value)

    def _update(self, p: Parameter, state: dict[str, np.ndarray], t: int) -> None:
        scratch, acc = state["scratch"], state["sum"]
        g = self._grad(p, state, self.weight_decay)
        lr_t = self.lr / (1.0 + (t - 1) * self.lr_decay)
        np.multiply(g, g, out=scratch)
        acc += scratch
        np.sqrt(acc, out=scratch)
        scratch += self.eps
        np.divide(g, scratch, out=scratch)
        scratch *= lr_t
        p.data -= scratch

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}


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
        Smoothing constant of the running average.
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum : float, default 0
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its second moment.
    """

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
        self.lr = _check_nonnegative(lr, "lr", "RMSprop")
        self.alpha = _check_nonnegative(alpha, "alpha", "RMSprop")
        self.eps = _check_nonnegative(eps, "eps", "RMSprop")
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay", "RMSprop")
        self.momentum = _check_nonnegative(momentum, "momentum", "RMSprop")
        self.centered = bool(centered)

    def _update(self, p: Parameter, state: dict[str, np.ndarray], t: int) -> None:
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(p.data)
            if self.centered:
                state["grad_avg"] = np.zeros_like(p.data)
            if self.momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
        scratch, sq = state["scratch"], state["square_avg"]
        g = self._grad(p, state, self.weight_decay)
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
        np.divide(g, scratch, out=scratch)  # scratch = g_t / (sqrt(v~_t) + eps)
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += scratch
            np.multiply(buf, self.lr, out=scratch)
        else:
            scratch *= self.lr
        p.data -= scratch

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}


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
        self.lr = _check_nonnegative(lr, "lr", name)
        self.betas = _check_betas(betas, name)
        self.eps = _check_nonnegative(eps, "eps", name)
        self.weight_decay = _check_nonnegative(weight_decay, "weight_decay", name)

    def _update(self, p: Parameter, state: dict[str, np.ndarray], t: int) -> None:
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        scratch, m, v = state["scratch"], state["exp_avg"], state["exp_avg_sq"]
        beta1, beta2 = self.betas
        if self._decoupled:
            # AdamW: theta <- theta - lr * wd * theta, before (and apart from) the Adam step.
            if self.weight_decay != 0:
                p.data *= 1.0 - self.lr * self.weight_decay
            g = p.grad
        else:
            g = self._grad(p, state, self.weight_decay)
        m *= beta1
        np.multiply(g, 1.0 - beta1, out=scratch)
        m += scratch
        v *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1.0 - beta2
        v += scratch
        bias_correction1 = 1.0 - beta1**t
        bias_correction2 = 1.0 - beta2**t
        # sqrt(v^_t) = sqrt(v_t) / sqrt(1 - beta2**t): no need to materialise v^_t.
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(bias_correction2)
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / bias_correction1
        p.data -= scratch

    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}


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


_OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """Build an optimizer from its name (case-insensitive), e.g. ``"adam"``.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    Parameters
    ----------
    name : {"sgd", "adagrad", "rmsprop", "adam", "adamw"}
    params : iterable of Parameter
    **kwargs
        Hyperparameters of that optimizer (``lr=...``, ``momentum=...``).

    Raises
    ------
    UnknownNameError
        If ``name`` is not one of the names above.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _OPTIMIZERS:
        raise UnknownNameError(
            f"unknown optimizer {name!r}; valid names: {', '.join(sorted(_OPTIMIZERS))}"
        )
    return _OPTIMIZERS[key](params, **kwargs)
