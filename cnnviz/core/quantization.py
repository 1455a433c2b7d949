"""Quantization in numbers: scales, zero points, the int8 grid and what it costs.

Weights are quantized symmetrically: q = clip(round(w / s), -127, 127), w ~ q * s, with
s = max|w| / 127 for the whole tensor (per tensor) or for each output channel (per
channel: the last axis of a Conv2D (K, K, C, F) or Dense (D, U) kernel). Activations,
which after ReLU are all >= 0, use the full int8 range with a zero point:
q = clip(round(x / s) + z, -128, 127), x ~ (q - z) * s, their range [lo, hi] calibrated
on sample images. Biases become int32 at the scale s_x * s_w of the products they are
added to. float16 simply rounds every weight to half precision.

The weights a quantized network computes with are kept as float32 numbers that lie
exactly on their grid (q * s), so the same engine runs it: fake quantization.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.compression import CompressionError, Weights, check_layers
from cnnviz.core.i18n import Message, tr
from cnnviz.core.network import NetworkSpec

INT8_PER_TENSOR, INT8_PER_CHANNEL, FLOAT16 = "int8-per-tensor", "int8-per-channel", "float16"
SCHEMES = (INT8_PER_TENSOR, INT8_PER_CHANNEL, FLOAT16)
MINMAX, PERCENTILE = "minmax", "percentile"
CALIBRATIONS = (MINMAX, PERCENTILE)
DEFAULT_PERCENTILE = 99.99
QMAX = 127  # weights use -127..127, symmetric around an exact zero
ACT_MIN, ACT_MAX = -128, 127


def check_scheme(scheme: object) -> str:
    if scheme not in SCHEMES:
        raise CompressionError(Message("unknown scheme {scheme} (known: {known})", scheme=scheme,
                                       known=", ".join(SCHEMES)))
    return scheme  # type: ignore[return-value]


def weight_scale(kernel: np.ndarray, per_channel: bool) -> np.ndarray:
    """max|w| / 127 over the tensor (shape ()) or per output channel (shape (F,)); 1 for
    a tensor or channel that is all zeros (any scale represents it exactly)."""
    axes = tuple(range(kernel.ndim - 1)) if per_channel else None
    peak = np.max(np.abs(kernel), axis=axes).astype(np.float32)
    return np.where(peak > 0, peak / np.float32(QMAX), np.float32(1)).astype(np.float32)


def quantize_weights(kernel: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """int8 q = clip(round(w / s), -127, 127); `scale` broadcasts over the last axis."""
    return np.clip(np.round(kernel.astype(np.float32) / scale), -QMAX, QMAX).astype(np.int8)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | int = 0
               ) -> np.ndarray:
    """(q - z) * s as float32."""
    return ((q.astype(np.int32) - zero_point) * scale).astype(np.float32)


def activation_range(samples: np.ndarray, method: str = MINMAX,
                     percentile: float = DEFAULT_PERCENTILE) -> tuple[float, float]:
    """The range [lo, hi] (always holding 0) that int8 activations will cover: the
    samples' min and max, or their `percentile` and 100 - `percentile` (outliers are
    clipped, and the rest get a finer grid)."""
    if samples.size == 0:
        raise CompressionError(Message("calibration needs at least one image, got none"))
    if method == MINMAX:
        lo, hi = float(samples.min()), float(samples.max())
    elif method == PERCENTILE:
        if not 50 < percentile <= 100:
            raise CompressionError(Message("percentile must be above 50 and at most 100, got "
                                           "{value}", value=percentile))
        lo, hi = (float(v) for v in np.percentile(samples, [100 - percentile, percentile]))
    else:
        raise CompressionError(Message("unknown calibration {method} (known: {known})",
                                       method=method, known=", ".join(CALIBRATIONS)))
    return min(lo, 0.0), max(hi, 0.0)


def affine_qparams(lo: float, hi: float) -> tuple[np.float32, int]:
    """(scale, zero point) mapping [lo, hi] onto -128..127: s = (hi - lo) / 255 and
    z = round(-128 - lo / s), so that x = 0 is exactly representable."""
    scale = np.float32((hi - lo) / (ACT_MAX - ACT_MIN)) if hi > lo else np.float32(1)
    zero = int(np.clip(np.round(ACT_MIN - lo / scale), ACT_MIN, ACT_MAX))
    return scale, zero


def quantize_activations(x: np.ndarray, scale: np.float32, zero_point: int) -> np.ndarray:
    """int8 q = clip(round(x / s) + z, -128, 127)."""
    return np.clip(np.round(x.astype(np.float32) / scale) + zero_point, ACT_MIN, ACT_MAX
                   ).astype(np.int8)


def quantize_bias(bias: np.ndarray, x_scale: np.float32, w_scale: np.ndarray) -> np.ndarray:
    """int32 round(b / (s_x * s_w)): the bias at the scale of the accumulated products."""
    return np.round(bias / (x_scale * w_scale)).astype(np.int32)


@dataclass(frozen=True)
class QuantizedWeights:
    """A network's weights on their quantization grid (still float32, so the engine
    runs them) and each int8 layer's weight scales."""

    weights: Weights
    scales: dict[str, np.ndarray]


