"""The training state a weights file can carry: optimizer, scheduler, shuffling generator, epoch.

Used by :mod:`nbfromscratch.io` (chapter 8, *Training*). The optimizer's buffers are arrays
in the archive (``"__optimizer__.0.exp_avg"``...); everything else is JSON in the header.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import ArgumentTypeError, ParameterError, WeightsFileError
from .layers.module import Parameter
from .optim.base import Optimizer

__all__ = ["OPT_PREFIX", "optimizer_to_json", "jsonable", "training_state"]

OPT_PREFIX = "__optimizer__."


def optimizer_to_json(
    optimizer: Any, params: list[Parameter], arrays: dict[str, np.ndarray]
) -> dict[str, Any]:
    """The optimizer's state_dict as JSON; its buffers go into ``arrays`` under their names."""
    if not isinstance(optimizer, Optimizer):
        raise ArgumentTypeError(f"save: optimizer must be an Optimizer, got {optimizer!r}")
    if [id(p) for p in optimizer.params] != [id(p) for p in params]:
        raise ParameterError(
            "save: the optimizer was not built on this model's parameters (in the order of "
            "model.parameters()), so its state could not be matched to them after loading"
        )
    sd = optimizer.state_dict()
    state: dict[str, dict[str, Any]] = {}
    for i, entry in sd["state"].items():
        state[str(i)] = {}
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                arrays[f"{OPT_PREFIX}{i}.{key}"] = value
                value = {"array": f"{OPT_PREFIX}{i}.{key}"}
            state[str(i)][key] = value
    return {"type": type(optimizer).__name__, "state": state,
            "param_groups": jsonable(sd["param_groups"])}


def jsonable(value: Any) -> Any:
    """``value`` with tuples, NumPy arrays and NumPy scalars as plain JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def training_state(path: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The training state in a file's header and arrays (see ``io.load_training_state``)."""
    out: dict[str, Any] = {"optimizer": None, "optimizer_type": None, "scheduler": None,
                           "rng": None, "epoch": meta.get("epoch")}
    try:
        if meta.get("optimizer") is not None:
            opt = meta["optimizer"]
            state = {
                int(i): {k: arrays[v["array"]] if isinstance(v, dict) else v for k, v in e.items()}
                for i, e in opt["state"].items()
            }
            out["optimizer"] = {"state": state, "param_groups": opt["param_groups"]}
            out["optimizer_type"] = opt["type"]
        if meta.get("scheduler") is not None:
            out["scheduler"] = dict(meta["scheduler"]["state"])
        if meta.get("rng") is not None:
            out["rng"] = _generator(meta["rng"])
    except Exception as err:  # noqa: BLE001 - a damaged header of any shape
        raise WeightsFileError(f"{path}: damaged training state ({err!r})") from None
    if out["epoch"] is not None and (isinstance(out["epoch"], bool) or not isinstance(out["epoch"], int)):
        raise WeightsFileError(f"{path}: damaged training state (epoch {out['epoch']!r})")
    return out


def _generator(state: dict[str, Any]) -> np.random.Generator:
    name = state["bit_generator"]
    if name not in ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937"):
        raise ValueError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
