"""Every row of the Troubleshooting appendix (chapters/troubleshooting.md) has a test here.

Each test triggers its error through the public API, the way a learner would, and checks
the exception type and the key words of the message. The documented "typical message" of
the row must match the real message too ("..." in the table stands for any text), so the
page cannot drift from what the package prints. The last tests check that the table and
the tests list exactly the same ids, and that the page's table of exception classes
matches the package.
"""

from __future__ import annotations

import builtins
import gzip
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch import F
from nbfromscratch.autograd import Tensor, cross_entropy
from nbfromscratch.estimators._sklearn import ComplexDataError
from nbfromscratch.exceptions import (
    ArgumentTypeError,
    BackwardBeforeForwardError,
    DataFileError,
    DTypeError,
    EmptyInputError,
    LabelError,
    NBFSError,
    NonFiniteError,
    NotFittedError,
    ParameterError,
    ShapeError,
    UnknownNameError,
    WeightsFileError,
)
from nbfromscratch.mnist import MNIST_SHA256

PAGE = Path(__file__).resolve().parents[1] / "chapters" / "troubleshooting.md"
ID_PATTERN = re.compile(r"^E-[a-z0-9]+(?:-[a-z0-9]+)*$")

Trigger = Callable[[Path], object]
CASES: dict[str, tuple[type[Exception], tuple[str, ...], Trigger]] = {}


def case(error_id: str, exc: type[Exception], *keywords: str) -> Callable[[Trigger], Trigger]:
    """Register ``trigger(tmp_path)`` as the test of the table row ``error_id``."""
    def register(trigger: Trigger) -> Trigger:
        assert error_id not in CASES, error_id
        CASES[error_id] = (exc, keywords, trigger)
        return trigger
    return register


# -- helpers: a small data set and model, as in the chapters ----------------------------------
def data(n: int = 100, n_features: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)


def mlp(n_in: int = 4, n_out: int = 3, dtype=np.float64) -> nbf.Sequential:
    return nbf.Sequential(nbf.Linear(n_in, 8, rng=0, dtype=dtype), nbf.ReLU(),
                          nbf.Linear(8, n_out, rng=1, dtype=dtype))


def train(model, X, y, loss_fn=None, **kw):
    loss_fn = loss_fn if loss_fn is not None else nbf.CrossEntropyLoss()
    opt = kw.pop("optimizer", None) or nbf.SGD(model.parameters(), lr=kw.pop("lr", 0.1))
    return nbf.fit(model, loss_fn, opt, X, y, progress=False, rng=0, **kw)


# -- ShapeError ----------------------------------------------------------------------------
@case("E-shape-features", ShapeError, "Linear(in_features=4, out_features=8)", "(n, 4)", "(10, 5)")
def _(tmp_path):
    mlp()(np.zeros((10, 5)))


@case("E-shape-one-sample", ShapeError, "Linear(in_features=4, out_features=8)", "(n, 4)", "(4,)")
def _(tmp_path):
    mlp()(np.zeros(4))  # one sample, written as a 1-D vector


@case("E-shape-length", ShapeError, "same number of samples", "100 and 99")
def _(tmp_path):
    X, y = data()
    train(mlp(), X, y[:99])


@case("E-shape-target", ShapeError, "MSELoss", "target has shape (10, 2)", "(10, 1)")
def _(tmp_path):
    nbf.MSELoss()(np.zeros((10, 1)), np.zeros((10, 2)))


@case("E-shape-label-column", ShapeError, "y", "(100, 1)", "shape (n,)", "y.ravel()")
def _(tmp_path):
    X, y = data()
    train(mlp(), X, y[:, None])  # labels as a column instead of shape (n,)


@case("E-shape-grad-output", ShapeError, "backward", "grad_output has shape (10, 4)", "(10, 3)")
def _(tmp_path):
    layer = nbf.Linear(4, 3, rng=0)
    layer(np.zeros((10, 4)))
    layer.backward(np.ones((10, 4)))


@case("E-shape-validation-width", ShapeError, "X_val", "(n, 4)", "(1, 5)")
def _(tmp_path):
    X, y = data()
    train(mlp(), X, y, validation_data=(np.zeros((10, 5)), y[:10]))