def quantize_network(spec: NetworkSpec, weights: Weights, scheme: str,
                     keep_float: list[str] | tuple[str, ...] = ()) -> QuantizedWeights:
    """Every weighted layer's kernel on the `scheme`'s grid, except those in
    `keep_float`; int8 keeps biases in float until activations are calibrated (see
    with_int8_biases), float16 rounds them too."""
    check_scheme(scheme)
    quantized = set(check_layers(spec, None)) - set(check_layers(spec, list(keep_float)))
    if scheme == FLOAT16:
        return QuantizedWeights([
            {k: v.astype(np.float16).astype(np.float32) for k, v in w.items()}
            if name in quantized else dict(w)
            for name, w in zip(spec.names, weights, strict=True)], {})
    return on_grid(spec, weights, {
        name: weight_scale(w["kernel"], scheme == INT8_PER_CHANNEL)
        for name, w in zip(spec.names, weights, strict=True) if name in quantized})


def on_grid(spec: NetworkSpec, weights: Weights, scales: dict[str, np.ndarray]
            ) -> QuantizedWeights:
    """The kernels of the layers named in `scales` on their int8 grid, with those scales
    (e.g. fixed before quantization-aware training moved the weights)."""
    out = []
    for name, w in zip(spec.names, weights, strict=True):
        if name in scales:
            w = {"kernel": dequantize(quantize_weights(w["kernel"], scales[name]), scales[name]),
                 "bias": w["bias"]}
        out.append(dict(w))
    return QuantizedWeights(out, dict(scales))


def with_int8_biases(spec: NetworkSpec, quantized: QuantizedWeights,
                     activations: dict[str, tuple[np.float32, int]]) -> Weights:
    """The weights with each int8 layer whose input is quantized taking its bias from the
    int32 grid of s_x * s_w (what integer arithmetic adds)."""
    out = []
    for name, w in zip(spec.names, quantized.weights, strict=True):
        if name in quantized.scales and name in activations:
            step = activations[name][0] * quantized.scales[name]
            w = {"kernel": w["kernel"], "bias": dequantize(
                quantize_bias(w["bias"], activations[name][0], quantized.scales[name]), step)}
        out.append(w)
    return out


# -- what it costs ---------------------------------------------------------------------

def layer_bytes(spec: NetworkSpec, weights: Weights, scheme: str | None,
                keep_float: list[str] | tuple[str, ...] = (),
                activations: bool = False) -> dict[str, int]:
    """Bytes each weighted layer takes: float32 everywhere without a scheme (or for a
    layer kept in float); float16 2 per value; int8 1 per kernel weight, a float32 per
    scale, biases as int32 (4 each) and, with quantized activations, the input's float32
    scale and int8 zero point. A BatchNorm stays float32 (it is never quantized)."""
    out = {}
    for name, w in zip(spec.names, weights, strict=True):
        if "kernel" not in w:
            if w:
                out[name] = 4 * sum(v.size for v in w.values())
            continue
        kernel, bias = w["kernel"], w["bias"]
        if scheme is None or name in keep_float:
            out[name] = 4 * (kernel.size + bias.size)
        elif scheme == FLOAT16:
            out[name] = 2 * (kernel.size + bias.size)
        else:
            scales = kernel.shape[-1] if scheme == INT8_PER_CHANNEL else 1
            out[name] = kernel.size + 4 * bias.size + 4 * scales + (5 if activations else 0)
    return out


