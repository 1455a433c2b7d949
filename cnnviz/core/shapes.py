"""Shape inference with explanations: each rule says which numbers broke it.

``layer_output_shape`` returns a layer's output shape for a given input shape or
raises ``ShapeError`` whose message a learner can act on, e.g.
``kernel 5 > input 3x3; out = floor((W - K + 2P) / S) + 1 = floor((3 - 5 + 0) / 1) + 1 = -1``.
"""

from __future__ import annotations

import math

from cnnviz.core.i18n import Message
from cnnviz.core.json_text import brief
from cnnviz.core.layers import (
    ACTIVATIONS,
    PADDINGS,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    Layer,
    MaxPool2D,
    is_frozen,
    pool_stride,
)

Shape = tuple[int, ...]
# The largest whole number a layer field or input dimension may hold: what the engine's
# shapes and the window's spin boxes take (32-bit). Whether a network that large fits in
# memory is the training-memory estimate's question (core.memory).
MAX_INT = 2**31 - 1


class ShapeError(ValueError):
    """A layer that cannot work on the shape it receives, with the reason."""


def fmt_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding (before, after) along one axis: the output is
    ceil(size / stride) and any odd padding goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _check_int(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ShapeError(Message("{name} must be a whole number >= {minimum}, got {value}",
                                 name=name, minimum=minimum, value=brief(value)))
    if value > MAX_INT:
        raise ShapeError(Message("{name} must be at most {most:,}, got {value:,}", name=name,
                                 most=MAX_INT, value=value))


def _check_activation(activation: object) -> None:
    if activation not in ACTIVATIONS:
        raise ShapeError(Message("activation must be one of {known}, got {value}",
                                 known=", ".join(ACTIVATIONS), value=repr(activation)))


def _need_image(layer_kind: str, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeError(Message(
            "{layer} needs an image-shaped input (H, W, C) but gets a flat vector of "
            "{size} values; put it before Flatten / GlobalAvgPool", layer=layer_kind,
            size=fmt_shape(shape)))
    return shape  # type: ignore[return-value]


def _window_out(size: int, window: int, stride: int, pad: int, axis: str, what: str) -> int:
    out = (size - window + 2 * pad) // stride + 1
    if out < 1:
        # a conv's kernel and a pool's window: a whole sentence each, as languages word
        # them differently
        values = dict(window=window, axis=axis, size=size, pad=2 * pad, stride=stride, out=out)
        raise ShapeError(Message(
            "kernel {window} > input {axis} {size}; out = floor(({axis} - K + 2P) / S) + 1 "
            "= floor(({size} - {window} + {pad}) / {stride}) + 1 = {out}", **values)
            if what == "kernel" else Message(
            "pool {window} > input {axis} {size}; out = floor(({axis} - K + 2P) / S) + 1 "
            "= floor(({size} - {window} + {pad}) / {stride}) + 1 = {out}", **values))
    return out


def _check_trainable(layer: Layer) -> None:
    trainable = getattr(layer, "trainable", True)
    if not isinstance(trainable, bool):
        raise ShapeError(Message("trainable must be true or false, got {value}",
                                 value=brief(trainable)))


def _check_fraction(name: str, value: object, low: float, high: float) -> None:
    """`value` a number with low <= value < high."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            low <= value < high):
        raise ShapeError(Message("{name} must be a number in [{low}, {high}), got {value}",
                                 name=name, low=low, high=high, value=brief(value)))


def layer_output_shape(layer: Layer, shape: Shape) -> Shape:
    _check_trainable(layer)
    if isinstance(layer, BatchNorm):
        _check_fraction("momentum", layer.momentum, 0, 1)
        _check_fraction("epsilon", layer.epsilon, 1e-12, 1)
        _check_activation(layer.activation)
        return shape
    if isinstance(layer, Conv2D):
        for name in ("filters", "kernel_size", "stride"):
            _check_int(name, getattr(layer, name))
        if layer.padding not in PADDINGS:
            raise ShapeError(Message("padding must be 'valid' or 'same', got {value}",
                                     value=repr(layer.padding)))
        _check_activation(layer.activation)
        h, w, _ = _need_image("Conv2D", shape)
        k, s = layer.kernel_size, layer.stride
        if layer.padding == "same":
            return (-(-h // s), -(-w // s), layer.filters)
        return (
            _window_out(h, k, s, 0, "H", "kernel"),
            _window_out(w, k, s, 0, "W", "kernel"),
            layer.filters,
        )
    if isinstance(layer, MaxPool2D | AvgPool2D):
        _check_int("pool_size", layer.pool_size)
        if layer.stride is not None:
            _check_int("stride", layer.stride)
        h, w, c = _need_image(type(layer).__name__, shape)
        p, s = layer.pool_size, pool_stride(layer)
        return (
            _window_out(h, p, s, 0, "H", "pool"),
            _window_out(w, p, s, 0, "W", "pool"),
            c,
        )
    if isinstance(layer, Flatten):
        if len(shape) == 1:
            raise ShapeError(Message("input is already flat; remove this Flatten"))
        return (math.prod(shape),)
    if isinstance(layer, GlobalAvgPool):
        return (_need_image("GlobalAvgPool", shape)[2],)
    if isinstance(layer, Dense):
        _check_int("units", layer.units)
        _check_activation(layer.activation)
        if len(shape) != 1:
            raise ShapeError(Message("Dense needs a flat input but gets {shape}; add Flatten "
                                     "or GlobalAvgPool before it", shape=fmt_shape(shape)))
        return (layer.units,)
    if isinstance(layer, Dropout):
        rate = layer.rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
            raise ShapeError(Message("rate must be in [0, 1), got {value}", value=repr(rate)))
        return shape
    raise ShapeError(Message("unknown layer {layer}", layer=repr(layer)))


def layer_param_count(layer: Layer, in_shape: Shape) -> int:
    if isinstance(layer, Conv2D):
        return layer.kernel_size**2 * in_shape[-1] * layer.filters + layer.filters
    if isinstance(layer, Dense):
        return in_shape[-1] * layer.units + layer.units
    if isinstance(layer, BatchNorm):
        return 4 * in_shape[-1]
    return 0


def layer_trainable_count(layer: Layer, in_shape: Shape) -> int:
    """The parameters training changes, as Keras counts them: none of a frozen layer's,
    and of a BatchNorm only gamma and beta (its moving averages follow the batches,
    they are not trained)."""
    if is_frozen(layer):
        return 0
    if isinstance(layer, BatchNorm):
        return 2 * in_shape[-1]
    return layer_param_count(layer, in_shape)


def layer_macs(layer: Layer, in_shape: Shape, out_shape: Shape) -> int:
    """Multiply-accumulates for one example (pooling and activations count as none)."""
    if isinstance(layer, Conv2D):
        return math.prod(out_shape) * layer.kernel_size**2 * in_shape[-1]
    if isinstance(layer, Dense):
        return in_shape[-1] * layer.units
    if isinstance(layer, BatchNorm):  # at evaluation: x * scale + shift per value
        return math.prod(out_shape)
    return 0


def layer_param_shapes(layer: Layer, in_shape: Shape) -> dict[str, Shape]:
    """The weight arrays a layer owns, in Keras' layout."""
    if isinstance(layer, Conv2D):
        k = layer.kernel_size
        return {"kernel": (k, k, in_shape[-1], layer.filters), "bias": (layer.filters,)}
    if isinstance(layer, Dense):
        return {"kernel": (in_shape[-1], layer.units), "bias": (layer.units,)}
    if isinstance(layer, BatchNorm):
        c = (in_shape[-1],)
        return {"gamma": c, "beta": c, "moving_mean": c, "moving_variance": c}
    return {}
