"""ONNX graphs opened in the app: graphs laid out as PyTorch's exporter writes them
(channels-first Conv / MaxPool / Gemm / Flatten / Relu, and their variants), mapped onto
the app's layers and checked with onnxruntime; the app's own ONNX exports read back."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from test_export_support import NETWORKS, engine_logits, images_for, trained

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
from cnnviz.io.export import export_files
from cnnviz.io.imports import MismatchError, import_model

TOLERANCE = 1e-4


class TorchLike:
    """Builds a graph node by node the way torch.onnx.export names things."""

    def __init__(self, channels: int, height: int, width: int, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.weights = [], []
        self.x = "input"
        self.input = helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                   ["batch_size", channels, height, width])
        self.channels = channels

    def const(self, name: str, value: np.ndarray) -> str:
        self.weights.append(numpy_helper.from_array(np.asarray(value, np.float32)
                                                    if value.dtype.kind == "f" else value, name))
        return name

    def random(self, name: str, *shape: int) -> str:
        return self.const(name, self.rng.normal(0, 0.3, shape).astype(np.float32))

    def op(self, op: str, name: str, *extra: str, **attrs) -> TorchLike:
        out = f"/{name}/{op}_output_0"
        self.nodes.append(helper.make_node(op, [self.x, *extra], [out], name=f"/{name}/{op}",
                                           **attrs))
        self.x = out
        return self

    def conv(self, name: str, filters: int, k: int, stride: int = 1, pad: int = 0):
        w = self.random(f"{name}.weight", filters, self.channels, k, k)
        b = self.random(f"{name}.bias", filters)
        self.channels = filters
        return self.op("Conv", name, w, b, dilations=[1, 1], group=1, kernel_shape=[k, k],
                       pads=[pad] * 4, strides=[stride, stride])

    def pool(self, op: str, name: str, k: int, stride: int):
        extra = {"dilations": [1, 1]} if op == "MaxPool" else {"count_include_pad": 0}
        return self.op(op, name, ceil_mode=0, kernel_shape=[k, k], pads=[0] * 4,
                       strides=[stride, stride], **extra)

    def gemm(self, name: str, d: int, units: int):
        w, b = self.random(f"{name}.weight", units, d), self.random(f"{name}.bias", units)
        return self.op("Gemm", name, w, b, alpha=1.0, beta=1.0, transB=1)

    def model(self) -> bytes:
        self.nodes[-1].output[0] = "output"
        graph = helper.make_graph(self.nodes, "main_graph", [self.input],
                                  [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                                                 ["batch_size", "classes"])],
                                  self.weights)
        model = helper.make_model(graph, producer_name="pytorch", ir_version=8,
                                  opset_imports=[helper.make_opsetid("", 17)])
        onnx.checker.check_model(model)
        return model.SerializeToString()


def check_logits(data: bytes, tmp_path, probabilities: bool = False):
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    imported = import_model(path)
    images = images_for(imported.spec, 4)
    x = (images.astype(np.float32) / 255).transpose(0, 3, 1, 2)  # (N, C, H, W)
    expected = ort.InferenceSession(data).run(None, {"input": x})[0]
    logits = engine_logits(imported.spec, imported.weights, images)
    if probabilities:
        logits = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.abs(logits - expected).max() <= TOLERANCE
    return imported


def test_a_pytorch_style_cnn_maps_onto_the_apps_layers(tmp_path):
    g = TorchLike(3, 16, 16)
    g.conv("conv1", 8, 3, pad=1).op("Relu", "relu").pool("MaxPool", "pool", 2, 2)
    g.conv("conv2", 16, 3).op("Relu", "relu_1").pool("MaxPool", "pool_1", 2, 2)
    g.op("Flatten", "flatten", axis=1).gemm("fc1", 16 * 3 * 3, 32).op("Relu", "relu_2")
    g.gemm("fc2", 32, 10)
    imported = check_logits(g.model(), tmp_path)
    assert imported.spec.input_shape == (16, 16, 3)
    assert imported.spec.layers == (
        Conv2D(8, 3, 1, "same", "relu"), MaxPool2D(2), Conv2D(16, 3, 1, "valid", "relu"),
        MaxPool2D(2), Flatten(), Dense(32, "relu"), Dense(10, "none"))


def test_variants_other_exporters_write(tmp_path):
    """MatMul + Add for a Linear, Reshape for flatten, average and global pooling, an
    activation after the pool (the classic relu(max_pool(conv(x)))), dropout, identity,
    sigmoid and tanh, and a final softmax."""
    g = TorchLike(2, 14, 14, seed=1)
    g.conv("conv1", 4, 3, stride=2, pad=0).pool("MaxPool", "pool", 2, 1).op("Tanh", "tanh")
    g.conv("conv2", 5, 2).pool("AveragePool", "avg", 2, 2).op("Identity", "same")
    g.op("Reshape", "view", g.const("shape", np.array([-1, 5 * 2 * 2], np.int64)))
    g.op("Dropout", "drop", g.const("ratio", np.array(0.25, np.float32)))
    g.op("MatMul", "fc1", g.random("fc1.weight", 20, 6))
    g.op("Add", "fc1_add", g.random("fc1.bias", 6)).op("Sigmoid", "sigmoid")
    g.gemm("fc2", 6, 3).op("Softmax", "softmax", axis=1)
    imported = check_logits(g.model(), tmp_path, probabilities=True)
    assert imported.spec.layers == (
        Conv2D(4, 3, 2, "valid", "tanh"), MaxPool2D(2, 1), Conv2D(5, 2, 1, "valid", "none"),
        AvgPool2D(2), Flatten(), Dropout(0.25), Dense(6, "sigmoid"), Dense(3, "none"))
    notes = " ".join(imported.notes)
    assert "Tanh after a max pool" in notes and "final Softmax was dropped" in notes


def test_global_pooling_and_a_computed_flatten_shape(tmp_path):
    g = TorchLike(3, 10, 10, seed=2)
    g.conv("conv1", 6, 3, pad=1).op("Relu", "relu").op("GlobalAveragePool", "gap")
    g.op("Flatten", "flatten", axis=1).gemm("fc", 6, 4)
    assert check_logits(g.model(), tmp_path).spec.layers == (
        Conv2D(6, 3, 1, "same", "relu"), GlobalAvgPool(), Dense(4, "none"))

    g = TorchLike(1, 8, 8, seed=3)  # x.view(x.size(0), -1): the shape computed from x
    g.conv("conv1", 2, 3).op("Relu", "relu")
    image = g.x
    g.nodes += [helper.make_node("Shape", [image], ["shape"], name="/Shape"),
                helper.make_node("Gather", ["shape", "zero"], ["n"], name="/Gather", axis=0),
                helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="/Unsqueeze"),
                helper.make_node("Concat", ["n1", "minus_one"], ["target"], name="/Concat",
                                 axis=0)]
    g.const("zero", np.array(0, np.int64))
    g.const("axes", np.array([0], np.int64))
    g.const("minus_one", np.array([-1], np.int64))
    g.op("Reshape", "view", "target").gemm("fc", 2 * 6 * 6, 3)
    assert check_logits(g.model(), tmp_path).spec.layers[1:] == (Flatten(), Dense(3, "none"))


def test_what_does_not_fit_is_listed_before_anything_changes(tmp_path):
    g = TorchLike(3, 9, 9)
    g.conv("conv1", 4, 3, pad=2)  # more padding than 'same': out 11x11, not the app's
    g.op("LRN", "lrn", size=3)
    g.op("LeakyRelu", "act").op("Flatten", "flatten", axis=1).gemm("fc", 4 * 11 * 11, 2)
    path = tmp_path / "model.onnx"
    path.write_bytes(g.model())
    with pytest.raises(MismatchError) as caught:
        import_model(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == "model.onnx does not fit: 3 problem(s)"
    assert "/conv1/Conv (Conv)" in lines[2] and "padding [2, 2, 2, 2]" in lines[2]
    assert "unsupported op LRN" in lines[3]
    assert "unsupported op LeakyRelu" in lines[4]
    assert lines[5].startswith("The app reads these ONNX operations: Conv, Relu")


def test_pytorchs_conv_batchnorm_relu_becomes_a_batchnorm_with_its_activation(tmp_path):
    """Conv -> BatchNormalization -> Relu, and BatchNorm1d on the flattened maps (its
    values channels-first, as torch.flatten orders them): the same logits as
    onnxruntime's."""
    g = TorchLike(2, 7, 7, seed=5)
    g.conv("conv1", 3, 3)
    g.op("BatchNormalization", "bn1", g.random("s", 3), g.random("b", 3), g.random("m", 3),
         g.const("v", np.array([0.5, 1.0, 2.0], np.float32)), epsilon=1e-5, momentum=0.9)
    g.op("Relu", "relu").op("Flatten", "flatten", axis=1)
    g.op("BatchNormalization", "bn2", g.random("s2", 75), g.random("b2", 75),
         g.random("m2", 75), g.const("v2", np.full(75, 1.5, np.float32)), epsilon=1e-5,
         momentum=0.9)
    g.gemm("fc", 75, 4)
    imported = check_logits(g.model(), tmp_path)
    assert imported.spec.layers[:4] == (Conv2D(3, 3, 1, "valid", "none"),
                                        BatchNorm(0.9, 1e-5, "relu"), Flatten(),
                                        BatchNorm(0.9, 1e-5, "none"))


def test_a_branching_graph_is_refused(tmp_path):
    g = TorchLike(1, 6, 6)
    g.conv("conv1", 2, 3)
    fork = g.x
    g.op("Relu", "relu")
    g.nodes.append(helper.make_node("Sigmoid", [fork], ["side"], name="/side"))
    g.op("Add", "join", "side").op("Flatten", "flatten", axis=1).gemm("fc", 32, 2)
    path = tmp_path / "model.onnx"
    path.write_bytes(g.model())
    with pytest.raises(MismatchError, match="a branch"):
        import_model(path)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_apps_own_onnx_export_reads_back_the_same(tmp_path, name):
    model = trained(NETWORKS[name], seed=5)
    path = tmp_path / "model.onnx"
    path.write_bytes(export_files(model, ["onnx"])["model.onnx"])
    imported = import_model(path)
    assert imported.spec == model.spec and imported.class_names == model.class_names
    for read, written in zip(imported.weights, model.weights, strict=True):
        assert read.keys() == written.keys()
        for key in read:
            np.testing.assert_array_equal(read[key], written[key])
