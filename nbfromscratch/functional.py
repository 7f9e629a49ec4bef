"""Activation functions, their derivatives, and the softmax family, as plain functions.

Conventions (each function's docstring says only what differs):

* an input ``x`` (or logits ``z``) is an array of any shape; the output has the same shape
  and the same floating dtype (float32 in, float32 out);
* a derivative function ``f_grad(x)`` takes the **input** ``x`` of ``f`` and returns
  ``f'(x)`` elementwise, so ``dL/dx = grad_output * f_grad(x)``;
* for every finite input, no overflow and no ``RuntimeWarning``: ``exp`` is only ever
  applied to non-positive numbers;
* inputs are checked once, cheaply (dtype and shape only, never the values): float32 and
  float64 arrays pass untouched, Python numbers, lists and int/bool arrays become float64,
  anything else raises :class:`~nbfromscratch.exceptions.DTypeError`. A NaN or inf in the
  input is not searched for (that would cost a pass over every batch): it gives NaN or
  inf out, as in NumPy; :func:`~nbfromscratch.training.fit` catches it in the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_real, float_input, is_int
from .exceptions import DTypeError, EmptyInputError, ParameterError, ShapeError

__all__ = [
    "relu",
    "relu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_jacobian",
    "softmax_vjp",
]


# -- elementwise activations --------------------------------------------------------------
def relu(x: ArrayLike) -> np.ndarray:
    """Rectified linear unit ``max(x, 0)``, elementwise.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    x = float_input(x, "relu: x")
    return np.maximum(x, 0)


