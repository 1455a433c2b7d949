"""Weights named by layer ('conv1/kernel', ...) and checked against the network."""

import numpy as np
import pytest
from reference import random_weights

from cnnviz.core.layers import Conv2D, Dense, Flatten
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.presets import get_preset
from cnnviz.io.weights import WeightsError, flat_names, from_flat_names

SPEC = get_preset("keras-cifar10").spec


def test_flat_names_follow_layer_names_in_order():
    flat = flat_names(SPEC, random_weights(SPEC))
    assert list(flat) == ["conv1/kernel", "conv1/bias", "conv2/kernel", "conv2/bias",
                          "conv3/kernel", "conv3/bias", "dense1/kernel", "dense1/bias",
                          "dense2/kernel", "dense2/bias"]
    assert flat["conv2/kernel"].shape == (3, 3, 32, 64)
    assert flat["dense1/kernel"].shape == (1024, 64)
    assert sum(v.size for v in flat.values()) == 122_570


def test_round_trip_is_exact_and_float32():
    weights = random_weights(SPEC, dtype=np.float64)
    back = from_flat_names(SPEC, flat_names(SPEC, weights))
    assert [set(p) for p in back] == [set(p) for p in weights]
    assert back[1] == {} and back[5] == {}  # pool and flatten own nothing
    for a, b in zip(weights, back, strict=True):
        for name in a:
            assert b[name].dtype == np.float32
            np.testing.assert_array_equal(b[name], a[name].astype(np.float32))


def _flat(**changes):
    flat = flat_names(SPEC, random_weights(SPEC))
    for name, value in changes.items():
        name = name.replace("__", "/")
        if value is None:
            del flat[name]
        else:
            flat[name] = value
    return flat


@pytest.mark.parametrize(("flat", "message"), [
    (_flat(conv2__bias=None), "missing weights for conv2/bias (expected shape 64)"),
    (_flat(dense2__kernel=None), "missing weights for dense2/kernel (expected shape 64x10)"),
    (_flat(conv1__kernel=np.zeros((32, 3, 3, 3), np.float32)),
     "conv1/kernel has shape 32x3x3x3 but the network needs 3x3x3x32"),
    (_flat(dense1__bias=np.zeros((65,), np.float32)),
     "dense1/bias has shape 65 but the network needs 64"),
    (_flat(dense1__kernel=np.zeros((64, 1024), np.float32)),
     "dense1/kernel has shape 64x1024 but the network needs 1024x64"),
    (_flat(conv4__kernel=np.zeros((3, 3, 64, 64), np.float32)),
     "weights for layers this network does not have: conv4/kernel"),
    (_flat(maxpool1__kernel=np.zeros(1, np.float32), dense9__bias=np.zeros(1, np.float32)),
     "does not have: dense9/bias, maxpool1/kernel"),
    (_flat(conv3__bias=np.full(64, np.nan, np.float32)), "conv3/bias contains NaN or infinite"),
    (_flat(dense2__kernel=np.where(np.eye(64, 10) > 0, np.inf, 0).astype(np.float32)),
     "dense2/kernel contains NaN or infinite values"),
    (_flat(conv1__bias=np.zeros(32, np.int64)), "conv1/bias holds int64, not floating-point"),
], ids=["missing bias", "missing kernel", "kernel transposed", "bias too long",
        "dense transposed", "extra layer", "two extra", "nan", "inf", "integers"])
def test_mismatched_weights_are_explained(flat, message):
    with pytest.raises(WeightsError) as info:
        from_flat_names(SPEC, flat)
    assert message in str(info.value)


def test_weights_of_another_network_do_not_fit():
    other = SPEC.adapted((28, 28, 1), 10)  # conv1 sees 1 channel, dense1 sees 800 values
    with pytest.raises(WeightsError, match="conv1/kernel has shape 3x3x3x32 but the network "
                                           "needs 3x3x1x32"):
        from_flat_names(other, flat_names(SPEC, random_weights(SPEC)))


def test_invalid_network_refuses_before_looking_at_weights():
    bad = NetworkSpec((3, 3, 1), (Conv2D(2, 5), Flatten(), Dense(2, "none")))
    with pytest.raises(NetworkError, match="kernel 5 > input H 3"):
        from_flat_names(bad, {})
