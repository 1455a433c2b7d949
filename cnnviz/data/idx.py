"""IDX files (MNIST, Fashion-MNIST): a big-endian header, then one uint8 array.

Header: two zero bytes, a type code (0x08 = unsigned byte, the only one these datasets
use), the number of dimensions, then each dimension as a big-endian uint32.
Files may be gzip-compressed or not; we look at the bytes, not the file name, because
people gunzip files and keep the name, or the other way round.

The header is read and checked first (against the shape the caller expects and a limit
on the bytes it may claim) and only then the data, streamed out of the gzip: a small
file that claims, or inflates to, gigabytes costs a message, not the machine's memory.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cnnviz.core.files import open_regular, os_reason
from cnnviz.core.i18n import Message, marked, tr, translate
from cnnviz.core.memory import format_bytes
from cnnviz.data.dataset import DatasetError

_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
MAX_BYTES = 1 << 30  # the data an IDX file may hold when the caller gives no limit
_CHUNK = 16 << 20

Expected = tuple[int | None, ...]  # dimensions a file must have; None: any size


def _check_dims(path: Path, dims: tuple[int, ...], expected: Expected | None,
                max_bytes: int, what: str) -> int:
    """The data's size in bytes, once the header's dimensions pass the checks."""
    shown = "x".join(map(str, dims))
    if expected is not None and len(dims) != len(expected):
        raise DatasetError(
            Message("{path}: expected {what} (1 dimension), got {got} dimensions", path=path,
                    what=translate(what), got=len(dims)) if len(expected) == 1 else
            Message("{path}: expected {what} ({n} dimensions), got {got} dimensions",
                    path=path, what=translate(what), n=len(expected), got=len(dims)))
    if expected is not None and any(want is not None and got != want
                                    for got, want in zip(dims, expected, strict=True)):
        wanted = "x".join("N" if d is None else str(d) for d in expected)
        raise DatasetError(Message("{path}: the header says {what} of {shown}, but this "
                                   "dataset's {what} are {wanted}", path=path,
                                   what=translate(what), shown=shown, wanted=wanted))
    size = math.prod(dims)  # Python integers: no overflow, whatever the header claims
    if size > max_bytes:
        raise DatasetError(Message("{path}: the header claims {shown} = {size:,} bytes of "
                                   "data, more than the {limit} this file can hold",
                                   path=path, shown=shown, size=size,
                                   limit=format_bytes(max_bytes)))
    return size


def _read(stream: BinaryIO, path: Path, expected: Expected | None, max_bytes: int,
          what: str) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DatasetError(Message("{path}: not an IDX file (magic number {magic})",
                                   path=path, magic=head.hex() or tr("missing")))
    if head[2] != _UBYTE:
        raise DatasetError(Message("{path}: IDX element type 0x{code:02x} is not supported "
                                   "(only unsigned bytes, 0x08)", path=path, code=head[2]))
    ndim = head[3]
    header = stream.read(4 * ndim)
    if ndim == 0 or len(header) < 4 * ndim:
        raise DatasetError(Message("{path}: truncated IDX header", path=path))
    dims = tuple(int(d) for d in np.frombuffer(header, ">u4"))
    size = _check_dims(path, dims, expected, max_bytes, what)
    data = bytearray()
    while len(data) <= size:  # in chunks: memory follows what is there, not what is claimed
        chunk = stream.read(min(_CHUNK, size + 1 - len(data)))  # one more: trailing bytes
        if not chunk:  # are an error too
            break
        data += chunk
    if len(data) < size:
        raise DatasetError(Message("{path}: truncated: the header promises {shape} = {size} "
                                   "bytes of data, the file holds {got:,}", path=path,
                                   shape="x".join(map(str, dims)), size=size, got=len(data)))
    if len(data) > size:
        raise DatasetError(Message("{path}: has trailing bytes: the header promises {shape} = "
                                   "{size} bytes of data, the file holds more", path=path,
                                   shape="x".join(map(str, dims)), size=size))
    return np.frombuffer(data, np.uint8, size).reshape(dims)


def read_idx(path: Path, expected: Expected | None = None, max_bytes: int = MAX_BYTES,
             what: str = marked("data")) -> np.ndarray:
    """The uint8 array stored in the IDX file at `path` (.gz or not), whose dimensions must
    be `expected` (None: any) and its data at most `max_bytes`; `what` it holds, for
    messages (a message of the catalogue, marked where it is given)."""
    try:
        with open_regular(path) as raw:
            packed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not packed:
                return _read(raw, path, expected, max_bytes, what)
            with gzip.GzipFile(fileobj=raw) as stream:
                return _read(stream, path, expected, max_bytes, what)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(Message("{path}: damaged or truncated gzip file ({reason})",
                                   path=path, reason=exc)) from None
    except OSError as exc:
        raise DatasetError(Message("{path}: cannot read it: {reason}", path=path,
                                   reason=os_reason(exc))) from None


def read_idx_images_labels(images_path: Path, labels_path: Path,
                           image_shape: tuple[int, int] | None = None,
                           max_count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W, 1) uint8 and labels (N,) int32 from a pair of IDX files; images of
    `image_shape` and at most `max_count` of them, if given."""
    images = read_idx(images_path, (None, *(image_shape or (None, None))),
                      MAX_BYTES if max_count is None or image_shape is None
                      else max_count * math.prod(image_shape), marked("images"))
    labels = read_idx(labels_path, (None,), MAX_BYTES if max_count is None else max_count,
                      marked("labels"))
    if len(images) != len(labels):
        raise DatasetError(Message("{images_file} holds {images} images but {labels_file} "
                                   "holds {labels} labels", images_file=images_path.name,
                                   images=len(images), labels_file=labels_path.name,
                                   labels=len(labels)))
    return images[..., None], labels.astype(np.int32)
