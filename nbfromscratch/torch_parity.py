"""nbfromscratch next to PyTorch: the cases that show both compute the same thing, and the table.

Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).

:data:`CASES` is the single list behind three things: the parity tests
(``tests/test_torch_parity.py``), the recorded results (``chapters/data/torch_parity.json``,
written by ``make torch-parity``) and the mapping table of chapter 15. Each case names a piece
here and its PyTorch counterpart, says what differs, and runs a check on both; so a difference
a check would catch cannot hide in the table. PyTorch is optional: only :func:`run_case` and
:func:`run_all` import it, and :func:`torch_available` says whether they can.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import layers, losses, optim
from .autograd import Tensor, cross_entropy
from .init import kaiming_normal, xavier_uniform

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
    kind: str  # "train", "loss", "layer", "init", "dropout", "state_dict", "autograd"
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
    Case("state_dict", "state_dict", "model.state_dict(): {'0.weight': (4, 16), ...}",
         "model.state_dict(): {'0.weight': (16, 4), ...}", "same names; NumPy arrays here, "
         "tensors there; weights transposed", "state_dict"),
    Case("autograd", "autograd", "nbfromscratch.autograd.Tensor, loss.backward()",
         "torch.tensor(..., requires_grad=True), loss.backward()", "ours records only the "
         "operations of chapter 14, on NumPy arrays", "autograd"),
]


def torch_available() -> bool:
    """Whether PyTorch can be imported (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def _torch() -> Any:
    return importlib.import_module("torch")


# -- the shared setup: one network, one data set, one sequence of minibatches -----------------
def _data(dtype: Any) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(96, 4)).astype(dtype), rng.integers(0, 3, size=96)
    order = np.random.default_rng(1)
    batches = [perm[i:i + 16] for perm in (order.permutation(96) for _ in range(2))
               for i in range(0, 96, 16)]  # two epochs of 6 batches: 12 steps
    return X, y, batches


def _models(dtype: Any) -> tuple[layers.Sequential, Any]:
    """The same 4-16-3 network twice: ours, and PyTorch's loaded from its state_dict."""
    torch = _torch()
    nn = torch.nn
    ours = layers.Sequential(layers.Linear(4, 16, rng=0), layers.ReLU(),
                             layers.Linear(16, 3, rng=1))
    first: Any = ours[0]
    first.bias.data[:] = np.random.default_rng(3).normal(size=16) * 0.1  # nonzero: it counts
    ours.to(dtype)
    theirs = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    theirs.to(getattr(torch, np.dtype(dtype).name))
    # Names match; a weight is (in, out) here and (out, in) there.
    state = ours.state_dict()
    theirs.load_state_dict({k: torch.from_numpy(v.T.copy() if k.endswith("weight") else v)
                            for k, v in state.items()})
    return ours, theirs


