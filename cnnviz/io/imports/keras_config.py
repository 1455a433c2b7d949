"""A Keras model's configuration (the JSON Keras writes, read as data) mapped onto the
app's layers.

Sequential models, and Functional ones that are a plain chain, built from the layers
the app has: Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten,
Dense, Dropout, BatchNormalization (over the last axis, with its scale and shift), and
Activation / ReLU layers that follow a Conv2D, Dense or BatchNormalization. A final
softmax becomes the app's logits (the app applies softmax itself). Everything else is a
row of the mismatch report. Each Keras class has one converter in CONVERTERS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnnviz.core.i18n import tr
from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.core.network import layer_names
from cnnviz.io.imports.result import MALFORMED, Draft

ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "linear": "none",
               "softmax": "softmax"}  # softmax only at the very end, see _final_softmax


@dataclass(frozen=True)
class KerasLayer:
    """One layer of the model: its class, its name, the group that holds its weights in
    a Keras 3 weights file (`layers/<key>`), and its config."""

    class_name: str
    name: str
    key: str
    config: dict[str, Any]


def snake_case(name: str) -> str:
    """Keras' own rule for a class's name in weight files: MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def weight_keys(class_names: list[str]) -> list[str]:
    """Keras names each layer's weight group by its class, numbered per class in order:
    conv2d, conv2d_1, dense, dense_1, ..."""
    used: dict[str, int] = {}
    keys = []
    for class_name in class_names:
        base = snake_case(class_name)
        used[base] = used.get(base, -1) + 1
        keys.append(base if used[base] == 0 else f"{base}_{used[base]}")
    return keys


def _inbound_names(value: object) -> list[str]:
    """The layer names a Functional layer's inbound_nodes refer to (Keras 3's
    keras_history, or Keras 2's [name, node, tensor, kwargs] lists)."""
    if isinstance(value, dict):
        history = value.get("keras_history")
        if isinstance(history, list) and history and isinstance(history[0], str):
            return [history[0]]
        return [n for v in value.values() for n in _inbound_names(v)]
    if isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            return [value[0]]
        return [n for v in value for n in _inbound_names(v)]
    return []


def model_layers(model: Any, draft: Draft) -> list[KerasLayer]:
    """The model's layers in order (a Functional model's only if they form a chain)."""
    if not isinstance(model, dict) or not isinstance(model.get("config"), dict):
        draft.problem(tr("model"), tr("a Keras model configuration"), tr("none found"))
        return []
    kind, config = model.get("class_name"), model["config"]
    if kind not in ("Sequential", "Functional", "Model"):
        draft.problem(tr("model"), tr("a Sequential model"), str(kind))
        return []
    entries = config.get("layers")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        draft.problem(tr("model"), tr("a list of layers"), tr("none found"))
        return []
    classes = [str(e.get("class_name")) for e in entries]
    layers = []
    for entry, key, class_name in zip(entries, weight_keys(classes), classes, strict=True):
        cfg = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        layers.append(KerasLayer(class_name, str(cfg.get("name", entry.get("name", key))),
                                 key, cfg))
    if kind != "Sequential":
        for i in range(1, len(layers)):
            previous = layers[i - 1].name
            if _inbound_names(entries[i].get("inbound_nodes")) != [previous]:
                draft.problem(layers[i].name, tr("the output of {name} alone", name=previous),
                              tr("a branch (the app builds a chain of layers)"))
    draft.input_shape = _input_shape(config, layers)
    return layers


def _input_shape(config: dict[str, Any], layers: list[KerasLayer]) -> tuple | None:
    """(H, W, C) from the InputLayer, the model's build shape, or the first layer's
    batch_input_shape (Keras 2)."""
    candidates = [layer.config.get("batch_shape") or layer.config.get("batch_input_shape")
                  for layer in layers[:1]]
    candidates.append(config.get("build_input_shape"))
    if layers:
        build = layers[0].config.get("build_config")
        candidates.append(build.get("input_shape") if isinstance(build, dict) else None)
    for shape in candidates:
        if isinstance(shape, list) and len(shape) == 4:
            return tuple(shape[1:])
    return None


# -- converters: one per Keras class -------------------------------------------------------
Vars = list[np.ndarray] | None


