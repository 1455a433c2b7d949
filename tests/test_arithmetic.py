"""core.arithmetic against the textbook formulas written out as loops (tests/reference.py
and the loops here), in float64: the numbers the step-through shows, one by one."""

import math

import numpy as np
import pytest
import reference

from cnnviz.core import arithmetic as ar
from cnnviz.core.shapes import same_padding


@pytest.mark.parametrize("padding,stride,channels", [
    ("valid", 1, 1), ("valid", 2, 3), ("same", 1, 2), ("same", 2, 1), ("same", 3, 3)])
def test_every_conv_output_is_the_reference_convolution(padding, stride, channels):
    rng = np.random.default_rng(stride * 10 + channels)
    x = rng.standard_normal((7, 6, channels))
    kernel = rng.standard_normal((3, 3, channels, 2))
    bias = rng.standard_normal(2)
    expected = reference.conv2d(x[None], kernel, bias, stride, padding)[0]
    for (row, col, f), want in np.ndenumerate(expected):
        out = ar.conv_output(x, kernel, bias, row, col, f, stride, padding, "tanh")
        assert out.pre_activation == pytest.approx(want, rel=1e-12, abs=1e-12)
        assert out.value == pytest.approx(math.tanh(want), rel=1e-12, abs=1e-12)


def test_a_conv_outputs_parts_add_up_as_the_textbook_writes_them():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 5, 2))
    kernel, bias = rng.standard_normal((3, 3, 2, 4)), rng.standard_normal(4)
    out = ar.conv_output(x, kernel, bias, 1, 2, 3, 1, "valid", "relu")
    for dx in range(3):
        for dy in range(3):
            for c in range(2):
                assert out.patch.values[dx, dy, c] == x[1 + dx, 2 + dy, c]
                assert out.products[dx, dy, c] == x[1 + dx, 2 + dy, c] * kernel[dx, dy, c, 3]
    for c in range(2):
        assert out.channel_sums[c] == pytest.approx(sum(
            x[1 + dx, 2 + dy, c] * kernel[dx, dy, c, 3] for dx in range(3) for dy in range(3)))
    assert out.bias == bias[3]
    assert out.pre_activation == pytest.approx(out.channel_sums.sum() + bias[3])
    assert out.value == max(out.pre_activation, 0.0)


def test_a_patch_at_the_edge_of_same_padding_reads_zeros_in_the_padding():
    x = np.arange(1, 26, dtype=float).reshape(5, 5, 1)
    assert same_padding(5, 3, 1) == (1, 1)
    patch = ar.conv_patch(x, 0, 0, 3, 1, "same")
    assert (patch.top, patch.left) == (-1, -1)
    np.testing.assert_array_equal(patch.padded, [[1, 1, 1], [1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(patch.values[..., 0], [[0, 0, 0], [0, 1, 2], [0, 6, 7]])
    corner = ar.conv_patch(x, 4, 4, 3, 1, "same")  # bottom right: padding after
    np.testing.assert_array_equal(corner.padded, [[0, 0, 1], [0, 0, 1], [1, 1, 1]])
    np.testing.assert_array_equal(corner.values[..., 0], [[19, 20, 0], [24, 25, 0], [0, 0, 0]])


@pytest.mark.parametrize("name,fn,slope", [
    ("relu", lambda z: max(z, 0.0), lambda z: float(z > 0)),
    ("sigmoid", lambda z: 1 / (1 + math.exp(-z)),
     lambda z: math.exp(-z) / (1 + math.exp(-z)) ** 2),
    ("tanh", math.tanh, lambda z: 1 / math.cosh(z) ** 2),
    ("none", lambda z: z, lambda z: 1.0)])
def test_activations_and_their_slopes(name, fn, slope):
    for z in (-2.5, -0.1, 0.0, 0.3, 4.0):
        assert ar.activate(name, z) == pytest.approx(fn(z))
        assert ar.activation_slope(name, z) == pytest.approx(slope(z))


@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_pool_windows_are_the_reference_pooling(size, stride):
    rng = np.random.default_rng(size + stride)
    x = rng.integers(-3, 4, (7, 8, 2)).astype(float)  # small integers: ties happen
    maxed = reference.max_pool(x[None], size, stride)[0]
    averaged = reference.avg_pool(x[None], size, stride)[0]
    gradient_to = reference.max_pool_grad_first(x[None], size, stride,
                                                np.ones((1, *maxed.shape)))[0]
    for (row, col, c), want in np.ndenumerate(maxed):
        window = ar.pool_window(x, row, col, c, size, stride, "max")
        assert window.value == want
        assert gradient_to[(*window.source, c)] > 0  # the first maximum takes the gradient
        np.testing.assert_array_equal(
            window.values, x[row * stride:row * stride + size, col * stride:col * stride + size,
                             c])
        average = ar.pool_window(x, row, col, c, size, stride, "average")
        assert average.value == pytest.approx(averaged[row, col, c])
        assert average.source is None


def test_the_first_maximum_of_a_tied_window_takes_the_gradient():
    x = np.array([[1.0, 5.0], [5.0, 2.0]])[:, :, None]
    window = ar.pool_window(x, 0, 0, 0, 2, 2, "max")
    assert window.winner == (0, 1) and window.source == (0, 1)


def test_global_average_is_the_mean_of_a_whole_map():
    x = np.random.default_rng(0).standard_normal((4, 3, 2))
    window = ar.global_average(x, 1)
    assert window.value == pytest.approx(x[:, :, 1].mean())
    assert window.total == pytest.approx(x[:, :, 1].sum())


def test_flatten_indices_go_both_ways_as_numpy_reshapes():
    shape = (3, 4, 5)
    x = np.arange(60).reshape(shape)
    flat = x.reshape(-1)
    for n in range(60):
        source = ar.unflat_index(shape, n)
        assert x[source] == flat[n]
        assert ar.flat_index(shape, *source) == n
        assert ar.flat_element(x, n).value == flat[n]


def test_a_dense_unit_lists_its_contributions_by_size_and_adds_up():
    rng = np.random.default_rng(2)
    x, kernel, bias = rng.standard_normal(20), rng.standard_normal((20, 3)), rng.standard_normal(3)
    unit = ar.dense_unit(x, kernel, bias, 1, "sigmoid", shown=5)
    want = reference.dense(x[None], kernel, bias)[0, 1]
    assert unit.pre_activation == pytest.approx(want)
    assert unit.value == pytest.approx(1 / (1 + math.exp(-want)))
    s = unit.contributions
    sizes = np.abs(x * kernel[:, 1])
    assert list(s.top) == list(np.argsort(-sizes)[:5])
    assert sum(s.terms[j] for j in s.top) + s.others == pytest.approx(s.total)


def test_softmax_and_loss_are_the_reference_cross_entropy():
    logits = np.array([2.0, -1.0, 0.5, 3.0])
    s = ar.softmax_loss(logits, 2)
    assert s.loss == pytest.approx(reference.cross_entropy(logits[None], np.array([2]))[0])
    assert s.probabilities.sum() == pytest.approx(1.0)
    assert s.exps == pytest.approx(np.exp(logits - 3.0))
    far = ar.softmax_loss(np.array([0.0, 800.0]), 0)  # p rounds to 0, the loss is still exact
    assert far.loss == pytest.approx(800.0)


def test_the_logit_gradient_is_p_minus_onehot_over_the_batch():
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    np.testing.assert_allclose(ar.logit_gradient(p, np.array([1, 0])),
                               [[0.1, -0.25, 0.15], [-0.2, 0.05, 0.15]])


@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 1), ("same", 2),
                                            ("valid", 2)])
