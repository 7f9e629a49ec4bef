"""Data helpers: splits, minibatches, toy data sets, scaling, and MNIST from a local server."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import struct
import threading
from collections import Counter

import numpy as np
import pytest

from nbfromscratch.data import (
    Standardizer,
    iterate_minibatches,
    load_digits,
    load_mnist,
    make_moons,
    make_sinc,
    one_hot,
    read_idx,
    train_test_split,
)
from nbfromscratch.exceptions import DataFileError, LabelError, NotFittedError, ShapeError


# -- one_hot -----------------------------------------------------------------------------------
def test_one_hot_puts_a_single_one_in_the_label_column():
    expected = np.array([[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=float)
    np.testing.assert_array_equal(one_hot([2, 0, 2, 1]), expected)


def test_one_hot_pads_to_n_classes_and_keeps_dtype():
    out = one_hot(np.array([0, 1]), n_classes=4, dtype=np.float32)
    assert out.shape == (2, 4) and out.dtype == np.float32
    assert out.sum() == 2


def test_one_hot_rejects_label_out_of_range():
    with pytest.raises(LabelError):
        one_hot([0, 3], n_classes=3)


# -- train_test_split --------------------------------------------------------------------------
def test_split_is_a_partition_of_the_samples_and_keeps_pairs_together():
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25) * 10
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, rng=0)
    assert len(X_te) == 5 and len(X_tr) == 20
    assert sorted(np.concatenate([X_tr[:, 0], X_te[:, 0]])) == list(range(0, 50, 2))
    # Row i of X is (2i, 2i + 1) and its label 10 i: the pairing survives the shuffle.
    np.testing.assert_array_equal(X_tr[:, 0] * 5, y_tr)
    np.testing.assert_array_equal(X_te[:, 0] * 5, y_te)


def test_split_rounds_the_test_fraction_up_and_accepts_a_count():
    X, y = np.zeros((11, 1)), np.zeros(11)
    assert len(train_test_split(X, y, test_size=0.25, rng=0)[1]) == 3  # ceil(2.75)
    assert len(train_test_split(X, y, test_size=4, rng=0)[1]) == 4


def test_split_is_reproducible_from_a_seed():
    X, y = np.arange(100.0)[:, None], np.arange(100)
    a = train_test_split(X, y, rng=42)
    b = train_test_split(X, y, rng=42)
    c = train_test_split(X, y, rng=43)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_stratified_split_keeps_class_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.arange(100.0)[:, None]
    _, X_te, _, y_te = train_test_split(X, y, test_size=0.2, stratify=True, rng=1)
    assert Counter(y_te.tolist()) == {0: 12, 1: 6, 2: 2}
    np.testing.assert_array_equal(y[X_te[:, 0].astype(int)], y_te)


def test_stratified_split_sizes_add_up_when_quotas_are_fractional():
    y = np.array([0] * 7 + [1] * 7 + [2] * 7)
    X_tr, X_te, y_tr, y_te = train_test_split(np.zeros((21, 1)), y, test_size=0.3,
                                              stratify=True, rng=0)
    assert len(y_te) == 7 and len(y_tr) == 14  # ceil(6.3) = 7
    counts = Counter(y_te.tolist())
    assert sorted(counts.values()) == [2, 2, 3]


@pytest.mark.parametrize("bad", [0.0, 1.0, 0, 10, -1, "half"])
def test_split_rejects_sizes_that_leave_a_part_empty(bad):
    with pytest.raises(ValueError):
        train_test_split(np.zeros((10, 1)), np.zeros(10), test_size=bad)


def test_split_rejects_length_mismatch():
    with pytest.raises(ShapeError):
        train_test_split(np.zeros((10, 1)), np.zeros(9))


# -- iterate_minibatches -----------------------------------------------------------------------
def test_minibatches_cover_every_sample_once_with_a_short_last_batch():
    X = np.arange(23.0)[:, None]
    y = np.arange(23)
    batches = list(iterate_minibatches(X, y, batch_size=5, rng=0))
    assert [len(xb) for xb, _ in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(23))
    assert seen.tolist() != list(range(23))  # shuffled
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)


def test_minibatches_without_shuffle_are_views_in_order():
    X = np.arange(10.0)[:, None]
    batches = list(iterate_minibatches(X, np.arange(10), batch_size=4, shuffle=False))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(xb, X) for xb, _ in batches)


def test_minibatch_order_comes_from_the_generator():
    X, y = np.arange(30.0)[:, None], np.arange(30)
    first = [yb for _, yb in iterate_minibatches(X, y, 8, rng=np.random.default_rng(5))]
    again = [yb for _, yb in iterate_minibatches(X, y, 8, rng=np.random.default_rng(5))]
    expected_perm = np.random.default_rng(5).permutation(30)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.concatenate(first), expected_perm)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_minibatches_reject_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_minibatches(np.zeros((4, 1)), np.zeros(4), bad))


# -- toy data sets -----------------------------------------------------------------------------
def test_make_moons_points_lie_on_the_two_arcs_without_noise():
    X, y = make_moons(100, noise=0.0, rng=0)
    assert X.shape == (100, 2) and y.shape == (100,) and y.dtype == np.int64
    assert (y == 0).sum() == 50 and (y == 1).sum() == 50
    outer, inner = X[y == 0], X[y == 1]
    # Upper arc: unit circle around (0, 0), y >= 0; lower arc: unit circle around (1, 0.5).
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert (outer[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert (inner[:, 1] <= 0.5 + 1e-12).all()


def test_make_moons_noise_has_the_requested_spread_and_seed_reproduces():
    X0, y0 = make_moons(4000, noise=0.0, rng=3)
    X1, y1 = make_moons(4000, noise=0.2, rng=3)
    np.testing.assert_array_equal(y0, y1)  # same permutation, noise added afterwards
    assert np.std(X1 - X0) == pytest.approx(0.2, rel=0.05)
    X2, _ = make_moons(4000, noise=0.2, rng=3)
    np.testing.assert_array_equal(X1, X2)


def test_make_sinc_follows_sin_x_over_x_and_is_sorted():
    X, y = make_sinc(500, noise=0.0, rng=0)
    assert X.shape == (500, 1) and y.shape == (500, 1)
    assert (np.diff(X[:, 0]) >= 0).all()
    assert X.min() >= -10 and X.max() <= 10
    x = X[:, 0]
    np.testing.assert_allclose(y[:, 0], np.sin(x) / x, rtol=1e-12)


def test_make_sinc_is_one_at_zero_and_noise_is_added():
    X, y = make_sinc(3, noise=0.0, x_range=(0.0, 1e-300), rng=0)
    np.testing.assert_allclose(y, 1.0)
    X0, y0 = make_sinc(2000, noise=0.0, rng=1)
    X1, y1 = make_sinc(2000, noise=0.3, rng=1)
    np.testing.assert_array_equal(X0, X1)
    assert np.std(y1 - y0) == pytest.approx(0.3, rel=0.1)


def test_load_digits_is_scaled_to_unit_interval():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    raw, _ = load_digits(scale=False)
    np.testing.assert_array_equal(raw / 16.0, X)


# -- Standardizer ------------------------------------------------------------------------------
def test_standardizer_gives_zero_mean_unit_std_and_inverts():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[3.0, -5.0], scale=[2.0, 0.1], size=(200, 2))
    s = Standardizer()
    Z = s.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0)
    np.testing.assert_allclose(s.inverse_transform(Z), X)


def test_standardizer_maps_a_constant_feature_to_zero():
    X = np.array([[1.0, 7.0], [3.0, 7.0]])
    Z = Standardizer().fit_transform(X)
    np.testing.assert_array_equal(Z, [[-1.0, 0.0], [1.0, 0.0]])


def test_standardizer_keeps_float32_and_checks_features():
    X = np.ones((4, 3), dtype=np.float32)
    s = Standardizer().fit(X)
    assert s.transform(X).dtype == np.float32
    with pytest.raises(ShapeError, match="3 features"):
        s.transform(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(NotFittedError):
        Standardizer().transform(X)


# -- IDX and MNIST ------------------------------------------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file, written field by field with struct (independently of the parser)."""
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float64): 0x0E}
    header = bytes([0, 0, code[array.dtype], array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_parses_uint8_int32_and_float64_gzipped_or_not(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ints = np.array([1, -2, 300000], dtype=np.int32)
    floats = np.array([[0.5, -1.25]], dtype=np.float64)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), images)
    np.testing.assert_array_equal(read_idx(idx_bytes(ints)), ints)
    out = read_idx(idx_bytes(floats))
    np.testing.assert_array_equal(out, floats)
    assert out.dtype == np.float64 and out.dtype.isnative


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "two zero bytes"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "type code"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "3 bytes of data"),
        (b"\x00\x00\x08\x02\x00\x00", "truncated"),
    ],
)
def test_read_idx_rejects_malformed_files(raw, match):
    with pytest.raises(DataFileError, match=match):
        read_idx(raw)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def mnist_server(tmp_path):
    """Tiny MNIST look-alike files served over HTTP on 127.0.0.1 (never the internet)."""
    root = tmp_path / "served"
    root.mkdir()
    rng = np.random.default_rng(0)
    content = {
        "train": (rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
                  np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8)),
        "t10k": (rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
                 np.array([7, 2, 1], dtype=np.uint8)),
    }
    sums = {}
    for prefix, (images, labels) in content.items():
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = gzip.compress(idx_bytes(arr))
            (root / name).write_bytes(data)
            sums[name] = hashlib.sha256(data).hexdigest()
    requests: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield {
            "url": f"http://127.0.0.1:{server.server_address[1]}/",
            "sums": sums,
            "content": content,
            "root": root,
            "requests": requests,
        }
    finally:
        server.shutdown()
        server.server_close()


