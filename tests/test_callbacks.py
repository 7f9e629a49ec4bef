"""Callbacks: one protocol, every callback every epoch, early stopping and the plateau rule."""

from __future__ import annotations

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch.callbacks import as_callbacks


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X[:90], y[:90], X[90:], y[90:]


def _model(seed: int = 0):
    return nbf.Sequential(nbf.Linear(3, 8, rng=seed), nbf.ReLU(), nbf.Linear(8, 2, rng=seed + 1))


class Recorder(nbf.Callback):
    def __init__(self, stop_at: int | None = None, result=True):
        self.stop_at, self.result = stop_at, result
        self.begun = self.ended = 0
        self.epochs: list[int] = []

    def on_train_begin(self, model):
        self.begun += 1

    def on_epoch_end(self, epoch, logs, model):
        self.epochs.append(epoch)
        return self.result if epoch == self.stop_at else None

    def on_train_end(self, model, history):
        self.ended += 1


def test_every_callback_sees_every_epoch_including_the_one_another_stops_at():
    X, y, _, _ = _data()
    first, second = Recorder(stop_at=3), Recorder()
    model = _model()
    history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                      epochs=10, rng=0, progress=False, callbacks=[first, second])
    assert len(history) == 3
    assert first.epochs == second.epochs == [1, 2, 3]
    assert (first.begun, first.ended, second.begun, second.ended) == (1, 1, 1, 1)


@pytest.mark.parametrize("result", [True, np.True_, 1, "stop"])
def test_any_true_value_stops_training(result):
    X, y, _, _ = _data()
    model = _model()
    history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                      epochs=10, rng=0, progress=False, callbacks=[Recorder(stop_at=2, result=result)])
    assert len(history) == 2


@pytest.mark.parametrize("result", [False, np.False_, 0, None])
def test_a_false_value_does_not_stop(result):
    X, y, _, _ = _data()
    model = _model()
    history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                      epochs=4, rng=0, progress=False, callbacks=[Recorder(stop_at=2, result=result)])
    assert len(history) == 4


def test_plain_functions_are_wrapped_and_get_a_copy_of_the_row():
    X, y, _, _ = _data()
    seen = []

    def f(epoch, logs):
        seen.append((epoch, sorted(logs)))
        logs["loss"] = -1.0  # must not change the history

    model = _model()
    history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                      epochs=2, rng=0, progress=False, callbacks=[f])
    assert [e for e, _ in seen] == [1, 2] and seen[0][1] == ["accuracy", "epoch", "loss"]
    assert (history["loss"] > 0).all()


def test_early_stopping_callback_equals_the_fit_shorthand():
    X, y, X_val, y_val = _data()
    runs = []
    for kwargs in ({"early_stopping": 2, "min_delta": 0.01},
                   {"callbacks": [nbf.EarlyStopping(patience=2, min_delta=0.01)]}):
        model = _model()
        history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.5), X, y,
                          epochs=40, rng=0, progress=False, validation_data=(X_val, y_val), **kwargs)
        runs.append((history, model.state_dict()))
    (h1, w1), (h2, w2) = runs
    assert h1.equals(h2) and h1.attrs == h2.attrs
    assert h1.attrs["stopped_early"] and h1.attrs["best_epoch"] < len(h1)
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)


def test_early_stopping_restores_the_best_epochs_weights():
    X, y, X_val, y_val = _data()
    snapshots = {}

    class Snap(nbf.Callback):
        def on_epoch_end(self, epoch, logs, model):
            snapshots[epoch] = model.state_dict()

    model = _model()
    history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.5), X, y,
                      epochs=40, rng=0, progress=False, validation_data=(X_val, y_val),
                      callbacks=[Snap(), nbf.EarlyStopping(patience=2, min_delta=0.01)])
    best = history.attrs["best_epoch"]
    assert best == int(history["epoch"][history["val_loss"].idxmin()]) or history.attrs["stopped_early"]
    final = model.state_dict()
    assert all(np.array_equal(final[k], snapshots[best][k]) for k in final)


def test_plateau_follows_scikit_learns_rule():
    # scikit-learn: count epochs whose loss is not below best - tol; stop when count > patience.
    rule = nbf.Plateau(tol=0.1, patience=2)
    rule.on_train_begin(None)
    losses = [1.0, 0.95, 0.94, 0.93, 0.5, 0.49, 0.48, 0.47]
    stops = [rule.on_epoch_end(i + 1, {"loss": v}, None) for i, v in enumerate(losses)]
    # 0.95, 0.94, 0.93 are within tol of 1.0: three stale epochs > patience 2 at epoch 4.
    assert stops == [False, False, False, True, False, False, False, True]


def test_early_stopping_names_a_missing_column():
    X, y, _, _ = _data()
    model = _model()
    with pytest.raises(nbf.UnknownNameError, match="val_loss needs validation_data"):
        nbf.fit(model, nbf.CrossEntropyLoss(), nbf.SGD(model.parameters(), lr=0.1), X, y,
                epochs=2, rng=0, progress=False, callbacks=[nbf.EarlyStopping()])


@pytest.mark.parametrize("bad, match", [
    (lambda e, logs: None, "wrap a single one in a list"),
    (nbf.EarlyStopping(), "wrap a single one in a list"),
    ([nbf.EarlyStopping], r"the class EarlyStopping \(create an instance"),
    ([42], r"callbacks\[0\] must be a function"),
    ("abc", "must be a list"),
    (3, "must be a list"),
])
def test_callbacks_of_the_wrong_kind_are_refused(bad, match):
    with pytest.raises(nbf.ArgumentTypeError, match=match):
        as_callbacks(bad)


@pytest.mark.parametrize("kwargs", [{"patience": 0}, {"min_delta": -1.0}, {"monitor": 3}])
def test_early_stopping_settings_are_checked(kwargs):
    with pytest.raises(nbf.NBFSError):
        nbf.EarlyStopping(**kwargs)


def test_a_scheduler_is_a_callback_and_steps_once_per_epoch():
    X, y, _, _ = _data()
    model = _model()
    optimizer = nbf.SGD(model.parameters(), lr=0.1)
    scheduler = nbf.optim.StepLR(optimizer, step_size=2, gamma=0.5)
    assert isinstance(scheduler, nbf.Callback)
    nbf.fit(model, nbf.CrossEntropyLoss(), optimizer, X, y, epochs=5, rng=0, progress=False,
            callbacks=[scheduler])
    assert optimizer.lr == pytest.approx(0.1 * 0.5 ** (5 // 2))


@pytest.mark.parametrize("solver, option, value, name", [
    ("adam", "alpha", -1.0, "alpha"), ("sgd", "alpha", -1.0, "alpha"), ("rmsprop", "alpha", -1.0, "alpha"),
    ("adagrad", "alpha", -1.0, "alpha"), ("adam", "beta_1", 1.5, "beta_1"), ("adam", "beta_2", -0.5, "beta_2"),
    ("adam", "epsilon", -1.0, "epsilon"), ("sgd", "momentum", -0.5, "momentum"),
])
def test_an_estimators_bad_option_is_reported_under_its_own_name(solver, option, value, name):
    X, y, _, _ = _data()
    clf = nbf.MLPClassifier(solver=solver, max_iter=1, **{option: value})
    with pytest.raises(nbf.ParameterError, match=rf"^MLPClassifier: {name} "):
        clf.fit(X, y)