@case("E-shape-targets-outputs", ShapeError, "y_val", "(100, 3)", "(n, 1)", "MSELoss")
def _(tmp_path):
    X, _ = data()
    train(mlp(n_out=1), X, X[:, :1], nbf.MSELoss(), validation_data=(X, X[:, :3]))


@case("E-shape-ragged", ShapeError, "X", "rectangular")
def _(tmp_path):
    train(mlp(n_in=2), [[0.5, 1.0], [2.0]], [0, 1])


@case("E-shape-1d-input", ShapeError, "X", "2-D", "X.reshape(-1, 1)")
def _(tmp_path):
    X, y = data(60)
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X[:, 0], y)


@case("E-shape-no-target", ShapeError, "MLPClassifier", "y is None")
def _(tmp_path):
    X, _ = data(20)
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, None)


@case("E-shape-fitted-features", ShapeError, "X has 3 features", "expecting 4 features")
def _(tmp_path):
    X, y = data(60)
    clf = nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    clf.predict(X[:, :3])


# -- DTypeError ----------------------------------------------------------------------------
@case("E-dtype-mismatch", DTypeError, "float32", "float64", "astype", "model.to")
def _(tmp_path):
    mlp()(np.zeros((10, 4), dtype=np.float32))


@case("E-dtype-integer-input", DTypeError, "floating-point input", "int64", "astype")
def _(tmp_path):
    mlp()(np.arange(8).reshape(2, 4))


@case("E-dtype-float16", DTypeError, "float32 or float64", "float16")
def _(tmp_path):
    nbf.ReLU()(np.ones((2, 3), dtype=np.float16))


@case("E-dtype-not-numbers", DTypeError, "X", "expected numbers", "<U")
def _(tmp_path):
    train(mlp(n_in=2), np.array([["1.5", "2"], ["3", "4"]]), [0, 1])


@case("E-dtype-text-column", DTypeError, "X", "every entry must be a number", "'a'")
def _(tmp_path):
    X = np.array([[1.0, "a"], [2.0, "b"]], dtype=object)  # a table with a text column
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, [0, 1])


@case("E-dtype-complex", ComplexDataError, "X", "Complex data")
def _(tmp_path):
    X, y = data(20)
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X + 1j, y)


@case("E-dtype-unknown", DTypeError, "Linear", "float33")
def _(tmp_path):
    nbf.Linear(4, 8, dtype="float33")


@case("E-dtype-gradcheck", DTypeError, "check_gradients", "float32", "float64")
def _(tmp_path):
    layer = nbf.Linear(4, 3, rng=0, dtype=np.float32)
    nbf.check_gradients(layer, np.ones((2, 4), dtype=np.float32))


# -- LabelError ----------------------------------------------------------------------------
@case("E-label-range", LabelError, "labels must be in 0..2", "found 3")
def _(tmp_path):
    X, y = data()
    train(mlp(), X, y + 1)  # labels 1..3 for a 3-class model


@case("E-label-not-integer", LabelError, "labels must be integers", "0.5")
def _(tmp_path):
    nbf.CrossEntropyLoss()(np.zeros((3, 2)), np.array([0.0, 0.5, 1.0]))


@case("E-label-continuous", LabelError, "class labels", "MLPRegressor")
def _(tmp_path):
    X, _ = data(20)
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, X[:, 0] * 2.5)


@case("E-label-one-class", LabelError, "at least 2 classes")
def _(tmp_path):
    X, _ = data(20)
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, np.ones(20, dtype=int))


@case("E-label-type-mismatch", LabelError, "strings", "numbers")
def _(tmp_path):
    nbf.accuracy(np.array(["no", "yes", "yes"]), np.array([0, 1, 1]))


@case("E-label-probabilities", LabelError, "BCEWithLogitsLoss", "[0, 1]")
def _(tmp_path):
    nbf.BCEWithLogitsLoss()(np.zeros(3), np.array([0.0, 1.0, 2.0]))


# -- EmptyInputError -----------------------------------------------------------------------
@case("E-empty-data", EmptyInputError, "X", "at least one sample", "(0, 4)")
def _(tmp_path):
    X, y = data()
    train(mlp(), X[100:], y[100:])


@case("E-empty-features", EmptyInputError, "X", "0 feature(s)", "(5, 0)")
def _(tmp_path):
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(np.zeros((5, 0)), [0, 1, 0, 1, 0])


