"""A small, strict reader of MATLAB v5 ``.mat`` files, and ``write_mat`` (scipy's writer with a
fixed header, for deterministic bytes).

Two reading entry points:

- ``read_mat``: plain numeric arrays only (what MHP's and LSP's pose files hold): real, non-sparse
  numeric matrices (any MATLAB numeric class, stored in any numeric type, plain or
  zlib-compressed), returned as numpy arrays in MATLAB's shape and class. Anything else is an error.
- ``read_mat_values``: also structs and struct arrays (``MatStruct``), cell arrays (numpy object
  arrays in MATLAB's shape) and char arrays (``str`` for a row or an empty char, else a numpy
  array of characters), nested to any depth (MPII's ``RELEASE``). A 1 x 1 numeric array is a
  Python ``float`` (floating classes) or ``int`` (integer classes, logicals): MATLAB has no scalars
  apart from 1 x 1 arrays, and millions of tiny numpy arrays would cost seconds and hundreds of MB.

``write_mat`` writes plain numeric arrays with ``scipy.io.savemat`` (uncompressed v5, each array in
its own MATLAB class) and puts a fixed text in the 116-byte header where scipy writes the time of
writing, so the same arrays always give the same bytes. This is byte for byte what the project's
former hand-written writer produced, for every numeric class and both LSP orientations (a test
pins it).

Not read by either: complex or sparse arrays, objects, function handles, v4 and v7.3/HDF5 files.
Every length and count is checked against the bytes there are before it is used, and nesting is
bounded, so a damaged file is a ``MatError`` naming the variable (with the path inside it, e.g.
``RELEASE.annolist(3).annorect(1).annopoints.point(2).x``) or the byte offset, never a crash or an
endless loop (``scipy.io.loadmat`` can crash the interpreter on damaged files).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

_HEADER = 128
#: storage types: mi code -> numpy type
_MI = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
#: storage types: mi code -> struct module format (for 1 x 1 arrays)
_MI_STRUCT = {1: "b", 2: "B", 3: "h", 4: "H", 5: "i", 6: "I", 7: "f", 9: "d", 12: "q", 13: "Q"}
_MI_INT8, _MI_INT32, _MI_UINT32 = 1, 5, 6
_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: storage types of char data -> codec (miUINT16 holds UTF-16 code units, as MATLAB writes chars)
_CHAR_CODECS = {1: "latin-1", 2: "latin-1", 4: "utf-16", 16: "utf-8", 17: "utf-16", 18: "utf-32"}
#: numeric array classes: mx code -> numpy type of the values
_MX = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_MX_CELL, _MX_STRUCT, _MX_CHAR = 1, 2, 4
_MX_NAMES = {1: "a cell array", 2: "a struct", 3: "an object", 4: "a char array", 5: "a sparse array",
             16: "a function handle", 17: "an opaque object"}  # fmt: skip
#: a variable larger than this once decompressed is refused (pose variables are a few hundred bytes)
MAX_VARIABLE_BYTES = 1 << 24
#: arrays nested deeper than this (structs in cells in structs ...) are refused
MAX_DEPTH = 64
#: a struct array without fields holds no bytes per element; more elements than this are refused
MAX_FIELDLESS_ELEMENTS = 1 << 16


class MatError(ValueError):
    """A ``.mat`` file this reader cannot interpret; ``where`` is the variable or the byte offset."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class MatStruct:
    """A MATLAB struct array: its field names in file order, one dict per element (in MATLAB's
    column-major order) and its dimensions. A plain struct is a 1 x 1 struct array."""

    fields: tuple[str, ...]
    elements: list[dict[str, Any]]
    shape: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.elements)


def read_mat(raw: bytes) -> dict[str, np.ndarray]:
    """The variables of a MATLAB v5 file of numeric arrays, by name, in file order (arrays in MATLAB's shape)."""
    out: dict[str, np.ndarray] = {}
    for pos, body, endian in _variables(raw, MAX_VARIABLE_BYTES):
        name, array = _matrix(body, endian, pos)
        if name in out:
            raise MatError("variable defined twice", name)
        out[name] = array
    return out


