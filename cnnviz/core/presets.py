"""Named reference networks a learner can start from."""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.core.i18n import Message, tr
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPool2D
from cnnviz.core.network import NetworkSpec


@dataclass(frozen=True)
class Preset:
    """A network and the training settings that suit it on its usual data. The name is
    an identifier (typed on the command line), never translated; `about` is a Message,
    `description` it in the language of the moment."""

    name: str
    about: Message
    spec: NetworkSpec
    learning_rate: float = 1e-3
    epochs: int = 5

    @property
    def description(self) -> str:
        return str(self.about)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "tiny",
            Message("Two small conv blocks: the quick default for the built-in shapes "
                    "dataset."),
            NetworkSpec((28, 28, 1), (
                Conv2D(16, 3), MaxPool2D(2), Conv2D(32, 3), MaxPool2D(2),
                Flatten(), Dense(64), Dense(5, "none"),
            )),
            learning_rate=3e-3, epochs=6,
        ),
        Preset(
            "keras-cifar10",
            Message("The Keras/TensorFlow CIFAR-10 tutorial CNN: 122,570 parameters."),
            NetworkSpec((32, 32, 3), (
                Conv2D(32, 3), MaxPool2D(2), Conv2D(64, 3), MaxPool2D(2), Conv2D(64, 3),
                Flatten(), Dense(64), Dense(10, "none"),
            )),
            epochs=10,
        ),
        Preset(
            "lenet5",
            Message("LeNet-5 (LeCun et al. 1998) in its modern form: ReLU and max pooling in "
                    "place of tanh and average pooling, which trains several times faster."),
            NetworkSpec((28, 28, 1), (
                Conv2D(6, 5, padding="same"), MaxPool2D(2), Conv2D(16, 5), MaxPool2D(2),
                Flatten(), Dense(120), Dense(84), Dense(10, "none"),
            )),
            learning_rate=3e-3, epochs=5,
        ),
        Preset(
            "tinyvgg",
            Message("The TinyVGG network of CNN Explainer: two blocks of two 3x3 convs and a "
                    "max pool."),
            NetworkSpec((64, 64, 3), (
                Conv2D(10, 3), Conv2D(10, 3), MaxPool2D(2),
                Conv2D(10, 3), Conv2D(10, 3), MaxPool2D(2),
                Flatten(), Dense(10, "none"),
            )),
        ),
        Preset(
            "overfit",
            Message("Far too big for a few hundred images (about 670,000 parameters, no "
                    "cure): train it on 60 shapes per class and watch the validation loss "
                    "turn up again."),
            NetworkSpec((28, 28, 1), (Flatten(), Dense(512), Dense(512), Dense(10, "none"))),
            learning_rate=1e-3, epochs=40,
        ),
        Preset(
            "worked-example",
            Message("The textbook's worked case to step through: 32x32 -> Conv 3x3 (valid) "
                    "-> 30x30 -> MaxPool 2 -> 15x15 -> Flatten -> Dense 10. Train it on "
                    "digits-32."),
            NetworkSpec((32, 32, 1), (
                Conv2D(4, 3), MaxPool2D(2), Flatten(), Dense(10, "none"),
            )),
            learning_rate=3e-3, epochs=8,
        ),
    )
}

DEFAULT_PRESET = "tiny"


class UnknownPresetError(KeyError):
    def __str__(self) -> str:
        return tr("unknown preset {name} (known: {known})", name=repr(self.args[0]),
                  known=", ".join(PRESETS))


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(name) from None


def published_classes(preset: Preset) -> int:
    """The classes of the data the preset was made for: its last Dense layer's units."""
    return next(layer.units for layer in reversed(preset.spec.layers)
                if isinstance(layer, Dense))


def adapted_from(spec: NetworkSpec, num_classes: int | None) -> Preset | None:
    """The preset that `spec` is, adapted to other data (another input shape or other
    classes), or None if it is none, or one as published."""
    for preset in PRESETS.values():
        published = (preset.spec.input_shape, published_classes(preset))
        if (published != (spec.input_shape, num_classes)
                and preset.spec.adapted(spec.input_shape, num_classes or published[1]) == spec):
            return preset
    return None
