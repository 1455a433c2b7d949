"""What the live views show, computed from a network's parameters.

One jitted probe returns every layer's activation for the chosen image; small jitted
functions give the test grid's predictions, the validation predictions (for the
confusion matrix) and the loss gradient on one batch. The results are scaled and tiled
to uint8 mosaics here (core.mosaic), in the calling thread: the trainer's while it
trains, a helper thread at rest, never the GUI thread. The train step is not touched;
the Trainer decides how often each part is worth its cost.

Asking (`request`) and fetching (`fetch`) are separate steps, so that a trainer can ask
for one snapshot's views, go on training, and fetch them at its next snapshot, when the
device has long computed them: neither then waits for the other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnnviz.core.layers import WEIGHTED, BatchNorm, Conv2D, is_frozen
from cnnviz.core.mosaic import (
    channel_mosaic,
    image_mosaic,
    kernel_mosaic,
    symmetric_range,
    to_uint8,
    vector_strip,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.core.replay import Frame
from cnnviz.core.snapshot import (
    Confusion,
    Histogram,
    LayerFilters,
    LayerMaps,
    LayerStats,
    PredictionGrid,
    ProbeImage,
    ProbeResult,
    Views,
)
from cnnviz.data.dataset import Dataset
from cnnviz.engine.model import Params, apply, apply_with_activations, to_float

EVAL_BATCH = 256
GRID_SIZE = 24  # test images in the predictions grid
BINS = 41  # histogram bins (odd, so zero falls in the middle of one)


def padded_batches(x: np.ndarray, y: np.ndarray, size: int = EVAL_BATCH):
    """(x, y, weight, n) batches of exactly `size` rows, the last one padded with zeros
    of weight 0, so a jitted function sees one shape (one compilation)."""
    for start in range(0, len(x), size):
        xb, yb = x[start:start + size], y[start:start + size]
        n, pad = len(xb), size - len(xb)
        weight = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
        if pad:
            xb = np.concatenate([xb, np.zeros((pad, *xb.shape[1:]), xb.dtype)])
            yb = np.concatenate([yb, np.zeros(pad, yb.dtype)])
        yield xb, yb, weight, n


def fixed_batch(dataset: Dataset, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, seeded batch of training images: the gradient's batch at rest."""
    idx = np.sort(np.random.default_rng(0).permutation(len(dataset.x_train))[:size])
    return dataset.x_train[idx], dataset.y_train[idx]


# -- the jitted parts -------------------------------------------------------------------

def _probe(spec, params, x):
    """x (1, H, W, C) -> (probabilities (classes,), [each layer's output for it])."""
    logits, activations = apply_with_activations(spec, params, to_float(x))
    return jax.nn.softmax(logits[0]), [a[0] for a in activations]


def _predict(spec, params, x):
    """x (G, H, W, C) -> (predicted class (G,), its probability (G,))."""
    probs = jax.nn.softmax(apply(spec, params, to_float(x)))
    return jnp.argmax(probs, -1), jnp.max(probs, -1)


def _evaluate(spec, params, x, y, weight):
    """As steps.make_eval_step, plus each row's predicted class."""
    logits = apply(spec, params, to_float(x))
    predicted = jnp.argmax(logits, -1)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    correct = (predicted == y).astype(jnp.float32)
    return (losses * weight).sum(), (correct * weight).sum(), predicted


def main_weight(layer) -> str:
    """The weight the views show of a layer: a kernel, or BatchNorm's scale gamma."""
    return "gamma" if isinstance(layer, BatchNorm) else "kernel"


def _kernel_gradients(spec, layers, params, x, y):
    """d(mean loss)/d(main weight) of `layers` on one batch, without dropout (so it is
    reproducible); zero for a frozen layer, as in the train step (no update)."""
    def loss(p):
        p = [jax.lax.stop_gradient(w) if is_frozen(layer) else w
             for layer, w in zip(spec.layers, p, strict=True)]
        logits = apply(spec, p, to_float(x))
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    grads = jax.grad(loss)(params)
    return {i: grads[i][main_weight(spec.layers[i])] for i in layers}


