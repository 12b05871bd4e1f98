"""Deterministic synthetic COCO person-keypoint files at COCO train2017 scale.

``generate_coco(n_images, layout, seed)`` returns a whole COCO document; the same arguments give
an identical document. The default size, 64,115 images, is the number of train2017 images with
at least one person. Distribution:

- images: COCO sizes (640x480, 480x640, 640x427, 500x375, ...), unique non-sequential ids,
  12-digit ``file_name``, the COCO extras ``license``/``coco_url``/``flickr_url``/``date_captured``;
  about 2% of images list no person.
- persons per image: geometric, mean about 2.3 over all images, capped at 20.
- about 1% of annotations are crowd regions: ``iscrowd`` 1, all-zero keypoints, ``num_keypoints``
  0, an uncompressed RLE blob (one vertical run per column) and ``area`` equal to its mask area.
- about 10% of the other persons have no labelled point (all-zero keypoints); the rest have
  visibility about 32% v=0 (at 0, 0), 8% v=1, 60% v=2.
- numbers: x, y, box and polygon values are floats rounded to 2 decimals, v is an int, ``area``
  is a float (polygon shoelace area, with the usual float noise); non-crowd persons have one
  polygon of 8-20 points; ids fit 64 bits, crowd ids exceed 2^32 like COCO's; annotation ids are
  never 0 and the annotation list is ordered by id (so not grouped by image).

Layouts: ``coco`` (K = 17); ``wholebody`` adds the COCO-WholeBody part arrays, boxes and
``*_valid`` flags (hand visibility 0, 1, 2 or a float in (0, 1)); ``halpe`` has 136-point
``keypoints`` (v=0 points sometimes keep coordinates), empty category ``keypoints``/``skeleton``
and no ``segmentation``. ``num_keypoints`` always counts v > 0 among the first 17 points.

Human3.6M (``--layout h36m``): an mmpose npz and its cameras, see ``generate_h36m``. AI
Challenger native (``--layout aic``): the authors' JSON list, see ``generate_aic``.

CLI: ``python -m benchmarks.generate OUT.json --images N --layout coco|wholebody|halpe|h36m|aic --seed S``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

LAYOUTS = ("coco", "wholebody", "halpe")
NUM_POINTS = {"coco": 17, "wholebody": 17, "halpe": 136}

COCO_KEYPOINTS = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
COCO_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip

# (width, height) of COCO images and rough frequencies.
_SIZES = np.array(
    [(640, 480), (480, 640), (640, 427), (427, 640), (500, 375), (375, 500), (640, 426),
     (640, 428), (612, 612), (640, 360), (640, 640), (333, 500)]
)  # fmt: skip
_SIZE_P = np.array([30, 12, 14, 6, 5, 3, 5, 5, 3, 6, 5, 6], dtype=float)
_SIZE_P /= _SIZE_P.sum()

_LICENSES = [
    (1, "Attribution-NonCommercial-ShareAlike License", "by-nc-sa/2.0/"),
    (2, "Attribution-NonCommercial License", "by-nc/2.0/"),
    (3, "Attribution-NonCommercial-NoDerivs License", "by-nc-nd/2.0/"),
    (4, "Attribution License", "by/2.0/"),
    (5, "Attribution-ShareAlike License", "by-sa/2.0/"),
    (6, "Attribution-NoDerivs License", "by-nd/2.0/"),
    (7, "No known copyright restrictions", None),
    (8, "United States Government Work", None),
]

_P_EMPTY_IMAGE = 0.02  # images listed without any person
_P_GEOMETRIC = 0.42  # persons per non-empty image ~ Geometric(p), mean 1/p
_MAX_PERSONS = 20
_P_CROWD = 0.01
_P_NO_POINTS = 0.10  # non-crowd persons without any labelled point
_P_VIS = (0.32, 0.08, 0.60)  # v = 0, 1, 2 among persons with points
_WB_VALID = {"foot": 0.55, "face": 0.45, "lefthand": 0.30, "righthand": 0.30}
_WB_FIELDS = (
    "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts", "face_box", "lefthand_box",
    "righthand_box", "face_valid", "lefthand_valid", "righthand_valid", "foot_valid",
)  # fmt: skip


def _visibility(rng: np.random.Generator, shape: tuple[int, ...], p: tuple[float, ...]) -> np.ndarray:
    """Random ints 0, 1, 2 with probabilities ``p``."""
    u = rng.random(shape)
    return np.where(u < p[0], 0, np.where(u < p[0] + p[1], 1, 2))


def _in_box(rng: np.random.Generator, box: np.ndarray, n: int, ylo: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 2-decimal points per ``[x, y, w, h]`` row of ``box``; y starts at ``ylo`` of h."""
    k = len(box)
    x = box[:, :1] + rng.uniform(0.02, 0.98, (k, n)) * box[:, 2:3]
    y = box[:, 1:2] + rng.uniform(ylo, 0.98, (k, n)) * box[:, 3:4]
    return np.round(x, 2), np.round(y, 2)


