"""Small Human3.6M files built in code in the structure ``pose-formats.md`` documents: mmpose's
npz (plain arrays) and its ``h36m_coco.json``. No FiftyOne here."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.formats.h36m import MMPOSE_COCO_NAMES

#: (subject, action with sub-action, camera, frame): one frame seen by all four cameras, a later
#: frame of two of them, a test subject and a frame of a camera that is not Human3.6M's
FRAMES = [
    ("S9", "Directions_1", "54138969", 1),
    ("S9", "Directions_1", "55011271", 1),
    ("S9", "Directions_1", "58860488", 1),
    ("S9", "Directions_1", "60457274", 1),
    ("S9", "Directions_1", "54138969", 6),
    ("S9", "Directions_1", "55011271", 6),
    ("S11", "WalkTogether_2", "60457274", 1231),
    ("S11", "Phoning_1", "99999999", 11),
]


def frame_name(subject: str, action: str, camera: str, frame: int, digits: int = 6) -> str:
    """``S9/S9_Directions_1.54138969/S9_Directions_1.54138969_000001.jpg`` (mmpose's layout)."""
    base = f"{subject}_{action}.{camera}"
    return f"{subject}/{base}/{base}_{frame:0{digits}d}.jpg"


def _rows(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(17, dtype=np.float64)[None, :]
    xy = np.stack([400.25 + 9.5 * j + 3 * i, 200.125 + 31.0 * j - 2 * i], axis=2)
    part = np.concatenate([xy, np.ones((n, 17, 1))], axis=2)
    xyz = np.stack([0.01 * j - 0.1 * i, -0.5 + 0.06 * j + 0 * i, 5.25 + 0.001 * i + 0 * j], axis=2)
    s = np.concatenate([xyz, np.ones((n, 17, 1))], axis=2)
    lo, hi = xy.min(axis=1), xy.max(axis=1)
    return part, s, (lo + hi) / 2, 1.2 * (hi - lo).max(axis=1) / 200


def h36m_npz_arrays() -> dict[str, np.ndarray]:
    """The arrays of an mmpose ``h36m_test.npz`` in the script's order (one frame name with
    5-digit frame numbers, as mmpose's documentation shows them)."""
    names = [frame_name(*f) for f in FRAMES]
    names[5] = frame_name(*FRAMES[5], digits=5)
    part, s, center, scale = _rows(len(names))
    return {"imgname": np.array(names), "center": center, "scale": scale, "part": part, "S": s}


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def h36m_npz_bytes() -> bytes:
    return npz_bytes(h36m_npz_arrays())


def h36m_coco_doc() -> dict[str, Any]:
    """mmpose's ``h36m_coco.json`` for the first rows: no info/licenses, ids = row + 1, the box
    from center/scale, ``keypoints`` = part (v = 1.0), ``keypoints_3d`` (world metres), and the
    converter's category (names swapped for points 1-6, a 0-based skeleton)."""
    arrays = h36m_npz_arrays()
    images, anns = [], []
    for row in range(6):
        name = str(arrays["imgname"][row]).rsplit("/", 1)[1]
        camera = FRAMES[row][2]
        width, height = (1000, 1002) if camera in ("54138969", "60457274") else (1000, 1000)
        images.append({"file_name": name, "height": height, "width": width, "id": row + 1})
        (cx, cy), s = arrays["center"][row].tolist(), float(arrays["scale"][row])
        bbox = [cx - 100 * s, cy - 100 * s, 200 * s, 200 * s]
        world = arrays["S"][row] + np.array([1.5, -2.25, 0.5 - 5.0, 0.0])
        anns.append({
            "num_keypoints": 17, "iscrowd": 0, "area": bbox[2] * bbox[3], "category_id": 1, "id": row + 1,
            "image_id": row + 1, "bbox": bbox, "keypoints": arrays["part"][row].ravel().tolist(),
            "keypoints_3d": world.ravel().tolist(),
        })  # fmt: skip
    edges = [list(e) for e in skeletons.load("h36m").edges]
    categories = [
        {"supercategory": "person", "id": 1, "name": "person", "keypoints": list(MMPOSE_COCO_NAMES), "skeleton": edges}
    ]
    return {"categories": categories, "images": images, "annotations": anns}
