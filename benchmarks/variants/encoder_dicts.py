"""Sample documents of a ``PoseData`` as Python dicts (pymongo encodes them), a batch of images at a time.

The numbers are computed with numpy and turned into lists once per column (``tolist``).

Measured variant for issue 16 (the library call in place of a hand-written fast path), on the
tree of commit 692359b: copy it to fiftyone_pose/fo/ and import its SampleEncoder in adapter.py.
It lost (benchmarks/results-fastpaths.md) and is kept in history only.
"""

from __future__ import annotations

import datetime
import os
import re
from typing import Any

import fiftyone as fo
import numpy as np
from bson import ObjectId

from ..core.model import OPTIONAL_PERSON_KEYS, PoseData, plain_json
from ..formats._numbers import to_lists
from .fields import KEYPOINT_RESERVED, boxes_field, parts_field, split_extras

_RNG = np.random.default_rng()


class SampleEncoder:
    """Sample documents of ``data``'s images, in batches (``batch``)."""

    def __init__(
        self,
        data: PoseData,
        images_dir: str,
        label_field: str,
        dataset_id: ObjectId,
        tags: list[str] | None,
        sizes: tuple[np.ndarray, np.ndarray],
        reserved: frozenset[str],
    ) -> None:
        self.data, self.images_dir = data, images_dir
        self.label_field = label_field
        self.dataset_id, self.tags = dataset_id, list(tags or [])
        self.widths, self.heights = sizes
        self.reserved = reserved
        self.names = {c["id"]: str(c.get("name", "person")) for c in data.categories}
        p = data.persons
        self.order = np.argsort(p.image_index, kind="stable")
        self.starts = np.searchsorted(p.image_index[self.order], np.arange(len(data.images) + 1))
        self.has_extra_json = False
        self.corner = np.array([data.origin, data.origin, 0.0, 0.0])
        self.kp_defaults = {k: v for k, v in fo.Keypoint().to_mongo().items() if k not in ("_id", "label", "points")}
        self.det_defaults = {
            k: v for k, v in fo.Detection().to_mongo().items() if k not in ("_id", "label", "bounding_box")
        }

    def batch(self, lo: int, hi: int) -> tuple[list[ObjectId], list[dict[str, Any]]]:
        """Ids and documents of the samples of images ``lo:hi``."""
        p = self.data.persons
        im = self.data.images
        rows = self.order[self.starts[lo] : self.starts[hi]]
        bounds = (self.starts[lo : hi + 1] - self.starts[lo]).tolist()
        kps, dets, parts = self._persons(rows)
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        ids = [ObjectId() for _ in range(hi - lo)]
        widths, heights = self.widths[lo:hi].tolist(), self.heights[lo:hi].tolist()
        rand = (_RNG.random(hi - lo) * 0.001 + 0.999).tolist()
        image_ids = im.ids[lo:hi].tolist()
        paths = sample_paths(self.images_dir, im.file_names[lo:hi])
        docs = []
        for j, i in enumerate(range(lo, hi)):
            a, b = bounds[j], bounds[j + 1]
            doc = {
                "_id": ids[j],
                "tags": list(self.tags),
                "_media_type": "image",
                "_dataset_id": self.dataset_id,
                "created_at": now,
                "last_modified_at": now,
                "metadata": {"_cls": "ImageMetadata", "width": widths[j], "height": heights[j]},
                "_rand": rand[j],
                "image_id": image_ids[j],
                "filepath": paths[j],
                "file_name": im.file_names[i],
                self.label_field: {"_cls": "Keypoints", "keypoints": kps[a:b]},
                boxes_field(self.label_field): {"_cls": "Detections", "detections": [d for d in dets[a:b] if d]},
            }
            if p.part_boxes:
                doc[parts_field(self.label_field)] = {
                    "_cls": "Detections",
                    "detections": [d for ds in parts[a:b] for d in ds],
                }
            if im.extras[i]:
                safe, other = split_extras(im.extras[i], self.reserved)
                doc.update(safe)
                if other:
                    doc["extra_json"] = other
                    self.has_extra_json = True
            docs.append(doc)
        return ids, docs

    def _persons(self, rows: np.ndarray) -> tuple[list[dict], list[dict | None], list[list[dict]]]:
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
        points_l = points.tolist()
        triplets = np.concatenate([kp, p.raw_visibility(rows)[..., None]], axis=2).reshape(n, 3 * k)
        kp_mask = p.mask("keypoints")
        raw_l = to_lists(triplets, kp_mask if isinstance(kp_mask, bool) else kp_mask[rows].reshape(n, 3 * k))
        vis_l = vis.tolist()
        boxes = p.boxes[rows]
        has_box = (~np.isnan(boxes).any(axis=1)).tolist()
        bbox_l = to_lists(boxes, _rows_mask(p.mask("bbox"), rows))
        norm_l = ((boxes - self.corner) / whwh).tolist()
        areas = p.areas[rows]
        area_l = to_lists(areas, _rows_mask(p.mask("area"), rows))
        has_area = (~np.isnan(areas)).tolist()
        num_kp = p.num_keypoints[rows].tolist()
        cats = p.category_ids[rows].tolist()
        person_ids = p.ids[rows].tolist()
        crowd = p.crowd[rows].astype(np.int64).tolist()
        source = rows.tolist()
        part_names = list(p.part_boxes)
        absent = {key: p.absent[key][rows] for key in OPTIONAL_PERSON_KEYS if key in p.absent}
        exact_parts = [
            to_lists(p.part_boxes[name][rows], _rows_mask(p.mask(f"part_box.{name}"), rows)) for name in part_names
        ]
        present_parts = [(~np.isnan(p.part_boxes[name][rows]).any(axis=1)).tolist() for name in part_names]
        drawn_parts = [_drawn(p.part_boxes[name][rows]).tolist() for name in part_names]
        norm_parts = [((p.part_boxes[name][rows] - self.corner) / whwh).tolist() for name in part_names]
        kps, dets, parts = [], [], []
        for j, r in enumerate(source):
            label = self.names.get(cats[j], "person")
            inst = {"_id": ObjectId(), "_cls": "Instance"}
            doc = {
                "_id": ObjectId(),
                **self.kp_defaults,
                "label": label,
                "points": points_l[j],
                "instance": inst,
                "visibility": vis_l[j],
                "raw_keypoints": raw_l[j],
                "person_id": person_ids[j],
                "category_id": cats[j],
                "iscrowd": crowd[j],
                "source_index": r,
            }
            if has_box[j]:
                doc["bbox"] = bbox_l[j]
            if has_area[j]:
                doc["area"] = area_l[j]
            if num_kp[j] >= 0:
                doc["num_keypoints"] = num_kp[j]
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
            kps.append(doc)
            dets.append(
                {
                    "_id": ObjectId(),
                    **self.det_defaults,
                    "label": label,
                    "bounding_box": norm_l[j],
                    "instance": inst,
                    "iscrowd": crowd[j],
                }
                if has_box[j]
                else None
            )
            parts.append(
                [
                    {"_id": ObjectId(), **self.det_defaults, "label": name, "bounding_box": norm[j], "instance": inst}
                    for name, norm, drawn in zip(part_names, norm_parts, drawn_parts)
                    if drawn[j]
                ]
            )
        return kps, dets, parts


_UNNORMAL = re.compile(r"(^|/)\.{1,2}(/|$)|//|^/|/$|^$", re.MULTILINE)


def sample_paths(images_dir: str, names: list[str]) -> list[str]:
    joined = "\n".join(names)
    if os.sep == "/" and joined.count("\n") == len(names) - 1 and not _UNNORMAL.search(joined):
        prefix = images_dir.rstrip("/") + "/"
        return [prefix + name for name in names]
    return [os.path.normpath(os.path.join(images_dir, name)) for name in names]


def _drawn(part_boxes: np.ndarray) -> np.ndarray:
    return ~np.isnan(part_boxes).any(axis=1) & (part_boxes[:, 2] > 0) & (part_boxes[:, 3] > 0)


def _rows_mask(mask: Any, rows: np.ndarray) -> Any:
    return mask if isinstance(mask, bool) else mask[rows]
