"""A compressed model in its project: the compressed weights are the project's weights;
what was done is the member extras/compression (JSON), and the pruning masks, kept so
that fine-tuning can hold them, extras/compression-masks (safetensors of uint8 0/1)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from cnnviz.core.compression import CompressionError, Masks, Weights
from cnnviz.core.compression_record import CompressionRecord, QuantizeStep, label
from cnnviz.core.i18n import tr
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import FLOAT16
from cnnviz.core.runs import COMPRESSED, new_run, next_number, source_text, with_current
from cnnviz.core.shapes import fmt_shape, layer_param_shapes
from cnnviz.io.project import Project

if TYPE_CHECKING:  # JAX loads with it, only where compression runs
    from cnnviz.engine.compress_pipeline import Compressed

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


def compressed_project(project: Project, result: Compressed,
                       done: CompressionRecord | None = None, name: str | None = None
                       ) -> Project:
    """`project` with `result`'s compressed network in place of its own: its weights, the
    record (`done` to the project's model before, by default what its record member
    says, then `result`'s step) and masks as members, and the fine-tuning's history and
    settings if it was fine-tuned. Other members are kept, except a replay of training
    when the network's shapes changed (it shows how the other network's filters grew).

    Its runs are the project's (its current training among them) and a new compressed
    run, the current one of the project returned, named after what was done: its figures
    are those measured after compression, its source the run whose weights were
    compressed (`name`, e.g. a file's, when none recorded them)."""
    done = compressed_record(project) if done is None else done
    extras = dict(project.extras)
    extras[RECORD] = record_bytes(done.then(result.step))
    if result.masks is None:
        extras.pop(MASKS, None)
    else:
        extras[MASKS] = masks_bytes(result.spec, result.masks)
    if result.spec != project.spec:
        extras.pop(REPLAY, None)
    tuned = result.history is not None
    history = result.history if tuned else project.history
    config = result.config or project.config
    runs, current = with_current(project.runs, project.spec, project.config, project.dataset,
                                 project.history, project.per_class, project.weights)
    source = next((run for run in runs if run.number == current), None)
    number = next_number(runs)
    run = new_run(runs, result.spec, config, project.dataset, history, kind=COMPRESSED,
                  name=tr("Run {number}: {what}", number=number, what=label(result.step)),
                  source=source_text(source.name if source else name or tr("trained weights"),
                                     project.dataset),
                  per_class=project.per_class, weights=result.weights, own_history=tuned,
                  steps_per_epoch=None if tuned or source is None else source.steps_per_epoch,
                  **result.figures)
    return replace(project, spec=result.spec, weights=result.weights, history=history,
                   extras=extras, config=config, runs=[*runs, run])
