"""Pruning and quantization numbers (core) against independent references: sorted lists
of magnitudes, integer loops of the int8 formulas, hand-counted bytes."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import random_weights

from cnnviz.core.compression import (
    GLOBAL,
    PER_LAYER,
    CompressionError,
    apply_masks,
    check_sparsity,
    deflated_bytes,
    filter_norms,
    float_bytes,
    knee,
    layer_sparsity,
    magnitude_masks,
    prune_schedule,
    structured_prune,
    total_macs,
    total_sparsity,
)
from cnnviz.core.layers import Conv2D, Dense, Flatten, GlobalAvgPool, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import (
    FLOAT16,
    INT8_PER_CHANNEL,
    INT8_PER_TENSOR,
    MINMAX,
    PERCENTILE,
    activation_range,
    affine_qparams,
    dequantize,
    int8_conv_pixel,
    layer_bytes,
    quantize_activations,
    quantize_network,
    quantize_weights,
    weight_scale,
)

SPEC = NetworkSpec((10, 10, 2), (Conv2D(6, 3), MaxPool2D(2), Conv2D(5, 2), Flatten(),
                                 Dense(7), Dense(3, "none")))


def ties_weights(seed: int = 0):
    """Weights drawn from a handful of values, so that many magnitudes tie."""
    rng = np.random.default_rng(seed)
    weights = random_weights(SPEC, seed)
    return [{k: (rng.integers(-3, 4, v.shape) * 0.5).astype(np.float32) for k, v in w.items()}
            for w in weights]


def reference_pruned(values: list[float], sparsity: float) -> set[int]:
    """The positions a magnitude prune removes, by the textbook: sort by |w| (then by
    position) and take the first round(s * n)."""
    k = math.floor(sparsity * len(values) + 0.5)
    order = sorted(range(len(values)), key=lambda i: (abs(values[i]), i))
    return set(order[:k])


# -- magnitude pruning -------------------------------------------------------------------

@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.33, 0.5, 0.8, 0.9, 0.99])
def test_global_prune_removes_exactly_the_requested_fraction_with_ties(sparsity):
    weights = ties_weights()
    masks = magnitude_masks(SPEC, weights, sparsity, GLOBAL)
    kernels = [w["kernel"].ravel() for w in weights if w]
    flat = np.concatenate(kernels).tolist()
    dropped = ~np.concatenate([m["kernel"].ravel() for m in masks if m])
    assert set(np.flatnonzero(dropped)) == reference_pruned(flat, sparsity)
    assert dropped.sum() == math.floor(sparsity * len(flat) + 0.5)


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 0.999), st.integers(0, 1000))
def test_per_layer_prune_takes_each_layers_share(sparsity, seed):
    weights = ties_weights(seed)
    masks = magnitude_masks(SPEC, weights, sparsity, PER_LAYER)
    for w, m in zip(weights, masks, strict=True):
        if w:
            dropped = set(np.flatnonzero(~m["kernel"].ravel()))
            assert dropped == reference_pruned(w["kernel"].ravel().tolist(), sparsity)


def test_pruning_chosen_layers_leaves_the_others_whole():
    weights = random_weights(SPEC)
    masks = magnitude_masks(SPEC, weights, 0.5, GLOBAL, ["conv2", "dense1"])
    names = SPEC.names
    for name, m in zip(names, masks, strict=True):
        if m:
            assert m["kernel"].all() == (name not in ("conv2", "dense1"))
    pruned = apply_masks(weights, masks)
    rows = {r.name: r for r in layer_sparsity(SPEC, pruned)}
    chosen = rows["conv2"].weights + rows["dense1"].weights
    assert rows["conv2"].zeros + rows["dense1"].zeros == math.floor(0.5 * chosen + 0.5)
    assert rows["conv1"].zeros == 0
    assert total_sparsity(list(rows.values())) == pytest.approx(
        (rows["conv2"].zeros + rows["dense1"].zeros) / sum(r.weights for r in rows.values()))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), True, "0.5", None])
def test_a_sparsity_outside_0_1_is_refused_in_one_line(bad):
    weights = random_weights(SPEC)
    before = [{k: v.copy() for k, v in w.items()} for w in weights]
    with pytest.raises(CompressionError) as err:
        magnitude_masks(SPEC, weights, bad)
    assert "\n" not in str(err.value) and "sparsity" in str(err.value)
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(weights, before, strict=True)
               for k in a)
    with pytest.raises(CompressionError):
        check_sparsity(bad)


def test_an_unknown_layer_is_refused_with_the_known_ones():
    with pytest.raises(CompressionError, match="conv9.*conv1, conv2, dense1, dense2"):
        magnitude_masks(SPEC, random_weights(SPEC), 0.5, GLOBAL, ["conv9"])
    with pytest.raises(CompressionError, match="maxpool1"):  # no weights to prune
        structured_prune(SPEC, random_weights(SPEC), 0.5, ["maxpool1"])


def test_prune_schedule_steps_evenly_to_the_target():
    assert prune_schedule(0.9, 3) == pytest.approx([0.3, 0.6, 0.9])
    assert prune_schedule(0.5, 1) == [0.5]
    with pytest.raises(CompressionError):
        prune_schedule(0.5, 0)


# -- structured pruning ----------------------------------------------------------------

def test_structured_prune_drops_the_smallest_l1_filters_and_their_inputs():
    weights = random_weights(SPEC)
    norms = {name: [float(np.abs(w["kernel"][..., f]).sum()) for f in range(
        w["kernel"].shape[-1])] for name, w in zip(SPEC.names, weights, strict=True) if w}
    assert filter_norms(weights[0]["kernel"]) == pytest.approx(norms["conv1"])
    pruned = structured_prune(SPEC, weights, 0.5)
    kept1 = sorted(sorted(range(6), key=lambda f: (norms["conv1"][f], f))[3:])
    assert pruned.kept["conv1"].tolist() == kept1
    assert "dense2" not in pruned.kept  # the classes stay
    conv1, conv2, dense1 = (pruned.weights[i] for i in (0, 2, 4))
    assert conv1["kernel"].shape == (3, 3, 2, 3)
    np.testing.assert_array_equal(conv1["kernel"], weights[0]["kernel"][..., kept1])
    kept2 = pruned.kept["conv2"]  # 5 filters, round(2.5) = 3 go (halves go up)
    assert len(kept2) == 2
    np.testing.assert_array_equal(conv2["kernel"],
                                  weights[2]["kernel"][:, :, kept1][..., kept2])
    # Flatten of (3, 3, C): row (h * 3 + w) * C + c holds channel c of pixel (h, w)
    rows = [(p * 5 + c) for p in range(9) for c in kept2]
    kept3 = pruned.kept["dense1"]
    np.testing.assert_array_equal(dense1["kernel"], weights[4]["kernel"][rows][:, kept3])
    assert pruned.weights[5]["kernel"].shape == (len(kept3), 3)
    assert [layer.filters for layer in pruned.spec.layers[:3:2]] == [3, 2]


def test_structured_prune_through_global_average_pooling():
    spec = NetworkSpec((6, 6, 1), (Conv2D(4, 3), GlobalAvgPool(), Dense(2, "none")))
    weights = random_weights(spec)
    pruned = structured_prune(spec, weights, 0.5)
    np.testing.assert_array_equal(pruned.weights[2]["kernel"],
                                  weights[2]["kernel"][pruned.kept["conv1"]])


def test_macs_follow_the_shapes():
    pruned = structured_prune(SPEC, random_weights(SPEC), 0.5)
    # by hand: conv (8*8*3 outputs * 3*3*2), conv (3*3*2 outputs * 2*2*3), dense 18 * 3
    # (7 units, round(3.5) = 4 go), dense 3 * 3
    assert total_macs(pruned.spec) == 8 * 8 * 3 * 18 + 3 * 3 * 2 * 12 + 18 * 3 + 3 * 3
    assert total_macs(SPEC) == 8 * 8 * 6 * 18 + 3 * 3 * 5 * 24 + 45 * 7 + 7 * 3


# -- knee ------------------------------------------------------------------------------

def test_knee_is_the_last_level_before_a_drop_of_more_than_a_point():
    levels = (0.0, 0.5, 0.8, 0.9, 0.99)
    assert knee(levels, [0.90, 0.895, 0.891, 0.85, 0.2]) == 0.8
    assert knee(levels, [0.90, 0.95, 0.80, 0.95, 0.95]) == 0.5  # the first drop counts
    assert knee(levels, [0.90, 0.90, 0.90, 0.90, 0.90]) == 0.99
    assert knee(levels, [0.90, 0.80, 0.90, 0.90, 0.90]) == 0.0
    assert knee((), []) is None


# -- sizes -----------------------------------------------------------------------------

def test_sizes_in_bytes():
    weights = random_weights(SPEC)
    params = sum(v.size for w in weights for v in w.values())
    assert float_bytes(weights) == 4 * params
    raw = b"".join(v.astype(np.float32).tobytes() for w in weights for v in w.values())
    assert deflated_bytes(weights) == len(zlib.compress(raw, 6))
    pruned = apply_masks(weights, magnitude_masks(SPEC, weights, 0.9))
    assert deflated_bytes(pruned) < deflated_bytes(weights) / 2
    sizes = layer_bytes(SPEC, weights, INT8_PER_CHANNEL, ["dense2"], activations=True)
    # conv1: 108 int8 + 6 int32 biases + 6 scales + input scale and zero point
    assert sizes["conv1"] == 108 + 24 + 24 + 5
    assert sizes["dense2"] == 4 * (21 + 3)
    assert layer_bytes(SPEC, weights, INT8_PER_TENSOR)["conv1"] == 108 + 24 + 4
    assert layer_bytes(SPEC, weights, FLOAT16)["conv1"] == 2 * 114
    assert sum(layer_bytes(SPEC, weights, None).values()) == 4 * params


# -- quantization ----------------------------------------------------------------------

kernels = st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(0, 10_000),
                    st.floats(1e-4, 1e3))


@settings(max_examples=60, deadline=None)
@given(kernels, st.booleans())
def test_int8_round_trip_error_is_within_half_a_scale_step(params, per_channel):
    rows, channels, seed, spread = params
    rng = np.random.default_rng(seed)
    kernel = (rng.standard_normal((rows, 3, channels)) * spread
              * rng.uniform(0.01, 1, channels)).astype(np.float32)
    scale = weight_scale(kernel, per_channel)
    q = quantize_weights(kernel, scale)
    back = dequantize(q, scale)
    assert q.dtype == np.int8 and np.abs(q.astype(int)).max() <= 127
    step = np.broadcast_to(scale, kernel.shape)
    assert np.all(np.abs(back - kernel) <= step / 2 * (1 + 1e-5))
    peak = np.abs(kernel).max(axis=(0, 1)) if per_channel else np.abs(kernel).max()
    assert np.allclose(scale * 127, peak, rtol=1e-6)


def test_per_channel_is_never_worse_than_per_tensor():
    rng = np.random.default_rng(1)
    for case in range(20):
        spread = rng.uniform(0.001, 1, 8)  # channels of very different sizes
        kernel = (rng.standard_normal((3, 3, 4, 8)) * spread).astype(np.float32)
        errors = {}
        for per_channel in (False, True):
            scale = weight_scale(kernel, per_channel)
            back = dequantize(quantize_weights(kernel, scale), scale)
            errors[per_channel] = float(np.mean((back - kernel) ** 2))
        assert errors[True] <= errors[False], case


def test_a_zero_tensor_quantizes_to_zero():
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[..., 1] = 0.5
    scale = weight_scale(kernel, per_channel=True)
    assert scale.tolist() == [1.0, pytest.approx(0.5 / 127)]
    np.testing.assert_array_equal(dequantize(quantize_weights(kernel, scale), scale), kernel)


def test_activation_ranges_and_zero_points():
    values = np.concatenate([np.linspace(0, 2, 10_001), [50.0]]).astype(np.float32)
    assert activation_range(values, MINMAX) == (0.0, 50.0)
    lo, hi = activation_range(values, PERCENTILE, 99.0)
    assert lo == 0.0 and hi == pytest.approx(np.percentile(values, 99.0))
    scale, zero = affine_qparams(-1.0, 3.0)
    assert scale == pytest.approx(4 / 255) and zero == round(-128 + 1 / (4 / 255))
    q = quantize_activations(np.array([-1.0, 0.0, 3.0, 10.0], np.float32), scale, zero)
    assert dequantize(q[1:2], scale, zero)[0] == 0.0  # zero is exact
    assert q[0] == -128 and q[2] == 127 and q[3] == 127  # 10 clips to the top
    assert abs(dequantize(q[:1], scale, zero)[0] + 1.0) <= scale / 2
    for bad in (np.zeros(0, np.float32),):
        with pytest.raises(CompressionError, match="at least one image"):
            activation_range(bad)
    with pytest.raises(CompressionError):
        activation_range(values, PERCENTILE, 30.0)


def test_quantize_network_keeps_float_layers_and_rounds_float16():
    weights = random_weights(SPEC)
    q = quantize_network(SPEC, weights, INT8_PER_TENSOR, keep_float=["dense2"])
    assert set(q.scales) == {"conv1", "conv2", "dense1"}
    np.testing.assert_array_equal(q.weights[5]["kernel"], weights[5]["kernel"])
    for i in (0, 2, 4):
        values = np.unique(q.weights[i]["kernel"] / q.scales[SPEC.names[i]])
        np.testing.assert_allclose(values, np.round(values), atol=1e-4)  # on the grid
    half = quantize_network(SPEC, weights, FLOAT16)
    np.testing.assert_array_equal(half.weights[0]["kernel"],
                                  weights[0]["kernel"].astype(np.float16).astype(np.float32))
    with pytest.raises(CompressionError, match="int4"):
        quantize_network(SPEC, weights, "int4")
    with pytest.raises(CompressionError, match="conv7"):
        quantize_network(SPEC, weights, INT8_PER_TENSOR, keep_float=["conv7"])


def test_one_conv_pixel_in_int8_by_integer_arithmetic():
    rng = np.random.default_rng(3)
    patch = rng.uniform(0, 2, (3, 3, 4)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 4)).astype(np.float32)
    bias = 0.3
    x_scale, x_zero, w_scale = 2 / 255, -128, float(np.abs(kernel).max() / 127)
    pixel = int8_conv_pixel(patch, kernel, bias, x_scale, x_zero, w_scale)
    # the same by hand, element by element in Python integers
    acc = 0
    for v, k in zip(patch.ravel().tolist(), kernel.ravel().tolist(), strict=True):
        qx = max(-128, min(127, round(v / np.float32(x_scale)) + x_zero))
        qw = max(-127, min(127, round(k / np.float32(w_scale))))
        acc += (qx - x_zero) * qw
    assert pixel.accumulator == acc
    assert pixel.bias_q == round(bias / (np.float32(x_scale) * np.float32(w_scale)))
    assert pixel.value == pytest.approx((acc + pixel.bias_q) * x_scale * w_scale, rel=1e-6)
    assert pixel.float_value == pytest.approx(float(np.sum(patch * kernel)) + bias, rel=1e-5)
    # the int8 result is close to the float one: within the grid's rounding
    bound = (0.5 * x_scale * np.abs(kernel).sum() + 0.5 * w_scale * np.abs(patch).sum()
             + x_scale * w_scale * (1 + 0.25 * patch.size))
    assert abs(pixel.value - pixel.float_value) <= bound


def test_grid_histogram_counts_every_weight_and_marks_the_grid():
    from cnnviz.core.quantization import grid_histogram

    values = np.random.default_rng(4).standard_normal(1000).astype(np.float32)
    scale = float(np.abs(values).max() / 127)
    hist = grid_histogram(values, scale, bins=50)
    assert hist.counts.sum() == 1000 and len(hist.edges) == 51
    assert hist.edges[0] == pytest.approx(values.min()) and hist.edges[-1] == pytest.approx(
        values.max())
    steps = hist.grid / scale
    np.testing.assert_allclose(steps, np.arange(steps[0], steps[-1] + 1))  # every step
    assert hist.grid.min() <= values.min() + 1e-6 and hist.grid.max() >= values.max() - scale
    assert grid_histogram(values).grid.size == 0
