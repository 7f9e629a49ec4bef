"""Activation functions, their derivatives, and the softmax family, as plain functions.

Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``)
and chapter 3, *Softmax* (``chapters/03_softmax``).

Conventions:

* every function preserves the floating dtype of its input (float32 in, float32 out);
* a derivative function ``f_grad(x)`` takes the **input** ``x`` of ``f`` and returns
  ``f'(x)`` elementwise, so ``dL/dx = grad_output * f_grad(x)``;
* for every finite input, no overflow and no ``RuntimeWarning``: ``exp`` is only ever
  applied to non-positive numbers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

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

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, same shape and dtype as ``x``
    """
    return np.maximum(x, 0)


def relu_grad(x: ArrayLike) -> np.ndarray:
    """Derivative of :func:`relu` at the input ``x``: 1 where ``x > 0``, else 0.

    ReLU has no derivative at 0; we use 0 there (as PyTorch does), so a unit sitting
    exactly at 0 passes no gradient.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape
        The input of ReLU (not its output).

    Returns
    -------
    ndarray, same shape and dtype as ``x``
    """
    x = np.asarray(x)
    return (x > 0).astype(x.dtype)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU: ``x`` where ``x > 0``, else ``negative_slope * x``.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape
    negative_slope : float
        Slope for negative inputs.

    Returns
    -------
    ndarray, same shape and dtype as ``x``
    """
    x = np.asarray(x)
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_grad(x: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """Derivative of :func:`leaky_relu` at the input ``x``: 1 where ``x > 0``, else ``negative_slope``.

    At ``x == 0`` we use ``negative_slope`` (the same convention as :func:`relu_grad`).

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape
        The input of the activation.
    negative_slope : float

    Returns
    -------
    ndarray, same shape and dtype as ``x``
    """
    x = np.asarray(x)
    one, slope = x.dtype.type(1), x.dtype.type(negative_slope)
    return np.where(x > 0, one, slope)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow.

    ``exp(-x)`` overflows for ``x < -89`` in float32. With ``e = exp(-|x|)`` (always in
    ``(0, 1]``) the two algebraically equal forms
    ``sigmoid(x) = 1 / (1 + e)`` for ``x >= 0`` and ``sigmoid(x) = e / (1 + e)`` for ``x < 0``
    never overflow.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, same shape and dtype as ``x``, values in ``[0, 1]``
    """
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    r = e + 1
    np.reciprocal(r, out=r)  # r = 1 / (1 + e) = sigmoid(|x|)
    e *= r  # e = e / (1 + e) = sigmoid(-|x|)
    np.copyto(e, r, where=x >= 0)
    return e


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    """Derivative of :func:`sigmoid` at the input ``x``: ``sigmoid(x) * (1 - sigmoid(x))``.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape
        The input of the sigmoid.

    Returns
    -------
    ndarray, same shape and dtype as ``x``
    """
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent, elementwise (NumPy's, which is already stable).

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, same shape and dtype as ``x``, values in ``[-1, 1]``
    """
    return np.tanh(x)


def tanh_grad(x: ArrayLike) -> np.ndarray:
    """Derivative of :func:`tanh` at the input ``x``: ``1 - tanh(x)**2``.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    x : ndarray, any shape
        The input of tanh.

    Returns
    -------
    ndarray, same shape and dtype as ``x``
    """
    t = np.tanh(x)
    return 1 - t * t


# -- softmax family --------------------------------------------------------------------------
def softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Softmax ``exp(z_i) / sum_j exp(z_j)`` along ``axis``, stable for any finite ``z``.

    Softmax is unchanged by adding a constant to ``z``; subtracting the maximum makes
    every exponent ``<= 0``, so ``exp`` cannot overflow and the largest term is exactly 1
    (the sum cannot underflow to 0).

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).

    Parameters
    ----------
    z : ndarray, shape (n, m) (or any shape)
        Logits.
    axis : int
        The axis that sums to 1.

    Returns
    -------
    ndarray, same shape and dtype as ``z``
    """
    z = np.asarray(z)
    e = z - z.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """``log(softmax(z))`` computed as ``(z - max) - log(sum(exp(z - max)))``.

    Unlike ``np.log(softmax(z))`` it stays finite when a probability underflows to 0
    (e.g. ``log_softmax([0, -1000]) = [0, -1000]``).

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).

    Parameters
    ----------
    z : ndarray, shape (n, m) (or any shape)
        Logits.
    axis : int

    Returns
    -------
    ndarray, same shape and dtype as ``z``
    """
    z = np.asarray(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(z)))`` along ``axis``, as ``m + log(sum(exp(z - m)))`` with ``m = max(z)``.

    A slice that is entirely ``-inf`` gives ``-inf`` (not NaN).

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).

    Parameters
    ----------
    z : ndarray, shape (n, m) (or any shape)
    axis : int
    keepdims : bool
        Keep the reduced axis with size 1.

    Returns
    -------
    ndarray, shape (n,) (or (n, 1) with ``keepdims``), dtype of ``z``
    """
    z = np.asarray(z)
    m = z.max(axis=axis, keepdims=True)
    # An all -inf slice would give (-inf) - (-inf) = NaN; shifting it by 0 instead is exact.
    m[~np.isfinite(m)] = 0
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for such a slice
        out = np.log(np.exp(z - m).sum(axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax_jacobian(z: ArrayLike) -> np.ndarray:
    """The Jacobian ``ds/dz`` of :func:`softmax` for each row: ``diag(s) - s s^T``.

    Built explicitly for teaching (chapter 3); the backward pass itself should use
    :func:`softmax_vjp`, which costs O(m) per row instead of O(m^2).

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).

    Parameters
    ----------
    z : ndarray, shape (n, m) or (m,)
        Logits (softmax is taken along the last axis).

    Returns
    -------
    ndarray, shape (n, m, m) (or (m, m) for 1-D ``z``), dtype of ``z``
        ``J[k, i, j] = ds_i/dz_j`` for row ``k``: ``s_i (delta_ij - s_j)``.
    """
    s = softmax(z, axis=-1)
    jac = -s[..., :, None] * s[..., None, :]
    m = s.shape[-1]
    idx = np.arange(m)
    jac[..., idx, idx] += s
    return jac


def softmax_vjp(s: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """``dL/dz`` from ``dL/ds`` without building the Jacobian.

    With ``J = diag(s) - s s^T`` (symmetric), ``g^T J = s * (g - (g . s))`` row by row.

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).

    Parameters
    ----------
    s : ndarray, shape (n, m)
        The softmax **output** (probabilities).
    grad_output : ndarray, shape (n, m)
        ``dL/ds``.

    Returns
    -------
    ndarray, shape (n, m), dtype of ``s``
        ``dL/dz``.
    """
    # dL/dz = s * (g - sum_j g_j s_j)   (chapter 3)
    dot = np.sum(grad_output * s, axis=-1, keepdims=True)
    return s * (grad_output - dot)