@case("E-empty-batch", EmptyInputError, "Linear(in_features=4, out_features=8)", "empty", "(0, 4)")
def _(tmp_path):
    X, _ = data()
    mlp()(X[150:200])  # a slice past the end of the data


# -- NonFiniteError ------------------------------------------------------------------------
@case("E-nonfinite-data", NonFiniteError, "X contains 1 NaN/inf", "(2, 1)")
def _(tmp_path):
    X, y = data()
    X[2, 1] = np.nan
    train(mlp(), X, y)


@case("E-nonfinite-loss", NonFiniteError, "fit: the loss is", "at epoch", "of 4",
      "layer 2 (Linear(in_features=8, out_features=1, dtype=float32))", "before this batch")
def _(tmp_path):
    X, _ = data()
    y = (X[:, :1] * 1e3).astype(np.float32)
    model = mlp(n_out=1, dtype=np.float32)
    train(model, X, y, nbf.MSELoss(), lr=1e6, batch_size=32, epochs=5)


class _BuggyLoss(nbf.MSELoss):
    """A hand-written loss whose backward divides by zero: finite loss, inf gradient."""

    def backward(self):
        grad = super().backward()
        with np.errstate(divide="ignore"):
            return grad / np.zeros_like(grad)


@case("E-nonfinite-gradient", NonFiniteError, "gradient of parameter '0.weight'",
      "Linear(in_features=4, out_features=8)", "epoch 1, batch 1 of 4", "before this batch")
def _(tmp_path):
    X, _ = data()
    train(mlp(n_out=1), X, X[:, :1], _BuggyLoss(), batch_size=32)


@case("E-nonfinite-step", NonFiniteError, "optimizer step made parameter '0.weight'",
      "epoch 1, batch 1 of 4", "lr=1e+39", "before this batch")
def _(tmp_path):
    X, y = data()
    model = mlp(dtype=np.float32)
    train(model, X, y, optimizer=nbf.Adam(model.parameters(), lr=1e39), batch_size=32)


@case("E-nonfinite-evaluate", NonFiniteError, "evaluate: the loss is inf", "diverged")
def _(tmp_path):
    X, _ = data()
    model = mlp(n_out=1)
    model[2].weight.data[...] = 1e200  # weights of a training loop that diverged
    nbf.evaluate(model, nbf.MSELoss(), X, X[:, :1])


@case("E-nonfinite-weights", NonFiniteError, "parameter '0.weight'", "before training starts")
def _(tmp_path):
    X, y = data()
    model = mlp()
    model[0].weight.data[1, 2] = np.nan
    train(model, X, y)


@case("E-nonfinite-too-large", NonFiniteError, "too large for float32", "inf")
def _(tmp_path):
    X, y = data()
    X[5, 0] = 1e39  # fine in float64, beyond the float32 range
    train(mlp(dtype=np.float32), X, y)


@case("E-nonfinite-save", NonFiniteError, "save", "'0.weight'", "NaN or inf")
def _(tmp_path):
    model = mlp()
    model[0].weight.data[0, 0] = np.nan
    nbf.save(model, tmp_path / "model.npz")


# -- BackwardBeforeForwardError, UnknownNameError, NotFittedError ------------------------------
@case("E-backward-before-forward", BackwardBeforeForwardError, "backward() called before forward()")
def _(tmp_path):
    nbf.CrossEntropyLoss().backward()


@case("E-unknown-name", UnknownNameError, "'relu6'", "'relu'", "'tanh'")
def _(tmp_path):
    X, y = data(20)
    nbf.MLPClassifier((4,), activation="relu6", max_iter=2).fit(X, y)


@case("E-not-fitted", NotFittedError, "MLPClassifier", "not fitted", "fit(X, y)")
def _(tmp_path):
    nbf.MLPClassifier().predict(np.zeros((2, 4)))


# -- WeightsFileError ----------------------------------------------------------------------
@case("E-weights-corrupt", WeightsFileError, "model.npz", "not a readable weights file")
def _(tmp_path):
    path = nbf.save(mlp(), tmp_path / "model.npz")
    path.write_bytes(path.read_bytes()[:300])  # an interrupted copy or download
    nbf.load(path)


@case("E-weights-version", WeightsFileError, "format version 99", "reads version 1")
def _(tmp_path):
    model = mlp()
    path = tmp_path / "model.npz"
    meta = {"format": "nbfromscratch-weights", "format_version": 99,
            "architecture": model.get_config(), "dtype": "float64",
            "parameters": {n: {"shape": list(p.shape), "dtype": "float64"}
                           for n, p in model.named_parameters()}}
    np.savez(path, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
             **model.state_dict())
    nbf.load(path)


