"""Gradient checking: compare a backward pass with central finite differences.

For a scalar function ``f``, the central difference
``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` has error ``O(eps^2)``; in float64 with
``eps = 1e-6`` it agrees with a correct analytic gradient to about 1e-9 relative error,
while a wrong factor or a missing term shows up as an error of order 1. Always check in
float64: float32 rounding alone would swamp the comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import as_float, as_rng, check_positive, describe
from .exceptions import ArgumentTypeError, DTypeError, ShapeError
from .layers.module import Module, release_saved, save_in_eval_mode
from .losses import Loss

__all__ = ["numerical_gradient", "relative_error", "check_gradients", "GradCheckResult"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    Derived in chapter 12, *Debugging backprop* (``chapters/12_debugging_backprop``).

    ``x`` is perturbed **in place**, one element at a time, and restored afterwards (also
    on error), so ``f`` may ignore its argument and read ``x`` through a closure (that is
    how a layer's parameters are checked: ``x`` is ``layer.weight.data``).

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray, any shape, float64
    eps : float
        Step size.

    Returns
    -------
    ndarray, same shape and dtype as ``x``
        ``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise DTypeError(
            "numerical_gradient: x must be a float NumPy array (it is perturbed in place), "
            f"got {type(x).__name__}{'' if not isinstance(x, np.ndarray) else ' of ' + str(x.dtype)}"
        )
    if not x.flags.writeable:
        raise ArgumentTypeError(
            "numerical_gradient: x is read-only, but it is perturbed in place: pass x.copy()"
        )
    if not callable(f):
        raise ArgumentTypeError(f"numerical_gradient: f must be a function, got {type(f).__name__}")
    eps = check_positive(eps, "numerical_gradient: eps")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + eps
            f_plus = _scalar(f(x))
            x[idx] = old - eps
            f_minus = _scalar(f(x))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def _scalar(value: Any) -> float:
    """``f(x)`` as a float; an array of several numbers is a mistake worth naming."""
    try:
        size = np.size(value)
        number = float(np.asarray(value).reshape(())) if size == 1 else None
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"numerical_gradient: f must return a number, got {type(value).__name__}"
        ) from None
    if number is None:
        raise ShapeError(
            f"numerical_gradient: f must return one number, got shape {np.shape(value)}"
        )
    return number


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Max-norm relative error ``max_i |a_i - n_i| / max(max_i |a_i|, max_i |n_i|)``.

    Dividing by the largest entry, not entry by entry, matters: finite differences have
    an *absolute* rounding noise of about ``1e-16 |f| / eps`` (~1e-10 here), which would
    look like a large relative error on entries that are themselves ~1e-5. A real bug
    (a wrong factor, a transpose, a missing term) still gives an error of order 1.

    Derived in chapter 12, *Debugging backprop* (``chapters/12_debugging_backprop``).

    Parameters
    ----------
    analytic, numeric : ndarray, same shape

    Returns
    -------
    float
        0.0 when both are all zeros or empty; ``inf`` if either holds a NaN or an inf.
    """
    a = as_float(analytic, "relative_error: analytic", dtype=np.float64)
    n = as_float(numeric, "relative_error: numeric", dtype=np.float64)
    if a.shape != n.shape:
        raise ShapeError(f"relative_error: shapes differ, {a.shape} vs {n.shape}")
    if a.size == 0:
        return 0.0
    if not (np.isfinite(a).all() and np.isfinite(n).all()):
        return float("inf")
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(a - n))) / scale


