"""NetworkSpec: shape inference, counts, explained problems, JSON, presets, summary.

Pure core (no JAX). The engine-side checks (analyze() against jax.eval_shape and
init_params) live in test_engine_model.py.
"""

import json
import math

import numpy as np
import pytest
import reference

from cnnviz.core.layers import (
    LAYER_TYPES,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    LayerFormatError,
    MaxPool2D,
    layer_from_dict,
    layer_to_dict,
)
from cnnviz.core.network import SCHEMA_VERSION, NetworkError, NetworkSpec, layer_names
from cnnviz.core.presets import DEFAULT_PRESET, PRESETS, UnknownPresetError, get_preset
from cnnviz.core.shapes import layer_output_shape, layer_param_shapes, same_padding
from cnnviz.core.summary import describe_layer, summary_table

# -- the worked cases ------------------------------------------------------------------


def test_textbook_worked_case():
    # 32x32 input, 3x3 conv -> 30x30, 2x2 max pool -> 15x15, then a 10-way dense layer.
    spec = NetworkSpec((32, 32, 1), (Conv2D(8, 3), MaxPool2D(2), Flatten(), Dense(10, "none")))
    a = spec.analyze(num_classes=10)
    assert a.ok and a.problems == ()
    assert [i.out_shape for i in a.layers] == [(30, 30, 8), (15, 15, 8), (1800,), (10,)]
    assert [i.in_shape for i in a.layers] == [(32, 32, 1), (30, 30, 8), (15, 15, 8), (1800,)]
    assert [i.params for i in a.layers] == [3 * 3 * 1 * 8 + 8, 0, 0, 1800 * 10 + 10]
    assert a.output_shape == (10,)


def test_keras_cifar10_counts_and_shapes():
    spec = get_preset("keras-cifar10").spec
    a = spec.analyze(num_classes=10)
    assert a.ok and a.problems == ()
    assert spec.names == ["conv1", "maxpool1", "conv2", "maxpool2", "conv3", "flatten1",
                          "dense1", "dense2"]
    assert [i.out_shape for i in a.layers] == [
        (30, 30, 32), (15, 15, 32), (13, 13, 64), (6, 6, 64), (4, 4, 64), (1024,), (64,), (10,)]
    assert [i.params for i in a.layers if i.params] == [896, 18_496, 36_928, 65_600, 650]
    assert a.total_params == 122_570
    # MACs per example: out positions x K*K*C_in for convs, D x U for dense layers.
    expected_macs = (30 * 30 * 32 * 27 + 13 * 13 * 64 * 9 * 32 + 4 * 4 * 64 * 9 * 64
                     + 1024 * 64 + 64 * 10)
    assert a.total_macs == expected_macs


def test_lenet5_has_its_published_parameter_count():
    a = get_preset("lenet5").spec.analyze(num_classes=10)
    assert a.ok
    assert [i.out_shape for i in a.layers][:5] == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,)]
    assert a.total_params == 61_706


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_valid_and_ends_in_raw_scores(name):
    preset = get_preset(name)
    a = preset.spec.analyze()
    assert a.ok and a.problems == (), a.problems
    assert len(a.output_shape) == 1
    assert preset.spec.layers[-1] == Dense(a.output_shape[0], "none")
    # and it survives adaptation to other data
    adapted = preset.spec.adapted(preset.spec.input_shape, 7)
    assert adapted.analyze(num_classes=7).ok


def test_default_preset_and_unknown_preset():
    assert DEFAULT_PRESET in PRESETS
    assert get_preset("tiny").learning_rate == 3e-3 and get_preset("tiny").epochs == 6
    with pytest.raises(UnknownPresetError) as info:
        get_preset("resnet")
    assert "unknown preset 'resnet'" in str(info.value) and "keras-cifar10" in str(info.value)


def test_adapted_changes_input_and_last_dense_only():
    spec = get_preset("keras-cifar10").spec
    new = spec.adapted((28, 28, 1), 5)
    assert new.input_shape == (28, 28, 1)
    assert new.layers[-1] == Dense(5, "none")
    assert new.layers[-2] == Dense(64)  # not the last dense: untouched
    assert new.layers[:-1] == spec.layers[:-1]
    a = new.analyze(num_classes=5)
    assert a.ok
    assert a.layers[0].params == 3 * 3 * 1 * 32 + 32
    assert spec.layers[-1] == Dense(10, "none")  # the original is immutable


