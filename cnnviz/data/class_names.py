"""Class names as a learner reads them: a built-in dataset's in the interface's language.

A dataset's class names are identifiers. Files, `--json` output, exports and saved
projects keep them in English, so that a project made in Chinese opens identically in
English; only where a name is shown does it become the reader's word (正方形 for
"square"), through `shown_class_name`. The built-in datasets' names are marked for
translation where they are defined (data.shapes, data.standard).

Any other name shows as it is: a folder dataset's folder names, or the names an imported
model carries, are the user's own, even when one happens to be a word the interface
translates elsewhere ("right", "input"). Only a name that is also a built-in dataset's
class is shown in the reader's language (a folder named "cat" reads 猫, as CIFAR-10's does).
"""

from __future__ import annotations

from collections.abc import Iterable

from cnnviz.core.i18n import translate
from cnnviz.data.registry import DATASETS

BUILT_IN = frozenset(name for entry in DATASETS.values() for name in entry.info.class_names)


def shown_class_name(name: str) -> str:
    """Class `name` as the interface shows it now."""
    return translate(name) if name in BUILT_IN else name


def shown_class_names(names: Iterable[str]) -> tuple[str, ...]:
    """`names`, in order, as the interface shows them now."""
    return tuple(shown_class_name(name) for name in names)
