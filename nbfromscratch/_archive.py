"""The bytes of a weights file: an ``.npz`` archive written atomically, read defensively.

Used by :mod:`nbfromscratch.io`. A file may come from anywhere, so reading trusts nothing:

* the file must start like a zip archive (else "not an .npz archive"); every member must be
  an ``.npy`` array, stored or deflated, not encrypted, named once;
* the JSON header (member ``__meta__``) is read first, capped at :data:`MAX_HEADER_BYTES`,
  with integers of at most 40 digits and nesting at most :data:`MAX_DEPTH` deep;
* before any array is read, the header must list every member with its shape and dtype,
  their total size must stay under :data:`MAX_LOAD_BYTES`, and each member's size declared
  in the zip directory must be the size its header entry implies;
* each member is then read with a cap of that size, so a member that inflates beyond what
  it declared (a "zip bomb") is refused after at most a few bytes more, and its ``.npy``
  header must agree with the JSON header. Object (pickled) arrays are never accepted.

Every failure is a :class:`~nbfromscratch.exceptions.WeightsFileError` naming the file and
what is wrong. Writing goes to one hidden temporary file per target (``.<name>.nbfs-tmp``,
truncated and reused by the next save), which is ``fsync``-ed and renamed over the target.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import WeightsFileError

__all__ = ["MAX_LOAD_BYTES", "MAX_HEADER_BYTES", "MAX_DEPTH", "META_KEY", "read_archive",
           "write_archive", "depth"]

#: Default largest total array size :func:`read_archive` accepts (bytes).
MAX_LOAD_BYTES = 2 * 1024**3
#: Largest JSON header accepted (bytes).
MAX_HEADER_BYTES = 4 * 1024**2
#: Deepest nesting of lists/dicts accepted in the JSON header.
MAX_DEPTH = 64
#: Largest ``.npy`` header (NumPy writes 128 bytes or a multiple of 64).
_MAX_NPY_HEADER = 65536
META_KEY = "__meta__"
_DTYPES = {"float32", "float64", "int64", "uint8", "bool"}


def write_archive(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` at ``path``, atomically."""
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"save: cannot write {path}: the folder {folder} does not exist")
    if path.exists() and not path.is_file():
        raise IsADirectoryError(f"save: {path} exists and is not a file")
    if path.exists() and not path.stat().st_mode & 0o222:
        raise PermissionError(
            f"save: {path} is read-only; refusing to replace it (make it writable, or "
            "save under another name)"
        )
    # A fixed name per target: a save killed half-way leaves at most this one file, and the
    # next save of the same target truncates and reuses it, so leftovers cannot pile up.
    tmp = folder / f".{path.name}.nbfs-tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
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


# -- reading ---------------------------------------------------------------------------------
def read_archive(
    path: Any, expected: Callable[[dict[str, Any]], dict[str, dict[str, Any]]],
    limit: int = MAX_LOAD_BYTES,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, arrays)`` of the file at ``path``, or WeightsFileError.

    ``limit`` caps the total size of the arrays (bytes). ``expected(header)`` returns
    ``{member: {"shape": [...], "dtype": name}}`` for every array the header says the file
    holds (and raises WeightsFileError if the header is malformed); nothing else may be in
    the file.
    """
    with open(path, "rb") as f:  # a missing file is FileNotFoundError, not a damaged file
        if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise WeightsFileError(
                f"{path}: not an .npz archive (a weights file is a zip of .npy arrays, "
                "as nbfromscratch.save writes)"
            )
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except Exception as err:  # noqa: BLE001 - untrusted bytes: any failure is damage
            raise _damaged(path, str(err)) from None
        with archive:
            members = _members(path, archive)
            if META_KEY not in members:
                raise _damaged(path, f"no nbfromscratch header ('{META_KEY}') in the file")
            raw = _read_member(path, archive, members[META_KEY], MAX_HEADER_BYTES)
            header = parse_header(path, _npy_array(path, META_KEY, raw, None))
            specs = expected(header)
            _check_sizes_declared(path, members, specs, limit)
            arrays = {
                name: _npy_array(path, name, _read_member(path, archive, members[name], None), spec)
                for name, spec in specs.items()
            }
    return header, arrays


def _members(path: Any, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise _damaged(path, f"member {info.filename!r} is not an .npy array")
        name = info.filename[:-4]
        if name in members:
            raise _damaged(path, f"member {info.filename!r} appears twice")
        if info.flag_bits & 0x1:
            raise _damaged(path, f"member {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _damaged(
                path, f"member {info.filename!r} uses compression method "
                f"{info.compress_type}; only stored or deflated members are read"
            )
        members[name] = info
    return members


def _read_member(path: Any, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 cap: int | None) -> bytes:
    """A member's bytes, never more than it declared (nor ``cap``)."""
    if cap is not None and info.file_size > cap:
        raise _damaged(
            path, f"member {info.filename!r} declares {info.file_size} bytes, more than "
            f"the {cap} allowed"
        )
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)  # one byte more reveals a lying size
    except Exception as err:  # noqa: BLE001 - bad CRC, truncated data, bad deflate stream
        raise _damaged(path, f"member {info.filename!r} is damaged ({err})") from None
    if len(data) != info.file_size:
        raise _damaged(
            path, f"member {info.filename!r} holds more or fewer bytes than the "
            f"{info.file_size} it declares"
        )
    return data


