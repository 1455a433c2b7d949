"""Weight decay: decoupled (AdamW) for Adam and RMSprop, L2 for SGD, on kernels only; the
optimizers against optax's own compositions, the L2 part of the loss against numpy."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference

from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.engine.steps import ADAM_EPS, make_optimizer, penalty

SPEC = NetworkSpec((6, 6, 2), (Conv2D(3, 3), BatchNorm(), MaxPool2D(2), Flatten(),
                               Dense(4, "none")))
WD, LR = 0.05, 0.1


def _params_and_grads(seed=0):
    params = reference.random_weights(SPEC, seed)
    params[1]["moving_variance"] = np.abs(params[1]["moving_variance"])
    grads = reference.random_weights(SPEC, seed + 1)
    return jax.tree.map(jnp.asarray, params), jax.tree.map(jnp.asarray, grads)


def _kernels(params):
    """The mask of what decays: kernels, not biases, BatchNorm or its averages."""
    return [{k: k == "kernel" for k in layer} for layer in params]


def _trained(params):
    """The mask of what trains: all but BatchNorm's moving averages."""
    return [{k: not k.startswith("moving") for k in layer} for layer in params]


def _references(params):
    kernels, trained = _kernels(params), _trained(params)

    def only_trained(inner):
        return optax.chain(inner, optax.masked(optax.set_to_zero(),
                                               jax.tree.map(lambda t: not t, trained)))

    return {
        "adam": only_trained(optax.adamw(LR, eps=ADAM_EPS, weight_decay=WD, mask=kernels)),
        "rmsprop": only_trained(optax.chain(
            optax.scale_by_rms(decay=0.9, eps=ADAM_EPS),
            optax.add_decayed_weights(WD, kernels), optax.scale(-LR))),
        # L2: the decay joins the gradient before momentum
        "sgd-momentum": only_trained(optax.chain(
            optax.add_decayed_weights(WD, kernels), optax.sgd(LR, momentum=0.9))),
    }


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd-momentum"])
def test_each_optimizer_decays_as_its_reference_over_three_steps(name):
    params, grads = _params_and_grads()
    ours, theirs = make_optimizer(name, LR, WD), _references(params)[name]
    s1, s2 = ours.init(params), theirs.init(params)
    p1 = p2 = params
    for _ in range(3):
        u1, s1 = ours.update(grads, s1, p1)
        u2, s2 = theirs.update(grads, s2, p2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p2), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd-momentum"])
def test_only_kernels_decay(name):
    """With a zero gradient, only the decay moves a weight: kernels shrink by lr * wd
    (Adam's first step scales nothing else), biases and BatchNorm stay."""
    params, grads = _params_and_grads()
    zeros = jax.tree.map(jnp.zeros_like, grads)
    opt = make_optimizer(name, LR, WD)
    updates, _ = opt.update(zeros, opt.init(params), params)
    for layer, update in zip(params, updates, strict=True):
        for key, u in update.items():
            if key == "kernel":
                np.testing.assert_allclose(u, -LR * WD * layer[key], rtol=1e-5)
            else:
                assert not np.asarray(u).any(), key
    plain = make_optimizer(name, LR)
    updates, _ = plain.update(zeros, plain.init(params), params)
    assert not any(np.asarray(u).any() for u in jax.tree.leaves(updates))


def test_the_decay_is_a_hyper_parameter_in_the_state():
    params, _ = _params_and_grads()
    state = make_optimizer("adam", LR, WD).init(params)
    assert float(state.hyperparams["weight_decay"]) == pytest.approx(WD)


def test_the_l2_part_of_the_loss_and_its_gradient():
    params, _ = _params_and_grads()
    expected = 0.5 * WD * sum(float(np.sum(np.asarray(layer["kernel"], np.float64) ** 2))
                              for layer in params if "kernel" in layer)
    assert float(penalty(SPEC, WD, params)) == pytest.approx(expected, rel=1e-6)
    grads = jax.grad(lambda p: penalty(SPEC, WD, p))(params)
    for layer, grad in zip(params, grads, strict=True):
        for key, g in grad.items():
            want = WD * layer[key] if key == "kernel" else 0 * layer[key]
            np.testing.assert_allclose(g, want, rtol=1e-6)
    frozen = NetworkSpec(SPEC.input_shape, (Conv2D(3, 3, trainable=False), *SPEC.layers[1:]))
    assert float(penalty(frozen, WD, params)) == pytest.approx(
        0.5 * WD * float(np.sum(np.asarray(params[4]["kernel"], np.float64) ** 2)), rel=1e-6)


def test_the_trainer_reports_the_l2_part_for_sgd_only():
    from cnnviz.engine.trainer import Trainer

    data = reference.subset(reference.shapes_dataset(), 64, 32, crop=12)
    spec = NetworkSpec((12, 12, 1), (Conv2D(2, 3), MaxPool2D(2), Flatten(), Dense(5, "none")))
    config = TrainConfig(optimizer="sgd-momentum", learning_rate=0.05, weight_decay=0.01,
                         epochs=1)
    trainer = Trainer(spec, data, config, snapshot_interval=0)
    last = list(trainer.run())[-1]
    weights = trainer.numpy_params()
    expected = 0.005 * sum(float(np.sum(w["kernel"].astype(np.float64) ** 2))
                           for w in weights if w)
    assert last.weight_decay_loss == pytest.approx(expected, rel=1e-5)
    adam = Trainer(spec, data, TrainConfig(weight_decay=0.01, epochs=1), snapshot_interval=0)
    assert all(s.weight_decay_loss is None for s in adam.run())


@pytest.mark.parametrize(("value", "message"), [
    (-0.01, "weight decay must be in [0, 1], got -0.01"),
    (2, "got 2"), ("0.1", "got '0.1'"), (float("nan"), "got nan")])
def test_bad_weight_decay_is_refused_in_one_line(value, message):
    from cnnviz.core.config import ConfigError

    with pytest.raises(ConfigError, match=None) as info:
        TrainConfig(weight_decay=value)
    assert message in str(info.value)
