"""Extreme numerics: softmax, log_softmax, sigmoid and the losses at the edges.

For logits up to +-1e4, and probabilities of exactly 0 and 1, in float32 and float64, every
value and every gradient must be finite and correct, with no RuntimeWarning. "Correct" is
checked against the naive textbook formulas evaluated in extended precision
(``np.longdouble``, 80-bit on x86-64: ``exp(1e4)`` ~ 1e4343 is representable there), so the
reference shares no code and no trick with the package. Wider ranges (up to 1e30 in float32,
1e300 in float64) are checked for finiteness and the properties that must hold exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FLOATS, logits, strict
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbfromscratch import functional as F
from nbfromscratch.layers import Sigmoid, Softmax
from nbfromscratch.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss

SETTINGS = settings(max_examples=50, deadline=None)
LD = np.longdouble
EXTENDED = np.finfo(LD).maxexp > 14500  # the naive reference needs exp(1e4) to be finite
needs_extended = pytest.mark.skipif(not EXTENDED, reason="np.longdouble is not 80-bit here")
#: Relative tolerance of a float32/float64 result against the extended-precision reference.
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
WIDE = {np.float32: 1e30, np.float64: 1e300}


def assert_close(got, reference, dtype):
    """``got`` (dtype) agrees with the long-double ``reference`` up to rounding of dtype."""
    got = np.asarray(got, dtype=LD)
    tiny = np.finfo(dtype).tiny  # below this, dtype cannot hold the value anyway
    scale = np.maximum(np.abs(reference), 1)
    assert np.all(np.abs(got - reference) <= RTOL[dtype] * scale + tiny), (got, reference)


def naive_log_softmax(z):
    """``z - log(sum(exp(z)))`` straight from the definition (no max shift)."""
    z = z.astype(LD)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def naive_softmax(z):
    # exp(z) / sum(exp(z)) itself would underflow to 0/0 for logit gaps near 2e4 even in
    # long double; the exponential of the log-probability only rounds tiny values to 0.
    return np.exp(naive_log_softmax(z))


def naive_sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(LD)))


# -- softmax and log_softmax ------------------------------------------------------------------
@needs_extended
@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_softmax_and_log_softmax_match_the_naive_formula_in_extended_precision(dtype, data):
    z = data.draw(logits(dtype))
    with strict():
        s = F.softmax(z)
        log_s = F.log_softmax(z)
    assert s.dtype == log_s.dtype == dtype
    assert np.isfinite(s).all() and np.isfinite(log_s).all()
    reference = naive_softmax(z)
    assert_close(s, reference, dtype)
    # log of the reference, which can be ~-2e4: compare with a relative tolerance.
    assert_close(log_s, naive_log_softmax(z), dtype)
    assert (s >= 0).all() and (s <= 1).all() and (log_s <= 0).all()


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_gives_exact_zeros_and_ones_for_logits_1e4_and_stays_finite(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    with strict():
        s = F.softmax(z)
        log_s = F.log_softmax(z)
    np.testing.assert_array_equal(s[0], [1, 0, 0])  # e^-1e4 underflows to exactly 0
    np.testing.assert_allclose(s[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_array_equal(s[2], [0.5, 0.5, 0])
    np.testing.assert_allclose(log_s[0], [0, -2e4, -1e4])  # finite where log(s) is -inf
    np.testing.assert_allclose(log_s[2], [-np.log(2), -np.log(2), -2e4 - np.log(2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_softmax_family_is_finite_and_normalised_over_wide_ranges(dtype, data):
    z = data.draw(logits(dtype, bound=WIDE[dtype]))
    with strict():
        s = F.softmax(z)
        log_s = F.log_softmax(z)
        lse = F.logsumexp(z)
    assert np.isfinite(s).all() and np.isfinite(log_s).all() and np.isfinite(lse).all()
    np.testing.assert_allclose(s.sum(axis=1), 1, rtol=10 * np.finfo(dtype).eps * z.shape[1])
    # The largest logit of each row has log-probability close to 0 or below, never above.
    assert (log_s <= 0).all()
    assert (lse >= z.max(axis=1)).all()


@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_softmax_gradients_are_finite_when_probabilities_are_exactly_0_and_1(dtype, data):
    z = data.draw(logits(dtype, min_side=2))
    g = data.draw(hnp.arrays(dtype, z.shape, elements=st.floats(-10, 10, width=np.dtype(dtype).itemsize * 8)))
    layer = Softmax()
    with strict():
        s = layer(z)
        via_jacobian = layer.backward(g)
        via_vjp = F.softmax_vjp(s, g)
    assert via_jacobian.dtype == via_vjp.dtype == dtype
    assert np.isfinite(via_jacobian).all() and np.isfinite(via_vjp).all()
    # Reference: g J with J = diag(s) - s s^T, in extended precision from the naive softmax.
    s_ref = naive_softmax(z)
    reference = s_ref * (g - (g * s_ref).sum(axis=1, keepdims=True))
    tol = 20 * np.finfo(dtype).eps * (1 + np.abs(g).max())
    assert np.all(np.abs(via_vjp.astype(LD) - reference) <= tol)
    assert np.all(np.abs(via_jacobian.astype(LD) - reference) <= tol)


# -- sigmoid ------------------------------------------------------------------------------------
@needs_extended
@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_sigmoid_and_its_gradient_match_the_naive_formula_in_extended_precision(dtype, data):
    x = data.draw(logits(dtype))
    with strict():
        s = F.sigmoid(x)
        ds = F.sigmoid_grad(x)
        layer = Sigmoid()
        layer(x)
        back = layer.backward(np.ones_like(x))
    assert s.dtype == ds.dtype == back.dtype == dtype
    assert np.isfinite(s).all() and np.isfinite(ds).all() and np.isfinite(back).all()
    reference = naive_sigmoid(x)
    assert_close(s, reference, dtype)
    assert_close(ds, reference * (1 - reference), dtype)
    assert_close(back, reference * (1 - reference), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_reaches_exactly_0_and_1_and_its_gradient_exactly_0(dtype):
    x = np.array([-1e4, -200.0, 0.0, 200.0, 1e4, -np.finfo(dtype).max, np.finfo(dtype).max],
                 dtype=dtype)
    with strict():
        s = F.sigmoid(x)
        ds = F.sigmoid_grad(x)
    assert s.dtype == dtype
    np.testing.assert_array_equal(s[[0, 4, 5, 6]], [0, 1, 0, 1])
    assert s[2] == 0.5
    np.testing.assert_array_equal(ds[[0, 4, 5, 6]], 0)
    assert ds[2] == 0.25


# -- cross-entropy -----------------------------------------------------------------------------
@needs_extended
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@SETTINGS
@given(data=st.data())
def test_cross_entropy_value_and_gradient_match_the_naive_formula(dtype, reduction, data):
    z = data.draw(logits(dtype))
    n, c = z.shape
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    loss_fn = CrossEntropyLoss(reduction=reduction)
    with strict():
        value = loss_fn(z, labels)
        grad = loss_fn.backward()
    p = naive_softmax(z)
    onehot = np.eye(c, dtype=LD)[labels]
    per_sample = -naive_log_softmax(z)[np.arange(n), labels]
    scale = n if reduction == "mean" else 1
    assert np.isfinite(value) and value >= 0
    assert abs(LD(value) - per_sample.sum() / scale) <= RTOL[dtype] * max(1.0, abs(value)) * c
    assert grad.dtype == dtype and np.isfinite(grad).all()
    assert_close(grad, (p - onehot) / scale, dtype)


@needs_extended
@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_cross_entropy_with_probability_targets_of_exactly_0_and_1(dtype, data):
    z = data.draw(logits(dtype))
    n, c = z.shape
    # Targets mixing one-hot rows (exact 0 and 1) and soft rows that contain exact zeros.
    raw = data.draw(hnp.arrays(np.float64, (n, c), elements=st.sampled_from([0.0, 0.0, 1.0, 0.5])))
    raw[raw.sum(axis=1) == 0, 0] = 1.0
    target = (raw / raw.sum(axis=1, keepdims=True)).astype(dtype)
    loss_fn = CrossEntropyLoss()
    with strict():
        value = loss_fn(z, target)
        grad = loss_fn.backward()
    p = naive_softmax(z)
    t = target.astype(LD)
    reference = -(t * naive_log_softmax(z)).sum() / n
    assert np.isfinite(value) and value >= 0
    assert abs(LD(value) - reference) <= RTOL[dtype] * max(1.0, abs(value)) * c
    assert grad.dtype == dtype and np.isfinite(grad).all()
    assert_close(grad, (p * t.sum(axis=1, keepdims=True) - t) / n, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_cross_entropy_is_finite_over_wide_ranges(dtype, data):
    z = data.draw(logits(dtype, bound=WIDE[dtype]))
    n, c = z.shape
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    loss_fn = CrossEntropyLoss()
    with strict():
        value = loss_fn(z, labels)
        grad = loss_fn.backward()
    assert np.isfinite(value) and value >= 0
    assert np.isfinite(grad).all()
    # (softmax - onehot) / n: every row sums to 0 and every entry lies in [-1/n, 1/n].
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=10 * np.finfo(dtype).eps)
    assert (np.abs(grad) <= 1 / n + np.finfo(dtype).eps).all()


# -- binary cross-entropy ----------------------------------------------------------------------
@needs_extended
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@SETTINGS
@given(data=st.data())
def test_bce_with_targets_of_exactly_0_and_1_matches_the_naive_formula(dtype, reduction, data):
    z = data.draw(logits(dtype))[:, :1]
    y = data.draw(hnp.arrays(dtype, z.shape, elements=st.sampled_from([0.0, 1.0, 0.25])))
    loss_fn = BCEWithLogitsLoss(reduction=reduction)
    with strict():
        value = loss_fn(z, y)
        grad = loss_fn.backward()
    p = naive_sigmoid(z)
    t = y.astype(LD)
    # -y log p - (1 - y) log(1 - p), with log p = -log(1 + e^-z) and log(1 - p) = -log(1 + e^z):
    # both exponentials are finite in long double for |z| <= 1e4.
    zl = z.astype(LD)
    per_elem = t * np.log1p(np.exp(-zl)) + (1 - t) * np.log1p(np.exp(zl))
    scale = z.size if reduction == "mean" else 1
    assert np.isfinite(value) and value >= 0
    assert abs(LD(value) - per_elem.sum() / scale) <= RTOL[dtype] * max(1.0, abs(value)) * 4
    assert grad.dtype == dtype and np.isfinite(grad).all()
    assert_close(grad, (p - t) / scale, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_bce_at_logits_1e4_by_hand(dtype):
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    y = np.array([1, 0, 0, 1], dtype=dtype)
    loss_fn = BCEWithLogitsLoss(reduction="sum")
    with strict():
        value = loss_fn(z, y)
        grad = loss_fn.backward()
    assert value == 2e4  # two confident right answers cost 0, two confident wrong ones 1e4 each
    np.testing.assert_array_equal(grad, [0, 0, 1, -1])


@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_bce_is_finite_over_wide_ranges(dtype, data):
    z = data.draw(logits(dtype, bound=WIDE[dtype]))
    y = data.draw(hnp.arrays(dtype, z.shape, elements=st.floats(0, 1, width=np.dtype(dtype).itemsize * 8)))
    loss_fn = BCEWithLogitsLoss()
    with strict():
        value = loss_fn(z, y)
        grad = loss_fn.backward()
    assert np.isfinite(value) and value >= 0
    assert np.isfinite(grad).all() and (np.abs(grad) <= 1 / z.size + np.finfo(dtype).eps).all()


# -- mean squared error ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@SETTINGS
@given(data=st.data())
def test_mse_at_plus_minus_1e4_is_finite_and_exact(dtype, data):
    pred = data.draw(logits(dtype))
    target = data.draw(hnp.arrays(dtype, pred.shape, elements=st.sampled_from([0.0, 1.0, -1e4, 1e4])))
    loss_fn = MSELoss()
    with strict():
        value = loss_fn(pred, target)
        grad = loss_fn.backward()
    diff = pred.astype(LD) - target.astype(LD)
    assert abs(LD(value) - (diff ** 2).mean()) <= RTOL[dtype] * max(1.0, value) * pred.size
    assert grad.dtype == dtype
    assert_close(grad, 2 * diff / pred.size, dtype)
