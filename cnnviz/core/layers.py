"""Layer specifications: small frozen dataclasses that describe, never compute.

Shapes follow Keras' channels-last convention: an image tensor is (H, W, C) per
example, a batch is (N, H, W, C). Every layer knows how to explain its own output
shape (see ``core.shapes``) and how many parameters and multiply-accumulates it costs.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar, Literal

from cnnviz.core.i18n import Message
from cnnviz.core.json_text import brief, listed

ACTIVATIONS = ("relu", "sigmoid", "tanh", "none")
PADDINGS = ("valid", "same")

Activation = Literal["relu", "sigmoid", "tanh", "none"]
Padding = Literal["valid", "same"]


@dataclass(frozen=True)
class Conv2D:
    """2-D convolution (cross-correlation, as every framework computes it).

    in (H, W, C) -> out (H', W', filters), where for 'valid' padding
    H' = floor((H - K) / S) + 1 and for 'same' padding H' = ceil(H / S).
    Kernel (K, K, C, filters), bias (filters,).
    """

    filters: int
    kernel_size: int = 3
    stride: int = 1
    padding: Padding = "valid"
    activation: Activation = "relu"
    trainable: bool = True

    kind: ClassVar[str] = "conv2d"
    short: ClassVar[str] = "conv"


@dataclass(frozen=True)
class MaxPool2D:
    """Max pooling over pool_size x pool_size windows. in (H, W, C) -> out (H', W', C),
    H' = floor((H - P) / S) + 1; stride defaults to the pool size (no overlap)."""

    pool_size: int = 2
    stride: int | None = None

    kind: ClassVar[str] = "maxpool2d"
    short: ClassVar[str] = "maxpool"


@dataclass(frozen=True)
class AvgPool2D:
    """Average pooling; shapes as MaxPool2D."""

    pool_size: int = 2
    stride: int | None = None

    kind: ClassVar[str] = "avgpool2d"
    short: ClassVar[str] = "avgpool"


@dataclass(frozen=True)
class Flatten:
    """in (H, W, C) -> out (H * W * C,), row-major like Keras and numpy."""

    kind: ClassVar[str] = "flatten"
    short: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class GlobalAvgPool:
    """Mean over the spatial axes: in (H, W, C) -> out (C,)."""

    kind: ClassVar[str] = "globalavgpool"
    short: ClassVar[str] = "gap"


@dataclass(frozen=True)
class Dense:
    """Fully connected layer: in (D,) -> out (units,). Kernel (D, units), bias (units,)."""

    units: int
    activation: Activation = "relu"
    trainable: bool = True

    kind: ClassVar[str] = "dense"
    short: ClassVar[str] = "dense"


@dataclass(frozen=True)
class Dropout:
    """Zeroes a fraction `rate` of its inputs while training (scaled by 1 / (1 - rate)),
    the identity at evaluation. Shape unchanged."""

    rate: float = 0.5

    kind: ClassVar[str] = "dropout"
    short: ClassVar[str] = "dropout"


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalization of each channel (the last axis): in (H, W, C) or (D,) -> out
    of the same shape, out = (x - mean) / sqrt(var + epsilon) * gamma + beta.

    While training, mean and var are the batch's own (over the batch and the positions)
    and the running averages follow them: moving = momentum * moving + (1 - momentum) *
    batch. At evaluation, and while the layer is frozen, the running averages are used.
    gamma, beta, moving_mean, moving_variance (C,) each; gamma and beta are trained.
    """

    momentum: float = 0.99
    epsilon: float = 1e-3
    activation: Activation = "none"
    trainable: bool = True

    kind: ClassVar[str] = "batchnorm"
    short: ClassVar[str] = "bn"


Layer = Conv2D | MaxPool2D | AvgPool2D | Flatten | GlobalAvgPool | Dense | Dropout | BatchNorm
LAYER_TYPES: dict[str, type] = {
    t.kind: t for t in (Conv2D, MaxPool2D, AvgPool2D, Flatten, GlobalAvgPool, Dense, Dropout,
                        BatchNorm)
}
# The layers that own weights, and so can be frozen (trainable False) or trained.
WEIGHTED = (Conv2D, Dense, BatchNorm)


def is_frozen(layer: Layer) -> bool:
    """A layer whose weights training leaves as they are."""
    return not getattr(layer, "trainable", True)


def pool_stride(layer: MaxPool2D | AvgPool2D) -> int:
    return layer.pool_size if layer.stride is None else layer.stride


def layer_to_dict(layer: Layer) -> dict[str, Any]:
    """The layer as JSON takes it; `trainable` only when False, so that a network
    without frozen layers is written as it always was."""
    data = {"type": layer.kind, **asdict(layer)}
    if data.get("trainable") is True:
        del data["trainable"]
    return data


class LayerFormatError(ValueError):
    """A layer description (e.g. from a JSON file) that cannot even be read."""


def layer_from_dict(data: dict[str, Any]) -> Layer:
    if not isinstance(data, dict) or "type" not in data:
        raise LayerFormatError(Message("a layer must be an object with a 'type', got {value}",
                                       value=brief(data)))
    kind = data["type"]
    cls = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(LAYER_TYPES)
        raise LayerFormatError(Message("unknown layer type {kind} (known: {known})",
                                       kind=brief(kind), known=known))
    names = {f.name for f in fields(cls)}
    extra = set(data) - names - {"type"}
    if extra:
        raise LayerFormatError(Message("{kind}: unknown field(s) {names}", kind=kind,
                                       names=listed(sorted(map(str, extra)))))
    missing = sorted(f.name for f in fields(cls) if f.name not in data
                     and f.default is MISSING and f.default_factory is MISSING)
    if missing:
        raise LayerFormatError(Message("{kind}: missing field(s) {names}", kind=kind,
                                       names=", ".join(missing)))
    return cls(**{k: v for k, v in data.items() if k != "type"})
