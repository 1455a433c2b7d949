"""The ``*.cnnviz`` project file: network, weights, training config and history, and
the runs kept to compare (core.runs), each with its weights if it kept them.

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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from cnnviz.core.config import ConfigError, TrainConfig
from cnnviz.core.files import open_regular, os_reason
from cnnviz.core.history import History
from cnnviz.core.i18n import tr
from cnnviz.core.json_text import JsonError, brief, listed, parse_json
from cnnviz.core.layers import LayerFormatError
from cnnviz.core.memory import available_memory, format_bytes
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.optimizer_leaves import OptimizerLeaves, OptimizerStateError
from cnnviz.core.runs import Run, RunError, check_per_class, runs_from_list, runs_to_list
from cnnviz.io import optimizer_member
from cnnviz.io.archive import DAMAGE, ArchiveError, member_table, read_member
from cnnviz.io.atomic import write_atomic
from cnnviz.io.weights import (
    Weights,
    WeightsError,
    flat_names,
    from_flat_names,
    require_finite,
)

FORMAT = "cnnviz-project"
FORMAT_VERSION = 1
SUFFIX = ".cnnviz"
# The runs kept (a newer member: a file without it has none), and the weights of those
# that kept theirs, under "run<number>/" before each weight's name.
RUNS, RUN_WEIGHTS = "runs.json", "runs-weights.safetensors"
# The optimizer state (newer still): a file without it, or with it damaged, still opens.
OPTIONAL = (optimizer_member.INFO, optimizer_member.ARRAYS)


class ProjectFileError(ValueError):
    """A project file that cannot be read, and why."""


@dataclass
class Project:
    """Everything a session needs to continue: `weights` is None before any training.
    `extras` holds further named members (e.g. a training replay) as raw bytes; `runs`
    the runs kept to compare; `per_class` the training images per class of the data
    (None: all of them); `optimizer_state` the state the current run's optimizer left
    (saved only beside weights). `notes`: what opening left out, and why."""

    spec: NetworkSpec
    config: TrainConfig = field(default_factory=TrainConfig)
    dataset: str = "shapes"
    weights: Weights | None = None
    history: History = field(default_factory=History)
    extras: dict[str, bytes] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    per_class: int | None = None
    optimizer_state: OptimizerLeaves | None = None
    notes: list[str] = field(default_factory=list)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=1).encode()


def project_bytes(project: Project) -> bytes:
    members = {
        "network.json": project.spec.to_json().encode(),
        "training.json": _json_bytes({"dataset": project.dataset,
                                      "config": project.config.to_dict(),
                                      **({"per_class": project.per_class}
                                         if project.per_class is not None else {})}),
        "history.json": _json_bytes(project.history.to_dict()),
    }
    if project.weights is not None:
        flat = flat_names(project.spec, project.weights)
        require_finite(flat)
        members["weights.safetensors"] = save_safetensors(flat)
        if project.optimizer_state is not None:
            members.update(optimizer_member.members(project.optimizer_state))
    if project.runs:
        members[RUNS] = _json_bytes(runs_to_list(project.runs))
    kept = {f"{_run_prefix(run)}{name}": value for run in project.runs
            if run.weights is not None for name, value in flat_names(run.spec, run.weights).items()}
    if kept:
        require_finite(kept)
        members[RUN_WEIGHTS] = save_safetensors(kept)
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


# What a project's members may take once inflated, in bytes: checked against each
# member's declared size before it is read. The weights' limit follows from the network.
JSON_LIMIT = 64 << 20  # manifest, network, training settings
HISTORY_LIMIT = 512 << 20  # two numbers a step: room for tens of millions of steps
RUNS_LIMIT = HISTORY_LIMIT  # the runs' histories and settings together
EXTRA_LIMIT = 1 << 30  # each further member (e.g. a replay)
WEIGHTS_HEADER_LIMIT = 1 << 20  # the safetensors header beside the numbers


def load_project(path: str | Path) -> Project:
    """The project in the file at `path`; ProjectFileError, saying what is wrong, if it
    is not one this version reads. Nothing in it is executed, and no member is read
    past its limit."""
    path = Path(path)
    try:
        file = open_regular(path)
    except OSError as exc:
        raise ProjectFileError(tr("{path}: cannot open it: {reason}", path=path,
                                  reason=os_reason(exc))) from None
    with file:
        try:
            zf = zipfile.ZipFile(file)
        except DAMAGE:
            raise ProjectFileError(tr("{path}: not a cnnviz project file, or it is truncated "
                                      "(not a readable zip archive)", path=path)) from None
        with zf:
            try:
                return _Reader(zf).project()
            except (ArchiveError, _MemberError) as exc:
                raise ProjectFileError(tr("{path}: {reason}", path=path, reason=exc)) from None


class _MemberError(ValueError):
    """What is wrong with one member's content (the message names the member)."""


