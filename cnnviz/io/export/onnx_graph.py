"""`model.onnx`: the network written node by node with onnx.helper, from the app's own
layer list, so that a viewer such as Netron shows the same layers under the same names.

The graph takes the app's images (batch, H, W, C) (any batch size), turns them
channels-first once (the node `input`), and runs each layer as one node named after it
(`conv1`, `maxpool1`, `dense1`), with its activation as a node of its own
(`conv1/relu`). Every node's doc string gives the layer's description and shapes; the
model's metadata holds the class names, the normalisation and the whole manifest.

Each layer type has one emitter function in EMITTERS; every weight goes in through
`GraphWriter.weight`, the one place a quantised variant would change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

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
from cnnviz.core.network import LayerInfo, NetworkSpec
from cnnviz.core.shapes import Shape, fmt_shape, pool_stride
from cnnviz.core.summary import describe_layer
from cnnviz.io.export.layout import (
    conv_pads,
    file_key,
    hwio_to_oihw,
    nhwc_rows_to_nchw,
    nhwc_vector_to_nchw,
)
from cnnviz.io.weights import Weights

FILE = "model.onnx"
OPSET = 17
IR_VERSION = 8  # what opset 17 came with; readers older than the newest onnx accept it
INPUT, OUTPUT, BATCH = "image", "logits", "batch"
MANIFEST_KEY = "cnnviz.manifest"
ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


@dataclass(frozen=True)
class Tensor:
    """A tensor of the graph: its name and its shape per example, channels-first
    ((C, H, W) or (D,)); `flat_image` is the app's (H, W, C) image a flat tensor was
    flattened from (its values are in (C, H, W) order here)."""

    name: str
    dims: tuple[int, ...]
    flat_image: Shape | None = None


class GraphWriter:
    """The nodes, weights and intermediate shapes of one graph, added in order."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.shapes: list[onnx.ValueInfoProto] = []

    def weight(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def layer_input(self, info: LayerInfo, x: Tensor) -> Tensor:
        """What a layer reads: `x` itself (a quantised variant inserts its input's
        quantisation here)."""
        return x

    def node(self, op: str, inputs: list[str], name: str, dims: tuple[int, ...], doc: str,
             flat_image: Shape | None = None, **attrs: Any) -> Tensor:
        """One node whose output tensor has the node's name."""
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, doc_string=doc,
                                           **attrs))
        self.shapes.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                         [BATCH, *dims]))
        return Tensor(name, dims, flat_image)


def _doc(info: LayerInfo, what: str = "") -> str:
    return (f"{info.name}: {describe_layer(info.layer)}{what}; the app's shapes (H x W x C) "
            f"{fmt_shape(info.in_shape)} -> {fmt_shape(info.out_shape)}")


def _chw(shape: Shape) -> tuple[int, ...]:
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def _activation(g: GraphWriter, info: LayerInfo, activation: str, x: Tensor) -> Tensor:
    if activation == "none":
        return x
    return g.node(ACTIVATION_OPS[activation], [x.name], f"{info.name}/{activation}", x.dims,
                  _doc(info, f" (its {activation})"))


def _conv(g: GraphWriter, info: LayerInfo, p: dict[str, np.ndarray], x: Tensor) -> Tensor:
    layer = info.layer
    (top, bottom), (left, right) = conv_pads(layer, info.in_shape)
    kernel = g.weight(file_key(info.name, "kernel"), hwio_to_oihw(p["kernel"]))
    bias = g.weight(file_key(info.name, "bias"), p["bias"])
    y = g.node("Conv", [x.name, kernel, bias], info.name, _chw(info.out_shape), _doc(info),
               kernel_shape=[layer.kernel_size] * 2, strides=[layer.stride] * 2,
               pads=[top, left, bottom, right])
    return _activation(g, info, layer.activation, y)


def _pool(op: str) -> Callable[..., Tensor]:
    def emit(g: GraphWriter, info: LayerInfo, p: dict, x: Tensor) -> Tensor:
        size, stride = info.layer.pool_size, pool_stride(info.layer)
        return g.node(op, [x.name], info.name, _chw(info.out_shape), _doc(info),
                      kernel_shape=[size, size], strides=[stride, stride])
    return emit


def _flatten(g: GraphWriter, info: LayerInfo, p: dict, x: Tensor) -> Tensor:
    return g.node("Flatten", [x.name], info.name, _chw(info.out_shape),
                  _doc(info, " (channels-first order here; the next Dense's rows follow it)"),
                  flat_image=info.in_shape, axis=1)


