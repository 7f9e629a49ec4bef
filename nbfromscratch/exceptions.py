"""The exceptions the package raises, so callers can catch exactly what they mean.

Every exception also derives from the built-in exception a NumPy user would expect
(``ValueError``, ``TypeError``, ``RuntimeError``), so ``except ValueError`` keeps working.
The book's Troubleshooting appendix lists what causes each and how to fix it.
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


class NonFiniteError(NBFSError, FloatingPointError):
    """NaN or infinity found in data, a loss or a gradient."""


class BackwardBeforeForwardError(NBFSError, RuntimeError):
    """``backward()`` was called on a module or loss whose ``forward()`` has not run."""


class UnknownNameError(NBFSError, ValueError):
    """A string option (activation, optimizer, initialiser, reduction...) is not one we know."""


class NotFittedError(NBFSError, RuntimeError):
    """An estimator was used for prediction before ``fit()``."""


class WeightsFileError(NBFSError, ValueError):
    """A weights file is corrupt, truncated, of another format version or another architecture."""


class DataFileError(NBFSError, ValueError):
    """A downloaded or cached data file fails its checksum or is not in the expected format."""
