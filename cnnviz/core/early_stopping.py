"""Early stopping: end a run once its validation metric stops improving, as Keras'
EarlyStopping callback does.

After each epoch the monitored metric (validation loss, lower is better, or validation
accuracy, higher is better) is compared with the best so far: it improves when it beats
the best by more than `min_delta`. After `patience` epochs in a row without improvement
the run stops, and (with `restore_best`) the weights of the best epoch are put back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnnviz.core.config import TrainConfig
from cnnviz.core.i18n import tr


@dataclass
class Watch:
    """The best value of one metric so far, the epoch (0-based) it came at, and how
    many epochs have passed since without an improvement."""

    monitor: str
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    epochs_seen: int = 0

    def improves(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.monitor == "val_accuracy":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def see(self, value: float | None) -> bool:
        """Note one epoch's value; True if it improved. NaN never improves; None (not
        measured) leaves everything as it was, as in Keras."""
        epoch = self.epochs_seen
        self.epochs_seen += 1
        if value is None:
            return False
        if math.isfinite(value) and self.improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False


@dataclass
class EarlyStopping:
    """Decides, epoch by epoch, whether a run goes on (see the module's doc)."""

    config: TrainConfig

    def __post_init__(self) -> None:
        self.watch = Watch(self.config.monitor, self.config.min_delta)
        self.stopped_epoch: int | None = None

    def end_of_epoch(self, metrics: dict[str, float | None]) -> bool:
        """Note an epoch's metrics; True when the run should stop after it."""
        self.watch.see(metrics.get(self.config.monitor))
        if self.watch.wait >= self.config.patience:
            self.stopped_epoch = self.watch.epochs_seen - 1
            return True
        return False


def replayed(config: TrainConfig, epochs: list[dict[str, float | None]]) -> EarlyStopping:
    """Early stopping as it stands after the recorded `epochs` (a run that continues
    where an earlier one left off)."""
    stopping = EarlyStopping(config)
    for metrics in epochs:
        stopping.watch.see(metrics.get(config.monitor))
    return stopping


def _watched(config: TrainConfig) -> str:
    return tr("validation loss") if config.monitor == "val_loss" else tr("validation accuracy")


def restored_line(config: TrainConfig, best_epoch: int, best: float) -> str:
    """A run that ran its course but ends with its best epoch's weights (1-based)."""
    return tr("restored the weights of epoch {epoch}, the best ({what} {best:.4g})",
              epoch=best_epoch + 1, what=_watched(config), best=best)


def stop_reason(config: TrainConfig, stopped_epoch: int, best_epoch: int | None,
                best: float | None, restored: bool) -> str:
    """One line on why the run stopped early and which weights it kept (epochs are
    shown 1-based)."""
    what = _watched(config)
    kept = (tr("the weights of epoch {epoch} ({what} {best:.4g}) were restored",
               epoch=best_epoch + 1, what=what, best=best)
            if restored and best_epoch is not None and best is not None
            else tr("the weights are those of the last epoch"))
    return tr("early stopping after epoch {epoch}: the {what} has not improved by more than "
              "{delta:g} for {patience} epochs; {kept}", epoch=stopped_epoch + 1, what=what,
              delta=config.min_delta, patience=config.patience, kept=kept)
