"""The operands the step-through shows, for one image (or one batch), in one jitted call.

`Inspector.inspect` runs the network forward and backward once and returns a
core.inspection.Inspection: every layer's output before and after its activation
function, the gradient of the loss with respect to both, and the weights' gradients.
The call is compiled once per network (and batch size); whatever the learner clicks next
is numpy on its arrays. `apply_step` runs exactly one real training step, the trainer's
own (engine.steps.make_train_step), for the before/after of "Apply one step".
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnnviz.core.inspection import Inspection, OptimizerState
from cnnviz.core.layers import BatchNorm, Conv2D, Dense
from cnnviz.core.network import NetworkSpec
from cnnviz.engine import ops
from cnnviz.engine.model import Params, apply_layer, params_to_numpy, to_float
from cnnviz.engine.steps import ADAM_EPS, make_optimizer, make_train_step

# The fixed settings of each optimizer as engine.steps.make_optimizer builds it (optax's
# defaults where it names none); test_inspect holds the two together through a real step.
OPTIMIZER_SETTINGS = {
    "adam": {"b1": 0.9, "b2": 0.999, "eps": ADAM_EPS},
    "sgd-momentum": {"momentum": 0.9},
    "rmsprop": {"decay": 0.9, "eps": ADAM_EPS},
}


def _inspect(spec: NetworkSpec, params, x, y):
    """x (N, H, W, C), y (N,) -> the arrays of an Inspection. A zero `shift` is added to
    each layer's output before and after its activation: the loss's gradient with
    respect to a shift is its gradient with respect to that output."""
    x = to_float(x)
    shapes = [(x.shape[0], *info.out_shape) for info in spec.analyze().layers]

    def loss(params, x, shift_pre, shift_post):
        pre, post, h = [], [], x
        for layer, p, s_pre, s_post in zip(spec.layers, params, shift_pre, shift_post,
                                           strict=True):
            if isinstance(layer, Conv2D):
                z = ops.conv2d(h, p["kernel"], p["bias"], layer.stride, layer.padding)
            elif isinstance(layer, Dense):
                z = ops.dense(h, p["kernel"], p["bias"])
            elif isinstance(layer, BatchNorm):  # at evaluation: the moving averages
                z = ops.batch_norm(h, p["gamma"], p["beta"], p["moving_mean"],
                                   p["moving_variance"], layer.epsilon)
            else:
                z = apply_layer(layer, p, h, train=False)
            z = z + s_pre
            h = (ops.ACTIVATION_FNS[layer.activation](z)
                 if isinstance(layer, Conv2D | Dense | BatchNorm) else z) + s_post
            pre.append(z)
            post.append(h)
        losses = optax.softmax_cross_entropy_with_integer_labels(h, y)  # (N,)
        return losses.mean(), (pre, post, h, losses)

    zeros = [jnp.zeros(s, jnp.float32) for s in shapes]
    grads, (pre, post, logits, losses) = jax.grad(loss, argnums=(0, 1, 2, 3), has_aux=True)(
        params, x, zeros, zeros)
    g_params, g_x, g_pre, g_post = grads
    return {"images": x, "pre": pre, "post": post, "grad_pre": g_pre, "grad_post": g_post,
            "grad_input": g_x, "param_grads": g_params, "logits": logits,
            "probabilities": jax.nn.softmax(logits), "losses": losses}


class Inspector:
    """Inspects images with one network: `inspect` compiles once per batch size."""

    def __init__(self, spec: NetworkSpec):
        spec.check()
        self.spec = spec
        self._run = jax.jit(partial(_inspect, spec))
        self._steps: dict[str, object] = {}  # optimizer name -> its jitted train step

    def inspect(self, params: Params, images: np.ndarray, labels: np.ndarray, step: int = 0,
                optimizer: OptimizerState | None = None) -> Inspection:
        """images (N, H, W, C) as the dataset holds them, labels (N,) the classes the
        loss is taken against; `params` the weights after `step`."""
        labels = np.asarray(labels, np.int32)
        out = jax.device_get(self._run(params, images, labels))
        return Inspection(
            self.spec, step, tuple(params_to_numpy(params)), out["images"], labels,
            tuple(out["pre"]), tuple(out["post"]), tuple(out["grad_pre"]),
            tuple(out["grad_post"]), out["grad_input"], tuple(out["param_grads"]),
            out["logits"], out["probabilities"], out["losses"], optimizer)

    def apply_step(self, params: Params, opt_state, optimizer: str, images: np.ndarray,
                   labels: np.ndarray, seed: int, step: int):
        """One real training step on `images` (the trainer's own jitted step, without
        augmentation), from `params` and the optax state `opt_state` after `step`:
        (new params, new optax state, the loss before the step), all on the host."""
        if optimizer not in self._steps:  # the learning rate is in the state: no recompile
            self._steps[optimizer] = make_train_step(self.spec, make_optimizer(optimizer, 1.0))
        copy = partial(jax.tree.map, jnp.array)  # the step donates (frees) what it is given
        idx = jnp.arange(len(images), dtype=jnp.int32)[None]  # one step of every image
        new_params, new_state, losses, _ = self._steps[optimizer](
            copy(params), copy(opt_state), jnp.asarray(images),
            jnp.asarray(labels, jnp.int32), idx, jax.random.PRNGKey(seed), step + 1)
        return params_to_numpy(new_params), host_tree(new_state), float(losses[0])


def host_tree(tree):
    """A host copy of a tree of device arrays (an optax state), never a view of a buffer
    a later step may donate."""
    return jax.tree.map(lambda a: np.array(a, copy=True), tree)


def fresh_optimizer(optimizer: str, learning_rate: float, params: Params):
    """The optax state a run starts from (host arrays)."""
    return host_tree(make_optimizer(optimizer, learning_rate).init(
        jax.tree.map(jnp.asarray, params)))


def optimizer_numbers(optimizer: str, opt_state, fresh: bool = False) -> OptimizerState:
    """The numbers of an optax state built by engine.steps.make_optimizer (host arrays):
    inner_state[0] is Adam's (count, mu, nu), momentum's trace or RMSprop's nu."""
    inner = opt_state.inner_state[0]
    trees = {"adam": {"m": "mu", "v": "nu"}, "sgd-momentum": {"trace": "trace"},
             "rmsprop": {"nu": "nu"}}[optimizer]
    layers = len(getattr(inner, next(iter(trees.values()))))
    slots = tuple({param: {name: np.asarray(getattr(inner, field)[i][param])
                           for name, field in trees.items()}
                   for param in getattr(inner, next(iter(trees.values())))[i]}
                  for i in range(layers))
    count = int(inner.count) if optimizer == "adam" else int(opt_state.count)
    return OptimizerState(optimizer, float(opt_state.hyperparams["learning_rate"]),
                          OPTIMIZER_SETTINGS[optimizer], slots, count, fresh)
