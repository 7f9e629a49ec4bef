"""Saving and loading models, estimators and training state: one ``.npz`` file, no pickle.

Used in chapter 8, *Training* (``chapters/08_training``).

A weights file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

* ``"__meta__"``: a uint8 array with UTF-8 JSON ``{"format", "format_version",
  "architecture" (the model's ``get_config()``), "dtype", "parameters" (name -> shape,
  dtype), "shared" (modules and parameters used at several places), and optionally
  "estimator", "optimizer", "scheduler", "rng", "epoch"}``;
* one float array per parameter, under its :meth:`Module.named_parameters` name
  (``"0.weight"``, ...), and one per optimizer buffer (``"__optimizer__.0.exp_avg"``).

Why no pickle: unpickling runs arbitrary code, so a downloaded weights file could take over
the machine. Arrays of numbers and JSON cannot. Reading is defensive (see
:mod:`nbfromscratch._archive`): sizes are checked against :data:`MAX_LOAD_BYTES` and against
the file's own members before anything is allocated, and every malformed file raises
:class:`WeightsFileError`.

Why atomic: the file is written to a temporary file in the same folder, flushed and
``fsync``-ed, then renamed over the target with ``os.replace``. A crash or a kill mid-save
leaves the previous file intact, never half a file.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import _archive
from ._archive import META_KEY, read_archive, write_archive
from ._sharing import load_shared_state, relink, sharing, unique_parameters
from ._training_state import OPT_PREFIX, jsonable, optimizer_to_json, training_state
from .exceptions import ArgumentTypeError, NBFSError, NonFiniteError, WeightsFileError
from .layers.module import Module
from .layers.registry import layer_from_config
from .optim.base import Optimizer
from .optim.lr_scheduler import LRScheduler

__all__ = ["FORMAT_VERSION", "MAX_LOAD_BYTES", "save", "load", "load_weights", "load_training_state"]

#: Version of the file layout; files of another version are refused, not guessed at.
FORMAT_VERSION = 1
_FORMAT_NAME = "nbfromscratch-weights"
#: Largest total size of the arrays :func:`load` accepts, in bytes (2 GiB): a crafted header
#: cannot make ``load`` allocate more. Assign a larger value to load larger trusted files.
MAX_LOAD_BYTES = _archive.MAX_LOAD_BYTES

PathLike = str | os.PathLike[str]


def save(
    obj: Any, path: PathLike, *, optimizer: Optimizer | None = None,
    scheduler: LRScheduler | None = None, rng: np.random.Generator | None = None,
    epoch: int | None = None,
) -> Path:
    """Save a model (or fitted estimator), and optionally the training state, atomically.

    Used in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    obj : Module or fitted MLPClassifier / MLPRegressor
        A Module must have ``get_config()`` (every layer of the package has). A module
        used at several places in the model stays one shared module after :func:`load`.
    path : str or path
        Target file (exactly that name; ``.npz`` is customary). Its folder must exist; an
        existing read-only file is not replaced.
    optimizer, scheduler, rng, epoch : optional
        Training state to resume from (see :func:`load_training_state`): the optimizer
        (built on ``model.parameters()``), a learning-rate scheduler, the Generator that
        shuffles the batches (``fit(..., rng=generator)``), the number of epochs done.

    Raises
    ------
    ArgumentTypeError
        ``obj`` is neither a Module with ``get_config()`` nor a fitted estimator.
    ParameterError
        The optimizer was not built on this model's parameters.
    NonFiniteError
        A parameter holds NaN or inf (e.g. after training diverged).
    FileNotFoundError, PermissionError
        The folder does not exist; the target is read-only.
    """
    meta: dict[str, Any] = {"format": _FORMAT_NAME, "format_version": FORMAT_VERSION}
    model = obj
    if not isinstance(obj, Module) and hasattr(obj, "get_params"):
        from .estimators._persist import estimator_to_json

        meta["estimator"] = estimator_to_json(obj)
        model = obj.model_
    if not isinstance(model, Module):
        raise ArgumentTypeError(
            f"save: expected a Module or a fitted estimator, got {type(obj).__name__}"
        )
    if not hasattr(model, "get_config"):
        raise ArgumentTypeError(
            f"save: {type(model).__name__} has no get_config(), so it cannot be rebuilt"
        )
    named = unique_parameters(model)
    for name, p in named:
        if not np.isfinite(p.data).all():
            raise NonFiniteError(
                f"save: parameter '{name}' holds NaN or inf; refusing to save broken weights "
                "(did training diverge? see the NonFiniteError that fit raised)"
            )
    meta.update({
        "architecture": model.get_config(),
        "dtype": None if model.dtype is None else np.dtype(model.dtype).name,
        "parameters": {name: {"shape": list(p.shape), "dtype": p.dtype.name} for name, p in named},
        "shared": sharing(model),
    })
    arrays: dict[str, np.ndarray] = {name: p.data for name, p in named}
    if optimizer is not None:
        meta["optimizer"] = optimizer_to_json(optimizer, [p for _, p in named], arrays)
    if scheduler is not None:
        if not isinstance(scheduler, LRScheduler):
            raise ArgumentTypeError(f"save: scheduler must be an LRScheduler, got {scheduler!r}")
        meta["scheduler"] = {"type": type(scheduler).__name__, "state": scheduler.state_dict()}
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ArgumentTypeError(f"save: rng must be a np.random.Generator, got {rng!r}")
        meta["rng"] = jsonable(rng.bit_generator.state)
    if epoch is not None:
        meta["epoch"] = int(epoch)
    header = json.dumps(meta, allow_nan=False).encode("utf-8")
    path = Path(path)
    write_archive(path, {META_KEY: np.frombuffer(header, dtype=np.uint8), **arrays})
    return path


# -- reading ---------------------------------------------------------------------------------
def _read(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    return read_archive(path, lambda meta: _expected_arrays(path, meta), MAX_LOAD_BYTES)


def _expected_arrays(path: PathLike, meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check the header's fields and return ``{member: {"shape", "dtype"}}`` it lists."""
    if meta.get("format") != _FORMAT_NAME:
        raise WeightsFileError(f"{path}: not an nbfromscratch weights file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightsFileError(
            f"{path}: format version {meta.get('format_version')!r}; this version of "
            f"nbfromscratch reads version {FORMAT_VERSION}"
        )
    if not isinstance(meta.get("architecture"), dict) or not isinstance(meta.get("parameters"), dict):
        raise WeightsFileError(f"{path}: header lacks 'architecture' or 'parameters'")
    specs = {}
    for name, spec in meta["parameters"].items():
        specs[name] = _spec(path, name, spec, floats_only=True)
    optimizer = meta.get("optimizer")
    if optimizer is not None:
        try:
            entries = optimizer["state"].values()
            refs = [v["array"] for e in entries for v in e.values() if isinstance(v, dict)]
        except (AttributeError, KeyError, TypeError):
            raise WeightsFileError(f"{path}: damaged optimizer state in the header") from None
        by_index = list(specs.values())
        for ref in refs:
            if not isinstance(ref, str) or not ref.startswith(OPT_PREFIX) or ref in specs:
                raise WeightsFileError(f"{path}: bad optimizer array name {ref!r}")
            i = ref[len(OPT_PREFIX):].split(".")[0]
            if not i.isdigit() or int(i) >= len(by_index):
                raise WeightsFileError(f"{path}: optimizer array {ref!r} has no parameter")
            specs[ref] = by_index[int(i)]  # a buffer has its parameter's shape and dtype
    return specs


