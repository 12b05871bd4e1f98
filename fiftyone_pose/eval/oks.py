"""OKS evaluation: the numbers pycocotools' and xtcocotools' ``COCOeval`` print, computed with numpy.

Three flavors, each equal to its reference run on the COCO export of the same data:

- ``coco``: pycocotools ``COCOeval(gt, dt, "keypoints")`` with the layout's sigmas;
- ``crowdpose``: xtcocotools ``COCOeval(gt, dt, "keypoints_crowd", sigmas, use_area=False)``, with
  AP easy / medium / hard over the images' ``crowdIndex`` (< 0.2, < 0.8, else: xtcocotools' cuts);
- ``parts``: xtcocotools' whole-body evaluation, one ``COCOeval`` per part (``keypoints_body``,
  ``_foot``, ``_face``, ``_lefthand``, ``_righthand``, ``_wholebody``) with the part's sigmas, for
  COCO-WholeBody and Halpe (parts found by keypoint name).

The reference's rules are followed to the letter, quirks included: predictions sorted by score
(stable: file order breaks ties), at most 20 per image, each matched greedily to the free ground
truth of highest OKS (ties to the later one), crowd regions and persons without labeled points
ignored (pycocotools: ``num_keypoints == 0``; xtcocotools: no labeled point in the part, which also
drops predictions without a positive point score), a person without labeled points compared by
its box, pycocotools' ground truth with id 0 never counted as a match. The same float operations
in the same order give the same bits: the OKS sums add each person's labeled terms as numpy sums
one person's array, and precision, recall and the printed means are computed on the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import PoseUsageError
from ..core.layouts import parts_of
from .common import Aligned, Block, Evaluation, JointErrors, Outcome

#: COCOeval's keypoint parameters (``Params.setKpParams``), built the same way for the same values
IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = 20
AREA_RNG = ((0**2, 1e5**2), (32**2, 96**2), (96**2, 1e5**2))
AREA_LBL = ("all", "medium", "large")
#: xtcocotools' crowd-index cuts for AP easy / medium / hard (``get_type_result(first=0.2, second=0.8)``)
CROWD_CUTS = (0.2, 0.8)
STAT_NAMES = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"]
CROWD_STAT_NAMES = ["AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP(E)", "AP(M)", "AP(H)"]
FLAVORS = ("coco", "crowdpose", "parts")
#: pairs of persons whose OKS terms are computed at a time (bounds memory for 133-point layouts)
_PAIR_VALUES = 1 << 18


def default_flavor(layout_name: str, num_parts: int) -> str:
    """The reference a layout is evaluated like: CrowdPose's own, per part for whole-body layouts, else COCO's."""
    if layout_name == "crowdpose":
        return "crowdpose"
    return "parts" if num_parts > 1 else "coco"


def evaluate_oks(a: Aligned, flavor: str | None = None, threshold: float = 0.5) -> Evaluation:
    """OKS evaluation of ``a`` as the reference of ``flavor`` computes it (default: by layout).

    ``threshold``: the OKS at which persons are labeled tp / fp / fn (area "all"); the printed
    numbers do not depend on it.
    """
    layout = a.gt.skeleton
    if layout.sigmas is None:
        raise PoseUsageError(
            f"the layout '{layout.name}' has no OKS sigmas, so OKS cannot be computed; use the PCK methods instead"
        )
    parts = parts_of(layout)
    flavor = flavor or default_flavor(layout.name, len(parts))
    if flavor not in FLAVORS:
        raise PoseUsageError(f"unknown OKS flavor {flavor!r}; one of: {', '.join(FLAVORS)}")
    sigmas = np.asarray(layout.sigmas, dtype=np.float64)
    everything = np.arange(layout.num_keypoints)
    if flavor == "parts":
        if len(parts) < 2:
            raise PoseUsageError(f"the layout '{layout.name}' has no body parts to evaluate one by one")
        body = parts.get("body", everything)
        blocks = []
        for name, idx in [*parts.items(), ("wholebody", everything)]:
            # xtcocotools scores the body with "score", another part with "<part>_score" where given
            score_key = "score" if name == "body" else f"{name}_score"
            run = _CocoEval(a, idx, sigmas[idx], "xtcocotools", body, score_key, threshold)
            blocks.append(run.block(name))
        return run.result(blocks, "wholebody", a.notes)
    if flavor == "crowdpose":
        run = _CocoEval(a, everything, sigmas, "crowd", everything, "score", threshold)
        return run.result([run.crowd_block()], "crowdpose", a.notes)
    run = _CocoEval(a, everything, sigmas, "pycocotools", everything, "score", threshold)
    return run.result([run.block("keypoints")], "keypoints", a.notes)


@dataclass
class _Areas:
    """One area range's matching: per threshold row, each kept prediction's matched ground truth
    (-1: none) and whether it is ignored; each ground truth's ignore flag."""

    dtm: np.ndarray  # int64 (T', D)
    dt_ignore: np.ndarray  # bool (T', D)
    dt_counted: np.ndarray  # bool (T', D): matched in COCOeval's accumulation (pycocotools: not to id 0)
    gt_ignore: np.ndarray  # bool (N,)


