"""Training replay: light snapshots of a run (filters, the probe's feature maps, metrics)
kept at intervals, so a slider can show how the network changed, also after training.

A Replay is immutable; the trainer makes a new one for every frame it adds and hands it
to the views inside snapshots. It stays bounded: past MAX_FRAMES, every other old frame
is dropped, so a long run keeps frames spread over all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnviz.core.mosaic import Mosaic

MAX_FRAMES = 120


@dataclass(frozen=True, eq=False)
class Frame:
    """The network after `step`. `filters` holds each conv layer's kernel mosaic,
    `maps` the probe image ('input') and each layer's output on the layer-wide scale;
    norms are L2 norms of each weighted layer's kernel and loss gradient (nan: unknown)."""

    step: int
    epoch: int
    loss: float
    accuracy: float
    filters: dict[str, Mosaic]
    maps: dict[str, Mosaic]
    weight_norms: dict[str, float] = field(default_factory=dict)
    gradient_norms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Replay:
    frames: tuple[Frame, ...] = ()

    def __len__(self) -> int:
        return len(self.frames)

    def add(self, frame: Frame, max_frames: int = MAX_FRAMES) -> Replay:
        """A replay with `frame` appended, thinned to at most max_frames frames (the
        first and the newest always stay)."""
        frames = (*self.frames, frame)
        if len(frames) > max_frames:
            frames = (*frames[:-1:2], frame) if len(frames) % 2 == 0 else frames[::2]
        return Replay(frames)

    def upto(self, step: int) -> Replay:
        """The frames of steps up to `step`: what a run that continues from there keeps
        (none when it starts afresh at step 0)."""
        return Replay(tuple(f for f in self.frames if f.step <= step))
