"""Masks and fake quantization in the engine, against numpy references of the textbook
formulas and the engine's own evaluation of the same weights written out; fine-tuning
with the compression held."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference

from cnnviz.core.commands import SetLearningRate
from cnnviz.core.compression import (
    ALL_LAYERS,
    GLOBAL,
    PER_LAYER,
    SWEEP_LEVELS,
    apply_masks,
    magnitude_masks,
    structured_prune,
    weighted_layers,
)
from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import (
    INT8_PER_CHANNEL,
    INT8_PER_TENSOR,
    activation_range,
    affine_qparams,
    quantize_network,
    with_int8_biases,
)
from cnnviz.engine import compress
from cnnviz.engine.compress import (
    Evaluator,
    calibrate,
    forward,
    images_per_second,
    output_errors,
    per_layer,
    sweep,
)
from cnnviz.engine.compress_tuning import (
    masked_trainer,
    qat_shadow,
    quantization_aware_trainer,
)
from cnnviz.engine.model import apply, apply_with_activations, init_params, params_to_numpy
from cnnviz.engine.trainer import evaluate

SMALL = NetworkSpec((12, 12, 1), (Conv2D(4, 3), MaxPool2D(2), Conv2D(6, 2), Flatten(),
                                  Dense(8), Dense(5, "none")))


@pytest.fixture(scope="module")
def data():
    return reference.subset(reference.shapes_dataset(), 320, 200, crop=12)


@pytest.fixture(scope="module")
def weights():
    return params_to_numpy(init_params(SMALL, jax.random.PRNGKey(1)))


def numpy_fake_quant(x, scale, zero):
    """(clip(round(x / s) + z, -128, 127) - z) * s, in float32 as the int8 grid is."""
    q = np.clip(np.round(x.astype(np.float32) / np.float32(scale)) + zero, -128, 127)
    return ((q - zero) * np.float32(scale)).astype(np.float32)


def numpy_layer(layer, w, x):
    """One layer by the naive loops of tests/reference.py (ReLU where the layer has it)."""
    if isinstance(layer, Conv2D):
        y = reference.conv2d(x, w["kernel"], w["bias"], layer.stride, layer.padding)
    elif isinstance(layer, Dense):
        y = reference.dense(x, w["kernel"], w["bias"])
    elif isinstance(layer, MaxPool2D):
        return reference.max_pool(x, layer.pool_size, layer.pool_size)
    else:
        return np.asarray(x).reshape(len(x), -1)
    return np.maximum(y, 0) if layer.activation == "relu" else y


def test_fake_quant_forward_equals_a_numpy_reference(data, weights):
    x = data.x_val[:3].astype(np.float32) / 255
    layers = weighted_layers(SMALL)
    acts = {name: affine_qparams(*activation_range(v)) for name, v in
            compress.layer_inputs(SMALL, weights, data.x_val[:50], layers).items()}
    quantized = with_int8_biases(SMALL, quantize_network(SMALL, weights, INT8_PER_CHANNEL),
                                 acts)
    logits, outputs = forward(SMALL, jax.tree.map(jnp.asarray, quantized), jnp.asarray(x),
                              activations=per_layer(SMALL, acts), collect=True)
    # layer by layer, each from the engine's previous output: the same int8 input
    previous = x
    for name, layer, w, out in zip(SMALL.names, SMALL.layers, quantized, outputs, strict=True):
        inp = numpy_fake_quant(previous, *acts[name]) if name in acts else previous
        np.testing.assert_allclose(np.asarray(out), numpy_layer(layer, w, inp), rtol=1e-5,
                                   atol=1e-5, err_msg=name)
        previous = np.asarray(out)
    # and end to end, the reference never seeing the engine's numbers
    y = x
    for name, layer, w in zip(SMALL.names, SMALL.layers, quantized, strict=True):
        y = numpy_layer(layer, w, numpy_fake_quant(y, *acts[name]) if name in acts else y)
    np.testing.assert_allclose(np.asarray(logits), y, rtol=1e-4, atol=1e-4)


def test_masked_evaluation_equals_evaluating_the_pruned_weights(data, weights):
    evaluator = Evaluator(SMALL, data.x_val, data.y_val, batch_size=64)  # 200: padded
    assert evaluator(weights) == pytest.approx(
        evaluate(SMALL, weights, data.x_val, data.y_val), rel=1e-5)
    for sparsity in (0.5, 0.9):
        masks = magnitude_masks(SMALL, weights, sparsity)
        pruned = apply_masks(weights, masks)
        assert evaluator(weights, masks) == pytest.approx(
            evaluate(SMALL, pruned, data.x_val, data.y_val), rel=1e-5)
        logits = apply(SMALL, pruned, jnp.asarray(data.x_val, jnp.float32) / 255)
        accuracy = float(np.mean(np.argmax(np.asarray(logits), -1) == data.y_val))
        assert evaluator(weights, masks)[1] == pytest.approx(accuracy)


def test_the_sweep_reuses_one_compilation_and_reports_progress(data, weights):
    evaluator = Evaluator(SMALL, data.x_val, data.y_val, batch_size=100)
    compiled = compress._eval_batch._cache_size()
    progress = list(sweep(evaluator, weights))
    rows = [ALL_LAYERS, *weighted_layers(SMALL)]
    # one compile for each layer a row starts from (the first for "all" and conv1)
    assert compress._eval_batch._cache_size() == compiled + len(rows) - 1
    assert [p.done for p in progress] == list(range(1, 1 + 1 + 11 * len(rows)))
    assert progress[-1].total == progress[-1].done
    result = progress[-1].sweep
    assert list(result.accuracy) == rows
    base = evaluator(weights)
    for row in rows:
        assert result.accuracy[row][0] == base[1]
        assert not np.isnan(result.accuracy[row]).any()
    level = SWEEP_LEVELS.index(0.5)
    masks = magnitude_masks(SMALL, weights, 0.5, GLOBAL)
    assert result.accuracy[ALL_LAYERS][level] == evaluator(weights, masks)[1]
    assert np.isnan(progress[0].sweep.accuracy["conv1"][1])  # not yet at first
    assert set(result.knees()) == set(rows)


def test_a_structured_prune_computes_what_zeroed_filters_would(data, weights):
    pruned = structured_prune(SMALL, weights, 0.5)
    zeroed = [dict(w) for w in weights]
    for i, name in enumerate(SMALL.names):
        if name in pruned.kept:
            keep = np.zeros(zeroed[i]["bias"].shape, bool)
            keep[pruned.kept[name]] = True
            zeroed[i] = {"kernel": zeroed[i]["kernel"] * keep, "bias": zeroed[i]["bias"] * keep}
    x = jnp.asarray(data.x_val[:20], jnp.float32) / 255
    np.testing.assert_allclose(np.asarray(apply(pruned.spec, pruned.weights, x)),
                               np.asarray(apply(SMALL, zeroed, x)), rtol=1e-5, atol=1e-5)
    speeds = images_per_second([(SMALL, weights), (pruned.spec, pruned.weights)],
                               batch_size=16, repeats=2)
    assert len(speeds) == 2 and min(speeds) > 0


def test_calibration_takes_each_layer_inputs_range(data, weights):
    x = data.x_val[:40]
    acts = calibrate(SMALL, weights, x, ["conv1", "dense1"])
    _, outputs = apply_with_activations(SMALL, weights, jnp.asarray(x, jnp.float32) / 255)
    flat = np.asarray(outputs[3])  # Flatten's output is dense1's input
    assert acts["dense1"] == affine_qparams(min(flat.min(), 0), flat.max())
    assert acts["conv1"] == affine_qparams(0.0, float(x.max()) / 255)


def test_output_errors_are_relative_and_per_channel_helps(data, weights):
    layers = weighted_layers(SMALL)
    x = data.x_val[:64]
    assert output_errors(SMALL, weights, weights, None, x, layers) == dict.fromkeys(layers, 0.0)
    skewed = [dict(w) for w in weights]
    skewed[0] = {"kernel": weights[0]["kernel"] * np.array([1, 0.01, 0.02, 1], np.float32),
                 "bias": weights[0]["bias"]}
    errors = {scheme: output_errors(SMALL, skewed, quantize_network(SMALL, skewed, scheme)
                                    .weights, None, x, layers)
              for scheme in (INT8_PER_TENSOR, INT8_PER_CHANNEL)}
    assert 0 < errors[INT8_PER_CHANNEL]["conv1"] < errors[INT8_PER_TENSOR]["conv1"]
    _, outputs = apply_with_activations(SMALL, skewed, jnp.asarray(x, jnp.float32) / 255)
    quantized = quantize_network(SMALL, skewed, INT8_PER_TENSOR).weights
    _, q_outputs = apply_with_activations(SMALL, quantized, jnp.asarray(x, jnp.float32) / 255)
    ref, out = np.asarray(outputs[0], np.float64), np.asarray(q_outputs[0], np.float64)
    assert errors[INT8_PER_TENSOR]["conv1"] == pytest.approx(
        np.linalg.norm(out - ref) / np.linalg.norm(ref), rel=1e-4)


# -- fine-tuning with the compression held ------------------------------------------------

def test_pruned_weights_stay_exactly_zero_while_fine_tuning(data, weights):
    masks = magnitude_masks(SMALL, weights, 0.7)
    trainer = masked_trainer(SMALL, data, TrainConfig(epochs=2, batch_size=32,
                                                      learning_rate=1e-2), weights, masks)
    trainer.command(SetLearningRate(5e-3))  # the optimizer's state is still the usual one
    list(trainer.run())
    tuned = trainer.numpy_params()
    for w, t, m in zip(weights, tuned, masks, strict=True):
        if m:
            assert np.all(t["kernel"][~m["kernel"]] == 0)
            assert not np.allclose(t["kernel"][m["kernel"]], w["kernel"][m["kernel"]])
    assert trainer.learning_rate == 5e-3


def test_quantization_aware_fine_tuning_keeps_weights_on_the_grid(data, weights):
    quantized = quantize_network(SMALL, weights, INT8_PER_TENSOR)
    masks = magnitude_masks(SMALL, weights, 0.5)
    trainer = quantization_aware_trainer(SMALL, data, TrainConfig(epochs=1, batch_size=32,
                                                                  learning_rate=1e-2),
                                         weights, quantized.scales, masks)
    trainer.command(SetLearningRate(5e-3))  # reaches the inner optimizer's state
    list(trainer.run())
    assert float(trainer.opt_state.hyperparams["learning_rate"]) == pytest.approx(5e-3)
    shadow = qat_shadow(trainer)
    tuned = trainer.numpy_params()
    for name, w, s, t, m in zip(SMALL.names, weights, shadow, tuned, masks, strict=True):
        if not m:
            continue
        steps = t["kernel"] / quantized.scales[name]
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)  # on the grid
        assert np.all(s["kernel"][~m["kernel"]] == 0) and np.all(t["kernel"][~m["kernel"]] == 0)
        assert not np.allclose(s["kernel"], w["kernel"])  # the shadow learned
        np.testing.assert_allclose(t["kernel"], np.clip(np.round(
            s["kernel"] / quantized.scales[name]), -127, 127) * quantized.scales[name],
            atol=1e-6)


def test_one_int8_conv_pixel_is_the_fake_quantized_engine_output(data, weights):
    """core's integer arithmetic of one conv output (what a step-through shows) against
    the engine's fake-quantized forward pass at that output."""
    from cnnviz.core.quantization import int8_conv_pixel

    spec = NetworkSpec((12, 12, 1), (Conv2D(4, 3, activation="none"), Flatten(),
                                     Dense(5, "none")))
    net = params_to_numpy(init_params(spec, jax.random.PRNGKey(5)))
    net[0]["bias"] = np.array([0.1, -0.2, 0.05, 0.0], np.float32)
    x = data.x_val[:2]
    acts = calibrate(spec, net, x, ["conv1"])
    quantized = quantize_network(spec, net, INT8_PER_CHANNEL)
    final = with_int8_biases(spec, quantized, acts)
    _, outputs = forward(spec, jax.tree.map(jnp.asarray, final),
                         jnp.asarray(x, jnp.float32) / 255,
                         activations=per_layer(spec, acts), collect=True)
    image = x[1].astype(np.float32) / 255
    for i, j, f in ((0, 0, 0), (4, 7, 2), (9, 9, 3)):
        pixel = int8_conv_pixel(image[i:i + 3, j:j + 3], net[0]["kernel"][..., f],
                                float(net[0]["bias"][f]), *acts["conv1"],
                                float(quantized.scales["conv1"][f]))
        assert pixel.value == pytest.approx(float(outputs[0][1, i, j, f]), rel=1e-5, abs=1e-6)
        assert pixel.float_value == pytest.approx(float(np.sum(
            image[i:i + 3, j:j + 3] * net[0]["kernel"][..., f]) + net[0]["bias"][f]), rel=1e-5)


