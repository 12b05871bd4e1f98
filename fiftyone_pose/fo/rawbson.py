"""BSON bytes for many documents of one shape at once, built with numpy instead of per-value calls.

Import writes finished sample documents with ``insert_many``; encoding them value by value (the
C encoder walking millions of floats in nested lists, after Python built those lists) was half
of the import time. Here a ``Block`` is one part of every row's document as padded byte
matrices: each ``Part`` has ``data`` (rows, width) uint8 and, where some rows leave bytes out,
``valid`` (rows, width) bool and its bytes per row; the row's bytes are ``data[i][valid[i]]``,
part after part. Blocks of fixed-type columns take a few numpy operations, nest without
copying, and are cut into one ``bytes`` per row at the end; documents of many such rows and
other per-row bytes are joined column by column (``documents_of``).
The encoding is pymongo's own (same element types, ints as int32 where they fit, else int64),
which the tests pin byte for byte against ``bson.encode``.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby, repeat
from typing import NamedTuple

import numpy as np

from ..core.numbers import int_cells

DOUBLE, STRING, DOCUMENT, ARRAY, OBJECT_ID, NULL, INT32, INT64 = 0x01, 0x02, 0x03, 0x04, 0x07, 0x0A, 0x10, 0x12
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


class Part(NamedTuple):
    """One part of every row: row ``i`` is ``data[i][valid[i]]`` (all of ``data[i]`` where ``valid``
    is None). ``sizes``: bytes per row, where the maker knows them without counting ``valid``."""

    data: np.ndarray
    valid: np.ndarray | None = None
    sizes: np.ndarray | None = None

    def row_sizes(self) -> np.ndarray | int:
        """Bytes per row (an int where every row has all bytes)."""
        if self.valid is None:
            return self.data.shape[1]
        return self.valid.sum(axis=1, dtype=np.int64) if self.sizes is None else self.sizes


@dataclass
class Block:
    """Part of every row's document: row ``i`` is ``data[i][valid[i]]`` of each part in turn."""

    n: int
    parts: list[Part] = field(default_factory=list)
    _lengths: np.ndarray | None = None

    @property
    def lengths(self) -> np.ndarray:
        """Bytes per row."""
        if self._lengths is None:
            self._lengths = _row_sizes(self.n, self.parts)
        return self._lengths

    def rows(self) -> list[bytes]:
        """Each row's bytes.

        Parts are cut in runs: a run of parts without masks is cut at its fixed width, the others
        through their masks, and each row joins its runs. Masking every byte was most of the
        time of a COCO-WholeBody person (10 kB, half of it in unmasked parts)."""
        runs: list[tuple[bool, list[Part]]] = []  # (masked, parts)
        for part in self.parts:
            masked = part.valid is not None
            if runs and runs[-1][0] == masked:
                runs[-1][1].append(part)
            else:
                runs.append((masked, [part]))
        # a narrow unmasked run is masked with its neighbours: cutting a run costs a few hundred bytes' masking
        merged: list[tuple[bool, list[Part]]] = []
        for masked, parts in runs:
            if not masked and len(runs) > 1 and sum(part.data.shape[1] for part in parts) < _NARROW_RUN:
                masked = True
            if merged and merged[-1][0] == masked:
                merged[-1][1].extend(parts)
            else:
                merged.append((masked, parts))
        cut = [_cut(self.n, parts, masked) for masked, parts in merged]
        if not cut:
            return [b""] * self.n
        return cut[0] if len(cut) == 1 else list(map(b"".join, zip(*cut)))

    def only(self, present: np.ndarray) -> Block:
        """This block in the rows ``present``, nothing in the others."""
        parts = [
            Part(
                part.data,
                (np.ones(part.data.shape, bool) if part.valid is None else part.valid) & present[:, None],
                part.row_sizes() * present,
            )
            for part in self.parts
        ]
        return Block(self.n, parts)


#: unmasked runs of parts narrower than this many bytes are cut with the masked ones (``Block.rows``)
_NARROW_RUN = 256


def _row_sizes(n: int, parts: list[Part]) -> np.ndarray:
    """Bytes per row of ``parts``."""
    total = np.zeros(n, np.int64)
    for part in parts:
        total += part.row_sizes()
    return total


