"""Show the package's source inside a chapter, so book and package cannot drift apart.

Every chapter that derives a piece ends with ``show_source(...)`` of the package's final
version. The printed source is a stored notebook output; when the package changes, the
stored output no longer matches and the strict re-execution check fails until the chapter
is re-executed (and re-read).

What a reader should see is the math, not the plumbing. So a listing shows the signature,
the first line of the docstring and the body, and leaves out the argument checks that
guard the body (a ``check_...(...)`` call, an ``if ...: raise`` branch, or checks that
``fit`` may skip, ``if not seen.on: check_...(...)``, at the top level of a body), marking
the place with one comment line. ``show_source(obj, full=True)`` shows everything.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

__all__ = ["show_source", "SourceListing"]

CHECKS_LEFT_OUT = "# (argument checks left out; show_source(..., full=True) shows them)"


def _called_name(node: ast.AST) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_check(stmt: ast.stmt) -> bool:
    """An argument check: ``check_x(...)``, ``_check_x(...)``, an ``if`` that only raises, or
    checks that ``fit`` may skip (``if not seen.on: check_x(...)``)."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return _called_name(stmt.value).lstrip("_").startswith(("check", "validate"))
    if isinstance(stmt, ast.If) and not stmt.orelse:
        if ast.unparse(stmt.test) == "not seen.on":
            return all(_is_check(s) for s in stmt.body)
        return all(isinstance(s, ast.Raise) for s in stmt.body)
    if isinstance(stmt, ast.For):  # a loop that only checks: ``for arg in ...: check(arg)``
        return all(_is_check(s) for s in stmt.body) and not stmt.orelse
    return False


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _last(node: ast.stmt) -> int:
    """Last line of a statement (``end_lineno`` is always set by ``ast.parse``)."""
    return node.end_lineno if node.end_lineno is not None else node.lineno


def _replacements(tree: ast.Module, lines: list[str]) -> dict[int, tuple[int, list[str]]]:
    """First line -> (last line, lines shown instead), 1-based: docstrings cut, checks left out."""
    out: dict[int, tuple[int, list[str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _is_docstring(node.body[0]):
            doc = node.body[0]
            assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            text = inspect.cleandoc(str(doc.value.value))
            first_line = text.splitlines()[0] if text else ""
            out[doc.lineno] = (_last(doc), [" " * doc.col_offset + f'"""{first_line}"""'])
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if not isinstance(statements, list):
                continue
            # A check at the top of a function's body is marked; one nested in a block is left
            # out silently, unless the block holds nothing else.
            marked = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and field == "body"
            marked = marked or all(not isinstance(s, ast.stmt) or _is_check(s) for s in statements)
            previous_end = None
            for stmt in statements:
                if not isinstance(stmt, ast.stmt) or not _is_check(stmt):
                    previous_end = None
                    continue
                if previous_end is not None and not any(
                    line.strip() and not line.strip().startswith("#") for line in lines[previous_end: stmt.lineno - 1]
                ):
                    start = max(k for k, (end, _) in out.items() if end == previous_end)
                    out[start] = (_last(stmt), out[start][1])      # one mark for a run of checks
                else:
                    out[stmt.lineno] = (_last(stmt), [" " * stmt.col_offset + CHECKS_LEFT_OUT] if marked else [])
                previous_end = _last(stmt)
    return out


def _listing(code: str) -> str:
    """``code`` with docstrings cut to their first line and argument checks left out."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines()
    replacements = _replacements(tree, lines)
    out: list[str] = []
    number = 1
    while number <= len(lines):
        if number in replacements:
            end, shown = replacements[number]
            out.extend(shown)
            number = end + 1
        else:
            out.append(lines[number - 1])
            number += 1
    return "\n".join(out).rstrip() + "\n"


class SourceListing:
    """The source of one object; rendered as highlighted code in Jupyter and in the book."""

    def __init__(self, obj: Any, full: bool = False) -> None:
        self.name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
        module = inspect.getmodule(obj)
        self.module = module.__name__ if module else "?"
        code = textwrap.dedent(inspect.getsource(obj)).rstrip() + "\n"
        self.code = code if full else _listing(code)

    def __repr__(self) -> str:  # what plain-text front-ends see
        return f"# {self.module}.{self.name}\n{self.code}"

    def _repr_markdown_(self) -> str:
        return f"`{self.module}.{self.name}`\n\n```python\n{self.code}```\n"


def show_source(obj: Any, full: bool = False) -> SourceListing:
    """Return the source of a class, method or function of the package, for display.

    Parameters
    ----------
    obj : class, function or method
        E.g. ``nbfromscratch.Linear.backward``.
    full : bool, default False
        Show the whole source. By default the listing shows the signature, the first line
        of each docstring and the body, and leaves out the argument checks at the top of a
        body (``check_...(...)`` calls, ``if ...: raise`` branches), marked by one comment.

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
    return SourceListing(obj, full=full)
