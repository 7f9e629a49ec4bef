"""Where parameters live: side by side, in a few large blocks of memory.

Derived in chapter 13, *Making it fast* (``chapters/13_making_it_fast``).

Every :class:`~nbfromscratch.layers.module.Parameter` takes its values and its gradient from
here: the next free stretch of a block of values and the same stretch of a block of
gradients. The parameters of a network built layer after layer therefore follow each other
in memory, and an optimizer can run its update rule on all of them as one flat vector (every
rule is elementwise): one NumPy call per line of the rule for the whole network, instead of
one per parameter. For a small network the calls, not the arithmetic, are what costs.

Nothing else changes: ``data`` and ``grad`` are ordinary arrays (views into the blocks),
never moved once made. A block is freed when the last parameter in it is.
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["take", "BLOCK"]

#: Numbers per block; a parameter with more gets arrays of its own.
BLOCK = 1 << 20

_lock = threading.Lock()
#: dtype character -> (block of values, block of gradients, first free index)
_open: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}


def take(shape: tuple[int, ...], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Fresh ``(values, gradient)`` arrays of ``shape``, the gradient zero, next to the last ones.

    Bump allocation: a stretch is never handed out twice, so a new gradient is still zero
    (the blocks of gradients start as zeros, which the OS provides without writing them).
    """
    n = math.prod(shape)
    if n > BLOCK:  # a block of its own, which only this parameter keeps alive
        return np.empty(shape, dtype), np.zeros(shape, dtype)
    with _lock:
        block = _open.get(dtype.char)
        if block is None or block[2] + n > len(block[0]):
            block = (np.empty(BLOCK, dtype), np.zeros(BLOCK, dtype), 0)
        values, grads, start = block
        _open[dtype.char] = (values, grads, start + n)
    return values[start:start + n].reshape(shape), grads[start:start + n].reshape(shape)
