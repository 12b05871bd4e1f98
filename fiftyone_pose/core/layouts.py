"""Body parts of whole-body layouts and conversion between layouts, by keypoint name.

Parts are found from the keypoint names of the skeleton files (never from positions written in
code): COCO-WholeBody and Halpe share their names but not their order (their six foot points are
ordered differently, Halpe has head/neck/hip), so a point is always looked up by name.

``to_layout(data, "coco")`` converts persons to another layout as the mapping files say
(``core.mappings``): the 17 COCO body points of a 133-point COCO-WholeBody or 136-point Halpe
dataset, MPII's 16 points onto COCO or Halpe-26 as RTMPose trains, and so on.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from . import mappings
from . import skeleton as skeletons
from .errors import Option, PoseUsageError
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
    the COCO 17 plus Halpe's head, neck and hip. An unknown part is a ``PoseUsageError``.
    """
    try:
        rule = PART_RULES[part]
    except KeyError:
        raise PoseUsageError(f"unknown part {part!r}; parts: {', '.join(PARTS)}") from None
    return np.array([i for i, n in enumerate(_layout(layout)) if rule.match(n)], dtype=np.int64)


def parts_of(layout: Skeleton | str | Sequence[str]) -> dict[str, np.ndarray]:
    """Every part that ``layout`` has at least one point of -> its indices."""
    out = {p: part_indices(layout, p) for p in PARTS}
    return {p: idx for p, idx in out.items() if len(idx)}


def coco_body_indices(layout: Skeleton | str | Sequence[str]) -> np.ndarray:
    """Indices of the 17 COCO body points in ``layout``, in COCO order (``num_keypoints`` counts them).

    A ``PoseUsageError`` when the layout lacks one of them.
    """
    names = _layout(layout)
    missing = [n for n in skeletons.load("coco").keypoints if n not in names]
    if missing:
        raise PoseUsageError(f"the layout has no COCO body point(s) {', '.join(missing)}")
    return np.array([names.index(n) for n in skeletons.load("coco").keypoints], dtype=np.int64)