def _cut(n: int, parts: list[Part], masked: bool) -> list[bytes]:
    """Each row's bytes of ``parts``: through their masks if ``masked``, else at their fixed width."""
    data = np.concatenate([part.data for part in parts], axis=1) if len(parts) > 1 else parts[0].data
    if not masked:
        width = data.shape[1]
        return fixed_rows(np.ascontiguousarray(data).tobytes(), width) if width else [b""] * n
    valid = np.concatenate([np.ones(d.shape, bool) if v is None else v for d, v, _ in parts], axis=1)
    ends = np.cumsum(_row_sizes(n, parts)).tolist()
    return slices(data[valid].tobytes(), [0, *ends[:-1]], ends)


def slices(buf: bytes | memoryview, starts: Iterable[int], ends: Iterable[int]) -> list:
    """``buf[a:b]`` for each ``a`` of ``starts`` and ``b`` of ``ends``, cut in C (a memoryview's
    slices are views, not copies)."""
    return list(map(buf.__getitem__, map(slice, starts, ends)))


def fixed_rows(buf: bytes, width: int) -> list[bytes]:
    """``buf`` cut into rows of ``width`` bytes."""
    return slices(buf, range(0, len(buf), width), range(width, len(buf) + width, width))


def element_head(kind: int, key: str) -> bytes:
    """Type byte and key of an element (the value follows)."""
    return bytes([kind]) + key.encode() + b"\x00"


def const(n: int, raw: bytes, present: np.ndarray | None = None) -> Block:
    """The same bytes in every row (in the rows ``present``, if given)."""
    data = np.broadcast_to(np.frombuffer(raw, np.uint8), (n, len(raw)))
    if present is None:
        return Block(n, [Part(data)])
    return Block(n, [Part(data, np.repeat(present[:, None], len(raw), axis=1), present * len(raw))])


def concat(blocks: list[Block]) -> Block:
    """The blocks' bytes one after the other in each row."""
    return Block(blocks[0].n, [part for b in blocks for part in b.parts])


def object_ids(key: str, oids: np.ndarray) -> Block:
    """ObjectId elements from a (rows, 12) uint8 array of their bytes."""
    return concat([const(len(oids), element_head(OBJECT_ID, key)), Block(len(oids), [Part(oids)])])


def numbers(keys: list[str], values: np.ndarray, is_int: np.ndarray | bool, present: np.ndarray | None = None) -> Block:
    """One number element per column of float64 ``values`` (rows, len(keys)) under ``keys``.

    Floats become doubles; values flagged in ``is_int`` (and integral, below 2^63) become ints,
    as pymongo encodes a Python int. ``present`` (rows, columns) drops elements.
    """
    ints = int_cells(values, is_int)
    if not ints.any():
        return _cells(keys, np.ascontiguousarray(values, dtype="<f8").view(np.int64), False, present)
    as_int = np.where(ints, values, 0).astype(np.int64)
    bits = np.where(ints, as_int, np.ascontiguousarray(values, dtype=np.float64).view(np.int64))  # doubles bit for bit
    return _cells(keys, bits, ints, present)


def integers(keys: list[str], values: np.ndarray, present: np.ndarray | None = None) -> Block:
    """One int element per column of int ``values`` (rows, len(keys)) under ``keys``."""
    return _cells(keys, values.astype(np.int64), True, present)


