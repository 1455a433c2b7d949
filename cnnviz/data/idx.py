"""IDX files (MNIST, Fashion-MNIST): a big-endian header, then one uint8 array.

Header: two zero bytes, a type code (0x08 = unsigned byte, the only one these datasets
use), the number of dimensions, then each dimension as a big-endian uint32.
Files may be gzip-compressed or not; we look at the bytes, not the file name, because
people gunzip files and keep the name, or the other way round.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from cnnviz.data.dataset import DatasetError

_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def read_maybe_gzip(path: Path) -> bytes:
    """The file's bytes, decompressed if it is gzip; a DatasetError if it cannot be read."""
    try:
        data = path.read_bytes()
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: damaged or truncated gzip file ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return data


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array stored in the IDX file at `path` (.gz or not)."""
    data = read_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'})")
    if data[2] != _UBYTE:
        raise DatasetError(f"{path}: IDX element type 0x{data[2]:02x} is not supported "
                           "(only unsigned bytes, 0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    expected = int(np.prod(dims))
    got = len(data) - header
    if got != expected:
        problem = "truncated" if got < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {problem}: the header promises {'x'.join(map(str, dims))} "
                           f"= {expected} bytes of data, the file holds {got}")
    return np.frombuffer(data, np.uint8, expected, offset=header).reshape(dims)


def read_idx_images_labels(images_path: Path, labels_path: Path
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W, 1) uint8 and labels (N,) int32 from a pair of IDX files."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3:
        raise DatasetError(f"{images_path}: expected images (3 dimensions), "
                           f"got {images.ndim} dimensions")
    if labels.ndim != 1:
        raise DatasetError(f"{labels_path}: expected labels (1 dimension), "
                           f"got {labels.ndim} dimensions")
    if len(images) != len(labels):
        raise DatasetError(f"{images_path.name} holds {len(images)} images but "
                           f"{labels_path.name} holds {len(labels)} labels")
    return images[..., None], labels.astype(np.int32)
