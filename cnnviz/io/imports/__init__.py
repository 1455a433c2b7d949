"""Imports: networks made elsewhere opened in the app. One module per kind of file; each
turns a file into the app's network and weights (`Imported`) or says, before anything
changes, what does not fit.

- the app's own exports (folder, zip, safetensors, npz, ONNX): `app_export`
- Keras 3 `.keras`, `.weights.h5` (with a network given) and legacy `.h5`: `keras_file`
- ONNX graphs of the same kinds of layers, e.g. PyTorch's: `onnx_file`
"""

from __future__ import annotations

from pathlib import Path

from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.io.export.bundle import MANIFEST
from cnnviz.io.imports import app_export, keras_file, onnx_file
from cnnviz.io.imports.result import Imported, MismatchError, ModelImportError

__all__ = ["IMPORT_SUFFIXES", "Imported", "MismatchError", "ModelImportError", "import_model"]

IMPORT_SUFFIXES = (".keras", ".h5", ".hdf5", ".onnx", ".zip", ".safetensors", ".npz")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelImportError(tr("{path}: no such file", path=path)) from None
    except OSError as exc:
        raise ModelImportError(tr("cannot read {path}: {reason}", path=path,
                                  reason=exc.strerror or exc)) from None


def _manifest_beside(path: Path) -> app_export.Manifest | None:
    beside = path.with_name(MANIFEST)
    return app_export.read_manifest(_read(beside), beside.name) if beside.is_file() else None


def import_model(path: str | Path, network: NetworkSpec | None = None) -> Imported:
    """The network and weights in `path` (a file, or an export's folder). `network` is
    the app network for a file that does not describe its own (.weights.h5, an .npz
    without its export's manifest.json beside it). Raises ModelImportError
    (MismatchError, with a table, for a file that does not fit)."""
    path = Path(path).expanduser()
    if path.is_dir():
        return app_export.read_folder(path)
    if path.name == MANIFEST:
        return app_export.read_folder(path.parent)
    suffix, source = path.suffix.lower(), path.name
    if suffix not in IMPORT_SUFFIXES:
        raise ModelImportError(tr("{source}: cnnviz imports {suffixes} files and export "
                                  "folders", source=source,
                                  suffixes=", ".join(IMPORT_SUFFIXES)))
    data = _read(path)
    if suffix == ".keras":
        return keras_file.read_keras(data, source)
    if suffix in (".h5", ".hdf5"):
        if keras_file.is_legacy_model(data):
            return keras_file.read_legacy_h5(data, source)
        if network is None:
            raise ModelImportError(tr("{source} holds weights only: give the network they "
                                      "belong to", source=source))
        return keras_file.read_weights_h5(data, source, network)
    if suffix == ".onnx":
        return onnx_file.read_onnx(data, source)
    if suffix == ".zip":
        return app_export.read_zip(data, source)
    beside = _manifest_beside(path)
    if suffix == ".safetensors":
        return app_export.read_safetensors(data, source, network, beside)
    return app_export.read_npz(data, source, network, beside)
