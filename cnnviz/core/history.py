"""The record of a training run: every step's loss and accuracy, every epoch's metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")


@dataclass
class History:
    """Appended to by the trainer's thread only; views read snapshots instead."""

    step_loss: list[float] = field(default_factory=list)
    step_accuracy: list[float] = field(default_factory=list)
    epochs: list[dict[str, float | None]] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.step_loss)

    def add_steps(self, losses: np.ndarray, accuracies: np.ndarray) -> None:
        self.step_loss.extend(float(v) for v in losses)
        self.step_accuracy.extend(float(v) for v in accuracies)

    def to_dict(self) -> dict[str, Any]:
        return {"step_loss": self.step_loss, "step_accuracy": self.step_accuracy,
                "epochs": self.epochs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        losses = [float(v) for v in data.get("step_loss", [])]
        accs = [float(v) for v in data.get("step_accuracy", [])]
        if len(losses) != len(accs):
            raise ValueError("history: step_loss and step_accuracy differ in length")
        epochs = []
        for e in data.get("epochs", []):
            if not isinstance(e, dict):
                raise ValueError("history: each epoch must be an object")
            epochs.append({k: (None if e.get(k) is None else float(e[k])) for k in EPOCH_KEYS})
        return cls(losses, accs, epochs)
