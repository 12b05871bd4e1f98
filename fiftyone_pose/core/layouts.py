"""Body parts of whole-body layouts and conversion between layouts, by keypoint name.

Parts are found from the keypoint names of the skeleton files (never from positions written in
code): COCO-WholeBody and Halpe share their names but not their order (their six foot points are
ordered differently, Halpe has head/neck/hip), so a point is always looked up by name.

``to_layout(data, "coco")`` keeps the target layout's points (e.g. the 17 COCO body points of a
133-point COCO-WholeBody or 136-point Halpe dataset), for exporting "as plain COCO".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from . import skeleton as skeletons
from .errors import PoseUsageError
from .model import PoseData
from .skeleton import Skeleton

#: the 17 COCO body names: a layout's "body" part is the points with these names
_BODY = frozenset(skeletons.load("coco").keypoints)

#: part -> rule on a keypoint name; the order is the documented part order of both layouts
PART_RULES: dict[str, re.Pattern[str]] = {
    "body": re.compile(r"^(?:" + "|".join(sorted(_BODY)) + r"|head|neck|hip)$"),
    "foot": re.compile(r"^(?:left|right)_(?:big_toe|small_toe|heel)$"),
    "face": re.compile(r"^face-\d+$"),
    "lefthand": re.compile(r"^left_(?:hand_root|thumb\d|forefinger\d|middle_finger\d|ring_finger\d|pinky_finger\d)$"),
    "righthand": re.compile(r"^right_(?:hand_root|thumb\d|forefinger\d|middle_finger\d|ring_finger\d|pinky_finger\d)$"),
}
PARTS = tuple(PART_RULES)


def _layout(layout: Skeleton | str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(layout, Skeleton):
        return layout.keypoints
    if isinstance(layout, str):
        return skeletons.load(layout).keypoints
    return tuple(layout)


def part_indices(layout: Skeleton | str | Sequence[str], part: str) -> np.ndarray:
    """Indices (ascending) of the points of ``part`` in ``layout`` (a Skeleton, name or name list).

    ``part`` is one of ``PARTS`` ("body", "foot", "face", "lefthand", "righthand"); "body" means
    the COCO 17 plus Halpe's head, neck and hip. An unknown part is a ValueError.
    """
    try:
        rule = PART_RULES[part]
    except KeyError:
        raise ValueError(f"unknown part {part!r}; parts: {', '.join(PARTS)}") from None
    return np.array([i for i, n in enumerate(_layout(layout)) if rule.match(n)], dtype=np.int64)


def parts_of(layout: Skeleton | str | Sequence[str]) -> dict[str, np.ndarray]:
    """Every part that ``layout`` has at least one point of -> its indices."""
    out = {p: part_indices(layout, p) for p in PARTS}
    return {p: idx for p, idx in out.items() if len(idx)}


def coco_body_indices(layout: Skeleton | str | Sequence[str]) -> np.ndarray:
    """Indices of the 17 COCO body points in ``layout``, in COCO order (``num_keypoints`` counts them).

    A ValueError when the layout lacks one of them.
    """
    names = _layout(layout)
    missing = [n for n in skeletons.load("coco").keypoints if n not in names]
    if missing:
        raise ValueError(f"the layout has no COCO body point(s) {', '.join(missing)}")
    return np.array([names.index(n) for n in skeletons.load("coco").keypoints], dtype=np.int64)


def require_layout(data: PoseData, name: str, title: str) -> None:
    """A ``PoseUsageError`` unless ``data`` has the keypoints of layout ``name`` (in order)."""
    want = skeletons.load(name)
    if tuple(data.skeleton.keypoints) != want.keypoints:
        raise PoseUsageError(
            f"{title} needs the '{name}' layout ({want.num_keypoints} points); this data has "
            f"'{data.skeleton.name}' ({data.skeleton.num_keypoints} points): pass layout='{name}' to convert by name"
        )


def runs(index: np.ndarray) -> list[tuple[int, int]]:
    """``index`` (ascending) as ``[(start, stop), ...]`` runs of consecutive values."""
    out: list[tuple[int, int]] = []
    for i in index.tolist():
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def to_layout(data: PoseData, layout: Skeleton | str) -> PoseData:
    """``data`` with the keypoints of ``layout``, each taken from the source point of the same name.

    Every other column is kept. Target points the source does not have are written unlabeled
    (``0, 0, 0``) and counted in ``notes``. ``num_keypoints`` is recounted over the new points
    (where the record had it). Categories get the target's names and 1-based skeleton. Part boxes
    and ``<part>_valid`` flags (COCO-WholeBody) of parts the target has no point of are dropped.
    The source is not modified.
    """
    target = skeletons.load(layout) if isinstance(layout, str) else layout
    source = data.skeleton
    if tuple(target.keypoints) == tuple(source.keypoints):
        return dataclasses.replace(data, skeleton=target)
    src_index = {name: i for i, name in enumerate(source.keypoints)}
    have = np.array([n in src_index for n in target.keypoints], dtype=bool)
    if not have.any():
        raise PoseUsageError(f"layouts '{source.name}' and '{target.name}' have no keypoint name in common")
    take = np.array([src_index.get(n, 0) for n in target.keypoints], dtype=np.int64)

    p = data.persons
    n = len(p)
    keypoints = p.keypoints[:, take]  # (copies: fancy indexing)
    visibility = p.visibility[:, take]
    raw = p.raw_visibility()[:, take]
    keypoints[:, ~have] = 0.0
    visibility[:, ~have] = 0
    raw[:, ~have] = 0.0
    mask = p.mask("keypoints")[:, take]
    mask[:, ~have] = True
    num_kp = np.full(n, -1, np.int64)  # the writer recounts (absent ones stay absent)

    kept_parts = set(parts_of(target))
    dropped = {part for part in PARTS if part not in kept_parts}
    part_boxes = {name: b for name, b in p.part_boxes.items() if name not in dropped}
    int_mask = {key: m for key, m in p.int_mask.items() if not (key.startswith("part_box.") and key[9:] in dropped)}
    int_mask["keypoints"] = mask
    flags = {f"{part}_valid" for part in dropped}
    extras = [{key: v for key, v in e.items() if key not in flags} if flags & e.keys() else e for e in p.extras]

    persons = dataclasses.replace(
        p,
        keypoints=keypoints,
        visibility=visibility,
        visibility_raw=raw if (raw != visibility).any() else None,
        num_keypoints=num_kp,
        int_mask=int_mask,
        part_boxes=part_boxes,
        extras=extras,
    )
    categories = [
        {**c, "keypoints": list(target.keypoints), "skeleton": [[a + 1, b + 1] for a, b in target.edges]}
        for c in data.categories
    ]
    notes = dict(data.notes)
    if not have.all() and n:
        notes[f"points of layout '{target.name}' missing in '{source.name}', written unlabeled"] = (
            int((~have).sum()) * n
        )
    return dataclasses.replace(data, persons=persons, skeleton=target, categories=categories, notes=notes)
