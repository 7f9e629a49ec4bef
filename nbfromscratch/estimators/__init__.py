"""scikit-learn style estimators: ``MLPClassifier`` and ``MLPRegressor``.

Derived in chapter 11, *Digits* (``chapters/11_digits``).

They wrap everything the book builds (``Sequential`` of ``Linear`` and activations, a loss,
an optimizer, :func:`~nbfromscratch.training.fit`) behind scikit-learn's interface and
parameter names, so ``MLPClassifier(hidden_layer_sizes=(100,)).fit(X, y).score(X_test,
y_test)`` works as it does with ``sklearn.neural_network.MLPClassifier``. With scikit-learn
1.6 or newer installed they also work inside its tools (``Pipeline``, ``cross_val_score``,
``GridSearchCV``, ``clone``, ``check_is_fitted``, ``check_estimator``), yet importing them
never imports scikit-learn (see ``_sklearn.py``). :class:`MLPClassifier`'s docstring has a
table of how they differ from scikit-learn's.
"""

from __future__ import annotations

from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
