"""`weights.safetensors`: the weights named by layer; the file's metadata (which holds
strings only) carries the whole manifest as one JSON string under `manifest`."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import save

FILE = "weights.safetensors"
MANIFEST_KEY = "manifest"


def safetensors_bytes(arrays: dict[str, np.ndarray], manifest_json: str) -> bytes:
    return save(arrays, metadata={MANIFEST_KEY: manifest_json})
