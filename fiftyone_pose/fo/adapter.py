"""The one bridge between ``PoseData`` and FiftyOne: samples in, samples out, in bulk.

Import writes finished sample documents with ``insert_many`` (no per-label object construction);
export reads them back with one aggregation over the view. What a sample holds:

- sample fields: ``filepath``, ``metadata`` (width/height), ``image_id``, ``file_name`` and the
  image record's other keys (as JSON text in ``extra_json`` where FiftyOne cannot hold them);
- ``<field>`` (``fo.Keypoints``): one ``fo.Keypoint`` per person, ``points`` normalised to [0, 1]
  with NaN for unlabeled points (the App hides them), ``visibility`` (COCO 0/1/2 per point),
  ``raw_keypoints`` (the source's x, y, v triplets in pixels, exact, with their int/float types),
  ``person_id``, ``category_id``, ``bbox``, ``area``, ``iscrowd``, ``num_keypoints``,
  ``segmentation``, and the record's other keys;
- ``<field>_boxes`` (``fo.Detections``): the person box, linked to the keypoints by ``fo.Instance``;
- ``<field>_parts`` (``fo.Detections``, layouts with part boxes such as COCO-WholeBody): one box per
  body part labelled with the part name, linked the same way; the exact values are in the
  keypoint's ``part_boxes``.

Export takes the exact pixel values wherever the normalised ones still match them, and the
normalised ones (times the image size) where the user edited or a view filtered them.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from typing import Any

import bson
import fiftyone as fo
import fiftyone.core.media as fom
import fiftyone.core.utils as fou
import numpy as np
import orjson
import pymongo
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from ..core import skeleton as skeletons
from ..core.bulk import paused_gc
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import ABSENT, OPTIONAL_PERSON_KEYS, Images, Persons, PoseData, compact_json, plain_json
from ..core.numbers import take_mask, to_array, to_lists
from ..formats.native import sizes_from_headers
from . import bsoncolumns, rawbson

INFO_KEY = "fiftyone_pose"
_RNG = np.random.default_rng()
#: images per insert_many batch: bounds peak memory, keeps batches well under MongoDB's limits
CHUNK = 4096
#: samples per cursor batch on export: each batch's bytes and columns are transient memory
#: (1024: 45 MB less peak than 4096 on COCO train, no slower)
EXPORT_BATCH = 1024

# label attributes this adapter owns; a record key with one of these names goes to ``extra``
_KEYPOINT_RESERVED = frozenset({
    "_id", "_cls", "id", "tags", "label", "points", "confidence", "index", "attributes", "instance",
    "visibility", "raw_keypoints", "person_id", "category_id", "bbox", "area", "iscrowd",
    "num_keypoints", "segmentation", "absent", "extra_json", "source_index",
    "part_boxes",
})  # fmt: skip
_SAMPLE_RESERVED = frozenset({
    "_id", "id", "filepath", "tags", "metadata", "created_at", "last_modified_at", "media_type",
    "_media_type", "_rand", "_dataset_id", "image_id", "file_name", "extra_json", "frames", "group",
})  # fmt: skip
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


#: more BSON elements for the samples of images ``lo:hi``: ``(lo, hi, widths, heights) -> [bytes per sample]``
SampleElements = Callable[[int, int, np.ndarray, np.ndarray], list[bytes]]


def boxes_field(label_field: str) -> str:
    return f"{label_field}_boxes"


def parts_field(label_field: str) -> str:
    return f"{label_field}_parts"


def _sample_reserved(label_field: str) -> frozenset[str]:
    return _SAMPLE_RESERVED | {label_field, boxes_field(label_field), parts_field(label_field)}


@functools.lru_cache(maxsize=4096)
def _is_field_name(key: str, reserved: frozenset[str]) -> bool:
    """Whether a record's extra key can be a FiftyOne field/attribute of its own (cached: keys repeat per record)."""
    return key not in reserved and _FIELD_NAME.match(key) is not None


@functools.lru_cache(maxsize=1024)
def _all_field_names(keys: tuple[str, ...], reserved: frozenset[str]) -> bool:
    """Whether every key can be a field (cached: records of a file mostly share their keys)."""
    return all(_is_field_name(k, reserved) for k in keys)


def _split_extras(extra: dict[str, Any], reserved: frozenset[str]) -> tuple[dict[str, Any], str | None]:
    """A record's extra keys as (FiftyOne attributes, JSON text of the rest or None).

    The rest are keys FiftyOne cannot take as fields (reserved or odd names) and values MongoDB
    cannot store (e.g. object keys with NUL bytes); as JSON text they survive exactly.
    """
    if not extra or _all_field_names(tuple(extra), reserved) and all(map(_storable, extra.values())):
        return extra, None
    safe = {k: v for k, v in extra.items() if _is_field_name(k, reserved) and _storable(v)}
    if len(safe) == len(extra):
        return safe, None
    return safe, orjson.dumps({k: v for k, v in extra.items() if k not in safe}).decode()


def _storable(value: Any) -> bool:
    """Whether MongoDB stores ``value`` and gives it back unchanged."""
    if type(value) not in (dict, list):
        return type(value) is not int or -(2**63) <= value < 2**63
    try:
        bson.encode({"v": value})
    except (bson.errors.InvalidDocument, OverflowError):
        return False
    return b'"$' not in orjson.dumps(value) and not _too_deep(value)  # operator-like keys ("$x") confuse queries


#: levels of nesting MongoDB stores in a document, and the largest document
_MAX_NESTING, _MAX_BSON = 180, 16 * 1024 * 1024
#: levels an extra value may have (kept well below ``_MAX_NESTING`` less the levels holding it)
_MAX_DEPTH = 90


def _too_deep(value: Any, limit: int = _MAX_DEPTH, depth: int = 1) -> bool:
    """Whether ``value`` nests more than ``limit`` levels."""
    if depth > limit:
        return True
    items = value.values() if type(value) is dict else value if type(value) is list else ()
    if not {list, dict} & set(map(type, items)):
        return False
    return any(_too_deep(x, limit, depth + 1) for x in items if type(x) in (list, dict))


# ---------------------------------------------------------------------------------------- import


