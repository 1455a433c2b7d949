"""Opening files from outside: only regular files, and errors that say what is wrong.

A FIFO would block a reader forever and /dev/zero never ends, so readers of outside data
open files here, which refuses anything but a regular file before reading a byte. An
OSError's reason is spelled out (a symlink loop, a permission) instead of being taken
for a damaged file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from cnnviz.core.i18n import Message, tr
from cnnviz.core.memory import format_bytes


class NotARegularFile(OSError):
    """A path that names a folder, FIFO, device or socket instead of a file."""


def _kind(mode: int) -> Message:
    if stat.S_ISDIR(mode):
        return Message("a folder")
    if stat.S_ISFIFO(mode):
        return Message("a pipe (FIFO)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Message("a device")
    if stat.S_ISSOCK(mode):
        return Message("a socket")
    return Message("not a regular file")


def os_reason(exc: OSError) -> str:
    """Why `exc` happened, in words a user can act on."""
    if isinstance(exc, NotARegularFile):
        return str(exc)
    reasons = {
        errno.ENOENT: tr("no such file"),
        errno.EACCES: tr("permission denied (you may not read it)"),
        errno.EPERM: tr("permission denied"),
        errno.ELOOP: tr("a symbolic link that points back to itself (a symlink loop)"),
        errno.EISDIR: tr("is a folder, not a file"),
        errno.ENOTDIR: tr("a part of the path is not a folder"),
        errno.ENAMETOOLONG: tr("the name is too long"),
    }
    return reasons.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for reading in binary, if it is a regular file (through links).
    Raises NotARegularFile for anything else, OSError if it cannot be opened."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer before we can look at it
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, Message("{path} is {kind}, not a file",
                                                        path=path, kind=_kind(mode)))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`; OverLimit if it holds more than `limit`."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise OverLimit(size, limit)
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while we read it
        raise OverLimit(len(data), limit)
    return data


class OverLimit(ValueError):
    """Data larger than a reader accepts; `size` and `limit` in bytes."""

    def __init__(self, size: int, limit: int):
        self.size, self.limit = size, limit
        super().__init__(Message("{size} is more than the {limit} this reads",
                                 size=format_bytes(size), limit=format_bytes(limit)))

