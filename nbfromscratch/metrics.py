"""Scores that say how good a model is: accuracy, confusion matrix, MSE and R².

Accuracy is derived in chapter 8, *Training* (``chapters/08_training``), the confusion
matrix in chapter 11, *Digits* (``chapters/11_digits``), MSE and R² in chapter 10,
*Regressing sinc* (``chapters/10_regressing_sinc``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._labels import check_labels, infer_n_classes
from ._validation import (
    as_array,
    as_float,
    check_array,
    check_finite,
    check_not_empty,
    check_same_length,
)
from .exceptions import LabelError, NonFiniteError, ParameterError, ShapeError

__all__ = ["accuracy", "confusion_matrix", "mean_squared_error", "r2_score"]


def _predicted_labels(y_pred: Any) -> np.ndarray:
    """Labels from ``y_pred``: itself if 1-D, the arg-max of each row if scores ``(n, C)``."""
    y_pred = as_array(y_pred, "y_pred")
    if y_pred.ndim == 1:
        return y_pred
    if y_pred.ndim == 2 and y_pred.shape[1] >= 2:
        scores = check_array(y_pred, "y_pred (class scores)", ndim=2, dtype_kind="biuf")
        check_finite(scores, "y_pred (class scores)")  # the arg-max of a NaN row means nothing
        return scores.argmax(axis=1)
    raise ShapeError(
        f"y_pred: expected labels of shape (n,) or class scores of shape (n, C) with C >= 2, "
        f"got shape {y_pred.shape} (for one column of logits use (scores[:, 0] > 0))"
    )


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    y_true : array_like, shape (n,)
        True labels (any comparable values).
    y_pred : array_like, shape (n,) or (n, C)
        Predicted labels, or class scores (logits or probabilities) whose row-wise
        arg-max is the predicted label.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    y_true = as_array(y_true, "y_true")
    labels = _predicted_labels(y_pred)
    if y_true.ndim != 1:
        raise ShapeError(f"y_true: expected labels of shape (n,), got shape {y_true.shape}")
    check_not_empty(y_true, "y_true")
    check_same_length(y_true, labels, "y_true", "y_pred")
    for arr, name in ((y_true, "y_true"), (labels, "y_pred")):
        if arr.dtype.kind in "fc":  # a NaN label is never "equal": report it instead
            check_finite(arr, name)
    kinds = _label_kind(y_true), _label_kind(labels)
    if None not in kinds and kinds[0] != kinds[1]:
        # "a" == 0 is never true: a score of 0.0 would hide the mismatch
        raise LabelError(
            f"y_true holds {kinds[0]} but y_pred holds {kinds[1]}: labels of another type "
            "than the model was trained on can never match (map one to the other first)"
        )
    return float(np.mean(y_true == labels))


def _label_kind(y: np.ndarray) -> str | None:
    """``"numbers"`` or ``"strings"`` (from the dtype, or the first element of an object
    array); ``None`` when it cannot be told cheaply."""
    if y.dtype.kind in "biuf":
        return "numbers"
    if y.dtype.kind in "US":
        return "strings"
    if y.dtype.kind == "O" and y.size:
        first = y.flat[0]
        if isinstance(first, (str, bytes)):
            return "strings"
        if isinstance(first, (int, float, np.number)) and not isinstance(first, bool):
            return "numbers"
    return None


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Count how often each true class is predicted as each class.

    Derived in chapter 11, *Digits* (``chapters/11_digits``).

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        True labels in ``0 .. n_classes - 1``.
    y_pred : array_like, shape (n,) or (n, C)
        Predicted labels, or class scores (row-wise arg-max).
    n_classes : int, optional
        Number of classes; default: one more than the largest label seen.

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` = number of samples of true class ``i`` predicted as class ``j``
        (rows: truth, columns: prediction, as in scikit-learn).
    """
    t = check_labels(y_true, n_classes, "y_true")
    p = check_labels(_predicted_labels(y_pred), n_classes, "y_pred")
    check_same_length(t, p, "y_true", "y_pred")
    if n_classes is None:
        n_classes = infer_n_classes([t, p], "confusion_matrix")
    # Each (true, predicted) pair gets one flat index; bincount tallies all pairs at once.
    try:
        counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    except MemoryError:
        raise ParameterError(
            f"confusion_matrix: a {n_classes} x {n_classes} matrix does not fit in memory"
        ) from None
    return counts.reshape(n_classes, n_classes)


def _regression_arrays(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true = check_array(as_float(y_true, "y_true"), "y_true", ndim=(1, 2))
    y_pred = check_array(as_float(y_pred, "y_pred"), "y_pred", ndim=(1, 2))
    if y_true.shape != y_pred.shape:
        raise ShapeError(
            f"y_true and y_pred must have the same shape, got {y_true.shape} and {y_pred.shape}"
        )
    check_not_empty(y_true, "y_true")
    check_finite(y_true, "y_true")
    check_finite(y_pred, "y_pred")
    return y_true, y_pred


def _finite_score(value: Any, metric: str) -> float:
    """``value``, unless finite data overflowed it (then NonFiniteError, not a silent inf)."""
    if not np.isfinite(value):
        raise NonFiniteError(
            f"{metric}: the result overflows; the values are too large (rescale them first)"
        )
    return float(value)


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """Mean of ``(y_true - y_pred)**2`` over all elements.

    Derived in chapter 10, *Regressing sinc* (``chapters/10_regressing_sinc``).

    Parameters
    ----------
    y_true, y_pred : array_like, same shape, (n,) or (n, k)

    Returns
    -------
    float
    """
    y_true, y_pred = _regression_arrays(y_true, y_pred)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: reported just below
        return _finite_score(np.mean(np.square(y_true - y_pred)), "mean_squared_error")


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (1 is perfect, 0 = predicting the mean).

    Derived in chapter 10, *Regressing sinc* (``chapters/10_regressing_sinc``).

    Parameters
    ----------
    y_true, y_pred : array_like, same shape, (n,) or (n, k)
        For ``k`` outputs the score is the plain average of the ``k`` per-output scores
        (scikit-learn's ``"uniform_average"``).

    Returns
    -------
    float
        A constant target scores 1.0 when predicted exactly and 0.0 otherwise (as in
        scikit-learn), instead of dividing by zero.
    """
    y_true, y_pred = _regression_arrays(y_true, y_pred)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: reported just below
        ss_res = np.sum(np.square(y_true - y_pred), axis=0)
        ss_tot = np.sum(np.square(y_true - y_true.mean(axis=0)), axis=0)
        constant = ss_tot == 0
        scores = np.where(constant, np.where(ss_res == 0, 1.0, 0.0),
                          1.0 - ss_res / np.where(constant, 1.0, ss_tot))
        return _finite_score(np.mean(scores), "r2_score")
