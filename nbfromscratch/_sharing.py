"""Modules and parameters used at several places in a model, for :mod:`nbfromscratch.io`.

``lin = Linear(3, 3); Sequential(lin, Tanh(), lin)`` holds one layer twice. A weights file
stores its parameters once and records ``{"2": "0"}`` (the member at path ``2`` is the one at
path ``0``); loading builds the architecture, then makes those members one object again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layers.module import Module, Parameter

__all__ = ["unique_parameters", "sharing", "relink", "load_shared_state"]


def unique_parameters(model: Module) -> list[tuple[str, Parameter]]:
    """``named_parameters()`` with each Parameter once, under the first name it has."""
    seen: set[int] = set()
    out = []
    for name, p in model.named_parameters():
        if id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def _walk(module: Module, prefix: str = "") -> list[tuple[str, Any, Module, str, int | None]]:
    """Every (path, member, owner, attribute, list index) below ``module``, in order."""
    out: list[tuple[str, Any, Module, str, int | None]] = []
    for attr, value in vars(module).items():
        members: list[tuple[str, Any, int | None]]
        if isinstance(value, (Parameter, Module)):
            members = [(attr, value, None)]
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
            members = [(str(i), v, i) for i, v in enumerate(value)]
        else:
            continue
        for name, member, index in members:
            out.append((f"{prefix}{name}", member, module, attr, index))
            if isinstance(member, Module):
                out.extend(_walk(member, f"{prefix}{name}."))
    return out


def sharing(model: Module) -> dict[str, str]:
    """``{path: first path}`` for every module or parameter met again at another place."""
    first: dict[int, str] = {}
    shared: dict[str, str] = {}
    for path, member, *_ in _walk(model):
        if id(member) in first and not any(path.startswith(s + ".") for s in shared):
            shared[path] = first[id(member)]
        first.setdefault(id(member), path)
    return shared


def relink(model: Module, shared: Any) -> None:
    """Make the members at ``shared``'s keys the same objects as at its values."""
    if not isinstance(shared, dict):
        raise ValueError("'shared' is not a mapping")
    if len(shared) > len(_walk(model)):
        raise ValueError("more shared members than the model has")
    for path, target in shared.items():
        places = {p: (m, owner, attr, i) for p, m, owner, attr, i in _walk(model)}
        if path not in places or target not in places or path == target:
            raise ValueError(f"shared member {path!r} -> {target!r} is not in the model")
        if path.startswith(target + "."):
            raise ValueError(f"shared member {path!r} -> {target!r} would put a module inside itself")
        _, owner, attr, index = places[path]
        new = places[target][0]
        if type(new) is not type(places[path][0]):
            raise ValueError(f"shared member {path!r} is a {type(places[path][0]).__name__}")
        if index is None:
            setattr(owner, attr, new)
        else:
            getattr(owner, attr)[index] = new


def load_shared_state(model: Module, weights: dict[str, np.ndarray]) -> None:
    """``load_state_dict`` under every name a (possibly shared) parameter has."""
    first = {id(p): name for name, p in unique_parameters(model)}
    model.load_state_dict({name: weights[first[id(p)]] for name, p in model.named_parameters()}
                          if set(first.values()) == set(weights) else weights)
