"""Which dataset an imported network opens with: the one its export names, else one
whose images and classes fit it, preferring data that needs no download. The caller
passes the datasets it knows (the registry's), so io stays independent of data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from cnnviz.io.imports.result import Imported


class DatasetLike(Protocol):
    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    builtin: bool

    def cached(self) -> bool: ...


def pick_dataset(imported: Imported, datasets: Iterable[DatasetLike]) -> str | None:
    """A dataset name for the imported network, or None if none fits."""
    analysis = imported.spec.analyze()
    classes = analysis.output_shape[0] if analysis.output_shape else None
    fitting = [d for d in datasets if tuple(d.input_shape) == tuple(imported.spec.input_shape)
               and d.num_classes == classes]
    if imported.dataset and (imported.dataset.startswith("folder:") or any(
            d.name == imported.dataset for d in fitting)):
        return imported.dataset
    fitting.sort(key=lambda d: (not d.builtin, not d.cached()))
    return fitting[0].name if fitting else None
