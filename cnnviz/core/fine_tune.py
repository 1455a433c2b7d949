"""Fine-tuning: a trained network's weights, reused on new data.

The plan says what changes: the network takes the new data's images; when the classes
differ, the last Dense layer (the head) is replaced by a new one for the new classes,
initialised fresh; the first layers with weights stay frozen (by default all but the
head), so only the rest train. Everything is checked before anything changes: a trained
layer that does not fit the new images, or freezing every layer, is one clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cnnviz.core.i18n import Message
from cnnviz.core.layers import Dense, is_frozen
from cnnviz.core.network import NetworkSpec
from cnnviz.core.shapes import Shape, fmt_shape, layer_param_shapes

Weights = list[dict[str, np.ndarray]]
# Base layers that are trained again start from good weights: large steps would undo
# them. Keras' fine-tuning guide lowers the rate about tenfold.
BASE_RATE_FACTOR = 0.1


class FineTuneError(ValueError):
    """A fine-tuning that cannot be done, and why (one line)."""


class InputMismatch(FineTuneError):
    """The trained layers do not fit the new data's images."""


@dataclass(frozen=True)
class FineTunePlan:
    """The network for the new data (its first `frozen` weighted layers marked frozen,
    every other one trainable), the weights it starts from (the head's fresh when
    `new_head`), the head's name, and the layers with weights, in order, by name."""

    spec: NetworkSpec
    weights: Weights
    new_head: bool
    frozen: int
    head: str
    weighted: tuple[str, ...]

    @property
    def frozen_names(self) -> tuple[str, ...]:
        return self.weighted[:self.frozen]

    @property
    def trains_base(self) -> bool:
        """Whether some trained layer besides the head trains again."""
        return self.frozen < len(self.weighted) - 1


def needs_new_head(trained: tuple[str, ...] | None, new: tuple[str, ...]) -> bool:
    """Whether the new data's classes are others than those the network was trained on:
    as many, but named otherwise (when the trained ones are known). A different number
    of classes always needs a new head (plan_fine_tune sees to that)."""
    return bool(trained) and tuple(trained) != tuple(new)


def weighted_layers(spec: NetworkSpec) -> list[int]:
    """Indices of the layers that own weights (those freezing applies to)."""
    return [info.index for info in spec.analyze().layers
            if info.in_shape is not None and layer_param_shapes(info.layer, info.in_shape)]


def head_index(spec: NetworkSpec) -> int:
    """The last Dense layer: the one that scores the classes."""
    for i in range(len(spec.layers) - 1, -1, -1):
        if isinstance(spec.layers[i], Dense):
            return i
    raise FineTuneError(Message("the network has no Dense layer to score the new classes"))


def plan_fine_tune(spec: NetworkSpec, weights: Weights, input_shape: Shape, num_classes: int,
                   *, new_head: bool = False, frozen: int | None = None,
                   seed: int = 0) -> FineTunePlan:
    """How `spec`, trained to `weights`, fine-tunes on data of `input_shape` images and
    `num_classes` classes. The head is new if `new_head` or its units are not the
    classes; `frozen` counts the weighted layers from the input that stay frozen (None:
    all before the head). FineTuneError if a trained layer does not fit the new images
    or nothing would be left to train."""
    head = head_index(spec)
    new_head = new_head or spec.layers[head].units != num_classes  # type: ignore[union-attr]
    target = NetworkSpec(tuple(input_shape), spec.layers)
    if new_head:
        target = target.adapted(input_shape, num_classes)
    analysis = target.analyze(num_classes)
    if not analysis.ok:
        raise InputMismatch(Message("the trained network does not take {shape} images: {problem}",
                                    shape=fmt_shape(input_shape), problem=analysis.errors[0]))
    kept = _fitted_weights(spec, weights, target, head if new_head else None)
    if new_head:
        info = analysis.layers[head]
        kept[head] = fresh_dense(info.in_shape[-1], num_classes, seed)  # type: ignore[index]
    weighted = weighted_layers(target)
    names = target.names
    count = weighted.index(head) if frozen is None else frozen
    if not 0 <= count < len(weighted):
        raise FineTuneError(Message("freezing {count} of the {total} layers with weights leaves "
                                    "nothing to train: keep at least the last one ({head}) "
                                    "trainable", count=count, total=len(weighted),
                                    head=names[weighted[-1]]))
    layers = list(target.layers)
    for position, index in enumerate(weighted):
        layers[index] = replace(layers[index], trainable=position >= count)
    return FineTunePlan(NetworkSpec(target.input_shape, tuple(layers)), kept, new_head, count,
                        names[head], tuple(names[i] for i in weighted))


def _fitted_weights(spec: NetworkSpec, weights: Weights, target: NetworkSpec,
                    skip: int | None) -> Weights:
    """The trained weights, checked layer by layer against what `target` needs (all but
    the layer at `skip`, which is replaced)."""
    trained_input = fmt_shape(spec.input_shape)
    for info, trained in zip(target.analyze().layers, weights, strict=True):
        if info.index == skip:
            continue
        for key, needed in layer_param_shapes(info.layer, info.in_shape).items():
            have = trained.get(key)
            if have is None or tuple(have.shape) != tuple(needed):
                raise InputMismatch(Message(
                         "{layer} was trained on {trained} images and its {key} has shape {have}; "
                         "on {new} images it needs {needed}. Pick data of {trained} images, or "
                         "resize the new images to that size", layer=info.name,
                         trained=trained_input, key=key,
                         have=Message("none") if have is None else fmt_shape(have.shape),
                         new=fmt_shape(target.input_shape), needed=fmt_shape(needed)))
    return [dict(layer) for layer in weights]


def fresh_dense(inputs: int, units: int, seed: int) -> dict[str, np.ndarray]:
    """A Dense layer's weights as a new one starts: Glorot-uniform kernel
    U(-l, l), l = sqrt(6 / (inputs + units)) (Keras' default), zero bias."""
    limit = np.sqrt(6.0 / (inputs + units))
    rng = np.random.default_rng([seed, inputs, units])
    return {"kernel": rng.uniform(-limit, limit, (inputs, units)).astype(np.float32),
            "bias": np.zeros(units, np.float32)}


def all_trainable(spec: NetworkSpec) -> NetworkSpec:
    """`spec` with no layer frozen: fresh weights have nothing worth keeping as they are
    (a run started afresh from a fine-tuned run's settings is trained from scratch)."""
    return NetworkSpec(spec.input_shape, tuple(
        replace(layer, trainable=True) if is_frozen(layer) else layer for layer in spec.layers))


def suggested_learning_rate(rate: float, plan: FineTunePlan) -> float:
    """The rate to fine-tune with: `rate` when only the new layers train, a tenth of it
    when trained base layers train again."""
    return rate * BASE_RATE_FACTOR if plan.trains_base else rate
