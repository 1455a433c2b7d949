"""Frozen layers: bit-identical weights through training while the rest learn, Keras'
trainable / non-trainable counts, the file format, and no gradient computed for them."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 on JAX, never TensorFlow

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import reference  # noqa: E402

from cnnviz.core.config import TrainConfig  # noqa: E402
from cnnviz.core.layers import (  # noqa: E402
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    LayerFormatError,
    MaxPool2D,
    layer_from_dict,
    layer_to_dict,
)
from cnnviz.core.network import NetworkError, NetworkSpec, trainable_flags_only  # noqa: E402
from cnnviz.core.summary import summary_table  # noqa: E402


def _spec(*frozen: int) -> NetworkSpec:
    layers = [Conv2D(4, 3), BatchNorm(), MaxPool2D(2), Conv2D(6, 3, padding="same"),
              Flatten(), Dense(16), Dense(5, "none")]
    return NetworkSpec((12, 12, 1), tuple(
        layer.__class__(**{**layer.__dict__, "trainable": False}) if i in frozen else layer
        for i, layer in enumerate(layers)))


@pytest.fixture(scope="module")
def small_data():
    return reference.subset(reference.shapes_dataset(), 32 * 6, 32, crop=12)


@pytest.mark.parametrize("optimizer", ["adam", "sgd-momentum", "rmsprop"])
def test_frozen_weights_stay_bit_identical_over_an_epoch_while_the_rest_change(
        small_data, optimizer):
    from cnnviz.engine.trainer import Trainer, initial_params

    spec = _spec(0, 1, 5)  # the first conv, its BatchNorm and the hidden Dense
    start = [{k: np.array(v) for k, v in layer.items()} for layer in initial_params(spec, 0)]
    config = TrainConfig(optimizer=optimizer, learning_rate=0.05, weight_decay=0.01,
                         epochs=1, augment=("flip",))
    trainer = Trainer(spec, small_data, config, snapshot_interval=0)
    list(trainer.run())
    after = trainer.numpy_params()
    for i in (0, 1, 5):
        for key, value in start[i].items():
            assert value.tobytes() == after[i][key].tobytes(), (i, key)
    for i in (3, 6):
        for key in ("kernel", "bias"):
            assert not np.array_equal(start[i][key], after[i][key]), (i, key)


def test_a_frozen_batchnorm_runs_as_at_evaluation(small_data):
    """Its moving averages stay, and the network's training-mode output is its
    evaluation-mode output (no dropout here): the averages normalise, not the batch."""
    from cnnviz.engine.model import apply, apply_train
    from cnnviz.engine.trainer import initial_params

    spec = _spec(1)
    params = initial_params(spec, 0)
    params[1] = {"gamma": params[1]["gamma"] * 2, "beta": params[1]["beta"] + 0.5,
                 "moving_mean": params[1]["moving_mean"] + 0.1,
                 "moving_variance": params[1]["moving_variance"] * 3}
    x = small_data.x_train[:16].astype(np.float32) / 255
    logits, moving = apply_train(spec, params, x, jax.random.PRNGKey(0))
    np.testing.assert_allclose(logits, apply(spec, params, x), rtol=1e-6)
    assert moving[1] == {}
    trainable = apply_train(_spec(), params, x, jax.random.PRNGKey(0))[0]
    assert not np.allclose(trainable, logits)  # the batch's statistics differ


def test_every_layer_frozen_is_refused_in_one_line(small_data):
    from cnnviz.engine.trainer import Trainer

    spec = _spec(0, 1, 3, 5, 6)
    (warning,) = spec.analyze().problems
    assert warning.severity == "warning" and "every layer is frozen" in warning.message
    with pytest.raises(NetworkError) as info:
        Trainer(spec, small_data, TrainConfig(epochs=1))
    assert str(info.value) == ("network: every layer is frozen: training would change "
                               "nothing; make at least one layer trainable")


def _keras_model(spec: NetworkSpec) -> keras.Model:
    layers = [keras.Input(spec.input_shape)]
    for layer in spec.layers:
        match layer:
            case Conv2D():
                made = keras.layers.Conv2D(layer.filters, layer.kernel_size,
                                           padding=layer.padding)
            case BatchNorm():
                made = keras.layers.BatchNormalization()
            case MaxPool2D():
                made = keras.layers.MaxPooling2D(layer.pool_size)
            case Flatten():
                made = keras.layers.Flatten()
            case Dense():
                made = keras.layers.Dense(layer.units)
        made.trainable = getattr(layer, "trainable", True)
        layers.append(made)
    return keras.Sequential(layers)


@pytest.mark.parametrize("frozen", [(), (0,), (0, 1), (1, 3, 6)])
def test_trainable_and_non_trainable_counts_are_keras(frozen):
    spec = _spec(*frozen)
    model = _keras_model(spec)
    analysis = spec.analyze()
    assert analysis.total_params == model.count_params()
    assert analysis.trainable_params == sum(int(np.prod(w.shape))
                                            for w in model.trainable_weights)
    assert analysis.non_trainable_params == sum(int(np.prod(w.shape))
                                                for w in model.non_trainable_weights)
    lines = summary_table(spec).splitlines()
    assert f"Trainable params: {analysis.trainable_params:,}" in lines
    assert f"Non-trainable params: {analysis.non_trainable_params:,}" in lines
    marked = [line.split()[0] for line in lines if ", frozen)" in line]
    assert marked == [spec.names[i] for i in frozen]


def test_trainable_is_written_only_when_false_and_checked():
    assert "trainable" not in layer_to_dict(Conv2D(8))
    frozen = layer_to_dict(Dense(3, trainable=False))
    assert frozen["trainable"] is False and layer_from_dict(frozen) == Dense(3, trainable=False)
    assert layer_from_dict({"type": "dense", "units": 3}).trainable
    spec = NetworkSpec((4, 4, 1), (Flatten(), Dense(2, "none", trainable="no")))
    (problem,) = spec.analyze().errors
    assert str(problem) == "dense1: trainable must be true or false, got 'no'"
    with pytest.raises(LayerFormatError, match="unknown field"):
        layer_from_dict({"type": "flatten", "trainable": False})


def test_freezing_alone_keeps_the_weights_and_history_of_a_network():
    assert trainable_flags_only(_spec(), _spec(0, 5))
    assert not trainable_flags_only(_spec(), NetworkSpec(
        (12, 12, 1), (Conv2D(5, 3), *_spec().layers[1:])))
    assert not trainable_flags_only(_spec(), NetworkSpec((12, 12, 1), _spec().layers[:-1]))


def _flops(spec: NetworkSpec) -> float:
    from cnnviz.engine.steps import config_optimizer, make_train_step
    from cnnviz.engine.trainer import initial_params

    params = initial_params(spec, 0)
    optimizer = config_optimizer(TrainConfig(), spec)
    compiled = make_train_step(spec, optimizer).lower(
        params, optimizer.init(params), np.zeros((64, 12, 12, 1), np.uint8),
        np.zeros(64, np.int32), np.zeros((1, 32), np.int32), jax.random.PRNGKey(0), 1,
        np.ones(1, np.float32)).compile()
    analysis = compiled.cost_analysis()
    return (analysis[0] if isinstance(analysis, list) else analysis)["flops"]


def test_no_gradient_is_computed_for_a_frozen_base():
    """The compiled step of a network whose convolutions are frozen does fewer
    operations: neither their kernels' gradients nor the gradient flowing back into them
    is computed."""
    everything, frozen_base = _flops(_spec()), _flops(_spec(0, 1, 3))
    assert frozen_base < 0.8 * everything


def test_the_views_show_a_frozen_layers_update_as_zero_and_mark_it(small_data):
    """The filters view: a frozen conv's gradient (its update) is zero and its title says
    frozen; the weights view: no gradient norm for it, and a BatchNorm's averages."""
    from cnnviz.core.snapshot import ProbeImage
    from cnnviz.engine.probe import Prober
    from cnnviz.engine.trainer import initial_params
    from cnnviz.qt.widgets.filters import filter_title

    spec = _spec(0)
    prober = Prober(spec, small_data)
    views = prober.views_at_rest(initial_params(spec, 0), ProbeImage(small_data.x_val[0], 0),
                                 0, 16)
    frozen, trained = views.filters
    assert frozen.frozen and not frozen.gradient.any()
    assert not trained.frozen and trained.gradient.any()
    assert filter_title(frozen, gradient=True) == "conv1 frozen: no update · 4 filters 3×3×1"
    assert filter_title(frozen, gradient=False).endswith(" · frozen")
    stats = {s.name: s for s in views.stats}
    assert stats["conv1"].frozen and np.isnan(stats["conv1"].gradient_norm)
    assert stats["conv2"].gradient_norm > 0
    assert [name for name, _ in stats["bn1"].state] == ["beta", "moving_mean",
                                                        "moving_variance"]
