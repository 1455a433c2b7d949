"""The arithmetic a learner steps through, one output number at a time (numpy, float64).

Each function takes the operands of one number the network computes (a conv output's
input patch and kernel, a pool window, a dense unit's inputs and weights, the logits, a
weight's gradient terms, an optimizer's state for one weight) and returns every
intermediate number on the way. The step-through view and `cnnviz explain` show these
and nothing else, so what a learner reads is computed here, once; the tests hold it
against the engine's own values. A new layer type is one more function here.

Positions follow the engine: an image is (H, W, C), row first; kernels are (K, K, C, F)
and dense kernels (D, U), as Keras lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.shapes import same_padding

# -- activations -------------------------------------------------------------------------


def activate(name: str, z):
    """The activation function `name` of z (a number or an array), as the engine applies it."""
    z = np.asarray(z, np.float64)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "none":
        return z
    raise ValueError(f"unknown activation {name!r}")


def activation_slope(name: str, z):
    """f'(z): how the activation passes a gradient back, dL/dz = dL/da * f'(z). ReLU's
    slope at exactly 0 is 0, as JAX takes it."""
    z = np.asarray(z, np.float64)
    if name == "relu":
        return (z > 0).astype(np.float64)
    if name == "sigmoid":
        s = activate("sigmoid", z)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "none":
        return np.ones_like(z)
    raise ValueError(f"unknown activation {name!r}")


# -- a sum of many terms ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RankedSum:
    """A sum of many terms listed by size: the `shown` largest |term| one by one, the
    rest together as `others`."""

    terms: np.ndarray  # (n,)
    order: np.ndarray  # (n,) term indices, largest |term| first
    shown: int

    @property
    def top(self) -> np.ndarray:
        return self.order[:self.shown]

    @property
    def others(self) -> float:
        return float(self.terms[self.order[self.shown:]].sum())

    @property
    def total(self) -> float:
        return float(self.terms.sum())


def ranked_sum(terms: np.ndarray, shown: int) -> RankedSum:
    terms = np.asarray(terms, np.float64).ravel()
    order = np.argsort(-np.abs(terms), kind="stable")
    return RankedSum(terms, order, min(shown, len(terms)))


# -- convolution --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Patch:
    """The input cells one conv output reads: values (K, K, C), zero where a cell lies in
    the padding (`padded` marks those), the first cell at input (top, left), which is
    negative inside the padding."""

    values: np.ndarray  # (K, K, C)
    padded: np.ndarray  # (K, K) bool
    top: int
    left: int


def conv_patch(inputs: np.ndarray, row: int, col: int, kernel_size: int, stride: int,
               padding: str) -> Patch:
    """The K x K x C patch of `inputs` (H, W, C) under output (row, col): it starts at
    (row * S - pad_top, col * S - pad_left), the padding filled with zeros."""
    h, w, c = inputs.shape
    k = kernel_size
    pad_top = same_padding(h, k, stride)[0] if padding == "same" else 0
    pad_left = same_padding(w, k, stride)[0] if padding == "same" else 0
    top, left = row * stride - pad_top, col * stride - pad_left
    rows, cols = np.arange(top, top + k), np.arange(left, left + k)
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    values = np.zeros((k, k, c))
    r, q = np.nonzero(inside)
    values[r, q] = inputs[rows[r], cols[q]]
    return Patch(values, ~inside, int(top), int(left))


@dataclass(frozen=True, eq=False)
class ConvOutput:
    """out(i, j) = sum_x sum_y sum_c in(i*S + x, j*S + y, c) * k(x, y, c) + b, then the
    activation: every number of it."""

    patch: Patch
    kernel: np.ndarray  # (K, K, C) of the filter
    products: np.ndarray  # (K, K, C) patch * kernel
    channel_sums: np.ndarray  # (C,) the products summed per input channel
    bias: float
    pre_activation: float  # sum of channel_sums + bias
    activation: str
    value: float

    @property
    def total(self) -> float:
        """The products summed over every cell and channel, before the bias."""
        return float(self.channel_sums.sum())


def conv_output(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray, row: int, col: int,
                filter_: int, stride: int, padding: str, activation: str) -> ConvOutput:
    """Output (row, col, filter_) of a conv layer: inputs (H, W, C), kernel (K, K, C, F),
    bias (F,)."""
    patch = conv_patch(inputs, row, col, kernel.shape[0], stride, padding)
    weights = np.asarray(kernel[:, :, :, filter_], np.float64)
    products = patch.values * weights
    sums = products.sum(axis=(0, 1))
    b = float(bias[filter_])
    pre = float(sums.sum()) + b
    return ConvOutput(patch, weights, products, sums, b, pre, activation,
                      float(activate(activation, pre)))


# -- pooling ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PoolWindow:
    """One pooled output: its window of inputs (rows, cols) starting at input (top, left),
    and the max (with the first position holding it, where the gradient goes back, as the
    engine sends it) or the average (the sum over the count)."""

    kind: str  # "max" or "average"
    values: np.ndarray  # (rows, cols)
    top: int
    left: int
    value: float
    total: float  # the window's sum (what an average divides)
    winner: tuple[int, int] | None  # max: (row, col) in the window of the first maximum

    @property
    def source(self) -> tuple[int, int] | None:
        """Max: the input (row, col) the output's gradient goes back to."""
        return None if self.winner is None else (self.top + self.winner[0],
                                                 self.left + self.winner[1])


