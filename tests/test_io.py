"""Saving and loading: exact round trips, no pickle, refusals that leave the model intact, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nbfromscratch.exceptions import ArgumentTypeError, NonFiniteError, WeightsFileError
from nbfromscratch.io import FORMAT_VERSION, load, load_weights, save
from nbfromscratch.layers import Dropout, Linear, ReLU, Sequential, Tanh


def make_model(seed: int = 0, hidden: int = 5, dtype=np.float64, act=ReLU) -> Sequential:
    return Sequential(Linear(3, hidden, rng=seed, dtype=dtype), act(), Dropout(0.1),
                      Linear(hidden, 2, rng=seed + 1, dtype=dtype))


def weights(model) -> dict[str, np.ndarray]:
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_same_weights(model, expected: dict[str, np.ndarray]) -> None:
    got = weights(model)
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        assert got[name].dtype == expected[name].dtype


def write_npz(path: Path, meta: dict | None, arrays: dict[str, np.ndarray], **kw) -> None:
    """A hand-made weights file (header built here, not by the package)."""
    payload = dict(arrays)
    if meta is not None:
        payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **payload, **kw)


def valid_meta(model) -> dict:
    return {
        "format": "nbfromscratch-weights",
        "format_version": 1,
        "architecture": model.get_config(),
        "dtype": "float64",
        "parameters": {n: {"shape": list(p.shape), "dtype": p.dtype.name}
                       for n, p in model.named_parameters()},
    }


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_then_load_rebuilds_identical_model(tmp_path, dtype):
    model = make_model(dtype=dtype)
    path = save(model, tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    loaded = load(path)
    assert_same_weights(loaded, weights(model))
    assert repr(loaded) == repr(model)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(dtype)
    model.eval()
    loaded.eval()
    np.testing.assert_array_equal(loaded(x), model(x))


def test_load_weights_copies_into_an_existing_model(tmp_path):
    source = make_model(seed=0)
    target = make_model(seed=10)
    arrays_before = [p.data for p in target.parameters()]
    save(source, tmp_path / "w.npz")
    assert load_weights(target, tmp_path / "w.npz") is target
    assert_same_weights(target, weights(source))
    # In place: the model keeps its arrays (an optimizer holding them still works).
    assert all(a is p.data for a, p in zip(arrays_before, target.parameters()))


def test_load_weights_ignores_hyperparameters_that_do_not_shape_weights(tmp_path):
    source = make_model()
    target = Sequential(Linear(3, 5, init="xavier_uniform", rng=3), ReLU(), Dropout(0.5),
                        Linear(5, 2, rng=4))
    save(source, tmp_path / "w.npz")
    load_weights(target, tmp_path / "w.npz")
    assert_same_weights(target, weights(source))


def test_saved_file_is_plain_arrays_readable_without_pickle(tmp_path):
    model = make_model()
    save(model, tmp_path / "w.npz")
    with zipfile.ZipFile(tmp_path / "w.npz") as zf:
        assert sorted(zf.namelist()) == sorted(
            ["__meta__.npy", "0.weight.npy", "0.bias.npy", "3.weight.npy", "3.bias.npy"]
        )
    with np.load(tmp_path / "w.npz", allow_pickle=False) as npz:
        header = json.loads(npz["__meta__"].tobytes())
        assert npz["__meta__"].dtype == np.uint8
        assert all(npz[k].dtype != object for k in npz.files)
        np.testing.assert_array_equal(npz["0.weight"], model[0].weight.data)
    assert header["format_version"] == FORMAT_VERSION
    assert header["architecture"]["type"] == "Sequential"
    assert header["parameters"]["3.weight"] == {"shape": [5, 2], "dtype": "float64"}


def test_save_overwrites_and_leaves_no_temporary_files(tmp_path):
    save(make_model(seed=0), tmp_path / "w.npz")
    newer = make_model(seed=7)
    save(newer, tmp_path / "w.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]
    assert_same_weights(load(tmp_path / "w.npz"), weights(newer))


# -- refusals: WeightsFileError and the model unchanged ----------------------------------------------
@pytest.fixture
def target():
    model = make_model(seed=42)
    return model, weights(model)


def test_object_array_is_refused_without_unpickling(tmp_path, target):
    model, before = target
    arrays = weights(make_model())
    arrays["0.weight"] = np.array([{"evil": 1}, None], dtype=object)
    write_npz(tmp_path / "w.npz", valid_meta(model), arrays, allow_pickle=True)
    with pytest.raises(WeightsFileError, match="not a readable weights file"):
        load_weights(model, tmp_path / "w.npz")
    with pytest.raises(WeightsFileError):
        load(tmp_path / "w.npz")
    assert_same_weights(model, before)


def test_truncated_file_is_refused(tmp_path, target):
    model, before = target
    save(make_model(), tmp_path / "w.npz")
    data = (tmp_path / "w.npz").read_bytes()
    for keep in (len(data) // 2, len(data) - 30, 10):
        (tmp_path / "cut.npz").write_bytes(data[:keep])
        with pytest.raises(WeightsFileError):
            load_weights(model, tmp_path / "cut.npz")
    assert_same_weights(model, before)


def test_flipped_bytes_in_the_weights_are_detected(tmp_path, target):
    model, before = target
    save(make_model(), tmp_path / "w.npz")
    data = bytearray((tmp_path / "w.npz").read_bytes())
    # Damage the stored values of 3.weight (found by its distinctive raw bytes).
    raw = make_model()[3].weight.data.tobytes()
    at = data.index(raw)
    data[at + 3] ^= 0xFF
    (tmp_path / "w.npz").write_bytes(bytes(data))
    with pytest.raises(WeightsFileError):
        load_weights(model, tmp_path / "w.npz")
    assert_same_weights(model, before)


def test_other_format_version_is_refused(tmp_path, target):
    model, before = target
    meta = valid_meta(model)
    meta["format_version"] = FORMAT_VERSION + 1
    write_npz(tmp_path / "w.npz", meta, weights(make_model()))
    with pytest.raises(WeightsFileError, match=f"format version {FORMAT_VERSION + 1}"):
        load_weights(model, tmp_path / "w.npz")
    with pytest.raises(WeightsFileError, match="version"):
        load(tmp_path / "w.npz")
    assert_same_weights(model, before)


def test_npz_without_header_or_other_files_are_refused(tmp_path, target):
    model, before = target
    write_npz(tmp_path / "plain.npz", None, weights(make_model()))
    (tmp_path / "text.npz").write_text("hello, not a zip file")
    np.save(tmp_path / "single.npy", np.zeros(3))
    for name in ("plain.npz", "text.npz", "single.npy"):
        with pytest.raises(WeightsFileError):
            load_weights(model, tmp_path / name)
    assert_same_weights(model, before)


def test_header_that_disagrees_with_the_arrays_is_refused(tmp_path, target):
    model, before = target
    meta = valid_meta(model)
    meta["parameters"]["0.weight"]["shape"] = [5, 3]
    write_npz(tmp_path / "w.npz", meta, weights(make_model()))
    with pytest.raises(WeightsFileError, match="0.weight"):
        load_weights(model, tmp_path / "w.npz")
    assert_same_weights(model, before)


@pytest.mark.parametrize(
    "other",
    [
        lambda: make_model(hidden=6),          # other shapes
        lambda: make_model(act=Tanh),          # same shapes, another activation
        lambda: make_model(dtype=np.float32),  # other dtype
        lambda: Sequential(Linear(3, 5), ReLU(), Linear(5, 2)),  # a layer fewer
    ],
    ids=["shapes", "activation", "dtype", "layers"],
)
def test_architecture_mismatch_is_refused_and_model_unchanged(tmp_path, other):
    save(other(), tmp_path / "w.npz")
    model = make_model(seed=3)
    before = weights(model)
    with pytest.raises(WeightsFileError):
        load_weights(model, tmp_path / "w.npz")
    assert_same_weights(model, before)


def test_unknown_layer_type_in_the_file_is_refused(tmp_path):
    model = make_model()
    meta = valid_meta(model)
    meta["architecture"]["layers"][1] = {"type": "Conv7D"}
    write_npz(tmp_path / "w.npz", meta, weights(model))
    with pytest.raises(WeightsFileError, match="Conv7D"):
        load(tmp_path / "w.npz")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


# -- atomicity ----------------------------------------------------------------------------------------
KILLED_SAVER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import numpy.lib.format
    from nbfromscratch.io import save
    from nbfromscratch.layers import Linear, Sequential

    path, where = sys.argv[1], sys.argv[2]

    def hang():
        print("saving", flush=True)
        time.sleep(60)  # the parent kills us here

    if where == "mid-write":
        real_write_array = numpy.lib.format.write_array
        written = []

        def slow_write_array(*args, **kwargs):
            real_write_array(*args, **kwargs)
            written.append(1)
            if len(written) == 2:  # header and first weight written, the rest not
                hang()

        numpy.lib.format.write_array = slow_write_array
    else:  # "before-rename": the temporary file is complete but not yet renamed
        os.fsync = lambda fd: hang()

    model = Sequential(Linear(3, 200, rng=5), Linear(200, 2, rng=6))
    save(model, path)
    """
)