def _copy_kernels(spec, layers, params):
    """Copies on the device: a train step dispatched later donates (frees) `params`."""
    return {i: jnp.copy(params[i][main_weight(spec.layers[i])]) for i in layers}


# -- numpy: scaling, tiling, statistics --------------------------------------------------

def layer_maps(name: str, values: np.ndarray) -> LayerMaps:
    """A layer's output (H, W, C) or (D,) as mosaics, layer-wide and per channel."""
    lo, hi = float(values.min()), float(values.max())
    if values.ndim == 3:
        c_lo, c_hi = values.min(axis=(0, 1)), values.max(axis=(0, 1))
        return LayerMaps(name, values, channel_mosaic(values, lo, hi),
                         channel_mosaic(values, c_lo, c_hi), lo, hi, c_lo, c_hi)
    strip = vector_strip(values, lo, hi)
    return LayerMaps(name, values, strip, strip, lo, hi, np.array([lo]), np.array([hi]))


def histogram(x: np.ndarray, symmetric: bool) -> Histogram:
    """BINS bins over [-m, m] (signed data: weights, gradients) or [min, max] of the
    finite values. In float64: the width of a float32 range can overflow float32 (a
    weight of 3e38 beside one of -3e38), and numpy's binning then fails."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]  # an overflowing activation (inf, nan) has no bin
    m = symmetric_range(x) or 1.0
    lo, hi = (-m, m) if symmetric else (float(x.min(initial=0.0)), float(x.max(initial=0.0)))
    counts, edges = np.histogram(x, BINS, (lo, hi) if hi > lo else None)
    return Histogram(counts, edges)


def confusion_from(true: np.ndarray, predicted: np.ndarray, images: np.ndarray,
                   num_classes: int, epoch: int | None) -> Confusion:
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (true, predicted), 1)
    rows = counts.sum(axis=1, keepdims=True)
    fractions = counts / np.maximum(rows, 1)  # how each true class's images were spread
    return Confusion(true, predicted, counts, to_uint8(fractions, 0.0, 1.0), images, epoch)


@dataclass(frozen=True, eq=False)
class Request:
    """Views asked of the device for the weights after `step`, not fetched yet: the
    arrays are the device's (futures, while it still computes them)."""

    step: int
    epoch: int
    probe: ProbeImage
    image: np.ndarray  # the probe image as the network takes it
    outputs: Any  # (probabilities, [each layer's output])
    kernels: dict[int, Any]  # the asked-for layers' kernels
    grads: dict[int, Any] | None  # the weighted layers' kernel gradients, if asked for
    grid: Any | None  # (predicted class, its probability) of the test grid, if asked for
    weights: Any = None  # every layer's weights (the step-through works from them)


def _frozen(tree):
    """Host copies that nobody writes to again (snapshots are shared between threads)."""
    def freeze(a):
        a = np.array(a, copy=True)
        a.flags.writeable = False
        return a
    return jax.tree.map(freeze, jax.device_get(tree))


