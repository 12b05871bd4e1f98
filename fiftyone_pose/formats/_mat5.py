"""A small, strict reader of MATLAB v5 ``.mat`` files holding plain numeric arrays.

Only what pose files need: real, non-sparse numeric matrices (any MATLAB numeric class, stored in
any numeric type, plain or zlib-compressed). Anything else (structs, cells, chars, complex or
sparse arrays, v4 or v7.3/HDF5 files) is a ``MatError`` naming the byte offset or the variable,
never a crash: every length is checked against the bytes there are (``scipy.io.loadmat`` can
crash the interpreter on damaged files).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_HEADER = 128
#: storage types: mi code -> numpy type
_MI = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: numeric array classes: mx code -> numpy type of the values
_MX = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_MX_NAMES = {1: "a cell array", 2: "a struct", 3: "an object", 4: "a char array", 5: "a sparse array"}
#: a variable larger than this once decompressed is refused (pose variables are a few hundred bytes)
MAX_VARIABLE_BYTES = 1 << 24


class MatError(ValueError):
    """A ``.mat`` file this reader cannot interpret; ``where`` is the variable or the byte offset."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


def read_mat(raw: bytes) -> dict[str, np.ndarray]:
    """The variables of a MATLAB v5 file, by name, in file order (arrays in MATLAB's shape)."""
    if len(raw) < _HEADER:
        raise MatError(f"too short for a MATLAB v5 file ({len(raw)} bytes)", "header")
    text = raw[:116]
    if text.startswith(b"MATLAB 7.3"):
        raise MatError("MATLAB v7.3 (HDF5) files are not supported; save with -v7 or -v6", "header")
    if not text.startswith(b"MATLAB 5.0 MAT-file"):
        raise MatError("not a MATLAB v5 file (no 'MATLAB 5.0 MAT-file' header)", "header")
    endian = {b"IM": "<", b"MI": ">"}.get(raw[126:128])
    if endian is None:
        raise MatError(f"unknown byte-order mark {raw[126:128]!r}", "header")
    out: dict[str, np.ndarray] = {}
    pos = _HEADER
    while pos < len(raw):
        mi, nbytes, data_at, small = _tag(raw, pos, endian)
        end = data_at + nbytes
        if end > len(raw):
            raise MatError(f"element of {nbytes} bytes at byte {pos} runs past the end ({len(raw)} bytes): file truncated?", f"byte {pos}")
        body = raw[data_at:end]
        if mi == _MI_COMPRESSED:
            body = _inflate(body, pos)
            mi, nbytes, inner_at, _ = _tag(body, 0, endian)
            if mi != _MI_MATRIX or inner_at + nbytes > len(body):
                raise MatError("compressed element does not hold one complete array", f"byte {pos}")
            body = body[inner_at : inner_at + nbytes]
            next_pos = end
        elif mi == _MI_MATRIX:
            next_pos = end if small else data_at + _padded(nbytes)
        else:
            raise MatError(f"unexpected top-level element type {mi}", f"byte {pos}")
        name, array = _matrix(body, endian, pos)
        if name in out:
            raise MatError("variable defined twice", name)
        out[name] = array
        pos = next_pos
    return out


def _tag(buf: bytes, pos: int, endian: str) -> tuple[int, int, int, bool]:
    """(type, byte count, where the data starts, small-element format) of the tag at ``pos``."""
    if pos + 8 > len(buf):
        raise MatError(f"element tag at byte {pos} cut short: file truncated?", f"byte {pos}")
    first, second = struct.unpack_from(endian + "II", buf, pos)
    if first >> 16:  # small data element: 2-byte count, 2-byte type, 4 bytes of data
        return first & 0xFFFF, first >> 16, pos + 4, True
    return first, second, pos + 8, False


def _padded(n: int) -> int:
    return (n + 7) // 8 * 8


def _inflate(body: bytes, pos: int) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(body, MAX_VARIABLE_BYTES + 8)
    except zlib.error as e:
        raise MatError(f"compressed element cannot be decompressed ({e})", f"byte {pos}") from None
    if d.unconsumed_tail:
        raise MatError(f"compressed element holds more than {MAX_VARIABLE_BYTES} bytes", f"byte {pos}")
    return out


def _sub(body: bytes, pos: int, endian: str, at: int, what: str) -> tuple[int, bytes, int]:
    """(type, data, next position) of the subelement at ``pos`` of a matrix element."""
    mi, n, data_at, small = _tag(body, pos, endian)
    if data_at + n > len(body):
        raise MatError(f"{what} of the array at byte {at} runs past its element", f"byte {at}")
    return mi, body[data_at : data_at + n], (pos + 8 if small else data_at + _padded(n))


def _matrix(body: bytes, endian: str, at: int) -> tuple[str, np.ndarray]:
    mi, flags, pos = _sub(body, 0, endian, at, "array flags")
    if mi != 6 or len(flags) != 8:
        raise MatError("array element without array flags", f"byte {at}")
    (word,) = struct.unpack_from(endian + "I", flags, 0)
    mx, complex_ = word & 0xFF, bool(word & 0x0800)
    mi, dims_raw, pos = _sub(body, pos, endian, at, "dimensions")
    if mi != 5 or len(dims_raw) % 4 or not dims_raw:
        raise MatError("array element without dimensions", f"byte {at}")
    dims = np.frombuffer(dims_raw, dtype=endian + "i4").tolist()
    mi, name_raw, pos = _sub(body, pos, endian, at, "name")
    if mi != 1:
        raise MatError("array element without a name", f"byte {at}")
    try:
        name = name_raw.decode("ascii")
    except UnicodeDecodeError:
        raise MatError(f"variable name {name_raw!r:.40} is not ASCII", f"byte {at}") from None
    where = name or f"byte {at}"
    if mx not in _MX:
        raise MatError(f"is {_MX_NAMES.get(mx, f'of MATLAB class {mx}')}, expected a numeric array", where)
    if complex_:
        raise MatError("is a complex array, expected real numbers", where)
    if any(d < 0 for d in dims) or int(np.prod(dims, dtype=np.int64)) * 8 > MAX_VARIABLE_BYTES:
        raise MatError(f"has dimensions {dims}", where)
    mi, data, pos = _sub(body, pos, endian, at, "values")
    if mi not in _MI:
        raise MatError(f"values stored as unknown type {mi}", where)
    itemsize = np.dtype(_MI[mi]).itemsize
    count = int(np.prod(dims, dtype=np.int64))
    if len(data) != count * itemsize:
        raise MatError(f"holds {len(data) // itemsize} values for dimensions {'x'.join(map(str, dims))}", where)
    values = np.frombuffer(data, dtype=endian + _MI[mi]).astype(_MX[mx])
    return name, values.reshape(dims, order="F")