class _CocoEval:
    """One ``COCOeval`` run (one part): selection, OKS, matching per area range, accumulation."""

    def __init__(
        self,
        a: Aligned,
        points: np.ndarray,
        sigmas: np.ndarray,
        reference: str,
        area_points: np.ndarray,
        score_key: str,
        threshold: float,
    ) -> None:
        self.a, self.reference = a, reference
        gt, p = a.gt, a.gt.persons
        self.points, self.sigmas = points, sigmas
        self.num_images = len(gt.images)
        cat_ids = sorted({int(c["id"]) for c in gt.categories if isinstance(c, dict) and "id" in c}) or [1]
        self.cat_ids = np.array(cat_ids, dtype=np.int64)
        self.g_cat = _index_of(self.cat_ids, p.category_ids)
        self.g_img = p.image_index
        self.g_xy = p.keypoints[:, points]
        self.g_labeled = p.visibility[:, points] > 0
        self.g_box = a.gt_boxes
        box_area = a.gt_boxes[:, 3] * a.gt_boxes[:, 2] * 0.53  # xtcocotools' use_area=False area, same order
        self.g_area_oks = box_area if reference == "crowd" else a.gt_areas
        self.g_area_rng = a.gt_boxes[:, 2] * a.gt_boxes[:, 3] * 0.53 if reference == "crowd" else a.gt_areas
        if reference == "pycocotools":
            no_points = a.gt_num_keypoints == 0
        elif reference == "crowd":
            no_points = a.gt_num_keypoints == 0  # CrowdPose: the file's num_keypoints
        else:
            no_points = ~self.g_labeled.any(axis=1)
        self.g_ignore = p.crowd | no_points
        self.g_zero_id = (p.ids == 0) if reference == "pycocotools" else np.zeros(len(p), bool)
        self.g_image_ids = gt.images.ids

        q = a.pred.persons
        self.d_img = a.pred_image
        self.d_cat = _index_of(self.cat_ids, q.category_ids)
        self.d_xy = a.pred_xy[:, points]
        self.d_score = a.pred_scores(score_key)
        keep = (self.d_img >= 0) & (self.d_cat >= 0)
        if reference != "pycocotools":  # xtcocotools drops predictions without a positive score in the part
            keep &= (q.raw_visibility()[:, points] > 0).any(axis=1)
        self.d_area = _prediction_areas(a, area_points)
        self.threshold = threshold
        self.thresholds = IOU_THRS if np.isclose(IOU_THRS, threshold).any() else np.append(IOU_THRS, threshold)
        self.label_row = int(np.flatnonzero(np.isclose(self.thresholds, threshold))[0])
        self._select(np.flatnonzero(keep))
        self._pairs()
        self.areas = [self._match(rng) for rng in AREA_RNG]

    # ------------------------------------------------------------------------------- selection

    def _select(self, candidates: np.ndarray) -> None:
        """The predictions COCOeval evaluates, sorted by (category, image), score, file order; at most 20 per image."""
        key = self.d_cat[candidates] * self.num_images + self.d_img[candidates]
        order = np.lexsort((candidates, -self.d_score[candidates], key))
        d, key = candidates[order], key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
        rank = np.arange(len(d)) - np.repeat(starts, np.diff(np.r_[starts, len(d)]))
        kept = rank < MAX_DETS
        self.dt, self.dt_key, self.dt_rank = d[kept], key[kept], rank[kept]
        self.beyond_max_dets = d[~kept]

    def _pairs(self) -> None:
        """Every (prediction, ground truth) pair of a (category, image) and its OKS."""
        g = np.flatnonzero(self.g_cat >= 0)
        g_key = self.g_cat[g] * self.num_images + self.g_img[g]
        order = np.argsort(g_key, kind="stable")
        self.gt_sorted, self.gt_key = g[order], g_key[order]
        lo = np.searchsorted(self.gt_key, self.dt_key, "left")
        counts = np.searchsorted(self.gt_key, self.dt_key, "right") - lo
        total = int(counts.sum())
        offsets = np.repeat(np.cumsum(counts) - counts, counts)
        self.pair_dt = np.repeat(np.arange(len(self.dt)), counts)  # index into self.dt
        self.pair_gt = self.gt_sorted[np.arange(total) - offsets + np.repeat(lo, counts)]
        self.oks = self._oks(self.dt[self.pair_dt], self.pair_gt)

    def _oks(self, d: np.ndarray, g: np.ndarray) -> np.ndarray:
        """COCOeval's ``computeOks`` for the pairs (prediction ``d[i]``, ground truth ``g[i]``)."""
        out = np.empty(len(d))
        k = len(self.sigmas)
        variances = (self.sigmas * 2) ** 2
        step = max(1, _PAIR_VALUES // max(k, 1))
        for lo in range(0, len(d), step):
            dd, gg = d[lo : lo + step], g[lo : lo + step]
            xd, yd = self.d_xy[dd, :, 0], self.d_xy[dd, :, 1]
            xg, yg = self.g_xy[gg, :, 0], self.g_xy[gg, :, 1]
            labeled = self.g_labeled[gg]
            n_labeled = labeled.sum(axis=1)
            dx, dy = xd - xg, yd - yg
            none = n_labeled == 0
            if none.any():  # distance to the ground truth's box doubled on every side
                bb = self.g_box[gg[none]]
                x0, x1 = (bb[:, 0] - bb[:, 2])[:, None], (bb[:, 0] + bb[:, 2] * 2)[:, None]
                y0, y1 = (bb[:, 1] - bb[:, 3])[:, None], (bb[:, 1] + bb[:, 3] * 2)[:, None]
                dx[none] = np.maximum(0, x0 - xd[none]) + np.maximum(0, xd[none] - x1)
                dy[none] = np.maximum(0, y0 - yd[none]) + np.maximum(0, yd[none] - y1)
            e = (dx**2 + dy**2) / variances / (self.g_area_oks[gg][:, None] + np.spacing(1)) / 2
            terms = np.exp(-e)
            res = np.empty(len(dd))
            res[none] = np.sum(terms[none], axis=1) / k
            for count in np.unique(n_labeled[~none]).tolist():
                rows = np.flatnonzero(n_labeled == count)
                cols = np.nonzero(labeled[rows])[1].reshape(len(rows), count)
                res[rows] = np.sum(terms[rows[:, None], cols], axis=1) / count  # each row as its own 1-D sum
            out[lo : lo + step] = res
        return out

    # -------------------------------------------------------------------------------- matching

    def _match(self, rng: tuple[float, float]) -> _Areas:
        """COCOeval's ``evaluateImg`` for every image at once, for one area range."""
        n_thr, n_dt = len(self.thresholds), len(self.dt)
        gt_ignore = self.g_ignore | (self.g_area_rng < rng[0]) | (self.g_area_rng > rng[1])
        # position of each ground truth in its image's order: counted first, then ignored, each in file order
        g = self.gt_sorted
        spos = np.empty(len(self.g_cat), np.int64)
        spos[g[np.lexsort((g, gt_ignore[g], self.gt_key))]] = np.arange(len(g))
        by_spos = np.empty(len(g), np.int64)
        by_spos[spos[g]] = g
        limit = np.minimum(self.thresholds, 1 - 1e-10)[:, None]
        crowd = self.a.gt.persons.crowd
        taken = np.zeros((n_thr, len(self.g_cat)), bool)
        dtm = np.full((n_thr, n_dt), -1, np.int64)
        pair_rank = self.dt_rank[self.pair_dt]
        for r in range(MAX_DETS):
            sel = np.flatnonzero(pair_rank == r)
            if not len(sel):
                continue
            pg, pd, o = self.pair_gt[sel], self.pair_dt[sel], self.oks[sel]
            starts = np.flatnonzero(np.r_[True, pd[1:] != pd[:-1]])
            seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(pd)]))
            free = (o >= limit) & (~taken[:, pg] | crowd[pg])
            best = np.full((n_thr, len(starts)), -1, np.int64)
            for counted in (True, False):  # a counted ground truth first; an ignored one only without
                cand = free & (gt_ignore[pg] != counted)
                val = np.where(cand, o, -np.inf)
                top = np.maximum.reduceat(val, starts, axis=1)
                at_top = cand & (val == top[:, seg])
                last = np.maximum.reduceat(np.where(at_top, spos[pg], -1), starts, axis=1)
                best = np.where(best >= 0, best, last)
            matched = best >= 0
            m = np.where(matched, by_spos[np.maximum(best, 0)], -1)
            dtm[:, pd[starts]] = m
            rows, cols = np.nonzero(matched)
            taken[rows, m[rows, cols]] = True
        counted = (dtm >= 0) & ~_at(self.g_zero_id, dtm)
        out_of_range = (self.d_area[self.dt] < rng[0]) | (self.d_area[self.dt] > rng[1])
        dt_ignore = ((dtm >= 0) & _at(gt_ignore, dtm)) | (~counted & out_of_range[None, :])
        return _Areas(dtm, dt_ignore, counted, gt_ignore)

    # ----------------------------------------------------------------------------- accumulation

    def accumulate(self, images: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """COCOeval's ``accumulate``: precision (T, R, K, A, 1) and recall (T, K, A, 1), over ``images``
        (a boolean mask of the ground-truth images; default all)."""
        n_t, n_r, n_k, n_a = len(IOU_THRS), len(REC_THRS), len(self.cat_ids), len(AREA_RNG)
        precision = -np.ones((n_t, n_r, n_k, n_a, 1))
        recall = -np.ones((n_t, n_k, n_a, 1))
        d_img = self.d_img[self.dt]
        in_d = np.ones(len(self.dt), bool) if images is None else images[d_img]
        in_g = np.ones(len(self.g_cat), bool) if images is None else images[self.g_img]
        image_id = self.g_image_ids[d_img]
        for k in range(n_k):
            dk = np.flatnonzero(in_d & (self.d_cat[self.dt] == k))
            # images by id, each image's predictions by score (COCOeval concatenates them so), then by score
            first = dk[np.lexsort((self.dt_rank[dk], image_id[dk]))]
            order = first[np.argsort(-self.d_score[self.dt[first]], kind="mergesort")]
            gk = in_g & (self.g_cat == k)
            for ai, areas in enumerate(self.areas):
                npig = int(np.count_nonzero(gk & ~areas.gt_ignore))
                if npig == 0:
                    continue
                ig = areas.dt_ignore[:n_t, order]
                tps = areas.dt_counted[:n_t, order] & ~ig
                fps = ~areas.dt_counted[:n_t, order] & ~ig
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                nd = len(order)
                for t in range(n_t):
                    tp, fp = tp_sum[t], fp_sum[t]
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, ai, 0] = rc[-1] if nd else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1]  # COCOeval's right-to-left envelope
                    inds = np.searchsorted(rc, REC_THRS, side="left")
                    q = np.zeros(n_r)
                    ok = inds < nd
                    q[ok] = pr[inds[ok]]
                    precision[t, :, k, ai, 0] = q
        return precision, recall

    # ---------------------------------------------------------------------------------- output

    def block(self, title: str) -> Block:
        """The ten numbers and lines of ``summarize()`` (pycocotools' or xtcocotools' format)."""
        precision, recall = self.accumulate()
        self.precision, self.recall = precision, recall
        spec = [
            (1, None, "all"),
            (1, 0.5, "all"),
            (1, 0.75, "all"),
            (1, None, "medium"),
            (1, None, "large"),
            (0, None, "all"),
            (0, 0.5, "all"),
            (0, 0.75, "all"),
            (0, None, "medium"),
            (0, None, "large"),
        ]
        stats, lines = [], []
        for ap, thr, area in spec:
            value = _summarize(precision, recall, ap, thr, area)
            stats.append(value)
            lines.append(self._line(ap, thr, area, value))
        return Block(title, list(STAT_NAMES), np.array(stats), lines)

    def crowd_block(self) -> Block:
        """xtcocotools' ``keypoints_crowd`` summary: six numbers, then AP easy / medium / hard."""
        precision, recall = self.accumulate()
        self.precision, self.recall = precision, recall
        stats, lines = [], []
        for ap, thr in ((1, None), (1, 0.5), (1, 0.75), (0, None), (0, 0.5), (0, 0.75)):
            value = _summarize(precision, recall, ap, thr, "all")
            stats.append(value)
            lines.append(self._line(ap, thr, "all", value))
        index = self._crowd_index()
        splits = (index < CROWD_CUTS[0], (index >= CROWD_CUTS[0]) & (index < CROWD_CUTS[1]), index >= CROWD_CUTS[1])
        iou = f"{IOU_THRS[0]:0.2f}:{IOU_THRS[-1]:0.2f}"
        for name, images in zip(("easy", "medium", "hard"), splits):
            split_precision, _ = self.accumulate(images)
            value = round(np.mean(split_precision[:, :, :, 0, :]), 4)
            stats.append(value)
            lines.append(
                " {:<18} {} @[ IoU={:<9} | type={:>6s} | maxDets={:>3d} ] = {:0.3f}".format(
                    "Average Precision", "(AP)", iou, name, MAX_DETS, value
                )
            )
        return Block("crowdpose", list(CROWD_STAT_NAMES), np.array(stats, dtype=np.float64), lines)

    def _crowd_index(self) -> np.ndarray:
        values = [e.get("crowdIndex") for e in self.a.gt.images.extras]
        bad = [i for i, v in enumerate(values) if type(v) not in (int, float)]
        if bad:
            raise PoseUsageError(
                f"CrowdPose evaluation needs every image's crowdIndex; images[{bad[0]}] "
                f"(id {self.a.gt.images.ids[bad[0]]}) has {values[bad[0]]!r}"
            )
        return np.array(values, dtype=np.float64)

    def _line(self, ap: int, thr: float | None, area: str, value: float) -> str:
        iou = f"{IOU_THRS[0]:0.2f}:{IOU_THRS[-1]:0.2f}" if thr is None else f"{thr:0.2f}"
        fmt = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = "
        fmt += "{:0.3f}" if self.reference == "pycocotools" else "{: 0.3f}"  # xtcocotools pads the sign
        title, kind = ("Average Precision", "(AP)") if ap == 1 else ("Average Recall", "(AR)")
        return fmt.format(title, kind, iou, area, MAX_DETS, value)

    def result(self, blocks: list[Block], main: str, notes: dict[str, int]) -> Evaluation:
        """The evaluation, persons labeled by this run's matching at the threshold (area "all")."""
        all_area = self.areas[0]
        n_gt, n_pred = len(self.g_cat), len(self.d_img)
        gt, pred = Outcome.empty(n_gt), Outcome.empty(n_pred)
        row = self.label_row
        m = all_area.dtm[row]
        counted = all_area.dt_counted[row]
        ignored = all_area.dt_ignore[row]
        pair_oks = {}
        hit = np.flatnonzero(m >= 0)
        if len(hit):
            sims = self._oks(self.dt[hit], m[hit])
            pair_oks = dict(zip(hit.tolist(), sims.tolist()))
        evaluated_gt = self.g_cat >= 0
        gt.status[evaluated_gt & ~all_area.gt_ignore] = "fn"
        pred.status[self.dt[counted & ~ignored]] = "tp"
        pred.status[self.dt[~counted & ~ignored]] = "fp"
        for j in hit.tolist():
            d, g = int(self.dt[j]), int(m[j])
            pred.match[d], pred.similarity[d] = g, pair_oks[j]
            if gt.match[g] < 0:  # a crowd region keeps its first (highest-score) match
                gt.match[g], gt.similarity[g] = d, pair_oks[j]
            if counted[j] and not ignored[j]:
                gt.status[g] = "tp"
        joints = self._joint_errors(gt, pred)
        image_ap = self._image_ap()
        tp, fp, fn = (np.bincount(idx, minlength=self.num_images) for idx in self._status_images(gt, pred))
        notes = dict(notes)
        if len(self.beyond_max_dets):
            notes[f"predictions beyond the {MAX_DETS} best of their image (not evaluated, as in COCOeval)"] = len(
                self.beyond_max_dets
            )
        return Evaluation(
            method="oks",
            blocks=blocks,
            main=main,
            gt=gt,
            pred=pred,
            image_score=image_ap,
            image_tp=tp,
            image_fp=fp,
            image_fn=fn,
            joints=joints,
            threshold=self.threshold,
            notes=notes,
            precision=self.precision,
            recall=self.recall,
        )

    def _status_images(self, gt: Outcome, pred: Outcome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        known = self.d_img >= 0
        return (
            self.d_img[known & (pred.status == "tp")],
            self.d_img[known & (pred.status == "fp")],
            self.g_img[gt.status == "fn"],
        )

    def _joint_errors(self, gt: Outcome, pred: Outcome) -> JointErrors:
        """Per-joint distances over the true-positive pairs, normalised by sqrt(area); worst joint per pair."""
        d = np.flatnonzero(pred.status == "tp")
        g = pred.match[d]
        labeled = self.g_labeled[g]
        dist = np.linalg.norm(self.d_xy[d] - self.g_xy[g], axis=-1)
        area = self.g_area_oks[g][:, None] + np.spacing(1)
        similarity = np.exp(-(dist**2) / ((self.sigmas * 2) ** 2) / area / 2)
        scaled = dist / np.sqrt(area)
        worst = np.argmin(np.where(labeled, similarity, np.inf), axis=1)
        has = labeled.any(axis=1)
        pred.worst_joint[d[has]] = self.points[worst[has]]
        gt.worst_joint[g[has]] = self.points[worst[has]]
        names = [self.a.gt.skeleton.keypoints[i] for i in self.points]
        return JointErrors(
            names=names,
            normaliser="sqrt(area)",
            distances=[scaled[labeled[:, j], j] for j in range(len(names))],
            similarities=[similarity[labeled[:, j], j] for j in range(len(names))],
            thresholds=(0.05, 0.1, 0.2),
        )

    def _image_ap(self) -> np.ndarray:
        """Each image's own AP (area all, IoU .50:.95): COCOeval's accumulation over that image alone."""
        n_t, n_r = len(IOU_THRS), len(REC_THRS)
        areas = self.areas[0]
        g = self.g_cat >= 0
        npig = np.bincount(
            (self.g_cat * self.num_images + self.g_img)[g & ~areas.gt_ignore],
            minlength=len(self.cat_ids) * self.num_images,
        )
        sums = np.zeros(self.num_images)
        groups = np.zeros(self.num_images)
        with_gt = np.flatnonzero(npig)
        groups_of = with_gt % self.num_images
        np.add.at(groups, groups_of, 1)
        # predictions of each (category, image) in score order, padded to MAX_DETS columns
        slot = np.full((len(npig), MAX_DETS), -1, np.int64)
        slot[self.dt_key, self.dt_rank] = np.arange(len(self.dt))
        slot = slot[with_gt]
        present = slot >= 0
        cols = np.maximum(slot, 0)
        ig = areas.dt_ignore[:n_t][:, cols] | ~present[None]
        tps = areas.dt_counted[:n_t][:, cols] & ~ig
        fps = ~areas.dt_counted[:n_t][:, cols] & ~ig
        tp = np.cumsum(tps, axis=2).astype(float)
        fp = np.cumsum(fps, axis=2).astype(float)
        # as in COCOeval, ignored predictions stay in the curve (they add to neither count); the
        # padding after an image's last prediction does not
        nd = present.sum(axis=1)[None, :]
        rc_k = np.where(present[None], tp / npig[with_gt][None, :, None], np.inf)
        pr_k = np.where(present[None], tp / (fp + tp + np.spacing(1)), 0.0)
        pr_k = np.maximum.accumulate(pr_k[..., ::-1], axis=2)[..., ::-1]
        inds = np.zeros((n_t, len(with_gt), n_r), np.int64)
        for j in range(MAX_DETS):
            inds += rc_k[..., j, None] < REC_THRS
        q = np.where(inds < nd[..., None], np.take_along_axis(pr_k, np.minimum(inds, MAX_DETS - 1), axis=2), 0.0)
        np.add.at(sums, groups_of, q.mean(axis=(0, 2)))
        with np.errstate(invalid="ignore"):
            return np.where(groups > 0, sums / np.maximum(groups, 1), np.nan)


def _summarize(precision: np.ndarray, recall: np.ndarray, ap: int, thr: float | None, area: str) -> float:
    """``COCOeval.summarize``'s ``_summarize``: the mean of the selected values above -1 (-1 if none)."""
    aind = [i for i, label in enumerate(AREA_LBL) if label == area]
    mind = [0]
    if ap == 1:
        s = precision
        if thr is not None:
            s = s[np.where(thr == IOU_THRS)[0]]
        s = s[:, :, :, aind, mind]
    else:
        s = recall
        if thr is not None:
            s = s[np.where(thr == IOU_THRS)[0]]
        s = s[:, :, aind, mind]
    return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))


