"""Many BSON documents read as numpy columns, without a Python object per value.

Export reads every sample of a view with one aggregation. pymongo's decoder makes a dict per
document, a list per array and a float per number, and numpy then copies them again: for COCO
train that was most of the export. Here a raw batch from the server stays one ``bytes``: all its
documents step through their elements together (``Batch.elements``), fields are picked by key
(``Batch.pick``), numbers and numeric arrays are read straight from their bytes
(``Batch.numbers``, ``Batch.number_rows``), and the values without a fixed shape
(segmentations, extra keys) are cut out into small documents that one ``bson.decode_all`` call
decodes (``Batch.decode``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import bson
import numpy as np

DOUBLE, STRING, DOCUMENT, ARRAY, OBJECT_ID, BOOL, NULL, INT32, INT64 = (
    0x01,
    0x02,
    0x03,
    0x04,
    0x07,
    0x08,
    0x0A,
    0x10,
    0x12,
)

#: payload size by type byte: >= 0 fixed; -1 a little-endian int32 length leads (plus ``_LEAD``);
#: -2 two C strings (regex); -3 not a BSON type
_SIZE = np.full(256, -3, np.int64)
for _kind, _size in {
    0x01: 8,
    0x06: 0,
    0x07: 12,
    0x08: 1,
    0x09: 8,
    0x0A: 0,
    0x10: 4,
    0x11: 8,
    0x12: 8,
    0x13: 16,
    0x7F: 0,
    0xFF: 0,
}.items():
    _SIZE[_kind] = _size
_LEAD = np.zeros(256, np.int64)  # bytes a length-led value has beyond its stated length
for _kind, _extra in {0x02: 4, 0x03: 0, 0x04: 0, 0x05: 5, 0x0C: 16, 0x0D: 4, 0x0E: 4, 0x0F: 0}.items():
    _SIZE[_kind] = -1
    _LEAD[_kind] = _extra
_SIZE[0x0B] = -2
_MAX_EXACT_INT = 2**53
_INT32 = struct.Struct("<i")
#: layouts tried per field and batch before the remaining arrays are walked element by element
_MAX_LAYOUTS = 8
#: masks keeping the low 0..8 bytes of a little-endian uint64
_LOW_BYTES = np.array([(1 << (8 * i)) - 1 for i in range(9)], np.uint64)
#: zero bytes after the batch, so fixed-size reads near its end stay inside the buffer
_PAD = 16


@dataclass
class Elements:
    """The elements of a set of documents (or arrays), one row each, by position then document.

    ``by_document`` gives the rows in document order instead.
    """

    owner: np.ndarray  # which document of the set holds the element
    index: np.ndarray  # the element's position in its document
    kind: np.ndarray  # its BSON type byte
    key: np.ndarray  # offset of its key's first byte (the type byte is just before)
    value: np.ndarray  # offset of its value's first byte
    end: np.ndarray  # offset just past its value
    keys: tuple[np.ndarray, dict[str, int]] | None = None  # see ``Batch._keys``

    def by_document(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The rows (all, or ``rows``) ordered by document, then position."""
        rows = np.arange(len(self.owner)) if rows is None else rows
        return rows[np.lexsort((self.index[rows], self.owner[rows]))]

    def take(self, rows: np.ndarray) -> Elements:
        return Elements(
            self.owner[rows], self.index[rows], self.kind[rows], self.key[rows], self.value[rows], self.end[rows]
        )


@dataclass
class Column:
    """One field of each of ``n`` documents: where it is present, its type and value offsets."""

    present: np.ndarray  # bool (n,)
    kind: np.ndarray  # uint8 (n,), 0 where absent
    value: np.ndarray  # int64 (n,)
    end: np.ndarray  # int64 (n,)

    def of_kind(self, kind: int) -> np.ndarray:
        """Which documents hold the field with this type."""
        return self.present & (self.kind == kind)


