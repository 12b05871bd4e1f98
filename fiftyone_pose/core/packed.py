"""A column of JSON values (strings, dicts of an image's extra keys...) kept as JSON text in one buffer.

An images table of a few hundred thousand rows held as Python objects costs about 500 bytes a row
(a ``str`` is 49 bytes plus its text, a small ``dict`` about 180): AI Challenger's 210k images took
about 100 MB that way, more than the rest of an import's working memory. ``PackedJson`` keeps the
same values as their JSON text (its length plus 9 bytes a row) and decodes a row on access, so
``Images.file_names`` and ``Images.extras`` can be one where a reader builds many rows.

Exact: a value is packed only where decoding its JSON gives an equal value back (strings, numbers
as JSON parsers give them, ``None``, lists and dicts with string keys, in their key order);
``PackedJsonBuilder`` keeps plain Python objects for a column with any other value (a NaN, a tuple,
an integer beyond 64 bits).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import orjson


class PackedJson(Sequence):
    """Values decoded on access from their JSON texts, stored one after the other, comma-separated
    (``buffer``), each ending at ``ends[i]``. Immutable: a row got from it is a new object."""

    def __init__(self, buffer: bytes | bytearray, ends: np.ndarray) -> None:
        self._buffer = buffer
        self._ends = ends

    def __len__(self) -> int:
        return len(self._ends)

    def _start(self, i: int) -> int:
        return int(self._ends[i - 1]) + 1 if i else 0  # past the comma before row i

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            lo, hi, step = i.indices(len(self))
            if step != 1:
                return [self[j] for j in range(lo, hi, step)]
            return self._rows(lo, hi) if hi > lo else []
        j = operator.index(i)
        if j < 0:
            j += len(self)
        if not 0 <= j < len(self):
            raise IndexError("row index out of range")
        return orjson.loads(self._buffer[self._start(j) : int(self._ends[j])])

    def _rows(self, lo: int, hi: int) -> list[Any]:
        """Rows ``lo:hi`` (``lo < hi``) decoded at once, as one JSON array."""
        return orjson.loads(b"[" + self._buffer[self._start(lo) : int(self._ends[hi - 1])] + b"]")

    def __iter__(self) -> Iterator[Any]:
        for lo in range(0, len(self), _ITER_ROWS):
            yield from self._rows(lo, min(lo + _ITER_ROWS, len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedJson):
            return bytes(self._buffer) == bytes(other._buffer) and np.array_equal(self._ends, other._ends)
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes, bytearray)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # (equal to a list, which has none)

    def __repr__(self) -> str:
        return f"PackedJson({len(self)} rows, {len(self._buffer)} bytes)"


#: rows decoded at once when iterating
_ITER_ROWS = 4096


class PackedJsonBuilder:
    """A column built a chunk of rows at a time (``add``), then taken (``column``): a
    ``PackedJson``, or a plain list where some value does not come back equal from its JSON."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ends: list[np.ndarray] = []
        self._plain: list[Any] | None = None  # the rows so far, once a value cannot be packed

    def add(self, values: Sequence[Any]) -> None:
        """Append ``values`` (rows) to the column."""
        texts = _texts(values) if self._plain is None and len(values) else None
        if texts is not None:
            start = len(self._buffer) + 1 if self._buffer else 0
            lengths = np.fromiter(map(len, texts), np.int64, count=len(texts))
            self._ends.append(start + np.cumsum(lengths + 1) - 1)
            self._buffer += (b"," if self._buffer else b"") + b",".join(texts)
            return
        if self._plain is None and len(values):
            self._plain = list(self.column())
        if self._plain is not None:
            self._plain.extend(values)

    def column(self) -> PackedJson | list[Any]:
        """The rows added so far."""
        if self._plain is not None:
            return self._plain
        return PackedJson(self._buffer, np.concatenate(self._ends or [np.zeros(0, np.int64)]))


def _texts(values: Sequence[Any]) -> list[bytes] | None:
    """The JSON text of each value, or None where one does not decode back to an equal value."""
    try:
        texts = list(map(orjson.dumps, values))
    except TypeError:  # an integer beyond 64 bits, a key that is not a string, an object JSON has not
        return None
    # orjson writes NaN as null and a tuple as a list: compared, they differ (JSON keeps the types
    # of numbers and the order of keys); a subclass of str, int, list or dict comes back as its base
    return texts if orjson.loads(b"[" + b",".join(texts) + b"]") == list(values) else None
