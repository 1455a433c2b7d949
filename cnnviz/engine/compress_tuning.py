"""Fine-tuning a compressed network with the ordinary Trainer: the compression is held by
the optimizer, so the train step itself is untouched.

- Pruned: `hold_masks` zeroes every update where a mask is 0, so a pruned weight that
  starts at zero stays exactly zero through any number of steps.
- Quantized (quantization-aware training): `quantization_aware` keeps float "shadow"
  weights in its state and hands the trainer their grid values q(w). The gradient is
  taken at q(w) and applied to w as if q were the identity: the straight-through
  estimator. Small updates accumulate in w until they move q(w) a grid step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnnviz.core.compression import (
    GLOBAL,
    Masks,
    Weights,
    apply_masks,
    magnitude_masks,
    prune_schedule,
    structured_prune,
)
from cnnviz.core.config import TrainConfig
from cnnviz.core.history import History
from cnnviz.core.network import NetworkSpec
from cnnviz.core.quantization import QMAX
from cnnviz.core.snapshot import Snapshot
from cnnviz.data.dataset import Dataset
from cnnviz.engine.trainer import Trainer


def _device_masks(masks: Masks):
    return [{"kernel": jnp.asarray(m["kernel"], bool)} if m else {} for m in masks]


def _masked(updates, masks):
    """Updates with 0 wherever the mask is 0 (a where, not a product: 0 * inf is nan)."""
    return [{k: jnp.where(m[k], u, 0) if k in m else u for k, u in layer.items()}
            for layer, m in zip(updates, masks, strict=True)]


def hold_masks(optimizer: optax.GradientTransformation, masks: Masks
               ) -> optax.GradientTransformation:
    """`optimizer` with its updates zeroed where the masks are 0. Its state is the inner
    optimizer's own, so a live learning-rate change still works."""
    device = _device_masks(masks)

    def update(grads, state, params=None):
        updates, state = optimizer.update(grads, state, params)
        return _masked(updates, device), state

    return optax.GradientTransformation(optimizer.init, update)


def grid_values(params, scales: list[jax.Array | None]):
    """Each kernel with a scale on its int8 grid: clip(round(w / s), -127, 127) * s."""
    return [{**p, "kernel": jnp.clip(jnp.round(p["kernel"] / s), -QMAX, QMAX) * s}
            if s is not None else p for p, s in zip(params, scales, strict=True)]


@jax.tree_util.register_pytree_node_class
class QatState:
    """A quantization-aware optimizer's state: the inner optimizer's and the float shadow
    weights. It answers for the inner state's hyper-parameters, so that a learning rate
    changed live (steps.set_learning_rate) reaches the inner optimizer."""

    def __init__(self, inner, shadow):
        self.inner, self.shadow = inner, shadow

    @property
    def hyperparams(self):
        return self.inner.hyperparams

    def _replace(self, **changes) -> QatState:
        return QatState(self.inner._replace(**changes), self.shadow)

    def tree_flatten(self):
        return (self.inner, self.shadow), None

    @classmethod
    def tree_unflatten(cls, _, children) -> QatState:
        return cls(*children)


def quantization_aware(optimizer: optax.GradientTransformation,
                       scales: list[np.ndarray | None], masks: Masks | None = None
                       ) -> optax.GradientTransformation:
    """Straight-through quantization-aware training: the state (QatState) holds the
    inner optimizer's state and the float shadow weights; each update moves the shadow
    by the inner optimizer's step (held at zero where a mask is 0) and the trainer's
    weights to the shadow's grid values. `scales`: per layer, the int8 weight scale
    (fixed), or None for a layer left in float."""
    scales = [None if s is None else jnp.asarray(s, jnp.float32) for s in scales]
    device = None if masks is None else _device_masks(masks)

    def init(params):
        return QatState(optimizer.init(params), params)

    def update(grads, state, params=None):
        updates, inner = optimizer.update(grads, state.inner, state.shadow)
        if device is not None:
            updates = _masked(updates, device)
        shadow = optax.apply_updates(state.shadow, updates)
        return (jax.tree.map(jnp.subtract, grid_values(shadow, scales), params),
                QatState(inner, shadow))

    return optax.GradientTransformation(init, update)


