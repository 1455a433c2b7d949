"""Pruning in numbers: which weights a magnitude or filter-norm rule removes, how sparse
that leaves each layer, what the network then costs in bytes and multiply-adds, and
where a sensitivity curve's knee lies.

Weights are a list with one dict per layer, as the engine keeps them (numpy here):
``{"kernel", "bias"}`` for Conv2D (kernel (K, K, C, F)) and Dense (kernel (D, U)), ``{}``
otherwise. A mask is the same list with a boolean ``"kernel"`` (True: the weight stays)
for each pruned layer. Biases are never pruned: they are few and cost no multiply.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

from cnnviz.core.i18n import Message
from cnnviz.core.layers import BatchNorm, Conv2D, Dense, Flatten
from cnnviz.core.network import NetworkSpec

Weights = list[dict[str, np.ndarray]]
Masks = list[dict[str, np.ndarray]]

GLOBAL, PER_LAYER = "global", "layer"
SCOPES = (GLOBAL, PER_LAYER)
# The sensitivity sweep's sparsities: 12 levels, finer where networks usually break.
SWEEP_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
KNEE_DROP = 0.01  # a knee: the last level before accuracy falls more than 1 point


class CompressionError(ValueError):
    """A compression request that cannot be carried out, said in one line."""


def check_sparsity(sparsity: object) -> float:
    """The sparsity as a float, or CompressionError if it is not in [0, 1)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float) or not (
            0 <= sparsity < 1):
        raise CompressionError(Message("sparsity must be at least 0 and below 1 (0.8 prunes 80 %), "
                                       "got {value}", value=sparsity))
    return float(sparsity)


def weighted_layers(spec: NetworkSpec) -> list[str]:
    """The names of the layers with a kernel (Conv2D, Dense), in order."""
    return [name for name, layer in zip(spec.names, spec.layers, strict=True)
            if isinstance(layer, Conv2D | Dense)]


def check_layers(spec: NetworkSpec, layers: list[str] | tuple[str, ...] | None) -> list[str]:
    """`layers` (all weighted layers when None), or CompressionError naming one that the
    network does not have (or that has no weights)."""
    known = weighted_layers(spec)
    if layers is None:
        return known
    for name in layers:
        if name not in known:
            raise CompressionError(Message("the network has no weighted layer {name} (it has: "
                                           "{known})", name=name, known=", ".join(known)))
    return [name for name in known if name in layers]


def _count(sparsity: float, n: int) -> int:
    """How many of n weights a sparsity removes: the nearest whole number (halves up)."""
    return min(n, math.floor(sparsity * n + 0.5))


def _smallest(values: np.ndarray, k: int) -> np.ndarray:
    """A boolean mask of exactly the k smallest values; ties are broken by position (the
    first ones go first), so the count never depends on ties."""
    drop = np.zeros(values.size, bool)
    drop[np.argsort(values, kind="stable")[:k]] = True
    return drop


def magnitude_masks(spec: NetworkSpec, weights: Weights, sparsity: float,
                    scope: str = GLOBAL, layers: list[str] | None = None) -> Masks:
    """Masks that remove the `sparsity` fraction of smallest-magnitude kernel weights:
    over all chosen layers together (GLOBAL: one threshold) or in each chosen layer
    alone (PER_LAYER). Exactly round(sparsity * n) weights go; a layer not chosen keeps
    all of its weights."""
    sparsity = check_sparsity(sparsity)
    if scope not in SCOPES:
        raise CompressionError(Message("scope must be global or layer, got {scope}", scope=scope))
    chosen = check_layers(spec, layers)
    masks: Masks = [{"kernel": np.ones(w["kernel"].shape, bool)} if "kernel" in w else {}
                    for w in weights]
    index = {name: i for i, name in enumerate(spec.names)}
    groups = [chosen] if scope == GLOBAL else [[name] for name in chosen]
    for group in groups:
        magnitudes = [np.abs(weights[index[name]]["kernel"]).ravel() for name in group]
        if not magnitudes:
            continue
        flat = np.concatenate(magnitudes)
        drop = _smallest(flat, _count(sparsity, flat.size))
        for name, part in zip(group, np.split(drop, np.cumsum([m.size for m in magnitudes])),
                              strict=False):
            mask = masks[index[name]]["kernel"]
            mask &= ~part.reshape(mask.shape)
    return masks


def prune_schedule(sparsity: float, rounds: int) -> list[float]:
    """The sparsity after each round of an iterative prune: equal steps up to
    `sparsity` (prune a bit, fine-tune, repeat)."""
    sparsity = check_sparsity(sparsity)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise CompressionError(Message("rounds must be a whole number of at least 1, got {value}",
                                       value=rounds))
    return [sparsity * (r + 1) / rounds for r in range(rounds)]


def apply_masks(weights: Weights, masks: Masks) -> Weights:
    """The weights with every masked-out kernel weight set to exactly zero."""
    return [{k: np.where(m[k], v, np.float32(0)) if k in m else v for k, v in w.items()}
            for w, m in zip(weights, masks, strict=True)]


@dataclass(frozen=True)
class LayerSparsity:
    name: str
    weights: int  # kernel weights
    zeros: int

    @property
    def sparsity(self) -> float:
        return self.zeros / self.weights if self.weights else 0.0


