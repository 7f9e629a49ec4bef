"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Identity.

Each layer is elementwise (Softmax: row-wise), has no parameters, keeps the dtype of its
input, and saves in ``forward`` exactly what its ``backward`` reads: the input for
ReLU/LeakyReLU/Softmax, the output for Sigmoid/Tanh (their derivatives are cheapest in
terms of the output), only the shape and dtype for Identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from .._constants import zero, zeros_like
from .._validation import lookup
from ._checks import check_grad_output, check_layer_input, seen
from .module import Module
from .registry import register_layer

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Identity", "get_activation"]


class _Activation(Module):
    """Shared plumbing: the checks of ``backward``."""

    def _cached(self, grad_output: np.ndarray) -> np.ndarray:
        """What forward saved, after checking that ``grad_output`` matches it."""
        cache = self.saved_for_backward()
        if not seen.on:
            check_grad_output(grad_output, cache.shape, cache.dtype, self)
        return cache

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-able dict; see ``layer_from_config``."""
        return {"type": type(self).__name__}


@register_layer
class ReLU(_Activation):
    """``max(x, 0)`` elementwise. Input any shape ``(n, ...)``; output same shape and dtype.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=None)
        self.save_for_backward(x)
        # Zeros of x's shape and dtype: NumPy's fastest loop for max(x, 0) (chapter 13)
        return np.maximum(x, zeros_like(x))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._cached(grad_output)
        # dL/dx = G * 1[x > 0]: a mask on the INPUT (chapter 5; derivative 0 at x == 0)
        return grad_output * (x > zero(x.dtype))


@register_layer
class LeakyReLU(_Activation):
    """``x`` where ``x > 0`` else ``negative_slope * x``. Input any shape; output same shape.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    negative_slope : float
        Slope for negative inputs.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = F._slope(negative_slope, "LeakyReLU")

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=None)
        self.save_for_backward(x)
        return F.leaky_relu(x, self.negative_slope)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._cached(grad_output)
        # dL/dx = G where x > 0, G * negative_slope elsewhere   (chapter 2)
        return np.where(x > 0, grad_output, grad_output * self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {"type": "LeakyReLU", "negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


@register_layer
class Sigmoid(_Activation):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` (overflow-free). Input any shape; output same.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=None)
        s = F.sigmoid(x)
        self.save_for_backward(s)
        return s

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        s = self._cached(grad_output)
        # dL/dx = G * s * (1 - s), from the cached output s   (chapter 2)
        return grad_output * s * (1 - s)


@register_layer
class Tanh(_Activation):
    """Hyperbolic tangent. Input any shape; output same shape and dtype.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=None)
        t = np.tanh(x)
        self.save_for_backward(t)
        return t

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        t = self._cached(grad_output)
        # dL/dx = G * (1 - t^2), from the cached output t   (chapter 2)
        return grad_output * (1 - t * t)


@register_layer
class Softmax(_Activation):
    """Row-wise softmax. Input ``(n, m)`` logits; output ``(n, m)`` probabilities.

    Its backward multiplies by the full ``(n, m, m)`` Jacobian, as chapter 3 derives it;
    this is O(m^2) per row, so for training put the softmax inside
    :class:`~nbfromscratch.losses.CrossEntropyLoss` instead (fused gradient ``p - y``),
    or see :func:`nbfromscratch.functional.softmax_vjp` for the O(m) product.

    Derived in chapter 3, *Softmax* (``chapters/03_softmax``).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=2)
        self.save_for_backward(x)
        return F.softmax(x, axis=-1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x = self._cached(grad_output)
        jac = F.softmax_jacobian(x)  # (n, m, m), J[k, i, j] = ds_i / dx_j
        # dL/dx_j = sum_i G_i J_ij, row by row: dL/dx = G J   (chapter 3)
        return (grad_output[:, None, :] @ jac)[:, 0, :]


@register_layer
class Identity(_Activation):
    """Returns its input unchanged (a placeholder, or the output "activation" of a regressor).

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=None)
        self.save_for_backward((x.shape, x.dtype))  # only to check grad_output: no data kept
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, dtype = self.saved_for_backward()
        if not seen.on:
            check_grad_output(grad_output, shape, dtype, self)
        # dL/dx = G
        return grad_output


_ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
    "identity": Identity,
}


def get_activation(name: str) -> Module:
    """A new activation layer from its name, case-insensitive: ``"relu"``, ``"leaky_relu"``,
    ``"sigmoid"`` (scikit-learn's ``"logistic"`` too), ``"tanh"``, ``"softmax"``, ``"identity"``.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    return lookup(_ACTIVATIONS, name, "activation")()
