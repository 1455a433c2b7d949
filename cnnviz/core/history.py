"""The record of a training run: every step's loss and accuracy, every epoch's metrics,
and where a run was cut short (interrupted, or diverged)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cnnviz.core.i18n import Message
from cnnviz.core.json_text import brief

EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")
# kept when recorded: the rate the epoch's last step trained with
OPTIONAL_EPOCH_KEYS = ("learning_rate",)
INTERRUPTED, DIVERGED = "interrupted", "diverged"
EARLY_STOPPED, BEST_RESTORED = "early-stopped", "best-restored"
HALT_REASONS = (INTERRUPTED, DIVERGED, EARLY_STOPPED, BEST_RESTORED)


class HistoryError(ValueError):
    """A recorded history that cannot be read, and why."""


@dataclass(frozen=True)
class Halt:
    """A run that stopped before its end, after `step`: INTERRUPTED (by the user) or
    DIVERGED (its loss stopped being a finite number at `step`; it ran with
    `learning_rate` and `optimizer`, and the weights kept are those after
    `weights_step`, the last known to be finite, the largest `largest_weight` in size),
    or EARLY_STOPPED (its validation metric stopped improving; `best_step` ends the best
    epoch, and the weights kept are those after `weights_step`: the best epoch's when
    they were restored). BEST_RESTORED records a run with early stopping that ran its
    course and ended with the weights of its best epoch (`best_step`), not its last."""

    reason: str
    step: int
    learning_rate: float | None = None
    optimizer: str | None = None
    weights_step: int | None = None
    largest_weight: float | None = None
    best_step: int | None = None


@dataclass
class History:
    """Appended to by the trainer's thread only; views read snapshots instead. A step's
    loss is NaN or infinite where training diverged."""

    step_loss: list[float] = field(default_factory=list)
    step_accuracy: list[float] = field(default_factory=list)
    epochs: list[dict[str, float | None]] = field(default_factory=list)
    halts: list[Halt] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.step_loss)

    def add_steps(self, losses: np.ndarray, accuracies: np.ndarray) -> None:
        self.step_loss.extend(float(v) for v in losses)
        self.step_accuracy.extend(float(v) for v in accuracies)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: a value that is not a finite number is written as null."""
        return {"step_loss": [_finite_or_none(v) for v in self.step_loss],
                "step_accuracy": [_finite_or_none(v) for v in self.step_accuracy],
                "epochs": [{k: _finite_or_none(v) for k, v in e.items()} for e in self.epochs],
                "halts": [asdict(h) for h in self.halts]}

    @classmethod
    def from_dict(cls, data: Any) -> History:
        """The history `data` records (as to_dict writes it); HistoryError if it is not."""
        if not isinstance(data, dict):
            raise HistoryError(Message("the history must be a JSON object, not {kind}",
                                       kind=type(data).__name__))
        losses = _numbers(data, "step_loss")
        accs = _numbers(data, "step_accuracy")
        if len(losses) != len(accs):
            raise HistoryError(Message("history: step_loss and step_accuracy differ in length"))
        epochs = []
        for e in _list(data, "epochs"):
            if not isinstance(e, dict):
                raise HistoryError(Message("history: each epoch must be an object"))
            epochs.append({k: None if e.get(k) is None else _number(e[k], k)
                           for k in EPOCH_KEYS + tuple(k for k in OPTIONAL_EPOCH_KEYS
                                                       if k in e)})
        halts = [_halt(h) for h in _list(data, "halts")]
        return cls(losses, accs, epochs, halts)


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _list(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise HistoryError(Message("history: {key} must be a list, got {value}", key=key,
                                   value=brief(value)))
    return value


def _number(value: object, key: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise HistoryError(Message("history: {key} holds {value}, not a number", key=key,
                                   value=brief(value))) from None


def _numbers(data: dict, key: str) -> list[float]:
    """A list of numbers; null (how to_dict writes NaN) reads back as NaN."""
    return [math.nan if v is None else _number(v, key) for v in _list(data, key)]


def _halt(data: object) -> Halt:
    if not isinstance(data, dict) or data.get("reason") not in HALT_REASONS:
        raise HistoryError(Message("history: a halt must be an object whose reason is one of "
                                   "{reasons}, got {value}", reasons=", ".join(HALT_REASONS),
                                   value=brief(data)))
    step, weights_step, best = data.get("step"), data.get("weights_step"), data.get("best_step")
    for value in (step, weights_step, best):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise HistoryError(Message("history: a halt's step must be a whole number >= 0, "
                                       "got {value}", value=brief(value)))
    optimizer = data.get("optimizer")
    if optimizer is not None and not isinstance(optimizer, str):
        raise HistoryError(Message("history: a halt's optimizer must be a name, got {value}",
                                   value=brief(optimizer)))
    rate, largest = (None if data.get(k) is None else _number(data[k], k)
                     for k in ("learning_rate", "largest_weight"))
    return Halt(data["reason"], step if step is not None else 0, rate, optimizer,
                weights_step, largest, best)
