"""The textbook operations, channels-last (N, H, W, C), written for XLA on CPU and GPU.

Pooling is built from strided slices rather than ``lax.reduce_window``: XLA's CPU
gradient of reduce_window (select-and-scatter) is the bottleneck of a small CNN's
training step, while a max of slices and a masked gradient fuse into cheap elementwise
loops. Any pool size and stride work, overlapping windows included.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from cnnviz.core.shapes import same_padding

ACTIVATION_FNS = {
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "none": lambda x: x,
}


def conv2d(x, kernel, bias, stride: int, padding: str):
    """x (N, H, W, C), kernel (K, K, C, F), bias (F,) -> (N, H', W', F).

    out[n, i, j, f] = sum_{x, y, c} in[n, i*S + x, j*S + y, c] * k[x, y, c, f] + b[f]
    """
    k = kernel.shape[0]
    if padding == "same":
        pads = [same_padding(x.shape[1], k, stride), same_padding(x.shape[2], k, stride)]
    else:
        pads = [(0, 0), (0, 0)]
    y = lax.conv_general_dilated(x, kernel, (stride, stride), pads,
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias


def _windows(x, pool: int, stride: int):
    """The pool*pool strided views of x, each (N, H', W', C): view (di, dj) holds
    in[i*S + di, j*S + dj] for every output position (i, j)."""
    h_out = (x.shape[1] - pool) // stride + 1
    w_out = (x.shape[2] - pool) // stride + 1
    for di in range(pool):
        for dj in range(pool):
            yield di, dj, lax.slice(
                x, (0, di, dj, 0),
                (x.shape[0], di + stride * (h_out - 1) + 1, dj + stride * (w_out - 1) + 1,
                 x.shape[3]),
                (1, stride, stride, 1))


@partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def max_pool(x, pool: int, stride: int):
    """(N, H, W, C) -> (N, H', W', C), H' = floor((H - P) / S) + 1."""
    out = None
    for _, _, view in _windows(x, pool, stride):
        out = view if out is None else jnp.maximum(out, view)
    return out


def _max_pool_fwd(x, pool, stride):
    y = max_pool(x, pool, stride)
    return y, (x, y)


def _max_pool_bwd(pool, stride, residuals, g):
    """Each output's gradient goes to the first position in its window that holds the
    maximum, as TensorFlow and PyTorch do."""
    x, y = residuals
    if stride >= pool:
        return (_disjoint_max_pool_grad(x, y, g, pool, stride),)
    taken = jnp.zeros(y.shape, bool)
    dx = jnp.zeros_like(x)
    for di, dj, view in _windows(x, pool, stride):
        hit = (view == y) & ~taken
        taken = taken | hit
        part = jnp.where(hit, g, 0).astype(x.dtype)
        # place part[i, j] at x[di + i*S, dj + j*S]: pad with S-1 zeros between elements
        config = [(0, 0, 0),
                  (di, x.shape[1] - di - (stride * (y.shape[1] - 1) + 1), stride - 1),
                  (dj, x.shape[2] - dj - (stride * (y.shape[2] - 1) + 1), stride - 1),
                  (0, 0, 0)]
        dx = dx + lax.pad(part, jnp.zeros((), x.dtype), config)
    return (dx,)


def _disjoint_max_pool_grad(x, y, g, pool: int, stride: int):
    """The max-pool gradient when windows do not overlap (stride >= pool), in one
    elementwise pass: x seen as blocks (N, H', S, W', S, C), each block's window in its
    top-left P x P corner. `first` numbers the first maximum of each window; every input
    position takes its window's gradient where its own number is that one. Several
    times faster on CPU than scattering each window position back with an interior
    pad, and the common case (2x2 pooling, stride 2)."""
    n, h, w, c = x.shape
    h_out, w_out = y.shape[1], y.shape[2]
    first = jnp.full(y.shape, pool * pool, jnp.int32)
    for di, dj, view in reversed(list(_windows(x, pool, stride))):
        first = jnp.where(view == y, di * pool + dj, first)
    block = jnp.arange(stride)
    position = jnp.where(block < pool, block * pool, -pool * pool)[:, None] + \
        jnp.where(block < pool, block, -pool * pool)[None, :]  # -ve: outside the window
    position = position[None, None, :, None, :, None]  # (1, 1, S, 1, S, 1)
    dx = jnp.where(position == first[:, :, None, :, None, :], g[:, :, None, :, None, :], 0)
    dx = dx.astype(x.dtype).reshape(n, h_out * stride, w_out * stride, c)
    # rows/columns past the last window get nothing; blocks may also reach past the edge
    dx = dx[:, :h, :w]
    return jnp.pad(dx, ((0, 0), (0, h - dx.shape[1]), (0, w - dx.shape[2]), (0, 0)))


max_pool.defvjp(_max_pool_fwd, _max_pool_bwd)


def avg_pool(x, pool: int, stride: int):
    """(N, H, W, C) -> (N, H', W', C): the mean of each pool*pool window."""
    total = None
    for _, _, view in _windows(x, pool, stride):
        total = view if total is None else total + view
    return total / (pool * pool)


def dense(x, kernel, bias):
    """x (N, D), kernel (D, U), bias (U,) -> (N, U)."""
    return x @ kernel + bias


def moments(x):
    """The mean and (biased) variance of each channel (the last axis) over the batch and
    the positions: x (N, ..., C) -> (C,), (C,), as Keras' BatchNormalization takes them."""
    axes = tuple(range(x.ndim - 1))
    return x.mean(axes), x.var(axes)


def batch_norm(x, gamma, beta, mean, variance, epsilon: float):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta per channel (the last axis),
    computed as Keras computes it: x * s + (beta - mean * s), s = gamma / sqrt(var + eps)."""
    scale = lax.rsqrt(variance + epsilon) * gamma  # (C,)
    return x * scale + (beta - mean * scale)


def dropout(x, rate: float, key):
    """Inverted dropout: keep each value with probability 1 - rate, scaled up to keep the
    expected sum."""
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)
