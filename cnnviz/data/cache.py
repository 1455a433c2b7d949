"""Where downloaded datasets live: a per-user cache folder, one sub-folder per dataset,
and whether a file there is intact (the one its publishers serve)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cnnviz.core.files import open_regular, read_regular
from cnnviz.core.json_text import parse_json


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


# A file's sha256, once checked, is recorded here with the size and modification time it
# had; a later start that finds them unchanged trusts the file without hashing it again.
# The record is a convenience: if it cannot be read or written, files are hashed again.
RECORD = "verified.json"
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _records() -> dict[str, Any]:
    try:
        records = parse_json(read_regular(cache_root() / RECORD, 1 << 20))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def is_intact(path: Path, size: int, sha256: str) -> bool:
    """Whether the file at `path` has `size` bytes whose sha256 is `sha256`."""
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size != size:
        return False
    key = str(path.resolve())
    seen = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    records = _records()
    if records.get(key) == seen:
        return True
    try:
        if sha256_of(path) != sha256:
            return False
    except OSError:
        return False
    records[key] = seen
    with contextlib.suppress(OSError):  # a torn write only costs a hash at the next start
        cache_root().mkdir(parents=True, exist_ok=True)
        (cache_root() / RECORD).write_text(json.dumps(records, indent=1))
    return True
