"""Record the PyTorch parity results that chapter 15 shows when PyTorch is not installed.

Usage (``make torch-parity`` installs the CPU build of torch first, then runs this)::

    .venv/bin/python tools/record_torch_parity.py [--output chapters/data/torch_parity.json]

Runs every case of ``nbfromscratch.torch_parity.CASES`` in float64 and float32 with both
libraries and writes the results as JSON (atomically: a temporary file renamed over the old
one). It refuses to write a recording in which a case fails its tolerance.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from pathlib import Path

from nbfromscratch import torch_parity as tp

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "chapters" / "data" / "torch_parity.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT)
    args = parser.parse_args(argv)
    if not tp.torch_available():
        print("PyTorch is not installed: run `make torch-parity`, which installs it", file=sys.stderr)
        return 1
    results = tp.run_all()
    results["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    failed = [c.name for c in tp.CASES for dt in tp.TOLERANCE
              if not tp.passed(c, results["cases"][c.name][dt], dt)]
    if failed:
        print(f"not recorded: these cases disagree with PyTorch: {failed}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=args.output.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.output)
    print(f"{len(tp.CASES)} cases x {len(tp.TOLERANCE)} dtypes agree with torch {results['torch']}; "
          f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
