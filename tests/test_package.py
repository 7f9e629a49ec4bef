"""Package-wide promises: a NumPy-only core, documented public API that points into the book."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nbfromscratch

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = {p.stem for p in (ROOT / "chapters").glob("*.ipynb")}


def test_core_imports_numpy_only():
    # The core must not pull in plotting, data-frame or ML libraries: it is NumPy only.
    code = (
        "import sys\n"
        "import nbfromscratch.functional, nbfromscratch.layers, nbfromscratch.losses, nbfromscratch.optim\n"
        "heavy = [m for m in ('pandas', 'matplotlib', 'seaborn', 'sklearn', 'scipy', 'tqdm') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the core imported {out.stdout.strip()}"


def test_importing_the_package_does_not_import_plotting_or_sklearn():
    code = (
        "import sys, nbfromscratch\n"
        "print(','.join(m for m in ('matplotlib', 'seaborn', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import nbfromscratch imported {out.stdout.strip()}"


def _public_objects():
    for name in sorted(getattr(nbfromscratch, "__all__", [])):
        obj = getattr(nbfromscratch, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield name, obj


@pytest.mark.parametrize("name,obj", list(_public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_api_is_documented(name, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc) > 20, f"nbfromscratch.{name} has no real docstring"


@pytest.mark.parametrize("name,obj", list(_public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_docstring_chapter_references_exist(name, obj):
    # Docstrings point back into the book ("Derived in chapter 5 ... chapters/05_backpropagation");
    # every chapter they name must exist.
    doc = inspect.getdoc(obj) or ""
    for stem in re.findall(r"chapters/([0-9]{2}_[a-z0-9_]+)", doc):
        assert stem in CHAPTERS, f"nbfromscratch.{name} points to chapters/{stem}, which does not exist"


def test_package_ships_type_information():
    assert (Path(nbfromscratch.__file__).parent / "py.typed").exists()


def test_package_passes_mypy(tmp_path):
    # The package is typed (py.typed ships with it): the annotations must also be right.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path), "nbfromscratch"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