def _triplets(x: np.ndarray, y: np.ndarray, v: np.ndarray) -> list[list[Any]]:
    """Flat ``[x, y, v, ...]`` Python lists per row (floats stay floats, ints stay ints)."""
    out = np.empty((x.shape[0], 3 * x.shape[1]), dtype=object)
    out[:, 0::3], out[:, 1::3], out[:, 2::3] = x, y, v
    return out.tolist()


def _images(rng: np.random.Generator, n: int) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """COCO ``images`` entries, their ids and their ``(width, height)`` rows."""
    sizes = _SIZES[rng.choice(len(_SIZES), n, p=_SIZE_P)]
    ids = rng.choice(max(581_929, 10 * n), n, replace=False) + 1
    lic = rng.integers(1, 9, n).tolist()
    farm = rng.integers(1, 10, n).tolist()
    server = rng.integers(1000, 9000, n).tolist()
    photo = rng.integers(10**9, 10**10, n).tolist()
    secret = rng.integers(0, 16**10, n).tolist()
    dates = np.datetime64("2013-01-01T00:00:00") + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    images = []
    for i, (w, h), li, fa, se, ph, sc, d in zip(
        ids.tolist(), sizes.tolist(), lic, farm, server, photo, secret, np.datetime_as_string(dates).tolist()
    ):
        fn = f"{i:012d}.jpg"
        images.append({
            "license": li,
            "file_name": fn,
            "coco_url": f"http://images.cocodataset.org/train2017/{fn}",
            "height": h,
            "width": w,
            "date_captured": d.replace("T", " "),
            "flickr_url": f"http://farm{fa}.staticflickr.com/{se}/{ph}_{sc:010x}_z.jpg",
            "id": i,
        })  # fmt: skip
    return images, ids, sizes


def _polygons(
    rng: np.random.Generator, w: np.ndarray, h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[list[float]]]:
    """One star-shaped polygon per person: its bbox rows, shoelace areas and flat point lists."""
    k = len(w)
    if k == 0:
        return np.zeros((0, 4)), np.zeros(0), []
    bh = h * np.exp(rng.uniform(np.log(0.08), np.log(0.95), k))
    bw = np.minimum(bh * rng.uniform(0.3, 0.8, k), 0.95 * w)
    cx, cy = rng.uniform(bw / 2, w - bw / 2), rng.uniform(bh / 2, h - bh / 2)
    npts = rng.integers(8, 21, k)
    ends = np.cumsum(npts)
    starts = ends - npts
    owner = np.repeat(np.arange(k), npts)
    j = np.arange(ends[-1]) - starts[owner]
    theta = 2 * np.pi * (j + rng.uniform(-0.3, 0.3, len(j))) / npts[owner]
    r = rng.uniform(0.75, 1.0, len(j))
    x = np.clip(np.round(cx[owner] + bw[owner] / 2 * r * np.cos(theta), 2), 0, w[owner])
    y = np.clip(np.round(cy[owner] + bh[owner] / 2 * r * np.sin(theta), 2), 0, h[owner])
    x0, x1 = np.minimum.reduceat(x, starts), np.maximum.reduceat(x, starts)
    y0, y1 = np.minimum.reduceat(y, starts), np.maximum.reduceat(y, starts)
    bbox = np.stack([x0, y0, np.round(x1 - x0, 2), np.round(y1 - y0, 2)], axis=1)
    nxt = np.arange(len(j)) + 1
    nxt[ends - 1] = starts
    area = np.abs(np.add.reduceat(x * y[nxt] - x[nxt] * y, starts)) / 2
    flat = np.empty(2 * len(j))
    flat[0::2], flat[1::2] = x, y
    flat_list = flat.tolist()
    polys = [[flat_list[2 * s : 2 * e]] for s, e in zip(starts.tolist(), ends.tolist())]
    return bbox, area, polys