def add_pose_data(
    dataset: fo.Dataset,
    data: PoseData,
    images_dir: str | os.PathLike,
    label_field: str = "ground_truth",
    tags: list[str] | None = None,
    progress: bool | None = None,
    sample_elements: SampleElements | None = None,
) -> list[str]:
    """Add every image of ``data`` to ``dataset`` as a sample; returns the new sample ids.

    ``sample_elements(lo, hi, widths, heights)``: more BSON elements (bytes) for each sample of
    images ``lo:hi`` (sizes in pixels), declared by the caller, e.g. a grouped dataset's ``group``.
    """
    images_dir = os.path.abspath(os.fspath(images_dir))
    sized = sizes_from_headers(data, images_dir).images  # where the file gives none (its notes go to data's)
    widths, heights = sized.widths, sized.heights
    image_fields = _declare_schema(dataset, data, label_field)
    _record_info(dataset, data, label_field, image_fields)

    encoder = _Encoder(
        data, images_dir, label_field, dataset._doc.id, tags, (widths, heights), image_fields, sample_elements
    )
    ids: list[ObjectId] = []
    # one insert in flight while the next batch is built: mongod works on the other core
    writer = ThreadPoolExecutor(max_workers=1)
    pending, pending_batch = None, (0, [])
    try:
        with paused_gc(), fou.ProgressBar(total=len(data.images), progress=progress) as pb:
            for lo in range(0, len(data.images), CHUNK):
                hi = min(lo + CHUNK, len(data.images))
                new_ids, docs = encoder.batch(lo, hi)
                ids.extend(new_ids)
                if pending is not None:
                    _inserted(pending, *pending_batch, data)
                pending, pending_batch = (
                    writer.submit(dataset._sample_collection.insert_many, docs, ordered=False),
                    (lo, docs),
                )
                pb.update(hi - lo)
            if pending is not None:
                _inserted(pending, *pending_batch, data)
        if encoder.has_extra_json and not dataset.has_field("extra_json"):  # the image keys no field could hold
            dataset._merge_sample_field_schema({"extra_json": fo.StringField()})
    except BaseException:  # all or nothing, also on Ctrl-C
        if pending is not None:
            pending.cancel() or _wait_quietly(pending)
        dataset._sample_collection.delete_many({"_id": {"$in": ids}})
        raise
    finally:
        writer.shutdown(wait=True)
    return [str(i) for i in ids]


def _inserted(insert: Future, first_image: int, docs: list[RawBSONDocument], data: PoseData) -> None:
    """Wait for a batch insert; a sample MongoDB refuses (nested deeper than it stores, over
    16 MB) is named, with MongoDB's reason."""
    try:
        insert.result()
    except (pymongo.errors.OperationFailure, bson.errors.InvalidDocument) as e:
        if isinstance(e, pymongo.errors.BulkWriteError):
            errors = e.details.get("writeErrors") or [{"index": None}]
            j, reason = errors[0]["index"], errors[0].get("errmsg")
        else:  # the whole message was refused: find the sample
            j = next(
                (
                    j
                    for j, d in enumerate(docs)
                    if len(d.raw) > _MAX_BSON or _too_deep(bson.decode(d.raw), _MAX_NESTING)
                ),
                None,
            )
            reason = str(e)[:200]
        if j is None:
            raise
        i = first_image + j
        raise PoseFormatError(
            f"MongoDB cannot store this image's sample: {reason}",
            record=f"images[{i}] (id {data.images.ids[i]}, {data.images.file_names[i]})",
        ) from None


def _wait_quietly(future: Future) -> None:
    """Let a running insert finish (its documents are then deleted with the rest)."""
    try:
        future.result()
    except Exception:
        pass


def object_id_bytes(n: int) -> np.ndarray:
    """The bytes (n, 12) of ``n`` new ObjectIds, as ``ObjectId()`` makes them (time, process random, counter)."""
    with ObjectId._inc_lock:  # reserve n counter values so later ObjectId() calls never repeat them
        start = ObjectId._inc
        ObjectId._inc = (start + n) % 0x1000000
    prefix = np.frombuffer(int(time.time()).to_bytes(4, "big") + ObjectId._random(), dtype=np.uint8)
    counters = ((start + np.arange(n, dtype=np.int64)) % 0x1000000).astype(">u4").view(np.uint8).reshape(n, 4)
    raw = np.empty((n, 12), dtype=np.uint8)
    raw[:, :9] = prefix
    raw[:, 9:] = counters[:, 1:]
    return raw


def _category_names(data: PoseData) -> dict[int, str]:
    return {c["id"]: str(c.get("name", "person")) for c in data.categories}


_TAGS_NONE = rawbson.element_head(rawbson.ARRAY, "tags") + rawbson.wrap(b"")
#: persons encoded at a time: bounds the byte matrices (a COCO-WholeBody person is ~10 kB)
_ENCODE_ROWS = 2048