def test_load_mnist_downloads_checks_and_parses(mnist_server, tmp_path):
    cache = tmp_path / "cache"
    (X_tr, y_tr), (X_te, y_te) = load_mnist(cache, mnist_server["url"], mnist_server["sums"])
    images, labels = mnist_server["content"]["train"]
    assert X_tr.shape == (6, 784) and X_tr.dtype == np.float32
    np.testing.assert_allclose(X_tr, images.reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_tr, labels)
    assert y_tr.dtype == np.int64
    np.testing.assert_array_equal(y_te, [7, 2, 1])
    assert X_te.shape == (3, 784)
    assert sorted(p.name for p in cache.iterdir()) == sorted(mnist_server["sums"])


def test_load_mnist_uses_the_cache_on_the_second_call(mnist_server, tmp_path):
    cache = tmp_path / "cache"
    load_mnist(cache, mnist_server["url"], mnist_server["sums"])
    assert len(mnist_server["requests"]) == 4
    (X_tr, _), _ = load_mnist(cache, mnist_server["url"], mnist_server["sums"],
                              flatten=False, scale=False, dtype=np.float64)
    assert len(mnist_server["requests"]) == 4
    assert X_tr.shape == (6, 28, 28) and X_tr.dtype == np.float64
    np.testing.assert_array_equal(X_tr, mnist_server["content"]["train"][0])


