"""Readers of outside data against hostile files: sizes that are claimed or inflated past
a limit are refused before the memory is spent, special files (FIFOs, devices) are never
read, and every refusal says what is actually wrong, naming the member or file."""

import gzip
import hashlib
import io
import json
import os
import stat
import struct
import tarfile
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image
from test_data_formats import idx_bytes

from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.files import NotARegularFile, open_regular, os_reason
from cnnviz.core.layers import Conv2D, Dense, Flatten, LayerFormatError
from cnnviz.core.network import NetworkSpec
from cnnviz.data import cache, standard
from cnnviz.data.cifar import BATCH_BYTES, read_cifar10
from cnnviz.data.dataset import DatasetError
from cnnviz.data.download import RemoteFile
from cnnviz.data.idx import read_idx
from cnnviz.data.registry import load_dataset
from cnnviz.io import atomic, project
from cnnviz.io.archive import ArchiveError, parse_npy
from cnnviz.io.project import FORMAT, Project, ProjectFileError, load_project, save_project

SMALL = NetworkSpec((8, 8, 1), (Conv2D(2, 3), Flatten(), Dense(3, "none")))


def _members(spec=SMALL) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(project.project_bytes(Project(spec)))) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if i.filename != "manifest.json"}


def _zip(members: dict[str, bytes], manifest: dict | None = None) -> bytes:
    """A project archive of `members` with checksums that fit them (unless given)."""
    manifest = manifest or {"format": FORMAT, "version": 1, "sha256": {
        n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _refused(path, *fragments) -> str:
    started = time.perf_counter()
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert time.perf_counter() - started < 10
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- sizes: claimed or inflated past a limit --------------------------------------------------


def _claim_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with `name`'s uncompressed size in both headers changed to `size`."""
    out = bytearray(data)
    encoded = name.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature + b"")
        while at != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at:name_at + len(encoded)] == encoded:
                out[at + offset:at + offset + 4] = struct.pack("<I", size)
            at = out.find(signature, at + 1)
    return bytes(out)


def test_a_member_claiming_gigabytes_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "claims.cnnviz"
    path.write_bytes(_claim_size(_zip(_members()), "history.json", 0xF000_0000))
    _refused(path, "member history.json would take 3.8 GiB once inflated",
             "more than the 512.0 MiB allowed")


def test_a_member_that_inflates_past_its_limit_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(project, "EXTRA_LIMIT", 1 << 20)
    members = {**_members(), "extras/replay": bytes(8 << 20)}  # 8 MiB of zeros: 8 KiB packed
    path = tmp_path / "bomb.cnnviz"
    path.write_bytes(_zip(members))
    assert path.stat().st_size < 100_000
    _refused(path, "member extras/replay would take 8.0 MiB", "1.0 MiB allowed")


def test_weights_larger_than_the_network_needs_are_refused(tmp_path):
    members = _members()
    members["weights.safetensors"] = bytes(4 << 20)
    path = tmp_path / "fat.cnnviz"
    path.write_bytes(_zip(members))
    _refused(path, "member weights.safetensors would take 4.0 MiB")


def test_an_encrypted_member_is_explained(tmp_path):
    data = bytearray(_zip(_members()))
    at = data.find(b"PK\x01\x02" + b"")
    while at != -1:  # set the "encrypted" flag of every member in the central directory
        data[at + 8] |= 0x01
        at = data.find(b"PK\x01\x02", at + 1)
    path = tmp_path / "locked.cnnviz"
    path.write_bytes(bytes(data))
    _refused(path, "is encrypted (cnnviz never encrypts what it writes)")