@dataclass(frozen=True)
class GridHistogram:
    """How float weights spread over the int8 grid: a histogram (edges (B + 1,), counts
    (B,)) and the grid values q * s that fall in its range (none without a scale)."""

    edges: np.ndarray
    counts: np.ndarray
    grid: np.ndarray
    scale: float | None


def grid_histogram(values: np.ndarray, scale: float | None = None, bins: int = 121,
                   span: tuple[float, float] | None = None) -> GridHistogram:
    """The histogram of `values` over their range (or over `span`, counting only the
    values inside it), with the grid of `scale` on it."""
    values = np.asarray(values, np.float64).ravel()
    if span is not None:
        lo, hi = span
    else:
        lo, hi = (float(values.min()), float(values.max())) if values.size else (-1.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    counts, edges = np.histogram(values, bins, range=(lo, hi))
    grid = np.zeros(0)
    if scale is not None:
        q = np.arange(-QMAX, QMAX + 1)
        grid = q[(q * scale >= lo - scale) & (q * scale <= hi + scale)] * scale
    return GridHistogram(edges, counts, grid, scale)


# -- one conv output in int8 ---------------------------------------------------------------

@dataclass(frozen=True)
class Int8Pixel:
    """One conv output computed in integers, beside its float value.

    x_q, w_q: the int8 patch and kernel (K, K, C); accumulator = sum((x_q - z) * w_q) in
    int32; value = (accumulator + bias_q) * s_x * s_w, the dequantized output (before
    the activation function); float_value: sum(patch * kernel) + bias in float."""

    x_q: np.ndarray
    w_q: np.ndarray
    x_scale: float
    x_zero: int
    w_scale: float
    bias_q: int
    accumulator: int
    value: float
    float_value: float


def int8_conv_pixel(patch: np.ndarray, kernel: np.ndarray, bias: float, x_scale: float,
                    x_zero: int, w_scale: float) -> Int8Pixel:
    """The int8 arithmetic of one conv output: patch (K, K, C) of float inputs, kernel
    (K, K, C) of the output channel's float weights, with the layer's input scale and
    zero point and the channel's weight scale."""
    x_scale, w_scale = np.float32(x_scale), np.float32(w_scale)
    x_q = quantize_activations(patch, x_scale, x_zero)
    w_q = quantize_weights(kernel, w_scale)
    bias_q = int(quantize_bias(np.float32(bias), x_scale, w_scale))
    accumulator = int(np.sum((x_q.astype(np.int32) - x_zero) * w_q.astype(np.int32)))
    value = float(np.float64(accumulator + bias_q) * np.float64(x_scale) * np.float64(w_scale))
    float_value = float(np.sum(patch.astype(np.float64) * kernel.astype(np.float64)) + bias)
    return Int8Pixel(x_q, w_q, float(x_scale), int(x_zero), float(w_scale), bias_q,
                     accumulator, value, float_value)


def int8_pixel_lines(pixel: Int8Pixel, scheme: str) -> list[str]:
    """The int8 arithmetic of one conv output as a learner reads it, beside the float."""
    return [
        tr("in int8 ({scheme}): s_in = {x_scale:.3g}, z = {zero}, s_k = {w_scale:.3g}",
           scheme=scheme, x_scale=pixel.x_scale, zero=pixel.x_zero, w_scale=pixel.w_scale),
        tr("q_in = round(in / s_in) + z, q_k = round(k / s_k)"),
        tr("b_q = round(b / (s_in · s_k)) = {bias}", bias=pixel.bias_q),
        tr("Σ (q_in - z) · q_k = {acc} (whole numbers, int32)", acc=pixel.accumulator),
        tr("({acc} + {bias}) · s_in · s_k = {value:.4g}; in float: {float_value:.4g}",
           acc=pixel.accumulator, bias=pixel.bias_q, value=pixel.value,
           float_value=pixel.float_value),
    ]
