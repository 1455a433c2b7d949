"""The stored sample inputs and the app's logits for them: what every exported format
is checked against (its scripts compare themselves with `samples.npz`).

This is the one place io runs a model, to record what the app computes.
"""

from __future__ import annotations

import functools
import io

import numpy as np

from cnnviz.io.weights import Weights

COUNT = 8
SEED = 0


def sample_images(shape: tuple[int, ...], images: np.ndarray | None = None,
                  count: int = COUNT) -> tuple[np.ndarray, str]:
    """Up to `count` of `images` (e.g. test images), or seeded random pixels when there
    are none, and what they are."""
    if images is not None and len(images):
        return np.ascontiguousarray(images[:count]), "test images"
    rng = np.random.default_rng(SEED)
    return rng.integers(0, 256, (count, *shape), dtype=np.uint8), f"random pixels (seed {SEED})"


@functools.cache
def _compiled_apply():
    """apply() compiled once per network (JAX only where a model runs, not to import io)."""
    import jax

    from cnnviz.engine.model import apply, to_float

    return jax.jit(lambda spec, params, x: apply(spec, params, to_float(x)), static_argnums=0)


def app_logits(spec, weights: Weights, images: np.ndarray) -> np.ndarray:
    """The app's logits (N, classes) for images (N, H, W, C), uint8 or float32."""
    import jax.numpy as jnp

    params = [{k: jnp.asarray(v) for k, v in layer.items()} for layer in weights]
    return np.asarray(_compiled_apply()(spec, params, jnp.asarray(images)), np.float32)


def samples_npz(images: np.ndarray, logits: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, images=images, logits=logits)
    return buffer.getvalue()
