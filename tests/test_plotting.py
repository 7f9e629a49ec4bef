"""Plotting helpers (Agg backend): each returns its Axes, draws the data, labels everything."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbfromscratch.exceptions import ShapeError, UnknownNameError  # noqa: E402
from nbfromscratch.layers import Linear, Sequential  # noqa: E402
from nbfromscratch.plotting import (  # noqa: E402
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_function_and_derivative,
    plot_history,
    plot_regression,
    use_book_style,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_book_style_sets_a_grid_and_removes_top_and_right_spines():
    with matplotlib.rc_context():
        use_book_style()
        assert matplotlib.rcParams["axes.grid"] is True
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["axes.spines.right"] is False


def test_function_and_derivative_draws_both_curves():
    x = np.linspace(-2, 2, 9)
    ax = plot_function_and_derivative(np.tanh, lambda t: 1 - np.tanh(t) ** 2, x, name="tanh")
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 9]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), np.tanh(x))
    np.testing.assert_allclose(lines[1].get_ydata(), 1 / np.cosh(x) ** 2)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["$tanh(x)$", "$tanh'(x)$"]
    assert_labelled(ax)


def test_decision_boundary_evaluates_a_padded_grid_and_scatters_each_class():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
    y = np.array([0, 0, 1, 1])
    seen = {}

    def rule(grid):
        seen["grid"] = grid
        return (grid[:, 0] > 1.5).astype(int)

    fig, given = plt.subplots()
    ax = plot_decision_boundary(rule, X, y, ax=given, resolution=30, padding=0.5)
    assert ax is given
    grid = seen["grid"]
    assert grid.shape == (900, 2)
    np.testing.assert_allclose(grid.min(axis=0), [-0.5, -0.5])
    np.testing.assert_allclose(grid.max(axis=0), [3.5, 3.5])
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 2]
    assert len(offsets) == 2  # one scatter per class, two points each
    assert any(type(c).__name__ == "QuadContourSet" for c in ax.collections)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    assert_labelled(ax)


def test_decision_boundary_accepts_a_network_and_string_labels():
    X = np.random.default_rng(0).normal(size=(20, 2))
    model = Sequential(Linear(2, 3, rng=0))
    assert plot_decision_boundary(model, X, np.arange(20) % 3, resolution=10).get_title()

    class Estimator:
        def predict(self, grid):
            return np.where(grid[:, 1] > 0, "up", "down")

    ax = plot_decision_boundary(Estimator(), X, np.where(X[:, 1] > 0, "up", "down"),
                                resolution=10)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class down", "class up"]


def test_decision_boundary_needs_two_features():
    with pytest.raises(ShapeError, match="2 features"):
        plot_decision_boundary(lambda g: g[:, 0], np.zeros((3, 3)), np.zeros(3))


def test_regression_plot_draws_data_model_and_truth():
    X = np.linspace(-3, 3, 25)[:, None]
    y = np.sin(X)
    ax = plot_regression(lambda g: 2 * g, X, y, truth=np.sin)
    model_line = ax.get_lines()[-1]
    np.testing.assert_allclose(model_line.get_ydata(), 2 * model_line.get_xdata())
    assert len(ax.collections[0].get_offsets()) == 25
    assert len(ax.get_lines()) == 2
    assert_labelled(ax)


def test_history_plots_training_and_validation_curves():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.25],
                            "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.9]})
    history.attrs["best_epoch"] = 3
    ax = plot_history(history, logy=True)
    curves = [line for line in ax.get_lines() if list(line.get_xdata()) == [1, 2, 3]]
    assert [list(c.get_ydata()) for c in curves] == [[1.0, 0.5, 0.25], [1.1, 0.7, 0.6]]
    assert ax.get_yscale() == "log"
    assert any(line.get_label() == "best epoch (3)" for line in ax.get_lines()), "best epoch not marked"
    assert ax.get_title() == "Loss per epoch"
    assert_labelled(ax)
    acc = plot_history(history, "accuracy")
    assert len([line for line in acc.get_lines() if len(line.get_xdata()) == 3]) == 1
    with pytest.raises(UnknownNameError, match="val_accuracy"):
        plot_history(history, "val_accuracy")


def test_confusion_matrix_annotates_every_cell_with_its_count():
    cm = np.array([[5, 1], [0, 7]])
    ax = plot_confusion_matrix(cm, labels=["no", "yes"])
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "7"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["no", "yes"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    normalized = plot_confusion_matrix(cm, normalize=True)
    assert [t.get_text() for t in normalized.texts] == ["0.83", "0.17", "0.00", "1.00"]