class Batch:
    """BSON bytes (a raw batch of documents) and the offsets into them that numpy works with."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.buf = np.frombuffer(raw + bytes(_PAD), np.uint8)
        self._views: dict[str, np.ndarray] = {}

    def documents(self) -> np.ndarray:
        """Offsets of the top-level documents, which follow one another in the bytes."""
        starts, at, unpack = [], 0, _INT32.unpack_from
        while at < len(self.raw):
            starts.append(at)
            at += unpack(self.raw, at)[0]
        if at != len(self.raw):
            raise ValueError("BSON batch: the last document runs past the end of the bytes")
        return np.array(starts, np.int64)

    def elements(self, starts: np.ndarray, array: bool = False) -> Elements:
        """The elements of the documents (or ``array``s) whose bytes start at ``starts``, all walked together.

        Array keys are the positions ("0", "1", ...), so their length is known without a search.
        """
        pos = np.asarray(starts, np.int64) + 4
        owner = np.arange(len(pos))
        found = []
        index = 0
        while len(pos):
            kind = self.buf[pos]
            live = np.flatnonzero(kind)
            if len(live) < len(pos):
                pos, owner, kind = pos[live], owner[live], kind[live]
                if not len(pos):
                    break
            key = pos + 1
            if array:
                value = key + len(str(index)) + 1
                odd = np.flatnonzero(self.buf[value - 1])  # not the key "index": find its end
                if len(odd):
                    value[odd] = self._after_cstring(key[odd])
            else:
                value = self._after_cstring(key)
            size = _SIZE[kind]
            var = np.flatnonzero(size < 0)
            if len(var):
                size[var] = self._variable_sizes(kind[var], value[var])
            end = value + size
            found.append((owner, np.full(len(pos), index), kind, key, value, end))
            pos = end
            index += 1
        if not found:
            empty = np.zeros(0, np.int64)
            return Elements(empty, empty, np.zeros(0, np.uint8), empty, empty, empty)
        return Elements(*(np.concatenate(c) for c in zip(*found)))

    def pick(self, els: Elements, name: str) -> np.ndarray:
        """Rows of ``els`` whose key is ``name``."""
        codes, names = self._keys(els)
        code = names.get(name)
        return np.flatnonzero(codes == code) if code is not None else np.zeros(0, np.int64)

    def _keys(self, els: Elements) -> tuple[np.ndarray, dict[str, int]]:
        """Each element's key as a code, and the code of each key (computed once per ``Elements``).

        A key is identified by its length and its first 16 bytes, read as two integers; the few
        longer keys add a hash of the rest and are then compared byte for byte with the first
        element of their code, so no two keys can share one.
        """
        if els.keys is None:
            length = els.value - 1 - els.key
            ident = np.zeros((len(length), 4), np.uint64)
            ident[:, 0] = length
            for j in (0, 1):
                ident[:, 1 + j] = self.read("<u8", els.key + 8 * j) & _LOW_BYTES[np.clip(length - 8 * j, 0, 8)]
            long = np.flatnonzero(length > 16)
            for i in range(16, int(length.max(initial=0))):
                long = long[length[long] > i]
                ident[long, 3] = (ident[long, 3] * np.uint64(0x100000001B3)) ^ self.buf[els.key[long] + i]
            _, first, codes = np.unique(ident.view("V32").reshape(-1), return_index=True, return_inverse=True)
            codes = codes.reshape(-1)
            long = np.flatnonzero(length > 16)
            rep = els.key[first][codes]
            for i in range(16, int(length.max(initial=0))):
                long = long[length[long] > i]
                if (self.buf[els.key[long] + i] != self.buf[rep[long] + i]).any():
                    raise ValueError("BSON keys: hash collision between two long field names")
            names = {
                self.raw[k : v - 1].decode(): c
                for c, (k, v) in enumerate(zip(els.key[first].tolist(), els.value[first].tolist()))
            }
            els.keys = (codes, names)
        return els.keys

    def column(self, els: Elements, name: str, n: int) -> Column:
        """Field ``name`` of each of the ``n`` documents ``els`` belongs to."""
        rows = self.pick(els, name)
        col = Column(np.zeros(n, bool), np.zeros(n, np.uint8), np.zeros(n, np.int64), np.zeros(n, np.int64))
        owner = els.owner[rows]
        col.present[owner] = True
        col.kind[owner], col.value[owner], col.end[owner] = els.kind[rows], els.value[rows], els.end[rows]
        return col

    def numbers(
        self, kind: np.ndarray, value: np.ndarray, null: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Numbers at ``value`` of the given types: (float64 values, which were ints, which were numbers).

        Doubles and ints float64 holds exactly (int32, int64 within ±2^53) are numbers, and nulls
        where ``null`` (as NaN); anything else gives NaN and is flagged not a number.
        """
        out = np.full(len(kind), np.nan)
        ok = (kind == DOUBLE) | (kind == INT32) | (null & (kind == NULL))
        for k, dtype in ((DOUBLE, "<f8"), (INT32, "<i4"), (INT64, "<i8")):
            rows = np.flatnonzero(kind == k)
            if len(rows):
                values = self.read(dtype, value[rows])
                if k == INT64:
                    exact = np.abs(values) <= _MAX_EXACT_INT
                    ok[rows[exact]] = True
                    rows, values = rows[exact], values[exact]
                out[rows] = values
        return out, ((kind == INT32) | (kind == INT64)) & ok, ok

    def integers(self, col: Column, default: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """An integer field as int64 (``default`` where absent or null), where it was given, and where it is no integer.

        Booleans are 0/1 and whole doubles within int64 count as integers.
        """
        out = np.full(len(col.present), default, np.int64)
        given = col.present & (col.kind != NULL)
        bad = given & ~np.isin(col.kind, (INT32, INT64, DOUBLE, BOOL))
        for k, dtype in ((INT32, "<i4"), (INT64, "<i8"), (BOOL, "u1"), (DOUBLE, "<f8")):
            rows = np.flatnonzero(given & (col.kind == k))
            if len(rows):
                values = self.read(dtype, col.value[rows])
                if k == DOUBLE:
                    whole = (np.abs(values) < 2.0**63) & (values == np.trunc(values))
                    bad[rows[~whole]] = True
                    rows, values = rows[whole], values[whole]
                out[rows] = values
        return out, given, bad

    def items(self, starts: np.ndarray, width: int, period: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first ``width`` elements of the arrays at ``starts``: (type bytes (n, width), 0 past
        an array's end; value offsets (n, width); each array's length).

        Arrays whose elements repeat a layout with period ``period`` (e.g. x, y as doubles and
        v as an int, or [x, y] pairs of doubles) are located by arithmetic, checked against
        every type byte, key end and the array's size; the others are walked (``elements``).
        """
        n = len(starts)
        kind, value = np.zeros((n, width), np.uint8), np.zeros((n, width), np.int64)
        lengths = np.zeros(n, np.int64)
        walk = np.ones(n, bool)
        if n and width:
            walk = ~self._fixed_items(np.asarray(starts, np.int64), width, min(period, width), kind, value, lengths)
        rows = np.flatnonzero(walk)
        if len(rows):
            els = self.elements(starts[rows], array=True)
            lengths[rows] = np.bincount(els.owner, minlength=len(rows))
            keep = els.index < width
            kind[rows[els.owner[keep]], els.index[keep]] = els.kind[keep]
            value[rows[els.owner[keep]], els.index[keep]] = els.value[keep]
        return kind, value, lengths

    def _fixed_items(
        self, starts: np.ndarray, width: int, period: int, kind: np.ndarray, value: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        """Fill ``items``' outputs for the arrays laid out as their first ``period`` elements repeat;
        returns which arrays were done."""
        n = len(starts)
        digits = np.array([len(str(j)) for j in range(width)], np.int64)
        # the first ``period`` elements of each array: type and size (numbers by type, nested by their own length)
        phase_kind = np.zeros((n, period), np.uint8)
        phase_size = np.zeros((n, period), np.int64)
        pos = starts + 4
        ok = np.ones(n, bool)
        for j in range(period):  # an array stops here at its first element of no fixed layout (or its end)
            k = self.buf[pos]
            nested = (k == DOCUMENT) | (k == ARRAY)
            ok &= (_SIZE[k] > 0) | nested
            ok &= self.buf[pos + 1 + digits[j]] == 0  # the key is "j"
            nested &= ok
            at = pos + 2 + digits[j]
            size = np.where(nested, self.read("<i4", np.where(nested, at, starts)), np.maximum(_SIZE[k], 0))
            phase_kind[:, j], phase_size[:, j] = k, size
            pos = np.where(ok, at + size, pos)
        total = self.read("<i4", starts)
        done = np.zeros(n, bool)
        signature = np.concatenate([phase_kind.astype(np.int64), phase_size], axis=1)
        left = np.flatnonzero(ok)
        j = np.arange(width)
        for _ in range(_MAX_LAYOUTS):  # the arrays of one field mostly share one layout, or a few
            if not len(left):
                break
            pattern = signature[left[0]]
            mine = (signature[left] == pattern).all(axis=1)
            rows, left = left[mine], left[~mine]
            pk, ps = pattern[:period].astype(np.uint8), pattern[period:]
            offset = np.concatenate(
                [[4], 4 + np.cumsum(2 + digits + ps[j % period])]
            )  # element j's start; [L]: the end
            length = np.searchsorted(offset, total[rows] - 1)
            fits = (length <= width) & (offset[np.minimum(length, width)] == total[rows] - 1)
            for size in np.unique(length[fits]).tolist():  # usually one length per field
                r = rows[fits & (length == size)]
                head = starts[r][:, None] + offset[None, :size]
                same = (self.buf[head] == pk[j[:size] % period]).all(axis=1)
                same &= (self.buf[head + 1 + digits[:size]] == 0).all(axis=1)
                at = head + 2 + digits[:size]
                nested = (pk == DOCUMENT) | (pk == ARRAY)
                if nested.any():  # each nested element has the size of its phase's first one
                    cols = np.flatnonzero(nested[j[:size] % period])
                    same &= (self.read("<i4", at[:, cols]) == ps[cols % period]).all(axis=1)
                r = r[same]
                kind[r, :size] = pk[j[:size] % period]
                value[r, :size] = at[same]
                lengths[r] = size
                done[r] = True
        return done

    def number_rows(
        self, starts: np.ndarray, width: int, period: int = 1, null: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Arrays of numbers at ``starts`` as rows: (float64 (n, width) NaN-padded, ints, lengths,
        which hold a non-number).

        Elements past ``width`` count in the lengths only. ``period``: see ``items``; ``null``:
        see ``numbers`` (otherwise a null is flagged as not a number).
        """
        n = len(starts)
        kind, value, lengths = self.items(starts, width, period)
        present = np.arange(width)[None, :] < np.minimum(lengths, width)[:, None]
        nums, is_int, ok = self.numbers(kind[present], value[present], null)
        values, ints = np.full((n, width), np.nan), np.zeros((n, width), bool)
        values[present], ints[present] = nums, is_int
        bad = np.zeros(n, bool)
        bad[np.flatnonzero(present)[~ok] // max(width, 1)] = True
        return values, ints, lengths, bad

    def object_ids(self, value: np.ndarray) -> np.ndarray:
        """The 12 bytes of the ObjectIds at ``value``, as a (n,) ``V12`` array (sortable, comparable)."""
        return self.read("V12", value)

    def strings(self, value: np.ndarray) -> list[str]:
        """The strings at ``value``."""
        lengths = self.read("<i4", value).tolist()
        return [self.raw[v + 4 : v + 3 + n].decode() for v, n in zip(value.tolist(), lengths)]

    def decode(self, els: Elements, rows: np.ndarray, n: int) -> list[dict[str, Any]]:
        """Per document of ``els`` (``n`` in all), a dict of its elements ``rows``, decoded by pymongo.

        The elements are copied into one small document per owner, in their order, and one
        ``bson.decode_all`` call decodes them all; documents without such elements get ``{}``.
        (Slices of the bytes: per-byte index arrays would take some 20 times the batch's size.)
        """
        out: list[dict[str, Any]] = [{} for _ in range(n)]
        if not len(rows):
            return out
        sel = els.take(els.by_document(rows))
        raw = self.raw
        pieces = [raw[a:b] for a, b in zip((sel.key - 1).tolist(), sel.end.tolist())]  # type byte to value end
        owners, first = np.unique(sel.owner, return_index=True)
        bounds = [*first.tolist(), len(pieces)]
        docs = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            body = pieces[lo] if hi - lo == 1 else b"".join(pieces[lo:hi])
            docs.append(_INT32.pack(len(body) + 5) + body + b"\x00")
        for i, doc in zip(owners.tolist(), bson.decode_all(b"".join(docs))):
            out[i] = doc
        return out

    def read(self, dtype: str, at: np.ndarray) -> np.ndarray:
        """Little-endian values of ``dtype`` at byte offsets ``at`` (any alignment)."""
        if dtype not in self._views:  # item i: the bytes from offset i (numpy reads unaligned items)
            size = np.dtype(dtype).itemsize
            self._views[dtype] = np.ndarray((len(self.buf) - size + 1,), dtype, buffer=self.buf, strides=(1,))
        return self._views[dtype][at]

    def _after_cstring(self, at: np.ndarray) -> np.ndarray:
        """Offset just past the NUL that ends each C string starting at ``at`` (keys are short)."""
        end = at.copy()
        open_ = np.flatnonzero(self.buf[end])
        while len(open_):
            end[open_] += 1
            open_ = open_[self.buf[end[open_]] != 0]
        return end + 1

    def _variable_sizes(self, kind: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Payload sizes of values whose size is in their bytes (strings, documents, binaries, regexes)."""
        if (_SIZE[kind] == -3).any():
            raise ValueError(f"BSON: unknown element type 0x{int(kind[_SIZE[kind] == -3][0]):02x}")
        size = np.zeros(len(kind), np.int64)
        led = np.flatnonzero(_SIZE[kind] == -1)
        if len(led):
            size[led] = self.read("<i4", value[led]) + _LEAD[kind[led]]
        regex = np.flatnonzero(_SIZE[kind] == -2)
        if len(regex):
            size[regex] = self._after_cstring(self._after_cstring(value[regex])) - value[regex]
        return size