@pytest.mark.parametrize("where", ["mid-write", "before-rename"])
def test_save_killed_midway_leaves_the_previous_file_intact(tmp_path, where):
    path = tmp_path / "model.npz"
    old = Sequential(Linear(3, 200, rng=1), Linear(200, 2, rng=2))
    save(old, path)
    old_bytes = path.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVER, str(path), where],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "saving", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    # The kill hit during the save: its temporary file is still there...
    leftovers = [p for p in tmp_path.iterdir() if p.name != "model.npz"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".model.npz.")
    # ...and the target is still the old file, byte for byte, and loads.
    assert path.read_bytes() == old_bytes
    assert_same_weights(load(path), weights(old))


def test_failed_save_keeps_the_previous_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = make_model(seed=0)
    save(old, path)

    def broken_savez(file, **arrays):
        file.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save(make_model(seed=1), path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert_same_weights(load(path), weights(old))


# -- more refusals: non-finite weights, damaged headers, allocation bombs --------------------------
def test_hand_built_version_1_file_loads_so_the_format_is_stable(tmp_path):
    # Written from the documented layout alone (no call to save): what version 1 promises.
    model = make_model(seed=4)
    write_npz(tmp_path / "w.npz", valid_meta(model), weights(model))
    assert_same_weights(load(tmp_path / "w.npz"), weights(model))
    assert_same_weights(load_weights(make_model(seed=9), tmp_path / "w.npz"), weights(model))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_file_with_non_finite_weights_is_refused_and_model_unchanged(tmp_path, target, bad):
    model, before = target
    arrays = weights(make_model())
    arrays["3.bias"][1] = bad
    write_npz(tmp_path / "w.npz", valid_meta(model), arrays)
    with pytest.raises(WeightsFileError, match="'3.bias' holds NaN or inf"):
        load_weights(model, tmp_path / "w.npz")
    with pytest.raises(WeightsFileError, match="NaN or inf"):
        load(tmp_path / "w.npz")
    assert_same_weights(model, before)


def test_saving_non_finite_weights_is_refused_and_the_old_file_kept(tmp_path):
    path = tmp_path / "model.npz"
    save(make_model(seed=0), path)
    old_bytes = path.read_bytes()
    broken = make_model(seed=1)
    broken[0].weight.data[1, 2] = np.nan
    with pytest.raises(NonFiniteError, match="'0.weight' holds NaN or inf"):
        save(broken, path)
    assert path.read_bytes() == old_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_save_refuses_what_is_not_a_module(tmp_path):
    with pytest.raises(ArgumentTypeError, match="expected a Module or a fitted estimator, got dict"):
        save({"0.weight": np.zeros(3)}, tmp_path / "w.npz")
    with pytest.raises(ArgumentTypeError, match="expected a Module"):
        load_weights([np.zeros(3)], tmp_path / "w.npz")


def test_header_asking_for_a_huge_layer_is_refused_before_allocating(tmp_path):
    # A damaged (or malicious) header must not make load() allocate 8e18 bytes.
    model = make_model()
    meta = valid_meta(model)
    meta["architecture"]["layers"][0]["in_features"] = 10**9
    meta["architecture"]["layers"][0]["out_features"] = 10**9
    write_npz(tmp_path / "w.npz", meta, weights(model))
    with pytest.raises(WeightsFileError, match="size of 1000000000"):
        load(tmp_path / "w.npz")


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m["parameters"].update({"0.weight": "not a dict"}),
        lambda m: m["architecture"].update({"layers": 7}),
        lambda m: m["architecture"].update({"layers": [{"type": "Linear", "in_features": "3"}]}),
        lambda m: m.update({"format_version": "1"}),
        lambda m: m.update({"architecture": [1, 2]}),
    ],
    ids=["parameter-spec", "layers-not-a-list", "bad-layer-argument", "version-as-text",
         "architecture-not-a-dict"],
)
def test_damaged_header_fields_are_refused_and_model_unchanged(tmp_path, target, damage):
    model, before = target
    meta = valid_meta(model)
    damage(meta)
    write_npz(tmp_path / "w.npz", meta, weights(make_model()))
    with pytest.raises(WeightsFileError):
        load(tmp_path / "w.npz")
    with pytest.raises(WeightsFileError):
        load_weights(model, tmp_path / "w.npz")
    assert_same_weights(model, before)


