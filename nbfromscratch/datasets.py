"""Data sets: two moons, noisy sinc, and scikit-learn's 8x8 digits.

Each is built in the chapter that first uses it: *Two moons* (``chapters/09_two_moons``),
*Regressing sinc* (``chapters/10_regressing_sinc``) and *Digits* (``chapters/11_digits``).
MNIST, which needs a download, is in :mod:`nbfromscratch.mnist`. All are re-exported by
:mod:`nbfromscratch.data`.

Randomness only ever comes from the ``rng`` argument: ``None`` (fresh entropy), an int
seed, or a ``np.random.Generator`` (used as is, so successive calls continue its stream).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import as_rng, check_nonnegative, check_positive_int
from .exceptions import ParameterError

__all__ = ["make_moons", "make_sinc", "load_digits"]

RNGLike = np.random.Generator | int | None


def make_moons(
    n_samples: int = 200, noise: float = 0.1, rng: RNGLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: a small classification problem no line can solve.

    Derived in chapter 9, *Two moons* (``chapters/09_two_moons``). Same construction as
    scikit-learn's ``make_moons``: class 0 on the upper arc centred at (0, 0), class 1 on
    the lower arc centred at (1, 0.5), Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    n_samples : int, default 200
        Total number of points; class 0 gets ``n_samples // 2``.
    noise : float, default 0.1
    rng : Generator, int seed or None

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 2)
    y : ndarray of int64, shape (n_samples,)
        In random order.
    """
    if check_positive_int(n_samples, "make_moons: n_samples") < 2:
        raise ParameterError(f"make_moons: n_samples must be >= 2, got {n_samples}")
    _check_noise(noise, "make_moons")
    rng = as_rng(rng)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0, np.pi, n_outer)
    t_inner = np.linspace(0, np.pi, n_inner)
    X = np.concatenate([
        np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
        np.column_stack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)]),
    ])
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    perm = rng.permutation(n_samples)
    X, y = X[perm], y[perm]
    if noise > 0:
        X += rng.normal(scale=noise, size=X.shape)
    return X, y


def make_sinc(
    n_samples: int = 200,
    noise: float = 0.1,
    x_range: tuple[float, float] = (-10.0, 10.0),
    rng: RNGLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of ``sinc(x) = sin(x) / x`` (with ``sinc(0) = 1``) for regression.

    Derived in chapter 10, *Regressing sinc* (``chapters/10_regressing_sinc``).

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to ``y``.
    x_range : (float, float), default (-10, 10)
        ``x`` is drawn uniformly from this interval.
    rng : Generator, int seed or None

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 1)
        Sorted ascending, so ``plt.plot(X, y)`` draws a curve.
    y : ndarray of float64, shape (n_samples, 1)
        Column-shaped like a network's output, ready for ``MSELoss``.
    """
    check_positive_int(n_samples, "make_sinc: n_samples")
    _check_noise(noise, "make_sinc")
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise ParameterError(f"make_sinc: x_range must be two numbers (low, high), got {x_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ParameterError(f"make_sinc: x_range must be (low, high) with low < high, got {x_range}")
    rng = as_rng(rng)
    x = np.sort(rng.uniform(low, high, size=n_samples))
    # np.sinc is the normalised sin(pi x) / (pi x); rescaling gives sin(x) / x, and
    # np.sinc already returns 1 at 0 without a 0/0 warning.
    y = np.sinc(x / np.pi)
    if noise > 0:
        y = y + rng.normal(scale=noise, size=n_samples)
    return x[:, None], y[:, None]


def _check_noise(noise: Any, who: str) -> None:
    check_nonnegative(noise, f"{who}: noise")


def load_digits(scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits bundled with scikit-learn (no download).

    Derived in chapter 11, *Digits* (``chapters/11_digits``).

    Parameters
    ----------
    scale : bool, default True
        Divide the pixel values (0..16) by 16, into ``[0, 1]``.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        One flattened image per row.
    y : ndarray of int64, shape (1797,)
        The digit, 0..9.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_digits needs scikit-learn: pip install nbfromscratch[data]"
        ) from err
    X, y = sklearn_load_digits(return_X_y=True)
    X = X.astype(np.float64)
    if scale:
        X /= 16.0
    return X, y.astype(np.int64)
