"""Saving and loading models: one ``.npz`` file, no pickle, written atomically.

Used in chapter 8, *Training* (``chapters/08_training``).

A weights file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

* ``"__meta__"``: a uint8 array with UTF-8 JSON ``{"format", "format_version",
  "architecture" (the model's ``get_config()``), "dtype", "parameters" (name -> shape,
  dtype)}``;
* one float array per parameter, under its :meth:`Module.named_parameters` name
  (``"0.weight"``, ``"0.bias"``, ...).

Why no pickle: unpickling runs arbitrary code, so a downloaded weights file could take over
the machine. Arrays of numbers cannot, which is why every read uses
``np.load(..., allow_pickle=False)`` and object arrays are refused.

Why atomic: the file is written to a temporary file in the same folder, flushed and
``fsync``-ed, then renamed over the target with ``os.replace`` (atomic on POSIX and
Windows). A crash or a kill mid-save leaves the previous file intact, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import ArgumentTypeError, NBFSError, NonFiniteError, WeightsFileError
from .layers.module import Module
from .layers.registry import layer_from_config

__all__ = ["FORMAT_VERSION", "save", "load", "load_weights"]

#: Version of the file layout; files of another version are refused, not guessed at.
FORMAT_VERSION = 1
_FORMAT_NAME = "nbfromscratch-weights"
_META_KEY = "__meta__"

PathLike = str | os.PathLike[str]


def save(model: Module, path: PathLike) -> Path:
    """Save a model's architecture and weights to ``path`` (exactly that name), atomically.

    Used in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    model : Module
        Must have ``get_config()`` (every layer of the package has).
    path : str or path
        Target file; ``.npz`` is the customary suffix but nothing is appended.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ArgumentTypeError
        ``model`` is not a Module, or has no ``get_config()``.
    NonFiniteError
        A parameter holds NaN or inf (e.g. after training diverged): such weights are
        useless, and a file of them would be refused by :func:`load`.
    """
    if not isinstance(model, Module):
        raise ArgumentTypeError(f"save: expected a Module, got {type(model).__name__}")
    if not hasattr(model, "get_config"):
        raise ArgumentTypeError(
            f"save: {type(model).__name__} has no get_config(), so it cannot be rebuilt"
        )
    named = model.named_parameters()
    for name, p in named:
        if not np.isfinite(p.data).all():
            raise NonFiniteError(
                f"save: parameter '{name}' holds NaN or inf; refusing to save broken weights "
                "(did training diverge? see the NonFiniteError that fit raised)"
            )
    meta = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": model.get_config(),
        "dtype": None if model.dtype is None else np.dtype(model.dtype).name,
        "parameters": {name: {"shape": list(p.shape), "dtype": p.dtype.name} for name, p in named},
    }
    arrays: dict[str, Any] = {_META_KEY: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    arrays.update((name, p.data) for name, p in named)
    path = Path(path)
    _atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it onto ``path``."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600 files; keep usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _new_file_mode(path: Path) -> int:
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check a weights file: ``(meta, {name: array})``, or raise WeightsFileError."""
    with open(path, "rb") as f:  # a missing file is FileNotFoundError, not a corrupt file
        try:
            npz = np.load(f, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise WeightsFileError(f"{path}: a single array, not an .npz archive")
            with npz:
                arrays = {key: npz[key] for key in npz.files}
        except WeightsFileError:
            raise
        except MemoryError:  # a damaged array header claiming an absurd shape
            raise WeightsFileError(
                f"{path}: an array header asks for more memory than exists"
            ) from None
        except Exception as err:  # noqa: BLE001 - the bytes are untrusted: any failure is damage
            # Truncated or damaged zip (bad CRC, "zip file version 11.9", "encrypted" flag),
            # pickled/object data (refused): all mean the file is not what save() writes.
            raise WeightsFileError(f"{path}: not a readable weights file ({err})") from None
    meta = _parse_meta(path, arrays.pop(_META_KEY, None))
    expected = meta["parameters"]
    if set(arrays) != set(expected):
        raise WeightsFileError(
            f"{path}: arrays {sorted(arrays)} do not match the parameters listed in the "
            f"file header {sorted(expected)}"
        )
    for name, arr in arrays.items():
        spec = expected[name]
        if not isinstance(spec, dict) or arr.dtype.kind != "f" \
                or arr.dtype.name != spec.get("dtype") or list(arr.shape) != spec.get("shape"):
            said = f"{spec.get('dtype')} {spec.get('shape')}" if isinstance(spec, dict) else spec
            raise WeightsFileError(
                f"{path}: parameter '{name}' is {arr.dtype} {arr.shape}, the header says {said}"
            )
        if not np.isfinite(arr).all():
            raise WeightsFileError(f"{path}: parameter '{name}' holds NaN or inf values")
    return meta, arrays


def _parse_meta(path: PathLike, raw: np.ndarray | None) -> dict[str, Any]:
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise WeightsFileError(f"{path}: no nbfromscratch header ('{_META_KEY}') in the file")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise WeightsFileError(f"{path}: damaged header ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT_NAME:
        raise WeightsFileError(f"{path}: not an nbfromscratch weights file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightsFileError(
            f"{path}: format version {meta.get('format_version')!r}; this version of "
            f"nbfromscratch reads version {FORMAT_VERSION}"
        )
    if not isinstance(meta.get("architecture"), dict) or not isinstance(meta.get("parameters"), dict):
        raise WeightsFileError(f"{path}: header lacks 'architecture' or 'parameters'")
    return meta


def load(path: PathLike) -> Module:
    """Rebuild a saved model: architecture from the file header, then its weights.

    Used in chapter 8, *Training* (``chapters/08_training``).

    Parameters
    ----------
    path : str or path

    Returns
    -------
    Module
        A new model, in training mode, with exactly the saved weights.

    Raises
    ------
    WeightsFileError
        Corrupt, truncated or foreign file, another format version, or an architecture
        this version of the package cannot build.
    FileNotFoundError
        No file at ``path``.
    """
    meta, arrays = _read(path)
    _check_sizes(path, meta["architecture"], arrays)
    try:
        model = layer_from_config(meta["architecture"])
        if not isinstance(model, Module):
            raise TypeError(f"the architecture describes a {type(model).__name__}, not a Module")
        model.load_state_dict(arrays)
    except (NBFSError, TypeError, ValueError, AttributeError, MemoryError) as err:
        raise WeightsFileError(f"{path}: cannot rebuild the saved model ({err})") from None
    return model


def _check_sizes(path: PathLike, config: Any, arrays: dict[str, np.ndarray]) -> None:
    """Refuse an architecture whose sizes exceed every stored array before building it.

    Building a model allocates and initialises its weights, so a damaged or malicious
    header asking for ``Linear(10**9, 10**9)`` must be stopped first. In a genuine file
    every size in the architecture (in_features, out_features...) is a dimension of some
    stored array.
    """
    limit = max((max(a.shape, default=1) for a in arrays.values()), default=1)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, int) and not isinstance(node, bool) and node > limit:
            raise WeightsFileError(
                f"{path}: the architecture asks for a size of {node}, larger than any array "
                f"stored in the file (at most {limit}): the header is damaged"
            )

    walk(config)


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

    Parameters
    ----------
    model : Module
    path : str or path

    Returns
    -------
    Module
        ``model`` itself.

    Raises
    ------
    WeightsFileError
        Corrupt, truncated or foreign file, another format version, or another
        architecture. In every case ``model`` is left unchanged.
    """
    if not isinstance(model, Module):
        raise ArgumentTypeError(f"load_weights: expected a Module, got {type(model).__name__}")
    meta, arrays = _read(path)
    if hasattr(model, "get_config") and \
            _structure(model.get_config()) != _structure(meta["architecture"]):
        raise WeightsFileError(
            f"{path}: the file holds a {_describe(meta['architecture'])}, "
            f"the model is a {_describe(model.get_config())}"
        )
    try:
        model.load_state_dict(arrays)  # checks every key, shape and dtype before writing
    except NBFSError as err:
        raise WeightsFileError(f"{path}: weights do not fit the model ({err})") from None
    return model


def _describe(config: Any) -> str:
    if not isinstance(config, dict):
        return repr(config)
    if isinstance(config.get("layers"), list):
        return f"{config.get('type')}({', '.join(_describe(c) for c in config['layers'])})"
    return str(config.get("type"))
