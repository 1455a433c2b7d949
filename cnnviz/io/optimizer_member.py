"""A project's optimizer state (core.optimizer_leaves) as two members of its file:
``optimizer.json`` (the optimizer, the steps it has seen, how many arrays) and
``optimizer.npz`` (the arrays in tree order, named 0, 1, ...; read without numpy's
loader, never unpickled).

Read as outside data, against what the project's own weights allow: every array a
scalar or shaped as one of its weights, float32 or int32, finite, no more of them than
an optimizer keeps. The tree they make is checked by the engine when training starts.
"""

from __future__ import annotations

import io
import json

import numpy as np

from cnnviz.core.i18n import Message
from cnnviz.core.json_text import brief, parse_json
from cnnviz.core.optimizer_leaves import OptimizerLeaves, OptimizerStateError, check_leaves
from cnnviz.io.archive import read_npz

INFO, ARRAYS = "optimizer.json", "optimizer.npz"
INFO_LIMIT = 1 << 16
# optax keeps at most two arrays per weight (Adam's m and v), beside a few scalars
SLOTS_PER_WEIGHT, SCALARS = 2, 16
NPY_HEADER = 1 << 10  # room for each array's .npy header and zip entry


def members(kept: OptimizerLeaves) -> dict[str, bytes]:
    """The two members that hold `kept`."""
    buffer = io.BytesIO()
    np.savez(buffer, **{str(i): leaf for i, leaf in enumerate(kept.leaves)})
    info = {"optimizer": kept.optimizer, "steps": kept.steps, "arrays": len(kept.leaves)}
    return {INFO: json.dumps(info).encode(), ARRAYS: buffer.getvalue()}


def arrays_limit(weights: list[dict[str, np.ndarray]]) -> int:
    """The most bytes optimizer.npz may take for these weights."""
    arrays = [v for layer in weights for v in layer.values()]
    return (SLOTS_PER_WEIGHT * sum(4 * v.size for v in arrays)
            + (SLOTS_PER_WEIGHT * len(arrays) + SCALARS) * (NPY_HEADER + 4))


def parse_info(data: bytes) -> tuple[str, int, int]:
    """(optimizer, steps, arrays) from optimizer.json (project.py names the member in
    its errors)."""
    info = parse_json(data)
    if not isinstance(info, dict):
        raise OptimizerStateError(Message("it must be a JSON object"))
    optimizer, steps, count = info.get("optimizer"), info.get("steps"), info.get("arrays")
    if not isinstance(optimizer, str):
        raise OptimizerStateError(Message("optimizer must be a name, got {value}",
                                          value=brief(optimizer)))
    for key, value in (("steps", steps), ("arrays", count)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise OptimizerStateError(Message("{key} must be a whole number from 0 up, got "
                                              "{value}", key=key, value=brief(value)))
    return optimizer, steps, count


def parse_arrays(info: tuple[str, int, int], data: bytes,
                 weights: list[dict[str, np.ndarray]]) -> OptimizerLeaves:
    """The state in optimizer.npz's bytes, checked against the project's `weights`."""
    optimizer, steps, count = info
    arrays = [v for layer in weights for v in layer.values()]
    most = SLOTS_PER_WEIGHT * len(arrays) + SCALARS
    if count > most:
        raise OptimizerStateError(Message("{name} lists {n} arrays; an optimizer of these "
                                          "weights keeps at most {most}", name=INFO, n=count,
                                          most=most))
    found = read_npz(data, arrays_limit(weights))
    if sorted(found) != sorted(map(str, range(count))):
        raise OptimizerStateError(Message("{name} does not hold the {n} arrays {info} lists",
                                          name=ARRAYS, n=count, info=INFO))
    leaves = tuple(found[str(i)] for i in range(count))
    shapes = {v.shape for v in arrays} | {()}
    for i, leaf in enumerate(leaves):
        if leaf.shape not in shapes:
            raise OptimizerStateError(Message("optimizer state array {i} has shape {shape}, "
                                              "which no weight of the network has", i=i,
                                              shape=list(leaf.shape)))
    check_leaves(leaves)
    return OptimizerLeaves(optimizer, steps, leaves)
