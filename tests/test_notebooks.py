"""Static checks of the committed notebooks: what nbval alone would let through.

nbval re-executes every notebook and compares outputs (``make test`` runs it strictly), but
it silently skips cells that were never executed, and it cannot know whether a notebook is in
the book at all. These tests pin that down.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
NOTEBOOKS = sorted(p for p in CHAPTERS.glob("*.ipynb"))
NUMBERED = [p for p in NOTEBOOKS if re.match(r"\d\d_", p.name)]


def toc_entries() -> list[str]:
    text = (ROOT / "_toc.yml").read_text()
    return re.findall(r"^\s*-?\s*(?:file|root):\s*([^\s#]+)", text, flags=re.M)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters():
    assert NUMBERED, "no numbered chapter notebooks found in chapters/"


def test_every_toc_entry_exists():
    missing = [
        e for e in toc_entries()
        if not any((ROOT / f"{e}{suffix}").exists() for suffix in (".ipynb", ".md"))
    ]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_notebook_and_page_is_in_the_toc():
    entries = set(toc_entries())
    pages = sorted(CHAPTERS.glob("*.ipynb")) + sorted(CHAPTERS.glob("*.md"))
    orphans = [str(p.relative_to(ROOT)) for p in pages if str(p.relative_to(ROOT).with_suffix("")) not in entries]
    assert not orphans, f"not in _toc.yml, so readers never see them: {orphans}"


def test_no_page_is_listed_twice_in_the_toc():
    entries = toc_entries()
    twice = sorted({e for e in entries if entries.count(e) > 1})
    assert not twice, f"listed more than once in _toc.yml: {twice}"


def test_chapters_appear_in_the_toc_in_numeric_order():
    numbered = [e for e in toc_entries() if re.match(r"chapters/\d\d_", e)]
    assert numbered == sorted(numbered)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_was_executed_top_to_bottom(path):
    counts = [c.get("execution_count") for c in code_cells(load(path))]
    assert None not in counts, (
        f"{path.name}: {counts.count(None)} code cell(s) never executed (nbval skips those); "
        "run `make notebooks`"
    )
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ...: re-run it top to bottom"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stores_no_unexpected_error(path):
    for i, cell in enumerate(code_cells(load(path))):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if errors:
            assert "NBVAL_RAISES_EXCEPTION" in source(cell), (
                f"{path.name}, code cell {i}: stores an error ({errors[0]['ename']}) but is not "
                "marked # NBVAL_RAISES_EXCEPTION"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_say_why(path):
    # nbval only honours the marker alone on its line; the reason goes on the next comment line.
    for i, cell in enumerate(code_cells(load(path))):
        lines = [line.strip() for line in source(cell).splitlines()]
        for j, line in enumerate(lines):
            if "NBVAL_IGNORE_OUTPUT" not in line:
                continue
            assert line == "# NBVAL_IGNORE_OUTPUT", (
                f"{path.name}, code cell {i}: nbval ignores {line!r}; the marker must be alone on its line"
            )
            reason = lines[j + 1] if j + 1 < len(lines) else ""
            assert reason.startswith("#") and len(reason.lstrip("# ")) >= 10, (
                f"{path.name}, code cell {i}: the line after '# NBVAL_IGNORE_OUTPUT' must say why it varies"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_project_kernel_and_no_timing_metadata(path):
    nb = load(path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    timed = [i for i, c in enumerate(nb["cells"]) if "execution" in c.get("metadata", {})]
    assert not timed, f"{path.name}: cells {timed} carry timing metadata; run `make notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_avoids_global_random_state_and_path_hacks(path):
    for i, cell in enumerate(code_cells(load(path))):
        src = source(cell)
        assert "np.random.seed" not in src, f"{path.name}, cell {i}: use np.random.default_rng(seed)"
        assert "sys.path.append" not in src and "sys.path.insert" not in src, (
            f"{path.name}, cell {i}: import the installed package instead of editing sys.path"
        )


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_chapter_starts_with_a_hidden_setup_cell_for_colab_and_binder(path):
    first_code = code_cells(load(path))[0]
    assert "remove-cell" in first_code.get("metadata", {}).get("tags", []), (
        f"{path.name}: the first code cell (install the package when missing) must be tagged remove-cell"
    )
    assert "nbfromscratch" in source(first_code) and "pip" in source(first_code)


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_chapter_ends_with_summary_and_exercises(path):
    nb = load(path)
    headings = [
        line.lstrip("#").strip().lower()
        for c in nb["cells"] if c["cell_type"] == "markdown"
        for line in source(c).splitlines() if line.startswith("#")
    ]
    assert any(h.startswith("summary") for h in headings), f"{path.name}: no 'Summary' heading"
    assert any(h.startswith("exercises") for h in headings), f"{path.name}: no 'Exercises' heading"
    hidden = [
        c for c in nb["cells"]
        if c["cell_type"] == "code" and "hide-cell" in set(c.get("metadata", {}).get("tags", []))
    ]
    assert hidden, f"{path.name}: exercise solutions must be runnable code cells tagged hide-cell"


def test_make_test_runs_nbval_strictly():
    makefile = (ROOT / "Makefile").read_text()
    assert "--nbval " in makefile or "--nbval\n" in makefile
    assert "--nbval-lax" not in makefile
    assert "nbval_sanitize.cfg" in makefile