def _npy_array(path: Any, name: str, data: bytes, spec: dict[str, Any] | None) -> np.ndarray:
    """Parse ``.npy`` bytes without pickle, checking them against ``spec`` if given."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        # Any: older NumPy stubs (2.2, the lock's version on Python 3.10) lack max_header_size.
        read_header: Any = {(1, 0): np.lib.format.read_array_header_1_0,
                            (2, 0): np.lib.format.read_array_header_2_0}[version]
        shape, fortran, dtype = read_header(stream, max_header_size=_MAX_NPY_HEADER)
    except Exception as err:  # noqa: BLE001 - unknown version, malformed header dict
        raise _damaged(path, f"member '{name}' is not a valid .npy array ({err})") from None
    if dtype.hasobject or dtype.name not in _DTYPES:
        raise _damaged(
            path, f"member '{name}' has dtype {dtype}; weights files hold only "
            f"{', '.join(sorted(_DTYPES))} arrays, never pickled Python objects"
        )
    if spec is not None and (list(shape) != spec["shape"] or dtype.name != spec["dtype"]):
        raise _damaged(
            path, f"member '{name}' is {dtype.name} {list(shape)}, the header says "
            f"{spec['dtype']} {spec['shape']}"
        )
    offset = stream.tell()
    n_bytes = math.prod(shape) * dtype.itemsize
    if len(data) - offset != n_bytes:
        raise _damaged(
            path, f"member '{name}' holds {len(data) - offset} bytes of data, its shape "
            f"{list(shape)} needs {n_bytes}"
        )
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="C")


def _check_sizes_declared(path: Any, members: dict[str, zipfile.ZipInfo],
                          specs: dict[str, dict[str, Any]], limit: int) -> None:
    """Before reading any array: the header's arrays are the file's, and not too large."""
    stored = set(members) - {META_KEY}
    if stored != set(specs):
        raise _damaged(
            path, f"the file holds arrays {sorted(stored)}, its header lists {sorted(specs)}"
        )
    total = 0
    for name, spec in specs.items():
        n_bytes = math.prod(spec["shape"]) * np.dtype(spec["dtype"]).itemsize
        total += n_bytes
        if total > limit:
            raise WeightsFileError(
                f"{path}: the header asks for more than {limit} bytes of arrays, the limit "
                "nbfromscratch.io.MAX_LOAD_BYTES; refusing to allocate them (raise the limit "
                "only for a file you trust)"
            )
        size = members[name].file_size
        if not n_bytes < size <= n_bytes + _MAX_NPY_HEADER + 16:
            raise _damaged(
                path, f"member '{name}' declares {size} bytes, but the header's "
                f"{spec['dtype']} {spec['shape']} needs {n_bytes} bytes plus a small header"
            )


def _damaged(path: Any, detail: str) -> WeightsFileError:
    return WeightsFileError(f"{path}: not a readable weights file ({detail})")


def parse_header(path: Any, raw: np.ndarray) -> dict[str, Any]:
    """The JSON header: UTF-8, integers of at most 40 digits, nesting at most MAX_DEPTH."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _damaged(path, f"the header ('{META_KEY}') is not a byte string")
    try:
        text = raw.tobytes().decode("utf-8")
        # Depth is checked on the text before parsing, so no parser or walker recurses deeply.
        if _bracket_depth(text) > MAX_DEPTH:
            raise _damaged(path, f"the header nests deeper than {MAX_DEPTH} levels")
        header = json.loads(text, parse_int=_small_int, parse_constant=_no_constant)
    except WeightsFileError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise _damaged(path, f"damaged header ({err})") from None
    if not isinstance(header, dict):
        raise _damaged(path, "the header is not a JSON object")
    return header


def _bracket_depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` outside strings (an upper bound is enough)."""
    deepest = level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            deepest = max(deepest, level)
        elif ch in "]}":
            level -= 1
    return deepest


def _small_int(text: str) -> int:
    if len(text.lstrip("-")) > 40:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a header")


def depth(node: Any) -> int:
    """Nesting depth of a JSON value (iterative: safe on any input)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return deepest
