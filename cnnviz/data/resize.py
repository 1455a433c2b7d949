"""Resizing whole image arrays (bilinear, Pillow), e.g. to give convolutions room."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, C) uint8, C 1 or 3 -> (N, size, size, C) uint8, bilinear."""
    n, _, _, channels = images.shape
    out = np.empty((n, size, size, channels), np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if channels == 1 else image)
        resized = np.asarray(pil.resize((size, size), Image.Resampling.BILINEAR))
        out[i] = resized.reshape(size, size, channels)
    return out
