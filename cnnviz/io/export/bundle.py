"""An export: the chosen formats' files with manifest.json, samples.npz and a README,
written as a folder or as a zip of that folder.

Everything is made in memory first; the folder is then written under a temporary name
beside its destination and renamed into place (the zip goes through io.atomic), so a
failure leaves no half-written export and the destination as it was. An existing
destination is replaced only if it holds nothing but a previous export's files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.summary import describe_layer
from cnnviz.io.atomic import write_atomic
from cnnviz.io.export import npz, onnx_graph, onnx_qdq, safetensors_file, scripts
from cnnviz.io.export.layout import exported_arrays
from cnnviz.io.export.manifest import (
    FORMAT,
    SCALE,
    TOLERANCE,
    Trained,
    build_manifest,
    manifest_json,
)
from cnnviz.io.export.samples import app_logits, sample_images, samples_npz
from cnnviz.io.export.templates import fill, read_template
from cnnviz.io.weights import flat_names, from_flat_names

INT8_ONNX = "onnx-int8"  # only for a model quantized to int8 (Trained.quantization)
KNOWN = ("npz", "safetensors", "onnx", INT8_ONNX, "pytorch", "keras", "jax")
FORMATS = tuple(f for f in KNOWN if f != INT8_ONNX)  # every trained network's
MANIFEST, SAMPLES, README = "manifest.json", "samples.npz", "README.md"
FORMAT_FILES = {"npz": npz.FILE, "safetensors": safetensors_file.FILE, "onnx": onnx_graph.FILE,
                INT8_ONNX: onnx_qdq.FILE,
                **{name: f.file for name, f in scripts.FRAMEWORKS.items()}}
EXPORT_FILES = {MANIFEST, SAMPLES, README, *FORMAT_FILES.values()}
FILE_NOTES = {
    MANIFEST: "what this export holds: classes, input, normalisation, layers, training",
    SAMPLES: "sample inputs and the app's logits for them",
    npz.FILE: "the weights (numpy), named LAYER.PARAM, channels-last layout",
    safetensors_file.FILE: "the same weights (safetensors), the manifest in its metadata",
    onnx_graph.FILE: "the network as an ONNX graph",
    onnx_qdq.FILE: "the int8 network as an ONNX graph with QuantizeLinear / "
                   "DequantizeLinear",
    **{f.file: f"the network in {f.title}, as a standalone script"
       for f in scripts.FRAMEWORKS.values()},
}


class ExportError(ValueError):
    """An export that cannot be made or written, said in one line."""


def available_formats(trained: Trained) -> list[str]:
    """The formats `trained` can be exported in: onnx-int8 only if it is int8-quantized."""
    return [f for f in KNOWN if f != INT8_ONNX or trained.quantization is not None]


def files_for(formats: Sequence[str]) -> list[str]:
    """The files an export in `formats` holds, in the order they are written."""
    unknown = [f for f in formats if f not in KNOWN]
    if unknown or not formats:
        raise ExportError(tr("unknown export format {names} (known: {known})",
                             names=", ".join(unknown) or "(none)", known=", ".join(KNOWN)))
    needs_npz = any(f in scripts.FRAMEWORKS for f in formats)  # the scripts load it
    names = [FORMAT_FILES[f] for f in KNOWN if f in formats or (f == "npz" and needs_npz)]
    return [MANIFEST, SAMPLES, README, *names]


def _readme(trained: Trained, model_name: str, names: list[str], samples: dict,
            cnnviz_version: str) -> str:
    spec = trained.spec
    h, w, c = spec.input_shape
    values = {"model_name": model_name, "cnnviz_version": cnnviz_version, "scale": repr(SCALE),
              "height": h, "width": w, "channels": c, "tolerance": TOLERANCE,
              "opset": onnx_graph.OPSET, "class_names": ", ".join(trained.class_names),
              "sample_count": samples["count"], "sample_source": samples["source"]}
    values["summary"] = " -> ".join(describe_layer(layer) for layer in spec.layers)
    values["files"] = "\n".join(f"- `{name}`: {FILE_NOTES[name]}" for name in names
                                if name != README)
    sections = [fill(read_template(f"readme/{f}.md.txt"), values)
                for f in KNOWN if FORMAT_FILES[f] in names]
    values["sections"] = "\n" + "\n".join(sections)
    return fill(read_template("readme/README.md.txt"), values)


def export_files(trained: Trained, formats: Sequence[str], model_name: str = "model",
                 images: np.ndarray | None = None) -> dict[str, bytes]:
    """{file name: contents} of an export in `formats`; `images` (N, H, W, C) are the
    samples to store (e.g. test images), seeded random pixels if None. Raises
    ExportError, NetworkError or WeightsError if the network or weights are unusable."""
    spec = trained.spec
    names = files_for(formats)
    if INT8_ONNX in formats and trained.quantization is None:
        raise ExportError(tr("{format} is for a model quantized to int8: quantize it first "
                             "(cnnviz quantize, or the Compress workspace)", format=INT8_ONNX))
    weights = from_flat_names(spec, flat_names(spec, trained.weights))  # checked, float32
    images, source = sample_images(spec.input_shape, images)
    logits = app_logits(spec, weights, images)
    samples = {"file": SAMPLES, "count": len(images), "source": source,
               "tolerance": TOLERANCE}
    manifest = build_manifest(trained, list(formats), names, samples)
    text = manifest_json(manifest)
    arrays = exported_arrays(spec.names, weights)
    version = manifest["versions"]["cnnviz"] or "(development)"
    files = {MANIFEST: text.encode(), SAMPLES: samples_npz(images, logits),
             README: _readme(trained, model_name, names, samples, version).encode()}
    if npz.FILE in names:
        files[npz.FILE] = npz.npz_bytes(arrays)
    if safetensors_file.FILE in names:
        files[safetensors_file.FILE] = safetensors_file.safetensors_bytes(arrays, text)
    if onnx_graph.FILE in names:
        files[onnx_graph.FILE] = onnx_graph.onnx_bytes(spec, weights, trained.class_names,
                                                       manifest["normalization"], text)
    if onnx_qdq.FILE in names:
        files[onnx_qdq.FILE] = onnx_qdq.qdq_onnx_bytes(spec, weights, trained.quantization,
                                                       trained.class_names)
    title = _title(spec, model_name)
    for framework in scripts.FRAMEWORKS.values():
        if framework.file in names:
            files[framework.file] = scripts.script_text(framework, spec, model_name, title,
                                                        version).encode()
    return files


def _title(spec: NetworkSpec, model_name: str) -> str:
    analysis = spec.check()
    return (f"{model_name}: a cnnviz network of {len(spec.layers)} layers, "
            f"{analysis.total_params:,} parameters")


# -- writing ---------------------------------------------------------------------------
def _replaceable(path: Path) -> bool:
    """An empty folder, or one holding only a previous export's files."""
    if not path.is_dir():
        return False
    entries = list(path.iterdir())
    if not entries:
        return True
    if any(not e.is_file() or e.name not in EXPORT_FILES for e in entries):
        return False
    try:
        return json.loads((path / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _write_folder(files: dict[str, bytes], out: Path) -> None:
    if out.exists() and not _replaceable(out):
        raise ExportError(tr("{path} already exists and is not an earlier export; choose a "
                             "new folder", path=out))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old = tmp.with_name(tmp.name + ".old")
    try:
        mask = os.umask(0)
        os.umask(mask)
        tmp.chmod(0o777 & ~mask)  # mkdtemp's folder is owner-only
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        if old.exists() and not out.exists():
            old.rename(out)  # put the earlier export back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def zip_bytes(files: dict[str, bytes], folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{folder}/{name}", data)
    return buffer.getvalue()


def is_zip_path(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def write_export(files: dict[str, bytes], out: str | Path) -> Path:
    """Write the export to `out`: a zip if it ends in .zip, else a folder."""
    out = Path(out).expanduser()
    if not out.parent.is_dir():
        raise ExportError(tr("{path}: no such folder", path=out.parent))
    try:
        if is_zip_path(out):
            if out.is_dir():
                raise ExportError(tr("{path} is a folder; name a .zip file", path=out))
            write_atomic(out, zip_bytes(files, out.stem))
        else:
            _write_folder(files, out)
    except OSError as exc:
        raise ExportError(tr("cannot write {path}: {reason}", path=out,
                             reason=exc.strerror or exc)) from None
    return out


def export_model(trained: Trained, formats: Sequence[str], out: str | Path,
                 model_name: str | None = None, images: np.ndarray | None = None) -> Path:
    """Make and write an export; see export_files and write_export."""
    out = Path(out).expanduser()
    name = model_name or (out.stem if out.name else "model")
    return write_export(export_files(trained, formats, name, images), out)