def _spec(path: PathLike, name: Any, spec: Any, floats_only: bool) -> dict[str, Any]:
    if not isinstance(name, str) or name == META_KEY or not isinstance(spec, dict):
        raise WeightsFileError(f"{path}: bad parameter entry {name!r} in the header")
    shape, dtype = spec.get("shape"), spec.get("dtype")
    if not isinstance(shape, list) or len(shape) > 8 or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in shape
    ) or dtype not in (("float32", "float64") if floats_only else _archive._DTYPES):
        raise WeightsFileError(f"{path}: parameter '{name}' has shape {shape!r} and dtype {dtype!r}")
    return {"shape": shape, "dtype": dtype}


def load(path: PathLike) -> Any:
    """Rebuild a saved model (or fitted estimator): architecture from the header, then weights.

    Used in chapter 8, *Training* (``chapters/08_training``).

    Returns
    -------
    Module or MLPClassifier / MLPRegressor
        What :func:`save` was given, new, in training mode, with exactly the saved weights
        (and, for an estimator, its parameters, ``classes_``, ``history_``...). Modules
        that were shared are shared again.

    Raises
    ------
    WeightsFileError
        Not an ``.npz`` archive, damaged, crafted or foreign file, another format version,
        arrays larger than :data:`MAX_LOAD_BYTES`, or an architecture this version cannot build.
    FileNotFoundError
        No file at ``path``.
    """
    meta, arrays = _read(path)
    weights = {k: v for k, v in arrays.items() if not k.startswith(OPT_PREFIX)}
    _check_nonfinite(path, weights)
    _check_architecture(path, meta["architecture"], weights)
    try:
        model = layer_from_config(meta["architecture"])
        if not isinstance(model, Module):
            raise TypeError(f"the architecture describes a {type(model).__name__}, not a Module")
        relink(model, meta.get("shared", {}))
        load_shared_state(model, weights)
    except (NBFSError, TypeError, ValueError, AttributeError, KeyError, IndexError,
            MemoryError, RecursionError) as err:
        raise WeightsFileError(f"{path}: cannot rebuild the saved model ({err})") from None
    if "estimator" in meta:
        from .estimators._persist import estimator_from_json

        return estimator_from_json(path, meta["estimator"], model)
    return model


