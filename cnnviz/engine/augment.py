"""Data augmentation inside the jitted train step: random flips, shifts, rotations, noise.

Each augmentation is a pure function of a batch (N, H, W, C) float32 in [0, 1] and a PRNG
key, drawing its randomness per image, so the same key always gives the same batch and
the labels stay with their images. Only the train step calls them; evaluation sees the
images as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.scipy.ndimage import map_coordinates

from cnnviz.core.config import AUGMENTATIONS

MAX_SHIFT_FRACTION = 0.125  # of the image size: 4 pixels on 28 or 32
MAX_ROTATION_DEGREES = 15.0
NOISE_SIGMA = 0.05


def flip_horizontal(x: jax.Array) -> jax.Array:
    """Mirror every image left to right."""
    return x[:, :, ::-1, :]  # (N, H, W, C)


def translate(x: jax.Array, offsets: jax.Array, pad: int) -> jax.Array:
    """Move image i down by offsets[i, 0] and right by offsets[i, 1] pixels (|offset| <= pad),
    filling with zeros: a crop of the zero-padded image."""
    _, h, w, c = x.shape
    padded = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))  # (N, H+2p, W+2p, C)

    def crop(image, offset):
        return jax.lax.dynamic_slice(image, (pad - offset[0], pad - offset[1], 0), (h, w, c))

    return jax.vmap(crop)(padded, offsets)


def rotate(x: jax.Array, angles: jax.Array) -> jax.Array:
    """Rotate image i by angles[i] radians (counter-clockwise as displayed) about its
    centre, bilinear, zeros where the rotated image does not reach."""
    _, h, w, c = x.shape
    rows, cols = jnp.meshgrid(jnp.arange(h) - (h - 1) / 2, jnp.arange(w) - (w - 1) / 2,
                              indexing="ij")  # (H, W), relative to the centre

    def one(image, angle):  # (H, W, C)
        # Each output pixel samples the input where the inverse rotation puts it.
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        src_rows = cos * rows + sin * cols + (h - 1) / 2
        src_cols = -sin * rows + cos * cols + (w - 1) / 2

        def channel(plane):  # (H, W)
            return map_coordinates(plane, [src_rows, src_cols], order=1, mode="constant")

        return jax.vmap(channel, in_axes=2, out_axes=2)(image)

    return jax.vmap(one)(x, angles)


def random_flip(x: jax.Array, key: jax.Array) -> jax.Array:
    flip = jax.random.bernoulli(key, 0.5, (x.shape[0], 1, 1, 1))
    return jnp.where(flip, flip_horizontal(x), x)


def random_shift(x: jax.Array, key: jax.Array) -> jax.Array:
    pad = max(1, int(MAX_SHIFT_FRACTION * min(x.shape[1:3]) + 0.5))
    offsets = jax.random.randint(key, (x.shape[0], 2), -pad, pad + 1)
    return translate(x, offsets, pad)


def random_rotation(x: jax.Array, key: jax.Array) -> jax.Array:
    limit = jnp.deg2rad(MAX_ROTATION_DEGREES)
    return rotate(x, jax.random.uniform(key, (x.shape[0],), minval=-limit, maxval=limit))


def gaussian_noise(x: jax.Array, key: jax.Array) -> jax.Array:
    return jnp.clip(x + NOISE_SIGMA * jax.random.normal(key, x.shape, x.dtype), 0.0, 1.0)


_AUGMENTERS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "flip": random_flip, "shift": random_shift, "rotate": random_rotation,
    "noise": gaussian_noise,
}


def augment_batch(x: jax.Array, key: jax.Array, names: Sequence[str]) -> jax.Array:
    """x (N, H, W, C) float32 in [0, 1] with the augmentations `names` (static) applied.

    They run in the fixed order of AUGMENTATIONS (geometry first, noise last), each with
    its own sub-key, so enabling one does not change the randomness of another.
    """
    unknown = sorted(set(names) - set(AUGMENTATIONS))
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)} "
                         f"(known: {', '.join(AUGMENTATIONS)})")
    keys = jax.random.split(key, len(AUGMENTATIONS))
    for name, sub_key in zip(AUGMENTATIONS, keys, strict=True):
        if name in names:
            x = _AUGMENTERS[name](x, sub_key)
    return x
