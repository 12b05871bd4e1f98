"""Generated ground-truth / prediction pairs for the evaluation tests, with what trips evaluators up.

``keypoint_case(seed, ...)`` makes a COCO-like ground truth and a results list from one seed: images
without persons, crowd regions, persons without labeled points, partly labeled persons, areas in
every COCO size class and exactly on the 32² / 96² cuts, exact duplicate persons (OKS ties between
ground truths), annotation id 0 (pycocotools never counts it as a match), predictions near a person
at several noise levels and false positives, more than 20 predictions in an image, scores drawn
from three values (ties), all-zero and partly zero point scores, predictions of another category,
and predictions for an image the ground truth lacks. ``pck_case`` makes MPII- or LSP-like
``PoseData`` with one prediction per person.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.model import Images, Persons, PoseData
from fiftyone_pose.formats import coco_results

UNKNOWN_IMAGE = 10**7 + 5


def keypoint_case(
    seed: int,
    layout: str = "coco",
    categories: tuple[int, ...] = (1,),
    boxes_in_results: bool = False,
    n_images: int = 12,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A COCO ground-truth document and a results list of ``layout`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    sk = skeletons.load(layout)
    k = sk.num_keypoints
    images, anns, results = [], [], []
    ann_id = int(rng.integers(0, 2))
    for iid in (rng.choice(10**6, size=n_images, replace=False) + 1).tolist():
        w, h = int(rng.integers(100, 1200)), int(rng.integers(100, 1200))
        images.append({"id": iid, "file_name": f"{iid}.jpg", "width": w, "height": h})
        persons = []
        for _ in range(int(rng.choice([0, 0, 1, 2, 3, 5]))):
            cat = int(rng.choice(categories))
            scale = float(rng.choice([15, 40, 120, 300]))
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            xy = np.stack([cx + rng.normal(0, scale / 3, k), cy + rng.normal(0, scale / 2, k)], 1)
            v = rng.choice([0, 1, 2], size=k, p=[0.3, 0.2, 0.5])
            if rng.random() < 0.15:
                v[:] = 0
            if rng.random() < 0.5:
                xy = np.round(xy)
            xy[v == 0] = 0
            lab = v > 0
            x0, y0 = xy[lab].min(0) if lab.any() else (cx, cy)
            x1, y1 = xy[lab].max(0) if lab.any() else (cx + scale, cy + scale)
            bbox = [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]
            area = float(
                rng.choice([bbox[2] * bbox[3] * 0.6, rng.uniform(100, 2000), rng.uniform(1024, 9216), 1024.0, 9216.0])
            )
            ann = {
                "id": ann_id,
                "image_id": iid,
                "category_id": cat,
                "keypoints": [c for t in zip(xy[:, 0].tolist(), xy[:, 1].tolist(), v.tolist()) for c in t],
                "num_keypoints": int(lab.sum()),
                "bbox": bbox,
                "area": area,
                "iscrowd": int(rng.random() < 0.1),
            }
            anns.append(ann)
            ann_id += 1
            persons.append((xy, v, cat))
            if rng.random() < 0.1:
                anns.append(dict(ann, id=ann_id))
                ann_id += 1
        for _ in range(int(rng.choice([0, 1, 3, 8, 22]))):
            if persons and rng.random() < 0.7:
                xy, v, cat = persons[int(rng.integers(len(persons)))]
                pxy = xy + rng.normal(0, float(rng.choice([0.5, 2, 5, 15, 40])), xy.shape)
                pxy[v == 0] = rng.uniform(0, max(w, h), (int((v == 0).sum()), 2))
            else:
                cat = int(rng.choice(categories))
                pxy = np.stack([rng.uniform(0, w, k), rng.uniform(0, h, k)], 1)
            s = rng.uniform(0, 1, k)
            s[rng.random(k) < 0.1] = 0
            if rng.random() < 0.05:
                s[:] = 0
            score = float(rng.choice([0.5, 0.7, 0.9])) if rng.random() < 0.4 else float(rng.uniform())
            if rng.random() < 0.5:
                pxy = np.round(pxy, 2)
            rec = {
                "image_id": iid,
                "category_id": cat if rng.random() > 0.05 else 7,
                "keypoints": [float(c) for t in zip(pxy[:, 0], pxy[:, 1], s) for c in t],
                "score": score,
            }
            if boxes_in_results:
                rec["bbox"] = [float(pxy[:, 0].min()), float(pxy[:, 1].min()), float(np.ptp(pxy[:, 0])), 30.0]
            results.append(rec)
    results.append({"image_id": UNKNOWN_IMAGE, "category_id": 1, "keypoints": [1.0] * (3 * k), "score": 0.99})
    order = rng.permutation(len(results))
    results = [results[i] for i in order]
    cats = [
        {"id": c, "name": "person" if c == 1 else f"thing{c}", "keypoints": list(sk.keypoints), "skeleton": []}
        for c in categories
    ]
    return {"info": {}, "licenses": [], "images": images, "annotations": anns, "categories": cats}, results


def known_results(gt: dict[str, Any], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of images the ground truth has: what the reference tools accept."""
    known = {im["id"] for im in gt["images"]}
    return [r for r in results if r["image_id"] in known]


