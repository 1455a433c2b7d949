"""A training replay as bytes, for the project file (Project.extras["replay"]).

An .npz archive of plain arrays, read with allow_pickle=False: per-frame metrics as
(F,) vectors, norms as (F, L) tables, and every mosaic stacked over the frames as
(F, h, w) uint8 (its tiling stored once; a replay's frames all have one network).
"""

from __future__ import annotations

import io

import numpy as np

from cnnviz.core.i18n import tr
from cnnviz.core.mosaic import Mosaic
from cnnviz.core.replay import MAX_FRAMES, Frame, Replay
from cnnviz.io.archive import ArchiveError, read_npz

VERSION = 1
LIMIT = 1 << 30  # bytes its arrays may take in all, once inflated
_METRICS = ("step", "epoch", "loss", "accuracy")


class ReplayError(ValueError):
    """Bytes that are not a readable replay, and why."""


def _geometry(m: Mosaic) -> np.ndarray:
    return np.array([*m.tile, *m.grid, m.count, m.gap], np.int64)


def _stack(arrays: dict[str, np.ndarray], group: str, mosaics: list[dict[str, Mosaic]]) -> None:
    for name, first in mosaics[0].items():
        arrays[f"{group}/{name}"] = np.stack([m[name].image for m in mosaics])
        arrays[f"{group}_geometry/{name}"] = _geometry(first)


def replay_bytes(replay: Replay) -> bytes:
    frames = replay.frames
    arrays: dict[str, np.ndarray] = {"version": np.array(VERSION)}
    for key in _METRICS:
        arrays[key] = np.array([getattr(f, key) for f in frames])
    layers = list(frames[0].weight_norms) if frames else []
    arrays["norm_layers"] = np.array(layers, dtype=np.str_)
    arrays["weight_norms"] = np.array([[f.weight_norms[n] for n in layers] for f in frames])
    arrays["gradient_norms"] = np.array([[f.gradient_norms[n] for n in layers] for f in frames])
    if frames:
        _stack(arrays, "filters", [f.filters for f in frames])
        _stack(arrays, "maps", [f.maps for f in frames])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _unstack(data: dict[str, np.ndarray], group: str, count: int) -> list[dict[str, Mosaic]]:
    out: list[dict[str, Mosaic]] = [{} for _ in range(count)]
    prefix = f"{group}/"
    for key in (k for k in data if k.startswith(prefix)):
        name = key[len(prefix):]
        geometry = data[f"{group}_geometry/{name}"]
        if geometry.shape != (6,) or geometry.dtype.kind not in "iu":
            raise ReplayError(tr("replay: {key} has no readable tiling", key=key))
        h, w, rows, cols, n, gap = (int(v) for v in geometry)
        stack = data[key]
        if stack.dtype != np.uint8 or stack.ndim != 3 or len(stack) != count or min(
                h, w, rows, cols, gap + 1) < 1 or stack.shape[1:3] != (
                rows * (h + gap) - gap, cols * (w + gap) - gap) or not 0 <= n <= rows * cols:
            raise ReplayError(tr("replay: {key} does not match its tiling", key=key))
        for frame, image in zip(out, stack, strict=True):
            frame[name] = Mosaic(image, (h, w), (rows, cols), n, gap)  # read-only: frombuffer
    return out


def load_replay(data: bytes) -> Replay:
    """Raises ReplayError with the reason if `data` is not a replay this version reads."""
    try:
        return _replay(read_npz(data, LIMIT))
    except ReplayError:
        raise
    except (KeyError, ValueError, TypeError, OverflowError, ArchiveError) as exc:
        raise ReplayError(tr("replay: unreadable ({reason})", reason=exc)) from None


def _replay(npz: dict[str, np.ndarray]) -> Replay:
    version = int(npz["version"])
    if version > VERSION:
        raise ReplayError(tr("replay: made by a newer cnnviz (version {version})",
                             version=version))
    metrics = {key: npz[key] for key in _METRICS}
    count = len(metrics["step"])
    if any(v.ndim != 1 or v.dtype.kind not in "iuf" or len(v) != count
           for v in metrics.values()) or count > MAX_FRAMES:
        raise ReplayError(tr("replay: its metrics are not lists of at most {most} numbers "
                             "of equal length", most=MAX_FRAMES))
    layers = [str(n) for n in npz["norm_layers"]]
    weight_norms, gradient_norms = npz["weight_norms"], npz["gradient_norms"]
    if count and (weight_norms.shape != (count, len(layers))
                  or gradient_norms.shape != (count, len(layers))):
        raise ReplayError(tr("replay: its tables differ in length"))
    filters = _unstack(npz, "filters", count)
    maps = _unstack(npz, "maps", count)
    return Replay(tuple(
        Frame(int(metrics["step"][i]), int(metrics["epoch"][i]), float(metrics["loss"][i]),
              float(metrics["accuracy"][i]), filters[i], maps[i],
              dict(zip(layers, map(float, weight_norms[i]), strict=True)),
              dict(zip(layers, map(float, gradient_norms[i]), strict=True)))
        for i in range(count)))