def _train(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    X, y, batches = _data(dtype)
    ours, theirs = _models(dtype)
    name, kwargs = case.args["optimizer"], case.args["kwargs"]
    opt = getattr(optim, name)(ours.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    loss_fn, tloss_fn = losses.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    ours_losses, their_losses = [], []
    for idx in batches:
        opt.zero_grad()
        ours_losses.append(loss_fn(ours(X[idx]), y[idx]))
        ours.backward(loss_fn.backward())
        opt.step()
        topt.zero_grad()
        tloss = tloss_fn(theirs(torch.from_numpy(X[idx])), torch.from_numpy(y[idx]))
        tloss.backward()
        topt.step()
        their_losses.append(tloss.item())
    ours_sig = inspect.signature(getattr(optim, name)).parameters
    theirs_sig = inspect.signature(getattr(torch.optim, name)).parameters
    return {"ours": ours_losses, "torch": their_losses,
            "max_abs_diff": max(abs(a - b) for a, b in zip(ours_losses, their_losses)),
            "torch_only_arguments": sorted(set(theirs_sig) - set(ours_sig)),
            "different_defaults": sorted(
                k for k in ours_sig if k != "params" and k in theirs_sig
                and _default(ours_sig[k].default) != _default(theirs_sig[k].default))}


def _default(value: Any) -> Any:
    return tuple(value) if isinstance(value, (tuple, list)) else value


def _max_diff(pairs: list[tuple[np.ndarray, Any]]) -> float:
    return max(float(np.max(np.abs(a - b.detach().numpy()))) for a, b in pairs)


def _loss(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    rng = np.random.default_rng(4)
    z = (rng.normal(size=(8, 3)) * 3).astype(dtype)
    name = case.args["loss"]
    if name == "CrossEntropyLoss":
        labels = rng.integers(0, 3, size=8)
        target = np.eye(3, dtype=dtype)[labels] if case.args.get("probabilities") else labels
    else:
        target = rng.integers(0, 2, size=(8, 3)).astype(dtype)
    reduction = case.args.get("reduction", "mean")
    ours = getattr(losses, name)(reduction=reduction)
    value = ours(z, target)
    tz = torch.from_numpy(z).requires_grad_(True)
    tvalue = getattr(torch.nn, name)(reduction=reduction)(tz, torch.from_numpy(target))
    tvalue.backward()
    return {"max_abs_diff": max(abs(value - float(tvalue.detach())), _max_diff([(ours.backward(), tz.grad)]))}


def _layer(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(8, 4)).astype(dtype), rng.normal(size=(8, 4)).astype(dtype)
    if case.args["layer"] == "Linear":
        ours_model, theirs_model = _models(dtype)
        ours, theirs = ours_model[0], theirs_model[0]  # type: Any, Any
        g = rng.normal(size=(8, 16)).astype(dtype)
    else:
        ours, theirs = getattr(layers, case.args["layer"])(), getattr(torch.nn, case.args["layer"])()
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = theirs(tx)
    tout.backward(torch.from_numpy(g))
    pairs = [(ours(x), tout), (ours.backward(g), tx.grad)]
    if case.args["layer"] == "Linear":
        pairs += [(ours.weight.grad.T, theirs.weight.grad), (ours.bias.grad, theirs.bias.grad)]
    return {"max_abs_diff": _max_diff(pairs)}


def _init(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    shape = (300, 500)  # (in, out) here: (out, in) = (500, 300) there; fan_in != fan_out
    ours = {"xavier_uniform": xavier_uniform, "kaiming_normal": kaiming_normal}[case.args["ours"]](
        shape, rng=6, dtype=dtype)
    w = torch.empty(shape[::-1], dtype=getattr(torch, np.dtype(dtype).name))
    torch.manual_seed(6)
    if case.args["ours"] == "xavier_uniform":
        torch.nn.init.xavier_uniform_(w)
    else:
        torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
    theirs = w.numpy()
    # Relative gaps: of the standard deviations, and (uniform) of the largest |w|, the bound.
    gap = abs(float(ours.std()) / float(theirs.std()) - 1)
    if case.args["ours"] == "xavier_uniform":
        gap = max(gap, abs(float(np.abs(ours).max()) / float(np.abs(theirs).max()) - 1))
    return {"max_abs_diff": gap}


def _dropout(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    p = case.args["p"]
    x = np.random.default_rng(7).normal(size=(64, 16)).astype(dtype)
    ours, theirs = layers.Dropout(p, rng=8), torch.nn.Dropout(p)
    torch.manual_seed(8)
    kept, tkept = ours(x), theirs(torch.from_numpy(x)).numpy()
    # In training, what is kept is x / (1 - p) in both; in evaluation, x itself.
    scaled = max(float(np.max(np.abs(out[out != 0] - x[out != 0] / (1 - p)))) for out in (kept, tkept))
    ours.eval(), theirs.eval()
    evaluated = _max_diff([(ours(x), theirs(torch.from_numpy(x))), (x, theirs(torch.from_numpy(x)))])
    return {"max_abs_diff": max(scaled, evaluated)}


def _state_dict(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    ours, theirs = _models(dtype)
    x = np.random.default_rng(9).normal(size=(8, 4)).astype(dtype)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    same = list(ours_sd) == list(theirs_sd) and all(
        ours_sd[k].shape == tuple(theirs_sd[k].shape)[::-1] for k in ours_sd)
    return {"max_abs_diff": _max_diff([(ours(x), theirs(torch.from_numpy(x)))]) if same else np.inf}


def _autograd(case: Case, dtype: Any) -> dict[str, Any]:
    torch = _torch()
    X, y, batches = _data(dtype)
    ours, theirs = _models(dtype)
    params: dict[str, Any] = {k: Tensor(v) for k, v in ours.state_dict().items()}
    h = (Tensor(X) @ params["0.weight"] + params["0.bias"]).relu()
    cross_entropy(h @ params["2.weight"] + params["2.bias"], y).backward()
    logits = theirs(torch.from_numpy(X))
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    tparams = dict(theirs.named_parameters())
    return {"max_abs_diff": max(float(np.max(np.abs(
        (params[k].grad.T if k.endswith("weight") else params[k].grad)
        - tparams[k].grad.numpy()))) for k in params)}


_RUNNERS: dict[str, Callable[[Case, Any], dict[str, Any]]] = {
    "train": _train, "loss": _loss, "layer": _layer, "init": _init, "dropout": _dropout,
    "state_dict": _state_dict, "autograd": _autograd}


def run_case(case: Case, dtype: Any = np.float64) -> dict[str, Any]:
    """Run one case in ``dtype`` with both libraries; ``"max_abs_diff"`` is the largest gap.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    Needs PyTorch. Runs on one thread, so that a rerun gives the same numbers.
    """
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _RUNNERS[case.kind](case, np.dtype(dtype).type)
    finally:
        torch.set_num_threads(threads)


def run_all() -> dict[str, Any]:
    """Every case in float64 and float32, with the versions used: what the recording holds."""
    torch = _torch()
    return {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "machine": platform.machine(),
            "cases": {c.name: {dt: run_case(c, dt) for dt in TOLERANCE} for c in CASES}}


def load_or_run(path: str | Path) -> tuple[dict[str, Any], str]:
    """Results computed now if PyTorch is importable, else the recording at ``path``.

    Returns the results and a sentence saying which.
    """
    if torch_available():
        results = run_all()
        return results, f"computed just now with torch {results['torch']}"
    results = json.loads(Path(path).read_text())
    return results, f"recorded with torch {results['torch']} (PyTorch is not installed here)"


def passed(case: Case, result: dict[str, Any], dtype: str) -> bool:
    """Whether one case's result is within its tolerance (initialisers: spread within 2%)."""
    tol = SPREAD_TOLERANCE if case.kind == "init" else TOLERANCE[dtype]
    return bool(result["max_abs_diff"] < tol)


def float32_noise(results: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Per training case: the float32 gap between the libraries, and float32's own error.

    The own error is the larger distance of either library's float32 losses from our float64
    losses: what rounding alone does. Two implementations of the same computation should be
    no further apart than a small multiple of it (:data:`NOISE_FACTOR`).
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
    """The rows of chapter 15's table: one per case, with its check's verdict in both dtypes."""
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