def _global_avg_pool(g: GraphWriter, info: LayerInfo, p: dict, x: Tensor) -> Tensor:
    channels = info.out_shape[0]
    pooled = g.node("GlobalAveragePool", [x.name], info.name, (channels, 1, 1), _doc(info))
    return g.node("Flatten", [pooled.name], f"{info.name}/flatten", (channels,),
                  _doc(info, " (1 x 1 x C to C)"), axis=1)


def _dense(g: GraphWriter, info: LayerInfo, p: dict[str, np.ndarray], x: Tensor) -> Tensor:
    kernel = p["kernel"]
    if x.flat_image is not None:
        kernel = nhwc_rows_to_nchw(kernel, x.flat_image)
    y = g.node("Gemm", [x.name, g.weight(file_key(info.name, "kernel"), kernel),
                        g.weight(file_key(info.name, "bias"), p["bias"])],
               info.name, _chw(info.out_shape), _doc(info))
    return _activation(g, info, info.layer.activation, y)


def _dropout(g: GraphWriter, info: LayerInfo, p: dict, x: Tensor) -> Tensor:
    ratio = g.weight(file_key(info.name, "ratio"), np.array(info.layer.rate, np.float32))
    return g.node("Dropout", [x.name, ratio], info.name, x.dims,
                  _doc(info, " (the identity outside training)"), flat_image=x.flat_image)


def _batch_norm(g: GraphWriter, info: LayerInfo, p: dict[str, np.ndarray], x: Tensor
                ) -> Tensor:
    """BatchNormalization in inference mode (the moving averages), then the activation.
    After a Flatten its values come in channels-first order, and so must its arrays."""
    def arrays(name):
        values = p[name]
        return nhwc_vector_to_nchw(values, x.flat_image) if x.flat_image else values

    layer = info.layer
    y = g.node("BatchNormalization",
               [x.name, *(g.weight(file_key(info.name, name), arrays(name))
                          for name in ("gamma", "beta", "moving_mean", "moving_variance"))],
               info.name, x.dims, _doc(info, " (its moving averages: inference mode)"),
               flat_image=x.flat_image, epsilon=layer.epsilon, momentum=layer.momentum)
    out = _activation(g, info, layer.activation, y)
    return Tensor(out.name, out.dims, x.flat_image)


Emitter = Callable[[GraphWriter, LayerInfo, dict[str, np.ndarray], Tensor], Tensor]
EMITTERS: dict[type, Emitter] = {
    Conv2D: _conv, MaxPool2D: _pool("MaxPool"), AvgPool2D: _pool("AveragePool"),
    Flatten: _flatten, GlobalAvgPool: _global_avg_pool, Dense: _dense, Dropout: _dropout,
    BatchNorm: _batch_norm,
}


def build_model(spec: NetworkSpec, weights: Weights, class_names: tuple[str, ...],
                normalization: dict[str, Any], manifest_json: str,
                writer: GraphWriter | None = None) -> onnx.ModelProto:
    analysis = spec.check()
    g = writer or GraphWriter()
    h, w, c = spec.input_shape
    x = g.node("Transpose", [INPUT], "input", (c, h, w),
               "the app's images are channels-last (N, H, W, C); the layers below work "
               "channels-first (N, C, H, W)", perm=[0, 3, 1, 2])
    for info, p in zip(analysis.layers, weights, strict=True):
        x = EMITTERS[type(info.layer)](g, info, p, g.layer_input(info, x))
    g.nodes[-1].output[0] = OUTPUT  # the last layer's output is the graph's
    g.shapes.pop()
    graph = helper.make_graph(
        g.nodes, "cnnviz",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [BATCH, h, w, c])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [BATCH, *x.dims])],
        g.initializers, value_info=g.shapes,
        doc_string="Logits for images scaled as the metadata's normalization says")
    model = helper.make_model(graph, producer_name="cnnviz", ir_version=IR_VERSION,
                              opset_imports=[helper.make_opsetid("", OPSET)],
                              doc_string=" -> ".join(describe_layer(layer)
                                                     for layer in spec.layers))
    helper.set_model_props(model, {"class_names": json.dumps(list(class_names)),
                                   "normalization": json.dumps(normalization),
                                   "input_layout": "NHWC", MANIFEST_KEY: manifest_json})
    onnx.checker.check_model(model, full_check=True)
    return model


def onnx_bytes(spec: NetworkSpec, weights: Weights, class_names: tuple[str, ...],
               normalization: dict[str, Any], manifest_json: str) -> bytes:
    return build_model(spec, weights, class_names, normalization,
                       manifest_json).SerializeToString()
