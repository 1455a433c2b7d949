"""Naive numpy references for the engine's math, and helpers shared by the foundation tests.

Everything here is written straight from the textbook formulas with explicit loops, in
float64, and imports nothing from cnnviz's engine: it is the independent side of every
comparison. Nothing here imports JAX.
"""

from __future__ import annotations

import functools
import math

import numpy as np

# -- shapes ---------------------------------------------------------------------------


def valid_out(size: int, window: int, stride: int) -> int:
    """floor((W - K) / S) + 1."""
    return (size - window) // stride + 1


def same_out(size: int, stride: int) -> int:
    """TF/Keras 'same': ceil(W / S)."""
    return math.ceil(size / stride)


def same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF/Keras 'same' padding along one axis: total = max((out - 1) * S + K - W, 0),
    before = total // 2, the odd one after."""
    out = same_out(size, stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# -- layers -----------------------------------------------------------------------------


def conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int,
           padding: str) -> np.ndarray:
    """out[n, i, j, f] = sum_x sum_y sum_c in[n, i*S + x, j*S + y, c] * k[x, y, c, f] + b[f].

    x (N, H, W, C), kernel (K, K, C, F), bias (F,); 'same' zero-pads as TF does first.
    """
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    n, h, w, c = x.shape
    k, _, _, f = kernel.shape
    if padding == "same":
        (top, bottom), (left, right) = same_pad(h, k, stride), same_pad(w, k, stride)
        padded = np.zeros((n, h + top + bottom, w + left + right, c))
        padded[:, top:top + h, left:left + w] = x
        x = padded
        h_out, w_out = same_out(h, stride), same_out(w, stride)
    else:
        h_out, w_out = valid_out(h, k, stride), valid_out(w, k, stride)
    out = np.zeros((n, h_out, w_out, f))
    for b in range(n):
        for i in range(h_out):
            for j in range(w_out):
                for o in range(f):
                    total = 0.0
                    for dx in range(k):
                        for dy in range(k):
                            for ch in range(c):
                                total += x[b, i * stride + dx, j * stride + dy, ch] * kernel[
                                    dx, dy, ch, o]
                    out[b, i, j, o] = total + bias[o]
    return out


def _pool(x: np.ndarray, pool: int, stride: int, reduce) -> np.ndarray:
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    h_out, w_out = valid_out(h, pool, stride), valid_out(w, pool, stride)
    out = np.zeros((n, h_out, w_out, c))
    for b in range(n):
        for i in range(h_out):
            for j in range(w_out):
                for ch in range(c):
                    window = [x[b, i * stride + dx, j * stride + dy, ch]
                              for dx in range(pool) for dy in range(pool)]
                    out[b, i, j, ch] = reduce(window)
    return out


def max_pool(x: np.ndarray, pool: int, stride: int) -> np.ndarray:
    return _pool(x, pool, stride, max)


def avg_pool(x: np.ndarray, pool: int, stride: int) -> np.ndarray:
    return _pool(x, pool, stride, lambda window: sum(window) / len(window))


def max_pool_grad_first(x: np.ndarray, pool: int, stride: int, g: np.ndarray) -> np.ndarray:
    """d(sum(max_pool(x) * g)) / dx where each window's gradient goes to the FIRST
    position (row-major within the window) holding its maximum, as TF and PyTorch do."""
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    dx = np.zeros_like(x)
    for b in range(n):
        for i in range(g.shape[1]):
            for j in range(g.shape[2]):
                for ch in range(c):
                    best, where = -np.inf, None
                    for di in range(pool):
                        for dj in range(pool):
                            v = x[b, i * stride + di, j * stride + dj, ch]
                            if v > best:  # strict: ties keep the first
                                best, where = v, (i * stride + di, j * stride + dj)
                    dx[b, where[0], where[1], ch] += g[b, i, j, ch]
    return dx


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """out[n, u] = sum_d x[n, d] * W[d, u] + b[u]."""
    x = np.asarray(x, np.float64)
    n, d = x.shape
    units = kernel.shape[1]
    out = np.zeros((n, units))
    for b in range(n):
        for u in range(units):
            out[b, u] = sum(x[b, i] * float(kernel[i, u]) for i in range(d)) + bias[u]
    return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """-log softmax(logits)[label], one value per example."""
    return -log_softmax(logits)[np.arange(len(labels)), labels]


# -- random networks ---------------------------------------------------------------------