def test_a_kernel_weights_gradient_is_the_loop_over_the_positions_it_touched(padding, stride):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 5, 2))
    k = 3
    out_h = len(range(0, 6 + (2 if padding == "same" else 0) - k + 1, stride))
    out_w = len(range(0, 5 + (2 if padding == "same" else 0) - k + 1, stride))
    if padding == "same":
        out_h, out_w = -(-6 // stride), -(-5 // stride)
    upstream = rng.standard_normal((2, out_h, out_w, 4))
    top = same_padding(6, k, stride)[0] if padding == "same" else 0
    left = same_padding(5, k, stride)[0] if padding == "same" else 0
    for dx, dy, c, f in [(0, 0, 0, 0), (2, 1, 1, 3), (1, 2, 0, 2)]:
        want = 0.0
        for n in range(2):
            for i in range(out_h):
                for j in range(out_w):
                    r, q = i * stride + dx - top, j * stride + dy - left
                    if 0 <= r < 6 and 0 <= q < 5:
                        want += upstream[n, i, j, f] * x[n, r, q, c]
        got = ar.conv_weight_gradient(x, upstream, dx, dy, c, f, k, stride, padding)
        assert got.total == pytest.approx(want)
        assert len(got.terms.terms) == 2 * out_h * out_w


def test_dense_and_bias_gradients_are_sums_over_the_batch():
    rng = np.random.default_rng(4)
    x, upstream = rng.standard_normal((3, 5)), rng.standard_normal((3, 2))
    assert ar.dense_weight_gradient(x, upstream, 4, 1).total == pytest.approx(
        sum(upstream[n, 1] * x[n, 4] for n in range(3)))
    assert ar.bias_gradient(upstream, 0).total == pytest.approx(upstream[:, 0].sum())
    maps = rng.standard_normal((2, 3, 3, 4))
    assert ar.bias_gradient(maps, 2).total == pytest.approx(maps[..., 2].sum())


def test_optimizer_updates_follow_their_published_formulas():
    w, g = 0.5, -0.2
    sgd = ar.momentum_update(w, g, 0.1, trace=0.0, momentum=0.0)
    assert sgd.new_weight == pytest.approx(w - 0.1 * g)  # plain SGD
    momentum = ar.momentum_update(w, g, 0.1, trace=0.3, momentum=0.9)
    assert momentum.new_weight == pytest.approx(w - 0.1 * (g + 0.9 * 0.3))
    adam = ar.adam_update(w, g, 0.01, m=0.05, v=0.02, count=3, b1=0.9, b2=0.999, eps=1e-7)
    m, v = 0.9 * 0.05 + 0.1 * g, 0.999 * 0.02 + 0.001 * g * g
    m_hat, v_hat = m / (1 - 0.9 ** 4), v / (1 - 0.999 ** 4)
    assert adam.new_weight == pytest.approx(w - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-7))
    assert adam.quantities["t"] == 4
    first = ar.adam_update(w, g, 0.01, m=0.0, v=0.0, count=0, b1=0.9, b2=0.999, eps=1e-7)
    assert first.step == pytest.approx(-0.01 * np.sign(g), rel=1e-5)  # Adam's first step: lr
    rms = ar.rmsprop_update(w, g, 0.01, nu=0.04, decay=0.9, eps=1e-7)
    nu = 0.9 * 0.04 + 0.1 * g * g
    assert rms.new_weight == pytest.approx(w - 0.01 * g / math.sqrt(nu + 1e-7))
    assert ar.optimizer_update("rmsprop", w, g, 0.01, {"nu": 0.04},
                               {"decay": 0.9, "eps": 1e-7}).new_weight == rms.new_weight
