"""Data handling: splits, minibatches, one-hot codes, scaling; and the data sets.

Splits and minibatches are derived in chapter 8, *Training* (``chapters/08_training``).
The data sets live in :mod:`nbfromscratch.datasets` (toy problems, scikit-learn's digits)
and :mod:`nbfromscratch.mnist`, and are re-exported here so that everything about data is
one import away: ``from nbfromscratch.data import make_moons, train_test_split``.

Randomness only ever comes from the ``rng`` argument: ``None`` (fresh entropy), an int
seed, or a ``np.random.Generator`` (used as is, so successive calls continue its stream).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._labels import check_labels, infer_n_classes
from ._validation import (
    as_array,
    as_float,
    as_rng,
    check_array,
    check_finite,
    check_not_empty,
    check_positive_int,
    check_same_length,
    is_int,
)
from .datasets import load_digits, make_moons, make_sinc
from .exceptions import DTypeError, NonFiniteError, NotFittedError, ParameterError, ShapeError
from .mnist import load_mnist, read_idx

__all__ = [
    "one_hot",
    "train_test_split",
    "iterate_minibatches",
    "Standardizer",
    "make_moons",
    "make_sinc",
    "load_digits",
    "load_mnist",
    "read_idx",
]

RNGLike = np.random.Generator | int | None


def one_hot(y: Any, n_classes: int | None = None, dtype: Any = np.float64) -> np.ndarray:
    """One-hot encode integer class labels.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Parameters
    ----------
    y : array_like of int, shape (n,)
        Labels in ``0 .. n_classes - 1``.
    n_classes : int, optional
        Number of columns; default ``y.max() + 1``.
    dtype : numeric dtype, default float64
        Usually float32 or float64 (the dtype of the model's outputs).

    Returns
    -------
    ndarray, shape (n, n_classes)
        Row ``i`` is all zeros except a one in column ``y[i]``.

    Raises
    ------
    LabelError
        Labels that are not integers ``0 .. n_classes - 1``.
    EmptyInputError
        No labels and no ``n_classes`` to say how many columns.
    """
    dtype = _numeric_dtype(dtype)
    y = check_labels(y, n_classes)
    if n_classes is None:
        check_not_empty(y, "y")  # no labels: the number of classes is unknown
        n_classes = infer_n_classes([y], "one_hot: y")
    try:
        out = np.zeros((len(y), n_classes), dtype=dtype)
    except MemoryError:
        raise ParameterError(
            f"one_hot: {len(y)} x {n_classes} does not fit in memory; is n_classes right?"
        ) from None
    out[np.arange(len(y)), y] = 1
    return out


def _numeric_dtype(dtype: Any) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"one_hot: dtype must be a numeric dtype, got {dtype!r}") from None
    if dtype.kind not in "biuf":
        raise DTypeError(f"one_hot: dtype must be a numeric dtype, got {dtype}")
    return dtype


def train_test_split(
    X: Any,
    y: Any,
    test_size: float | int = 0.2,
    stratify: bool = False,
    rng: RNGLike = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle the samples and split them into a training and a test set.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    X : array_like, shape (n, ...)
    y : array_like, shape (n, ...)
    test_size : float in (0, 1) or int, default 0.2
        Fraction of the samples (rounded up, as scikit-learn does) or number of samples
        that go to the test set.
    stratify : bool, default False
        Keep the class proportions of the labels ``y`` in both parts (each class is split
        in the same ratio, up to rounding).
    rng : Generator, int seed or None

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        In scikit-learn's order.

    Raises
    ------
    ShapeError
        ``X`` and ``y`` have different numbers of samples.
    EmptyInputError
        No samples.
    ParameterError
        ``test_size`` leaves the training or the test part empty.
    LabelError
        ``stratify=True`` with ``y`` that are not integer class labels.
    """
    X, y = as_array(X, "X"), as_array(y, "y")
    check_same_length(X, y)
    check_not_empty(X, "X")
    n = len(X)
    n_test = _test_count(test_size, n)
    rng = as_rng(rng)
    if stratify:
        test_idx, train_idx = _stratified_indices(check_labels(y, name="y"), n_test, rng)
    else:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def _test_count(test_size: float | int, n: int) -> int:
    if is_int(test_size):
        n_test = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ParameterError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if not 0 < n_test < n:
        raise ParameterError(
            f"test_size={test_size!r} leaves {n_test} test and {n - n_test} training samples "
            f"out of {n}; both parts need at least one"
        )
    return n_test


def _stratified_indices(
    y: np.ndarray, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Test and training indices with (up to rounding) the class proportions of ``y``."""
    n = len(y)
    # A random permutation, then a *stable* sort by label: samples are grouped by class
    # and in random order inside each group.
    perm = rng.permutation(n)
    order = perm[np.argsort(y[perm], kind="stable")]
    _, counts = np.unique(y, return_counts=True)
    # Largest-remainder rounding: class quotas sum exactly to n_test.
    quotas = counts * (n_test / n)
    k = np.floor(quotas).astype(np.int64)
    leftover = n_test - int(k.sum())
    k[np.argsort(-(quotas - k), kind="stable")[:leftover]] += 1
    rank_in_class = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    is_test = rank_in_class < np.repeat(k, counts)
    return rng.permutation(order[is_test]), rng.permutation(order[~is_test])


def iterate_minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    rng: RNGLike = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_batch, y_batch)`` pairs covering the data once (one epoch).

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    X : ndarray, shape (n, ...)
    y : ndarray, shape (n, ...)
    batch_size : int
        Samples per batch; the last batch holds the remainder (may be smaller).
    shuffle : bool, default True
        Visit the samples in the order of one random permutation (drawn once per call).
        Without shuffling the batches are views (no copy).
    rng : Generator, int seed or None
        Source of the permutation.

    Yields
    ------
    X_batch : ndarray, shape (batch_size, ...)
    y_batch : ndarray, shape (batch_size, ...)
    """
    check_positive_int(batch_size, "batch_size")
    X, y = as_array(X, "X"), as_array(y, "y")
    check_same_length(X, y)
    n = len(X)
    if not shuffle:
        for start in range(0, n, batch_size):
            yield X[start:start + batch_size], y[start:start + batch_size]
        return
    perm = as_rng(rng).permutation(n)
    for start in range(0, n, batch_size):
        # One fancy-index per batch (a copy of just this batch), not per sample.
        idx = perm[start:start + batch_size]
        yield X[idx], y[idx]


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1 (like scikit-learn's StandardScaler).

    Derived in chapter 10, *Regressing sinc* (``chapters/10_regressing_sinc``).

    Attributes
    ----------
    mean_ : ndarray, shape (n_features,)
    scale_ : ndarray, shape (n_features,)
        The standard deviations, except that a constant feature gets scale 1 (so it maps
        to 0 rather than dividing by zero).
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Learn ``mean_`` and ``scale_`` from ``X`` of shape ``(n, n_features)``."""
        X = check_array(as_float(X, "X"), "X", ndim=2)
        check_not_empty(X, "X")
        check_finite(X, "X")
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            mean = X.mean(axis=0)
            std = X.std(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise NonFiniteError(
                "Standardizer.fit: X's values are so large that their mean or standard "
                "deviation overflows; rescale X first (e.g. divide by its largest value)"
            )
        self.mean_ = mean
        self.scale_ = np.where(std > 0, std, 1).astype(X.dtype)
        return self

    def _check_fitted(self, X: Any) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise NotFittedError("Standardizer is not fitted yet; call fit(X) first")
        X = check_array(as_float(X, "X", dtype=self.mean_.dtype), "X", ndim=2)
        if X.shape[1] != len(self.mean_):
            raise ShapeError(
                f"Standardizer was fitted on {len(self.mean_)} features, X has {X.shape[1]}"
            )
        check_finite(X, "X")
        return X

    def transform(self, X: Any) -> np.ndarray:
        """``(X - mean_) / scale_``, same shape and dtype as the fitted data."""
        X = self._check_fitted(X)
        with np.errstate(over="ignore", invalid="ignore"):
            return _no_overflow((X - self.mean_) / self.scale_, "transform")

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`: ``X * scale_ + mean_``."""
        X = self._check_fitted(X)
        with np.errstate(over="ignore", invalid="ignore"):
            return _no_overflow(X * self.scale_ + self.mean_, "inverse_transform")

    def fit_transform(self, X: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same data."""
        return self.fit(X).transform(X)


def _no_overflow(out: np.ndarray, method: str) -> np.ndarray:
    """``out``, unless finite input overflowed into inf/NaN on the way (then NonFiniteError)."""
    if not np.isfinite(out).all():
        raise NonFiniteError(
            f"Standardizer.{method}: the result overflows (X holds values far outside the "
            "range the scaler was fitted on); check X"
        )
    return out
