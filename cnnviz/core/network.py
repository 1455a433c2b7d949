"""The network description: an input shape and a list of layers.

``NetworkSpec`` is immutable; the GUI and CLI build a new one for every edit and ask
it ``analyze()`` for shapes, counts and explained problems. Nothing here runs the model.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from cnnviz.core.i18n import Message, message_of, tr
from cnnviz.core.json_text import JsonError, brief, parse_json
from cnnviz.core.layers import (
    Dense,
    Layer,
    LayerFormatError,
    is_frozen,
    layer_from_dict,
    layer_to_dict,
)
from cnnviz.core.shapes import (
    MAX_INT,
    Shape,
    ShapeError,
    fmt_shape,
    layer_macs,
    layer_output_shape,
    layer_param_count,
    layer_trainable_count,
)

SCHEMA_VERSION = 1


class NetworkError(ValueError):
    """An invalid network; ``str()`` lists every problem, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __str__(self) -> str:  # in the language of the moment it is read
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a network. `index` is the layer position or None for the
    network as a whole; warnings do not stop training, errors do. `text` is a Message
    (or text already in words), `message` renders it in the language of the moment."""

    text: str | Message
    index: int | None = None
    name: str = "network"
    severity: str = "error"

    @property
    def message(self) -> str:
        return str(self.text)

    def __str__(self) -> str:
        return tr("{name}: {problem}", name=self.name, problem=self.text)


@dataclass(frozen=True)
class LayerInfo:
    """What analysis knows of one layer; out_shape is None past the first error, and
    `failure` (a Message) says why at the layer that failed (`error` in words)."""

    index: int
    name: str
    layer: Layer
    in_shape: Shape | None
    out_shape: Shape | None
    params: int
    macs: int
    failure: str | Message | None = None

    @property
    def error(self) -> str | None:
        return None if self.failure is None else str(self.failure)


@dataclass(frozen=True)
class Analysis:
    layers: tuple[LayerInfo, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.layers)

    @property
    def trainable_params(self) -> int:
        """The parameters training changes (Keras' "Trainable params")."""
        return sum(layer_trainable_count(info.layer, info.in_shape) for info in self.layers
                   if info.out_shape is not None)

    @property
    def non_trainable_params(self) -> int:
        """Frozen layers' parameters and BatchNorm's moving averages (Keras'
        "Non-trainable params")."""
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(info.macs for info in self.layers)

    @property
    def output_shape(self) -> Shape | None:
        return self.layers[-1].out_shape if self.layers else None


def all_frozen_message() -> Message:
    return Message("every layer is frozen: training would change nothing; make at least one "
                   "layer trainable")


def trainable_flags_only(a: NetworkSpec, b: NetworkSpec) -> bool:
    """Whether `a` and `b` differ in nothing but which layers are frozen: the same
    weights, shapes and history still belong to both."""
    return a.input_shape == b.input_shape and len(a.layers) == len(b.layers) and all(
        replace(x, trainable=True) == replace(y, trainable=True) if type(x) is type(y)
        and hasattr(x, "trainable") else x == y for x, y in zip(a.layers, b.layers,
                                                                 strict=True))


def frozen_layers(spec: NetworkSpec) -> list[bool]:
    """Per layer: whether training leaves its weights as they are."""
    return [is_frozen(layer) for layer in spec.layers]


def layer_names(layers: tuple[Layer, ...] | list[Layer]) -> list[str]:
    """conv1, conv2, maxpool1, ... numbered per kind in order, like Keras' names."""
    seen: Counter[str] = Counter()
    names = []
    for layer in layers:
        seen[layer.short] += 1
        names.append(f"{layer.short}{seen[layer.short]}")
    return names


@dataclass(frozen=True)
class NetworkSpec:
    """input_shape (H, W, C) and the layers applied to it in order."""

    input_shape: Shape
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))

    @property
    def names(self) -> list[str]:
        return layer_names(self.layers)

    def analyze(self, num_classes: int | None = None) -> Analysis:
        """Shapes, counts and every problem; never raises for a bad network."""
        problems: list[Problem] = []
        infos: list[LayerInfo] = []
        shape: Shape | None = self.input_shape
        if len(self.input_shape) != 3 or any(
            not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= MAX_INT
            for d in self.input_shape
        ):
            problems.append(Problem(Message("input shape must be (H, W, C) of positive whole "
                                            "numbers up to {most:,}, got {shape}",
                                            most=MAX_INT, shape=brief(self.input_shape))))
            shape = None
        for i, (name, layer) in enumerate(zip(self.names, self.layers, strict=True)):
            if shape is None:
                infos.append(LayerInfo(i, name, layer, None, None, 0, 0))
                continue
            try:
                out = layer_output_shape(layer, shape)
            except ShapeError as exc:
                why = message_of(exc) or str(exc)
                problems.append(Problem(why, i, name))
                infos.append(LayerInfo(i, name, layer, shape, None, 0, 0, why))
                shape = None
                continue
            infos.append(LayerInfo(i, name, layer, shape, out, layer_param_count(layer, shape),
                                   layer_macs(layer, shape, out)))
            shape = out
        problems += self._head_problems(infos, shape, num_classes)
        analysis = Analysis(tuple(infos), tuple(problems))
        if analysis.ok and analysis.total_params and not analysis.trainable_params:
            return Analysis(analysis.layers, (*problems, Problem(all_frozen_message(),
                                                                 severity="warning")))
        return analysis

    def _head_problems(self, infos: list[LayerInfo], shape: Shape | None,
                       num_classes: int | None) -> list[Problem]:
        if not self.layers:
            return [Problem(Message("the network has no layers; it needs at least a Dense "
                                    "output layer"))]
        if shape is None:
            return []
        last = infos[-1]
        if len(shape) != 1:
            return [Problem(Message("the network ends in {shape}, not a vector of class "
                                    "scores; end with Flatten (or GlobalAvgPool) and Dense",
                                    shape=fmt_shape(shape)), last.index, last.name)]
        problems = []
        if num_classes is not None and shape[0] != num_classes:
            problems.append(Problem(Message("the output has {values} values but the data has "
                                            "{classes} classes; set units to {classes}",
                                            values=shape[0], classes=num_classes),
                                    last.index, last.name))
        if isinstance(last.layer, Dense) and last.layer.activation != "none":
            problems.append(Problem(Message("the output layer applies {activation}, but the "
                                            "loss expects raw scores (logits); use activation "
                                            "none", activation=last.layer.activation),
                                    last.index, last.name, "warning"))
        return problems

    def check(self, num_classes: int | None = None) -> Analysis:
        """analyze(), raising NetworkError if there is any error."""
        analysis = self.analyze(num_classes)
        if not analysis.ok:
            raise NetworkError(analysis.errors)
        return analysis

    def adapted(self, input_shape: Shape, num_classes: int) -> NetworkSpec:
        """This network for other data: new input shape, last Dense resized to the classes."""
        layers = list(self.layers)
        for i in range(len(layers) - 1, -1, -1):
            if isinstance(layers[i], Dense):
                layers[i] = replace(layers[i], units=num_classes)
                break
        return NetworkSpec(tuple(input_shape), tuple(layers))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "input_shape": list(self.input_shape),
            "layers": [layer_to_dict(layer) for layer in self.layers],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> NetworkSpec:
        if not isinstance(data, dict):
            raise LayerFormatError(Message("a network must be a JSON object"))
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise LayerFormatError(Message("unsupported network schema_version {version} (this "
                                           "cnnviz reads {known})", version=repr(version),
                                           known=SCHEMA_VERSION))
        shape = data.get("input_shape")
        if not isinstance(shape, list) or len(shape) != 3:
            raise LayerFormatError(Message("input_shape must be a list [H, W, C]"))
        layers = data.get("layers")
        if not isinstance(layers, list):
            raise LayerFormatError(Message("layers must be a list"))
        return cls(tuple(shape), tuple(layer_from_dict(d) for d in layers))

    @classmethod
    def from_json(cls, text: str | bytes) -> NetworkSpec:
        try:
            data = parse_json(text)
        except JsonError as exc:
            raise LayerFormatError(message_of(exc) or str(exc)) from None
        return cls.from_dict(data)
