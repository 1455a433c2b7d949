"""Commands a view sends to a running trainer; it reads them between steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class StepOnce:
    """Run exactly one batch, then stay paused."""


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class SetLearningRate:
    value: float


Command = Pause | Resume | StepOnce | Stop | SetLearningRate
