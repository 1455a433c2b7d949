"""An int8 network exported as ONNX with QuantizeLinear / DequantizeLinear, run by
onnxruntime: the same logits as the app's fake quantization, int8 weights in the file."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import json

import jax
import jax.numpy as jnp
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import reference
from onnx import numpy_helper

from cnnviz.core.compression import weighted_layers
from cnnviz.core.compression_record import QuantizeStep
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import (
    INT8_PER_CHANNEL,
    INT8_PER_TENSOR,
    quantize_network,
    with_int8_biases,
)
from cnnviz.engine.compress import calibrate, forward, per_layer
from cnnviz.engine.model import init_params, params_to_numpy
from cnnviz.io.export.onnx_qdq import QdqWriter, qdq_model, qdq_onnx_bytes

SPEC = NetworkSpec((12, 12, 1), (Conv2D(4, 3, padding="same"), MaxPool2D(2), Conv2D(6, 3),
                                 Flatten(), Dense(8), Dense(5, "none")))
FIGURES = dict(accuracy_before=None, accuracy_after=None, bytes_before=0, bytes_after=0,
               macs_before=0, macs_after=0)


def quantized(scheme, calibrated=True, keep_float=()):
    data = reference.subset(reference.shapes_dataset(), 0, 64, crop=12)
    weights = params_to_numpy(init_params(SPEC, jax.random.PRNGKey(2)))
    q = quantize_network(SPEC, weights, scheme, list(keep_float))
    acts = calibrate(SPEC, q.weights, data.x_val, list(q.scales)) if calibrated else {}
    final = with_int8_biases(SPEC, q, acts)
    step = QuantizeStep(**FIGURES, scheme=scheme, calibration="minmax" if calibrated else None,
                        keep_float=list(keep_float),
                        weight_scales={n: np.atleast_1d(s).tolist() for n, s in q.scales.items()},
                        activations={n: [float(s), z] for n, (s, z) in acts.items()})
    x = data.x_val.astype(np.float32) / 255
    logits = np.asarray(forward(SPEC, jax.tree.map(jnp.asarray, final), jnp.asarray(x),
                                activations=per_layer(SPEC, acts) if acts else None))
    return final, step, x, logits


def run(model_bytes, x, optimize):
    options = ort.SessionOptions()
    if not optimize:  # the graph as written: float compute on dequantized values
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x})[0]


@pytest.mark.parametrize("scheme", [INT8_PER_TENSOR, INT8_PER_CHANNEL])
def test_onnxruntime_gives_the_fake_quantized_logits(scheme):
    weights, step, x, logits = quantized(scheme)
    data = qdq_onnx_bytes(SPEC, weights, step, ("a", "b", "c", "d", "e"))
    np.testing.assert_allclose(run(data, x, optimize=False), logits, rtol=1e-4, atol=1e-4)
    fused = run(data, x, optimize=True)  # integer kernels where onnxruntime fuses QDQ
    np.testing.assert_allclose(fused, logits, atol=0.05 * np.abs(logits).max())
    assert np.mean(fused.argmax(1) == logits.argmax(1)) >= 0.95


def test_the_file_holds_int8_weights_and_qdq_pairs():
    weights, step, _, _ = quantized(INT8_PER_CHANNEL, keep_float=["dense2"])
    model = qdq_model(SPEC, weights, step, tuple("abcde"))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") == 3  # conv1, conv2, dense1 inputs
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    kernel = tensors["conv2.kernel.quantized"]
    assert kernel.dtype == np.int8 and kernel.shape == (6, 4, 3, 3)  # OIHW
    np.testing.assert_allclose(tensors["conv2.kernel.scale"], step.weight_scales["conv2"])
    assert tensors["conv2.bias.quantized"].dtype == np.int32
    assert tensors["dense2.kernel"].dtype == np.float32  # kept in float
    assert tensors["conv1/input.zero_point"] == step.activations["conv1"][1]
    onnx.checker.check_model(model, full_check=True)
    with pytest.raises(ValueError, match="int8"):
        QdqWriter(SPEC, QuantizeStep(**FIGURES, scheme="float16"))


def test_weights_only_quantization_exports_without_activation_nodes():
    weights, step, x, logits = quantized(INT8_PER_TENSOR, calibrated=False)
    model = qdq_model(SPEC, weights, step, tuple("abcde"))
    assert "QuantizeLinear" not in [node.op_type for node in model.graph.node]
    np.testing.assert_allclose(run(model.SerializeToString(), x, optimize=False), logits,
                               rtol=1e-4, atol=1e-4)
    assert set(step.weight_scales) == set(weighted_layers(SPEC))


def test_an_export_of_an_int8_model_holds_its_qdq_graph():
    from cnnviz.io.export import Trained
    from cnnviz.io.export.bundle import ExportError, available_formats, export_files

    weights, step, x, logits = quantized(INT8_PER_CHANNEL)
    plain = Trained(SPEC, weights, tuple("abcde"))
    assert "onnx-int8" not in available_formats(plain)
    with pytest.raises(ExportError, match="quantized to int8"):
        export_files(plain, ["onnx", "onnx-int8"])
    trained = Trained(SPEC, weights, tuple("abcde"), quantization=step)
    assert "onnx-int8" in available_formats(trained)
    files = export_files(trained, ["onnx", "onnx-int8"])
    assert files["model-int8.onnx"] == qdq_onnx_bytes(SPEC, weights, step, tuple("abcde"))
    np.testing.assert_allclose(run(files["model-int8.onnx"], x, optimize=False), logits,
                               rtol=1e-4, atol=1e-4)  # the app's fake quantization
    assert "## model-int8.onnx" in files["README.md"].decode()
    manifest = json.loads(files["manifest.json"])
    assert manifest["quantization"] == {"scheme": INT8_PER_CHANNEL, "activations": "minmax",
                                        "keep_float": []}
    assert "model-int8.onnx" in manifest["files"]


def test_a_record_that_no_longer_fits_the_network_is_no_int8_model():
    from dataclasses import replace

    from cnnviz.core.compression_record import CompressionRecord, PruneStep
    from cnnviz.io.compression import int8_quantization

    weights, step, _, _ = quantized(INT8_PER_CHANNEL)
    assert int8_quantization(CompressionRecord((step,)), SPEC, weights) is step
    assert int8_quantization(CompressionRecord(), SPEC, weights) is None
    assert int8_quantization(CompressionRecord((replace(step, scheme="float16"),)), SPEC,
                             weights) is None
    pruned_after = PruneStep(**FIGURES, sparsity=0.5)
    assert int8_quantization(CompressionRecord((step, pruned_after)), SPEC, weights) is None
    other = NetworkSpec((12, 12, 1), (Conv2D(5, 3, padding="same"), *SPEC.layers[1:]))
    other_weights = params_to_numpy(init_params(other, jax.random.PRNGKey(0)))
    assert int8_quantization(CompressionRecord((step,)), other, other_weights) is None