def _square(layer: KerasLayer, draft: Draft, field: str, default: object = None) -> int | None:
    """A size or stride the app holds as one number: an int, or [n, n]."""
    value = layer.config.get(field, default)
    if isinstance(value, list | tuple) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    draft.problem(layer.name, tr("a square {field} (n x n)", field=field), repr(value))
    return None


def _channels_last(layer: KerasLayer, draft: Draft) -> bool:
    fmt = layer.config.get("data_format", "channels_last")
    if fmt in (None, "channels_last"):
        return True
    draft.problem(layer.name, "data_format channels_last", str(fmt))
    return False


def _activation(layer: KerasLayer, draft: Draft, name: object) -> str | None:
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    draft.problem(layer.name, tr("activation relu, sigmoid, tanh, softmax or linear"),
                  tr("activation {name}", name=name))
    return None


def _weights(layer: KerasLayer, draft: Draft, arrays: Vars, units: object
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """(kernel, bias) of a Conv2D or Dense; a layer without bias gets zeros (the same
    numbers) and a note."""
    if not arrays:
        draft.problem(layer.name, tr("kernel and bias"), tr("missing"))
        return None
    use_bias = layer.config.get("use_bias", True)
    if use_bias and len(arrays) != 2 or not use_bias and len(arrays) != 1:
        draft.problem(layer.name, tr("kernel and bias"),
                      tr("{count} arrays", count=len(arrays)))
        return None
    if use_bias:
        return arrays[0], arrays[1]
    draft.notes.append(tr("{name} has no bias; it gets a bias of zeros, which computes the "
                          "same", name=layer.name))
    return arrays[0], np.zeros(units if isinstance(units, int) else 0, np.float32)


def _conv(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    cfg = layer.config
    size, stride = _square(layer, draft, "kernel_size"), _square(layer, draft, "strides", 1)
    dilation = _square(layer, draft, "dilation_rate", 1)
    activation = _activation(layer, draft, cfg.get("activation", "linear"))
    padding = cfg.get("padding", "valid")
    if padding not in ("valid", "same"):
        draft.problem(layer.name, tr("padding valid or same"), str(padding))
    if dilation not in (1, None):
        draft.problem(layer.name, "dilation_rate 1", str(dilation))
    if cfg.get("groups", 1) != 1:
        draft.problem(layer.name, "groups 1", str(cfg.get("groups")))
    ok = _channels_last(layer, draft)
    params = _weights(layer, draft, arrays, cfg.get("filters"))
    if ok and params and None not in (size, stride, activation):
        draft.add(Conv2D(cfg.get("filters"), size, stride, padding, activation),
                  kernel=params[0], bias=params[1])


def _pool(app_type: type) -> Callable[[KerasLayer, Draft, Vars], None]:
    def convert(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
        size = _square(layer, draft, "pool_size", 2)
        strides = layer.config.get("strides")
        stride = size if strides is None else _square(layer, draft, "strides")
        padding = layer.config.get("padding", "valid")
        if padding != "valid":
            draft.problem(layer.name, tr("padding valid"), str(padding))
        elif _channels_last(layer, draft) and None not in (size, stride):
            draft.add(app_type(size, None if stride == size else stride))
    return convert


def _global_avg_pool(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    if layer.config.get("keepdims"):
        draft.problem(layer.name, "keepdims False", "keepdims True")
    elif _channels_last(layer, draft):
        draft.add(GlobalAvgPool())


def _flatten(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    if _channels_last(layer, draft):
        draft.add(Flatten())


def _dense(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    units = layer.config.get("units")
    activation = _activation(layer, draft, layer.config.get("activation", "linear"))
    params = _weights(layer, draft, arrays, units)
    if params and activation is not None:
        draft.add(Dense(units, activation), kernel=params[0], bias=params[1])


def _dropout(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    draft.add(Dropout(layer.config.get("rate", 0.5)))


def _batch_norm(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    """Over the last axis (Keras writes -1, or the axis' number: 3 for an image, 1 for a
    vector), with gamma and beta (center and scale, Keras' defaults)."""
    cfg = layer.config
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    last = draft.layers[-1] if draft.layers else None
    vector = isinstance(last, Dense | Flatten | GlobalAvgPool)
    if axis not in (-1, 1 if vector else 3):
        draft.problem(layer.name, tr("normalization over the channels (the last axis)"),
                      tr("axis {axis}", axis=axis))
        return
    if not (cfg.get("center", True) and cfg.get("scale", True)) or cfg.get("renorm"):
        draft.problem(layer.name, tr("center and scale, no renorm"),
                      tr("center {center}, scale {scale}", center=cfg.get("center", True),
                         scale=cfg.get("scale", True)))
        return
    if arrays is None or len(arrays) != 4:
        draft.problem(layer.name, tr("gamma, beta, moving mean and moving variance"),
                      tr("{count} arrays", count=0 if arrays is None else len(arrays)))
        return
    draft.add(BatchNorm(cfg.get("momentum", 0.99), cfg.get("epsilon", 1e-3), "none",
                        bool(cfg.get("trainable", True))),
              **dict(zip(("gamma", "beta", "moving_mean", "moving_variance"), arrays,
                         strict=True)))


def _set_activation(layer: KerasLayer, draft: Draft, name: object) -> None:
    """An activation layer: taken into the Conv2D, Dense or BatchNorm just before it."""
    activation = _activation(layer, draft, name)
    last = draft.layers[-1] if draft.layers else None
    if activation is None or activation == "none":
        return
    if isinstance(last, Conv2D | Dense | BatchNorm) and last.activation == "none":
        draft.layers[-1] = replace(last, activation=activation)
    else:
        draft.problem(layer.name, tr("an activation right after a Conv2D or Dense without "
                                     "one"), tr("{name} after {last}", name=activation,
                                                last=type(last).__name__))


def _activation_layer(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    _set_activation(layer, draft, layer.config.get("activation"))


def _relu_layer(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    cfg = layer.config
    if cfg.get("max_value") is not None or cfg.get("negative_slope", 0) or cfg.get(
            "threshold", 0):
        draft.problem(layer.name, tr("a plain ReLU"), tr("a ReLU with a limit, slope or "
                                                         "threshold"))
    else:
        _set_activation(layer, draft, "relu")


def _softmax_layer(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    _set_activation(layer, draft, "softmax")


def _input_layer(layer: KerasLayer, draft: Draft, arrays: Vars) -> None:
    """The input shape is read with the model (see _input_shape)."""


CONVERTERS: dict[str, Callable[[KerasLayer, Draft, Vars], None]] = {
    "InputLayer": _input_layer, "Conv2D": _conv, "MaxPooling2D": _pool(MaxPool2D),
    "AveragePooling2D": _pool(AvgPool2D), "GlobalAveragePooling2D": _global_avg_pool,
    "Flatten": _flatten, "Dense": _dense, "Dropout": _dropout,
    "BatchNormalization": _batch_norm, "Activation": _activation_layer, "ReLU": _relu_layer,
    "Softmax": _softmax_layer,
}
SUPPORTED = ", ".join(name for name in CONVERTERS if name != "InputLayer")


def _final_softmax(draft: Draft) -> None:
    """Softmax on the output becomes the app's logits; anywhere else it does not fit."""
    for i, layer in enumerate(draft.layers):
        if getattr(layer, "activation", None) != "softmax":
            continue
        if i == len(draft.layers) - 1:
            draft.layers[i] = replace(layer, activation="none")
            draft.notes.append(tr("the final softmax was dropped: the network gives logits "
                                  "and the app applies softmax itself (the probabilities "
                                  "are the same)"))
        else:
            draft.problem(layer_names(draft.layers)[i], tr("softmax only on the output"),
                          tr("softmax in a hidden layer"))


def convert(layers: list[KerasLayer], draft: Draft,
            arrays_of: Callable[[KerasLayer], Vars]) -> None:
    """Append the app's layers for `layers` to the draft; `arrays_of(layer)` gives a
    layer's weights in Keras' order (kernel, bias), or None if the file has none."""
    for layer in layers:
        converter = CONVERTERS.get(layer.class_name)
        if converter is None:
            draft.problem(layer.name, tr("a layer the app has"),
                          tr("unsupported layer {kind}", kind=layer.class_name),
                          tr("The app reads these Keras layers: {names}.", names=SUPPORTED))
            continue
        arrays = arrays_of(layer)
        try:
            converter(layer, draft, arrays)
        except MALFORMED as exc:
            draft.problem(layer.name, tr("a well-formed {kind} configuration",
                                         kind=layer.class_name), str(exc))
    _final_softmax(draft)
