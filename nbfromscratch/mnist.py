"""MNIST: download the four IDX files once, check their SHA-256, and parse them with NumPy.

Derived in chapter 11, *Digits* (``chapters/11_digits``), as the larger sibling of the
8x8 digits. Nothing here needs more than the standard library and NumPy.

The IDX format (LeCun et al.) is a tiny header followed by raw big-endian numbers::

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 * d bytes the size of each dimension, big-endian uint32
    ...         the values, big-endian, C order
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import DataFileError, ParameterError

__all__ = ["MNIST_URL", "MNIST_SHA256", "read_idx", "load_mnist"]

#: PyTorch's mirror of the original files (the original site often refuses downloads).
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

#: SHA-256 of the four gzipped files, as published with them.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(source: str | os.PathLike[str] | bytes) -> np.ndarray:
    """Parse an IDX file (gzipped or not) into an array.

    Described in chapter 11, *Handwritten digits* (``chapters/11_digits``).

    Parameters
    ----------
    source : path or bytes
        The file, or its content.

    Returns
    -------
    ndarray
        Shape from the header (e.g. ``(60000, 28, 28)`` uint8 for MNIST images), in
        native byte order.

    Raises
    ------
    DataFileError
        Not an IDX file, unknown type code, or a size that does not match the header.
    """
    name = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic number
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataFileError(f"{name}: corrupt gzip data ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFileError(f"{name}: not an IDX file (it must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise DataFileError(f"{name}: unknown IDX type code 0x{code:02X}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{name}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataFileError(
            f"{name}: header promises shape {shape} ({expected} bytes of data), "
            f"found {len(raw) - header} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str, dest: Path, sha256: str, timeout: float) -> None:
    """Fetch ``url`` into ``dest`` only if its SHA-256 matches; never leave a partial file."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        h.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, TimeoutError) as err:
                raise OSError(f"could not download {url}: {err}") from err
        if h.hexdigest() != sha256:
            raise DataFileError(
                f"{url}: SHA-256 mismatch (expected {sha256}, got {h.hexdigest()}); "
                "the download is corrupt or the mirror serves another file"
            )
        os.replace(tmp_name, dest)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nbfromscratch" / "mnist"


def load_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    base_url: str = MNIST_URL,
    checksums: dict[str, str] | None = None,
    *,
    dtype: Any = np.float32,
    scale: bool = True,
    flatten: bool = True,
    timeout: float = 60.0,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The 70,000 28x28 MNIST digits, downloaded once into ``cache_dir``.

    Described in chapter 11, *Handwritten digits* (``chapters/11_digits``).

    Each of the four files is checked against its SHA-256 both after downloading and
    when it is found in the cache (a damaged cached file is fetched again).

    Parameters
    ----------
    cache_dir : path, optional
        Where the ``.gz`` files are kept; default ``$XDG_CACHE_HOME/nbfromscratch/mnist``
        (``~/.cache/nbfromscratch/mnist``).
    base_url : str
        Folder URL the four file names are appended to.
    checksums : dict, optional
        File name -> SHA-256 hex digest; default :data:`MNIST_SHA256`.
    dtype : float32 or float64, default float32
        Images are returned as this dtype (float32 halves the 180 MB of float64).
    scale : bool, default True
        Divide pixels (0..255) by 255, into ``[0, 1]``.
    flatten : bool, default True
        Images as rows of 784 values; ``False`` keeps ``(n, 28, 28)``.
    timeout : float, default 60
        Seconds to wait for the server.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        ``X_train`` of shape ``(60000, 784)``, ``y_train`` int64 of shape ``(60000,)``;
        10,000 test samples likewise.

    Raises
    ------
    DataFileError
        A checksum mismatch after download, or a malformed file.
    OSError
        The server cannot be reached.
    """
    checksums = dict(MNIST_SHA256 if checksums is None else checksums)
    if set(checksums) != set(MNIST_SHA256):
        raise ParameterError(
            f"load_mnist: checksums must give exactly the files {sorted(MNIST_SHA256)}, "
            f"got {sorted(checksums)}"
        )
    cache = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, sha256 in checksums.items():
        path = cache / name
        if not (path.exists() and _sha256(path) == sha256):
            _download(base_url.rstrip("/") + "/" + name, path, sha256, timeout)
        arrays[name] = read_idx(path)

    def split(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        images = arrays[f"{prefix}-images-idx3-ubyte.gz"]
        labels = arrays[f"{prefix}-labels-idx1-ubyte.gz"]
        if len(images) != len(labels):
            raise DataFileError(
                f"{prefix}: {len(images)} images but {len(labels)} labels"
            )
        X = images.reshape(len(images), -1) if flatten else images
        X = X.astype(dtype)
        if scale:
            X /= 255
        return X, labels.astype(np.int64)

    return split("train"), split("t10k")
