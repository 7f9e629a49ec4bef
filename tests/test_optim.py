"""Optimizers against hand-computed steps of the update rules in the torch.optim docs.

The reference implementations below are deliberately naive: one Python float at a time,
written straight from the documented pseudo-code, sharing nothing with the package.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nbfromscratch.exceptions import UnknownNameError
from nbfromscratch.layers.module import Module, Parameter
from nbfromscratch.optim import _OPTIMIZERS, SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, get_optimizer

THETA0 = [0.5, -1.5, 2.0]
# One gradient per step (3 steps), per coordinate; chosen with mixed signs and sizes.
GRADS = [[0.3, -0.2, 1.5], [0.1, 0.4, -0.7], [-0.25, 0.05, 0.9]]


def run_package(cls: type[Optimizer], dtype=np.float64, **kwargs) -> list[np.ndarray]:
    """Apply the optimizer to THETA0 with GRADS; return theta after each step."""
    p = Parameter(np.array(THETA0, dtype=dtype))
    opt = cls([p], **kwargs)
    history = []
    for g in GRADS:
        p.grad[...] = g
        opt.step()
        history.append(p.data.copy())
    return history


def run_reference(step_fn, **kwargs) -> list[list[float]]:
    """Apply a scalar reference rule coordinate by coordinate."""
    out = [[0.0] * len(THETA0) for _ in GRADS]
    for i, theta in enumerate(THETA0):
        state: dict = {}
        for t, grads in enumerate(GRADS, start=1):
            theta = step_fn(theta, grads[i], t, state, **kwargs)
            out[t - 1][i] = theta
    return out


# -- scalar references, straight from the torch.optim pseudo-code ------------------------
def sgd_ref(theta, g, t, s, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    if weight_decay != 0:
        g = g + weight_decay * theta
    if momentum != 0:
        if t > 1:
            s["b"] = momentum * s["b"] + (1 - dampening) * g
        else:
            s["b"] = g
        if nesterov:
            g = g + momentum * s["b"]
        else:
            g = s["b"]
    return theta - lr * g


def adagrad_ref(theta, g, t, s, lr, lr_decay=0.0, weight_decay=0.0,
                initial_accumulator_value=0.0, eps=1e-10):
    s.setdefault("sum", initial_accumulator_value)
    clr = lr / (1 + (t - 1) * lr_decay)
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["sum"] = s["sum"] + g * g
    return theta - clr * g / (math.sqrt(s["sum"]) + eps)


def rmsprop_ref(theta, g, t, s, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):
    s.setdefault("v", 0.0)
    s.setdefault("b", 0.0)
    s.setdefault("gave", 0.0)
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["v"] = alpha * s["v"] + (1 - alpha) * g * g
    v_tilde = s["v"]
    if centered:
        s["gave"] = alpha * s["gave"] + (1 - alpha) * g
        v_tilde = v_tilde - s["gave"] ** 2
    if momentum > 0:
        s["b"] = momentum * s["b"] + g / (math.sqrt(v_tilde) + eps)
        return theta - lr * s["b"]
    return theta - lr * g / (math.sqrt(v_tilde) + eps)


def adam_ref(theta, g, t, s, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    s.setdefault("m", 0.0)
    s.setdefault("v", 0.0)
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1**t)
    v_hat = s["v"] / (1 - b2**t)
    return theta - lr * m_hat / (math.sqrt(v_hat) + eps)


def adamw_ref(theta, g, t, s, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    theta = theta - lr * weight_decay * theta
    return adam_ref(theta, g, t, s, lr, betas, eps, weight_decay=0.0)


CASES = [
    (SGD, sgd_ref, {"lr": 0.1}),
    (SGD, sgd_ref, {"lr": 0.1, "momentum": 0.9}),
    (SGD, sgd_ref, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    (SGD, sgd_ref, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (SGD, sgd_ref, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True}),
    (SGD, sgd_ref, {"lr": 0.05, "weight_decay": 0.2}),
    (Adagrad, adagrad_ref, {"lr": 0.1}),
    (Adagrad, adagrad_ref, {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1,
                            "initial_accumulator_value": 0.2}),
    (RMSprop, rmsprop_ref, {"lr": 0.01}),
    (RMSprop, rmsprop_ref, {"lr": 0.01, "alpha": 0.9, "centered": True}),
    (RMSprop, rmsprop_ref, {"lr": 0.01, "alpha": 0.9, "momentum": 0.8, "weight_decay": 0.1}),
    (RMSprop, rmsprop_ref, {"lr": 0.01, "alpha": 0.8, "momentum": 0.5, "centered": True}),
    (Adam, adam_ref, {"lr": 0.1}),
    (Adam, adam_ref, {"lr": 0.1, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    (AdamW, adamw_ref, {"lr": 0.1}),
    (AdamW, adamw_ref, {"lr": 0.1, "betas": (0.5, 0.6), "weight_decay": 0.3}),
]


@pytest.mark.parametrize(
    "cls, ref, kwargs", CASES, ids=[f"{c.__name__}-{k}" for c, _, k in CASES]
)
def test_three_steps_match_the_documented_update_rule(cls, ref, kwargs):
    got = run_package(cls, **kwargs)
    expected = run_reference(ref, **kwargs)
    for t in range(len(GRADS)):
        np.testing.assert_allclose(got[t], expected[t], rtol=1e-12, atol=1e-15,
                                   err_msg=f"step {t + 1}")


# -- a few steps worked out by hand (pencil and paper) -----------------------------------
def test_sgd_momentum_steps_by_hand():
    # theta0 = 1, g = 1 every step, lr = 0.1, momentum = 0.9:
    # b1 = 1 -> 0.9;  b2 = 1.9 -> 0.71;  b3 = 2.71 -> 0.439
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    out = []
    for _ in range(3):
        p.grad[...] = 1.0
        opt.step()
        out.append(p.data[0])
    np.testing.assert_allclose(out, [0.9, 0.71, 0.439], rtol=1e-12)


def test_sgd_nesterov_step_by_hand():
    # theta0 = 1, g = 1, lr = 0.1, mu = 0.9: step 1 b = 1, g' = 1 + 0.9 = 1.9 -> 0.81;
    # step 2 b = 1.9, g' = 1 + 1.71 = 2.71 -> 0.81 - 0.271 = 0.539
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    p.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(p.data, [0.81], rtol=1e-12)
    opt.step()
    np.testing.assert_allclose(p.data, [0.539], rtol=1e-12)


def test_adam_first_step_moves_by_lr_times_sign_of_grad():
    # m^1 = g, v^1 = g**2, so the first step is lr * g / (|g| + eps) ~ lr * sign(g).
    p = Parameter(np.array([0.0, 0.0, 0.0]))
    p.grad[...] = [3.0, -1e-3, 250.0]
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_adagrad_first_step_by_hand():
    # sum = 0 + 2**2 = 4; theta = 1 - 0.1 * 2 / (2 + 1e-10) = 0.9
    p = Parameter(np.array([1.0]))
    p.grad[...] = 2.0
    Adagrad([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.9], rtol=1e-9)


def test_rmsprop_first_step_by_hand():
    # v = 0.01 * 4 = 0.04, sqrt = 0.2; theta = 1 - 0.01 * 2 / 0.2 = 0.9
    p = Parameter(np.array([1.0]))
    p.grad[...] = 2.0
    RMSprop([p], lr=0.01, alpha=0.99, eps=0.0).step()
    np.testing.assert_allclose(p.data, [0.9], rtol=1e-12)


def test_adamw_decay_is_applied_to_weights_not_to_gradient():
    # With g = 0 the Adam part does nothing; only theta *= (1 - lr * wd) remains.
    p = Parameter(np.array([2.0, -4.0]))
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()
    np.testing.assert_allclose(p.data, [2.0 * 0.95, -4.0 * 0.95], rtol=1e-12)
    # Adam's L2 weight decay instead feeds wd * theta into m and v: a ~lr-sized step.
    q = Parameter(np.array([2.0, -4.0]))
    Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(q.data, [1.9, -3.9], rtol=1e-6)


# -- properties every optimizer has ----------------------------------------------------------
#: Hyperparameters that switch on most of an optimizer's branches; an optimizer of the table
#: that is not listed here runs with lr=0.1 alone.
HYPERPARAMETERS = {
    "sgd": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
    "adagrad": {"lr": 0.1, "weight_decay": 0.01},
    "rmsprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    "adam": {"lr": 0.1, "weight_decay": 0.01},
}
#: Every optimizer get_optimizer knows: a new one joins these tests by being in the table.
ALL = [(cls, HYPERPARAMETERS.get(name, {"lr": 0.1})) for name, cls in _OPTIMIZERS.items()]


def test_the_hyperparameter_table_names_only_known_optimizers():
    assert set(HYPERPARAMETERS) <= set(_OPTIMIZERS)


def test_every_optimizer_is_checked_against_its_documented_update_rule():
    # CASES holds an independent reference implementation per optimizer; a new optimizer
    # needs one too.
    assert {cls for cls, _, _ in CASES} == set(_OPTIMIZERS.values())


@pytest.mark.parametrize("cls, kwargs", ALL, ids=[c.__name__ for c, _ in ALL])
def test_float32_parameters_and_state_stay_float32(cls, kwargs):
    history = run_package(cls, dtype=np.float32, **kwargs)
    reference = run_package(cls, dtype=np.float64, **kwargs)
    assert all(h.dtype == np.float32 for h in history)
    np.testing.assert_allclose(history[-1], reference[-1], rtol=1e-5, atol=1e-6)
    p = Parameter(np.ones(3, dtype=np.float32))
    opt = cls([p], **kwargs)
    p.grad[...] = 0.5
    opt.step()
    assert all(buf.dtype == np.float32 for state in opt.state for buf in state.values())


@pytest.mark.parametrize("cls, kwargs", ALL, ids=[c.__name__ for c, _ in ALL])
def test_step_updates_data_in_place_and_leaves_grad_untouched(cls, kwargs):
    p = Parameter(np.array([[1.0, -2.0], [3.0, 0.5]]))
    data_before = p.data
    p.grad[...] = [[0.1, 0.2], [-0.3, 0.4]]
    grad_before = p.grad.copy()
    cls([p], **kwargs).step()
    assert p.data is data_before
    np.testing.assert_array_equal(p.grad, grad_before)
    assert not np.array_equal(p.data, [[1.0, -2.0], [3.0, 0.5]])


@pytest.mark.parametrize("cls, kwargs", ALL, ids=[c.__name__ for c, _ in ALL])
def test_minimises_a_quadratic_bowl(cls, kwargs):
    # f(theta) = 0.5 * ||theta - c||^2, gradient theta - c, minimum at c.
    c = np.array([1.0, -2.0, 0.5])
    p = Parameter(np.zeros(3))
    kwargs = {**kwargs, "weight_decay": 0.0}
    opt = cls([p], **kwargs)
    for _ in range(3000):
        opt.zero_grad()
        p.grad += p.data - c
        opt.step()
    np.testing.assert_allclose(p.data, c, atol=1e-2)


def test_zero_grad_resets_every_gradient():
    ps = [Parameter(np.ones(2)), Parameter(np.ones((2, 2)))]
    for p in ps:
        p.grad += 3.0
    SGD(ps, lr=0.1).zero_grad()
    assert all(not p.grad.any() for p in ps)


def test_centered_rmsprop_stays_finite_after_many_identical_gradients():
    # v_t - a_t**2 -> 0 and can round below zero; the update must not become NaN.
    p = Parameter(np.array([1.0, -1.0]))
    opt = RMSprop([p], lr=1e-4, alpha=0.5, centered=True, eps=1e-8)
    for _ in range(200):
        p.grad[...] = [0.3, 1e-3]
        opt.step()
    assert np.isfinite(p.data).all()


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, kwargs, word",
    [
        (SGD, {"lr": -0.1}, "lr"),
        (SGD, {"lr": float("nan")}, "lr"),
        (SGD, {"momentum": -0.5}, "momentum"),
        (SGD, {"nesterov": True}, "nesterov"),
        (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
        (Adam, {"betas": (1.0, 0.999)}, "betas"),
        (Adam, {"betas": (0.9, -0.1)}, "betas"),
        (AdamW, {"weight_decay": -1.0}, "weight_decay"),
        (Adagrad, {"lr_decay": -1.0}, "lr_decay"),
        (RMSprop, {"eps": -1e-8}, "eps"),
    ],
)
def test_bad_hyperparameter_raises_value_error_naming_it(cls, kwargs, word):
    with pytest.raises(ValueError, match=word):
        cls([Parameter(np.zeros(2))], **kwargs)


def test_empty_parameter_list_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        Adam([])


def test_passing_the_model_instead_of_its_parameters_says_so():
    class Tiny(Module):
        def __init__(self):
            super().__init__()
            self.w = Parameter(np.zeros(2))

    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        SGD(Tiny(), lr=0.1)
    with pytest.raises(TypeError, match="Parameter"):
        SGD([np.zeros(2)], lr=0.1)


def test_get_optimizer_builds_by_case_insensitive_name():
    p = Parameter(np.zeros(2))
    opt = get_optimizer("AdamW", [p], lr=0.5)
    assert isinstance(opt, AdamW) and opt.lr == 0.5
    assert isinstance(get_optimizer("sgd", [p], momentum=0.9), SGD)


def test_get_optimizer_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match="optimizer: unknown name .adamax.; valid names are .sgd.*.adam."):
        get_optimizer("adamax", [Parameter(np.zeros(2))])


def test_repr_shows_hyperparameters():
    text = repr(SGD([Parameter(np.zeros(1))], lr=0.5, momentum=0.9))
    assert text.startswith("SGD(") and "lr=0.5" in text and "momentum=0.9" in text
