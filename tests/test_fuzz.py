"""Fuzzing the public API: every call works or raises one of the package's own exceptions.

Hypothesis throws random shapes (including empty and 0-d), dtypes (float64/32/16, ints,
bools, complex, objects, strings), values (NaN, +-inf, huge, tiny) and plain Python objects
(lists, ragged lists, None) at the functions, layers, losses, data helpers, metrics,
``fit``, the estimators and save/load. The contract checked on every call:

* it returns, and then the result has the documented shape and dtype, and is finite
  whenever the input was "tame" (finite numbers of moderate size); or
* it raises a subclass of :class:`~nbfromscratch.exceptions.NBFSError`, never a bare
  NumPy ``ValueError``, ``IndexError``, ``TypeError``, ``ZeroDivisionError``...;
* with tame input it emits no warning at all. (A NaN or inf that reaches a layer or a loss
  gives NaN out, possibly with NumPy's RuntimeWarning: the building blocks do not scan
  every batch; the data entry points and ``fit`` do.)

Valid input must also *work*: e.g. a float64 array of the right shape never raises.
"""

from __future__ import annotations

import math
import os
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import PARAMETER_FREE, make_layer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbfromscratch as nbf
from nbfromscratch import F
from nbfromscratch.exceptions import NBFSError, WeightsFileError

#: Examples per test; NBFS_FUZZ_EXAMPLES=2000 runs a deeper search (the defaults keep the
#: whole file within about a minute of `make test`).
EXAMPLES = int(os.environ.get("NBFS_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SLOW_FUZZ = settings(FUZZ, max_examples=max(1, EXAMPLES * 3 // 8))
TAME = 1e6  # inputs no larger than this cannot overflow any computation of the package

FLOAT_DTYPES = [np.float64, np.float32]
ALL_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_,
              np.complex128, object, np.str_]


# -- strategies -------------------------------------------------------------------------------
def elements(dtype: Any) -> st.SearchStrategy:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        width = dtype.itemsize * 8
        finfo = np.finfo(dtype)
        specials = [0.0, -0.0, 1.0, -1.0, 0.5, math.nan, math.inf, -math.inf,
                    float(finfo.max), float(-finfo.max), float(finfo.tiny), 1e4, -1e4]
        return st.one_of(st.floats(-10, 10, width=width), st.sampled_from(specials),
                         st.floats(width=width))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.one_of(st.integers(max(info.min, -3), min(info.max, 5)),
                         st.integers(info.min, info.max))
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind == "c":
        return st.complex_numbers(max_magnitude=10, allow_nan=False)
    if dtype.kind == "U":
        return st.text(alphabet="ab1.", max_size=3)
    return st.one_of(st.none(), st.integers(-3, 3), st.floats(-3, 3), st.text(max_size=2))


@st.composite
def arrays(draw, dtypes=ALL_DTYPES, min_dims=0, max_dims=3, max_side=4, shape=None) -> np.ndarray:
    dtype = draw(st.sampled_from(dtypes))
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0,
                                      max_side=max_side))
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype)))


@st.composite
def tame_floats(draw, shape, dtype=None) -> np.ndarray:
    dtype = dtype or draw(st.sampled_from(FLOAT_DTYPES))
    width = np.dtype(dtype).itemsize * 8
    return draw(hnp.arrays(dtype, shape, elements=st.floats(-100, 100, width=width)))


@st.composite
def anything(draw, **kw) -> Any:
    """An array as above, or what a learner might pass instead: a list, a ragged list,
    a Python number, None or a string."""
    kind = draw(st.integers(0, 9))
    if kind <= 6:
        return draw(arrays(**kw))
    if kind == 7:
        return draw(arrays(dtypes=[np.float64, np.int64], **kw)).tolist()
    if kind == 8:
        return draw(st.sampled_from([[[1.0, 2.0], [3.0]], [[0, 1], 2]]))
    return draw(st.sampled_from([None, 3, 2.5, "abc", True]))


def labels(n: int, top: int = 3) -> st.SearchStrategy:
    return hnp.arrays(np.int64, n, elements=st.integers(0, top))


