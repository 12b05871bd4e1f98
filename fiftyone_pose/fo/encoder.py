"""Sample documents of a ``PoseData``, built as BSON a batch of images at a time (the import's hot path).

Numbers, ids and fixed keys of every person are laid out with numpy (``rawbson``); only what
has no fixed shape (segmentations, extra keys, absent keys, part boxes) goes through
``bson.encode``, per person. Persons become items of their sample's arrays by joining flat
lists of byte strings, so no Python object is made per value. What FiftyOne itself keeps in a
sample or label comes from ``documents``; the pose attributes are this package's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import bson
import fiftyone as fo
import numpy as np
import orjson
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from ..core.model import OPTIONAL_PERSON_KEYS, PoseData, plain_json
from ..core.numbers import take_mask, to_lists
from . import documents
from . import rawbson as rb
from .fields import KEYPOINT_RESERVED, boxes_field, parts_field, split_extras

#: persons encoded at a time: bounds the byte matrices (a COCO-WholeBody person is ~10 kB)
_ENCODE_ROWS = 2048

#: more BSON elements for the samples of images ``lo:hi``: ``(lo, hi, widths, heights) -> [bytes per sample]``
SampleElements = Callable[[int, int, np.ndarray, np.ndarray], list[bytes]]


class SampleEncoder:
    """BSON sample documents of ``data``'s images, in batches (``batch``).

    ``sizes``: each image's width and height (where the file has none, from the image);
    ``reserved``: sample keys an image key cannot take (see ``fields.image_keys_without_field``);
    ``more``: elements the caller adds to each sample (e.g. a grouped dataset's ``group``).
    """

    def __init__(
        self,
        data: PoseData,
        images_dir: str,
        label_field: str,
        dataset_id: ObjectId,
        tags: list[str] | None,
        sizes: tuple[np.ndarray, np.ndarray],
        reserved: frozenset[str],
        more: SampleElements | None = None,
    ) -> None:
        self.data, self.images_dir = data, images_dir
        self.dataset_id, self.tags = dataset_id, list(tags or [])
        self.widths, self.heights = sizes
        self.reserved = reserved
        self.more = more
        self.names = {c["id"]: str(c.get("name", "person")) for c in data.categories}
        p = data.persons
        self.order = np.argsort(p.image_index, kind="stable")
        self.starts = np.searchsorted(p.image_index[self.order], np.arange(len(data.images) + 1))
        self.field_heads = (
            rb.element_head(rb.DOCUMENT, label_field),
            rb.element_head(rb.DOCUMENT, boxes_field(label_field)),
            rb.element_head(rb.DOCUMENT, parts_field(label_field)),
        )
        #: whether a batch put image keys in ``extra_json`` (the field must then be declared)
        self.has_extra_json = False
        self.corner = np.array([data.origin, data.origin, 0.0, 0.0])  # subtracted from [x, y, w, h] boxes

    def batch(self, lo: int, hi: int) -> tuple[list[ObjectId], list[RawBSONDocument]]:
        """Ids and documents of the samples of images ``lo:hi``."""
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
        oids = rb.new_object_ids(hi - lo)
        samples = rb.concat([
            documents.sample_elements(oids, self.dataset_id, self.tags, self.widths[lo:hi], self.heights[lo:hi]),
            rb.integers(["image_id"], im.ids[lo:hi, None]),
        ]).rows()  # fmt: skip
        paths = sample_paths(self.images_dir, im.file_names[lo:hi])
        k_parts = drawn.shape[1]
        kp_head, box_head, parts_head = self.field_heads
        more = self.more(lo, hi, self.widths[lo:hi], self.heights[lo:hi]) if self.more else None
        docs = []
        for j, i in enumerate(range(lo, hi)):
            a, b = bounds[j], bounds[j + 1]
            body = [
                samples[j],
                rb.string("filepath", paths[j]),
                rb.string("file_name", im.file_names[i]),
                kp_head, documents.label_list(fo.Keypoints, "keypoints", b"".join(keypoints[3 * a : 3 * b])),
                box_head, documents.label_list(fo.Detections, "detections", b"".join(boxes[a:b])),
            ]  # fmt: skip
            if k_parts:
                items = b"".join(parts[k_parts * a : k_parts * b])
                body += [parts_head, documents.label_list(fo.Detections, "detections", items)]
            if more:
                body.append(more[j])
            if im.extras[i]:
                safe, other = split_extras(im.extras[i], self.reserved)
                if other:
                    safe = {**safe, "extra_json": other}
                    self.has_extra_json = True
                body.append(bson.encode(safe)[4:-1])
            docs.append(RawBSONDocument(rb.wrap(b"".join(body))))
        buf = oids.tobytes()
        return [ObjectId(buf[i : i + 12]) for i in range(0, len(buf), 12)], docs

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
        rest = self._rest(rows)
        oids = rb.new_object_ids(3 * n)
        instance = documents.instance(oids[n : 2 * n])
        keypoint = rb.document(
            rb.DOCUMENT,
            rb.index_heads(rb.DOCUMENT, rank),
            rb.concat([
                rb.object_ids(documents.ID, oids[:n]),
                rb.const(n, documents.label_defaults(fo.Keypoint, ("label", "points"))),
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
            rb.concat([
                rb.object_ids(documents.ID, oids[2 * n :]),
                rb.const(n, documents.label_defaults(fo.Detection, ("label", "bounding_box"))),
                label,
                rb.array("bounding_box", (boxes - self.corner) / whwh, False),
                instance,
                rb.integers(["iscrowd"], p.crowd[rows, None]),
            ]),
            present=has_box,
        ).rows()  # fmt: skip
        part_names = list(p.part_boxes)
        part_items: list[bytes] = [b""] * (n * len(part_names))  # per person, per part in order
        for t, name in enumerate(part_names):
            part_items[t :: len(part_names)] = rb.document(
                rb.DOCUMENT,
                rb.index_heads(rb.DOCUMENT, part_rank[:, t]),
                rb.concat([
                    rb.object_ids(documents.ID, rb.new_object_ids(n)),
                    rb.const(n, documents.label_defaults(fo.Detection, ("label", "bounding_box"))),
                    rb.const(n, rb.string("label", name)),
                    rb.array("bounding_box", (p.part_boxes[name][rows] - self.corner) / whwh, False),
                    instance,
                ]),
                present=drawn[:, t],
            ).rows()  # fmt: skip
        return items, detection, part_items

    def _rest(self, rows: np.ndarray) -> list[bytes]:
        """Per person at ``rows``, the BSON elements of its values without a fixed shape."""
        p = self.data.persons
        part_names = list(p.part_boxes)
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
                safe, other = split_extras(p.extras[r], KEYPOINT_RESERVED)
                doc.update(safe)
                if other:
                    doc["extra_json"] = other
            if part_names:
                doc["part_boxes"] = {
                    name: exact[j] for name, exact, present in zip(part_names, exact_parts, present_parts) if present[j]
                }
            rest.append(_encode_rest(doc) if doc else b"")
        return rest


def _encode_rest(doc: dict[str, Any]) -> bytes:
    """BSON elements of a person's shapeless values; a segmentation BSON cannot hold (an
    integer beyond int64, a NUL in a key) is kept as JSON text in ``extra_json``.

    Nesting deeper than MongoDB stores is not checked here (that would cost a pass over every
    polygon); the insert refuses it and the import names the image."""
    try:
        return bson.encode(doc)[4:-1]
    except (bson.errors.InvalidDocument, OverflowError):
        if "segmentation" not in doc:  # the other values were checked by split_extras
            raise
    rest = {k: v for k, v in doc.items() if k != "segmentation"}
    other = orjson.loads(rest.get("extra_json") or "{}")
    extra_json = orjson.dumps({**other, "segmentation": doc["segmentation"]}).decode()
    return bson.encode({**rest, "extra_json": extra_json})[4:-1]


def sample_paths(images_dir: str, names: list[str]) -> list[str]:
    """``normpath(join(images_dir, name))`` of each name."""
    return [os.path.normpath(os.path.join(images_dir, name)) for name in names]


def _drawn(part_boxes: np.ndarray) -> np.ndarray:
    """Part boxes drawn as detections: present and not an all-zero "no box" marker."""
    return ~np.isnan(part_boxes).any(axis=1) & (part_boxes[:, 2] > 0) & (part_boxes[:, 3] > 0)


def _ranks(flags: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Position of each flagged entry among the flagged entries of its group (groups start at ``first``)."""
    before = np.cumsum(flags) - flags
    return before - before[first] if len(flags) else before
