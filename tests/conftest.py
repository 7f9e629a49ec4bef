"""Shared test configuration."""

from __future__ import annotations

import os

import matplotlib

# Tests never open windows; the plotting helpers must work headless. (Only this process:
# setting MPLBACKEND in the environment would reach the notebook kernels nbval starts and
# stop their inline figures.)
matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

# Property tests: modest example counts keep `make test` fast; no deadline because the
# first call of a NumPy function can be slow on a busy 2-core machine.
settings.register_profile(
    "book",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")
