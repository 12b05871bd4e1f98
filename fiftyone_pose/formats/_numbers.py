"""Exact JSON numbers <-> float64 arrays: keep every value and whether it was written as an int."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.model import IntMask

_MAX_EXACT_INT = 2**53  # float64 holds every int up to this exactly


class NumberTypeError(ValueError):
    """A list that should hold numbers holds something else (the caller names the record)."""


def to_array(values: Sequence[Any], period: int = 1) -> tuple[np.ndarray, IntMask]:
    """float64 array of JSON numbers and which of them were ints (True/False if all alike).

    ``period`` (e.g. 3 for x, y, v triplets) lets a list whose every x is a float and every v an
    int get its mask from one type check per phase instead of one per value. Int subclasses count
    as ints (MongoDB hands back 64-bit ints as ``bson.Int64``); bools do not.
    """
    types = set(map(type, values))
    int_types = {t for t in types if issubclass(t, int) and t is not bool}
    others = types - int_types - {float}
    if others:
        raise NumberTypeError(f"expected numbers, found {', '.join(sorted(t.__name__ for t in others))}")
    arr = np.array(values, dtype=np.float64)
    if float not in types:
        _check_exact(values, arr, None)
        return arr, True
    if not int_types:
        return arr, False
    mask = _phase_mask(values, period, int_types) if period > 1 and len(values) % period == 0 else None
    if mask is None:
        mask = np.fromiter((type(v) in int_types for v in values), dtype=bool, count=len(values))
    _check_exact(values, arr, mask)
    return arr, mask


def _phase_mask(values: Sequence[Any], period: int, int_types: set[type]) -> np.ndarray | None:
    """The int mask when each phase (position modulo ``period``) holds one kind only, else None."""
    pattern = []
    for phase in range(period):
        kinds = {t in int_types for t in set(map(type, values[phase::period]))}
        if len(kinds) != 1:
            return None
        pattern.append(kinds.pop())
    return np.tile(np.array(pattern), len(values) // period)


def _check_exact(values: Sequence[Any], arr: np.ndarray, ints: np.ndarray | None) -> None:
    """Raise if an int of ``values`` (all, or those flagged in ``ints``) lost precision in ``arr``.

    Beyond ±2^53 float64 rounds (2^53 + 1 -> 2^53), so the few values at or beyond it are
    checked against the exact Python ints.
    """
    big = np.abs(arr) >= _MAX_EXACT_INT
    if ints is not None:
        big &= ints
    if big.any() and any(abs(values[i]) > _MAX_EXACT_INT for i in np.flatnonzero(big).tolist()):
        raise NumberTypeError("integer beyond ±2^53 cannot be kept exactly")


def to_lists(arr: np.ndarray, mask: IntMask) -> list[Any]:
    """``arr.tolist()`` with the values flagged in ``mask`` written as ints.

    A value flagged int that is no longer integral (edited since reading) is written as a float,
    so nothing is ever rounded.
    """
    if mask is False or arr.size == 0:
        return arr.tolist()
    integral = np.isfinite(arr) & (arr == np.trunc(arr))
    if mask is True and integral.all():
        return arr.astype(np.int64).tolist()
    ints = integral & np.broadcast_to(mask, arr.shape)
    if not ints.any():
        return arr.tolist()
    out = arr.astype(object)
    out[ints] = arr[ints].astype(np.int64)  # cast to object dtype gives Python ints
    return out.tolist()
