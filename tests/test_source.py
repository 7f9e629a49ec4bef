"""show_source: a chapter's listing of the package shows the math, not the plumbing."""

from __future__ import annotations

import ast

import numpy as np

import nbfromscratch as nbf
from nbfromscratch._source import CHECKS_LEFT_OUT, show_source
from nbfromscratch.layers._checks import seen


def example(x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Scale ``x``: the first docstring line is all a listing shows.

    The rest of the docstring (parameters, shapes) stays in the package.
    """
    check_example(x)
    if scale <= 0:
        raise ValueError("scale must be > 0")
    y = x * scale  # (E.1)
    if y.ndim == 2:
        if y.shape[1] == 0:
            raise ValueError("no columns")
        if not seen.on:  # as the layers skip theirs when fit has seen the batch's shape
            check_example(y)
        y = y.sum(axis=1)
    return y



def check_example(x):  # a stand-in for the package's check_* helpers
    return x


def test_listing_keeps_signature_first_docstring_line_and_body():
    code = show_source(example).code
    assert code.splitlines()[0] == "def example(x: np.ndarray, scale: float = 1.0) -> np.ndarray:"
    assert '"""Scale ``x``: the first docstring line is all a listing shows."""' in code
    assert "parameters, shapes" not in code
    assert "y = x * scale  # (E.1)" in code and "return y" in code and "y = y.sum(axis=1)" in code


def test_listing_leaves_out_checks_and_marks_the_place_once():
    code = show_source(example).code
    assert "check_example" not in code and "raise" not in code and "seen.on" not in code
    assert code.count(CHECKS_LEFT_OUT) == 1, code  # the nested check goes without a second mark
    ast.parse(code)  # still reads as Python


def test_full_listing_is_the_whole_source():
    code = show_source(example, full=True).code
    assert "check_example(x)" in code and "parameters, shapes" in code and code.count("raise") == 2
    assert "if not seen.on:" in code


def test_package_listings_shown_by_the_chapters_are_shorter_and_keep_their_formulas():
    for obj, formula in [
        (nbf.Linear.forward, "x @ self.weight.data"),
        (nbf.functional.softmax, "np.exp(e, out=e)"),
        (nbf.CrossEntropyLoss, "grad.reshape(-1)[picked] -= 1"),
    ]:
        short, full = show_source(obj).code, show_source(obj, full=True).code
        assert formula in short
        assert len(short.splitlines()) < len(full.splitlines())
        assert "Parameters\n" not in short and "Returns\n" not in short
