"""The jitted training and evaluation steps.

One jit region per dispatch does everything for ``k`` consecutive steps: gather the
batch from the device-resident training set by index, scale, augment, forward, softmax
cross-entropy, backward, optimizer update. The learning rate lives in the optimizer
state (``optax.inject_hyperparams``), so changing it never recompiles.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import optax

from cnnviz.core.config import TrainConfig
from cnnviz.core.network import NetworkSpec
from cnnviz.engine.model import apply, to_float

# Keras' Adam epsilon (optax's default is 1e-8), so runs match Keras'.
ADAM_EPS = 1e-7
# A batch's gradient is summed over slices of about this many images: the activations of
# one slice stay in the CPU's caches (a batch of 128 does not), which on CPU trains a
# batch of 128 ~10 % faster. At most MAX_SLICES slices, since each is compiled separately.
SLICE = 32
MAX_SLICES = 4


def batch_slices(batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of the slices a batch's gradient is summed over: at most MAX_SLICES
    of at least SLICE images each, as equal as can be."""
    count = max(1, min(MAX_SLICES, batch_size // SLICE))
    bounds = [round(i * batch_size / count) for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


def make_optimizer(name: str, learning_rate: float) -> optax.GradientTransformation:
    makers = {
        "adam": lambda learning_rate: optax.adam(learning_rate, eps=ADAM_EPS),
        "sgd-momentum": lambda learning_rate: optax.sgd(learning_rate, momentum=0.9),
        "rmsprop": lambda learning_rate: optax.rmsprop(learning_rate, decay=0.9, eps=ADAM_EPS),
    }
    return optax.inject_hyperparams(makers[name])(learning_rate=learning_rate)


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
                    augment: Sequence[str] = ()):
    """train_step(params, opt_state, x_all, y_all, idx (k, B), key, step0) ->
    (params, opt_state, losses (k,), accuracies (k,)).

    x_all (N, H, W, C) and y_all (N,) stay on the device for the whole run; each of the
    k steps gathers rows idx[i]. The PRNG key of step s is fold_in(key, s), so a run's
    randomness does not depend on how steps were grouped into dispatches.
    """
    augment = tuple(augment)
    if augment:
        from cnnviz.engine.augment import augment_batch

    def loss_fn(params, x, y, key):
        logits = apply(spec, params, x, train=True, key=key)
        return loss_and_accuracy(logits, y)

    def batch_gradient(params, x, y, key):
        """((mean loss, accuracy), gradient) of the whole batch, summed slice by slice:
        the same numbers as one pass (up to float rounding), each slice weighted by its
        share of the batch."""
        total, slices = None, batch_slices(x.shape[0])
        for i, (start, stop) in enumerate(slices):
            weight = (stop - start) / x.shape[0]
            if total is not None:  # one slice after the other: they share the caches
                params, total = jax.lax.optimization_barrier((params, total))
            (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, x[start:stop], y[start:stop],
                key if len(slices) == 1 else jax.random.fold_in(key, i))
            part = jax.tree.map(lambda t, w=weight: t * w, ((loss, acc), grads))
            total = part if total is None else jax.tree.map(jnp.add, total, part)
        return total

    @partial(jax.jit, donate_argnums=(0, 1))
    def train_step(params, opt_state, x_all, y_all, idx, key, step0):
        def one_step(carry, inputs):
            params, opt_state = carry
            batch_idx, step_key = inputs
            x = to_float(x_all[batch_idx])  # (B, H, W, C)
            y = y_all[batch_idx]  # (B,)
            aug_key, drop_key = jax.random.split(step_key)
            if augment:
                x = augment_batch(x, aug_key, augment)
            (loss, acc), grads = batch_gradient(params, x, y, drop_key)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (loss, acc)

        # A Python loop, not lax.scan: XLA's CPU backend runs a while-loop body an
        # order of magnitude slower than the same ops at top level.
        losses, accs = [], []
        for i in range(idx.shape[0]):
            step_key = jax.random.fold_in(key, step0 + i)
            (params, opt_state), (loss, acc) = one_step((params, opt_state), (idx[i], step_key))
            losses.append(loss)
            accs.append(acc)
        return params, opt_state, jnp.stack(losses), jnp.stack(accs)

    return train_step


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


def config_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    return make_optimizer(config.optimizer, config.learning_rate)