def test_members_compressed_another_way_are_refused(tmp_path):
    buffer = io.BytesIO()
    members = _members()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("manifest.json", json.dumps({"format": FORMAT, "version": 1, "sha256": {
            n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}))
        for name, data in members.items():
            zf.writestr(name, data)
    path = tmp_path / "bz.cnnviz"
    path.write_bytes(buffer.getvalue())
    _refused(path, "reads only stored and deflated members")


def test_thousands_of_unlisted_members_make_a_short_message(tmp_path):
    members = _members()
    buffer = io.BytesIO(_zip(members))
    with zipfile.ZipFile(buffer, "a") as zf:
        for i in range(5000):
            zf.writestr(f"junk/{i:05d}", b"")
    path = tmp_path / "crowded.cnnviz"
    path.write_bytes(buffer.getvalue())
    message = _refused(path, "unexpected members junk/00000, junk/00001", "and 4,990 more")
    assert len(message) < 400


# -- what the manifest and members hold -------------------------------------------------------


@pytest.mark.parametrize(("version", "fragment"), [
    ("1", "its format version '1' is not a version cnnviz ever wrote"),
    (0, "its format version 0 is not a version cnnviz ever wrote"),
    (True, "its format version True"),
    (2, "made by a newer cnnviz (format version 2); this one reads version 1"),
])
def test_a_bad_format_version_says_what_is_wrong(tmp_path, version, fragment):
    members = _members()
    path = tmp_path / "v.cnnviz"
    path.write_bytes(_zip(members, {"format": FORMAT, "version": version, "sha256": {
        n: hashlib.sha256(d).hexdigest() for n, d in members.items()}}))
    _refused(path, fragment)


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("training.json", b"[1, 2]", "training.json: the training settings must be a JSON object, "
                                 "not list"),
    ("training.json", b'{"config": {"augment": 5}}', "training.json: augment must be a list"),
    ("training.json", b'{"config": {"batch_size": 1000000000000}}',
     "training.json: batch size must be at most 65,536"),
    ("training.json", b'{"config": {"seed": 99999999999999999999999}}',
     "training.json: seed must be at most 2,147,483,647"),
    ("training.json", b'{"config": {}, "dataset": 7}', "training.json: dataset must be a name"),
    ("history.json", b'"text"', "history.json: the history must be a JSON object, not str"),
    ("history.json", b'{"step_loss": {"a": 1}}', "history.json: history: step_loss must be a list"),
    ("history.json", b'{"halts": [{"reason": "bored"}]}', "a halt must be an object whose"),
    ("history.json", b"[" * 100_000 + b"]" * 100_000, "history.json: nested too deeply"),
    ("network.json", b"[" * 100_000 + b"]" * 100_000, "network.json: nested too deeply"),
    ("network.json", json.dumps({"schema_version": 1, "input_shape": [8, 8, 1], "layers": [
        {"type": "conv2d", "filters": 2**70}, {"type": "flatten"},
        {"type": "dense", "units": 3}]}).encode(), "filters must be at most 2,147,483,647"),
], ids=["training list", "augment 5", "batch 1e12", "huge seed", "dataset number",
        "history text", "step_loss object", "unknown halt", "deep history", "deep network",
        "filters 2^70"])
def test_content_of_the_wrong_kind_is_named_with_its_member(tmp_path, name, data, fragment):
    members = _members()
    members[name] = data
    path = tmp_path / "x.cnnviz"
    path.write_bytes(_zip(members))
    if name == "network.json" and b"filters" in data:  # readable: refused when analysed
        assert fragment in str(load_project(path).spec.analyze().problems[0])
        return
    _refused(path, fragment)


def test_a_network_nested_deep_is_a_format_error():
    with pytest.raises(LayerFormatError, match="nested too deeply"):
        NetworkSpec.from_json("[" * 100_000)
    with pytest.raises(LayerFormatError, match="not UTF-8"):
        NetworkSpec.from_json(b"\xff\xfe{")


def test_every_whole_number_is_bounded():
    with pytest.raises(ConfigError, match="epochs must be at most 100,000"):
        TrainConfig(epochs=10**6)
    problems = NetworkSpec((8, 8, 1), (Flatten(), Dense(2**70))).analyze().problems
    assert "units must be at most 2,147,483,647, got 1,180,591,620,717,411,303,424" in str(
        problems[0])
    problems = NetworkSpec((2**40, 8, 1), (Flatten(), Dense(3))).analyze().problems
    assert "positive whole numbers up to 2,147,483,647" in str(problems[0])


# -- what the path names ----------------------------------------------------------------------


