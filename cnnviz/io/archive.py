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
import re
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


# The header numpy writes: a Python dict literal in this one layout. It is matched here,
# not evaluated: numpy's own reader tokenizes and literal-evals it, which a damaged header
# can make raise almost anything.
_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER = re.compile(r"\{'descr': '([<>|=]?[a-zA-Z][0-9]*)', 'fortran_order': (True|False), "
                         r"'shape': \(((?:\d+, ?)*\d*)\), \}\s*")


def parse_npy(data: bytes, name: str) -> np.ndarray:
    """The array in the bytes of one .npy file (format 1.0 or 2.0, plain numbers only)."""
    version = data[6:8]
    if data[:6] != _NPY_MAGIC or version not in (b"\x01\x00", b"\x02\x00"):
        raise ArchiveError(tr("{name}: not an .npy array of format 1.0 or 2.0", name=name))
    size_bytes = 2 if version == b"\x01\x00" else 4
    start = 8 + size_bytes
    length = int.from_bytes(data[8:start], "little")
    match = _NPY_HEADER.fullmatch(data[start:start + length].decode("latin1"))
    if match is None or len(data) < start + length:
        raise ArchiveError(tr("{name}: not a readable .npy header", name=name))
    try:
        dtype = np.dtype(match[1])
    except TypeError:
        raise ArchiveError(tr("{name}: unknown element type {dtype}", name=name,
                              dtype=match[1])) from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise ArchiveError(tr("{name} holds Python objects, which are never loaded", name=name))
    shape = tuple(int(d) for d in match[3].replace(" ", "").split(",") if d)
    offset = start + length
    count = math.prod(shape)  # Python integers: no overflow, whatever the header claims
    if count * dtype.itemsize != len(data) - offset:
        raise ArchiveError(tr("{name}: its header promises {shape} {dtype} ({size}) but "
                              "{held} follow", name=name, shape=shape, dtype=dtype,
                              size=format_bytes(count * dtype.itemsize),
                              held=format_bytes(len(data) - offset)))
    array = np.frombuffer(data, dtype, count, offset=offset)
    return array.reshape(shape, order="F" if match[2] == "True" else "C")


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
