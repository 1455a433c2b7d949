"""Immutable training snapshots: what the trainer hands to views (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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
