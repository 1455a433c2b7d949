"""One-click examples: a few training runs in a row, kept and shown side by side.

Each example is data: its runs, in order, each with its network, data and settings (or
the earlier run of the example it fine-tunes), and which runs the comparison shows.
They work offline, on the built-in data: `fine-tuning` pre-trains on shapes and fine-
tunes on ten outlines per class next to the same network trained from scratch on the
same images with the same seed; `overfitting` trains a large network on 300 shapes,
then turns on one cure after another (dropout, augmentation, weight decay, early
stopping), each a new run. The window plays them (cnnviz.qt.examples).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnviz.core.i18n import Message
from cnnviz.core.layers import Dense, Dropout, Flatten, Layer
from cnnviz.core.presets import get_preset


@dataclass(frozen=True)
class ExampleRun:
    """One run: `name` (a Message, in the learner's language when it is shown), the
    layers (sized to the data's classes when it starts) or, with `fine_tune`, the
    index of the example's run whose weights it fine-tunes (all but the head frozen),
    the data, and the settings (TrainConfig fields) that differ from the defaults."""

    name: Message
    dataset: str
    layers: tuple[Layer, ...] = ()
    fine_tune: int | None = None
    per_class: int | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    key: str
    title: Message
    description: Message
    runs: tuple[ExampleRun, ...]
    shown: tuple[int, ...]  # the runs compared at the end, the reference first


TINY = get_preset("tiny").spec.layers
# Outlines, ten of each: few enough that training from scratch struggles. Both runs on
# them train alike (rate, batch, epochs, seed): only the starting weights differ.
_SLICE = {"learning_rate": 1e-2, "batch_size": 16, "epochs": 30, "seed": 0}
# A network far too big for 300 images, trained long enough for its validation loss to
# turn up again.
BIG = get_preset("overfit").spec.layers
_OVERFIT = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 40, "seed": 0}
_AUGMENT = {**_OVERFIT, "augment": ("flip", "shift", "rotate")}  # a flipped square is one
_DECAY = {**_AUGMENT, "weight_decay": 1e-2}
_DROPOUT = (Flatten(), Dense(512), Dropout(0.5), Dense(512), Dropout(0.5), Dense(5, "none"))

EXAMPLES: dict[str, Example] = {e.key: e for e in (
    Example(
        "fine-tuning", Message("Fine-tuning: shapes, then 10 outlines per class"),
        Message("Pre-trains the tiny network on shapes, fine-tunes it on ten outlines of "
                "each class (its layers but the head frozen), and trains the same network "
                "from scratch on the same outlines with the same seed: the runs compared."),
        (ExampleRun(Message("pre-trained on shapes"), "shapes", TINY,
                    config={"learning_rate": 3e-3, "epochs": 6, "seed": 0}),
         ExampleRun(Message("fine-tuned, 10 outlines per class"), "outlines", fine_tune=0,
                    per_class=10, config=_SLICE),
         ExampleRun(Message("from scratch, 10 outlines per class"), "outlines", TINY,
                    per_class=10, config=_SLICE)),
        shown=(2, 1)),
    Example(
        "overfitting", Message("Overfitting and its cures"),
        Message("A large fully connected network learns 60 shapes per class by heart; then "
                "dropout, data augmentation, weight decay and early stopping, each turned on "
                "in a new run on top of the last: the runs compared."),
        (ExampleRun(Message("overfits: no cure"), "shapes", BIG, per_class=60,
                    config=_OVERFIT),
         ExampleRun(Message("+ dropout"), "shapes", _DROPOUT, per_class=60, config=_OVERFIT),
         ExampleRun(Message("+ augmentation"), "shapes", _DROPOUT, per_class=60,
                    config=_AUGMENT),
         ExampleRun(Message("+ weight decay"), "shapes", _DROPOUT, per_class=60,
                    config=_DECAY),
         ExampleRun(Message("+ early stopping"), "shapes", _DROPOUT, per_class=60,
                    config={**_DECAY, "early_stopping": True, "patience": 5})),
        shown=(0, 1, 2, 3, 4)),
)}
