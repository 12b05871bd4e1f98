"""Exact JSON numbers <-> float64 arrays: keep every value and whether it was written as an int.

An *int mask* says which values of an array were JSON ints (``229`` vs ``229.0``): a bool array
of the values' shape. Where all are alike it is a read-only broadcast view (``uniform_mask``),
which costs no memory; ``take_mask`` and ``concat_masks`` keep such views free. Format-neutral:
readers and writers of every format and the FiftyOne layer use the same helpers.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np

#: float64 holds every int up to this exactly
MAX_EXACT_INT = 2**53
#: ids, sizes and counts are held as int64; a larger JSON int (orjson reads up to 2^64-1) is an error
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def is_int(v: Any) -> bool:
    """A JSON integer that fits int64 (bools are not ints here)."""
    return type(v) is int and INT64_MIN <= v <= INT64_MAX


def is_number(v: Any) -> bool:
    """A JSON float, or an integer that fits int64."""
    return type(v) is float or is_int(v)


def uniform_mask(value: bool, shape: tuple[int, ...]) -> np.ndarray:
    """An int mask of ``shape`` whose every cell is ``value``: a read-only broadcast view, no memory."""
    return np.broadcast_to(np.bool_(value), shape)


def mask_value(mask: np.ndarray) -> bool | None:
    """``True``/``False`` when every cell of ``mask`` is one value by construction (a broadcast view,
    told without scanning it), else None."""
    if mask.size and not any(mask.strides):
        return bool(mask.flat[0])
    return None


def take_mask(mask: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``mask[index]``, still a free view where ``mask`` is one value (fancy indexing would copy it)."""
    value = mask_value(mask)
    return mask[index] if value is None else uniform_mask(value, (len(index), *mask.shape[1:]))


def concat_masks(masks: list[np.ndarray], axis: int = 0) -> np.ndarray:
    """The masks joined along ``axis``: a free view where all are one value, else a new array."""
    values = {mask_value(m) for m in masks if m.size}
    shape = list(masks[0].shape)
    shape[axis] = sum(m.shape[axis] for m in masks)
    if len(values) == 1 and None not in values:
        return uniform_mask(values.pop(), tuple(shape))
    if not values:
        return np.zeros(shape, bool)
    return np.concatenate(masks, axis=axis)


class NumberTypeError(ValueError):
    """A list that should hold numbers holds something else (the caller names the record)."""


def to_array(values: Sequence[Any], period: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """float64 array of JSON numbers and which of them were ints (a free ``uniform_mask`` if all alike).

    ``period`` (e.g. 3 for x, y, v triplets) lets a list whose every x is a float and every v an
    int get its mask from one type count per phase instead of one check per value. Int subclasses
    count as ints (MongoDB hands back 64-bit ints as ``bson.Int64``); bools do not.
    """
    types = list(map(type, values))  # the one pass over the values in Python; the rest is C
    floats = types.count(float)
    if floats + types.count(int) == len(types):  # the usual case: plain ints and floats only
        int_types = {int} if floats < len(types) else set()
    else:
        kinds = set(types)
        int_types = {t for t in kinds if issubclass(t, int) and t is not bool}
        others = kinds - int_types - {float}
        if others:
            raise NumberTypeError(f"expected numbers, found {', '.join(sorted(t.__name__ for t in others))}")
    arr = np.array(values, dtype=np.float64)
    if not floats:
        _check_exact(values, arr, None)
        return arr, uniform_mask(True, arr.shape)
    if not int_types:
        return arr, uniform_mask(False, arr.shape)
    if period > 1 and len(types) % period == 0:
        mask = _phase_mask(types, period, int_types)
    else:
        mask = _int_flags(types, int_types)
    _check_exact(values, arr, mask)
    return arr, mask


def _phase_mask(types: list[type], period: int, int_types: set[type]) -> np.ndarray:
    """The int mask, a phase (position modulo ``period``) at a time: a phase of one kind is filled
    without looking at its values (COCO-WholeBody: every v an int, x and y mixed, as unlabeled
    points are written ``0, 0, 0``)."""
    mask = np.empty((len(types) // period, period), bool)
    for phase in range(period):
        kinds = types[phase::period]
        floats = kinds.count(float)
        mask[:, phase] = _int_flags(kinds, int_types) if 0 < floats < len(kinds) else not floats
    return mask.reshape(-1)


def _int_flags(types: list[type], int_types: set[type]) -> np.ndarray:
    """Which of ``types`` are int types, as a bool array: ``operator.is_`` where the ints are
    plain, into a ``bytearray`` (1.5x faster than ``np.fromiter`` of ``set.__contains__``, and
    writable like any other mask)."""
    if int_types == {int}:
        return np.frombuffer(bytearray(map(operator.is_, types, repeat(int))), bool)
    return np.frombuffer(bytearray(map(int_types.__contains__, types)), bool)


def _check_exact(values: Sequence[Any], arr: np.ndarray, ints: np.ndarray | None) -> None:
    """Raise if an int of ``values`` (all, or those flagged in ``ints``) lost precision in ``arr``.

    Beyond ±2^53 float64 rounds (2^53 + 1 -> 2^53), so the few values at or beyond it are
    checked against the exact Python ints.
    """
    big = np.abs(arr) >= MAX_EXACT_INT
    if ints is not None:
        big &= ints
    if big.any() and any(abs(values[i]) > MAX_EXACT_INT for i in np.flatnonzero(big).tolist()):
        raise NumberTypeError("integer beyond ±2^53 cannot be kept exactly")


def int_cells(arr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Which values of ``arr`` are written as ints: flagged in ``mask``, integral and within int64.

    A value flagged int that is no longer integral, or too large for int64 (edited since
    reading), is written as a float, so nothing is ever rounded or wrapped.
    """
    return mask & (np.abs(arr) < 2.0**63) & (arr == np.trunc(arr))


def to_lists(arr: np.ndarray, mask: np.ndarray) -> list[Any]:
    """``arr.tolist()`` with the values ``int_cells`` picks written as ints (``mask`` has ``arr``'s shape)."""
    if arr.size == 0 or mask_value(mask) is False:
        return arr.tolist()
    ints = int_cells(arr, mask)
    if ints.all():
        return arr.astype(np.int64).tolist()
    if not ints.any():
        return arr.tolist()
    out = arr.astype(object)
    out[ints] = arr[ints].astype(np.int64)  # cast to object dtype gives Python ints
    return out.tolist()
