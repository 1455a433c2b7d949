"""The jitted training and evaluation steps.

One jit region per dispatch does everything for ``k`` consecutive steps: gather the
batch from the device-resident training set by index, scale, augment, forward, softmax
cross-entropy, backward, optimizer update. The learning rate lives in the optimizer
state (``optax.inject_hyperparams``), so changing it never recompiles; a schedule hands
each step its own rate (core.schedules works them out), as an array.

Frozen layers (trainable False) are not differentiated at all (their weights enter the
forward pass through stop_gradient, so XLA never computes their gradients), their
updates are set to zero (optax.set_to_zero on a label tree) and their arrays pass
through a step unchanged. BatchNorm's moving averages are no gradient's business
either: the forward pass returns them, and the step writes them back.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import optax

from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import BatchNorm
from cnnviz.core.network import NetworkSpec, frozen_layers
from cnnviz.engine.model import MOVING, apply, apply_train, to_float
from cnnviz.engine.tuning import MAX_SLICES, spec_call_images, spec_slice_images

# Keras' Adam epsilon (optax's default is 1e-8), so runs match Keras'.
ADAM_EPS = 1e-7


def batch_slices(batch_size: int, slice_images: int | None) -> list[tuple[int, int]]:
    """(start, stop) of the slices a batch's gradient is summed over: at most
    tuning.MAX_SLICES of at least `slice_images` images each (one slice when None), as
    equal as can be."""
    count = 1 if slice_images is None else max(1, min(MAX_SLICES, batch_size // slice_images))
    return _even(batch_size, count)


def batch_parts(batch_size: int, part_images: int | None) -> list[tuple[int, int]]:
    """(start, stop) of the parts a batch is computed in, one jitted call each: as few
    as hold at most `part_images` images each (one part when None), as equal as can be."""
    return _even(batch_size, 1 if part_images is None else -(-batch_size // part_images))


def _even(size: int, count: int) -> list[tuple[int, int]]:
    bounds = [round(i * size / count) for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


# Weight decay: decoupled (AdamW: the decay is added to the step after the adaptive
# scaling, so every kernel shrinks by the same lr * wd share) for the adaptive optimizers,
# Adam and RMSprop alike (an L2 term would be scaled down wherever gradients are large);
# L2 for SGD (the decay joins the gradient, momentum and all).
DECOUPLED = ("adam", "rmsprop")


def _layer_tree(params, fn, default: bool):
    """A tree of booleans shaped like `params`: fn(layer index, weight name) for the
    engine's list of per-layer dicts, `default` for any other tree."""
    if isinstance(params, list) and all(isinstance(p, dict) for p in params):
        return [{name: fn(i, name) for name in layer} for i, layer in enumerate(params)]
    return jax.tree.map(lambda _: default, params)


def _frozen_tree(frozen: tuple[bool, ...], params):
    """True where a weight is not trained: every weight of a frozen layer, and
    BatchNorm's moving averages."""
    return _layer_tree(params, lambda i, name: name in MOVING or (
        i < len(frozen) and frozen[i]), False)


def _decayed_tree(frozen: tuple[bool, ...], params):
    """True where weight decay applies: the kernels of the layers that train."""
    return _layer_tree(params, lambda i, name: name == "kernel" and not (
        i < len(frozen) and frozen[i]), False)


def make_optimizer(name: str, learning_rate: float, weight_decay: float = 0.0,
                   frozen: Sequence[bool] = ()) -> optax.GradientTransformation:
    """The optimizer `name` with the learning rate and the weight decay as hyper-parameters
    in its state (changed without recompiling). `frozen[i]`: layer i gets no update.
    Its state is inner_state = (the optimizer's own state, ...) in every case."""
    frozen = tuple(frozen)
    base = {"adam": lambda: optax.scale_by_adam(eps=ADAM_EPS),
            "sgd-momentum": lambda: optax.trace(decay=0.9),
            "rmsprop": lambda: optax.scale_by_rms(decay=0.9, eps=ADAM_EPS)}[name]

    def maker(learning_rate, weight_decay):
        decayed = partial(_decayed_tree, frozen)
        freeze = optax.masked(optax.set_to_zero(), partial(_frozen_tree, frozen))
        rate = optax.scale_by_learning_rate(learning_rate)
        if name in DECOUPLED:
            return optax.chain(base(), optax.add_decayed_weights(weight_decay, decayed), rate,
                               freeze)
        return optax.chain(_l2_then(base(), weight_decay, decayed), rate, freeze)

    return optax.inject_hyperparams(maker)(learning_rate=learning_rate,
                                           weight_decay=weight_decay)


def _l2_then(inner: optax.GradientTransformation, weight_decay, decayed
             ) -> optax.GradientTransformation:
    """`inner` fed the gradient of loss + weight_decay / 2 * sum(w^2) over the `decayed`
    weights: g + weight_decay * w. Its state is inner's own."""
    def update(grads, state, params=None):
        grads = jax.tree.map(lambda g, p, d: g + weight_decay * p if d else g, grads, params,
                             decayed(params))
        return inner.update(grads, state, params)

    return optax.GradientTransformation(inner.init, update)


