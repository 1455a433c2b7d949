"""init / apply of a NetworkSpec: shapes against jax.eval_shape, a forward pass against
the chained numpy references, Keras' Glorot-uniform init."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference

from cnnviz.core.layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool, MaxPool2D
from cnnviz.core.network import NetworkError, NetworkSpec
from cnnviz.core.presets import PRESETS, get_preset
from cnnviz.core.shapes import layer_param_shapes
from cnnviz.engine.model import (
    apply,
    apply_with_activations,
    glorot_uniform,
    init_params,
    params_to_numpy,
    to_float,
)

BATCH = 2

# One compilation per network instead of one per eager operation (specs are hashable).
# init_params stays eager: XLA compiles a whole network's random init slowly, while the
# eager per-shape random kernels are compiled once and shared by every test.
forward = jax.jit(apply_with_activations, static_argnums=0)
run = jax.jit(apply, static_argnums=0, static_argnames="train")


TINY = get_preset("tiny").spec  # (28, 28, 1) -> 5 classes, as the trainer tests use it


@functools.cache
def _tiny_params(seed):
    # PRNGKey, as the Trainer makes them: the eager random kernels compiled here are reused
    return init_params(TINY, jax.random.PRNGKey(seed))


def _random_params(spec, seed):
    """Weights of the right shapes from numpy, non-zero biases included."""
    rng = np.random.default_rng(seed)
    return [{name: rng.uniform(-0.5, 0.5, shape).astype(np.float32)
             for name, shape in layer_param_shapes(info.layer, info.in_shape).items()}
            for info in spec.check().layers]


def _engine_shapes(spec):
    """(per-layer output shapes without the batch axis, params as ShapeDtypeStructs),
    traced by JAX without computing anything."""
    params = jax.eval_shape(lambda key: init_params(spec, key), jax.random.key(0))
    x = jax.ShapeDtypeStruct((BATCH, *spec.input_shape), jnp.float32)
    logits, activations = jax.eval_shape(partial(apply_with_activations, spec), params, x)
    assert logits.shape == activations[-1].shape
    for a in activations:
        assert a.shape[0] == BATCH and a.dtype == jnp.float32
    return [tuple(a.shape[1:]) for a in activations], params


def _check_against_engine(spec):
    analysis = spec.analyze()
    assert analysis.ok, analysis.problems
    shapes, params = _engine_shapes(spec)
    assert [info.out_shape for info in analysis.layers] == shapes
    assert len(params) == len(spec.layers)
    for info, p in zip(analysis.layers, params, strict=True):
        sizes = {name: int(np.prod(v.shape)) for name, v in p.items()}
        assert sum(sizes.values()) == info.params, info.name
        assert {name: tuple(v.shape) for name, v in p.items()} == layer_param_shapes(
            info.layer, info.in_shape)
        # MACs: every output value of a conv / dense costs one multiply-add per weight
        # of its kernel slice
        if isinstance(info.layer, Conv2D):
            k = p["kernel"].shape
            assert info.macs == int(np.prod(info.out_shape)) * k[0] * k[1] * k[2]
        elif isinstance(info.layer, Dense):
            assert info.macs == p["kernel"].shape[0] * p["kernel"].shape[1]
        else:
            assert info.macs == 0
    return analysis


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_shapes_and_counts_equal_what_jax_computes(name):
    _check_against_engine(get_preset(name).spec)


def test_keras_cifar10_init_params_sizes():
    spec = get_preset("keras-cifar10").spec
    params = jax.eval_shape(lambda key: init_params(spec, key), jax.random.key(0))
    sizes = [sum(int(np.prod(v.shape)) for v in p.values()) for p in params]
    assert [s for s in sizes if s] == [896, 18_496, 36_928, 65_600, 650]
    assert sum(sizes) == 122_570


def test_random_valid_specs_shapes_and_counts_equal_what_jax_computes():
    rng = np.random.default_rng(2024)
    checked = 0
    seen = set()
    for _ in range(400):
        spec = reference.random_spec(rng)
        if not spec.analyze().ok:
            continue
        _check_against_engine(spec)
        seen |= {(type(layer).__name__, getattr(layer, "padding", None)) for layer in spec.layers}
        checked += 1
        if checked == 60:
            break
    assert checked == 60
    # the sample exercised every layer type and both paddings
    assert {("Conv2D", "valid"), ("Conv2D", "same"), ("MaxPool2D", None), ("AvgPool2D", None),
            ("Dropout", None), ("Flatten", None), ("GlobalAvgPool", None),
            ("Dense", None)} <= seen, seen


def test_forward_pass_equals_chained_textbook_references():
    spec = NetworkSpec((9, 8, 2), (
        Conv2D(3, 3, activation="relu"), MaxPool2D(2, 1), Conv2D(4, 2, 2, "same", "tanh"),
        AvgPool2D(2), Dropout(0.5), Flatten(), Dense(5, "sigmoid"), Dense(3, "none")))
    params = _random_params(spec, 1)
    x = np.random.default_rng(3).random((2, 9, 8, 2), np.float32)
    logits, acts = forward(spec, params, x)
    p = params

    expected = []
    h = reference.conv2d(x, p[0]["kernel"], p[0]["bias"], 1, "valid")
    expected.append(h := np.maximum(h, 0))
    expected.append(h := reference.max_pool(h, 2, 1))
    expected.append(h := np.tanh(reference.conv2d(h, p[2]["kernel"], p[2]["bias"], 2, "same")))
    expected.append(h := reference.avg_pool(h, 2, 2))
    expected.append(h)  # dropout is the identity at evaluation
    expected.append(h := h.reshape(len(h), -1))
    expected.append(h := 1 / (1 + np.exp(-reference.dense(h, p[6]["kernel"], p[6]["bias"]))))
    expected.append(h := reference.dense(h, p[7]["kernel"], p[7]["bias"]))
    assert len(acts) == len(expected)
    for got, want in zip(acts, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, expected[-1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(run(spec, params, x), logits, rtol=1e-6, atol=1e-6)
    # training mode with a key: dropout changes the output, deterministically by key
    key = jax.random.key(5)
    trained = run(spec, params, x, train=True, key=key)
    assert not np.allclose(trained, logits)
    np.testing.assert_array_equal(trained, run(spec, params, x, train=True, key=key))


def test_global_avg_pool_network_forward():
    spec = NetworkSpec((5, 5, 1), (Conv2D(2, 3, padding="same"), GlobalAvgPool(),
                                   Dense(2, "none")))
    p = params = _random_params(spec, 2)
    x = np.random.default_rng(4).random((3, 5, 5, 1), np.float32)
    h = np.maximum(reference.conv2d(x, p[0]["kernel"], p[0]["bias"], 1, "same"), 0)
    want = reference.dense(h.mean(axis=(1, 2)), p[2]["kernel"], p[2]["bias"])
    np.testing.assert_allclose(run(spec, params, x), want, rtol=1e-4, atol=1e-5)


# -- Keras-compatible initialisation ---------------------------------------------------------


def test_glorot_uniform_bounds_zero_biases_and_determinism():
    params = _tiny_params(0)
    # conv1 (3,3,1,16), conv2 (3,3,16,32), dense1 (800,64), dense2 (64,5)
    fans = {0: (3 * 3 * 1, 3 * 3 * 16), 2: (3 * 3 * 16, 3 * 3 * 32), 5: (800, 64), 6: (64, 5)}
    for i, p in enumerate(params):
        if i not in fans:
            assert p == {}
            continue
        limit = np.sqrt(6.0 / sum(fans[i]))
        kernel = np.asarray(p["kernel"])
        assert kernel.dtype == np.float32
        assert np.abs(kernel).max() <= limit
        assert np.abs(kernel).max() > 0.85 * limit  # fills the whole range
        assert kernel.min() < 0 < kernel.max()
        if kernel.size > 4000:  # U(-l, l): std l / sqrt(3); conv fans use the receptive field
            assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.04)
        assert np.asarray(p["bias"]).dtype == np.float32
        np.testing.assert_array_equal(p["bias"], 0)
    # the same seed gives the same weights: a network that differs only in its output
    # layer starts with identical hidden layers
    again = init_params(TINY.adapted((28, 28, 1), 7), jax.random.PRNGKey(0))
    other = _tiny_params(1)
    for i, (a, b, c) in enumerate(zip(params, again, other, strict=True)):
        for name in a:
            if i < 6:
                np.testing.assert_array_equal(a[name], b[name])
            if name == "kernel":
                assert not np.array_equal(a[name], c[name])
    assert again[6]["kernel"].shape == (64, 7)
    # layers get independent keys: equally shaped slices are not copies
    assert not np.array_equal(params[2]["kernel"][:, :, :1, :16], params[0]["kernel"])


def test_glorot_uniform_std_of_a_large_layer():
    fan_in, fan_out = 1200, 800
    w = np.asarray(glorot_uniform(jax.random.key(3), (fan_in, fan_out), fan_in, fan_out))
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    # U(-l, l) has std l / sqrt(3) = sqrt(2 / (fan_in + fan_out)), mean 0
    assert w.std() == pytest.approx(np.sqrt(2.0 / (fan_in + fan_out)), rel=0.01)
    assert abs(w.mean()) < 0.01 * limit
    # roughly uniform: each tenth of the range holds about a tenth of the values
    counts, _ = np.histogram(w, bins=10, range=(-limit, limit))
    assert np.all(np.abs(counts / w.size - 0.1) < 0.005)


def test_init_params_refuses_an_invalid_network():
    with pytest.raises(NetworkError, match="kernel 5 > input H 3"):
        init_params(NetworkSpec((3, 3, 1), (Conv2D(2, 5), Flatten(), Dense(2))),
                    jax.random.key(0))


def test_to_float_and_params_to_numpy():
    x8 = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_allclose(to_float(jnp.asarray(x8)), [[0.0, 0.2, 1.0]], rtol=1e-6)
    xf = jnp.asarray([[0.5, 2.0]], jnp.float32)
    np.testing.assert_array_equal(to_float(xf), xf)
    assert to_float(jnp.asarray(x8)).dtype == jnp.float32
    params = [{"kernel": jnp.ones((2, 2)), "bias": jnp.zeros(2)}, {}]
    host = params_to_numpy(params)
    assert isinstance(host[0]["kernel"], np.ndarray) and host[1] == {}
    host[0]["kernel"][0, 0] = 7.0  # a copy: writable and independent of the device array
    assert float(params[0]["kernel"][0, 0]) == 1.0
