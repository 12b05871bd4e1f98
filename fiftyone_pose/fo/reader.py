"""Images and persons of one raw batch of the export aggregation, read as numpy columns (``bsoncolumns``).

The batch reader only reads what is stored; merging FiftyOne edits with the exact values is
``reconcile``'s job. A stored value of the wrong shape (another tool wrote the database) is
named: the keypoint's id, its image, and what is wrong.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from itertools import chain
from typing import Any

import numpy as np
import orjson

from ..core.errors import PoseFormatError
from ..core.model import OPTIONAL_PERSON_KEYS, Images, Persons, compact_json
from ..core.numbers import to_array
from ..core.skeleton import Skeleton
from . import bsoncolumns as bc
from . import documents
from .fields import KEYPOINT_RESERVED, parts_field
from .reconcile import LinkedBoxes, reconcile_boxes, reconcile_points

#: keypoint attributes read as columns; the other attributes FiftyOne or this package own are skipped
_COLUMNS = (
    "points", "visibility", "raw_keypoints", "instance", "bbox", "area", "person_id", "category_id",
    "iscrowd", "num_keypoints", "source_index",
)  # fmt: skip
#: keypoint attributes decoded per person: these, and every key not in ``KEYPOINT_RESERVED``
_DECODED = ("segmentation", "absent", "part_boxes", "extra_json")
_SKIPPED = tuple(sorted(KEYPOINT_RESERVED - set(_COLUMNS) - set(_DECODED)))


def export_projection(label_field: str, det_fields: list[str], image_fields: list[str]) -> dict[str, bool]:
    """The sample keys the batch reader reads."""
    project = {
        "filepath": True,
        "image_id": True,
        "file_name": True,
        "metadata.width": True,
        "metadata.height": True,
        "extra_json": True,
        "tags": True,
        f"{label_field}.keypoints": True,
        **{f: True for f in image_fields},
    }
    for f in det_fields:
        for key in ("bounding_box", f"instance.{documents.ID}", "label"):
            project[f"{f}.detections.{key}"] = True
    return project


@dataclasses.dataclass
class SampleFiles:
    """Each exported image's media file and sample tags, in the order of the export's images: what
    a format that places images (YOLO: its splits are tags) needs, read with the batches."""

    sources: list[str] = dataclasses.field(default_factory=list)
    tags: list[list[str]] = dataclasses.field(default_factory=list)


class BatchReader:
    """``Images`` and ``Persons`` of raw batches of samples (see ``export_projection``); each
    image's file and tags are added to ``files`` where given."""

    def __init__(
        self,
        label_field: str,
        det_fields: list[str],
        image_fields: list[str],
        layout: Skeleton,
        origin: int,
        files: SampleFiles | None = None,
        attributes: bool = True,
    ) -> None:
        self.label_field, self.det_fields, self.image_fields = label_field, det_fields, image_fields
        self.layout, self.origin, self.files = layout, origin, files
        #: whether persons get their values without a fixed shape (segmentations, extra keys, part
        #: boxes, absent keys); a writer of fixed columns only (YOLO) does without them
        self.attributes = attributes

    def read(self, raw: bytes) -> tuple[Images, np.ndarray, Persons, dict[str, int], np.ndarray, np.ndarray]:
        """(images, which have an image id, persons, notes, persons' source-file positions, which persons have ids)."""
        b = bc.Batch(raw)
        starts = b.documents()
        n = len(starts)
        els = b.elements(starts)
        labels = np.zeros(len(els.owner), bool)
        for f in (self.label_field, *self.det_fields):
            labels[b.pick(els, f)] = True
        images, has_image_id = self._images(b.decode(els, np.flatnonzero(~labels), n))
        kp_starts, kp_image = _items(b, els, n, self.label_field, "keypoints")
        linked = self._linked(b, els, n)
        persons, notes, source, has_id = self._persons(b, kp_starts, kp_image, images, linked)
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
        if self.files is not None:
            self.files.sources.extend(d["filepath"] for d in docs)
            self.files.tags.extend(d.get("tags") or [] for d in docs)
        if (widths <= 0).any() or (heights <= 0).any():
            bad = int(np.flatnonzero((widths <= 0) | (heights <= 0))[0])
            raise PoseFormatError(
                "has no image size; run dataset.compute_metadata() first", record=f"sample {docs[bad]['filepath']}"
            )
        return Images(ids, names, widths, heights, extras), has_id

    def _linked(self, b: bc.Batch, els: bc.Elements, n: int) -> LinkedBoxes:
        instances, parts, boxes = [], [], []
        for f in self.det_fields:
            starts, _ = _items(b, els, n, f, "detections")
            dets = b.elements(starts)
            m = len(starts)
            inst = _instance_ids(b, dets, m)
            box = b.column(dets, "bounding_box", m)
            keep = inst[1] & box.of_kind(bc.ARRAY)
            values, _, lengths, bad = b.number_rows(box.value[keep], 4, period=4)
            if ((lengths != 4) | bad).any():
                raise PoseFormatError(f"a detection of '{f}' has a bounding box that is not 4 numbers")
            instances.append(inst[0][keep])
            boxes.append(values)
            if f == parts_field(self.label_field):
                label = b.column(dets, "label", m)
                names = np.array([None] * m, object)
                strings = label.of_kind(bc.STRING)
                names[strings] = b.strings(label.value[strings])
                parts += names[keep].tolist()
            else:
                parts += [None] * int(keep.sum())
        if not instances:
            return LinkedBoxes(np.zeros(0, "V12"), [], np.zeros((0, 4)))
        return LinkedBoxes(np.concatenate(instances), parts, np.concatenate(boxes))

    def _persons(
        self, b: bc.Batch, starts: np.ndarray, image_index: np.ndarray, images: Images, linked: LinkedBoxes
    ) -> tuple[Persons, dict[str, int], np.ndarray, np.ndarray]:
        """Persons of one batch, with notes, their source-file positions (-1: none) and which have ids."""
        k = self.layout.num_keypoints
        n = len(starts)
        if n == 0:
            return Persons.empty(k), {}, np.zeros(0, np.int64), np.zeros(0, bool)
        els = b.elements(starts)
        col = functools.partial(b.column, els, n=n)

        def fail(j: int, message: str) -> PoseFormatError:
            oid = col(documents.ID)
            kp_id = b.object_ids(oid.value[j : j + 1])[0].tobytes().hex() if oid.present[j] else "?"
            return PoseFormatError(message, record=f"keypoint {kp_id} of {images.file_names[image_index[j]]}")

        def numbers(name: str, width: int, period: int, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """A list-of-numbers attribute: where given, its (n, width) values and ints (NaN/False elsewhere)."""
            c = col(name)
            given = c.of_kind(bc.ARRAY)
            values, ints = np.full((n, width), np.nan), np.zeros((n, width), bool)
            values[given], ints[given], lengths, bad = b.number_rows(c.value[given], width, period=period)
            if ((lengths != width) | bad).any():
                raise fail(int(np.flatnonzero(given)[np.flatnonzero((lengths != width) | bad)[0]]), what)
            return values, ints, given

        def integers(name: str, default: int) -> tuple[np.ndarray, np.ndarray]:
            values, given, bad = b.integers(col(name), default)
            if bad.any():
                raise fail(int(np.flatnonzero(bad)[0]), f"has a '{name}' that is not an integer")
            return values, given

        # normalised points: an array of [x, y] arrays per person
        pts = col("points")
        arrays = pts.of_kind(bc.ARRAY)
        counts = np.zeros(n, np.int64)
        kinds, starts_xy, counts[arrays] = b.items(pts.value[arrays], k)
        if (counts != k).any():
            j = int(np.flatnonzero(counts != k)[0])
            raise fail(j, f"has {counts[j]} points; the layout '{self.layout.name}' has {k}")
        pairs = kinds.reshape(-1) == bc.ARRAY  # every person has k points here
        if not pairs.all():
            raise fail(int(np.flatnonzero(~pairs)[0]) // k, "has a point that is not [x, y]")
        xy, _, lengths, bad = b.number_rows(starts_xy.reshape(-1), 2, null=True)  # [None, None]: unlabeled
        if ((lengths != 2) | bad).any():
            raise fail(int(np.flatnonzero((lengths != 2) | bad)[0]) // k, "has a point that is not [x, y]")
        sizes = np.stack([images.widths, images.heights], axis=1).astype(np.float64)[image_index]

        vis, _, has_vis = numbers("visibility", k, 1, f"has a visibility list that is not {k} numbers")
        triplets, raw_ints, has_raw = numbers(
            "raw_keypoints", 3 * k, 3, f"has raw_keypoints that are not {3 * k} numbers (integers within ±2^53)"
        )
        points = reconcile_points(
            xy.reshape(n, k, 2),
            np.where(has_vis[:, None], vis, -1).astype(np.int64),
            np.where(has_raw[:, None], triplets, 0).reshape(n, k, 3),
            raw_ints.reshape(n, k, 3),
            has_raw,
            sizes,
            self.origin,
        )

        instances, has_instance = _instance_ids(b, els, n)
        stored, bbox_ints, _ = numbers("bbox", 4, 4, "has a bbox that is not 4 numbers (integers within ±2^53)")
        boxes, bbox_mask = reconcile_boxes(
            stored, bbox_ints, sizes, self.origin, linked.boxes_of(instances, has_instance, None)
        )

        area = col("area")
        has_area = area.present & (area.kind != bc.NULL)
        areas, area_mask, numeric = b.numbers(np.where(has_area, area.kind, bc.NULL), area.value)
        if (has_area & ~numeric).any():
            j = int(np.flatnonzero(has_area & ~numeric)[0])
            raise fail(j, "has an area that is not a number (an integer within ±2^53)")
        area_mask &= has_area

        ids, has_id = integers("person_id", 0)
        category_ids, _ = integers("category_id", 1)
        crowd, _ = integers("iscrowd", 0)
        num_kp, _ = integers("num_keypoints", -1)
        source, _ = integers("source_index", -1)
        num_kp[points.changed] = -1  # recount by the writer's rule

        # the values without a fixed shape, and the extra attributes, one dict per person (a
        # writer of fixed columns only, YOLO, does without them: a third of the reading)
        absent: dict[str, np.ndarray] = {}
        part_boxes: dict[str, np.ndarray] = {}
        part_masks: dict[str, np.ndarray] = {}
        if not self.attributes:
            segmentations: list[Any] = [None] * n
            extras: list[dict[str, Any]] = [{} for _ in range(n)]
        else:
            skip = np.zeros(len(els.owner), bool)
            for name in (*_COLUMNS, *_SKIPPED):
                skip[b.pick(els, name)] = True
            decoded = b.decode(els, np.flatnonzero(~skip), n)
            for d in decoded:  # first: it may hold a segmentation MongoDB could not store
                extra_json = d.pop("extra_json", None)
                if extra_json:
                    d.update(orjson.loads(extra_json))
            segmentations = [compact_json(d.pop("segmentation", None)) for d in decoded]
            lacking = [d.pop("absent", None) or () for d in decoded]
            for key in OPTIONAL_PERSON_KEYS if any(lacking) else ():
                mask = np.fromiter((key in keys for keys in lacking), dtype=bool, count=n)
                if mask.any():
                    absent[key] = mask
            stored_parts = [d.pop("part_boxes", None) or {} for d in decoded]
            for name in sorted(set(chain.from_iterable(stored_parts))):
                part_boxes[name], part_masks[f"part_box.{name}"] = reconcile_boxes(
                    *_box_rows([parts.get(name) for parts in stored_parts]),
                    sizes,
                    self.origin,
                    linked.boxes_of(instances, has_instance, name),
                )
            extras = [_plain(d) if d else d for d in decoded]
            if not has_raw.all():  # persons drawn in FiftyOne have no segmentation to write
                absent["segmentation"] = absent.get("segmentation", np.zeros(n, bool)) | ~has_raw
        persons = Persons(
            image_index=image_index,
            ids=ids,
            category_ids=category_ids,
            keypoints=points.keypoints,
            visibility=points.visibility,
            boxes=boxes,
            areas=areas,
            crowd=crowd != 0,
            num_keypoints=num_kp,
            segmentations=segmentations,
            extras=extras,
            visibility_raw=points.visibility_raw if (points.visibility_raw != points.visibility).any() else None,
            int_mask={"keypoints": points.int_mask, "bbox": bbox_mask, "area": area_mask, **part_masks},
            absent=absent,
            part_boxes=part_boxes,
        )
        return persons, points.notes, source, has_id


def _items(b: bc.Batch, els: bc.Elements, n: int, field: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the documents in list ``field.key`` of each of ``n`` samples, and their sample's index."""
    label = b.column(els, field, n)
    docs = np.flatnonzero(label.of_kind(bc.DOCUMENT))
    inner = b.elements(label.value[docs])
    lists = b.column(inner, key, len(docs))
    arrays = np.flatnonzero(lists.of_kind(bc.ARRAY))
    items = b.elements(lists.value[arrays], array=True)
    if (items.kind != bc.DOCUMENT).any():
        raise PoseFormatError(f"'{field}.{key}' holds something other than labels")
    rows = items.by_document()
    return items.value[rows], docs[arrays[items.owner[rows]]]


def _instance_ids(b: bc.Batch, els: bc.Elements, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label of ``els``, the ObjectId bytes of its ``instance`` (V12) and which labels have one."""
    inst = b.column(els, "instance", n)
    docs = np.flatnonzero(inst.of_kind(bc.DOCUMENT))
    oid = b.column(b.elements(inst.value[docs]), documents.ID, len(docs))
    found = oid.of_kind(bc.OBJECT_ID)
    ids = np.zeros(n, "V12")
    has = np.zeros(n, bool)
    ids[docs[found]] = b.object_ids(oid.value[found])
    has[docs[found]] = True
    return ids, has


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
