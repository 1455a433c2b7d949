"""The textbook operations against naive numpy loops (tests/reference.py), and the
max-pool gradient against JAX's own reduce_window."""

import cnnviz.engine  # noqa: F401, I001  (first: sets XLA's flags before JAX starts)
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference
from jax import lax

from cnnviz.core.layers import Dropout, Flatten, GlobalAvgPool
from cnnviz.engine import ops
from cnnviz.engine.model import apply_layer

conv = jax.jit(ops.conv2d, static_argnums=(3, 4))
max_pool = jax.jit(ops.max_pool, static_argnums=(1, 2))
avg_pool = jax.jit(ops.avg_pool, static_argnums=(1, 2))

POOLS = [(p, s) for p in (2, 3) for s in (1, 2, 3)]


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# (H, W, C in, filters, kernel, stride)
CONV_CASES = [
    (7, 7, 1, 2, 3, 1),
    (8, 9, 3, 4, 3, 2),
    (9, 7, 2, 3, 5, 3),
    (6, 6, 2, 2, 1, 1),
    (5, 8, 3, 2, 4, 2),  # even kernel
    (6, 5, 1, 3, 2, 1),
    (7, 5, 2, 1, 6, 3),  # 'same': padding larger than half the image
    (4, 4, 2, 3, 5, 2),  # 'same': kernel larger than the input
]


CONV_PARAMS = [(case, padding) for case in CONV_CASES for padding in ("valid", "same")
               if padding == "same" or case[4] <= min(case[:2])]


@pytest.mark.parametrize(("case", "padding"), CONV_PARAMS, ids=[
    "{}-h{}w{}c{}f{}k{}s{}".format(p, *c) for c, p in CONV_PARAMS])
def test_conv2d_matches_textbook_loop(case, padding):
    h, w, c, f, k, s = case
    x = _rand((2, h, w, c), 1)
    kernel = _rand((k, k, c, f), 2)
    bias = _rand((f,), 3)
    got = np.asarray(conv(x, kernel, bias, s, padding))
    expected = reference.conv2d(x, kernel, bias, s, padding)
    assert got.shape == expected.shape
    if padding == "same":
        assert got.shape[1:3] == (-(-h // s), -(-w // s))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_same_padding_is_asymmetric_like_tensorflow():
    # A 2x2 kernel of ones on 3x3 input, stride 1, 'same': TF pads 0 before, 1 after,
    # so out[0, 0] sums in[0:2, 0:2] and the last row/column see the zero padding.
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    kernel = np.ones((2, 2, 1, 1), np.float32)
    got = np.asarray(conv(x, kernel, np.zeros(1, np.float32), 1, "same"))[0, :, :, 0]
    np.testing.assert_array_equal(got, [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5, 2 + 5],
                                        [3 + 4 + 6 + 7, 4 + 5 + 7 + 8, 5 + 8],
                                        [6 + 7, 7 + 8, 8]])


@pytest.mark.parametrize(("pool", "stride"), POOLS)
def test_max_pool_matches_textbook_loop(pool, stride):
    x = _rand((2, 9, 8, 3), 4)
    got = np.asarray(max_pool(x, pool, stride))
    expected = reference.max_pool(x, pool, stride)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected.astype(np.float32))


@pytest.mark.parametrize(("pool", "stride"), POOLS)
def test_avg_pool_matches_textbook_loop(pool, stride):
    x = _rand((2, 8, 10, 2), 5)
    got = np.asarray(avg_pool(x, pool, stride))
    expected = reference.avg_pool(x, pool, stride)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_pools_on_odd_sizes_drop_the_remainder():
    x = _rand((1, 5, 7, 1), 6)
    assert max_pool(x, 2, 2).shape == (1, 2, 3, 1)
    np.testing.assert_array_equal(max_pool(x, 2, 2), reference.max_pool(x, 2, 2))
    np.testing.assert_allclose(avg_pool(x, 3, 3), reference.avg_pool(x, 3, 3), rtol=1e-5)


def test_dense_matches_textbook_loop():
    x, kernel, bias = _rand((5, 7), 7), _rand((7, 3), 8), _rand((3,), 9)
    np.testing.assert_allclose(ops.dense(x, kernel, bias), reference.dense(x, kernel, bias),
                               rtol=1e-5, atol=1e-5)


# -- the max-pool gradient --------------------------------------------------------------


def _reduce_window_max(x, pool, stride):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, pool, pool, 1), (1, stride, stride, 1),
                             "VALID")


@partial(jax.jit, static_argnums=(0, 3, 4))
def _jit_grad(fn, x, g, pool, stride):
    return jax.grad(lambda v: (fn(v, pool, stride) * g).sum())(x)


def _grad(fn, x, g, pool, stride):
    return np.asarray(_jit_grad(fn, x, g, pool, stride))