def test_load_mnist_refetches_a_damaged_cached_file(mnist_server, tmp_path):
    cache = tmp_path / "cache"
    load_mnist(cache, mnist_server["url"], mnist_server["sums"])
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    _, (_, y_te) = load_mnist(cache, mnist_server["url"], mnist_server["sums"])
    np.testing.assert_array_equal(y_te, [7, 2, 1])
    assert mnist_server["requests"][-1] == "/t10k-labels-idx1-ubyte.gz"


def test_load_mnist_checksum_mismatch_raises_and_leaves_no_file(mnist_server, tmp_path):
    cache = tmp_path / "cache"
    sums = dict(mnist_server["sums"])
    sums["train-labels-idx1-ubyte.gz"] = "0" * 64
    with pytest.raises(DataFileError, match="SHA-256 mismatch"):
        load_mnist(cache, mnist_server["url"], sums)
    assert not (cache / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_load_mnist_unreachable_server_raises_oserror(tmp_path, mnist_server):
    (mnist_server["root"] / "t10k-images-idx3-ubyte.gz").unlink()  # the server now 404s it
    with pytest.raises(OSError, match="could not download"):
        load_mnist(tmp_path / "cache", mnist_server["url"], mnist_server["sums"])


def test_load_mnist_default_checksums_are_the_published_ones():
    # As published with the files (PyTorch / TensorFlow Datasets mirrors).
    from nbfromscratch.mnist import MNIST_SHA256

    assert MNIST_SHA256 == {
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
