"""Keras models opened in the app: real .keras, .weights.h5 and legacy .h5 files written
by Keras 3 (JAX backend), read back with h5py only, giving Keras' own logits."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from test_export_support import engine_logits, images_for

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cnnviz.core.layers import (  # noqa: E402
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.core.presets import get_preset  # noqa: E402
from cnnviz.io.imports import MismatchError, ModelImportError, import_model  # noqa: E402

TOLERANCE = 1e-4
# Keras' own NumPy 2 deprecation, inside Keras when it saves; nothing of ours
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def cifar10_tutorial() -> keras.Model:
    """The network of the TensorFlow CIFAR-10 tutorial, as its code builds it."""
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ])
    _randomise_biases(model)
    return model


def every_layer() -> keras.Model:
    """Every layer the importer maps, each activation, a separate Activation layer, a
    conv without bias, and a final softmax."""
    model = keras.Sequential([
        keras.Input((16, 14, 3)),
        layers.Conv2D(4, 3, strides=2, padding="same", activation="tanh"),
        layers.Conv2D(5, 3, padding="same", activation="sigmoid", use_bias=False),
        layers.AveragePooling2D(2),
        layers.Conv2D(6, 2),
        layers.Activation("relu"),
        layers.MaxPooling2D(2, strides=1),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(7, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(3, activation="softmax"),
    ])
    _randomise_biases(model)
    return model


def global_pool() -> keras.Model:
    inputs = keras.Input((12, 12, 2))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(5, activation="tanh")(x)
    x = layers.ReLU()(layers.Dense(4)(x))
    model = keras.Model(inputs, layers.Dense(2)(x))  # a Functional chain
    _randomise_biases(model)
    return model


def _randomise_biases(model: keras.Model) -> None:
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.normal(0, 0.1, layer.bias.shape).astype(np.float32))


def keras_outputs(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return np.asarray(model(images.astype(np.float32) / 255, training=False))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("keras")
    models = {"cifar10": cifar10_tutorial(), "every": every_layer(), "pool": global_pool()}
    for name, model in models.items():
        model.save(root / f"{name}.keras")
        model.save_weights(root / f"{name}.weights.h5")
    return root, models


def test_the_cifar10_tutorial_network_opens_with_its_parameters_and_logits(saved):
    root, models = saved
    imported = import_model(root / "cifar10.keras")
    assert imported.spec.analyze().total_params == 122_570 == models["cifar10"].count_params()
    assert imported.spec.layers == get_preset("keras-cifar10").spec.layers
    images = images_for(imported.spec, 6)
    difference = np.abs(engine_logits(imported.spec, imported.weights, images)
                        - keras_outputs(models["cifar10"], images)).max()
    assert difference <= TOLERANCE


def test_every_layer_type_maps_and_a_final_softmax_becomes_logits(saved):
    root, models = saved
    imported = import_model(root / "every.keras")
    assert imported.spec.layers == (
        Conv2D(4, 3, 2, "same", "tanh"), Conv2D(5, 3, 1, "same", "sigmoid"), AvgPool2D(2),
        Conv2D(6, 2, 1, "valid", "relu"), MaxPool2D(2, 1), Dropout(0.3), Flatten(),
        Dense(7, "relu"), Dropout(0.2), Dense(3, "none"))
    assert any("softmax" in note for note in imported.notes)
    assert any("no bias" in note for note in imported.notes)
    np.testing.assert_array_equal(imported.weights[1]["bias"], np.zeros(5, np.float32))
    images = images_for(imported.spec, 6)
    probabilities = softmax(engine_logits(imported.spec, imported.weights, images))
    assert np.abs(probabilities - keras_outputs(models["every"], images)).max() <= TOLERANCE


def test_a_functional_chain_with_global_pooling_and_a_relu_layer(saved):
    root, models = saved
    imported = import_model(root / "pool.keras")
    assert imported.spec.layers == (Conv2D(4, 3), GlobalAvgPool(), Dense(5, "tanh"),
                                    Dense(4, "relu"), Dense(2, "none"))
    images = images_for(imported.spec, 4)
    difference = np.abs(engine_logits(imported.spec, imported.weights, images)
                        - keras_outputs(models["pool"], images)).max()
    assert difference <= TOLERANCE


@pytest.mark.parametrize("name", ["cifar10", "every", "pool"])
def test_a_weights_file_fits_the_network_it_belongs_to(saved, name):
    root, _ = saved
    whole = import_model(root / f"{name}.keras")
    part = import_model(root / f"{name}.weights.h5", whole.spec)
    assert part.spec == whole.spec
    for a, b in zip(part.weights, whole.weights, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_weights_file_needs_a_network_and_a_wrong_one_gets_a_table(saved):
    root, _ = saved
    with pytest.raises(ModelImportError, match="weights only"):
        import_model(root / "cifar10.weights.h5")
    with pytest.raises(MismatchError) as caught:
        import_model(root / "cifar10.weights.h5", get_preset("lenet5").spec)
    text = str(caught.value)
    assert text.splitlines()[0] == "cifar10.weights.h5 does not fit: 11 problem(s)"
    assert "conv1 kernel   5x5x1x6                       3x3x3x32" in text
    assert "dense3 kernel  84x10                         missing" in text


def test_a_legacy_h5_model_file(saved, tmp_path):
    _, models = saved
    path = tmp_path / "tutorial.h5"
    models["cifar10"].save(path)  # Keras calls the format legacy; it still writes it
    imported = import_model(path)
    images = images_for(imported.spec, 3)
    difference = np.abs(engine_logits(imported.spec, imported.weights, images)
                        - keras_outputs(models["cifar10"], images)).max()
    assert difference <= TOLERANCE


def _mismatch(model: keras.Model, tmp_path) -> str:
    path = tmp_path / "model.keras"
    model.save(path)
    with pytest.raises(MismatchError) as caught:
        import_model(path)
    return str(caught.value)


def test_unsupported_layers_and_settings_are_listed_before_anything_changes(tmp_path):
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(4, (3, 5), name="wide"),
        layers.Conv2D(4, 3, dilation_rate=2, name="dilated"),
        layers.LayerNormalization(name="norm"),
        layers.MaxPooling2D(2, padding="same", name="padded"),
        layers.Flatten(),
        layers.Dense(3, activation="elu", name="elu_out"),
    ])
    text = _mismatch(model, tmp_path)
    assert text.startswith("model.keras does not fit: 5 problem(s)\nlayer")
    assert text.splitlines()[-1].startswith("The app reads these Keras layers: Conv2D")
    for expected in ("wide", "a square kernel_size", "[3, 5]", "dilated", "dilation_rate 1",
                     "norm", "unsupported layer LayerNormalization", "padded",
                     "padding valid", "elu_out", "activation elu"):
        assert expected in text


def test_batch_normalization_opens_with_its_moving_averages(tmp_path):
    """Conv2D -> BatchNormalization -> ReLU (a BatchNorm with relu), one over a Dense's
    vector, after some training so the averages are the model's own: the same logits."""
    model = keras.Sequential([
        keras.Input((10, 10, 2)), layers.Conv2D(3, 3, use_bias=False),
        layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(6), layers.BatchNormalization(momentum=0.9, epsilon=1e-5),
        layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 10, 10, 2), np.float32), rng.integers(0, 3, 64), epochs=2,
              batch_size=16, verbose=0)
    model.save(tmp_path / "bn.keras")
    imported = import_model(tmp_path / "bn.keras")
    assert imported.spec.layers[1:3] == (BatchNorm(0.99, 0.001, "relu"), MaxPool2D(2))
    assert imported.spec.layers[5] == BatchNorm(0.9, 1e-5, "none")
    assert imported.spec.analyze().total_params == model.count_params() + 3  # a zero bias
    images = images_for(imported.spec, 6)
    difference = np.abs(engine_logits(imported.spec, imported.weights, images)
                        - keras_outputs(model, images)).max()
    assert difference <= TOLERANCE


def test_a_branching_model_is_refused(tmp_path):
    inputs = keras.Input((8, 8, 1))
    a = layers.Conv2D(2, 3, name="left")(inputs)
    b = layers.Conv2D(2, 3, name="right")(inputs)
    outputs = layers.Dense(2)(layers.Flatten()(layers.Add(name="join")([a, b])))
    text = _mismatch(keras.Model(inputs, outputs), tmp_path)
    assert "unsupported layer Add" in text and "a branch" in text


def test_reading_never_runs_keras(saved):
    """The reader uses h5py and json only: Keras (or TensorFlow) is not even imported."""
    root, _ = saved
    code = ("import sys; from cnnviz.io.imports import import_model; "
            f"import_model({str(root / 'every.keras')!r}); "
            "assert not {'keras', 'tensorflow', 'torch'} & set(sys.modules), sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
