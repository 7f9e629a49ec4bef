"""The training loop: what it learns, what it reports, and how it fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbfromscratch.data import make_moons, train_test_split
from nbfromscratch.exceptions import LabelError, NonFiniteError, ShapeError
from nbfromscratch.layers import Dropout, Linear, ReLU, Sequential, Tanh
from nbfromscratch.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from nbfromscratch.optim import SGD, Adam
from nbfromscratch.training import evaluate, fit, predict


def mlp(n_in=2, hidden=16, n_out=2, seed=0, dtype=np.float64, dropout=0.0):
    layers = [Linear(n_in, hidden, rng=seed, dtype=dtype), ReLU()]
    if dropout:
        layers.append(Dropout(dropout, rng=seed + 7))
    layers += [Linear(hidden, n_out, rng=seed + 1, dtype=dtype)]
    return Sequential(*layers)


def weights(model):
    return [p.data.copy() for p in model.parameters()]


def softmax_ce(logits, labels):
    """Cross-entropy computed naively (for tiny logits only)."""
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(500, noise=0.1, rng=0)
    return train_test_split(X, y, test_size=0.2, stratify=True, rng=0)


# -- it learns ------------------------------------------------------------------------------------
def test_learns_two_moons_to_99_percent_test_accuracy(moons):
    X_tr, X_te, y_tr, y_te = moons
    model = Sequential(Linear(2, 32, rng=1), ReLU(), Linear(32, 32, rng=2), ReLU(),
                       Linear(32, 2, rng=3))
    history = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2), X_tr, y_tr,
                  epochs=40, batch_size=32, rng=0, progress=False)
    predicted = predict(model, X_te).argmax(axis=1)
    assert np.mean(predicted == y_te) >= 0.99
    assert history["loss"].iloc[-1] < history["loss"].iloc[0] / 10


def test_minibatches_follow_one_seeded_permutation_per_epoch():
    # A hand-written loop with the same permutations gives bit-identical weights.
    rng_data = np.random.default_rng(1)
    X = rng_data.normal(size=(37, 3))
    y = rng_data.normal(size=(37, 1))
    model, manual = mlp(3, 8, 1, seed=4), mlp(3, 8, 1, seed=4)
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.05, momentum=0.9), X, y,
        epochs=3, batch_size=8, rng=11, progress=False)
    loss_fn, opt, order = MSELoss(), SGD(manual.parameters(), lr=0.05, momentum=0.9), \
        np.random.default_rng(11)
    for _ in range(3):
        perm = order.permutation(37)
        for start in range(0, 37, 8):
            idx = perm[start:start + 8]
            manual.zero_grad()
            loss_fn(manual(X[idx]), y[idx])
            manual.backward(loss_fn.backward())
            opt.step()
    for a, b in zip(weights(model), weights(manual)):
        np.testing.assert_array_equal(a, b)


def test_history_loss_and_accuracy_match_a_direct_computation_when_weights_are_frozen(moons):
    X_tr, X_te, y_tr, y_te = moons
    model = mlp(seed=5)
    before = weights(model)
    history = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.0), X_tr, y_tr,
                  epochs=2, batch_size=30, validation_data=(X_te, y_te), rng=0, progress=False)
    assert list(history.columns) == ["epoch", "loss", "val_loss", "accuracy", "val_accuracy"]
    assert history["epoch"].tolist() == [1, 2]
    # lr = 0: the weights never change, so every epoch reports the full-data numbers.
    w1, b1, w2, b2 = before
    def logits(X):
        return np.maximum(X @ w1 + b1, 0) @ w2 + b2
    for row in history.itertuples():
        assert row.loss == pytest.approx(softmax_ce(logits(X_tr), y_tr), rel=1e-10)
        assert row.val_loss == pytest.approx(softmax_ce(logits(X_te), y_te), rel=1e-10)
        assert row.accuracy == pytest.approx(np.mean(logits(X_tr).argmax(1) == y_tr))
        assert row.val_accuracy == pytest.approx(np.mean(logits(X_te).argmax(1) == y_te))


class _OwnForward(CrossEntropyLoss):
    """A cross-entropy with a forward of its own: fit cannot reuse the package's arg-max."""

    def forward(self, pred, target):
        return super().forward(pred, target)


class _StaleArgmax(CrossEntropyLoss):
    """Leaves a wrong arg-max behind (every prediction right): fit must not read it from a
    forward it does not know."""

    def forward(self, pred, target):
        loss = super().forward(pred, target)
        self._predicted = np.array(target)
        return loss


