"""The NaN stop's check of the optimizer's step: ``Optimizer._step(finite=True)``.

``fit`` asks the package's optimizers to check the step ``delta`` before applying it (one
``vdot``, chapter 13) and checks any other optimizer after its ``step``, from a copy. Either
way a step that would make a weight NaN or inf is refused and leaves every weight unchanged;
a huge step that stays finite is taken.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_flat_groups import IDS, OPTIMIZERS, mlp, set_grads

import nbfromscratch as nbf
from nbfromscratch.optim.base import NonFiniteStep


def weights(model: nbf.Module) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def assert_unchanged(model: nbf.Module, before: list[np.ndarray]) -> None:
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


@pytest.mark.parametrize(("cls", "kwargs"), OPTIMIZERS, ids=IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_step_from_a_non_finite_gradient_is_refused_and_changes_no_weight(cls, kwargs, bad):
    model = mlp()
    opt = cls(model.parameters(), **kwargs)
    set_grads(model, 0)
    opt._step(finite=True)  # a normal step first: the buffers exist
    set_grads(model, 1)
    model[2].bias.grad[1] = bad
    before = weights(model)
    with pytest.raises(NonFiniteStep) as refused, np.errstate(all="ignore"):  # as in fit
        opt._step(finite=True)
    assert_unchanged(model, before)
    assert refused.value.first_bad() is model[2].bias


@pytest.mark.parametrize(("cls", "kwargs"), OPTIMIZERS, ids=IDS)
def test_the_checked_step_is_the_step(cls, kwargs):
    plain, checked = mlp(), mlp()
    opts = [cls(m.parameters(), **kwargs) for m in (plain, checked)]
    for t in range(3):
        for m in (plain, checked):
            set_grads(m, t)
        opts[0].step()
        opts[1]._step(finite=True)
    for p, q in zip(plain.parameters(), checked.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_a_finite_step_that_overflows_a_weight_is_refused():
    p = nbf.Parameter(np.array([1e308, 1.0]))
    opt = nbf.SGD([p], lr=1e308)
    p.grad[...] = [-1.0, 0.0]  # delta = -1e308: finite, but 1e308 - delta overflows
    with pytest.raises(NonFiniteStep):
        opt._step(finite=True)
    np.testing.assert_array_equal(p.data, [1e308, 1.0])


def test_a_huge_finite_step_that_stays_finite_is_taken():
    # sum(delta^2) overflows, so the quick check cannot vouch for it: tried out on a copy.
    p = nbf.Parameter(np.zeros(2))
    opt = nbf.SGD([p], lr=1e300)
    p.grad[...] = [-1.0, 1.0]
    opt._step(finite=True)
    np.testing.assert_array_equal(p.data, [1e300, -1e300])


def test_adamw_decay_that_grows_the_weights_is_tried_out_on_a_copy():
    # lr * weight_decay = 4: the decay multiplies the weights by -3 and can overflow them.
    p = nbf.Parameter(np.array([1e308, 1.0]))
    opt = nbf.AdamW([p], lr=2.0, weight_decay=2.0)
    p.grad[...] = [0.0, 0.0]
    with pytest.raises(NonFiniteStep):
        opt._step(finite=True)
    np.testing.assert_array_equal(p.data, [1e308, 1.0])


class HalvingSGD(nbf.SGD):
    """An optimizer with a step of its own: fit checks the weights after it, from a copy."""

    def step(self) -> None:
        super().step()
        for p in self.params:
            p.data *= 0.5


def test_fit_refuses_a_bad_step_of_an_optimizer_with_its_own_step_too():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    model = mlp().to(np.float32)
    opt = HalvingSGD(model.parameters(), lr=1e39)  # lr * grad overflows float32
    before = weights(model)
    with pytest.raises(nbf.NonFiniteError, match="the update overflowed") as error:
        nbf.fit(model, nbf.MSELoss(), opt, X, y, epochs=1, progress=False)
    assert "batch 1 of 2" in str(error.value)
    assert_unchanged(model, before)


class InfiniteGradientLoss(nbf.MSELoss):
    """A finite loss whose hand-written gradient is infinite."""

    def backward(self) -> np.ndarray:
        grad = super().backward()
        return grad / np.zeros_like(grad)


@pytest.mark.parametrize("own_step", [False, True])
def test_fit_names_the_gradient_that_is_not_finite(own_step):
    X, y = np.ones((4, 3)), np.ones((4, 2))
    model = mlp()
    opt = (HalvingSGD if own_step else nbf.SGD)(model.parameters(), lr=0.1)
    before = weights(model)
    with pytest.raises(nbf.NonFiniteError, match="gradient of parameter '0.weight'"):
        nbf.fit(model, InfiniteGradientLoss(), opt, X, y, epochs=1, progress=False)
    assert_unchanged(model, before)


# -- the layers' checks run once per batch size in fit ------------------------------------


class ChangesDtypeAtSize3(nbf.Module):
    """A layer of one's own that goes wrong on batches of 3 samples only."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32) if len(x) == 3 else x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output


def test_fit_checks_the_first_batch_of_every_size():
    # 35 samples in batches of 32: the last batch (3 samples) is a new size, checked again.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((35, 3)), rng.integers(0, 2, 35)
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0), ChangesDtypeAtSize3(), nbf.Linear(4, 2, rng=1))
    opt = nbf.SGD(model.parameters(), lr=0.1)
    with pytest.raises(nbf.DTypeError, match="input has dtype float32"):
        nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=32,
                shuffle=False, progress=False)


def test_fit_does_not_even_call_the_checks_of_a_batch_size_it_has_seen(monkeypatch):
    # On a small batch the call of a check costs as much as its work: the layers skip both.
    import nbfromscratch.layers.linear as linear

    calls = []
    for name in ("check_layer_input", "check_grad_output"):
        real = getattr(linear, name)
        monkeypatch.setattr(linear, name, lambda *a, real=real, name=name: calls.append(name) or real(*a))
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((35, 3)), rng.integers(0, 2, 35)
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0), nbf.ReLU(), nbf.Linear(4, 2, rng=1))
    nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y, epochs=3,
            batch_size=16, shuffle=False, progress=False)
    # Batches of 16, 16, 3 for three epochs: checked once for 16 and once for 3 (and fit's
    # probe of one row, forward only), by each of the two Linear layers.
    assert calls.count("check_grad_output") == 2 * 2
    assert calls.count("check_layer_input") == 2 * 2 + 2


def test_after_fit_every_check_runs_again_even_after_an_error():
    from nbfromscratch.layers._checks import seen

    class InfiniteFromTheThirdBatch(InfiniteGradientLoss):
        calls = 0

        def backward(self) -> np.ndarray:
            self.calls += 1
            return super().backward() if self.calls >= 3 else nbf.MSELoss.backward(self)

    X, y = np.ones((8, 3)), np.ones((8, 2))
    model = mlp()
    with pytest.raises(nbf.NonFiniteError, match="epoch 2, batch 1"):  # a batch run unchecked
        nbf.fit(model, InfiniteFromTheThirdBatch(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                epochs=2, batch_size=4, progress=False)
    assert not seen.on
    with pytest.raises(nbf.ShapeError):
        model(np.ones((4, 5)))
