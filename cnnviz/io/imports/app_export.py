"""The app's own exports read back: a folder or zip with manifest.json, or one of its
weights files on its own (safetensors carries the manifest in its metadata; an npz needs
the manifest beside it, or a network given).

A folder or zip's samples are run through the imported network: an export that does not
reproduce its own logits is refused.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors

from cnnviz.core.i18n import tr
from cnnviz.core.layers import LayerFormatError
from cnnviz.core.network import NetworkSpec
from cnnviz.io.export.bundle import MANIFEST, SAMPLES
from cnnviz.io.export.layout import SEPARATOR
from cnnviz.io.export.manifest import FORMAT, FORMAT_VERSION, TOLERANCE
from cnnviz.io.export.npz import FILE as NPZ_FILE
from cnnviz.io.export.onnx_graph import FILE as ONNX_FILE
from cnnviz.io.export.safetensors_file import FILE as SAFETENSORS_FILE
from cnnviz.io.export.safetensors_file import MANIFEST_KEY
from cnnviz.io.export.samples import app_logits
from cnnviz.io.imports.onnx_file import read_onnx
from cnnviz.io.imports.result import Draft, Imported, MismatchError, ModelImportError, Row, finish

_DAMAGED = (ValueError, OSError, EOFError, KeyError, zlib.error, zipfile.BadZipFile,
            NotImplementedError, RecursionError, SafetensorError, OverflowError)


@dataclass(frozen=True)
class Manifest:
    """What the app needs from an export's manifest.json."""

    spec: NetworkSpec
    class_names: tuple[str, ...] | None
    dataset: str | None


def read_manifest(data: bytes | str, source: str) -> Manifest:
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError):
        raise ModelImportError(tr("{source}: the manifest is not valid JSON",
                                  source=source)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelImportError(tr("{source}: not a cnnviz export manifest", source=source))
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not (
            1 <= version <= FORMAT_VERSION):
        raise ModelImportError(tr("{source}: made by a newer cnnviz (export version "
                                  "{version}); this one reads version {known}", source=source,
                                  version=version, known=FORMAT_VERSION))
    try:
        spec = NetworkSpec.from_dict(manifest.get("network"))
    except (LayerFormatError, TypeError) as exc:
        raise ModelImportError(tr("{source}: {reason}", source=source, reason=exc)) from None
    names = manifest.get("class_names")
    names = tuple(names) if isinstance(names, list) and all(
        isinstance(n, str) for n in names) else None
    training = manifest.get("training")
    dataset = training.get("dataset") if isinstance(training, dict) else None
    return Manifest(spec, names, dataset if isinstance(dataset, str) else None)


def _app_name(name: str) -> str:
    """`conv1.kernel` (the files' naming) -> `conv1/kernel` (the app's)."""
    layer, sep, param = name.rpartition(SEPARATOR)
    return f"{layer}/{param}" if sep else name


def _from_arrays(arrays: dict[str, np.ndarray], manifest: Manifest, source: str,
                 what: str) -> Imported:
    spec = manifest.spec
    draft = Draft(source, spec.input_shape, list(spec.layers),
                  {_app_name(k): v for k, v in arrays.items()}, [what])
    return finish(draft, class_names=manifest.class_names, dataset=manifest.dataset)


def npz_arrays(data: bytes, source: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: np.asarray(archive[name]) for name in archive.files}
    except _DAMAGED:
        raise ModelImportError(tr("{source}: not a readable npz archive (truncated or "
                                  "corrupt?)", source=source)) from None


def safetensors_arrays(data: bytes, source: str) -> tuple[dict[str, np.ndarray], str | None]:
    """The arrays and the manifest JSON from the metadata (None if there is none)."""
    try:
        arrays = load_safetensors(data)
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size])
    except _DAMAGED:
        raise ModelImportError(tr("{source}: not a readable safetensors file (truncated or "
                                  "corrupt?)", source=source)) from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    manifest = metadata.get(MANIFEST_KEY) if isinstance(metadata, dict) else None
    return arrays, manifest if isinstance(manifest, str) else None