@st.composite
def sensible_pair(draw, n_features: int | None = None, classes: bool = True):
    """(X, y) a learner would pass when things go right: n samples, numbers, y aligned."""
    n = draw(st.integers(1, 8))
    k = n_features or draw(st.integers(1, 3))
    X = draw(tame_floats((n, k)))
    y = draw(labels(n)) if classes else draw(tame_floats((n,)))
    return X, y


def is_tame(*values: Any) -> bool:
    """All numbers, finite and no larger than TAME (lists count; objects/strings do not)."""
    for value in values:
        try:
            arr = np.asarray(value)
        except ValueError:
            return False
        if arr.dtype.kind not in "biuf" or arr.dtype == np.float16:
            return False
        if arr.size and not (np.isfinite(arr).all() and np.abs(arr).max() <= TAME):
            return False
    return True


def is_float_array(x: Any, ndim: int | None = None) -> bool:
    return isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64) and \
        (ndim is None or x.ndim == ndim)


def float_dtype_of(x: Any) -> np.dtype:
    """The dtype the functions return for input x: float32 stays, the rest becomes float64."""
    return np.dtype(np.float32) if np.asarray(x).dtype == np.float32 else np.dtype(np.float64)


def is_column(y: Any) -> bool:
    """``y`` is an (n, 1) array or nested list (and not ragged)."""
    try:
        shape = np.shape(y)
    except ValueError:
        return False
    return len(shape) == 2 and shape[1] == 1


@contextmanager
def contract(tame: bool):
    """Run a call under the contract: NBFSError is an allowed outcome (the block is left and
    ``outcome.raised`` is set); any other exception fails the test; with tame input, any
    warning fails it too."""
    outcome = _Outcome()
    with warnings.catch_warnings():
        warnings.simplefilter("error" if tame else "ignore")
        if not tame:
            warnings.simplefilter("error", DeprecationWarning)
        try:
            yield outcome
        except NBFSError as err:
            outcome.raised = err
    # `pytest --hypothesis-show-statistics` shows how often each outcome occurred.
    event("works" if outcome.ok else f"raises {type(outcome.raised).__name__}")


class _Outcome:
    raised: NBFSError | None = None

    @property
    def ok(self) -> bool:
        return self.raised is None


def assert_result(out: Any, shape: tuple[int, ...], dtype: Any, finite: bool) -> None:
    # (NumPy ufuncs return a NumPy scalar for 0-d input: it has a shape and a dtype too.)
    assert isinstance(out, np.ndarray) or (shape == () and isinstance(out, np.generic)), type(out)
    assert out.shape == shape, (out.shape, shape)
    assert out.dtype == np.dtype(dtype), (out.dtype, dtype)
    if finite:
        assert np.isfinite(out).all(), out


# -- functional -------------------------------------------------------------------------------
ELEMENTWISE = [F.relu, F.relu_grad, F.leaky_relu, F.leaky_relu_grad, F.sigmoid, F.sigmoid_grad,
               F.tanh, F.tanh_grad]


@pytest.mark.parametrize("fn", ELEMENTWISE, ids=lambda f: f.__name__)
@FUZZ
@given(x=anything())
def test_elementwise_functions_work_or_raise_package_errors(fn, x):
    # These are stable for every finite input, whatever its size: no tameness needed.
    finite = is_tame(x) or (is_float_array(x) and np.isfinite(x).all())
    with contract(finite) as outcome:
        out = fn(x)
    numeric = isinstance(x, np.ndarray) and (x.dtype.kind in "biu" or x.dtype in FLOAT_DTYPES)
    assert outcome.ok or not numeric, outcome.raised
    if outcome.ok:
        assert_result(out, np.shape(x), float_dtype_of(x), finite)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.logsumexp], ids=lambda f: f.__name__)
@FUZZ
@given(z=anything(), axis=st.integers(-3, 3))
def test_softmax_family_works_or_raises_package_errors(fn, z, axis):
    tame = is_tame(z)
    with contract(tame) as outcome:
        out = fn(z, axis=axis)
    if outcome.ok:
        shape = np.shape(z)
        assert -len(shape) <= axis < len(shape) and shape[axis] > 0
        if fn is F.logsumexp:
            shape = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
        assert_result(out, shape, float_dtype_of(z), tame)
    elif is_float_array(z, 2) and z.size and -2 <= axis < 2:
        pytest.fail(f"valid input refused: {outcome.raised}")


