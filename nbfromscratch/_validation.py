"""Small input checks shared by every module of the package.

* **Conversions and cheap checks**: ``as_array``, ``check_array`` and ``float_input``
  compare attributes (``type``, ``ndim``, ``dtype``) before they touch any data;
* **data checks**, run once at a ``fit()`` / estimator boundary: conversion to float,
  finiteness, emptiness, equal lengths;
* **argument checks**: choices from a list, names from a table (:func:`lookup`), positive ints,
  real numbers in a range, random generators.

The hot-path checks of a layer's ``forward``/``backward`` live in
:mod:`nbfromscratch.layers._checks`, the label checks in :mod:`nbfromscratch._labels`.

Every failure raises an exception from :mod:`nbfromscratch.exceptions` whose message
names the argument or layer, what was expected and what was found. The checks that
return something return the (possibly converted) array so callers can write
``X = as_float(X, "X")``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from .exceptions import (
    ArgumentTypeError,
    DTypeError,
    EmptyInputError,
    NBFSError,
    NonFiniteError,
    ParameterError,
    ShapeError,
    UnknownNameError,
)

__all__ = [
    "kind_of",
    "describe", "as_array", "check_array", "float_width_message", "float_input", "as_float",
    "check_finite", "check_not_empty", "check_same_length", "check_choice",
    "lookup", "is_int", "finite_real", "shown", "check_real", "check_nonnegative", "check_positive",
    "check_unit_interval", "check_positive_int",
    "reported_as", "check_float_dtype", "as_rng",
]

T = TypeVar("T")

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_KIND_NAMES = {"f": "floating-point", "i": "signed integer", "u": "unsigned integer", "b": "boolean"}


def describe(obj: Any) -> str:
    """How an error message names ``obj``: a string as is, a layer as ``Linear(in_features=4, ...)``."""
    if isinstance(obj, str):
        return obj
    extra = getattr(obj, "extra_repr", None)
    return f"{type(obj).__name__}({extra() if callable(extra) else ''})"


def as_array(x: Any, name: str) -> np.ndarray:
    """``np.asarray(x)`` (no copy for an ndarray), with a ragged nested list reported as
    :class:`ShapeError` naming ``name`` instead of NumPy's ``ValueError``.

    A subclass such as ``np.matrix`` (always 2-D, ``*`` is a matrix product) becomes a
    plain array; a masked array is refused, since its mask would be silently dropped.
    """
    if type(x) is np.ndarray:
        return x
    if isinstance(x, np.ma.MaskedArray):
        raise ArgumentTypeError(
            f"{name}: a masked array; fill or drop the masked values first "
            "(x.filled(value) or x.compressed())"
        )
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged nested lists, odd sequences
        raise ShapeError(f"{name}: cannot be made into a rectangular array ({err})") from None


# -- cheap checks (attribute compares only) ---------------------------------------------
def check_array(
    x: Any,
    name: str,
    ndim: int | tuple[int, ...] | None = 2,
    dtype_kind: str | None = "f",
) -> np.ndarray:
    """Check that ``x`` is an array with the expected number of dimensions and dtype kind.

    Parameters
    ----------
    x : array_like
        Converted with ``np.asarray`` (no copy for an ndarray).
    name : str
        How the error message names ``x`` (e.g. ``"X"`` or ``"Linear(...) input"``).
    ndim : int or tuple of int or None
        Allowed number(s) of dimensions; ``None`` allows any.
    dtype_kind : str or None
        Allowed ``dtype.kind`` letters, e.g. ``"f"`` (float), ``"iu"`` (integers),
        ``"fiub"``; ``None`` allows any.

    Returns
    -------
    ndarray
        ``x`` as an array.

    Raises
    ------
    ShapeError
        Wrong number of dimensions.
    DTypeError
        dtype kind not allowed (e.g. integer input where floats are needed). With
        ``dtype_kind="f"`` only float32 and float64 pass (float16 has too little range:
        ``exp`` overflows above 11).
    """
    x = as_array(x, name)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            wanted = " or ".join(f"{d}-D" for d in allowed)
            raise ShapeError(f"{name}: expected a {wanted} array, got {x.ndim}-D with shape {x.shape}")
    if dtype_kind is not None and x.dtype.kind not in dtype_kind:
        wanted = " or ".join(_KIND_NAMES.get(k, k) for k in dtype_kind)
        hint = " (convert deliberately, e.g. x.astype(np.float64))" if dtype_kind == "f" else ""
        raise DTypeError(f"{name}: expected a {wanted} array, got dtype {x.dtype}{hint}")
    if dtype_kind == "f" and x.dtype.char not in "fd":
        raise DTypeError(float_width_message(name, x.dtype))
    return x


def float_width_message(name: str, dtype: np.dtype) -> str:
    return (
        f"{name}: expected float32 or float64, got dtype {dtype} "
        "(convert deliberately, e.g. x.astype(np.float32))"
    )


def float_input(x: Any, name: str) -> np.ndarray:
    """The input of a function of :mod:`nbfromscratch.functional`, as a float array.

    A float32/float64 ndarray passes untouched (two attribute compares: this runs in the
    hot path). Python numbers, lists, bool and integer arrays become float64, deliberately
    and exactly (integers up to 2**53); float16, complex, strings and objects raise
    :class:`DTypeError`, a ragged list :class:`ShapeError`.
    """
    if type(x) is np.ndarray and x.dtype.char in "fd":
        return x
    arr = as_array(x, name)
    if arr.dtype.char in "fd":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind == "f":
        raise DTypeError(float_width_message(name, arr.dtype))
    raise DTypeError(f"{name}: expected real numbers, got an array of dtype {arr.dtype}")


# -- data checks (run once at fit()/estimator boundaries) --------------------------------
def as_float(x: Any, name: str, dtype: Any = None) -> np.ndarray:
    """Convert ``x`` to a float array, deliberately (lists, ints and bools are welcome).

    Parameters
    ----------
    x : array_like
        Numbers: a list, a nested list, an int/bool/float array.
    name : str
        How the error message names ``x``.
    dtype : float32, float64 or None
        Target dtype. ``None`` keeps float32/float64 arrays as they are and turns
        anything else into float64.

    Returns
    -------
    ndarray
        ``x`` itself when it already has the target dtype (no copy), else a converted copy.

    Raises
    ------
    DTypeError
        Strings, objects, complex numbers, dates; or ``dtype`` not float32/float64.
    ShapeError
        A ragged nested list that is not a rectangular array.
    NonFiniteError
        Finite values too large for ``dtype`` (e.g. 1e39 for float32), which the
        conversion would turn into infinities.
    """
    if dtype is not None:
        dtype = check_float_dtype(dtype, name)
    arr = as_array(x, name)
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{name}: expected numbers, got an array of dtype {arr.dtype}")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in _FLOATS else np.dtype(np.float64)
    if arr.dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize:
        _check_fits(arr, dtype, name)  # a narrowing conversion: only here can values overflow
    return arr.astype(dtype, copy=False)


def check_float_dtype(dtype: Any, name: str) -> np.dtype:
    """``np.dtype(dtype)`` if it is float32 or float64, else :class:`DTypeError` naming ``name``."""
    if dtype is None:  # np.dtype(None) would silently mean float64
        raise DTypeError(f"{name}: dtype must be float32 or float64, got None")
    try:
        dtype = np.dtype(dtype)
    except (TypeError, ValueError):  # an unknown name ("float33"), or not a dtype at all
        raise DTypeError(f"{name}: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in _FLOATS:
        raise DTypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_fits(arr: np.ndarray, dtype: np.dtype, name: str) -> None:
    """Raise :class:`NonFiniteError` if finite values of ``arr`` overflow ``dtype``."""
    with np.errstate(invalid="ignore"):
        too_big = np.abs(arr) > np.finfo(dtype).max
    too_big &= np.isfinite(arr)
    if too_big.any():
        i = np.unravel_index(int(np.argmax(too_big)), arr.shape)
        where = i[0] if len(i) == 1 else tuple(int(k) for k in i)
        raise NonFiniteError(
            f"{name}: {int(too_big.sum())} value(s) are too large for {dtype} (largest "
            f"{np.finfo(dtype).max:.3g}), the first at index {where}; converting would turn "
            "them into inf (rescale the data, or use float64)"
        )


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise :class:`NonFiniteError` if ``x`` holds a NaN or an infinity, saying where."""
    finite = np.isfinite(x)
    if not finite.all():
        bad = ~finite
        idx = np.unravel_index(int(np.argmax(bad)), np.shape(x))
        where = idx[0] if len(idx) == 1 else tuple(int(i) for i in idx)
        raise NonFiniteError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s), the first at index {where}"
        )


