"""pycocotools checks of COCO exports: the file loads, and its persons, fed back as results,
evaluate (COCOeval, keypoints, the dataset's sigmas) to AP = 1.0 against the ground truth."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from fiftyone_pose.core import skeleton as skeletons


def results_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The persons of a COCO document with at least one labeled point, as a results list."""
    return [
        {"image_id": a["image_id"], "category_id": a.get("category_id", 1), "keypoints": a["keypoints"], "score": 1.0}
        for a in doc["annotations"]
        if not a.get("iscrowd") and any(v > 0 for v in a["keypoints"][2::3])
    ]


def keypoint_ap(gt_path: str | Path, results: list[dict[str, Any]], layout: str) -> float:
    """COCOeval keypoint AP (IoU .50:.95) of ``results`` against the file at ``gt_path``, with the
    sigmas of skeleton ``layout``."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    sigmas = skeletons.load(layout).sigmas
    assert sigmas is not None, f"layout {layout} has no sigmas"
    assert results, "no persons with labeled points to evaluate"
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = np.array(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def assert_export_evaluates(export_path: str | Path, layout: str, gt_path: str | Path | None = None) -> dict[str, Any]:
    """The COCO export at ``export_path`` loads in pycocotools, and its persons with labeled points,
    as results, score AP = 1.0 against ``gt_path`` (default: the export itself). Returns the export."""
    doc = json.loads(Path(export_path).read_text())
    k = skeletons.load(layout).num_keypoints
    assert all(len(a["keypoints"]) == 3 * k for a in doc["annotations"])
    assert all(v in (0, 1, 2) for a in doc["annotations"] for v in a["keypoints"][2::3]), "not COCO visibility"
    ap = keypoint_ap(gt_path or export_path, results_of(doc), layout)
    assert ap == 1.0, f"AP {ap} != 1.0"
    return doc