def _check_nonfinite(path: PathLike, weights: dict[str, np.ndarray]) -> None:
    for name, arr in weights.items():
        if not np.isfinite(arr).all():
            raise WeightsFileError(f"{path}: parameter '{name}' holds NaN or inf values")


def _check_architecture(path: PathLike, config: Any, arrays: dict[str, np.ndarray]) -> None:
    """Refuse an architecture that would allocate more than the file stores, before building.

    Building a model allocates and initialises its weights, so a damaged or malicious
    header asking for ``Linear(10**9, 10**9)``, or for many layers the file has no weights
    for, must be stopped first. In a genuine file every size (in_features...) is a
    dimension of a stored array, and a layer's sizes multiply to at most its weights' count.
    """
    limit = max((max(a.shape, default=1) for a in arrays.values()), default=1)
    stored = sum(a.size for a in arrays.values())
    budget, stack = 0, [config]
    while stack:  # iterative: the depth was bounded when the header was parsed, but be safe
        node = stack.pop()
        if isinstance(node, dict):
            ints = [v for v in node.values() if isinstance(v, int) and not isinstance(v, bool)]
            for v in ints:
                if v > limit:
                    raise WeightsFileError(
                        f"{path}: the architecture asks for a size of {v}, larger than any "
                        f"array stored in the file (at most {limit}): the header is damaged"
                    )
            budget += math.prod(ints) if ints else 0
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(node)
    if budget > stored + 4096:
        raise WeightsFileError(
            f"{path}: the architecture would allocate about {budget} weights, the file "
            f"stores {stored}: the header is damaged"
        )


def load_training_state(path: PathLike) -> dict[str, Any]:
    """The training state :func:`save` stored beside the weights, to resume training.

    Used in chapter 8, *Training* (``chapters/08_training``).

    Returns
    -------
    dict
        ``"optimizer"``: a PyTorch-style state dict for ``optimizer.load_state_dict`` (build
        the optimizer of the same class on ``nbf.load(path).parameters()``);
        ``"optimizer_type"``; ``"scheduler"``: a state dict for ``scheduler.load_state_dict``;
        ``"rng"``: a Generator continuing the saved one's stream; ``"epoch"``. Each is
        ``None`` when it was not saved.
    """
    meta, arrays = _read(path)
    return training_state(path, meta, arrays)


def _structure(config: Any) -> Any:
    """The layer types of a config tree, without hyperparameters (init, dropout p, ...)."""
    if isinstance(config, dict):
        out: dict[str, Any] = {"type": config.get("type")}
        if isinstance(config.get("layers"), list):
            out["layers"] = [_structure(c) for c in config["layers"]]
        elif "layers" in config:
            out["layers"] = config["layers"]
        return out
    return config


def load_weights(model: Module, path: PathLike) -> Module:
    """Copy saved weights into an existing model of the same architecture, all or nothing.

    Used in chapter 8, *Training* (``chapters/08_training``).

    The layer types and every parameter's name, shape and dtype must match; hyperparameters
    that do not change the weights (initialiser, dropout rate) may differ.

    Raises
    ------
    WeightsFileError
        Damaged or foreign file, another format version, or another architecture. In
        every case ``model`` is left unchanged.
    """
    if not isinstance(model, Module):
        raise ArgumentTypeError(f"load_weights: expected a Module, got {type(model).__name__}")
    meta, arrays = _read(path)
    weights = {k: v for k, v in arrays.items() if not k.startswith(OPT_PREFIX)}
    _check_nonfinite(path, weights)
    if hasattr(model, "get_config") and \
            _structure(model.get_config()) != _structure(meta["architecture"]):
        raise WeightsFileError(
            f"{path}: the file holds a {_describe(meta['architecture'])}, "
            f"the model is a {_describe(model.get_config())}"
        )
    try:
        load_shared_state(model, weights)  # checks every key, shape and dtype before writing
    except (NBFSError, KeyError) as err:
        raise WeightsFileError(f"{path}: weights do not fit the model ({err})") from None
    return model


def _describe(config: Any) -> str:
    if not isinstance(config, dict):
        return repr(config)
    if isinstance(config.get("layers"), list):
        return f"{config.get('type')}({', '.join(_describe(c) for c in config['layers'])})"
    return str(config.get("type"))
