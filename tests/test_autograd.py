"""The autograd engine of chapter 14: every VJP against finite differences, the whole MLP
against the hand-written layers, tied weights, and the errors for misuse."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbfromscratch as nbf
from nbfromscratch.autograd import Tensor, _unbroadcast, cross_entropy, topological_order
from nbfromscratch.exceptions import DTypeError, LabelError, ShapeError

TOL = 1e-6  # finite differences in float64 agree with a right VJP to ~1e-9; a wrong one is off by O(1)


def fd_error(fn, *arrays, seed=0):
    """Max error between autograd and central differences of ``sum(fn(*tensors) * R)``.

    Relative to the gradient's largest entry (12.2), or to 1e-3 when that is smaller:
    finite differences carry an absolute rounding noise of ~1e-10, which would swamp a
    gradient of ~1e-9 (e.g. the loss of logits (10, -10) with the right label).
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a) for a in arrays]
    out = fn(*tensors)
    proj = np.random.default_rng(seed).standard_normal(out.shape)
    (out * Tensor(proj)).sum().backward()
    errors = []
    for a, t in zip(arrays, tensors):
        def f(_):
            return float(np.sum(fn(*[Tensor(b) for b in arrays]).data * proj))
        numeric = nbf.numerical_gradient(f, a)
        scale = max(np.max(np.abs(t.grad), initial=0), np.max(np.abs(numeric), initial=0), 1e-3)
        errors.append(float(np.max(np.abs(t.grad - numeric), initial=0)) / scale)
    return max(errors)


def values(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False))


# -- every operation against finite differences ---------------------------------------------------
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@pytest.mark.parametrize("name,fn", [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
])
@given(data=st.data(), shapes=broadcast_pairs)
def test_binary_ops_match_finite_differences_with_broadcasting(name, fn, data, shapes):
    a_shape, b_shape = shapes.input_shapes
    a, b = data.draw(values(a_shape)), data.draw(values(b_shape))
    assert fd_error(fn, a, b) < TOL


@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4))
def test_matmul_matches_finite_differences(data, n, k, m):
    a, b = data.draw(values((n, k))), data.draw(values((k, m)))
    assert fd_error(lambda x, y: x @ y, a, b) < TOL


@pytest.mark.parametrize("name,fn,lo,hi", [
    ("exp", Tensor.exp, -3, 3),
    ("log", Tensor.log, 0.2, 5),
    ("tanh", Tensor.tanh, -3, 3),
    ("sigmoid", Tensor.sigmoid, -6, 6),
    ("neg", Tensor.__neg__, -3, 3),
])
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_elementwise_ops_match_finite_differences(name, fn, lo, hi, data, shape):
    assert fd_error(fn, data.draw(values(shape, lo, hi))) < TOL


@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
def test_relu_matches_finite_differences_away_from_the_kink(data, shape):
    signs = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])))
    x = data.draw(values(shape, 0.01, 3)) * signs
    assert fd_error(Tensor.relu, x) < TOL


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), keepdims=st.booleans())
def test_reductions_match_finite_differences_on_any_axes(reduce, data, shape, keepdims):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1)
                     | st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple))
    x = data.draw(values(shape))
    assert fd_error(lambda t: getattr(t, reduce)(axis=axis, keepdims=keepdims), x) < TOL


@given(data=st.data(), n=st.integers(1, 4), c=st.integers(1, 5), axis=st.sampled_from([0, 1, -1]))
def test_log_softmax_matches_finite_differences(data, n, c, axis):
    assert fd_error(lambda t: t.log_softmax(axis=axis), data.draw(values((n, c), -10, 10))) < TOL