def set_learning_rate(opt_state, learning_rate: float):
    """A copy of the optimizer state with another learning rate (same shapes: no recompile)."""
    hyper = dict(opt_state.hyperparams)
    hyper["learning_rate"] = jnp.asarray(learning_rate, hyper["learning_rate"].dtype)
    return opt_state._replace(hyperparams=hyper)


def loss_and_accuracy(logits, labels):
    """Mean softmax cross-entropy on integer labels, and the fraction predicted right."""
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return loss, (jnp.argmax(logits, -1) == labels).mean()


def make_train_step(spec: NetworkSpec, optimizer: optax.GradientTransformation,
                    augment: Sequence[str] = (), slice_images: int | None | str = "auto",
                    part_images: int | None | str = "auto"):
    """train_step(params, opt_state, x_all, y_all, idx (k, B), key, step0, rates=None) ->
    (params, opt_state, losses (k,), accuracies (k,)).

    A batch's gradient is summed over slices of `slice_images` images, one after the
    other ("auto": the size engine.tuning chooses for this network and machine; None: the
    batch in one pass). A batch of more than `part_images` ("auto": what tuning lets one
    call hold; None: no limit) is computed in parts, one jitted call each,
    whose gradients are summed before one optimizer update (`parted_step`).

    x_all (N, H, W, C) and y_all (N,) stay on the device for the whole run; each of the
    k steps gathers rows idx[i]. The PRNG key of step s is fold_in(key, s), so a run's
    randomness does not depend on how steps were grouped into dispatches. `rates` (k,):
    each step's learning rate (None: the one in opt_state).
    """
    augment = tuple(augment)
    if augment:
        from cnnviz.engine.augment import augment_batch
    frozen = frozen_layers(spec)
    # BatchNorm normalises with the statistics of the whole batch, as Keras does: a batch
    # is then one pass, not slices
    whole_batch = any(isinstance(layer, BatchNorm) and not f
                      for layer, f in zip(spec.layers, frozen, strict=True))
    if slice_images == "auto":
        slice_images = spec_slice_images(spec, jax.default_backend())
    if whole_batch:
        slice_images = None
    if part_images == "auto":
        part_images = spec_call_images(spec, slice_images)

    def loss_fn(params, x, y, key):
        params = [jax.lax.stop_gradient(p) if f else p for p, f in zip(params, frozen,
                                                                        strict=True)]
        logits, moving = apply_train(spec, params, x, key)
        loss, acc = loss_and_accuracy(logits, y)
        return loss, (acc, moving)

    def batch_gradient(params, x, y, key, batch_size=None, first_slice=None):
        """((mean loss, accuracy), gradient, BatchNorm's new moving averages) of the
        batch, summed slice by slice: the same numbers as one pass (up to float
        rounding), each slice weighted by its share of the batch. `x` may be one part of
        a batch of `batch_size` images whose slices are numbered from `first_slice`."""
        total, slices = None, batch_slices(x.shape[0], slice_images)
        batch_size = batch_size or x.shape[0]
        # a whole batch in one slice keeps the step's key (its runs stay as they were)
        whole = first_slice is None and len(slices) == 1
        first_slice = 0 if first_slice is None else first_slice
        moving = None
        for i, (start, stop) in enumerate(slices):
            weight = (stop - start) / batch_size
            if total is not None:  # one slice after the other: they share the caches
                params, total = jax.lax.optimization_barrier((params, total))
            slice_key = key if whole else jax.random.fold_in(key, first_slice + i)
            (loss, (acc, moving)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, x[start:stop], y[start:stop], slice_key)
            part = jax.tree.map(lambda t, w=weight: t * w, ((loss, acc), grads))
            total = part if total is None else jax.tree.map(jnp.add, total, part)
        return (*total, moving)

    def batch_of(x_all, y_all, batch_idx, step_key):
        """The images and labels of `batch_idx`, and the step's keys for augmentation
        and dropout."""
        aug_key, drop_key = jax.random.split(step_key)
        return to_float(x_all[batch_idx]), y_all[batch_idx], aug_key, drop_key

    def apply_gradient(params, opt_state, grads, moving):
        """The optimizer's step; a frozen layer's arrays go through as they are (bit for
        bit)."""
        updates, opt_state = optimizer.update(grads, opt_state, params)
        new = optax.apply_updates(params, updates)
        new = [old if f else {**p, **m} for old, p, m, f in zip(params, new, moving,
                                                                frozen, strict=True)]
        return new, opt_state

    @partial(jax.jit, donate_argnums=(0, 1))
    def train_step(params, opt_state, x_all, y_all, idx, key, step0, rates=None):
        def one_step(params, opt_state, batch_idx, step_key):
            x, y, aug_key, drop_key = batch_of(x_all, y_all, batch_idx, step_key)
            if augment:
                x = augment_batch(x, aug_key, augment)
            (loss, acc), grads, moving = batch_gradient(params, x, y, drop_key)
            params, opt_state = apply_gradient(params, opt_state, grads, moving)
            return params, opt_state, loss, acc

        # A Python loop, not lax.scan: XLA's CPU backend runs a while-loop body an
        # order of magnitude slower than the same ops at top level.
        losses, accs = [], []
        for i in range(idx.shape[0]):
            if rates is not None:
                opt_state = set_learning_rate(opt_state, rates[i])
            step_key = jax.random.fold_in(key, step0 + i)
            params, opt_state, loss, acc = one_step(params, opt_state, idx[i], step_key)
            losses.append(loss)
            accs.append(acc)
        return params, opt_state, jnp.stack(losses), jnp.stack(accs)

    @partial(jax.jit, static_argnames="size", donate_argnums=(1,))
    def part_gradient(params, total, x_all, y_all, idx, row, start, part, key, *, size):
        """`total` plus the gradient of one part of the batch idx[row]: `size` images from
        `start`, part number `part`."""
        part_idx = jax.lax.dynamic_slice_in_dim(idx[row], start, size)
        x, y, aug_key, drop_key = batch_of(x_all, y_all, part_idx, key)
        if augment:
            x = augment_batch(x, jax.random.fold_in(aug_key, part), augment)
        slices = len(batch_slices(size, slice_images))
        (loss, acc), grads, moving = batch_gradient(params, x, y, drop_key, idx.shape[1],
                                                    part * slices)
        summed = jax.tree.map(jnp.add, total, ((loss, acc), grads))
        return summed, moving

    @partial(jax.jit, donate_argnums=(0, 1))
    def parted_update(params, opt_state, total, moving, rate):
        if rate is not None:
            opt_state = set_learning_rate(opt_state, rate)
        (loss, acc), grads = total
        params, opt_state = apply_gradient(params, opt_state, grads, moving)
        return params, opt_state, loss, acc

    zero_total = jax.jit(lambda params: jax.tree.map(
        jnp.zeros_like, ((jnp.float32(0), jnp.float32(0)), params)))

    def parted_step(params, opt_state, x_all, y_all, idx, key, step0, rates=None):
        """train_step for batches of more than part_images: each part of a batch is its
        own jitted call (the same program for every part of equal size), so a large
        batch trains at the speed of its parts rather than as one program holding every
        slice's buffers (benchmarks/README.md)."""
        parts = batch_parts(idx.shape[1], part_images)
        losses, accs = [], []
        for i in range(idx.shape[0]):
            step_key = jax.random.fold_in(key, step0 + i)
            total, moving = zero_total(params), None
            for p, (start, stop) in enumerate(parts):
                total, moving = part_gradient(params, total, x_all, y_all, idx, i, start, p,
                                              step_key, size=stop - start)
            params, opt_state, loss, acc = parted_update(
                params, opt_state, total, moving, None if rates is None else rates[i])
            losses.append(loss)
            accs.append(acc)
        return params, opt_state, jnp.stack(losses), jnp.stack(accs)

    def step(params, opt_state, x_all, y_all, idx, key, step0, rates=None):
        if in_parts(idx.shape[1]):
            return parted_step(params, opt_state, x_all, y_all, idx, key, step0, rates)
        return train_step(params, opt_state, x_all, y_all, idx, key, step0, rates)

    def in_parts(batch_size: int) -> bool:
        return len(batch_parts(batch_size, part_images)) > 1

    # The Trainer compiles k steps per call ahead of time, for batches of one part; the
    # one-call program's compilations are counted as jax.jit's own.
    step.lower, step.in_parts = train_step.lower, in_parts
    step._cache_size = train_step._cache_size
    return step


