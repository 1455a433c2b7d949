"""The *.cnnviz project file: exact round trip, refusal of damaged or foreign files with a
clear message, atomic saving."""

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pytest
from reference import random_weights
from safetensors.numpy import save as save_safetensors

from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.core.network import NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.io import atomic
from cnnviz.io.project import (
    FORMAT,
    FORMAT_VERSION,
    Project,
    ProjectFileError,
    load_project,
    project_bytes,
    save_project,
)
from cnnviz.io.weights import flat_names

SPEC = get_preset("tiny").spec
SMALL = NetworkSpec((8, 8, 1), (Conv2D(2, 3), Flatten(), Dense(3, "none")))


def _history():
    h = History()
    h.add_steps(np.array([2.0, 1.5, 1.25], np.float32), np.array([0.25, 0.5, 0.75], np.float32))
    h.epochs.append({"loss": 1.5833, "accuracy": 0.5, "val_loss": 1.4, "val_accuracy": None,
                     "seconds": 0.7})
    return h


def _project(spec=SPEC, weights=True):
    return Project(
        spec, TrainConfig("sgd-momentum", 0.05, 16, 3, 11, 0.2, ("flip", "noise")), "digits",
        random_weights(spec, seed=4) if weights else None, _history(),
        {"replay.bin": bytes(range(256)) * 3, "notes.txt": "größe ✓".encode()})


def _assert_same(a: Project, b: Project):
    assert b.spec == a.spec
    assert b.config == a.config
    assert b.dataset == a.dataset
    assert b.history == a.history
    assert b.extras == a.extras
    if a.weights is None:
        assert b.weights is None
        return
    assert len(b.weights) == len(a.weights)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        assert wa.keys() == wb.keys()
        for name in wa:
            assert wb[name].dtype == np.float32
            np.testing.assert_array_equal(wb[name], wa[name])  # bit for bit


def test_round_trip(tmp_path):
    path = tmp_path / "run.cnnviz"
    project = _project()
    save_project(path, project)
    _assert_same(project, load_project(path))
    _assert_same(project, load_project(str(path)))


def test_round_trip_without_weights_and_defaults(tmp_path):
    path = tmp_path / "new.cnnviz"
    save_project(path, Project(SMALL))
    back = load_project(path)
    assert back.spec == SMALL and back.weights is None and back.extras == {}
    assert back.config == TrainConfig() and back.dataset == "shapes" and back.history == History()


def test_the_file_is_a_plain_zip_with_a_checksummed_manifest(tmp_path):
    data = project_bytes(_project())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    assert set(members) == {"manifest.json", "network.json", "training.json", "history.json",
                            "weights.safetensors", "extras/replay.bin", "extras/notes.txt"}
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == FORMAT == "cnnviz-project"
    assert manifest["version"] == FORMAT_VERSION == 1
    assert manifest["sha256"] == {name: hashlib.sha256(d).hexdigest()
                                  for name, d in members.items() if name != "manifest.json"}
    assert NetworkSpec.from_json(members["network.json"].decode()) == SPEC
    assert json.loads(members["training.json"])["dataset"] == "digits"


