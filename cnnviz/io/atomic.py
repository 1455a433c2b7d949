"""Atomic file writes: a crash or a full disk never leaves a half-written file behind.

The new content goes to a temporary file beside the target, is flushed to disk, then
renamed over the target (atomic on one file system: readers see the old file or the
new one). A target that is a symbolic link is written through, as editors do: the link
stays and its target gets the new content. Temporary files a killed process left
behind are removed by the next save of the same file.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
import time
from pathlib import Path

from cnnviz.core.files import os_reason
from cnnviz.core.i18n import tr

STALE_S = 600.0  # a temporary file untouched this long belongs to no save in progress


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class WriteTargetError(OSError):
    """A file that cannot be written where it was asked to be, and why (naming it):
    `str()` is the message alone, without the errno."""

    def __str__(self) -> str:
        return str(self.strerror)


def target_of(path: str | Path) -> Path:
    """Where writing `path` puts the bytes: the file a symbolic link points to, or
    `path` itself. WriteTargetError if `path` is a link that leads nowhere readable."""
    path = Path(path)
    if not path.is_symlink():
        return path
    try:
        path.stat()
    except FileNotFoundError:
        pass  # a dangling link: writing creates its target, as an editor would
    except OSError as exc:
        raise WriteTargetError(errno.ELOOP, tr("cannot save to {path}: {reason}", path=path,
                                               reason=os_reason(exc))) from None
    return Path(os.path.realpath(path))


def check_target(path: str | Path) -> Path:
    """Raise WriteTargetError, naming `path`, unless a file can be written there (its
    folder exists and is writable, no folder is in the way); returns the target.
    Cheap, so callers check before long work whose result goes there."""
    target = target_of(path)
    if target.is_dir():
        raise WriteTargetError(errno.EISDIR, tr("cannot save to {path}: it is a folder",
                                                path=path))
    folder = target.parent
    if not folder.is_dir():
        raise WriteTargetError(errno.ENOENT, tr("cannot save to {path}: the folder {folder} "
                                                "does not exist", path=path, folder=folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteTargetError(errno.EACCES, tr("cannot save to {path}: you may not write "
                                                "into the folder {folder}", path=path,
                                                folder=folder))
    return target


def _temporaries(target: Path) -> re.Pattern[str]:
    """The names mkstemp gives this module's temporary files for `target`."""
    return re.compile(rf"\.{re.escape(target.name)}\.[A-Za-z0-9_]+\.tmp")


def remove_stale_temporaries(target: Path, now: float | None = None) -> list[Path]:
    """Delete temporary files of earlier saves of `target` that were never renamed (the
    process was killed): those untouched for STALE_S, so a save still in progress in
    another process keeps its own. Returns what was removed."""
    now = time.time() if now is None else now
    pattern, removed = _temporaries(target), []
    try:
        candidates = [p for p in target.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return removed
    for candidate in candidates:
        try:
            if now - candidate.lstat().st_mtime > STALE_S:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue  # gone already, or not ours to delete
    return removed


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (through a link, if `path` is one). Raises
    OSError naming `path` if it cannot; the old file is then untouched."""
    target = check_target(path)
    remove_stale_temporaries(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteTargetError(exc.errno, tr("cannot save to {path}: {reason}", path=path,
                                             reason=os_reason(exc))) from None
    try:
        # mkstemp makes the file owner-only; give it the mode a plain open() would (or keep
        # the mode of the file it replaces)
        os.fchmod(fd, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # named after the file asked for, not the temporary
            raise WriteTargetError(exc.errno, tr("cannot save to {path}: {reason}",
                                                 path=path, reason=os_reason(exc))) from None
        raise