@FUZZ
@given(z=anything(max_dims=2), g=anything(max_dims=2))
def test_softmax_jacobian_and_vjp_work_or_raise_package_errors(z, g):
    tame = is_tame(z, g)
    with contract(tame) as outcome:
        jac = F.softmax_jacobian(z)
    if outcome.ok:
        m = np.shape(z)[-1]
        assert_result(jac, np.shape(z) + (m,), float_dtype_of(z), tame)
    with contract(tame) as outcome:
        out = F.softmax_vjp(z, g)
    if outcome.ok:
        assert np.shape(g) == np.shape(z)
        assert_result(out, np.shape(z), float_dtype_of(z), tame)


# -- layers -----------------------------------------------------------------------------------
@st.composite
def layer_input(draw, n_features: int, dtype: Any) -> Any:
    """Usually a valid batch for the layer, sometimes anything at all."""
    if draw(st.booleans()):
        n = draw(st.integers(0, 4))
        return draw(tame_floats((n, n_features), dtype))
    return draw(anything(max_dims=3))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@FUZZ
@given(data=st.data())
def test_linear_forward_backward_work_or_raise_package_errors(dtype, data):
    k, m = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    layer = nbf.Linear(k, m, rng=0, dtype=dtype)
    x = data.draw(layer_input(k, dtype))
    tame = is_tame(x)
    with contract(tame) as outcome:
        out = layer(x)
    valid = is_float_array(x, 2) and x.dtype == dtype and x.shape[1] == k and len(x) > 0
    assert outcome.ok == valid, outcome.raised
    if not outcome.ok:
        return
    assert_result(out, (len(x), m), dtype, tame)
    g = data.draw(st.one_of(tame_floats(out.shape, dtype), anything(max_dims=2)))
    tame = tame and is_tame(g)
    with contract(tame) as outcome:
        grad_x = layer.backward(g)
    if outcome.ok:
        assert_result(grad_x, x.shape, dtype, tame)
        assert_result(layer.weight.grad, (k, m), dtype, tame)


@pytest.mark.parametrize("name", PARAMETER_FREE)
@FUZZ
@given(data=st.data())
def test_parameter_free_layers_work_or_raise_package_errors(name, data):
    layer = make_layer(name)
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(layer_input(data.draw(st.integers(1, 3)), dtype))
    tame = is_tame(x)
    with contract(tame) as outcome:
        out = layer(x)
    if not outcome.ok:
        valid = is_float_array(x) and x.size > 0 and (x.ndim == 2 or
                                                      (x.ndim >= 1 and not isinstance(layer, nbf.Softmax)))
        assert not valid, outcome.raised
        return
    assert_result(out, x.shape, x.dtype, tame)
    g = data.draw(st.one_of(tame_floats(x.shape, x.dtype), anything(max_dims=3)))
    tame = tame and is_tame(g)
    with contract(tame) as outcome:
        grad_x = layer.backward(g)
    if outcome.ok:
        assert_result(grad_x, x.shape, x.dtype, tame)


# -- losses -----------------------------------------------------------------------------------
@st.composite
def loss_case(draw):
    """A loss with a prediction and a target: usually sensible, sometimes anything."""
    loss_fn = draw(st.sampled_from([nbf.MSELoss(), nbf.CrossEntropyLoss(), nbf.BCEWithLogitsLoss(),
                                    nbf.CrossEntropyLoss(reduction="sum")]))
    if draw(st.booleans()):
        n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        dtype = draw(st.sampled_from(FLOAT_DTYPES))
        pred = draw(tame_floats((n, c), dtype))
        target = draw(st.one_of(
            hnp.arrays(np.int64, n, elements=st.integers(-1, c)),  # labels, some out of range
            hnp.arrays(dtype, (n, c), elements=st.sampled_from([0.0, 1.0, 0.5, 2.0])),
            anything(max_dims=2),
        ))
        return loss_fn, pred, target
    return loss_fn, draw(anything(max_dims=3)), draw(anything(max_dims=2))