def _given(manifest: Manifest | None, network: NetworkSpec | None, source: str) -> Manifest:
    """The file's own description if it has one, else the network given."""
    if manifest is not None:
        return manifest
    if network is None:
        raise ModelImportError(tr("{source} holds weights only: give the network too (a "
                                  "network .json, a .cnnviz project, or its export's "
                                  "manifest.json beside it)", source=source))
    return Manifest(network, None, None)


def read_safetensors(data: bytes, source: str, network: NetworkSpec | None = None,
                     beside: Manifest | None = None) -> Imported:
    """Described by the manifest in its metadata, else by `beside` or `network`."""
    arrays, text = safetensors_arrays(data, source)
    manifest = read_manifest(text, source) if text is not None else beside
    return _from_arrays(arrays, _given(manifest, network, source), source,
                        tr("read from a safetensors weights file"))


def read_npz(data: bytes, source: str, network: NetworkSpec | None = None,
             beside: Manifest | None = None) -> Imported:
    """Described by the manifest beside it (`beside`), else by `network`."""
    return _from_arrays(npz_arrays(data, source), _given(beside, network, source), source,
                        tr("read from an npz weights file"))


def _check_samples(imported: Imported, data: bytes, source: str) -> None:
    """The export's own samples must give its own logits."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as samples:
            images, logits = samples["images"], samples["logits"]
        computed = app_logits(imported.spec, imported.weights, images)
        diff = float(np.abs(computed - logits).max())
    except (*_DAMAGED, TypeError):
        raise ModelImportError(tr("{source}: {file} is damaged", source=source,
                                  file=SAMPLES)) from None
    if not diff <= TOLERANCE:
        raise MismatchError(source, [Row(SAMPLES, tr("the stored logits within {tol}",
                                                      tol=TOLERANCE),
                                         tr("logits that differ by {diff:.3g}", diff=diff))])


def read_members(members: dict[str, bytes], source: str) -> Imported:
    """An export's files by name: its manifest, its weights (safetensors, else npz, else
    ONNX), checked against its samples."""
    if MANIFEST not in members:
        raise ModelImportError(tr("{source}: no {file}; not a cnnviz export",
                                  source=source, file=MANIFEST))
    manifest = read_manifest(members[MANIFEST], source)
    if SAFETENSORS_FILE in members:
        imported = read_safetensors(members[SAFETENSORS_FILE], source, beside=manifest)
    elif NPZ_FILE in members:
        imported = read_npz(members[NPZ_FILE], source, beside=manifest)
    elif ONNX_FILE in members:
        imported = read_onnx(members[ONNX_FILE], source)
        if imported.spec != manifest.spec:
            raise ModelImportError(tr("{source}: {file} and the manifest describe different "
                                      "networks", source=source, file=ONNX_FILE))
    else:
        raise ModelImportError(tr("{source}: an export without weights", source=source))
    if SAMPLES in members:
        _check_samples(imported, members[SAMPLES], source)
    return imported


def read_folder(path: Path) -> Imported:
    try:
        members = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    except OSError as exc:
        raise ModelImportError(tr("cannot read {path}: {reason}", path=path,
                                  reason=exc.strerror or exc)) from None
    return read_members(members, path.name)


def read_zip(data: bytes, source: str) -> Imported:
    """A zipped export: its files at the top, or in one folder."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {info.filename: zf.read(info) for info in zf.infolist()
                       if not info.is_dir()}
    except _DAMAGED:
        raise ModelImportError(tr("{source}: not a readable zip archive (truncated or "
                                  "corrupt?)", source=source)) from None
    folders = {name.rpartition("/")[0] for name in members}
    if len(folders) != 1:
        raise ModelImportError(tr("{source}: not a cnnviz export (files in several folders)",
                                  source=source))
    return read_members({name.rpartition("/")[2]: data for name, data in members.items()},
                        source)
