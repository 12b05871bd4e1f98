"""The documented COCO-WholeBody and Halpe examples (completed where the docs abridge them) and
a COCOeval check of 17-point exports."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from typing import Any

from helpers import COCO_NAMES, COCO_SKELETON

# body: 12 labeled points (num_keypoints 12), ints as in COCO
_BODY = [200, 80, 2, 205, 75, 2, 195, 75, 2, 212, 78, 1, 215, 78, 2, 230, 130, 2, 170, 130, 2,
         240, 180, 2, 160, 182, 1, 250, 230, 2, 0, 0, 0, 220, 240, 2, 180, 240, 2,
         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # fmt: skip
_FACE = [188.2, 70.5, 1.0] + [v for i in range(67) for v in (189.0 + i * 0.5, 71.25 + (i % 7), 1.0 if i % 5 else 2)]
_RIGHT = [240.1, 260.3, 0.27] + [v for i in range(20) for v in (241 + i, 261.5 + i, [0.91, 2, 1, 0.5][i % 4])]

_WHOLEBODY: dict[str, Any] = {
    "info": {"description": "COCO-WholeBody example", "version": "1.0", "year": 2020},
    "licenses": [],
    "images": [{"id": 785, "file_name": "000000000785.jpg", "width": 640, "height": 425, "license": 4},
               {"id": 786, "file_name": "000000000786.jpg", "width": 500, "height": 375}],
    "annotations": [{
        "id": 30001, "image_id": 785, "category_id": 1, "iscrowd": 0, "num_keypoints": 12,
        "bbox": [120.3, 44.1, 180.0, 390.6], "area": 40210.5,
        "segmentation": [[120.3, 44.1, 300.3, 44.1, 300.3, 434.7, 120.3, 434.7]],
        "keypoints": _BODY,
        "foot_kpts": [150, 420, 2, 160, 425, 2, 140, 418, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "face_kpts": _FACE, "face_box": [180.0, 55.0, 40.0, 44.0], "face_valid": True,
        "lefthand_kpts": [0.0] * 63, "lefthand_box": [0.0, 0.0, 0.0, 0.0], "lefthand_valid": False,
        "righthand_kpts": _RIGHT, "righthand_box": [230.0, 250.0, 30.0, 35.0],
        "righthand_valid": True, "foot_valid": True,
    }, {
        "id": 900100000786, "image_id": 786, "category_id": 1, "iscrowd": 1, "num_keypoints": 0,
        "bbox": [0.0, 200.0, 500.0, 175.0], "area": 61234.0, "keypoints": [0] * 51,
        "segmentation": {"size": [375, 500], "counts": [100200, 12, 363, 15, 87910]},
        "foot_kpts": [0] * 18, "face_kpts": [0] * 204, "lefthand_kpts": [0] * 63, "righthand_kpts": [0] * 63,
        "face_box": [0, 0, 0, 0], "lefthand_box": [0, 0, 0, 0], "righthand_box": [0, 0, 0, 0],
        "face_valid": False, "lefthand_valid": False, "righthand_valid": False, "foot_valid": False,
    }],
    "categories": [{"supercategory": "person", "id": 1, "name": "person",
                    "keypoints": COCO_NAMES, "skeleton": COCO_SKELETON}],
}  # fmt: skip

# Halpe: 136 points; v=0 points with real coordinates (indices 2, 4, 30); 15 of the first 17 labeled
_HALPE_KPS = [110.0, 60.0, 2, 115.5, 55.0, 2, 133.5, 221.0, 0] + [
    v for i in range(3, 136) for v in ((120.0 + i, 70.0 + i, 2 if i % 3 else 1) if i < 17 or i % 4 else (0, 0, 0))
]  # fmt: skip
_HALPE_KPS[4 * 3 : 4 * 3 + 3] = [124.0, 74.0, 0]
_HALPE_KPS[30 * 3 : 30 * 3 + 3] = [140.25, 80.5, 0]
_HALPE: dict[str, Any] = {
    "images": [{"id": 4242, "file_name": "HICO_train2015_00004242.jpg", "width": 640, "height": 480},
               {"id": 139, "file_name": "000000000139.jpg", "width": 640, "height": 426}],
    "annotations": [{
        "id": 88, "image_id": 4242, "category_id": 1, "iscrowd": 0, "num_keypoints": 15,
        "bbox": [52.0, 31.5, 120.2, 260.0], "area": 20815.0, "keypoints": _HALPE_KPS,
    }, {
        "id": 89, "image_id": 139, "category_id": 1, "iscrowd": 0, "num_keypoints": 0,
        "bbox": [10.0, 10.0, 5.0, 5.0], "area": 25.0, "keypoints": [0] * 408,
    }],
    "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": [], "skeleton": []}],
}  # fmt: skip


def wholebody_doc() -> dict[str, Any]:
    return copy.deepcopy(_WHOLEBODY)


def halpe_doc() -> dict[str, Any]:
    return copy.deepcopy(_HALPE)


def coco_eval_ap(gt_doc: dict[str, Any]) -> tuple[float, int]:
    """AP (COCO sigmas) of the ground-truth persons with labeled points fed back as results."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = json.loads(json.dumps(gt_doc))
        gt.createIndex()
        results = [
            {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
            for a in gt_doc["annotations"]
            if not a.get("iscrowd") and any(v > 0 for v in a["keypoints"][2::3])
        ]
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0]), len(results)