@given(data=st.data(), n=st.integers(1, 5), c=st.integers(2, 5), reduction=st.sampled_from(["mean", "sum"]))
def test_cross_entropy_matches_finite_differences_and_the_package_loss(data, n, c, reduction):
    z = data.draw(values((n, c), -10, 10))
    y = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    assert fd_error(lambda t: cross_entropy(t, y, reduction), z) < TOL
    loss_fn = nbf.CrossEntropyLoss(reduction=reduction)
    expected = loss_fn(z, y)
    t = Tensor(z)
    loss = cross_entropy(t, y, reduction)
    loss.backward()
    np.testing.assert_allclose(float(loss.data), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.grad, loss_fn.backward(), rtol=1e-12, atol=1e-15)


def test_fused_cross_entropy_equals_the_composed_operations():
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(6, 4)) * 3, rng.integers(0, 4, size=6)
    fused, composed = Tensor(z), Tensor(z)
    cross_entropy(fused, y).backward()
    (-(composed.log_softmax(axis=1) * np.eye(4)[y]).sum() * (1 / 6)).backward()
    np.testing.assert_allclose(fused.grad, composed.grad, rtol=1e-12, atol=1e-15)


def test_log_softmax_stays_finite_for_huge_logits():
    t = Tensor([[0.0, -1000.0, 1000.0]])
    out = t.log_softmax()
    out.sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(t.grad))


# -- a wrong VJP is caught --------------------------------------------------------------------------
def test_finite_differences_catch_a_wrong_vjp():
    x = np.random.default_rng(2).normal(size=(3, 4))

    def tanh_with_wrong_vjp(t):  # forgets the square: 1 - tanh instead of 1 - tanh^2
        y = np.tanh(t.data)
        return Tensor(y, (t,), "tanh", lambda g: (g * (1 - y),))

    def relu_masked_on_output_sign_of_grad(t):  # masks by G > 0 instead of x > 0
        return Tensor(np.maximum(t.data, 0), (t,), "relu", lambda g: (np.maximum(g, 0),))

    assert fd_error(Tensor.tanh, x) < TOL
    assert fd_error(tanh_with_wrong_vjp, x) > 1e-2
    assert fd_error(relu_masked_on_output_sign_of_grad, x) > 1e-2


def test_a_missing_broadcast_reduction_is_caught():
    a, b = np.random.default_rng(3).normal(size=(4, 3)), np.random.default_rng(4).normal(size=3)

    def add_without_unbroadcast(x, y):  # hands y the first row of G instead of the column sums
        return Tensor(x.data + y.data, (x, y), "add", lambda g: (g, g[0]))

    assert fd_error(lambda x, y: x + y, a, b) < TOL
    assert fd_error(add_without_unbroadcast, a, b) > 1e-2


@given(shapes=broadcast_pairs)
def test_unbroadcast_sums_a_gradient_back_to_the_operand_shape(shapes):
    small, _ = shapes.input_shapes
    g = np.ones(shapes.result_shape)
    reduced = _unbroadcast(g, small)
    assert reduced.shape == small
    # Each entry of the operand was used (size of the result / size of the operand) times.
    assert np.all(reduced == g.size / max(int(np.prod(small)), 1))


# -- the same MLP as the hand-written layers ------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_from_autograd_has_the_gradients_of_the_hand_written_layers(activation):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
    act_layer = {"relu": nbf.ReLU, "tanh": nbf.Tanh, "sigmoid": nbf.Sigmoid}[activation]
    model = nbf.Sequential(nbf.Linear(4, 8, rng=0), act_layer(), nbf.Linear(8, 5, rng=1), act_layer(),
                           nbf.Linear(5, 3, rng=2))
    model[0].bias.data[:] = rng.normal(size=8)  # nonzero biases, so their gradients matter
    loss_fn = nbf.CrossEntropyLoss()
    model.zero_grad()
    expected_loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())

    params = {name: Tensor(p.data) for name, p in model.named_parameters()}
    h = Tensor(X)
    for i in (0, 2, 4):
        h = h @ params[f"{i}.weight"] + params[f"{i}.bias"]
        if i < 4:
            h = getattr(h, activation)()
    loss = cross_entropy(h, y)
    loss.backward()
    np.testing.assert_allclose(float(loss.data), expected_loss, rtol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad, rtol=1e-12, atol=1e-15, err_msg=name)


