"""ONNX graphs mapped onto the app's layers: the app's own exports, and graphs of the
same kinds of layers written by other tools (PyTorch's exporter writes channels-first
Conv / MaxPool / Gemm / Flatten / Relu).

The graph must be a chain from its one input to its output. The walk follows it node by
node, with one handler per operator type in HANDLERS, converting layouts on the way:
conv kernels OIHW -> HWIO, and the rows of a Gemm after a channels-first Flatten back to
the app's (H, W, C) order. An activation node goes into the Conv or Gemm before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

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
from cnnviz.core.shapes import Shape, ShapeError, fmt_shape, layer_output_shape, same_padding
from cnnviz.io.export.layout import nchw_rows_to_nhwc, oihw_to_hwio
from cnnviz.io.export.onnx_graph import MANIFEST_KEY
from cnnviz.io.imports.result import MALFORMED, Draft, Imported, ModelImportError, finish

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


@dataclass
class Walk:
    """Where the walk along the chain is: the tensor reached, its shape per example
    channels-first ((C, H, W) or (D,)), and what the next node must know about it."""

    draft: Draft
    consts: dict[str, np.ndarray]
    consumers: dict[str, list[onnx.NodeProto]]
    tensor: str
    shape: tuple[int, ...]
    flat_image: Shape | None = None  # a channels-first Flatten of this (H, W, C) image
    pooled: bool = False  # a GlobalAveragePool's (C, 1, 1): its Flatten / Squeeze is a no-op
    nhwc: bool = False  # transposed to channels-last for a Flatten in the app's order
    moved_on: bool = False  # the handler took the nodes after its own too (MatMul + Add)

    @property
    def image(self) -> Shape:
        """The current image as the app's (H, W, C)."""
        c, h, w = self.shape
        return (h, w, c)

    def problem(self, node: onnx.NodeProto, expected: str, found: str) -> None:
        self.draft.problem(f"{node.name or node.op_type} ({node.op_type})", expected, found)


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _const(walk: Walk, node: onnx.NodeProto, index: int) -> np.ndarray | None:
    name = node.input[index] if len(node.input) > index else ""
    return walk.consts.get(name) if name else None


def _square(walk: Walk, node: onnx.NodeProto, name: str, values: object) -> int | None:
    values = list(values) if isinstance(values, list | tuple) else values
    if isinstance(values, list) and len(values) == 2 and values[0] == values[1]:
        return int(values[0])
    walk.problem(node, tr("a square {field}", field=name), repr(values))
    return None


def _add_layer(walk: Walk, node: onnx.NodeProto, layer, **params: np.ndarray) -> None:
    """Append the layer; the walk's shape becomes its output shape (core's rule)."""
    try:
        out = layer_output_shape(layer, walk.image if len(walk.shape) == 3 else walk.shape)
    except ShapeError as exc:
        walk.problem(node, tr("a layer that fits its input"), str(exc))
        return
    walk.draft.add(layer, **params)
    walk.shape = (out[2], out[0], out[1]) if len(out) == 3 else tuple(out)


def _need_image(walk: Walk, node: onnx.NodeProto) -> bool:
    if len(walk.shape) == 3 and not walk.nhwc:
        return True
    walk.problem(node, tr("an image (N, C, H, W)"), tr("a tensor of {shape}",
                                                       shape=fmt_shape(walk.shape)))
    return False


def _conv(walk: Walk, node: onnx.NodeProto) -> None:
    a = _attrs(node)
    kernel, bias = _const(walk, node, 1), _const(walk, node, 2)
    if not _need_image(walk, node):
        return
    if kernel is None or kernel.ndim != 4:
        walk.problem(node, tr("constant weights (C_out, C_in, KH, KW)"), tr("none"))
        return
    size = _square(walk, node, "kernel_shape", a.get("kernel_shape", kernel.shape[2:]))
    stride = _square(walk, node, "strides", a.get("strides", [1, 1]))
    if a.get("group", 1) != 1 or list(a.get("dilations", [1, 1])) != [1, 1]:
        walk.problem(node, "group 1, dilations 1", f"group {a.get('group', 1)}, dilations "
                     f"{list(a.get('dilations', [1, 1]))}")
        return
    if size is None or stride is None:
        return
    h, w, _ = walk.image
    same = [*same_padding(h, size, stride), *same_padding(w, size, stride)]  # t, b, l, r
    auto_pad = a.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    pads = list(a.get("pads", [0, 0, 0, 0]))  # ONNX: top, left, bottom, right
    if auto_pad == "SAME_UPPER" or (auto_pad == "NOTSET" and len(pads) == 4 and pads == [
            same[0], same[2], same[1], same[3]] and any(pads)):
        padding = "same"
    elif auto_pad in ("VALID", "NOTSET") and not any(pads):
        padding = "valid"
    else:
        walk.problem(node, tr("no padding, or 'same' padding {pads}",
                              pads=[same[0], same[2], same[1], same[3]]),
                     tr("padding {pads} ({mode})", pads=pads, mode=auto_pad))
        return
    bias = np.zeros(kernel.shape[0], np.float32) if bias is None else bias
    _add_layer(walk, node, Conv2D(int(kernel.shape[0]), size, stride, padding, "none"),
               kernel=oihw_to_hwio(kernel), bias=bias)


