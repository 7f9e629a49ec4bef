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
            assert "raises-exception" in tags(cell), (
                f"{path.name}, code cell {i}: stores an error ({errors[0]['ename']}) but is not "
                "tagged raises-exception"
            )


# --- No test harness on the page -------------------------------------------------------------
# What nbval needs lives in cell tags (metadata.tags: nbval-ignore-output, raises-exception,
# nbval-skip), which the reader never sees; talk about the tests belongs in the README.
#
# Pages exempt from the harness checks: none (every chapter follows the rules).
HARNESS_ALLOWLIST: set[str] = set()
HARNESS_WORDS = re.compile(r"nbval|pytest|test suite|the book's tests|make test", re.I)
# A tqdm line: "desc:  20%|##   | 39/200 [00:00<00:01, 785.50epoch/s, ...]".
PROGRESS_BAR = re.compile(r"(\d+)%\|[^|\n]*\|\s*(\d+)/(\d+)([^\n]*)")


def toc_pages() -> list[Path]:
    return [
        ROOT / f"{entry}{suffix}"
        for entry in toc_entries() for suffix in (".ipynb", ".md")
        if (ROOT / f"{entry}{suffix}").exists()
    ]


TOC_PAGES = toc_pages()
TOC_NOTEBOOKS = [p for p in TOC_PAGES if p.suffix == ".ipynb"]


def markdown_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    return [source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def output_text(output: dict) -> str:
    if "text" in output:
        return "".join(output["text"])
    return "".join(output.get("data", {}).get("text/plain", ""))


def skip_allowlisted(path: Path) -> None:
    if path.stem in HARNESS_ALLOWLIST:
        pytest.skip(f"{path.name}: on the temporary allowlist (edited on another branch)")


def progress_bar_problem(text: str) -> str | None:
    """Why a stored output's progress bar must not be on the page, or None."""
    for line in text.replace("\r", "\n").splitlines():
        bar = PROGRESS_BAR.search(line)
        if not bar:
            continue
        percent, done, total, rest = bar.groups()
        if percent != "100" or done != total:
            return f"unfinished progress bar {line.strip()!r}"
        if re.search(r"\d\d:\d\d|/s\b|s/", rest):
            return f"progress bar with timings {line.strip()!r}"
    return None


@pytest.mark.parametrize("path", TOC_NOTEBOOKS, ids=lambda p: p.name)
def test_no_nbval_comment_in_any_code_cell(path):
    skip_allowlisted(path)
    marked = [i for i, c in enumerate(code_cells(load(path))) if "NBVAL" in source(c)]
    assert not marked, (
        f"{path.name}, code cells {marked}: a '# NBVAL_...' comment shows on the page; "
        "use the cell tag (nbval-ignore-output, raises-exception, nbval-skip) instead"
    )


@pytest.mark.parametrize("path", TOC_PAGES, ids=lambda p: p.name)
def test_no_test_harness_talk_in_the_prose(path):
    skip_allowlisted(path)
    hits = [m.group(0) for text in markdown_of(path) for m in HARNESS_WORDS.finditer(text)]
    assert not hits, f"{path.name}: the page talks about the book's tests ({hits}); keep that in the README"


@pytest.mark.parametrize("path", TOC_NOTEBOOKS, ids=lambda p: p.name)
def test_no_unfinished_or_timed_progress_bar_is_stored(path):
    skip_allowlisted(path)
    for i, cell in enumerate(code_cells(load(path))):
        for output in cell.get("outputs", []):
            problem = progress_bar_problem(output_text(output))
            assert problem is None, f"{path.name}, code cell {i}: stores an {problem}; pass progress=False"


def test_the_harness_checks_can_fail():
    assert HARNESS_WORDS.search("the book's test suite masks it")
    assert HARNESS_WORDS.search("checked by nbval")
    assert "unfinished" in progress_bar_problem("\rfit:  20%|#9        | 39/200 [00:00<00:00, 785.50epoch/s]")
    assert "timings" in progress_bar_problem("fit: 100%|##########| 60/60 [00:00<00:00, 794.96epoch/s]")
    assert progress_bar_problem("fit: 100%|##########| 60/60") is None
    assert progress_bar_problem("accuracy 0.97 after 40 epochs") is None


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


# --- One repository address ------------------------------------------------------------------
# _config.yml's repository.url is the one definition (the launch and repository buttons use
# it); the chapters' install cells and the Getting started page must say the same.
def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n(?:\s+.*\n)*?\s+url:\s*(\S+)", text, flags=re.M)
    assert match, "_config.yml has no repository.url"
    return match.group(1)


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_install_cell_uses_the_repository_url_of_config(path):
    install = source(code_cells(load(path))[0])
    urls = re.findall(r"git\+(https?://[^\s\"']+)", install)
    assert urls == [repository_url()], (
        f"{path.name}: the install cell installs from {urls}, but _config.yml's repository.url is "
        f"{repository_url()}"
    )


def test_getting_started_uses_the_repository_url_of_config():
    text = (CHAPTERS / "getting_started.md").read_text()
    urls = set(re.findall(r"https://github\.com/[^\s\"'`)]+", text))
    assert urls == {repository_url()}, f"getting_started.md names {urls}, _config.yml {repository_url()}"


# --- Accessibility: every figure is described ------------------------------------------------
# myst-nb reads a code cell's metadata "mystnb": {"image": {"alt": ...}, "figure": {"caption": ...}}
# and renders the output image as a figure with that alt text and caption.
@pytest.mark.parametrize("path", TOC_NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_alt_text_and_a_caption(path):
    skip_allowlisted(path)
    for i, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        if not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            continue
        render = cell.get("metadata", {}).get("mystnb", {})
        alt = render.get("image", {}).get("alt", "")
        caption = render.get("figure", {}).get("caption", "")
        assert len(alt.split()) >= 8 and not re.search(r"\.(png|svg|jpe?g)\b", alt), (
            f"{path.name}, cell {i}: a figure needs alt text that describes it (what is plotted "
            f"against what, and what it shows), not {alt!r}"
        )
        assert caption, f"{path.name}, cell {i}: a figure needs a caption"


@pytest.mark.parametrize("path", TOC_PAGES, ids=lambda p: p.name)
def test_inline_code_spans_are_closed(path):
    # An unclosed ` swallows the rest of the paragraph on the page (a generated "Check:" line did).
    for i, text in enumerate(markdown_of(path)):
        outside_fences = re.sub(r"```.*?```|~~~.*?~~~", "", text, flags=re.S)
        assert outside_fences.count("`") % 2 == 0, f"{path.name}, markdown cell {i}: unbalanced backtick"