class _Reader:
    """Reads a project's members one at a time: each is checked against its limit and
    its checksum before its content is looked at."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.members = member_table(zf)
        self.checksums = self._manifest()
        # a lost optimizer state costs only itself (see optimizer_state)
        missing = [n for n in self.checksums if n not in self.members and n not in OPTIONAL]
        if missing:
            raise _MemberError(tr("member {name} is missing (truncated file?)",
                                  name=missing[0]))
        unlisted = sorted(set(self.members) - set(self.checksums) - {"manifest.json",
                                                                      *OPTIONAL})
        if unlisted:
            raise _MemberError(tr("unexpected members {names}", names=listed(unlisted)))
        needed = sum(info.file_size for info in self.members.values())
        free = available_memory()
        if free is not None and needed > free:
            raise _MemberError(tr("its members take {needed} once inflated, more than the "
                                  "{free} of memory free", needed=format_bytes(needed),
                                  free=format_bytes(free)))

    def _manifest(self) -> dict[str, str]:
        if "manifest.json" not in self.members:
            raise _MemberError(tr("not a cnnviz project file (no manifest)"))
        try:
            manifest = parse_json(read_member(self.zf, self.members["manifest.json"],
                                              JSON_LIMIT))
        except (JsonError, ArchiveError) as exc:
            raise _MemberError(tr("not a cnnviz project file (manifest.json: {reason})",
                                  reason=exc)) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _MemberError(tr("not a cnnviz project file"))
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _MemberError(tr("its format version {version} is not a version cnnviz "
                                  "ever wrote (a whole number from 1 up); the manifest is "
                                  "damaged", version=brief(version)))
        if version > FORMAT_VERSION:
            raise _MemberError(tr("made by a newer cnnviz (format version {version}); this "
                                  "one reads version {known}", version=version,
                                  known=FORMAT_VERSION))
        checksums = manifest.get("sha256")
        if not isinstance(checksums, dict) or not all(
                isinstance(v, str) for v in checksums.values()):
            raise _MemberError(tr("not a cnnviz project file (bad manifest)"))
        return checksums

    def has(self, name: str) -> bool:
        return name in self.checksums

    def read(self, name: str, limit: int) -> bytes:
        if name not in self.checksums:
            raise _MemberError(tr("member {name} is missing", name=name))
        data = read_member(self.zf, self.members[name], limit)
        if hashlib.sha256(data).hexdigest() != self.checksums[name]:
            raise _MemberError(tr("{name} does not match its checksum; the file was altered "
                                  "or is corrupt", name=name))
        return data

    def content(self, name: str, limit: int, parse: Callable[[bytes], Any]) -> Any:
        """parse(the member's bytes), its errors named after the member."""
        data = self.read(name, limit)
        try:
            return parse(data)
        except (LayerFormatError, ConfigError, WeightsError, SafetensorError, JsonError,
                NetworkError, RunError, ValueError) as exc:
            raise _MemberError(tr("{name}: {reason}", name=name, reason=exc)) from None

    def project(self) -> Project:
        spec = self.content("network.json", JSON_LIMIT, NetworkSpec.from_json)
        dataset, config, per_class = self.content("training.json", JSON_LIMIT, _training)
        history = self.content("history.json", HISTORY_LIMIT,
                               lambda data: History.from_dict(parse_json(data)))
        weights = None
        if self.has("weights.safetensors"):
            limit = 4 * spec.analyze().total_params + WEIGHTS_HEADER_LIMIT
            weights = self.content("weights.safetensors", limit,
                                   lambda data: _weights(spec, data))
        extras = {name.removeprefix("extras/"): self.read(name, EXTRA_LIMIT)
                  for name in self.checksums if name.startswith("extras/")}
        project = Project(spec, config, dataset, weights, history, extras, self.runs(),
                          per_class)
        if weights is not None and any(self.has(n) or n in self.members for n in OPTIONAL):
            try:
                project.optimizer_state = self.optimizer_state(project)
            except (_MemberError, ArchiveError, OptimizerStateError) as exc:
                project.notes.append(tr("The optimizer state was not read ({reason}): "
                                        "training goes on with a fresh one.", reason=exc))
        return project

    def optimizer_state(self, project: Project) -> OptimizerLeaves:
        """The optimizer state of the current run, checked against its weights, optimizer
        and steps. Only this member's damage: the caller drops it and keeps the rest."""
        for name in OPTIONAL:
            if name not in self.members:
                raise _MemberError(tr("member {name} is missing", name=name))
        info = self.content(optimizer_member.INFO, optimizer_member.INFO_LIMIT,
                            optimizer_member.parse_info)
        state = self.content(optimizer_member.ARRAYS,
                             optimizer_member.arrays_limit(project.weights),
                             lambda data: optimizer_member.parse_arrays(info, data,
                                                                        project.weights))
        problem = state.fits(project.config.optimizer, project.history.steps)
        if problem is not None:
            raise OptimizerStateError(problem)
        return state

    def runs(self) -> list[Run]:
        """The runs, each with the weights it says it kept (all checked against its
        network); a file without runs has none."""
        if not self.has(RUNS):
            return []
        runs, kept = self.content(RUNS, RUNS_LIMIT, _runs)
        if not kept:
            if self.has(RUN_WEIGHTS):
                raise _MemberError(tr("{name} holds weights, but no run says it kept them",
                                      name=RUN_WEIGHTS))
            return runs
        limit = sum(4 * run.spec.analyze().total_params for run in runs
                    if run.number in kept) + WEIGHTS_HEADER_LIMIT
        return self.content(RUN_WEIGHTS, limit, lambda data: _with_weights(runs, kept, data))


def _training(data: bytes) -> tuple[str, TrainConfig, int | None]:
    training = parse_json(data)
    if not isinstance(training, dict):
        raise ConfigError(tr("the training settings must be a JSON object, not {kind}",
                             kind=type(training).__name__))
    if "config" not in training:
        raise ConfigError(tr("missing config"))
    dataset = training.get("dataset", "shapes")
    if not isinstance(dataset, str):
        raise ConfigError(tr("dataset must be a name (text), got {value}",
                             value=brief(dataset)))
    return (dataset, TrainConfig.from_dict(training["config"]),
            check_per_class(training.get("per_class")))


def _weights(spec: NetworkSpec, data: bytes) -> Weights:
    flat = load_safetensors(data)
    return from_flat_names(spec, {k: np.asarray(v) for k, v in flat.items()})


def _run_prefix(run: Run) -> str:
    return f"run{run.number}/"


def _runs(data: bytes) -> tuple[list[Run], set[int]]:
    """The runs in a runs member, and the numbers of those that say they kept weights."""
    items = parse_json(data)
    runs = runs_from_list(items)
    return runs, {run.number for run, item in zip(runs, items, strict=True)
                  if item.get("has_weights") is True}


def _with_weights(runs: list[Run], kept: set[int], data: bytes) -> list[Run]:
    """`runs`, those numbered in `kept` with their weights from the safetensors `data`
    (each checked against the run's network); every array in it must be one of theirs."""
    flat = {k: np.asarray(v) for k, v in load_safetensors(data).items()}
    result = []
    for run in runs:
        if run.number not in kept:
            result.append(run)
            continue
        prefix = _run_prefix(run)
        mine = {k.removeprefix(prefix): flat.pop(k) for k in list(flat) if k.startswith(prefix)}
        try:
            result.append(replace(run, weights=from_flat_names(run.spec, mine)))
        except (WeightsError, NetworkError) as exc:
            raise WeightsError(tr("run {number}: {reason}", number=run.number,
                                  reason=exc)) from None
    if flat:
        raise WeightsError(tr("weights of no run: {names}", names=listed(sorted(flat))))
    return result