def _activation(walk: Walk, node: onnx.NodeProto) -> None:
    """Into the Conv2D, Dense or BatchNorm just before; after a max pool, into the Conv2D
    before that (these activations never decrease, so they commute with taking a
    maximum)."""
    layers, name = walk.draft.layers, ACTIVATIONS[node.op_type]
    last = layers[-1] if layers else None
    if isinstance(last, Conv2D | Dense | BatchNorm) and last.activation == "none":
        layers[-1] = replace(last, activation=name)
    elif (isinstance(last, MaxPool2D) and len(layers) > 1 and isinstance(layers[-2], Conv2D)
          and layers[-2].activation == "none"):
        layers[-2] = replace(layers[-2], activation=name)
        walk.draft.notes.append(tr("{op} after a max pool is applied before it (the same "
                                   "numbers)", op=node.op_type))
    else:
        walk.problem(node, tr("an activation right after a Conv or Gemm"),
                     tr("{op} after {last}", op=node.op_type, last=type(last).__name__))


def _pool(app_type: type) -> Callable[[Walk, onnx.NodeProto], None]:
    def handle(walk: Walk, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        if not _need_image(walk, node):
            return
        size = _square(walk, node, "kernel_shape", a.get("kernel_shape"))
        stride = _square(walk, node, "strides", a.get("strides", [1, 1]))
        if any(a.get("pads", [])) or a.get("ceil_mode", 0) or any(
                d != 1 for d in a.get("dilations", [])):
            walk.problem(node, tr("no padding, floor rounding"),
                         tr("pads {pads}, ceil_mode {ceil}", pads=list(a.get("pads", [])),
                            ceil=a.get("ceil_mode", 0)))
        elif size is not None and stride is not None:
            _add_layer(walk, node, app_type(size, None if stride == size else stride))
    return handle


def _global_avg_pool(walk: Walk, node: onnx.NodeProto) -> None:
    if _need_image(walk, node):
        _add_layer(walk, node, GlobalAvgPool())
        walk.pooled = True


def _flatten(walk: Walk, node: onnx.NodeProto) -> None:
    """Flatten, or a Reshape to (N, -1): the app's Flatten, or nothing after a global
    pool (its (C, 1, 1) is already C values)."""
    if walk.pooled:
        walk.pooled = False
        return
    if node.op_type == "Flatten" and _attrs(node).get("axis", 1) != 1:
        walk.problem(node, "axis 1", str(_attrs(node).get("axis")))
        return
    if len(walk.shape) != 3:
        walk.problem(node, tr("an image to flatten"), fmt_shape(walk.shape))
        return
    if walk.nhwc:  # transposed to (H, W, C) first: flattened in the app's order
        h, w, c = walk.shape
        walk.shape, walk.nhwc, flat_image = (c, h, w), False, None
    else:
        flat_image = walk.image
    _add_layer(walk, node, Flatten())
    walk.flat_image = flat_image


def _reshape(walk: Walk, node: onnx.NodeProto) -> None:
    target = _const(walk, node, 1)
    if target is not None and (target.ndim != 1 or len(target) != 2 or target[1] not in (
            -1, int(np.prod(walk.shape)))):
        walk.problem(node, tr("a reshape to (N, -1)"), tr("a reshape to {shape}",
                                                          shape=target.tolist()))
        return
    _flatten(walk, node)


def _transpose(walk: Walk, node: onnx.NodeProto) -> None:
    """(N, C, H, W) -> (N, H, W, C) right before a Flatten: flattening in the app's order."""
    if list(_attrs(node).get("perm", [])) == [0, 2, 3, 1] and _need_image(walk, node):
        c, h, w = walk.shape
        walk.shape, walk.nhwc = (h, w, c), True
    else:
        walk.problem(node, tr("a transpose to channels-last before Flatten"),
                     tr("perm {perm}", perm=list(_attrs(node).get("perm", []))))


def _dense(walk: Walk, node: onnx.NodeProto, kernel: np.ndarray, bias: np.ndarray) -> None:
    if walk.flat_image is not None and kernel.ndim == 2 and kernel.shape[0] == np.prod(
            walk.flat_image):
        kernel = nchw_rows_to_nhwc(kernel, walk.flat_image)
    walk.flat_image = None
    _add_layer(walk, node, Dense(int(kernel.shape[-1]), "none"), kernel=kernel, bias=bias)


def _gemm(walk: Walk, node: onnx.NodeProto) -> None:
    a = _attrs(node)
    b, c = _const(walk, node, 1), _const(walk, node, 2)
    if b is None or b.ndim != 2 or a.get("transA", 0) or len(walk.shape) != 1:
        walk.problem(node, tr("x (N, D) times constant weights"), tr("another Gemm"))
        return
    kernel = (b.T if a.get("transB", 0) else b) * np.float32(a.get("alpha", 1.0))
    units = kernel.shape[1]
    if c is None:
        bias = np.zeros(units, np.float32)
    elif c.size in (1, units):
        bias = np.broadcast_to(c.reshape(-1) * np.float32(a.get("beta", 1.0)), (units,))
    else:
        bias = c  # the weight check reports its shape
    _dense(walk, node, kernel, np.array(bias))


def _matmul(walk: Walk, node: onnx.NodeProto) -> None:
    """MatMul, and the Add of a constant bias right after it, if there is one."""
    kernel = _const(walk, node, 1)
    if kernel is None or kernel.ndim != 2 or len(walk.shape) != 1:
        walk.problem(node, tr("x (N, D) times constant weights"), tr("another MatMul"))
        return
    after = walk.consumers.get(node.output[0], [])
    bias = None
    if len(after) == 1 and after[0].op_type == "Add":
        others = [n for n in after[0].input if n != node.output[0]]
        bias = walk.consts.get(others[0]) if len(others) == 1 else None
    if bias is not None:
        walk.tensor, walk.moved_on = after[0].output[0], True
    _dense(walk, node, kernel, np.zeros(kernel.shape[1], np.float32) if bias is None
           else bias)


def _dropout(walk: Walk, node: onnx.NodeProto) -> None:
    ratio = _const(walk, node, 1)
    ratio = ratio.reshape(()) if ratio is not None and ratio.size == 1 else _attrs(node).get(
        "ratio", 0.5)
    rate = float(str(np.float32(ratio)))  # the shortest decimal of the float32: 0.3, not 0.30000001
    flat_image = walk.flat_image
    _add_layer(walk, node, Dropout(rate))
    walk.flat_image = flat_image


def _batch_norm(walk: Walk, node: onnx.NodeProto) -> None:
    """BatchNormalization with constant scale, shift and running averages, used as at
    inference; after a channels-first Flatten its values are put in the app's order."""
    a = _attrs(node)
    arrays = [_const(walk, node, i) for i in (1, 2, 3, 4)]
    if any(v is None or v.ndim != 1 for v in arrays) or a.get("training_mode", 0):
        walk.problem(node, tr("constant scale, bias, mean and variance (C,), inference mode"),
                     tr("other inputs"))
        return
    if walk.flat_image is not None:
        arrays = [nchw_rows_to_nhwc(v[:, None], walk.flat_image)[:, 0] for v in arrays]

    def shortest(value) -> float:  # the float32's shortest decimal: 1e-05, not 9.99e-06
        return float(str(np.float32(value)))

    flat_image = walk.flat_image
    _add_layer(walk, node, BatchNorm(shortest(a.get("momentum", 0.9)),
                                     shortest(a.get("epsilon", 1e-5)), "none"),
               **dict(zip(("gamma", "beta", "moving_mean", "moving_variance"), arrays,
                          strict=True)))
    walk.flat_image = flat_image


def _identity(walk: Walk, node: onnx.NodeProto) -> None:
    """Nothing to do: the tensor passes unchanged."""


def _squeeze(walk: Walk, node: onnx.NodeProto) -> None:
    if walk.pooled:
        walk.pooled = False
    else:
        walk.problem(node, tr("a squeeze only after a global pool"), node.op_type)


def _softmax(walk: Walk, node: onnx.NodeProto) -> None:
    if walk.consumers.get(node.output[0]):
        walk.problem(node, tr("softmax only on the output"), tr("softmax in a hidden layer"))
    else:
        walk.draft.notes.append(tr("the final {op} was dropped: the network gives logits and "
                                   "the app applies softmax itself (the probabilities are "
                                   "the same)", op=node.op_type))


HANDLERS: dict[str, Callable[[Walk, onnx.NodeProto], None]] = {
    "Conv": _conv, **dict.fromkeys(ACTIVATIONS, _activation),
    "MaxPool": _pool(MaxPool2D), "AveragePool": _pool(AvgPool2D),
    "GlobalAveragePool": _global_avg_pool, "Flatten": _flatten, "Reshape": _reshape,
    "Squeeze": _squeeze, "Transpose": _transpose, "Gemm": _gemm, "MatMul": _matmul,
    "Dropout": _dropout, "Identity": _identity, "Softmax": _softmax, "LogSoftmax": _softmax,
    "BatchNormalization": _batch_norm,
}


def _load(data: bytes, source: str) -> onnx.ModelProto:
    try:
        model = onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError):
        raise ModelImportError(tr("{source}: not a readable ONNX model (truncated or "
                                  "corrupt?)", source=source)) from None
    if not model.graph.node:
        raise ModelImportError(tr("{source}: not an ONNX model (no graph)", source=source))
    return model


