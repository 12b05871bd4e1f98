"""What every keypoint metric shares: ground truth and predictions on one image table, and the results.

A prediction belongs to the ground-truth image with its ``image_id``; predictions for images the
ground truth lacks are counted in the notes and left out, as the reference tools require. The
ground truth's missing values are filled the way the COCO writer fills them (a box from the
labeled points, ``w*h`` as area, ``num_keypoints`` recounted), so an evaluation of ``PoseData``
equals the reference tool run on its COCO export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import PoseData, keypoint_boxes

NOTE_UNKNOWN_IMAGES = "predictions for images the ground truth lacks (left out)"


@dataclass
class Aligned:
    """Ground truth and predictions of one evaluation, the predictions on the ground truth's images.

    ``pred_xy`` is in the ground truth's pixel convention (``PoseData.origin``); ``pred_image``
    the row of each prediction's image in ``gt.images`` (-1: unknown image).
    """

    gt: PoseData
    pred: PoseData
    pred_image: np.ndarray  # int64 (M,)
    pred_xy: np.ndarray  # float64 (M, K, 2)
    gt_boxes: np.ndarray  # float64 (N, 4)
    gt_areas: np.ndarray  # float64 (N,)
    gt_num_keypoints: np.ndarray  # int64 (N,)
    notes: dict[str, int] = field(default_factory=dict)

    def pred_scores(self, key: str = "score") -> np.ndarray:
        """Each prediction's ``key`` extra (e.g. a part score), its ``score`` where it has none."""
        out = np.empty(len(self.pred.persons))
        for i, extra in enumerate(self.pred.persons.extras):
            value = extra.get(key, extra.get("score"))
            if type(value) not in (int, float):
                raise PoseFormatError(
                    f"expected a number, found {value!r:.40}" if value is not None else "the prediction has no score",
                    record=f"predictions[{i}] (image id {self.pred.images.ids[self.pred.persons.image_index[i]]})",
                    field="score",
                )
            out[i] = value
        return out


def align(gt: PoseData, pred: PoseData) -> Aligned:
    """Put ``pred`` on ``gt``'s images (by image id) and pixel convention; check the layouts agree."""
    if pred.skeleton.keypoints != gt.skeleton.keypoints:
        raise PoseUsageError(
            f"the predictions have layout '{pred.skeleton.name}' ({pred.skeleton.num_keypoints} points), the ground "
            f"truth '{gt.skeleton.name}' ({gt.skeleton.num_keypoints} points): they must be the same"
        )
    order = np.argsort(gt.images.ids, kind="stable")
    pred_ids = pred.images.ids[pred.persons.image_index]
    pos = np.searchsorted(gt.images.ids[order], pred_ids).clip(0, max(len(order) - 1, 0))
    known = gt.images.ids[order][pos] == pred_ids if len(order) else np.zeros(len(pred_ids), bool)
    pred_image = np.where(known, order[pos] if len(order) else -1, -1)
    notes = {}
    if not known.all():
        notes[NOTE_UNKNOWN_IMAGES] = int((~known).sum())
    p = gt.persons
    boxes = p.boxes.copy()
    no_box = np.isnan(boxes).any(axis=1)
    if no_box.any():
        boxes[no_box] = keypoint_boxes(p.keypoints[no_box], p.visibility[no_box])
    areas = np.where(np.isnan(p.areas), boxes[:, 2] * boxes[:, 3], p.areas)
    counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (p.visibility > 0).sum(axis=1))
    return Aligned(
        gt=gt,
        pred=pred,
        pred_image=pred_image,
        pred_xy=pred.persons.keypoints + float(gt.origin - pred.origin),
        gt_boxes=boxes,
        gt_areas=areas,
        gt_num_keypoints=counts,
        notes=notes,
    )


