"""The README's and the introduction's code examples run, and do what they say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("doc", ["README.md", "chapters/intro.md"])
def test_code_examples_run(doc, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no python examples"
    monkeypatch.chdir(tmp_path)  # examples may save files
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, doc, "exec"), namespace)  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out.split()
    # The three-line quick start prints the test accuracy on the digits: it must be good.
    assert printed, f"{doc}: the quick start printed nothing"
    assert float(printed[0]) >= 0.97
