"""Fuzz every reader of outside data: seeded mutations of valid inputs, under a memory cap
and a time cap per input; the only outcomes allowed are success or the reader's own error.

Readers: project files (load_project), network JSON (NetworkSpec.from_json, then the
analysis, summary and memory estimate a file leads to), IDX files, CIFAR-10 archives and
batch folders, image folders (folder: datasets) and training replays. Each starts from
valid inputs made here and mutates them: byte flips, cuts, repeats and splices; extreme
numbers written into binary headers; and, for the formats whose damage a checksum would
otherwise catch first (project members, JSON), mutations of the content itself, with the
checksums recomputed so the reader's deeper checks are reached.

Anything else a reader raises, a MemoryError (the address space is capped at what the
process had after its imports plus --memory-mib) or an input taking more than
--per-input-s is a failure: the input is saved under --out and the exit status is 1.

    python benchmarks/fuzz_readers.py --seconds 600          # the long run
    python benchmarks/fuzz_readers.py --seconds 30 --seed 7  # what the test suite runs

It needs neither JAX nor Qt (the readers do not), so it starts in about a second.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import hashlib
import io
import json
import math
import os
import random
import resource
import signal
import struct
import sys
import tarfile
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cnnviz.core.config import TrainConfig
from cnnviz.core.history import DIVERGED, Halt, History
from cnnviz.core.layers import LayerFormatError
from cnnviz.core.memory import training_memory
from cnnviz.core.mosaic import Mosaic
from cnnviz.core.network import NetworkSpec
from cnnviz.core.optimizer_leaves import OptimizerLeaves
from cnnviz.core.presets import PRESETS
from cnnviz.core.replay import Frame, Replay
from cnnviz.core.runs import COMPRESSED, FINE_TUNED, Run
from cnnviz.core.summary import summary_table
from cnnviz.data.cifar import RECORD_BYTES, TEST_BATCH, TRAIN_BATCHES, read_cifar10
from cnnviz.data.dataset import DatasetError
from cnnviz.data.folder import load_folder
from cnnviz.data.idx import read_idx_images_labels
from cnnviz.io import optimizer_member
from cnnviz.io.project import (
    OPTIONAL,
    Project,
    ProjectFileError,
    load_project,
    project_bytes,
)
from cnnviz.io.replay import ReplayError, load_replay, replay_bytes

EXTREMES = (0, 1, 2, 255, 2**15, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1)
JSON_EXTREMES = (0, -1, 1.5, 2**31, 2**70, -(2**70), 1e308, "x", "", None, True, [], {},
                 [[[[[]]]]], "nan")


class Hang(BaseException):
    """An input took longer than the per-input time cap (a BaseException: no reader may
    catch it as one of its own errors)."""


# -- mutations --------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes, rounds: int = 3) -> bytes:
    """A few random edits of `data`: flips, cuts, repeats, inserted extremes, splices."""
    out = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        if not out:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            continue
        at = rng.randrange(len(out))
        match rng.randrange(7):
            case 0:
                out[at] ^= 1 << rng.randrange(8)
            case 1:
                out[at] = rng.randrange(256)
            case 2:
                del out[at:at + rng.randint(1, 64)]
            case 3:
                del out[rng.randrange(len(out)):]
            case 4:
                chunk = out[at:at + rng.randint(1, 256)]
                out[at:at] = chunk * rng.randint(1, 8)
            case 5:
                value = rng.choice(EXTREMES)
                fmt = rng.choice(("<I", ">I", "<Q", ">Q", "<H", ">H"))
                with contextlib.suppress(struct.error):
                    out[at:at + struct.calcsize(fmt)] = struct.pack(fmt, value % (
                        256 ** struct.calcsize(fmt)))
            case 6:
                out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return bytes(out)


def mutate_json(rng: random.Random, value, depth: int = 0):
    """`value` (parsed JSON) with one part replaced, removed, deepened or duplicated."""
    if isinstance(value, dict) and value and depth < 6 and rng.random() < 0.7:
        key = rng.choice(list(value))
        copy = dict(value)
        match rng.randrange(4):
            case 0:
                del copy[key]
            case 1:
                copy[key] = rng.choice(JSON_EXTREMES)
            case 2:
                copy[key + "_extra"] = copy[key]
            case _:
                copy[key] = mutate_json(rng, copy[key], depth + 1)
        return copy
    if isinstance(value, list) and value and depth < 6 and rng.random() < 0.7:
        copy = list(value)
        i = rng.randrange(len(copy))
        match rng.randrange(4):
            case 0:
                del copy[i]
            case 1:
                copy[i] = rng.choice(JSON_EXTREMES)
            case 2:
                copy.extend(copy[:rng.randint(1, len(copy))] * rng.randint(1, 50))
            case _:
                copy[i] = mutate_json(rng, copy[i], depth + 1)
        return copy
    if rng.random() < 0.05:
        deep = rng.randint(500, 50_000)
        return json.loads("[" * deep + "]" * deep) if deep < 900 else None
    return rng.choice(JSON_EXTREMES)


def json_text(rng: random.Random, value) -> bytes:
    """`value` mutated and written out; now and then nested deeper than a parser goes."""
    if rng.random() < 0.03:
        deep = rng.randint(1_000, 100_000)
        return ("[" * deep + "]" * deep).encode()
    text = json.dumps(mutate_json(rng, value)).encode()
    return mutate_bytes(rng, text, 1) if rng.random() < 0.2 else text


# -- valid inputs to start from ---------------------------------------------------------------


def _mosaic(rng: np.random.Generator, h: int, w: int, rows: int, cols: int) -> Mosaic:
    gap = 1
    image = rng.integers(0, 255, (rows * (h + gap) - gap, cols * (w + gap) - gap), np.uint8)
    return Mosaic(image, (h, w), (rows, cols), rows * cols, gap)


@functools.cache
def sample_replay() -> bytes:
    rng = np.random.default_rng(0)
    frames = tuple(Frame(step, 0, 2.0 / step, 0.5, {"conv1": _mosaic(rng, 3, 3, 2, 2)},
                         {"input": _mosaic(rng, 8, 8, 1, 1), "conv1": _mosaic(rng, 6, 6, 2, 2)},
                         {"conv1": 1.5}, {"conv1": 0.25})
                   for step in (1, 5, 9))
    return replay_bytes(Replay(frames))


@functools.cache
def sample_projects() -> tuple[bytes, ...]:
    """The valid project files mutations start from."""
    return tuple(project_bytes(p) for p in _projects())


def _projects() -> list[Project]:
    spec = PRESETS["tiny"].spec
    analysis = spec.check()
    rng = np.random.default_rng(0)
    weights = [{key: rng.normal(0, 0.1, shape).astype(np.float32)
                for key, shape in _param_shapes(info).items()} for info in analysis.layers]
    history = History([2.0, 1.5, math.nan], [0.2, 0.4, 0.0],
                      [{"loss": 1.7, "accuracy": 0.3, "val_loss": 1.6, "val_accuracy": None,
                        "seconds": 1.0}], [Halt(DIVERGED, 3, 10.0, "adam", 2, 0.5)])
    config = TrainConfig("sgd-momentum", 0.1, 16, 2, 3, 0.2, ("flip",))
    runs = [Run(1, "scratch", spec, config, "digits", history, per_class=10, test_loss=1.5,
                test_accuracy=0.4, steps_per_epoch=3, weights=weights),
            Run(2, "fine-tuned", spec, config, "outlines", History(), kind=FINE_TUNED,
                source="scratch (digits)"),
            Run(3, "Run 3: pruned 80.0 %", spec, config, "digits", history, per_class=10,
                kind=COMPRESSED, source="scratch (digits)", test_loss=1.25, test_accuracy=0.5,
                val_loss=1.75, val_accuracy=0.375, own_history=False, weights=weights)]
    # sgd-momentum's state as optax lays it out: step count, learning rate, weight decay,
    # then a trace shaped as each weight
    momentum = OptimizerLeaves(config.optimizer, history.steps, (
        np.asarray(3, np.int32), np.asarray(0.1, np.float32), np.asarray(0.0, np.float32),
        *(rng.normal(0, 0.01, v.shape).astype(np.float32) for layer in weights
          for v in layer.values())))
    return [Project(spec, config, "digits", weights, history,
                    {"replay": sample_replay(), "notes": b"hello"}, runs, 10, momentum),
            Project(NetworkSpec((8, 8, 1), PRESETS["tiny"].spec.layers[-2:]))]


def _param_shapes(info) -> dict[str, tuple[int, ...]]:
    from cnnviz.core.shapes import layer_param_shapes

    return layer_param_shapes(info.layer, info.in_shape)


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rezip(members: dict[str, bytes], rng: random.Random) -> bytes:
    """A project archive of `members`, its manifest's checksums made to fit them (unless
    the manifest itself is what was mutated)."""
    members = dict(members)
    manifest = members.pop("manifest.json")
    with contextlib.suppress(ValueError, TypeError, AttributeError, RecursionError):
        parsed = json.loads(manifest)
        if isinstance(parsed, dict) and isinstance(parsed.get("sha256"), dict):
            parsed["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()
                                if n in parsed["sha256"] or rng.random() < 0.9}
            manifest = json.dumps(parsed).encode()
    buffer = io.BytesIO()
    method = rng.choice((zipfile.ZIP_DEFLATED, zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED))
    with zipfile.ZipFile(buffer, "w", method) as zf:
        zf.writestr("manifest.json", manifest)
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def idx_file(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def image_bytes(rng: random.Random, fmt: str) -> bytes:
    array = np.random.default_rng(rng.randrange(1 << 30)).integers(
        0, 255, (rng.randint(1, 24), rng.randint(1, 24), 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


# -- the readers ------------------------------------------------------------------------------


@dataclass
class Reader:
    """`make(rng, folder)` writes one mutated input under `folder` and returns a call
    that reads it; `allowed` are the errors that reader may raise."""

    name: str
    make: Callable[[random.Random, Path], Callable[[], object]]
    allowed: tuple[type[BaseException], ...]


def make_project(rng: random.Random, folder: Path) -> Callable[[], object]:
    data = rng.choice(sample_projects())
    if rng.random() < 0.6:  # the content, past the checksums
        members = zip_members(data)
        name = rng.choice(list(members))
        content = members[name]
        if name.endswith(".json"):
            with contextlib.suppress(ValueError):
                content = json_text(rng, json.loads(content))
        else:
            content = mutate_bytes(rng, content)
        if name == "extras/replay" and rng.random() < 0.5:
            content = mutate_replay(rng)
        if name == optimizer_member.ARRAYS and rng.random() < 0.5:
            content = mutate_npz(rng, members[name])
        members[name] = content
        if rng.random() < 0.1:
            members[rng.choice(("extras/x", "evil.py", "../up"))] = b"x" * rng.randint(0, 99)
        elif name in OPTIONAL:  # a damaged optimizer state costs only itself
            path = folder / "fuzz.cnnviz"
            path.write_bytes(rezip(members, rng))
            return lambda: _opens(path)
        data = rezip(members, rng)
    else:
        data = mutate_bytes(rng, data)
    path = folder / "fuzz.cnnviz"
    path.write_bytes(data)
    return lambda: load_project(path)


def _opens(path: Path) -> Project:
    project = load_project(path)  # a ProjectFileError here fails the run: not allowed
    assert project.optimizer_state is not None or project.notes, "dropped without a note"
    return project


def mutate_replay(rng: random.Random) -> bytes:
    return mutate_npz(rng, sample_replay())


def mutate_npz(rng: random.Random, data: bytes) -> bytes:
    """An .npz archive with one of its arrays mutated (mutate_npy)."""
    members = zip_members(data)
    name = rng.choice(list(members))
    members[name] = mutate_npy(rng, members[name])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return buffer.getvalue()


def mutate_npy(rng: random.Random, data: bytes) -> bytes:
    """An .npy file with its header's shape or dtype changed, or its bytes mutated."""
    if rng.random() < 0.5:
        return mutate_bytes(rng, data)
    f = io.BytesIO(data)
    np.lib.format.read_magic(f)
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    body = data[f.tell():]
    shape = tuple(rng.choice((*EXTREMES[:8], *shape)) for _ in range(rng.randint(0, 4)))
    descr = rng.choice((dtype.str, "|u1", "<f8", "<i8", "|O", "<U5", "|V16"))
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": fortran,
                                               "shape": shape})
    return out.getvalue() + body


