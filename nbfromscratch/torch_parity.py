"""nbfromscratch next to PyTorch: the cases that show both compute the same thing, and the table.

:data:`CASES` is the single list behind three things: the parity tests
(``tests/test_torch_parity.py``), the recorded results (``chapters/data/torch_parity.json``,
written by ``make torch-parity``) and the mapping table of chapter 15. Each case names a piece
here and its PyTorch counterpart, says what differs, and names its check (in
:mod:`nbfromscratch.torch_checks`), which runs in both; so a difference a check would catch
cannot hide in the table. PyTorch is optional: only :func:`run_case` and
:func:`run_all` import it, and :func:`torch_available` says whether they can.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .torch_checks import RUNNERS

__all__ = ["Case", "CASES", "TOLERANCE", "torch_available", "run_case", "run_all", "load_or_run",
           "passed", "float32_noise", "mapping_table"]

#: Largest |ours - torch| accepted, per dtype: float64 is rounding alone; float32's budget is
#: about 100 roundings (eps = 1.2e-7) of numbers near 1 over a dozen training steps.
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
#: Initialisers draw from different generators: their spreads are compared, to 2%.
SPREAD_TOLERANCE = 0.02
#: float32: the gap between the libraries is at most this many times float32's own error.
NOISE_FACTOR = 2.0


@dataclass(frozen=True)
class Case:
    """One row of the mapping table and the check that backs it.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """

    name: str
    topic: str
    ours: str
    theirs: str
    difference: str
    kind: str  # a key of torch_checks.RUNNERS: "train", "loss", "schedule", ...
    args: dict[str, Any] = field(default_factory=dict)


def _opt(name: str, **kw: Any) -> Case:
    text = ", ".join(f"{k}={v}" for k, v in kw.items())
    ours = f"{name}(model.parameters(), {text})"
    return Case(f"{name} {text}", name, ours, f"torch.optim.{ours}", "", "train",
                {"optimizer": name, "kwargs": kw})


CASES: list[Case] = [
    Case("Linear", "Linear", "Linear(4, 16).weight: (4, 16)", "nn.Linear(4, 16).weight: (16, 4)",
         "W is stored transposed: here Y = X @ W (the book's notation), there X @ W.T; "
         "copy with .T", "layer", {"layer": "Linear"}),
    Case("ReLU", "ReLU", "ReLU()", "nn.ReLU()", "", "layer", {"layer": "ReLU"}),
    Case("Tanh", "Tanh", "Tanh()", "nn.Tanh()", "", "layer", {"layer": "Tanh"}),
    Case("Sigmoid", "Sigmoid", "Sigmoid()", "nn.Sigmoid()", "", "layer", {"layer": "Sigmoid"}),
    Case("xavier_uniform", "initialisers", "init.xavier_uniform((in, out))",
         "nn.init.xavier_uniform_(w)", "same distribution, other random numbers; Linear's "
         "default differs: he_normal here, U(-1/sqrt(in), 1/sqrt(in)) and a random bias there",
         "init", {"ours": "xavier_uniform"}),
    Case("kaiming_normal", "initialisers", "init.kaiming_normal((in, out))",
         "nn.init.kaiming_normal_(w, nonlinearity='relu')", "same distribution, other random "
         "numbers", "init", {"ours": "kaiming_normal"}),
    Case("CrossEntropyLoss mean", "CrossEntropyLoss", "CrossEntropyLoss()(logits, labels)",
         "nn.CrossEntropyLoss()(logits, labels)", "returns a float here, a 0-d tensor there; "
         "the gradient comes from loss_fn.backward()", "loss", {"loss": "CrossEntropyLoss"}),
    Case("CrossEntropyLoss sum", "CrossEntropyLoss", "CrossEntropyLoss(reduction='sum')",
         "nn.CrossEntropyLoss(reduction='sum')", "no reduction='none', weight= or "
         "label_smoothing= here", "loss", {"loss": "CrossEntropyLoss", "reduction": "sum"}),
    Case("CrossEntropyLoss probabilities", "CrossEntropyLoss",
         "CrossEntropyLoss()(logits, one_hot(y))", "nn.CrossEntropyLoss()(logits, probs)", "",
         "loss", {"loss": "CrossEntropyLoss", "probabilities": True}),
    Case("MSELoss", "MSELoss", "MSELoss()", "nn.MSELoss()", "", "loss", {"loss": "MSELoss"}),
    Case("BCEWithLogitsLoss", "BCEWithLogitsLoss", "BCEWithLogitsLoss()",
         "nn.BCEWithLogitsLoss()", "no pos_weight= here", "loss", {"loss": "BCEWithLogitsLoss"}),
    _opt("SGD", lr=0.1),
    _opt("SGD", lr=0.1, momentum=0.9),
    _opt("SGD", lr=0.1, momentum=0.9, dampening=0.5),
    _opt("SGD", lr=0.1, momentum=0.9, nesterov=True),
    _opt("SGD", lr=0.1, weight_decay=0.01),
    _opt("Adam", lr=0.01),
    _opt("Adam", lr=0.01, weight_decay=0.01),
    _opt("AdamW", lr=0.01, weight_decay=0.1),
    _opt("RMSprop", lr=0.01, momentum=0.5),
    _opt("Adagrad", lr=0.1),
    Case("Dropout", "train() / eval()", "Dropout(p); model.train(), model.eval()",
         "nn.Dropout(p); model.train(), model.eval()",
         "other random masks; both scale the kept units by 1/(1 - p) in training and do "
         "nothing in evaluation", "dropout", {"p": 0.25}),
    Case("StepLR", "schedules", "StepLR(optimizer, step_size=3, gamma=0.5); scheduler.step()",
         "torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)",
         "fit(..., callbacks=[scheduler]) steps it once per epoch", "schedule",
         {"scheduler": "StepLR", "kwargs": {"step_size": 3, "gamma": 0.5}, "steps": 10}),
    Case("CosineAnnealingLR", "schedules", "CosineAnnealingLR(optimizer, T_max=8)",
         "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=8)",
         "closed form here, PyTorch's recursive form there: equal up to rounding", "schedule",
         {"scheduler": "CosineAnnealingLR", "kwargs": {"T_max": 8}, "steps": 8}),
    Case("LinearLR", "schedules", "LinearLR(optimizer, start_factor=0.25, total_iters=4)",
         "torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.25, total_iters=4)",
         "a linear warm-up", "schedule",
         {"scheduler": "LinearLR", "kwargs": {"start_factor": 0.25, "total_iters": 4}, "steps": 8}),
    Case("OneCycleLR", "schedules", "OneCycleLR(optimizer, max_lr=1.0, total_steps=10)",
         "torch.optim.lr_scheduler.OneCycleLR(..., cycle_momentum=False)",
         "no momentum cycling here (PyTorch's cycle_momentum=True by default)", "schedule",
         {"scheduler": "OneCycleLR", "kwargs": {"max_lr": 1.0, "total_steps": 10}, "steps": 9,
          "torch_only": {"cycle_momentum": False}}),
    Case("Adam.state_dict", "optimizer state_dict", "Adam.state_dict(): {'state': {i: {'step', "
         "'exp_avg', 'exp_avg_sq'}}, 'param_groups': [...]}", "torch.optim.Adam.state_dict()",
         "NumPy arrays and an int step here, tensors there; weight entries transposed",
         "optimizer_state", {"optimizer": "Adam", "kwargs": {"lr": 0.01}}),
    Case("SGD.state_dict", "optimizer state_dict", "SGD(momentum=0.9).state_dict(): "
         "{'state': {i: {'momentum_buffer', 'step'}}, ...}",
         "torch.optim.SGD(momentum=0.9).state_dict()", "a 'step' count is kept for SGD too "
         "(PyTorch keeps none)", "optimizer_state",
         {"optimizer": "SGD", "kwargs": {"lr": 0.1, "momentum": 0.9}}),
    Case("state_dict", "state_dict", "model.state_dict(): {'0.weight': (4, 16), ...}",
         "model.state_dict(): {'0.weight': (16, 4), ...}", "same names; NumPy arrays here, "
         "tensors there; weights transposed", "state_dict"),
    Case("autograd", "autograd", "nbfromscratch.autograd.Tensor, loss.backward()",
         "torch.tensor(..., requires_grad=True), loss.backward()", "ours records only the "
         "operations of chapter 14, on NumPy arrays", "autograd"),
]


def torch_available() -> bool:
    """Whether PyTorch can be imported (without importing it); chapter 15 asks first."""
    return importlib.util.find_spec("torch") is not None


def run_case(case: Case, dtype: Any = np.float64) -> dict[str, Any]:
    """Run one case in ``dtype`` with both libraries; ``"max_abs_diff"`` is the largest gap.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    Needs PyTorch. Runs on one thread, so that a rerun gives the same numbers.
    """
    torch: Any = importlib.import_module("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return RUNNERS[case.kind](case.args, np.dtype(dtype).type)
    finally:
        torch.set_num_threads(threads)


def run_all() -> dict[str, Any]:
    """Every case in float64 and float32, with the versions used: what the recording holds.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch: Any = importlib.import_module("torch")
    return {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "machine": platform.machine(),
            "cases": {c.name: {dt: run_case(c, dt) for dt in TOLERANCE} for c in CASES}}