class _Encoder:
    """BSON sample documents of a ``PoseData``, a batch of images at a time.

    Numbers, ids and fixed keys of every person are laid out with numpy (``rawbson``); only what
    has no fixed shape (segmentations, extra keys, absent keys, part boxes) goes through
    ``bson.encode``, per person. Persons become items of their sample's arrays by joining flat
    lists of byte strings, so no Python object is made per value.
    """

    def __init__(
        self,
        data: PoseData,
        images_dir: str,
        label_field: str,
        dataset_id: ObjectId,
        tags: list[str] | None,
        sizes: tuple[np.ndarray, np.ndarray],
        image_fields: frozenset[str],
        more: SampleElements | None = None,
    ) -> None:
        self.data, self.images_dir = data, images_dir
        self.widths, self.heights = sizes
        self.names = _category_names(data)
        p = data.persons
        self.order = np.argsort(p.image_index, kind="stable")
        self.starts = np.searchsorted(p.image_index[self.order], np.arange(len(data.images) + 1))
        self.fixed = bson.encode({"tags": list(tags or []), "_media_type": "image", "_dataset_id": dataset_id})[4:-1]
        self.field_heads = (
            rawbson.element_head(rawbson.DOCUMENT, label_field),
            rawbson.element_head(rawbson.DOCUMENT, boxes_field(label_field)),
            rawbson.element_head(rawbson.DOCUMENT, parts_field(label_field)),
        )
        # image keys without a declared field go to extra_json: FiftyOne cannot load undeclared fields
        self.reserved = frozenset(
            _sample_reserved(label_field) | (set(chain.from_iterable(data.images.extras)) - image_fields)
        )
        self.has_extra_json = False
        self.corner = np.array([data.origin, data.origin, 0.0, 0.0])  # subtracted from [x, y, w, h] boxes
        self.more = more

    def batch(self, lo: int, hi: int) -> tuple[list[ObjectId], list[RawBSONDocument]]:
        """Ids and documents of the samples of images ``lo:hi``."""
        rb = rawbson
        p = self.data.persons
        im = self.data.images
        rows = self.order[self.starts[lo] : self.starts[hi]]
        bounds = (self.starts[lo : hi + 1] - self.starts[lo]).tolist()
        first = np.repeat(self.starts[lo:hi] - self.starts[lo], np.diff(self.starts[lo : hi + 1]))
        n = len(rows)
        has_box = ~np.isnan(p.boxes[rows]).any(axis=1)
        drawn = (
            np.stack([_drawn(p.part_boxes[name][rows]) for name in p.part_boxes], axis=1)
            if p.part_boxes
            else np.zeros((n, 0), bool)
        )
        ranks = (
            np.arange(n) - first,
            _ranks(has_box, first),
            _ranks(drawn.reshape(-1), np.repeat(first, drawn.shape[1]) * drawn.shape[1]).reshape(drawn.shape),
        )
        keypoints: list[bytes] = []
        boxes: list[bytes] = []
        parts: list[bytes] = []
        for a in range(0, n, _ENCODE_ROWS):
            part = slice(a, a + _ENCODE_ROWS)
            kp, det, pd = self._persons(
                rows[part], ranks[0][part], ranks[1][part], ranks[2][part], has_box[part], drawn[part]
            )
            keypoints += kp
            boxes += det
            parts += pd
        samples = self._samples(lo, hi)
        paths = _paths(self.images_dir, im.file_names[lo:hi])
        k_parts = drawn.shape[1]
        kp_head, box_head, parts_head = self.field_heads
        kps_cls = _cls("Keypoints") + rb.element_head(rb.ARRAY, "keypoints")
        dets_cls = _cls("Detections") + rb.element_head(rb.ARRAY, "detections")
        more = self.more(lo, hi, self.widths[lo:hi], self.heights[lo:hi]) if self.more else None
        docs = []
        for j, i in enumerate(range(lo, hi)):
            a, b = bounds[j], bounds[j + 1]
            body = [
                samples[j],
                rb.string("filepath", paths[j]),
                rb.string("file_name", im.file_names[i]),
                kp_head, rb.wrap(kps_cls + rb.wrap(b"".join(keypoints[3 * a : 3 * b]))),
                box_head, rb.wrap(dets_cls + rb.wrap(b"".join(boxes[a:b]))),
            ]  # fmt: skip
            if k_parts:
                body += [parts_head, rb.wrap(dets_cls + rb.wrap(b"".join(parts[k_parts * a : k_parts * b])))]
            if more:
                body.append(more[j])
            if im.extras[i]:
                safe, other = _split_extras(im.extras[i], self.reserved)
                if other:
                    safe = {**safe, "extra_json": other}
                    self.has_extra_json = True
                body.append(bson.encode(safe)[4:-1])
            docs.append(RawBSONDocument(rb.wrap(b"".join(body))))
        return self._ids, docs

    def _samples(self, lo: int, hi: int) -> list[bytes]:
        """The fixed-shape elements of each sample of images ``lo:hi`` (sets ``_ids``)."""
        rb = rawbson
        n = hi - lo
        w, h = self.widths[lo:hi], self.heights[lo:hi]
        sized = (w > 0) & (h > 0)
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        oids = object_id_bytes(n)
        buf = oids.tobytes()
        self._ids = [ObjectId(buf[i : i + 12]) for i in range(0, 12 * n, 12)]
        return rb.concat([
            rb.object_ids("_id", oids),
            rb.const(n, self.fixed + bson.encode({"created_at": now, "last_modified_at": now})[4:-1]),
            rb.document(
                rb.DOCUMENT, "metadata",
                rb.concat([
                    rb.const(n, _cls("ImageMetadata")),
                    rb.integers(["width", "height"], np.stack([w, h], axis=1)),
                ]),
                present=sized,
            ),
            rb.const(n, rb.element_head(rb.NULL, "metadata"), present=~sized),
            rb.numbers(["_rand"], _RNG.random((n, 1)) * 0.001 + 0.999, False),
            rb.integers(["image_id"], self.data.images.ids[lo:hi, None]),
        ]).rows()  # fmt: skip

    def _persons(
        self,
        rows: np.ndarray,
        rank: np.ndarray,
        box_rank: np.ndarray,
        part_rank: np.ndarray,
        has_box: np.ndarray,
        drawn: np.ndarray,
    ) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """Array items of the persons at ``rows``: keypoints (3 byte strings each: to join), boxes, part boxes."""
        rb = rawbson
        p = self.data.persons
        n, k = len(rows), p.num_points
        if n == 0:
            return [], [], []
        img = p.image_index[rows]
        wh = np.stack([self.widths[img], self.heights[img]], axis=1).astype(np.float64)
        whwh = np.concatenate([wh, wh], axis=1)
        kp = p.keypoints[rows]
        vis = p.visibility[rows]
        points = (kp - self.data.origin) / wh[:, None, :]
        points[vis == 0] = np.nan
        triplets = np.concatenate([kp, p.raw_visibility(rows)[..., None]], axis=2).reshape(n, 3 * k)
        kp_mask = p.mask("keypoints")
        boxes, areas = p.boxes[rows], p.areas[rows]
        has_area = ~np.isnan(areas)
        num_kp = p.num_keypoints[rows]
        cats = p.category_ids[rows]
        label = rb.concat([
            rb.const(n, bson.encode({"label": self.names.get(c, "person")})[4:-1], present=cats == c)
            for c in np.unique(cats).tolist()
        ])  # fmt: skip
        part_names = list(p.part_boxes)
        # everything without a fixed shape, per person
        absent = {key: p.absent[key][rows] for key in OPTIONAL_PERSON_KEYS if key in p.absent}
        exact_parts = [
            to_lists(p.part_boxes[name][rows], take_mask(p.mask(f"part_box.{name}"), rows)) for name in part_names
        ]
        present_parts = [~np.isnan(p.part_boxes[name][rows]).any(axis=1) for name in part_names]
        rest = []
        for j, r in enumerate(rows.tolist()):
            doc: dict[str, Any] = {}
            missing = [key for key, m in absent.items() if m[j]]
            if missing:
                doc["absent"] = missing
            if "segmentation" not in missing:
                doc["segmentation"] = plain_json(p.segmentations[r])
            if p.extras[r]:
                safe, other = _split_extras(p.extras[r], _KEYPOINT_RESERVED)
                doc.update(safe)
                if other:
                    doc["extra_json"] = other
            if part_names:
                doc["part_boxes"] = {
                    name: exact[j] for name, exact, present in zip(part_names, exact_parts, present_parts) if present[j]
                }
            rest.append(_encode_rest(doc) if doc else b"")
        oids = object_id_bytes(2 * n)
        instance = rb.document(
            rb.DOCUMENT, "instance", rb.concat([rb.object_ids("_id", oids[n:]), rb.const(n, _cls("Instance"))])
        )
        keypoint = rb.document(
            rb.DOCUMENT,
            rb.index_heads(rb.DOCUMENT, rank),
            rb.concat([
                rb.object_ids("_id", oids[:n]),
                rb.const(n, _cls("Keypoint") + _TAGS_NONE),
                label,
                rb.pair_array("points", points),
                instance,
                rb.array("visibility", vis.astype(np.float64), True),
                rb.array("raw_keypoints", triplets,
                         take_mask(kp_mask, rows).reshape(n, 3 * k)),
                rb.integers(["person_id", "category_id", "iscrowd", "source_index"],
                            np.stack([p.ids[rows], cats, p.crowd[rows], rows], axis=1)),
                rb.array("bbox", boxes, take_mask(p.mask("bbox"), rows), present=has_box),
                rb.numbers(["area"], areas[:, None], np.reshape(take_mask(p.mask("area"), rows), (-1, 1)),
                           present=has_area[:, None]),
                rb.integers(["num_keypoints"], num_kp[:, None], present=(num_kp >= 0)[:, None]),
            ]),
            appended=np.fromiter(map(len, rest), np.int64, count=n),
        ).rows()  # fmt: skip
        items: list[bytes] = [b"\x00"] * (3 * n)  # per person: head and fixed elements, the rest, the closing NUL
        items[0::3] = keypoint
        items[1::3] = rest
        detection = rb.document(
            rb.DOCUMENT,
            rb.index_heads(rb.DOCUMENT, box_rank),
            rb.concat(
                [
                    rb.object_ids("_id", object_id_bytes(n)),
                    rb.const(n, _cls("Detection") + _TAGS_NONE),
                    label,
                    rb.array("bounding_box", (boxes - self.corner) / whwh, False),
                    instance,
                    rb.integers(["iscrowd"], p.crowd[rows, None]),
                ]
            ),
            present=has_box,
        ).rows()
        part_items: list[bytes] = [b""] * (n * len(part_names))  # per person, per part in order
        for t, name in enumerate(part_names):
            part_items[t :: len(part_names)] = rb.document(
                rb.DOCUMENT,
                rb.index_heads(rb.DOCUMENT, part_rank[:, t]),
                rb.concat(
                    [
                        rb.object_ids("_id", object_id_bytes(n)),
                        rb.const(n, _cls("Detection") + _TAGS_NONE + rawbson.string("label", name)),
                        rb.array("bounding_box", (p.part_boxes[name][rows] - self.corner) / whwh, False),
                        instance,
                    ]
                ),
                present=drawn[:, t],
            ).rows()
        return items, detection, part_items


