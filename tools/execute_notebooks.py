"""Re-execute the book's notebooks in place, top to bottom, in the order of ``_toc.yml``.

Usage (from the repository root, with the project's venv; ``make notebooks`` does this)::

    .venv/bin/python tools/execute_notebooks.py                 # every notebook in the toc
    .venv/bin/python tools/execute_notebooks.py chapters/03_softmax.ipynb   # just these

Each notebook runs in a fresh ``python3`` kernel from this venv with ``chapters/`` as the
working directory. Outputs are replaced; timing metadata is not recorded, so re-running an
unchanged notebook changes nothing but what truly varies (which the nbval sanitize file
``tests/nbval_sanitize.cfg`` masks).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def toc_notebooks() -> list[Path]:
    """The notebooks listed in ``_toc.yml``, in book order."""
    text = (ROOT / "_toc.yml").read_text()
    entries = re.findall(r"^\s*-?\s*(?:file|root):\s*([^\s#]+)", text, flags=re.M)
    paths = [ROOT / f"{e}.ipynb" for e in entries]
    return [p for p in paths if p.exists()]


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    for cell in nb.cells:  # drop stale per-cell timing left by other front-ends
        cell.get("metadata", {}).pop("execution", None)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or toc_notebooks()
    total = 0.0
    for path in paths:
        print(f"executing {path.relative_to(ROOT)} ...", end=" ", flush=True)
        seconds = execute(path)
        total += seconds
        print(f"{seconds:.1f} s")
    print(f"{len(paths)} notebook(s) executed in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