def make_replay(rng: random.Random, folder: Path) -> Callable[[], object]:
    data = mutate_replay(rng) if rng.random() < 0.7 else mutate_bytes(rng, sample_replay())
    return lambda: load_replay(data)


def make_network(rng: random.Random, folder: Path) -> Callable[[], object]:
    spec = rng.choice(list(PRESETS.values())).spec
    text = json_text(rng, spec.to_dict())

    def read() -> object:
        spec = NetworkSpec.from_json(text)
        analysis = spec.analyze()  # never raises, whatever the numbers
        summary_table(spec, analysis)
        if analysis.ok:
            training_memory(analysis, spec.input_shape, 32, "adam", 1000)
        return spec

    return read


def make_idx(rng: random.Random, folder: Path) -> Callable[[], object]:
    gen = np.random.default_rng(rng.randrange(1 << 30))
    n = rng.randint(1, 20)
    images = idx_file(gen.integers(0, 255, (n, 28, 28), np.uint8))
    labels = idx_file(gen.integers(0, 10, n).astype(np.uint8))
    which = rng.randrange(2)
    parts = [images, labels]
    parts[which] = mutate_bytes(rng, parts[which])
    pack = gzip.compress if rng.random() < 0.5 else bytes
    paths = [folder / "images.idx", folder / "labels.idx"]
    for path, data in zip(paths, parts, strict=True):
        path.write_bytes(pack(data) if rng.random() < 0.8 else mutate_bytes(rng, pack(data)))
    return lambda: read_idx_images_labels(*paths, (28, 28), 70_000)


