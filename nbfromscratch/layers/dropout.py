"""Inverted dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_rng, check_unit_interval
from ._checks import check_grad_output, check_layer_input, seen
from .module import Module
from .registry import register_layer

__all__ = ["Dropout"]


@register_layer
class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the survivors by ``1 / (1 - p)``; in evaluation mode, the identity.

    The scaling keeps ``E[output] = input``, so nothing changes between training and
    evaluation (no rescaling at test time).

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    p : float
        Probability of zeroing an element, ``0 <= p < 1``.
    rng : np.random.Generator, int or None
        Source of the masks (an int is a seed). ``None``: :func:`~nbfromscratch.fit` gives
        the layer a generator derived from its own ``rng`` at every call, so the same
        ``fit`` seed gives the same weights; outside ``fit``, fresh entropy.

    Shapes
    ------
    input any shape ``(n, ...)`` -> output same shape and dtype.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p: float = check_unit_interval(p, "Dropout: p")
        self.rng: np.random.Generator = as_rng(rng)
        #: True when no rng was given: fit() then seeds this layer from its own rng.
        self.rng_from_fit: bool = rng is None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not seen.on:
            check_layer_input(x, self, ndim=None)
        if not self.training or self.p == 0:
            self.save_for_backward((x.shape, x.dtype, None))
            return x
        # mask = 1[u >= p] / (1 - p), built in x's dtype inside one buffer
        mask = self.rng.random(x.shape, dtype=x.dtype)
        np.greater_equal(mask, self.p, out=mask)
        mask *= 1 / (1 - self.p)
        self.save_for_backward((x.shape, x.dtype, mask))
        return x * mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        shape, dtype, mask = self.saved_for_backward()
        if not seen.on:
            check_grad_output(grad_output, shape, dtype, self)
        if mask is None:
            return grad_output
        # dL/dx = G * mask: the same mask (and 1/(1-p) scale) as the forward pass   (chapter 8)
        return grad_output * mask

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-able dict (the rng is not saved)."""
        return {"type": "Dropout", "p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"
