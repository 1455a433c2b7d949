"""`digits` and `digits-8x8`: the UCI handwritten digits, built in and offline.

1,797 digits of 8x8 pixels, each pixel the count (0-16) of ink in a 4x4 block of the
scanned bitmap. 8x8 leaves a 5x5 kernel almost nothing to slide over, so `digits` offers
them bilinearly upscaled to 28x28, the size of MNIST, which fits presets like lenet5.
The file ships in the package (see assets/README.md for source and license).
"""

from __future__ import annotations

import gzip
from importlib.resources import files

import numpy as np

from cnnviz.core.i18n import Message
from cnnviz.data.dataset import Dataset, split_off_test
from cnnviz.data.resize import resize_images

CLASS_NAMES = tuple("0123456789")
NATIVE_SIZE = 8
SIZE = 1797
_MAX_VALUE = 16
_TEST_FRACTION = 0.2  # the dataset has no standard test split


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """Images (1797, 8, 8, 1) uint8 scaled to 0-255, labels (1797,) int32."""
    with files("cnnviz.data").joinpath("assets", "digits.csv.gz").open("rb") as raw, \
            gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int32)
    pixels, labels = table[:, :-1], table[:, -1]
    images = (pixels * 255 + _MAX_VALUE // 2) // _MAX_VALUE  # 0-16 -> 0-255, rounded
    return images.astype(np.uint8).reshape(-1, NATIVE_SIZE, NATIVE_SIZE, 1), labels


def load_digits(name: str, size: int, *, seed: int = 0,
                validation_fraction: float = 0.1) -> Dataset:
    """The digits at `size` x `size` (bilinear), with a fixed 20 % test split."""
    images, labels = read_digits()
    if size != NATIVE_SIZE:
        images = resize_images(images, size)
    x, y, x_test, y_test = split_off_test(images, labels, _TEST_FRACTION)
    return Dataset.from_train_test(
        name, CLASS_NAMES, x, y, x_test, y_test, seed=seed,
        validation_fraction=validation_fraction,
        description=Message("UCI handwritten digits, {size}x{size} gray", size=size))