def _crowd_rle(rng: np.random.Generator, w: int, h: int) -> tuple[dict[str, Any], list[float], float]:
    """A blob with one vertical run per column, as uncompressed column-major RLE; bbox; area."""
    ncols = max(1, int(w * rng.uniform(0.2, 0.9)))
    c0 = int(rng.integers(0, w - ncols + 1))
    tall = max(2, int(h * rng.uniform(0.15, 0.6)))
    top = np.clip(int(rng.integers(1, h - tall)) + np.cumsum(rng.integers(-2, 3, ncols)), 1, h - 2)
    bottom = np.clip(top + tall + np.cumsum(rng.integers(-2, 3, ncols)), top + 1, h - 1)
    runs = bottom - top
    counts = np.empty(2 * ncols + 1, dtype=np.int64)
    counts[1::2] = runs
    counts[0] = c0 * h + top[0]
    counts[2:-1:2] = (h - bottom[:-1]) + top[1:]
    counts[-1] = (h - bottom[-1]) + (w - c0 - ncols) * h
    y0 = int(top.min())
    bbox = [float(c0), float(y0), float(ncols), float(int(bottom.max()) - y0)]
    return {"counts": counts.tolist(), "size": [h, w]}, bbox, float(runs.sum())


def _wholebody(rng: np.random.Generator, bbox: np.ndarray, labelled: np.ndarray) -> dict[str, list[Any]]:
    """COCO-WholeBody part fields per annotation (invalid parts are all zeros)."""
    k = len(bbox)
    bx, by, bw, bh = bbox.T
    valid = {part: labelled & (rng.random(k) < p) for part, p in _WB_VALID.items()}
    out: dict[str, list[Any]] = {
        f"{part}_valid": valid[part].tolist() for part in ("face", "lefthand", "righthand", "foot")
    }

    def part(key: str, box: np.ndarray, n: int, ok: np.ndarray, v: np.ndarray, ylo: float = 0.0) -> None:
        x, y = _in_box(rng, box, n, ylo)
        v = np.where(ok[:, None], v, 0)
        zero = ~ok[:, None] | np.asarray(v == 0, dtype=bool)
        x[zero], y[zero] = 0.0, 0.0
        out[key] = _triplets(x, y, v)

    part("foot_kpts", bbox, 6, valid["foot"], _visibility(rng, (k, 6), (0.15, 0.10, 0.75)), ylo=0.85)
    fw = bw * rng.uniform(0.15, 0.35, k)
    fh = np.minimum(fw * rng.uniform(1.0, 1.3, k), 0.4 * bh)
    face_box = np.round(
        np.stack([bx + rng.random(k) * (bw - fw), by + rng.uniform(0, 0.1, k) * (bh - fh), fw, fh], 1), 2
    )
    part("face_kpts", face_box, 68, valid["face"], _visibility(rng, (k, 68), (0.05, 0.60, 0.35)))
    out["face_box"] = np.where(valid["face"][:, None], face_box, 0.0).tolist()
    for side in ("lefthand", "righthand"):
        hw = bw * rng.uniform(0.10, 0.25, k)
        hh = np.minimum(hw * rng.uniform(0.8, 1.2, k), bh)
        box = np.round(np.stack([bx + rng.random(k) * (bw - hw), by + rng.random(k) * (bh - hh), hw, hh], 1), 2)
        v = _visibility(rng, (k, 21), (0.15, 0.10, 0.35)).astype(object)  # the rest (~40%) become floats
        scores = rng.uniform(0.01, 0.99, (k, 21))
        is_float = (rng.random((k, 21)) < 0.4 / 0.75) & (v != 0)
        v[is_float] = scores[is_float].tolist()
        part(f"{side}_kpts", box, 21, valid[side], v)
        out[f"{side}_box"] = np.where(valid[side][:, None], box, 0.0).tolist()
    return out


