"""The book's figures: one seaborn style, and helpers for the plots every chapter draws.

Each helper draws into ``ax`` (or a new figure), labels the axes, sets a title and
returns the ``Axes``. matplotlib and seaborn are imported only when a helper is called
(``pip install nbfromscratch[plot]``), so the rest of the package runs without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_array
from .exceptions import ShapeError
from .layers.module import Module

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "use_book_style",
    "plot_function_and_derivative",
    "plot_decision_boundary",
    "plot_regression",
    "plot_history",
    "plot_confusion_matrix",
]


def _require_plotting() -> tuple[Any, Any]:
    try:
        import matplotlib.pyplot as plt
        import seaborn as sns
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib and seaborn: pip install nbfromscratch[plot]"
        ) from err
    return plt, sns


def _axes(ax: Axes | None) -> Axes:
    plt, _ = _require_plotting()
    if ax is None:
        _, ax = plt.subplots()
    return ax


def use_book_style() -> None:
    """Apply the book's plotting style (seaborn "whitegrid", colour-blind-safe palette).

    Derived in chapter 1, *NumPy for neural nets* (``chapters/01_numpy_for_neural_nets``);
    every chapter calls it once so all figures look alike.
    """
    _, sns = _require_plotting()
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        rc={
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "legend.frameon": False,
            "savefig.bbox": "tight",
        },
    )


def plot_function_and_derivative(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    name: str = "f",
) -> Axes:
    """Plot ``f(x)`` and its derivative ``f'(x)`` on one set of axes.

    Derived in chapter 2, *Differentiable functions* (``chapters/02_differentiable_functions``).

    Parameters
    ----------
    f, df : callable
        The function and its derivative, applied elementwise to ``x``.
    x : ndarray, shape (m,), optional
        Where to evaluate; default 401 points in ``[-5, 5]``.
    ax : Axes, optional
    title : str, optional
        Default ``"f and its derivative"`` with ``f`` replaced by ``name``.
    name : str, default "f"
        How the legend names the function.

    Returns
    -------
    Axes
    """
    ax = _axes(ax)
    x = np.linspace(-5.0, 5.0, 401) if x is None else np.asarray(x, dtype=float)
    ax.plot(x, f(x), label=f"${name}(x)$")
    ax.plot(x, df(x), linestyle="--", label=f"${name}'(x)$")
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    ax.set_xlabel("$x$")
    ax.set_ylabel("value")
    ax.set_title(title if title is not None else f"{name} and its derivative")
    ax.legend()
    return ax


def _predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A function ``X -> outputs`` from a Module, an estimator or a plain function."""
    if isinstance(model, Module):
        from .training import predict

        return lambda X: predict(model, X)
    if hasattr(model, "predict"):
        return model.predict
    if callable(model):
        return model
    raise TypeError(
        f"expected a Module, an estimator with predict() or a function, got {type(model).__name__}"
    )


