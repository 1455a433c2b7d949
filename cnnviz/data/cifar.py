"""CIFAR-10, binary version: records of one label byte and 3,072 pixel bytes.

The pixels of a record are the red plane, then green, then blue, each 32x32 row-major.
We read the binary version rather than the Python one so that loading never unpickles.
Batches come either from the downloaded archive (read in memory, never extracted, so a
crafted member path cannot write anywhere) or from its unpacked folder. A batch holds
10,000 records; a member or file claiming more is refused before it is read, and an
archive is read only as far as its first members (CIFAR-10 has eight).
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from cnnviz.core.files import OverLimit, open_regular, os_reason, read_regular
from cnnviz.core.i18n import Message
from cnnviz.data.dataset import DatasetError

SIDE = 32
RECORD_BYTES = 1 + 3 * SIDE * SIDE
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCH = "test_batch.bin"
BATCH_BYTES = 10_000 * RECORD_BYTES  # what one batch file holds
MAX_MEMBERS = 100  # an archive's members looked at before giving up


def parse_batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels (N,) int32 of one batch file's bytes."""
    if not data or len(data) % RECORD_BYTES:
        raise DatasetError(Message("{source}: {size} bytes is not a whole number of "
                                   "{record}-byte CIFAR records (truncated or not CIFAR binary)",
                                   source=source, size=len(data), record=RECORD_BYTES))
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    images = records[:, 1:].reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)  # (N, H, W, C)
    return np.ascontiguousarray(images), records[:, 0].astype(np.int32)


def _too_big(source: str, size: int) -> DatasetError:
    return DatasetError(Message("{source}: {size:,} bytes, more than the {batch:,} of a "
                                "CIFAR-10 batch (10,000 records); not CIFAR-10 binary",
                                source=source, size=size, batch=BATCH_BYTES))


def _batches_from_archive(path: Path) -> dict[str, bytes]:
    wanted = {*TRAIN_BATCHES, TEST_BATCH}
    found: dict[str, bytes] = {}
    try:
        with open_regular(path) as f, tarfile.open(fileobj=f, mode="r:*") as archive:
            for seen, member in enumerate(archive, 1):
                if member.size > BATCH_BYTES:  # before it is read, or skipped by inflating it
                    raise _too_big(f"{path}: {member.name}", member.size)
                if member.isfile() and Path(member.name).name in wanted:
                    found[Path(member.name).name] = archive.extractfile(  # type: ignore[union-attr]
                        member).read()
                if len(found) == len(wanted):
                    break
                if seen >= MAX_MEMBERS:
                    raise DatasetError(Message("{path}: no CIFAR-10 batches among its first "
                                               "{count} members; not the CIFAR-10 archive",
                                               path=path, count=MAX_MEMBERS))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise DatasetError(Message("{path}: damaged or truncated archive ({reason})",
                                   path=path, reason=exc)) from None
    except OSError as exc:
        raise DatasetError(Message("{path}: cannot read it: {reason}", path=path,
                                   reason=os_reason(exc))) from None
    missing = sorted(wanted - found.keys())
    if missing:
        raise DatasetError(Message("{path}: archive lacks {names}", path=path,
                                   names=", ".join(missing)))
    return found


def _batches_from_folder(folder: Path) -> dict[str, bytes]:
    found = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        try:
            found[name] = read_regular(folder / name, BATCH_BYTES)
        except OverLimit as exc:
            raise _too_big(str(folder / name), exc.size) from None
        except OSError as exc:
            raise DatasetError(Message("{path}: cannot read it: {reason}", path=folder / name,
                                       reason=os_reason(exc))) from None
    return found


def read_cifar10(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) from the .tar.gz archive or its unpacked folder."""
    batches = _batches_from_folder(path) if path.is_dir() else _batches_from_archive(path)
    train = [parse_batch(batches[name], f"{path}: {name}") for name in TRAIN_BATCHES]
    x_test, y_test = parse_batch(batches[TEST_BATCH], f"{path}: {TEST_BATCH}")
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            x_test, y_test)
