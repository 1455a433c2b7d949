"""Loss, optimizers, the learning-rate hook and evaluation, against hand computations."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference

from cnnviz.core.config import OPTIMIZERS, TrainConfig
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.core.shapes import layer_param_shapes
from cnnviz.engine.model import apply
from cnnviz.engine.steps import (
    ADAM_EPS,
    batch_parts,
    batch_slices,
    config_optimizer,
    loss_and_accuracy,
    make_eval_step,
    make_optimizer,
    make_train_step,
    set_learning_rate,
)
from cnnviz.engine.trainer import EVAL_BATCH, default_steps_per_dispatch, evaluate


def test_loss_and_accuracy_match_the_formula():
    loss_acc = jax.jit(loss_and_accuracy)
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (64, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 64).astype(np.int32)
    loss, acc = loss_acc(jnp.asarray(logits), jnp.asarray(labels))
    assert float(loss) == pytest.approx(reference.cross_entropy(logits, labels).mean(), rel=1e-5)
    assert float(acc) == pytest.approx((logits.argmax(-1) == labels).mean())
    # a confident right answer costs almost nothing, a uniform guess costs log(classes)
    loss, acc = loss_acc(jnp.asarray([[20.0, 0, 0], [0, 0, 0]]), jnp.asarray([0, 2]))
    assert float(loss) == pytest.approx(np.log(3) / 2, rel=1e-4)
    assert float(acc) == 0.5  # argmax of a tie picks class 0


def _one_update(opt, grad, steps=1):
    params = {"w": jnp.zeros(3)}
    state = opt.init(params)
    out = []
    for _ in range(steps):
        updates, state = opt.update({"w": jnp.asarray(grad, jnp.float32)}, state, params)
        out.append(np.asarray(updates["w"]))
    return out, state


def test_adam_uses_keras_epsilon():
    assert ADAM_EPS == 1e-7
    # first Adam step: -lr * g / (|g| + eps); with g = eps it is -lr / 2 (optax's 1e-8
    # epsilon would give -lr / 1.1)
    (update,), state = _one_update(make_optimizer("adam", 0.01), [1e-7, 1.0, -2.0])
    np.testing.assert_allclose(update, [-0.005, -0.01, 0.01], rtol=1e-4)
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.01)


def test_sgd_momentum_and_rmsprop_updates():
    (u1, u2), _ = _one_update(make_optimizer("sgd-momentum", 0.1), [1.0, -2.0, 0.5], steps=2)
    np.testing.assert_allclose(u1, [-0.1, 0.2, -0.05], rtol=1e-6)
    np.testing.assert_allclose(u2, 1.9 * u1, rtol=1e-6)  # momentum 0.9
    (u,), _ = _one_update(make_optimizer("rmsprop", 0.1), [1.0, -2.0, 0.0])
    # nu = 0.1 g^2 (decay 0.9) -> -lr * g / (sqrt(0.1) |g| + eps)
    np.testing.assert_allclose(u, [-0.1 / np.sqrt(0.1), 0.1 / np.sqrt(0.1), 0.0], rtol=1e-5)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_config_optimizer_injects_the_learning_rate(name):
    opt = config_optimizer(TrainConfig(optimizer=name, learning_rate=0.02))
    state = opt.init({"w": jnp.zeros(2)})
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.02)


def test_set_learning_rate_changes_updates_without_recompiling():
    opt = make_optimizer("sgd-momentum", 0.1)
    params = {"w": jnp.zeros(3)}
    state = opt.init(params)

    @jax.jit
    def update(state):
        return opt.update({"w": jnp.ones(3)}, state, params)

    u, _ = update(state)
    np.testing.assert_allclose(u["w"], -0.1, rtol=1e-6)
    faster = set_learning_rate(state, 0.5)
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.1)  # a copy
    assert float(faster.hyperparams["learning_rate"]) == pytest.approx(0.5)
    old, new = state.hyperparams["learning_rate"], faster.hyperparams["learning_rate"]
    assert (old.shape, old.dtype, old.weak_type) == (new.shape, new.dtype, new.weak_type)
    u, _ = update(faster)
    np.testing.assert_allclose(u["w"], -0.5, rtol=1e-6)
    assert update._cache_size() == 1


def test_default_steps_per_dispatch():
    assert [default_steps_per_dispatch(b) for b in (1, 16, 32, 64, 100, 128, 256, 1024)] == [
        8, 8, 8, 4, 2, 2, 1, 1]


SMALL = NetworkSpec((6, 6, 1), (Conv2D(3, 3), MaxPool2D(2), Flatten(), Dense(4, "none")))


def test_evaluate_pads_the_last_batch_and_matches_a_direct_computation():
    rng = np.random.default_rng(1)
    params = [{k: rng.normal(0, 1, s).astype(np.float32) for k, s in
               layer_param_shapes(i.layer, i.in_shape).items()} for i in SMALL.check().layers]
    n = EVAL_BATCH + 44  # two batches, the second padded
    x = rng.integers(0, 256, (n, 6, 6, 1)).astype(np.uint8)
    y = rng.integers(0, 4, n).astype(np.int32)
    eval_step = make_eval_step(SMALL)
    loss, acc = evaluate(SMALL, params, x, y, eval_step)
    logits = np.asarray(jax.jit(apply, static_argnums=0)(SMALL, params,
                                                          x.astype(np.float32) / 255))
    assert loss == pytest.approx(reference.cross_entropy(logits, y).mean(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(-1) == y).mean())
    assert 0 < acc < 1
    # the padding rows never count, whatever the labels of the padding would say
    loss_part, acc_part = evaluate(SMALL, params, x[:10], y[:10], eval_step)
    assert acc_part == pytest.approx((logits[:10].argmax(-1) == y[:10]).mean())
    assert loss_part == pytest.approx(reference.cross_entropy(logits[:10], y[:10]).mean(),
                                      rel=1e-5)
    assert eval_step._cache_size() == 1  # one shape for every batch
    assert all(np.isnan(v) for v in evaluate(SMALL, params, x[:0], y[:0], eval_step))


@pytest.mark.parametrize(("batch", "size", "count"), [
    (1, 32, 1), (32, 32, 1), (63, 32, 1), (64, 32, 2), (100, 32, 3), (128, 32, 4),
    (512, 64, 8), (512, 32, 8), (1000, 128, 7), (128, None, 1), (512, 256, 2)])
def test_batch_slices_cover_the_batch_once_in_near_equal_parts(batch, size, count):
    slices = batch_slices(batch, size)
    assert len(slices) == count
    assert [i for start, stop in slices for i in range(start, stop)] == list(range(batch))
    sizes = [stop - start for start, stop in slices]
    assert max(sizes) - min(sizes) <= 1
    assert size is None or min(sizes) >= min(size, batch)


@pytest.mark.parametrize(("batch", "part", "sizes"), [
    (512, 128, [128] * 4), (100, 32, [25] * 4), (128, 128, [128]), (130, 128, [65, 65]),
    (7, None, [7]), (1, 32, [1])])
def test_batch_parts_are_as_few_as_hold_at_most_part_images(batch, part, sizes):
    parts = batch_parts(batch, part)
    assert [stop - start for start, stop in parts] == sizes
    assert [i for start, stop in parts for i in range(start, stop)] == list(range(batch))


@pytest.mark.parametrize(("slice_images", "part_images"), [
    (32, None), (16, None), (8, None), (100, None), (None, None), (8, 32), (16, 50),
    (None, 40)])
def test_a_step_over_slices_takes_the_whole_batch_gradient(slice_images, part_images):
    """Batch 100 is summed over 1 to 8 slices (8 images a slice would be 12: capped at
    8 slices of 12-13), or over parts of at most `part_images`, one jitted call each
    (4 of 25, 2 of 50, 3 of 33-34); its update must be the gradient of the mean loss over
    all 100 images, taken in one pass by jax.grad."""
    spec = NetworkSpec((10, 10, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(3)))
    rng = np.random.default_rng(5)
    params = [{k: jnp.asarray(v) for k, v in layer.items()}
              for layer in reference.random_weights(spec, seed=5)]
    x = jnp.asarray(rng.uniform(0, 1, (100, 10, 10, 1)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 3, 100).astype(np.int32))

    def mean_loss(p):
        return loss_and_accuracy(apply(spec, p, x), y)[0]

    expected_loss, expected_grads = jax.value_and_grad(mean_loss)(params)
    optimizer = make_optimizer("sgd-momentum", 1.0)  # first step: params - 1.0 * gradient
    step = make_train_step(spec, optimizer, slice_images=slice_images,
                           part_images=part_images)
    assert step.in_parts(100) == (part_images is not None)
    before = jax.tree.map(np.array, params)
    after, _, losses, _ = step(params, optimizer.init(params), x, y,
                               jnp.arange(100, dtype=jnp.int32)[None], jax.random.PRNGKey(0), 0)
    np.testing.assert_allclose(losses[0], expected_loss, rtol=1e-5)
    for b, a, g in zip(jax.tree.leaves(before), jax.tree.leaves(after),
                       jax.tree.leaves(expected_grads), strict=True):
        np.testing.assert_allclose(b - np.asarray(a), g, rtol=1e-4, atol=1e-6)


def test_parted_steps_follow_the_schedule_and_match_one_call_steps():
    """Three Adam steps of batch 64, each its own learning rate, computed in parts of 16
    (four jitted calls and an update each) give the weights, losses and accuracies of
    the same steps in one call."""
    spec = NetworkSpec((8, 8, 1), (Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(3)))
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.integers(0, 256, (200, 8, 8, 1), dtype=np.uint8))
    y = jnp.asarray(rng.integers(0, 3, 200).astype(np.int32))
    idx = rng.integers(0, 200, (3, 64)).astype(np.int32)
    rates = np.array([1e-2, 5e-3, 1e-3], np.float32)
    optimizer = make_optimizer("adam", 1e-2)
    results = []
    for part_images in (None, 16):
        params = [{k: jnp.asarray(v) for k, v in layer.items()}
                  for layer in reference.random_weights(spec, seed=2)]
        step = make_train_step(spec, optimizer, slice_images=None, part_images=part_images)
        results.append(jax.tree.map(np.asarray, step(
            params, optimizer.init(params), x, y, jnp.asarray(idx), jax.random.PRNGKey(0), 0,
            rates)))
    (whole, _, whole_losses, whole_accs), (parted, _, losses, accs) = results
    assert losses.shape == accs.shape == (3,)
    np.testing.assert_allclose(losses, whole_losses, rtol=1e-5)
    np.testing.assert_allclose(accs, whole_accs, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(parted), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