@pytest.mark.parametrize("loss_fn, one_hot", [
    (CrossEntropyLoss(), False),  # the loss's own arg-max, compared once per epoch
    (CrossEntropyLoss(), True),   # probability targets: counted batch by batch
    (_OwnForward(), False),
    (_StaleArgmax(), False),
], ids=["labels", "one-hot", "own-forward", "stale-argmax"])
@pytest.mark.parametrize("tied", [False, True], ids=["distinct", "tied-logits"])
def test_training_accuracy_is_the_argmax_accuracy_on_every_path(loss_fn, one_hot, tied):
    # lr = 0 and shuffled, uneven batches: the on-the-fly accuracy must equal the accuracy of
    # the fixed weights on the whole data, with arg-max ties broken towards the first class.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(53, 2))
    y = rng.integers(0, 3, size=53)
    model = mlp(2, 8, 3, seed=6)
    if tied:
        model[2].weight.data[...] = 0
        model[2].bias.data[...] = 0
    w1, b1, w2, b2 = weights(model)
    target = np.eye(3)[y] if one_hot else y
    history = fit(model, loss_fn, SGD(model.parameters(), lr=0.0), X, target,
                  epochs=2, batch_size=10, rng=1, progress=False)
    expected = np.mean((np.maximum(X @ w1 + b1, 0) @ w2 + b2).argmax(1) == y)
    assert history["accuracy"].tolist() == pytest.approx([expected] * 2, abs=0)


def test_binary_logit_accuracy_counts_positive_logits_as_class_one():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    model = mlp(2, 8, 1, seed=9)
    w1, b1, w2, b2 = weights(model)
    history = fit(model, BCEWithLogitsLoss(), SGD(model.parameters(), lr=0.0), X, y,
                  epochs=1, batch_size=40, progress=False)
    z = (np.maximum(X @ w1 + b1, 0) @ w2 + b2)[:, 0]
    bce = np.mean(np.log1p(np.exp(-z)) * y + np.log1p(np.exp(z)) * (1 - y))
    assert history["loss"][0] == pytest.approx(bce, rel=1e-10)
    assert history["accuracy"][0] == pytest.approx(np.mean((z > 0) == (y == 1)))


def test_regression_history_has_no_accuracy_column():
    X = np.linspace(-1, 1, 20)[:, None]
    model = mlp(1, 4, 1)
    history = fit(model, MSELoss(), Adam(model.parameters()), X, X ** 2,
                  epochs=2, progress=False)
    assert isinstance(history, pd.DataFrame)
    assert list(history.columns) == ["epoch", "loss"]


# -- reproducibility and the progress bar ---------------------------------------------------------
def run(seed, progress, moons):
    X_tr, _, y_tr, _ = moons
    model = mlp(seed=3, dropout=0.2)
    history = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2), X_tr, y_tr,
                  epochs=3, batch_size=16, rng=seed, progress=progress)
    return model, history


def test_same_seed_gives_bit_identical_weights_with_progress_on_or_off(moons, capsys):
    quiet, h_quiet = run(7, False, moons)
    assert capsys.readouterr().err == ""
    shown, h_shown = run(7, True, moons)
    bar = capsys.readouterr().err
    assert "3/3" in bar and "loss=" in bar  # tqdm's text bar, with the loss in the postfix
    for a, b in zip(weights(quiet), weights(shown)):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(h_quiet, h_shown)
    other, _ = run(8, False, moons)
    assert not np.array_equal(weights(other)[0], weights(quiet)[0])


# -- non-finite values stop training at once ---------------------------------------------------------
class RecordingSGD(SGD):
    """SGD that remembers the weights after its latest step that left them finite."""

    def __init__(self, params, **kw):
        super().__init__(params, **kw)
        self.steps = 0
        self.after_last_step = [p.data.copy() for p in self.params]

    def step(self):
        super().step()
        if all(np.isfinite(p.data).all() for p in self.params):
            self.steps += 1
            self.after_last_step = [p.data.copy() for p in self.params]


def test_diverging_loss_raises_naming_epoch_and_batch_and_keeps_last_good_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)) * 100
    y = rng.normal(size=(64, 1)) * 100
    model = mlp(2, 8, 1)
    opt = RecordingSGD(model.parameters(), lr=10.0)  # far too large: the loss overflows
    with pytest.raises(NonFiniteError) as info:
        fit(model, MSELoss(), opt, X, y, epochs=50, batch_size=8, rng=0, progress=False)
    epoch, batch = divmod(opt.steps, 8)  # 8 batches per epoch; the failing one is next
    message = str(info.value)
    assert f"epoch {epoch + 1}, batch {batch + 1} of 8" in message
    assert opt.steps > 0
    for p, good in zip(model.parameters(), opt.after_last_step):
        np.testing.assert_array_equal(p.data, good)
        assert np.isfinite(p.data).all()


