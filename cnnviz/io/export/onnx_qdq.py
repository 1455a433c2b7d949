"""An int8-quantized network as ONNX with QuantizeLinear / DequantizeLinear (QDQ) nodes:
the graph of onnx_graph with each quantized kernel stored as int8 beside its scale
(per tensor, or per output channel), each quantized layer's input passed through
QuantizeLinear and DequantizeLinear with its calibrated scale and zero point, and the
bias of such a layer stored as int32 at the scale s_x * s_w. A runtime that knows QDQ
(onnxruntime) may run those layers in integers; any other computes in float on the
dequantized values, which is what the app's fake quantization computes.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import helper, numpy_helper

from cnnviz.core.compression_record import QuantizeStep
from cnnviz.core.layers import Conv2D
from cnnviz.core.network import LayerInfo, NetworkSpec
from cnnviz.core.quantization import FLOAT16, QMAX, quantize_bias
from cnnviz.io.export.layout import file_key
from cnnviz.io.export.manifest import SCALE
from cnnviz.io.export.onnx_graph import GraphWriter, Tensor, build_model
from cnnviz.io.weights import Weights

FILE = "model-int8.onnx"


class QdqWriter(GraphWriter):
    """A GraphWriter that writes the quantized layers of `step` (a QuantizeStep of the
    network `spec`) as int8 weights and QDQ pairs."""

    def __init__(self, spec: NetworkSpec, step: QuantizeStep):
        super().__init__()
        if step.scheme == FLOAT16:
            raise ValueError("QDQ export is for int8 quantization; float16 has no scales")
        convs = {name for name, layer in zip(spec.names, spec.layers, strict=True)
                 if isinstance(layer, Conv2D)}
        self._kernels = {}  # file key: (scale, axis of the output channels)
        self._biases = {}  # file key: int32 step s_x * s_w
        for name, scales in step.weight_scales.items():
            scale = np.asarray(scales, np.float32)
            scale = scale.reshape(()) if scale.size == 1 else scale
            self._kernels[file_key(name, "kernel")] = (scale, 0 if name in convs else 1)
            if name in step.activations:
                self._biases[file_key(name, "bias")] = (
                    np.float32(step.activations[name][0]), scale)
        self._inputs = {name: (np.float32(s), int(z)) for name, (s, z) in
                        step.activations.items()}

    def weight(self, name: str, array: np.ndarray) -> str:
        if name in self._kernels:
            scale, axis = self._kernels[name]
            shape = [1] * array.ndim
            if scale.ndim:
                shape[axis] = -1
            q = np.clip(np.round(array / scale.reshape(shape)), -QMAX, QMAX).astype(np.int8)
            return self._dequantize(name, q, scale, np.zeros(scale.shape, np.int8), axis)
        if name in self._biases:
            x_scale, w_scale = self._biases[name]
            q = quantize_bias(np.asarray(array, np.float32), x_scale, w_scale)
            step = (x_scale * w_scale).astype(np.float32)
            return self._dequantize(name, q, step, np.zeros(step.shape, np.int32), 0)
        return super().weight(name, array)

    def _dequantize(self, name: str, q: np.ndarray, scale: np.ndarray, zero: np.ndarray,
                    axis: int) -> str:
        """Store q, its scale and zero point; the node DequantizeLinear gives `name`."""
        for suffix, value in (("quantized", q), ("scale", scale), ("zero_point", zero)):
            self.initializers.append(numpy_helper.from_array(value, f"{name}.{suffix}"))
        self.nodes.append(helper.make_node(
            "DequantizeLinear", [f"{name}.quantized", f"{name}.scale", f"{name}.zero_point"],
            [name], name=name, axis=axis, doc_string="int8 weights (int32 for a bias) times "
            "their scale"))
        return name

    def layer_input(self, info: LayerInfo, x: Tensor) -> Tensor:
        if info.name not in self._inputs:
            return x
        scale, zero = self._inputs[info.name]
        base = f"{info.name}/input"
        self.initializers += [numpy_helper.from_array(np.float32(scale), f"{base}.scale"),
                              numpy_helper.from_array(np.int8(zero), f"{base}.zero_point")]
        params = [f"{base}.scale", f"{base}.zero_point"]
        self.nodes.append(helper.make_node(
            "QuantizeLinear", [x.name, *params], [f"{base}.quantized"], name=f"{base}.quantize",
            doc_string=f"{info.name}'s input to int8: clip(round(x / s) + z, -128, 127)"))
        return self.node("DequantizeLinear", [f"{base}.quantized", *params], base, x.dims,
                         f"{info.name}'s int8 input as the layer reads it: (q - z) * s",
                         flat_image=x.flat_image)


def qdq_model(spec: NetworkSpec, weights: Weights, step: QuantizeStep,
              class_names: tuple[str, ...]) -> onnx.ModelProto:
    """The QDQ model of the quantized network (its weights on their grid, `step` the
    quantization that put them there)."""
    normalization = {"scale": SCALE, "offset": 0.0,
                     "formula": "x = pixels * scale + offset"}
    note = json.dumps({"quantization": step.scheme, "activations": step.calibration})
    return build_model(spec, weights, class_names, normalization, note,
                       writer=QdqWriter(spec, step))


def qdq_onnx_bytes(spec: NetworkSpec, weights: Weights, step: QuantizeStep,
                   class_names: tuple[str, ...]) -> bytes:
    return qdq_model(spec, weights, step, class_names).SerializeToString()