def read_mat_values(raw: bytes, max_bytes: int = MAX_VARIABLE_BYTES) -> dict[str, Any]:
    """The variables of a MATLAB v5 file, structs, cells and chars included (see the module doc).

    ``max_bytes``: the largest variable accepted, once decompressed (a guard against zip bombs;
    MPII's ``RELEASE`` is about 160 MB).
    """
    out: dict[str, Any] = {}
    for pos, body, endian in _variables(raw, max_bytes):
        name, value, _ = _Parser(body, endian, pos).matrix(0, len(body), None, 0, top=True)
        if name in out:
            raise MatError("variable defined twice", name)
        out[name] = value
    return out


def variable_names(head: bytes) -> list[str]:
    """The names of the variables that start within ``head`` (the first bytes of a file), for
    sniffing: compressed variables are inflated only as far as their names. Never raises."""
    return [name for name, _ in variable_headers(head)]


def variable_headers(head: bytes) -> list[tuple[str, tuple[int, ...]]]:
    """The names and dimensions of the variables that start within ``head`` (the first bytes of a
    file), for sniffing: compressed variables are inflated only as far as their names. Never raises."""
    try:
        endian = _endian(head)
        found = []
        pos = _HEADER
        while pos + 8 <= len(head):
            outer, nbytes, data_at, small = _tag(head, pos, endian)
            mi = outer
            if outer == _MI_COMPRESSED:
                inner = zlib.decompressobj().decompress(head[data_at : data_at + nbytes], 512)
                mi, _, inner_at, _ = _tag(inner, 0, endian)
                body, at = inner, inner_at
            else:
                body, at = head, data_at
            if mi != _MI_MATRIX:
                break
            parser = _Parser(body, endian, pos)
            _, _, _, at = parser.tag(at, len(body), "array flags", None)
            mi, n, dims_at, at = parser.tag(at, len(body), "dimensions", None)
            dims = tuple(struct.unpack_from(f"{endian}{n // 4}i", body, dims_at)) if mi == _MI_INT32 else ()
            mi, n, name_at, _ = parser.tag(at, len(body), "name", None)
            if mi != _MI_INT8:
                break
            found.append((body[name_at : name_at + n].decode("ascii"), dims))
            pos = data_at + (nbytes if outer == _MI_COMPRESSED or small else _padded(nbytes))
        return found
    except (MatError, zlib.error, UnicodeDecodeError, struct.error):
        return []


# ------------------------------------------------------------------------------------ writing

