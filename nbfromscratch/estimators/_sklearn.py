"""What scikit-learn's tools ask of an estimator, without importing scikit-learn.

``import nbfromscratch`` must stay NumPy-only, so nothing here imports scikit-learn at
module level. scikit-learn asks an estimator for its tags (``__sklearn_tags__``, since
scikit-learn 1.6) only when scikit-learn itself is running, so importing it *inside* that
method costs nothing to users who never touch scikit-learn. Likewise, the errors and
warnings scikit-learn's tools catch by class (``NotFittedError``,
``DataConversionWarning``) are raised as subclasses of scikit-learn's classes only when
scikit-learn is already imported, i.e. when somebody could be catching them.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from ..exceptions import DTypeError, NotFittedError

__all__ = ["sklearn_tags", "not_fitted_error", "DataConversionWarning", "ComplexDataError"]

#: The oldest scikit-learn whose tools these estimators support (``__sklearn_tags__``).
OLDEST_SKLEARN = "1.6"


class ComplexDataError(DTypeError, ValueError):
    """Complex numbers in ``X``: a DTypeError, and a ValueError as scikit-learn raises."""


class DataConversionWarning(UserWarning):
    """A column-vector ``y`` (n, 1) was turned into the 1-D labels a classifier expects."""


def _sklearn_loaded() -> bool:
    return "sklearn" in sys.modules


@cache
def _not_fitted_class() -> type[NotFittedError]:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    return type("NotFittedError", (NotFittedError, SklearnNotFittedError), {
        "__module__": NotFittedError.__module__,
        "__doc__": NotFittedError.__doc__,
    })


def not_fitted_error(message: str) -> NotFittedError:
    """The package's NotFittedError; also scikit-learn's when scikit-learn is in use."""
    return _not_fitted_class()(message) if _sklearn_loaded() else NotFittedError(message)


@cache
def _conversion_warning_class() -> type[Warning]:
    from sklearn.exceptions import DataConversionWarning as SklearnWarning

    return type("DataConversionWarning", (DataConversionWarning, SklearnWarning), {
        "__module__": DataConversionWarning.__module__,
    })


def conversion_warning() -> type[Warning]:
    return _conversion_warning_class() if _sklearn_loaded() else DataConversionWarning


def sklearn_tags(kind: str, multi_output: bool) -> Any:
    """scikit-learn's ``Tags`` for a ``"classifier"`` or ``"regressor"`` on dense float X."""
    from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

    tags = Tags(
        estimator_type=kind,
        target_tags=TargetTags(required=True, multi_output=multi_output,
                               single_output=True),
        classifier_tags=ClassifierTags(multi_class=True, multi_label=False)
        if kind == "classifier" else None,
        regressor_tags=RegressorTags() if kind == "regressor" else None,
    )
    # Dense 2-D float arrays only; NaN/inf and sparse matrices are refused with a clear error.
    tags.input_tags.two_d_array = True
    tags.input_tags.sparse = False
    tags.input_tags.allow_nan = False
    return tags
