"""Teaching text for the builder: what each layer field means, and how core's output
shapes and parameter counts come about, with the layer's own numbers filled in.

The numbers are read from core's LayerInfo; this module only writes them into the
textbook formulas, it never computes a shape of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.core.glossary import FirstMention
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
    "filters": FieldHelp(Message("Filters"), Message(
        "How many patterns this layer learns to detect. Each filter slides over the input "
        "and makes one output channel."), 1, 1024),
    "kernel_size": FieldHelp(Message("Kernel size"), Message(
        "Side K of the square window a filter looks at; each filter has K x K x (input "
        "channels) weights."), 1, 31),
    "stride": FieldHelp(Message("Stride"), Message(
        "How far the window moves between outputs: stride 2 roughly halves the output's "
        "height and width."), 1, 16),
    "padding": FieldHelp(Message("Padding"), Message(
        "valid: no padding, so the output shrinks by K - 1.\n"
        "same: zeros around the border so the output is ceil(H / S).")),
    "activation": FieldHelp(Message("Activation"), Message(
        "The non-linearity applied to every output: relu keeps positives and zeroes "
        "negatives, sigmoid squashes to (0, 1), tanh to (-1, 1), none keeps the raw value "
        "(use none on the output layer: the loss expects raw scores).")),
    "pool_size": FieldHelp(Message("Pool size"), Message(
        "Side P of the window that is reduced to one value."), 1, 16),
    "units": FieldHelp(Message("Units"), Message(
        "Output neurons. Each is a weighted sum of every input plus a bias; the last Dense "
        "layer needs one unit per class."), 1, 4096),
    "rate": FieldHelp(Message("Rate"), Message(
        "Fraction of the inputs set to zero at random while training (the rest are scaled "
        "up to match), so no unit can rely on one other; nothing is dropped at "
        "evaluation."), 0.0, 0.95),
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
POOL_STRIDE_TIP = Message("How far the window moves between outputs; 'pool size' (the "
                          "default) makes the windows tile the input without overlap.")


class Introduced:
    """A textbook term where a help text first names it: in Chinese both the textbook's
    word and the English one ("卷积 convolution"), in English the word itself."""

    def __init__(self, english: str):
        self.english = english

    def __format__(self, spec: str) -> str:
        return format(FirstMention()(self.english), spec)


# What each layer does, with its shapes and formula (the textbook's notation): the text
# the palette's tips and the property editor show.
LAYER_HELP: dict[type, Message] = {
    Conv2D: Message(
        "2-D {convolution} (cross-correlation, as every framework computes it): each "
        "{filter} slides its {kernel} over the input and makes one output {channel}.\n\n"
        "in (H, W, C) -> out (H', W', filters), where for 'valid' padding "
        "H' = floor((H - K) / S) + 1 and for 'same' padding H' = ceil(H / S).\n"
        "Kernel (K, K, C, filters), bias (filters,).",
        convolution=Introduced("convolution"), filter=Introduced("filter"),
        kernel=Introduced("kernel"), channel=Introduced("channel")),
    MaxPool2D: Message(
        "2-D {max_pooling} over pool_size x pool_size windows: each window keeps its largest "
        "value.\n\nin (H, W, C) -> out (H', W', C), H' = floor((H - P) / S) + 1; "
        "{stride} defaults to the pool size (no overlap).",
        max_pooling=Introduced("max pooling"), stride=Introduced("stride")),
    AvgPool2D: Message(
        "2-D {average_pooling}: each window is replaced by the mean of its values; shapes as "
        "MaxPool2D.", average_pooling=Introduced("average pooling")),
    Flatten: Message(
        "Lays its input out as one row of values, so that the values of every "
        "{feature_map} can go into a {fully_connected}: in (H, W, C) -> out (H * W * C,), "
        "row-major like Keras and numpy.", feature_map=Introduced("feature map"),
        fully_connected=Introduced("fully connected layer")),
    GlobalAvgPool: Message(
        "Global {average_pooling}: the mean over the spatial axes of each {channel}: "
        "in (H, W, C) -> out (C,).", average_pooling=Introduced("average pooling"),
        channel=Introduced("channel")),
    Dense: Message(
        "A {fully_connected}: in (D,) -> out (units,). Every output {neuron} is a weighted "
        "sum of all inputs plus a {bias}. Kernel (D, units), bias (units,).",
        fully_connected=Introduced("fully connected layer"), neuron=Introduced("neuron"),
        bias=Introduced("bias")),
    Dropout: Message(
        "Random {dropout}: zeroes a fraction `rate` of its inputs while training (scaled by "
        "1 / (1 - rate)), the identity at evaluation; against {overfitting}. Shape "
        "unchanged.", dropout=Introduced("dropout"), overfitting=Introduced("overfitting")),
    BatchNorm: Message(
        "Batch normalization of each {channel} (the last axis): in (H, W, C) or (D,) -> "
        "out of the same shape, out = (x - mean) / sqrt(var + epsilon) * gamma + beta.\n\n"
        "While training, mean and var are the {batch}'s own (over the batch and the "
        "positions) and the running averages follow them: moving = momentum * moving + "
        "(1 - momentum) * batch. At evaluation, and while the layer is frozen, the running "
        "averages are used. gamma, beta, moving_mean, moving_variance (C,) each; gamma and "
        "beta are trained.", channel=Introduced("channel"), batch=Introduced("batch")),
}


def layer_tip(layer_type: type) -> str:
    """What the layer does, its shapes and formula, in the language in use."""
    return str(LAYER_HELP[layer_type])


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
        return str(info.error or tr("unknown: an earlier layer has an error"))
    layer, i, o = info.layer, info.in_shape, info.out_shape
    if isinstance(layer, Conv2D):
        k, s = layer.kernel_size, layer.stride
        if layer.padding == "same":
            text = _axes(i, o, lambda a, n, m: f"{a}' = ceil({a} / S) = ceil({n} / {s}) = {m}")
        else:
            text = _axes(i, o, lambda a, n, m: f"{a}' = floor(({a} - K + 2P) / S) + 1 = "
                         f"floor(({n} - {k} + 0) / {s}) + 1 = {m}")
        return text + "\n" + tr("channels = filters = {c}", c=o[2])
    if isinstance(layer, MaxPool2D | AvgPool2D):
        p, s = layer.pool_size, pool_stride(layer)
        text = _axes(i, o, lambda a, n, m: f"{a}' = floor(({a} - P) / S) + 1 = "
                     f"floor(({n} - {p}) / {s}) + 1 = {m}")
        return text + "\n" + tr("channels unchanged = {c}", c=o[2])
    if isinstance(layer, Flatten):
        return tr("H x W x C = {h} x {w} x {c} = {n:,} values in a row", h=i[0], w=i[1], c=i[2],
                  n=o[0])
    if isinstance(layer, GlobalAvgPool):
        return tr("the mean of each of the {c} channels over its {h} x {w} positions", c=o[0],
                  h=i[0], w=i[1])
    if isinstance(layer, Dense):
        return tr("one value per unit = {n}", n=o[0])
    if isinstance(layer, Dropout):
        return tr("unchanged: dropout only zeroes some values")
    if isinstance(layer, BatchNorm):
        return tr("unchanged: each of the {c} channels is normalised on its own", c=o[-1])
    return ""


def params_formula(info: LayerInfo) -> str:
    """Where the parameter count comes from, and the layer's multiply-adds."""
    layer, i = info.layer, info.in_shape
    if info.out_shape is None:
        return tr("unknown until the error is fixed")
    if isinstance(layer, Conv2D):
        k, f = layer.kernel_size, layer.filters
        text = tr("K x K x C x F weights + F biases = {k} x {k} x {c} x {f} + {f} = {params:,}",
                  k=k, c=i[2], f=f, params=info.params)
    elif isinstance(layer, Dense):
        u = layer.units
        text = tr("D x U weights + U biases = {d:,} x {u} + {u} = {params:,}", d=i[0], u=u,
                  params=info.params)
    elif isinstance(layer, BatchNorm):
        text = tr("4 x C = gamma, beta (trained) + moving mean, moving variance (not trained, "
                  "they follow the batches) = 4 x {c} = {params:,}", c=i[-1],
                  params=info.params)
    else:
        return tr("no weights: this layer only rearranges or reduces its input")
    if is_frozen(layer):
        text += "\n" + tr("frozen: training changes none of them")
    return text + "\n" + tr("{macs:,} multiply-adds per image", macs=info.macs)