def pool_window(inputs: np.ndarray, row: int, col: int, channel: int, size: int, stride: int,
                kind: str) -> PoolWindow:
    """Output (row, col, channel) of max ("max") or average ("average") pooling over
    size x size windows of `inputs` (H, W, C) with `stride`."""
    top, left = row * stride, col * stride
    return _window(inputs[top:top + size, left:left + size, channel], top, left, kind)


def global_average(inputs: np.ndarray, channel: int) -> PoolWindow:
    """GlobalAvgPool's output `channel`: the average of the whole H x W map."""
    return _window(inputs[:, :, channel], 0, 0, "average")


def _window(values: np.ndarray, top: int, left: int, kind: str) -> PoolWindow:
    values = np.asarray(values, np.float64)
    total = float(values.sum())
    if kind == "max":
        winner = np.unravel_index(int(np.argmax(values)), values.shape)  # the first maximum
        return PoolWindow(kind, values, top, left, float(values.max()), total,
                          (int(winner[0]), int(winner[1])))
    if kind == "average":
        return PoolWindow(kind, values, top, left, total / values.size, total, None)
    raise ValueError(f"unknown pooling {kind!r}")


# -- flatten -------------------------------------------------------------------------------


def flat_index(shape: tuple[int, int, int], row: int, col: int, channel: int) -> int:
    """Where (row, col, channel) of an (H, W, C) map lands when flattened row-major:
    n = (row * W + col) * C + channel."""
    _, w, c = shape
    return (row * w + col) * c + channel


def unflat_index(shape: tuple[int, int, int], n: int) -> tuple[int, int, int]:
    """The (row, col, channel) that flattened element n came from."""
    _, w, c = shape
    row, rest = divmod(n, w * c)
    col, channel = divmod(rest, c)
    return row, col, channel


@dataclass(frozen=True, eq=False)
class FlatElement:
    """Element `index` of a flattened map: a copy of the input at `source` (row, col,
    channel)."""

    index: int
    source: tuple[int, int, int]
    value: float


def flat_element(inputs: np.ndarray, n: int) -> FlatElement:
    source = unflat_index(inputs.shape, n)
    return FlatElement(n, source, float(inputs[source]))


# -- dense ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DenseUnit:
    """unit i = sum_j w_ij x_j + b_i, then the activation: the inputs x, the unit's
    weights w, their contributions w_j x_j ranked by size."""

    inputs: np.ndarray  # (D,)
    weights: np.ndarray  # (D,)
    contributions: RankedSum
    bias: float
    pre_activation: float
    activation: str
    value: float


def dense_unit(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray, unit: int,
               activation: str, shown: int = 8) -> DenseUnit:
    """Unit `unit` of a dense layer: inputs (D,), kernel (D, U), bias (U,)."""
    x = np.asarray(inputs, np.float64)
    w = np.asarray(kernel[:, unit], np.float64)
    contributions = ranked_sum(x * w, shown)
    b = float(bias[unit])
    pre = contributions.total + b
    return DenseUnit(x, w, contributions, b, pre, activation, float(activate(activation, pre)))


# -- batch normalization -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BatchNormValue:
    """One output of BatchNorm as the network is used (the moving averages):
    out = (x - mean) / sqrt(var + eps) * gamma + beta, then the activation."""

    input: float  # x
    mean: float
    variance: float
    epsilon: float
    gamma: float
    beta: float
    centred: float  # x - mean
    deviation: float  # sqrt(var + eps)
    normalised: float  # (x - mean) / sqrt(var + eps)
    pre_activation: float  # normalised * gamma + beta
    activation: str
    value: float


