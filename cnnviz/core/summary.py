"""A text table of a network, laid out like Keras' ``model.summary()``."""

from __future__ import annotations

from cnnviz.core.columns import pad, text_width
from cnnviz.core.config import TrainConfig
from cnnviz.core.i18n import tr
from cnnviz.core.layers import Layer, is_frozen
from cnnviz.core.memory import format_bytes, training_memory
from cnnviz.core.network import Analysis, NetworkSpec
from cnnviz.core.shapes import Shape

DEFAULT_CONFIG = TrainConfig()


def describe_layer(layer: Layer) -> str:
    """One-line human description, e.g. 'Conv2D 32 3x3 /1 valid relu'."""
    kind = type(layer).__name__
    match kind:
        case "Conv2D":
            return (f"Conv2D {layer.filters} {layer.kernel_size}x{layer.kernel_size} "
                    f"/{layer.stride} {layer.padding} {layer.activation}")
        case "MaxPool2D" | "AvgPool2D":
            stride = layer.pool_size if layer.stride is None else layer.stride
            return f"{kind} {layer.pool_size}x{layer.pool_size} /{stride}"
        case "Dense":
            return f"Dense {layer.units} {layer.activation}"
        case "Dropout":
            return f"Dropout {layer.rate}"
        case "BatchNorm":
            text = f"BatchNorm momentum {layer.momentum:g} epsilon {layer.epsilon:g}"
            return text if layer.activation == "none" else f"{text} {layer.activation}"
    return kind


def shape_text(shape: Shape | None) -> str:
    return "?" if shape is None else "(None, " + ", ".join(str(d) for d in shape) + ")"


def memory_lines(spec: NetworkSpec, analysis: Analysis, batch_size: int, optimizer: str,
                 free: int | None) -> list[str]:
    """The training-memory estimate at `batch_size` with `optimizer`, and a warning if it
    is more than the `free` bytes the machine has; none for a network with errors."""
    if not analysis.ok:
        return []
    memory = training_memory(analysis, spec.input_shape, batch_size, optimizer)
    lines = [tr("Training memory (batch {batch}, {optimizer}): about {total} ({parts})",
                batch=batch_size, optimizer=optimizer, total=format_bytes(memory.total),
                parts=memory.parts())]
    if not memory.fits(free):
        lines.append(tr("WARNING training would not fit: this machine has {free} of memory "
                        "free", free=format_bytes(free or 0)))
    return lines


def summary_table(spec: NetworkSpec, analysis: Analysis | None = None, *,
                  batch_size: int = DEFAULT_CONFIG.batch_size,
                  optimizer: str = DEFAULT_CONFIG.optimizer, free: int | None = None,
                  sparsity: dict[str, float] | None = None) -> str:
    """The table; under it the totals and the training-memory estimate (checked against
    `free` bytes, if given). With `sparsity` (a pruned model's, by layer name: the share
    of each weighted layer's kernel that is zero), a column of it."""
    analysis = analysis or spec.analyze()
    extra = () if sparsity is None else (tr("Sparsity"),)
    rows = [(tr("Layer (type)"), tr("Output Shape"), tr("Param #"), tr("MACs"), *extra)]
    rows.append((tr("input {shape}", shape=shape_text(spec.input_shape)),
                 shape_text(spec.input_shape), "0", "0", *("" for _ in extra)))
    for info in analysis.layers:
        frozen = tr(", frozen") if is_frozen(info.layer) else ""
        share = () if sparsity is None else (
            f"{100 * sparsity[info.name]:.1f} %" if info.name in sparsity else "",)
        rows.append((tr("{name} ({layer})", name=info.name,
                        layer=describe_layer(info.layer) + frozen),
                     shape_text(info.out_shape),
                     f"{info.params:,}", f"{info.macs:,}", *share))
    widths = [max(text_width(r[i]) for r in rows) + 2 for i in range(len(rows[0]))]
    line = "".join(pad(r, w, i >= 2) for i, (r, w) in
                   enumerate(zip(rows[0], widths, strict=True)))
    rule = "=" * text_width(line)
    out = [rule, line, rule]
    for row in rows[1:]:
        out.append("".join(pad(c, w, i >= 2) for i, (c, w) in
                           enumerate(zip(row, widths, strict=True))))
    out += [rule, tr("Total params: {n:,}", n=analysis.total_params),
            tr("Trainable params: {n:,}", n=analysis.trainable_params),
            tr("Non-trainable params: {n:,}", n=analysis.non_trainable_params),
            tr("MACs per example: {n:,}", n=analysis.total_macs),
            *memory_lines(spec, analysis, batch_size, optimizer, free), rule]
    out += [tr("ERROR {problem}", problem=p) if p.severity == "error" else
            tr("WARNING {problem}", problem=p) for p in analysis.problems]
    return "\n".join(out)