def _at(flags: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``flags[index]`` where ``index >= 0``, False elsewhere."""
    if not len(flags):
        return np.zeros(index.shape, bool)
    return flags[np.maximum(index, 0)] & (index >= 0)


def _index_of(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``sorted_ids`` (-1 where absent)."""
    pos = np.searchsorted(sorted_ids, values).clip(0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == values, pos, -1)


def _prediction_areas(a: Aligned, area_points: np.ndarray) -> np.ndarray:
    """The area pycocotools' ``loadRes`` gives each prediction: its box's ``w*h`` when the first
    prediction has a box, else the extent of its points (all of them; of the body points in a
    whole-body layout, the ones a results file lists under ``keypoints``)."""
    q = a.pred.persons
    boxes = q.boxes
    if len(q) and not np.isnan(boxes[0]).any():
        has = ~np.isnan(boxes).any(axis=1)
        box_area = boxes[:, 2] * boxes[:, 3]
    else:
        has, box_area = np.zeros(len(q), bool), np.zeros(len(q))
    xy = q.keypoints[:, area_points]  # loadRes sees the file's values (origin as written)
    if xy.shape[1] == 0:
        return np.where(has, box_area, 0.0)
    x0, x1 = xy[..., 0].min(axis=1), xy[..., 0].max(axis=1)
    y0, y1 = xy[..., 1].min(axis=1), xy[..., 1].max(axis=1)
    return np.where(has, box_area, (x1 - x0) * (y1 - y0))