def _encode_rest(doc: dict[str, Any]) -> bytes:
    """BSON elements of a person's shapeless values; a segmentation BSON cannot hold (an
    integer beyond int64, a NUL in a key) is kept as JSON text in ``extra_json``.

    Nesting deeper than MongoDB stores is not checked here (that would cost a pass over every
    polygon); the insert refuses it and ``add_pose_data`` names the image."""
    try:
        return bson.encode(doc)[4:-1]
    except (bson.errors.InvalidDocument, OverflowError):
        if "segmentation" not in doc:  # the other values were checked by _split_extras
            raise
    rest = {k: v for k, v in doc.items() if k != "segmentation"}
    other = orjson.loads(rest.get("extra_json") or "{}")
    return bson.encode({**rest, "extra_json": orjson.dumps({**other, "segmentation": doc["segmentation"]}).decode()})[
        4:-1
    ]


#: a file name that ``os.path.normpath`` would change once joined to a folder
_UNNORMAL = re.compile(r"(^|/)\.{1,2}(/|$)|//|^/|/$|^$", re.MULTILINE)


def _paths(images_dir: str, names: list[str]) -> list[str]:
    """``normpath(join(images_dir, name))`` of each name; one regex over all of them where they are plain."""
    joined = "\n".join(names)
    if os.sep == "/" and joined.count("\n") == len(names) - 1 and not _UNNORMAL.search(joined):
        prefix = images_dir.rstrip("/") + "/"
        return [prefix + name for name in names]
    return [os.path.normpath(os.path.join(images_dir, name)) for name in names]


def _drawn(part_boxes: np.ndarray) -> np.ndarray:
    """Part boxes drawn as detections: present and not an all-zero "no box" marker."""
    return ~np.isnan(part_boxes).any(axis=1) & (part_boxes[:, 2] > 0) & (part_boxes[:, 3] > 0)


