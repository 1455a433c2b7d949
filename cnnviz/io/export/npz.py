"""`weights.npz`: the weights as a numpy archive (no pickled objects), named by layer."""

from __future__ import annotations

import io

import numpy as np

FILE = "weights.npz"


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """arrays: {'conv1.kernel': array, ...}, the app's (channels-last) layout."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
