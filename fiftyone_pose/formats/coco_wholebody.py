"""COCO-WholeBody (133 points): COCO person keypoints plus foot, face and hand arrays per person.

A file is COCO 2017 (``keypoints``/``num_keypoints`` still describe the 17 body points) with, per
annotation, ``foot_kpts`` (6 points), ``face_kpts`` (68), ``lefthand_kpts`` (21),
``righthand_kpts`` (21), the part boxes ``face_box``/``lefthand_box``/``righthand_box`` and the
flags ``face_valid``/``lefthand_valid``/``righthand_valid``/``foot_valid``.

In ``PoseData`` a person has the 133 points of the ``coco_wholebody`` skeleton in the documented
order (body 0-16, feet 17-22, face 23-90, left hand 91-111, right hand 112-132); visibility is
COCO's (``v <= 0`` -> 0, 1 -> 1, any other positive value, e.g. a hand's 0.27, -> 2) with the
file's values in ``visibility_raw``; the part boxes are ``persons.part_boxes`` ("face",
"lefthand", "righthand"; all-zero boxes of invalid parts kept as given); the ``*_valid`` flags
and unknown keys are per-person extras; ``num_keypoints`` is the file's (body-only) count, and a
recount (after edits) counts the 17 body points. Everything else is COCO (``coco.decode`` /
``coco.encode`` do it); this module only splits and joins the part arrays.
"""

from __future__ import annotations

import dataclasses
import os
from itertools import chain
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.layouts import coco_body_indices
from ..core.model import Persons, PoseData
from ..core.numbers import concat_masks, take_mask, to_lists
from ..core.skeleton import Skeleton
from . import coco

NAME = "coco_wholebody"
FLAVORS = {
    "v1.0": "COCO-WholeBody coco_wholebody_{train,val}_v1.0.json (133 points: body, feet, face, hands)",
}