@FUZZ
@given(case=loss_case())
def test_losses_work_or_raise_package_errors(case):
    loss_fn, pred, target = case
    tame = is_tame(pred, target)
    with contract(tame) as outcome:
        value = loss_fn(pred, target)
        grad = loss_fn.backward()
    if outcome.ok:
        assert isinstance(value, float)
        if tame:
            assert math.isfinite(value) and value >= 0
        assert_result(grad, np.shape(pred), np.asarray(pred).dtype, tame)


# -- data helpers and metrics -------------------------------------------------------------------
@FUZZ
@given(y=st.one_of(st.integers(0, 6).flatmap(labels), anything(max_dims=2)),
       n_classes=st.one_of(st.none(), st.integers(-1, 5)),
       dtype=st.sampled_from([np.float64, np.float32, np.int64, object, "not a dtype"]))
def test_one_hot_works_or_raises_package_errors(y, n_classes, dtype):
    with contract(True) as outcome:
        out = nbf.one_hot(y, n_classes, dtype=dtype)
    if outcome.ok:
        labels = np.asarray(y)
        width = n_classes if n_classes is not None else int(labels.max()) + 1
        assert_result(out, (len(labels), width), dtype, True)
        np.testing.assert_array_equal(out.sum(axis=1), 1)
        np.testing.assert_array_equal(out.argmax(axis=1), labels)


@FUZZ
@given(data=st.one_of(sensible_pair(), st.tuples(anything(max_dims=2, max_side=6),
                                                 anything(max_dims=1, max_side=6))),
       test_size=st.one_of(st.sampled_from([0.2, 0.5, 1]), st.floats(-0.5, 1.5),
                           st.integers(-1, 7), st.just("half")),
       stratify=st.booleans())
def test_train_test_split_works_or_raises_package_errors(data, test_size, stratify):
    X, y = data
    with contract(True) as outcome:
        X_tr, X_te, y_tr, y_te = nbf.train_test_split(X, y, test_size=test_size,
                                                      stratify=stratify, rng=0)
    if outcome.ok:
        n = len(np.asarray(X))
        assert len(X_tr) + len(X_te) == n and len(y_tr) + len(y_te) == n
        assert len(X_tr) == len(y_tr) >= 1 and len(X_te) == len(y_te) >= 1


@FUZZ
@given(pair=st.one_of(
    st.integers(1, 6).flatmap(lambda n: st.tuples(labels(n), st.one_of(labels(n),
                                                                       tame_floats((n, 3))))),
    st.integers(1, 6).flatmap(lambda n: st.tuples(tame_floats((n,)), tame_floats((n,)))),
    st.tuples(anything(max_dims=2), anything(max_dims=2)),
))
def test_metrics_work_or_raise_package_errors(pair):
    y_true, y_pred = pair
    tame = is_tame(y_true, y_pred)
    with contract(tame) as outcome:
        acc = nbf.accuracy(y_true, y_pred)
    if outcome.ok:
        assert 0 <= acc <= 1
    with contract(True) as outcome:
        cm = nbf.confusion_matrix(y_true, y_pred)
    if outcome.ok:
        assert cm.ndim == 2 and cm.shape[0] == cm.shape[1] and cm.sum() == len(np.asarray(y_true))
    for metric in (nbf.mean_squared_error, nbf.r2_score):
        with contract(True) as outcome:
            score = metric(y_true, y_pred)
        if outcome.ok:
            assert isinstance(score, float) and math.isfinite(score)


@FUZZ
@given(X=st.one_of(tame_floats((5, 2)), anything(max_dims=3)),
       X_new=st.one_of(tame_floats((3, 2)), anything(max_dims=3)))
def test_standardizer_works_or_raises_package_errors(X, X_new):
    scaler = nbf.Standardizer()
    with contract(True) as outcome:
        out = scaler.fit_transform(X)
    if not outcome.ok:
        return
    assert_result(out, np.shape(X), float_dtype_of(X), True)
    with contract(True) as outcome:
        back = scaler.inverse_transform(X_new)
    if outcome.ok:
        assert back.shape == np.shape(X_new) and np.isfinite(back).all()


