"""What the Compress workspace shows while its slider moves: a prune measured at once on
the evaluation images (one compiled evaluation per network shape, the masks its inputs),
and the speed of the unpruned, zeroed and filter-removed networks side by side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.compression import (
    GLOBAL,
    Masks,
    Weights,
    apply_masks,
    deflated_bytes,
    layer_sparsity,
    magnitude_masks,
    structured_prune,
    total_macs,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.engine.compress import Evaluator, images_per_second


class Evaluators:
    """An Evaluator per network shape on one set of images (a structured prune makes a
    new shape; a few are kept, each compiles once), and the unpruned network's figures
    for the last weights asked about."""

    KEEP = 4

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y
        self._evaluators: dict[NetworkSpec, Evaluator] = {}
        self._base: tuple[NetworkSpec, Weights, tuple[float, float, int]] | None = None

    def __call__(self, spec: NetworkSpec) -> Evaluator:
        if spec not in self._evaluators:
            if len(self._evaluators) >= self.KEEP:
                self._evaluators.pop(next(iter(self._evaluators)))
            self._evaluators[spec] = Evaluator(spec, self.x, self.y)
        return self._evaluators[spec]

    def base(self, spec: NetworkSpec, weights: Weights) -> tuple[float, float, int]:
        """(loss, accuracy, deflated bytes) of the unpruned network; computed once per
        weights object."""
        if self._base is None or self._base[0] != spec or self._base[1] is not weights:
            self._base = (spec, weights, (*self(spec)(weights), deflated_bytes(weights)))
        return self._base[2]


@dataclass(frozen=True)
class PrunePreview:
    """A prune as the slider sets it, measured at once: the pruned network, its loss and
    accuracy beside the unpruned ones, each layer's share of kernel weights gone, the
    deflated bytes and multiply-adds before and after."""

    sparsity: float
    structured: bool
    spec: NetworkSpec
    weights: Weights
    masks: Masks | None
    loss: float
    accuracy: float
    base_loss: float
    base_accuracy: float
    layer_sparsity: dict[str, float]
    bytes_before: int
    bytes_after: int
    macs_before: int
    macs_after: int


def preview_prune(evaluators: Evaluators, spec: NetworkSpec, weights: Weights,
                  sparsity: float, scope: str = GLOBAL, layers: list[str] | None = None,
                  structured: bool = False) -> PrunePreview:
    """Prune and evaluate at once (masks as inputs: no compile after the first); the
    figures the host works out while JAX evaluates."""
    if structured:
        pruned = structured_prune(spec, weights, sparsity, layers)
        new_spec, new_weights, masks = pruned.spec, pruned.weights, None
        evaluator = evaluators(new_spec)
        pending = evaluator.dispatch(new_weights)
        before = {r.name: r.weights for r in layer_sparsity(spec, weights)}
        gone = {r.name: 1 - r.weights / before[r.name]
                for r in layer_sparsity(new_spec, new_weights)}
    else:
        masks = magnitude_masks(spec, weights, sparsity, scope, layers)
        new_spec, new_weights = spec, apply_masks(weights, masks)
        evaluator = evaluators(spec)
        pending = evaluator.dispatch(weights, masks)
        gone = {r.name: r.sparsity for r in layer_sparsity(spec, new_weights)}
    bytes_after = deflated_bytes(new_weights)
    base_loss, base_accuracy, bytes_before = evaluators.base(spec, weights)
    loss, accuracy = evaluator.result(pending)
    return PrunePreview(sparsity, structured, new_spec, new_weights, masks, loss, accuracy,
                        base_loss, base_accuracy, gone, bytes_before, bytes_after,
                        total_macs(spec), total_macs(new_spec))


@dataclass(frozen=True)
class SpeedRow:
    """One variant in the speed comparison: its network (shapes), kernel weights that
    are not zero, multiply-adds per image, measured images per second, accuracy."""

    label: str
    spec: NetworkSpec
    nonzero: int
    macs: int
    images_per_second: float
    accuracy: float


def compare_speed(evaluators: Evaluators, spec: NetworkSpec, weights: Weights,
                  sparsity: float, layers: list[str] | None = None) -> list[SpeedRow]:
    """The unpruned network, the same with `sparsity` of single weights set to zero, and
    with that share of whole filters removed: measured side by side, one after another."""
    masks = magnitude_masks(spec, weights, sparsity, GLOBAL, layers)
    structured = structured_prune(spec, weights, sparsity, layers)
    variants = [("unpruned", spec, weights), ("unstructured", spec, apply_masks(weights, masks)),
                ("structured", structured.spec, structured.weights)]
    speeds = images_per_second([(net, values) for _, net, values in variants])
    return [SpeedRow(label, net, sum(int(np.count_nonzero(w["kernel"])) for w in values if w),
                     total_macs(net), speed, evaluators(net)(values)[1])
            for (label, net, values), speed in zip(variants, speeds, strict=True)]