# -- the shape formulas on a grid, against the textbook -----------------------------------


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_shape_rule_matches_textbook(padding):
    for size in range(1, 14):
        for k in range(1, 6):
            for s in range(1, 4):
                layer = Conv2D(3, k, s, padding)
                if padding == "same":
                    expected = (reference.same_out(size, s), reference.same_out(size + 1, s), 3)
                    assert layer_output_shape(layer, (size, size + 1, 2)) == expected
                    assert same_padding(size, k, s) == reference.same_pad(size, k, s)
                elif k <= size:
                    expected = (reference.valid_out(size, k, s),
                                reference.valid_out(size + 1, k, s), 3)
                    assert layer_output_shape(layer, (size, size + 1, 2)) == expected


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_pool_shape_rule_matches_textbook(cls):
    for size in range(2, 14):
        for p in (2, 3):
            for s in (None, 1, 2, 3):
                if p > size:
                    continue
                stride = p if s is None else s
                out = layer_output_shape(cls(p, s), (size, size, 4))
                assert out == (reference.valid_out(size, p, stride),) * 2 + (4,)


def test_same_padding_puts_the_odd_pixel_after():
    assert same_padding(5, 2, 1) == (0, 1)
    assert same_padding(4, 3, 2) == (0, 1)  # out 2, total (2-1)*2+3-4 = 1
    assert same_padding(7, 4, 1) == (1, 2)
    assert same_padding(6, 1, 3) == (0, 0)  # never negative


def test_param_shapes_follow_keras_layout():
    assert layer_param_shapes(Conv2D(16, 5), (28, 28, 3)) == {"kernel": (5, 5, 3, 16),
                                                              "bias": (16,)}
    assert layer_param_shapes(Dense(10), (64,)) == {"kernel": (64, 10), "bias": (10,)}
    for layer in (MaxPool2D(), AvgPool2D(), Flatten(), GlobalAvgPool(), Dropout()):
        assert layer_param_shapes(layer, (8, 8, 3)) == {}


def test_global_avg_pool_and_dropout_shapes():
    a = NetworkSpec((9, 7, 3), (Conv2D(6, 3, padding="same"), Dropout(0.3), GlobalAvgPool(),
                                Dropout(0.0), Dense(4, "none"))).analyze()
    assert a.ok
    assert [i.out_shape for i in a.layers] == [(9, 7, 6), (9, 7, 6), (6,), (6,), (4,)]
    assert a.total_params == (3 * 3 * 3 * 6 + 6) + (6 * 4 + 4)


def test_layer_names_number_each_kind():
    assert layer_names([Conv2D(1), MaxPool2D(), Conv2D(1), AvgPool2D(), Dropout(),
                        Flatten(), Dense(3), Dropout(), Dense(2)]) == [
        "conv1", "maxpool1", "conv2", "avgpool1", "dropout1", "flatten1", "dense1",
        "dropout2", "dense2"]
    assert layer_names([GlobalAvgPool()]) == ["gap1"]


# -- invalid networks: an explained Problem each, never an exception ------------------------

OUT = (Flatten(), Dense(2, "none"))
IMG = (8, 8, 1)