@pytest.mark.parametrize("kept_bytes", [compress.KEPT_INPUT_BYTES, 0])
def test_a_variant_of_a_late_layer_starts_from_its_input_with_the_same_figures(
        data, weights, monkeypatch, kept_bytes):
    """Pruning only dense1 leaves conv1 ... flatten as they were: their output, kept,
    gives the same loss and accuracy as the whole pruned network evaluated plainly (or,
    with no room to keep it, as the whole network evaluated from the images)."""
    monkeypatch.setattr(compress, "KEPT_INPUT_BYTES", kept_bytes)
    evaluator = Evaluator(SMALL, data.x_val, data.y_val, batch_size=64)
    layer = SMALL.names.index("dense1")
    for level in (0.3, 0.7):
        masks = magnitude_masks(SMALL, weights, level, PER_LAYER, ["dense1"])
        assert compress.first_changed(masks, None) == layer
        pruned = [{k: v * m[k] if k in m else v for k, v in w.items()}
                  for w, m in zip(weights, masks, strict=True)]
        np.testing.assert_allclose(evaluator(weights, masks),
                                   evaluate(SMALL, pruned, data.x_val, data.y_val), rtol=1e-5)
    kept = evaluator._kept
    assert (kept is not None and kept[1] == layer) == bool(kept_bytes)
    evaluator(weights)  # the unchanged network: from the images, the kept inputs let go
    assert evaluator._kept is None
