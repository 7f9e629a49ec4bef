"""Rebuilding layers from their configuration: ``layer.get_config()`` <-> ``layer_from_config``.

A configuration is a JSON-able ``dict`` of constructor arguments (not weights) plus a
``"type"`` key naming the class, e.g.
``{"type": "Linear", "in_features": 2, "out_features": 8, "bias": True, "dtype": "float64"}``.
Saving a model (``nbfromscratch.io``) stores the configuration next to the weights, and
loading rebuilds the architecture with :func:`layer_from_config` before filling in weights.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from ..exceptions import UnknownNameError
from .module import Module

__all__ = ["register_layer", "layer_from_config", "LAYER_REGISTRY"]

LAYER_REGISTRY: dict[str, type[Module]] = {}
"""Class name -> layer class, filled by :func:`register_layer`."""

M = TypeVar("M", bound=type[Module])


def register_layer(cls: M) -> M:
    """Class decorator: make ``cls`` rebuildable by :func:`layer_from_config` under its name.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).
    """
    LAYER_REGISTRY[cls.__name__] = cls
    return cls


def layer_from_config(config: dict[str, Any]) -> Module:
    """Build a new layer (with freshly initialised weights) from ``layer.get_config()``.

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).

    Parameters
    ----------
    config : dict
        ``{"type": class name, **constructor arguments}``. A class with a
        ``from_config`` classmethod (e.g. ``Sequential``) builds itself from it.

    Returns
    -------
    Module

    Raises
    ------
    UnknownNameError
        ``config`` has no ``"type"``, names an unregistered class, or has arguments the
        class does not accept (or lacks required ones).
    """
    if not isinstance(config, dict) or "type" not in config:
        raise UnknownNameError(f"layer config must be a dict with a 'type' key, got {config!r}")
    kwargs = {k: v for k, v in config.items() if k != "type"}
    name = config["type"]
    cls = LAYER_REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise UnknownNameError(
            f"unknown layer type {name!r}; known types are {', '.join(sorted(LAYER_REGISTRY))}"
        )
    from_config = getattr(cls, "from_config", None)
    if from_config is not None:
        return from_config(kwargs)
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as err:
        raise UnknownNameError(f"invalid config for {name}: {err}") from None
    return cls(**kwargs)
