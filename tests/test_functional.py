"""Tests for nbfromscratch.functional: values by hand, derivatives vs finite differences,
dtype preservation, and numerical stability (no warnings, no NaN) checked with hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import FLOATS, logits, strict
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbfromscratch import functional as F

SETTINGS = settings(max_examples=60, deadline=None)


def elementwise_fd(f, x, h=1e-6):
    """Central difference of an elementwise function, computed independently of the package."""
    return (f(x + h) - f(x - h)) / (2 * h)


# -- values by hand ------------------------------------------------------------------------------
def test_relu_and_relu_grad_by_hand_with_zero_convention():
    x = np.array([-2.0, -0.0, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(F.relu(x), [0.0, 0.0, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(F.relu_grad(x), [0.0, 0.0, 0.0, 1.0, 1.0])


def test_leaky_relu_and_grad_by_hand():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x, 0.1), [-0.2, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu_grad(x, 0.1), [0.1, 0.1, 1.0])
    np.testing.assert_allclose(F.leaky_relu(np.array([-1.0])), [-0.01])  # default slope


def test_sigmoid_known_values():
    # sigmoid(log 3) = 1 / (1 + 1/3) = 3/4 ; sigmoid(-log 3) = 1/4
    x = np.array([0.0, math.log(3.0), -math.log(3.0)])
    np.testing.assert_allclose(F.sigmoid(x), [0.5, 0.75, 0.25], rtol=1e-15)
    np.testing.assert_allclose(F.sigmoid_grad(np.array([0.0, math.log(3.0)])), [0.25, 3 / 16])


def test_tanh_and_grad_known_values():
    # tanh(log 2) = (2 - 1/2) / (2 + 1/2) = 3/5 ; derivative 1 - 9/25 = 16/25
    x = np.array([0.0, math.log(2.0)])
    np.testing.assert_allclose(F.tanh(x), [0.0, 0.6], atol=1e-15)
    np.testing.assert_allclose(F.tanh_grad(x), [1.0, 16 / 25])


def test_softmax_by_hand():
    # exp of [0, log 2, log 3] is [1, 2, 3], total 6
    z = np.array([[0.0, math.log(2.0), math.log(3.0)], [5.0, 5.0, 5.0]])
    np.testing.assert_allclose(F.softmax(z), [[1 / 6, 2 / 6, 3 / 6], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(
        F.log_softmax(z), np.log([[1 / 6, 2 / 6, 3 / 6], [1 / 3, 1 / 3, 1 / 3]])
    )
    np.testing.assert_allclose(F.logsumexp(z), [math.log(6.0), 5.0 + math.log(3.0)])


def test_softmax_along_axis_zero():
    z = np.array([[0.0, 1.0], [math.log(3.0), 1.0]])
    np.testing.assert_allclose(F.softmax(z, axis=0), [[0.25, 0.5], [0.75, 0.5]])


def test_log_softmax_stays_finite_where_log_of_softmax_underflows():
    z = np.array([[0.0, -1000.0]])
    np.testing.assert_allclose(F.log_softmax(z), [[0.0, -1000.0]])


def test_logsumexp_keepdims_and_all_minus_inf_row():
    z = np.array([[0.0, 0.0], [-np.inf, -np.inf]])
    out = F.logsumexp(z, keepdims=True)
    assert out.shape == (2, 1)
    assert out[0, 0] == pytest.approx(math.log(2.0))
    assert out[1, 0] == -np.inf


def test_logsumexp_huge_logits_without_overflow():
    with strict():
        out = F.logsumexp(np.array([[1000.0, 1000.0]]))
    assert out[0] == pytest.approx(1000.0 + math.log(2.0))


# -- derivatives vs finite differences (float64) ----------------------------------------------------
@pytest.mark.parametrize(
    "f, df",
    [
        (F.sigmoid, F.sigmoid_grad),
        (F.tanh, F.tanh_grad),
        (F.relu, F.relu_grad),
        (lambda x: F.leaky_relu(x, 0.2), lambda x: F.leaky_relu_grad(x, 0.2)),
    ],
    ids=["sigmoid", "tanh", "relu", "leaky_relu"],
)
def test_elementwise_derivative_matches_finite_differences(f, df):
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, size=(7, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the ReLU kink
    numeric = elementwise_fd(f, x)
    analytic = df(x)
    assert np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric)) < 1e-6


def test_softmax_jacobian_matches_finite_differences_and_formula():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, 4))
    jac = F.softmax_jacobian(z)
    assert jac.shape == (3, 4, 4)
    h = 1e-6
    numeric = np.empty_like(jac)
    for j in range(4):
        step = np.zeros(4)
        step[j] = h
        numeric[:, :, j] = (F.softmax(z + step) - F.softmax(z - step)) / (2 * h)
    assert np.max(np.abs(jac - numeric)) / np.max(np.abs(numeric)) < 1e-6
    # independent closed form, with s computed naively
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    for k in range(3):
        np.testing.assert_allclose(jac[k], np.diag(s[k]) - np.outer(s[k], s[k]), atol=1e-15)


def test_softmax_jacobian_of_1d_input_is_square():
    assert F.softmax_jacobian(np.array([0.0, 1.0, 2.0])).shape == (3, 3)


def test_softmax_vjp_equals_jacobian_product_and_finite_differences():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 3))
    g = rng.standard_normal((5, 3))
    vjp = F.softmax_vjp(F.softmax(z), g)
    via_jacobian = np.einsum("ni,nij->nj", g, F.softmax_jacobian(z))
    np.testing.assert_allclose(vjp, via_jacobian, atol=1e-14)
    # d/dz sum(softmax(z) * g), by central differences
    h = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        numeric[idx] = (np.sum(F.softmax(zp) * g) - np.sum(F.softmax(zm) * g)) / (2 * h)
    assert np.max(np.abs(vjp - numeric)) / np.max(np.abs(numeric)) < 1e-6


# -- dtype ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    "fn",
    [F.relu, F.relu_grad, F.leaky_relu, F.leaky_relu_grad, F.sigmoid, F.sigmoid_grad, F.tanh,
     F.tanh_grad, F.softmax, F.log_softmax, F.logsumexp, F.softmax_jacobian],
    ids=lambda f: f.__name__,
)
def test_every_function_preserves_dtype(fn, dtype):
    x = np.linspace(-3, 3, 12).reshape(3, 4).astype(dtype)
    assert fn(x).dtype == dtype


def test_softmax_vjp_preserves_float32():
    s = F.softmax(np.ones((2, 3), np.float32))
    assert F.softmax_vjp(s, np.ones((2, 3), np.float32)).dtype == np.float32


# -- properties (hypothesis) -------------------------------------------------------------------------
@SETTINGS
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2), elements=st.floats(-1e300, 1e300)))
def test_sigmoid_in_unit_interval_symmetric_and_warning_free_float64(x):
    with strict():
        s = F.sigmoid(x)
        s_neg = F.sigmoid(-x)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s_neg, 1 - s, atol=1e-15)


@SETTINGS
@given(x=hnp.arrays(np.float32, hnp.array_shapes(max_dims=2),
                    elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_sigmoid_float32_no_overflow_warning_for_any_finite_input(x):
    with strict():
        s = F.sigmoid(x)
    assert s.dtype == np.float32
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(F.sigmoid(-x), 1 - s, atol=1e-7)


@SETTINGS
@given(x=hnp.arrays(np.float64, 8, elements=st.floats(-30, 30)))
def test_sigmoid_matches_naive_formula_where_naive_is_safe(x):
    np.testing.assert_allclose(F.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-13)


@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_softmax_rows_sum_to_one_without_nan_for_huge_logits(dtype, data):
    z = data.draw(logits(dtype))
    with strict():
        s = F.softmax(z)
        logp = F.log_softmax(z)
        lse = F.logsumexp(z)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(logp)) and np.all(np.isfinite(lse))
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)


@SETTINGS
@given(z=logits(np.float64, 50), c=st.floats(-100, 100))
def test_softmax_is_shift_invariant(z, c):
    np.testing.assert_allclose(F.softmax(z + c), F.softmax(z), atol=1e-12)


@SETTINGS
@given(z=logits(np.float64, 1e4))
def test_log_softmax_equals_log_of_softmax_where_finite(z):
    s = F.softmax(z)
    with np.errstate(divide="ignore"):
        log_s = np.log(s)
    finite = np.isfinite(log_s) & (s > 1e-300)
    np.testing.assert_allclose(F.log_softmax(z)[finite], log_s[finite], rtol=1e-9, atol=1e-12)


@SETTINGS
@given(z=logits(np.float64, 300))
def test_logsumexp_matches_naive_formula_in_safe_range(z):
    naive = np.log(np.exp(z).sum(axis=1))
    np.testing.assert_allclose(F.logsumexp(z), naive, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", FLOATS)
def test_functions_stay_finite_for_logits_plus_minus_1e4(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    with strict():
        outs = [F.softmax(z), F.log_softmax(z), F.logsumexp(z), F.sigmoid(z),
                F.sigmoid_grad(z), F.tanh(z), F.tanh_grad(z), F.softmax_jacobian(z)]
    for out in outs:
        assert np.all(np.isfinite(out)) and out.dtype == dtype
    np.testing.assert_allclose(F.softmax(z)[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(F.log_softmax(z)[0], [0.0, -2e4, -1e4])
