"""Training interrupted, saved, resumed in a fresh process: bit-identical to an unbroken run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch.exceptions import ParameterError, ShapeError

OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd-momentum": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}),
    "sgd-nesterov": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {"lr": 0.05, "lr_decay": 1e-3, "initial_accumulator_value": 0.1}),
    "rmsprop": ("RMSprop", {"lr": 1e-3, "momentum": 0.5, "centered": True, "weight_decay": 1e-3}),
    "adam": ("Adam", {"lr": 1e-2, "weight_decay": 1e-3}),
    "adamw": ("AdamW", {"lr": 1e-2}),
}
EPOCHS, SPLIT = 6, 2

# The same code runs here (unbroken run, first part) and in the fresh process (second part).
COMMON = """
import numpy as np, nbfromscratch as nbf
X, y = nbf.make_moons(90, noise=0.2, rng=0)
def new_model():
    return nbf.Sequential(nbf.Linear(2, 16, rng=1), nbf.Tanh(), nbf.Linear(16, 16, rng=2),
                          nbf.ReLU(), nbf.Linear(16, 2, rng=3))
def train(model, opt, sched, rng, epochs):
    nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, epochs=epochs, batch_size=16, rng=rng,
            progress=False, callbacks=[sched])
"""

RESUME = """
import sys
path, out = sys.argv[1], sys.argv[2]
model = nbf.load(path)
state = nbf.load_training_state(path)
opt = getattr(nbf, state["optimizer_type"])(model.parameters())
opt.load_state_dict(state["optimizer"])
sched = nbf.StepLR(opt, step_size=1)
sched.load_state_dict(state["scheduler"])
train(model, opt, sched, state["rng"], {remaining})
nbf.save(model, out, optimizer=opt)
"""


def run_common():
    namespace: dict = {}
    exec(COMMON, namespace)  # noqa: S102 - our own fixed source, shared with the subprocess
    return namespace


@pytest.mark.parametrize("key", sorted(OPTIMIZERS))
def test_resumed_run_is_bit_identical_to_the_unbroken_one(key, tmp_path):
    name, kwargs = OPTIMIZERS[key]
    ns = run_common()

    def start():
        model = ns["new_model"]()
        opt = getattr(nbf, name)(model.parameters(), **kwargs)
        return model, opt, nbf.StepLR(opt, step_size=2, gamma=0.7), np.random.default_rng(42)

    model, opt, sched, rng = start()
    ns["train"](model, opt, sched, rng, EPOCHS)
    unbroken = model.state_dict()

    model, opt, sched, rng = start()
    ns["train"](model, opt, sched, rng, SPLIT)
    path = nbf.save(model, tmp_path / "checkpoint.npz", optimizer=opt, scheduler=sched, rng=rng,
                    epoch=SPLIT)
    script = COMMON + textwrap.dedent(RESUME).format(remaining=EPOCHS - SPLIT)
    subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "resumed.npz")],
                   check=True, capture_output=True, text=True)
    resumed = nbf.load(tmp_path / "resumed.npz").state_dict()
    assert resumed.keys() == unbroken.keys()
    for k in unbroken:
        assert np.array_equal(resumed[k], unbroken[k]), k  # bit for bit, not approximately
    assert nbf.load_training_state(path)["epoch"] == SPLIT
    # Without the saved shuffling state the second half would differ: the test can fail.
    model, opt, sched, rng = start()
    ns["train"](model, opt, sched, rng, SPLIT)
    ns["train"](model, opt, sched, np.random.default_rng(42), EPOCHS - SPLIT)
    assert any(not np.array_equal(model.state_dict()[k], unbroken[k]) for k in unbroken)


@pytest.mark.parametrize("key", sorted(OPTIMIZERS))
def test_optimizer_state_dict_is_shaped_as_pytorchs(key):
    name, kwargs = OPTIMIZERS[key]
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0), nbf.Tanh(), nbf.Linear(4, 2, rng=1))
    opt = getattr(nbf, name)(model.parameters(), **kwargs)
    for p in model.parameters():
        p.grad[...] = 0.5
    opt.step()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    (group,) = sd["param_groups"]
    assert group["params"] == [0, 1, 2, 3]
    assert {k: group[k] for k in kwargs} == kwargs
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    expected_buffers = {
        "SGD": {"momentum_buffer"} if kwargs.get("momentum") else set(),
        "Adagrad": {"sum"},
        "RMSprop": {"square_avg", "momentum_buffer", "grad_avg"},
        "Adam": {"exp_avg", "exp_avg_sq"},
        "AdamW": {"exp_avg", "exp_avg_sq"},
    }[name]
    for i, p in enumerate(model.parameters()):
        entry = sd["state"][i]
        assert set(entry) == expected_buffers | {"step"} and entry["step"] == 2
        for buf in expected_buffers:
            assert entry[buf].shape == p.shape
            assert entry[buf] is not opt.state[i][buf]  # a copy, as torch's is a snapshot


def test_load_state_dict_restores_buffers_and_hyperparameters_and_validates():
    model = nbf.Linear(3, 2, rng=0)
    opt = nbf.Adam(model.parameters(), lr=0.5, betas=(0.8, 0.9))
    for p in model.parameters():
        p.grad[...] = 1.0
    opt.step()
    sd = opt.state_dict()
    other = nbf.Adam(model.parameters())
    other.load_state_dict(sd)
    assert other.lr == 0.5 and other.betas == (0.8, 0.9) and other.step_count == 1
    np.testing.assert_array_equal(other.state[0]["exp_avg"], sd["state"][0]["exp_avg"])
    bad = {"state": sd["state"], "param_groups": [dict(sd["param_groups"][0], betas=(1.5, 0.9))]}
    with pytest.raises(ParameterError, match="betas"):
        other.load_state_dict(bad)
    with pytest.raises(ParameterError, match="parameters"):
        nbf.Adam(nbf.Linear(3, 3).parameters() + model.parameters()).load_state_dict(sd)
    wrong_shape = {"state": {0: {"exp_avg": np.zeros(5), "step": 1}}, "param_groups": sd["param_groups"]}
    with pytest.raises(ShapeError, match=r"state\[0\]\['exp_avg'\]"):
        other.load_state_dict(wrong_shape)
    with pytest.raises(ParameterError, match="expected"):
        other.load_state_dict({"oops": 1})
    assert other.lr == 0.5  # failed loads changed nothing


def test_save_refuses_an_optimizer_of_other_parameters(tmp_path):
    model, other = nbf.Linear(2, 2, rng=0), nbf.Linear(2, 2, rng=1)
    with pytest.raises(ParameterError, match="not built on this model's parameters"):
        nbf.save(model, tmp_path / "m.npz", optimizer=nbf.SGD(other.parameters()))
    assert not (tmp_path / "m.npz").exists()