# -- reuse: gradients add --------------------------------------------------------------------------
def test_a_tied_weight_gets_the_sum_of_the_gradients_of_its_uses():
    rng = np.random.default_rng(6)
    X, W_value = rng.normal(size=(5, 3)), rng.normal(size=(3, 3))

    def net(x, w1, w2):
        return ((x @ w1).tanh() @ w2).sum()

    tied = Tensor(W_value)
    net(Tensor(X), tied, tied).backward()
    first, second = Tensor(W_value), Tensor(W_value)
    net(Tensor(X), first, second).backward()
    np.testing.assert_allclose(tied.grad, first.grad + second.grad, rtol=1e-13)
    assert not np.allclose(tied.grad, first.grad) and not np.allclose(tied.grad, second.grad)
    assert fd_error(lambda w: (Tensor(X) @ w).tanh() @ w, W_value) < TOL


def test_a_value_used_twice_in_one_operation():
    x = Tensor([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])


def test_grad_accumulates_over_backward_calls_like_parameter_grads():
    x = Tensor([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_topological_order_puts_every_node_after_its_parents_and_handles_long_chains():
    x = Tensor(np.ones(3))
    y = x
    for _ in range(5000):  # deeper than Python's recursion limit
        y = y * 1.0
    order = topological_order(y)
    position = {id(t): i for i, t in enumerate(order)}
    assert order[-1] is y and id(x) in position
    assert all(position[id(p)] < position[id(t)] for t in order for p in t.parents)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


# -- dtypes ------------------------------------------------------------------------------------------
def test_float32_stays_float32_through_forward_and_backward():
    rng = np.random.default_rng(7)
    x = Tensor(rng.normal(size=(4, 3)).astype(np.float32))
    w = Tensor(rng.normal(size=(3, 2)).astype(np.float32))
    b = Tensor(np.zeros(2, dtype=np.float32))
    loss = cross_entropy(((x @ w + b) * 2.0 - 1.0).tanh().sigmoid().exp().log().log_softmax(), [0, 1, 1, 0])
    loss.backward()
    assert loss.data.dtype == np.float32
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32 and x.grad.dtype == np.float32


# -- misuse raises the package's exceptions -----------------------------------------------------------
def test_backward_on_a_non_scalar_needs_a_seed():
    y = Tensor(np.ones((2, 3))) * 2.0
    with pytest.raises(ShapeError, match=r"shape \(2, 3\), not one number"):
        y.backward()
    with pytest.raises(ShapeError, match=r"seed gradient has shape \(3,\), expected \(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))  # with the right seed it works


@pytest.mark.parametrize("make,error,match", [
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))), ShapeError, r"\(2, 3\) @ \(2, 3\)"),
    (lambda: Tensor(np.ones(3)) @ Tensor(np.ones((3, 1))), ShapeError, "matmul"),
    (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones((2, 4))), ShapeError, "do not broadcast"),
    (lambda: Tensor(np.ones(2, np.float32)) + Tensor(np.ones(2)), DTypeError, "float32 and float64"),
    (lambda: Tensor(np.ones(2)).sum(axis=3), ShapeError, "axis 3"),
    (lambda: Tensor(["a"]), DTypeError, "Tensor: data"),
    (lambda: cross_entropy(Tensor(np.ones((2, 3))), [0, 3]), LabelError, "cross_entropy"),
    (lambda: cross_entropy(Tensor(np.ones((2, 3))), [0, 1, 2]), ShapeError, "cross_entropy"),
    (lambda: cross_entropy(Tensor(np.ones(3)), [0]), ShapeError, r"\(n, C\)"),
])
def test_misuse_raises_the_package_exceptions(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_autograd_is_exported():
    assert nbf.autograd.Tensor is Tensor
