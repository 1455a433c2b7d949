"""Every dataset cnnviz knows by name, and one way to load any of them.

Names: the built-in ones (no download), the standard ones (downloaded once, then cached)
and `folder:PATH` for the user's own images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from cnnviz.core.i18n import Message
from cnnviz.core.memory import available_memory, format_bytes
from cnnviz.data import digits, standard
from cnnviz.data.dataset import Dataset, DatasetError
from cnnviz.data.download import Progress
from cnnviz.data.folder import check_image_size, load_folder
from cnnviz.data.per_class import check_per_class, per_class_slice
from cnnviz.data.resize import resize_images
from cnnviz.data.shapes import CLASS_NAMES as SHAPES_CLASSES
from cnnviz.data.shapes import (
    OUTLINE_CLASSES,
    OUTLINE_TEST,
    OUTLINE_TRAIN,
    load_outlines,
    load_shapes,
)
from cnnviz.data.shapes import TEST_SIZE as SHAPES_TEST
from cnnviz.data.shapes import TRAIN_SIZE as SHAPES_TRAIN

FOLDER_PREFIX = "folder:"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: Message
    input_shape: tuple[int, int, int]
    num_classes: int
    size: int  # images in all splits together
    builtin: bool  # needs no download
    class_names: tuple[str, ...] = ()  # known without loading it (a folder's are not)

    def cached(self, data_dir: Path | None = None) -> bool:
        """Whether it loads without a download: built in, or all its files are present in
        `data_dir` (if given) or the cache."""
        return self.builtin or standard.is_cached(self.name, data_dir)


@dataclass(frozen=True)
class DatasetEntry:
    info: DatasetInfo
    # load(seed=, validation_fraction=, data_dir=, progress=) at the dataset's own size
    load: Callable[..., Dataset]


def _load_shapes(seed: int, validation_fraction: float, **_: object) -> Dataset:
    return load_shapes(seed, validation_fraction)


def _load_outlines(seed: int, validation_fraction: float, **_: object) -> Dataset:
    return load_outlines(seed, validation_fraction)


def _load_digits(name: str, size: int, seed: int, validation_fraction: float,
                 **_: object) -> Dataset:
    return digits.load_digits(name, size, seed=seed, validation_fraction=validation_fraction)


def _standard_entry(spec: standard.StandardDataset) -> DatasetEntry:
    info = DatasetInfo(spec.name, spec.description, spec.input_shape, len(spec.class_names),
                       spec.size, builtin=False, class_names=spec.class_names)
    return DatasetEntry(info, partial(standard.load_standard, spec.name))


DATASETS: dict[str, DatasetEntry] = {
    "shapes": DatasetEntry(
        DatasetInfo("shapes", Message("Generated circles, squares, triangles, crosses and "
                                      "lines"),
                    (28, 28, 1), len(SHAPES_CLASSES), SHAPES_TRAIN + SHAPES_TEST, True,
                    SHAPES_CLASSES),
        _load_shapes,
    ),
    "outlines": DatasetEntry(
        DatasetInfo("outlines", Message("Generated outlines of the same figures, as other "
                                        "classes (ring, square outline, ...): for fine-tuning "
                                        "a network trained on shapes"),
                    (28, 28, 1), len(OUTLINE_CLASSES), OUTLINE_TRAIN + OUTLINE_TEST, True,
                    OUTLINE_CLASSES),
        _load_outlines,
    ),
    "digits": DatasetEntry(
        DatasetInfo("digits", Message("UCI handwritten digits (1,797), upscaled from 8x8 to "
                                      "28x28"), (28, 28, 1),
                    len(digits.CLASS_NAMES), digits.SIZE, True, digits.CLASS_NAMES),
        partial(_load_digits, "digits", 28),
    ),
    "digits-32": DatasetEntry(
        DatasetInfo("digits-32", Message("UCI handwritten digits (1,797), upscaled from 8x8 "
                                         "to 32x32 (the worked example's size)"),
                    (32, 32, 1), len(digits.CLASS_NAMES), digits.SIZE, True,
                    digits.CLASS_NAMES),
        partial(_load_digits, "digits-32", 32),
    ),
    "digits-8x8": DatasetEntry(
        DatasetInfo("digits-8x8", Message("UCI handwritten digits (1,797) at their native "
                                          "8x8"), (8, 8, 1),
                    len(digits.CLASS_NAMES), digits.SIZE, True, digits.CLASS_NAMES),
        partial(_load_digits, "digits-8x8", digits.NATIVE_SIZE),
    ),
    **{name: _standard_entry(spec) for name, spec in standard.STANDARD.items()},
}

DEFAULT_DATASET = "shapes"


def list_datasets() -> list[DatasetInfo]:
    return [entry.info for entry in DATASETS.values()]


def known_classes(name: str | None) -> tuple[str, ...] | None:
    """The class names of the dataset `name` without loading it; None if they are not
    known before (a folder of images) or the name is none the registry has."""
    entry = DATASETS.get(name or "")
    return entry.info.class_names if entry is not None else None


def _resized(dataset: Dataset, size: int) -> Dataset:
    count = len(dataset.x_train) + len(dataset.x_val) + len(dataset.x_test)
    needed = count * size * size * dataset.input_shape[2] * dataset.x_train.itemsize
    free = available_memory()
    if free is not None and needed > free:
        raise DatasetError(Message("{name}: {count:,} images at {size}x{size} need about "
                                   "{needed} of memory, more than the {free} free; choose a "
                                   "smaller image size", name=dataset.name, count=count,
                                   size=size, needed=format_bytes(needed),
                                   free=format_bytes(free)))
    return replace(dataset, **{f"x_{split}": resize_images(getattr(dataset, f"x_{split}"), size)
                               for split in ("train", "val", "test")})


def load_dataset(name: str, *, seed: int = 0, validation_fraction: float = 0.1,
                 data_dir: str | Path | None = None, image_size: int | None = None,
                 progress: Progress | None = None, per_class: int | None = None) -> Dataset:
    """The dataset called `name` with fixed, seeded splits; images `image_size` square if
    given (a folder dataset's default is 32, the others keep their own size); with
    `per_class`, only that many training images of each class (data.per_class)."""
    if image_size is not None:
        check_image_size(image_size)
    if per_class is not None:
        check_per_class(per_class)  # before a download, not after
    dataset = _load(name, seed, validation_fraction, data_dir, image_size, progress)
    return dataset if per_class is None else per_class_slice(dataset, per_class, seed)


def _load(name: str, seed: int, validation_fraction: float, data_dir: str | Path | None,
          image_size: int | None, progress: Progress | None) -> Dataset:
    if name.startswith(FOLDER_PREFIX):
        return load_folder(name[len(FOLDER_PREFIX):], image_size=image_size, seed=seed,
                           validation_fraction=validation_fraction, progress=progress)
    entry = DATASETS.get(name)
    if entry is None:
        raise DatasetError(Message("unknown dataset {name!r} (known: {names}, or {prefix}PATH "
                                   "for a folder of your own images)", name=name,
                                   names=", ".join(DATASETS), prefix=FOLDER_PREFIX))
    dataset = entry.load(seed=seed, validation_fraction=validation_fraction,
                         data_dir=Path(data_dir).expanduser() if data_dir else None,
                         progress=progress)
    if image_size is not None and dataset.input_shape[:2] != (image_size, image_size):
        dataset = _resized(dataset, image_size)
    return dataset
