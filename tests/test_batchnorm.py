"""BatchNorm: the formula against a naive numpy loop, one training step against Keras 3's
BatchNormalization (the same moving averages, weights and outputs), shapes and counts,
and its state kept in a project file."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 on JAX, never TensorFlow

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import reference  # noqa: E402

from cnnviz.core.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D  # noqa: E402
from cnnviz.core.network import NetworkSpec  # noqa: E402
from cnnviz.core.shapes import layer_param_shapes  # noqa: E402
from cnnviz.engine import ops  # noqa: E402
from cnnviz.engine.model import apply, apply_train, init_params  # noqa: E402


def naive_batch_norm(x, gamma, beta, mean, var, eps):
    """out[..., c] = (x[..., c] - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c],
    channel by channel, value by value, in float64."""
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        for index in np.ndindex(x.shape[:-1]):
            out[(*index, c)] = (x[(*index, c)] - mean[c]) / np.sqrt(var[c] + eps) * gamma[
                c] + beta[c]
    return out


def naive_moments(x):
    """Each channel's mean and biased variance over every other axis, by sums."""
    x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
    n = x.shape[0]
    mean = np.array([sum(x[:, c]) / n for c in range(x.shape[1])])
    var = np.array([sum((x[:, c] - mean[c]) ** 2) / n for c in range(x.shape[1])])
    return mean, var


@pytest.mark.parametrize("shape", [(5, 4, 3, 2), (7, 6)])
def test_the_formula_against_numpy(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, shape).astype(np.float32)
    c = shape[-1]
    gamma, beta = rng.normal(1, 0.3, c), rng.normal(0, 0.5, c)
    mean, var = naive_moments(x)
    np.testing.assert_allclose(ops.moments(jnp.asarray(x)), (mean, var), rtol=1e-5)
    out = ops.batch_norm(jnp.asarray(x), *(jnp.asarray(v, jnp.float32) for v in (
        gamma, beta, mean, var)), 1e-3)
    np.testing.assert_allclose(out, naive_batch_norm(x, gamma, beta, mean, var, 1e-3),
                               rtol=1e-5, atol=1e-5)


SPEC = NetworkSpec((12, 12, 1), (Conv2D(4, 3), BatchNorm(), MaxPool2D(2), Flatten(),
                                 Dense(8, "none"), BatchNorm(0.9, 1e-5, "relu"),
                                 Dense(5, "none")))


def _keras(spec: NetworkSpec, params) -> keras.Model:
    model = keras.Sequential([
        keras.Input(spec.input_shape), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(8),
        keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
        keras.layers.Activation("relu"), keras.layers.Dense(5)])
    weights = [np.asarray(layer[k]) for layer, info in zip(params, spec.analyze().layers,
                                                           strict=True)
               for k in layer_param_shapes(info.layer, info.in_shape)]
    model.set_weights(weights)
    return model


@pytest.fixture(scope="module")
def batch():
    data = reference.subset(reference.shapes_dataset(), 32, 0, crop=12)
    return data.x_train, data.y_train.astype(np.int32)


def _start():
    params = init_params(SPEC, jax.random.PRNGKey(3))
    rng = np.random.default_rng(1)  # averages and scales away from their start values
    for i in (1, 5):
        c = params[i]["gamma"].shape
        params[i] = {"gamma": jnp.asarray(rng.uniform(0.5, 1.5, c), jnp.float32),
                     "beta": jnp.asarray(rng.normal(0, 0.2, c), jnp.float32),
                     "moving_mean": jnp.asarray(rng.normal(0, 0.2, c), jnp.float32),
                     "moving_variance": jnp.asarray(rng.uniform(0.5, 2, c), jnp.float32)}
    return params


def test_outputs_in_training_and_evaluation_match_keras(batch):
    x = batch[0].astype(np.float32) / 255
    params = _start()
    model = _keras(SPEC, params)
    np.testing.assert_allclose(apply(SPEC, params, x), model(x, training=False),
                               rtol=1e-4, atol=1e-5)
    logits, _ = apply_train(SPEC, params, x, jax.random.PRNGKey(0))
    np.testing.assert_allclose(logits, model(x, training=True), rtol=1e-4, atol=1e-5)


