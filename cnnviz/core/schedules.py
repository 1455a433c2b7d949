"""Learning-rate schedules: the rate a run trains with at each step, in numpy.

The trainer works each dispatch's rates out here and hands them to the jitted step as an
array, so a schedule, a live change or a cut on a plateau never recompiles anything; the
training panel's preview plots the same numbers. Steps are counted from 1 (the first
update); `t = step - 1` is the number of updates before it, as Keras and optax count.

- constant: 1
- step: factor ** floor(t / (N * steps_per_epoch)), a cut every N epochs
- exponential: factor ** (t / (N * steps_per_epoch)), the same cut spread smoothly
- cosine: (1 + cos(pi * t / T)) / 2 over the whole run of T steps, down to 0
- warmup-cosine: (t + 1) / W over the first W steps, then cosine over the other T - W
- plateau: 1, times the factor each time the monitored validation metric has not
  improved for N epochs (LearningRate.end_of_epoch)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.config import TrainConfig
from cnnviz.core.early_stopping import Watch
from cnnviz.core.i18n import Message


def schedule_factors(config: TrainConfig, steps: np.ndarray, steps_per_epoch: int
                     ) -> np.ndarray:
    """The schedule's factor (the configured rate's multiplier) at each of `steps`
    (1-based), as float64."""
    t = np.asarray(steps, np.float64) - 1
    total = max(config.epochs * steps_per_epoch, 1)
    every = max(config.decay_epochs * steps_per_epoch, 1)
    match config.schedule:
        case "step":
            return config.decay_factor ** np.floor(t / every)
        case "exponential":
            return config.decay_factor ** (t / every)
        case "cosine":
            return _cosine(t, total)
        case "warmup-cosine":
            warmup = max(config.warmup_epochs * steps_per_epoch, 1)
            return np.where(t < warmup, (t + 1) / warmup,
                            _cosine(t - warmup, max(total - warmup, 1)))
    return np.ones_like(t)


def _cosine(t: np.ndarray, steps: int) -> np.ndarray:
    return 0.5 * (1 + np.cos(np.pi * np.clip(t, 0, steps) / steps))


@dataclass
class LearningRate:
    """The rate of each step of one run: `base` times the schedule's factor at the step,
    over the factor at `anchor` (the step `base` was set at: the rate there is `base`
    exactly). It starts as the configured rate at step 1; a live change of the rate sets
    the rate at the next step, and the schedule goes on from there in proportion; each
    plateau multiplies it by the decay factor."""

    config: TrainConfig
    steps_per_epoch: int

    def __post_init__(self) -> None:
        self.base = self.config.learning_rate
        self.anchor = 1.0  # the schedule's factor at the step `base` was set at
        self._plateau = Watch(self.config.monitor, self.config.min_delta)

    def _rates(self, first_step: int, count: int) -> np.ndarray:
        steps = np.arange(first_step, first_step + count)
        return self.base * (schedule_factors(self.config, steps, self.steps_per_epoch)
                            / self.anchor)

    def rates(self, first_step: int, count: int) -> np.ndarray:
        """The rates of steps first_step .. first_step + count - 1, as float32 (what
        the jitted step takes)."""
        return self._rates(first_step, count).astype(np.float32)

    def rate(self, step: int) -> float:
        """The rate step `step` trains (or trained) with (before its rounding to
        float32)."""
        return float(self._rates(step, 1)[0])

    def set_rate(self, value: float, step: int) -> None:
        """From step `step` on, the rate is `value` there and the schedule follows in
        proportion. The factors are never 0 before the run's last step (see module doc)."""
        if not value > 0:
            raise ValueError(Message("the learning rate must be above 0, got {value}",
                                     value=value))
        factor = float(schedule_factors(self.config, np.array([step]),
                                        self.steps_per_epoch)[0])
        self.base, self.anchor = value, max(factor, 1e-12)

    def end_of_epoch(self, metrics: dict[str, float | None]) -> bool:
        """The "plateau" schedule's look at an epoch's validation metrics: True when it
        cut the rate (the monitored one has not improved for decay_epochs epochs)."""
        if self.config.schedule != "plateau":
            return False
        self._plateau.see(metrics.get(self.config.monitor))
        if self._plateau.wait < self.config.decay_epochs:
            return False
        self.base *= self.config.decay_factor
        self._plateau.wait = 0  # give the new rate as long to help
        return True


def preview(config: TrainConfig, steps_per_epoch: int, points: int = 200
            ) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, rates) of the schedule over the whole run, at up to `points` steps, for
    a plot whose x axis is in epochs. "plateau" shows the rate it starts with: its cuts
    depend on how validation goes."""
    total = max(config.epochs * steps_per_epoch, 1)
    steps = np.unique(np.linspace(1, total, min(points, total)).round().astype(np.int64))
    rates = config.learning_rate * schedule_factors(config, steps, steps_per_epoch)
    return steps / steps_per_epoch, rates
