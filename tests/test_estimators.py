"""MLPClassifier / MLPRegressor: accuracy on real data and the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits as sklearn_digits
from sklearn.metrics import r2_score as sklearn_r2
from sklearn.model_selection import train_test_split as sklearn_split

from nbfromscratch.data import make_moons, make_sinc
from nbfromscratch.estimators import MLPClassifier, MLPRegressor
from nbfromscratch.exceptions import LabelError, NotFittedError, ShapeError, UnknownNameError
from nbfromscratch.layers import Linear, ReLU, Sequential, Tanh


def blobs(n_per_class=30, seed=0):
    """Three well separated Gaussian blobs labelled with strings."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    X = np.concatenate([c + rng.normal(scale=0.5, size=(n_per_class, 2)) for c in centers])
    y = np.repeat(np.array(["dog", "cat", "bird"]), n_per_class)
    return X, y


# -- accuracy -------------------------------------------------------------------------------------
def test_default_classifier_reaches_97_percent_on_digits():
    X, y = sklearn_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = sklearn_split(X / 16.0, y, test_size=0.2, stratify=y,
                                           random_state=0)
    clf = MLPClassifier(random_state=0).fit(X_tr, y_tr)
    assert np.mean(clf.predict(X_te) == y_te) >= 0.97
    assert clf.n_iter_ <= 200
    assert list(clf.model_[0].weight.shape) == [64, 100]  # default hidden_layer_sizes=(100,)


def test_classifier_reaches_99_percent_on_two_moons():
    X, y = make_moons(600, noise=0.1, rng=1)
    X_tr, X_te, y_tr, y_te = sklearn_split(X, y, test_size=0.25, stratify=y, random_state=0)
    clf = MLPClassifier((32, 32), learning_rate_init=1e-2, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.99


def test_regressor_fits_sinc():
    X, y = make_sinc(400, noise=0.1, rng=0)
    grid = np.linspace(-10, 10, 200)[:, None]
    truth = np.sin(grid[:, 0]) / grid[:, 0]
    reg = MLPRegressor((64, 64), activation="tanh", learning_rate_init=1e-2,
                       random_state=0).fit(X, y[:, 0])
    assert reg.score(grid, truth) > 0.9


# -- labels -------------------------------------------------------------------------------------
def test_arbitrary_labels_are_mapped_to_outputs_and_back():
    X, y = blobs()
    clf = MLPClassifier((16,), learning_rate_init=1e-2, max_iter=60, random_state=0).fit(X, y)
    assert clf.classes_.tolist() == ["bird", "cat", "dog"]
    assert set(clf.predict(X)) <= {"bird", "cat", "dog"}
    assert clf.score(X, y) == 1.0
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Column k of predict_proba is the probability of classes_[k].
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_score_is_the_fraction_of_correct_predictions():
    X, y = blobs(seed=1)
    clf = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)  # deliberately undertrained
    assert clf.score(X, y) == pytest.approx(np.mean(clf.predict(X) == y))


def test_single_class_is_refused():
    with pytest.raises(LabelError, match="at least 2 classes"):
        MLPClassifier().fit(np.zeros((5, 2)), np.ones(5))


# -- scikit-learn contract ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_unfitted_estimator_raises_not_fitted(cls):
    est = cls()
    with pytest.raises(NotFittedError, match="fit"):
        est.predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        est.score(np.zeros((2, 3)), np.zeros(2))
    if cls is MLPClassifier:
        with pytest.raises(NotFittedError):
            est.predict_proba(np.zeros((2, 3)))


def test_get_params_set_params_and_clone():
    clf = MLPClassifier(hidden_layer_sizes=(8, 4), alpha=1e-3, random_state=3)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (8, 4) and params["alpha"] == 1e-3
    assert params["solver"] == "adam" and params["learning_rate_init"] == 1e-3
    assert clf.set_params(max_iter=5, solver="sgd") is clf
    assert clf.max_iter == 5 and clf.solver == "sgd"
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    with pytest.raises(ValueError, match="learning_rate"):
        clf.set_params(learning_rate=0.1)