def make_cifar(rng: random.Random, folder: Path) -> Callable[[], object]:
    gen = np.random.default_rng(rng.randrange(1 << 30))
    batches = {name: gen.integers(0, 255, (rng.randint(1, 3) * RECORD_BYTES,),
                                  np.uint8).tobytes() for name in (*TRAIN_BATCHES, TEST_BATCH)}
    victim = rng.choice(list(batches))
    batches[victim] = mutate_bytes(rng, batches[victim])
    if rng.random() < 0.5:  # the unpacked folder
        root = folder / "cifar-10-batches-bin"
        root.mkdir(exist_ok=True)
        for name, data in batches.items():
            (root / name).write_bytes(data)
        return lambda: read_cifar10(root)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = folder / "cifar-10-binary.tar.gz"
    path.write_bytes(mutate_bytes(rng, buffer.getvalue()) if rng.random() < 0.5
                     else buffer.getvalue())
    return lambda: read_cifar10(path)


def make_folder(rng: random.Random, folder: Path) -> Callable[[], object]:
    root = folder / "images"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(rng.randint(1, 3)):
            fmt = rng.choice(("PNG", "JPEG", "BMP"))
            data = image_bytes(rng, fmt)
            if rng.random() < 0.6:
                data = mutate_bytes(rng, data)
            (root / label / f"{i}.{fmt.lower()}").write_bytes(data)
    return lambda: load_folder(root, image_size=rng.choice((8, 16)), validation_fraction=0.0)


