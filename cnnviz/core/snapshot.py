"""Immutable training snapshots: what the trainer hands to views (numpy only).

A snapshot may carry `views`: what the live views show (the probe image's activations,
the filters, predictions, the confusion matrix, weight statistics, the replay), already
scaled and tiled to uint8 mosaics by the engine, so a view only has to display them.
Arrays in a snapshot are never written to after it is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnviz.core.mosaic import Mosaic
from cnnviz.core.replay import Replay

# The trainer's states, in the order a run normally passes through them.
COMPILING, RUNNING, PAUSED, FINISHED, STOPPED = (
    "compiling", "running", "paused", "finished", "stopped")


@dataclass(frozen=True)
class Snapshot:
    """The trainer's state after some step.

    ``step_losses``/``step_accuracies`` hold every training step finished since the
    previous snapshot (snapshots are throttled, curves must not lose points), starting
    at global step ``step - len(step_losses) + 1``. ``val_*`` are set on the snapshot
    that ends an epoch (``epoch_done``).
    """

    state: str
    step: int
    epoch: int
    epochs: int
    steps_per_epoch: int
    learning_rate: float
    elapsed: float
    images_per_second: float = 0.0
    step_losses: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    step_accuracies: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    epoch_done: bool = False
    val_loss: float | None = None
    val_accuracy: float | None = None
    views: Views | None = None
    # the part of the loss L2 weight decay adds, weight_decay / 2 * sum(kernel^2), when
    # the optimizer takes it as L2 (SGD); the step losses are the data's loss alone
    weight_decay_loss: float | None = None

    @property
    def loss(self) -> float | None:
        return float(self.step_losses[-1]) if len(self.step_losses) else None

    @property
    def accuracy(self) -> float | None:
        return float(self.step_accuracies[-1]) if len(self.step_accuracies) else None

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def progress(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.step == 0 or self.elapsed <= 0:
            return None
        return self.elapsed / self.step * (self.total_steps - self.step)


@dataclass(frozen=True, eq=False)
class ProbeImage:
    """The image the views send through the network: one of the dataset's, or a drawing.
    `image` is (H, W, C) in the dataset's dtype; `label` is None when unknown."""

    image: np.ndarray
    label: int | None = None
    caption: str = ""


@dataclass(frozen=True, eq=False)
class LayerMaps:
    """One layer's output for the probe image. `values` is (H, W, C) for conv and pool
    layers, (D,) for the others. `shared` scales all channels on the layer's [lo, hi];
    `per_channel` each channel on its own [channel_lo, channel_hi] (see core.mosaic for
    the formula). A vector has no channels to scale apart: both mosaics are the same."""

    name: str
    values: np.ndarray
    shared: Mosaic
    per_channel: Mosaic
    lo: float
    hi: float
    channel_lo: np.ndarray  # (C,)
    channel_hi: np.ndarray  # (C,)

    @property
    def spatial(self) -> bool:
        return self.values.ndim == 3


@dataclass(frozen=True, eq=False)
class ProbeResult:
    """What the network makes of the probe: class probabilities and every layer's output."""

    input: ProbeImage
    picture: Mosaic  # the input image as the views show it (one tile)
    probabilities: np.ndarray  # (classes,), softmax of the logits
    layers: tuple[LayerMaps, ...]
    weights: tuple[dict[str, np.ndarray], ...] | None = None  # the weights that computed it


@dataclass(frozen=True, eq=False)
class LayerFilters:
    """A conv layer's kernels (K, K, C, F) and, when known, the gradient of the loss with
    respect to them. Each mosaic is scaled on its own symmetric range [-m, m]."""

    name: str
    kernel: np.ndarray
    weights: Mosaic
    weight_range: float
    rgb: bool  # one colour tile per filter (the first layer of an RGB input)
    gradient: np.ndarray | None = None
    gradients: Mosaic | None = None
    gradient_range: float = 0.0
    frozen: bool = False  # training leaves it as it is: its gradient shows as zero


@dataclass(frozen=True, eq=False)
class Histogram:
    counts: np.ndarray  # (bins,)
    edges: np.ndarray  # (bins + 1,)


@dataclass(frozen=True, eq=False)
class LayerStats:
    """Size and spread of one weighted layer: L2 norms of its kernel (BatchNorm: gamma)
    and of the loss gradient, and histograms of weights, gradients and its output for
    the probe."""

    name: str
    weight_norm: float
    weights: Histogram
    activations: Histogram
    gradient_norm: float | None = None
    gradients: Histogram | None = None
    # a BatchNorm's other arrays by name (beta, moving_mean, moving_variance); its
    # `weights` are its scale gamma
    state: tuple[tuple[str, Histogram], ...] = ()
    frozen: bool = False


@dataclass(frozen=True, eq=False)
class PredictionGrid:
    """A fixed set of test images with the network's current verdict on each."""

    images: Mosaic  # thumbnails, one tile per image
    indices: np.ndarray  # (G,) positions in the test split
    true: np.ndarray  # (G,)
    predicted: np.ndarray  # (G,)
    confidence: np.ndarray  # (G,) probability of the predicted class


@dataclass(frozen=True, eq=False)
class Confusion:
    """Validation-set predictions: counts[t, p] images of class t predicted as p;
    `picture` shows each row's fraction (how a class's images were spread) as uint8."""

    true: np.ndarray  # (N,)
    predicted: np.ndarray  # (N,)
    counts: np.ndarray  # (classes, classes)
    picture: np.ndarray  # (classes, classes) uint8
    images: np.ndarray  # (N, H, W, C) the validation images
    epoch: int | None = None  # the epoch it ends, None if not computed during training

    def members(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the validation images in cell (true, predicted)."""
        return np.flatnonzero((self.true == true) & (self.predicted == predicted))

    @property
    def accuracy(self) -> float:
        total = self.counts.sum()
        return float(np.trace(self.counts) / total) if total else float("nan")


@dataclass(frozen=True, eq=False)
class Views:
    """What the live views show after `step`. Parts that are computed less often than
    the probe (grid, stats, confusion) are None when unchanged since the last Views."""

    step: int
    class_names: tuple[str, ...]
    probe: ProbeResult
    filters: tuple[LayerFilters, ...]
    stats: tuple[LayerStats, ...] | None = None
    grid: PredictionGrid | None = None
    confusion: Confusion | None = None
    replay: Replay | None = None
