"""Crafted and damaged weights files: only the package's own errors, nothing allocated first.

Every file here is built by hand (zip bytes, JSON headers), not by the package's writer, so
a test fails if the reader trusts anything it should check.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbfromscratch as nbf
from nbfromscratch import io as nbf_io
from nbfromscratch.exceptions import NBFSError, WeightsFileError


def small_model():
    return nbf.Sequential(nbf.Linear(3, 4, rng=0), nbf.Tanh(), nbf.Linear(4, 2, rng=1))


def header(model) -> dict:
    return {
        "format": "nbfromscratch-weights", "format_version": 1,
        "architecture": model.get_config(), "dtype": "float64",
        "parameters": {n: {"shape": list(p.shape), "dtype": p.dtype.name}
                       for n, p in model.named_parameters()},
    }


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def write_zip(path: Path, meta_text: str | bytes, members: dict[str, bytes],
              compression=zipfile.ZIP_STORED) -> Path:
    raw = meta_text.encode() if isinstance(meta_text, str) else meta_text
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr("__meta__.npy", npy_bytes(np.frombuffer(raw, dtype=np.uint8)))
        for name, data in members.items():
            z.writestr(name, data)
    return path


def member_bytes(model) -> dict[str, bytes]:
    return {f"{n}.npy": npy_bytes(p.data) for n, p in model.named_parameters()}


def load_everything(path):
    """Every reader of the package on ``path``, and the state it returns put to use."""
    for read in (nbf.load, lambda p: nbf.load_weights(small_model(), p)):
        try:
            read(path)
        except WeightsFileError:
            pass
    try:
        model, state = nbf.load(path), nbf.load_training_state(path)
    except WeightsFileError:
        return
    if isinstance(model, nbf.Module) and state["optimizer"] is not None:
        params = list({id(p): p for p in model.parameters()}.values())
        try:
            optimizer = nbf.Adam(params)
            optimizer.load_state_dict(state["optimizer"])
            nbf.StepLR(optimizer, 1).load_state_dict(state["scheduler"])
        except NBFSError:  # a damaged state is refused by the package's own errors
            pass


def test_a_valid_hand_made_file_loads(tmp_path):
    # The baseline the attacks below start from: the hand-made format is the real one.
    model = small_model()
    path = write_zip(tmp_path / "ok.npz", json.dumps(header(model)), member_bytes(model))
    x = np.ones((2, 3))
    np.testing.assert_array_equal(nbf.load(path)(x), model(x))


def test_400_nested_sequentials_are_refused_not_a_recursion_error(tmp_path):
    model = small_model()
    meta = header(model)
    config = meta["architecture"]
    for _ in range(400):
        config = {"type": "Sequential", "layers": [config]}
    meta["architecture"] = config
    path = write_zip(tmp_path / "deep.npz", json.dumps(meta), member_bytes(model))
    with pytest.raises(WeightsFileError, match="nests deeper than 64 levels"):
        nbf.load(path)


def test_a_5000_digit_integer_in_the_header_is_refused(tmp_path):
    model = small_model()
    text = json.dumps(header(model)).replace('"in_features": 3', '"in_features": ' + "9" * 5000)
    path = write_zip(tmp_path / "bigint.npz", text, member_bytes(model))
    with pytest.raises(WeightsFileError, match="damaged header .*5000 digits"):
        nbf.load(path)


def test_a_member_of_raw_bytes_instead_of_npy_is_refused(tmp_path):
    model = small_model()
    members = member_bytes(model)
    members["0.weight.npy"] = model[0].weight.data.tobytes()  # no .npy header
    path = write_zip(tmp_path / "raw.npz", json.dumps(header(model)), members)
    with pytest.raises(WeightsFileError, match="member '0.weight'"):
        nbf.load(path)


def test_not_a_zip_file_says_so_and_never_mentions_pickle(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_text("not zip!\n")
    with pytest.raises(WeightsFileError, match=r"not an \.npz archive") as info:
        nbf.load(path)
    assert "pickle" not in str(info.value)
    np.save(tmp_path / "single.npy", np.zeros(3))  # a lone .npy is not an archive either
    with pytest.raises(WeightsFileError, match=r"not an \.npz archive"):
        nbf.load(tmp_path / "single.npy")


def test_a_pickled_member_is_refused_without_suggesting_allow_pickle(tmp_path):
    model = small_model()
    members = member_bytes(model)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    members["0.weight.npy"] = buf.getvalue()
    path = write_zip(tmp_path / "pickle.npz", json.dumps(header(model)), members)
    with pytest.raises(WeightsFileError, match="never pickled") as info:
        nbf.load(path)
    assert "allow_pickle" not in str(info.value)


def test_a_header_describing_huge_layers_is_refused_before_allocating(tmp_path):
    # One real 500x500 layer, and a header asking for 40 of them (80 MB) built at load.
    layer = nbf.Linear(500, 500, rng=0)
    meta = header(nbf.Sequential(layer))
    meta["architecture"]["layers"] = [layer.get_config()] * 40
    path = write_zip(tmp_path / "many.npz", json.dumps(meta),
                     {"0.weight.npy": npy_bytes(layer.weight.data),
                      "0.bias.npy": npy_bytes(layer.bias.data)})
    tracemalloc.start()
    try:
        with pytest.raises(WeightsFileError, match="would allocate about 10000000 weights, the file stores 250500"):
            nbf.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12e6  # the 2 MB of stored weights and some copies, not 80 MB


def test_a_header_claiming_arrays_larger_than_its_members_is_refused(tmp_path):
    model = small_model()
    meta = header(model)
    meta["parameters"]["0.weight"]["shape"] = [30000, 30000]  # 7.2 GB, the member is 96 bytes
    path = write_zip(tmp_path / "claims.npz", json.dumps(meta), member_bytes(model))
    tracemalloc.start()
    try:
        with pytest.raises(WeightsFileError, match="limit nbfromscratch.io.MAX_LOAD_BYTES"):
            nbf.load(path)
        meta["parameters"]["0.weight"]["shape"] = [3000, 300]  # under the limit: 7.2 MB
        write_zip(path, json.dumps(meta), member_bytes(model))
        with pytest.raises(WeightsFileError, match=r"member '0.weight' declares \d+ bytes"):
            nbf.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2e6


def test_the_size_limit_is_documented_and_adjustable(tmp_path, monkeypatch):
    assert nbf_io.MAX_LOAD_BYTES == 2 * 1024**3
    assert "MAX_LOAD_BYTES" in nbf.load.__doc__
    path = nbf.save(small_model(), tmp_path / "m.npz")
    monkeypatch.setattr(nbf_io, "MAX_LOAD_BYTES", 100)  # the model holds 240 bytes of weights
    with pytest.raises(WeightsFileError, match="more than 100 bytes"):
        nbf.load(path)


def test_a_zip_bomb_member_is_cut_off_after_its_declared_size(tmp_path):
    # A member whose directory says 240 bytes but inflates to 50 MB of zeros.
    model = small_model()
    meta = json.dumps(header(model))
    members = member_bytes(model)
    declared = len(members["0.weight.npy"])
    header_part = members["0.weight.npy"][:128]
    bomb = header_part + bytes(50_000_000)
    path = write_zip(tmp_path / "bomb.npz", meta, {**members, "0.weight.npy": bomb},
                     compression=zipfile.ZIP_DEFLATED)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("0.weight.npy")
    real = struct.pack("<II", info.compress_size, info.file_size)
    assert data.count(real) == 2  # local header and central directory
    path.write_bytes(data.replace(real, struct.pack("<II", info.compress_size, declared)))
    tracemalloc.start()
    try:
        with pytest.raises(WeightsFileError, match="more or fewer bytes than|damaged"):
            nbf.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5e6


def test_unsupported_compression_duplicate_and_foreign_members_are_refused(tmp_path):
    model = small_model()
    meta = json.dumps(header(model))
    path = write_zip(tmp_path / "bz.npz", meta, member_bytes(model), compression=zipfile.ZIP_BZIP2)
    with pytest.raises(WeightsFileError, match="compression method 12"):
        nbf.load(path)
    path = write_zip(tmp_path / "extra.npz", meta, {**member_bytes(model), "evil.py": b"print()"})
    with pytest.raises(WeightsFileError, match="'evil.py' is not an .npy array"):
        nbf.load(path)
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = write_zip(tmp_path / "dup.npz", meta,
                         {**member_bytes(model)})
        with zipfile.ZipFile(path, "a") as z:
            z.writestr("0.bias.npy", npy_bytes(np.zeros(4)))
    with pytest.raises(WeightsFileError, match="appears twice"):
        nbf.load(path)


def test_saving_into_a_missing_folder_names_the_target(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "m.npz"
    with pytest.raises(FileNotFoundError, match=f"cannot write {target}: the folder"):
        nbf.save(small_model(), target)


def test_a_read_only_file_is_not_replaced(tmp_path):
    path = nbf.save(small_model(), tmp_path / "m.npz")
    before = path.read_bytes()
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError, match="read-only"):
            nbf.save(nbf.Sequential(nbf.Linear(3, 2, rng=5)), path)
        assert path.read_bytes() == before
    finally:
        path.chmod(0o644)


def test_saves_killed_half_way_cannot_pile_up_temporary_files(tmp_path):
    # Each child starts saving, writes part of the file, and is killed (os._exit) mid-write.
    script = textwrap.dedent(f"""
        import os, numpy as np, nbfromscratch as nbf
        def die(f, **arrays):
            f.write(b"PK partial")
            os._exit(9)
        np.savez = die
        nbf.save(nbf.Linear(3, 2, rng=0), {str(tmp_path / 'm.npz')!r})
    """)
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True)
        assert result.returncode == 9
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == [".m.npz.nbfs-tmp"]  # one, reused by every attempt
    nbf.save(nbf.Linear(3, 2, rng=0), tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# -- fuzzing: mutated bytes and mutated headers --------------------------------------------------
def _file_bytes(kind: str, folder: Path) -> bytes:
    """A genuine file of each kind the package writes: a fitted estimator, a checkpoint."""
    X, y = nbf.make_moons(40, rng=0)
    if kind == "estimator":
        obj = nbf.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, np.array(["a", "b"])[y])
        return nbf.save(obj, folder / "clf.npz").read_bytes()
    lin = nbf.Linear(2, 2, rng=0)
    model = nbf.Sequential(lin, nbf.Tanh(), lin)  # a shared layer, recorded in the header
    opt = nbf.Adam(list({id(p): p for p in model.parameters()}.values()))  # each once
    sched = nbf.StepLR(opt, 1)
    rng = np.random.default_rng(0)
    nbf.fit(model, nbf.CrossEntropyLoss(), opt, X, y, epochs=1, rng=rng, progress=False,
            callbacks=[sched])
    path = nbf.save(model, folder / "ck.npz", optimizer=opt, scheduler=sched, rng=rng, epoch=1)
    return path.read_bytes()


@pytest.fixture(scope="module", params=["estimator", "checkpoint"])
def valid_bytes(request, tmp_path_factory):
    return _file_bytes(request.param, tmp_path_factory.mktemp("fuzz"))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1,
                      max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzz_mutated_bytes_raise_only_package_errors(tmp_path, valid_bytes, edits, cut):
    data = bytearray(valid_bytes)
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    path = tmp_path / "fuzz.npz"
    path.write_bytes(bytes(data))
    load_everything(path)  # anything but WeightsFileError propagates and fails the test


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_mutated_headers_raise_only_package_errors(tmp_path, valid_bytes, data):
    with zipfile.ZipFile(io.BytesIO(valid_bytes)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    meta = json.loads(np.load(io.BytesIO(members.pop("__meta__.npy"))).tobytes())
    paths = [p for p in _paths(meta) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths))
        node = meta
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = data.draw(json_values)
        paths = [p for p in _paths(meta) if p]
    path = write_zip(tmp_path / "fuzz.npz", json.dumps(meta), members)
    load_everything(path)
    state = None
    try:
        state = nbf.load_training_state(path)
    except WeightsFileError:
        pass
    assert state is None or isinstance(state, dict)


def test_every_error_a_crafted_file_gives_is_a_package_error():
    assert issubclass(WeightsFileError, NBFSError) and issubclass(WeightsFileError, ValueError)


def test_a_sharing_entry_that_would_make_a_cycle_is_refused(tmp_path):
    inner = nbf.Sequential(nbf.Sequential(nbf.Linear(3, 4, rng=0)), nbf.Tanh())
    model = nbf.Sequential(inner, nbf.Linear(4, 2, rng=1))
    meta = header(model)
    meta["shared"] = {"0.0": "0"}  # the outer of two nested Sequentials as its own first layer
    path = write_zip(tmp_path / "cycle.npz", json.dumps(meta), member_bytes(model))
    with pytest.raises(WeightsFileError, match="'0.0' -> '0' would put a module inside itself"):
        nbf.load(path)
