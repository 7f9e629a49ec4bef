"""Constant arrays that make small NumPy calls cheaper, cached (``fit`` asks for the same ones
at every step).

- ``ones(n, dtype)``: sums as matrix products. ``1^T G`` sums the rows of ``G``, ``Z 1`` its
  columns. NumPy's reduction along an axis of a small array runs a loop per row (for a batch
  of 32, 32 short loops); the product with a vector of ones is one BLAS call, like the
  ``X^T G`` of a weight gradient, and about twice as fast at the book's batch sizes.
- ``zero(dtype)``: the 0 of ``max(x, 0)`` and ``x > 0`` as a 0-d array of ``x``'s dtype.
  NumPy must first work out the type of a Python ``0`` against the array's (NumPy 2's rules
  for Python scalars), which takes longer than the comparison of a batch of 32 x 32 numbers.

Chapter 13, *Making it fast*, measures both.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=32)
def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones of ``dtype``."""
    vector = np.ones(n, dtype=dtype)
    vector.flags.writeable = False
    return vector


@functools.lru_cache(maxsize=8)
def zero(dtype: np.dtype) -> np.ndarray:
    """A read-only 0-d array holding 0 of ``dtype``."""
    value = np.zeros((), dtype=dtype)
    value.flags.writeable = False
    return value