@pytest.mark.parametrize(("pool", "stride"), POOLS)
def test_max_pool_gradient_equals_reduce_window_gradient(pool, stride):
    x = _rand((2, 9, 8, 3), 10)  # continuous values: no ties
    assert len(np.unique(x)) == x.size
    out_shape = max_pool(x, pool, stride).shape
    g = _rand(out_shape, 11)
    got = _grad(ops.max_pool, x, g, pool, stride)
    expected = _grad(_reduce_window_max, x, g, pool, stride)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, reference.max_pool_grad_first(x, pool, stride, g),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("pool", "stride"), POOLS)
def test_max_pool_gradient_with_ties_goes_to_one_position_per_window(pool, stride):
    rng = np.random.default_rng(12)
    x = rng.integers(0, 3, (2, 9, 8, 2)).astype(np.float32)  # many tied maxima
    out_shape = max_pool(x, pool, stride).shape
    g = rng.uniform(0.5, 1.5, out_shape).astype(np.float32)
    dx = _grad(ops.max_pool, x, g, pool, stride)
    # exactly the first maximum of each window, so the gradient's sum is preserved
    np.testing.assert_allclose(dx, reference.max_pool_grad_first(x, pool, stride, g),
                               rtol=1e-6)
    np.testing.assert_allclose(dx.sum(), g.sum(), rtol=1e-5)
    if pool == stride:  # disjoint windows: one nonzero per window, equal to its gradient
        oh, ow = out_shape[1], out_shape[2]
        covered = dx[:, :oh * pool, :ow * pool]
        nonzero = (covered != 0).reshape(2, oh, pool, ow, pool, 2)
        assert (nonzero.sum(axis=(2, 4)) == 1).all()
        np.testing.assert_allclose(covered.reshape(2, oh, pool, ow, pool, 2).sum(axis=(2, 4)),
                                   g, rtol=1e-6)
        rest = dx.copy()
        rest[:, :oh * pool, :ow * pool] = 0
        assert not rest.any()  # rows and columns no window covers get nothing


def test_max_pool_gradient_of_constant_input_goes_to_each_window_top_left():
    x = jnp.ones((1, 4, 4, 1))
    dx = _grad(ops.max_pool, x, jnp.ones((1, 2, 2, 1)), 2, 2)[0, :, :, 0]
    np.testing.assert_array_equal(dx, [[1, 0, 1, 0], [0, 0, 0, 0],
                                       [1, 0, 1, 0], [0, 0, 0, 0]])


def test_avg_pool_gradient_equals_reduce_window_gradient():
    x = _rand((1, 7, 7, 2), 13)
    g = _rand(avg_pool(x, 3, 2).shape, 14)

    def reduce_window_avg(v, pool, stride):
        return lax.reduce_window(v, 0.0, lax.add, (1, pool, pool, 1),
                                 (1, stride, stride, 1), "VALID") / (pool * pool)

    np.testing.assert_allclose(_grad(ops.avg_pool, x, g, 3, 2),
                               _grad(reduce_window_avg, x, g, 3, 2), rtol=1e-5, atol=1e-6)


# -- activations, flatten, global pool, dropout -----------------------------------------------


def test_activations():
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    np.testing.assert_allclose(ops.ACTIVATION_FNS["relu"](x), np.maximum(x, 0))
    np.testing.assert_allclose(ops.ACTIVATION_FNS["sigmoid"](x), 1 / (1 + np.exp(-x)),
                               rtol=1e-6)
    np.testing.assert_allclose(ops.ACTIVATION_FNS["tanh"](x), np.tanh(x), rtol=1e-6)
    np.testing.assert_array_equal(ops.ACTIVATION_FNS["none"](x), x)


def test_flatten_is_row_major_and_global_pool_is_the_spatial_mean():
    x = _rand((2, 3, 4, 5), 15)
    np.testing.assert_array_equal(apply_layer(Flatten(), {}, x, train=False),
                                  x.reshape(2, 60))
    np.testing.assert_array_equal(apply_layer(Flatten(), {}, x, train=False)[1, :5], x[1, 0, 0])
    np.testing.assert_allclose(apply_layer(GlobalAvgPool(), {}, x, train=False),
                               x.astype(np.float64).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_dropout_scales_survivors_and_is_identity_at_evaluation():
    x = np.abs(_rand((4, 50, 50), 16)) + 0.1
    key = jax.random.key(0)
    dropout = jax.jit(ops.dropout, static_argnums=1)
    y = np.asarray(dropout(x, 0.25, key))
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_array_equal(y, dropout(x, 0.25, key))  # deterministic by key
    assert not np.array_equal(y, dropout(x, 0.25, jax.random.key(1)))
    layer = Dropout(0.25)
    np.testing.assert_array_equal(apply_layer(layer, {}, x, train=False, key=key), x)
    eager = np.asarray(apply_layer(layer, {}, x, train=True, key=key))
    np.testing.assert_array_equal(eager != 0, kept)  # the same mask for the same key
    np.testing.assert_allclose(eager, y, rtol=1e-6)
    np.testing.assert_array_equal(apply_layer(Dropout(0.0), {}, x, train=True, key=key), x)