def test_one_training_step_matches_keras(batch):
    """SGD with momentum 0.9, one step from the same weights: Keras' and the engine's
    weights, moving averages and outputs after it agree."""
    from cnnviz.engine.steps import make_optimizer, make_train_step

    x, y = batch
    params = _start()
    model = _keras(SPEC, params)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(x.astype(np.float32) / 255, y)
    optimizer = make_optimizer("sgd-momentum", 0.1)
    step = make_train_step(SPEC, optimizer)
    new, _, _, _ = step(jax.tree.map(jnp.copy, params), optimizer.init(params), x, y,
                        np.arange(32, dtype=np.int32)[None], jax.random.PRNGKey(0), 1)
    # Keras' order of each layer's weights (a tree map sorts a dict's keys)
    keys = [list(layer_param_shapes(info.layer, info.in_shape))
            for info in SPEC.analyze().layers]
    ours = [np.asarray(layer[k]) for layer, names in zip(new, keys, strict=True)
            for k in names]
    names = [f"{name}/{k}" for name, layer in zip(SPEC.names, keys, strict=True)
             for k in layer]
    theirs = [np.asarray(v.value) for v in model.weights]
    for name, a, b in zip(names, ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name)
    assert not np.allclose(new[1]["moving_mean"], params[1]["moving_mean"])
    xf = x.astype(np.float32) / 255
    np.testing.assert_allclose(apply(SPEC, new, xf), model(xf, training=False), rtol=1e-4,
                               atol=1e-5)


def test_the_moving_averages_follow_the_formula(batch):
    x = batch[0].astype(np.float32) / 255
    spec = NetworkSpec((12, 12, 1), (BatchNorm(0.8), Flatten(), Dense(5, "none")))
    params = init_params(spec, jax.random.PRNGKey(0))
    _, moving = apply_train(spec, params, x, jax.random.PRNGKey(0))
    mean, var = naive_moments(x)
    np.testing.assert_allclose(moving[0]["moving_mean"], 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving[0]["moving_variance"], 0.8 + 0.2 * var, rtol=1e-5)


def test_shapes_counts_and_names_are_keras():
    analysis = SPEC.analyze()
    assert analysis.ok
    info = analysis.layers[1]
    assert info.out_shape == info.in_shape == (10, 10, 4)
    assert layer_param_shapes(info.layer, info.in_shape) == {
        "gamma": (4,), "beta": (4,), "moving_mean": (4,), "moving_variance": (4,)}
    model = _keras(SPEC, init_params(SPEC, jax.random.PRNGKey(0)))
    assert analysis.total_params == model.count_params()
    assert analysis.non_trainable_params == 2 * 4 + 2 * 8
    assert SPEC.names[1] == "bn1" and SPEC.names[5] == "bn2"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("momentum", 1.0, "momentum must be a number in [0, 1), got 1.0"),
    ("momentum", -0.1, "got -0.1"),
    ("epsilon", 0, "epsilon must be a number in [1e-12, 1), got 0"),
    ("activation", "gelu", "activation must be one of relu, sigmoid, tanh, none"),
])
def test_bad_settings_are_explained(field, value, message):
    spec = NetworkSpec((4, 4, 1), (BatchNorm(**{field: value}), Flatten(), Dense(2, "none")))
    (problem,) = spec.analyze().errors
    assert message in str(problem)


