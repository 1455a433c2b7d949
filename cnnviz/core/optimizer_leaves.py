"""An optimizer's state as plain arrays, so that a run continues with it.

Adam's moments and step count (or momentum's trace, RMSprop's average) live in the
optimizer's state; a run that starts it afresh restarts Adam's bias correction, a bigger
step and often a bump in the loss. This is that state flattened in its tree's order
(engine.resume rebuilds and checks the tree), with the optimizer it belongs to and the
training steps it has seen, numpy only, so a project file can hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.i18n import Message

# The dtypes an optimizer state holds: float32 numbers and int32 step counts.
DTYPES = (np.dtype(np.float32), np.dtype(np.int32))


class OptimizerStateError(ValueError):
    """An optimizer state that does not fit the run it is meant to continue, and why."""


@dataclass(frozen=True, eq=False)
class OptimizerLeaves:
    """`leaves`: the state's arrays in tree order; `optimizer`: the TrainConfig name it
    was made by; `steps`: the training steps it has taken (the history's)."""

    optimizer: str
    steps: int
    leaves: tuple[np.ndarray, ...]

    def fits(self, optimizer: str, steps: int) -> Message | None:
        """Why it cannot continue a run of `optimizer` after `steps` steps, or None."""
        if optimizer != self.optimizer:
            return Message("it belongs to {kept}, the run trains with {optimizer}",
                           kept=self.optimizer, optimizer=optimizer)
        if steps != self.steps:
            return Message("it was taken after {kept} steps, the run has {steps}",
                           kept=self.steps, steps=steps)
        return None


def check_leaves(leaves: tuple[np.ndarray, ...]) -> None:
    """OptimizerStateError unless every leaf is a finite float32 or int32 array."""
    for i, leaf in enumerate(leaves):
        if leaf.dtype not in DTYPES:
            raise OptimizerStateError(Message("optimizer state array {i} is {dtype}, not "
                                              "float32 or int32", i=i, dtype=leaf.dtype))
        if leaf.dtype.kind == "f" and not np.isfinite(leaf).all():
            raise OptimizerStateError(Message("optimizer state array {i} holds values that "
                                              "are not finite", i=i))