# -- training and estimators ---------------------------------------------------------------------
@st.composite
def training_data(draw, n_features=3):
    """(X, y): usually a small sensible data set, sometimes anything."""
    if draw(st.booleans()):
        n = draw(st.integers(1, 12))
        X = draw(st.one_of(tame_floats((n, n_features)),
                           hnp.arrays(np.int64, (n, n_features), elements=st.integers(-5, 5)),
                           arrays(shape=(n, n_features))))
        y = draw(st.one_of(hnp.arrays(np.int64, n, elements=st.integers(0, 2)),
                           tame_floats((n,)), tame_floats((n, 1)), arrays(shape=(n,))))
        return X, y
    return draw(anything(max_dims=3)), draw(anything(max_dims=2))


@SLOW_FUZZ
@given(data=training_data(), which=st.sampled_from(["ce", "mse", "bce"]),
       dtype=st.sampled_from(FLOAT_DTYPES))
def test_fit_works_or_raises_package_errors(data, which, dtype):
    X, y = data
    n_out = {"ce": 3, "mse": 1, "bce": 1}[which]
    loss_fn = {"ce": nbf.CrossEntropyLoss, "mse": nbf.MSELoss, "bce": nbf.BCEWithLogitsLoss}[which]()
    model = nbf.Sequential(nbf.Linear(3, 4, rng=0, dtype=dtype), nbf.Tanh(),
                           nbf.Linear(4, n_out, rng=1, dtype=dtype))
    before = model.state_dict()
    with contract(is_tame(X, y)) as outcome:
        history = nbf.fit(model, loss_fn, nbf.SGD(model.parameters(), lr=0.01), X, y,
                          epochs=2, batch_size=4, rng=0, progress=False)
    if outcome.ok:
        assert isinstance(history, pd.DataFrame) and len(history) == 2
        assert np.isfinite(history["loss"]).all()
        assert all(np.isfinite(p.data).all() and p.dtype == dtype for p in model.parameters())
    else:  # refused before (or instead of) an update: the weights are intact
        for name, value in model.state_dict().items():
            assert np.isfinite(value).all()
            if not isinstance(outcome.raised, nbf.NonFiniteError):
                np.testing.assert_array_equal(value, before[name])


@SLOW_FUZZ
@given(data=training_data(), X_new=anything(max_dims=2),
       estimator=st.sampled_from(["classifier", "regressor"]))
def test_estimators_fit_predict_work_or_raise_package_errors(data, X_new, estimator):
    X, y = data
    cls = nbf.MLPClassifier if estimator == "classifier" else nbf.MLPRegressor
    if estimator == "classifier" and is_column(y):
        y = np.ravel(y)  # a column of labels is raveled with a warning, as scikit-learn does
    est = cls(hidden_layer_sizes=(3,), max_iter=2, batch_size=4, random_state=0)
    with contract(is_tame(X, y)) as outcome:
        est.fit(X, y)
    if not outcome.ok:
        with pytest.raises(nbf.NotFittedError):
            est.predict(np.zeros((1, 3)))
        return
    for X_pred in (X, X_new):
        with contract(is_tame(X_pred)) as outcome:
            pred = est.predict(X_pred)
            proba = est.predict_proba(X_pred) if estimator == "classifier" else None
        if not outcome.ok:
            assert X_pred is X_new, outcome.raised  # the training data must predict fine
            continue
        m = len(np.asarray(X_pred))
        assert len(pred) == m
        if estimator == "classifier":
            assert set(np.asarray(pred).tolist()) <= set(est.classes_.tolist())
            assert proba.shape == (m, len(est.classes_))
            np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
        else:
            assert np.isfinite(pred).all()


# -- saving and loading -------------------------------------------------------------------------------
@SLOW_FUZZ
@given(weights=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), damage=st.sampled_from(
    ["none", "truncate", "flip", "garbage"]), where=st.floats(0, 1))
