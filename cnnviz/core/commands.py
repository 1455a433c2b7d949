"""Commands a view sends to a running trainer; it reads them between steps."""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.core.replay import Replay
from cnnviz.core.snapshot import ProbeImage


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


@dataclass(frozen=True, eq=False)
class SetProbe:
    """Show the live views this image from now on. Until a trainer gets one it computes
    no view data at all (the headless CLI never sends it, so it trains at full speed)."""

    probe: ProbeImage


@dataclass(frozen=True, eq=False)
class SetReplay:
    """Continue this replay: the trainer keeps its frames up to the step it starts
    from (none when it starts afresh) and adds its own."""

    replay: Replay


Command = Pause | Resume | StepOnce | Stop | SetLearningRate | SetProbe | SetReplay
