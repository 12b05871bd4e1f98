"""Deterministic synthetic model predictions (a COCO results list) for a generated ground truth.

``generate_predictions(doc, per_image=20, seed=0)`` returns one results list for a COCO document of
``benchmarks.generate`` (or any COCO keypoint document): for every image ``per_image`` predicted
persons, first a perturbed copy of each of its persons with labelled points (noise from 1 to 30
pixels, so OKS spreads over the thresholds; unlabelled points put anywhere in the person's box),
then false positives anywhere in the image. Point scores are uniform in (0, 1) with about 5%
exact zeros; instance scores are uniform in [0.3, 1) for the copies and [0, 0.6) for the false
positives, rounded to 2 decimals so that ties occur, as they do in real files. COCO-WholeBody
documents get the part arrays too.

CLI: ``python -m benchmarks.predictions GT.json OUT.json --per-image 20 --seed 0``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import orjson

PARTS = (("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21))


def generate_predictions(doc: dict[str, Any], per_image: int = 20, seed: int = 0) -> list[dict[str, Any]]:
    """``per_image`` predicted persons for every image of ``doc`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    anns = doc["annotations"]
    wholebody = bool(anns) and "foot_kpts" in anns[0]
    by_image: dict[int, list[dict[str, Any]]] = {}
    for a in anns:
        if not a.get("iscrowd") and any(v > 0 for v in a["keypoints"][2::3]):
            by_image.setdefault(a["image_id"], []).append(a)
    k = len(anns[0]["keypoints"]) // 3 if anns else 17
    out = []
    for im in doc["images"]:
        w, h = im["width"], im["height"]
        persons = by_image.get(im["id"], [])[:per_image]
        for i in range(per_image):
            rec: dict[str, Any] = {"image_id": im["id"], "category_id": 1}
            arrays = [("keypoints", k)] + (list(PARTS) if wholebody else [])
            if i < len(persons):
                x, y, bw, bh = persons[i]["bbox"]
                noise = float(rng.choice([1.0, 3.0, 8.0, 30.0]))
                for key, n in arrays:
                    gt = np.array(persons[i][key], dtype=np.float64).reshape(n, 3)
                    xy = gt[:, :2] + rng.normal(0, noise, (n, 2))
                    lost = gt[:, 2] <= 0
                    xy[lost] = np.stack([x + rng.random(int(lost.sum())) * bw, y + rng.random(int(lost.sum())) * bh], 1)
                    rec[key] = _triplets(rng, xy)
            else:
                for key, n in arrays:
                    rec[key] = _triplets(rng, np.stack([rng.random(n) * w, rng.random(n) * h], 1))
            low, high = (0.3, 1.0) if i < len(persons) else (0.0, 0.6)
            rec["score"] = round(float(rng.uniform(low, high)), 2)
            out.append(rec)
    return out


def _triplets(rng: np.random.Generator, xy: np.ndarray) -> list[float]:
    scores = rng.random(len(xy))
    scores[rng.random(len(xy)) < 0.05] = 0.0
    return np.concatenate([np.round(xy, 2), np.round(scores, 3)[:, None]], axis=1).ravel().tolist()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gt", help="COCO keypoint ground truth (JSON)")
    ap.add_argument("out", help="results list to write")
    ap.add_argument("--per-image", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    with open(args.gt, "rb") as f:
        doc = orjson.loads(f.read())
    with open(args.out, "wb") as f:
        f.write(orjson.dumps(generate_predictions(doc, args.per_image, args.seed)))


if __name__ == "__main__":
    main()