# (spec, index of the layer at fault or None, its name, fragments the message must contain)
INVALID = {
    "kernel > input": (
        NetworkSpec((3, 3, 1), (Conv2D(4, 5), *OUT)), 0, "conv1",
        ["kernel 5 > input H 3", "floor((H - K + 2P) / S) + 1",
         "floor((3 - 5 + 0) / 1) + 1 = -1"]),
    "kernel > input, strided": (
        NetworkSpec((4, 4, 1), (Conv2D(4, 5, stride=2), *OUT)), 0, "conv1",
        ["kernel 5 > input H 4", "floor((4 - 5 + 0) / 2) + 1 = 0"]),
    "kernel > input width only": (
        NetworkSpec((10, 3, 1), (Conv2D(4, 4), *OUT)), 0, "conv1",
        ["kernel 4 > input W 3", "floor((3 - 4 + 0) / 1) + 1 = 0"]),
    "kernel > what is left": (
        NetworkSpec((10, 10, 1), (Conv2D(4, 3), MaxPool2D(2), Conv2D(4, 5), *OUT)), 2, "conv2",
        ["kernel 5 > input H 4", "floor((4 - 5 + 0) / 1) + 1 = 0"]),
    "max pool > input": (
        NetworkSpec((3, 3, 1), (MaxPool2D(4), *OUT)), 0, "maxpool1",
        ["pool 4 > input H 3", "floor((3 - 4 + 0) / 4) + 1 = 0"]),
    "avg pool > input": (
        NetworkSpec((5, 2, 1), (AvgPool2D(3, 1), *OUT)), 0, "avgpool1",
        ["pool 3 > input W 2", "floor((2 - 3 + 0) / 1) + 1 = 0"]),
    "filters 0": (NetworkSpec(IMG, (Conv2D(0), *OUT)), 0, "conv1",
                  ["filters must be a whole number >= 1, got 0"]),
    "filters negative": (NetworkSpec(IMG, (Conv2D(-2), *OUT)), 0, "conv1",
                         ["filters", "got -2"]),
    "filters float": (NetworkSpec(IMG, (Conv2D(2.5), *OUT)), 0, "conv1",
                      ["filters must be a whole number", "got 2.5"]),
    "filters bool": (NetworkSpec(IMG, (Conv2D(True), *OUT)), 0, "conv1",
                     ["filters must be a whole number", "got True"]),
    "filters str": (NetworkSpec(IMG, (Conv2D("8"), *OUT)), 0, "conv1", ["filters", "'8'"]),
    "kernel 0": (NetworkSpec(IMG, (Conv2D(4, 0), *OUT)), 0, "conv1",
                 ["kernel_size must be a whole number >= 1, got 0"]),
    "kernel float": (NetworkSpec(IMG, (Conv2D(4, 3.0), *OUT)), 0, "conv1",
                     ["kernel_size", "got 3.0"]),
    "kernel bool": (NetworkSpec(IMG, (Conv2D(4, True), *OUT)), 0, "conv1",
                    ["kernel_size", "got True"]),
    "stride 0": (NetworkSpec(IMG, (Conv2D(4, 3, 0), *OUT)), 0, "conv1",
                 ["stride must be a whole number >= 1, got 0"]),
    "stride negative": (NetworkSpec(IMG, (Conv2D(4, 3, -1), *OUT)), 0, "conv1",
                        ["stride", "got -1"]),
    "stride float": (NetworkSpec(IMG, (Conv2D(4, 3, 1.5), *OUT)), 0, "conv1",
                     ["stride", "got 1.5"]),
    "padding": (NetworkSpec(IMG, (Conv2D(4, 3, 1, "SAME"), *OUT)), 0, "conv1",
                ["padding must be 'valid' or 'same', got 'SAME'"]),
    "padding full": (NetworkSpec(IMG, (Conv2D(4, 3, 1, "full"), *OUT)), 0, "conv1",
                     ["padding", "'full'"]),
    "conv activation": (NetworkSpec(IMG, (Conv2D(4, activation="softmax"), *OUT)), 0, "conv1",
                        ["activation must be one of relu, sigmoid, tanh, none, got 'softmax'"]),
    "dense activation": (NetworkSpec(IMG, (Flatten(), Dense(2, "gelu"))), 1, "dense1",
                         ["activation must be one of", "'gelu'"]),
    "pool size 0": (NetworkSpec(IMG, (MaxPool2D(0), *OUT)), 0, "maxpool1",
                    ["pool_size must be a whole number >= 1, got 0"]),
    "pool size float": (NetworkSpec(IMG, (AvgPool2D(2.0), *OUT)), 0, "avgpool1",
                        ["pool_size", "got 2.0"]),
    "pool stride 0": (NetworkSpec(IMG, (MaxPool2D(2, 0), *OUT)), 0, "maxpool1",
                      ["stride must be a whole number >= 1, got 0"]),
    "pool stride bool": (NetworkSpec(IMG, (AvgPool2D(2, True), *OUT)), 0, "avgpool1",
                         ["stride", "got True"]),
    "units 0": (NetworkSpec(IMG, (Flatten(), Dense(0, "none"))), 1, "dense1",
                ["units must be a whole number >= 1, got 0"]),
    "units negative": (NetworkSpec(IMG, (Flatten(), Dense(-10, "none"))), 1, "dense1",
                       ["units", "got -10"]),
    "units float": (NetworkSpec(IMG, (Flatten(), Dense(10.0, "none"))), 1, "dense1",
                    ["units", "got 10.0"]),
    "units bool": (NetworkSpec(IMG, (Flatten(), Dense(True, "none"))), 1, "dense1",
                   ["units", "got True"]),
    "dropout 1": (NetworkSpec(IMG, (Dropout(1.0), *OUT)), 0, "dropout1",
                  ["rate must be in [0, 1), got 1.0"]),
    "dropout negative": (NetworkSpec(IMG, (Flatten(), Dropout(-0.1), Dense(2, "none"))), 1,
                         "dropout1", ["rate must be in [0, 1), got -0.1"]),
    "dropout > 1": (NetworkSpec(IMG, (Dropout(1.5), *OUT)), 0, "dropout1", ["got 1.5"]),
    "dropout str": (NetworkSpec(IMG, (Dropout("0.5"), *OUT)), 0, "dropout1", ["got '0.5'"]),
    "dropout bool": (NetworkSpec(IMG, (Dropout(True), *OUT)), 0, "dropout1", ["got True"]),
    "dropout None": (NetworkSpec(IMG, (Dropout(None), *OUT)), 0, "dropout1", ["got None"]),
    "dense on image": (NetworkSpec((28, 28, 1), (Conv2D(4), Dense(2, "none"))), 1, "dense1",
                       ["Dense needs a flat input but gets 26x26x4",
                        "add Flatten or GlobalAvgPool"]),
    "dense first": (NetworkSpec((28, 28, 1), (Dense(2, "none"),)), 0, "dense1",
                    ["gets 28x28x1"]),
    "conv after flatten": (NetworkSpec((28, 28, 1), (Flatten(), Conv2D(4), Dense(2, "none"))),
                           1, "conv1", ["Conv2D needs an image-shaped input (H, W, C)",
                                        "flat vector of 784 values"]),
    "pool after flatten": (NetworkSpec((6, 6, 2), (Flatten(), MaxPool2D(2), Dense(2, "none"))),
                           1, "maxpool1", ["MaxPool2D needs an image-shaped input",
                                           "72 values"]),
    "gap after flatten": (NetworkSpec((6, 6, 2), (Flatten(), GlobalAvgPool(), Dense(2, "none"))),
                          1, "gap1", ["GlobalAvgPool needs an image-shaped input"]),
    "double flatten": (NetworkSpec(IMG, (Flatten(), Flatten(), Dense(2, "none"))), 1,
                       "flatten2", ["already flat", "remove this Flatten"]),
    "flatten after gap": (NetworkSpec(IMG, (GlobalAvgPool(), Flatten(), Dense(2, "none"))), 1,
                          "flatten1", ["already flat"]),
    "empty": (NetworkSpec(IMG, ()), None, "network", ["no layers", "Dense output layer"]),
    "ends in an image": (NetworkSpec((28, 28, 1), (Conv2D(4),)), 0, "conv1",
                         ["ends in 26x26x4, not a vector", "Flatten", "Dense"]),
    "ends in a pooled image": (NetworkSpec((8, 8, 3), (Conv2D(4), MaxPool2D(2))), 1,
                               "maxpool1", ["ends in 3x3x4"]),
    "input 2-d": (NetworkSpec((28, 28), OUT), None, "network",
                  ["input shape must be (H, W, C)", "(28, 28)"]),
    "input 4-d": (NetworkSpec((1, 28, 28, 1), OUT), None, "network", ["(1, 28, 28, 1)"]),
    "input zero": (NetworkSpec((0, 28, 1), OUT), None, "network", ["positive", "(0, 28, 1)"]),
    "input negative": (NetworkSpec((28, -28, 1), OUT), None, "network", ["(28, -28, 1)"]),
    "input float": (NetworkSpec((28.0, 28, 1), OUT), None, "network", ["(28.0, 28, 1)"]),
    "input bool": (NetworkSpec((True, 28, 1), OUT), None, "network", ["(True, 28, 1)"]),
    "input str": (NetworkSpec(("28", 28, 1), OUT), None, "network", ["('28', 28, 1)"]),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_network_is_explained(case):
    spec, index, name, fragments = INVALID[case]
    a = spec.analyze()  # never raises
    assert not a.ok
    errors = a.errors
    assert len(errors) == 1, errors  # one explained cause, not a cascade
    problem = errors[0]
    assert (problem.index, problem.name, problem.severity) == (index, name, "error")
    for fragment in fragments:
        assert fragment in problem.message, (fragment, problem.message)
    assert str(problem) == f"{name}: {problem.message}"
    if index is not None:  # the layer records the same reason; nothing past it has a shape
        info = a.layers[index]
        if info.error is not None:
            assert info.error == problem.message
            assert info.out_shape is None
        assert all(i.out_shape is None and i.params == 0 for i in a.layers[index + 1:])
    with pytest.raises(NetworkError) as raised:
        spec.check()
    assert raised.value.problems == errors
    assert str(raised.value) == str(problem)


@pytest.mark.parametrize("case", list(INVALID))
def test_summary_of_invalid_network_explains_instead_of_raising(case):
    spec, _, name, _ = INVALID[case]
    text = summary_table(spec)  # must not raise, whatever the fields hold
    assert f"ERROR {name}: " in text


def test_wrong_number_of_output_units():
    spec = NetworkSpec((8, 8, 1), (Flatten(), Dense(5, "none")))
    assert spec.analyze(num_classes=5).ok
    a = spec.analyze(num_classes=10)
    assert not a.ok
    (p,) = a.errors
    assert (p.index, p.name) == (1, "dense1")
    assert "the output has 5 values but the data has 10 classes; set units to 10" in p.message
    with pytest.raises(NetworkError, match="set units to 10"):
        spec.check(10)


def test_output_activation_is_a_warning_not_an_error():
    spec = NetworkSpec((8, 8, 1), (Flatten(), Dense(3, "relu")))
    a = spec.analyze(num_classes=3)
    assert a.ok and a.errors == []
    (p,) = a.problems
    assert (p.severity, p.index, p.name) == ("warning", 1, "dense1")
    assert "relu" in p.message and "logits" in p.message and "activation none" in p.message
    assert spec.check(3) is not None  # does not raise
    assert "WARNING dense1:" in summary_table(spec)


def test_output_activation_warning_and_class_error_together():
    a = NetworkSpec((8, 8, 1), (Flatten(), Dense(3, "sigmoid"))).analyze(num_classes=4)
    assert [p.severity for p in a.problems] == ["error", "warning"]


def test_ending_in_dropout_after_dense_is_allowed():
    # the head check looks at shapes; a vector output is enough
    a = NetworkSpec((8, 8, 1), (Flatten(), Dense(3, "none"), Dropout(0.2))).analyze(3)
    assert a.ok and a.output_shape == (3,)


def test_analysis_totals_of_invalid_network_count_only_known_layers():
    a = NetworkSpec((10, 10, 1), (Conv2D(4, 3), Conv2D(4, 20), Flatten(), Dense(2))).analyze()
    assert a.total_params == 3 * 3 * 1 * 4 + 4
    assert a.output_shape is None


# -- JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PRESETS))
def test_json_round_trip_presets(name):
    spec = get_preset(name).spec
    text = spec.to_json()
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["input_shape"] == list(spec.input_shape)
    assert NetworkSpec.from_json(text) == spec


def test_json_round_trip_every_layer_type_and_field():
    spec = NetworkSpec((16, 12, 3), (
        Conv2D(5, 4, 2, "same", "tanh", trainable=False), BatchNorm(0.9, 1e-5, "relu"),
        MaxPool2D(3, 1), AvgPool2D(2), Dropout(0.25),
        GlobalAvgPool(), Dense(7, "sigmoid"), Dense(3, "none")))
    back = NetworkSpec.from_json(spec.to_json())
    assert back == spec
    assert {type(layer) for layer in back.layers} == set(LAYER_TYPES.values()) - {Flatten}
    assert NetworkSpec.from_json(NetworkSpec((4, 4, 1), (Flatten(), Dense(2))).to_json()
                                 ).layers[0] == Flatten()


def test_json_round_trip_random_specs():
    rng = np.random.default_rng(7)
    for _ in range(50):
        spec = reference.random_spec(rng)
        assert NetworkSpec.from_json(spec.to_json()) == spec


def test_layer_dict_format():
    assert layer_to_dict(Conv2D(8)) == {"type": "conv2d", "filters": 8, "kernel_size": 3,
                                        "stride": 1, "padding": "valid", "activation": "relu"}
    assert layer_to_dict(MaxPool2D()) == {"type": "maxpool2d", "pool_size": 2, "stride": None}
    assert layer_from_dict({"type": "dense", "units": 4}) == Dense(4, "relu")


def _net(layers, **top):
    return json.dumps({"schema_version": 1, "input_shape": [28, 28, 1], "layers": layers,
                       **top})


BAD_JSON = {
    "malformed": ("{\"schema_version\": 1, ", ["not valid JSON"]),
    "empty text": ("", ["not valid JSON"]),
    "not an object": ("[1, 2]", ["a network must be a JSON object"]),
    "no version": (json.dumps({"input_shape": [28, 28, 1], "layers": []}),
                   ["unsupported network schema_version None", "reads 1"]),
    "future version": (json.dumps({"schema_version": 2, "input_shape": [28, 28, 1],
                                   "layers": []}),
                       ["unsupported network schema_version 2 (this cnnviz reads 1)"]),
    "version as text": (json.dumps({"schema_version": "1", "input_shape": [28, 28, 1],
                                    "layers": []}), ["schema_version '1'"]),
    "no input shape": (json.dumps({"schema_version": 1, "layers": []}),
                       ["input_shape must be a list [H, W, C]"]),
    "input shape 2-d": (json.dumps({"schema_version": 1, "input_shape": [28, 28],
                                    "layers": []}), ["input_shape must be a list [H, W, C]"]),
    "input shape not list": (json.dumps({"schema_version": 1, "input_shape": 28,
                                         "layers": []}), ["input_shape"]),
    "no layers": (json.dumps({"schema_version": 1, "input_shape": [28, 28, 1]}),
                  ["layers must be a list"]),
    "layers not list": (_net({"type": "flatten"}), ["layers must be a list"]),
    "layer not object": (_net([5]), ["a layer must be an object with a 'type', got 5"]),
    "layer without type": (_net([{"units": 3}]), ["a layer must be an object with a 'type'"]),
    "unknown type": (_net([{"type": "conv3d", "filters": 3}]),
                     ["unknown layer type 'conv3d'", "known: conv2d, maxpool2d"]),
    "type not a string": (_net([{"type": ["conv2d"], "filters": 3}]), ["layer type"]),
    "type null": (_net([{"type": None}]), ["unknown layer type None"]),
    "unknown field": (_net([{"type": "conv2d", "filters": 3, "kernal_size": 3}]),
                      ["conv2d: unknown field(s) kernal_size"]),
    "two unknown fields": (_net([{"type": "flatten", "b": 1, "a": 2}]),
                           ["flatten: unknown field(s) a, b"]),
    "missing field conv": (_net([{"type": "conv2d", "kernel_size": 3}]),
                           ["conv2d:", "filters"]),
    "missing field dense": (_net([{"type": "flatten"}, {"type": "dense"}]),
                            ["dense:", "units"]),
}


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_from_json_refuses_bad_files_with_a_clear_message(case):
    text, fragments = BAD_JSON[case]
    with pytest.raises(LayerFormatError) as info:
        NetworkSpec.from_json(text)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_json_with_readable_but_invalid_values_loads_and_is_explained():
    # Readable files with impossible values are loaded; analyze() explains them.
    spec = NetworkSpec.from_json(_net([{"type": "conv2d", "filters": "8"},
                                       {"type": "flatten"}, {"type": "dense", "units": 2}]))
    (p,) = spec.analyze().errors
    assert p.name == "conv1" and "filters" in p.message


# -- summary ----------------------------------------------------------------------------


def test_summary_table_keras_cifar10():
    spec = get_preset("keras-cifar10").spec
    text = summary_table(spec)
    lines = text.splitlines()
    assert "Total params: 122,570" in lines
    assert "Trainable params: 122,570" in lines
    macs = spec.analyze().total_macs
    assert f"MACs per example: {macs:,}" in lines
    rows = {line.split("  ")[0].strip(): line for line in lines if line.startswith(
        ("conv", "maxpool", "flatten", "dense", "input"))}
    assert rows.keys() == {"input (None, 32, 32, 3)", "conv1 (Conv2D 32 3x3 /1 valid relu)",
                           "maxpool1 (MaxPool2D 2x2 /2)", "conv2 (Conv2D 64 3x3 /1 valid relu)",
                           "maxpool2 (MaxPool2D 2x2 /2)", "conv3 (Conv2D 64 3x3 /1 valid relu)",
                           "flatten1 (Flatten)", "dense1 (Dense 64 relu)",
                           "dense2 (Dense 10 none)"}
    conv1 = rows["conv1 (Conv2D 32 3x3 /1 valid relu)"]
    assert "(None, 30, 30, 32)" in conv1
    assert conv1.split()[-2:] == ["896", f"{30 * 30 * 32 * 27:,}"]
    assert rows["dense1 (Dense 64 relu)"].split()[-2:] == ["65,600", "65,536"]
    # columns line up: every row has the same width
    table = [line for line in lines
             if not line.startswith(("Total", "Trainable", "Non-trainable", "MACs",
                                     "Training memory"))]
    assert len({len(line) for line in table}) == 1
    assert "ERROR" not in text and "WARNING" not in text


def test_summary_marks_unknown_shapes():
    spec = NetworkSpec((4, 4, 1), (Conv2D(2, 5), Flatten(), Dense(2, "none")))
    text = summary_table(spec)
    assert "ERROR conv1: kernel 5 > input H 4" in text
    flatten_row = next(line for line in text.splitlines() if line.startswith("flatten1"))
    assert "?" in flatten_row


def test_describe_layer():
    assert describe_layer(Conv2D(8, 5, 2, "same", "tanh")) == "Conv2D 8 5x5 /2 same tanh"
    assert describe_layer(AvgPool2D(3, 1)) == "AvgPool2D 3x3 /1"
    assert describe_layer(MaxPool2D(3)) == "MaxPool2D 3x3 /3"
    assert describe_layer(Dropout(0.25)) == "Dropout 0.25"
    assert describe_layer(Dense(10, "none")) == "Dense 10 none"
    assert describe_layer(GlobalAvgPool()) == "GlobalAvgPool"


def test_random_specs_shapes_follow_the_formulas():
    """analyze() against a plain re-derivation of every layer's output shape."""
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(300):
        spec = reference.random_spec(rng)
        a = spec.analyze()
        shape = spec.input_shape
        for info in a.layers:
            if info.out_shape is None:
                break
            layer = info.layer
            if isinstance(layer, Conv2D):
                h, w, _ = shape
                if layer.padding == "same":
                    shape = (reference.same_out(h, layer.stride),
                             reference.same_out(w, layer.stride), layer.filters)
                else:
                    shape = (reference.valid_out(h, layer.kernel_size, layer.stride),
                             reference.valid_out(w, layer.kernel_size, layer.stride),
                             layer.filters)
            elif isinstance(layer, MaxPool2D | AvgPool2D):
                s = layer.stride or layer.pool_size
                shape = (reference.valid_out(shape[0], layer.pool_size, s),
                         reference.valid_out(shape[1], layer.pool_size, s), shape[2])
            elif isinstance(layer, Flatten):
                shape = (math.prod(shape),)
            elif isinstance(layer, GlobalAvgPool):
                shape = (shape[2],)
            elif isinstance(layer, Dense):
                shape = (layer.units,)
            assert info.out_shape == shape
        if a.ok:
            checked += 1
            assert a.output_shape == shape
        else:
            # the one error names the first layer whose window no longer fits
            (p,) = a.errors
            assert p.index is not None and "> input" in p.message
    assert checked > 100
