"""The dataset type: images and integer labels in fixed train / validation / test splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.i18n import Message


class DatasetError(ValueError):
    """A dataset that cannot be loaded or used, with what to do about it."""


@dataclass(frozen=True)
class Dataset:
    """Images (N, H, W, C), uint8 (0-255) or float32 (already scaled), labels (N,) int32.

    The splits are fixed when the dataset is built (seeded), so every run with the same
    seed sees the same examples. ``x_val`` may be empty (validation fraction 0).
    """

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str | Message = ""  # a Message where it is known before it is loaded
    notes: tuple[str, ...] = ()  # things the user should know, e.g. files that were skipped

    def __post_init__(self) -> None:
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 4:
                raise DatasetError(Message("{name}: {split} images must be (N, H, W, C), got "
                                           "shape {shape}", name=self.name, split=split,
                                           shape=x.shape))
            if len(x) != len(y):
                raise DatasetError(Message("{name}: {images} {split} images but {labels} "
                                           "labels", name=self.name, images=len(x),
                                           split=split, labels=len(y)))
            if x.dtype not in (np.uint8, np.float32):
                raise DatasetError(Message("{name}: images must be uint8 or float32, got "
                                           "{dtype}", name=self.name, dtype=x.dtype))
            if len(y) and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise DatasetError(Message("{name}: {split} labels outside 0..{last}",
                                           name=self.name, split=split,
                                           last=self.num_classes - 1))
        if not self.x_train.shape[1:] == self.x_val.shape[1:] == self.x_test.shape[1:]:
            raise DatasetError(Message("{name}: splits have different image shapes",
                                       name=self.name))

    @classmethod
    def from_train_test(cls, name: str, class_names: tuple[str, ...], x: np.ndarray,
                        y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *, seed: int,
                        validation_fraction: float, description: str | Message = "",
                        notes: tuple[str, ...] = ()) -> Dataset:
        """The dataset with a seeded validation split taken from the training images."""
        x_train, y_train, x_val, y_val = split_off_validation(x, y, validation_fraction, seed)
        return cls(name, class_names, x_train, y_train, x_val, y_val, x_test, y_test,
                   description, notes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def split_off_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val): a seeded, stratified random `fraction` held out."""
    rng = np.random.default_rng(seed)
    val_idx = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        val_idx.append(members[: int(round(len(members) * fraction))])
    val = np.sort(np.concatenate(val_idx)) if val_idx else np.zeros(0, np.int64)
    mask = np.ones(len(y), bool)
    mask[val] = False
    return x[mask], y[mask], x[val], y[val]


# Datasets without a standard test split hold one out with this seed, whatever the run's
# seed, so test accuracy stays comparable across runs.
TEST_SEED = 10_007


def split_off_test(x: np.ndarray, y: np.ndarray, fraction: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_rest, y_rest, x_test, y_test): a fixed, stratified `fraction` held out for testing."""
    return split_off_validation(x, y, fraction, TEST_SEED)
