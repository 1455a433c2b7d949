"""Reading zip archives from outside within limits, and .npy arrays without numpy's loader.

A member's declared size is checked against a limit before it is read, and it is
inflated in bounded chunks (zipfile caps the output at the declared size, but one
unbounded read() inflates everything the compressed bytes hold before it cuts), so a
small file that inflates to gigabytes costs a message, not the machine's memory.
Only the methods cnnviz writes (stored, deflate) are read: bzip2 and LZMA inflate
without any bound per chunk.

`read_npz` reads the arrays of an .npz (a zip of .npy files) the same way, checking
each array's header (shape, dtype) against the bytes that follow before making it:
numpy's own loader allocates whatever a header claims, and unpickles object arrays.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib

import numpy as np

from cnnviz.core.i18n import tr
from cnnviz.core.memory import format_bytes

CHUNK = 1 << 20
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# what reading a damaged member can raise (the last: a damaged compression-method field)
DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError,
          NotImplementedError, OSError)


class ArchiveError(ValueError):
    """An archive, or one member of it, that is not read, and why."""


def member_table(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The members by name; ArchiveError if a name appears twice (which one would count?)."""
    table: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.filename in table:
            raise ArchiveError(tr("member {name} appears twice", name=info.filename))
        table[info.filename] = info
    return table


def check_member(info: zipfile.ZipInfo, limit: int) -> None:
    """ArchiveError unless `info` is a member this reads, of at most `limit` bytes."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise ArchiveError(tr("member {name} is encrypted (cnnviz never encrypts what it "
                              "writes)", name=name))
    if info.compress_type not in METHODS:
        raise ArchiveError(tr("member {name} is compressed with method {method}; cnnviz "
                              "reads only stored and deflated members",
                              name=name, method=info.compress_type))
    if info.file_size > limit:
        raise ArchiveError(tr("member {name} would take {size} once inflated, more than "
                              "the {limit} allowed for it", name=name,
                              size=format_bytes(info.file_size), limit=format_bytes(limit)))


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, after check_member; ArchiveError if they cannot be read."""
    check_member(info, limit)
    out = bytearray()
    try:
        with zf.open(info) as f:
            while chunk := f.read(CHUNK):  # never more than file_size bytes in all
                out += chunk
    except DAMAGE as exc:
        raise ArchiveError(tr("member {name} is corrupt ({reason})", name=info.filename,
                              reason=exc)) from None
    return bytes(out)


def parse_npy(data: bytes, name: str) -> np.ndarray:
    """The array in the bytes of one .npy file (format 1.0 or 2.0, no Python objects)."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ArchiveError(tr("{name}: .npy format version {version} is not read",
                                  name=name, version=version))
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(tr("{name}: not a readable .npy header ({reason})", name=name,
                              reason=exc)) from None
    if dtype.hasobject:
        raise ArchiveError(tr("{name} holds Python objects, which are never loaded", name=name))
    count = math.prod(shape)  # Python integers: no overflow, whatever the header claims
    if count * dtype.itemsize != len(data) - f.tell():
        raise ArchiveError(tr("{name}: its header promises {shape} {dtype} ({size}) but "
                              "{held} follow", name=name, shape=shape, dtype=dtype,
                              size=format_bytes(count * dtype.itemsize),
                              held=format_bytes(len(data) - f.tell())))
    array = np.frombuffer(data, dtype, count, offset=f.tell())
    return array.reshape(shape, order="F" if fortran else "C")


def read_npz(data: bytes, limit: int) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive's bytes, at most `limit` bytes of them in all."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except DAMAGE:
        raise ArchiveError(tr("not a readable .npz archive")) from None
    arrays = {}
    with zf:
        for name, info in member_table(zf).items():
            if not name.endswith(".npy"):
                raise ArchiveError(tr("member {name} is not an array (.npy)", name=name))
            arrays[name.removesuffix(".npy")] = parse_npy(read_member(zf, info, limit), name)
            limit -= info.file_size
    return arrays