def test_repr_shows_only_changed_parameters():
    assert repr(MLPClassifier()) == "MLPClassifier()"
    assert repr(MLPRegressor((8,), max_iter=5)) == "MLPRegressor(hidden_layer_sizes=(8,), max_iter=5)"


def test_same_random_state_gives_the_same_model():
    X, y = blobs()
    a = MLPClassifier((8,), max_iter=5, random_state=42).fit(X, y)
    b = MLPClassifier((8,), max_iter=5, random_state=42).fit(X, y)
    c = MLPClassifier((8,), max_iter=5, random_state=43).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_architecture_follows_hidden_layer_sizes_and_activation():
    X, y = blobs()
    clf = MLPClassifier((7, 5), activation="tanh", max_iter=1, random_state=0).fit(X, y)
    model = clf.model_
    assert isinstance(model, Sequential)
    assert [type(layer) for layer in model] == [Linear, Tanh, Linear, Tanh, Linear]
    assert [layer.weight.shape for layer in model if isinstance(layer, Linear)] == \
        [(2, 7), (7, 5), (5, 3)]
    relu = MLPRegressor(3, max_iter=1, random_state=0).fit(X, np.zeros(len(X)))
    assert [type(layer) for layer in relu.model_] == [Linear, ReLU, Linear]


def test_early_stopping_holds_out_validation_data():
    X, y = blobs(n_per_class=40)
    clf = MLPClassifier((8,), early_stopping=True, validation_fraction=0.25,
                        n_iter_no_change=3, max_iter=500, learning_rate_init=1e-2,
                        random_state=0).fit(X, y)
    assert "val_loss" in clf.history_.columns
    assert clf.n_iter_ == len(clf.history_) < 500
    assert clf.history_.attrs["best_epoch"] >= 1


def test_history_and_loss_attributes():
    X, y = blobs()
    clf = MLPClassifier((8,), max_iter=4, random_state=0).fit(X, y)
    assert clf.history_["epoch"].tolist() == [1, 2, 3, 4]
    assert clf.loss_ == clf.history_["loss"].iloc[-1]
    assert clf.n_features_in_ == 2


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_every_solver_trains(solver):
    X, y = blobs()
    clf = MLPClassifier((16,), solver=solver, learning_rate_init=1e-2, max_iter=30,
                        random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_bad_parameters_raise_clear_errors():
    X, y = blobs()
    with pytest.raises(UnknownNameError, match="lbfgs"):
        MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(UnknownNameError, match="relu"):
        MLPClassifier(activation="swish").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(10, 0)).fit(X, y)
    with pytest.raises(ValueError, match="batch_size"):
        MLPClassifier(batch_size=0).fit(X, y)


def test_predict_checks_the_number_of_features():
    X, y = blobs()
    clf = MLPClassifier((4,), max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ShapeError, match="X has 3 features, but MLPClassifier is expecting 2 features"):
        clf.predict(np.zeros((2, 3)))


def test_float32_estimator_keeps_float32():
    X, y = blobs()
    clf = MLPClassifier((4,), max_iter=2, dtype=np.float32, random_state=0).fit(X, y)
    assert all(p.dtype == np.float32 for p in clf.model_.parameters())
    assert clf.predict_proba(X).dtype == np.float32


# -- regressor outputs --------------------------------------------------------------------------------
def test_regressor_output_shape_follows_y():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y2 = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    reg1 = MLPRegressor((8,), max_iter=3, random_state=0).fit(X, y2[:, 0])
    assert reg1.predict(X).shape == (50,)
    reg2 = MLPRegressor((8,), max_iter=3, random_state=0).fit(X, y2)
    assert reg2.predict(X).shape == (50, 2) and reg2.n_outputs_ == 2
    assert reg2.score(X, y2) == pytest.approx(sklearn_r2(y2, reg2.predict(X)))


def test_a_column_of_labels_is_raveled_with_a_warning_as_in_scikit_learn():
    from nbfromscratch.estimators._sklearn import DataConversionWarning

    X, y = make_moons(40, rng=0)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y[:, None])
    reference = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    with pytest.raises(ShapeError, match="1-D labels"):
        MLPClassifier().fit(X, np.stack([y, y], axis=1))
