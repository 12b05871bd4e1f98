"""Exact JSON numbers <-> float64 arrays: keep every value and whether it was written as an int."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.model import IntMask

_MAX_EXACT_INT = 2**53  # float64 holds every int up to this exactly


class NumberTypeError(ValueError):
    """A list that should hold numbers holds something else (the caller names the record)."""


def to_array(values: Sequence[Any]) -> tuple[np.ndarray, IntMask]:
    """float64 array of JSON numbers and which of them were ints (True/False if all alike)."""
    types = set(map(type, values))
    if not types <= {int, float}:
        raise NumberTypeError(f"expected numbers, found {', '.join(sorted(t.__name__ for t in types - {int, float}))}")
    arr = np.array(values, dtype=np.float64)
    if float not in types:
        if arr.size and np.abs(arr).max() > _MAX_EXACT_INT:
            raise NumberTypeError(f"integer beyond ±2^53 cannot be kept exactly")
        return arr, True
    if int not in types:
        return arr, False
    return arr, np.fromiter((type(v) is int for v in values), dtype=bool, count=len(values))


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


def take_mask(mask: IntMask, index: np.ndarray | slice) -> IntMask:
    """The mask of a row subset (scalars stay scalars)."""
    return mask if isinstance(mask, bool) else mask[index]


def concat_masks(masks: Sequence[IntMask], shapes: Sequence[tuple[int, ...]]) -> IntMask:
    """One mask for arrays concatenated along axis 0."""
    if all(m is True for m in masks):
        return True
    if all(m is False for m in masks):
        return False
    return np.concatenate([np.broadcast_to(m, s) for m, s in zip(masks, shapes)])