def require_layout(data: PoseData, name: str, title: str) -> None:
    """A ``PoseUsageError`` unless ``data`` has the keypoints of layout ``name`` (in order)."""
    want = skeletons.load(name)
    if tuple(data.skeleton.keypoints) != want.keypoints:
        raise PoseUsageError(
            f"{title} needs the '{name}' layout ({want.num_keypoints} points); this data has "
            f"'{data.skeleton.name}' ({data.skeleton.num_keypoints} points): ",
            Option("layout", name),
            " to convert it",
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
    """``data`` with the keypoints of ``layout``, each taken as the layouts' mapping file says.

    Layouts with the same keypoint names convert as they are; any other pair needs a mapping
    (``core.mappings``; a PoseUsageError lists the layouts the source can go to). A target point
    copies its source point (coordinates, visibility, the file's own visibility value), or is the
    midpoint of two source points, labelled only where both are, with the smaller visibility.
    Target points without a source are written unlabeled (``0, 0, 0``) and counted in ``notes``,
    as are the labelled points a mapping only approximates. Every other column is kept.
    ``num_keypoints`` is recounted over the new points (where the record had it). Categories get
    the target's names and 1-based skeleton. Part boxes and ``<part>_valid`` flags
    (COCO-WholeBody) of parts the target has no point of are dropped. The source is not modified.
    """
    target = _target(layout)
    source = data.skeleton
    if tuple(target.keypoints) == tuple(source.keypoints):
        return dataclasses.replace(data, skeleton=target)
    mapping = mappings.resolve(source, target.name)
    if mapping is None:
        reachable = [t for t in mappings.targets(source) if t not in (source.name, target.name)]
        raise PoseUsageError(
            f"no keypoint mapping from layout '{source.name}' to '{target.name}'; '{source.name}' converts to: "
            f"{', '.join(reachable) or 'no other layout'}"
        )
    plan = mapping.plan(source, target)

    p = data.persons
    n = len(p)
    first, second, mid = plan.first, plan.second, plan.midpoint
    src_mask = p.mask("keypoints")
    keypoints = p.keypoints[:, first]
    visibility = p.visibility[:, first]
    raw = p.raw_visibility()[:, first]
    mask = src_mask[:, first]
    if mid.any():  # mmpose's 2-to-1 case: the midpoint, labelled where both sources are
        both = np.minimum(visibility[:, mid], p.visibility[:, second[mid]])
        xy = np.where((both > 0)[..., None], (keypoints[:, mid] + p.keypoints[:, second[mid]]) / 2, 0.0)
        ints = mask[:, mid, :2] & src_mask[:, second[mid], :2] & (xy == np.round(xy))
        keypoints[:, mid] = xy
        visibility[:, mid] = both
        raw[:, mid] = both
        mask[:, mid, :2] = ints | (both == 0)[..., None]
        mask[:, mid, 2] = True
    keypoints[:, plan.missing] = 0.0
    visibility[:, plan.missing] = 0
    raw[:, plan.missing] = 0.0
    mask[:, plan.missing] = True
    notes = dict(data.notes)
    for name, (targets, index) in plan.fields.items():
        _from_field(p.extras, name, targets, index, (keypoints, visibility, raw, mask), notes)
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
    if plan.missing.any() and n:
        notes[f"points of layout '{target.name}' missing in '{source.name}', written unlabeled"] = (
            int(plan.missing.sum()) * n
        )
    used = np.zeros(source.num_keypoints, bool)
    used[first[plan.from_layout]] = used[second[mid]] = True
    dropped_points = int((p.visibility[:, ~used] > 0).sum())
    if dropped_points:
        names = [source.keypoints[s] for s in np.flatnonzero(~used)]
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        notes[f"labelled points of '{source.name}' with no place in '{target.name}' ({shown}), dropped"] = (
            dropped_points
        )
    approximated = int((visibility[:, plan.approximated] > 0).sum())
    if approximated:
        names = ", ".join(target.keypoints[t] for t in np.flatnonzero(plan.approximated))
        notes[f"labelled points of layout '{target.name}' that approximate a point of '{source.name}' ({names})"] = (
            approximated
        )
    return dataclasses.replace(data, persons=persons, skeleton=target, categories=categories, notes=notes)


def _target(layout: Skeleton | str) -> Skeleton:
    return layout if isinstance(layout, Skeleton) else skeletons.load(layout)


def _from_field(
    extras: list[dict], name: str, targets: np.ndarray, index: np.ndarray, out: tuple[np.ndarray, ...], notes: dict
) -> None:
    """Fill the ``targets`` points from each person's extra field ``name`` (flat ``x, y, v`` triplets).

    A person without the field (or with a malformed one) gets those points unlabeled, counted.
    """
    keypoints, visibility, raw, mask = out
    at = [3 * j + c for j in index.tolist() for c in range(3)]
    rows, values = [], []
    for i, extra in enumerate(extras):
        given = extra.get(name)
        if isinstance(given, list) and len(given) > at[-1]:
            picked = [given[a] for a in at]
            if all(type(x) in (int, float) for x in picked):
                rows.append(i)
                values.append(picked)
    found = np.zeros(len(extras), bool)
    found[rows] = True
    lacking = ~found[:, None] & np.isin(np.arange(visibility.shape[1]), targets)[None]
    keypoints[lacking], visibility[lacking], raw[lacking], mask[lacking] = 0.0, 0, 0.0, True
    if rows:
        arr = np.array(values, np.float64).reshape(len(rows), len(targets), 3)
        v = arr[..., 2]
        sel = np.ix_(rows, targets)
        keypoints[sel] = arr[..., :2]
        raw[sel] = v
        visibility[sel] = np.where(v <= 0, 0, np.where(v == 1, 1, 2))
        mask[sel] = np.array([[type(x) is int for x in row] for row in values], bool).reshape(arr.shape)
    if len(rows) < len(extras):
        notes[f"persons without a valid '{name}' field, its points written unlabeled"] = len(extras) - len(rows)
