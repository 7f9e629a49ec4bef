"""Reliability, second pass: each class of silent failure closed, with a test per member.

Shared modules and parameters, optimizer steps that overflow, optimizers that do not own
the model, metrics for multi-output and mismatched labels, one rule for NaN at every
boundary, determinism with dropout, clear errors for the wrong kinds of object, and no
data kept in a model after predictions. The hypothesis-driven attacks on the same classes
are in ``test_fuzz_reliability.py``.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch import F
from nbfromscratch.exceptions import (
    ArgumentTypeError,
    BackwardBeforeForwardError,
    DTypeError,
    LabelError,
    NBFSError,
    NonFiniteError,
    ParameterError,
    ShapeError,
)
from nbfromscratch.layers.module import MAX_PENDING


def data(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] > 0).astype(np.int64)


def numeric_grad(f, x, eps=1e-6):
    """Central differences written here, independent of nbfromscratch.gradcheck."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


# -- 1. a module used twice ------------------------------------------------------------------------
def test_a_linear_used_twice_gets_the_sum_of_both_uses_gradients():
    rng = np.random.default_rng(1)
    lin = nbf.Linear(3, 3, rng=0)
    model = nbf.Sequential(lin, nbf.Tanh(), lin)
    x, r = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss = lambda: float(np.sum(model(x) * r))  # noqa: E731
    model.zero_grad()
    model(x)
    dx = model.backward(r)
    # By hand: y = tanh(x W + b) W + b, so dW gets one term from each use.
    W = lin.weight.data
    h = np.tanh(x @ W + lin.bias.data)
    dh = r @ W.T * (1 - h * h)
    np.testing.assert_allclose(lin.weight.grad, h.T @ r + x.T @ dh, rtol=1e-12)
    np.testing.assert_allclose(lin.bias.grad, r.sum(0) + dh.sum(0), rtol=1e-12)
    grads = [lin.weight.grad.copy(), lin.bias.grad.copy()]
    for p, g in zip(model.parameters(), grads):
        assert np.max(np.abs(numeric_grad(loss, p.data) - g)) < 1e-7
    assert np.max(np.abs(numeric_grad(loss, x) - dx)) < 1e-7


def test_a_shared_block_inside_nested_containers_and_backward_params():
    block = nbf.Sequential(nbf.Linear(2, 2, rng=0), nbf.Sigmoid())
    model = nbf.Sequential(block, nbf.Sequential(block, nbf.Linear(2, 2, rng=1)), block)
    x = np.random.default_rng(2).normal(size=(4, 2))
    assert nbf.check_gradients(model, x).ok
    g = np.ones((4, 2))
    model.zero_grad()
    model(x)
    model.backward(g)
    full = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    model.backward_params(g)
    for a, b in zip(full, (p.grad for p in model.parameters())):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_each_parameter_is_listed_once_under_its_first_name():
    lin = nbf.Linear(3, 3, rng=0)
    model = nbf.Sequential(lin, nbf.Tanh(), lin, nbf.Linear(3, 1, rng=1))
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert len({id(p) for p in model.parameters()}) == len(model.parameters()) == 4
    assert list(model.state_dict()) == names
    model.load_state_dict(model.state_dict())  # the same keys both ways
    assert len(model.children()) == 3  # the shared layer is one child


def test_tied_parameters_in_a_custom_module_are_listed_once():
    class Tied(nbf.Module):
        def __init__(self):
            super().__init__()
            self.enc = nbf.Linear(2, 2, rng=0)
            self.alias = self.enc.weight  # the same Parameter under a second name

        def forward(self, x):
            return self.enc(x)

        def backward(self, g):
            return self.enc.backward(g)

    assert [n for n, _ in Tied().named_parameters()] == ["enc.weight", "enc.bias"]


