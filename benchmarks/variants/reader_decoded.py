"""Images and persons of one raw batch of the export aggregation: ``bson.decode_all``, then numpy.

The batch reader only reads what is stored; merging FiftyOne edits with the exact values is
``reconcile``'s job. A stored value of the wrong shape (another tool wrote the database) is
named: the keypoint's id, its image, and what is wrong.

Measured variant for issue 16 (the library call in place of a hand-written fast path), on the
tree of commit 692359b: copy it over fiftyone_pose/fo/reader.py. It lost (benchmarks/results-
fastpaths.md) and is kept in history only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import chain
from typing import Any

import bson
import numpy as np
import orjson

from ..core.errors import PoseFormatError
from ..core.model import OPTIONAL_PERSON_KEYS, Images, Persons, compact_json
from ..core.skeleton import Skeleton
from ..formats._numbers import NumberTypeError, to_array
from . import documents
from .fields import KEYPOINT_RESERVED, parts_field
from .reconcile import LinkedBoxes, reconcile_boxes, reconcile_points

#: keypoint attributes read as columns; the other attributes FiftyOne or this package own are skipped
_COLUMNS = (
    "points", "visibility", "raw_keypoints", "instance", "bbox", "area", "person_id", "category_id",
    "iscrowd", "num_keypoints", "source_index",
)  # fmt: skip
#: keypoint attributes kept per person: these, and every key not in ``KEYPOINT_RESERVED``
_DECODED = ("segmentation", "absent", "part_boxes", "extra_json")
_SKIPPED = frozenset(KEYPOINT_RESERVED - set(_DECODED))
_MAX_EXACT_INT = 2**53


def export_projection(label_field: str, det_fields: list[str], image_fields: list[str]) -> dict[str, bool]:
    """The sample keys the batch reader reads."""
    project = {
        "filepath": True,
        "image_id": True,
        "file_name": True,
        "metadata.width": True,
        "metadata.height": True,
        "extra_json": True,
        f"{label_field}.keypoints": True,
        **{f: True for f in image_fields},
    }
    for f in det_fields:
        for key in ("bounding_box", f"instance.{documents.ID}", "label"):
            project[f"{f}.detections.{key}"] = True
    return project


class BatchReader:
    """``Images`` and ``Persons`` of raw batches of samples (see ``export_projection``)."""

    def __init__(
        self, label_field: str, det_fields: list[str], image_fields: list[str], layout: Skeleton, origin: int
    ) -> None:
        self.label_field, self.det_fields, self.image_fields = label_field, det_fields, image_fields
        self.layout, self.origin = layout, origin

    def read(self, raw: bytes) -> tuple[Images, np.ndarray, Persons, dict[str, int], np.ndarray, np.ndarray]:
        """(images, which have an image id, persons, notes, persons' source-file positions, which persons have ids)."""
        docs = bson.decode_all(raw)
        images, has_image_id = self._images(docs)
        labels = [_labels(d, self.label_field, "keypoints") for d in docs]
        kp_image = np.repeat(np.arange(len(docs)), [len(x) for x in labels])
        persons, notes, source, has_id = self._persons(list(chain.from_iterable(labels)), kp_image, images, docs)
        return images, has_image_id, persons, notes, source, has_id

    def _images(self, docs: list[dict[str, Any]]) -> tuple[Images, np.ndarray]:
        n = len(docs)
        ids = np.zeros(n, np.int64)
        has_id = np.zeros(n, bool)
        names, extras = [], []
        widths, heights = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for i, d in enumerate(docs):
            if d.get("image_id") is not None:
                ids[i], has_id[i] = d["image_id"], True
            names.append(d.get("file_name") or os.path.basename(d["filepath"]))
            md = d.get("metadata") or {}
            widths[i], heights[i] = md.get("width") or 0, md.get("height") or 0
            extra = {f: d[f] for f in self.image_fields if f in d}
            extra.update(orjson.loads(d["extra_json"]) if d.get("extra_json") else {})
            extras.append(_plain(extra) if extra else extra)
        if (widths <= 0).any() or (heights <= 0).any():
            bad = int(np.flatnonzero((widths <= 0) | (heights <= 0))[0])
            raise PoseFormatError(
                "has no image size; run dataset.compute_metadata() first", record=f"sample {docs[bad]['filepath']}"
            )
        return Images(ids, names, widths, heights, extras), has_id

    def _linked(self, docs: list[dict[str, Any]]) -> LinkedBoxes:
        instances, parts, boxes = [], [], []
        for f in self.det_fields:
            is_parts = f == parts_field(self.label_field)
            for d in docs:
                for det in _labels(d, f, "detections"):
                    inst, box = det.get("instance"), det.get("bounding_box")
                    if type(inst) is not dict or documents.ID not in inst or type(box) is not list:
                        continue
                    instances.append(inst[documents.ID].binary)
                    parts.append(det.get("label") if is_parts else None)
                    boxes.append(box)
        try:
            values, _ = to_array(list(chain.from_iterable(boxes)))
        except NumberTypeError:
            values = np.zeros(0)
        if any(len(b) != 4 for b in boxes) or len(values) != 4 * len(boxes):
            raise PoseFormatError("a detection has a bounding box that is not 4 numbers")
        ids = np.frombuffer(b"".join(instances), "V12") if instances else np.zeros(0, "V12")
        return LinkedBoxes(ids, parts, values.reshape(-1, 4))

    def _persons(
        self, kps: list[dict[str, Any]], image_index: np.ndarray, images: Images, docs: list[dict[str, Any]]
    ) -> tuple[Persons, dict[str, int], np.ndarray, np.ndarray]:
        """Persons of one batch, with notes, their source-file positions (-1: none) and which have ids."""
        k = self.layout.num_keypoints
        n = len(kps)
        if n == 0:
            return Persons.empty(k), {}, np.zeros(0, np.int64), np.zeros(0, bool)

        def fail(j: int, message: str) -> PoseFormatError:
            kp_id = kps[j].get(documents.ID)
            return PoseFormatError(message, record=f"keypoint {kp_id or '?'} of {images.file_names[image_index[j]]}")

        # normalised points: an array of [x, y] arrays per person; [None, None] is unlabeled
        pts = [kp.get("points") for kp in kps]
        for j, p in enumerate(pts):
            if type(p) is not list or len(p) != k:
                raise fail(j, f"has {len(p) if type(p) is list else 0} points; the layout '{self.layout.name}' has {k}")
        try:
            points = np.array(pts, dtype=np.float64)
        except (TypeError, ValueError):
            points = None
        if points is None or points.shape != (n, k, 2):
            raise fail(next(j for j, p in enumerate(pts) if not _pairs(p)), "has a point that is not [x, y]")
        sizes = np.stack([images.widths, images.heights], axis=1).astype(np.float64)[image_index]

        vis, _, has_vis = _number_lists(kps, "visibility", k, fail, f"has a visibility list that is not {k} numbers")
        what = f"has raw_keypoints that are not {3 * k} numbers (integers within ±2^53)"
        triplets, raw_ints, has_raw = _number_lists(kps, "raw_keypoints", 3 * k, fail, what, period=3)
        merged = reconcile_points(
            points,
            np.where(has_vis[:, None], vis, -1).astype(np.int64),
            np.where(has_raw[:, None], triplets, 0).reshape(n, k, 3),
            raw_ints.reshape(n, k, 3),
            has_raw,
            sizes,
            self.origin,
        )

        linked = self._linked(docs)
        instances = [kp.get("instance") for kp in kps]
        has_instance = np.array([type(i) is dict and documents.ID in i for i in instances], bool)
        ids12 = np.zeros(n, "V12")
        if has_instance.any():
            found = b"".join(i[documents.ID].binary for i, h in zip(instances, has_instance) if h)
            ids12[has_instance] = np.frombuffer(found, "V12")
        what = "has a bbox that is not 4 numbers (integers within ±2^53)"
        stored, bbox_ints, _ = _number_lists(kps, "bbox", 4, fail, what, period=4)
        boxes, bbox_mask = reconcile_boxes(
            stored, bbox_ints, sizes, self.origin, linked.boxes_of(ids12, has_instance, None)
        )

        area = [kp.get("area") for kp in kps]
        has_area = np.array([a is not None for a in area], bool)
        areas, area_mask = np.full(n, np.nan), np.zeros(n, bool)
        try:
            values, ints = to_array([a for a in area if a is not None])
        except NumberTypeError:
            j = next(j for j, a in enumerate(area) if a is not None and not _is_number(a))
            raise fail(j, "has an area that is not a number (an integer within ±2^53)") from None
        areas[has_area], area_mask[has_area] = values, ints

        ids, has_id = _integers(kps, "person_id", 0, fail)
        category_ids, _ = _integers(kps, "category_id", 1, fail)
        crowd, _ = _integers(kps, "iscrowd", 0, fail)
        num_kp, _ = _integers(kps, "num_keypoints", -1, fail)
        source, _ = _integers(kps, "source_index", -1, fail)
        num_kp[merged.changed] = -1  # recount by the writer's rule

        # the values without a fixed shape, and the extra attributes, one dict per person
        decoded = [{key: v for key, v in kp.items() if key not in _SKIPPED} for kp in kps]
        for d in decoded:  # first: it may hold a segmentation MongoDB could not store
            extra_json = d.pop("extra_json", None)
            if extra_json:
                d.update(orjson.loads(extra_json))
        segmentations = [compact_json(d.pop("segmentation", None)) for d in decoded]
        absent: dict[str, np.ndarray] = {}
        lacking = [d.pop("absent", None) or () for d in decoded]
        for key in OPTIONAL_PERSON_KEYS if any(lacking) else ():
            mask = np.fromiter((key in keys for keys in lacking), dtype=bool, count=n)
            if mask.any():
                absent[key] = mask
        part_boxes, part_masks = {}, {}
        stored_parts = [d.pop("part_boxes", None) or {} for d in decoded]
        for name in sorted(set(chain.from_iterable(stored_parts))):
            part_boxes[name], part_masks[f"part_box.{name}"] = reconcile_boxes(
                *_box_rows([parts.get(name) for parts in stored_parts]),
                sizes,
                self.origin,
                linked.boxes_of(ids12, has_instance, name),
            )
        extras = [_plain(d) if d else d for d in decoded]
        if not has_raw.all():  # persons drawn in FiftyOne have no segmentation to write
            absent["segmentation"] = absent.get("segmentation", np.zeros(n, bool)) | ~has_raw
        persons = Persons(
            image_index=image_index,
            ids=ids,
            category_ids=category_ids,
            keypoints=merged.keypoints,
            visibility=merged.visibility,
            boxes=boxes,
            areas=areas,
            crowd=crowd != 0,
            num_keypoints=num_kp,
            segmentations=segmentations,
            extras=extras,
            visibility_raw=merged.visibility_raw if (merged.visibility_raw != merged.visibility).any() else None,
            int_mask={"keypoints": merged.int_mask, "bbox": bbox_mask, "area": area_mask, **part_masks},
            absent=absent,
            part_boxes=part_boxes,
        )
        return persons, merged.notes, source, has_id


def _labels(doc: dict[str, Any], field: str, key: str) -> list[dict[str, Any]]:
    """The labels in list ``field.key`` of a sample (none where the field is empty)."""
    labels = (doc.get(field) or {}).get(key) or []
    if type(labels) is not list or any(type(x) is not dict for x in labels):
        raise PoseFormatError(f"'{field}.{key}' holds something other than labels", record=f"sample {doc['_id']}")
    return labels


def _number_lists(
    kps: list[dict[str, Any]], key: str, width: int, fail: Callable[[int, str], Exception], what: str, period: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A list-of-numbers attribute: where given, its (n, width) values and ints (NaN/False elsewhere)."""
    n = len(kps)
    lists = [kp.get(key) for kp in kps]
    given = np.array([type(v) is list for v in lists], bool)
    bad = next((j for j, v in enumerate(lists) if given[j] and len(v) != width), None)
    if bad is None:
        try:
            flat, ints = to_array(list(chain.from_iterable(v for v in lists if type(v) is list)), period=period)
        except NumberTypeError:
            bad = next(j for j, v in enumerate(lists) if given[j] and not all(map(_is_number, v)))
    if bad is not None:
        raise fail(bad, what)
    values, mask = np.full((n, width), np.nan), np.zeros((n, width), bool)
    values[given] = flat.reshape(-1, width)
    mask[given] = np.broadcast_to(ints, flat.shape).reshape(-1, width)
    return values, mask, given


def _integers(
    kps: list[dict[str, Any]], key: str, default: int, fail: Callable[[int, str], Exception]
) -> tuple[np.ndarray, np.ndarray]:
    """An integer attribute as int64 (``default`` where absent or null) and where it was given.

    Booleans are 0/1 and whole floats within int64 count as integers."""
    values = [kp.get(key) for kp in kps]
    given = np.array([v is not None for v in values], bool)
    out = np.full(len(values), default, np.int64)
    for j, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, int):
            out[j] = v
        elif type(v) is float and abs(v) < 2.0**63 and v == int(v):
            out[j] = int(v)
        else:
            raise fail(j, f"has a '{key}' that is not an integer")
    return out, given


def _is_number(value: Any) -> bool:
    return type(value) is float or isinstance(value, int) and type(value) is not bool and abs(value) <= _MAX_EXACT_INT


def _pairs(points: list[Any]) -> bool:
    """Whether every point is [x, y] of numbers or nulls."""
    return all(type(p) is list and len(p) == 2 and all(v is None or _is_number(v) for v in p) for p in points)


def _plain(value: Any) -> Any:
    """A stored value as JSON gave it: MongoDB's ``Int64`` back to ``int``."""
    t = type(value)
    if t is dict:
        return {k: _plain(v) for k, v in value.items()}
    if t is list:
        return [_plain(v) for v in value]
    if t is not int and t is not bool and isinstance(value, int):
        return int(value)
    return value


def _box_rows(stored: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes stored as lists (None where absent) as float64 (n, 4) NaN rows and their int mask."""
    n = len(stored)
    boxes = np.full((n, 4), np.nan)
    present = np.fromiter((b is not None for b in stored), dtype=bool, count=n)
    mask = np.zeros((n, 4), bool)
    if present.any():
        arr, m = to_array(list(chain.from_iterable(b for b in stored if b is not None)), period=4)
        boxes[present] = arr.reshape(-1, 4)
        mask[present] = np.broadcast_to(m, (int(present.sum()) * 4,)).reshape(-1, 4)
    return boxes, mask
