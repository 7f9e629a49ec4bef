"""The estimators inside scikit-learn's own tools (scikit-learn is a client, never a dependency)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_predict,
    cross_val_score,
)
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

import nbfromscratch as nbf  # noqa: E402
from nbfromscratch.estimators import MLPClassifier, MLPRegressor  # noqa: E402


def animals(n_per_class=20, seed=0):
    """Three separated Gaussian blobs with string labels, on a large scale (needs scaling)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 40.0], [40.0, -20.0], [-40.0, -20.0]])
    X = np.concatenate([c + rng.normal(scale=5.0, size=(n_per_class, 2)) for c in centers])
    y = np.repeat(np.array(["dog", "cat", "bird"]), n_per_class)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor()], ids=lambda e: type(e).__name__)
def test_check_estimator_passes_every_check(estimator):
    with warnings.catch_warnings():
        # scikit-learn notes that we do not inherit from its BaseEstimator: on purpose,
        # so that the package never imports scikit-learn.
        warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert failed == {}
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) >= 50  # the checks really ran (only the array-API one is skipped)


def test_pipeline_predicts_and_scores_string_labels():
    X, y = animals()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), random_state=0,
                                                         learning_rate_init=1e-2, max_iter=50))
    assert pipe.fit(X, y).score(X, y) == 1.0
    assert set(pipe.predict(X)) == {"bird", "cat", "dog"}
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_cross_val_score_and_predict_give_finite_scores_and_labels():
    X, y = animals()
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0, learning_rate_init=1e-2,
                        max_iter=50)
    pipe = make_pipeline(StandardScaler(), clf)
    scores = cross_val_score(pipe, X, y, cv=3, error_score="raise")
    assert np.isfinite(scores).all() and scores.min() >= 0.9
    predicted = cross_val_predict(pipe, X, y, cv=3)
    assert predicted.dtype.kind == "U" and np.mean(predicted == y) >= 0.9


def test_grid_search_over_a_pipeline_picks_the_better_network():
    # One hidden unit with identity activation cannot separate three classes; 16 ReLUs can.
    X, y = animals()
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(random_state=0, learning_rate_init=1e-2, max_iter=60))])
    grid = {"mlp__hidden_layer_sizes": [(1,), (16,)], "mlp__activation": ["identity", "relu"]}
    search = GridSearchCV(pipe, grid, cv=3, error_score="raise").fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ != {"mlp__hidden_layer_sizes": (1,), "mlp__activation": "identity"}
    assert search.best_score_ >= 0.95


def test_randomized_search_on_a_regressor_gives_finite_r2():
    X, y = nbf.make_sinc(120, noise=0.05, rng=0)
    search = RandomizedSearchCV(
        MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", random_state=0, max_iter=80,
                     learning_rate_init=1e-2),
        {"alpha": [0.0, 1e-4, 1e-3], "batch_size": [16, 32]},
        n_iter=3, cv=3, random_state=0, error_score="raise",
    ).fit(X, y.ravel())
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_clone_and_estimator_type():
    clf = MLPClassifier(hidden_layer_sizes=(7,), alpha=0.5)
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    assert is_classifier(clf) and not is_regressor(clf)
    assert is_regressor(MLPRegressor()) and not is_classifier(MLPRegressor())
    assert is_classifier(make_pipeline(StandardScaler(), clf))


def test_not_fitted_error_is_sklearns_and_a_value_and_attribute_error():
    clf = MLPClassifier()
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(clf)
    with pytest.raises(SklearnNotFittedError) as info:
        clf.predict(np.zeros((2, 3)))
    assert isinstance(info.value, nbf.NotFittedError)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
    X, y = animals()
    clf.set_params(max_iter=2).fit(X, y)
    check_is_fitted(clf)  # no error once fitted


def test_confusion_matrix_display_from_estimator_with_string_labels():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    X, y = animals()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), random_state=0,
                                                         learning_rate_init=1e-2, max_iter=50))
    pipe.fit(X, y)
    display = ConfusionMatrixDisplay.from_estimator(pipe, X, y)
    assert list(display.display_labels) == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(display.confusion_matrix, np.diag([20, 20, 20]))
    plt.close("all")


def test_nan_and_inf_input_raise_a_value_error_naming_x():
    X, y = animals()
    clf = MLPClassifier(max_iter=2)
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 1] = bad
        with pytest.raises(ValueError, match=r"X contains 1 NaN/inf value\(s\), the first at index \(3, 1\)"):
            clf.fit(X_bad, y)


def test_sparse_input_is_refused_clearly():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = animals()
    with pytest.raises(TypeError, match="sparse input .* not supported.*X.toarray()"):
        MLPClassifier(max_iter=2).fit(sparse.csr_matrix(X), y)
    clf = MLPClassifier(max_iter=2).fit(X, y)
    with pytest.raises(nbf.NBFSError, match="sparse"):
        clf.predict(sparse.csr_array(X))


def test_estimators_work_without_importing_sklearn():
    code = (
        "import sys\n"
        "import numpy as np, nbfromscratch as nbf\n"
        "X, y = nbf.make_moons(60, rng=0)\n"
        "clf = nbf.MLPClassifier(max_iter=3).fit(X, y.astype(str))\n"
        "clf.predict(X)\n"
        "try:\n"
        "    nbf.MLPRegressor().predict(X)\n"
        "except nbf.NotFittedError as err:\n"
        "    assert isinstance(err, AttributeError)\n"
        "print('sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