def test_save_and_load_work_or_raise_package_errors(tmp_path_factory, weights, dtype, damage,
                                                    where):
    model = nbf.Sequential(nbf.Linear(2, 3, rng=0, dtype=dtype), nbf.ReLU(),
                           nbf.Linear(3, 1, rng=1, dtype=dtype))
    values = st.one_of(elements(dtype), st.floats(-3, 3, width=np.dtype(dtype).itemsize * 8))
    for p in model.parameters():
        if weights.draw(st.integers(0, 3)) == 0:  # now and then, weights of any value
            p.data[...] = weights.draw(hnp.arrays(dtype, p.shape, elements=values))
    path = tmp_path_factory.mktemp("weights") / "model.npz"
    with contract(True) as outcome:
        nbf.save(model, path)
    finite = all(np.isfinite(p.data).all() for p in model.parameters())
    assert outcome.ok == finite, outcome.raised
    if not finite:
        assert not path.exists()
        return
    raw = path.read_bytes()
    at = int(where * (len(raw) - 1))
    if damage == "truncate":
        path.write_bytes(raw[:at])
    elif damage == "flip":
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x5A]) + raw[at + 1:])
    elif damage == "garbage":
        path.write_bytes(bytes(range(256)) * 3)
    target = nbf.Sequential(nbf.Linear(2, 3, rng=5, dtype=dtype), nbf.ReLU(),
                            nbf.Linear(3, 1, rng=6, dtype=dtype))
    before = target.state_dict()
    for loader in (lambda: nbf.load(path), lambda: nbf.load_weights(target, path)):
        try:
            loaded = loader()
        except WeightsFileError:
            for name, value in target.state_dict().items():  # refused: model unchanged
                np.testing.assert_array_equal(value, before[name])
            continue
        # Loaded: then it is exactly the saved model (damage only hit unused bytes).
        for name, value in loaded.state_dict().items():
            np.testing.assert_array_equal(value, model.state_dict()[name])



@FUZZ
@given(data=st.one_of(sensible_pair(), st.tuples(anything(max_dims=3), anything(max_dims=2))),
       batch_size=st.integers(-1, 5), shuffle=st.booleans())
def test_iterate_minibatches_works_or_raises_package_errors(data, batch_size, shuffle):
    X, y = data
    with contract(True) as outcome:
        batches = list(nbf.iterate_minibatches(X, y, batch_size, shuffle=shuffle, rng=0))
    if outcome.ok:
        n = len(np.asarray(X))
        assert sum(len(xb) for xb, _ in batches) == n
        assert all(len(xb) == len(yb) <= batch_size for xb, yb in batches)


@FUZZ
@given(data=st.one_of(sensible_pair(n_features=2),
                     st.tuples(anything(max_dims=3), anything(max_dims=2))))
def test_predict_and_evaluate_work_or_raise_package_errors(data):
    X, y = data
    model = nbf.Sequential(nbf.Linear(2, 3, rng=0), nbf.ReLU(), nbf.Linear(3, 2, rng=1))
    with contract(is_tame(X)) as outcome:
        out = nbf.predict(model, X)
    if outcome.ok:
        assert_result(out, (len(np.asarray(X)), 2), np.float64, True)
    with contract(is_tame(X, y)) as outcome:
        scores = nbf.evaluate(model, nbf.CrossEntropyLoss(), X, y)
    if outcome.ok:
        assert math.isfinite(scores["loss"]) and 0 <= scores["accuracy"] <= 1


# -- hand-picked misuse of the objects (not data) -------------------------------------------------
def _fit(**kw):
    model = nbf.Linear(2, 2, rng=0)
    args = dict(model=model, loss_fn=nbf.MSELoss(), optimizer=nbf.SGD(model.parameters()),
                X=np.ones((2, 2)), y=np.ones((2, 2)), progress=False)
    args.update(kw)
    return nbf.fit(args.pop("model"), args.pop("loss_fn"), args.pop("optimizer"),
                   args.pop("X"), args.pop("y"), **args)


