"""The checks behind :data:`nbfromscratch.torch_parity.CASES`: one computation, in both libraries.

Each check takes a case's ``args`` and a dtype, runs the same computation with this package and
with PyTorch, and returns ``{"max_abs_diff": ...}`` (the training check also the per-step
losses). PyTorch is imported when a check runs, never when this module is imported.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import layers, losses, optim
from .autograd import Tensor, cross_entropy
from .init import kaiming_normal, xavier_uniform

__all__ = ["same_network", "train_side_by_side", "compare_loss", "compare_layer", "compare_init",
           "compare_dropout", "compare_state_dict", "compare_autograd", "compare_schedule",
           "compare_optimizer_state", "RUNNERS"]


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


def same_network(dtype: Any) -> tuple[layers.Sequential, Any]:
    """The same 4-16-3 network twice: ours, and PyTorch's loaded from its state_dict.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
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


def train_side_by_side(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """Train both copies with the same optimizer and batches; the losses of every step.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    X, y, batches = _data(dtype)
    ours, theirs = same_network(dtype)
    name, kwargs = args["optimizer"], args["kwargs"]
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


def compare_loss(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """A loss and its gradient on the same logits and targets.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    rng = np.random.default_rng(4)
    z = (rng.normal(size=(8, 3)) * 3).astype(dtype)
    name = args["loss"]
    if name == "CrossEntropyLoss":
        labels = rng.integers(0, 3, size=8)
        target = np.eye(3, dtype=dtype)[labels] if args.get("probabilities") else labels
    else:
        target = rng.integers(0, 2, size=(8, 3)).astype(dtype)
    reduction = args.get("reduction", "mean")
    ours = getattr(losses, name)(reduction=reduction)
    value = ours(z, target)
    tz = torch.from_numpy(z).requires_grad_(True)
    tvalue = getattr(torch.nn, name)(reduction=reduction)(tz, torch.from_numpy(target))
    tvalue.backward()
    gap = abs(value - float(tvalue.detach()))
    return {"max_abs_diff": max(gap, _max_diff([(ours.backward(), tz.grad)]))}


def compare_layer(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """A layer's output, input gradient and (Linear) parameter gradients.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(8, 4)).astype(dtype), rng.normal(size=(8, 4)).astype(dtype)
    if args["layer"] == "Linear":
        ours_model, theirs_model = same_network(dtype)
        ours, theirs = ours_model[0], theirs_model[0]  # type: Any, Any
        g = rng.normal(size=(8, 16)).astype(dtype)
    else:
        ours, theirs = getattr(layers, args["layer"])(), getattr(torch.nn, args["layer"])()
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = theirs(tx)
    tout.backward(torch.from_numpy(g))
    pairs = [(ours(x), tout), (ours.backward(g), tx.grad)]
    if args["layer"] == "Linear":
        pairs += [(ours.weight.grad.T, theirs.weight.grad), (ours.bias.grad, theirs.bias.grad)]
    return {"max_abs_diff": _max_diff(pairs)}


def compare_init(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """An initialiser's spread (and bound): other generators, so no equal numbers.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    shape = (300, 500)  # (in, out) here: (out, in) = (500, 300) there; fan_in != fan_out
    ours = {"xavier_uniform": xavier_uniform, "kaiming_normal": kaiming_normal}[args["ours"]](
        shape, rng=6, dtype=dtype)
    w = torch.empty(shape[::-1], dtype=getattr(torch, np.dtype(dtype).name))
    torch.manual_seed(6)
    if args["ours"] == "xavier_uniform":
        torch.nn.init.xavier_uniform_(w)
    else:
        torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
    theirs = w.numpy()
    # Relative gaps: of the standard deviations, and (uniform) of the largest |w|, the bound.
    gap = abs(float(ours.std()) / float(theirs.std()) - 1)
    if args["ours"] == "xavier_uniform":
        gap = max(gap, abs(float(np.abs(ours).max()) / float(np.abs(theirs).max()) - 1))
    return {"max_abs_diff": gap}


def compare_dropout(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """Dropout in training (kept units scaled by 1/(1 - p)) and in evaluation (identity).

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    p = args["p"]
    x = np.random.default_rng(7).normal(size=(64, 16)).astype(dtype)
    ours, theirs = layers.Dropout(p, rng=8), torch.nn.Dropout(p)
    torch.manual_seed(8)
    kept, tkept = ours(x), theirs(torch.from_numpy(x)).numpy()
    # In training, what is kept is x / (1 - p) in both; in evaluation, x itself.
    scaled = max(float(np.max(np.abs(out[out != 0] - x[out != 0] / (1 - p))))
                 for out in (kept, tkept))
    ours.eval(), theirs.eval()
    tx = torch.from_numpy(x)
    evaluated = _max_diff([(ours(x), theirs(tx)), (x, theirs(tx))])
    return {"max_abs_diff": max(scaled, evaluated)}


def compare_state_dict(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """Same names, transposed weight shapes, and the same outputs after loading.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    ours, theirs = same_network(dtype)
    x = np.random.default_rng(9).normal(size=(8, 4)).astype(dtype)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    same = list(ours_sd) == list(theirs_sd) and all(
        ours_sd[k].shape == tuple(theirs_sd[k].shape)[::-1] for k in ours_sd)
    gap = _max_diff([(ours(x), theirs(torch.from_numpy(x)))]) if same else np.inf
    return {"max_abs_diff": gap}


def compare_autograd(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """Gradients of the network built from ``nbf.autograd`` operations vs torch.autograd.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    X, y, _ = _data(dtype)
    ours, theirs = same_network(dtype)
    params: dict[str, Any] = {k: Tensor(v) for k, v in ours.state_dict().items()}
    h = (Tensor(X) @ params["0.weight"] + params["0.bias"]).relu()
    cross_entropy(h @ params["2.weight"] + params["2.bias"], y).backward()
    logits = theirs(torch.from_numpy(X))
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
    tparams = dict(theirs.named_parameters())
    return {"max_abs_diff": max(float(np.max(np.abs(
        (params[k].grad.T if k.endswith("weight") else params[k].grad)
        - tparams[k].grad.numpy()))) for k in params)}


def compare_schedule(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """The learning rates of a schedule, step by step, in both libraries.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    ours_opt = optim.SGD([layers.Parameter(np.zeros(3, dtype))], lr=0.1)
    theirs_opt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.1)
    ours = getattr(optim, args["scheduler"])(ours_opt, **args["kwargs"])
    theirs = getattr(torch.optim.lr_scheduler, args["scheduler"])(
        theirs_opt, **args["kwargs"], **args.get("torch_only", {}))
    rates = []
    for _ in range(args["steps"]):
        rates.append((ours.get_last_lr()[0], theirs.get_last_lr()[0]))
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
    return {"max_abs_diff": max(abs(a - b) for a, b in rates)}


def compare_optimizer_state(args: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """An optimizer's state_dict after training steps: the same keys and (transposed) values.

    Derived in chapter 15, *From nbfromscratch to PyTorch* (``chapters/15_to_pytorch``).
    """
    torch = _torch()
    X, y, batches = _data(dtype)
    ours, theirs = same_network(dtype)
    ours_opt = getattr(optim, args["optimizer"])(ours.parameters(), **args["kwargs"])
    theirs_opt = getattr(torch.optim, args["optimizer"])(theirs.parameters(), **args["kwargs"])
    loss_fn = losses.CrossEntropyLoss()
    for idx in batches[:3]:
        ours_opt.zero_grad()
        loss_fn(ours(X[idx]), y[idx])
        ours.backward(loss_fn.backward())
        ours_opt.step()
        theirs_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(X[idx])), torch.from_numpy(y[idx])).backward()
        theirs_opt.step()
    mine, other = ours_opt.state_dict(), theirs_opt.state_dict()
    if sorted(mine["state"]) != sorted(other["state"]) or len(mine["param_groups"]) != 1:
        return {"max_abs_diff": float("inf")}
    gaps = []
    for i, state in mine["state"].items():
        if not set(other["state"][i]) <= set(state):  # every entry PyTorch keeps, we keep
            return {"max_abs_diff": float("inf")}
        for key, theirs_value in other["state"][i].items():
            theirs_array = np.asarray(theirs_value.numpy() if hasattr(theirs_value, "numpy") else theirs_value)
            mine_array = np.asarray(state[key])
            if mine_array.ndim == 2:  # weights are (in, out) here, (out, in) there
                mine_array = mine_array.T
            gaps.append(float(np.max(np.abs(mine_array - theirs_array))))
    return {"max_abs_diff": max(gaps)}


RUNNERS: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {
    "train": train_side_by_side, "loss": compare_loss, "layer": compare_layer,
    "init": compare_init, "dropout": compare_dropout, "state_dict": compare_state_dict,
    "autograd": compare_autograd, "schedule": compare_schedule,
    "optimizer_state": compare_optimizer_state}