def pck_case(seed: int, layout: str) -> tuple[PoseData, PoseData]:
    """MPII-like (1-based, head boxes ``x1..y2``) or LSP-like ground truth and one prediction per
    person in a results list (0-based), persons in images of one to three."""
    rng = np.random.default_rng(seed)
    sk = skeletons.load(layout)
    k = sk.num_keypoints
    origin = 1 if layout == "mpii" else 0
    n_images = int(rng.integers(5, 15))
    counts = rng.integers(1, 4, n_images)
    n = int(counts.sum())
    image_index = np.repeat(np.arange(n_images), counts)
    centres = rng.uniform(200, 800, (n, 1, 2)) + np.arange(n)[:, None, None] * 400
    xy = centres + rng.normal(0, 60, (n, k, 2))
    vis = rng.choice([0, 1, 2], size=(n, k), p=[0.15, 0.15, 0.7]).astype(np.int8)
    if layout == "lsp":
        vis[:, [2, 9]] = 2  # the torso joints are labeled in LSP
        xy[: n // 4, 9] = xy[: n // 4, 2] + 0.5  # a torso under 1 pixel: mmpose takes the prediction's
    xy[vis == 0] = -1.0 if layout == "mpii" else 0.0
    extras: list[dict[str, Any]] = [{} for _ in range(n)]
    if layout == "mpii":
        for i in range(n):
            top = xy[i, sk.keypoints.index("head_top")]
            size = float(rng.uniform(20, 70))
            extras[i] = {
                "x1": round(float(top[0] - size / 2)),
                "y1": round(float(top[1])),
                "x2": round(float(top[0] + size / 2)),
                "y2": round(float(top[1] + size)),
            }
        extras[0] = {"x1": 10, "y1": 10, "x2": 10, "y2": 10}  # a zero head size: mmpose leaves the person out
    persons = Persons(
        image_index=image_index,
        ids=np.arange(1, n + 1),
        category_ids=np.ones(n, np.int64),
        keypoints=xy,
        visibility=vis,
        boxes=np.full((n, 4), np.nan),
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1),
        segmentations=[None] * n,
        extras=extras,
    )
    images = Images(
        np.arange(100, 100 + n_images),
        [f"{i}.jpg" for i in range(n_images)],
        np.full(n_images, 2000),
        np.full(n_images, 2000),
        [{} for _ in range(n_images)],
    )
    gt = PoseData(images, persons, sk, format=layout, origin=origin)
    noise = rng.choice([2.0, 6.0, 20.0], size=(n, 1, 1))
    pred_xy = xy - origin + rng.normal(0, 1, (n, k, 2)) * noise
    results = [
        {
            "image_id": int(images.ids[image_index[i]]),
            "category_id": 1,
            "keypoints": [float(c) for t in zip(pred_xy[i, :, 0], pred_xy[i, :, 1], rng.uniform(0.1, 1, k)) for c in t],
            "score": float(rng.uniform()),
        }
        for i in rng.permutation(n)
    ]
    return gt, coco_results.decode(results, skeleton=sk)


def perturbed_results(doc: dict[str, Any], seed: int = 0, noise: float = 4.0) -> list[dict[str, Any]]:
    """A results list of a COCO document's persons with labeled points, moved by Gaussian noise
    (``noise`` pixels), with a point score per point and a score per person; a missed person and a
    spurious one per ten."""
    rng = np.random.default_rng(seed)
    out = []
    for i, a in enumerate(doc["annotations"]):
        kp = np.array(a["keypoints"], dtype=np.float64).reshape(-1, 3)
        if a.get("iscrowd") or not (kp[:, 2] > 0).any() or i % 10 == 9:
            continue
        xy = kp[:, :2] + rng.normal(0, noise, (len(kp), 2))
        scores = np.where(kp[:, 2] > 0, rng.uniform(0.5, 1.0, len(kp)), rng.uniform(0.0, 0.3, len(kp)))
        out.append({
            "image_id": a["image_id"],
            "category_id": a.get("category_id", 1),
            "keypoints": np.round(np.column_stack([xy, scores]), 3).ravel().tolist(),
            "score": round(float(rng.uniform(0.5, 1.0)), 3),
        })  # fmt: skip
        if i % 10 == 4:  # a spurious person beside this one
            out.append({**out[-1], "keypoints": (np.array(out[-1]["keypoints"]) + [40, 40, 0] * len(kp)).tolist(),
                        "score": 0.3})  # fmt: skip
    return out
