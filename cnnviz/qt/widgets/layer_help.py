"""Teaching text for the builder: what each layer field means, and how core's output
shapes and parameter counts come about, with the layer's own numbers filled in.

The numbers are read from core's LayerInfo; this module only writes them into the
textbook formulas, it never computes a shape of its own.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from cnnviz.core.i18n import Message, tr
from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
    is_frozen,
    pool_stride,
)
from cnnviz.core.network import LayerInfo


@dataclass(frozen=True)
class FieldHelp:
    label: str | Message  # a Message: rendered in the language of the moment
    tip: str | Message
    minimum: float = 1
    maximum: float = 1024
    decimals: int = 2  # of a float field
    step: float = 0.05


FIELDS: dict[str, FieldHelp] = {
    "filters": FieldHelp("Filters", "How many patterns this layer learns to detect. Each filter "
                         "slides over the input and makes one output channel.", 1, 1024),
    "kernel_size": FieldHelp("Kernel size", "Side K of the square window a filter looks at; "
                             "each filter has K x K x (input channels) weights.", 1, 31),
    "stride": FieldHelp("Stride", "How far the window moves between outputs: stride 2 "
                        "roughly halves the output's height and width.", 1, 16),
    "padding": FieldHelp("Padding", "valid: no padding, so the output shrinks by K - 1.\n"
                         "same: zeros around the border so the output is ceil(H / S)."),
    "activation": FieldHelp("Activation", "The non-linearity applied to every output: relu "
                            "keeps positives and zeroes negatives, sigmoid squashes to (0, 1), "
                            "tanh to (-1, 1), none keeps the raw value (use none on the output "
                            "layer: the loss expects raw scores)."),
    "pool_size": FieldHelp("Pool size", "Side P of the window that is reduced to one value.",
                           1, 16),
    "units": FieldHelp("Units", "Output neurons. Each is a weighted sum of every input plus a "
                       "bias; the last Dense layer needs one unit per class.", 1, 4096),
    "rate": FieldHelp("Rate", "Fraction of the inputs set to zero at random while training "
                      "(the rest are scaled up to match), so no unit can rely on one other; "
                      "nothing is dropped at evaluation.", 0.0, 0.95),
    "momentum": FieldHelp(Message("Momentum"), Message(
        "How slowly the moving mean and variance follow the batches while training: each "
        "step keeps this share of them and takes the rest from the batch (Keras: 0.99)."),
        0.0, 0.999, 3, 0.01),
    "epsilon": FieldHelp(Message("Epsilon"), Message(
        "Added to the variance before its square root, so a channel that hardly varies is "
        "not divided by almost zero (Keras: 0.001)."), 1e-6, 0.5, 6, 1e-4),
    "trainable": FieldHelp(Message("Trainable"), Message(
        "Unticked, the layer is frozen: training leaves its weights as they are (no update, "
        "no weight decay, and no gradient is even computed for them), as when a trained "
        "network is fine-tuned on new data. A frozen BatchNorm also keeps its moving "
        "averages and normalises with them, as at evaluation.")),
}
POOL_STRIDE_TIP = ("How far the window moves between outputs; 'pool size' (the default) makes "
                   "the windows tile the input without overlap.")


def layer_tip(layer_type: type) -> str:
    """The layer class's own docstring: it states the shapes and the formula."""
    return inspect.cleandoc(layer_type.__doc__ or layer_type.__name__)


def _axes(in_shape, out_shape, line) -> str:
    """One formula line for H, and one for W only if it differs."""
    lines = [line("H", in_shape[0], out_shape[0])]
    if in_shape[1] != in_shape[0]:
        lines.append(line("W", in_shape[1], out_shape[1]))
    return "\n".join(lines)


def shape_formula(info: LayerInfo) -> str:
    """How `info.out_shape` follows from `info.in_shape`, e.g. for a valid 3x3 conv:
    'H' = floor((H - K + 2P) / S) + 1 = floor((28 - 3 + 0) / 1) + 1 = 26'."""
    if info.out_shape is None:
        return info.error or "unknown: an earlier layer has an error"
    layer, i, o = info.layer, info.in_shape, info.out_shape
    if isinstance(layer, Conv2D):
        k, s = layer.kernel_size, layer.stride
        if layer.padding == "same":
            text = _axes(i, o, lambda a, n, m: f"{a}' = ceil({a} / S) = ceil({n} / {s}) = {m}")
        else:
            text = _axes(i, o, lambda a, n, m: f"{a}' = floor(({a} - K + 2P) / S) + 1 = "
                         f"floor(({n} - {k} + 0) / {s}) + 1 = {m}")
        return f"{text}\nchannels = filters = {o[2]}"
    if isinstance(layer, MaxPool2D | AvgPool2D):
        p, s = layer.pool_size, pool_stride(layer)
        text = _axes(i, o, lambda a, n, m: f"{a}' = floor(({a} - P) / S) + 1 = "
                     f"floor(({n} - {p}) / {s}) + 1 = {m}")
        return f"{text}\nchannels unchanged = {o[2]}"
    if isinstance(layer, Flatten):
        return f"H x W x C = {i[0]} x {i[1]} x {i[2]} = {o[0]:,} values in a row"
    if isinstance(layer, GlobalAvgPool):
        return f"the mean of each of the {o[0]} channels over its {i[0]} x {i[1]} positions"
    if isinstance(layer, Dense):
        return f"one value per unit = {o[0]}"
    if isinstance(layer, Dropout):
        return "unchanged: dropout only zeroes some values"
    if isinstance(layer, BatchNorm):
        return tr("unchanged: each of the {c} channels is normalised on its own", c=o[-1])
    return ""


def params_formula(info: LayerInfo) -> str:
    """Where the parameter count comes from, and the layer's multiply-adds."""
    layer, i = info.layer, info.in_shape
    if info.out_shape is None:
        return "unknown until the error is fixed"
    if isinstance(layer, Conv2D):
        k, f = layer.kernel_size, layer.filters
        text = (f"K x K x C x F weights + F biases = {k} x {k} x {i[2]} x {f} + {f} "
                f"= {info.params:,}")
    elif isinstance(layer, Dense):
        u = layer.units
        text = f"D x U weights + U biases = {i[0]:,} x {u} + {u} = {info.params:,}"
    elif isinstance(layer, BatchNorm):
        text = tr("4 x C = gamma, beta (trained) + moving mean, moving variance (not trained, "
                  "they follow the batches) = 4 x {c} = {params:,}", c=i[-1],
                  params=info.params)
    else:
        return "no weights: this layer only rearranges or reduces its input"
    if is_frozen(layer):
        text += "\n" + tr("frozen: training changes none of them")
    return f"{text}\n{info.macs:,} multiply-adds per image"
