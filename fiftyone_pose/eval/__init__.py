"""Keypoint evaluation on ``PoseData`` and numpy only: the numbers the reference tools print.

``evaluate(ground_truth, predictions)`` picks the dataset's metric from its layout: COCO's OKS AP
(pycocotools), CrowdPose's (xtcocotools ``keypoints_crowd``), whole-body per part (xtcocotools,
COCO-WholeBody and Halpe), PCKh@0.5 (MPII, mmpose) or torso PCK@0.2 (LSP, mmpose). Besides the
summary it labels every person tp / fp / fn with its match and similarity, scores every image and
tabulates the per-joint errors. No FiftyOne here: ``fiftyone_pose.fo.evaluation`` runs it on a
dataset as a FiftyOne evaluation run.
"""

from __future__ import annotations

from ..core.errors import PoseUsageError
from ..core.model import PoseData
from ..core.skeleton import Skeleton
from .common import Block, Evaluation, JointErrors, Outcome, align, summary_lines
from .oks import evaluate_oks
from .pck import evaluate_pck

METHODS = ("oks", "pckh", "pck")

__all__ = ["METHODS", "Block", "Evaluation", "JointErrors", "Outcome", "default_method", "evaluate", "summary_lines"]


def default_method(layout: Skeleton) -> str:
    """The metric a layout's benchmark reports: PCKh for MPII, PCK for LSP, OKS AP otherwise."""
    return {"mpii": "pckh", "lsp": "pck"}.get(layout.name, "oks")


def evaluate(
    ground_truth: PoseData,
    predictions: PoseData,
    method: str | None = None,
    *,
    flavor: str | None = None,
    threshold: float | None = None,
) -> Evaluation:
    """Evaluate ``predictions`` against ``ground_truth`` (same layout; matched by image id).

    ``method``: "oks", "pckh" or "pck" (default: the layout's, see ``default_method``);
    ``flavor`` (OKS): "coco", "crowdpose" or "parts" (default: by layout); ``threshold``: the OKS
    at which persons are labeled (default 0.5), or the PCK threshold (default 0.5 / 0.2).
    """
    method = method or default_method(ground_truth.skeleton)
    if method not in METHODS:
        raise PoseUsageError(f"unknown evaluation method {method!r}; one of: {', '.join(METHODS)}")
    aligned = align(ground_truth, predictions)
    if method == "oks":
        return evaluate_oks(aligned, flavor, 0.5 if threshold is None else threshold)
    return evaluate_pck(aligned, method, threshold)
