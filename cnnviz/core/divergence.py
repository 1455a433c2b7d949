"""Divergence: a loss that stops being a finite number, or explodes on its way there.

The trainer shows each step's loss to a LossWatch as it reaches the host; the watch
notes the first step whose loss is NaN or infinite (training stops there) and the first
past EXPLODING_LOSS (a warning: the run may still recover). The messages say what a
learner can do about it, from the record of the halt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cnnviz.core.history import Halt
from cnnviz.core.i18n import tr

# Softmax cross-entropy starts near log(classes) (2.3 for 10) and falls; a loss this
# high means the scores are thousands apart: the updates overshoot.
EXPLODING_LOSS = 1e4
# Weights this large are no trained network's: activations grow by their size at every
# layer and overflow 32-bit floats (which end at 3.4e38).
HUGE_WEIGHT = 1e6


@dataclass
class LossWatch:
    """The first step (1-based) whose loss was not finite, and the first, with its loss,
    whose loss passed EXPLODING_LOSS; None until it happens."""

    diverged_at: int | None = None
    exploded_at: int | None = None
    exploded_loss: float = math.nan

    def see(self, first_step: int, losses: np.ndarray) -> None:
        """Look at the losses of steps first_step, first_step + 1, ..."""
        if self.diverged_at is None:
            bad = ~np.isfinite(losses)
            if bad.any():
                self.diverged_at = first_step + int(np.argmax(bad))
        if self.exploded_at is None:
            high = np.isfinite(losses) & (losses > EXPLODING_LOSS)
            if high.any():
                i = int(np.argmax(high))
                self.exploded_at, self.exploded_loss = first_step + i, float(losses[i])


def lower_rate(learning_rate: float) -> float:
    """A learning rate to try instead of one that diverged: a tenth of it."""
    return learning_rate / 10


def largest_weight(weights: Sequence[Mapping[str, np.ndarray]]) -> float:
    """The largest magnitude among all the weights (0 for a network without any)."""
    return max((float(np.abs(v).max()) for layer in weights for v in layer.values()
                if np.size(v)), default=0.0)


def explain_huge_weights(largest: float) -> str:
    return tr("The weights hold values as large as {largest:.3g}, too large to compute "
              "with: 32-bit floats end at 3.4e38, and every layer multiplies, so the loss "
              "is not a number. Reset the weights, or open others.", largest=largest)


def explain_divergence(halt: Halt) -> str:
    """Why the diverged run `halt` records stopped, and what to do."""
    largest = halt.largest_weight or 0.0
    if halt.step == (halt.weights_step or 0) + 1 and largest > HUGE_WEIGHT:
        return tr("The loss is not a number from the first step (step {step}). {why}",
                  step=f"{halt.step:,}", why=explain_huge_weights(largest))
    rate = halt.learning_rate or math.nan
    kept = (tr("as they were before training") if not halt.weights_step else
            tr("as they were after step {step}", step=f"{halt.weights_step:,}"))
    return tr("Training diverged at step {step}: the loss stopped being a number (it grew "
              "past what 32-bit floats hold). The learning rate {rate:g} is likely too high "
              "for this network with {optimizer}: lower it (try {lower:g}) and train again. "
              "The weights were kept {kept}, the last known to be finite.",
              step=f"{halt.step:,}", rate=rate, optimizer=halt.optimizer or "?",
              lower=lower_rate(rate), kept=kept)


def explain_explosion(step: int, loss: float, learning_rate: float, optimizer: str) -> str:
    """A warning for a loss that passed EXPLODING_LOSS but is still a number."""
    return tr("The loss reached {loss:.3g} at step {step}: training is unstable and may "
              "diverge. The learning rate {rate:g} is likely too high for this network with "
              "{optimizer}; try {lower:g}.", loss=loss, step=f"{step:,}", rate=learning_rate,
              optimizer=optimizer, lower=lower_rate(learning_rate))
