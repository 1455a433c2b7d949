"""Where downloaded datasets live: a per-user cache folder, one sub-folder per dataset."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """$CNNVIZ_CACHE_DIR if set (tests point it at a temporary folder), else the XDG cache
    folder ($XDG_CACHE_HOME, or ~/.cache) /cnnviz/datasets."""
    override = os.environ.get("CNNVIZ_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cnnviz" / "datasets"


def dataset_cache_dir(name: str) -> Path:
    return cache_root() / name