class Prober:
    """Computes view data for one network and dataset (jitted once per input shape)."""

    def __init__(self, spec: NetworkSpec, dataset: Dataset, grid_size: int = GRID_SIZE):
        spec.check(dataset.num_classes)
        self.spec, self.dataset = spec, dataset
        self.names = spec.names
        self.weighted = [i for i, layer in enumerate(spec.layers)
                         if isinstance(layer, WEIGHTED)]
        self.frozen = {i for i in self.weighted if is_frozen(spec.layers[i])}
        self.convs = [i for i in self.weighted if isinstance(spec.layers[i], Conv2D)]
        self._probe = jax.jit(partial(_probe, spec))
        self._predict = jax.jit(partial(_predict, spec))
        self._evaluate = jax.jit(partial(_evaluate, spec))
        self._kernel_gradients = jax.jit(partial(_kernel_gradients, spec, self.weighted))
        self._copy_kernels = jax.jit(partial(_copy_kernels, spec), static_argnums=0)
        self._copy_weights = jax.jit(partial(jax.tree.map, jnp.copy))  # see _copy_kernels
        pool_x, pool_y = (dataset.x_test, dataset.y_test) if len(dataset.x_test) else (
            dataset.x_val, dataset.y_val)
        self._grid_idx = np.sort(np.random.default_rng(0).permutation(len(pool_x))[:grid_size])
        self._grid_x, self._grid_y = pool_x[self._grid_idx], pool_y[self._grid_idx]
        self._grid_picture = image_mosaic(self._grid_x, cols=8) if len(self._grid_x) else None
        self.ready = threading.Event()  # set once warm_up has compiled every part

    def warm_up(self, params: Params, batch_size: int) -> None:
        """Compile every part on a helper thread by calling it once on zeros, so the
        trainer can keep training meanwhile (see Trainer._views). Not a daemon thread:
        the interpreter must not exit while XLA compiles."""
        zeros = jax.tree.map(lambda a: np.zeros(np.shape(a), np.float32), params)
        image = ProbeImage(np.zeros(self.spec.input_shape, self.dataset.x_train.dtype))
        batch = self.fixed_batch(batch_size)
        val_batch = next(padded_batches(self.dataset.x_val, self.dataset.y_val.astype(np.int32)),
                         None)

        def run():
            for layers in (self.convs, self.weighted):  # the two kernel sets asked for
                self.fetch(self.request(zeros, image, 0, 0, layers, batch, grid=True))
            if val_batch is not None:
                self._evaluate(zeros, *val_batch[:3])
            self.ready.set()

        threading.Thread(target=run, name="cnnviz-probe-compile").start()

    # -- asking and fetching -------------------------------------------------------------
    def request(self, params: Params, probe: ProbeImage, step: int, epoch: int,
                kernels: list[int], gradient_batch: tuple[np.ndarray, np.ndarray] | None = None,
                grid: bool = False) -> Request:
        """Dispatch what the views need for `params` (the weights after `step`): the
        probe's activations, the kernels of the layers `kernels`, the kernel gradients on
        `gradient_batch` (x, y) and the test grid's predictions when asked. Returns at
        once; `fetch` waits for the results."""
        image = probe.image
        if image.dtype != self.dataset.x_train.dtype:  # a drawing (uint8) for float data
            image = image.astype(np.float32) / 255.0
        grads = None
        if gradient_batch is not None:
            x, y = gradient_batch
            grads = self._kernel_gradients(params, x, y.astype(np.int32))
        return Request(step, epoch, probe, image, self._probe(params, image[None]),
                       self._copy_kernels(tuple(kernels), params), grads,
                       self._predict(params, self._grid_x) if grid and self._grid_picture
                       is not None else None, self._copy_weights(params))

    def fetch(self, request: Request) -> tuple[ProbeResult, dict[int, np.ndarray],
                                               dict[int, np.ndarray] | None,
                                               PredictionGrid | None]:
        """(the probe's result, kernels, gradients, test grid) of a request, on the host."""
        (probs, outputs), kernels, grads, grid, weights = _frozen(
            (request.outputs, request.kernels, request.grads, request.grid, request.weights))
        layers = tuple(layer_maps(name, out) for name, out in zip(self.names, outputs,
                                                                    strict=True))
        result = ProbeResult(request.probe, image_mosaic(request.image[None]), probs, layers,
                             tuple(weights))
        if grid is not None:
            grid = PredictionGrid(self._grid_picture, self._grid_idx, self._grid_y, *grid)
        return result, kernels, grads, grid

    def filters(self, kernels: dict[int, np.ndarray],
                grads: dict[int, np.ndarray] | None = None) -> tuple[LayerFilters, ...]:
        out = []
        for i in self.convs:
            kernel = kernels[i]
            rgb = i == 0 and kernel.shape[2] == 3
            m = symmetric_range(kernel)
            frozen = i in self.frozen
            layer = LayerFilters(self.names[i], kernel, kernel_mosaic(kernel, m, rgb), m, rgb,
                                 frozen=frozen)
            if grads is not None:
                g = grads[i]  # a frozen layer's is 0: it gets no update
                gm = symmetric_range(g)
                layer = LayerFilters(layer.name, kernel, layer.weights, m, rgb, g,
                                     kernel_mosaic(g, gm, rgb), gm, frozen)
            out.append(layer)
        return tuple(out)

    def stats(self, kernels: dict[int, np.ndarray], grads: dict[int, np.ndarray] | None,
              probe: ProbeResult) -> tuple[LayerStats, ...]:
        weight_norms, gradient_norms = self.norms(kernels), self.norms(grads, gradient=True)
        return tuple(LayerStats(
            self.names[i], weight_norms[self.names[i]], histogram(kernels[i], symmetric=True),
            histogram(probe.layers[i].values, symmetric=False),
            None if grads is None else gradient_norms[self.names[i]],
            None if grads is None else histogram(grads[i], symmetric=True),
            self._state(i, probe), i in self.frozen)
            for i in self.weighted)

    def _state(self, i: int, probe: ProbeResult) -> tuple[tuple[str, Histogram], ...]:
        """A BatchNorm's other arrays (gamma is its main weight): beta and the moving
        averages, from the weights that computed the probe."""
        if not isinstance(self.spec.layers[i], BatchNorm) or probe.weights is None:
            return ()
        weights = probe.weights[i]
        return tuple((name, histogram(weights[name], symmetric=name == "beta"))
                     for name in ("beta", "moving_mean", "moving_variance"))

    def evaluate(self, params: Params, epoch: int | None = None
                 ) -> tuple[float, float, Confusion | None]:
        """(mean loss, accuracy, confusion matrix) on the validation set; nan, nan, None
        when it is empty."""
        x, y = self.dataset.x_val, self.dataset.y_val
        if len(x) == 0:
            return float("nan"), float("nan"), None
        loss = correct = 0.0
        predicted = []
        for xb, yb, weight, n in padded_batches(x, y.astype(np.int32)):
            ls, c, p = self._evaluate(params, xb, yb, weight)
            loss, correct = loss + float(ls), correct + float(c)
            predicted.append(np.asarray(p)[:n])
        confusion = confusion_from(y, np.concatenate(predicted), x, self.dataset.num_classes,
                                   epoch)
        return loss / len(x), correct / len(x), confusion

    def norms(self, tensors: dict[int, np.ndarray] | None, gradient: bool = False
              ) -> dict[str, float]:
        """L2 norm of each weighted layer's tensor (nan for all when there are none; for
        a frozen layer's gradient, which is no update, nan too)."""
        return {self.names[i]: np.nan if tensors is None or (gradient and i in self.frozen)
                else float(np.linalg.norm(tensors[i])) for i in self.weighted}

    def frame(self, step: int, epoch: int, loss: float | None, accuracy: float | None,
              probe: ProbeResult, filters: tuple[LayerFilters, ...],
              kernels: dict[int, np.ndarray], grads: dict[int, np.ndarray] | None) -> Frame:
        return Frame(
            step, epoch, np.nan if loss is None else loss,
            np.nan if accuracy is None else accuracy,
            filters={f.name: f.weights for f in filters},
            maps={"input": probe.picture, **{m.name: m.shared for m in probe.layers}},
            weight_norms=self.norms(kernels), gradient_norms=self.norms(grads, gradient=True))

    # -- everything at once ----------------------------------------------------------------
    def fixed_batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        return fixed_batch(self.dataset, size)

    def views_at_rest(self, params: Params, probe: ProbeImage, step: int,
                      batch_size: int, *, probe_only: bool = False) -> Views:
        """Every view's data for weights that are not training (before a run, paused,
        after it): the gradient on a fixed batch, the confusion matrix included. With
        `probe_only` (another probe image for the weights of the last Views), what does
        not depend on the probe is left out (None): the test grid's predictions and the
        confusion matrix, which evaluates the whole validation set."""
        result, kernels, grads, grid = self.fetch(self.request(
            params, probe, step, 0, self.weighted, self.fixed_batch(batch_size),
            grid=not probe_only))
        confusion = None if probe_only else self.evaluate(params)[2]
        return Views(step, self.dataset.class_names, result, self.filters(kernels, grads),
                     self.stats(kernels, grads, result), grid, confusion)