def masked_trainer(spec: NetworkSpec, dataset: Dataset, config: TrainConfig, weights: Weights,
                   masks: Masks, history: History | None = None, **options) -> Trainer:
    """A Trainer that fine-tunes the pruned `weights` with their masks held."""
    trainer = Trainer(spec, dataset, config, params=jax.tree.map(
        jnp.asarray, apply_masks(weights, masks)), history=history, **options)
    trainer.optimizer = hold_masks(trainer.optimizer, masks)  # the same state: no re-init
    return trainer


def quantization_aware_trainer(spec: NetworkSpec, dataset: Dataset, config: TrainConfig,
                               weights: Weights, scales: dict[str, np.ndarray],
                               masks: Masks | None = None, **options) -> Trainer:
    """A Trainer that fine-tunes `weights` through their int8 grid (`scales` per layer
    name); `qat_weights` gives the result."""
    per_layer = [scales.get(name) for name in spec.names]
    shadow = jax.tree.map(jnp.asarray, weights if masks is None else apply_masks(weights,
                                                                                 masks))
    start = grid_values(shadow, [None if s is None else jnp.asarray(s) for s in per_layer])
    # a copy: the trainer donates its weights to each step, and they must not share a
    # buffer with the shadow (a bias is the same array in both)
    trainer = Trainer(spec, dataset, config, params=jax.tree.map(jnp.copy, start), **options)
    trainer.optimizer = quantization_aware(trainer.optimizer, per_layer, masks)
    trainer.opt_state = trainer.optimizer.init(shadow)
    return trainer


def qat_shadow(trainer: Trainer) -> Weights:
    """The float shadow weights of a quantization-aware run (quantize them with the
    run's scales for the exact grid values)."""
    return [{k: np.array(v) for k, v in layer.items()} for layer in trainer.opt_state.shadow]


# -- prune, fine-tune, repeat --------------------------------------------------------------------

@dataclass(frozen=True)
class Round:
    """One round of an iterative prune: its target sparsity, and the network after the
    prune and its fine-tuning (masks are None for a structured prune)."""

    index: int
    rounds: int
    sparsity: float
    spec: NetworkSpec
    weights: Weights
    masks: Masks | None
    history: History


def prune_and_fine_tune(spec: NetworkSpec, dataset: Dataset, config: TrainConfig,
                        weights: Weights, sparsity: float, *, epochs: int, rounds: int = 1,
                        scope: str = GLOBAL, layers: list[str] | None = None,
                        structured: bool = False, **options) -> Iterator[Snapshot | Round]:
    """Prune towards `sparsity` in `rounds` equal steps, fine-tuning `epochs` epochs
    after each (none when 0): yields the fine-tuning's snapshots and a Round after each
    round. Unstructured masks only grow (a weight once pruned stays pruned); a
    structured round removes its share of the filters that are left."""
    history, masks, left = History(), None, 1.0
    for i, target in enumerate(prune_schedule(sparsity, rounds)):
        if structured:
            step = 1 - (1 - target) / left  # of the filters left, the share to go now
            pruned = structured_prune(spec, weights, max(step, 0.0), layers)
            spec, weights, left = pruned.spec, pruned.weights, 1 - target
        else:
            new = magnitude_masks(spec, weights, target, scope, layers)
            masks = new if masks is None else [
                {"kernel": m["kernel"] & n["kernel"]} if m else {} for m, n in zip(
                    masks, new, strict=True)]
            weights = apply_masks(weights, masks)
        if epochs:
            tuning = replace(config, epochs=epochs * (i + 1))
            trainer = (Trainer(spec, dataset, tuning, params=jax.tree.map(jnp.asarray, weights),
                               history=history, **options) if masks is None else
                       masked_trainer(spec, dataset, tuning, weights, masks, history, **options))
            yield from trainer.run()
            weights = trainer.numpy_params()
        yield Round(i, rounds, target, spec, weights, masks, history)
