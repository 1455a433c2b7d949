"""Every dataset cnnviz knows by name, and one way to load any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cnnviz.data.dataset import Dataset, DatasetError
from cnnviz.data.shapes import CLASS_NAMES as SHAPES_CLASSES
from cnnviz.data.shapes import load_shapes

# progress(done_bytes, total_bytes_or_None, message) while a download runs
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    input_shape: tuple[int, int, int]
    num_classes: int
    size: int  # images in all splits together
    builtin: bool  # needs no download

    def cached(self, data_dir: Path | None = None) -> bool:
        return self.builtin


@dataclass(frozen=True)
class DatasetEntry:
    info: DatasetInfo
    # load(seed=, validation_fraction=, data_dir=, image_size=, progress=)
    load: Callable[..., Dataset]


def _load_shapes(seed: int, validation_fraction: float, **_: object) -> Dataset:
    return load_shapes(seed, validation_fraction)


DATASETS: dict[str, DatasetEntry] = {
    "shapes": DatasetEntry(
        DatasetInfo("shapes", "Generated circles, squares, triangles, crosses and lines",
                    (28, 28, 1), len(SHAPES_CLASSES), 6000, True),
        _load_shapes,
    ),
}

DEFAULT_DATASET = "shapes"


def list_datasets() -> list[DatasetInfo]:
    return [entry.info for entry in DATASETS.values()]


def load_dataset(name: str, *, seed: int = 0, validation_fraction: float = 0.1,
                 data_dir: str | Path | None = None, image_size: int | None = None,
                 progress: Progress | None = None) -> Dataset:
    entry = DATASETS.get(name)
    if entry is None:
        raise DatasetError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    return entry.load(seed=seed, validation_fraction=validation_fraction,
                      data_dir=Path(data_dir).expanduser() if data_dir else None,
                      image_size=image_size, progress=progress)