#: the 116 bytes of descriptive text that open a written file (padded with spaces)
HEADER_TEXT = b"MATLAB 5.0 MAT-file, Platform: any, Created by: fiftyone-pose"
#: MATLAB numeric class name -> numpy type
CLASSES = {
    "double": np.dtype("f8"),
    "single": np.dtype("f4"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "int16": np.dtype("i2"),
    "uint16": np.dtype("u2"),
    "int32": np.dtype("i4"),
    "uint32": np.dtype("u4"),
    "int64": np.dtype("i8"),
    "uint64": np.dtype("u8"),
}


def class_name(dtype: np.dtype) -> str:
    """The MATLAB class of arrays of ``dtype`` (``"double"``, ``"uint8"``, ...); ValueError for others."""
    dtype = np.dtype(dtype)
    for name, numpy_type in CLASSES.items():
        if dtype.kind == numpy_type.kind and dtype.itemsize == numpy_type.itemsize:
            return name
    raise ValueError(f"no MATLAB numeric class holds {dtype} values")


def class_dtype(name: str) -> np.dtype:
    """The numpy type of MATLAB class ``name``; ValueError for a name that is not a numeric class."""
    try:
        return CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown MATLAB numeric class {name!r}; classes: {', '.join(CLASSES)}") from None


def write_mat(variables: dict[str, np.ndarray]) -> bytes:
    """The bytes of a MAT-file holding ``variables`` (name -> numeric array of 2 or more
    dimensions, in its own class), in order: ``scipy.io.savemat`` with ``HEADER_TEXT``."""
    from scipy.io import savemat  # (imported when a file is written: most runs never do)

    buf = io.BytesIO()
    savemat(buf, variables, do_compression=False)
    return HEADER_TEXT.ljust(116, b" ") + buf.getvalue()[116:]


# ------------------------------------------------------------------------------------ file level


def _endian(raw: bytes) -> str:
    """The byte order in a v5 file's header (an error for anything else)."""
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
    return endian


def _variables(raw: bytes, max_bytes: int) -> Iterator[tuple[int, bytes, str]]:
    """(offset, body of the array element, byte order) of each top-level variable, decompressed."""
    endian = _endian(raw)
    pos = _HEADER
    while pos < len(raw):
        mi, nbytes, data_at, small = _tag(raw, pos, endian)
        end = data_at + nbytes
        if end > len(raw):
            raise MatError(
                f"element of {nbytes} bytes at byte {pos} runs past the end ({len(raw)} bytes): file truncated?",
                f"byte {pos}",
            )
        body = raw[data_at:end]
        if mi == _MI_COMPRESSED:
            body = _inflate(body, pos, max_bytes)
            mi, nbytes, inner_at, _ = _tag(body, 0, endian)
            if mi != _MI_MATRIX or inner_at + nbytes > len(body):
                raise MatError("compressed element does not hold one complete array", f"byte {pos}")
            body = body[inner_at : inner_at + nbytes]
            next_pos = end
        elif mi == _MI_MATRIX:
            next_pos = end if small else data_at + _padded(nbytes)
        else:
            raise MatError(f"unexpected top-level element type {mi}", f"byte {pos}")
        yield pos, body, endian
        pos = next_pos


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


def _inflate(body: bytes, pos: int, max_bytes: int = MAX_VARIABLE_BYTES) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(body, max_bytes + 8)
    except zlib.error as e:
        raise MatError(f"compressed element cannot be decompressed ({e})", f"byte {pos}") from None
    if d.unconsumed_tail:
        raise MatError(f"compressed element holds more than {max_bytes} bytes", f"byte {pos}")
    return out


# ------------------------------------------------------------------------------ numeric arrays only


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


# ------------------------------------------------------------------ structs, cells, chars: any value

#: a path inside a variable, built as linked pairs (parent, part) and spelt out only for errors
_Where = tuple | str | None


def spell(where: _Where) -> str:
    """``RELEASE.annolist(3).annorect`` from the linked pairs of a path."""
    parts = []
    while isinstance(where, tuple):
        where, part = where
        parts.append(part)
    if where:
        parts.append(where)
    return "".join(reversed(parts))


class _Parser:
    """Reads the array elements inside one variable's bytes (offsets into one buffer, no copies)."""

    def __init__(self, buf: bytes, endian: str, at: int) -> None:
        self.buf = buf
        self.endian = endian
        self.at = at  # the variable's offset in the file (errors before it has a name)
        self.pair = struct.Struct(endian + "II")
        self.int32 = struct.Struct(endian + "i")
        self.head = struct.Struct(endian + "12I")
        self.scalar = {mi: struct.Struct(endian + code) for mi, code in _MI_STRUCT.items()}

    def fail(self, message: str, where: _Where) -> MatError:
        return MatError(message, spell(where) or f"byte {self.at}")

    def tag(self, pos: int, end: int, what: str, where: _Where) -> tuple[int, int, int, int]:
        """(type, byte count, data offset, offset of the next element) of the element at ``pos``,
        which must lie within ``end``."""
        if pos + 8 > end:
            raise self.fail(f"{what} cut short (at byte {pos} of the variable's {end} bytes)", where)
        first, second = self.pair.unpack_from(self.buf, pos)
        if first >> 16:  # small data element: 2-byte count, 2-byte type, up to 4 bytes of data
            n = first >> 16
            if n > 4:
                raise self.fail(f"{what}: small element claims {n} bytes (at most 4)", where)
            return first & 0xFFFF, n, pos + 4, pos + 8
        if second > end - pos - 8:
            raise self.fail(f"{what} of {second} bytes runs past its element (at byte {pos})", where)
        return first, second, pos + 8, pos + 8 + _padded(second)

    def matrix(self, pos: int, end: int, where: _Where, depth: int, top: bool = False) -> tuple[str, Any, int]:
        """(name, value, next offset) of the array element at ``pos`` (``top``: ``pos`` starts the
        element's contents, its tag already read)."""
        if depth > MAX_DEPTH:
            raise self.fail(f"arrays nested more than {MAX_DEPTH} deep", where)
        buf = self.buf
        if not top and pos + 48 <= end:
            # the usual nested array, in one unpack: tag, flags, 2 dimensions, no name
            h = self.head.unpack_from(buf, pos)
            n = h[1]
            if (
                h[0] == _MI_MATRIX
                and h[2:4] == (6, 8)
                and h[6:8] == (5, 8)
                and h[10:12] == (1, 0)
                and 40 <= n <= end - pos - 8
            ):
                word, d0, d1 = h[4], h[8], h[9]
                mx = word & 0xFF
                if d0 == 1 == d1 and mx in _MX and not word & 0x0800:
                    value = self._scalar(pos + 48, pos + 8 + n, mx, where)
                    if value is not None:
                        return "", value, pos + 8 + (n + 7) // 8 * 8
                if d0 < 0x80000000 and d1 < 0x80000000:
                    return (
                        "",
                        self._value(mx, word & 0x0800, (d0, d1), pos + 48, pos + 8 + n, where, depth),
                        pos + 8 + (n + 7) // 8 * 8,
                    )
        if top:
            start, stop, after = pos, end, end
        else:
            mi, n, start, after = self.tag(pos, end, "array", where)
            if mi != _MI_MATRIX:
                raise self.fail(f"expected an array element, found element type {mi}", where)
            if n == 0:  # an empty element stands for []
                return "", np.zeros((0, 0)), after
            stop = start + n
        mi, n, at, pos = self.tag(start, stop, "array flags", where)
        if mi != _MI_UINT32 or n != 8:
            raise self.fail("array element without array flags", where)
        (word,) = struct.unpack_from(self.endian + "I", buf, at)
        mi, n, at, pos = self.tag(pos, stop, "dimensions", where)
        if mi != _MI_INT32 or n % 4 or not n:
            raise self.fail("array element without dimensions", where)
        dims = struct.unpack_from(f"{self.endian}{n // 4}i", buf, at)
        mi, n, at, pos = self.tag(pos, stop, "name", where)
        if mi != _MI_INT8:
            raise self.fail("array element without a name", where)
        try:
            name = buf[at : at + n].decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"variable name {buf[at : at + n]!r:.40} is not ASCII", where) from None
        if top:
            where = name or None
        if any(d < 0 for d in dims):
            raise self.fail(f"has dimensions {list(dims)}", where)
        return name, self._value(word & 0xFF, word & 0x0800, dims, pos, stop, where, depth), after

    def _value(
        self, mx: int, complex_: int, dims: tuple[int, ...], pos: int, stop: int, where: _Where, depth: int
    ) -> Any:
        """The value of an array of class ``mx`` whose contents (after its name) are ``pos:stop``."""
        count = math.prod(dims)
        if mx in _MX:
            if complex_:
                raise self.fail("is a complex array, expected real numbers", where)
            return self._numeric(pos, stop, mx, dims, count, where)
        if mx == _MX_CHAR:
            return self._chars(pos, stop, dims, count, where)
        if mx == _MX_CELL:
            return self._cell(pos, stop, dims, count, where, depth)
        if mx == _MX_STRUCT:
            return self._struct(pos, stop, dims, count, where, depth)
        raise self.fail(f"is {_MX_NAMES.get(mx, f'of MATLAB class {mx}')}, which is not read", where)

    def _scalar(self, pos: int, stop: int, mx: int, where: _Where) -> float | int | None:
        """The number of a 1 x 1 numeric array whose values start at ``pos``; None where the
        general path must decide (an odd layout, or an error to report)."""
        if pos + 8 > stop:
            return None
        first, second = self.pair.unpack_from(self.buf, pos)
        if first >> 16:
            mi, n, at = first & 0xFFFF, first >> 16, pos + 4
        else:
            mi, n, at = first, second, pos + 8
        scalar = self.scalar.get(mi)
        if scalar is None or n != scalar.size or at + n > stop:
            return None
        (v,) = scalar.unpack_from(self.buf, at)
        if _MX[mx][0] == "f":
            return float(v)
        if not math.isfinite(v) or v != int(v):
            raise self.fail(f"holds {v!r} in an array of MATLAB class {_MX[mx]}", where)
        return int(v)

    def _numeric(self, pos: int, stop: int, mx: int, dims: tuple[int, ...], count: int, where: _Where) -> Any:
        mi, n, at, _ = self.tag(pos, stop, "values", where)
        if mi not in _MI:
            raise self.fail(f"values stored as unknown type {mi}", where)
        scalar = self.scalar[mi]
        if n != count * scalar.size:
            raise self.fail(f"holds {n // scalar.size} values for dimensions {'x'.join(map(str, dims))}", where)
        whole = _MX[mx][0] != "f"  # an integer class (values may be stored as floats)
        if count == 1:
            return self._scalar(pos, stop, mx, where)
        values = np.frombuffer(self.buf, dtype=self.endian + _MI[mi], count=count, offset=at)
        if whole and _MI[mi][0] == "f" and not (np.isfinite(values) & (values == np.trunc(values))).all():
            raise self.fail(f"holds values that are not whole numbers in an array of MATLAB class {_MX[mx]}", where)
        return values.astype(_MX[mx]).reshape(dims, order="F")

    def _chars(self, pos: int, stop: int, dims: tuple[int, ...], count: int, where: _Where) -> str | np.ndarray:
        mi, n, at, _ = self.tag(pos, stop, "characters", where)
        codec = _CHAR_CODECS.get(mi)
        if codec is None:
            raise self.fail(f"characters stored as unknown type {mi}", where)
        if codec in ("utf-16", "utf-32"):
            codec += "-le" if self.endian == "<" else "-be"
        try:
            text = self.buf[at : at + n].decode(codec)
        except UnicodeDecodeError as e:
            raise self.fail(f"characters cannot be decoded as {codec} ({e.reason})", where) from None
        if len(text) != count:
            raise self.fail(f"holds {len(text)} characters for dimensions {'x'.join(map(str, dims))}", where)
        if len(dims) == 2 and dims[0] <= 1:
            return text
        return np.array(list(text), dtype="<U1").reshape(dims, order="F")

    def _cell(self, pos: int, stop: int, dims: tuple[int, ...], count: int, where: _Where, depth: int) -> np.ndarray:
        if count * 8 > stop - pos:
            raise self.fail(f"has dimensions {'x'.join(map(str, dims))} but only {stop - pos} bytes for them", where)
        values = np.empty(count, dtype=object)
        for i in range(count):
            _, values[i], pos = self.matrix(pos, stop, (where, f"{{{i + 1}}}"), depth + 1)
        return values.reshape(dims, order="F")

    def _struct(self, pos: int, stop: int, dims: tuple[int, ...], count: int, where: _Where, depth: int) -> MatStruct:
        buf = self.buf
        mi, n, at, pos = self.tag(pos, stop, "field name length", where)
        if mi != _MI_INT32 or n != 4:
            raise self.fail("struct without its field name length", where)
        (width,) = self.int32.unpack_from(buf, at)
        mi, n, at, pos = self.tag(pos, stop, "field names", where)
        if mi != _MI_INT8 or n and (width <= 0 or n % width):
            raise self.fail(f"struct field names of {n} bytes do not come in names of {width} bytes", where)
        fields = []
        for k in range(at, at + n, max(width, 1)):
            try:
                field = buf[k : k + width].split(b"\x00", 1)[0].decode("ascii")
            except UnicodeDecodeError:
                raise self.fail(f"struct field name {buf[k : k + width]!r:.40} is not ASCII", where) from None
            if not field or field in fields:
                raise self.fail(f"struct field name {field!r} is {'empty' if not field else 'repeated'}", where)
            fields.append(field)
        if not fields and count > MAX_FIELDLESS_ELEMENTS:  # such elements take no bytes: bound them
            raise self.fail(f"struct of dimensions {'x'.join(map(str, dims))} without fields is too large", where)
        if count * len(fields) * 8 > stop - pos:
            raise self.fail(
                f"struct of dimensions {'x'.join(map(str, dims))} with {len(fields)} fields "
                f"needs more than its {stop - pos} bytes",
                where,
            )
        elements = []
        named = [(field, f".{field}") for field in fields]
        matrix = self.matrix
        depth += 1
        for i in range(count):
            element = {}
            inside = where if count == 1 else (where, f"({i + 1})")
            for field, dotted in named:
                _, element[field], pos = matrix(pos, stop, (inside, dotted), depth)
            elements.append(element)
        return MatStruct(tuple(fields), elements, tuple(dims))