def _ranks(flags: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Position of each flagged entry among the flagged entries of its group (groups start at ``first``)."""
    before = np.cumsum(flags) - flags
    return before - before[first] if len(flags) else before


def _cls(name: str) -> bytes:
    return rawbson.string("_cls", name)


def _declare_schema(dataset: fo.Dataset, data: PoseData, label_field: str) -> frozenset[str]:
    """Declare the fields the bulk insert writes, with types the App can filter on, in one merge;
    returns the image keys that have a sample field."""
    if dataset.media_type is None:
        dataset.media_type = "image"
    kp = f"{label_field}.keypoints"
    det = f"{boxes_field(label_field)}.detections"
    schema = {
        "image_id": fo.IntField(),
        "file_name": fo.StringField(),
        label_field: fo.EmbeddedDocumentField(fo.Keypoints),
        boxes_field(label_field): fo.EmbeddedDocumentField(fo.Detections),
        f"{kp}.instance": fo.EmbeddedDocumentField(fo.Instance),
        f"{kp}.visibility": fo.ListField(fo.IntField()),
        f"{kp}.raw_keypoints": fo.ListField(fo.FloatField()),
        f"{kp}.person_id": fo.IntField(),
        f"{kp}.category_id": fo.IntField(),
        f"{kp}.iscrowd": fo.IntField(),
        f"{kp}.bbox": fo.ListField(fo.FloatField()),
        f"{kp}.area": fo.FloatField(),
        f"{kp}.num_keypoints": fo.IntField(),
        f"{kp}.source_index": fo.IntField(),
        f"{det}.instance": fo.EmbeddedDocumentField(fo.Instance),
        f"{det}.iscrowd": fo.IntField(),
    }
    if data.persons.part_boxes:
        schema[parts_field(label_field)] = fo.EmbeddedDocumentField(fo.Detections)
        schema[f"{parts_field(label_field)}.detections.instance"] = fo.EmbeddedDocumentField(fo.Instance)
    image_schema = {
        key: ftype()
        for key, ftype in _extra_field_types(data.images.extras, _sample_reserved(label_field), containers=True)
    }
    schema.update(image_schema)
    schema.update(
        {f"{kp}.{key}": ftype() for key, ftype in _extra_field_types(data.persons.extras, _KEYPOINT_RESERVED)}
    )
    existing = dataset.get_field_schema(flat=True)
    # a field of another type from an earlier import cannot take these values: they go to extra_json
    image_schema = {k: f for k, f in image_schema.items() if k not in existing or type(existing[k]) is type(f)}
    new = {k: v for k, v in schema.items() if k not in existing}
    # one merge per level: FiftyOne needs a field declared before fields embedded in it
    for top_level in (True, False):
        level = {k: v for k, v in new.items() if ("." not in k) == top_level}
        if level:
            dataset._merge_sample_field_schema(level)
    return frozenset(image_schema)


def _extra_field_types(
    records: list[dict[str, Any]], reserved: frozenset[str], containers: bool = False
) -> Iterable[tuple[str, type]]:
    """FiftyOne field types for the extra keys of the records (scalars only; others stay dynamic).

    ``containers``: also lists and dicts (sample fields must be declared to be loaded; MPII's
    ``single_person`` and ``act``)."""
    seen: dict[str, set[type]] = {}
    for rec in records:
        for key, value in rec.items():
            seen.setdefault(key, set()).add(type(value))
    for key, types in seen.items():
        if not _is_field_name(key, reserved):
            continue
        types.discard(type(None))
        if types and types <= {int, bool} and bool not in types:
            yield key, fo.IntField
        elif types and types <= {int, float}:
            yield key, fo.FloatField
        elif types == {str}:
            yield key, fo.StringField
        elif types == {bool}:
            yield key, fo.BooleanField
        elif containers and types == {list}:
            yield key, fo.ListField
        elif containers and types == {dict}:
            yield key, fo.DictField


def _record_info(dataset: fo.Dataset, data: PoseData, label_field: str, image_fields: frozenset[str]) -> None:
    """Skeleton on ``dataset.skeletons``; sigmas, flip pairs, categories and file-level keys in info."""
    layout = data.skeleton
    dataset.skeletons[label_field] = fo.KeypointSkeleton(
        labels=list(layout.keypoints), edges=[list(e) for e in layout.edges]
    )
    if dataset.default_skeleton is None:
        dataset.default_skeleton = dataset.skeletons[label_field]
    info = dict(dataset.info)
    pose = dict(info.get(INFO_KEY, {}))
    pose[label_field] = {
        "format": data.format,
        "origin": data.origin,
        "skeleton": layout.to_dict(),
        "categories": data.categories,
        **stored_meta(data.meta),
        "image_fields": sorted(image_fields),
    }
    info[INFO_KEY] = pose
    dataset.info = info
    dataset.save()


#: how ``ABSENT`` was stored in ``dataset.info`` by earlier versions (a string a file can hold too)
_LEGACY_ABSENT = "__absent__"


def stored_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """``PoseData.meta`` as a field's entry in ``dataset.info`` keeps it: ``meta``, the file's own
    values, and ``absent_keys``, the keys marked ``ABSENT``; no value a file holds is a marker."""
    return {
        "meta": {key: value for key, value in meta.items() if value is not ABSENT},
        "absent_keys": [key for key, value in meta.items() if value is ABSENT],
    }


def meta_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``PoseData.meta`` of a field's entry in ``dataset.info`` (see ``stored_meta``)."""
    meta = dict(entry.get("meta") or {})
    if "absent_keys" not in entry:  # stored before ``absent_keys``: the marker was a string
        return {key: ABSENT if value == _LEGACY_ABSENT else value for key, value in meta.items()}
    return {**meta, **dict.fromkeys(entry["absent_keys"], ABSENT)}


# ---------------------------------------------------------------------------------------- export


def pose_fields(collection: fo.core.collections.SampleCollection) -> list[str]:
    """The keypoint fields of a collection, those this package imported first."""
    recorded = list(collection._root_dataset.info.get(INFO_KEY, {}))
    kp_fields = list(collection.get_field_schema(embedded_doc_type=fo.Keypoints))
    return [f for f in recorded if f in kp_fields] + [f for f in kp_fields if f not in recorded]


def resolve_label_field(collection: fo.core.collections.SampleCollection, label_field: str | None) -> str:
    fields = pose_fields(collection)
    if label_field is None:
        if not fields:
            raise PoseUsageError("the collection has no keypoints field")
        return fields[0]
    if label_field not in fields:
        raise PoseUsageError(
            f"'{label_field}' is not a keypoints field; keypoints fields: {', '.join(fields) or 'none'}"
        )
    return label_field


def to_pose_data(
    collection: fo.core.collections.SampleCollection,
    label_field: str | None = None,
    progress: bool | None = None,
) -> PoseData:
    """The persons and images a view shows, as ``PoseData`` (exact where nothing was edited).

    One aggregation over the view; its raw batches are read as columns (``bsoncolumns``), so
    no Python object is made per number. Of a grouped collection, the samples of every image slice.
    """
    if collection.media_type == fom.GROUP:
        collection = collection.select_group_slices(media_type=fom.IMAGE)
    label_field = resolve_label_field(collection, label_field)
    info = collection._root_dataset.info.get(INFO_KEY, {}).get(label_field, {})
    layout = _layout(collection, label_field, info)
    image_fields = info.get("image_fields", [])
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
    det_fields = [f for f in (boxes_field(label_field), parts_field(label_field)) if collection.has_field(f)]
    for f in det_fields:
        for key in ("bounding_box", "instance._id", "label"):
            project[f"{f}.detections.{key}"] = True
    pipeline = collection._pipeline(post_pipeline=[{"$project": project}])
    origin = info.get("origin", 0)
    reader = _BatchReader(label_field, det_fields, image_fields, layout, origin)
    image_parts, person_parts, notes = [], [], {}
    known_image_ids, known_person_ids, sources = [], [], []
    cursor = collection._dataset._sample_collection.aggregate_raw_batches(
        pipeline, allowDiskUse=True, batchSize=EXPORT_BATCH
    )
    with cursor, paused_gc(), fou.ProgressBar(total=len(collection), progress=progress) as pb:
        offset = 0
        for raw in _prefetched(cursor):
            images, has_image_id, persons, batch_notes, source, has_person_id = reader.read(bsoncolumns.Batch(raw))
            persons.image_index += offset
            offset += len(images)
            image_parts.append(images)
            person_parts.append(persons)
            known_image_ids.append(has_image_id)
            known_person_ids.append(has_person_id)
            sources.append(source)
            for reason, count in batch_notes.items():
                notes[reason] = notes.get(reason, 0) + count
            pb.update(len(images))
        images = Images.concat(image_parts)
        persons = Persons.concat(person_parts, layout.num_keypoints)
        del image_parts, person_parts  # one copy of the persons at a time: this is export's peak
        _fill_ids(images.ids, np.concatenate(known_image_ids or [np.zeros(0, bool)]))
        _fill_ids(persons.ids, np.concatenate(known_person_ids or [np.zeros(0, bool)]))
        # the source file's order; persons drawn in FiftyOne follow, in sample order
        source = np.concatenate(sources or [np.zeros(0, np.int64)])
        order = np.lexsort((np.arange(len(source)), np.where(source >= 0, source, np.iinfo(np.int64).max)))
        if (order != np.arange(len(order))).any():
            persons = persons.take(order)
    return PoseData(
        images=images,
        persons=persons,
        skeleton=layout,
        categories=info.get("categories") or [],
        meta=meta_of(info),
        format=info.get("format"),
        notes=notes,
        origin=origin,
    )


def _prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """The items, each next one fetched in a thread while the caller works on the current one.

    On export, mongod runs the aggregation and sends the next batch (the socket wait releases
    the GIL) while this process reads the current one.
    """
    with ThreadPoolExecutor(max_workers=1) as fetcher:
        pending = fetcher.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = fetcher.submit(next, items, None)
            yield item


def _layout(collection: Any, label_field: str, info: dict[str, Any]):
    if info.get("skeleton"):
        return skeletons.Skeleton.from_dict(info["skeleton"])
    sk = collection.get_skeleton(label_field)
    if sk is not None and sk.labels:
        return skeletons.Skeleton.custom(sk.labels, [e for e in sk.edges if len(e) == 2])
    raise PoseUsageError(f"field '{label_field}' has no skeleton; set dataset.skeletons['{label_field}'] first")


def _fill_ids(ids: np.ndarray, known: np.ndarray) -> None:
    """Give records made in FiftyOne (no id) new ids after the largest existing one."""
    if not known.all():
        start = int(ids[known].max()) + 1 if known.any() else 1
        ids[~known] = np.arange(start, start + int((~known).sum()))


#: keypoint attributes read as columns; the other attributes FiftyOne or this adapter own are skipped
_COLUMNS = (
    "points",
    "visibility",
    "raw_keypoints",
    "instance",
    "bbox",
    "area",
    "person_id",
    "category_id",
    "iscrowd",
    "num_keypoints",
    "source_index",
)
#: keypoint attributes decoded per person: these, and every key not in ``_KEYPOINT_RESERVED``
_DECODED = ("segmentation", "absent", "part_boxes", "extra_json")
_SKIPPED = tuple(sorted(_KEYPOINT_RESERVED - set(_COLUMNS) - set(_DECODED)))


@dataclass
class _Linked:
    """The detections of a batch linked to persons: instance id, part name (None: the person box), box."""

    instances: np.ndarray  # V12 ObjectId bytes
    parts: list[str | None]
    boxes: np.ndarray  # float64 (m, 4), normalised

    def boxes_of(self, instances: np.ndarray, has_instance: np.ndarray, part: str | None) -> np.ndarray:
        """Per person, the box of its linked detection for ``part`` (NaN rows where none)."""
        out = np.full((len(instances), 4), np.nan)
        mine = np.flatnonzero(np.array([p == part for p in self.parts], bool)) if self.parts else np.zeros(0, np.int64)
        if not len(mine) or not has_instance.any():
            return out
        # the last detection of an instance wins, as a dict built in order would have it
        ids = self.instances[mine][::-1]
        order = np.argsort(ids, kind="stable")
        found = np.searchsorted(ids[order], instances)
        found = np.minimum(found, len(ids) - 1)
        hit = has_instance & (ids[order][found] == instances)
        out[hit] = self.boxes[mine[::-1][order[found[hit]]]]
        return out


class _BatchReader:
    """``Images`` and ``Persons`` of one raw batch of the export aggregation."""

    def __init__(
        self, label_field: str, det_fields: list[str], image_fields: list[str], layout: skeletons.Skeleton, origin: int
    ) -> None:
        self.label_field, self.det_fields, self.image_fields, self.layout = (
            label_field,
            det_fields,
            image_fields,
            layout,
        )
        self.origin = origin
        self.corner = np.array([origin, origin, 0.0, 0.0])  # added to normalised [x, y, w, h] boxes

    def read(self, b: bsoncolumns.Batch):
        """(images, which have an image id, persons, notes, persons' source-file positions, which persons have ids)."""
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
        if (widths <= 0).any() or (heights <= 0).any():
            bad = int(np.flatnonzero((widths <= 0) | (heights <= 0))[0])
            raise PoseUsageError(
                f"sample {docs[bad]['filepath']} has no image size; run dataset.compute_metadata() first"
            )
        return Images(ids, names, widths, heights, extras), has_id

    def _linked(self, b: bsoncolumns.Batch, els: bsoncolumns.Elements, n: int) -> _Linked:
        instances, parts, boxes = [], [], []
        for f in self.det_fields:
            starts, _ = _items(b, els, n, f, "detections")
            dets = b.elements(starts)
            m = len(starts)
            inst = _instance_ids(b, dets, m)
            box = b.column(dets, "bounding_box", m)
            keep = inst[1] & box.of_kind(bsoncolumns.ARRAY)
            values, _, lengths, bad = b.number_rows(box.value[keep], 4, period=4)
            if ((lengths != 4) | bad).any():
                raise PoseUsageError(f"a detection of '{f}' has a bounding box that is not 4 numbers")
            instances.append(inst[0][keep])
            boxes.append(values)
            if f == parts_field(self.label_field):
                label = b.column(dets, "label", m)
                names = np.array([None] * m, object)
                strings = label.of_kind(bsoncolumns.STRING)
                names[strings] = b.strings(label.value[strings])
                parts += names[keep].tolist()
            else:
                parts += [None] * int(keep.sum())
        if not instances:
            return _Linked(np.zeros(0, "V12"), [], np.zeros((0, 4)))
        return _Linked(np.concatenate(instances), parts, np.concatenate(boxes))

    def _persons(
        self, b: bsoncolumns.Batch, starts: np.ndarray, image_index: np.ndarray, images: Images, linked: _Linked
    ) -> tuple[Persons, dict[str, int], np.ndarray, np.ndarray]:
        """Persons of one batch, with notes, their source-file positions (-1: none) and which have ids."""
        layout = self.layout
        k = layout.num_keypoints
        n = len(starts)
        notes: dict[str, int] = {}
        if n == 0:
            return Persons.empty(k), notes, np.zeros(0, np.int64), np.zeros(0, bool)
        els = b.elements(starts)
        col = functools.partial(b.column, els, n=n)

        def fail(j: int, message: str) -> ValueError:
            oid = col("_id")
            kp_id = b.object_ids(oid.value[j : j + 1])[0].tobytes().hex() if oid.present[j] else "?"
            return ValueError(f"keypoint {kp_id} of {images.file_names[image_index[j]]} {message}")

        # normalised points: an array of [x, y] arrays per person
        pts = col("points")
        arrays = pts.of_kind(bsoncolumns.ARRAY)
        counts = np.zeros(n, np.int64)
        kinds, starts_xy, counts[arrays] = b.items(pts.value[arrays], k)
        if (counts != k).any():
            j = int(np.flatnonzero(counts != k)[0])
            raise fail(j, f"has {counts[j]} points; the layout '{layout.name}' has {k}")
        pairs = kinds.reshape(-1) == bsoncolumns.ARRAY  # every person has k points here
        if not pairs.all():
            raise fail(int(np.flatnonzero(~pairs)[0]) // k, "has a point that is not [x, y]")
        xy, _, lengths, bad = b.number_rows(starts_xy.reshape(-1), 2, null=True)  # [None, None]: unlabeled
        broken = (lengths != 2) | bad
        if broken.any():
            raise fail(int(np.flatnonzero(broken)[0]) // k, "has a point that is not [x, y]")
        points = xy.reshape(n, k, 2)
        wh = np.stack([images.widths, images.heights], axis=1).astype(np.float64)[image_index]

        vis_stored = np.full((n, k), -1, np.int64)
        vis = col("visibility")
        given = vis.of_kind(bsoncolumns.ARRAY)
        values, _, lengths, bad = b.number_rows(vis.value[given], k)
        if ((lengths != k) | bad).any():
            raise fail(
                int(np.flatnonzero(given)[np.flatnonzero((lengths != k) | bad)[0]]),
                f"has a visibility list that is not {k} numbers",
            )
        vis_stored[given] = values.astype(np.int64)

        # the exact source values, where this person came from a file
        raw = col("raw_keypoints")
        has_raw = raw.of_kind(bsoncolumns.ARRAY)
        triplets = np.zeros((n, k, 3))
        kp_mask = np.zeros((n, k, 3), bool)
        values, ints, lengths, bad = b.number_rows(raw.value[has_raw], 3 * k, period=3)
        if ((lengths != 3 * k) | bad).any():
            raise fail(
                int(np.flatnonzero(has_raw)[np.flatnonzero((lengths != 3 * k) | bad)[0]]),
                f"has raw_keypoints that are not {3 * k} numbers (integers within ±2^53)",
            )
        triplets[has_raw] = values.reshape(-1, k, 3)
        kp_mask[has_raw] = ints.reshape(-1, k, 3)
        kp_mask[~has_raw] = True  # persons drawn in FiftyOne: unlabeled points are written 0, 0, 0
        visibility = np.where(vis_stored >= 0, vis_stored, np.where(np.isnan(points[..., 0]), 0, 2)).astype(np.int8)

        # which normalised points still equal the exact ones (else: edited, filtered or drawn in FiftyOne)
        expected = (triplets[..., :2] - self.origin) / wh[:, None, :]
        expected[(visibility == 0) | ~has_raw[:, None]] = np.nan
        same = (points == expected) | (np.isnan(points) & np.isnan(expected))
        same &= has_raw[:, None, None]
        same = same.all(axis=2)
        filtered = ~same & np.isnan(points).any(axis=2) & (visibility > 0)
        moved = ~same & ~np.isnan(points).any(axis=2)
        xy = triplets[..., :2].copy()
        raw_v = triplets[..., 2].copy()
        xy[moved] = points[moved] * np.broadcast_to(wh[:, None, :], points.shape)[moved] + self.origin
        # a moved point keeps the file's own flag; one drawn where none was labeled becomes visible
        drawn = moved & (visibility == 0)
        visibility[drawn] = 2
        raw_v[drawn] = 2
        xy[filtered] = 0
        raw_v[filtered] = 0
        visibility[filtered] = 0
        kp_mask[moved] = [False, False, True]
        kp_mask[filtered] = True
        changed = (moved | filtered).any(axis=1)
        if filtered.any():
            notes["points hidden by the view, written as unlabeled"] = int(filtered.sum())
        if moved.any():
            notes["points edited in FiftyOne, written from the normalised values"] = int(moved.sum())

        whwh = np.concatenate([wh, wh], axis=1)
        instances, has_instance = _instance_ids(b, els, n)
        box = col("bbox")
        has_box = box.of_kind(bsoncolumns.ARRAY)
        stored = np.full((n, 4), np.nan)
        bbox_mask = np.zeros((n, 4), bool)
        values, ints, lengths, bad = b.number_rows(box.value[has_box], 4, period=4)
        if ((lengths != 4) | bad).any():
            raise fail(
                int(np.flatnonzero(has_box)[np.flatnonzero((lengths != 4) | bad)[0]]),
                "has a bbox that is not 4 numbers (integers within ±2^53)",
            )
        stored[has_box], bbox_mask[has_box] = values, ints
        boxes, bbox_mask = _exact_boxes(
            stored, bbox_mask, whwh, self.corner, linked.boxes_of(instances, has_instance, None)
        )

        area = col("area")
        has_area = area.present & (area.kind != bsoncolumns.NULL)
        areas, area_mask, numeric = b.numbers(np.where(has_area, area.kind, bsoncolumns.NULL), area.value)
        if (has_area & ~numeric).any():
            raise fail(
                int(np.flatnonzero(has_area & ~numeric)[0]),
                "has an area that is not a number (an integer within ±2^53)",
            )
        area_mask &= has_area

        def integers(name: str, default: int) -> tuple[np.ndarray, np.ndarray]:
            values, given, bad = b.integers(col(name), default)
            if bad.any():
                raise fail(int(np.flatnonzero(bad)[0]), f"has a '{name}' that is not an integer")
            return values, given

        ids, has_id = integers("person_id", 0)
        category_ids, _ = integers("category_id", 1)
        crowd, _ = integers("iscrowd", 0)
        num_kp, _ = integers("num_keypoints", -1)
        source, _ = integers("source_index", -1)
        num_kp[changed] = -1  # recount by the writer's rule

        # the values without a fixed shape, and the extra attributes, one dict per person
        skip = np.zeros(len(els.owner), bool)
        for name in (*_COLUMNS, *_SKIPPED):
            skip[b.pick(els, name)] = True
        decoded = b.decode(els, np.flatnonzero(~skip), n)
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
        for name in sorted({name for parts in stored_parts for name in parts}):
            part_boxes[name], part_masks[f"part_box.{name}"] = _exact_boxes(
                *_box_rows([parts.get(name) for parts in stored_parts]),
                whwh,
                self.corner,
                linked.boxes_of(instances, has_instance, name),
            )
        extras = [_plain(d) if d else d for d in decoded]
        if not has_raw.all():  # persons drawn in FiftyOne have no segmentation to write
            absent["segmentation"] = absent.get("segmentation", np.zeros(n, bool)) | ~has_raw
        persons = Persons(
            image_index=image_index,
            ids=ids,
            category_ids=category_ids,
            keypoints=xy,
            visibility=visibility,
            boxes=boxes,
            areas=areas,
            crowd=crowd != 0,
            num_keypoints=num_kp,
            segmentations=segmentations,
            extras=extras,
            visibility_raw=raw_v if (raw_v != visibility).any() else None,
            int_mask={"keypoints": kp_mask, "bbox": bbox_mask, "area": area_mask, **part_masks},
            absent=absent,
            part_boxes=part_boxes,
        )
        return persons, notes, source, has_id


def _items(
    b: bsoncolumns.Batch, els: bsoncolumns.Elements, n: int, field: str, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the documents in list ``field.key`` of each of ``n`` samples, and their sample's index."""
    label = b.column(els, field, n)
    docs = np.flatnonzero(label.of_kind(bsoncolumns.DOCUMENT))
    inner = b.elements(label.value[docs])
    lists = b.column(inner, key, len(docs))
    arrays = np.flatnonzero(lists.of_kind(bsoncolumns.ARRAY))
    items = b.elements(lists.value[arrays], array=True)
    if (items.kind != bsoncolumns.DOCUMENT).any():
        raise PoseUsageError(f"'{field}.{key}' holds something other than labels")
    rows = items.by_document()
    return items.value[rows], docs[arrays[items.owner[rows]]]


def _instance_ids(b: bsoncolumns.Batch, els: bsoncolumns.Elements, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per label of ``els``, the ObjectId bytes of its ``instance`` (V12) and which labels have one."""
    inst = b.column(els, "instance", n)
    docs = np.flatnonzero(inst.of_kind(bsoncolumns.DOCUMENT))
    oid = b.column(b.elements(inst.value[docs]), "_id", len(docs))
    found = oid.of_kind(bsoncolumns.OBJECT_ID)
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


def _exact_boxes(
    stored: np.ndarray, mask: np.ndarray, whwh: np.ndarray, corner: np.ndarray, linked: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes from the exact stored values, or from the linked detection where it was edited.

    ``stored``/``linked``: float64 (n, 4), NaN rows where there is none; ``corner``: the origin
    as ``[o, o, 0, 0]``. Returns the boxes (NaN rows where neither exists) and their int mask.
    """
    edited = ~np.isnan(linked).any(axis=1) & (linked != (stored - corner) / whwh).any(
        axis=1
    )  # edited (or drawn) in FiftyOne
    if not edited.any():
        return stored, mask
    boxes, mask = stored.copy(), mask.copy()
    boxes[edited] = linked[edited] * whwh[edited] + corner
    mask[edited] = False
    return boxes, mask
