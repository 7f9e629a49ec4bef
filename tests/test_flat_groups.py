"""Parameters side by side in memory, and optimizers that update them as one flat vector.

The flat update must compute exactly what the per-parameter update computes, and must notice
every way a parameter or a buffer can get a new array (``p.data = ...``, ``model.to(...)``,
``load_state_dict``, an entry of ``optimizer.state`` replaced) instead of silently updating an
array nobody reads any more.
"""

from __future__ import annotations

import copy
import gc
import pickle
import weakref

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch import Parameter
from nbfromscratch.layers import _blocks
from nbfromscratch.training import _StepGuard

OPTIMIZERS = [
    (nbf.SGD, dict(lr=0.1)),
    (nbf.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (nbf.SGD, dict(lr=0.1, momentum=0.8, dampening=0.3)),
    (nbf.Adagrad, dict(lr=0.05, initial_accumulator_value=0.1, weight_decay=0.01)),
    (nbf.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (nbf.Adam, dict(lr=0.01, weight_decay=0.01)),
    (nbf.AdamW, dict(lr=0.01)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(OPTIMIZERS)]


def mlp(seed: int = 0) -> nbf.Sequential:
    return nbf.Sequential(nbf.Linear(3, 5, rng=seed), nbf.Tanh(), nbf.Linear(5, 2, rng=seed + 1))


def set_grads(model: nbf.Module, step: int) -> None:
    rng = np.random.default_rng(step)
    for p in model.parameters():
        p.grad[...] = rng.standard_normal(p.shape)


def scatter(model: nbf.Module) -> None:
    """Give every parameter arrays of its own (same values): no two follow each other."""
    for p in model.parameters():
        p.data, p.grad = p.data.copy(), p.grad.copy()


def test_a_network_built_layer_after_layer_is_one_flat_group():
    model = mlp()
    opt = nbf.SGD(model.parameters(), lr=0.1)
    set_grads(model, 0)
    opt.step()
    (group,) = opt._groups
    assert group.data.shape == (sum(p.data.size for p in model.parameters()),)
    for p in model.parameters():
        assert np.shares_memory(group.data, p.data) and np.shares_memory(group.grad, p.grad)


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_the_flat_update_is_bit_identical_to_the_update_parameter_by_parameter(cls, kwargs):
    flat, apart = mlp(), mlp()
    scatter(apart)
    opt_flat, opt_apart = cls(flat.parameters(), **kwargs), cls(apart.parameters(), **kwargs)
    for step in range(4):
        for model, opt in ((flat, opt_flat), (apart, opt_apart)):
            set_grads(model, step)
            opt.step()
        for p, q in zip(flat.parameters(), apart.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
    assert len(opt_flat._groups) == 1 and len(opt_apart._groups) == 4
    for a, b in zip(opt_flat.state, opt_apart.state):
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].shape == b[name].shape  # each parameter's buffers have its shape
            np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_a_parameter_given_a_new_array_is_updated_through_it(cls, kwargs):
    model = mlp()
    opt = cls(model.parameters(), **kwargs)
    set_grads(model, 0)
    opt.step()
    w = model[0].weight
    old = w.data
    w.data = old.copy()  # what the user now holds and reads
    set_grads(model, 1)
    before = w.data.copy()
    opt.step()
    assert not np.array_equal(w.data, before)  # the new array moved ...
    np.testing.assert_array_equal(old, before)  # ... and the one it replaced did not
    reference = mlp()
    ref_opt = cls(reference.parameters(), **kwargs)
    for step in range(2):
        set_grads(reference, step)
        ref_opt.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_a_gradient_given_a_new_array_is_read():
    model = mlp()
    opt = nbf.SGD(model.parameters(), lr=1.0)
    set_grads(model, 0)
    opt.step()
    b = model[2].bias
    before = b.data.copy()
    b.grad = np.ones_like(b.data)
    for p in model.parameters():
        if p is not b:
            p.grad[...] = 0
    opt.step()
    np.testing.assert_array_equal(b.data, before - 1)


def test_frozen_parameters_between_trained_ones_stay_untouched():
    model = mlp()
    params = model.parameters()
    trained = [params[0], params[2], params[3]]
    opt = nbf.Adam(trained, lr=0.1)
    frozen = params[1].data.copy()
    set_grads(model, 0)
    opt.step()
    np.testing.assert_array_equal(params[1].data, frozen)
    assert [g.indices for g in opt._groups] == [[0], [1, 2]]


def test_buffers_are_views_the_next_step_reads():
    model = mlp()
    opt = nbf.SGD(model.parameters(), lr=0.1, momentum=0.9)
    set_grads(model, 0)
    opt.step()
    twin = copy.deepcopy((model, opt))
    # Change one buffer in place, and replace another: both must be what the next step uses.
    opt.state[0]["momentum_buffer"][...] = 0.0
    opt.state[3]["momentum_buffer"] = np.full_like(model.parameters()[3].data, 5.0)
    twin[1].state[0]["momentum_buffer"][...] = 0.0
    twin[1].state[3]["momentum_buffer"][...] = 5.0
    for m, o in ((model, opt), twin):
        set_grads(m, 1)
        o.step()
    for p, q in zip(model.parameters(), twin[0].parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_then_step_continues_from_the_loaded_buffers():
    model, other = mlp(), mlp()
    opt, opt_other = nbf.Adam(model.parameters(), lr=0.01), nbf.Adam(other.parameters(), lr=0.01)
    for m, o in ((model, opt), (other, opt_other)):
        set_grads(m, 0)
        o.step()
    set_grads(model, 1)
    opt.step()  # model is one step ahead; give other its weights and optimizer state
    other.load_state_dict(model.state_dict())
    opt_other.load_state_dict(opt.state_dict())
    for m, o in ((model, opt), (other, opt_other)):
        set_grads(m, 2)
        o.step()
    for p, q in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_pickled_and_copied_parameters_keep_values_and_gradients_and_sit_together():
    model = mlp()
    set_grads(model, 0)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        for p, q in zip(model.parameters(), clone.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
            np.testing.assert_array_equal(p.grad, q.grad)
            assert not np.shares_memory(p.data, q.data)
        opt = nbf.SGD(clone.parameters(), lr=0.1)
        opt.step()
        assert len(opt._groups) == 1


def test_model_to_another_dtype_lays_the_parameters_out_again():
    model = mlp().to(np.float32)
    opt = nbf.SGD(model.parameters(), lr=0.1)
    set_grads(model, 0)
    opt.step()
    assert len(opt._groups) == 1 and opt._groups[0].data.dtype == np.float32


def test_a_parameter_larger_than_a_block_gets_its_own(monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK", 8)
    monkeypatch.setattr(_blocks, "_open", {})
    small, big, after = Parameter(np.ones(3)), Parameter(np.ones((4, 5))), Parameter(np.ones(6))
    assert big.data.base is None and big.data.shape == (4, 5)
    assert small.data.base is not after.data.base  # 3 + 6 numbers do not fit a block of 8
    for p in (small, big, after):
        np.testing.assert_array_equal(p.grad, 0)
        p.grad[...] = 1
    opt = nbf.SGD([small, big, after], lr=0.5)
    opt.step()
    for p in (small, big, after):
        np.testing.assert_array_equal(p.data, 0.5)


def test_new_gradients_are_zero_even_next_to_written_ones():
    first = Parameter(np.ones(4))
    first.grad[...] = 7.0
    second = Parameter(np.ones(4))
    np.testing.assert_array_equal(second.grad, 0)


def test_the_step_guard_undoes_a_step_on_a_parameter_given_a_new_array():
    model = mlp()
    named = model.named_parameters()
    params = [p for _, p in named]
    opt = nbf.SGD(params, lr=0.1)
    guard = _StepGuard(model, named, params)
    w = model[0].weight
    w.data = w.data.copy()
    guard.begin_epoch(opt)  # as fit does, before each epoch
    before = [p.data.copy() for p in params]
    set_grads(model, 0)
    w.grad[0, 0] = np.nan
    with pytest.raises(nbf.NonFiniteError, match="'0.weight'"):
        guard.step(opt, model, 1, 1, 1)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)


class _Replace(nbf.Callback):
    """Between epochs, give the first weight a new array, or Adam's first moment a new buffer."""

    def __init__(self, opt, what):
        self.opt, self.what = opt, what

    def on_epoch_end(self, epoch, logs, model):
        if self.what == "data":
            model[0].weight.data = model[0].weight.data.copy()
        else:
            self.opt.state[0]["exp_avg"] = self.opt.state[0]["exp_avg"].copy()


@pytest.mark.parametrize("what", ["data", "state"])
def test_fit_follows_new_arrays_a_callback_gives_between_epochs(what):
    # fit checks the optimizer's arrays once per epoch: a callback's change is seen by the next.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    runs = []
    for callbacks in ([], ["replace"]):
        model = mlp()
        opt = nbf.Adam(model.parameters(), lr=0.01)
        nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=8, shuffle=False,
                progress=False, callbacks=[_Replace(opt, what) for _ in callbacks])
        runs.append(model)
    for p, q in zip(*(m.parameters() for m in runs)):
        np.testing.assert_array_equal(p.data, q.data)  # same training, new arrays or not


class _ReplacesInForward(nbf.Module):
    def __init__(self):
        super().__init__()
        self.inner = nbf.Linear(3, 2, rng=0)

    def forward(self, x):
        self.inner.weight.data = self.inner.weight.data.copy()  # a new array at every batch
        return self.inner(x)

    def backward(self, grad_output):
        return self.inner.backward(grad_output)


def test_fit_refuses_an_epoch_in_which_a_parameter_got_a_new_array():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    model = _ReplacesInForward()
    with pytest.raises(nbf.ParameterError, match="'inner.weight' was given a new array during epoch 1"):
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                epochs=2, batch_size=8, progress=False)


def test_the_end_of_an_epoch_names_a_buffer_replaced_during_it():
    model = mlp()
    named = model.named_parameters()
    opt = nbf.Adam(model.parameters(), lr=0.01)
    set_grads(model, 0)
    opt.step()
    guard = _StepGuard(model, named, model.parameters())
    guard.begin_epoch(opt)
    guard.end_epoch(opt, 1)  # nothing changed: no error
    opt.state[2]["exp_avg_sq"] = opt.state[2]["exp_avg_sq"].copy()
    with pytest.raises(nbf.ParameterError, match="a buffer in optimizer.state .* epoch 2"):
        guard.end_epoch(opt, 2)


def test_a_large_parameter_is_freed_with_it(monkeypatch):
    # The blocks must not keep a deleted model's memory: a large parameter owns its arrays.
    monkeypatch.setattr(_blocks, "BLOCK", 8)
    big = Parameter(np.ones(100))
    owner = big.data if big.data.base is None else big.data.base  # the array owning the memory
    freed = weakref.ref(owner)
    del owner
    del big
    gc.collect()
    assert freed() is None
