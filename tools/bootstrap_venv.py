"""Create the project's virtual environment with uv in it, from nothing but Python 3.

``make`` runs this before installing the lock (requirements.txt) into ``.venv``::

    python3 tools/bootstrap_venv.py .venv --uv 0.13.9

1. It stops at once, with one line naming the versions that work, on an unsupported Python.
2. It creates ``.venv`` (or reuses it when it already runs this Python's version).
3. It installs uv into it with the venv's pip. Stock Debian and Ubuntu ship ``python3``
   without ``ensurepip`` (it lives in the separate ``python3-venv`` package), so a venv made
   there has no pip: then the venv is made ``--without-pip`` and pip's own wheel, pinned by
   its SHA-256 below, is fetched from PyPI and run straight from the wheel file, as
   ``get-pip.py`` does.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

SUPPORTED = ((3, 10), (3, 11), (3, 12), (3, 13))
# pip's wheel, only for a Python without ensurepip. Pure Python, so one file fits every platform.
PIP_WHEEL = "pip-25.3-py3-none-any.whl"
PIP_SHA256 = "9655943313a94722b7774661c21049070f6bbb0a1516bf02f7c8d5d9201514cd"
PIP_INDEX = "https://pypi.org/simple/pip/"


def supported_versions() -> str:
    return ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED)


def check_python() -> None:
    if sys.version_info[:2] not in SUPPORTED:
        sys.exit(
            f"error: Python {sys.version_info[0]}.{sys.version_info[1]} ({sys.executable}) is not "
            f"supported; use one of {supported_versions()}, e.g. make PYTHON=python3.12"
        )


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def same_version(python: Path) -> bool:
    """Whether an existing venv runs this interpreter's major.minor version."""
    if not python.exists():
        return False
    out = subprocess.run(
        [str(python), "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
    )
    return out.returncode == 0 and out.stdout.split() == [str(v) for v in sys.version_info[:2]]


def has_pip(python: Path) -> bool:
    return subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode == 0


def fetch_pip_wheel(dest: Path) -> Path:
    """Download pip's pinned wheel from PyPI's simple index and check its hash."""
    request = urllib.request.Request(PIP_INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    url = next(f["url"] for f in files if f["filename"] == PIP_WHEEL)
    wheel = dest / PIP_WHEEL
    with urllib.request.urlopen(url, timeout=120) as response, open(wheel, "wb") as out:
        shutil.copyfileobj(response, out)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != PIP_SHA256:
        sys.exit(f"error: {PIP_WHEEL} from PyPI has SHA-256 {digest}, expected {PIP_SHA256}")
    return wheel


def create(venv_dir: Path) -> Path:
    python = venv_python(venv_dir)
    if not same_version(python):
        if venv_dir.exists():
            shutil.rmtree(venv_dir)
        try:
            import ensurepip  # noqa: F401  (absent on stock Debian/Ubuntu)

            with_pip = True
        except ImportError:
            with_pip = False
        venv.EnvBuilder(with_pip=with_pip).create(venv_dir)
    return python


def install_uv(python: Path, uv_version: str) -> None:
    pip_args = ["install", "--quiet", "--disable-pip-version-check", f"uv=={uv_version}"]
    if has_pip(python):
        subprocess.run([str(python), "-m", "pip", *pip_args], check=True)
        return
    print("This Python has no ensurepip: fetching pip's wheel from PyPI to install uv.", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_pip_wheel(Path(tmp))
        # A wheel is a zip that Python can run from: its pip installs itself and uv.
        subprocess.run([str(python), f"{wheel}/pip", *pip_args, str(wheel)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("venv", type=Path)
    parser.add_argument("--uv", required=True, help="the uv version to install")
    parser.add_argument("--check-only", action="store_true", help="only check the Python version")
    args = parser.parse_args(argv)
    check_python()
    if not args.check_only:
        install_uv(create(args.venv), args.uv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