#: the part arrays, in the order they follow the 17 body points, and their number of points
PART_ARRAYS = (("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21))
#: file key -> part name in ``persons.part_boxes``
PART_BOXES = (("face_box", "face"), ("lefthand_box", "lefthand"), ("righthand_box", "righthand"))
BODY_POINTS = 17
_NOTE_SCORES = "face/hand/foot visibility values other than 0/1/2 (read as labeled, v=2; raw value kept)"


def detect(path: str | os.PathLike) -> float:
    """Confidence that ``path`` is a COCO-WholeBody file: a COCO file with the part arrays.

    Real files list their images first, so the part keys are found in the last bytes.
    """
    if coco.detect(path) < 0.5:
        return 0.0
    text = coco._head(path) + coco._tail(path)
    return 0.9 if any(f'"{key}"'.encode() in text for key, _ in PART_ARRAYS) else 0.0


def read(path: str | os.PathLike) -> PoseData:
    """Read a COCO-WholeBody file (its annotations a chunk at a time, see ``coco.read_document``)."""
    return coco.read_document(path, lambda doc: decode(doc, path=path))


def write(data: PoseData, path: str | os.PathLike) -> None:
    """Write ``data`` (133-point ``coco_wholebody`` layout) as a COCO-WholeBody file (atomically, streamed)."""
    body, extend = _as_coco(data)
    coco.write(body, path, extend=extend)


def layout() -> Skeleton:
    return skeletons.load(NAME)


# --------------------------------------------------------------------------------------- reading


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """Turn a parsed COCO-WholeBody document into 133-point ``PoseData`` (pure: no disk access).

    ``coco.decode`` reads the COCO part (17 body points) and leaves the part keys in each
    person's extras; ``_with_parts`` takes them out of there into the 133-point arrays and the
    part boxes, a chunk of persons at a time.
    """
    # the body is read as 17-point COCO; the category may list the 17 body names (as the
    # official files do) or none or all 133: its names are not the layout, and it is kept as is
    cats = doc.get("categories") if isinstance(doc, dict) else None
    if isinstance(cats, list) and any(isinstance(c, dict) and "keypoints" in c for c in cats):
        bare = [{k: v for k, v in c.items() if k != "keypoints"} if isinstance(c, dict) else c for c in cats]
        body = coco.decode(
            {**doc, "categories": bare}, path=path, skeleton="coco", format_name=NAME, refine=_with_parts
        )
        body = dataclasses.replace(body, categories=cats)
    else:
        body = coco.decode(doc, path=path, skeleton="coco", format_name=NAME, refine=_with_parts)
    p = body.persons
    ordered = {
        part: p.part_boxes[part] for _, part in PART_BOXES if part in p.part_boxes
    }  # chunks may list them in another order
    return dataclasses.replace(body, persons=dataclasses.replace(p, part_boxes=ordered), skeleton=layout())


def _with_parts(p: Persons, anns: list, ctx: coco._Context) -> Persons:
    """17-point persons read from the records ``anns`` as 133-point persons with their part boxes."""
    n = len(p)
    wholebody = layout()
    if n == 0:
        return Persons.empty(wholebody.num_keypoints)
    xy, raw_v, masks = [p.keypoints], [p.raw_visibility()], [p.mask("keypoints")]
    for key, k in PART_ARRAYS:
        lists = [e.pop(key, coco._MISSING) for e in p.extras]
        for i, v in enumerate(lists):
            if not isinstance(v, list) or len(v) != 3 * k:
                where = coco._record("annotations", anns, i)
                if v is coco._MISSING:
                    raise ctx.error("required key is missing", where, key)
                found = f"{len(v)} values" if isinstance(v, list) else f"{v!r:.40}"
                raise ctx.error(f"expected a list of {3 * k} numbers (3 x {k} points), found {found}", where, key)
        arr, mask = coco._numbers(list(chain.from_iterable(lists)), anns, key, 3 * k, ctx)
        arr = arr.reshape(n, k, 3)
        xy.append(arr[..., :2])
        raw_v.append(arr[..., 2])
        masks.append(mask.reshape(n, k, 3))
    keypoints = np.concatenate(xy, axis=1)
    raw = np.concatenate(raw_v, axis=1)
    visibility = np.where(raw <= 0, 0, np.where(raw == 1, 1, 2)).astype(np.int8)
    ctx.note(_NOTE_SCORES, int((~np.isin(raw[:, BODY_POINTS:], (0, 1, 2))).sum()))

    part_boxes: dict[str, np.ndarray] = {}
    int_mask = dict(p.int_mask)
    int_mask["keypoints"] = concat_masks(masks, axis=1)
    for key, part in PART_BOXES:
        values = [e.pop(key, coco._MISSING) for e in p.extras]
        for i, v in enumerate(values):
            if v is not coco._MISSING and not (isinstance(v, list) and len(v) == 4):
                raise ctx.error(
                    f"expected a list [x, y, w, h], found {v!r:.60}", coco._record("annotations", anns, i), key
                )
        missing = np.fromiter((v is coco._MISSING for v in values), dtype=bool, count=n)
        if missing.all():
            continue
        boxes, mask = coco._rows(values, missing if missing.any() else None, 4, anns, key, ctx)
        part_boxes[part] = boxes
        int_mask[f"part_box.{part}"] = mask
    return dataclasses.replace(
        p,
        keypoints=keypoints,
        visibility=visibility,
        visibility_raw=raw if (raw != visibility).any() else None,
        int_mask=int_mask,
        part_boxes=part_boxes,
    )


# --------------------------------------------------------------------------------------- writing


def encode(data: PoseData) -> dict[str, Any]:
    """Turn 133-point ``PoseData`` into a COCO-WholeBody document (pure: no disk access)."""
    body, extend = _as_coco(data)
    return coco.encode(body, extend=extend)


def _as_coco(data: PoseData) -> tuple[PoseData, coco.Extend]:
    """The 17-point body as the COCO writer takes it, and the hook adding each record's part keys.

    The hook adds the part arrays, the part boxes (where the person has them) and the record's
    extra keys (``*_valid`` flags), a chunk of persons at a time.
    """
    wholebody = layout()
    if tuple(data.skeleton.keypoints) != wholebody.keypoints:
        raise ValueError(
            f"COCO-WholeBody needs the '{NAME}' layout ({wholebody.num_keypoints} points); this data has "
            f"'{data.skeleton.name}' ({data.skeleton.num_keypoints} points): pass layout='{NAME}' to convert by name"
        )
    p = data.persons
    n = len(p)
    body_idx = coco_body_indices(wholebody)
    assert body_idx.tolist() == list(range(BODY_POINTS))
    counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (p.visibility[:, :BODY_POINTS] > 0).sum(axis=1))
    mask = p.mask("keypoints")
    raw = p.raw_visibility()
    body_persons = dataclasses.replace(
        p,
        keypoints=p.keypoints[:, :BODY_POINTS],
        visibility=p.visibility[:, :BODY_POINTS],
        visibility_raw=None if p.visibility_raw is None else raw[:, :BODY_POINTS],
        num_keypoints=counts,
        int_mask={**p.int_mask, "keypoints": mask[:, :BODY_POINTS]},
        part_boxes={},
        extras=[{}] * n,
    )
    categories = data.categories or [coco.default_category(skeletons.load("coco"))]
    body = dataclasses.replace(
        data,
        persons=body_persons,
        skeleton=skeletons.load("coco"),
        categories=categories,
        # a WholeBody file without "info" is written back without one (coco.encode adds it otherwise)
        format=coco.NAME if data.format == NAME else data.format,
    )

    def extend(records: list[dict[str, Any]], rows: np.ndarray) -> None:
        m = len(rows)
        triplets = np.concatenate([p.keypoints[rows], raw[rows][..., None]], axis=2)
        columns: list[tuple[str, list]] = []
        start = BODY_POINTS
        for key, k in PART_ARRAYS:
            part = triplets[:, start : start + k].reshape(m, 3 * k)
            columns.append((key, to_lists(part, take_mask(mask[:, start : start + k], rows).reshape(m, 3 * k))))
            start += k
        boxes = []
        for key, name in PART_BOXES:
            if name in p.part_boxes:
                b = p.part_boxes[name][rows]
                box_mask = take_mask(p.mask(f"part_box.{name}"), rows)
                boxes.append((key, to_lists(np.nan_to_num(b), box_mask), (~np.isnan(b).any(axis=1)).tolist()))
        for i, (rec, r) in enumerate(zip(records, rows.tolist())):
            for key, lists in columns:
                rec[key] = lists[i]
            for key, lists, present in boxes:
                if present[i]:
                    rec[key] = lists[i]
            if p.extras[r]:
                rec.update(p.extras[r])

    return body, extend
