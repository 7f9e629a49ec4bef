"""Tests for nbfromscratch.gradcheck: finite differences against derivatives known by hand,
and check_gradients passing correct layers/losses and catching broken ones."""

from __future__ import annotations

import numpy as np
import pytest

from nbfromscratch.exceptions import DTypeError
from nbfromscratch.gradcheck import (
    GradCheckResult,
    check_gradients,
    numerical_gradient,
    relative_error,
)
from nbfromscratch.layers import Dropout, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh
from nbfromscratch.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss


# -- numerical_gradient --------------------------------------------------------------------------
def test_numerical_gradient_of_cubic_is_three_x_squared():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v**3)), x), 3 * x**2, rtol=1e-8)


def test_numerical_gradient_of_quadratic_form_is_a_plus_at_x():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    numeric = numerical_gradient(lambda v: float(v @ a @ v), x)
    np.testing.assert_allclose(numeric, (a + a.T) @ x, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_restores_x_even_on_error():
    x = np.array([1.0, 2.0])
    before = x.copy()
    numerical_gradient(lambda v: float(v.sum()), x)
    np.testing.assert_array_equal(x, before)

    def boom(v: np.ndarray) -> float:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numerical_gradient(boom, x)
    np.testing.assert_array_equal(x, before)


# -- relative_error --------------------------------------------------------------------------------
def test_relative_error_by_hand():
    # max |a - n| = 0.2 ; largest magnitude = 2.2
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0]), np.array([np.nan])) == float("inf")
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(2), np.zeros(3))


# -- check_gradients on correct code -------------------------------------------------------------------
def test_check_gradients_passes_for_a_correct_network():
    model = Sequential(Linear(3, 6, rng=0), Tanh(), Linear(6, 4, rng=1), Sigmoid(), Linear(4, 3, rng=2), Softmax())
    x = np.random.default_rng(0).standard_normal((5, 3))
    result = check_gradients(model, x)
    assert result.ok, result
    assert set(result.errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
    assert result.max_error < 1e-6


@pytest.mark.parametrize(
    "loss, target",
    [
        (MSELoss(), np.arange(12.0).reshape(4, 3) / 10),
        (CrossEntropyLoss("sum"), np.array([0, 2, 1, 1])),
        (BCEWithLogitsLoss(), np.array([[0.0, 1.0, 0.3]] * 4)),
    ],
    ids=lambda v: type(v).__name__,
)
def test_check_gradients_passes_for_correct_losses(loss, target):
    pred = np.random.default_rng(1).standard_normal((4, 3))
    result = check_gradients(loss, pred, target)
    assert result.ok and list(result.errors) == ["input"]


def test_check_gradients_works_on_eval_mode_dropout():
    model = Sequential(Linear(2, 3, rng=0), Dropout(0.5, rng=0)).eval()
    assert check_gradients(model, np.ones((2, 2))).ok


def test_check_gradients_restores_parameter_gradients_and_input():
    layer = Linear(2, 2, rng=0)
    layer.weight.grad[:] = 7.0
    x = np.ones((3, 2))
    check_gradients(layer, x)
    np.testing.assert_array_equal(layer.weight.grad, 7.0)
    np.testing.assert_array_equal(layer.bias.grad, 0.0)
    np.testing.assert_array_equal(x, 1.0)


# -- check_gradients catches bugs ---------------------------------------------------------------------------
class LinearForgetsTranspose(Linear):
    """dL/dW computed as G^T X instead of X^T G: shape-compatible for a square layer, so only
    a gradient check can catch it."""

    def backward(self, grad_output):
        x = self.saved_for_backward()
        self.weight.grad += grad_output.T @ x  # should be x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class ReLUMaskOnGrad(ReLU):
    """Masks with the sign of the incoming gradient instead of the input."""

    def backward(self, grad_output):
        self._cached(grad_output)
        return grad_output * (grad_output > 0)


class MSEMissingFactorTwo(MSELoss):
    def backward(self):
        return super().backward() / 2


def test_check_gradients_catches_wrong_weight_gradient():
    result = check_gradients(LinearForgetsTranspose(3, 3, rng=0), np.random.default_rng(2).standard_normal((4, 3)))
    assert not result.ok
    assert result.errors["weight"] > 0.1
    assert result.errors["bias"] < 1e-6 and result.errors["input"] < 1e-6
    assert "weight" in repr(result) and "FAIL" in repr(result)


def test_check_gradients_catches_wrong_activation_backward():
    model = Sequential(Linear(3, 4, rng=0), ReLUMaskOnGrad(), Linear(4, 2, rng=1))
    result = check_gradients(model, np.random.default_rng(3).standard_normal((5, 3)))
    assert not result.ok and result.errors["input"] > 0.1


def test_check_gradients_catches_wrong_loss_gradient():
    result = check_gradients(MSEMissingFactorTwo(), np.ones((2, 2)), np.zeros((2, 2)))
    assert not result.ok
    assert result.errors["input"] == pytest.approx(0.5)  # |g/2 - g| / |g|


# -- misuse ------------------------------------------------------------------------------------------------
def test_check_gradients_requires_float64():
    with pytest.raises(DTypeError, match="float64"):
        check_gradients(Linear(2, 2, dtype=np.float32), np.ones((1, 2), np.float32))
    with pytest.raises(DTypeError, match="parameter 'weight'"):
        check_gradients(Linear(2, 2, dtype=np.float32), np.ones((1, 2)))


def test_check_gradients_rejects_other_objects():
    with pytest.raises(TypeError, match="Module or a Loss"):
        check_gradients(np.tanh, np.ones((1, 2)))


def test_result_repr_and_ok_by_hand():
    result = GradCheckResult(errors={"input": 1e-9, "weight": 1e-3}, tol=1e-6)
    assert not result.ok and result.max_error == 1e-3
    text = repr(result)
    assert text.startswith("GradCheckResult(ok=False, tol=1e-06)")
    assert "input" in text and "1.00e-09" in text
    assert GradCheckResult(errors={"input": 0.0}, tol=1e-6).ok
