"""Constant arrays that make small NumPy calls cheaper, cached (``fit`` asks for the same ones
at every step).

- ``ones(n, dtype)``: sums as matrix products. ``1^T G`` sums the rows of ``G``, ``Z 1`` its
  columns. NumPy's reduction along an axis of a small array runs a loop per row (for a batch
  of 32, 32 short loops); the product with a vector of ones is one BLAS call, like the
  ``X^T G`` of a weight gradient, and about twice as fast at the book's batch sizes.
- ``row_starts(n, n_classes)``: the flat index of each row's first element in an
  ``(n, n_classes)`` array, so that picking one element per row (the label's log-probability
  in the cross-entropy) is one gather from the flat array.
- ``zero(dtype)``: the 0 of ``x > 0`` as a 0-d array of ``x``'s dtype. NumPy must first
  work out the type of a Python ``0`` against the array's (NumPy 2's rules for Python
  scalars), which takes longer than the comparison of a batch of 32 x 32 numbers.
- ``zeros_like(x)``: the 0 of ``max(x, 0)`` as an array of ``x``'s shape and dtype (for a
  batch; a larger ``x`` gets the 0-d ``zero``). NumPy's maximum runs its vectorized loop
  only when both operands are arrays side by side in memory: against a single 0 it takes a
  slower path, several times slower for a 128 x 256 batch of float32.

Chapter 13, *Making it fast* (*Cheaper calls*), times the products with ones and both zeros.
"""

from __future__ import annotations

import functools

import numpy as np


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only: a cached constant is shared by every later call."""
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=32)
def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones of ``dtype``."""
    return _read_only(np.ones(n, dtype=dtype))


@functools.lru_cache(maxsize=8)
def row_starts(n: int, n_classes: int) -> np.ndarray:
    """A read-only vector of the ``n`` numbers ``0, n_classes, 2 n_classes, ...``."""
    return _read_only(np.arange(0, n * n_classes, n_classes))


@functools.lru_cache(maxsize=8)
def zero(dtype: np.dtype) -> np.ndarray:
    """A read-only 0-d array holding 0 of ``dtype``."""
    return _read_only(np.zeros((), dtype=dtype))


#: Up to this many elements, ``zeros_like`` caches a whole array of zeros (a batch of
#: activations: 512 KiB of float64 at most); beyond, the 0-d zero does as well.
ZEROS_MAX_SIZE = 65_536


def zeros_like(x: np.ndarray) -> np.ndarray:
    """Zeros to compare ``x`` with: read-only, of ``x``'s shape and dtype (or 0-d if large)."""
    if x.size > ZEROS_MAX_SIZE:
        return zero(x.dtype)
    return _zeros(x.shape, x.dtype)


@functools.lru_cache(maxsize=32)
def _zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return _read_only(np.zeros(shape, dtype=dtype))
