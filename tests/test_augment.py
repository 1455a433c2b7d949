"""Augmentations: shapes kept, images stay with their labels, deterministic by key."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnnviz.core.config import AUGMENTATIONS
from cnnviz.engine.augment import (
    augment_batch,
    flip_horizontal,
    gaussian_noise,
    random_flip,
    random_rotation,
    random_shift,
    rotate,
    translate,
)

augment = jax.jit(augment_batch, static_argnames="names")


def _batch(n=8, h=12, w=10, c=3, seed=0):
    return jnp.asarray(np.random.default_rng(seed).random((n, h, w, c), np.float32))


def test_flip_of_flip_is_identity():
    x = _batch()
    np.testing.assert_array_equal(flip_horizontal(flip_horizontal(x)), x)
    np.testing.assert_array_equal(flip_horizontal(x)[:, :, 0], x[:, :, -1])


@pytest.mark.parametrize("names", [(name,) for name in AUGMENTATIONS] + [AUGMENTATIONS])
def test_shape_dtype_range_and_determinism(names):
    x = _batch()
    key = jax.random.key(3)
    out = augment(x, key, names)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    np.testing.assert_array_equal(out, augment(x, key, names))
    assert not np.array_equal(out, augment(x, jax.random.key(4), names))


def test_no_augmentation_is_identity():
    # Evaluation (and training without --augment) sees the images unchanged.
    x = _batch()
    np.testing.assert_array_equal(augment(x, jax.random.key(0), ()), x)


@pytest.mark.parametrize("fn", [random_flip, random_shift, random_rotation, gaussian_noise])
def test_each_image_stays_with_its_label(fn):
    # Image i is filled with the value v_i; whatever the augmentation does, what is left
    # of image i must come from v_i (or the zero fill), never from another image.
    values = jnp.linspace(0.2, 0.9, 8)
    x = jnp.broadcast_to(values[:, None, None, None], (8, 16, 16, 1))
    out = np.asarray(fn(x, jax.random.key(1)))
    centre = out[:, 6:10, 6:10, 0]  # shifts and rotations this small leave the centre
    np.testing.assert_allclose(centre.mean(axis=(1, 2)), values, atol=0.03)


def test_random_flip_flips_about_half_and_only_whole_images():
    x = _batch(n=200, c=1)
    out = np.asarray(random_flip(x, jax.random.key(0)))
    flipped = np.all(out == np.asarray(flip_horizontal(x)), axis=(1, 2, 3))
    kept = np.all(out == np.asarray(x), axis=(1, 2, 3))
    assert np.all(flipped | kept)
    assert 70 < flipped.sum() < 130


def test_translate_moves_content_and_fills_zeros():
    x = jnp.zeros((2, 5, 5, 1)).at[:, 2, 2, 0].set(1.0)
    out = np.asarray(translate(x, jnp.array([[1, -2], [0, 0]]), pad=2))
    assert out[0, 3, 0, 0] == 1.0 and out[0].sum() == 1.0
    np.testing.assert_array_equal(out[1], x[1])


def test_random_shift_stays_within_an_eighth_of_the_size():
    x = jnp.zeros((64, 32, 32, 1)).at[:, 16, 16, 0].set(1.0)
    out = np.asarray(random_shift(x, jax.random.key(0)))
    rows, cols = np.nonzero(out[..., 0].sum(axis=0))
    assert np.abs(rows - 16).max() <= 4 and np.abs(cols - 16).max() <= 4
    assert out.sum() == 64  # every dot moved, none lost


def test_rotate_matches_rot90_and_zero_is_identity():
    x = _batch(n=2, h=7, w=7, c=2)
    np.testing.assert_allclose(rotate(x, jnp.zeros(2)), x, atol=1e-6)
    quarter = rotate(x, jnp.full(2, jnp.pi / 2))
    np.testing.assert_allclose(quarter, np.rot90(np.asarray(x), 1, axes=(1, 2)), atol=1e-5)


def test_random_rotation_is_small():
    # A thin horizontal bar through the centre stays near horizontal (|angle| <= 15 deg).
    x = jnp.zeros((32, 21, 21, 1)).at[:, 10, 3:18, 0].set(1.0)
    out = np.asarray(random_rotation(x, jax.random.key(2)))
    assert np.all(out[:, 10, 10, 0] > 0.9)
    assert np.all(out[:, :4, :, 0].sum(axis=(1, 2)) < 1e-3)  # nothing reaches the top rows


def test_noise_is_small_and_clipped():
    # Same shape as in test_each_image_stays_with_its_label: compiled once.
    x = jnp.full((8, 16, 16, 1), 0.5)
    out = np.asarray(gaussian_noise(x, jax.random.key(0)))
    assert 0.04 < (out - 0.5).std() < 0.06
    edge = np.asarray(gaussian_noise(jnp.ones((8, 16, 16, 1)), jax.random.key(0)))
    assert edge.max() == 1.0


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation blur"):
        augment_batch(_batch(), jax.random.key(0), ("flip", "blur"))
