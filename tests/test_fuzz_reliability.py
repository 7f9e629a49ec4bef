"""Hypothesis attacks on the classes of issue #12, beyond the examples in test_reliability.py.

* random networks in which modules and blocks are reused: gradients agree with finite
  differences, each parameter is listed and stepped once;
* random wrong objects in every argument of ``fit``, ``evaluate``, ``predict`` and the
  optimizers: only the package's errors, raised before any weight changes;
* random hyperparameters: accepted exactly when in their documented range;
* random learning rates up to overflow: ``fit`` either ends with finite weights or raises
  ``NonFiniteError`` with finite weights, and never warns;
* random sequences of calls: a model in evaluation mode holds no array of the data's size;
* random label types: ``accuracy`` never silently compares strings with numbers.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbfromscratch as nbf
from nbfromscratch.exceptions import LabelError, NBFSError, NonFiniteError, ParameterError
from nbfromscratch.layers.module import release_saved

EXAMPLES = int(os.environ.get("NBFS_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=max(20, EXAMPLES // 4), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# -- reused modules ------------------------------------------------------------------------------
@st.composite
def shared_network(draw):
    """A Sequential over a small pool of width-k layers, drawn with repeats, maybe nested."""
    k = draw(st.integers(1, 3))
    pool = [nbf.Linear(k, k, rng=i) for i in range(draw(st.integers(1, 2)))]
    pool += [nbf.Tanh(), nbf.Sigmoid(), nbf.Identity(), nbf.LeakyReLU(0.3)]
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=6))
    layers = [pool[i] for i in picks]
    if draw(st.booleans()) and len(layers) > 1:  # a reused block inside the network
        block = nbf.Sequential(*layers[:2])
        layers = [block, *layers[2:], block]
    return nbf.Sequential(*layers, nbf.Linear(k, 2, rng=9)), k


@FUZZ
@given(net=shared_network(), seed=st.integers(0, 100))
def test_reused_modules_have_correct_gradients_and_unique_parameters(net, seed):
    model, k = net
    x = np.random.default_rng(seed).normal(size=(3, k))
    _assert_gradients_check(model, x, tol=1e-5)
    params = model.parameters()
    names = [n for n, _ in model.named_parameters()]
    assert len({id(p) for p in params}) == len(params) == len(set(names))
    assert list(model.state_dict()) == names
    # One SGD step moves each parameter exactly once: w - lr * grad.
    model.zero_grad()
    model(x)
    model.backward(np.ones((3, 2)))
    expected = [p.data - 0.1 * p.grad for p in params]
    nbf.SGD(params, lr=0.1).step()
    for e, p in zip(expected, params):
        np.testing.assert_array_equal(e, p.data)
    assert not any(getattr(m, "_saved", None) for m in _modules(model))


def _assert_gradients_check(model, x, tol):
    """``check_gradients`` passes, or fails only where finite differences cannot see ``tol``.

    A deep chain of 1-wide sigmoids can shrink a gradient to ~1e-6. Finite differences carry an
    absolute rounding noise of about ``u * sum|terms of f| / eps`` (chapter 12), ~2e-10 here,
    which is more than ``tol`` of such a gradient. There the test asks for agreement to within
    that noise: a real bug (a wrong factor, a missing term) is still of the gradient's own size.
    """
    eps = 1e-6
    result = nbf.check_gradients(model, x, eps=eps, tol=tol, rng=0)
    out = model(x)
    release_saved(model)  # no backward follows this forward
    proj = np.random.default_rng(0).standard_normal(out.shape)  # the R check_gradients draws
    noise = 10 * np.finfo(np.float64).eps * float(np.sum(np.abs(out * proj))) / eps
    for name, err in result.errors.items():
        diff = float(np.max(np.abs(result.analytic[name] - result.numeric[name])))
        assert err < tol or diff <= noise, (name, diff, noise, result)


def _modules(m):
    yield m
    for c in m.children():
        yield from _modules(c)


# -- wrong objects anywhere ------------------------------------------------------------------------
def wrong_things():
    lin = nbf.Linear(3, 2, rng=0)
    return st.sampled_from([
        None, 0, 1.5, "adam", b"x", True, [], [None], {}, {"a": 1}, (1, 2, 3),
        nbf.Linear, nbf.CrossEntropyLoss, nbf.Adam, lin, lin.weight, lin.parameters,
        lin.parameters(), lin.named_parameters(), lin.state_dict(), print, lambda *a: None,
        np.zeros(3), np.zeros((2, 2)), object(), iter([1, 2]), nbf.MSELoss, nbf.fit,
    ])


ARGUMENTS = ["model", "loss_fn", "optimizer", "X", "y", "validation_data", "callbacks",
             "epochs", "batch_size", "rng", "early_stopping", "min_delta"]


@FUZZ
@given(which=st.lists(st.sampled_from(ARGUMENTS), min_size=1, max_size=3, unique=True),
       data=st.data())
def test_fit_with_wrong_objects_raises_package_errors_before_any_update(which, data):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    model = nbf.Linear(3, 2, rng=0)
    args = dict(model=model, loss_fn=nbf.CrossEntropyLoss(),
                optimizer=nbf.SGD(model.parameters(), lr=0.1), X=X, y=y, validation_data=None,
                callbacks=(), epochs=1, batch_size=8, rng=0, early_stopping=None, min_delta=0.0)
    for name in which:
        args[name] = data.draw(wrong_things(), label=name)
    before = model.weight.data.copy()
    positional = [args.pop(k) for k in ("model", "loss_fn", "optimizer", "X", "y")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            nbf.fit(*positional, progress=False, **args)
        except NBFSError:
            np.testing.assert_array_equal(model.weight.data, before)


@FUZZ
@given(model=wrong_things(), loss=wrong_things(), X=wrong_things(), y=wrong_things())
def test_evaluate_and_predict_with_wrong_objects_raise_package_errors(model, loss, X, y):
    good = nbf.Linear(3, 2, rng=0)
    for call in (lambda: nbf.evaluate(model, nbf.CrossEntropyLoss(), np.ones((2, 3)), [0, 1]),
                 lambda: nbf.evaluate(good, loss, np.ones((2, 3)), [0, 1]),
                 lambda: nbf.evaluate(good, nbf.CrossEntropyLoss(), X, y),
                 lambda: nbf.predict(model, np.ones((2, 3))),
                 lambda: nbf.predict(good, X)):
        try:
            call()
        except NBFSError:
            pass


@FUZZ
@given(params=wrong_things(), name=st.sampled_from(["sgd", "adagrad", "rmsprop", "adam", "adamw"]))
def test_optimizers_given_wrong_objects_raise_package_errors(params, name):
    try:
        opt = nbf.get_optimizer(name, params)
    except NBFSError:
        return
    assert all(isinstance(p, nbf.Parameter) for p in opt.params)
    assert len({id(p) for p in opt.params}) == len(opt.params)


# -- hyperparameters -----------------------------------------------------------------------------
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
                    st.sampled_from([0.0, 1.0, 0.5, 0.999, 1.0 + 1e-12, -0.0, True]))
#: (optimizer, hyperparameter) -> valid values; None means "a finite number >= 0".
RANGES = {
    ("sgd", "lr"): None, ("sgd", "momentum"): None, ("sgd", "weight_decay"): None,
    ("sgd", "dampening"): (0.0, 1.0, True),
    ("adagrad", "lr"): None, ("adagrad", "lr_decay"): None, ("adagrad", "eps"): None,
    ("adagrad", "weight_decay"): None, ("adagrad", "initial_accumulator_value"): None,
    ("rmsprop", "lr"): None, ("rmsprop", "alpha"): (0.0, 1.0, True), ("rmsprop", "eps"): None,
    ("rmsprop", "momentum"): None, ("rmsprop", "weight_decay"): None,
    ("adam", "lr"): None, ("adam", "eps"): None, ("adam", "weight_decay"): None,
    ("adamw", "lr"): None, ("adamw", "eps"): None, ("adamw", "weight_decay"): None,
}


def valid(value, spec) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if spec is None:
        return value >= 0
    low, high, closed = spec
    return low <= value <= high if closed else low <= value < high


@FUZZ
@given(key=st.sampled_from(sorted(RANGES)), value=NUMBERS)
def test_hyperparameters_are_accepted_exactly_in_their_range(key, value):
    name, hyper = key
    params = nbf.Linear(2, 2, rng=0).parameters()
    try:
        nbf.get_optimizer(name, params, **{hyper: value})
    except ParameterError as err:
        assert not valid(value, RANGES[key]), err
        assert hyper in str(err)
    else:
        assert valid(value, RANGES[key])


@FUZZ
@given(b1=NUMBERS, b2=NUMBERS, name=st.sampled_from(["adam", "adamw"]))
def test_betas_are_accepted_exactly_in_the_unit_interval(b1, b2, name):
    ok = valid(b1, (0.0, 1.0, False)) and valid(b2, (0.0, 1.0, False))
    try:
        nbf.get_optimizer(name, nbf.Linear(2, 2).parameters(), betas=(b1, b2))
    except ParameterError:
        assert not ok
    else:
        assert ok


# -- learning rates up to overflow ----------------------------------------------------------------
@FUZZ
@given(name=st.sampled_from(["sgd", "adagrad", "rmsprop", "adam", "adamw"]),
       log_lr=st.floats(-3, 40), dtype=st.sampled_from([np.float32, np.float64]),
       batch_size=st.integers(3, 20), regression=st.booleans())
def test_fit_ends_with_finite_weights_or_a_non_finite_error(name, log_lr, dtype, batch_size,
                                                           regression):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3)).astype(dtype)
    model = nbf.Sequential(nbf.Linear(3, 8, rng=0, dtype=dtype), nbf.Tanh(),
                           nbf.Linear(8, 2, rng=1, dtype=dtype))
    loss = nbf.MSELoss() if regression else nbf.CrossEntropyLoss()
    y = X[:, :2] * 3 if regression else (X[:, 0] > 0).astype(int)
    opt = nbf.get_optimizer(name, model.parameters(), lr=10.0 ** log_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            nbf.fit(model, loss, opt, X, y, epochs=3, batch_size=batch_size, rng=0,
                    progress=False)
        except NonFiniteError:
            pass
    assert all(np.isfinite(p.data).all() for p in model.parameters())


# -- no data left in the model -------------------------------------------------------------------
CALLS = ["fit", "predict", "evaluate", "train-forward", "eval-forward", "backward"]


@FUZZ
@given(calls=st.lists(st.sampled_from(CALLS), min_size=1, max_size=6),
       dropout=st.floats(0, 0.9))
def test_after_predict_or_evaluate_a_model_holds_no_data(calls, dropout):
    rng = np.random.default_rng(2)
    n = 97  # no layer of the model has 97 of anything
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] > 0).astype(int)
    model = nbf.Sequential(nbf.Linear(3, 5, rng=0), nbf.ReLU(), nbf.Dropout(dropout),
                           nbf.Linear(5, 2, rng=1), nbf.Sigmoid())
    for call in calls:
        try:
            if call == "fit":
                nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters()), X, y,
                        epochs=1, batch_size=n, progress=False)
            elif call == "predict":
                nbf.predict(model, X)
            elif call == "evaluate":
                nbf.evaluate(model, nbf.CrossEntropyLoss(), X, y)
            elif call == "train-forward":
                model.train()(X)
            elif call == "eval-forward":
                model.eval()(X)
            else:
                model.backward(np.ones((n, 2)))
        except NBFSError:
            pass  # e.g. backward without a forward
    model.eval()
    held = [a for m in _modules(model) for a in _arrays(vars(m))]
    assert not any(a.ndim and a.shape[0] == n for a in held)


def _arrays(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _arrays(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays(v)


# -- label types -----------------------------------------------------------------------------------
LABEL_ARRAYS = st.sampled_from([
    np.array([0, 1, 1]), np.array([0.0, 1.0, 1.0]), np.array([True, False, True]),
    np.array(["0", "1", "1"]), np.array(["a", "b", "a"]), np.array(["a", "b", "a"], dtype=object),
    np.array([0, 1, 1], dtype=object), np.array([b"a", b"b", b"a"]),
])


@FUZZ
@given(y_true=LABEL_ARRAYS, y_pred=LABEL_ARRAYS)
def test_accuracy_never_compares_strings_with_numbers(y_true, y_pred):
    def kind(a):
        first = a[0]
        return "s" if isinstance(first, (str, bytes, np.str_, np.bytes_)) else "n"

    if kind(y_true) != kind(y_pred):
        with pytest.raises(LabelError):
            nbf.accuracy(y_true, y_pred)
    else:
        assert 0.0 <= nbf.accuracy(y_true, y_pred) <= 1.0