def generate_coco(n_images: int = 64115, layout: str = "coco", seed: int = 0) -> dict[str, Any]:
    """Return a synthetic COCO person-keypoints document (see the module docstring)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    rng = np.random.default_rng(seed)
    images, image_ids, sizes = _images(rng, n_images)

    per_image = np.minimum(rng.geometric(_P_GEOMETRIC, n_images), _MAX_PERSONS)
    per_image[rng.random(n_images) < _P_EMPTY_IMAGE] = 0
    owner = np.repeat(np.arange(n_images), per_image)
    m = len(owner)
    w, h = sizes[owner, 0], sizes[owner, 1]
    crowd = rng.random(m) < _P_CROWD
    labelled = ~crowd & (rng.random(m) >= _P_NO_POINTS)

    # Geometry: polygons for persons, RLE blobs for crowds.
    bbox, area = np.zeros((m, 4)), np.zeros(m)
    segmentation: list[Any] = [None] * m
    people = np.flatnonzero(~crowd)
    bbox[people], area[people], polys = _polygons(rng, w[people].astype(float), h[people].astype(float))
    for i, poly in zip(people.tolist(), polys):
        segmentation[i] = poly
    for i in np.flatnonzero(crowd).tolist():
        segmentation[i], bbox[i], area[i] = _crowd_rle(rng, int(w[i]), int(h[i]))

    # Body (or Halpe full-body) keypoints.
    k = NUM_POINTS[layout]
    x, y = _in_box(rng, bbox, k)
    v = np.where(labelled[:, None], _visibility(rng, (m, k), _P_VIS), 0)
    unlabelled_body = labelled & ~(v[:, :17] > 0).any(axis=1)
    v[unlabelled_body, rng.integers(0, 17, int(unlabelled_body.sum()))] = 2
    zero = v == 0
    if layout == "halpe":  # Halpe keeps real-looking coordinates on some v=0 points
        zero &= ~(labelled[:, None] & (rng.random((m, k)) < 0.4))
    x[zero], y[zero] = 0.0, 0.0
    keypoints = _triplets(x, y, v)
    num_keypoints = (v[:, :17] > 0).sum(axis=1).tolist()
    parts = _wholebody(rng, bbox, labelled) if layout == "wholebody" else {}

    # Ids: random unique ids for persons; COCO-style 9001000000xx ids for crowds.
    ann_ids = np.zeros(m, dtype=np.int64)
    ann_ids[people] = rng.choice(max(2_232_119, 4 * m), len(people), replace=False) + 1
    seen: dict[int, int] = {}
    for i in np.flatnonzero(crowd).tolist():
        img = int(image_ids[owner[i]])
        seen[img] = seen.get(img, 0) + 1
        ann_ids[i] = 900_000_000_000 + 100_000_000 * seen[img] + img

    image_of = image_ids[owner].tolist()
    ids, bboxes, areas, iscrowd = ann_ids.tolist(), bbox.tolist(), area.tolist(), crowd.astype(int).tolist()
    annotations = []
    for i in np.argsort(ann_ids, kind="stable").tolist():
        a: dict[str, Any] = {} if layout == "halpe" else {"segmentation": segmentation[i]}
        a.update(
            num_keypoints=num_keypoints[i], area=areas[i], iscrowd=iscrowd[i], keypoints=keypoints[i],
            image_id=image_of[i], bbox=bboxes[i], category_id=1, id=ids[i],
        )  # fmt: skip
        for f in _WB_FIELDS if parts else ():
            a[f] = parts[f][i]
        annotations.append(a)

    halpe = layout == "halpe"
    return {
        "info": {
            "description": f"fiftyone-pose synthetic person keypoints (layout={layout}, seed={seed})",
            "url": "http://cocodataset.org",
            "version": "1.0",
            "year": 2017,
            "contributor": "fiftyone-pose benchmarks",
            "date_created": "2017/09/01",
        },
        "licenses": [
            {"url": f"http://creativecommons.org/licenses/{u}" if u else "", "id": i, "name": n}
            for i, n, u in _LICENSES
        ],
        "images": images,
        "annotations": annotations,
        "categories": [
            {
                "supercategory": "person",
                "id": 1,
                "name": "person",
                "keypoints": [] if halpe else list(COCO_KEYPOINTS),
                "skeleton": [] if halpe else [list(e) for e in COCO_SKELETON],
            }
        ],  # fmt: skip
    }


def write_coco(path: str | os.PathLike, n_images: int = 64115, layout: str = "coco", seed: int = 0) -> dict[str, Any]:
    """Generate a document and write it to ``path`` as compact JSON; return a few stats."""
    t0 = time.perf_counter()
    doc = generate_coco(n_images, layout, seed)
    t1 = time.perf_counter()
    Path(path).write_bytes(orjson.dumps(doc))
    return {
        "images": len(doc["images"]),
        "annotations": len(doc["annotations"]),
        "generate_seconds": round(t1 - t0, 3),
        "write_seconds": round(time.perf_counter() - t1, 3),
        "bytes": os.path.getsize(path),
    }


# ------------------------------------------------------------------------------------ Human3.6M
#
# ``generate_h36m(n_rows, seed)``: an mmpose ``h36m_test.npz`` (its arrays, in the script's order
# and row order: subject, action, camera, frame) and the cameras it was made with, in the mmpose
# JSON form of ``cameras.pkl``. The test subjects S9 and S11 each perform 30 sequences (15 actions x
# 2 sub-actions) seen by the four cameras; a skeleton of the 17 joints walks a circle in the world
# (metres, z up) and every frame is at a 50 fps frame number. ``S`` is the skeleton in each camera's
# frame (fourth column 1); ``part`` its projection through Human3.6M's published distortion model,
# computed here column by column as the authors' ``ProjectPointRadial.m`` does (not with
# fiftyone_pose's code, which the tests check against it); ``center``/``scale`` as mmpose derives
# them. The full test split at 50 fps is about 543k rows (VideoPose3D's count of S9 and S11 frames).

H36M = "h36m"
H36M_TEST_ROWS = 543_344
H36M_CAMERAS = ("54138969", "55011271", "58860488", "60457274")
H36M_SIZES = {"54138969": (1000, 1002), "55011271": (1000, 1000), "58860488": (1000, 1000), "60457274": (1000, 1002)}
H36M_ACTIONS = tuple(
    f"{a}_{s}" for a in ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases",
                         "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether")
    for s in (1, 2)
)  # fmt: skip
# the 17 joints standing (metres; x to the person's left, y forward, z up), in the h36m order
_H36M_POSE = np.array([
    [0, 0, 0.92], [-0.13, 0, 0.9], [-0.14, 0.02, 0.48], [-0.15, -0.02, 0.07], [0.13, 0, 0.9], [0.14, 0.02, 0.48],
    [0.15, -0.02, 0.07], [0, 0, 1.15], [0, 0, 1.38], [0, 0.01, 1.5], [0, 0.04, 1.63], [0.19, 0, 1.36],
    [0.22, 0.02, 1.08], [0.24, 0.05, 0.83], [-0.19, 0, 1.36], [-0.22, 0.02, 1.08], [-0.24, 0.05, 0.83],
])  # fmt: skip


def _h36m_cameras(rng: np.random.Generator) -> dict[str, dict[str, dict[str, Any]]]:
    """Four cameras 4.5-5.5 m from the capture centre, 1.2-1.8 m high, looking at it; Human3.6M-like
    intrinsics and distortion; the extrinsics vary a little per subject (as the dataset's do)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    intrinsics = {
        cam: (1145 + rng.uniform(-5, 5, 2), [512 + rng.uniform(-5, 5), 515 + rng.uniform(-5, 5)],
              [-0.2 + rng.uniform(-0.01, 0.01), 0.24 + rng.uniform(-0.01, 0.01), -0.003 + rng.uniform(-0.001, 0.001)],
              [-0.0014 + rng.uniform(-5e-4, 5e-4), -0.001 + rng.uniform(-5e-4, 5e-4)])
        for cam in H36M_CAMERAS
    }  # fmt: skip
    for subject in ("S9", "S11"):
        out[subject] = {}
        for c, cam in enumerate(H36M_CAMERAS):
            angle = np.pi / 4 + c * np.pi / 2 + rng.uniform(-0.1, 0.1)
            centre = np.array([5 * np.cos(angle), 5 * np.sin(angle), rng.uniform(1.2, 1.8)])
            forward = np.array([0, 0, 1.0]) - centre
            forward /= np.linalg.norm(forward)
            right = np.cross(forward, [0, 0, 1.0])
            right /= np.linalg.norm(right)
            down = np.cross(forward, right)
            R = np.stack([right, down, forward], axis=1)  # camera axes in world coordinates: camera to world
            f, pp, k, p = intrinsics[cam]
            w, h = H36M_SIZES[cam]
            out[subject][cam] = {
                "R": R.tolist(), "T": [[v] for v in centre.tolist()], "f": [[v] for v in np.asarray(f).tolist()],
                "c": [[v] for v in pp], "k": [[v] for v in k], "p": [[v] for v in p],
                "w": w, "h": h, "name": f"camera{c + 1}", "id": cam,
            }  # fmt: skip
    return out