@case("E-weights-architecture", WeightsFileError, "Sequential(Linear, ReLU, Linear)",
      "Sequential(Linear, Tanh, Linear)")
def _(tmp_path):
    nbf.save(mlp(), tmp_path / "model.npz")
    other = nbf.Sequential(nbf.Linear(4, 8), nbf.Tanh(), nbf.Linear(8, 3))
    nbf.load_weights(other, tmp_path / "model.npz")


@case("E-weights-pickle", WeightsFileError, "model.npz", "dtype object", "never pickled")
def _(tmp_path):
    path = nbf.save(mlp(), tmp_path / "model.npz")
    with np.load(path) as archive:  # a genuine file, one weight swapped for a pickled object
        arrays = {k: archive[k] for k in archive.files}
    arrays["0.weight"] = np.array([{"code": "runs on load"}], dtype=object)
    np.savez(path, **arrays, allow_pickle=True)
    nbf.load(path)


@case("E-weights-not-npz", WeightsFileError, "notes.npz", "not an .npz archive")
def _(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("not weights at all")
    nbf.load(path)


@case("E-weights-too-large", WeightsFileError, "MAX_LOAD_BYTES", "refusing to allocate")
def _(tmp_path):
    path = nbf.save(mlp(), tmp_path / "model.npz")
    limit = nbf.io.MAX_LOAD_BYTES
    nbf.io.MAX_LOAD_BYTES = 100  # far below the model's 8 * 67 bytes of weights
    try:
        nbf.load(path)
    finally:
        nbf.io.MAX_LOAD_BYTES = limit


# -- errors of the operating system, with the package's message -----------------------------
@case("E-file-no-folder", FileNotFoundError, "save", "missing", "does not exist")
def _(tmp_path):
    nbf.save(mlp(), tmp_path / "missing" / "model.npz")


@case("E-file-read-only", PermissionError, "save", "read-only", "another name")
def _(tmp_path):
    if os.name != "posix":
        pytest.skip("read-only by mode bits is a POSIX notion")
    path = nbf.save(mlp(), tmp_path / "model.npz")
    path.chmod(0o444)
    try:
        nbf.save(mlp(), path)
    finally:
        path.chmod(0o644)


# -- DataFileError -------------------------------------------------------------------------
@case("E-data-checksum", DataFileError, "SHA-256 mismatch", "expected 0000")
def _(tmp_path):
    server = tmp_path / "mirror"
    server.mkdir()
    names = list(MNIST_SHA256)
    for name in names:
        (server / name).write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00"))
    checksums = {name: "0" * 64 for name in names}
    nbf.load_mnist(tmp_path / "cache", base_url=server.as_uri() + "/", checksums=checksums)


@case("E-data-not-idx", DataFileError, "not an IDX file")
def _(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_text("<html>404 Not Found</html>")  # what a broken mirror sends
    nbf.data.read_idx(path)


# -- ParameterError, ArgumentTypeError -------------------------------------------------------
@case("E-param-value", ParameterError, "SGD", "lr must be a finite number >= 0", "-0.1")
def _(tmp_path):
    nbf.SGD(mlp().parameters(), lr=-0.1)


@case("E-param-split", ParameterError, "test_size=0.5", "0 training samples")
def _(tmp_path):
    nbf.train_test_split(np.zeros((1, 2)), np.zeros(1), test_size=0.5)


@case("E-param-interval", ParameterError, "RMSprop", "alpha", "[0, 1]")
def _(tmp_path):
    nbf.RMSprop(mlp().parameters(), alpha=2.0)


@case("E-param-duplicate-parameter", ParameterError, "params[2]", "params[0]")
def _(tmp_path):
    model = mlp()
    first = model[0]
    nbf.SGD(first.parameters() + [first.weight])


@case("E-param-foreign-parameters", ParameterError, "2 of the optimizer's 4", "not the model's")
def _(tmp_path):
    X, y = data()
    model, other = mlp(), nbf.Linear(4, 3, rng=5)
    train(model, X, y, optimizer=nbf.SGD(model[2].parameters() + other.parameters()))


@case("E-param-new-array-in-epoch", ParameterError, "'inner.0.weight'", "new array during epoch 1",
      "in place")
def _(tmp_path):
    class NewWeightsEveryBatch(nbf.Module):
        def __init__(self):
            super().__init__()
            self.inner = mlp()

        def forward(self, x):
            first = self.inner[0].weight
            first.data = first.data.copy()  # a new array, not a change in place
            return self.inner(x)

        def backward(self, grad_output):
            return self.inner.backward(grad_output)

    X, y = data()
    train(NewWeightsEveryBatch(), X, y, epochs=2)


@case("E-param-huge-layer", ParameterError, "Linear", "1000000 x 1000000", "in_features")
def _(tmp_path):
    nbf.Linear(10**6, 10**6)


@case("E-param-gradcheck", ParameterError, "check_gradients", "eps", "> 0")
def _(tmp_path):
    nbf.check_gradients(mlp(), np.ones((2, 4)), eps=0)


@case("E-param-save-optimizer", ParameterError, "save", "not built on this model's parameters")
def _(tmp_path):
    model, other = mlp(), mlp()
    nbf.save(model, tmp_path / "model.npz", optimizer=nbf.Adam(other.parameters()))


@case("E-param-optimizer-state", ParameterError, "Adam.load_state_dict()", "[0, 1]", "has 4")
def _(tmp_path):
    state = nbf.Adam(nbf.Linear(4, 8, rng=0).parameters()).state_dict()  # another model's
    nbf.Adam(mlp().parameters()).load_state_dict(state)


@case("E-param-scheduler", ParameterError, "LinearLR", "start_factor", "(0, 1]")
def _(tmp_path):
    nbf.LinearLR(nbf.SGD(mlp().parameters()), start_factor=0.0)


@case("E-type-model-not-parameters", ArgumentTypeError, "Adam", "model.parameters()")
def _(tmp_path):
    nbf.Adam(mlp())


@case("E-type-method-not-called", ArgumentTypeError, "Adam", "model.parameters()", "call it")
def _(tmp_path):
    nbf.Adam(mlp().parameters)  # the method, not its result


@case("E-type-class-not-instance", ArgumentTypeError, "loss_fn", "the class CrossEntropyLoss")
def _(tmp_path):
    X, y = data()
    model = mlp()
    nbf.fit(model, nbf.CrossEntropyLoss, nbf.SGD(model.parameters()), X, y, progress=False)


@case("E-type-callbacks", ArgumentTypeError, "callbacks", "[f]")
def _(tmp_path):
    X, y = data()

    def log(epoch, logs):
        print(epoch, logs)

    train(mlp(), X, y, callbacks=log)


@case("E-type-optimizer-other-model", ArgumentTypeError, "none of the model's parameters")
def _(tmp_path):
    X, y = data()
    model, other = mlp(), mlp()
    train(model, X, y, optimizer=nbf.SGD(other.parameters()))


@case("E-type-scheduler-optimizer", ArgumentTypeError, "StepLR", "Optimizer", "list")
def _(tmp_path):
    nbf.StepLR(mlp().parameters(), step_size=2)  # the parameters, not the optimizer


@case("E-type-sparse", ArgumentTypeError, "sparse", "X.toarray()")
def _(tmp_path):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = data(20)
    nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(sparse.csr_matrix(X), y)


@case("E-type-save-object", ArgumentTypeError, "save", "fitted estimator", "dict")
def _(tmp_path):
    nbf.save(mlp().state_dict(), tmp_path / "model.npz")


@case("E-type-read-only", ArgumentTypeError, "read-only", "x.copy()")
def _(tmp_path):
    x = np.ones(3)
    x.flags.writeable = False
    nbf.numerical_gradient(lambda v: float(v.sum()), x)


@case("E-type-masked", ArgumentTypeError, "y_true", "masked array")
def _(tmp_path):
    nbf.accuracy(np.ma.array([0, 1], mask=[False, True]), [0, 1])


@case("E-type-not-a-layer", ArgumentTypeError, "Sequential", "layer 1", "function")
def _(tmp_path):
    nbf.Sequential(nbf.Linear(4, 8), F.relu, nbf.Linear(8, 3))  # F.relu is not a layer


# -- automatic differentiation (chapter 14) -------------------------------------------------
@case("E-autograd-seed", ShapeError, "Tensor.backward", "(2, 3)", "seed")
def _(tmp_path):
    Tensor(np.ones((2, 3))).backward()


@case("E-autograd-seed-shape", ShapeError, "seed gradient", "(3,)", "(2, 3)")
def _(tmp_path):
    Tensor(np.ones((2, 3))).backward(np.ones(3))


@case("E-autograd-shapes", ShapeError, "matmul", "(2, 3) @ (2, 3)")
def _(tmp_path):
    Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))