class PoisonedLoss(MSELoss):
    """Finite loss, but an infinite gradient on the given call."""

    def __init__(self, bad_call):
        super().__init__()
        self.calls, self.bad_call = 0, bad_call

    def backward(self):
        self.calls += 1
        grad = super().backward()
        if self.calls == self.bad_call:
            grad = grad.copy()
            grad[0, 0] = np.inf
        return grad


def test_infinite_gradient_raises_naming_the_parameter_before_the_step():
    X = np.random.default_rng(1).normal(size=(30, 3))
    y = np.zeros((30, 1))
    model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 1, rng=1))
    opt = RecordingSGD(model.parameters(), lr=0.1)
    with pytest.raises(NonFiniteError) as info:
        fit(model, PoisonedLoss(bad_call=5), opt, X, y, epochs=3, batch_size=10,
            rng=0, progress=False)
    message = str(info.value)
    # Call 5 is epoch 2, batch 2 (3 batches per epoch); 0.weight is the first parameter hit.
    assert "epoch 2, batch 2 of 3" in message
    assert "'0.weight'" in message and "Linear(in_features=3, out_features=4)" in message
    assert opt.steps == 4
    for p, good in zip(model.parameters(), opt.after_last_step):
        np.testing.assert_array_equal(p.data, good)


# -- early stopping ---------------------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    rng = np.random.default_rng(3)
    X_tr, y_tr = rng.normal(size=(40, 5)), rng.integers(0, 2, 40)
    # Validation labels unrelated to the inputs: memorising the training set makes
    # val_loss rise after a few epochs.
    X_val, y_val = rng.normal(size=(40, 5)), rng.integers(0, 2, 40)
    model = mlp(5, 64, 2, seed=2)
    snapshots = {}
    history = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2), X_tr, y_tr,
                  epochs=200, batch_size=8, validation_data=(X_val, y_val), rng=0,
                  progress=False, early_stopping=4,
                  callbacks=[lambda epoch, logs: snapshots.update({epoch: weights(model)})])
    best = int(history["val_loss"].idxmin()) + 1
    assert history.attrs["best_epoch"] == best
    assert history.attrs["stopped_early"]
    assert len(history) == best + 4
    for p, saved in zip(model.parameters(), snapshots[best]):
        np.testing.assert_array_equal(p.data, saved)


def test_early_stopping_needs_validation_data():
    model = mlp()
    with pytest.raises(ValueError, match="validation_data"):
        fit(model, CrossEntropyLoss(), Adam(model.parameters()), np.zeros((4, 2)),
            np.zeros(4, dtype=int), early_stopping=3, progress=False)


def test_callback_returning_true_stops_training():
    seen = []
    X = np.zeros((10, 2))
    model = mlp()
    history = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X,
                  np.zeros(10, dtype=int), epochs=10, progress=False,
                  callbacks=[lambda epoch, logs: seen.append(logs["loss"]) or epoch == 3])
    assert len(history) == 3 and len(seen) == 3


# -- data validation at the boundary ------------------------------------------------------------------
def test_labels_out_of_range_are_refused_before_any_update():
    model = mlp(n_out=3)
    before = weights(model)
    with pytest.raises(LabelError, match="0..2"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), np.zeros((4, 2)),
            [0, 1, 2, 3], progress=False)
    for a, b in zip(weights(model), before):
        np.testing.assert_array_equal(a, b)


def test_bad_data_raises_clear_errors():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    X = np.zeros((4, 2))
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"X contains 1 NaN/inf.*\(2, 1\)"):
        fit(model, CrossEntropyLoss(), opt, X_nan, [0, 1, 0, 1], progress=False)
    with pytest.raises(ShapeError, match="same number of samples"):
        fit(model, CrossEntropyLoss(), opt, X, [0, 1, 0], progress=False)
    with pytest.raises(ShapeError, match="features|\\(n, 2\\)"):
        fit(model, CrossEntropyLoss(), opt, np.zeros((4, 3)), [0, 1, 0, 1], progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, CrossEntropyLoss(), opt, X, [0, 1, 0, 1], batch_size=0, progress=False)


def test_integer_and_float64_data_are_converted_to_a_float32_model():
    model = mlp(dtype=np.float32)
    X = np.arange(8).reshape(4, 2)  # int data: converted deliberately at the boundary
    fit(model, CrossEntropyLoss(), Adam(model.parameters()), X, [0, 1, 0, 1], progress=False)
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())
    assert predict(model, X.astype(np.float64)).dtype == np.float32