def check_not_empty(x: np.ndarray, name: str) -> None:
    """Raise :class:`EmptyInputError` if ``x`` has no samples (or no features when 2-D)."""
    if x.size == 0:
        what = "sample" if x.ndim == 0 or x.shape[0] == 0 else "feature"
        raise EmptyInputError(f"{name}: expected at least one {what}, got shape {x.shape}")


def check_same_length(x: Any, y: Any, x_name: str = "X", y_name: str = "y") -> None:
    """Raise :class:`ShapeError` unless ``len(x) == len(y)`` (both must be arrays of samples)."""
    for arr, name in ((x, x_name), (y, y_name)):
        if np.ndim(arr) == 0:
            raise ShapeError(
                f"{name}: expected an array with one entry per sample, got a scalar {arr!r}"
            )
    if len(x) != len(y):
        raise ShapeError(
            f"{x_name} and {y_name} must have the same number of samples, "
            f"got {len(x)} and {len(y)}"
        )


def check_choice(value: Any, choices: Iterable[str], name: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`UnknownNameError` listing them."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise UnknownNameError(
            f"{name}: unknown value {value!r}; valid values are {', '.join(map(repr, choices))}"
        )
    return value


def lookup(table: Mapping[str, T], name: Any, what: str) -> T:
    """``table[name]``, the name case-insensitive (``"ReLU"`` finds ``"relu"``).

    The one lookup of every name table (activations, optimizers, initialisers): an unknown
    name raises :class:`UnknownNameError` naming ``what`` and listing the valid names.
    """
    if not isinstance(name, str) or name.lower() not in table:
        raise UnknownNameError(
            f"{what}: unknown name {shown(name)}; valid names are {', '.join(map(repr, table))}"
        )
    return table[name.lower()]