def test_its_state_is_saved_with_the_weights(tmp_path):
    from cnnviz.io.project import Project, load_project, save_project

    params = [{k: np.asarray(v) for k, v in layer.items()} for layer in _start()]
    save_project(tmp_path / "bn.cnnviz", Project(SPEC, weights=params))
    back = load_project(tmp_path / "bn.cnnviz")
    assert back.spec == SPEC
    for a, b in zip(params, back.weights, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


# -- the step-through ---------------------------------------------------------------------

STEPPED = NetworkSpec((8, 8, 1), (Conv2D(3, 3), BatchNorm(activation="relu"), Flatten(),
                                  Dense(6), BatchNorm(), Dense(4, "none")))


def _inspection():
    from cnnviz.engine.inspect import Inspector

    params = init_params(STEPPED, jax.random.PRNGKey(0))
    rng = np.random.default_rng(2)
    for i in (1, 4):
        c = params[i]["gamma"].shape
        params[i] = {k: jnp.asarray(rng.uniform(0.5, 1.5, c) if k in ("gamma",
                                    "moving_variance") else rng.normal(0, 0.3, c),
                                    jnp.float32) for k in params[i]}
    images = rng.integers(0, 256, (1, 8, 8, 1)).astype(np.uint8)
    return Inspector(STEPPED).inspect(params, images, np.array([1]))


@pytest.mark.parametrize(("index", "position"), [(1, (2, 4, 1)), (1, (0, 0, 2)), (4, (3,))])
def test_the_close_up_of_an_output_is_the_engines_and_the_formulas(index, position):
    ins = _inspection()
    b = ins.close_up(index, position)
    assert b.value == pytest.approx(ins.value(index, position), rel=1e-5, abs=1e-6)
    p = {k: np.asarray(v, np.float64) for k, v in ins.params[index].items()}
    c = position[-1]
    x = float(ins.layer_input(index)[(0, *position)])
    expected = naive_batch_norm(np.array([[x]]), p["gamma"][c:c + 1], p["beta"][c:c + 1],
                                p["moving_mean"][c:c + 1], p["moving_variance"][c:c + 1],
                                1e-3)[0, 0]
    assert b.pre_activation == pytest.approx(expected, rel=1e-9)
    assert b.normalised == pytest.approx((x - p["moving_mean"][c]) / np.sqrt(
        p["moving_variance"][c] + 1e-3), rel=1e-9)


def test_the_step_through_page_shows_the_formula_with_its_numbers(qtbot):
    from cnnviz.core import formulas
    from cnnviz.qt.live_model import LiveModel
    from cnnviz.qt.step_model import StepModel
    from cnnviz.qt.widgets.step_through.batch_norm import BatchNormPage
    from cnnviz.qt.widgets.step_through.view import StepThroughView

    ins = _inspection()
    model = StepModel()
    view = StepThroughView(model, LiveModel())
    qtbot.addWidget(view)
    model.show(ins, None, None, False, "test", ("a", "b", "c", "d"))
    model.set_stage(2)  # bn1
    page = view.page_for(2)
    assert isinstance(page, BatchNormPage)
    model.select(1, (3, 1, 2))
    text = page.formula.text()
    b = ins.close_up(1, (3, 1, 2))
    assert text.splitlines()[0] == "out = (x - mean) / √(var + ε) · γ + β"
    assert formulas.plain(b.pre_activation) in text and "relu(" in text
    model.set_stage(5)  # bn2, on a vector
    model.select(4, (5,))
    assert formulas.plain(ins.close_up(4, (5,)).value) in view.page_for(5).formula.text()


# -- compression --------------------------------------------------------------------------

def test_compression_leaves_batchnorm_whole_and_keeps_its_channels_in_step():
    from cnnviz.core.compression import magnitude_masks, structured_prune
    from cnnviz.core.quantization import INT8_PER_CHANNEL, layer_bytes, quantize_network
    from cnnviz.io.weights import flat_names, from_flat_names

    spec = NetworkSpec((8, 8, 1), (Conv2D(6, 3), BatchNorm(), MaxPool2D(2), Flatten(),
                                   Dense(5), BatchNorm(), Dense(3, "none")))
    weights = reference.random_weights(spec, 4)
    for i in (1, 5):
        weights[i]["moving_variance"] = np.abs(weights[i]["moving_variance"]) + 0.1
    masks = magnitude_masks(spec, weights, 0.5)
    assert masks[1] == {} and masks[5] == {}  # only kernels are pruned
    pruned = structured_prune(spec, weights, 0.5)
    kept = pruned.kept["conv1"]
    assert pruned.spec.layers[0].filters == 3 and len(kept) == 3
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        np.testing.assert_array_equal(pruned.weights[1][name], weights[1][name][kept])
    from_flat_names(pruned.spec, flat_names(pruned.spec, pruned.weights))  # they fit
    # dropping filters whose BatchNorm'd outputs the next layer no longer reads: the
    # kept channels compute exactly what they computed before
    x = np.random.default_rng(0).random((4, 8, 8, 1), np.float32)
    from cnnviz.engine.model import apply_with_activations
    _, before = apply_with_activations(spec, weights, x)
    _, after = apply_with_activations(pruned.spec, pruned.weights, x)
    np.testing.assert_allclose(after[1], np.asarray(before[1])[..., kept], rtol=1e-5)
    quantized = quantize_network(spec, weights, INT8_PER_CHANNEL)
    for i in (1, 5):
        for name, values in weights[i].items():
            np.testing.assert_array_equal(quantized.weights[i][name], values)
    assert layer_bytes(spec, weights, INT8_PER_CHANNEL)["bn1"] == 4 * 4 * 6