def test_saving_replaces_an_older_file(tmp_path):
    path = tmp_path / "run.cnnviz"
    save_project(path, Project(SMALL))
    save_project(path, _project())
    _assert_same(_project(), load_project(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.cnnviz"]


# -- files that are not (or no longer) project files ------------------------------------------


def _saved(tmp_path, project=None) -> tuple:
    path = tmp_path / "run.cnnviz"
    save_project(path, project or _project())
    return path, path.read_bytes()


def _refused(path, *fragments):
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_file(tmp_path):
    _refused(tmp_path / "nope.cnnviz", "no such file")


def test_folder(tmp_path):
    (tmp_path / "dir.cnnviz").mkdir()
    _refused(tmp_path / "dir.cnnviz", "is a folder")


@pytest.mark.parametrize("content", [b"", b"hello, not a zip\n", b"PK\x03\x04 garbage",
                                     bytes(range(256)) * 10])
def test_not_a_zip(tmp_path, content):
    path = tmp_path / "x.cnnviz"
    path.write_bytes(content)
    _refused(path, "not a cnnviz project file")


def test_truncated_anywhere(tmp_path):
    path, data = _saved(tmp_path, _project(SMALL))
    for cut in [*range(1, len(data), max(1, len(data) // 150)), len(data) - 1]:
        path.write_bytes(data[:cut])
        message = _refused(path)
        assert "truncated" in message or "corrupt" in message, (cut, message)


def test_a_flipped_byte_in_a_member_is_refused(tmp_path):
    path, data = _saved(tmp_path)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("weights.safetensors")
    # somewhere in the middle of the weights' compressed bytes
    pos = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    damaged = bytearray(data)
    damaged[pos] ^= 0x01
    path.write_bytes(bytes(damaged))
    message = _refused(path)
    assert any(word in message for word in ("corrupt", "altered", "truncated")), message


def _zip_bytes(members: dict[str, bytes], manifest=None, compression=zipfile.ZIP_DEFLATED):
    """A zip of these members, with a manifest whose checksums fit them (unless given)."""
    if manifest is None:
        manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                    "sha256": {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        if manifest is not False:
            zf.writestr("manifest.json", json.dumps(manifest))
        for name, d in members.items():
            zf.writestr(name, d)
    return buffer.getvalue()


def _members(project=None) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(project_bytes(project or _project(SMALL)))) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if i.filename != "manifest.json"}


def test_single_byte_flips_are_refused_or_harmless(tmp_path):
    # A stored (uncompressed) small project: zip's CRC and the manifest's SHA-256 must
    # catch damage anywhere; flips in fields nobody reads (timestamps...) are harmless.
    spec = NetworkSpec((4, 4, 1), (Conv2D(1, 3), Flatten(), Dense(2, "none")))
    original = Project(spec, weights=random_weights(spec), history=_history())
    data = _zip_bytes(_members(original), compression=zipfile.ZIP_STORED)
    path = tmp_path / "flip.cnnviz"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        directory = zf.start_dir  # the central directory and its end record follow
    # every byte of the zip's directory, a sample of the rest (members and their headers)
    positions = sorted({*range(directory, len(data)), *range(0, directory, 7)})
    harmless = 0
    for pos in positions:
        damaged = bytearray(data)
        damaged[pos] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            loaded = load_project(path)
        except ProjectFileError as exc:
            assert str(path) in str(exc)
            continue
        harmless += 1
        _assert_same(original, loaded)
    # the directory has fields nobody reads (times, attributes, "made by"), but most bytes
    # matter
    assert harmless < len(positions) // 2


def test_altered_member_with_a_valid_zip_fails_its_checksum(tmp_path):
    members = _members()
    manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                "sha256": {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}
    network = json.loads(members["network.json"])
    network["layers"][0]["filters"] = 3
    members["network.json"] = json.dumps(network).encode()
    path = tmp_path / "x.cnnviz"
    path.write_bytes(_zip_bytes(members, manifest))
    _refused(path, "network.json does not match its checksum", "altered or is corrupt")


def test_member_missing(tmp_path):
    members = _members()
    manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                "sha256": {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}
    del members["weights.safetensors"]
    path = tmp_path / "x.cnnviz"
    path.write_bytes(_zip_bytes(members, manifest))
    _refused(path, "member weights.safetensors is missing")


def test_unlisted_member(tmp_path):
    members = _members()
    manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                "sha256": {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}
    members["evil.py"] = b"import os"
    path = tmp_path / "x.cnnviz"
    path.write_bytes(_zip_bytes(members, manifest))
    _refused(path, "unexpected members evil.py")


def test_future_format_version(tmp_path):
    path = tmp_path / "x.cnnviz"
    members = _members()
    path.write_bytes(_zip_bytes(members, {"format": FORMAT, "version": 2, "sha256": {
        n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}))
    _refused(path, "made by a newer cnnviz (format version 2); this one reads version 1")


@pytest.mark.parametrize("manifest", [False, "not json", [1, 2], {"format": "other-app",
                                                                  "version": 1}])
def test_foreign_or_missing_manifest(tmp_path, manifest):
    path = tmp_path / "x.cnnviz"
    if manifest == "not json":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("manifest.json", "{not json")
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes(_zip_bytes({"a.txt": b"x"}, manifest))
    _refused(path, "not a cnnviz project file")


def test_weights_that_do_not_fit_the_network(tmp_path):
    # weights of a 7-class network saved with the 5-class one
    other = SPEC.adapted((28, 28, 1), 7)
    path = tmp_path / "x.cnnviz"
    save_project(path, Project(SPEC, weights=random_weights(other)))
    _refused(path, "dense2/kernel has shape 64x7 but the network needs 64x5")


def _with_member(name, data):
    members = _members()
    members[name] = data
    return _zip_bytes(members)


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("network.json", b'{"schema_version": 1, "input_shape": [8, 8, 1], '
                     b'"layers": [{"type": "conv3d"}]}', "unknown layer type 'conv3d'"),
    ("network.json", b"{broken", "not valid JSON"),
    ("network.json", b"\xff\xfe\x00", ""),
    ("network.json", b'{"schema_version": 1, "input_shape": [8, 8, 1], "layers": '
                     b'[{"type": "conv2d", "filters": 2}, {"type": "flatten"}, '
                     b'{"type": "dense", "units": 3, "activation": "none"}, '
                     b'{"type": "dense", "units": 3, "activation": "none"}]}',
     "missing weights for dense2/kernel (expected shape 3x3)"),
    ("training.json", b'{"config": {"optimizer": "lbfgs"}}', "optimizer must be one of"),
    ("training.json", b'{"dataset": "shapes"}', "missing config"),
    ("training.json", b"[]", ""),
    ("training.json", b'{"config": [1, 2]}', ""),
    ("training.json", b'{"config": {"batch_size": "many"}}', "batch size"),
    ("history.json", b'{"step_loss": [1.0], "step_accuracy": []}', "differ in length"),
    ("history.json", b"[1, 2]", ""),
    ("history.json", b'{"step_loss": "abc", "step_accuracy": "abc"}', ""),
    ("weights.safetensors", b"definitely not safetensors", ""),
    ("weights.safetensors", save_safetensors({"conv1/kernel": np.zeros((3, 3, 1, 2),
                                                                        np.float32)}),
     "missing weights for conv1/bias"),
    ("weights.safetensors", save_safetensors(
        {**flat_names(SMALL, random_weights(SMALL)),
         "conv1/bias": np.array([np.nan, 0], np.float32)}), "conv1/bias contains NaN"),
], ids=["unknown layer", "broken json", "not utf-8", "another network", "bad optimizer",
        "no config", "training not object", "config not object", "bad batch size",
        "history lengths", "history not object", "history strings", "weights garbage",
        "weights missing", "weights nan"])
def test_readable_zip_with_bad_content(tmp_path, name, data, fragment):
    # checksums fit: the file was written like this (by a bug, a hand edit, another tool)
    path = tmp_path / "x.cnnviz"
    path.write_bytes(_with_member(name, data))
    _refused(path, fragment)


def test_manifest_with_checksums_of_the_wrong_type(tmp_path):
    members = _members()
    path = tmp_path / "x.cnnviz"
    path.write_bytes(_zip_bytes(members, {"format": FORMAT, "version": 1, "sha256": ["x"]}))
    _refused(path)


def test_central_directory_compression_method_damaged(tmp_path):
    # one flipped byte in the zip's own bookkeeping, not in a member
    path, data = _saved(tmp_path, _project(SMALL))
    pos = data.rindex(b"PK\x01\x02") + 10  # the last member's compression method
    damaged = bytearray(data)
    damaged[pos] ^= 0xFF
    path.write_bytes(bytes(damaged))
    _refused(path)


# -- atomic saving ------------------------------------------------------------------------------


def _tmp_leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name != "run.cnnviz"]


def test_failed_rename_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path, before = _saved(tmp_path, Project(SMALL))

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        save_project(path, _project())
    assert path.read_bytes() == before
    assert _tmp_leftovers(tmp_path) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path, before = _saved(tmp_path, Project(SMALL))
    calls = []

    def failing_fsync(fd):
        calls.append(fd)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        save_project(path, _project())
    assert calls
    assert path.read_bytes() == before
    assert _tmp_leftovers(tmp_path) == []
    monkeypatch.undo()
    save_project(path, _project())  # and a later save works
    _assert_same(_project(), load_project(path))


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    path, before = _saved(tmp_path, Project(SMALL))

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_project(path, _project())
    assert path.read_bytes() == before and _tmp_leftovers(tmp_path) == []


def test_unserialisable_project_writes_nothing(tmp_path):
    path, before = _saved(tmp_path, Project(SMALL))
    with pytest.raises(ValueError):
        save_project(path, Project(SPEC, weights=[{}]))  # one layer's weights for seven
    assert path.read_bytes() == before and _tmp_leftovers(tmp_path) == []


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(OSError):
        save_project(tmp_path / "no" / "such" / "run.cnnviz", Project(SMALL))
    assert list(tmp_path.iterdir()) == []


def test_saved_file_is_complete_on_disk(tmp_path):
    path = tmp_path / "run.cnnviz"
    save_project(path, _project())
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        on_disk = {i.filename: zf.read(i) for i in zf.infolist()}
    with zipfile.ZipFile(io.BytesIO(project_bytes(_project()))) as zf:
        assert on_disk == {i.filename: zf.read(i) for i in zf.infolist()}
    assert os.path.getsize(path) == path.stat().st_size > 0
