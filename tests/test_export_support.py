"""Networks and trained weights the export and import tests share: every preset, and
two small networks that hold every layer type and activation between them."""

from __future__ import annotations

import os
from functools import partial

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
from cnnviz.core.presets import PRESETS
from cnnviz.engine.model import apply, init_params, params_to_numpy, to_float
from cnnviz.io.export import Trained

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 on JAX, never TensorFlow

# conv same with stride 2 (padded unevenly) and stride 1, valid; avg pool, overlapping
# max pool; dropout on both sides of a Flatten of a 2x1x6 image; tanh, sigmoid, none, relu;
# BatchNorm on maps, on a Flatten of an image (its values reordered channels-first) with
# an activation, and on a Dense's vector
EVERY_LAYER = NetworkSpec((16, 14, 3), (
    Conv2D(4, 3, 2, "same", "tanh"), BatchNorm(), Conv2D(5, 3, 1, "same", "sigmoid"),
    AvgPool2D(2), Conv2D(6, 2, 1, "valid", "none"), MaxPool2D(2, 1), Dropout(0.3), Flatten(),
    BatchNorm(0.9, 1e-5, "relu"), Dropout(0.2), Dense(7, "relu"), Dense(3, "none")))
GLOBAL_POOL = NetworkSpec((12, 12, 2), (
    Conv2D(4, 3, 1, "valid", "relu"), AvgPool2D(2, 1), GlobalAvgPool(), Dense(5, "sigmoid"),
    BatchNorm(), Dense(4, "tanh"), Dense(2, "none")))
NETWORKS = {**{name: p.spec for name, p in PRESETS.items()}, "every-layer": EVERY_LAYER,
            "global-pool": GLOBAL_POOL}


def weights_for(spec: NetworkSpec, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Glorot kernels and small random biases, and BatchNorm arrays away from their start
    (ones and zeros would hide a mix-up)."""
    weights = params_to_numpy(init_params(spec, jax.random.key(seed)))
    rng = np.random.default_rng(seed)
    for layer in weights:
        for key in ("bias", "beta", "moving_mean"):
            if key in layer:
                layer[key] = rng.normal(0, 0.1, layer[key].shape).astype(np.float32)
        for key in ("gamma", "moving_variance"):
            if key in layer:
                layer[key] = rng.uniform(0.5, 1.5, layer[key].shape).astype(np.float32)
    return weights


def trained(spec: NetworkSpec, seed: int = 0) -> Trained:
    classes = spec.analyze().output_shape[0]
    return Trained(spec, weights_for(spec, seed), tuple(f"class {i}" for i in range(classes)),
                   "shapes", steps=120, metrics={"loss": 0.5, "accuracy": 0.8})


def images_for(spec: NetworkSpec, count: int = 5, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, *spec.input_shape), dtype=np.uint8)


@partial(jax.jit, static_argnums=0)
def _logits(spec: NetworkSpec, params, images):
    return apply(spec, params, to_float(images))


def engine_logits(spec: NetworkSpec, weights, images: np.ndarray) -> np.ndarray:
    """The engine's logits for images (N, H, W, C)."""
    params = [{k: jnp.asarray(v) for k, v in layer.items()} for layer in weights]
    return np.asarray(_logits(spec, params, jnp.asarray(images)))
