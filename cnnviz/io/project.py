"""The ``*.cnnviz`` project file: network, weights, training config and history.

A zip archive of plain members (JSON, and the weights as safetensors), with a manifest
that records the format version and each member's SHA-256, so a truncated or altered
file is refused with a clear message. Nothing in it is ever executed or unpickled.
Writes are atomic.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.history import History
from cnnviz.core.layers import LayerFormatError
from cnnviz.core.network import NetworkSpec
from cnnviz.io.atomic import write_atomic
from cnnviz.io.weights import Weights, WeightsError, flat_names, from_flat_names

FORMAT = "cnnviz-project"
FORMAT_VERSION = 1
SUFFIX = ".cnnviz"


class ProjectFileError(ValueError):
    """A project file that cannot be read, and why."""


@dataclass
class Project:
    """Everything a session needs to continue: `weights` is None before any training.
    `extras` holds further named members (e.g. a training replay) as raw bytes."""

    spec: NetworkSpec
    config: TrainConfig = field(default_factory=TrainConfig)
    dataset: str = "shapes"
    weights: Weights | None = None
    history: History = field(default_factory=History)
    extras: dict[str, bytes] = field(default_factory=dict)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1).encode()


def project_bytes(project: Project) -> bytes:
    members = {
        "network.json": project.spec.to_json().encode(),
        "training.json": _json_bytes({"dataset": project.dataset,
                                      "config": project.config.to_dict()}),
        "history.json": _json_bytes(project.history.to_dict()),
    }
    if project.weights is not None:
        members["weights.safetensors"] = save_safetensors(
            flat_names(project.spec, project.weights))
    for name, data in project.extras.items():
        members[f"extras/{name}"] = data
    manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                "sha256": {name: hashlib.sha256(data).hexdigest()
                           for name, data in members.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _json_bytes(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def save_project(path: str | Path, project: Project) -> None:
    write_atomic(path, project_bytes(project))


_CORRUPT = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError)  # the last: a damaged compression-method field


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProjectFileError(f"{path}: is a folder, not a project file") from None
    except _CORRUPT:
        raise ProjectFileError(f"{path}: not a cnnviz project file, or it is truncated "
                               "(not a readable zip archive)") from None
    with zf:  # the archive opened: a failure now is damage inside one member
        try:
            return {info.filename: zf.read(info) for info in zf.infolist()}
        except _CORRUPT as exc:
            raise ProjectFileError(f"{path}: corrupt project file ({exc})") from None


def load_project(path: str | Path) -> Project:
    path = Path(path)
    members = _read_members(path)
    try:
        manifest = json.loads(members["manifest.json"])
    except (KeyError, ValueError):
        raise ProjectFileError(f"{path}: not a cnnviz project file (no readable manifest)"
                               ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ProjectFileError(f"{path}: not a cnnviz project file")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not (
            1 <= version <= FORMAT_VERSION):
        raise ProjectFileError(f"{path}: made by a newer cnnviz (format version {version}); "
                               f"this one reads version {FORMAT_VERSION}")
    checksums = manifest.get("sha256")
    if not isinstance(checksums, dict):
        raise ProjectFileError(f"{path}: not a cnnviz project file (bad manifest)")
    for name, digest in checksums.items():
        if name not in members:
            raise ProjectFileError(f"{path}: member {name} is missing (truncated file?)")
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise ProjectFileError(f"{path}: {name} does not match its checksum; "
                                   "the file was altered or is corrupt")
    unlisted = set(members) - set(checksums) - {"manifest.json"}
    if unlisted:
        raise ProjectFileError(f"{path}: unexpected members {', '.join(sorted(unlisted))}")
    try:
        spec = NetworkSpec.from_json(members["network.json"].decode())
        training = json.loads(members["training.json"])
        config = TrainConfig.from_dict(training["config"])
        history = History.from_dict(json.loads(members["history.json"]))
        weights = None
        if "weights.safetensors" in members:
            flat = load_safetensors(members["weights.safetensors"])
            weights = from_flat_names(spec, {k: np.asarray(v) for k, v in flat.items()})
    except KeyError as exc:
        raise ProjectFileError(f"{path}: missing {exc.args[0]}") from None
    except (LayerFormatError, ConfigError, WeightsError, SafetensorError, ValueError, TypeError,
            AttributeError) as exc:
        raise ProjectFileError(f"{path}: {exc}") from None
    extras = {name.removeprefix("extras/"): data for name, data in members.items()
              if name.startswith("extras/")}
    return Project(spec, config, str(training.get("dataset", "shapes")), weights, history,
                   extras)
