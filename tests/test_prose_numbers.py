"""Numbers in a chapter's prose come from its code (myst-nb ``glue``), never typed by hand.

A number typed into a sentence drifts: the code below it is re-run with other data, seeds or
library versions, and the sentence keeps saying the old value. The chapters therefore glue
every result they quote: the code cell calls ``glue("name", value, display=False)`` and the
markdown says ``{glue:text}`name:.3f```, which the book fills in from the stored output.

The rule this file enforces, for the markdown cells of every notebook in ``_toc.yml``:

* A *decimal* (``0.983``, ``1,437.5``), a *percentage* (``52%``, ``20 %``) or a *ratio*
  (``1.9x``, ``3×``) typed in running text must be glued instead.
* Not counted: math (``$...$``, ``$$...$$``), inline and fenced code, MyST roles (a glued value,
  a citation), link targets, headings, equation references such as ``(4.12)`` or
  ``equations 5.3 to 5.5``, a cited book's ``section 8.1.3``, and everything from the
  "Exercises" heading on (exercises state their own inputs). A derivation's constant
  (``2/30 ≈ 7%``) belongs in math, where it is.
* Integers are not counted: sizes, epochs, seeds and counts are mostly inputs, and glueing
  each would bury the prose. Results that are integers are printed by the cell beside them.
* ``INPUTS`` lists, per chapter, the few typed numbers that are *inputs* the code is given
  (a noise level, a learning rate, a threshold), each with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Chapters exempt from the rule: none.
ALLOWLIST_CHAPTERS: set[str] = set()

# Typed numbers that are inputs of the code, not outputs, per chapter.
INPUTS: dict[str, set[str]] = {
    "09_two_moons": {
        "0.1",    # the noise level passed to make_moons
        "0.01",   # Adam's learning rate, an input of fit
    },
    "10_regressing_sinc": {
        "20%",    # the threshold "within 20% of the noise floor" is the 1.2 * s**2 the code uses
    },
    "11_digits": {
        "20%",    # the test fraction passed to train_test_split (test_size=0.2)
    },
}

NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?\s?[x×](?!\w)|\d+(?:\.\d+)?\s?%|\d+(?:,\d{3})*\.\d+)")
EQUATION_REF = re.compile(
    r"\(?\b(?:equations?\s+)?\d+\.\d+(?:\s*(?:,|-|–|to|and)\s*\(?\d+\.\d+\)?)*(?:\s+of\b)?\)?",
    flags=re.I,
)


def toc_notebooks() -> list[Path]:
    text = (ROOT / "_toc.yml").read_text()
    entries = re.findall(r"^\s*-?\s*(?:file|root):\s*([^\s#]+)", text, flags=re.M)
    return [ROOT / f"{e}.ipynb" for e in entries if (ROOT / f"{e}.ipynb").exists()]


def prose(markdown: str) -> str:
    """The running text of a markdown cell: what a typed number could hide in."""
    text = re.sub(r"```.*?```|~~~.*?~~~", " ", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", " ", text, flags=re.S)
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", text)      # roles: glue, cite, doc, term
    text = re.sub(r"`[^`]*`", " ", text)                 # inline code
    text = re.sub(r"\]\([^)]*\)", "]", text)             # link targets
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)    # headings
    # Equation references: "(4.12)", "equation 2.3 of", "(5.3)-(5.5)", "equations 5.3 to 5.5".
    text = re.sub(r"\((?:equations?\s+)?\d+\.\d+(?:\s*(?:,|-|–|to|and)\s*\d+\.\d+)*(?:\s+of)?\s*\)", " ", text,
                  flags=re.I)
    text = re.sub(r"\(\d+\.\d+\)\s*(?:-|–|to|and)\s*\(\d+\.\d+\)", " ", text)
    text = re.sub(r"\bequations?\s+\(?\d+\.\d+\)?(?:\s*(?:,|-|–|to|and)\s*\(?\d+\.\d+\)?)*", " ", text, flags=re.I)
    text = re.sub(r"\bsections?\s+\d+(?:\.\d+)+", " ", text, flags=re.I)   # a cited book's section
    return text


def typed_numbers(markdown_cells: list[str]) -> list[tuple[int, str, str]]:
    """(cell index, number, context) for every typed number before the Exercises heading."""
    found = []
    for i, markdown in enumerate(markdown_cells):
        exercises = re.search(r"^#+\s*Exercises", markdown, flags=re.M)
        text = prose(markdown[: exercises.start()] if exercises else markdown)
        for match in NUMBER.finditer(text):
            context = " ".join(text[max(0, match.start() - 40): match.end() + 20].split())
            found.append((i, match.group(1).replace(" ", ""), context))
        if exercises:
            break
    return found


def markdown_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown"]


def glued_names(path: Path) -> set[str]:
    names = set()
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                names.add(scrapbook["name"])
    return names


NOTEBOOKS = toc_notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_prose_types_no_number_that_the_code_computes(path):
    if path.stem in ALLOWLIST_CHAPTERS:
        pytest.skip(f"{path.name}: on the temporary allowlist (edited on another branch)")
    allowed = INPUTS.get(path.stem, set())
    typed = [(i, n, ctx) for i, n, ctx in typed_numbers(markdown_cells(path)) if n not in allowed]
    assert not typed, (
        f"{path.name}: numbers typed into the prose (glue them from the code, or list an input "
        f"in INPUTS with its reason): " + "; ".join(f"markdown cell {i}: {n!r} in '...{ctx}...'" for i, n, ctx in typed)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_value_the_prose_quotes_is_stored(path):
    quoted = {
        m.group(1).split("::")[-1]
        for text in markdown_cells(path)
        for m in re.finditer(r"\{glue(?::\w+)?\}`([^`:]+(?:::[^`:]+)?)(?::[^`]*)?`", text)
    }
    missing = sorted(quoted - glued_names(path))
    assert not missing, f"{path.name}: the prose quotes {missing}, which no stored output glues; re-execute it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glued_numbers_are_plain_numbers_the_format_spec_can_format(path):
    # glue(np.float64(x)) stores 'np.float64(x)', which {glue:text}`name:.3f` cannot format.
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            text = "".join(output["data"].get("application/papermill.record/text/plain", ""))
            assert not text.startswith("np."), (
                f"{path.name}: glued {scrapbook['name']!r} is {text!r}; glue float(value)"
            )


def test_the_rule_catches_typed_results_and_spares_the_rest():
    caught = [n for _, n, _ in typed_numbers(["The ratio was 1.92x and 52% of the epoch; accuracy 0.983."])]
    assert caught == ["1.92x", "52%", "0.983"]
    spared = [
        "Equation (4.12) and equations 5.3 to 5.5 and (5.3)-(5.5), (3.3, 3.4) and equation 2.3 of ch 2.",
        "It loses $2/30 \\approx 7\\%$ per step, `lr=0.01`, {glue:text}`acc:.3f`.",
        "## Section 2.5\nWe train 40 epochs on 1,437 images, as in section 8.1.3 of the book.",
        "Done.\n\n## Exercises\n\n1. Try lr 0.05 and 20% noise.",
    ]
    assert typed_numbers(spared) == []
