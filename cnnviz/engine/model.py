"""Initialise and run a NetworkSpec.

Parameters are a list with one dict per layer, in layer order: ``{"kernel", "bias"}``
for Conv2D (kernel (K, K, C, F)) and Dense (kernel (D, U)), ``{"gamma", "beta",
"moving_mean", "moving_variance"}`` (each (C,)) for BatchNorm, ``{}`` for layers without
weights. Names and layouts are Keras', so weights move between the two unchanged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.core.network import NetworkSpec
from cnnviz.engine import ops

Params = list[dict[str, jax.Array]]
# BatchNorm's running averages: state that the forward pass updates, never trained
MOVING = ("moving_mean", "moving_variance")


def glorot_uniform(key, shape, fan_in: int, fan_out: int):
    """Keras' default kernel initializer: U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, jnp.float32, -limit, limit)


def init_params(spec: NetworkSpec, key) -> Params:
    """Glorot-uniform kernels and zero biases, as Keras initialises them; BatchNorm as
    Keras too: gamma and moving_variance ones, beta and moving_mean zeros."""
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
        elif isinstance(layer, BatchNorm):
            c = (in_shape[-1],)  # four arrays: a step donates each of them on its own
            params.append({"gamma": jnp.ones(c, jnp.float32), "beta": jnp.zeros(c, jnp.float32),
                           "moving_mean": jnp.zeros(c, jnp.float32),
                           "moving_variance": jnp.ones(c, jnp.float32)})
        else:
            params.append({})
    return params


def batch_norm(layer: BatchNorm, p, x, train: bool):
    """(output, new moving averages or {}): with the batch's statistics and moving
    averages that follow them while training a trainable layer, else with the moving
    averages (evaluation, and a frozen layer, as in Keras)."""
    if train and layer.trainable:
        mean, variance = ops.moments(x)  # (C,) each
        m = layer.momentum
        moving = {"moving_mean": p["moving_mean"] * m + mean * (1.0 - m),
                  "moving_variance": p["moving_variance"] * m + variance * (1.0 - m)}
        moving = jax.lax.stop_gradient(moving)
    else:
        mean, variance, moving = p["moving_mean"], p["moving_variance"], {}
    y = ops.batch_norm(x, p["gamma"], p["beta"], mean, variance, layer.epsilon)
    return ops.ACTIVATION_FNS[layer.activation](y), moving


def apply_layer(layer, p, x, *, train: bool, key=None):
    """One layer on a batch. Dropout is active only when `train` (and needs `key`);
    BatchNorm uses the batch's statistics only when `train`."""
    if isinstance(layer, BatchNorm):
        return batch_norm(layer, p, x, train)[0]
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
    """(output, [every layer's output] if `collect`, [each layer's new BatchNorm moving
    averages, {} for the rest])."""
    keys = jax.random.split(key, len(spec.layers)) if key is not None else [None] * len(
        spec.layers)
    activations, moving = [], []
    for layer, p, k in zip(spec.layers, params, keys, strict=True):
        if isinstance(layer, BatchNorm):
            x, m = batch_norm(layer, p, x, train)
        else:
            x, m = apply_layer(layer, p, x, train=train, key=k), {}
        moving.append(m)
        if collect:
            activations.append(x)
    return x, activations, moving


def apply(spec: NetworkSpec, params: Params, x, *, train: bool = False, key=None):
    """x (N, H, W, C) float32 -> logits (N, classes)."""
    return _forward(spec, params, x, train, key, collect=False)[0]


def apply_train(spec: NetworkSpec, params: Params, x, key):
    """x (N, H, W, C) -> (logits, [each layer's new BatchNorm moving averages, {} for
    the other layers]) in training mode."""
    logits, _, moving = _forward(spec, params, x, True, key, collect=False)
    return logits, moving


def apply_with_activations(spec: NetworkSpec, params: Params, x):
    """x (N, H, W, C) -> (logits, [every layer's output]) at evaluation (no dropout)."""
    return _forward(spec, params, x, False, None, collect=True)[:2]


def to_float(x):
    """Images as the network sees them: uint8 0-255 scaled to [0, 1]; floats unchanged."""
    if x.dtype == jnp.uint8:
        return x.astype(jnp.float32) * (1.0 / 255.0)
    return x.astype(jnp.float32)


def params_to_numpy(params) -> list[dict[str, np.ndarray]]:
    """A host copy (never a view of a device buffer that a later step may donate)."""
    return [{name: np.array(value, copy=True) for name, value in layer.items()}
            for layer in params]