def is_int(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy integer; ``True``/``False`` are not numbers here."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def finite_real(value: Any) -> float | None:
    """``value`` as a finite Python float, or ``None`` if it is not one (a bool, a string, a
    complex, NaN, inf, an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond 1.8e308
        return None
    return number if math.isfinite(number) else None


def kind_of(obj: Any) -> str:
    """How a message names what was passed: a class is not an instance of it."""
    if isinstance(obj, type):
        return f"the class {obj.__name__} (create an instance: {obj.__name__}(...))"
    return type(obj).__name__


def shown(value: Any) -> str:
    """``repr(value)`` for a message, cut short (a 400-digit int would drown it)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_real(value: Any, name: str) -> float:
    """``value`` as a Python float if it is a finite real number, else :class:`ParameterError`."""
    number = finite_real(value)
    if number is None:
        raise ParameterError(f"{name} must be a finite number, got {shown(value)}")
    return number


def check_nonnegative(value: Any, name: str) -> float:
    """``value`` as a Python float if it is a finite real number >= 0, else :class:`ParameterError`.

    A Python float, not a NumPy scalar: a float64 scalar would promote float32 arrays.
    """
    number = finite_real(value)
    if number is None or number < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, got {shown(value)}")
    return number


def check_positive(value: Any, name: str) -> float:
    """``value`` as a Python float if it is a finite real number > 0, else :class:`ParameterError`."""
    number = finite_real(value)
    if number is None or number <= 0:
        raise ParameterError(f"{name} must be a finite number > 0, got {shown(value)}")
    return number


def check_unit_interval(value: Any, name: str, include_one: bool = False) -> float:
    """``value`` as a Python float in ``[0, 1)`` (``[0, 1]`` with ``include_one``), else
    :class:`ParameterError` naming ``name`` (decay rates such as Adam's betas, RMSprop's alpha)."""
    number = finite_real(value)
    if number is None or not (0 <= number <= 1 if include_one else 0 <= number < 1):
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ParameterError(f"{name} must be a number in {interval}, got {shown(value)}")
    return number


def check_positive_int(value: Any, name: str, error: type[NBFSError] = ParameterError) -> int:
    """``value`` as an int if it is a positive integer (not a bool), else ``error`` (a layer
    size raises :class:`ShapeError`)."""
    if not is_int(value) or value < 1:
        raise error(f"{name} must be a positive int, got {shown(value)}")
    return int(value)


def as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """A ``np.random.Generator`` from ``None`` (fresh entropy), an int seed or a Generator.

    Never touches NumPy's global random state. A Generator is returned as is (shared,
    not copied), so successive calls continue its stream.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or is_int(rng):
        if rng is not None and rng < 0:
            raise ParameterError(f"{name}: a seed must be >= 0, got {rng}")
        return np.random.default_rng(rng)
    raise ArgumentTypeError(
        f"{name}: expected None, an int seed or a np.random.Generator, got {type(rng).__name__}"
    )


@contextmanager
def reported_as(names: dict[str, str]) -> Iterator[None]:
    """Report a :class:`ParameterError` about an inner object's option under the caller's name.

    An estimator builds ``Adam(..., weight_decay=alpha)``; its user set ``alpha``, so
    ``with reported_as({"Adam: weight_decay": "MLPClassifier: alpha"}): ...`` turns
    "Adam: weight_decay must be ..." into "MLPClassifier: alpha must be ...". Messages
    start with ``"owner: option"``, so the first matching prefix is replaced.
    """
    try:
        yield
    except ParameterError as err:
        text = str(err)
        for inner, outer in names.items():
            if text.startswith(inner):
                raise ParameterError(outer + text[len(inner):]) from None
        raise