def load_or_run(path: str | Path) -> tuple[dict[str, Any], str]:
    """Results computed now if PyTorch is importable, else the recording at ``path``.

    Returns the results and a sentence saying which. Used by chapter 15
    (``chapters/15_to_pytorch``), whose printed output is the same either way.
    """
    if torch_available():
        results = run_all()
        return results, f"computed just now with torch {results['torch']}"
    results = json.loads(Path(path).read_text())
    return results, f"recorded with torch {results['torch']} (PyTorch is not installed here)"


def passed(case: Case, result: dict[str, Any], dtype: str) -> bool:
    """Whether one case's result is within its tolerance (initialisers: spread within 2%).

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    tol = SPREAD_TOLERANCE if case.kind == "init" else TOLERANCE[dtype]
    return bool(result["max_abs_diff"] < tol)


def float32_noise(results: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Per training case: the float32 gap between the libraries, and float32's own error.

    The own error is the larger distance of either library's float32 losses from our float64
    losses: what rounding alone does. Two implementations of the same computation should be
    no further apart than a small multiple of it (:data:`NOISE_FACTOR`). Derived in
    chapter 15 (``chapters/15_to_pytorch``).
    """
    out = {}
    for case in CASES:
        if case.kind == "train":
            res = results["cases"][case.name]
            ref, ours, theirs = (np.array(r) for r in (res["float64"]["ours"], res["float32"]["ours"],
                                                      res["float32"]["torch"]))
            own = max(float(np.max(np.abs(ours - ref))), float(np.max(np.abs(theirs - ref))))
            out[case.name] = (float(np.max(np.abs(ours - theirs))), own)
    return out


def mapping_table(results: dict[str, Any]) -> list[dict[str, str]]:
    """The rows of chapter 15's table: one per case, with its check's verdict in both dtypes.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    rows, described = [], set()
    for case in CASES:
        res = results["cases"][case.name]
        notes = [case.difference] if case.difference else []
        if case.kind == "train" and case.topic not in described:  # once per optimizer
            described.add(case.topic)
            extra = res["float64"]["torch_only_arguments"]
            notes += [f"torch only: {', '.join(extra)}"] if extra else []
            defaults = res["float64"]["different_defaults"]
            notes += [f"other defaults: {', '.join(defaults)}"] if defaults else []
        tol = (f"spread within {SPREAD_TOLERANCE:.0%}" if case.kind == "init" else "; ".join(
            f"{dt} < {TOLERANCE[dt]:.0e}".replace("e-0", "e-") for dt in TOLERANCE))
        ok = all(passed(case, res[dt], dt) for dt in TOLERANCE)
        rows.append({"topic": case.topic, "nbfromscratch": case.ours, "PyTorch": case.theirs,
                     "differences": "; ".join(notes) or "none", "kind": case.kind,
                     "agree": f"{'yes' if ok else 'NO'} ({tol})"})
    return rows