def _within(seconds, fn, *args):
    """fn(*args), failing the test if it has not returned after `seconds` (a hang)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(_outcome(fn, *args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn.__name__} hangs"
    return result[0]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - handed to the test to look at
        return exc


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo.cnnviz"
    os.mkfifo(fifo)
    error = _within(10, load_project, fifo)
    assert isinstance(error, ProjectFileError) and "is a pipe (FIFO), not a file" in str(error)
    error = _within(10, read_idx, fifo)
    assert isinstance(error, DatasetError) and "pipe" in str(error)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_an_endless_device_is_refused():
    error = _within(10, load_project, "/dev/zero")
    assert isinstance(error, ProjectFileError) and "is a device, not a file" in str(error)
    with pytest.raises(NotARegularFile):
        open_regular("/dev/zero")


def test_a_symlink_loop_and_a_permission_say_so(tmp_path, monkeypatch):
    loop = tmp_path / "loop.cnnviz"
    loop.symlink_to(loop)
    _refused(loop, "a symbolic link that points back to itself (a symlink loop)")
    assert os_reason(PermissionError(13, "Permission denied")) == (
        "permission denied (you may not read it)")
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.cnnviz"
        save_project(locked, Project(SMALL))
        locked.chmod(0)
        _refused(locked, "permission denied")


# -- data files -------------------------------------------------------------------------------


def test_an_idx_header_claiming_more_than_the_format_holds_is_refused_before_reading(tmp_path):
    path = tmp_path / "claims.gz"
    header = bytes([0, 0, 8, 3]) + np.array([10_000, 280, 280], ">u4").tobytes()
    path.write_bytes(gzip.compress(header + bytes(1000)))
    with pytest.raises(DatasetError, match="the header says images of 10000x280x280, but this "
                                           "dataset's images are Nx28x28"):
        standard.read_idx_images_labels(path, path, (28, 28), 70_000)
    with pytest.raises(DatasetError, match="truncated: the header promises 10000x280x280 = "
                                           "784000000 bytes of data, the file holds 1,000"):
        read_idx(path)
    header = bytes([0, 0, 8, 3]) + np.array([10_000, 400, 400], ">u4").tobytes()
    path.write_bytes(gzip.compress(header + bytes(1000)))
    with pytest.raises(DatasetError, match="more than the 1.0 GiB this file can hold"):
        read_idx(path)


def test_idx_dimensions_whose_product_overflows_64_bits_are_refused(tmp_path):
    path = tmp_path / "overflow"
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([2**32 - 1] * 3, ">u4").tobytes() + bytes(8))
    with pytest.raises(DatasetError, match="4294967295x4294967295x4294967295 = "):
        read_idx(path)


def test_an_idx_gzip_that_inflates_past_its_header_stops_there(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((10, 28, 28), np.uint8))
                                   + bytes(64 << 20)))  # 64 MiB more, 64 KiB packed
    assert path.stat().st_size < 200_000
    with pytest.raises(DatasetError, match="has trailing bytes"):
        read_idx(path, (None, 28, 28), 70_000 * 784)


def test_a_cifar_archive_member_larger_than_a_batch_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        info.size = BATCH_BYTES + 1
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(DatasetError, match="more than the 30,730,000 of a CIFAR-10 batch"):
        read_cifar10(path)


def test_a_folder_with_one_image_per_class_says_its_test_split_is_empty(tmp_path):
    for name in ("cats", "dogs", "owls"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.full((8, 8), 90, np.uint8)).save(tmp_path / name / "a.png")
    dataset = load_dataset(f"folder:{tmp_path}", image_size=8, validation_fraction=0)
    assert len(dataset.x_test) == 0
    assert any("the test split is empty" in note for note in dataset.notes)


def test_an_image_size_past_the_limit_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="image size must be a whole number from 1 to 1024, "
                                           "got 100000"):
        load_dataset("shapes", image_size=100_000)


def test_cached_files_are_checked_against_their_sums_once(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    arrays = [np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.uint8),
              np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)]
    files = []
    for file, array in zip(standard.STANDARD["mnist"].files, arrays, strict=True):
        data = gzip.compress(idx_bytes(array))
        (folder / file.name).write_bytes(data)
        files.append(RemoteFile(file.name, len(data), hashlib.sha256(data).hexdigest()))
    monkeypatch.setitem(standard.STANDARD, "mnist", standard.StandardDataset(
        **{**standard.STANDARD["mnist"].__dict__, "files": tuple(files), "size": 5}))
    hashed = []
    real = cache.sha256_of
    monkeypatch.setattr(cache, "sha256_of", lambda path: hashed.append(path) or real(path))
    load_dataset("mnist", validation_fraction=0)
    assert len(hashed) == 4
    load_dataset("mnist", validation_fraction=0)
    assert len(hashed) == 4  # recorded: not hashed again
    # random bytes of the right size under the right name
    victim = folder / files[0].name
    victim.write_bytes(os.urandom(files[0].size))
    with pytest.raises(DatasetError, match="is not the file its publishers serve") as info:
        load_dataset("mnist", validation_fraction=0)
    assert str(victim) in str(info.value) and "Delete it" in str(info.value)


# -- temporaries a killed save left behind ----------------------------------------------------


def test_the_next_save_removes_stale_temporaries_of_its_file_only(tmp_path):
    path = tmp_path / "run.cnnviz"
    stale = tmp_path / ".run.cnnviz.k3j4h5g6.tmp"
    fresh = tmp_path / ".run.cnnviz.a1b2c3d4.tmp"  # another save, in progress right now
    other = tmp_path / ".other.cnnviz.k3j4h5g6.tmp"
    for p in (stale, fresh, other):
        p.write_bytes(b"half a project")
    old = time.time() - atomic.STALE_S - 60
    for p in (stale, other):
        os.utime(p, (old, old))
    save_project(path, Project(SMALL))
    assert not stale.exists() and fresh.exists() and other.exists()
    assert stat.S_ISREG(path.stat().st_mode)


@pytest.mark.parametrize("header", [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (3,", "{'descr': '|O', "
    "'fortran_order': False, 'shape': (3,), }", "{'descr': '<f8', 'fortran_order': False, "
    "'shape': (2**40,), }", "__import__('os').system('true')"])
def test_an_npy_header_is_matched_never_evaluated(header):
    encoded = header.encode("latin1")
    data = b"\x93NUMPY\x01\x00" + len(encoded).to_bytes(2, "little") + encoded + bytes(24)
    with pytest.raises(ArchiveError):
        parse_npy(data, "x.npy")