@dataclass
class Block:
    """One table of numbers as the reference prints it: ``names[i]`` = ``stats[i]``, printed as ``lines``."""

    title: str
    names: list[str]
    stats: np.ndarray
    lines: list[str]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.stats.tolist()))


def summary_lines(blocks: list[Block]) -> list[str]:
    """The blocks' lines as the reference prints them; a title line before each when there are several."""
    if len(blocks) == 1:
        return list(blocks[0].lines)
    return [line for b in blocks for line in (f"{b.title}:", *b.lines)]


@dataclass
class Outcome:
    """Per person, at the matching threshold: ``status`` "tp"/"fp"/"fn" (None: not counted, e.g. a
    crowd region or a prediction matched to one), the index of the matched person on the other
    side (-1: none), the similarity with it (OKS, or the share of joints within the PCK
    threshold; NaN: none) and the index of its worst joint (-1: unmatched)."""

    status: np.ndarray  # object (n,)
    match: np.ndarray  # int64 (n,)
    similarity: np.ndarray  # float64 (n,)
    worst_joint: np.ndarray  # int64 (n,)

    @classmethod
    def empty(cls, n: int) -> Outcome:
        return cls(np.full(n, None, object), np.full(n, -1, np.int64), np.full(n, np.nan), np.full(n, -1, np.int64))


@dataclass
class JointErrors:
    """Per joint, over the matched (true positive) pairs' joints labeled in the ground truth: the
    distance normalised by the person's scale (``normaliser`` says which) and, for OKS, the
    per-joint similarity."""

    names: list[str]
    normaliser: str
    distances: list[np.ndarray]  # per joint: float64 normalised distances
    similarities: list[np.ndarray] | None  # per joint: per-keypoint OKS terms (OKS methods)
    thresholds: tuple[float, ...]

    def table(self):
        """A pandas table, one row per joint: count, mean and median normalised distance, the share
        below each threshold and, for OKS, the mean per-joint similarity."""
        import pandas as pd

        rows: dict[str, Any] = {
            "count": [len(d) for d in self.distances],
            "mean_distance": [d.mean() if len(d) else np.nan for d in self.distances],
            "median_distance": [np.median(d) if len(d) else np.nan for d in self.distances],
        }
        for t in self.thresholds:
            rows[f"within_{t:g}"] = [(d < t).mean() if len(d) else np.nan for d in self.distances]
        if self.similarities is not None:
            rows["mean_similarity"] = [s.mean() if len(s) else np.nan for s in self.similarities]
        return pd.DataFrame(rows, index=pd.Index(self.names, name="joint"))


@dataclass
class Evaluation:
    """An evaluation of predictions against ground truth (see ``fiftyone_pose.eval.evaluate``)."""

    method: str  # "oks", "pckh" or "pck"
    blocks: list[Block]
    main: str  # the title of the block whose matching labels the persons
    gt: Outcome
    pred: Outcome
    #: per ground-truth image: its own AP (OKS) or PCK (NaN: nothing to score), tp/fp/fn counts
    image_score: np.ndarray
    image_tp: np.ndarray
    image_fp: np.ndarray
    image_fn: np.ndarray
    joints: JointErrors
    threshold: float  # the OKS (or PCK) threshold of the per-person outcomes
    notes: dict[str, int] = field(default_factory=dict)
    #: COCOeval's precision (T, R, K, A, M) and recall (T, K, A, M) of the main block (OKS only)
    precision: np.ndarray | None = None
    recall: np.ndarray | None = None

    @property
    def lines(self) -> list[str]:
        """The summary as the reference prints it (see ``summary_lines``)."""
        return summary_lines(self.blocks)

    @property
    def stats(self) -> np.ndarray:
        """The main block's numbers (COCOeval's ``stats``)."""
        return self.block(self.main).stats

    def block(self, title: str) -> Block:
        for b in self.blocks:
            if b.title == title:
                return b
        raise PoseUsageError(f"no block {title!r}; blocks: {', '.join(b.title for b in self.blocks)}")
