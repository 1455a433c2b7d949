"""What was done to compress a model, as its project records it, so it can be shown.

A record is the list of steps applied in order (a model may be pruned, then quantized),
each with its settings and the figures before and after. It is plain JSON data, read
back with every field checked: a file is outside data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from cnnviz.core.compression import SCOPES, CompressionError
from cnnviz.core.i18n import Message, tr
from cnnviz.core.quantization import CALIBRATIONS, SCHEMES

RECORD_VERSION = 1


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _fraction(v: object) -> bool:
    return _number(v) and 0 <= v <= 1


def _optional(check):
    return lambda v: v is None or check(v)


def _names(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(n, str) for n in v)


def _mapping(check):
    return lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and check(x) for k, x in v.items())


def _scales(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(_number(s) and s > 0 for s in v)


def _qparams(v: object) -> bool:
    return (isinstance(v, list) and len(v) == 2 and _number(v[0]) and v[0] > 0
            and isinstance(v[1], int) and not isinstance(v[1], bool) and -128 <= v[1] <= 127)


@dataclass(frozen=True)
class Figures:
    """Accuracy on the validation images (None without any), bytes of the weights and
    multiply-adds per image, before and after a step. A prune counts the bytes of the
    float32 weights once deflated (zeros only shrink a compressed file); a quantization
    the bytes its number format takes."""

    accuracy_before: float | None
    accuracy_after: float | None
    bytes_before: int
    bytes_after: int
    macs_before: int
    macs_after: int


@dataclass(frozen=True)
class PruneStep(Figures):
    sparsity: float = 0.0
    scope: str = "global"
    structured: bool = False
    layers: list[str] = field(default_factory=list)
    fine_tune_epochs: int = 0
    rounds: int = 1
    layer_sparsity: dict[str, float] = field(default_factory=dict)  # of each layer's kernel
    accuracy_pruned: float | None = None  # right after pruning, before any fine-tuning

    kind = "prune"


@dataclass(frozen=True)
class QuantizeStep(Figures):
    scheme: str = "int8-per-channel"
    calibration: str | None = None  # None: activations stay float
    calibration_images: int = 0
    percentile: float | None = None
    keep_float: list[str] = field(default_factory=list)
    qat_epochs: int = 0
    weight_scales: dict[str, list[float]] = field(default_factory=dict)
    activations: dict[str, list] = field(default_factory=dict)  # name: [scale, zero point]

    kind = "quantize"


_CHECKS = {
    "accuracy_before": _optional(_fraction), "accuracy_after": _optional(_fraction),
    "bytes_before": _whole, "bytes_after": _whole, "macs_before": _whole, "macs_after": _whole,
    "sparsity": _fraction, "scope": lambda v: v in SCOPES,
    "structured": lambda v: isinstance(v, bool), "layers": _names,
    "fine_tune_epochs": _whole, "rounds": lambda v: _whole(v) and v >= 1,
    "layer_sparsity": _mapping(_fraction), "accuracy_pruned": _optional(_fraction),
    "scheme": lambda v: v in SCHEMES,
    "calibration": lambda v: v is None or v in CALIBRATIONS, "calibration_images": _whole,
    "percentile": _optional(_number), "keep_float": _names, "qat_epochs": _whole,
    "weight_scales": _mapping(_scales), "activations": _mapping(_qparams),
}
STEP_TYPES = {cls.kind: cls for cls in (PruneStep, QuantizeStep)}
Step = PruneStep | QuantizeStep


def step_to_dict(step: Step) -> dict[str, Any]:
    return {"kind": step.kind, **asdict(step)}


def step_from_dict(data: object) -> Step:
    """A step read from JSON, each field checked; CompressionError says what is wrong."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in STEP_TYPES:
        raise CompressionError(Message("a compression step must be an object whose kind is one "
                                       "of {known}", known=", ".join(STEP_TYPES)))
    cls = STEP_TYPES[kind]
    names = {f.name for f in fields(cls)}
    if set(data) - {"kind"} != names:
        raise CompressionError(Message("a {kind} step needs exactly the fields {names}",
                                       kind=cls.kind, names=", ".join(sorted(names))))
    for name in names:
        if not _CHECKS[name](data[name]):
            raise CompressionError(Message("a {kind} step has an invalid {name}: {value}",
                                           kind=cls.kind, name=name, value=repr(data[name])[:80]))
    return cls(**{name: data[name] for name in names})


@dataclass(frozen=True)
class CompressionRecord:
    steps: tuple[Step, ...] = ()

    def then(self, step: Step) -> CompressionRecord:
        return CompressionRecord((*self.steps, step))

    def to_dict(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "steps": [step_to_dict(s) for s in self.steps]}

    @classmethod
    def from_dict(cls, data: object) -> CompressionRecord:
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION or not (
                isinstance(data.get("steps"), list)):
            raise CompressionError(Message("not a compression record this cnnviz reads (version "
                                           "{version})", version=RECORD_VERSION))
        return cls(tuple(step_from_dict(s) for s in data["steps"]))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def describe(step: Step) -> str:
    """One line a learner reads: what the step did, and what it cost and saved."""
    figures = tr("validation accuracy {before} -> {after}, {bytes_before:,} -> {bytes_after:,} "
                 "bytes, {macs_before:,} -> {macs_after:,} multiply-adds per image",
                 before=_percent(step.accuracy_before), after=_percent(step.accuracy_after),
                 bytes_before=step.bytes_before, bytes_after=step.bytes_after,
                 macs_before=step.macs_before, macs_after=step.macs_after)
    if isinstance(step, PruneStep):
        how = tr("whole filters by L1 norm") if step.structured else tr(
            "single weights, one global threshold") if step.scope == "global" else tr(
            "single weights, each layer alike")
        what = tr("pruned {sparsity} ({how})", sparsity=_percent(step.sparsity), how=how)
        if step.fine_tune_epochs:
            what += tr(", fine-tuned {epochs} epoch(s) in {rounds} round(s) (accuracy right "
                       "after pruning: {pruned})", epochs=step.fine_tune_epochs,
                       rounds=step.rounds, pruned=_percent(step.accuracy_pruned))
    else:
        what = tr("quantized to {scheme}, activations {activations}{kept}{qat}",
                  scheme=step.scheme, activations=tr(
                      "int8 ({method}, {images} calibration images)", method=step.calibration,
                      images=step.calibration_images) if step.calibration else tr("float"),
                  kept=tr(", kept in float: {names}", names=", ".join(step.keep_float))
                  if step.keep_float else "",
                  qat=tr(", quantization-aware fine-tuning {epochs} epoch(s)",
                         epochs=step.qat_epochs) if step.qat_epochs else "")
    return tr("{what}: {figures}", what=what, figures=figures)


def label(step: Step) -> str:
    """What the step did in a few words, for a list of runs: 'pruned 80.0 %', 'quantized
    to int8-per-channel' and the like, with ', fine-tuned' when it was."""
    if isinstance(step, PruneStep):
        what = (tr("pruned {sparsity} of filters", sparsity=_percent(step.sparsity))
                if step.structured else tr("pruned {sparsity}", sparsity=_percent(step.sparsity)))
        tuned = step.fine_tune_epochs
    else:
        what = (tr("quantized to {scheme}, int8 activations", scheme=step.scheme)
                if step.calibration else tr("quantized to {scheme}", scheme=step.scheme))
        tuned = step.qat_epochs
    return tr("{what}, fine-tuned", what=what) if tuned else what