@dataclass
class GradCheckResult:
    """The outcome of :func:`check_gradients`.

    Derived in chapter 12, *Debugging backprop* (``chapters/12_debugging_backprop``).

    Attributes
    ----------
    errors : dict of str to float
        Max relative error for ``"input"`` and for each parameter (``"0.weight"``, ...).
    tol : float
        Threshold used by :attr:`ok`.
    analytic, numeric : dict of str to ndarray
        The two gradients compared, for a closer look when a check fails.
    """

    errors: dict[str, float]
    tol: float
    analytic: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    numeric: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when every error is below ``tol``."""
        return all(err < self.tol for err in self.errors.values())

    @property
    def max_error(self) -> float:
        """The largest of :attr:`errors`."""
        return max(self.errors.values(), default=0.0)

    def __repr__(self) -> str:
        width = max((len(name) for name in self.errors), default=0)
        lines = [f"GradCheckResult(ok={self.ok}, tol={self.tol:g})"]
        for name, err in self.errors.items():
            flag = "ok" if err < self.tol else "FAIL"
            lines.append(f"  {name:<{width}}  max rel. error {err:.2e}  {flag}")
        return "\n".join(lines)


def _require_float64(array: Any, what: str) -> None:
    if not isinstance(array, np.ndarray):
        raise DTypeError(
            f"check_gradients: {what} must be a NumPy float64 array, got {type(array).__name__} "
            "(use np.asarray(x, dtype=np.float64))"
        )
    if array.dtype != np.float64:
        raise DTypeError(
            f"check_gradients: {what} has dtype {array.dtype}; gradient checks need float64 "
            "(float32 rounding is larger than the errors we look for): use .astype(np.float64) "
            "or model.to(np.float64)"
        )


def check_gradients(
    module_or_loss: Module | Loss,
    x: np.ndarray,
    target: Any = None,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
    rng: np.random.Generator | int | None = 0,
) -> GradCheckResult:
    """Compare the backward pass of a module or a loss with finite differences.

    Derived in chapter 12, *Debugging backprop* (``chapters/12_debugging_backprop``).

    For a :class:`Module`, the scalar checked is ``L = sum(module(x) * R)`` with a fixed
    random ``R`` (so ``dL/d(output) = R`` exercises every output), and both ``dL/dx`` and
    every parameter gradient are compared. For a :class:`Loss`, ``L = loss(x, target)`` and
    ``dL/dx`` (``x`` being the predictions) is compared. Parameter gradients are restored
    afterwards. The module must be deterministic: call ``.eval()`` first if it contains
    ``Dropout``.

    Parameters
    ----------
    module_or_loss : Module or Loss
    x : ndarray, float64
        Input of the module (e.g. shape (n, in_features)), or predictions of the loss.
    target : array_like, optional
        Target for a loss (ignored for a module).
    eps : float
        Finite-difference step.
    tol : float
        Largest acceptable relative error.
    rng : np.random.Generator, int or None
        Draws ``R`` (seed 0 by default, so a check is reproducible).

    Returns
    -------
    GradCheckResult
        ``.ok``, ``.errors`` per ``"input"`` and parameter name, and both gradients.
    """
    if not isinstance(module_or_loss, (Module, Loss)):
        raise ArgumentTypeError(
            f"check_gradients: expected a Module or a Loss, got {type(module_or_loss).__name__}"
            + (" (a class: create an instance first)" if isinstance(module_or_loss, type) else "")
        )
    _require_float64(x, "x")
    eps = check_positive(eps, "check_gradients: eps")
    tol = check_positive(tol, "check_gradients: tol")
    x = x.copy()  # perturbed in place below: never touch the caller's array
    if isinstance(module_or_loss, Loss):
        loss = module_or_loss
        loss(x, target)
        analytic = {"input": loss.backward().copy()}
        numeric = {"input": numerical_gradient(lambda xx: loss(xx, target), x, eps)}
    elif isinstance(module_or_loss, Module):
        module = module_or_loss
        params = module.named_parameters()
        for name, p in params:
            _require_float64(p.data, f"parameter {name!r} of {describe(module)}")
        saved_grads = [p.grad.copy() for _, p in params]
        # A module in evaluation mode (e.g. to freeze Dropout) must still save for backward.
        with save_in_eval_mode():
            try:
                release_saved(module)
                proj = as_rng(rng).standard_normal(module.forward(x).shape)
                release_saved(module)  # that forward only gave the output's shape

                def projected(xx: np.ndarray) -> float:
                    value = float(np.sum(module.forward(xx) * proj))
                    release_saved(module)  # no backward follows these forward passes
                    return value

                module.zero_grad()
                module.forward(x)
                analytic = {"input": module.backward(proj)}
                analytic.update({name: p.grad.copy() for name, p in params})
                numeric = {"input": numerical_gradient(projected, x, eps)}
                for name, p in params:
                    numeric[name] = numerical_gradient(lambda _: projected(x), p.data, eps)
            finally:
                release_saved(module)
                for (_, p), g in zip(params, saved_grads):
                    p.grad[...] = g
    errors = {name: relative_error(analytic[name], numeric[name]) for name in analytic}
    return GradCheckResult(errors=errors, tol=tol, analytic=analytic, numeric=numeric)
