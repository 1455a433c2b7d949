"""One image's (or one batch's) pass through the network, forward and backward, as numpy,
and the arithmetic of any one number in it.

The engine fills an `Inspection` in one call (engine.inspect); everything a learner then
clicks is read from its arrays here and worked out by core.arithmetic, so clicking never
runs the network again. Positions are checked, and a position the network does not have
raises PositionError with what would fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cnnviz.core import arithmetic
from cnnviz.core.i18n import Message
from cnnviz.core.layers import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
)
from cnnviz.core.network import Analysis, NetworkSpec
from cnnviz.core.shapes import fmt_shape, pool_stride

Weights = tuple[dict[str, np.ndarray], ...]


class PositionError(ValueError):
    """A layer, pixel, unit or weight the network does not have."""


@dataclass(frozen=True, eq=False)
class OptimizerState:
    """An optimizer's state for every weight, as numbers: `slots[layer][param]` maps a
    state's name (Adam: m, v; momentum: trace; RMSprop: nu) to an array shaped like the
    weights. `fresh`: newly initialised, because the state training left was not at hand."""

    optimizer: str  # a TrainConfig optimizer name
    learning_rate: float
    settings: dict[str, float]  # fixed settings (Adam's b1, b2, eps; momentum; decay)
    slots: tuple[dict[str, dict[str, np.ndarray]], ...]
    count: int  # steps taken (Adam's t - 1)
    fresh: bool = False

    def for_weight(self, layer: int, param: str, element: tuple[int, ...]) -> dict:
        """The state of one weight, as core.arithmetic.optimizer_update takes it."""
        state = {name: values[element] for name, values in self.slots[layer][param].items()}
        if self.optimizer == "adam":
            state["count"] = self.count
        return state


@dataclass(frozen=True, eq=False)
class Inspection:
    """N images (one, or a batch) through the network with the weights after `step`.

    Per layer: `pre` its output before the activation function (conv and dense; the
    output itself for the others), `post` its output, `grad_pre` and `grad_post` the
    gradients of the loss (the mean over the N images, each against `labels`) with
    respect to them; `param_grads` the gradients of the weights. All (N, ...)."""

    spec: NetworkSpec
    step: int
    params: Weights
    images: np.ndarray  # (N, H, W, C) as the network takes them (scaled to 0..1)
    labels: np.ndarray  # (N,) the classes the loss is taken against
    pre: tuple[np.ndarray, ...]
    post: tuple[np.ndarray, ...]
    grad_pre: tuple[np.ndarray, ...]
    grad_post: tuple[np.ndarray, ...]
    grad_input: np.ndarray  # (N, H, W, C)
    param_grads: Weights
    logits: np.ndarray  # (N, K)
    probabilities: np.ndarray  # (N, K) the engine's softmax
    losses: np.ndarray  # (N,) each image's loss
    optimizer: OptimizerState | None = None

    @cached_property
    def analysis(self) -> Analysis:
        return self.spec.analyze()

    @property
    def names(self) -> list[str]:
        return self.spec.names

    @property
    def loss(self) -> float:
        return float(self.losses.mean())

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise PositionError(Message("there is no layer {name}; the layers are {names}",
                                        name=name, names=", ".join(self.names))) from None

    def layer_input(self, index: int) -> np.ndarray:
        return self.images if index == 0 else self.post[index - 1]

    # -- forward ---------------------------------------------------------------------
    def close_up(self, index: int, position: tuple[int, ...], image: int = 0):
        """The arithmetic of output `position` of layer `index`: (row, col, filter) of a
        conv, (row, col, channel) of a pool, (channel,) of GlobalAvgPool, (n,) of Flatten,
        (unit,) of Dense, (row, col, channel) or (unit,) of BatchNorm. Returns the
        core.arithmetic result (a FlatElement for Flatten, None for Dropout, which passes
        its input unchanged at evaluation)."""
        layer = self.spec.layers[index]
        self.check_output(index, position)
        x = self.layer_input(index)[image]
        p = self.params[index]
        if isinstance(layer, Conv2D):
            row, col, f = position
            return arithmetic.conv_output(x, p["kernel"], p["bias"], row, col, f, layer.stride,
                                          layer.padding, layer.activation)
        if isinstance(layer, MaxPool2D | AvgPool2D):
            row, col, channel = position
            kind = "max" if isinstance(layer, MaxPool2D) else "average"
            return arithmetic.pool_window(x, row, col, channel, layer.pool_size,
                                          pool_stride(layer), kind)
        if isinstance(layer, GlobalAvgPool):
            return arithmetic.global_average(x, position[0])
        if isinstance(layer, Flatten):
            return arithmetic.flat_element(x, position[0])
        if isinstance(layer, Dense):
            return arithmetic.dense_unit(x, p["kernel"], p["bias"], position[0], layer.activation)
        if isinstance(layer, BatchNorm):  # as at evaluation: the moving averages
            c = position[-1]
            return arithmetic.batch_norm_value(
                x[position], p["gamma"][c], p["beta"][c], p["moving_mean"][c],
                p["moving_variance"][c], layer.epsilon, layer.activation)
        return None

    def value(self, index: int, position: tuple[int, ...], image: int = 0) -> float:
        """The engine's own output at `position` of layer `index`."""
        return float(self.post[index][(image, *position)])

    def softmax(self, image: int = 0) -> arithmetic.SoftmaxLoss:
        return arithmetic.softmax_loss(self.logits[image], int(self.labels[image]))

    def logit_gradient(self) -> np.ndarray:
        """dL/dlogits (N, K) of the mean loss, from the probabilities softmax() shows."""
        p = np.stack([self.softmax(n).probabilities for n in range(len(self.labels))])
        return arithmetic.logit_gradient(p, self.labels)

    def check_output(self, index: int, position: tuple[int, ...]) -> None:
        """PositionError unless layer `index` has an output at `position`."""
        name, shape = self.names[index], self.post[index].shape[1:]
        if len(position) != len(shape) or not all(0 <= p < s for p, s in zip(
                position, shape, strict=True)):
            raise PositionError(Message(
                "{position} is not an output of {name}, whose output is {shape} ({axes})",
                position=_fmt(position), name=name, shape=fmt_shape(shape),
                axes=_axes(self.spec.layers[index], shape)))

    # -- backward --------------------------------------------------------------------
    def weight_gradient(self, index: int, param: str, element: tuple[int, ...]
                        ) -> arithmetic.WeightGradient:
        """dL/dw for one weight, as the sum of its terms: `param` "kernel" or "bias",
        `element` its index in that array ((x, y, c, f) or (j, unit); (f,) or (unit,))."""
        layer = self.spec.layers[index]
        self.check_weight(index, param, element)
        x, g = self.layer_input(index), self.grad_pre[index]
        if param == "bias":
            return arithmetic.bias_gradient(g, element[0])
        if isinstance(layer, Conv2D):
            kx, ky, c, f = element
            return arithmetic.conv_weight_gradient(x, g, kx, ky, c, f, layer.kernel_size,
                                                   layer.stride, layer.padding)
        return arithmetic.dense_weight_gradient(x, g, *element)

    def update(self, index: int, param: str, element: tuple[int, ...]
               ) -> arithmetic.OptimizerUpdate | None:
        """The optimizer's update of one weight from its state and this gradient (None
        without an optimizer state)."""
        state = self.optimizer
        if state is None:
            return None
        self.check_weight(index, param, element)
        return arithmetic.optimizer_update(
            state.optimizer, self.params[index][param][element],
            self.weight_gradient(index, param, element).total, state.learning_rate,
            state.for_weight(index, param, element), state.settings)

    def check_weight(self, index: int, param: str, element: tuple[int, ...]) -> None:
        weights = self.params[index]
        if param not in weights:
            raise PositionError(
                Message("{name} has no weights", name=self.names[index]) if not weights
                else Message("{name} has no {param}; it has {params}", name=self.names[index],
                             param=param, params=", ".join(weights)))
        shape = weights[param].shape
        if len(element) != len(shape) or not all(0 <= e < s for e, s in zip(
                element, shape, strict=True)):
            raise PositionError(Message("{element} is not a weight of {name}'s {param}, which "
                                        "is {shape}", element=_fmt(element),
                                        name=self.names[index], param=param,
                                        shape=fmt_shape(shape)))


def _fmt(position: tuple[int, ...]) -> str:
    return ",".join(str(p) for p in position)


def _axes(layer, shape: tuple[int, ...]) -> Message:
    """What each index of an output runs over, e.g. 'rows 0-29, columns 0-29, filters 0-3'."""
    if len(shape) == 3:
        values = dict(r=shape[0] - 1, c=shape[1] - 1, k=shape[2] - 1)
        return (Message("rows 0-{r}, columns 0-{c}, filters 0-{k}", **values)
                if isinstance(layer, Conv2D) else
                Message("rows 0-{r}, columns 0-{c}, channels 0-{k}", **values))
    return Message("units 0-{u}", u=shape[0] - 1)
