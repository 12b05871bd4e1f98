"""Strict JSON document comparison: ``1`` and ``1.0`` differ, as they do in the file."""

from __future__ import annotations

import math
from typing import Any


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two parsed JSON documents differ (value, number type or key set), or None."""
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r:.80} != {type(b).__name__} {b!r:.80}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return (
                f"{path}: keys differ: only left {sorted(a.keys() - b.keys())}, "
                f"only right {sorted(b.keys() - a.keys())}"
            )
        for k in a:
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    return None if a == b else f"{path}: {a!r:.80} != {b!r:.80}"


def same_document(a: Any, b: Any) -> bool:
    return first_difference(a, b) is None
