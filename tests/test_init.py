"""Tests for nbfromscratch.init: bounds and variances computed by hand, dtype, reproducibility,
name lookup and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nbfromscratch import init
from nbfromscratch.exceptions import DTypeError, ShapeError, UnknownNameError

#: Every initialiser Linear accepts by name (aliases once): a new one joins these tests.
ALL = list({id(fn): fn for fn in init.INITIALIZERS.values()}.values())
RANDOM = [fn for fn in ALL if fn is not init.zeros_]


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initializer_returns_requested_shape_and_dtype(fn, dtype):
    w = fn((3, 5), rng=0, dtype=dtype)
    assert w.shape == (3, 5) and w.dtype == dtype


def test_zeros_is_all_zero():
    assert not np.any(init.zeros_((2, 4)))


@pytest.mark.parametrize("fn", RANDOM, ids=lambda f: f.__name__)
def test_same_seed_same_weights_different_seed_different_weights(fn):
    np.testing.assert_array_equal(fn((4, 3), rng=7), fn((4, 3), rng=7))
    assert not np.array_equal(fn((4, 3), rng=7), fn((4, 3), rng=8))


def test_shared_generator_continues_its_stream():
    gen = np.random.default_rng(0)
    first = init.xavier_normal((2, 2), rng=gen)
    second = init.xavier_normal((2, 2), rng=gen)
    assert not np.array_equal(first, second)


def test_global_numpy_seed_has_no_effect():
    np.random.seed(0)
    a = init.kaiming_normal((3, 3), rng=1)
    np.random.seed(123)
    b = init.kaiming_normal((3, 3), rng=1)
    np.testing.assert_array_equal(a, b)


# -- bounds of the uniform initialisers ---------------------------------------------------------
def test_xavier_uniform_bound_by_hand():
    # fan_in + fan_out = 8 -> a = sqrt(6 / 8) = sqrt(0.75)
    w = init.xavier_uniform((3, 5), rng=0)
    assert np.all(np.abs(w) <= math.sqrt(0.75))
    big = init.xavier_uniform((300, 500), rng=0)
    a = math.sqrt(6 / 800)
    assert np.abs(big).max() <= a and np.abs(big).max() > 0.99 * a  # reaches the bound


def test_kaiming_uniform_bound_with_default_and_custom_gain():
    # a = gain * sqrt(3 / fan_in): fan_in = 12 -> sqrt(2) * 0.5 by default, 0.5 with gain 1
    w = init.kaiming_uniform((12, 400), rng=0)
    assert np.abs(w).max() <= math.sqrt(2) * 0.5 and np.abs(w).max() > 0.99 * math.sqrt(2) * 0.5
    w1 = init.kaiming_uniform((12, 400), rng=0, gain=1.0)
    assert np.abs(w1).max() <= 0.5 and np.abs(w1).max() > 0.99 * 0.5


# -- variances (statistical: 200 000 samples, std within 1.5 %) ------------------------------------
@pytest.mark.parametrize(
    "fn, expected_var",
    [
        (init.xavier_uniform, 2 / (400 + 500)),
        (init.xavier_normal, 2 / (400 + 500)),
        (init.kaiming_uniform, 2 / 400),
        (init.kaiming_normal, 2 / 400),
    ],
    ids=["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"],
)
def test_weight_variance_matches_formula(fn, expected_var):
    w = fn((400, 500), rng=3)
    assert abs(w.mean()) < 0.01 * math.sqrt(expected_var) * 5
    assert w.std() == pytest.approx(math.sqrt(expected_var), rel=0.015)


def test_gain_scales_the_standard_deviation():
    base = init.xavier_normal((200, 300), rng=0)
    scaled = init.xavier_normal((200, 300), rng=0, gain=3.0)
    np.testing.assert_allclose(scaled, 3.0 * base)


def test_float32_weights_are_drawn_in_float32_not_rounded_from_float64():
    w32 = init.kaiming_normal((50, 50), rng=0, dtype=np.float32)
    w64 = init.kaiming_normal((50, 50), rng=0, dtype=np.float64)
    assert w32.dtype == np.float32
    assert w32.std() == pytest.approx(w64.std(), rel=0.1)


# -- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, fn",
    [
        ("zeros", init.zeros_),
        ("xavier_uniform", init.xavier_uniform),
        ("glorot_uniform", init.xavier_uniform),
        ("xavier_normal", init.xavier_normal),
        ("glorot_normal", init.xavier_normal),
        ("he_normal", init.kaiming_normal),
        ("kaiming_normal", init.kaiming_normal),
        ("he_uniform", init.kaiming_uniform),
        ("kaiming_uniform", init.kaiming_uniform),
        ("He_Normal", init.kaiming_normal),
    ],
)
def test_get_initializer_maps_names(name, fn):
    assert init.get_initializer(name) is fn


def test_get_initializer_returns_callables_unchanged():
    def custom(shape, rng=None, dtype=np.float64):
        return np.ones(shape, dtype)

    assert init.get_initializer(custom) is custom


@pytest.mark.parametrize("bad", ["gaussian", "", 3, None])
def test_unknown_initializer_name_lists_valid_names(bad):
    message = "initializer: unknown name.*valid names are.*'xavier_uniform'.*'he_normal'"
    with pytest.raises(UnknownNameError, match=message):
        init.get_initializer(bad)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), (0, 3)])
def test_bad_shape_raises_shape_error(shape):
    with pytest.raises(ShapeError, match="fan_in, fan_out"):
        init.xavier_uniform(shape, rng=0)


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_non_float_dtype_raises_dtype_error(fn):
    with pytest.raises(DTypeError, match="float32 or float64, got int64"):
        fn((2, 2), rng=0, dtype=np.int64)
