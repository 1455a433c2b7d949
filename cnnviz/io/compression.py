"""A compressed model in its project: the compressed weights are the project's weights;
what was done is the member extras/compression (JSON), and the pruning masks, kept so
that fine-tuning can hold them, extras/compression-masks (safetensors of uint8 0/1)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from cnnviz.core.compression import CompressionError, Masks, Weights
from cnnviz.core.compression_record import CompressionRecord, QuantizeStep
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import FLOAT16
from cnnviz.core.shapes import fmt_shape, layer_param_shapes
from cnnviz.io.project import Project

RECORD, MASKS, REPLAY = "compression", "compression-masks", "replay"


class CompressionFileError(ValueError):
    """A compression record or masks member that cannot be read, and why."""


def record_bytes(record: CompressionRecord) -> bytes:
    return json.dumps(record.to_dict(), indent=1).encode()


def load_record(data: bytes) -> CompressionRecord:
    try:
        return CompressionRecord.from_dict(json.loads(data))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CompressionFileError(tr("the compression record is not readable JSON")) from None
    except CompressionError as exc:
        raise CompressionFileError(tr("the compression record: {reason}", reason=exc)) from None


def flat_masks(spec: NetworkSpec, masks: Masks) -> dict[str, np.ndarray]:
    """{'conv1/kernel': uint8 0/1, ...}: the masks by name, as the file keeps them."""
    return {f"{name}/kernel": m["kernel"].astype(np.uint8)
            for name, m in zip(spec.names, masks, strict=True) if m}


def masks_bytes(spec: NetworkSpec, masks: Masks) -> bytes:
    return save_safetensors(flat_masks(spec, masks))


def read_masks(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of a masks member, by name (checked against a network by masks_for)."""
    try:
        return load_safetensors(data)
    except (SafetensorError, ValueError, OverflowError):
        raise CompressionFileError(tr("the pruning masks are not readable")) from None


def masks_for(spec: NetworkSpec, flat: dict[str, np.ndarray]) -> Masks:
    """Masks for `spec`'s weighted layers, each of its kernel's shape and all 0 or 1."""
    masks, expected = [], set()
    for info in spec.check().layers:
        shape = layer_param_shapes(info.layer, info.in_shape).get("kernel")
        if shape is None:
            masks.append({})
            continue
        name = f"{info.name}/kernel"
        expected.add(name)
        value = flat.get(name)
        if value is None or value.shape != shape or value.dtype != np.uint8 or value.max(
                initial=0) > 1:
            raise CompressionFileError(tr("the pruning mask of {name} is missing or is not "
                                          "0/1 of shape {shape}", name=info.name,
                                          shape=fmt_shape(shape)))
        masks.append({"kernel": value.astype(bool)})
    if set(flat) - expected:
        raise CompressionFileError(tr("pruning masks for layers this network does not have: "
                                      "{names}", names=", ".join(sorted(set(flat) - expected))))
    return masks


def load_masks(spec: NetworkSpec, data: bytes) -> Masks:
    return masks_for(spec, read_masks(data))


def compressed_record(project: Project) -> CompressionRecord:
    """What was done to the project's model so far (empty if nothing)."""
    data = project.extras.get(RECORD)
    return CompressionRecord() if data is None else load_record(data)


def int8_quantization(record: CompressionRecord, spec: NetworkSpec, weights: Weights
                      ) -> QuantizeStep | None:
    """The int8 quantization the model's weights were left on (the record's last step),
    or None: not quantized, float16, or a record that no longer fits the network (a
    layer gone, or another number of output channels than it has scales for)."""
    step = record.steps[-1] if record.steps else None
    if not isinstance(step, QuantizeStep) or step.scheme == FLOAT16:
        return None
    index = {name: i for i, name in enumerate(spec.names)}
    for name, scales in step.weight_scales.items():
        kernel = weights[index[name]].get("kernel") if name in index else None
        if kernel is None or len(scales) not in (1, kernel.shape[-1]):
            return None
    return step if set(step.activations) <= set(index) else None


def compressed_project(project: Project, spec: NetworkSpec, weights: Weights,
                       history: History, record: CompressionRecord, masks: Masks | None,
                       config: TrainConfig | None = None) -> Project:
    """`project` with the compressed network (`spec`, `weights`) in place of its own, the
    record and masks as members, and the fine-tuning's `history` and `config` if any.
    Other members are kept, except a replay of training when the network's shapes
    changed (it shows how the other network's filters grew)."""
    extras = dict(project.extras)
    extras[RECORD] = record_bytes(record)
    if masks is None:
        extras.pop(MASKS, None)
    else:
        extras[MASKS] = masks_bytes(spec, masks)
    if spec != project.spec:
        extras.pop(REPLAY, None)
    return replace(project, spec=spec, weights=weights, history=history, extras=extras,
                   config=config or project.config)