def batch_norm_value(x: float, gamma: float, beta: float, mean: float, variance: float,
                     epsilon: float, activation: str) -> BatchNormValue:
    """The output for input `x` of a channel with these weights and averages."""
    x, gamma, beta, mean, variance = (float(v) for v in (x, gamma, beta, mean, variance))
    centred = x - mean
    deviation = float(np.sqrt(variance + epsilon))
    normalised = centred / deviation
    pre = normalised * gamma + beta
    return BatchNormValue(x, mean, variance, float(epsilon), gamma, beta, centred, deviation,
                          normalised, pre, activation, float(activate(activation, pre)))


# -- softmax and loss ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SoftmaxLoss:
    """p_k = exp(z_k - m) / sum_j exp(z_j - m) with m = max z (the shift changes nothing
    but keeps exp from overflowing), and the loss -log p[label]."""

    logits: np.ndarray  # (K,)
    shift: float  # m
    exps: np.ndarray  # (K,) exp(z - m)
    total: float  # sum of exps
    probabilities: np.ndarray  # (K,)
    label: int
    loss: float


def softmax_loss(logits: np.ndarray, label: int) -> SoftmaxLoss:
    z = np.asarray(logits, np.float64)
    shift = float(z.max())
    exps = np.exp(z - shift)
    total = float(exps.sum())
    p = exps / total
    # -log p[label] written as log(total) - (z - m)[label]: exact where p rounds to 0
    loss = float(np.log(total) - (z[label] - shift))
    return SoftmaxLoss(z, shift, exps, total, p, int(label), loss)


# -- backward ------------------------------------------------------------------------------


def logit_gradient(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """dL/dlogits for L = the mean loss over N images: (p - onehot(label)) / N, (N, K)."""
    p = np.asarray(probabilities, np.float64)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(p)), labels] = 1.0
    return (p - onehot) / len(p)


@dataclass(frozen=True, eq=False)
class WeightGradient:
    """dL/dw as a sum: one term upstream gradient x input per position (and per image of
    a batch) where the weight was used."""

    upstream: np.ndarray  # (n,) dL/dz at each use, z the pre-activation output
    inputs: np.ndarray  # (n,) the input the weight multiplied there
    where: np.ndarray  # (n, 3) image, row, column of the output (dense: image, 0, 0)
    terms: RankedSum

    @property
    def total(self) -> float:
        return self.terms.total


