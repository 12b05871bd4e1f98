"""Small MPII-TRB files (mmpose ``mpii_trb_{train,val}.json``) built in code in the structure
``pose-formats.md`` documents, and a hypothesis strategy of valid ones. No FiftyOne here."""

from __future__ import annotations

import copy
from typing import Any

from dataset_strategies import plain_extras_for, small
from hypothesis import strategies as st
from strategies import coords, json_values

from fiftyone_pose.core import skeleton as skeletons

NAMES = list(skeletons.load("mpii_trb").keypoints)


def trb_points(seed: float, flags: list[int]) -> list[Any]:
    """40 triplets: float x, y and int v for labeled points, ``0, 0, 0`` (ints) for the others."""
    out: list[Any] = []
    for i, v in enumerate(flags):
        out += [0, 0, 0] if v == 0 else [300.0 + 6.5 * i + seed, 120.0 + 7.25 * i - seed, v]
    return out


_DOC = {
    "info": {"description": "MPII-TRB", "year": 2019, "date_created": "2019/11/08"},
    "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": NAMES}],
    "images": [
        {"file_name": "015601864.jpg", "height": 720, "width": 1280, "id": 15601864},
        {"file_name": "000123456.jpg", "height": 480, "width": 640, "id": 123456},
        {"file_name": "000000042.jpg", "height": 400, "width": 300, "id": 42},  # nobody annotated
    ],
    "annotations": [
        # val-style: headbox; 38 labeled, one occluded
        {"num_joints": 38, "keypoints": trb_points(0.0, [2] * 12 + [1, 2] + [2] * 24 + [0, 0]),
         "image_id": 15601864, "center": [640.0, 330.0], "scale": 0.2849, "id": 1201, "iscrowd": 0,
         "category_id": 1, "headbox": [612.0, 120.0, 668.0, 190.0]},
        # train-style: no headbox; only the 14 skeleton points
        {"num_joints": 14, "keypoints": trb_points(3.5, [2] * 14 + [0] * 26),
         "image_id": 15601864, "center": [400.0, 300.5], "scale": 0.31, "id": 1202, "iscrowd": 0, "category_id": 1},
        {"num_joints": 40, "keypoints": trb_points(-2.25, [2] * 40),
         "image_id": 123456, "center": [320.0, 240.0], "scale": 0.5, "id": 7, "iscrowd": 0, "category_id": 1},
    ],
}  # fmt: skip


def mpii_trb_doc() -> dict[str, Any]:
    return copy.deepcopy(_DOC)


@st.composite
def mpii_trb_docs(draw, fiftyone: bool = False, max_images: int = 3, max_persons: int = 5):
    """A valid MPII-TRB document: ``num_joints`` in every record, the optional keys present or not,
    COCO keys a copy may carry (``bbox``, ``area``, ``num_keypoints``), extra keys."""
    c = small if fiftyone else coords
    n_images = draw(st.integers(0, max_images))
    ids = draw(st.lists(st.integers(1, 10**9), min_size=n_images, max_size=n_images, unique=True))
    images = [
        {
            "file_name": f"{i:09d}.jpg",
            "height": draw(st.integers(1, 2000)),
            "width": draw(st.integers(1, 2000)),
            "id": i,
        }
        for i in ids
    ]
    anns = []
    if images:
        n = draw(st.integers(0, max_persons))
        for aid in draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n, unique=True)):
            kps: list[Any] = []
            for _ in range(40):
                v = draw(st.sampled_from([0, 1, 2, 2, 2] if fiftyone else [0, 1, 2, 2, 2, 0.0, 2.0, 3, -1]))
                kps += [0, 0, v] if v == 0 and draw(st.booleans()) else [draw(c), draw(c), v]
            labeled = sum(1 for v in kps[2::3] if v > 0)
            rec: dict[str, Any] = {
                "num_joints": draw(st.sampled_from([labeled, labeled, float(labeled), 40])),
                "keypoints": kps,
                "image_id": draw(st.sampled_from(images))["id"],
                "id": aid,
                "category_id": 1,
            }
            optional = {
                "iscrowd": 0,
                "center": [draw(c), draw(c)],
                "scale": draw(c),
                "headbox": [draw(c) for _ in range(4)],
                "bbox": [draw(c) for _ in range(4)],
                "area": draw(c),
                "num_keypoints": labeled,
            }
            for key, value in optional.items():
                rare = key in ("bbox", "area", "num_keypoints")  # COCO keys a converted copy may carry
                if draw(st.integers(0, 4).map(lambda x: x == 0) if rare else st.integers(0, 3).map(bool)):
                    rec[key] = value
            if not fiftyone:
                rec.update(draw(plain_extras_for({*rec, *optional, "segmentation"})))
            anns.append(rec)
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["info"] = {"description": "MPII-TRB", "year": 2019}
    doc["categories"] = [{"supercategory": "person", "id": 1, "name": "person", "keypoints": NAMES}]
    doc["images"] = images
    doc["annotations"] = anns
    if not fiftyone and draw(st.booleans()):
        doc["note"] = draw(json_values)
    return doc
