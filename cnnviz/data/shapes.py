"""`shapes`: a built-in, generated dataset of simple geometric figures.

Five classes (circle, square, triangle, cross, line) drawn at random size, position and
rotation on a 28x28 canvas with random brightness and Gaussian noise. Telling them apart
takes edges and corners, so first-layer filters visibly become edge detectors. Generated
from the seed in about a second; needs no download.

`outlines`: the same five figures drawn as outlines only (a ring, a square's outline...),
named as other classes: a second task that looks related, on which a network trained on
`shapes` is fine-tuned from a few images per class (its edge detectors still serve).
"""

from __future__ import annotations

import numpy as np

from cnnviz.core.i18n import Message, marked
from cnnviz.data.dataset import TEST_SEED, Dataset

# English identifiers, kept in files and exports; marked so that they are shown in the
# interface's language (data.class_names)
CLASS_NAMES = (marked("circle"), marked("square"), marked("triangle"), marked("cross"),
               marked("line"))
OUTLINE_CLASSES = (marked("ring"), marked("square outline"), marked("triangle outline"),
                   marked("cross outline"), marked("line outline"))
SIZE = 28
_SUPERSAMPLE = 3  # anti-aliasing: draw at 3x and average down
_OUTLINE = 4  # an outline's width, in supersampled pixels (about 1.3 pixels)


def _masks(kind: int, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Inside-test of one figure in its own rotated frame (u, v), radius r (N, 1, 1)."""
    if kind == 0:  # circle
        return u**2 + v**2 <= r**2
    if kind == 1:  # square
        return np.maximum(np.abs(u), np.abs(v)) <= 0.75 * r
    if kind == 2:  # equilateral triangle with circumradius r, pointing up
        return (v <= 0.5 * r) & (np.sqrt(3) * u - v <= r) & (-np.sqrt(3) * u - v <= r)
    arm = np.maximum(0.18 * r, 1.0)
    if kind == 3:  # cross
        return ((np.abs(u) <= arm) & (np.abs(v) <= r)) | ((np.abs(v) <= arm) & (np.abs(u) <= r))
    return (np.abs(v) <= 0.6 * arm) & (np.abs(u) <= 1.2 * r)  # line


def _eroded(inside: np.ndarray, steps: int) -> np.ndarray:
    """`inside` (N, H, W) shrunk by `steps` pixels (a pixel stays if its four
    neighbours do), so that inside & ~eroded is the figure's outline."""
    for _ in range(steps):
        shrunk = inside.copy()
        shrunk[:, 1:] &= inside[:, :-1]
        shrunk[:, :-1] &= inside[:, 1:]
        shrunk[:, :, 1:] &= inside[:, :, :-1]
        shrunk[:, :, :-1] &= inside[:, :, 1:]
        inside = shrunk
    return inside


def draw_shapes(labels: np.ndarray, rng: np.random.Generator,
                outline: bool = False) -> np.ndarray:
    """uint8 images (N, 28, 28, 1) of the figures named by `labels` (their outlines
    only, if `outline`)."""
    n = len(labels)
    grid = (np.arange(SIZE * _SUPERSAMPLE) + 0.5) / _SUPERSAMPLE  # pixel coordinates
    ys, xs = np.meshgrid(grid, grid, indexing="ij")
    radius = rng.uniform(6.0, 11.0, n)
    margin = radius * 0.8
    cx = rng.uniform(margin, SIZE - margin)
    cy = rng.uniform(margin, SIZE - margin)
    angle = rng.uniform(0, 2 * np.pi, n)
    brightness = rng.uniform(0.55, 1.0, n)
    images = np.zeros((n, SIZE, SIZE), np.float32)
    for kind in range(len(CLASS_NAMES)):
        sel = np.flatnonzero(labels == kind)
        for start in range(0, len(sel), 256):  # bounded memory: 256 x 84 x 84 at a time
            idx = sel[start:start + 256]
            dx = xs[None] - cx[idx, None, None]
            dy = ys[None] - cy[idx, None, None]
            cos, sin = np.cos(angle[idx])[:, None, None], np.sin(angle[idx])[:, None, None]
            u, v = cos * dx + sin * dy, -sin * dx + cos * dy
            inside = _masks(kind, u, v, radius[idx, None, None])
            if outline:
                inside &= ~_eroded(inside, _OUTLINE)
            inside = inside.astype(np.float32)
            coverage = inside.reshape(len(idx), SIZE, _SUPERSAMPLE, SIZE, _SUPERSAMPLE)
            images[idx] = coverage.mean(axis=(2, 4)) * brightness[idx, None, None]
    images += rng.normal(0.0, 0.08, images.shape).astype(np.float32)
    return (np.clip(images, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)[..., None]


TRAIN_SIZE, TEST_SIZE = 10_000, 1_000


def load_shapes(seed: int = 0, validation_fraction: float = 0.1, train_size: int = TRAIN_SIZE,
                test_size: int = TEST_SIZE) -> Dataset:
    """The dataset for `seed`; the test split does not depend on the seed, so test
    accuracy is comparable across runs."""
    test_rng = np.random.default_rng(TEST_SEED)
    y_test = np.resize(np.arange(len(CLASS_NAMES), dtype=np.int32), test_size)
    x_test = draw_shapes(y_test, test_rng)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASS_NAMES), train_size).astype(np.int32)
    x = draw_shapes(y, rng)
    return Dataset.from_train_test(
        "shapes", CLASS_NAMES, x, y, x_test, y_test, seed=seed,
        validation_fraction=validation_fraction,
        description=Message("Generated circles, squares, triangles, crosses and lines, 28x28 "
                            "gray."))


OUTLINE_TRAIN, OUTLINE_TEST = 3_000, 1_000


def load_outlines(seed: int = 0, validation_fraction: float = 0.1) -> Dataset:
    """The outlines for `seed` (drawn apart from the shapes' draws); the test split does
    not depend on the seed."""
    test_rng = np.random.default_rng([TEST_SEED, 1])
    y_test = np.resize(np.arange(len(OUTLINE_CLASSES), dtype=np.int32), OUTLINE_TEST)
    x_test = draw_shapes(y_test, test_rng, outline=True)
    rng = np.random.default_rng([seed, 1])
    y = rng.integers(0, len(OUTLINE_CLASSES), OUTLINE_TRAIN).astype(np.int32)
    x = draw_shapes(y, rng, outline=True)
    return Dataset.from_train_test(
        "outlines", OUTLINE_CLASSES, x, y, x_test, y_test, seed=seed,
        validation_fraction=validation_fraction,
        description=Message("Generated outlines of circles, squares, triangles, crosses and "
                            "lines, 28x28 gray."))