def project_point_radial(P: np.ndarray, R: np.ndarray, T: np.ndarray, f, c, k, p) -> np.ndarray:
    """Human3.6M's ``ProjectPointRadial.m`` as written (column vectors; ``R`` world to camera, ``T``
    the camera centre): world points (N, 3) to pixels (N, 2)."""
    X = R @ (P.T - T)
    XX = X[:2] / X[2]
    r2 = XX[0] ** 2 + XX[1] ** 2
    radial = 1 + np.sum(np.asarray(k).reshape(3, 1) * np.array([r2, r2**2, r2**3]), axis=0)
    tan = p[0] * XX[1] + p[1] * XX[0]
    XXX = XX * (radial + tan) + np.outer([p[1], p[0]], r2)
    return (np.asarray(f).reshape(2, 1) * XXX + np.asarray(c).reshape(2, 1)).T


def generate_h36m(n_rows: int = H36M_TEST_ROWS, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays of a synthetic mmpose ``h36m_test.npz`` of about ``n_rows`` rows (a multiple of
    the 240 sequence-views, at least 240) and its cameras (see the comment above)."""
    rng = np.random.default_rng(seed)
    cameras = _h36m_cameras(rng)
    n_frames = max(1, round(n_rows / (2 * len(H36M_ACTIONS) * 4)))
    names, parts, s_all = [], [], []
    for subject in ("S9", "S11"):
        for action in H36M_ACTIONS:
            start = int(rng.integers(1, 200))
            frames = start + 5 * np.arange(n_frames)  # 10 fps of the 50 fps video, as mmpose's fps10 files
            t = frames / 50.0
            heading = 0.4 * t + rng.uniform(0, 2 * np.pi)
            root = np.stack([1.2 * np.cos(heading), 1.2 * np.sin(heading), np.zeros_like(t)], axis=1)
            cos, sin = np.cos(heading + np.pi)[:, None], np.sin(heading + np.pi)[:, None]  # turned along the circle
            px, py, pz = _H36M_POSE.T
            pose = np.stack(
                [cos * px - sin * py, sin * px + cos * py, np.broadcast_to(pz, cos.shape[:1] + pz.shape)], 2
            )
            world = pose + root[:, None] + rng.normal(0, 0.01, (n_frames, 17, 3))
            for cam in H36M_CAMERAS:
                prm = cameras[subject][cam]
                R, T = np.array(prm["R"]), np.array(prm["T"])
                cam_points = np.einsum("ij,fkj->fki", R.T, world - T[:, 0])  # R.T @ (X - T)
                uv = project_point_radial(world.reshape(-1, 3), R.T, T, prm["f"], prm["c"], prm["k"], prm["p"])
                base = f"{subject}_{action}.{cam}"
                names += [f"{subject}/{base}/{base}_{fr:06d}.jpg" for fr in frames.tolist()]
                parts.append(np.concatenate([uv.reshape(n_frames, 17, 2), np.ones((n_frames, 17, 1))], axis=2))
                s_all.append(np.concatenate([cam_points, np.ones((n_frames, 17, 1))], axis=2))
    part, S = np.concatenate(parts), np.concatenate(s_all)
    lo, hi = part[..., :2].min(axis=1), part[..., :2].max(axis=1)
    arrays = {
        "imgname": np.array(names), "center": (lo + hi) / 2, "scale": 1.2 * (hi - lo).max(axis=1) / 200,
        "part": part, "S": S,
    }  # fmt: skip
    return arrays, cameras


def write_h36m(
    path: str | os.PathLike, n_rows: int = H36M_TEST_ROWS, seed: int = 0, cameras_path: str | os.PathLike | None = None
) -> dict[str, Any]:
    """Write the npz to ``path`` and its cameras to ``cameras_path`` (default: ``cameras.json``
    beside it); return a few stats."""
    t0 = time.perf_counter()
    arrays, cameras = generate_h36m(n_rows, seed)
    t1 = time.perf_counter()
    np.savez(path, **arrays)
    Path(cameras_path or Path(path).parent / "cameras.json").write_bytes(orjson.dumps(cameras))
    return {
        "rows": len(arrays["imgname"]),
        "generate_seconds": round(t1 - t0, 3),
        "write_seconds": round(time.perf_counter() - t1, 3),
        "bytes": os.path.getsize(path),
    }


# --------------------------------------------------------------------------- AI Challenger native
#
# ``generate_aic(n_images, seed)``: the authors' ``keypoint_train_annotations_20170909.json`` at
# its size (210k images, 378k persons): a list of {url, image_id, keypoint_annotations,
# human_annotations}; 40-hex-digit image ids; persons per image geometric (mean 1.8, at most 10);
# int boxes [x1, y1, x2, y2] inside the image, 14 int triplets per person inside the box with
# flags 1 visible (75%), 2 occluded (12%), 3 unlabelled (13%, at 0, 0). The file has no image
# sizes: ``aic_images`` writes an image per size and links each image name to its size's file.

AIC = "aic"
AIC_TRAIN_IMAGES = 210_000
AIC_SIZES = ((1200, 800), (800, 1200), (1024, 768), (1280, 720), (640, 480), (960, 1280))
_AIC_P_PERSONS = 0.55  # geometric: mean 1/p = 1.82 persons per image
_AIC_P_FLAGS = (0.75, 0.12, 0.13)


def generate_aic(n_images: int = AIC_TRAIN_IMAGES, seed: int = 0) -> tuple[list[dict[str, Any]], np.ndarray]:
    """A synthetic AI Challenger native document and each image's index into ``AIC_SIZES``."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, (n_images, 20), dtype=np.uint8)
    names = [row.tobytes().hex() for row in raw]
    size_of = rng.integers(0, len(AIC_SIZES), n_images)
    sizes = np.array(AIC_SIZES)[size_of]
    per_image = np.minimum(rng.geometric(_AIC_P_PERSONS, n_images), 10)
    owner = np.repeat(np.arange(n_images), per_image)
    m = len(owner)
    w, h = sizes[owner, 0], sizes[owner, 1]
    x1, y1 = (rng.random(m) * w * 0.7).astype(int), (rng.random(m) * h * 0.5).astype(int)
    x2 = np.minimum(x1 + 20 + (rng.random(m) * w * 0.5).astype(int), w - 1)
    y2 = np.minimum(y1 + 40 + (rng.random(m) * h * 0.6).astype(int), h - 1)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    x = x1[:, None] + (rng.random((m, 14)) * (x2 - x1)[:, None]).astype(int)
    y = y1[:, None] + (rng.random((m, 14)) * (y2 - y1)[:, None]).astype(int)
    v = rng.choice([1, 2, 3], (m, 14), p=_AIC_P_FLAGS)
    x[v == 3], y[v == 3] = 0, 0
    keypoints = np.stack([x, y, v], axis=2).reshape(m, 42).tolist()
    box_lists = boxes.tolist()
    starts = np.concatenate([[0], np.cumsum(per_image)]).tolist()
    doc = []
    for i, name in enumerate(names):
        persons = range(starts[i], starts[i + 1])
        doc.append(
            {
                "url": f"http://www.sinaimg.cn/dy/slidenews/{name[:8]}.jpg",
                "image_id": name,
                "keypoint_annotations": {f"human{j + 1}": keypoints[p] for j, p in enumerate(persons)},
                "human_annotations": {f"human{j + 1}": box_lists[p] for j, p in enumerate(persons)},
            }
        )
    return doc, size_of


def write_aic(path: str | os.PathLike, n_images: int = AIC_TRAIN_IMAGES, seed: int = 0) -> dict[str, Any]:
    """Write the native file to ``path`` and each image's size index to ``<path>.sizes.npy``; return a few stats."""
    t0 = time.perf_counter()
    doc, size_of = generate_aic(n_images, seed)
    t1 = time.perf_counter()
    Path(path).write_bytes(orjson.dumps(doc))
    np.save(Path(path).with_suffix(".sizes.npy"), size_of)
    return {
        "images": len(doc),
        "annotations": sum(len(im["human_annotations"]) for im in doc),
        "generate_seconds": round(t1 - t0, 3),
        "write_seconds": round(time.perf_counter() - t1, 3),
        "bytes": os.path.getsize(path),
    }


def aic_images(path: str | os.PathLike, folder: str | os.PathLike) -> None:
    """The images of the native file at ``path`` in ``folder`` (``<image_id>.jpg``): a black JPEG
    per size, hard-linked under each image's name, so the import can read every image's header."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    templates = []
    for w, h in AIC_SIZES:
        template = folder / f"aic_{w}x{h}.jpg"
        if not template.exists():
            Image.new("L", (w, h)).save(template)
        templates.append(template)
    size_of = np.load(Path(path).with_suffix(".sizes.npy")).tolist()
    for im, s in zip(orjson.loads(Path(path).read_bytes()), size_of):
        target = folder / f"{im['image_id']}.jpg"
        if not target.exists():
            os.link(templates[s], target)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output JSON path (an .npz for --layout h36m, with cameras.json beside it)")
    ap.add_argument("--images", type=int, default=None, help="images (COCO layouts: 64115) or npz rows (h36m: 543344)")
    ap.add_argument("--layout", choices=(*LAYOUTS, H36M, AIC), default="coco")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.layout == H36M:
        stats = write_h36m(args.out, args.images or H36M_TEST_ROWS, args.seed)
    elif args.layout == AIC:
        stats = write_aic(args.out, args.images or AIC_TRAIN_IMAGES, args.seed)
    else:
        stats = write_coco(args.out, args.images or 64115, args.layout, args.seed)
    print(" ".join(f"{k}={v}" for k, v in stats.items()))


if __name__ == "__main__":
    main()