MISUSE = {
    "init-shape-of-strings": lambda: nbf.init.kaiming_normal(("a", 2)),
    "init-unknown-dtype": lambda: nbf.init.xavier_uniform((2, 2), dtype="foo"),
    "module-to-unknown-dtype": lambda: nbf.Linear(2, 2).to("foo"),
    "load-state-dict-ragged": lambda: nbf.Linear(2, 2).load_state_dict(
        {"weight": [[1.0], [2.0, 3.0]], "bias": [0.0, 0.0]}),
    "leaky-relu-slope-string": lambda: nbf.LeakyReLU("x"),
    "leaky-relu-slope-numpy-array": lambda: F.leaky_relu(np.ones(2), np.ones(2)),
    "adam-betas-string": lambda: nbf.Adam(nbf.Linear(2, 2).parameters(), betas="ab"),
    "adam-betas-number": lambda: nbf.Adam(nbf.Linear(2, 2).parameters(), betas=3),
    "get-optimizer-foreign-hyperparameter": lambda: nbf.get_optimizer(
        "adam", nbf.Linear(2, 2).parameters(), momentum=0.9),
    "fit-loss-none": lambda: _fit(loss_fn=None),
    "fit-optimizer-none": lambda: _fit(optimizer=None),
    "fit-model-not-a-module": lambda: _fit(model=lambda x: x),
    "fit-validation-triple": lambda: _fit(validation_data=(1, 2, 3)),
    "fit-callback-not-callable": lambda: _fit(callbacks=[3]),
    "fit-epochs-string": lambda: _fit(epochs="3"),
    "fit-min-delta-string": lambda: _fit(min_delta="0"),
    "predict-not-a-module": lambda: nbf.predict("model", np.ones((2, 2))),
    "softmax-axis-float": lambda: F.softmax(np.ones((2, 2)), axis=1.0),
    "estimator-hidden-sizes-string": lambda: nbf.MLPClassifier("ab").fit(np.ones((4, 2)),
                                                                         [0, 1, 0, 1]),
    "estimator-dtype-int": lambda: nbf.MLPRegressor(dtype=np.int32).fit(np.ones((4, 2)),
                                                                        np.ones(4)),
    "estimator-tol-string": lambda: nbf.MLPClassifier(tol="x").fit(np.ones((4, 2)), [0, 1, 0, 1]),
    "estimator-validation-fraction": lambda: nbf.MLPClassifier(
        early_stopping=True, validation_fraction=2.0).fit(np.ones((4, 2)), [0, 1, 0, 1]),
    "check-gradients-list": lambda: nbf.check_gradients(nbf.Linear(2, 2), [[1.0, 2.0]]),
    "numerical-gradient-vector-f": lambda: nbf.numerical_gradient(lambda x: x, np.zeros(3)),
    "relative-error-shapes": lambda: nbf.relative_error(np.zeros(2), np.zeros(3)),
    "make-moons-string": lambda: nbf.make_moons("200"),
    "make-sinc-range": lambda: nbf.make_sinc(10, x_range=(1,)),
    "load-mnist-checksums": lambda: nbf.load_mnist("/nonexistent-cache", checksums={"a": "b"}),
    "one-hot-huge-label": lambda: nbf.one_hot([0, 10**9]),
    "confusion-matrix-huge-label": lambda: nbf.confusion_matrix([0, 56213], [0, 1]),
}


@pytest.mark.parametrize("misuse", sorted(MISUSE))
def test_misusing_the_api_raises_package_errors(misuse):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NBFSError):
            MISUSE[misuse]()