def conv_weight_gradient(inputs: np.ndarray, upstream: np.ndarray, x: int, y: int, channel: int,
                         filter_: int, kernel_size: int, stride: int, padding: str,
                         shown: int = 8) -> WeightGradient:
    """dL/dk(x, y, channel, filter_) = sum over images n and outputs (i, j) of
    dL/dz(n, i, j, filter_) * in(n, i*S + x - pad_top, j*S + y - pad_left, channel):
    inputs (N, H, W, C), upstream (N, H', W', F) the gradient of the pre-activation
    output; an input in the padding is 0."""
    n, h_out, w_out, _ = upstream.shape
    h, w = inputs.shape[1:3]
    pad_top = same_padding(h, kernel_size, stride)[0] if padding == "same" else 0
    pad_left = same_padding(w, kernel_size, stride)[0] if padding == "same" else 0
    rows = np.arange(h_out) * stride + x - pad_top
    cols = np.arange(w_out) * stride + y - pad_left
    read = np.zeros((n, h_out, w_out))
    r, c = np.nonzero(((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :])
    read[:, r, c] = inputs[:, rows[r], cols[c], channel]
    g = np.asarray(upstream[..., filter_], np.float64)
    where = np.stack([a.ravel() for a in np.indices(g.shape)], axis=1)
    return WeightGradient(g.ravel(), read.ravel(), where,
                          ranked_sum(g.ravel() * read.ravel(), shown))


def dense_weight_gradient(inputs: np.ndarray, upstream: np.ndarray, j: int, unit: int,
                          shown: int = 8) -> WeightGradient:
    """dL/dw(j, unit) = sum over images n of dL/dz(n, unit) * x(n, j): inputs (N, D),
    upstream (N, U) the gradient of the pre-activation output."""
    g = np.asarray(upstream[:, unit], np.float64)
    x = np.asarray(inputs[:, j], np.float64)
    where = np.stack([np.arange(len(g)), np.zeros(len(g), int), np.zeros(len(g), int)], axis=1)
    return WeightGradient(g, x, where, ranked_sum(g * x, shown))


def bias_gradient(upstream: np.ndarray, index: int, shown: int = 8) -> WeightGradient:
    """dL/db = the sum of dL/dz over every output the bias was added to (its input is 1):
    upstream (N, H', W', F) or (N, U)."""
    g = np.asarray(upstream[..., index], np.float64)
    where = np.stack([a.ravel() for a in np.indices(g.shape)], axis=1)
    if g.ndim == 1:
        where = np.concatenate([where, np.zeros((len(g), 2), int)], axis=1)
    return WeightGradient(g.ravel(), np.ones(g.size), where, ranked_sum(g.ravel(), shown))


# -- the optimizer's update ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OptimizerUpdate:
    """One optimizer step for a weight (or an array of them): the state before, the
    named intermediate numbers in the order they are computed, and the new weight."""

    optimizer: str
    weight: np.ndarray
    gradient: np.ndarray
    learning_rate: float
    before: dict[str, np.ndarray]  # the state the step starts from
    quantities: dict[str, np.ndarray]  # intermediates, in order, ending with "step"
    new_weight: np.ndarray

    @property
    def step(self) -> np.ndarray:
        """What is added to the weight: new_weight - weight."""
        return self.quantities["step"]


def momentum_update(weight, gradient, learning_rate: float, trace, momentum: float
                    ) -> OptimizerUpdate:
    """SGD with momentum as optax computes it: t = g + mu * t_prev, w <- w - lr * t
    (momentum 0 is plain SGD: w - lr * g)."""
    w, g, t_prev = (np.asarray(a, np.float64) for a in (weight, gradient, trace))
    t = g + momentum * t_prev
    step = -learning_rate * t
    return OptimizerUpdate("sgd-momentum", w, g, learning_rate, {"trace": t_prev},
                           {"trace": t, "step": step}, w + step)


def adam_update(weight, gradient, learning_rate: float, m, v, count: int, b1: float, b2: float,
                eps: float) -> OptimizerUpdate:
    """Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, t = count + 1, the bias
    corrections m^ = m / (1 - b1^t), v^ = v / (1 - b2^t), w <- w - lr m^ / (sqrt(v^) + eps)."""
    w, g, m_prev, v_prev = (np.asarray(a, np.float64) for a in (weight, gradient, m, v))
    t = int(count) + 1
    m_new = b1 * m_prev + (1 - b1) * g
    v_new = b2 * v_prev + (1 - b2) * g * g
    m_hat = m_new / (1 - b1 ** t)
    v_hat = v_new / (1 - b2 ** t)
    step = -learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return OptimizerUpdate("adam", w, g, learning_rate,
                           {"m": m_prev, "v": v_prev, "count": np.asarray(count)},
                           {"t": np.asarray(t), "m": m_new, "v": v_new, "m_hat": m_hat,
                            "v_hat": v_hat, "step": step}, w + step)


def rmsprop_update(weight, gradient, learning_rate: float, nu, decay: float, eps: float
                   ) -> OptimizerUpdate:
    """RMSprop as optax computes it: nu = d nu + (1 - d) g^2, w <- w - lr g / sqrt(nu + eps)."""
    w, g, nu_prev = (np.asarray(a, np.float64) for a in (weight, gradient, nu))
    nu_new = decay * nu_prev + (1 - decay) * g * g
    step = -learning_rate * g / np.sqrt(nu_new + eps)
    return OptimizerUpdate("rmsprop", w, g, learning_rate, {"nu": nu_prev},
                           {"nu": nu_new, "step": step}, w + step)


_UPDATES = {"adam": adam_update, "sgd-momentum": momentum_update, "rmsprop": rmsprop_update}


def optimizer_update(optimizer: str, weight, gradient, learning_rate: float,
                     state: dict[str, np.ndarray], settings: dict[str, float]
                     ) -> OptimizerUpdate:
    """The update of `optimizer` (a TrainConfig name) from its `state` for these weights
    (Adam: m, v, count; momentum: trace; RMSprop: nu) and its fixed `settings`."""
    return _UPDATES[optimizer](weight, gradient, learning_rate, **state, **settings)
