"""Learning-rate schedules: PyTorch's names, semantics and formulas (written out here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch.exceptions import ArgumentTypeError, ParameterError
from nbfromscratch.optim import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    OneCycleLR,
    StepLR,
)


def optimizer(lr=0.05, cls=nbf.SGD):
    return cls(nbf.Linear(2, 2, rng=0).parameters(), lr=lr)


def rates(scheduler, epochs):
    """The rate of epoch 0 (set at construction) and after each of ``epochs - 1`` steps."""
    out = [scheduler.get_last_lr()[0]]
    for _ in range(epochs - 1):
        scheduler.optimizer.step()  # PyTorch's order: the optimizer's steps, then the scheduler's
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
        assert scheduler.optimizer.lr == out[-1]
    return out


def test_step_lr_matches_pytorch_docs_example():
    # torch.optim.lr_scheduler.StepLR docs: lr = 0.05 if epoch < 30, 0.005 if 30 <= epoch < 60, ...
    got = rates(StepLR(optimizer(0.05), step_size=30, gamma=0.1), 90)
    expected = [0.05] * 30 + [0.005] * 30 + [0.0005] * 30
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_linear_lr_matches_pytorch_docs_example():
    # torch.optim.lr_scheduler.LinearLR docs (start_factor=0.5, total_iters=4, lr=0.05):
    # 0.025 if epoch == 0, 0.03125 if 1, 0.0375 if 2, 0.04375 if 3, 0.05 if epoch >= 4.
    got = rates(LinearLR(optimizer(0.05), start_factor=0.5, total_iters=4), 7)
    np.testing.assert_allclose(got, [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05, 0.05], rtol=1e-12)


def test_exponential_lr_is_base_times_gamma_to_the_epoch():
    got = rates(ExponentialLR(optimizer(0.1), gamma=0.9), 20)
    np.testing.assert_allclose(got, [0.1 * 0.9**t for t in range(20)], rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.001])
def test_cosine_annealing_follows_half_a_cosine_then_climbs_again(eta_min):
    # PyTorch's closed form: eta_min + (eta_max - eta_min) * (1 + cos(pi * T_cur / T_max)) / 2
    T_max, base = 10, 0.1
    got = rates(CosineAnnealingLR(optimizer(base), T_max=T_max, eta_min=eta_min), 15)
    expected = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2 for t in range(15)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert got[T_max] == pytest.approx(eta_min) and got[T_max + 1] > got[T_max]


def test_one_cycle_lr_warms_up_to_max_lr_then_anneals_far_below_the_start():
    # PyTorch OneCycleLR (cos, two phases): initial = max_lr / div_factor, the peak at step
    # pct_start * total - 1, then down to initial / final_div_factor at the last step.
    total, max_lr = 20, 1.0
    got = rates(OneCycleLR(optimizer(), max_lr=max_lr, total_steps=total), total)
    initial, final, peak = max_lr / 25, max_lr / 25 / 1e4, 0.3 * total - 1

    def cos(start, end, pct):
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)

    expected = [cos(initial, max_lr, t / peak) if t <= peak
                else cos(max_lr, final, (t - peak) / (total - 1 - peak)) for t in range(total)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0] == pytest.approx(0.04) and got[5] == pytest.approx(1.0)
    assert got[-1] == pytest.approx(4e-6)
    with pytest.raises(ParameterError, match="stepped 3 times, but total_steps=2"):
        sched = OneCycleLR(optimizer(), max_lr=1.0, total_steps=2)
        sched.step()
        sched.step()


def test_state_dict_resumes_the_same_rates():
    full = rates(CosineAnnealingLR(optimizer(0.1), T_max=8), 12)
    first = CosineAnnealingLR(optimizer(0.1), T_max=8)
    rates(first, 5)
    opt_state, sched_state = first.optimizer.state_dict(), first.state_dict()
    assert "optimizer" not in sched_state and sched_state["last_epoch"] == 4
    fresh = optimizer(123.0)  # whatever rate: the optimizer's state restores it
    fresh.load_state_dict(opt_state)
    resumed = CosineAnnealingLR(fresh, T_max=8)
    resumed.load_state_dict(sched_state)
    assert resumed.get_last_lr() == [full[4]] and fresh.lr == full[4]
    assert rates(resumed, 8)[1:] == full[5:]  # bit-identical, not just close


def test_a_scheduler_is_a_fit_callback_stepping_once_per_epoch():
    X, y = nbf.make_moons(64, rng=0)
    model = nbf.Sequential(nbf.Linear(2, 8, rng=0), nbf.ReLU(), nbf.Linear(8, 2, rng=1))
    opt = nbf.SGD(model.parameters(), lr=0.4)
    seen = []
    record = lambda epoch, logs: seen.append(opt.lr)  # noqa: E731 - runs before the scheduler
    nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, epochs=6, rng=0, progress=False,
            callbacks=[record, StepLR(opt, step_size=2, gamma=0.5)])
    assert seen == [0.4, 0.4, 0.2, 0.2, 0.1, 0.1]
    assert opt.lr == 0.05


def test_bad_arguments_are_refused():
    with pytest.raises(ArgumentTypeError, match="expected an Optimizer"):
        StepLR(nbf.Linear(2, 2).parameters(), step_size=2)
    with pytest.raises(ParameterError, match="step_size"):
        StepLR(optimizer(), step_size=0)
    with pytest.raises(ParameterError, match="start_factor"):
        LinearLR(optimizer(), start_factor=0.0)
    with pytest.raises(ParameterError, match="last_epoch"):
        StepLR(optimizer(), 3).load_state_dict(
            {"step_size": 3, "gamma": 0.1, "base_lr": 0.05, "last_epoch": -5, "_last_lr": [0.1]})
    with pytest.raises(ParameterError, match="expected the keys"):
        StepLR(optimizer(), 3).load_state_dict({"last_epoch": 2})
