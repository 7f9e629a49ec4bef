"""The exceptions the package raises, so callers can catch exactly what they mean.

Every error the package raises on purpose derives from :class:`NBFSError`, and also from
the built-in exception a NumPy user would expect (``ValueError``, ``TypeError``,
``RuntimeError``, ``FloatingPointError``), so ``except ValueError`` keeps working.
The book's Troubleshooting appendix (``chapters/troubleshooting``) lists what causes each
and how to fix it.

Not wrapped, because they are not mistakes in the call: ``FileNotFoundError``/``OSError``
(files and downloads), ``ImportError`` (an optional dependency is missing; the message
names the pip extra) and ``NotImplementedError`` (a custom ``Module`` without ``forward``).
"""

from __future__ import annotations

__all__ = [
    "NBFSError",
    "ShapeError",
    "DTypeError",
    "LabelError",
    "EmptyInputError",
    "NonFiniteError",
    "BackwardBeforeForwardError",
    "UnknownNameError",
    "NotFittedError",
    "WeightsFileError",
    "DataFileError",
    "ParameterError",
    "ArgumentTypeError",
]


class NBFSError(Exception):
    """Base class of every error raised on purpose by ``nbfromscratch``."""


class ShapeError(NBFSError, ValueError):
    """An array has the wrong number of dimensions or the wrong size along one of them."""


class DTypeError(NBFSError, TypeError):
    """An array has a dtype that cannot be used here (e.g. float32 input to a float64 layer)."""


class LabelError(NBFSError, ValueError):
    """Class labels are not integers, or lie outside ``0 .. n_classes - 1``."""


class EmptyInputError(NBFSError, ValueError):
    """An array has no samples (or no features)."""


class NonFiniteError(NBFSError, FloatingPointError, ValueError):
    """NaN or infinity found in data, a loss, a gradient, a weight or a model's outputs.

    Also a ``ValueError``, as scikit-learn raises for NaN/inf in ``X``.
    """


class BackwardBeforeForwardError(NBFSError, RuntimeError):
    """``backward()`` was called on a module or loss whose ``forward()`` has not run."""


class UnknownNameError(NBFSError, ValueError):
    """A string option (activation, optimizer, initialiser, reduction...) is not one we know."""


class NotFittedError(NBFSError, ValueError, AttributeError):
    """An estimator was used for prediction before ``fit()``.

    A ``ValueError`` and an ``AttributeError``, like scikit-learn's ``NotFittedError``
    (when scikit-learn is imported, the estimators raise a subclass of both).
    """


class WeightsFileError(NBFSError, ValueError):
    """A weights file is corrupt, truncated, of another format version or another architecture."""


class DataFileError(NBFSError, ValueError):
    """A downloaded or cached data file fails its checksum or is not in the expected format."""


class ParameterError(NBFSError, ValueError):
    """An option or hyperparameter (not the data) has an invalid value.

    E.g. a negative learning rate, ``batch_size=0``, ``test_size=1.5``, a dropout
    probability of 1, or ``n_classes=0``.
    """


class ArgumentTypeError(NBFSError, TypeError):
    """An argument is the wrong kind of object.

    E.g. the model itself passed where ``model.parameters()`` is expected, a function where
    a layer is expected, or a string where a random generator or seed is expected.
    """