def test_deeply_nested_header_is_refused(tmp_path, target):
    model, before = target
    raw = ("[" * 100_000 + "]" * 100_000).encode()
    np.savez(tmp_path / "w.npz", __meta__=np.frombuffer(raw, dtype=np.uint8), **weights(model))
    with pytest.raises(WeightsFileError, match="header"):
        load_weights(model, tmp_path / "w.npz")
    assert_same_weights(model, before)


# -- estimators, training state and shared modules --------------------------------------------
@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "bird"]), np.array([3, 7, 11]), np.array([True, False, True]),
    np.array([-1.0, 0.0, 2.0]), np.array(["x", "yy", "zzz"], dtype=object),
], ids=["str", "int", "bool", "float", "object-str"])
def test_fitted_classifier_round_trips_with_its_labels(tmp_path, labels):
    import nbfromscratch as nbf

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = labels[rng.integers(0, len(labels), size=60)]
    clf = nbf.MLPClassifier((6,), max_iter=5, random_state=0, alpha=0.01).fit(X, y)
    back = load(save(clf, tmp_path / "clf.npz"))
    assert type(back) is nbf.MLPClassifier and back is not clf
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.get_params() == {**clf.get_params(), "dtype": "float64"}
    assert back.n_features_in_ == 4 and back.n_iter_ == clf.n_iter_ and back.loss_ == clf.loss_
    assert back.history_.equals(clf.history_)


