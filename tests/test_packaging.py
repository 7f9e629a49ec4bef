"""Packaging: licence, metadata, shipped data, install hints that work as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nbfromscratch as nbf

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as a package (in the lock)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_file_is_the_mit_licence_pyproject_declares():
    project = _pyproject()["project"]
    assert project["license"] == "MIT"  # the SPDX expression form (PEP 639)
    assert "LICENSE" in project["license-files"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def test_project_urls_point_to_the_repository_the_book_links():
    urls = _pyproject()["project"]["urls"]
    config = (ROOT / "_config.yml").read_text()
    repo = re.search(r"url:\s*(https://github\.com/\S+)", config).group(1)
    assert urls["Source"] == repo


def test_gitignore_ignores_build_output():
    lines = (ROOT / ".gitignore").read_text().split()
    assert "build/" in lines and "dist/" in lines


def test_digits_data_and_its_licence_are_package_data():
    data = _pyproject()["tool"]["setuptools"]["package-data"]["nbfromscratch"]
    for name in ("_data/digits.csv.gz", "_data/DIGITS-LICENSE.txt"):
        assert name in data
        assert (ROOT / "nbfromscratch" / name).is_file()
    notice = (ROOT / "nbfromscratch/_data/DIGITS-LICENSE.txt").read_text()
    assert "BSD 3-Clause" in notice and "Alpaydin" in notice


def test_load_digits_needs_neither_sklearn_nor_scipy():
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None; sys.modules['scipy'] = None  # any import would fail\n"
        "import nbfromscratch as nbf\n"
        "X, y = nbf.load_digits()\n"
        "print(X.shape, y.shape, X.dtype, y.dtype, X.min(), X.max(), sorted(set(y.tolist())))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "(1797,", "64)", "(1797,)", "float64", "int64", "0.0", "1.0",
        "[0,", "1,", "2,", "3,", "4,", "5,", "6,", "7,", "8,", "9]",
    ]


def test_load_digits_equals_sklearn_load_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X_ref, y_ref = datasets.load_digits(return_X_y=True)
    X, y = nbf.load_digits(scale=False)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    X_scaled, _ = nbf.load_digits()
    np.testing.assert_array_equal(X_scaled, X_ref / 16.0)


def test_install_hints_name_packages_that_exist_on_pypi():
    # nbfromscratch is not on PyPI: a hint "pip install nbfromscratch[...]" cannot work.
    for path in (ROOT / "nbfromscratch").rglob("*.py"):
        assert not re.search(r"pip install nbfromscratch\b", path.read_text()), path


def test_no_extra_pulls_scikit_learn_just_for_data():
    extras = _pyproject()["project"]["optional-dependencies"]
    assert extras["data"] == []
    assert extras["sklearn"] == ["scikit-learn>=1.6"]
