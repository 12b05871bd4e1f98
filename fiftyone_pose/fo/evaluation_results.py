"""The results of a keypoint evaluation run (``fiftyone_pose.fo.evaluation``): FiftyOne's detection
results, so the App's Model Evaluation panel reads them, plus the reference tool's summary and the
per-joint errors."""

from __future__ import annotations

from typing import Any

import numpy as np
from fiftyone.utils.eval.detection import DetectionResults

from ..core.errors import PoseUsageError
from ..eval import Block, JointErrors, summary_lines


class PoseEvaluationResults(DetectionResults):
    """The results of a keypoint evaluation run: FiftyOne's detection results (matches, confusion,
    report, mAP / mAR for the App) plus the reference's summary, its blocks and the per-joint errors."""

    def __init__(
        self,
        samples,
        config,
        eval_key,
        matches,
        blocks: list[dict[str, Any]] | None = None,
        joint_errors: dict[str, Any] | None = None,
        notes: dict[str, int] | None = None,
        classes=None,
        missing=None,
        custom_metrics=None,
        backend=None,
    ):
        super().__init__(
            samples, config, eval_key, matches, classes=classes, missing=missing, custom_metrics=custom_metrics,
            backend=backend,
        )  # fmt: skip
        self.blocks = blocks or []
        self.joint_errors = joint_errors or {}
        self.notes = notes or {}

    @classmethod
    def from_evaluation(
        cls, samples, config, eval_key, result, gt, pred, gt_ids, pred_ids, backend=None
    ) -> PoseEvaluationResults:
        labels = {c.get("id"): str(c.get("name", "person")) for c in gt.categories if isinstance(c, dict)}
        gt_label = [labels.get(int(c), "person") for c in gt.persons.category_ids]
        pred_label = [labels.get(int(c), "person") for c in pred.persons.category_ids]
        scores = [e.get("score") for e in pred.persons.extras]
        matches = []
        for i in np.flatnonzero(result.pred.status != None).tolist():  # noqa: E711 - object array
            if result.pred.status[i] == "tp":
                g = int(result.pred.match[i])
                sim = float(result.pred.similarity[i])
                matches.append((gt_label[g], pred_label[i], sim, scores[i], str(gt_ids[g]), str(pred_ids[i])))
            else:
                matches.append((None, pred_label[i], None, scores[i], None, str(pred_ids[i])))
        for g in np.flatnonzero(result.gt.status == "fn").tolist():
            matches.append((gt_label[g], None, None, None, str(gt_ids[g]), None))
        blocks = [
            {"title": b.title, "names": b.names, "stats": b.stats.tolist(), "lines": b.lines} for b in result.blocks
        ]
        joints = result.joints
        table = {
            "names": joints.names,
            "normaliser": joints.normaliser,
            "thresholds": list(joints.thresholds),
            "distances": [d.tolist() for d in joints.distances],
            "similarities": None if joints.similarities is None else [s.tolist() for s in joints.similarities],
        }
        return cls(samples, config, eval_key, matches, blocks, table, result.notes, backend=backend)

    def _blocks(self) -> list[Block]:
        return [Block(b["title"], list(b["names"]), np.array(b["stats"]), list(b["lines"])) for b in self.blocks]

    @property
    def lines(self) -> list[str]:
        """The summary as the reference tool prints it (a title line before each block when there are several)."""
        return summary_lines(self._blocks())

    @property
    def stats(self) -> np.ndarray:
        """The numbers of the last block (COCOeval's ``stats``; whole body for the whole-body layouts)."""
        return np.array(self.blocks[-1]["stats"]) if self.blocks else np.zeros(0)

    def block(self, title: str) -> Block:
        """The block ``title`` ("keypoints", "crowdpose", a part, "wholebody", "PCKh@0.5", ...)."""
        for b in self._blocks():
            if b.title == title:
                return b
        raise PoseUsageError(f"no block {title!r}; blocks: {', '.join(b['title'] for b in self.blocks)}")

    def print_report(self, classes=None, digits=2) -> None:
        """Print the reference's summary (COCOeval's ten lines, the crowd or per-part blocks, or the PCK table)."""
        print("\n".join(self.lines))

    def mAP(self, classes=None) -> float:
        """AP @[OKS .50:.95] (the reference's first number); OKS evaluations only."""
        return self._stat("AP")

    def mAR(self, classes=None) -> float:
        """AR @[OKS .50:.95]; OKS evaluations only."""
        return self._stat("AR")

    def _stat(self, name: str) -> float:
        if not self.blocks or name not in self.blocks[-1]["names"]:
            raise PoseUsageError(f"this evaluation ({self.config.metric}) has no {name}")
        return float(self.blocks[-1]["stats"][self.blocks[-1]["names"].index(name)])

    def joint_table(self):
        """Per joint: the matched persons' normalised distance (mean, median, share below thresholds)
        and, for OKS, the mean per-joint similarity (a pandas table)."""
        t = self.joint_errors
        return JointErrors(
            names=t["names"],
            normaliser=t["normaliser"],
            distances=[np.array(d, dtype=np.float64) for d in t["distances"]],
            similarities=None if t["similarities"] is None else [np.array(s) for s in t["similarities"]],
            thresholds=tuple(t["thresholds"]),
        ).table()

    def plot_joint_errors(self):
        """A plotly bar chart per joint: the mean normalised distance, and the share within each threshold."""
        import plotly.graph_objects as go

        table = self.joint_table()
        fig = go.Figure()
        fig.add_bar(x=table.index, y=table["mean_distance"], name="mean distance", marker_color="#FF6D04")
        for col in [c for c in table.columns if c.startswith("within_")]:
            fig.add_scatter(x=table.index, y=table[col], name=col.replace("_", " "), mode="lines+markers", yaxis="y2")
        fig.update_layout(
            title=f"Per-joint error of the matched persons (distance / {self.joint_errors['normaliser']})",
            yaxis={"title": "mean normalised distance"},
            yaxis2={"title": "share of joints", "overlaying": "y", "side": "right", "range": [0, 1]},
            template="plotly_white",
        )
        return fig

    @classmethod
    def _from_dict(cls, d, samples, config, eval_key, **kwargs):
        return super()._from_dict(
            d,
            samples,
            config,
            eval_key,
            blocks=d.get("blocks"),
            joint_errors=d.get("joint_errors"),
            notes=d.get("notes"),
            **kwargs,
        )
