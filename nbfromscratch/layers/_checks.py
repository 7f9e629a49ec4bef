"""The boundary checks of a layer's ``forward`` and ``backward``.

They run at every call, in the hot path, so they only compare attributes (``type``,
``ndim``, ``shape``, ``dtype``) and never touch the data: they cost the same for 10 samples
or 10 million. Each failure names the layer (its ``repr``), what was expected and what was
found.

``fit`` runs them once per batch size: its batches all have the columns and dtype of the
data it checked, so a batch of a size it has already run through every check would pass them
again. While it runs such a batch, :data:`seen` is on and the layers skip them: each check
is called as ``if not seen.on: check_...(...)``, because on a small batch the call itself
(about a microsecond for the six of a two-layer network) is what costs (chapter 13).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .._validation import describe, float_width_message
from ..exceptions import DTypeError, EmptyInputError, ShapeError

__all__ = ["check_features", "check_same_dtype", "check_layer_input", "check_grad_output", "seen"]


class _Seen(threading.local):
    """``on`` while ``fit`` runs a batch of a shape that has passed every check (per thread)."""

    on = False


seen = _Seen()


def check_features(x: np.ndarray, expected: int, layer: Any) -> None:
    """Raise :class:`ShapeError` unless ``x.shape[-1] == expected``.

    The message reads like
    ``Linear(in_features=4, out_features=3): expected input of shape (n, 4), got (10, 5)``.
    """
    if x.shape[-1] != expected:
        raise ShapeError(
            f"{describe(layer)}: expected input of shape (n, {expected}), got {x.shape}"
        )


def check_same_dtype(x: np.ndarray, dtype: np.dtype, layer: Any) -> None:
    """Raise :class:`DTypeError` unless ``x.dtype == dtype`` (a layer never converts silently)."""
    if x.dtype != dtype:
        raise DTypeError(
            f"{describe(layer)}: input has dtype {x.dtype} but the layer's parameters are "
            f"{np.dtype(dtype)}; convert one of them deliberately "
            f"(x.astype(np.{np.dtype(dtype)}) or model.to(np.{x.dtype}))"
        )


def check_layer_input(
    x: Any,
    layer: Any,
    n_features: int | None = None,
    dtype: np.dtype | None = None,
    ndim: int | None = 2,
) -> None:
    """The whole boundary check of a layer's ``forward``, in attribute compares only.

    ``x`` (usually ``(n, n_features)``) must be a float32 or float64 ndarray with ``ndim``
    dimensions (``None``: at least 1), ``n_features`` columns, dtype ``dtype`` (``None``:
    skip that check) and at least one element; otherwise :class:`DTypeError`,
    :class:`ShapeError` or :class:`EmptyInputError` naming ``layer``.
    """
    if not isinstance(x, np.ndarray) or isinstance(x, np.matrix):
        raise DTypeError(
            f"{describe(layer)}: expected a NumPy array, got {type(x).__name__} "
            "(convert deliberately with np.asarray(x, dtype=np.float64))"
        )
    if x.dtype.char not in "fd":  # float32 ('f') and float64 ('d') only
        if x.dtype.kind == "f":
            raise DTypeError(float_width_message(f"{describe(layer)}: input", x.dtype))
        raise DTypeError(
            f"{describe(layer)}: expected floating-point input, got dtype {x.dtype} "
            "(convert deliberately, e.g. x.astype(np.float64))"
        )
    if (ndim is not None and x.ndim != ndim) or x.ndim == 0:
        want = f"(n, {n_features})" if n_features is not None and ndim == 2 else f"{ndim or '>=1'}-D"
        raise ShapeError(f"{describe(layer)}: expected input of shape {want}, got {x.shape}")
    if n_features is not None:
        check_features(x, n_features, layer)
    if dtype is not None:
        check_same_dtype(x, dtype, layer)
    if x.size == 0:
        raise EmptyInputError(f"{describe(layer)}: got an empty input of shape {x.shape}")


def check_grad_output(grad_output: Any, shape: tuple[int, ...], dtype: np.dtype, layer: Any) -> None:
    """Check that ``grad_output`` (``dL/d(output)``) matches the output of the last forward."""
    if not isinstance(grad_output, np.ndarray):
        raise DTypeError(
            f"{describe(layer)}.backward: expected a NumPy array, got {type(grad_output).__name__}"
        )
    if grad_output.shape != shape:
        raise ShapeError(
            f"{describe(layer)}.backward: grad_output has shape {grad_output.shape}, "
            f"but the forward output had shape {shape}"
        )
    if grad_output.dtype != dtype:
        raise DTypeError(
            f"{describe(layer)}.backward: grad_output has dtype {grad_output.dtype}, "
            f"but the forward output had dtype {np.dtype(dtype)}"
        )