@pytest.mark.parametrize("two_d", [False, True])
def test_fitted_regressor_round_trips(tmp_path, two_d):
    import nbfromscratch as nbf

    X, y = nbf.make_sinc(50, rng=0)
    y = np.hstack([y, -y]) if two_d else y.ravel()
    reg = nbf.MLPRegressor((8,), max_iter=5, random_state=0, dtype=np.float32).fit(X, y)
    back = load(save(reg, tmp_path / "reg.npz"))
    assert back.predict(X).shape == reg.predict(X).shape == y.shape
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    assert back.predict(X).dtype == np.float32


def test_unfitted_estimator_is_refused(tmp_path):
    import nbfromscratch as nbf

    with pytest.raises(ArgumentTypeError, match="fitted MLPClassifier or MLPRegressor"):
        save(nbf.MLPClassifier(), tmp_path / "e.npz")


def test_a_module_used_twice_stays_one_module_after_load(tmp_path):
    lin = Linear(3, 3, rng=0)
    model = Sequential(lin, Tanh(), lin, ReLU(), Linear(3, 2, rng=1))
    back = load(save(model, tmp_path / "shared.npz"))
    assert back[0] is back[2] and back[0] is not back[4]
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(back(x), model(x))
    with np.load(tmp_path / "shared.npz") as npz:  # the shared weights are stored once
        assert sorted(npz.files) == ["0.bias", "0.weight", "4.bias", "4.weight", "__meta__"]
        meta = json.loads(npz["__meta__"].tobytes())
    assert meta["shared"] == {"2": "0"}


def test_a_parameter_shared_by_two_layers_stays_shared(tmp_path):
    first, second = Linear(3, 3, rng=0), Linear(3, 3, rng=1)
    second.weight = first.weight  # tied weights, separate biases
    back = load(save(Sequential(first, Tanh(), second), tmp_path / "tied.npz"))
    assert back[0].weight is back[2].weight and back[0].bias is not back[2].bias
    np.testing.assert_array_equal(back[2].bias.data, second.bias.data)


def test_training_state_is_saved_only_when_asked(tmp_path):
    import nbfromscratch as nbf

    path = save(make_model(), tmp_path / "m.npz")
    assert nbf.load_training_state(path) == {"optimizer": None, "optimizer_type": None,
                                             "scheduler": None, "rng": None, "epoch": None}
    model = make_model()
    opt = nbf.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad[...] = 1.0
    opt.step()
    rng = np.random.default_rng(7)
    rng.random(3)
    path = save(model, tmp_path / "ck.npz", optimizer=opt, rng=rng, epoch=4)
    state = nbf.load_training_state(path)
    assert state["optimizer_type"] == "SGD" and state["epoch"] == 4
    assert state["rng"].random() == rng.random()  # continues the same stream
    fresh = nbf.SGD(load(path).parameters())
    fresh.load_state_dict(state["optimizer"])
    assert fresh.momentum == 0.9 and fresh.step_count == 1
    np.testing.assert_array_equal(fresh.state[0]["momentum_buffer"], opt.state[0]["momentum_buffer"])
