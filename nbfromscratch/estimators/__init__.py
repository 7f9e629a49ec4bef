"""scikit-learn style estimators: ``MLPClassifier`` and ``MLPRegressor``.

Derived in chapter 11, *Digits* (``chapters/11_digits``).

They wrap everything the book builds (``Sequential`` of ``Linear`` and activations, a loss,
an optimizer, :func:`~nbfromscratch.training.fit`) behind scikit-learn's interface and
parameter names, so ``MLPClassifier(hidden_layer_sizes=(100,)).fit(X, y).score(X_test,
y_test)`` works as it does with ``sklearn.neural_network.MLPClassifier``; ``get_params`` /
``set_params`` make them usable with ``sklearn.base.clone`` and model selection tools.
"""

from __future__ import annotations

from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
