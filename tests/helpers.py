"""Small documents for tests, built in code so each test shows the scenario it pins."""

from __future__ import annotations

import copy
import struct
import zlib
from typing import Any

COCO_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
COCO_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
    [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip

_DOC: dict[str, Any] = {
    "info": {"description": "example", "version": "1.0", "year": 2024},
    "licenses": [{"id": 1, "name": "CC", "url": "https://example.org"}],
    "images": [
        {"id": 7, "file_name": "000000000007.jpg", "width": 640, "height": 480, "license": 1,
         "date_captured": "2013-11-14 17:02:52", "flickr_url": "http://example.org/7.jpg"},
        {"id": 3000000000, "file_name": "sub/dir/9.jpg", "width": 500, "height": 375},
        {"id": 11, "file_name": "empty.jpg", "width": 320, "height": 240},
    ],
    "annotations": [
        {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
         "bbox": [201.5, 88.0, 94.25, 240.0], "area": 14350.0, "num_keypoints": 4,
         "segmentation": [[201.5, 88.0, 295.75, 88.0, 295.75, 328.0, 201.5, 328.0]],
         "keypoints": [250, 102, 2, 255, 98, 2, 0, 0, 0, 262, 101, 1, 0, 0, 0, 270, 140, 2] + [0] * 33},
        {"id": 501, "image_id": 7, "category_id": 1, "iscrowd": 1, "num_keypoints": 0,
         "bbox": [0.0, 210.0, 640.0, 180.0], "area": 61234.0, "keypoints": [0] * 51,
         "segmentation": {"size": [480, 640], "counts": [100800, 12, 468, 15, 205905]}},
        {"id": 2, "image_id": 3000000000, "category_id": 1, "iscrowd": 0,
         "bbox": [10.25, 20.5, 30.0, 40.0], "area": 900.5, "num_keypoints": 0,
         "segmentation": [[10.25, 20.5, 40.25, 20.5, 40.25, 60.5]], "keypoints": [0] * 51},
        {"id": 3, "image_id": 3000000000, "category_id": 1, "iscrowd": 0,
         "bbox": [100, 100, 50, 80], "area": 4000, "num_keypoints": 17, "segmentation": [],
         "keypoints": [v for i in range(17) for v in (100.25 + i, 150.75 - i, 2)],
         "source_note": "unknown extra key", "attributes": {"occluded": False}},
    ],
    "categories": [{"id": 1, "name": "person", "supercategory": "person",
                    "keypoints": COCO_NAMES, "skeleton": COCO_SKELETON}],
    "extra_top_level": {"kept": True},
}  # fmt: skip


def coco_doc() -> dict[str, Any]:
    """A small COCO keypoint document with the cases that matter: ints and floats, crowd RLE,
    a person without points, an image without persons, sub-folders, a 64-bit id, extra keys."""
    return copy.deepcopy(_DOC)


def png(width: int, height: int, pixels: bool = True) -> bytes:
    """An 8-bit grey PNG of that size (without ``pixels``: a valid header only)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    body = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height))) if pixels else b"\x78\x9c"
    return head + chunk(b"IDAT", body) + chunk(b"IEND", b"")