def _cells(keys: list[str], bits: np.ndarray, ints: np.ndarray | bool, present: np.ndarray | None) -> Block:
    """Number elements from int64 ``bits``: the int where ``ints``, else a double's bit pattern.

    Ints are int32 where they fit, else int64 (pymongo's rule). Keys of one length form one
    (rows, keys, cell) array filled by slices; cells are padded to 8 payload bytes unless every
    value is an int32.
    """
    n, m = bits.shape
    if ints is False:
        small, kind = None, DOUBLE
    else:
        small = (bits >= _INT32_MIN) & (bits <= _INT32_MAX)
        if ints is not True:
            small &= ints
        kind = np.where(small, INT32, INT64 if ints is True else np.where(ints, INT64, DOUBLE)).astype(np.uint8)
    all_int32 = small is not None and bool(small.all())
    size = 4 if all_int32 else 8
    payload = bits.astype("<i8").view(np.uint8).reshape(n, m, 8)[:, :, :size]
    parts: list[Part] = []
    a = 0
    for key_len, group in groupby(keys, key=len):
        g = len(list(group))
        b, head = a + g, key_len + 2
        cells = np.empty((n, g, head + size), np.uint8)
        cells[:, :, 0] = kind if np.isscalar(kind) else kind[:, a:b]
        cells[:, :, 1 : head - 1] = np.frombuffer("".join(keys[a:b]).encode(), np.uint8).reshape(g, key_len)
        cells[:, :, head - 1] = 0
        cells[:, :, head:] = payload[:, a:b]
        if present is None and (small is None or all_int32):
            parts.append(Part(cells.reshape(n, -1)))
        else:
            mask = np.ones((n, g, head + size), bool)
            sizes = np.full((n, g), head + size)
            if small is not None and not all_int32:
                mask[:, :, head + 4 :] = ~small[:, a:b, None]  # an int32's last 4 bytes are left out
                sizes -= 4 * small[:, a:b]
            if present is not None:
                mask &= present[:, a:b, None]
                sizes *= present[:, a:b]
            parts.append(Part(cells.reshape(n, -1), mask.reshape(n, -1), sizes.sum(axis=1)))
        a = b
    return Block(n, parts)


def document(
    kind: int,
    key: str | Block | None,
    body: Block,
    present: np.ndarray | None = None,
    appended: np.ndarray | None = None,
) -> Block:
    """An embedded document (or array, ``kind=ARRAY``) element holding ``body``'s elements.

    ``key``: the element's key, or per-row element heads (``index_heads``), or None for the
    document itself (a top-level document to insert). ``appended``: per-row byte counts of
    elements the caller appends after each row's bytes, followed by the closing NUL byte; the
    block's rows then stop before them.
    """
    n = body.n
    extra = 0 if appended is None else appended
    sizes = (body.lengths + extra + 5).astype("<i4").view(np.uint8).reshape(n, 4)
    head = [] if key is None else [key if isinstance(key, Block) else const(n, element_head(kind, key))]
    tail = [] if appended is not None else [const(n, b"\x00")]
    out = concat([*head, Block(n, [Part(sizes)]), body, *tail])
    return out if present is None else out.only(present)


