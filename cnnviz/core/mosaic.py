"""Arrays as pictures: scaling to uint8 and tiling many small images into one.

The normalisation every view documents: a value v in the range [lo, hi] becomes
``round((v - lo) / (hi - lo) * LEVELS)``, clipped to 0..LEVELS. Byte value GAP (above
LEVELS) is reserved for the lines between tiles, so a colour lookup table can draw them
in a colour of their own. Views show these bytes through a lookup table and never scale
anything themselves; a test can repeat the formula on the engine's arrays and compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVELS = 254  # data bytes are 0..LEVELS
GAP = 255  # the lines between tiles and the unused cells of the last row
STRIP_WIDTH = 32  # units per row of a vector shown as a strip


def to_uint8(x: np.ndarray, lo, hi) -> np.ndarray:
    """x scaled so lo -> 0 and hi -> LEVELS (lo, hi scalars or broadcastable arrays).
    Where hi <= lo (a constant map) everything is 0."""
    lo = np.asarray(lo, np.float32)
    hi = np.asarray(hi, np.float32)
    span = np.where(hi > lo, hi - lo, np.float32(np.inf))
    scaled = (np.asarray(x, np.float32) - lo) / span * LEVELS
    return np.clip(np.rint(scaled), 0, LEVELS).astype(np.uint8)


def symmetric_range(x: np.ndarray) -> float:
    """m with [-m, m] covering x: for signed data (weights, gradients) whose zero should
    sit in the middle of a diverging colour map."""
    return float(np.max(np.abs(x))) if x.size else 0.0


def grid_shape(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """(rows, cols) holding n tiles, about `aspect` times wider than tall in tiles."""
    cols = max(1, min(n, math.ceil(math.sqrt(n * aspect))))
    return math.ceil(n / cols), cols


@dataclass(frozen=True)
class Mosaic:
    """Tiles of one size in a grid, left to right then top to bottom, GAP-coloured lines
    between them. `image` is (rows*(h+gap)-gap, cols*(w+gap)-gap), plus a colour axis
    of 3 for RGB tiles."""

    image: np.ndarray
    tile: tuple[int, int]  # (h, w)
    grid: tuple[int, int]  # (rows, cols)
    count: int
    gap: int = 1

    def origin(self, i: int) -> tuple[int, int]:
        """(y, x) of tile i's top-left pixel."""
        r, c = divmod(i, self.grid[1])
        return r * (self.tile[0] + self.gap), c * (self.tile[1] + self.gap)

    def cell_at(self, y: float, x: float) -> tuple[int, int, int] | None:
        """(tile, row, col) under image coordinates (y, x), or None on a gap or outside."""
        if y < 0 or x < 0:
            return None
        (h, w), g = self.tile, self.gap
        r, dy = divmod(int(y), h + g)
        c, dx = divmod(int(x), w + g)
        i = r * self.grid[1] + c
        if dy >= h or dx >= w or c >= self.grid[1] or i >= self.count:
            return None
        return i, dy, dx

    def tile_image(self, i: int) -> np.ndarray:
        y, x = self.origin(i)
        return self.image[y:y + self.tile[0], x:x + self.tile[1]]


def tile(tiles: np.ndarray, cols: int | None = None, gap: int = 1,
         fill: int = GAP) -> Mosaic:
    """tiles (N, h, w) or (N, h, w, 3) uint8 -> a Mosaic `cols` tiles wide (default:
    about square)."""
    n, h, w = tiles.shape[:3]
    rows, cols = grid_shape(n) if cols is None else (math.ceil(n / cols), cols)
    rows = max(rows, 1)
    colour = tiles.shape[3:]
    # every tile with its gap below and to the right, as a (rows, cols) grid of cells
    cells = np.full((rows * cols, h + gap, w + gap, *colour), fill, np.uint8)
    cells[:n, :h, :w] = tiles
    cells = cells.reshape(rows, cols, h + gap, w + gap, *colour).swapaxes(1, 2)
    out = cells.reshape(rows * (h + gap), cols * (w + gap), *colour)[
        :rows * (h + gap) - gap, :cols * (w + gap) - gap]
    out = np.ascontiguousarray(out)
    out.flags.writeable = False
    return Mosaic(out, (h, w), (rows, cols), n, gap)


def channel_mosaic(maps: np.ndarray, lo, hi) -> Mosaic:
    """Feature maps (H, W, C), scaled to uint8 with lo/hi (scalars, or (C,) per channel),
    one tile per channel."""
    scaled = to_uint8(maps, lo, hi)  # (H, W, C)
    return tile(np.moveaxis(scaled, -1, 0))


def vector_strip(values: np.ndarray, lo, hi) -> Mosaic:
    """A vector (D,) as a strip of one-pixel cells, STRIP_WIDTH to a row, no gaps."""
    scaled = to_uint8(values, lo, hi)
    return tile(scaled.reshape(-1, 1, 1), cols=min(len(scaled), STRIP_WIDTH), gap=0)


def kernel_mosaic(kernel: np.ndarray, m: float, rgb: bool) -> Mosaic:
    """Conv kernels (K, K, C, F) on the symmetric range [-m, m]: one tile per filter and
    input channel (a row per filter, a column per input channel; about square when C is
    1), or with `rgb` one colour tile per filter."""
    k, _, c, f = kernel.shape
    scaled = to_uint8(kernel, -m, m)
    if rgb:
        return tile(np.moveaxis(scaled, -1, 0))  # (F, K, K, 3)
    tiles = scaled.transpose(3, 2, 0, 1).reshape(f * c, k, k)  # filter-major: (F*C, K, K)
    return tile(tiles, cols=None if c == 1 else c)


def pruned_mosaic(kernel: np.ndarray, mask: np.ndarray, rgb: bool) -> Mosaic:
    """Where a conv layer's kernels (K, K, C, F) are pruned: LEVELS for a weight its mask
    (True: kept) removed that is exactly zero, 0 elsewhere, laid out as kernel_mosaic lays
    out the kernels. With `rgb` (one colour tile per filter), a pixel is pruned when its
    weights for every input channel are."""
    pruned = ~mask & (kernel == 0)  # (K, K, C, F)
    if rgb:
        pruned = pruned.all(axis=2, keepdims=True)  # (K, K, 1, F): a tile per filter
    return kernel_mosaic(np.where(pruned, 1.0, -1.0), 1.0, rgb=False)


def display_images(images: np.ndarray) -> np.ndarray:
    """Dataset images as bytes 0-255: uint8 unchanged, float32 (scaled to [0, 1]) back."""
    if images.dtype == np.uint8:
        return images
    return (np.clip(images, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def image_mosaic(images: np.ndarray, cols: int | None = None) -> Mosaic:
    """Dataset images (N, H, W, C) side by side. Grey ones become (N, H, W) scaled to
    0..LEVELS like any map (so the gaps stay distinct); RGB ones keep their bytes.
    Images of another channel count show their first channel."""
    images = display_images(images)
    if images.shape[-1] != 3:
        return tile(to_uint8(images[..., 0], 0, 255), cols, gap=2)
    return tile(images, cols, gap=2)
