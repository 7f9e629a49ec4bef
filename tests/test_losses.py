"""Tests for nbfromscratch.losses: values by hand and by naive formulas, gradients vs finite
differences (both reductions, both target forms), stability, dtype, and input errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbfromscratch.exceptions import (
    BackwardBeforeForwardError,
    LabelError,
    ShapeError,
    UnknownNameError,
)
from nbfromscratch.gradcheck import numerical_gradient
from nbfromscratch.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss

SETTINGS = settings(max_examples=60, deadline=None)
TOL = 1e-6


def max_rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


def assert_grad_matches_fd(loss: Loss, pred: np.ndarray, target) -> None:
    loss(pred, target)
    analytic = loss.backward()
    assert analytic.shape == pred.shape and analytic.dtype == pred.dtype
    numeric = numerical_gradient(lambda p: loss(p, target), pred.copy())
    assert max_rel_err(analytic, numeric) < TOL


def naive_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# -- MSELoss -----------------------------------------------------------------------------------------
def test_mse_value_by_hand_both_reductions():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.ones((2, 2))  # squared errors 0, 1, 4, 9
    assert MSELoss()(pred, target) == pytest.approx(14 / 4)
    assert MSELoss("sum")(pred, target) == pytest.approx(14.0)


def test_mse_grad_by_hand():
    loss = MSELoss()
    loss(np.array([[3.0], [1.0]]), np.array([[1.0], [1.0]]))
    np.testing.assert_allclose(loss.backward(), [[2 * 2 / 2], [0.0]])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(5,), (5, 1), (4, 3)])
def test_mse_grad_matches_finite_differences(reduction, shape):
    rng = np.random.default_rng(0)
    assert_grad_matches_fd(MSELoss(reduction), rng.standard_normal(shape), rng.standard_normal(shape))


def test_mse_accepts_1d_target_for_column_prediction_without_broadcasting():
    pred = np.array([[1.0], [2.0], [3.0]])
    # (3,) vs (3, 1) would broadcast to (3, 3) in plain NumPy; here it means the same samples
    assert MSELoss()(pred, np.array([1.0, 2.0, 5.0])) == pytest.approx(4 / 3)
    assert MSELoss().forward(pred, [1, 2, 5]) == pytest.approx(4 / 3)


def test_mse_shape_mismatch_raises():
    with pytest.raises(ShapeError, match=r"MSELoss.*target has shape \(3, 2\), expected \(3, 1\)"):
        MSELoss()(np.zeros((3, 1)), np.zeros((3, 2)))


# -- CrossEntropyLoss -------------------------------------------------------------------------------
def test_cross_entropy_value_by_hand():
    # softmax([0, log 3]) = [1/4, 3/4]
    z = np.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    assert CrossEntropyLoss("sum")(z, np.array([1, 0])) == pytest.approx(-math.log(0.75) + math.log(4.0))
    assert CrossEntropyLoss()(z, np.array([1, 0])) == pytest.approx((-math.log(0.75) + math.log(4.0)) / 2)


def test_cross_entropy_is_right_for_batches_of_every_shape_in_turn():
    # Batches of other sizes and class counts in turn: each gets its own flat row starts.
    loss_fn = CrossEntropyLoss()
    rng = np.random.default_rng(3)
    for n, c in [(4, 3), (7, 3), (4, 5), (4, 3)]:
        z = rng.normal(size=(n, c))
        y = rng.integers(0, c, size=n)
        expected = np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(n), y])
        assert loss_fn(z, y) == pytest.approx(expected, rel=1e-12)
        assert loss_fn._predicted.tolist() == z.argmax(1).tolist()


def test_cross_entropy_grad_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((4, 3))
    y = np.array([0, 2, 1, 2])
    loss = CrossEntropyLoss()
    loss(z, y)
    onehot = np.eye(3)[y]
    np.testing.assert_allclose(loss.backward(), (naive_softmax(z) - onehot) / 4, atol=1e-15)


def test_cross_entropy_labels_and_onehot_agree():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 4))
    y = np.array([3, 0, 1, 1, 2])
    a, b = CrossEntropyLoss(), CrossEntropyLoss()
    assert a(z, y) == pytest.approx(b(z, np.eye(4)[y]), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), atol=1e-16)


def test_cross_entropy_matches_naive_formula():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((6, 3))
    y = rng.integers(0, 3, 6)
    naive = -np.mean(np.log(naive_softmax(z)[np.arange(6), y]))
    assert CrossEntropyLoss()(z, y) == pytest.approx(naive, rel=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("target_form", ["labels", "onehot", "probabilities", "unnormalised"])
def test_cross_entropy_grad_matches_finite_differences(reduction, target_form):
    rng = np.random.default_rng(4)
    z = 2 * rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    target = {
        "labels": labels,
        "onehot": np.eye(4)[labels],
        "probabilities": rng.dirichlet(np.ones(4), 5),
        "unnormalised": rng.random((5, 4)),
    }[target_form]
    assert_grad_matches_fd(CrossEntropyLoss(reduction), z, target)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_huge_logits_by_hand_no_warning(dtype):
    z = np.array([[1e4, -1e4], [1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = CrossEntropyLoss()(z, np.array([1, 0]))
    # sample 0: -log softmax = 2e4 ; sample 1: 0 ; mean 1e4
    assert value == pytest.approx(1e4)


@pytest.mark.parametrize("bad", [np.array([0, 3]), np.array([-1, 0])])
def test_cross_entropy_labels_out_of_range_raise_label_error(bad):
    with pytest.raises(LabelError, match=r"CrossEntropyLoss.*labels must be in 0..2"):
        CrossEntropyLoss()(np.zeros((2, 3)), bad)


def test_cross_entropy_non_integer_labels_raise_label_error():
    with pytest.raises(LabelError, match="labels must be integers, found 0.5"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(LabelError, match="dtype <U"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array(["a", "b"]))


def test_cross_entropy_integral_float_labels_accepted():
    z = np.zeros((2, 2))
    assert CrossEntropyLoss()(z, np.array([1.0, 0.0])) == pytest.approx(math.log(2.0))


def test_cross_entropy_shape_errors():
    with pytest.raises(ShapeError, match="3 labels for 2 samples"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ShapeError, match=r"expected a 2-D array"):
        CrossEntropyLoss()(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ShapeError, match=r"target has shape \(2, 4\)"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.zeros((2, 4)))


# -- BCEWithLogitsLoss ---------------------------------------------------------------------------------
def test_bce_value_by_hand():
    # z = 0: -log(1/2) whatever y ; z = log 3, y = 1: -log(3/4) ; z = log 3, y = 0: -log(1/4)
    z = np.array([0.0, math.log(3.0), math.log(3.0)])
    y = np.array([1.0, 1.0, 0.0])
    expected = [math.log(2.0), -math.log(0.75), math.log(4.0)]
    assert BCEWithLogitsLoss("sum")(z, y) == pytest.approx(sum(expected))
    assert BCEWithLogitsLoss()(z, y) == pytest.approx(sum(expected) / 3)


def test_bce_matches_naive_formula_and_grad_is_sigmoid_minus_y():
    rng = np.random.default_rng(5)
    z = 3 * rng.standard_normal((6, 1))
    y = rng.integers(0, 2, (6, 1)).astype(float)
    s = 1 / (1 + np.exp(-z))
    naive = np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s))
    loss = BCEWithLogitsLoss()
    assert loss(z, y) == pytest.approx(naive, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (s - y) / 6, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shapes", [((6,), (6,)), ((6, 1), (6, 1)), ((6, 1), (6,)), ((4, 3), (4, 3))])
def test_bce_grad_matches_finite_differences(reduction, shapes):
    rng = np.random.default_rng(6)
    z = 2 * rng.standard_normal(shapes[0])
    y = rng.random(shapes[1])
    assert_grad_matches_fd(BCEWithLogitsLoss(reduction), z, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_huge_logits_by_hand_no_warning(dtype):
    z = np.array([1e4, -1e4, 1e4], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = BCEWithLogitsLoss("sum")(z, y)
    assert value == pytest.approx(2e4)  # 1e4 + 1e4 + 0


def test_bce_target_outside_unit_interval_raises():
    with pytest.raises(LabelError, match=r"target values must lie in \[0, 1\]"):
        BCEWithLogitsLoss()(np.zeros(2), np.array([0.0, 2.0]))


# -- shared behaviour ------------------------------------------------------------------------------------
ALL_LOSSES = [
    (MSELoss, lambda rng: rng.standard_normal((4, 2))),
    (CrossEntropyLoss, lambda rng: rng.integers(0, 2, 4)),
    (BCEWithLogitsLoss, lambda rng: rng.integers(0, 2, (4, 2)).astype(float)),
]


@pytest.mark.parametrize("cls, make_target", ALL_LOSSES, ids=lambda c: getattr(c, "__name__", ""))
def test_loss_returns_python_float_and_float32_gradient(cls, make_target):
    rng = np.random.default_rng(7)
    pred = rng.standard_normal((4, 2)).astype(np.float32)
    loss = cls()
    value = loss(pred, make_target(rng))
    assert type(value) is float
    grad = loss.backward()
    assert grad.dtype == np.float32 and grad.shape == pred.shape


@pytest.mark.parametrize("cls", [MSELoss, CrossEntropyLoss, BCEWithLogitsLoss])
def test_backward_before_forward_raises(cls):
    with pytest.raises(BackwardBeforeForwardError, match=cls.__name__):
        cls().backward()


@pytest.mark.parametrize("cls", [MSELoss, CrossEntropyLoss, BCEWithLogitsLoss])
@pytest.mark.parametrize("bad", ["avg", "none", None])
def test_unknown_reduction_raises(cls, bad):
    with pytest.raises(UnknownNameError, match=r"reduction.*'mean', 'sum'"):
        cls(reduction=bad)


@pytest.mark.parametrize("cls", [MSELoss, CrossEntropyLoss, BCEWithLogitsLoss])
def test_integer_predictions_raise_dtype_error(cls):
    from nbfromscratch.exceptions import DTypeError

    with pytest.raises(DTypeError, match="pred"):
        cls()(np.zeros((2, 2), dtype=int), np.zeros(2, dtype=int) if cls is CrossEntropyLoss else np.zeros((2, 2)))


def test_loss_repr_and_config():
    assert repr(CrossEntropyLoss("sum")) == "CrossEntropyLoss(reduction='sum')"
    assert MSELoss().get_config() == {"type": "MSELoss", "reduction": "mean"}


# -- properties ----------------------------------------------------------------------------------------------
def logit_arrays(dtype):
    return hnp.arrays(
        dtype,
        st.tuples(st.integers(1, 6), st.integers(2, 5)),
        elements=st.floats(-1e4, 1e4, width=np.dtype(dtype).itemsize * 8),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(data=st.data())
def test_losses_are_nonnegative_and_finite_for_large_logits(dtype, data):
    z = data.draw(logit_arrays(dtype))
    n, c = z.shape
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    y01 = data.draw(hnp.arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = [
            CrossEntropyLoss()(z, labels),
            CrossEntropyLoss("sum")(z, np.eye(c)[labels]),
            BCEWithLogitsLoss()(z, y01),
            MSELoss()(z, y01),
        ]
    for v in values:
        assert math.isfinite(v) and v >= 0
