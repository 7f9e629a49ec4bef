"""The shortcuts that make training fast must compute exactly what the plain path computes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbfromscratch import _constants
from nbfromscratch._fit_inputs import check_finite_data
from nbfromscratch.exceptions import NonFiniteError
from nbfromscratch.layers import Dropout, Linear, Module, Parameter, ReLU, Sequential, Tanh
from nbfromscratch.losses import CrossEntropyLoss
from nbfromscratch.optim import SGD, Adam
from nbfromscratch.training import _check_gradients, fit


def mlp(dtype=np.float64, seed=0):
    return Sequential(Linear(5, 7, rng=seed, dtype=dtype), ReLU(),
                      Linear(7, 6, rng=seed + 1, dtype=dtype), Tanh(),
                      Linear(6, 3, rng=seed + 2, dtype=dtype))


def param_grads(model, x, g, method):
    model.zero_grad()
    model(x)
    getattr(model, method)(g)
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_params_gives_the_same_parameter_gradients_as_backward(dtype):
    rng = np.random.default_rng(0)
    model = mlp(dtype)
    x = rng.normal(size=(9, 5)).astype(dtype)
    g = rng.normal(size=(9, 3)).astype(dtype)
    full = param_grads(model, x, g, "backward")
    fast = param_grads(model, x, g, "backward_params")
    for a, b in zip(full, fast):
        assert b.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_linear_backward_params_accumulates_x_transpose_g_and_returns_nothing():
    rng = np.random.default_rng(1)
    layer = Linear(4, 3, rng=0)
    x, g = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    layer(x)
    assert layer.backward_params(g) is None
    layer(x)
    layer.backward_params(g)  # accumulates like backward does
    np.testing.assert_allclose(layer.weight.grad, 2 * x.T @ g, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, 2 * g.sum(axis=0), rtol=1e-12)


def test_sequential_backward_params_handles_a_parameter_free_first_layer():
    rng = np.random.default_rng(2)
    model = Sequential(Dropout(0.0, rng=0), Linear(4, 2, rng=1))
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    model(x)
    model.backward_params(g)
    np.testing.assert_allclose(model[1].weight.grad, x.T @ g, rtol=1e-12)


def test_default_backward_params_runs_the_layers_own_backward():
    class Scale(Module):
        """y = w * x with one scalar weight, written without backward_params."""

        def __init__(self):
            super().__init__()
            self.w = Parameter(np.array([3.0]))

        def forward(self, x):
            self._x = x
            return self.w.data * x

        def backward(self, grad_output):
            self.w.grad += np.sum(grad_output * self._x)
            return grad_output * self.w.data

    layer = Scale()
    x = np.arange(4.0).reshape(2, 2)
    layer(x)
    layer.backward_params(np.ones((2, 2)))
    np.testing.assert_allclose(layer.w.grad, [x.sum()])


@pytest.mark.parametrize("make_opt", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=1e-2)])
def test_float32_training_keeps_every_array_float32(make_opt):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    model = mlp(np.float32)
    opt = make_opt(model.parameters())
    fit(model, CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=16, rng=0, progress=False)
    for p in model.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
    for state in opt.state:
        for name, buf in state.items():
            assert buf.dtype == np.float32, name
    assert model(X).dtype == np.float32


def test_gradient_check_names_the_parameter_with_a_nan():
    model = mlp()
    named = model.named_parameters()
    named[2][1].grad[1, 1] = np.nan
    with pytest.raises(NonFiniteError, match="'2.weight'.*epoch 3, batch 4 of 5"):
        _check_gradients(model, named, 3, 4, 5)


def test_gradient_check_does_not_mistake_an_overflowing_sum_of_squares_for_an_infinity():
    # Each element is finite, but sum(g * g) overflows float32 to inf.
    model = mlp(np.float32)
    named = model.named_parameters()
    named[0][1].grad[...] = np.float32(3e38)
    with np.errstate(over="ignore"):
        _check_gradients(model, named, 1, 1, 1)  # no exception


def test_gradient_check_catches_plus_and_minus_infinity_without_warnings():
    model = mlp()
    named = model.named_parameters()
    named[1][1].grad[:2] = [np.inf, -np.inf]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(invalid="ignore"), pytest.raises(NonFiniteError, match="'0.bias'"):
            _check_gradients(model, named, 1, 1, 1)


def test_data_check_reports_the_first_non_finite_value_without_warnings():
    X = np.zeros((4, 3), dtype=np.float32)
    X[2, 1], X[3, 0] = np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteError, match=r"2 NaN/inf value\(s\), the first at index \(2, 1\)"):
            check_finite_data(X, "X")


def test_data_check_accepts_huge_finite_values_whose_squares_overflow():
    X = np.full((4, 3), 3e38, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_finite_data(X, "X")  # no exception, no warning


# -- Parameter.zero_grad is lazy, accumulate_grad writes straight into a zeroed gradient --------
def test_zero_grad_reads_as_zeros_without_any_backward():
    p = Parameter(np.ones((3, 2)))
    p.grad[...] = 5.0
    p.zero_grad()
    np.testing.assert_array_equal(p.grad, np.zeros((3, 2)))


def test_accumulate_grad_after_zero_grad_writes_into_the_same_array():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 6)), rng.normal(size=(6, 3))
    p = Parameter(np.zeros((4, 3)))
    p.grad[...] = 7.0                       # stale gradient from an earlier step
    held = p.grad
    p.zero_grad()
    p.accumulate_grad(np.matmul, a, b)
    assert p.grad is held                   # no new array: references stay valid
    np.testing.assert_array_equal(p.grad, a @ b)   # the stale 7s are gone, not added to


def test_accumulate_grad_adds_when_the_gradient_is_not_zero():
    rng = np.random.default_rng(4)
    g = rng.normal(size=(5, 3))
    p = Parameter(np.zeros(3))
    p.zero_grad()
    p.accumulate_grad(np.add.reduce, g, 0)
    p.accumulate_grad(np.add.reduce, g, 0)
    np.testing.assert_allclose(p.grad, 2 * g.sum(axis=0), rtol=1e-12)
    p.zero_grad()
    _ = p.grad                              # reading writes the zeros ...
    p.accumulate_grad(np.add.reduce, g, 0)    # ... so this adds to them
    np.testing.assert_allclose(p.grad, g.sum(axis=0), rtol=1e-12)


def test_assigning_grad_replaces_a_pending_zero():
    p = Parameter(np.zeros(2))
    p.zero_grad()
    p.grad = np.array([1.0, 2.0])
    p.accumulate_grad(np.add, np.ones(2), np.ones(2))
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


@pytest.mark.parametrize("method", ["backward", "backward_params"])
def test_linear_weight_gradient_allocates_no_weight_sized_temporary(method):
    import tracemalloc

    rng = np.random.default_rng(5)
    layer = Linear(784, 256, rng=0)        # float64: the weight gradient is 1.6 MB
    x, g = rng.normal(size=(128, 784)), rng.normal(size=(128, 256))
    layer(x)
    getattr(layer, method)(g)              # warm-up
    layer.zero_grad()
    layer(x)
    tracemalloc.start()
    try:
        getattr(layer, method)(g)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # backward returns dL/dX (128 x 784 = 0.8 MB); grad += X^T G would add a 1.6 MB temporary.
    assert peak < layer.weight.data.nbytes * 0.75
    np.testing.assert_allclose(layer.weight.grad, x.T @ g, rtol=1e-12)


# -- the cached constants (nbfromscratch/_constants.py) -----------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cached_constants_are_read_only_of_the_asked_dtype_and_shape(dtype):
    one = _constants.ones(5, np.dtype(dtype))
    zero = _constants.zero(np.dtype(dtype))
    zeros = _constants.zeros_like(np.empty((4, 3), dtype))
    assert (one.shape, zero.shape, zeros.shape) == ((5,), (), (4, 3))
    assert one.dtype == zero.dtype == zeros.dtype == dtype
    assert (one == 1).all() and zero == 0 and (zeros == 0).all()
    for array in (one, zero, zeros):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 7
    # Cached: the next batch of the same shape gets the very same arrays.
    assert _constants.ones(5, np.dtype(dtype)) is one
    assert _constants.zeros_like(np.ones((4, 3), dtype)) is zeros


def test_row_starts_are_each_rows_first_flat_index_cached_and_read_only():
    starts = _constants.row_starts(4, 3)
    assert starts.tolist() == [0, 3, 6, 9] and _constants.row_starts(4, 3) is starts
    assert _constants.row_starts(2, 5).tolist() == [0, 5]
    with pytest.raises(ValueError, match="read-only"):
        starts[0] = 1  # shared by every later batch of this shape: never written


def test_zeros_like_gives_a_large_input_the_0_d_zero_not_a_large_cached_array():
    x = np.ones(_constants.ZEROS_MAX_SIZE + 1, np.float32)
    assert _constants.zeros_like(x) is _constants.zero(np.dtype(np.float32))
    assert _constants.zeros_like(x[:-1]).shape == x[:-1].shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 4), (3,), (2, 3, 5), (300, 300)])
def test_relu_computes_exactly_max_x_0_with_nan_inf_and_signed_zeros(dtype, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -1e-40], dtype)
    flat = x.reshape(-1)
    flat[: len(specials)] = specials[: flat.size]
    layer = ReLU()
    out = layer(x)
    expected = np.maximum(x, 0)
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_array_equal(out, expected)  # NaN where x is NaN
    np.testing.assert_array_equal(np.signbit(out), np.signbit(expected))
    # The output is the layer's own, writable array: the cached zeros are untouched.
    out[...] = 5
    assert layer(np.zeros(shape, dtype)).max() == 0
    # Non-contiguous input: the same values.
    np.testing.assert_array_equal(layer(x.T), np.maximum(x.T, 0))


@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=1, max_dims=3, max_side=7),
                  elements={"allow_nan": True, "allow_infinity": True}))
def test_relu_forward_equals_numpys_max_x_0_for_any_floats(x):
    out = ReLU()(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    assert out.dtype == x.dtype