def test_predict_and_evaluate_use_eval_mode_and_restore_training_mode():
    model = mlp(dropout=0.5)
    X = np.random.default_rng(0).normal(size=(50, 2))
    assert model.training
    first, second = predict(model, X), predict(model, X)
    np.testing.assert_array_equal(first, second)  # dropout off: deterministic
    assert model.training
    scores = evaluate(model, CrossEntropyLoss(), X, np.zeros(50, dtype=int))
    assert scores["loss"] == pytest.approx(softmax_ce(first, np.zeros(50, dtype=int)))
    assert scores["accuracy"] == pytest.approx(np.mean(first.argmax(1) == 0))
    assert model.training


# -- more on reproducibility and on stopping at the first NaN --------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_weights_progress_on_or_off_with_validation_and_early_stopping(
        moons, capsys, dtype):
    X_tr, X_te, y_tr, y_te = moons

    def train(progress):
        model = mlp(seed=5, dtype=dtype, dropout=0.3)
        opt = SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        history = fit(model, CrossEntropyLoss(), opt, X_tr, y_tr, epochs=6, batch_size=20,
                      validation_data=(X_te, y_te), early_stopping=2, rng=np.random.default_rng(3),
                      progress=progress)
        return model, history

    quiet, h_quiet = train(False)
    shown, h_shown = train(True)
    assert "fit" in capsys.readouterr().err
    for a, b in zip(weights(quiet), weights(shown)):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(h_quiet, h_shown)


def test_estimator_verbose_on_or_off_gives_bit_identical_weights(moons, capsys):
    from nbfromscratch.estimators import MLPClassifier

    X_tr, _, y_tr, _ = moons
    models = [MLPClassifier((8,), max_iter=5, random_state=0, verbose=verbose).fit(X_tr, y_tr)
              for verbose in (False, True)]
    assert capsys.readouterr().err  # the verbose one drew its bar
    for a, b in zip(weights(models[0].model_), weights(models[1].model_)):
        np.testing.assert_array_equal(a, b)


def test_non_finite_loss_names_the_first_layer_whose_output_overflows():
    X = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    X[9] = 3e38  # finite in float32, but the first layer's output overflows
    model = mlp(2, 4, 1, dtype=np.float32)
    model[0].weight.data[...] = 2.0  # 3e38 * 2 + 3e38 * 2 > 3.4e38
    before = weights(model)
    opt = RecordingSGD(model.parameters(), lr=0.01)
    with pytest.raises(NonFiniteError) as info:
        fit(model, MSELoss(), opt, X, np.zeros((16, 1)), epochs=1, batch_size=8, shuffle=False,
            progress=False)
    message = str(info.value)
    assert "epoch 1, batch 2 of 2" in message
    assert "the output of layer 0 (Linear(in_features=2, out_features=4, dtype=float32))" in message
    assert opt.steps == 1
    for p, good in zip(model.parameters(), opt.after_last_step):
        np.testing.assert_array_equal(p.data, good)
    assert not all(np.array_equal(a, b) for a, b in zip(weights(model), before))


def test_an_optimizer_step_that_overflows_the_weights_is_reported_as_such():
    # Finite gradients, but lr * grad beyond float32's range: the step itself makes the
    # weights infinite. It is caught at that very batch and undone.
    X = np.ones((8, 2), dtype=np.float32)
    model = mlp(2, 4, 1, dtype=np.float32)
    before = weights(model)
    with pytest.raises(NonFiniteError) as info:
        fit(model, MSELoss(), SGD(model.parameters(), lr=1e38), X, np.full((8, 1), 10.0),
            epochs=2, batch_size=4, shuffle=False, progress=False)
    message = str(info.value)
    assert "epoch 1, batch 1 of 2" in message
    assert "the optimizer step made parameter" in message and "lr=1e+38" in message
    for a, b in zip(before, weights(model)):
        np.testing.assert_array_equal(a, b)


def test_bce_targets_outside_0_1_are_refused_before_any_update():
    # Found only in a later batch, a bad target would stop training half-way.
    model = mlp(2, 4, 1)
    before = weights(model)
    y = np.zeros(40)
    y[-1] = 2.0
    with pytest.raises(LabelError, match=r"\[0, 1\], found values from 0.0 to 2.0"):
        fit(model, BCEWithLogitsLoss(), SGD(model.parameters(), lr=0.1), np.ones((40, 2)), y,
            batch_size=8, shuffle=False, progress=False)
    for a, b in zip(weights(model), before):
        np.testing.assert_array_equal(a, b)