@case("E-autograd-axis", ShapeError, "Tensor.sum", "axis 2")
def _(tmp_path):
    Tensor(np.ones((2, 3))).sum(axis=2)


@case("E-autograd-dtype", DTypeError, "float32", "float64", "explicitly")
def _(tmp_path):
    Tensor(np.ones(3, dtype=np.float32)) + Tensor(np.ones(3))


@case("E-autograd-labels", LabelError, "cross_entropy", "0..1", "found 2")
def _(tmp_path):
    cross_entropy(Tensor(np.zeros((3, 2))), [0, 1, 2])


# -- the tests ---------------------------------------------------------------------------------
def documented_rows() -> dict[str, tuple[str, str]]:
    """``{id: (exception name, typical message)}`` from every table row of the page."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        error_id = cells[0].strip("`")
        if not line.lstrip().startswith("|") or len(cells) < 5 or not ID_PATTERN.match(error_id):
            continue
        assert error_id not in rows, f"duplicate id {error_id} in {PAGE.name}"
        rows[error_id] = (cells[1].strip("`"), cells[2])
    return rows


def message_pattern(documented: str) -> re.Pattern[str]:
    """The documented message as a regex: "..." is any text, the rest literal."""
    text = documented.strip()
    assert text.startswith("`") and text.endswith("`"), f"message not in backticks: {text}"
    parts = text[1:-1].split("...")
    return re.compile(".*".join(re.escape(p) for p in parts), re.DOTALL)


ROWS = documented_rows() if PAGE.exists() else {}


@pytest.mark.parametrize("error_id", sorted(CASES))
def test_documented_error_is_raised_with_its_message(error_id, tmp_path):
    exc, keywords, trigger = CASES[error_id]
    with pytest.raises(exc) as info:
        trigger(tmp_path)
    error = info.value
    # Exactly exc; or, for NotFittedError once scikit-learn is imported, the subclass that
    # is also scikit-learn's NotFittedError (nbfromscratch/estimators/_sklearn.py).
    assert type(error).__name__ == exc.__name__ and isinstance(error, (exc, NBFSError))
    assert type(error) is exc or exc is NotFittedError
    message = str(error)
    for word in keywords:
        assert word in message, f"{word!r} not in {message!r}"
    assert error_id in ROWS, f"{error_id} is not in the table of {PAGE.name}"
    name, documented = ROWS[error_id]
    assert name == exc.__name__
    assert message_pattern(documented).fullmatch(message), (
        f"the page shows {documented}\nthe package says `{message}`"
    )


def test_every_table_row_has_a_test_and_every_test_a_row():
    assert ROWS, f"no error table found in {PAGE}"
    assert sorted(ROWS) == sorted(CASES)


def test_every_exception_class_is_documented():
    documented = {name for name, _ in ROWS.values()}
    classes = {name for name in nbf.exceptions.__all__ if name != "NBFSError"}
    assert classes <= documented, f"not in the table: {sorted(classes - documented)}"


def test_the_table_of_exceptions_gives_each_ones_builtin_base():
    bases = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].endswith("Error") and cells[1].endswith("Error"):
            bases[cells[0]] = [b.strip().strip("`") for b in cells[1].split(",")]
    classes = {name for name in nbf.exceptions.__all__ if name != "NBFSError"}
    assert set(bases) == classes
    for name, listed in bases.items():
        cls = getattr(nbf.exceptions, name)
        assert issubclass(cls, nbf.NBFSError)
        for base in listed:
            assert issubclass(cls, getattr(builtins, base)), (name, base)
        # every builtin exception it derives from is listed
        actual = {b.__name__ for b in cls.__mro__
                  if b.__module__ == "builtins" and b not in (Exception, BaseException, object)
                  and not any(b in other.__mro__[1:] for other in cls.__mro__
                              if other.__module__ == "builtins" and other is not b)}
        assert actual <= set(listed), (name, actual, listed)