READERS = (
    Reader("project", make_project, (ProjectFileError,)),
    Reader("network", make_network, (LayerFormatError,)),
    Reader("replay", make_replay, (ReplayError,)),
    Reader("idx", make_idx, (DatasetError,)),
    Reader("cifar", make_cifar, (DatasetError,)),
    Reader("folder", make_folder, (DatasetError,)),
)


# -- the run ----------------------------------------------------------------------------------


def cap_memory(mib: int) -> int:
    """Cap the address space at what the process holds now plus `mib`; returns the cap."""
    with open("/proc/self/status") as f:
        held = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = held + (mib << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap


def _alarm(signum, frame):
    raise Hang


def run(reader: Reader, seconds: float, rng: random.Random, per_input_s: float,
        out: Path) -> tuple[int, list[str]]:
    """Fuzz `reader` for `seconds`; returns (inputs tried, failures described)."""
    tried, failures = 0, []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{reader.name}-") as tmp:
            folder = Path(tmp)
            call = reader.make(rng, folder)
            tried += 1
            signal.setitimer(signal.ITIMER_REAL, per_input_s)
            try:
                call()
            except reader.allowed:
                pass
            except BaseException as exc:  # noqa: BLE001 - every other outcome is a finding
                if isinstance(exc, KeyboardInterrupt):
                    raise
                saved = out / f"{reader.name}-{tried}"
                saved.mkdir(parents=True, exist_ok=True)
                for path in folder.rglob("*"):
                    if path.is_file():
                        (saved / path.relative_to(folder).as_posix().replace("/", "__")
                         ).write_bytes(path.read_bytes())
                failures.append(f"{reader.name} #{tried}: {type(exc).__name__}: "
                                f"{str(exc)[:300]} (input in {saved})\n"
                                + "".join(traceback.format_exception(exc)[-6:]))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    return tried, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="in all, shared out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-mib", type=int, default=1024,
                        help="address space allowed above what the imports took")
    parser.add_argument("--per-input-s", type=float, default=10.0)
    parser.add_argument("--readers", default=",".join(r.name for r in READERS))
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "cnnviz-fuzz"))
    args = parser.parse_args(argv)
    readers = [r for r in READERS if r.name in args.readers.split(",")]
    rng = random.Random(args.seed)
    cap = cap_memory(args.memory_mib)
    signal.signal(signal.SIGALRM, _alarm)
    print(f"fuzzing {', '.join(r.name for r in readers)} for {args.seconds:.0f} s, seed "
          f"{args.seed}, address space capped at {cap >> 20:,} MiB", flush=True)
    failures, started = [], time.perf_counter()
    for reader in readers:
        tried, found = run(reader, args.seconds / len(readers), rng, args.per_input_s,
                           Path(args.out))
        failures += found
        print(f"{reader.name:8} {tried:6,} inputs, {len(found)} failures", flush=True)
    print(f"{time.perf_counter() - started:.1f} s in all", flush=True)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
