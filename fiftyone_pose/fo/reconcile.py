"""Edits made in FiftyOne, merged with the exact values an import stored (pure functions on arrays).

A keypoint holds both its normalised ``points`` (what the App shows and edits) and the source
file's exact pixel values (``raw_keypoints``, ``bbox``, ``part_boxes``). Export takes the exact
values wherever the normalised ones still equal them, and the normalised ones (times the image
size) where the user moved a point or a box, a view hid a point, or a person was drawn in
FiftyOne. Nothing here touches a database: the export's batch reader hands these arrays over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: notes of what the export took from FiftyOne rather than from the stored exact values
HIDDEN_NOTE = "points hidden by the view, written as unlabeled"
MOVED_NOTE = "points edited in FiftyOne, written from the normalised values"


@dataclass
class Points:
    """Persons' points as they are to be written."""

    keypoints: np.ndarray  # float64 (n, k, 2) pixels, counted from the origin
    visibility: np.ndarray  # int8 (n, k) COCO 0/1/2
    visibility_raw: np.ndarray  # float64 (n, k): the source's own flags
    int_mask: np.ndarray  # bool (n, k, 3): which of x, y, v are written as ints
    changed: np.ndarray  # bool (n,): a point was moved or hidden (the labeled count is recounted)
    notes: dict[str, int]


def reconcile_points(
    points: np.ndarray,
    stored_visibility: np.ndarray,
    raw: np.ndarray,
    raw_ints: np.ndarray,
    has_raw: np.ndarray,
    sizes: np.ndarray,
    origin: int,
) -> Points:
    """Merge FiftyOne's normalised points with the stored exact triplets.

    ``points``: float64 (n, k, 2) from FiftyOne, NaN where hidden; ``stored_visibility``: int
    (n, k), -1 where the label has no visibility list; ``raw``/``raw_ints``: the stored
    ``raw_keypoints`` (n, k, 3) and which were ints (anything where ``has_raw`` is False: the
    person was drawn in FiftyOne); ``sizes``: float64 (n, 2) image width and height.

    A point whose normalised value no longer equals its exact one was moved (written from the
    normalised value, keeping its flag; visible where it had none) or hidden by a view (written
    unlabeled: 0, 0, 0). A drawn person's points are all written from FiftyOne's values.
    """
    visibility = np.where(stored_visibility >= 0, stored_visibility, np.where(np.isnan(points[..., 0]), 0, 2)).astype(
        np.int8
    )
    expected = (raw[..., :2] - origin) / sizes[:, None, :]
    expected[(visibility == 0) | ~has_raw[:, None]] = np.nan
    same = ((points == expected) | (np.isnan(points) & np.isnan(expected))).all(axis=2) & has_raw[:, None]
    hidden = ~same & np.isnan(points).any(axis=2) & (visibility > 0)
    moved = ~same & ~np.isnan(points).any(axis=2)

    xy = raw[..., :2].copy()
    raw_v = raw[..., 2].copy()
    int_mask = raw_ints.copy()
    int_mask[~has_raw] = True  # a drawn person's unlabeled points are written 0, 0, 0
    xy[moved] = points[moved] * np.broadcast_to(sizes[:, None, :], points.shape)[moved] + origin
    drawn = moved & (visibility == 0)  # a point placed where none was labeled becomes visible
    visibility[drawn] = 2
    raw_v[drawn] = 2
    xy[hidden] = 0
    raw_v[hidden] = 0
    visibility[hidden] = 0
    int_mask[moved] = [False, False, True]
    int_mask[hidden] = True
    notes = {note: int(m.sum()) for note, m in ((HIDDEN_NOTE, hidden), (MOVED_NOTE, moved)) if m.any()}
    return Points(xy, visibility, raw_v, int_mask, (moved | hidden).any(axis=1), notes)


def reconcile_boxes(
    stored: np.ndarray, ints: np.ndarray, sizes: np.ndarray, origin: int, linked: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes from the exact stored values, or from the linked detection where it was edited.

    ``stored``/``linked``: float64 (n, 4) ``[x, y, w, h]`` (pixels / normalised), NaN rows where
    there is none; ``ints``: which stored values were ints; ``sizes``: (n, 2) image width and
    height. Returns the boxes (NaN rows where neither exists) and their int mask; a box taken
    from the detection (edited or drawn in FiftyOne) is written as floats.
    """
    whwh = np.concatenate([sizes, sizes], axis=1)
    corner = np.array([origin, origin, 0.0, 0.0])
    edited = ~np.isnan(linked).any(axis=1) & (linked != (stored - corner) / whwh).any(axis=1)
    if not edited.any():
        return stored, ints
    boxes, ints = stored.copy(), ints.copy()
    boxes[edited] = linked[edited] * whwh[edited] + corner
    ints[edited] = False
    return boxes, ints


@dataclass
class LinkedBoxes:
    """Detections linked to persons by ``fo.Instance``: instance id, part name (None: the person
    box), normalised box."""

    instances: np.ndarray  # V12 ObjectId bytes (m,)
    parts: list[str | None]
    boxes: np.ndarray  # float64 (m, 4)

    def boxes_of(self, instances: np.ndarray, has_instance: np.ndarray, part: str | None) -> np.ndarray:
        """Per person (its instance id, whether it has one), the box of its detection for ``part``
        (NaN rows where none). Of two detections of one instance the last one wins."""
        out = np.full((len(instances), 4), np.nan)
        mine = np.flatnonzero(np.array([p == part for p in self.parts], bool)) if self.parts else np.zeros(0, np.int64)
        if not len(mine) or not has_instance.any():
            return out
        ids = self.instances[mine][::-1]
        order = np.argsort(ids, kind="stable")
        found = np.minimum(np.searchsorted(ids[order], instances), len(ids) - 1)
        hit = has_instance & (ids[order][found] == instances)
        out[hit] = self.boxes[mine[::-1][order[found[hit]]]]
        return out


def number_new_records(ids: np.ndarray, known: np.ndarray) -> None:
    """Give records made in FiftyOne (``known`` False: no id) new ids after the largest existing one."""
    if not known.all():
        start = int(ids[known].max()) + 1 if known.any() else 1
        ids[~known] = np.arange(start, start + int((~known).sum()))


def source_order(source: np.ndarray) -> np.ndarray:
    """The order that puts persons back in their source file's order (``source``: position in the
    file, -1 for persons drawn in FiftyOne, which follow in the order given)."""
    return np.lexsort((np.arange(len(source)), np.where(source >= 0, source, np.iinfo(np.int64).max)))
