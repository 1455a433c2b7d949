"""Initialise and run a NetworkSpec.

Parameters are a list with one dict per layer, in layer order: ``{"kernel", "bias"}``
for Conv2D (kernel (K, K, C, F)) and Dense (kernel (D, U)), ``{}`` for layers without
weights. Names and layouts are Keras', so weights move between the two unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cnnviz.core.layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool, MaxPool2D
from cnnviz.core.network import NetworkSpec
from cnnviz.engine import ops

Params = list[dict[str, jax.Array]]


def glorot_uniform(key, shape, fan_in: int, fan_out: int):
    """Keras' default kernel initializer: U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, jnp.float32, -limit, limit)


def init_params(spec: NetworkSpec, key) -> Params:
    """Glorot-uniform kernels and zero biases, as Keras initialises them."""
    analysis = spec.check()
    keys = jax.random.split(key, max(len(spec.layers), 1))
    params: Params = []
    for info, k in zip(analysis.layers, keys, strict=False):
        layer, in_shape = info.layer, info.in_shape
        if isinstance(layer, Conv2D):
            ks, c, f = layer.kernel_size, in_shape[-1], layer.filters
            params.append({"kernel": glorot_uniform(k, (ks, ks, c, f), ks * ks * c, ks * ks * f),
                           "bias": jnp.zeros((f,), jnp.float32)})
        elif isinstance(layer, Dense):
            d, u = in_shape[-1], layer.units
            params.append({"kernel": glorot_uniform(k, (d, u), d, u),
                           "bias": jnp.zeros((u,), jnp.float32)})
        else:
            params.append({})
    return params


def apply_layer(layer, p, x, *, train: bool, key=None):
    """One layer on a batch. Dropout is active only when `train` (and needs `key`)."""
    if isinstance(layer, Conv2D):
        x = ops.conv2d(x, p["kernel"], p["bias"], layer.stride, layer.padding)  # (N, H', W', F)
        return ops.ACTIVATION_FNS[layer.activation](x)
    if isinstance(layer, MaxPool2D):
        return ops.max_pool(x, layer.pool_size, layer.stride or layer.pool_size)
    if isinstance(layer, AvgPool2D):
        return ops.avg_pool(x, layer.pool_size, layer.stride or layer.pool_size)
    if isinstance(layer, Flatten):
        return x.reshape(x.shape[0], -1)  # (N, H*W*C), row-major like Keras
    if isinstance(layer, GlobalAvgPool):
        return x.mean(axis=(1, 2))  # (N, C)
    if isinstance(layer, Dense):
        return ops.ACTIVATION_FNS[layer.activation](ops.dense(x, p["kernel"], p["bias"]))
    if isinstance(layer, Dropout):
        return ops.dropout(x, layer.rate, key) if train and layer.rate > 0 else x
    raise TypeError(f"unknown layer {layer!r}")


def _forward(spec: NetworkSpec, params: Params, x, train: bool, key, collect: bool):
    keys = jax.random.split(key, len(spec.layers)) if key is not None else [None] * len(
        spec.layers)
    activations = []
    for layer, p, k in zip(spec.layers, params, keys, strict=True):
        x = apply_layer(layer, p, x, train=train, key=k)
        if collect:
            activations.append(x)
    return x, activations


def apply(spec: NetworkSpec, params: Params, x, *, train: bool = False, key=None):
    """x (N, H, W, C) float32 -> logits (N, classes)."""
    return _forward(spec, params, x, train, key, collect=False)[0]


def apply_with_activations(spec: NetworkSpec, params: Params, x):
    """x (N, H, W, C) -> (logits, [every layer's output]) at evaluation (no dropout)."""
    return _forward(spec, params, x, False, None, collect=True)


def to_float(x):
    """Images as the network sees them: uint8 0-255 scaled to [0, 1]; floats unchanged."""
    if x.dtype == jnp.uint8:
        return x.astype(jnp.float32) * (1.0 / 255.0)
    return x.astype(jnp.float32)


def params_to_numpy(params) -> list[dict[str, np.ndarray]]:
    """A host copy (never a view of a device buffer that a later step may donate)."""
    return [{name: np.array(value, copy=True) for name, value in layer.items()}
            for layer in params]
