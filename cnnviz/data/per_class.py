"""A few images per class: a seeded, stratified slice of a dataset's training split.

What fine-tuning is for (a new task with little data) and how overfitting is shown (a
big network, a few hundred images) both start from such a slice. Only the training
split shrinks: validation and test stay whole, so a run on a slice is measured on the
same images as a run on all of it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cnnviz.core import runs
from cnnviz.core.i18n import tr
from cnnviz.data.dataset import Dataset, DatasetError

# Mixed into the run's seed, so the slice does not repeat the validation split's draws.
SLICE_SALT = 104_729


def check_per_class(value: object) -> int:
    """`value` if it is a whole number of images per class, else DatasetError."""
    try:
        if value is None:
            raise runs.RunError(tr("images per class must be a whole number, got none"))
        return runs.check_per_class(value)  # type: ignore[return-value]
    except runs.RunError as exc:
        raise DatasetError(str(exc)) from None


def slice_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices (sorted) of up to `per_class` examples of each label, drawn at random with
    `seed`: the same labels, number and seed always give the same slice, and a larger
    number keeps the smaller one's examples (each class's draw is one permutation)."""
    rng = np.random.default_rng([seed, SLICE_SALT])
    chosen = [rng.permutation(np.flatnonzero(labels == label))[:per_class]
              for label in np.unique(labels)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def per_class_slice(dataset: Dataset, per_class: int, seed: int) -> Dataset:
    """`dataset` with `per_class` training images of each class (all of a class that has
    fewer, said in its notes); validation and test untouched."""
    check_per_class(per_class)
    keep = slice_indices(dataset.y_train, per_class, seed)
    counts = np.bincount(dataset.y_train, minlength=dataset.num_classes)
    from cnnviz.data.class_names import shown_class_name  # it reads the registry's names

    short = [shown_class_name(dataset.class_names[c]) for c in range(dataset.num_classes)
             if counts[c] < per_class]
    notes = dataset.notes
    if short:
        notes += (tr("{name}: fewer than {n} training images in class(es) {classes}; all "
                     "of theirs are used", name=dataset.name, n=per_class,
                     classes=", ".join(short)),)
    return replace(dataset, x_train=dataset.x_train[keep], y_train=dataset.y_train[keep],
                   notes=notes, description=tr("{description} ({n} training images per "
                                               "class)", description=dataset.description,
                                               n=per_class))
