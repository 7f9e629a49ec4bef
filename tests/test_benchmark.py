"""The benchmark script must keep working: a tiny run, checked for its output and its CSV.

This is a smoke test, not a measurement (speed is never asserted in the test suite). PyTorch is
not in requirements.txt, so in the test environment the script must say that it skips it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_script_runs_and_writes_its_csv(tmp_path):
    csv_path = tmp_path / "bench.csv"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeats", "1",
         "--only", "digits sgd float32", "digits sgd float64 1 thread", "--threads", "1",
         "--wait-idle", "0", "--retries", "0",
         "--csv", str(csv_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "== digits sgd float32" in out and f"results written to {csv_path}" in out
    assert csv_path.read_text().startswith("# date: ")
    bench = pd.read_csv(csv_path, comment="#")
    contenders = set(bench["contender"])
    assert {"nbfromscratch fit", "nbfromscratch loop", "textbook numpy",
            "matrix products only"} <= contenders
    # Every contender either ran or was named as skipped, with the reason.
    for optional in ("pytorch", "scikit-learn"):
        assert (optional in contenders) != (f"SKIPPED {optional}: " in out), optional
    assert (bench["samples_per_s"] > 0).all() and (bench["median_s"] > 0).all()
    fit = bench[bench["case"] == "digits sgd float32"].set_index("contender").loc["nbfromscratch fit"]
    assert 0 < fit["loss_after_epoch"] < 10 and fit["dtype"] == "float32"
    # The short one-thread case is timed back to back, with more repeats.
    assert "8 repeats back to back" in out and "1 repeats, load" in out
    assert set(bench.groupby("case")["repeats"].first().items()) == {
        ("digits sgd float32", 1), ("digits sgd float64 1 thread", 8)}
    # Every repeat's time is kept, and the targets say how their ratio varied per repeat.
    times = bench["times_s"].astype(str).str.split(";")
    assert (times.map(len) == bench["repeats"]).all()
    assert all(float(t) > 0 for ts in times for t in ts)
    medians = times.map(lambda ts: statistics.median(map(float, ts)))
    assert ((medians - bench["median_s"]).abs() < 1e-4).all()
    target = next(line for line in out.splitlines()
                  if line.startswith("   digits sgd float64 1 thread: nbfromscratch fit vs minimal"))
    assert "per repeat: median " in target and "middle half " in target and "best epochs: " in target


def test_overhead_script_runs_every_variant():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "overhead.py"), "--repeats", "1",
         "--epochs", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counts = {}
    for variant in ("minimal numpy", "layers, bare loop", "+ batches, loss check",
                    "+ NaN stop (checked step)", "+ accuracy", "nbfromscratch fit"):
        assert f"\n{variant} " in result.stdout, variant
        line = next(row for row in result.stdout.splitlines() if row.startswith(f"{variant} "))
        counts[variant] = int(line.split()[-1])  # Python bytecodes per batch
    # The package's objects run more Python than the minimal loop, and fit the most of all.
    assert counts["minimal numpy"] < min(v for k, v in counts.items() if k != "minimal numpy")
    assert counts["nbfromscratch fit"] == max(counts.values())