def _constants(graph: onnx.GraphProto, source: str) -> dict[str, np.ndarray]:
    try:
        consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.output:
                value = helper.get_attribute_value(node.attribute[0])
                if isinstance(value, onnx.TensorProto):
                    consts[node.output[0]] = numpy_helper.to_array(value)
    except (ValueError, TypeError, RuntimeError, OSError, KeyError, AttributeError) as exc:
        raise ModelImportError(tr("{source}: weights that cannot be read ({reason})",
                                  source=source, reason=exc)) from None
    return consts


def _start(graph: onnx.GraphProto, consts: dict, draft: Draft) -> Walk | None:
    """The walk at the graph's input: channels-first, or the app's channels-last images
    followed by a transpose to channels-first."""
    inputs = [i for i in graph.input if i.name not in consts]
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim] if len(inputs) == 1 else []
    if len(dims) != 4 or None in dims[1:] or min(dims[1:]) < 1:
        draft.problem(tr("input"), tr("one image input (N, C, H, W)"),
                      tr("{count} inputs, shape {dims}", count=len(inputs), dims=dims))
        return None
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in dict.fromkeys(node.input):
            consumers.setdefault(name, []).append(node)
    walk = Walk(draft, consts, consumers, inputs[0].name, (dims[1], dims[2], dims[3]))
    first = consumers.get(walk.tensor, [])
    if len(first) == 1 and first[0].op_type == "Transpose" and list(
            _attrs(first[0]).get("perm", [])) == [0, 3, 1, 2]:
        draft.input_shape = (dims[1], dims[2], dims[3])
        walk.shape, walk.tensor = (dims[3], dims[1], dims[2]), first[0].output[0]
    else:
        draft.input_shape = (dims[2], dims[3], dims[1])
    return walk