def index_heads(kind: int, index: np.ndarray) -> Block:
    """Per-row element heads whose keys are array positions: type byte, ``str(index)``, NUL."""
    n = len(index)
    digits = np.maximum(np.floor(np.log10(np.maximum(index, 1))).astype(np.int64) + 1, 1)
    width = int(digits.max(initial=1))
    data = np.zeros((n, width + 2), np.uint8)
    data[:, 0] = kind
    for d in range(width):  # digit d counted from the left, where the key has it
        power = np.where(digits - 1 - d >= 0, 10 ** np.maximum(digits - 1 - d, 0), 1)
        data[:, 1 + d] = np.where(d < digits, (index // power) % 10 + 48, 0)
    return Block(n, [Part(data, np.arange(width + 2)[None, :] < (digits + 2)[:, None], digits + 2)])


def array(key: str, values: np.ndarray, is_int: np.ndarray | bool, present: np.ndarray | None = None) -> Block:
    """An array element of the numbers in each row of ``values`` (rows, columns)."""
    return document(ARRAY, key, numbers(_index_keys(values.shape[1]), values, is_int), present)


def int_array(key: str, values: np.ndarray) -> Block:
    """An array element of the ints in each row of int ``values`` (rows, columns)."""
    return document(ARRAY, key, integers(_index_keys(values.shape[1]), values))


@functools.cache
def _index_keys(count: int) -> list[str]:
    return [str(j) for j in range(count)]


def pair_array(key: str, values: np.ndarray) -> Block:
    """An array element of [x, y] double arrays, from ``values`` (rows, points, 2): one fixed layout."""
    n, k, _ = values.shape
    pair = np.frombuffer(int32_bytes(27) + b"\x010\x00" + bytes(8) + b"\x011\x00" + bytes(8) + b"\x00", np.uint8)
    items = [element_head(ARRAY, str(j)) for j in range(k)]
    body = b"".join(item + pair.tobytes() for item in items)
    template = np.frombuffer(element_head(ARRAY, key) + wrap(body), np.uint8)
    data = np.repeat(template[None, :], n, axis=0)
    starts = np.cumsum([0, *[len(i) + len(pair) for i in items]], dtype=np.int64)[:k]
    first = len(element_head(ARRAY, key)) + 4 + starts + np.array([len(i) for i in items], dtype=np.int64)
    at = np.stack([first + 7, first + 18], axis=1).reshape(-1)[:, None] + np.arange(
        8
    )  # the x, then y payload of each pair
    data[:, at] = np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(n, 2 * k, 8)
    return Block(n, [Part(data)])


def int32_bytes(value: int) -> bytes:
    return struct.pack("<i", value)


def string(key: str, value: str) -> bytes:
    """A string element."""
    raw = value.encode()
    return element_head(STRING, key) + int32_bytes(len(raw) + 1) + raw + b"\x00"


def wrap(elements: bytes) -> bytes:
    """A document's bytes from its elements' bytes."""
    return int32_bytes(len(elements) + 5) + elements + b"\x00"


#: per-row bytes of many documents at once: a ``bytes`` column is the same in every row
Column = bytes | list[bytes] | list[memoryview]


def int32_column(values: np.ndarray) -> list[bytes]:
    """``int32_bytes`` of each value."""
    return fixed_rows(np.ascontiguousarray(values, dtype="<i4").tobytes(), 4)


def lengths_of(column: Column, n: int) -> np.ndarray:
    """Bytes per row of ``column``."""
    if isinstance(column, bytes):
        return np.full(n, len(column), np.int64)
    return np.fromiter(map(len, column), np.int64, count=n)


def string_column(key: str, values: list[str]) -> list[Column]:
    """Columns of string elements ``key``, one per value (as ``string``, without a call per value)."""
    raw = [value.encode() for value in values]
    return [element_head(STRING, key), int32_column(lengths_of(raw, len(raw)) + 1), raw, b"\x00"]


def documents_of(columns: list[Column], n: int) -> list[bytes]:
    """``n`` documents, each of its row's elements in ``columns`` in turn: joined row by row in C,
    with sizes summed in numpy, instead of a few Python calls per document."""
    sizes = sum((lengths_of(c, n) for c in columns), np.full(n, 5, np.int64))
    every = [int32_column(sizes), *columns, b"\x00"]
    return list(map(b"".join, zip(*(repeat(c, n) if isinstance(c, bytes) else c for c in every))))


class ObjectIdSource:
    """ObjectId bytes made in bulk, laid out as ``ObjectId()`` lays them out: 4 bytes of creation
    time, 5 random bytes of this process, a 3-byte counter.

    The random bytes are this package's own (not pymongo's), drawn again in a forked child, so
    these ids never repeat pymongo's or another process's. The ids of one process only grow
    (where the counter would wrap, the time part moves on a second), so sorting by id gives the
    order they were made in: an import's samples in file order.
    """

    def __init__(self, counter: int | None = None) -> None:
        self._lock = threading.Lock()
        self._first = counter  # the counter's first value in each process (None: random)
        self._pid = -1
        self._random = b""
        self._time = 0
        self._counter = 0

    def take(self, n: int) -> np.ndarray:
        """The bytes (n, 12) of ``n`` new ids, in increasing order."""
        assert n <= _COUNTER_SIZE
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._random = os.getpid(), os.urandom(5)
                self._counter = int.from_bytes(os.urandom(3), "big") if self._first is None else self._first
            seconds = max(int(time.time()), self._time)
            if self._counter + n > _COUNTER_SIZE:
                seconds, self._counter = max(seconds, self._time + 1), 0
            start, self._time = self._counter, seconds
            self._counter += n
        raw = np.empty((n, 12), np.uint8)
        raw[:, :9] = np.frombuffer(seconds.to_bytes(4, "big") + self._random, np.uint8)
        counters = (start + np.arange(n, dtype=np.int64)).astype(">u4").view(np.uint8)
        raw[:, 9:] = counters.reshape(n, 4)[:, 1:]
        return raw


_COUNTER_SIZE = 0x1000000
new_object_ids = ObjectIdSource().take
