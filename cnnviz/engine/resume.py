"""Continuing a run's optimizer: a kept state checked against the one the optimizer
would build, and the state flattened for keeping (core.optimizer_leaves).

A state that does not fit (another network, optimizer, weight decay or frozen layers)
is refused with OptimizerStateError rather than trained with: optax would fail deep in
a jitted step, or worse, apply one layer's moments to another.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnnviz.core.config import TrainConfig
from cnnviz.core.i18n import Message
from cnnviz.core.network import NetworkSpec
from cnnviz.core.optimizer_leaves import OptimizerLeaves, OptimizerStateError, check_leaves
from cnnviz.engine.model import Params
from cnnviz.engine.steps import config_optimizer


def checked_state(optimizer: optax.GradientTransformation, params: Params, state):
    """`state` (a tree of host arrays, as host_tree makes it) as device arrays of their
    own (the steps donate them), once it matches `optimizer.init(params)` in tree
    structure, shapes and dtypes; else OptimizerStateError."""
    expected = jax.eval_shape(optimizer.init, params)
    if jax.tree.structure(state) != jax.tree.structure(expected):
        raise OptimizerStateError(Message(
            "the optimizer state does not fit: it was made for another network, optimizer "
            "or set of frozen layers"))
    for i, (leaf, want) in enumerate(zip(jax.tree.leaves(state), jax.tree.leaves(expected),
                                         strict=True)):
        shape, dtype = np.shape(leaf), jnp.result_type(leaf)
        if shape != want.shape or dtype != want.dtype:
            raise OptimizerStateError(Message(
                "the optimizer state does not fit: array {i} is {dtype}{shape}, the "
                "optimizer needs {want_dtype}{want_shape}", i=i, dtype=dtype,
                shape=list(shape), want_dtype=want.dtype, want_shape=list(want.shape)))
    return jax.tree.map(jnp.array, state)  # copies: never a buffer the caller still holds


def state_from_leaves(optimizer: optax.GradientTransformation, params: Params,
                      kept: OptimizerLeaves):
    """The tree `optimizer.init(params)` builds, with `kept`'s leaves (host arrays); the
    Trainer checks their shapes and dtypes. OptimizerStateError if their number differs."""
    check_leaves(kept.leaves)
    treedef = jax.tree.structure(jax.eval_shape(optimizer.init, params))
    if treedef.num_leaves != len(kept.leaves):
        raise OptimizerStateError(Message(
            "the optimizer state does not fit: it has {n} arrays, the optimizer needs "
            "{want}", n=len(kept.leaves), want=treedef.num_leaves))
    return jax.tree.unflatten(treedef, kept.leaves)


def run_state(config: TrainConfig, spec: NetworkSpec, params: Params, steps: int,
              kept: OptimizerLeaves):
    """The state `kept` holds for going on with a run of `config` and `spec` at `params`
    after `steps` steps, in the tree `config_optimizer` builds (the Trainer, or
    checked_state, checks its shapes and dtypes); OptimizerStateError if it belongs to
    another optimizer, step or tree."""
    if (problem := kept.fits(config.optimizer, steps)) is not None:
        raise OptimizerStateError(problem)
    return state_from_leaves(config_optimizer(config, spec), params, kept)


def kept_leaves(optimizer: str, steps: int, state) -> OptimizerLeaves:
    """A host state (host_tree's) flattened for keeping."""
    return OptimizerLeaves(optimizer, steps, tuple(jax.tree.leaves(state)))
