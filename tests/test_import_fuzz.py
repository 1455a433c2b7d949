"""Every import reader against damaged input: truncated, bit-flipped and spliced bytes,
and JSON descriptions with values of the wrong kind. Each case ends in an import or in
the project's own ModelImportError, never in another exception.

A seeded mutator (the same cases every run) over real files: the app's exports and files
written by Keras 3."""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
import zlib

import h5py
import numpy as np
import pytest
from test_export_support import NETWORKS, trained

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cnnviz.io.export import FORMATS, export_model  # noqa: E402
from cnnviz.io.imports import Imported, MismatchError, ModelImportError, import_model  # noqa: E402

CASES = 40  # per file and kind of damage
ODD_VALUES = [None, -1, 0, 3.5, "x", "", [], {}, [3, 5], [None], True, {"a": 1}, 10**30,
              [[1, 2], [3]], "relu"]
pytestmark = pytest.mark.filterwarnings(  # Keras' own NumPy 2 deprecation when it saves
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """{suffix: bytes} of one valid file of each kind."""
    root = tmp_path_factory.mktemp("originals")
    folder = export_model(trained(NETWORKS["tiny"]), FORMATS, root / "export")
    export_model(trained(NETWORKS["tiny"]), ["npz", "onnx"], root / "export.zip")
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(3, 3, activation="relu"),
                              layers.MaxPooling2D(), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    model.save(root / "model.keras")
    model.save_weights(root / "model.weights.h5")
    model.save(root / "legacy.h5")
    return {".onnx": (folder / "model.onnx").read_bytes(),
            ".safetensors": (folder / "weights.safetensors").read_bytes(),
            ".npz": (folder / "weights.npz").read_bytes(),
            "manifest.json": (folder / "manifest.json").read_bytes(),
            ".zip": (root / "export.zip").read_bytes(),
            ".keras": (root / "model.keras").read_bytes(),
            ".weights.h5": (root / "model.weights.h5").read_bytes(),
            ".h5": (root / "legacy.h5").read_bytes()}


def try_import(data: bytes, suffix: str, tmp_path, network=None) -> Imported | None:
    path = tmp_path / ("manifest.json" if suffix == "manifest.json" else f"model{suffix}")
    path.write_bytes(data)
    try:
        return import_model(path, network)
    except ModelImportError:
        return None


def truncated(data: bytes, rng) -> bytes:
    return data[:int(rng.integers(0, len(data)))]


def flipped(data: bytes, rng) -> bytes:
    out = bytearray(data)
    for i in rng.integers(0, len(out), int(rng.integers(1, 8))):
        out[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def spliced(data: bytes, rng) -> bytes:
    i, j = sorted(rng.integers(0, len(data), 2))
    return data[:i] + bytes(rng.integers(0, 256, int(rng.integers(0, 64)), np.uint8)) + data[j:]


SUFFIXES = [".onnx", ".safetensors", ".npz", "manifest.json", ".zip", ".keras", ".weights.h5",
            ".h5"]


@pytest.mark.parametrize("damage", [truncated, flipped, spliced])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_damaged_bytes_end_in_an_import_or_the_projects_own_error(originals, tmp_path,
                                                                  suffix, damage):
    rng = np.random.default_rng(zlib.crc32(f"{suffix} {damage.__name__}".encode()))
    network = NETWORKS["tiny"] if suffix == ".npz" else None
    if suffix == ".weights.h5":
        network = try_import(originals[".keras"], ".keras", tmp_path).spec
    for _ in range(CASES):
        try_import(damage(originals[suffix], rng), suffix, tmp_path, network)


def _mutated_json(value, rng):
    """The JSON value with one node somewhere replaced by a value of another kind."""
    value = copy.deepcopy(value)
    path, node = [], value
    while isinstance(node, dict | list) and node and rng.random() < 0.85:
        key = (list(node)[int(rng.integers(0, len(node)))] if isinstance(node, dict)
               else int(rng.integers(0, len(node))))
        path.append(key)
        node = node[key]
    if not path:
        return ODD_VALUES[int(rng.integers(0, len(ODD_VALUES)))]
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = ODD_VALUES[int(rng.integers(0, len(ODD_VALUES)))]
    return value


def _keras_with_config(original: bytes, config: object) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, json.dumps(config) if info.filename == "config.json" else data)
    return out.getvalue()


@pytest.mark.parametrize("suffix", ["manifest.json", ".keras"])
def test_descriptions_with_values_of_the_wrong_kind(originals, tmp_path, suffix):
    rng = np.random.default_rng(7)
    if suffix == ".keras":
        with zipfile.ZipFile(io.BytesIO(originals[".keras"])) as zf:
            config = json.loads(zf.read("config.json"))
    else:
        config = json.loads(originals[suffix])
    (tmp_path / "weights.npz").write_bytes(originals[".npz"])  # beside the manifest
    outcomes = []
    for _ in range(CASES * 3):
        mutated = _mutated_json(config, rng)
        data = (_keras_with_config(originals[".keras"], mutated) if suffix == ".keras"
                else json.dumps(mutated).encode())
        outcomes.append(try_import(data, suffix, tmp_path) is not None)
    assert 0 < sum(outcomes) < len(outcomes)  # values that matter, and ones that do not


def test_weights_that_are_not_finite_are_reported(originals, tmp_path):
    data = io.BytesIO(originals[".weights.h5"])
    with h5py.File(data, "r+") as f:
        kernel = f["layers/dense/vars/0"]
        kernel[0, 0] = np.nan
    network = try_import(originals[".keras"], ".keras", tmp_path).spec
    path = tmp_path / "nan.weights.h5"
    path.write_bytes(data.getvalue())
    with pytest.raises(MismatchError, match=r"dense1 kernel +finite numbers +NaN"):
        import_model(path, network)
