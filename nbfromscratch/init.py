"""Weight initialisers: where the first weights of a layer come from.

Every initialiser has the signature

    ``f(shape=(fan_in, fan_out), rng=None, dtype=np.float64, gain=...) -> ndarray``

returns an array of that shape and dtype (float32 or float64), and keeps the variance of
activations roughly constant from layer to layer:

* Xavier/Glorot (for tanh/sigmoid): ``Var(W) = gain^2 * 2 / (fan_in + fan_out)``;
* Kaiming/He (for ReLU): ``Var(W) = gain^2 / fan_in`` with ``gain = sqrt(2)`` by default.

A uniform distribution on ``[-a, a]`` has variance ``a^2 / 3``, which gives the bounds
``a = sqrt(3 * Var)``. ``gain`` is 1 for tanh/sigmoid/linear layers. Samples are drawn
directly in ``dtype`` (no float64 detour for float32 weights). ``rng`` is a
``np.random.Generator``, an int seed, or ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import as_rng, check_float_dtype, is_int, lookup
from .exceptions import ShapeError

__all__ = [
    "Initializer",
    "zeros_",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "get_initializer",
    "INITIALIZERS",
]

Initializer = Callable[..., np.ndarray]
"""The type of an initialiser: ``f(shape, rng=None, dtype=np.float64) -> ndarray``."""


def _fans(shape: tuple[int, ...], who: str) -> tuple[int, int]:
    try:
        shape = tuple(shape)
        valid = len(shape) == 2 and all(is_int(d) and d >= 1 for d in shape)
    except TypeError:  # not a sequence
        valid = False
    if not valid:
        raise ShapeError(f"{who}: shape must be (fan_in, fan_out) with both >= 1, got {shape!r}")
    return int(shape[0]), int(shape[1])


def _float_dtype(dtype: Any, who: str) -> np.dtype:
    return check_float_dtype(dtype, f"{who}: dtype")


def _uniform(shape: tuple[int, int], bound: float, rng: Any, dtype: np.dtype) -> np.ndarray:
    """Samples of U(-bound, bound), drawn in ``dtype``."""
    w = as_rng(rng).random(shape, dtype=dtype)  # U[0, 1)
    w *= 2 * bound
    w -= bound
    return w


def _normal(shape: tuple[int, int], std: float, rng: Any, dtype: np.dtype) -> np.ndarray:
    """Samples of N(0, std^2), drawn in ``dtype``."""
    w = as_rng(rng).standard_normal(shape, dtype=dtype)
    w *= std
    return w


def zeros_(
    shape: tuple[int, ...], rng: Any = None, dtype: Any = np.float64, gain: float = 1.0
) -> np.ndarray:
    """All zeros (biases; or weights, to show in chapter 6 why symmetry must be broken).

    ``shape`` may be any shape; ``rng`` and ``gain`` are ignored (accepted so every
    initialiser has the same signature).

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    return np.zeros(tuple(shape), dtype=_float_dtype(dtype, "zeros_"))


def xavier_uniform(
    shape: tuple[int, int], rng: Any = None, dtype: Any = np.float64, gain: float = 1.0
) -> np.ndarray:
    """Glorot/Xavier uniform: ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    fan_in, fan_out = _fans(shape, "xavier_uniform")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform((fan_in, fan_out), bound, rng, _float_dtype(dtype, "xavier_uniform"))


def xavier_normal(
    shape: tuple[int, int], rng: Any = None, dtype: Any = np.float64, gain: float = 1.0
) -> np.ndarray:
    """Glorot/Xavier normal: ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    fan_in, fan_out = _fans(shape, "xavier_normal")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _normal((fan_in, fan_out), std, rng, _float_dtype(dtype, "xavier_normal"))


def kaiming_uniform(
    shape: tuple[int, int], rng: Any = None, dtype: Any = np.float64, gain: float = math.sqrt(2.0)
) -> np.ndarray:
    """Kaiming/He uniform: ``U(-a, a)`` with ``a = gain * sqrt(3 / fan_in)``.

    The default ``gain = sqrt(2)`` compensates for ReLU zeroing half of its inputs.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    fan_in, fan_out = _fans(shape, "kaiming_uniform")
    bound = gain * math.sqrt(3.0 / fan_in)
    return _uniform((fan_in, fan_out), bound, rng, _float_dtype(dtype, "kaiming_uniform"))


def kaiming_normal(
    shape: tuple[int, int], rng: Any = None, dtype: Any = np.float64, gain: float = math.sqrt(2.0)
) -> np.ndarray:
    """Kaiming/He normal: ``N(0, std^2)`` with ``std = gain / sqrt(fan_in)``.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    fan_in, fan_out = _fans(shape, "kaiming_normal")
    std = gain / math.sqrt(fan_in)
    return _normal((fan_in, fan_out), std, rng, _float_dtype(dtype, "kaiming_normal"))


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros_,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "kaiming_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "he_uniform": kaiming_uniform,
    "he_normal": kaiming_normal,
}
"""Name -> initialiser; the names :class:`~nbfromscratch.layers.Linear` accepts for ``init``."""


def get_initializer(name: str | Initializer) -> Initializer:
    """The initialiser called ``name`` (a key of ``INITIALIZERS``, case-insensitive, e.g.
    ``"he_normal"``); a callable is returned unchanged.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    return name if callable(name) else lookup(INITIALIZERS, name, "initializer")
