"""Show the package's source inside a chapter, so book and package cannot drift apart.

Every chapter that derives a piece ends with ``show_source(...)`` of the package's final
version. The printed source is a stored notebook output; when the package changes, the
stored output no longer matches and the strict nbval run in ``make test`` fails until the
chapter is re-executed (and re-read).
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

__all__ = ["show_source", "SourceListing"]


class SourceListing:
    """The source of one object; rendered as highlighted code in Jupyter and in the book."""

    def __init__(self, obj: Any) -> None:
        self.name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
        module = inspect.getmodule(obj)
        self.module = module.__name__ if module else "?"
        self.code = textwrap.dedent(inspect.getsource(obj)).rstrip() + "\n"

    def __repr__(self) -> str:  # what plain-text front-ends (and nbval) see
        return f"# {self.module}.{self.name}\n{self.code}"

    def _repr_markdown_(self) -> str:
        return f"`{self.module}.{self.name}`\n\n```python\n{self.code}```\n"


def show_source(obj: Any) -> SourceListing:
    """Return the source of a class, method or function of the package, for display.

    Parameters
    ----------
    obj : class, function or method
        E.g. ``nbfromscratch.Linear.backward``.

    Returns
    -------
    SourceListing
        Displays as syntax-highlighted code in a notebook; ``repr`` is the plain source.

    Examples
    --------
    >>> from nbfromscratch import show_source
    >>> from nbfromscratch.functional import relu
    >>> print(repr(show_source(relu)).splitlines()[0])
    # nbfromscratch.functional.relu
    """
    return SourceListing(obj)