def layer_sparsity(spec: NetworkSpec, weights: Weights) -> list[LayerSparsity]:
    """Each weighted layer's count of kernel weights that are exactly zero; of masks
    (False == 0), the count pruned."""
    return [LayerSparsity(name, w["kernel"].size, int(np.count_nonzero(w["kernel"] == 0)))
            for name, w in zip(spec.names, weights, strict=True) if "kernel" in w]


def total_sparsity(rows: list[LayerSparsity]) -> float:
    total = sum(r.weights for r in rows)
    return sum(r.zeros for r in rows) / total if total else 0.0


# -- structured pruning -------------------------------------------------------------------

def filter_norms(kernel: np.ndarray) -> np.ndarray:
    """The L1 norm of each output filter (conv) or unit (dense): sum of |w| over all but
    the last axis. (K, K, C, F) -> (F,); (D, U) -> (U,)."""
    return np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0, dtype=np.float64)


def kept_filters(kernel: np.ndarray, sparsity: float) -> np.ndarray:
    """The indices (ascending) of the filters a structured prune keeps: all but the
    round(sparsity * F) of smallest L1 norm (ties: the first go first), at least one."""
    norms = filter_norms(kernel)
    drop = _smallest(norms, min(_count(sparsity, norms.size), norms.size - 1))
    return np.flatnonzero(~drop)


@dataclass(frozen=True)
class Structured:
    """A network with whole filters removed: the smaller spec, its weights, and for each
    pruned layer the original indices of the filters it kept."""

    spec: NetworkSpec
    weights: Weights
    kept: dict[str, np.ndarray]


def structured_prune(spec: NetworkSpec, weights: Weights, sparsity: float,
                     layers: list[str] | None = None) -> Structured:
    """Remove the `sparsity` fraction of each chosen layer's filters (conv) or units
    (dense) of smallest L1 norm. The layer shrinks, and so does the input axis of the
    next weighted layer (through pooling, dropout, Flatten and GlobalAvgPool). The
    output layer is never pruned: its units are the classes."""
    sparsity = check_sparsity(sparsity)
    chosen = set(check_layers(spec, layers)) - {weighted_layers(spec)[-1]}
    analysis = spec.check()
    new_layers, new_weights, kept_by_layer = [], [], {}
    kept: np.ndarray | None = None  # channels of the current activation that remain
    for info, w in zip(analysis.layers, weights, strict=True):
        layer, w = info.layer, dict(w)
        if isinstance(layer, Flatten) and kept is not None:
            h, wd, c = info.in_shape
            kept = (np.arange(h * wd)[:, None] * c + kept[None, :]).ravel()  # row-major
        # pooling, dropout and GlobalAvgPool keep the channels in their order; a
        # BatchNorm keeps them too, and keeps only the arrays of those that remain
        if isinstance(layer, BatchNorm) and kept is not None:
            w = {name: values[kept] for name, values in w.items()}
        if "kernel" in w:
            if kept is not None:  # the previous layer lost inputs of this one
                w["kernel"] = np.take(w["kernel"], kept, axis=-2)
            kept = None
            if info.name in chosen:
                kept = kept_filters(w["kernel"], sparsity)
                kept_by_layer[info.name] = kept
                w = {"kernel": w["kernel"][..., kept], "bias": w["bias"][kept]}
                size = {"filters": len(kept)} if isinstance(layer, Conv2D) else {
                    "units": len(kept)}
                layer = replace(layer, **size)
        new_layers.append(layer)
        new_weights.append(w)
    return Structured(NetworkSpec(spec.input_shape, tuple(new_layers)), new_weights,
                      kept_by_layer)


# -- what a network costs ------------------------------------------------------------------

FLOAT32_BYTES = 4


def float_bytes(weights: Weights) -> int:
    """Bytes of every weight stored as float32."""
    return sum(v.size for w in weights for v in w.values()) * FLOAT32_BYTES


def deflated_bytes(weights: Weights) -> int:
    """Bytes of the float32 weights once deflated (zip's compression, which project files
    use): measured, not estimated. Zeros compress; a dense float barely does."""
    raw = b"".join(np.ascontiguousarray(v, np.float32).tobytes()
                   for w in weights for v in w.values())
    return len(zlib.compress(raw, 6))


def total_macs(spec: NetworkSpec) -> int:
    """Multiply-adds for one image, as dense compute does them (zeros included)."""
    return spec.check().total_macs


def knee(levels: tuple[float, ...] | list[float], accuracies: list[float],
         drop: float = KNEE_DROP) -> float | None:
    """The last level before accuracy first falls more than `drop` below the first
    level's (the unpruned accuracy): the most pruning that costs at most `drop`. The
    first level if the second already falls that far; None without levels."""
    last = None
    for level, accuracy in zip(levels, accuracies, strict=True):
        if accuracy < accuracies[0] - drop:
            break
        last = level
    return last


@dataclass(frozen=True)
class Sweep:
    """A sensitivity sweep: accuracy and loss at each sparsity level, for the whole
    network ("all", one global threshold) and for each weighted layer pruned alone."""

    levels: tuple[float, ...]
    accuracy: dict[str, list[float]]
    loss: dict[str, list[float]]
    seconds: float = 0.0

    def knees(self, drop: float = KNEE_DROP) -> dict[str, float | None]:
        return {name: knee(self.levels, acc, drop) for name, acc in self.accuracy.items()}


ALL_LAYERS = "all"
