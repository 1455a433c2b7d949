"""engine.inspect: one call gives every operand, compiled once; its backward numbers equal
jax.grad of the network written another way; the optimizer update core.arithmetic shows
from them equals the trainer's real step, for every optimizer, fresh and after a step."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from test_arithmetic_engine import assert_matches

from cnnviz.core import arithmetic as ar
from cnnviz.core.commands import Pause, StepOnce
from cnnviz.core.config import TrainConfig
from cnnviz.core.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.data.dataset import Dataset
from cnnviz.engine.inspect import Inspector, fresh_optimizer, host_tree, optimizer_numbers
from cnnviz.engine.model import apply_layer, init_params, to_float
from cnnviz.engine.trainer import Trainer, initial_params

SPEC = NetworkSpec((9, 9, 2), (
    Conv2D(3, 3, 2, "same", "tanh"), MaxPool2D(2, 1), Conv2D(4, 2, 1, "valid", "relu"),
    AvgPool2D(2), Flatten(), Dense(5, "sigmoid"), Dense(3, "none")))


def tail_loss(spec, params, start, h, y):
    """The mean loss from layer `start` on, taking h as that layer's input: written with
    the model's own layers, independently of the inspection's shifts."""
    for layer, p in zip(spec.layers[start:], params[start:], strict=True):
        h = apply_layer(layer, p, h, train=False)
    return optax.softmax_cross_entropy_with_integer_labels(h, y).mean()


@pytest.fixture(scope="module")
def case():
    params = init_params(SPEC, jax.random.PRNGKey(3))
    params = [{k: v + 0.05 for k, v in p.items()} for p in params]  # non-zero biases
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (4, 9, 9, 2), dtype=np.uint8)
    labels = np.array([0, 2, 1, 2])
    return params, images, labels


@pytest.mark.parametrize("batch", [1, 4])
def test_backward_numbers_equal_jax_grad(case, batch):
    params, images, labels = case
    x, y = images[:batch], jnp.asarray(labels[:batch])
    ins = Inspector(SPEC).inspect(params, x, labels[:batch])
    grads = jax.grad(lambda p: tail_loss(SPEC, p, 0, to_float(x), y))(params)
    for mine, want in zip(ins.param_grads, grads, strict=True):
        for name in want:
            np.testing.assert_allclose(mine[name], want[name], rtol=1e-5, atol=1e-7)
    # each layer's output gradient: the loss from the next layer on, differentiated there
    for i in range(len(SPEC.layers)):
        want = jax.grad(lambda h, i=i: tail_loss(SPEC, params, i + 1, h, y))(ins.post[i])
        np.testing.assert_allclose(ins.grad_post[i], want, rtol=1e-5, atol=1e-8)
    # and before the activation: dL/dz = dL/da * f'(z), as core.arithmetic writes it
    for i in (0, 2, 5):
        through = ins.grad_post[i] * ar.activation_slope(SPEC.layers[i].activation, ins.pre[i])
        np.testing.assert_allclose(ins.grad_pre[i], through, rtol=1e-5, atol=1e-8)
    # dL/dlogits = (p - onehot) / N
    want = jax.grad(lambda z: optax.softmax_cross_entropy_with_integer_labels(z, y).mean())(
        ins.logits)
    np.testing.assert_allclose(ar.logit_gradient(ins.probabilities, labels[:batch]), want,
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ins.grad_post[-1], want, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("batch", [1, 4])
def test_every_weights_gradient_as_a_sum_equals_the_engines(case, batch):
    params, images, labels = case
    ins = Inspector(SPEC).inspect(params, images[:batch], labels[:batch])
    rng = np.random.default_rng(batch)
    for index in (0, 2, 5, 6):
        for param in ("kernel", "bias"):
            engine = ins.param_grads[index][param]
            for _ in range(8):
                element = tuple(int(rng.integers(0, s)) for s in engine.shape)
                g = ins.weight_gradient(index, param, element)
                assert_matches(g.total, float(engine[element]),
                               float(np.abs(g.terms.terms).sum()))


def test_one_compilation_per_network_and_batch_size(case):
    params, images, labels = case
    inspector = Inspector(SPEC)
    for i in range(4):  # other images and weights: numbers change, shapes do not
        inspector.inspect([{k: v * (i + 1) for k, v in p.items()} for p in params],
                          images[i:i + 1], labels[i:i + 1], step=i)
    assert inspector._run._cache_size() == 1


def tiny_data(n=8):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (n, 9, 9, 2), dtype=np.uint8)
    y = rng.integers(0, 3, n).astype(np.int32)
    return Dataset("tiny", ("a", "b", "c"), x, y, x[:2], y[:2], x[:2], y[:2])


@pytest.mark.parametrize("optimizer", ["adam", "sgd-momentum", "rmsprop"])
def test_the_shown_update_and_apply_one_step_are_the_trainers_step(optimizer):
    """The trainer takes two real steps (paused in between); from the state before each,
    the inspection's update of every weight (core.arithmetic) gives the trainer's new
    weights, and apply_step reproduces the trainer's step exactly."""
    data = tiny_data()
    config = TrainConfig(optimizer=optimizer, learning_rate=0.05, batch_size=4, epochs=1)
    trainer = Trainer(SPEC, data, config, steps_per_dispatch=1)
    trainer.command(Pause())
    states = [(host_tree(initial_params(SPEC, config.seed)),
               fresh_optimizer(optimizer, 0.05, initial_params(SPEC, config.seed)))]
    run = trainer.run()
    for snap in run:
        if snap.state == "paused":
            if len(states) == 3:
                break
            if snap.step:
                states.append((trainer.numpy_params(), host_tree(trainer.opt_state)))
            trainer.command(StepOnce())
    order = np.random.default_rng([config.seed, 0]).permutation(len(data.x_train))
    inspector = Inspector(SPEC)
    for step in (0, 1):
        (params, state), (after, after_state) = states[step], states[step + 1]
        batch = np.sort(order[step * 4:(step + 1) * 4])
        x, y = data.x_train[batch], data.y_train[batch]
        numbers = optimizer_numbers(optimizer, state, fresh=step == 0)
        assert numbers.count == step and numbers.learning_rate == pytest.approx(0.05)
        ins = inspector.inspect(params, x, y, step, numbers)
        for index in (0, 2, 5, 6):
            for param in ("kernel", "bias"):
                shown = ar.optimizer_update(
                    optimizer, params[index][param], ins.param_grads[index][param], 0.05,
                    {name: values for name, values in numbers.slots[index][param].items()}
                    | ({"count": numbers.count} if optimizer == "adam" else {}),
                    numbers.settings)
                np.testing.assert_allclose(shown.new_weight, after[index][param], rtol=1e-5,
                                           atol=1e-6)
                element = (0,) * after[index][param].ndim
                one = ins.update(index, param, element)
                assert one.new_weight == pytest.approx(after[index][param][element], rel=1e-5,
                                                       abs=1e-6)
        new_params, new_state, loss = inspector.apply_step(params, state, optimizer, x, y,
                                                           config.seed, step)
        for mine, real in zip(new_params, after, strict=True):
            for name in real:
                np.testing.assert_allclose(mine[name], real[name], rtol=1e-6, atol=1e-7)
        for mine, real in zip(jax.tree.leaves(new_state), jax.tree.leaves(after_state),
                              strict=True):
            np.testing.assert_allclose(mine, real, rtol=1e-6, atol=1e-9)
        assert optimizer_numbers(optimizer, new_state).count == step + 1
        assert loss == pytest.approx(ins.loss, rel=1e-5)
    run.close()
