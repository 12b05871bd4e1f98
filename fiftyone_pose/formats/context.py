"""What every reader shares while it reads a file: the file, its errors and its notes.

``ReadContext`` makes the ``PoseFormatError`` that names the file, the record and the field, and
counts the adjustments a reader makes (``PoseData.notes``: nothing is changed or skipped
silently). ``record_name`` spells a record the way every error does: ``annotations[12] (id 900017)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.errors import PoseFormatError
from ..core.numbers import MAX_EXACT_INT, NumberTypeError, is_number, to_array

MISSING = object()
"""A key a record lacks (where ``None`` would be the file's ``null``)."""


class ReadContext:
    """The file being read, its error factory and the adjustment counters (``notes``)."""

    def __init__(self, path: str | os.PathLike | None, notes: dict[str, int] | None = None) -> None:
        self.path = path
        self.notes: dict[str, int] = {} if notes is None else notes

    def error(self, message: str, record: str | None = None, field: str | None = None) -> PoseFormatError:
        return PoseFormatError(message, path=self.path, record=record, field=field)

    def note(self, reason: str, count: int) -> None:
        """Count ``count`` adjustments for ``reason`` (nothing for 0)."""
        if count:
            self.notes[reason] = self.notes.get(reason, 0) + int(count)

    def require_list(self, obj: dict, key: str, record: str) -> list:
        """``obj[key]``, which must be a list."""
        value = obj.get(key, MISSING)
        if value is MISSING:
            raise self.error("required key is missing", record, key)
        if not isinstance(value, list):
            raise self.error(f"expected a list, found {type(value).__name__}", record, key)
        return value

    def numbers(
        self, values: list, where: Callable[[int], tuple[str | None, str | None]], per_record: int, period: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """``to_array`` of the concatenated ``values`` of records, ``per_record`` values each:
        a value that is not a number fails naming ``where(record index)``, its record and field."""
        try:
            return to_array(values, period=period)
        except NumberTypeError as e:
            j = first_bad_number(values)
            if j is None:
                raise self.error(str(e)) from None
            record, field = where(j // max(per_record, 1))
            raise self.error(bad_number_message(values[j], e), record, field) from None


def position(kind: str, records: Sequence[Any], i: int) -> str:
    """``annotations[12]``, counted in the whole file (a ``jsonio.Chunk`` knows where it starts)."""
    return f"{kind}[{getattr(records, 'first', 0) + i}]"


def record_name(kind: str, records: Sequence[Any], i: int) -> str:
    """``annotations[12] (id 900017)``: the record's position in the file and its id."""
    rid = records[i].get("id") if isinstance(records[i], dict) else None
    return position(kind, records, i) + (f" (id {rid})" if rid is not None else "")


def first_bad_number(flat: Sequence[Any]) -> int | None:
    """Index of the first value ``to_array`` rejects: a non-number or an int float64 cannot hold."""
    for j, v in enumerate(flat):
        if not is_number(v) or type(v) is int and abs(v) > MAX_EXACT_INT:
            return j
    return None


def bad_number_message(v: Any, e: NumberTypeError) -> str:
    return str(e) if type(v) in (int, float) else f"expected numbers, found {v!r:.60}"