def _chain(walk: Walk, outputs: set[str], limit: int) -> None:
    """Follow the chain from the input to its end (at most `limit` nodes: a damaged
    graph may loop)."""
    broken = False
    for _ in range(limit):
        # Shape nodes only feed a reshape's computed target (x.view(x.size(0), -1))
        after = [n for n in walk.consumers.get(walk.tensor, []) if n.op_type != "Shape"]
        if not after:
            break
        node = after[0]
        if len(after) > 1:
            walk.problem(node, tr("a chain of layers"), tr("a branch"))
            return
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            walk.draft.problem(f"{node.name or node.op_type} ({node.op_type})",
                               tr("an operation the app maps"),
                               tr("unsupported op {op}", op=node.op_type),
                               tr("The app reads these ONNX operations: {ops}.",
                                  ops=", ".join(HANDLERS)))
            broken = True
        elif not broken:
            rows = len(walk.draft.rows)
            try:
                handler(walk, node)
            except MALFORMED as exc:
                walk.problem(node, tr("a well-formed {op} node", op=node.op_type), str(exc))
            broken = len(walk.draft.rows) > rows
        if not node.output:
            return
        if walk.moved_on:
            walk.moved_on = False
        else:
            walk.tensor = node.output[0]
    if not broken and walk.tensor not in outputs:
        walk.draft.problem(tr("output"), tr("the graph's output"),
                           tr("the chain ends at {name}", name=walk.tensor))


def _metadata(model: onnx.ModelProto) -> tuple[tuple[str, ...] | None, str | None]:
    """Class names and dataset, if the model says (the app's exports do)."""
    props = {p.key: p.value for p in model.metadata_props}
    try:
        names = json.loads(props.get("class_names", "null"))
        manifest = json.loads(props.get(MANIFEST_KEY, "{}"))
    except (ValueError, RecursionError):
        return None, None
    names = tuple(names) if isinstance(names, list) and all(
        isinstance(n, str) for n in names) else None
    training = manifest.get("training") if isinstance(manifest, dict) else None
    dataset = training.get("dataset") if isinstance(training, dict) else None
    return names, dataset if isinstance(dataset, str) else None


def read_onnx(data: bytes, source: str) -> Imported:
    model = _load(data, source)
    consts = _constants(model.graph, source)
    draft = Draft(source)
    walk = _start(model.graph, consts, draft)
    if walk is not None:
        _chain(walk, {o.name for o in model.graph.output}, len(model.graph.node) + 1)
    draft.notes.insert(0, tr("read from an ONNX model"))
    names, dataset = _metadata(model)
    return finish(draft, class_names=names, dataset=dataset)
