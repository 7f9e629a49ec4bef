# The two commands a reader needs:  make book   and   make test.
# Both create .venv from the pinned lock requirements.txt on first use (nothing else is assumed
# but python3 and make), and reuse it while the lock and pyproject.toml are unchanged.
# Supported: CPython 3.10-3.13 (tools/bootstrap_venv.py refuses others in one line).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9
# pytest-xdist workers: the notebooks and the tests run in parallel on every core.
JOBS   ?= auto

.PHONY: help venv book test test-package test-notebooks notebooks bench lock check-lock clean

help:
	@echo "make book       build the HTML book into _build/html (sets up .venv first)"
	@echo "make test       run every test: package, notebooks (nbval, strict), book build, HTML checks"
	@echo "make notebooks  re-execute every notebook in chapters/ in place, in book order"
	@echo "make bench      benchmark against PyTorch and scikit-learn (installs torch into .venv first)"
	@echo "make lock       re-make the lock requirements.txt from requirements.in, for Python 3.10-3.13"
	@echo "make clean      remove _build and caches (keeps .venv)"
	@echo "make torch      install PyTorch (CPU) into .venv: chapter 15 and its parity tests then run live"
	@echo "make torch-parity  re-record chapter 15's PyTorch comparison (installs torch first)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml tools/bootstrap_venv.py
	@$(PYTHON) tools/bootstrap_venv.py $(VENV) --uv $(UV_VERSION) --check-only
	$(PYTHON) tools/bootstrap_venv.py $(VENV) --uv $(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python -r requirements.txt
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going --builder html
	@echo "The book is at: $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile tests chapters \
	    --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    -p no:cacheprovider

test-package: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) tests -m "not book"

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile chapters \
	    --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

notebooks: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py

# PyTorch is only for the benchmark, never for the book or the tests. pip (not uv) installs it:
# pip takes the CPU wheel this machine keeps on disk, where uv would download a CUDA build.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e ".[bench]"
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The lock is universal: one file, with environment markers where a package's newest version
# needs a newer Python. uv keeps every pin already in requirements.txt unless asked otherwise
# (make lock LOCK_ARGS=--upgrade, or --upgrade-package NAME).
LOCK_PYTHON := 3.10
lock: $(STAMP)
	$(BIN)/uv pip compile --universal --python-version $(LOCK_PYTHON) $(LOCK_ARGS) \
	    requirements.in -o requirements.txt

# Whether the lock resolves for an interpreter without installing it: make check-lock PY=/usr/bin/python3
check-lock: $(STAMP)
	$(BIN)/uv pip install --quiet --dry-run --python $(PY) --target $(CURDIR)/_build/lock-check -r requirements.txt
	@echo "The lock resolves for $(PY)."

# PyTorch for chapter 15 and tests/test_torch_parity.py: optional. Without it the parity tests
# are skipped and the chapter shows chapters/data/torch_parity.json, which torch-parity records.
.PHONY: torch torch-parity
$(VENV)/.torch-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	touch $@

torch: $(VENV)/.torch-installed

torch-parity: $(VENV)/.torch-installed
	$(BIN)/python tools/record_torch_parity.py

clean:
	rm -rf _build .pytest_cache .hypothesis .mypy_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
