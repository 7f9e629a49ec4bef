"""The book's figures: one seaborn style, and helpers for the plots every chapter draws.

Each helper draws into ``ax`` (or a new figure), labels the axes, sets a title and
returns the ``Axes``. matplotlib and seaborn are imported only when a helper is called
(``pip install matplotlib seaborn``), so the rest of the package runs without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import (
    as_array,
    check_array,
    check_finite,
    check_nonnegative,
    check_not_empty,
    check_positive_int,
    check_same_length,
)
from .exceptions import (
    ArgumentTypeError,
    DTypeError,
    NonFiniteError,
    ParameterError,
    ShapeError,
    UnknownNameError,
)
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
            "plotting needs matplotlib and seaborn: pip install matplotlib seaborn"
        ) from err
    return plt, sns


def _axes(ax: Axes | None) -> Axes:
    plt, _ = _require_plotting()
    if ax is None:
        _, ax = plt.subplots()
    elif not hasattr(ax, "plot"):
        raise ArgumentTypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _data(X: Any, who: str, n_features: int) -> np.ndarray:
    """``X`` as a non-empty, finite, real 2-D array with ``n_features`` columns."""
    X = check_array(X, f"{who}: X", ndim=2, dtype_kind="fiu")
    if X.shape[1] != n_features:
        noun = "feature" if n_features == 1 else "features"
        raise ShapeError(f"{who}: X must have {n_features} {noun}, got shape {X.shape}")
    check_not_empty(X, f"{who}: X")
    check_finite(X, f"{who}: X")
    with np.errstate(over="ignore"):
        span = X.max(axis=0).astype(np.float64) - X.min(axis=0)
    if not np.isfinite(span).all():
        raise NonFiniteError(f"{who}: X spans a range too large to draw (its max - min overflows)")
    return X


def _class_labels(y: Any, who: str) -> np.ndarray:
    """``y`` as 1-D class labels to colour points by: integers, finite floats or strings."""
    y = as_array(y, f"{who}: y")
    if y.ndim != 1:
        raise ShapeError(f"{who}: y must be 1-D labels of shape (n,), got shape {y.shape}")
    if y.dtype.kind not in "biufU":
        raise DTypeError(f"{who}: y must hold numbers or strings, got dtype {y.dtype}")
    if y.dtype.kind == "f":
        check_finite(y, f"{who}: y")
    return y


def _model_output(model: Any, grid: np.ndarray, who: str) -> np.ndarray:
    """The model's outputs on ``grid``, one per row, as an array (strings allowed)."""
    out = as_array(_predictor(model)(grid), f"{who}: the model's output")
    if out.ndim not in (1, 2) or len(out) != len(grid):
        raise ShapeError(
            f"{who}: the model returned shape {out.shape} for {len(grid)} inputs; expected "
            f"({len(grid)},) or ({len(grid)}, k)"
        )
    return out


def use_book_style() -> None:
    """Apply the book's plotting style (seaborn "whitegrid", colour-blind-safe palette).

    Derived in chapter 1, *NumPy for neural nets* (``chapters/01_numpy_for_neural_nets``);
    every chapter calls it once so all figures look alike.
    """
    _, sns = _require_plotting()
    from cycler import cycler

    # Colour-blind-safe colours, each line with its own dash pattern as well: lines stay
    # apart in greyscale (print) and for readers who do not tell the colours apart.
    dashes = ["-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)),
              (0, (5, 2, 1, 2)), (0, (3, 2)), (0, (7, 2))]
    lines = cycler(color=sns.color_palette("colorblind", len(dashes))) + cycler(linestyle=dashes)
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        rc={
            "axes.prop_cycle": lines,
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
    if x is None:
        x = np.linspace(-5.0, 5.0, 401)
    else:
        x = check_array(x, "plot_function_and_derivative: x", ndim=1, dtype_kind="fiu")
        check_not_empty(x, "plot_function_and_derivative: x")
        x = x.astype(np.float64, copy=False) if x.dtype.kind in "iu" else x
    ax = _axes(ax)
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
    raise ArgumentTypeError(
        f"model: expected a Module, an estimator with predict() or a function, "
        f"got {type(model).__name__}"
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
    _, sns = _require_plotting()
    who = "plot_decision_boundary"
    X = _data(X, who, 2)
    y = _class_labels(y, who)
    check_same_length(X, y, f"{who}: X", f"{who}: y")
    resolution = check_positive_int(resolution, f"{who}: resolution")
    padding = check_nonnegative(padding, f"{who}: padding")
    _predictor(model)  # a wrong kind of model fails before a figure is drawn
    ax = _axes(ax)
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise NonFiniteError(f"{who}: X plus padding exceeds the range of floating point")
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    predicted = _as_labels(_model_output(model, grid, who))
    if (y.dtype.kind == "U") != (predicted.dtype.kind == "U"):
        raise DTypeError(
            f"{who}: y holds labels of dtype {y.dtype} but the model predicts {predicted.dtype}; "
            "pass y in the model's own labels"
        )
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
    who = "plot_regression"
    X = _data(X, who, 1)
    y = check_array(y, f"{who}: y", ndim=None, dtype_kind="fiu")
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ShapeError(f"{who}: y must have shape (n,) or (n, 1), got {y.shape}")
    check_same_length(X, y, f"{who}: X", f"{who}: y")
    _predictor(model)  # a wrong kind of model fails before a figure is drawn
    ax = _axes(ax)
    grid = np.linspace(X.min(), X.max(), 400)
    ax.scatter(X[:, 0], np.ravel(y), s=12, alpha=0.5, label="data")
    if truth is not None:
        ax.plot(grid, truth(grid), color="0.3", linestyle=":", label="true function")
    prediction = _model_output(model, grid[:, None], who)
    if prediction.ndim == 2 and prediction.shape[1] != 1:
        raise ShapeError(f"{who}: the model must have one output, got shape {prediction.shape}")
    ax.plot(grid, np.ravel(prediction), linewidth=2, label="model")
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
        if not isinstance(history, dict):
            raise ArgumentTypeError(
                "plot_history: history must be the DataFrame fit() returns or a dict of lists, "
                f"got {type(history).__name__}"
            )
        try:
            history = pd.DataFrame(history)
        except ValueError as err:  # e.g. lists of different lengths
            raise ShapeError(f"plot_history: history cannot be made a table: {err}") from None
    if metric not in history.columns:
        raise UnknownNameError(
            f"plot_history: no column {metric!r}; columns are {list(history.columns)}"
        )
    if len(history) == 0:
        raise ShapeError("plot_history: history has no rows (no epochs to plot)")
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
    who = "plot_confusion_matrix"
    cm = check_array(cm, f"{who}: cm", ndim=2, dtype_kind="fiu")
    if cm.shape[0] != cm.shape[1]:
        raise ShapeError(f"{who}: cm must be square, got shape {cm.shape}")
    check_not_empty(cm, f"{who}: cm")
    check_finite(cm, f"{who}: cm")
    if (cm < 0).any():
        raise ParameterError(f"{who}: cm holds counts, which cannot be negative")
    ticks = list(labels) if labels is not None else list(range(len(cm)))
    if len(ticks) != len(cm):
        raise ShapeError(f"{who}: got {len(ticks)} labels for {len(cm)} classes")
    ax = _axes(ax)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fmt = ".2f" if normalize else ("d" if cm.dtype.kind in "iu" else "g")
    sns.heatmap(values, annot=True, fmt=fmt, cmap="Blues", cbar=False,
                square=True, xticklabels=ticks, yticklabels=ticks, ax=ax)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax
