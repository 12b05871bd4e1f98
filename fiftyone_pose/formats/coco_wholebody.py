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
recount (after edits) counts the 17 body points. Everything else is COCO (the COCO-like base
reads and writes it); this module only splits and joins the part arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

from ..core.model import Persons, PoseData
from ..core.numbers import concat_masks, to_lists
from .cocolike import CocoLike, numbers, rows
from .context import MISSING, ReadContext, record_name

#: the part arrays, in the order they follow the 17 body points, and their number of points
PART_ARRAYS = (("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21))
#: file key -> part name in ``persons.part_boxes``
PART_BOXES = (("face_box", "face"), ("lefthand_box", "lefthand"), ("righthand_box", "righthand"))
BODY_POINTS = 17
_NOTE_SCORES = "face/hand/foot visibility values other than 0/1/2 (read as labeled, v=2; raw value kept)"


class WholeBody(CocoLike):
    def read_persons(self, persons: Persons, records: Sequence[dict[str, Any]], ctx: ReadContext) -> Persons:
        """17-point persons read from ``records`` as 133-point persons with their part boxes."""
        n = len(persons)
        if n == 0:
            return Persons.empty(BODY_POINTS + sum(k for _, k in PART_ARRAYS))
        xy, raw_v, masks = [persons.keypoints], [persons.raw_visibility()], [persons.mask("keypoints")]
        for key, k in PART_ARRAYS:
            lists = [r.get(key, MISSING) for r in records]
            for i, v in enumerate(lists):
                if not isinstance(v, list) or len(v) != 3 * k:
                    where = record_name("annotations", records, i)
                    if v is MISSING:
                        raise ctx.error("required key is missing", where, key)
                    found = f"{len(v)} values" if isinstance(v, list) else f"{v!r:.40}"
                    raise ctx.error(f"expected a list of {3 * k} numbers (3 x {k} points), found {found}", where, key)
            arr, mask = numbers(list(chain.from_iterable(lists)), records, key, 3 * k, ctx)
            arr = arr.reshape(n, k, 3)
            xy.append(arr[..., :2])
            raw_v.append(arr[..., 2])
            masks.append(mask.reshape(n, k, 3))
        keypoints = np.concatenate(xy, axis=1)
        raw = np.concatenate(raw_v, axis=1)
        visibility = np.where(raw <= 0, 0, np.where(raw == 1, 1, 2)).astype(np.int8)
        ctx.note(_NOTE_SCORES, int((~np.isin(raw[:, BODY_POINTS:], (0, 1, 2))).sum()))

        part_boxes: dict[str, np.ndarray] = {}
        int_mask = {**persons.int_mask, "keypoints": concat_masks(masks, axis=1)}
        for key, part in PART_BOXES:
            values = [r.get(key, MISSING) for r in records]
            for i, v in enumerate(values):
                if v is not MISSING and not (isinstance(v, list) and len(v) == 4):
                    raise ctx.error(
                        f"expected a list [x, y, w, h], found {v!r:.60}", record_name("annotations", records, i), key
                    )
            if all(v is MISSING for v in values):
                continue
            part_boxes[part], int_mask[f"part_box.{part}"] = rows(values, 4, records, key, ctx)
        return dataclasses.replace(
            persons,
            keypoints=keypoints,
            visibility=visibility,
            visibility_raw=raw if (raw != visibility).any() else None,
            int_mask=int_mask,
            part_boxes=part_boxes,
        )

    def person_keys(self, persons: Persons, header: PoseData) -> list[tuple[str, list[Any]]]:
        """Each record's part arrays and part boxes (where the person has them)."""
        n = len(persons)
        triplets = np.concatenate([persons.keypoints, persons.raw_visibility()[..., None]], axis=2)
        mask = persons.mask("keypoints")
        columns: list[tuple[str, list[Any]]] = []
        start = BODY_POINTS
        for key, k in PART_ARRAYS:
            part = triplets[:, start : start + k].reshape(n, 3 * k)
            columns.append((key, to_lists(part, mask[:, start : start + k].reshape(n, 3 * k))))
            start += k
        for key, name in PART_BOXES:
            if name in persons.part_boxes:
                b = persons.part_boxes[name]
                lists = to_lists(np.nan_to_num(b), persons.mask(f"part_box.{name}"))
                present = (~np.isnan(b).any(axis=1)).tolist()
                columns.append((key, [v if ok else MISSING for v, ok in zip(lists, present)]))
        return columns


FORMAT = WholeBody(
    name="coco_wholebody",
    title="COCO-WholeBody",
    flavors={
        "v1.0": "COCO-WholeBody coco_wholebody_{train,val}_v1.0.json (133 points: body, feet, face, hands)",
    },
    layout="coco_wholebody",
    keypoints_layout="coco",
    counts="coco",
    keys=tuple(key for key, _ in PART_ARRAYS),
    own_keys=tuple(key for key, _ in PART_ARRAYS) + tuple(key for key, _ in PART_BOXES),
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, read, write, decode, encode = FORMAT.detect, FORMAT.read, FORMAT.write, FORMAT.decode, FORMAT.encode
read_stream, write_stream = FORMAT.read_stream, FORMAT.write_stream