def relu_grad(x: ArrayLike) -> np.ndarray:
    """Derivative of :func:`relu` at the input ``x``: 1 where ``x > 0``, else 0.

    ReLU has no derivative at 0; we use 0 there (as PyTorch does), so a unit sitting
    exactly at 0 passes no gradient.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    x = float_input(x, "relu_grad: x")
    # ReLU'(x) = 1[x > 0], and 0 at the kink   (2.4)
    return (x > 0).astype(x.dtype)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU: ``x`` where ``x > 0``, else ``negative_slope * x``.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    x = float_input(x, "leaky_relu: x")
    return np.where(x > 0, x, x * _slope(negative_slope, "leaky_relu"))


def leaky_relu_grad(x: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """Derivative of :func:`leaky_relu` at the input ``x``: 1 where ``x > 0``, else ``negative_slope``.

    At ``x == 0`` we use ``negative_slope`` (the same convention as :func:`relu_grad`).

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    x = float_input(x, "leaky_relu_grad: x")
    one, slope = x.dtype.type(1), x.dtype.type(_slope(negative_slope, "leaky_relu_grad"))
    return np.where(x > 0, one, slope)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow.

    ``exp(-x)`` overflows for ``x < -88.72`` in float32. With ``e = exp(-|x|)`` (always in
    ``(0, 1]``) the two algebraically equal forms
    ``sigmoid(x) = 1 / (1 + e)`` for ``x >= 0`` and ``sigmoid(x) = e / (1 + e)`` for ``x < 0``
    never overflow.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    x = float_input(x, "sigmoid: x")
    if x.ndim == 0:  # ufuncs return a scalar for 0-d input, which out= cannot write into
        return sigmoid(x.reshape(1)).reshape(())
    # The stable sigmoid (2.9): only exp(-|x|) <= 1 is ever computed.
    e = np.exp(-np.abs(x))
    r = e + 1
    np.reciprocal(r, out=r)  # r = 1 / (1 + e) = sigmoid(|x|)
    e *= r  # e = e / (1 + e) = sigmoid(-|x|)
    np.copyto(e, r, where=x >= 0)
    return e


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    """Derivative of :func:`sigmoid` at the input ``x``: ``sigmoid(x) * (1 - sigmoid(x))``.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    # sigma'(x) = sigma(x) (1 - sigma(x))   (2.7)
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent, elementwise (NumPy's, which is already stable).

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    return np.tanh(float_input(x, "tanh: x"))


def tanh_grad(x: ArrayLike) -> np.ndarray:
    """Derivative of :func:`tanh` at the input ``x``: ``1 - tanh(x)**2``.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """
    t = np.tanh(float_input(x, "tanh_grad: x"))
    return 1 - t * t


# -- softmax family --------------------------------------------------------------------------
#: softmax_jacobian refuses to build more entries than this (2 GiB in float64).
_MAX_JACOBIAN = 2**28


def softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Softmax ``exp(z_i) / sum_j exp(z_j)`` along ``axis``, stable for any finite ``z``.

    Softmax is unchanged by adding a constant to ``z``; subtracting the maximum makes
    every exponent ``<= 0``, so ``exp`` cannot overflow and the largest term is exactly 1
    (the sum cannot underflow to 0).

    ``axis`` is the axis that sums to 1.

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).
    """
    z = _softmax_input(z, axis, "softmax")
    # softmax(z) = softmax(z - max_j z_j)   (3.2): every exponent is <= 0
    with np.errstate(over="ignore"):  # z - max beyond the float range is -inf: exp gives 0
        e = z - z.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """``log(softmax(z))`` computed as ``(z - max) - log(sum(exp(z - max)))``.

    Unlike ``np.log(softmax(z))`` it stays finite when a probability underflows to 0
    (e.g. ``log_softmax([0, -1000]) = [0, -1000]``).

    Derived in chapter 4, *Losses* (``chapters/04_losses``), equations (4.5)-(4.6).
    """
    z = _softmax_input(z, axis, "log_softmax")
    with np.errstate(over="ignore"):  # z - max beyond the float range is -inf, log(0) exactly
        shifted = z - z.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(z)))`` along ``axis``, as ``m + log(sum(exp(z - m)))`` with ``m = max(z)``.

    A slice that is entirely ``-inf`` gives ``-inf`` (not NaN).

    The output drops ``axis`` (keeps it with size 1 with ``keepdims``).

    Derived in chapter 4, *Losses* (``chapters/04_losses``), equations (4.5)-(4.6).
    """
    z = _softmax_input(z, axis, "logsumexp")
    m = z.max(axis=axis, keepdims=True)
    # An all -inf slice would give (-inf) - (-inf) = NaN; shifting it by 0 instead is exact.
    m[~np.isfinite(m)] = 0
    # log(0) = -inf is the right answer for an all -inf slice; z - m beyond the float range
    # is -inf, whose exp is the 0 it stands for.
    with np.errstate(divide="ignore", over="ignore"):
        out = np.log(np.exp(z - m).sum(axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax_jacobian(z: ArrayLike) -> np.ndarray:
    """The Jacobian ``ds/dz`` of :func:`softmax` for each row: ``diag(s) - s s^T``.

    Built explicitly for teaching (chapter 3); the backward pass itself should use
    :func:`softmax_vjp`, which costs O(m) per row instead of O(m^2).

    ``z`` of shape (n, m) gives (n, m, m), with ``J[k, i, j] = ds_i/dz_j = s_i (delta_ij - s_j)``
    for row ``k`` (softmax along the last axis).

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).
    """
    s = softmax(z, axis=-1)
    entries = s.size * s.shape[-1]
    if entries > _MAX_JACOBIAN:  # refused before NumPy's MemoryError (or a swapping machine)
        raise ShapeError(
            f"softmax_jacobian: the Jacobians of input shape {s.shape} have {entries:.3g} "
            f"entries, more than {_MAX_JACOBIAN:.3g}; use softmax_vjp, which never builds them"
        )
    # J = diag(s) - s s^T   (3.3), one (m, m) block per row   (3.4)
    jac = -s[..., :, None] * s[..., None, :]
    m = s.shape[-1]
    idx = np.arange(m)
    jac[..., idx, idx] += s
    return jac


def softmax_vjp(s: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """``dL/dz`` from ``dL/ds`` without building the Jacobian.

    With ``J = diag(s) - s s^T`` (symmetric), ``g^T J = s * (g - (g . s))`` row by row.

    ``s`` is the softmax **output** and ``grad_output`` is ``dL/ds``, both of shape (n, m).

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).
    """
    s = _softmax_input(s, -1, "softmax_vjp: s")
    grad_output = float_input(grad_output, "softmax_vjp: grad_output")
    if grad_output.shape != s.shape or grad_output.dtype != s.dtype:
        error = ShapeError if grad_output.shape != s.shape else DTypeError
        raise error(
            f"softmax_vjp: grad_output ({grad_output.shape}, {grad_output.dtype}) must have the "
            f"shape and dtype of s ({s.shape}, {s.dtype})"
        )
    # The vector-Jacobian product, equation (3.6):
    # dL/dz = s * (g - sum_j g_j s_j)   (chapter 3); with g near the float range the
    # result may be inf, which the caller's checks report (not a NumPy warning).
    with np.errstate(over="ignore", invalid="ignore"):
        dot = np.sum(grad_output * s, axis=-1, keepdims=True)
        return s * (grad_output - dot)


# -- input checks (cheap: attributes only) ----------------------------------------------------
def _softmax_input(z: Any, axis: Any, who: str) -> np.ndarray:
    """``z`` as a float array with a non-empty ``axis`` to normalise over."""
    if type(z) is np.ndarray and z.dtype.char in "fd" and type(axis) is int \
            and -z.ndim <= axis < z.ndim and z.shape[axis]:
        return z  # the usual case, decided by attribute compares alone
    z = float_input(z, f"{who}: z" if ":" not in who else who)
    if not is_int(axis):
        raise ParameterError(f"{who}: axis must be an int, got {axis!r}")
    if not -z.ndim <= axis < z.ndim:
        raise ShapeError(f"{who}: axis {axis} does not exist for an input of shape {z.shape}")
    if z.shape[axis] == 0:
        raise EmptyInputError(
            f"{who}: axis {axis} of the input is empty (shape {z.shape}): nothing to normalise"
        )
    return z


def _slope(negative_slope: Any, who: str) -> float:
    """``negative_slope`` as a Python float (a NumPy float64 scalar would upcast float32)."""
    return check_real(negative_slope, f"{who}: negative_slope")