def test_every_optimizer_steps_a_shared_parameter_once():
    lin = nbf.Linear(2, 2, rng=0)
    model = nbf.Sequential(lin, nbf.ReLU(), lin)
    before = lin.weight.data.copy()
    opt = nbf.SGD(model.parameters(), lr=0.5)
    lin.weight.grad[...] = 1.0
    lin.bias.grad[...] = 0.0
    opt.step()
    np.testing.assert_array_equal(lin.weight.data, before - 0.5)


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_a_parameter_passed_twice_to_an_optimizer_is_refused(name):
    lin = nbf.Linear(2, 2)
    with pytest.raises(ParameterError, match=r"params\[2\] is the same Parameter as params\[0\]"):
        nbf.get_optimizer(name, [lin.weight, lin.bias, lin.weight])


def test_backward_once_more_than_forward_is_refused():
    layer = nbf.Linear(2, 2, rng=0)
    x, g = np.ones((3, 2)), np.ones((3, 2))
    layer(x)
    layer.backward(g)
    with pytest.raises(BackwardBeforeForwardError, match="once more than forward"):
        layer.backward(g)


def test_forward_passes_without_backward_keep_a_bounded_number_of_inputs():
    layer = nbf.ReLU()
    for _ in range(3 * MAX_PENDING):
        layer(np.ones((2, 2)))
    assert len(layer._saved) == MAX_PENDING
    # the latest forward is the one backward uses
    layer(np.array([[-1.0, 2.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2))), [[0.0, 1.0]])