def _as_labels(outputs: np.ndarray) -> np.ndarray:
    """Class labels from outputs: labels (n,), class scores (n, C) or one logit (n, 1)."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 2:
        return outputs.argmax(axis=1) if outputs.shape[1] > 1 else (outputs[:, 0] > 0).astype(int)
    return outputs


def plot_decision_boundary(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    ax: Axes | None = None,
    *,
    resolution: int = 200,
    padding: float = 0.5,
    title: str = "Decision regions",
) -> Axes:
    """Colour the plane by predicted class and scatter the data on top.

    Derived in chapter 9, *Two moons* (``chapters/09_two_moons``).

    Parameters
    ----------
    model : Module, estimator or callable
        A network (its outputs are class scores: arg-max, or ``logit > 0`` for one
        output), an object with ``predict(X)``, or a function ``X -> labels or scores``.
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
        True labels, used to colour the points.
    ax : Axes, optional
    resolution : int, default 200
        Grid points per axis.
    padding : float, default 0.5
        Margin around the data.
    title : str

    Returns
    -------
    Axes
    """
    plt, sns = _require_plotting()
    X = check_array(X, "X", ndim=2, dtype_kind="fiu")
    if X.shape[1] != 2:
        raise ShapeError(f"plot_decision_boundary: X must have 2 features, got shape {X.shape}")
    ax = _axes(ax)
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    predicted = _as_labels(_predictor(model)(grid))
    # Labels may be strings (an estimator's classes_): colour by index into the sorted set.
    classes = np.unique(np.concatenate([np.unique(y), np.unique(predicted)]))
    zz = np.searchsorted(classes, predicted).reshape(xx.shape)
    colors = sns.color_palette(n_colors=len(classes))
    ax.contourf(xx, yy, zz, levels=np.arange(len(classes) + 1) - 0.5, colors=colors, alpha=0.25)
    for k, label in enumerate(classes):
        mask = np.asarray(y) == label
        ax.scatter(X[mask, 0], X[mask, 1], color=colors[k], edgecolor="white", linewidth=0.5,
                   s=25, label=f"class {label}")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    ax.legend(loc="best")
    return ax


def plot_regression(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    ax: Axes | None = None,
    *,
    truth: Callable[[np.ndarray], np.ndarray] | None = None,
    title: str = "Model fit",
) -> Axes:
    """Scatter 1-D regression data and draw the model's prediction (and the true function).

    Derived in chapter 10, *Regressing sinc* (``chapters/10_regressing_sinc``).

    Parameters
    ----------
    model : Module, estimator or callable
        Maps ``X`` of shape (m, 1) to predictions of shape (m,) or (m, 1).
    X : ndarray, shape (n, 1)
    y : ndarray, shape (n,) or (n, 1)
    ax : Axes, optional
    truth : callable, optional
        The noise-free function of ``x`` (shape (m,) -> (m,)), drawn for comparison.
    title : str

    Returns
    -------
    Axes
    """
    X = check_array(X, "X", ndim=2, dtype_kind="fiu")
    if X.shape[1] != 1:
        raise ShapeError(f"plot_regression: X must have 1 feature, got shape {X.shape}")
    ax = _axes(ax)
    grid = np.linspace(X.min(), X.max(), 400)
    ax.scatter(X[:, 0], np.ravel(y), s=12, alpha=0.5, label="data")
    if truth is not None:
        ax.plot(grid, truth(grid), color="0.3", linestyle=":", label="true function")
    ax.plot(grid, np.ravel(_predictor(model)(grid[:, None])), linewidth=2, label="model")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_history(
    history: Any,
    metric: str = "loss",
    ax: Axes | None = None,
    *,
    title: str | None = None,
    logy: bool = False,
) -> Axes:
    """Plot a training metric per epoch, with its validation counterpart if present.

    Derived in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    history : pandas.DataFrame or dict of lists
        As returned by :func:`~nbfromscratch.training.fit` (columns ``epoch``, ``loss``,
        ``val_loss``, ``accuracy``, ...).
    metric : str, default "loss"
        Column to plot; ``"val_" + metric`` is drawn too when present.
    ax : Axes, optional
    title : str, optional
        Default ``"Loss per epoch"`` (or the metric's name).
    logy : bool, default False
        Logarithmic y axis (useful for losses spanning decades).

    Returns
    -------
    Axes
    """
    import pandas as pd

    if not isinstance(history, pd.DataFrame):  # re-wrapping a DataFrame would drop .attrs
        history = pd.DataFrame(history)
    if metric not in history.columns:
        raise KeyError(f"plot_history: no column {metric!r}; columns are {list(history.columns)}")
    ax = _axes(ax)
    epochs = history["epoch"] if "epoch" in history.columns else np.arange(1, len(history) + 1)
    ax.plot(epochs, history[metric], marker="o", markersize=3, label="training")
    if f"val_{metric}" in history.columns:
        ax.plot(epochs, history[f"val_{metric}"], marker="o", markersize=3, label="validation")
    best = history.attrs.get("best_epoch")
    if best:
        ax.axvline(best, color="0.5", linestyle="--", linewidth=1, label=f"best epoch ({best})")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title if title is not None else f"{metric.replace('_', ' ').capitalize()} per epoch")
    ax.legend()
    return ax


def plot_confusion_matrix(
    cm: np.ndarray,
    ax: Axes | None = None,
    labels: Sequence[Any] | None = None,
    *,
    normalize: bool = False,
    title: str = "Confusion matrix",
) -> Axes:
    """Draw a confusion matrix as an annotated heat map (rows: truth, columns: prediction).

    Derived in chapter 11, *Digits* (``chapters/11_digits``).

    Parameters
    ----------
    cm : ndarray, shape (C, C)
        Counts, e.g. from :func:`~nbfromscratch.metrics.confusion_matrix`.
    ax : Axes, optional
    labels : sequence, optional
        Class names for the ticks; default ``0 .. C-1``.
    normalize : bool, default False
        Show each row as fractions of that true class (the diagonal is per-class recall).
    title : str

    Returns
    -------
    Axes
    """
    _, sns = _require_plotting()
    cm = check_array(cm, "cm", ndim=2, dtype_kind="fiu")
    if cm.shape[0] != cm.shape[1]:
        raise ShapeError(f"plot_confusion_matrix: cm must be square, got shape {cm.shape}")
    ax = _axes(ax)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    ticks = list(labels) if labels is not None else list(range(len(cm)))
    fmt = ".2f" if normalize else ("d" if cm.dtype.kind in "iu" else "g")
    sns.heatmap(values, annot=True, fmt=fmt, cmap="Blues", cbar=False,
                square=True, xticklabels=ticks, yticklabels=ticks, ax=ax)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax
