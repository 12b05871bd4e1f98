"""PCK metrics: PCKh@0.5 for MPII-style data, PCK@0.2 normalised by the torso for LSP.

Both are computed as mmpose computes them (``mmpose/evaluation/functional/keypoint_eval.py``,
``MpiiPCKAccuracy`` and ``PCKAccuracy(norm_item="torso")``), which is the reference:

- a ground-truth joint counts where it is labeled (v > 0) and its person's normaliser is not 0;
  it is correct when its distance to the prediction, divided by the normaliser, is below the
  threshold (the normalised distances are held as float32, as mmpose holds them);
- PCKh: the normaliser is the head size, 0.6 x the diagonal of the person's head box (the MPII
  ``.mat`` rectangle ``x1, y1, x2, y2``, or MPII-TRB's ``headbox``); predictions are compared in
  the ground truth's pixel convention (MPII counts from 1, so 0-based predictions move by one, as
  mmpose adds 1). The table is mmpose's: Head, Shoulder, Elbow, Wrist, Hip, Knee, Ankle (the mean of
  left and right), Mean over every joint but pelvis and thorax weighted by the joints' counts, and
  the same Mean at 0.1 (where, as in mmpose, a person whose head size is 0 counts as correct);
- PCK (LSP): the normaliser is the torso, the distance from the left shoulder to the right hip in
  the ground truth (the prediction's where that is below 1 pixel, as mmpose does); Mean is the
  mean of the joints' accuracies.

mmpose scores one prediction per ground-truth person. Here predictions are paired with the
persons of their image first (minimum total mean normalised distance, ``linear_sum_assignment``);
a person left without a prediction has every labeled joint counted as missed.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..core.errors import PoseUsageError
from .common import Aligned, Block, Evaluation, JointErrors, Outcome

METHODS = ("pckh", "pck")
THRESHOLDS = {"pckh": 0.5, "pck": 0.2}
#: the table's columns: joints by name (the mean of the ones a layout has)
GROUPS = {
    "Head": ("head_top",),
    "Shoulder": ("left_shoulder", "right_shoulder"),
    "Elbow": ("left_elbow", "right_elbow"),
    "Wrist": ("left_wrist", "right_wrist"),
    "Hip": ("left_hip", "right_hip"),
    "Knee": ("left_knee", "right_knee"),
    "Ankle": ("left_ankle", "right_ankle"),
}
#: joints the MPII benchmark leaves out of its mean
NOT_IN_MEAN = ("pelvis", "thorax")
HEAD_SIZE_BIAS = 0.6
TORSO = ("left_shoulder", "right_hip")


def evaluate_pck(a: Aligned, method: str = "pckh", threshold: float | None = None) -> Evaluation:
    """PCKh (``method="pckh"``) or torso PCK (``"pck"``) of ``a`` at ``threshold`` (0.5 / 0.2 by default)."""
    if method not in METHODS:
        raise PoseUsageError(f"unknown PCK method {method!r}; one of: {', '.join(METHODS)}")
    thr = THRESHOLDS[method] if threshold is None else float(threshold)
    names = a.gt.skeleton.keypoints
    gt = a.gt.persons
    labeled = gt.visibility > 0
    if method == "pckh":
        norm = _head_sizes(a)
        pred_norm = None
    else:
        missing = [n for n in TORSO if n not in names]
        if missing:
            raise PoseUsageError(f"torso PCK needs the joints {', '.join(TORSO)}; the layout has no {missing[0]}")
        i, j = names.index(TORSO[0]), names.index(TORSO[1])
        norm = np.linalg.norm(gt.keypoints[:, i] - gt.keypoints[:, j], axis=-1)
        pred_norm = np.linalg.norm(a.pred_xy[:, i] - a.pred_xy[:, j], axis=-1)
    gt_match, pred_match = _pair(a, labeled, norm)
    matched = np.flatnonzero(gt_match >= 0)
    factor = norm.copy()
    if pred_norm is not None:  # mmpose: a torso under 1 pixel is taken from the prediction instead
        small = matched[norm[matched] < 1]
        factor[small] = pred_norm[gt_match[small]]
    scored = np.flatnonzero(labeled.any(axis=1))
    distances = np.full(labeled.shape, np.inf, dtype=np.float32)  # unmatched persons: every joint missed
    distances[matched] = _distances(gt.keypoints[matched], a.pred_xy[gt_match[matched]], factor[matched])
    valid = labeled & (factor != 0)[:, None]
    valid[np.setdiff1d(np.arange(len(gt)), scored)] = False
    correct = valid & (distances < thr)

    accuracy = _accuracy(correct, valid)
    # mmpose's Mean@0.1 sweep runs after its first call replaced a head size of 0 by 1e6 in place,
    # so there those persons' joints count, as correct: the reference's number is kept as it is
    block = _table(method, thr, names, accuracy, _accuracy(labeled & (distances < 0.1), labeled), labeled)
    return _result(a, method, thr, block, gt_match, pred_match, distances, valid, correct, scored)


def _head_sizes(a: Aligned) -> np.ndarray:
    """0.6 x the head box diagonal of each person, from ``x1, y1, x2, y2`` or ``headbox``; NaN without one."""
    out = np.full(len(a.gt.persons), np.nan)
    for i, e in enumerate(a.gt.persons.extras):
        if all(type(e.get(k)) in (int, float) for k in ("x1", "y1", "x2", "y2")):
            box = np.array([[e["x1"], e["y1"]], [e["x2"], e["y2"]]], dtype=np.float64)
        elif isinstance(e.get("headbox"), list) and len(e["headbox"]) == 4:
            box = np.array(e["headbox"], dtype=np.float64).reshape(2, 2)
        else:
            continue
        out[i] = np.linalg.norm(box[1] - box[0], axis=0) * HEAD_SIZE_BIAS
    persons = a.gt.persons.visibility.any(axis=1)
    if (np.isnan(out) & persons).any():
        i = int(np.flatnonzero(np.isnan(out) & persons)[0])
        raise PoseUsageError(
            "PCKh needs every person's head box (the MPII .mat's x1, y1, x2, y2, or MPII-TRB's headbox); "
            f"person {a.gt.persons.ids[i]} of image {a.gt.images.ids[a.gt.persons.image_index[i]]} has none "
            "(HRNet's MPII json has no head boxes: import the authors' .mat)"
        )
    return np.nan_to_num(out)


def _distances(gt_xy: np.ndarray, pred_xy: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """mmpose's ``_calc_distances``: per joint ||(pred - gt) / factor||, float32; a factor <= 0 counts as 1e6."""
    f = np.where(factor <= 0, 1e6, factor)
    norm = np.stack([f, f], axis=1)
    return np.linalg.norm((pred_xy - gt_xy) / norm[:, None, :], axis=-1).astype(np.float32)


def _accuracy(correct: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per joint: correct / valid (-1 where no joint is valid), as mmpose's ``_distance_acc``."""
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, correct.sum(axis=0) / np.maximum(n, 1), -1.0)


def _pair(a: Aligned, labeled: np.ndarray, norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each scored person's prediction and each prediction's person, per image, by minimum total
    mean normalised distance."""
    gt_img, pred_img = a.gt.persons.image_index, a.pred_image
    gt_match = np.full(len(gt_img), -1, np.int64)
    pred_match = np.full(len(pred_img), -1, np.int64)
    scored = labeled.any(axis=1)
    g_order = np.flatnonzero(scored)[np.argsort(gt_img[scored], kind="stable")]
    known = np.flatnonzero(pred_img >= 0)
    p_order = known[np.argsort(pred_img[known], kind="stable")]
    g_bounds = np.searchsorted(gt_img[g_order], np.arange(len(a.gt.images) + 1))
    p_bounds = np.searchsorted(pred_img[p_order], np.arange(len(a.gt.images) + 1))
    both = np.flatnonzero((np.diff(g_bounds) > 0) & (np.diff(p_bounds) > 0))
    safe = np.where(norm > 0, norm, 1.0)
    for image in both.tolist():
        g = g_order[g_bounds[image] : g_bounds[image + 1]]
        p = p_order[p_bounds[image] : p_bounds[image + 1]]
        d = np.linalg.norm(a.gt.persons.keypoints[g][:, None] - a.pred_xy[p][None], axis=-1) / safe[g, None, None]
        lab = labeled[g][:, None, :]
        cost = np.where(lab, d, 0.0).sum(axis=2) / lab.sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        gt_match[g[rows]] = p[cols]
        pred_match[p[cols]] = g[rows]
    return gt_match, pred_match


def _table(
    method: str,
    thr: float,
    names: tuple[str, ...],
    accuracy: np.ndarray,
    accuracy_01: np.ndarray,
    labeled: np.ndarray,
) -> Block:
    """The per-joint table: the groups, Mean and Mean@0.1, in percent (mmpose's numbers)."""
    pck = 100.0 * accuracy
    stats, columns = [], []
    for column, joints in GROUPS.items():
        idx = [names.index(j) for j in joints if j in names]
        if not idx:
            continue
        columns.append(column)
        stats.append(pck[idx[0]] if len(idx) == 1 else 0.5 * (pck[idx[0]] + pck[idx[1]]))
    if method == "pckh":  # MpiiPCKAccuracy: count-weighted, pelvis and thorax left out
        out = np.array([n in NOT_IN_MEAN for n in names])
        counts = np.where(out, 0, labeled.sum(axis=0))  # mmpose counts the labeled joints
        ratio = counts / np.sum(counts).astype(np.float64)
        mean = np.sum(np.where(out, 0.0, pck * ratio))
        at_01 = (100.0 * accuracy_01).astype(np.float32)  # mmpose keeps this sweep in float32
        mean_01 = np.sum(np.where(out, 0.0, at_01 * ratio))
        columns += ["Mean", "Mean@0.1"]
        stats += [mean, mean_01]
    else:  # PCKAccuracy: the mean of the joints' accuracies
        columns.append("Mean")
        stats.append(100.0 * (accuracy[accuracy >= 0].mean() if (accuracy >= 0).any() else 0.0))
    title = f"PCKh@{thr:g}" if method == "pckh" else f"PCK@{thr:g}"
    lines = [
        f"{title}:",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        "| " + " | ".join(f"{v:.3f}" for v in stats) + " |",
    ]
    return Block(title, columns, np.array(stats, dtype=np.float64), lines)


def _result(
    a: Aligned,
    method: str,
    thr: float,
    block: Block,
    gt_match: np.ndarray,
    pred_match: np.ndarray,
    distances: np.ndarray,
    valid: np.ndarray,
    correct: np.ndarray,
    scored: np.ndarray,
) -> Evaluation:
    n_images = len(a.gt.images)
    gt, pred = Outcome.empty(len(gt_match)), Outcome.empty(len(pred_match))
    gt.status[scored] = np.where(gt_match[scored] >= 0, "tp", "fn")
    known = a.pred_image >= 0
    pred.status[known] = np.where(pred_match[known] >= 0, "tp", "fp")
    gt.match, pred.match = gt_match, pred_match
    with np.errstate(invalid="ignore"):
        share = correct.sum(axis=1) / valid.sum(axis=1)
    m = np.flatnonzero(gt_match >= 0)
    gt.similarity[m] = share[m]
    pred.similarity[gt_match[m]] = share[m]
    has = m[valid[m].any(axis=1)]
    worst = np.argmax(np.where(valid[has], distances[has], -np.inf), axis=1)
    gt.worst_joint[has] = worst
    pred.worst_joint[gt_match[has]] = worst
    img = a.gt.persons.image_index
    n_valid = np.bincount(img, weights=valid.sum(axis=1), minlength=n_images)
    n_correct = np.bincount(img, weights=correct.sum(axis=1), minlength=n_images)
    with np.errstate(invalid="ignore", divide="ignore"):
        image_score = np.where(n_valid > 0, n_correct / np.maximum(n_valid, 1), np.nan)
    names = list(a.gt.skeleton.keypoints)
    joints = JointErrors(
        names=names,
        normaliser="head size" if method == "pckh" else "torso",
        distances=[distances[m][valid[m][:, j], j].astype(np.float64) for j in range(len(names))],
        similarities=None,
        thresholds=(0.1, 0.2, 0.5),
    )
    return Evaluation(
        method=method,
        blocks=[block],
        main=block.title,
        gt=gt,
        pred=pred,
        image_score=image_score,
        image_tp=np.bincount(img[gt.status == "tp"], minlength=n_images),
        image_fp=np.bincount(a.pred_image[pred.status == "fp"], minlength=n_images),
        image_fn=np.bincount(img[gt.status == "fn"], minlength=n_images),
        joints=joints,
        threshold=thr,
        notes=dict(a.notes),
    )
