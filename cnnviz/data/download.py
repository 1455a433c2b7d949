"""Checksummed downloads: try mirrors in turn, write to a .part file, verify, rename.

A file only ever appears under its real name after its size and sha256 have been checked,
so an interrupted or corrupt download never looks like a cached dataset.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cnnviz.core.i18n import Message, tr
from cnnviz.data.dataset import DatasetError

# progress(done_bytes, total_bytes_or_None, message)
Progress = Callable[[int, int | None, str], None]

_CHUNK = 1 << 18
TIMEOUT_S = 30.0  # per socket operation, not for the whole file


@dataclass(frozen=True)
class RemoteFile:
    """A file as its publishers serve it: name, size in bytes and sha256 of those bytes."""

    name: str
    size: int
    sha256: str


class _Corrupt(Exception):
    """The server answered, but not with the bytes we expect."""


def _fetch(url: str, file: RemoteFile, part: Path, progress: Progress | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "cnnviz"})
    digest = hashlib.sha256()
    done = 0
    message = tr("downloading {name} from {host}", name=file.name, host=urlsplit(url).hostname)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, part.open("wb") as out:
        while chunk := response.read(_CHUNK):
            done += len(chunk)
            if done > file.size:
                raise _Corrupt(tr("more than the expected {size} bytes", size=file.size))
            out.write(chunk)
            digest.update(chunk)
            if progress:
                progress(done, file.size, message)
        out.flush()
        os.fsync(out.fileno())
    if done != file.size:
        raise _Corrupt(tr("connection closed after {done} of {size} bytes", done=done,
                          size=file.size))
    if digest.hexdigest() != file.sha256:
        raise _Corrupt(tr("sha256 {got} is not the published {sha256}", got=digest.hexdigest(),
                          sha256=file.sha256))


def download(file: RemoteFile, mirrors: Sequence[str], directory: Path,
             progress: Progress | None = None) -> Path:
    """directory/file.name, fetched from the first of `mirrors` (base URLs) that serves it
    intact. Raises DatasetError naming what went wrong at each mirror."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file.name
    part = directory / f"{file.name}.part"
    failures = []
    for base in mirrors:
        url = f"{base.rstrip('/')}/{file.name}"
        try:
            _fetch(url, file, part, progress)
            part.replace(target)
            return target
        except (OSError, http.client.HTTPException, _Corrupt) as exc:
            failures.append("  " + tr("{url}: {reason}", url=url, reason=_reason(exc)))
        finally:
            part.unlink(missing_ok=True)
    raise DatasetError(Message("could not download {name}:\n{failures}", name=file.name,
                               failures="\n".join(failures)))


def _reason(exc: BaseException) -> str:
    """A one-line reason a person can act on (urllib nests the useful part)."""
    inner = getattr(exc, "reason", None)
    if isinstance(inner, BaseException):
        return _reason(inner)
    # the causes met most, in the user's language; the system's own words otherwise
    if isinstance(exc, TimeoutError):
        return tr("timed out")
    if isinstance(exc, ConnectionRefusedError):
        return tr("Connection refused")
    if isinstance(exc, socket.gaierror):
        return tr("the server's name could not be looked up (no network?)")
    if isinstance(exc, urllib.error.HTTPError):
        return tr("HTTP Error {code}: {reason}", code=exc.code, reason=exc.reason)
    if isinstance(exc, OSError) and exc.strerror:  # e.g. "Network is unreachable"
        return exc.strerror
    return str(exc) or type(exc).__name__