def make_eval_step(spec: NetworkSpec):
    """eval_step(params, x (B, H, W, C), y (B,), weight (B,)) -> (loss sum, correct sum);
    weight 0 marks padding rows so every batch has one shape (one compilation)."""

    @jax.jit
    def eval_step(params, x, y, weight):
        logits = apply(spec, params, to_float(x))
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        correct = (jnp.argmax(logits, -1) == y).astype(jnp.float32)
        return (losses * weight).sum(), (correct * weight).sum()

    return eval_step


def penalty(spec: NetworkSpec, weight_decay: float, params):
    """weight_decay / 2 * sum(kernel^2) over the layers that train: the loss term whose
    gradient is the weight_decay * w that L2 decay adds to the gradient (_l2_then)."""
    decayed = _decayed_tree(tuple(frozen_layers(spec)), params)
    return 0.5 * weight_decay * sum(jnp.sum(jnp.square(p)) for p, d in zip(
        jax.tree.leaves(params), jax.tree.leaves(decayed), strict=True) if d)


def make_penalty(spec: NetworkSpec, config: TrainConfig):
    """A jitted penalty(params) for a config whose weight decay is L2, else None."""
    if not config.weight_decay or config.optimizer in DECOUPLED:
        return None
    return jax.jit(partial(penalty, spec, config.weight_decay))


def config_optimizer(config: TrainConfig, spec: NetworkSpec | None = None
                     ) -> optax.GradientTransformation:
    """The optimizer `config` names, with its weight decay; `spec`'s frozen layers get no
    update."""
    return make_optimizer(config.optimizer, config.learning_rate, config.weight_decay,
                          frozen_layers(spec) if spec is not None else ())
