"""Tests for nbfromscratch.layers: forward values against naive formulas, every backward
against finite differences (float64), dtype preservation, configs, and every bad-input error."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import LAYER_NAMES, PARAMETER_FREE, make_layer

from nbfromscratch import functional as F
from nbfromscratch.exceptions import (
    BackwardBeforeForwardError,
    DTypeError,
    ShapeError,
    UnknownNameError,
)
from nbfromscratch.gradcheck import numerical_gradient
from nbfromscratch.io import load, save
from nbfromscratch.layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
    layer_from_config,
)

TOL = 1e-6


def max_rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


def fd_check(layer: Module, x: np.ndarray, seed: int = 0) -> None:
    """Assert that backward matches central differences of L = sum(layer(x) * R), for the
    input and for every parameter (independent of nbfromscratch.gradcheck.check_gradients)."""
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal(layer.forward(x).shape)
    layer.zero_grad()
    layer.forward(x)
    dx = layer.backward(proj)

    def loss(_: np.ndarray) -> float:
        return float(np.sum(layer.forward(x) * proj))

    assert max_rel_err(dx, numerical_gradient(loss, x)) < TOL
    for name, p in layer.named_parameters():
        assert max_rel_err(p.grad, numerical_gradient(loss, p.data)) < TOL, name


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random input whose entries are not within 0.05 of the ReLU kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.05, 0.5, x)


# -- Linear ------------------------------------------------------------------------------------
def test_linear_forward_matches_naive_sum():
    layer = Linear(3, 2, rng=0)
    layer.bias.data[:] = [0.5, -1.0]
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 4.0]])
    w = layer.weight.data
    expected = np.array(
        [[sum(x[i, k] * w[k, j] for k in range(3)) + layer.bias.data[j] for j in range(2)] for i in range(2)]
    )
    np.testing.assert_allclose(layer(x), expected, rtol=1e-14)


def test_linear_parameters_shapes_names_and_zero_bias():
    layer = Linear(4, 3, rng=0)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    assert not np.any(layer.bias.data)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert Linear(4, 3, bias=False).bias is None
    assert [n for n, _ in Linear(4, 3, bias=False).named_parameters()] == ["weight"]


@pytest.mark.parametrize("bias", [True, False])
def test_linear_backward_matches_finite_differences(bias):
    rng = np.random.default_rng(1)
    fd_check(Linear(4, 3, bias=bias, rng=2), rng.standard_normal((5, 4)))


def test_linear_backward_is_xt_g_sum_g_and_g_wt():
    layer = Linear(2, 2, rng=0)
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[1.0, 0.0], [0.0, 1.0]])
    layer(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, [[1.0, 3.0], [2.0, 4.0]])  # X^T I = X^T
    np.testing.assert_allclose(layer.bias.grad, [1.0, 1.0])
    np.testing.assert_allclose(dx, layer.weight.data.T)  # I W^T


def test_linear_backward_accumulates_into_grad():
    layer = Linear(3, 2, rng=0)
    x = np.ones((4, 3))
    g = np.ones((4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once[0])
    np.testing.assert_allclose(layer.bias.grad, 2 * once[1])
    layer.zero_grad()
    assert not np.any(layer.weight.grad)


def test_linear_float32_in_float32_out_and_grads():
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    x = np.ones((4, 3), np.float32)
    out = layer(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32


def test_linear_to_float32_then_accepts_float32():
    layer = Linear(3, 2, rng=0).to(np.float32)
    assert layer(np.ones((1, 3), np.float32)).dtype == np.float32


def test_linear_init_options():
    assert not np.any(Linear(3, 2, init="zeros").weight.data)
    np.testing.assert_array_equal(Linear(3, 2, rng=5).weight.data, Linear(3, 2, rng=5).weight.data)
    ones = Linear(3, 2, init=lambda shape, rng=None, dtype=np.float64: np.ones(shape, dtype))
    np.testing.assert_array_equal(ones.weight.data, np.ones((3, 2)))


def test_linear_he_normal_default_has_std_sqrt_2_over_fan_in():
    w = Linear(500, 400, rng=0).weight.data
    assert w.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_linear_wrong_feature_count_message():
    with pytest.raises(ShapeError) as err:
        Linear(4, 3)(np.zeros((10, 5)))
    assert str(err.value) == (
        "Linear(in_features=4, out_features=3): expected input of shape (n, 4), got (10, 5)"
    )


def test_linear_1d_input_raises_shape_error():
    with pytest.raises(ShapeError, match=r"expected input of shape \(n, 4\), got \(4,\)"):
        Linear(4, 3)(np.zeros(4))


def test_linear_dtype_mismatch_names_layer_and_both_dtypes():
    with pytest.raises(DTypeError, match=r"Linear\(in_features=2.*float32.*float64"):
        Linear(2, 2)(np.zeros((1, 2), np.float32))


@pytest.mark.parametrize("bad", [np.zeros((1, 2), np.int64), np.zeros((1, 2), bool)])
def test_linear_integer_or_bool_input_raises_dtype_error(bad):
    with pytest.raises(DTypeError, match="floating-point"):
        Linear(2, 2)(bad)


def test_linear_list_input_raises_dtype_error():
    with pytest.raises(DTypeError, match="NumPy array, got list"):
        Linear(2, 2)([[1.0, 2.0]])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_linear_bad_sizes_raise(bad):
    with pytest.raises(ShapeError, match="in_features must be a positive int"):
        Linear(bad, 2)


def test_linear_unknown_init_name_raises():
    with pytest.raises(UnknownNameError, match="'gaussian'"):
        Linear(2, 2, init="gaussian")


def test_linear_bad_dtype_and_bad_custom_initializer():
    with pytest.raises(DTypeError):
        Linear(2, 2, dtype=np.int32)
    with pytest.raises(ShapeError, match="initializer returned shape"):
        Linear(2, 2, init=lambda shape, rng=None, dtype=None: np.ones((3, 3)))


def test_linear_grad_output_wrong_shape_or_dtype():
    layer = Linear(2, 3)
    layer(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"\(4, 2\).*\(4, 3\)"):
        layer.backward(np.zeros((4, 2)))
    layer(np.zeros((4, 2)))
    with pytest.raises(DTypeError, match="float32"):
        layer.backward(np.zeros((4, 3), np.float32))


# -- backward before forward, for every layer -----------------------------------------------------
@pytest.mark.parametrize("name", LAYER_NAMES)
def test_backward_before_forward_raises_naming_the_layer(name):
    layer = make_layer(name)
    # a Sequential reports its last layer, the first one backward reaches
    name = type(layer[-1] if isinstance(layer, Sequential) else layer).__name__
    with pytest.raises(BackwardBeforeForwardError, match=rf"{name}\(.*\): backward\(\) called before forward"):
        layer.backward(np.zeros((1, 3)))


# -- activations ------------------------------------------------------------------------------------
def test_activation_forward_values_by_naive_formulas():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(ReLU()(x), [[0.0, 0.0, 0.0, 0.5, 2.0]])
    np.testing.assert_allclose(LeakyReLU(0.1)(x), [[-0.2, -0.05, 0.0, 0.5, 2.0]])
    np.testing.assert_allclose(Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(Tanh()(x), (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)))
    np.testing.assert_allclose(Softmax()(x), np.exp(x) / np.exp(x).sum())
    assert Identity()(x) is x


def test_relu_backward_is_mask_on_input():
    x = np.array([[-1.0, 0.0, 2.0]])
    layer = ReLU()
    layer(x)
    np.testing.assert_array_equal(layer.backward(np.array([[5.0, 6.0, 7.0]])), [[0.0, 0.0, 7.0]])


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_layer_backward_matches_finite_differences(name):
    layer = make_layer(name)
    if isinstance(layer, Dropout):  # the same mask at every forward: one function to differentiate
        def same_mask_forward(x, layer=layer):
            layer.rng = np.random.default_rng(0)
            return Dropout.forward(layer, x)
        layer.forward = same_mask_forward
    fd_check(layer, away_from_zero(np.random.default_rng(3), (4, 3)) * 2)


def test_softmax_module_backward_equals_vjp_and_finite_differences():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((6, 4))
    g = rng.standard_normal((6, 4))
    layer = Softmax()
    s = layer(z)
    via_jacobian = layer.backward(g)
    np.testing.assert_allclose(via_jacobian, F.softmax_vjp(s, g), atol=1e-14)
    numeric = numerical_gradient(lambda zz: float(np.sum(F.softmax(zz) * g)), z.copy())
    assert max_rel_err(via_jacobian, numeric) < TOL


def test_softmax_layer_rejects_non_2d_input():
    with pytest.raises(ShapeError, match="Softmax"):
        Softmax()(np.zeros(3))


@pytest.mark.parametrize("name", PARAMETER_FREE)
def test_parameter_free_layer_preserves_float32_forward_and_backward(name):
    layer = make_layer(name)
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    out = layer(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32


@pytest.mark.parametrize("name", PARAMETER_FREE)
def test_parameter_free_layer_rejects_integer_input(name):
    layer = make_layer(name)
    with pytest.raises(DTypeError, match=type(layer).__name__):
        layer(np.ones((2, 2), dtype=np.int64))


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_backward_does_not_modify_grad_output(name):
    layer = make_layer(name)
    x = np.random.default_rng(0).standard_normal((4, 3))
    out = layer(x)
    g = np.random.default_rng(1).standard_normal(out.shape)
    g_before = g.copy()
    layer.backward(g)
    np.testing.assert_array_equal(g, g_before)


def test_sigmoid_layer_no_warning_for_extreme_float32():
    x = np.array([[-1e4, 1e4, -3e38, 3e38]], np.float32)
    out = Sigmoid()(x)
    np.testing.assert_array_equal(out, [[0.0, 1.0, 0.0, 1.0]])


def test_get_activation_names():
    assert isinstance(get_activation("relu"), ReLU)
    assert isinstance(get_activation("ReLU"), ReLU)
    assert isinstance(get_activation("logistic"), Sigmoid)
    assert isinstance(get_activation("identity"), Identity)
    with pytest.raises(UnknownNameError, match="'swish'.*'relu'"):
        get_activation("swish")


# -- Dropout -------------------------------------------------------------------------------------
def test_dropout_eval_and_p_zero_are_identity():
    x = np.random.default_rng(0).standard_normal((5, 4))
    layer = Dropout(0.5, rng=0).eval()
    np.testing.assert_array_equal(layer(x), x)
    g = np.ones_like(x)
    with pytest.raises(BackwardBeforeForwardError, match=r"\.eval\(\) nothing is kept"):
        layer.backward(g)  # evaluation mode keeps nothing for a backward pass
    layer = Dropout(0.0, rng=0)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_training_zeroes_about_p_and_scales_survivors():
    x = np.full((400, 250), 2.0)
    out = Dropout(0.3, rng=0)(x)
    dropped = out == 0
    assert dropped.mean() == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(out[~dropped], 2.0 / 0.7)
    assert out.mean() == pytest.approx(2.0, rel=0.02)  # inverted dropout keeps the expectation


def test_dropout_backward_uses_the_forward_mask():
    x = np.random.default_rng(1).standard_normal((6, 5))
    layer = Dropout(0.4, rng=3)
    out = layer(x)
    g = np.random.default_rng(2).standard_normal(x.shape)
    dx = layer.backward(g)
    kept = out != 0
    np.testing.assert_allclose(dx[kept], g[kept] / 0.6)
    np.testing.assert_array_equal(dx[~kept], 0.0)


def test_dropout_backward_matches_finite_differences_with_fixed_mask():
    x = np.random.default_rng(1).standard_normal((4, 5))
    proj = np.random.default_rng(2).standard_normal(x.shape)
    layer = Dropout(0.5, rng=0)

    def loss(xx: np.ndarray) -> float:
        layer.rng = np.random.default_rng(9)  # the same mask on every evaluation
        return float(np.sum(layer(xx) * proj))

    loss(x)
    dx = layer.backward(proj)
    assert max_rel_err(dx, numerical_gradient(loss, x.copy())) < TOL


def test_dropout_same_seed_same_mask():
    x = np.ones((10, 10))
    np.testing.assert_array_equal(Dropout(0.5, rng=1)(x), Dropout(0.5, rng=1)(x))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, True, "0.5", float("nan")])
def test_dropout_p_outside_unit_interval_raises(p):
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\)"):
        Dropout(p)


# -- Sequential ------------------------------------------------------------------------------------
def make_mlp(seed: int = 0) -> Sequential:
    return Sequential(Linear(3, 5, rng=seed), Tanh(), Linear(5, 4, rng=seed + 1), ReLU(),
                      Linear(4, 2, rng=seed + 2), Sigmoid())


def test_sequential_forward_is_composition():
    model = make_mlp()
    x = np.random.default_rng(0).standard_normal((4, 3))
    h = x
    for layer in model:
        h = layer(h)
    l0, l2, l4 = model[0], model[2], model[4]
    manual = 1 / (1 + np.exp(-(np.maximum(np.tanh(x @ l0.weight.data + l0.bias.data) @ l2.weight.data
                                          + l2.bias.data, 0) @ l4.weight.data + l4.bias.data)))
    np.testing.assert_allclose(model(x), manual, rtol=1e-13)


def test_sequential_backward_matches_finite_differences():
    model = make_mlp(seed=3)
    for layer in (model[0], model[2], model[4]):
        layer.bias.data[:] = np.random.default_rng(5).standard_normal(layer.bias.shape)
    x = np.random.default_rng(6).standard_normal((5, 3))
    # keep the ReLU input away from its kink so finite differences are valid
    pre_relu = model[0:3](x)
    assert np.min(np.abs(pre_relu)) > 1e-4
    fd_check(model, x, seed=7)


def test_sequential_parameter_names_like_pytorch():
    names = [n for n, _ in make_mlp().named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


def test_sequential_container_protocol():
    model = Sequential(Linear(2, 3), ReLU())
    assert len(model) == 2
    assert isinstance(model[1], ReLU) and isinstance(model[-1], ReLU)
    head = model[:1]
    assert isinstance(head, Sequential) and len(head) == 1 and head[0] is model[0]
    assert model.append(Linear(3, 1)) is model and len(model) == 3
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert model.parameters()[-1] is model[2].bias


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="layer 1 must be a Module, got ufunc"):
        Sequential(Linear(2, 2), np.tanh)
    with pytest.raises(TypeError, match="layer 1"):
        Sequential(Linear(2, 2)).append("relu")


def test_sequential_train_eval_reaches_dropout():
    model = Sequential(Linear(2, 2), Dropout(0.5))
    model.eval()
    assert not model[1].training
    model.train()
    assert model[1].training


def test_sequential_float32_end_to_end():
    model = make_mlp().to(np.float32)
    x = np.ones((2, 3), np.float32)
    out = model(x)
    dx = model.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_sequential_wrong_input_error_comes_from_first_linear():
    with pytest.raises(ShapeError, match=r"Linear\(in_features=3, out_features=5\)"):
        make_mlp()(np.zeros((2, 4)))


def test_repr_is_nested():
    text = repr(Sequential(Linear(2, 3), ReLU(), Dropout(0.1)))
    assert "(0): Linear(in_features=2, out_features=3)" in text
    assert "(2): Dropout(p=0.1)" in text


# -- configs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [make_layer(name) for name in LAYER_NAMES]
    + [Linear(3, 2, bias=False, init="xavier_uniform", dtype=np.float32), make_mlp()],
    ids=lambda m: type(m).__name__,
)
def test_config_round_trip_through_json(layer):
    config = layer.get_config()
    rebuilt = layer_from_config(json.loads(json.dumps(config)))
    assert type(rebuilt) is type(layer)
    assert rebuilt.get_config() == config
    assert [(n, p.shape, p.dtype) for n, p in rebuilt.named_parameters()] == [
        (n, p.shape, p.dtype) for n, p in layer.named_parameters()
    ]


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_every_registered_layer_survives_save_and_load(name, tmp_path):
    layer = make_layer(name).eval()  # eval: Dropout is the identity, so outputs can be compared
    loaded = load(save(layer, tmp_path / "layer.npz")).eval()
    assert type(loaded) is type(layer) and loaded.get_config() == layer.get_config()
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(loaded(x), layer(x))


def test_linear_config_content():
    assert Linear(2, 8).get_config() == {
        "type": "Linear", "in_features": 2, "out_features": 8, "bias": True,
        "init": "he_normal", "dtype": "float64",
    }
    cfg = Sequential(Linear(2, 1), ReLU()).get_config()
    assert cfg["type"] == "Sequential" and cfg["layers"][1] == {"type": "ReLU"}


def test_layer_from_config_unknown_type_or_bad_keys():
    with pytest.raises(UnknownNameError, match="'Conv2d'.*Linear"):
        layer_from_config({"type": "Conv2d"})
    with pytest.raises(UnknownNameError, match="'type'"):
        layer_from_config({"in_features": 2})
    with pytest.raises(UnknownNameError, match="invalid config for Linear"):
        layer_from_config({"type": "Linear", "in_features": 2, "out_features": 3, "colour": "red"})
    with pytest.raises(UnknownNameError, match="invalid config for Linear"):
        layer_from_config({"type": "Linear", "in_features": 2})


def test_state_dict_round_trip_between_models():
    a, b = make_mlp(seed=0), make_mlp(seed=10)
    b.load_state_dict(a.state_dict())
    x = np.ones((1, 3))
    np.testing.assert_array_equal(a(x), b(x))


def test_parameter_is_a_copy_of_its_data():
    data = np.zeros(3)
    p = Parameter(data)
    p.data[0] = 1.0
    assert data[0] == 0.0


def test_sequential_config_names_a_custom_layer_without_get_config():
    class Custom(Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"layer 1 \(Custom\) has no get_config"):
        Sequential(ReLU(), Custom()).get_config()