# -- plotting ---------------------------------------------------------------------------------
# The helpers draw with matplotlib (the Agg backend, set in conftest.py); every example closes
# its figure. Few examples: drawing is slow, and the checks are the same as above.
PLOT_FUZZ = settings(FUZZ, max_examples=max(1, EXAMPLES // 4))


def _is_real_array(x: Any, ndim: int) -> bool:
    return isinstance(x, np.ndarray) and x.ndim == ndim and x.dtype.kind in "iuf" \
        and x.dtype != np.float16


@contextmanager
def plot_contract(tame: bool):
    import matplotlib.pyplot as plt

    try:
        with contract(tame) as outcome:
            yield outcome
    finally:
        plt.close("all")


def _threshold_model(grid: np.ndarray) -> np.ndarray:
    return (grid[:, 0] > 0).astype(np.int64)


@PLOT_FUZZ
@given(X=anything(max_dims=2, max_side=5), y=anything(max_dims=1, max_side=5),
       resolution=st.integers(-1, 6), padding=st.floats(0.1, 2.0))
def test_plot_decision_boundary_works_or_raises_package_errors(X, y, resolution, padding):
    with plot_contract(is_tame(X, y)) as outcome:
        ax = nbf.plotting.plot_decision_boundary(_threshold_model, X, y, resolution=resolution,
                                                 padding=padding)
    sensible = (_is_real_array(X, 2) and X.shape[1] == 2 and len(X) > 0 and is_tame(X)
                and _is_real_array(y, 1) and len(y) == len(X) and is_tame(y) and resolution >= 1)
    assert outcome.ok or not sensible, outcome.raised
    if outcome.ok:
        assert ax.get_title() == "Decision regions" and ax.get_xlabel() == "$x_1$"


@PLOT_FUZZ
@given(X=anything(max_dims=2, max_side=5), y=anything(max_dims=2, max_side=5))
def test_plot_regression_works_or_raises_package_errors(X, y):
    with plot_contract(is_tame(X, y)) as outcome:
        ax = nbf.plotting.plot_regression(lambda grid: np.sin(grid), X, y)
    sensible = (_is_real_array(X, 2) and X.shape[1] == 1 and len(X) > 0 and is_tame(X)
                and _is_real_array(y, 1) and len(y) == len(X) and is_tame(y))
    assert outcome.ok or not sensible, outcome.raised
    if outcome.ok:
        assert len(ax.get_lines()) == 1  # the model's curve (no truth given)


@PLOT_FUZZ
@given(cm=anything(max_dims=3, max_side=4), normalize=st.booleans())
def test_plot_confusion_matrix_works_or_raises_package_errors(cm, normalize):
    with plot_contract(is_tame(cm)) as outcome:
        ax = nbf.plotting.plot_confusion_matrix(cm, normalize=normalize)
    sensible = (_is_real_array(cm, 2) and cm.shape[0] == cm.shape[1] and cm.size > 0
                and is_tame(cm) and (cm >= 0).all())
    assert outcome.ok or not sensible, outcome.raised
    if outcome.ok:
        assert len(ax.texts) == np.size(cm)  # every cell annotated


@PLOT_FUZZ
@given(columns=st.dictionaries(st.sampled_from(["epoch", "loss", "val_loss", "accuracy"]),
                               st.lists(st.floats(allow_nan=True), min_size=0, max_size=4)),
       metric=st.sampled_from(["loss", "accuracy", "val_loss", "nope"]), logy=st.booleans())
def test_plot_history_works_or_raises_package_errors(columns, metric, logy):
    lengths = {len(v) for v in columns.values()}
    tame = is_tame(*columns.values()) and not logy  # a log axis warns about values <= 0
    with plot_contract(tame) as outcome:
        ax = nbf.plotting.plot_history(columns, metric, logy=logy)
    sensible = metric in columns and len(lengths) == 1 and lengths != {0}
    assert outcome.ok or not sensible, outcome.raised
    if outcome.ok:
        assert ax.get_xlabel() == "epoch"


@PLOT_FUZZ
@given(x=anything(max_dims=2, max_side=6))
def test_plot_function_and_derivative_works_or_raises_package_errors(x):
    with plot_contract(is_tame(x)) as outcome:
        ax = nbf.plotting.plot_function_and_derivative(np.tanh, lambda t: 1 - np.tanh(t) ** 2, x)
    sensible = _is_real_array(x, 1) and x.size > 0
    assert outcome.ok or not sensible, outcome.raised
    if outcome.ok:
        assert len(ax.get_lines()) >= 2


def test_plotting_rejects_a_model_that_is_not_one():
    with pytest.raises(nbf.ArgumentTypeError, match="model: expected a Module"):
        nbf.plotting.plot_decision_boundary(3, np.zeros((2, 2)), [0, 1])
