"""nbfromscratch against PyTorch, case by case (the cases of chapter 15's table).

The checks that run PyTorch are skipped when it is not installed (``make torch`` installs the
CPU build); the recording that chapter 15 falls back on is checked either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nbfromscratch import optim, torch_checks
from nbfromscratch import torch_parity as tp

RECORDING = Path(__file__).resolve().parent.parent / "chapters" / "data" / "torch_parity.json"
needs_torch = pytest.mark.skipif(
    not tp.torch_available(),
    reason="PyTorch is not installed, so the live parity checks are skipped "
           "(`make torch` installs the CPU build); the recorded results are still checked",
)
CASE_IDS = [c.name for c in tp.CASES]


@pytest.fixture(scope="module")
def recording():
    return json.loads(RECORDING.read_text())


@pytest.fixture(scope="module")
def live():
    return tp.run_all()


# -- the recording chapter 15 shows without PyTorch ---------------------------------------------
def test_the_recording_has_every_case_and_every_case_passes(recording):
    assert list(recording["cases"]) == CASE_IDS, "re-record: make torch-parity"
    for case in tp.CASES:
        for dtype in tp.TOLERANCE:
            assert tp.passed(case, recording["cases"][case.name][dtype], dtype), (case.name, dtype)


def test_recorded_float32_gap_is_within_float32_rounding_noise(recording):
    noise = tp.float32_noise(recording)
    assert set(noise) == {c.name for c in tp.CASES if c.kind == "train"}
    for name, (gap, own) in noise.items():
        assert 0 < own < tp.TOLERANCE["float32"], name  # float32 really differs from float64
        assert gap <= tp.NOISE_FACTOR * own, name


def test_the_mapping_table_has_one_agreeing_row_per_case(recording):
    rows = tp.mapping_table(recording)
    assert [r["nbfromscratch"] for r in rows] == [c.ours for c in tp.CASES]
    assert all(r["agree"].startswith("yes") for r in rows)
    linear = rows[CASE_IDS.index("Linear")]
    assert "(4, 16)" in linear["nbfromscratch"] and "(16, 4)" in linear["PyTorch"]


def test_a_failing_result_shows_as_NO_in_the_table(recording):
    broken = json.loads(json.dumps(recording))
    broken["cases"]["Adam lr=0.01"]["float32"]["max_abs_diff"] = 1.0
    row = tp.mapping_table(broken)[CASE_IDS.index("Adam lr=0.01")]
    assert row["agree"].startswith("NO")


def test_every_kind_of_case_has_a_runner_and_names_are_unique():
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    assert {c.kind for c in tp.CASES} <= set(torch_checks.RUNNERS)


# -- live, with PyTorch -----------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dtype", list(tp.TOLERANCE))
@pytest.mark.parametrize("case", tp.CASES, ids=CASE_IDS)
def test_nbfromscratch_agrees_with_pytorch(case, dtype):
    assert tp.passed(case, tp.run_case(case, np.dtype(dtype)), dtype)


@needs_torch
def test_training_losses_agree_step_by_step_in_float64():
    case = next(c for c in tp.CASES if c.name == "SGD lr=0.1, momentum=0.9, nesterov=True")
    res = tp.run_case(case, np.float64)
    assert len(res["ours"]) == 12
    np.testing.assert_allclose(res["ours"], res["torch"], rtol=0, atol=1e-12)
    assert res["ours"][-1] < res["ours"][0]  # it trains


@needs_torch
def test_live_results_reproduce_the_recording(live, recording):
    # What CI re-proves: the recorded file is what this code computes with this torch.
    assert list(live["cases"]) == list(recording["cases"])
    for name, res in live["cases"].items():
        for dtype, tol in tp.TOLERANCE.items():
            now, then = res[dtype], recording["cases"][name][dtype]
            for key in ("ours", "torch"):
                if key in now:
                    np.testing.assert_allclose(now[key], then[key], rtol=0, atol=tol, err_msg=name)
            for key in ("torch_only_arguments", "different_defaults"):
                assert now.get(key) == then.get(key), (name, key)
    assert tp.mapping_table(live) == tp.mapping_table(recording)


@needs_torch
def test_a_wrong_optimizer_would_be_caught(monkeypatch):
    class SGDIgnoringDampening(optim.SGD):
        def __init__(self, params, **kwargs):
            kwargs.pop("dampening", None)
            super().__init__(params, **kwargs)

    monkeypatch.setattr(optim, "SGD", SGDIgnoringDampening)
    case = next(c for c in tp.CASES if c.name == "SGD lr=0.1, momentum=0.9, dampening=0.5")
    assert not tp.passed(case, tp.run_case(case, np.float64), "float64")


@needs_torch
def test_an_untransposed_weight_would_be_caught():
    import torch

    ours, theirs = torch_checks.same_network(np.float64)
    with torch.no_grad():
        theirs[0].weight.copy_(torch.from_numpy(ours[0].weight.data.reshape(16, 4)))
    x = np.random.default_rng(0).normal(size=(8, 4))
    assert not np.allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy())


def test_without_pytorch_the_chapter_falls_back_to_the_recording(monkeypatch, recording):
    monkeypatch.setattr(tp, "torch_available", lambda: False)
    results, source = tp.load_or_run(RECORDING)
    assert results == recording and source.startswith("recorded with torch")
