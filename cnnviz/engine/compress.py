"""Running compressed networks: pruning masks and fake-quantized activations in JAX.

A compressed network runs through one forward pass whose variations are *inputs*, not
constants: the masks multiply the kernels, and the quantized layers' inputs pass through
fake quantization (x -> (clip(round(x / s) + z) - z) * s) with their scale and zero point
given as arrays. So moving a sparsity slider, or a whole sensitivity sweep, reuses one
compiled evaluation. Weights are quantized ahead of time (core.quantization: they are
constants, their grid values are plain float32 weights here).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnnviz.core.compression import (
    ALL_LAYERS,
    GLOBAL,
    PER_LAYER,
    SWEEP_LEVELS,
    Masks,
    Sweep,
    Weights,
    check_layers,
    magnitude_masks,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import (
    ACT_MAX,
    ACT_MIN,
    DEFAULT_PERCENTILE,
    MINMAX,
    activation_range,
    affine_qparams,
)
from cnnviz.data.dataset import Dataset
from cnnviz.engine.model import apply_layer, to_float
from cnnviz.engine.probe import EVAL_BATCH, padded_batches

# per layer: None (float input) or (scale, zero point) of its int8 input
ActivationQParams = list[tuple[np.float32, int] | None]


def fake_quant(x, scale, zero_point):
    """x as int8 activations see it: (clip(round(x / s) + z, -128, 127) - z) * s."""
    q = jnp.clip(jnp.round(x / scale) + zero_point, ACT_MIN, ACT_MAX)
    return (q - zero_point) * scale


def forward(spec: NetworkSpec, params, x, masks=None, activations=None, collect=False,
            start: int = 0):
    """x (N, H, W, C) float -> logits (N, classes), and with `collect` every layer's
    output. `masks` (per layer {"kernel": 0/1} or {}) multiply the kernels;
    `activations` (per layer None or (scale, zero point)) fake-quantize layer inputs.
    From layer `start` on, x being that layer's input (the layers before it as if
    they had run)."""
    outputs = []
    for i, (layer, p) in enumerate(zip(spec.layers, params, strict=True)):
        if i < start:
            continue
        if masks is not None and masks[i]:
            p = {"kernel": p["kernel"] * masks[i]["kernel"], "bias": p["bias"]}
        if activations is not None and activations[i] is not None:
            x = fake_quant(x, *activations[i])
        x = apply_layer(layer, p, x, train=False)
        if collect:
            outputs.append(x)
    return (x, outputs) if collect else x


@partial(jax.jit, static_argnums=(0, 1))
def _eval_batch(spec, start, params, masks, activations, x, y, weight):
    """(loss sum, correct sum) of one padded batch (images, or layer `start`'s input);
    weight 0 marks padding rows."""
    logits = forward(spec, params, to_float(x), masks, activations, start=start)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    correct = (jnp.argmax(logits, -1) == y).astype(jnp.float32)
    return (losses * weight).sum(), (correct * weight).sum()


@partial(jax.jit, static_argnums=(0, 1))
def _input_of(spec, layer, params, x):
    """Layer `layer`'s input for a batch of images, through the unchanged layers before
    it."""
    x = to_float(x)
    for i in range(layer):
        x = apply_layer(spec.layers[i], params[i], x, train=False)
    return x


def first_changed(masks: Masks | None, activations: ActivationQParams | None) -> int:
    """The first layer a variant changes (a weight pruned, its input quantized): the
    layers before it compute what the unchanged network computes. 0 when none."""
    changed = [i for i, m in enumerate(masks or []) if m and not m["kernel"].all()]
    changed += [i for i, a in enumerate(activations or []) if a is not None]
    return min(changed, default=0)


def _device_masks(masks: Masks | None):
    if masks is None:
        return None
    return [{"kernel": jnp.asarray(m["kernel"], jnp.float32)} if m else {} for m in masks]


def _device_activations(activations: ActivationQParams | None):
    if activations is None:
        return None
    return [None if a is None else (jnp.float32(a[0]), jnp.float32(a[1])) for a in activations]


# The most the input of a layer may take, kept for all the images to evaluate variants
# that change only that layer and the ones after it (a sensitivity sweep's rows).
KEPT_INPUT_BYTES = 256 << 20


class Evaluator:
    """(mean loss, accuracy) of variants of one network on one fixed set of images: the
    images go to the device once (uint8), and each kind of variant (masked or not, which
    layers' inputs are quantized) compiles once. A variant that leaves the first layers
    as they are starts from their output, kept from the last such variant of the same
    weights (one layer's input at a time, within KEPT_INPUT_BYTES): a sweep's row that
    prunes one late layer then costs only the layers from it on."""

    def __init__(self, spec: NetworkSpec, x: np.ndarray, y: np.ndarray,
                 batch_size: int = EVAL_BATCH):
        self.spec, self.count = spec, len(x)
        self._batches = [(jax.device_put(xb), jax.device_put(yb.astype(np.int32)),
                          jax.device_put(w)) for xb, yb, w, _ in padded_batches(x, y, batch_size)]
        self._kept: tuple[Weights, int, list] | None = None  # (weights, layer, its inputs)
        self._in_shapes = [info.in_shape for info in spec.check().layers]

    def __call__(self, params: Weights, masks: Masks | None = None,
                 activations: ActivationQParams | None = None) -> tuple[float, float]:
        return self.result(self.dispatch(params, masks, activations))

    def dispatch(self, params: Weights, masks: Masks | None = None,
                 activations: ActivationQParams | None = None) -> list:
        """Start the evaluation (JAX computes while the caller goes on); `result` waits."""
        if not self.count:
            return []
        start = self._start(first_changed(masks, activations))
        inputs = self._inputs(params, start)
        device = jax.tree.map(jnp.asarray, params)
        masks, activations = _device_masks(masks), _device_activations(activations)
        return [_eval_batch(self.spec, start, device, masks, activations, x, y, weight)
                for x, (_, y, weight) in zip(inputs, self._batches, strict=True)]

    def result(self, sums: list) -> tuple[float, float]:
        if not sums:
            return float("nan"), float("nan")
        loss, correct = np.sum(np.array(jax.device_get(sums), np.float64), axis=0)
        return float(loss / self.count), float(correct / self.count)

    def release(self) -> None:
        """Let go of the layer inputs kept (device memory)."""
        self._kept = None

    def _start(self, layer: int) -> int:
        """`layer`, or 0 where keeping its input for every image would take too much."""
        rows = len(self._batches) * len(self._batches[0][0])
        fits = layer and rows * math.prod(self._in_shapes[layer]) * 4 <= KEPT_INPUT_BYTES
        return layer if fits else 0

    def _inputs(self, params: Weights, layer: int) -> list:
        """Layer `layer`'s input for every batch (the images themselves for layer 0)."""
        if layer == 0:
            self.release()
            return [x for x, _, _ in self._batches]
        kept = self._kept
        if kept is None or kept[0] is not params or kept[1] != layer:
            self._kept = None  # the old ones go before the new ones are made
            device = jax.tree.map(jnp.asarray, params[:layer])
            kept = (params, layer, [_input_of(self.spec, layer, device, x)
                                    for x, _, _ in self._batches])
            self._kept = kept
        return kept[2]


# -- the sensitivity sweep --------------------------------------------------------------------

@dataclass(frozen=True)
class SweepProgress:
    done: int
    total: int
    sweep: Sweep  # the levels evaluated so far (nan where not yet)


def sweep(evaluator: Evaluator, weights: Weights, levels: tuple[float, ...] = SWEEP_LEVELS,
          layers: list[str] | None = None) -> Iterator[SweepProgress]:
    """Accuracy at each sparsity level of global magnitude pruning ("all") and of each
    weighted layer pruned alone; yields progress after every evaluation, the last one
    complete. The unpruned network (level 0) is evaluated once for every row."""
    spec = evaluator.spec
    rows = [ALL_LAYERS, *check_layers(spec, layers)]
    accuracy = {row: [np.nan] * len(levels) for row in rows}
    loss = {row: [np.nan] * len(levels) for row in rows}
    dense = [i for i, level in enumerate(levels) if level == 0]
    jobs = [(row, i) for row in rows for i, level in enumerate(levels) if level != 0]
    total = len(jobs) + (1 if dense else 0)
    started = time.perf_counter()

    def progress(done: int) -> SweepProgress:
        return SweepProgress(done, total, Sweep(tuple(levels), {k: list(v) for k, v in
                                                                accuracy.items()},
                                                {k: list(v) for k, v in loss.items()},
                                                time.perf_counter() - started))

    done = 0
    try:
        if dense:  # through all-ones masks: the same compiled evaluation as other levels
            base = evaluator(weights, magnitude_masks(spec, weights, 0.0))
            for row in rows:
                for i in dense:
                    loss[row][i], accuracy[row][i] = base
            done = 1
            yield progress(done)
        for row, i in jobs:  # a row of one layer starts from its input (Evaluator)
            masks = (magnitude_masks(spec, weights, levels[i], GLOBAL, layers)
                     if row == ALL_LAYERS
                     else magnitude_masks(spec, weights, levels[i], PER_LAYER, [row]))
            loss[row][i], accuracy[row][i] = evaluator(weights, masks)
            done += 1
            yield progress(done)
    finally:
        evaluator.release()


# -- calibration and errors -------------------------------------------------------------------

@partial(jax.jit, static_argnums=0)
def _outputs(spec, params, activations, x):
    """Every layer's output for a batch (float or with quantized inputs)."""
    return forward(spec, params, to_float(x), None, activations, collect=True)[1]


def layer_inputs(spec: NetworkSpec, weights: Weights, x: np.ndarray,
                 layers: list[str]) -> dict[str, np.ndarray]:
    """The float network's input to each of `layers` for the images x (the first
    layer's input is the image itself, scaled to [0, 1]), concatenated over batches."""
    index = {name: i for i, name in enumerate(spec.names)}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    params = jax.tree.map(jnp.asarray, weights)
    for xb, _, _, n in padded_batches(x, np.zeros(len(x), np.int32)):
        outputs = _outputs(spec, params, None, xb)
        for name in layers:
            i = index[name]
            value = to_float(jnp.asarray(xb)) if i == 0 else outputs[i - 1]
            parts[name].append(np.asarray(value[:n]))
    return {name: np.concatenate(p) for name, p in parts.items()}


def calibrate(spec: NetworkSpec, weights: Weights, x: np.ndarray, layers: list[str],
              method: str = MINMAX, percentile: float = DEFAULT_PERCENTILE
              ) -> dict[str, tuple[np.float32, int]]:
    """Each of `layers`' int8 input (scale, zero point), from the range its float input
    takes over the calibration images x."""
    inputs = layer_inputs(spec, weights, x, layers)
    return {name: affine_qparams(*activation_range(value, method, percentile))
            for name, value in inputs.items()}


def per_layer(spec: NetworkSpec, by_name: dict) -> list:
    """A {layer name: value} dict as the per-layer list the forward pass takes."""
    return [by_name.get(name) for name in spec.names]


def evaluation_set(dataset: Dataset) -> tuple[str, np.ndarray, np.ndarray]:
    """(which, x, y): the validation images, or the test images when the data holds no
    validation split."""
    if len(dataset.x_val):
        return "validation", dataset.x_val, dataset.y_val
    return "test", dataset.x_test, dataset.y_test


def output_errors(spec: NetworkSpec, float_weights: Weights, quantized: Weights,
                  activations: ActivationQParams | None, x: np.ndarray,
                  layers: list[str]) -> dict[str, float]:
    """For each of `layers`: ||y_q - y|| / ||y|| of its output over the images x, y from
    the float network and y_q from the quantized one (errors of earlier layers included,
    as they reach it)."""
    index = {name: i for i, name in enumerate(spec.names)}
    diff = {name: 0.0 for name in layers}
    norm = {name: 0.0 for name in layers}
    params_f = jax.tree.map(jnp.asarray, float_weights)
    params_q = jax.tree.map(jnp.asarray, quantized)
    acts = _device_activations(activations)
    for xb, _, _, n in padded_batches(x, np.zeros(len(x), np.int32)):
        ref, out = _outputs(spec, params_f, None, xb), _outputs(spec, params_q, acts, xb)
        for name in layers:
            y, y_q = (np.asarray(o[index[name]][:n], np.float64) for o in (ref, out))
            diff[name] += float(np.sum((y_q - y) ** 2))
            norm[name] += float(np.sum(y ** 2))
    return {name: float(np.sqrt(diff[name] / norm[name])) if norm[name] else 0.0
            for name in layers}


# -- speed ------------------------------------------------------------------------------------

@partial(jax.jit, static_argnums=0)
def _logits(spec, params, x):
    return forward(spec, params, x)


def images_per_second(variants: list[tuple[NetworkSpec, Weights]],
                      batch_size: int = EVAL_BATCH, repeats: int = 9) -> list[float]:
    """Measured inference speed of each (network, weights), dense compute as XLA does it
    (a zero weight costs as much as any): the median of `repeats` timed batches after one
    that compiles, the variants taking turns, so that a machine's changing speed (other
    work, clocks) falls on all of them alike."""
    calls = []
    for spec, weights in variants:
        params = jax.tree.map(jnp.asarray, weights)
        x = jnp.asarray(np.random.default_rng(0).random((batch_size, *spec.input_shape),
                                                        np.float32))
        _logits(spec, params, x).block_until_ready()
        calls.append(partial(_logits, spec, params, x))
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, record in zip(calls, times, strict=True):
            started = time.perf_counter()
            call().block_until_ready()
            record.append(time.perf_counter() - started)
    return [batch_size / statistics.median(record) for record in times]
