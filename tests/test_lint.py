"""The pinned linter (ruff, see requirements.txt and [tool.ruff] in pyproject.toml) passes:
pyflakes, import order and pycodestyle errors, over the package and every tool around it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["nbfromscratch", "tests", "tools", "benchmarks", "_ext"]


@pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None,
    reason="ruff is not installed: `make venv` installs the pinned version from requirements.txt",
)
def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *CHECKED],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