def random_spec(rng: np.random.Generator):
    """A random stack of conv / pool / dropout layers, then Flatten or GlobalAvgPool, then
    Dense layers ending in a raw-score output. Often invalid (a kernel too large for what
    is left of the image): the caller keeps what analyze() accepts."""
    from cnnviz.core.layers import (
        AvgPool2D,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        GlobalAvgPool,
        MaxPool2D,
    )
    from cnnviz.core.network import NetworkSpec

    activations = ("relu", "sigmoid", "tanh", "none")
    h, w = (int(v) for v in rng.integers(3, 41, 2))
    c = int(rng.choice([1, 2, 3]))
    layers = []
    for _ in range(int(rng.integers(0, 6))):
        kind = rng.choice(["conv", "maxpool", "avgpool", "dropout"], p=[0.5, 0.2, 0.2, 0.1])
        if kind == "conv":
            layers.append(Conv2D(int(rng.integers(1, 9)), int(rng.integers(1, 6)),
                                 int(rng.integers(1, 4)), str(rng.choice(["valid", "same"])),
                                 str(rng.choice(activations))))
        elif kind == "dropout":
            layers.append(Dropout(float(rng.choice([0.0, 0.25, 0.5]))))
        else:
            cls = MaxPool2D if kind == "maxpool" else AvgPool2D
            stride = None if rng.random() < 0.4 else int(rng.integers(1, 4))
            layers.append(cls(int(rng.integers(2, 4)), stride))
    layers.append(Flatten() if rng.random() < 0.7 else GlobalAvgPool())
    if rng.random() < 0.3:
        layers.append(Dropout(0.5))
    for _ in range(int(rng.integers(0, 3))):
        layers.append(Dense(int(rng.integers(1, 17)), str(rng.choice(activations))))
    layers.append(Dense(int(rng.integers(2, 11)), "none"))
    return NetworkSpec((h, w, c), tuple(layers))


def random_weights(spec, seed=0, dtype=np.float32):
    """Random weights of the shapes `spec` needs, one dict per layer (numpy only)."""
    from cnnviz.core.shapes import layer_param_shapes

    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal(s).astype(dtype)
             for k, s in layer_param_shapes(i.layer, i.in_shape).items()}
            for i in spec.check().layers]


# -- data ---------------------------------------------------------------------------------


@functools.cache
def shapes_dataset():
    """The built-in `shapes` dataset for seed 0, generated once per test session."""
    from cnnviz.data.registry import load_dataset

    return load_dataset("shapes", seed=0)


def shapes_once(real_load):
    """`real_load` (the registry's load_dataset), except that the default request for
    `shapes` (seed 0, validation 0.1) returns shapes_dataset(): generated once a session."""

    def load_dataset(name, *, seed=0, validation_fraction=0.1, data_dir=None,
                     image_size=None, progress=None, per_class=None):
        if (name, seed, validation_fraction, data_dir, image_size, per_class) == (
                "shapes", 0, 0.1, None, None, None):
            return shapes_dataset()
        return real_load(name, seed=seed, validation_fraction=validation_fraction,
                         data_dir=data_dir, image_size=image_size, progress=progress,
                         per_class=per_class)

    return load_dataset


def subset(dataset, n_train: int, n_val: int, n_test: int = 0, crop: int | None = None):
    """A smaller Dataset built directly from slices of `dataset` (optionally the central
    crop x crop pixels, for faster compiles)."""
    from cnnviz.data.dataset import Dataset

    def cut(x):
        if crop is None:
            return x
        top = (x.shape[1] - crop) // 2
        left = (x.shape[2] - crop) // 2
        return np.ascontiguousarray(x[:, top:top + crop, left:left + crop])

    return Dataset(f"{dataset.name}-subset", dataset.class_names,
                   cut(dataset.x_train[:n_train]), dataset.y_train[:n_train],
                   cut(dataset.x_val[:n_val]), dataset.y_val[:n_val],
                   cut(dataset.x_test[:n_test]), dataset.y_test[:n_test])


# -- sharing compilations between tests ------------------------------------------------------

_STEPS: dict = {}


def share_compiled_steps(monkeypatch) -> list:
    """Make every Trainer (and evaluate()) in this test reuse one jitted train step and one
    eval step per network for the whole session, instead of compiling its own (seconds
    each on a small CPU). The functions are the engine's own, built once by the real
    make_train_step / make_eval_step; the learning rate lives in the optimizer state, so a
    step built for one Adam trainer is exactly the step of another. Only for tests that
    train with the default optimizer (adam). Returns the train steps handed out."""
    from cnnviz.engine import trainer

    real_train, real_eval = trainer.make_train_step, trainer.make_eval_step
    handed: list = []

    def make_train_step(spec, optimizer, augment=()):
        key = ("train", spec, tuple(augment))
        if key not in _STEPS:
            _STEPS[key] = real_train(spec, optimizer, augment)
        handed.append(_STEPS[key])
        return _STEPS[key]

    def make_eval_step(spec):
        key = ("eval", spec)
        if key not in _STEPS:
            _STEPS[key] = real_eval(spec)
        return _STEPS[key]

    monkeypatch.setattr(trainer, "make_train_step", make_train_step)
    monkeypatch.setattr(trainer, "make_eval_step", make_eval_step)
    return handed
