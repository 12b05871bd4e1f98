"""Small files of AI Challenger, MHP, CrowdPose, OCHuman and Human-Art, built in code in the
structure ``pose-formats.md`` documents, with the cases that matter (and variants without the
optional fields). No FiftyOne here."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from helpers import COCO_NAMES, COCO_SKELETON

from fiftyone_pose.core import skeleton as skeletons


def _one_based(name: str) -> list[list[int]]:
    return [[a + 1, b + 1] for a, b in skeletons.load(name).edges]


def distributed_names(name: str) -> list[str]:
    return list(skeletons.load(name).meta["names_in_distributed_json"])


def write_json(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


# ------------------------------------------------------------------------------- AI Challenger

AIC_HASH_1 = "3f786850e387550fdab836ed7e6dc881de23001b"
AIC_HASH_2 = "89e6c98d92887913cadf06b2adb97f26cde4849b"
AIC_HASH_3 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"


def _aic_points(seed: int, flags: list[int]) -> list[int]:
    out = []
    for i, f in enumerate(flags):
        out += [0, 0, 3] if f == 3 else [50 + 7 * i + seed, 60 + 11 * i + seed, f]
    return out


# the keys in the authors' order: url, image_id, keypoint_annotations, human_annotations
_AIC_NATIVE = [
    {"url": "http://example.invalid/a.jpg", "image_id": AIC_HASH_1,
     # persons listed human2 before human1, and a human10: the file's order is kept, not sorted
     "keypoint_annotations": {
         "human2": _aic_points(3, [1, 1, 2, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1]),
         "human1": _aic_points(0, [1, 2, 3, 1, 1, 2, 1, 1, 3, 1, 1, 1, 1, 1]),
         "human10": _aic_points(1, [3] * 13 + [1]),  # a degenerate (zero-area) box: kept
     },
     "human_annotations": {"human2": [260, 30, 400, 460], "human1": [40, 12, 210, 470], "human10": [5, 5, 5, 5]}},
    {"url": "http://example.invalid/b.jpg", "image_id": AIC_HASH_2,
     "keypoint_annotations": {"human1": _aic_points(9, [2] * 7 + [1] * 7)},
     "human_annotations": {"human1": [10, 20, 110, 220]}},
    # no url (optional) and nobody in the image
    {"image_id": AIC_HASH_3, "keypoint_annotations": {}, "human_annotations": {}},
]  # fmt: skip


def aic_native_doc() -> list[dict[str, Any]]:
    return copy.deepcopy(_AIC_NATIVE)


def aic_coco_doc() -> dict[str, Any]:
    """mmpose ``aic_val.json``: COCO without area, iscrowd and segmentation."""
    anns, images = [], []
    ann_id = 1
    for i, rec in enumerate(_AIC_NATIVE[:2]):
        images.append(
            {"url": rec["url"], "file_name": f"{rec['image_id']}.jpg", "height": 480, "width": 640, "id": i + 5}
        )
        for key, (x1, y1, x2, y2) in rec["human_annotations"].items():
            kp = [v if j % 3 != 2 else {1: 2, 2: 1, 3: 0}[v] for j, v in enumerate(rec["keypoint_annotations"][key])]
            anns.append(
                {
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "keypoints": kp,
                    "num_keypoints": sum(v > 0 for v in kp[2::3]),
                    "image_id": i + 5,
                    "category_id": 1,
                    "id": 16 + ann_id,
                }
            )
            ann_id += 1
    del images[-1]["url"]  # an optional key missing
    return {
        "info": {"description": "AI Challenger keypoints, converted"}, "licenses": [],
        "images": images, "annotations": anns,
        "categories": [{"supercategory": "person", "id": 1, "name": "person",
                        "keypoints": distributed_names("aic"), "skeleton": _one_based("aic")}],
    }  # fmt: skip


# ---------------------------------------------------------------------------------------- MHP


def _mhp_points(seed: float, labeled: list[bool]) -> list[float]:
    out: list[float] = []
    for i, on in enumerate(labeled):
        out += [200.0 + 5.5 * i + seed, 300.0 - 7.25 * i, 2.0] if on else [0.0, 0.0, 0.0]
    return out


def mhp_coco_doc() -> dict[str, Any]:
    """mmpose ``mhp_val.json``: 16 MPII-order points, ``face_box``, ``segmentation: []``, box area."""
    return {
        "info": {"description": "LV-MHP v2.0 pose, converted"},
        "images": [
            {"id": 1, "file_name": "14.jpg", "width": 800, "height": 600, "license": 0},
            {"id": 2, "file_name": "27.jpg", "width": 640, "height": 480, "license": 0},
        ],
        "annotations": [
            {"id": 90, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 14,
             "bbox": [220.5, 60.0, 150.0, 300.25], "face_box": [270.0, 62.0, 38.5, 40.0], "area": 45037.5,
             "segmentation": [], "keypoints": _mhp_points(0.0, [True] * 14 + [False] * 2)},
            {"id": 91, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 16,
             "bbox": [20.0, 30.0, 100.0, 200.0], "face_box": [40.0, 32.0, 20.0, 20.0], "area": 20000.0,
             "segmentation": [], "keypoints": _mhp_points(1.5, [True] * 16)},
            {"id": 92, "image_id": 2, "category_id": 1, "iscrowd": 0, "num_keypoints": 9,
             "bbox": [5.0, 5.0, 50.0, 60.0], "area": 3000.0,  # no face_box (optional)
             "segmentation": [], "keypoints": _mhp_points(2.25, [True, False] * 7 + [True, True])},
        ],
        "categories": [{"supercategory": "person", "id": 1, "name": "person",
                        "keypoints": distributed_names("mhp"), "skeleton": _one_based("mhp")}],
    }  # fmt: skip


def mhp_mat_person(seed: float, flags: list[int]) -> list[list[float]]:
    """20 rows of (x, y, flag): 16 joints, face-box corners, person-box corners."""
    rows = [[100.0 + 4 * i + seed, 150.0 + 3 * i, float(f)] for i, f in enumerate(flags)]
    rows += [[120.0, 90.0, 0.0], [150.0, 125.0, 0.0], [95.0 + seed, 80.0, 0.0], [210.0, 330.5, 0.0]]
    return rows


# ---------------------------------------------------------------------------------- CrowdPose


def _crowdpose_points(seed: int, flags: list[int]) -> list[int]:
    out = []
    for i, f in enumerate(flags):
        out += [0, 0, 0] if f == 0 else [60 + 5 * i + seed, 120 + 9 * i, f]
    return out


def crowdpose_doc() -> dict[str, Any]:
    """``crowdpose_val.json``: ``crowdIndex`` per image, no ``area``/``segmentation``, the COCO
    skeleton in the category, ``num_keypoints`` not counting head and neck."""
    return {
        "images": [
            {"file_name": "100123.jpg", "id": 100123, "height": 427, "width": 640, "crowdIndex": 0.41},
            {"file_name": "100124.jpg", "id": 100124, "height": 480, "width": 640, "crowdIndex": 0.05},
            {"file_name": "100125.jpg", "id": 100125, "height": 480, "width": 640, "crowdIndex": 0.93},
            {"file_name": "100126.jpg", "id": 100126, "height": 480, "width": 640},  # no crowdIndex
        ],
        "annotations": [
            {"num_keypoints": 10, "iscrowd": 0, "keypoints": _crowdpose_points(0, [2] * 8 + [0, 2, 0, 2, 1, 1]),
             "image_id": 100123, "bbox": [33.0, 70.5, 120.0, 300.0], "category_id": 1, "id": 7001},
            {"num_keypoints": 12, "iscrowd": 0, "keypoints": _crowdpose_points(4, [1, 2] * 6 + [1, 1]),
             "image_id": 100123, "bbox": [200.0, 60.0, 90.0, 280.0], "category_id": 1, "id": 7002},
            {"num_keypoints": 12, "iscrowd": 0, "keypoints": _crowdpose_points(8, [2] * 12 + [1, 1]),
             "image_id": 100124, "bbox": [10.0, 10.0, 100.0, 300.0], "category_id": 1, "id": 7003},
            {"num_keypoints": 6, "keypoints": _crowdpose_points(2, [2, 0] * 6 + [1, 1]),  # no iscrowd
             "image_id": 100125, "bbox": [1.5, 2.5, 60.0, 90.0], "category_id": 1, "id": 7004},
            {"num_keypoints": 12, "iscrowd": 0, "keypoints": _crowdpose_points(3, [2] * 12 + [1, 1]),
             "image_id": 100125, "bbox": [50.0, 20.0, 80.0, 200.0], "category_id": 1, "id": 7005},
        ],
        "categories": [{"supercategory": "person", "id": 1, "name": "person",
                        "keypoints": distributed_names("crowdpose"), "skeleton": COCO_SKELETON}],
    }  # fmt: skip


# ------------------------------------------------------------------------------------ OCHuman

OCHUMAN_NAMES = [
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "head", "neck", "right_ear", "left_ear", "nose", "right_eye", "left_eye",
]  # fmt: skip


def _ochuman_points(seed: float, flags: list[int]) -> list[float]:
    out: list[Any] = []
    for i, f in enumerate(flags):
        out += [205.0 + 3 * i + seed, 130.0 + 2.5 * i, f]  # coordinates kept for every state
    return out


def ochuman_native_doc() -> dict[str, Any]:
    return {
        "keypoint_names": list(OCHUMAN_NAMES),
        "keypoint_visible": {"missing": 0, "vis": 1, "self_occluded": 2, "others_occluded": 3},
        "images": [
            {"image_id": "000042", "file_name": "000042.jpg", "width": 700, "height": 525, "annotations": [
                {"bbox": [110.0, 40.0, 330.0, 510.0], "max_iou": 0.61,
                 "keypoints": _ochuman_points(0.0, [1, 1, 2, 3, 3, 0, 1, 1, 1, 2, 2, 3, 1, 1, 1, 0, 1, 1, 2]),
                 "segms": {"outer": [[110.0, 40.0, 440.0, 40.0, 440.0, 550.0]], "inner": [],
                           "height": 525, "width": 700}},
                {"bbox": [300.5, 60.25, 520.0, 500.0], "max_iou": 0.61,
                 "keypoints": _ochuman_points(10.5, [1] * 19),
                 "segms": {"outer": [[300.0, 60.0, 520.0, 60.0, 520.0, 500.0]],
                           "inner": [[350.0, 100.0, 360.0, 100.0, 360.0, 110.0]],
                           "height": 525, "width": 700}},
                # a person with a box only
                {"bbox": [0.1, 0.2, 0.3, 0.7], "max_iou": 0.12, "keypoints": None, "segms": None},
            ]},
            {"image_id": "000043", "file_name": "000043.jpg", "width": 640, "height": 480, "annotations": [
                {"bbox": [10, 20, 200, 400], "max_iou": 0.0, "keypoints": _ochuman_points(1.0, [1, 3] * 9 + [1]),
                 "segms": None},
            ]},
        ],
    }  # fmt: skip


def ochuman_coco_doc() -> dict[str, Any]:
    """``ochuman_coco_format_val_range_0.00_1.00.json``: no info/licenses, compressed RLE masks,
    box areas, ids renumbered from 1."""
    import numpy as np
    from pycocotools import mask as mask_utils

    def rle(h: int, w: int, box: list[int]) -> dict[str, Any]:
        m = np.zeros((h, w), np.uint8, order="F")
        m[box[1] : box[3], box[0] : box[2]] = 1
        enc = mask_utils.encode(m)
        return {"size": enc["size"], "counts": enc["counts"].decode()}

    def points(seed: float, vis: list[int]) -> list[Any]:
        out: list[Any] = []
        for i, v in enumerate(vis):
            out += [100.0 + 4 * i + seed, 90.0 + 3 * i, v]
        return out

    return {
        "images": [
            {"file_name": "000042.jpg", "height": 60, "width": 80, "id": 1},
            {"file_name": "000043.jpg", "height": 48, "width": 64, "id": 2},
        ],
        "annotations": [
            {"bbox": [10.0, 5.0, 40.0, 50.0], "area": 2000.0, "iscrowd": 0,
             "segmentation": rle(60, 80, [10, 5, 50, 55]),
             "keypoints": points(0.0, [2, 2, 1, 0, 2, 2, 2, 1, 1, 2, 2, 2, 0, 2, 2, 2, 1]), "num_keypoints": 15,
             "image_id": 1, "category_id": 1, "id": 1},
            {"bbox": [30.5, 10.0, 20.0, 30.0], "area": 600.0, "iscrowd": 0,
             "segmentation": rle(60, 80, [30, 10, 50, 40]),
             "keypoints": points(2.5, [2] * 17), "num_keypoints": 17, "image_id": 1, "category_id": 1, "id": 2},
            {"bbox": [1, 1, 10, 20], "area": 200, "iscrowd": 0, "segmentation": rle(48, 64, [1, 1, 11, 21]),
             "keypoints": points(5.0, [1] * 17), "num_keypoints": 17, "image_id": 2, "category_id": 1, "id": 3},
        ],
        "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(COCO_NAMES),
                        "skeleton": COCO_SKELETON}],
    }  # fmt: skip


# ---------------------------------------------------------------------------------- Human-Art

HUMANART_21 = list(skeletons.load("humanart").meta["variants"]["keypoints_21"]["keypoints"])


def _humanart_points(seed: int, vis: list[int]) -> list[int]:
    out = []
    for i, v in enumerate(vis):
        out += [0, 0, 0] if v == 0 else [380 + 3 * i + seed, 120 + 5 * i, v]
    return out


def humanart_doc() -> dict[str, Any]:
    """``validation_humanart.json``: 13-digit ids, the ``HumanArt/`` file-name prefix, the image
    scenario and description, ``keypoints_21``, ``self_contact`` nested / flat / empty."""
    vis_a = [2] * 15 + [1, 0]
    vis_b = [2, 2, 2, 0, 0] + [2] * 12
    vis_c = [1] * 17
    return {
        "info": {"description": "Human-Art", "version": "1.0", "year": 2023},
        "licenses": [],
        "images": [
            {"id": 3000000000123, "file_name": "HumanArt/images/2D_virtual_human/cartoon/000000000123.jpg",
             "width": 800, "height": 600, "category": "cartoon", "author": "unknown", "description": "a girl jumping",
             "page_url": "", "image_url": "", "picture_name": ""},
            {"id": 3000000000124, "file_name": "HumanArt/images/3D_virtual_human/sculpture/000000000124.jpg",
             "width": 640, "height": 640, "category": "sculpture", "author": "someone", "description": "",
             "page_url": "http://example.invalid/p", "image_url": "http://example.invalid/i.jpg", "picture_name": "x"},
            {"id": 3000000000125, "file_name": "HumanArt/images/real_human/dance/000000000125.jpg",
             "width": 500, "height": 400, "category": "dance"},  # description & co. missing (optional)
        ],
        "annotations": [
            {"id": 3000000000456, "image_id": 3000000000123, "category_id": 1, "iscrowd": 0,
             "bbox": [300.0, 80.0, 180.0, 420.0], "area": 50400.0, "annotator": 2,
             "num_keypoints": 16, "num_keypoints_21": 20, "self_contact": [[390.5, 250.0]],
             "keypoints": _humanart_points(0, vis_a),
             "keypoints_21": _humanart_points(0, vis_a) + [1, 2, 2, 3, 4, 2, 5, 6, 2, 0, 0, 0]},
            {"id": 3000000000457, "image_id": 3000000000124, "category_id": 1, "iscrowd": 0,
             "bbox": [10.0, 20.0, 300.0, 500.0], "area": 150000.0, "annotator": 5,
             "num_keypoints": 15, "num_keypoints_21": 15, "self_contact": [400.0, 300.0, 410.0, 310.0],
             "keypoints": _humanart_points(7, vis_b), "keypoints_21": _humanart_points(7, vis_b) + [0] * 12},
            {"id": 3000000000458, "image_id": 3000000000125, "category_id": 1, "iscrowd": 0,
             "bbox": [1.0, 2.0, 30.0, 40.0], "area": 1200.0, "annotator": 1,
             "num_keypoints": 17, "self_contact": [],  # no keypoints_21 (optional)
             "keypoints": _humanart_points(1, vis_c)},
        ],
        "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": HUMANART_21,
                        "skeleton": _one_based_variant()}],
    }  # fmt: skip


def _one_based_variant() -> list[list[int]]:
    edges = skeletons.load("humanart").meta["variants"]["keypoints_21"]["edges"]
    return [[a + 1, b + 1] for a, b in edges]
