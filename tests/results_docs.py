"""Small COCO results lists built in code: keypoint, COCO-WholeBody and person-detector results."""

from __future__ import annotations

from typing import Any


def keypoint_results() -> list[dict[str, Any]]:
    """Three predictions in two images (records of one image not adjacent): float and int values,
    zero point scores, mmpose's ``center``/``scale``, a ``bbox``, an ``id``, an odd extra key."""
    return [
        {"image_id": 7, "category_id": 1, "keypoints": [v for i in range(17) for v in (100.5 + i, 200.25, 0.9)],
         "score": 0.93, "center": [110.0, 210.0], "scale": [1.2, 1.6]},
        {"image_id": 3000000000, "category_id": 1, "keypoints": [v for i in range(17) for v in (10 + i, 20, 0)],
         "score": 1, "bbox": [5, 6, 40.5, 50]},
        {"id": 12, "image_id": 7, "category_id": 1, "keypoints": [v for i in range(17) for v in (300, 40.75 + i, 0.5)],
         "score": 0.5, "track id": {"a": [1, None]}},
    ]  # fmt: skip


def wholebody_results() -> list[dict[str, Any]]:
    """Two COCO-WholeBody predictions (17 + 6 + 68 + 21 + 21 points), one with part scores."""

    def part(n: int, x: float) -> list[float]:
        return [v for i in range(n) for v in (x + i, 50.5 + i, 0.25)]

    record = {"image_id": 785, "category_id": 1, "keypoints": part(17, 10), "foot_kpts": part(6, 30),
              "face_kpts": part(68, 40), "lefthand_kpts": part(21, 120), "righthand_kpts": part(21, 150),
              "score": 0.8}  # fmt: skip
    return [record, {**record, "score": 0.7, "foot_score": 0.2, "wholebody_score": 0.65}]


def detection_results() -> list[dict[str, Any]]:
    """Person-detector results: boxes and scores, no keypoints."""
    return [
        {"image_id": 7, "category_id": 1, "bbox": [10.5, 20, 100, 200.25], "score": 0.99},
        {"image_id": 8, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.1},
    ]