# -- 8. no data left in a model ----------------------------------------------------------------
def arrays_held(obj, seen=None):
    """Every ndarray reachable from obj's attributes (lists, tuples, dicts, modules)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in arrays_held(v, seen)]
    if isinstance(obj, dict):
        return [a for v in obj.values() for a in arrays_held(v, seen)]
    if isinstance(obj, nbf.Parameter):
        return [obj.data, obj._grad]
    if hasattr(obj, "__dict__"):
        return arrays_held(vars(obj), seen)
    return []


def all_layers():
    return nbf.Sequential(nbf.Linear(3, 8, rng=0), nbf.ReLU(), nbf.Dropout(0.5, rng=0),
                          nbf.LeakyReLU(), nbf.Linear(8, 8, rng=1), nbf.Sigmoid(), nbf.Tanh(),
                          nbf.Identity(), nbf.Linear(8, 2, rng=2), nbf.Softmax())


@pytest.mark.parametrize("use", ["predict", "evaluate", "fit", "eval-forward", "train-eval"])
def test_a_model_holds_no_array_of_the_data_after_use(use):
    X, y = data(n=500)
    model = all_layers()
    if use == "predict":
        nbf.predict(model, X)
    elif use == "evaluate":
        nbf.evaluate(model, nbf.CrossEntropyLoss(), X, y)
    elif use == "fit":
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters()), X, y,
                epochs=1, batch_size=500, validation_data=(X, y), progress=False)
    elif use == "eval-forward":
        model.eval()(X)
    else:
        model(X)  # a training-mode forward without its backward...
        model.eval()  # ... is dropped by eval()
    sizes = [a.shape[0] for a in arrays_held(model) if a.ndim]
    assert all(s < len(X) for s in sizes), sizes


def test_pickles_and_copies_never_carry_the_last_batch():
    X, _ = data(n=2000)
    model = all_layers()
    empty = len(pickle.dumps(model))
    model(X)  # training mode: saved for a backward pass (and Dropout's rng has moved on)
    assert len(pickle.dumps(model)) < empty + 64
    assert not any(a.shape[0] == len(X) for a in arrays_held(copy.deepcopy(model)) if a.ndim)
    clone = pickle.loads(pickle.dumps(model))
    clone(X[:4])
    clone.backward(np.ones((4, 2)))  # a restored model still trains


def test_check_gradients_leaves_nothing_saved_and_works_in_eval_mode():
    model = nbf.Sequential(nbf.Linear(2, 3, rng=0), nbf.Dropout(0.5, rng=0), nbf.Tanh()).eval()
    assert nbf.check_gradients(model, np.ones((2, 2))).ok
    assert not any(getattr(m, "_saved", []) for m in [model, *model])


# -- 2. optimizer steps that overflow, hyperparameters out of range ------------------------------
@pytest.mark.parametrize("opt", [
    # Normalised updates of about lr per weight: beyond float32's 3.4e38 from the first step.
    lambda ps: nbf.Adam(ps, lr=1e39),
    lambda ps: nbf.RMSprop(ps, lr=1e39),
    lambda ps: nbf.Adagrad(ps, lr=1e39),
    lambda ps: nbf.AdamW(ps, lr=1e30, weight_decay=1e10),
], ids=["Adam", "RMSprop", "Adagrad", "AdamW"])
@pytest.mark.parametrize("n_batches", [1, 3])
def test_a_step_that_overflows_is_undone_on_every_batch_even_the_last(opt, n_batches):
    X, y = data(n=12)
    X = X.astype(np.float32)
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0, dtype=np.float32), nbf.ReLU(),
                           nbf.Linear(4, 2, rng=1, dtype=np.float32))
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(NonFiniteError, match="batch 1 of") as info:
        nbf.fit(model, nbf.CrossEntropyLoss(), opt(model.parameters()), X, y,
                epochs=2, batch_size=12 // n_batches, shuffle=False, progress=False)
    assert "optimizer step made parameter" in str(info.value)
    for a, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(a, p.data)


class ExplodesAtStep(nbf.SGD):
    """SGD whose update overflows the weights at one given step (finite gradients)."""

    def __init__(self, params, at, **kw):
        super().__init__(params, **kw)
        self.at, self.calls, self.good = at, 0, None

    def step(self):
        super().step()
        self.calls += 1
        if self.calls == self.at:
            for p in self.params:
                p.data *= 1e300
                p.data *= 1e300
        else:
            self.good = [p.data.copy() for p in self.params]


@pytest.mark.parametrize("at, where", [(3, "epoch 1, batch 3 of 3"), (6, "epoch 2, batch 3 of 3"),
                                       (4, "epoch 2, batch 1 of 3")])
def test_an_overflow_on_any_batch_even_the_very_last_is_caught_and_undone(at, where):
    X, y = data(n=12)
    model = nbf.Sequential(nbf.Linear(3, 2, rng=0))
    opt = ExplodesAtStep(model.parameters(), at=at, lr=0.01)
    with pytest.raises(NonFiniteError, match=f"optimizer step made parameter .* at {where}"):
        nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=4,
                shuffle=False, progress=False)
    for good, p in zip(opt.good, model.parameters()):
        np.testing.assert_array_equal(good, p.data)


@pytest.mark.parametrize("make, message", [
    (lambda ps: nbf.RMSprop(ps, alpha=2.0), r"RMSprop: alpha must be a number in \[0, 1\]"),
    (lambda ps: nbf.RMSprop(ps, alpha=-0.1), "RMSprop: alpha"),
    (lambda ps: nbf.Adam(ps, betas=(1.0, 0.9)), r"Adam: betas\[0\] must be a number in \[0, 1\)"),
    (lambda ps: nbf.AdamW(ps, betas=(0.9, float("nan"))), r"AdamW: betas\[1\]"),
    (lambda ps: nbf.Adam(ps, eps=-1e-8), "Adam: eps must be a finite number >= 0"),
    (lambda ps: nbf.SGD(ps, momentum=-0.9), "SGD: momentum"),
    (lambda ps: nbf.SGD(ps, dampening=1.5), r"SGD: dampening must be a number in \[0, 1\]"),
    (lambda ps: nbf.SGD(ps, weight_decay=-1), "SGD: weight_decay"),
    (lambda ps: nbf.Adagrad(ps, lr=float("inf")), "Adagrad: lr"),
    (lambda ps: nbf.Adagrad(ps, lr_decay=-1), "Adagrad: lr_decay"),
    (lambda ps: nbf.RMSprop(ps, lr=-1e-3), "RMSprop: lr"),
])
def test_hyperparameters_outside_their_range_are_refused_at_construction(make, message):
    with pytest.raises(ParameterError, match=message):
        make(nbf.Linear(2, 2).parameters())


# -- 3. an optimizer that does not own the model --------------------------------------------------
def test_fit_refuses_an_optimizer_built_on_another_model():
    X, y = data()
    model, other = nbf.Linear(3, 2, rng=0), nbf.Linear(3, 2, rng=1)
    with pytest.raises(ArgumentTypeError, match="holds none of the model's parameters"):
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(other.parameters()), X, y, progress=False)


def test_fit_refuses_an_optimizer_holding_some_foreign_parameters():
    X, y = data()
    model, other = nbf.Linear(3, 2, rng=0), nbf.Linear(3, 2, rng=1)
    opt = nbf.SGD(model.parameters() + other.parameters())
    with pytest.raises(ParameterError, match=r"2 of the optimizer's 4 parameters are not"):
        nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, progress=False)


def test_fit_trains_only_the_parameters_the_optimizer_holds():
    X, y = data()
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0), nbf.ReLU(), nbf.Linear(4, 2, rng=1))
    frozen = model[0].weight.data.copy()
    nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model[2].parameters(), lr=0.1), X, y,
            epochs=2, progress=False)
    np.testing.assert_array_equal(model[0].weight.data, frozen)


# -- 4. metrics -----------------------------------------------------------------------------------
def test_multi_output_bce_accuracy_thresholds_each_output():
    X, _ = data()
    Y = (X > 0).astype(float)  # three independent yes/no targets
    layer = nbf.Linear(3, 3, rng=0)
    layer.weight.data[...] = 10 * np.eye(3)
    layer.bias.data[...] = 0
    assert nbf.evaluate(layer, nbf.BCEWithLogitsLoss(), X, Y)["accuracy"] == 1.0
    layer.weight.data[:, 0] *= -1  # output 0 now always wrong: 2 of 3 right
    scores = nbf.evaluate(layer, nbf.BCEWithLogitsLoss(), X, Y)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    history = nbf.fit(layer, nbf.BCEWithLogitsLoss(), nbf.SGD(layer.parameters(), lr=0.0),
                      X, Y, epochs=1, validation_data=(X, Y), progress=False)
    assert history["accuracy"].iloc[0] == pytest.approx(2 / 3)
    assert history["val_accuracy"].iloc[0] == pytest.approx(2 / 3)


@pytest.mark.parametrize("y_true, y_pred", [
    (np.array(["a", "b"]), np.array([0, 1])),
    (np.array([0, 1]), np.array(["0", "1"])),
    (np.array(["a", "b"], dtype=object), np.array([0.0, 1.0])),
])
def test_accuracy_refuses_labels_of_another_type(y_true, y_pred):
    with pytest.raises(LabelError, match="can never match"):
        nbf.accuracy(y_true, y_pred)


def test_an_estimator_scored_on_labels_of_another_type_raises():
    X, y = data()
    clf = nbf.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(LabelError):
        clf.score(X, np.where(y == 1, "yes", "no"))


def test_np_matrix_is_treated_as_a_plain_array_or_refused():
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        scores = np.matrix([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
        row = np.matrix([[1, 0, 1]])
        one, X_matrix = np.asmatrix(np.ones((1, 2))), np.asmatrix(X)
    assert nbf.accuracy([1, 0, 0], scores) == pytest.approx(2 / 3)
    with pytest.raises(ShapeError):
        nbf.accuracy(row, [1, 0, 1])
    with pytest.raises(DTypeError, match="got matrix"):
        nbf.Linear(2, 2)(one)
    model = nbf.Linear(3, 2, rng=0)
    nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters()), X_matrix, y,
            epochs=1, progress=False)


def test_masked_arrays_are_refused():
    with pytest.raises(ArgumentTypeError, match="masked array"):
        nbf.accuracy(np.ma.array([0, 1], mask=[0, 1]), [0, 1])


# -- 5. one rule at every boundary ------------------------------------------------------------------
@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("call", ["fit", "evaluate"])
def test_nan_in_data_raises_the_same_error_in_fit_and_evaluate(where, call):
    X, _ = data()
    y = np.zeros((len(X), 2))
    (X if where == "X" else y)[5, 1] = np.nan
    model = nbf.Linear(3, 2, rng=0)
    with pytest.raises(NonFiniteError, match=rf"^{where} contains 1 NaN/inf value\(s\)"):
        if call == "fit":
            nbf.fit(model, nbf.MSELoss(), nbf.SGD(model.parameters()), X, y, progress=False)
        else:
            nbf.evaluate(model, nbf.MSELoss(), X, y)


def test_a_diverged_model_raises_in_evaluate_and_predict_without_numpy_warnings():
    X, _ = data()
    model = nbf.Linear(3, 2, rng=0)
    model.weight.data[...] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteError, match="evaluate: the loss is"):
            nbf.evaluate(model, nbf.MSELoss(), X, np.zeros((len(X), 2)))
        with pytest.raises(NonFiniteError, match="predict: the outputs hold NaN/inf"):
            nbf.predict(model, X)


def test_a_failed_fit_leaves_no_batch_in_the_model():
    X, _ = data(n=64)
    model = nbf.Sequential(nbf.Linear(3, 8, rng=0), nbf.ReLU(), nbf.Linear(8, 1, rng=1))
    with pytest.raises(NonFiniteError):
        nbf.fit(model, nbf.MSELoss(), nbf.SGD(model.parameters(), lr=1e30), X, X[:, :1],
                epochs=5, batch_size=8, progress=False)
    assert not any(m._saved for m in [model, *model])


def test_fit_refuses_to_start_from_non_finite_weights():
    X, y = data()
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0), nbf.ReLU(), nbf.Linear(4, 2, rng=1))
    model[0].weight.data[0, 0] = -np.inf  # masked by the ReLU: the loss alone would not see it
    with pytest.raises(NonFiniteError, match=r"parameter '0.weight' .* before training starts"):
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters()), X, y, progress=False)


def test_a_diverging_run_blames_the_outputs_not_the_targets():
    X, _ = data()
    model = nbf.Linear(3, 1, rng=0)
    model.weight.data[...] = 1e200  # outputs ~1e200, targets ~1: the square overflows
    with pytest.raises(NonFiniteError) as info:
        nbf.evaluate(model, nbf.MSELoss(), X, np.ones(len(X)))
    message = str(info.value)
    assert "diverged" in message and "targets" not in message
    model.weight.data[...] = 1.0
    with pytest.raises(NonFiniteError, match="the targets reach 1e\\+200: rescale them"):
        nbf.evaluate(model, nbf.MSELoss(), X, np.full(len(X), 1e200))


# -- 6. determinism ----------------------------------------------------------------------------------
def dropout_run(seed, model_seed=0):
    X, y = data()
    model = nbf.Sequential(nbf.Linear(3, 16, rng=model_seed), nbf.ReLU(), nbf.Dropout(0.5),
                           nbf.Linear(16, 2, rng=model_seed + 1), nbf.Dropout(0.2))
    nbf.fit(model, nbf.CrossEntropyLoss(), nbf.Adam(model.parameters(), lr=1e-2), X, y,
            epochs=3, batch_size=16, rng=seed, progress=False)
    return [p.data for p in model.parameters()]


def test_the_same_fit_seed_gives_the_same_weights_with_unseeded_dropout():
    for a, b in zip(dropout_run(0), dropout_run(0)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(dropout_run(0), dropout_run(1)))


def test_unseeded_dropout_does_not_change_the_shuffling():
    # spawn() derives the dropout streams without drawing from fit's generator.
    X, y = data()
    seen = []

    class Spy(nbf.Identity):
        def forward(self, x):
            seen.append(x.copy())
            return super().forward(x)

    for layers in ([], [nbf.Dropout(0.0)]):
        model = nbf.Sequential(Spy(), nbf.Linear(3, 2, rng=0), *layers)
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.0), X, y,
                epochs=1, batch_size=16, rng=5, progress=False)
    half = len(seen) // 2
    for a, b in zip(seen[:half], seen[half:]):
        np.testing.assert_array_equal(a, b)


def test_unseeded_dropout_with_a_generator_that_cannot_spawn():
    X, y = data()
    weights = []
    for _ in range(2):
        model = nbf.Sequential(nbf.Linear(3, 2, rng=0), nbf.Dropout(0.5))
        gen = np.random.Generator(np.random.Philox(key=3))  # its seed sequence cannot spawn
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters()), X, y, epochs=1,
                rng=gen, progress=False)
        weights.append(model[0].weight.data)
    np.testing.assert_array_equal(*weights)


def test_softmax_jacobian_refuses_sizes_that_do_not_fit_in_memory():
    with pytest.raises(ShapeError, match="use softmax_vjp"):
        F.softmax_jacobian(np.zeros((10, 100_000)))


def test_dropout_with_its_own_rng_keeps_it():
    gen = np.random.default_rng(3)
    layer = nbf.Dropout(0.5, rng=gen)
    model = nbf.Sequential(nbf.Linear(3, 2, rng=0), layer)
    X, y = data()
    nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters()), X, y, epochs=1,
            rng=0, progress=False)
    assert layer.rng is gen


# -- 7. the wrong kind of object -------------------------------------------------------------------
def fit_with(**kw):
    X, y = data()
    model = nbf.Linear(3, 2, rng=0)
    args = dict(model=model, loss_fn=nbf.CrossEntropyLoss(), optimizer=nbf.SGD(model.parameters()),
                X=X, y=y, progress=False, epochs=1)
    args.update(kw)
    return nbf.fit(args.pop("model"), args.pop("loss_fn"), args.pop("optimizer"),
                   args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize("kw, message", [
    ({"loss_fn": nbf.CrossEntropyLoss}, r"loss_fn must be .* got the class CrossEntropyLoss"),
    ({"loss_fn": None}, "loss_fn must be"),
    ({"optimizer": nbf.Adam}, r"optimizer must be .* got the class Adam"),
    ({"optimizer": None}, "optimizer must be"),
    ({"optimizer": nbf.Linear(3, 2).parameters()}, "optimizer must be"),
    ({"model": nbf.Linear}, r"model must be a Module, got the class Linear"),
    ({"callbacks": print}, r"wrap a single one in a list"),
    ({"callbacks": "abc"}, "callbacks must be a list"),
    ({"callbacks": [None]}, r"callbacks\[0\] must be a function"),
    ({"validation_data": np.zeros(3)}, "validation_data must be a pair"),
])
def test_fit_names_the_argument_of_the_wrong_kind(kw, message):
    with pytest.raises(ArgumentTypeError, match=message):
        fit_with(**kw)


@pytest.mark.parametrize("params, message", [
    (lambda m: m.parameters, "call it"),
    (lambda m: None, "got NoneType"),
    (lambda m: m, "not the model itself"),
    (lambda m: m.weight, "not a single Parameter"),
    (lambda m: m.named_parameters(), "not named_parameters"),
    (lambda m: m.state_dict(), "got dict"),
    (lambda m: nbf.Linear, "not its result"),
])
def test_optimizers_name_what_was_passed_instead_of_parameters(params, message):
    with pytest.raises(ArgumentTypeError, match=message):
        nbf.Adam(params(nbf.Linear(2, 2)))


def test_callbacks_none_is_no_callbacks_and_any_true_value_stops():
    assert len(fit_with(callbacks=None, epochs=2)) == 2
    assert len(fit_with(callbacks=[lambda e, logs: np.bool_(e == 2)], epochs=5)) == 2
    seen = []
    fit_with(callbacks=[lambda e, logs: 1, lambda e, logs: seen.append(e)], epochs=5)
    assert seen == [1]  # the second callback still saw the epoch that stopped training


@pytest.mark.parametrize("validation, message", [
    (lambda X, y: (X[:, :2], y), r"X_val: does not fit the model .*expected input of shape \(n, 3\)"),
    (lambda X, y: (X, np.zeros((len(X), 3))), r"y_val: has shape \(64, 3\)"),
    (lambda X, y: (X, y + 5), r"y_val: labels must be in 0..1"),
])
def test_bad_validation_data_is_refused_before_the_first_epoch(validation, message):
    X, y = data()
    model = nbf.Linear(3, 2, rng=0)
    before = model.weight.data.copy()
    with pytest.raises((ShapeError, LabelError), match=message):
        fit_with(model=model, optimizer=nbf.SGD(model.parameters()),
                 validation_data=validation(X, y))
    np.testing.assert_array_equal(model.weight.data, before)


def test_regression_targets_of_the_wrong_width_are_refused_naming_y():
    X, _ = data()
    model = nbf.Linear(3, 2, rng=0)
    with pytest.raises(ShapeError, match=r"^y: has shape \(64,\)"):
        nbf.fit(model, nbf.MSELoss(), nbf.SGD(model.parameters()), X, np.zeros(len(X)),
                progress=False)


@pytest.mark.parametrize("call, error, message", [
    (lambda: nbf.check_gradients(nbf.Linear(2, 2), np.ones((2, 2)), eps=0), ParameterError, "eps"),
    (lambda: nbf.check_gradients(nbf.Linear(2, 2), np.ones((2, 2)), tol=-1), ParameterError, "tol"),
    (lambda: nbf.check_gradients(nbf.Linear, np.ones((2, 2))), ArgumentTypeError, "a class"),
    (lambda: nbf.numerical_gradient(lambda x: 0.0, np.ones(2), eps=float("nan")), ParameterError, "eps"),
    (lambda: nbf.numerical_gradient(None, np.ones(2)), ArgumentTypeError, "f must be a function"),
])
def test_gradient_checks_validate_their_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numerical_gradient_refuses_a_read_only_x():
    x = np.ones(3)
    x.flags.writeable = False
    with pytest.raises(ArgumentTypeError, match="read-only"):
        nbf.numerical_gradient(lambda v: float(v.sum()), x)


@pytest.mark.parametrize("call", [
    lambda: nbf.Adam(nbf.Linear(2, 2).parameters(), lr=10**400),
    lambda: nbf.SGD(nbf.Linear(2, 2).parameters(), momentum=-10**400),
    lambda: nbf.Adam(nbf.Linear(2, 2).parameters(), betas=(10**400, 0.9)),
    lambda: nbf.check_gradients(nbf.Linear(2, 2), np.ones((2, 2)), eps=10**400),
    lambda: nbf.Dropout(10**400),
    lambda: nbf.LeakyReLU(10**400),
    lambda: nbf.Linear(10**400, 2),
])
def test_integers_beyond_the_float_range_are_refused_with_a_short_message(call):
    with pytest.raises(NBFSError) as info:
        call()
    assert len(str(info.value)) < 300


def test_deep_nesting_and_cycles_do_not_recurse_forever():
    model = nbf.Linear(2, 2, rng=0)
    for _ in range(3000):  # deeper than Python's recursion limit
        model = nbf.Sequential(model)
    assert len(list(model.modules())) == 3001
    model.eval().train()

    class Child(nbf.Module):
        pass

    parent = nbf.Sequential(nbf.Linear(2, 2))
    child = Child()
    parent.append(child)
    child.parent = parent  # a reference back up the tree, set afterwards
    assert len(parent.parameters()) == 2 and len(list(parent.modules())) == 3
    parent.eval()
    with pytest.raises(ArgumentTypeError, match="inside itself"):
        inner = nbf.Sequential(nbf.ReLU())
        outer = nbf.Sequential(inner)
        inner.append(outer)


def test_numerical_gradient_names_a_function_that_returns_no_number():
    with pytest.raises(ArgumentTypeError, match="f must return a number, got str"):
        nbf.numerical_gradient(lambda x: "abc", np.ones(2))


def test_reported_as_blames_the_callers_option():
    from nbfromscratch._validation import reported_as

    names = {"Adam: weight_decay": "MLPClassifier: alpha", "Adam: betas[0]": "MLPClassifier: beta_1"}
    with pytest.raises(ParameterError, match=r"^MLPClassifier: alpha must be a finite number >= 0"):
        with reported_as(names):
            nbf.Adam(nbf.Linear(2, 2).parameters(), weight_decay=-1.0)
    with pytest.raises(ParameterError, match=r"^MLPClassifier: beta_1 must be a number in \[0, 1\)"):
        with reported_as(names):
            nbf.Adam(nbf.Linear(2, 2).parameters(), betas=(1.5, 0.9))
    with pytest.raises(ParameterError, match=r"^Adam: eps"):  # not renamed: reported as is
        with reported_as(names):
            nbf.Adam(nbf.Linear(2, 2).parameters(), eps=-1.0)


@pytest.mark.parametrize("dtype", ["float33", "half", object(), "i4,i4", np.int64, None])
def test_unknown_or_unsupported_dtypes_raise_dtype_error(dtype):
    with pytest.raises(DTypeError, match="float32 or float64"):
        nbf.Linear(2, 2, dtype=dtype)
    with pytest.raises(DTypeError, match="float32 or float64"):
        nbf.Linear(2, 2).to(dtype)


def test_a_layer_class_in_sequential_is_named_as_a_class():
    with pytest.raises(ArgumentTypeError, match=r"layer 1 is the class ReLU, not a layer"):
        nbf.Sequential(nbf.Linear(2, 2), nbf.ReLU, nbf.Linear(2, 2))


@pytest.mark.parametrize("sizes", [(10**6, 10**6), (10**5, 10**5), (2**31, 2)])
def test_huge_layers_are_refused_before_numpy_allocates(sizes):
    with pytest.raises(ParameterError, match="weights is more than"):
        nbf.Linear(*sizes)


# -- numerics near the float range ------------------------------------------------------------------
@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float64, 1e308),
                                        (np.float64, np.finfo(np.float64).max)])
def test_no_overflow_warnings_near_the_float_range(dtype, big):
    z = np.array([[big, -big, 0.0], [-big, -big, big], [big, big, big]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = F.softmax(z)
        np.testing.assert_allclose(s, [[1, 0, 0], [0, 0, 1], [1 / 3] * 3], rtol=1e-6)
        assert F.log_softmax(z)[0, 0] == 0 and F.logsumexp(z)[0] == z[0, 0]
        for target in (np.array([0, 2, 1]), np.eye(3, dtype=dtype)[[0, 2, 1]]):
            ce = nbf.CrossEntropyLoss()
            # rows 0 and 1 are certain and right; row 2 is a three-way tie: log(3) / 3
            assert ce(z, target) == pytest.approx(np.log(3) / 3, rel=1e-6)
            assert ce.backward().dtype == dtype
        bce = nbf.BCEWithLogitsLoss()
        bce(z, np.ones_like(z))
        nbf.MSELoss()(z, np.zeros_like(z))
        F.softmax_vjp(s, z)


def test_one_hot_cross_entropy_counts_zero_times_log_zero_as_zero():
    z = np.array([[1e308, -1e308]])
    assert nbf.CrossEntropyLoss()(z, np.array([[1.0, 0.0]])) == 0.0
    assert nbf.CrossEntropyLoss()(z, np.array([0])) == 0.0
