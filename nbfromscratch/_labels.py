"""Class labels: checked to be integers ``0 .. C-1``, and the number of classes they imply.

Run once, at the boundary of ``fit()``, a loss or an estimator: every message names the
argument and the first offending label with its index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_array, check_positive_int
from .exceptions import LabelError, ShapeError

__all__ = ["check_labels", "infer_n_classes"]


def check_labels(y: Any, n_classes: int | None = None, name: str = "y") -> np.ndarray:
    """Check class labels: 1-D, integral, in ``0 .. n_classes - 1``.

    Parameters
    ----------
    y : array_like, shape (n,)
        Integer labels. Booleans and floats with integral values (``1.0``) are accepted
        and converted; ``0.5``, NaN or strings are not.
    n_classes : int or None
        Number of classes; ``None`` only requires ``y >= 0``.
    name : str
        How the error message names ``y``.

    Returns
    -------
    ndarray of int64, shape (n,)

    Raises
    ------
    ShapeError
        ``y`` is not 1-D.
    LabelError
        Non-integral labels, or a label outside ``0 .. n_classes - 1``.
    ParameterError
        ``n_classes`` is not a positive int.
    """
    if n_classes is not None:
        check_positive_int(n_classes, "n_classes")
    y = as_array(y, name)
    if y.ndim != 1:
        raise ShapeError(f"{name}: expected 1-D class labels of shape (n,), got shape {y.shape}")
    kind = y.dtype.kind
    if kind == "f":
        # Integral and within int64 (beyond it the conversion below would be garbage).
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(y) & (y == np.round(y)) & (np.abs(y) < np.float64(2.0**62)))
        if bad.any():
            i = int(np.argmax(bad))
            raise LabelError(f"{name}: labels must be integers, found {y[i].item()!r} at index {i}")
    elif kind == "u" and y.size and y.dtype.itemsize == 8 and int(y.max()) >= 2**63:
        raise LabelError(f"{name}: label {int(y.max())} is far too large for a class index")
    elif kind not in "iub":
        raise LabelError(
            f"{name}: labels must be integers 0..C-1, got dtype {y.dtype} "
            "(map other labels to 0..C-1 first)"
        )
    y = y.astype(np.int64, copy=False)
    if y.size == 0:
        return y
    low = int(y.min())
    high = int(y.max())
    top = None if n_classes is None else n_classes - 1
    if low < 0 or (top is not None and high > top):
        bad_value = low if low < 0 else high
        i = int(np.argmax(y == bad_value))
        valid = "labels must be >= 0" if top is None else f"labels must be in 0..{top}"
        raise LabelError(f"{name}: {valid}, found {bad_value} at index {i}")
    return y


#: Inferring more classes than this (and than there are samples) from the largest label
#: means the labels are not class indices (ids, raw values...), not that there are so many.
MAX_INFERRED_CLASSES = 1024


def infer_n_classes(labels: list[np.ndarray], name: str) -> int:
    """The number of classes ``labels`` imply (largest label + 1), refusing absurd values.

    ``labels`` are arrays already checked by :func:`check_labels`.
    """
    top = max((int(y.max()) for y in labels if y.size), default=-1) + 1
    n = max((len(y) for y in labels), default=0)
    if top > max(MAX_INFERRED_CLASSES, n):
        raise LabelError(
            f"{name}: the largest label is {top - 1}, which would mean {top} classes for {n} "
            "samples; labels must be class indices 0..C-1 (map them with "
            "np.unique(y, return_inverse=True)), or pass n_classes"
        )
    return top
