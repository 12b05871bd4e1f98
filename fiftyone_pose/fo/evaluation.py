"""Keypoint evaluation as a FiftyOne evaluation run: the reference numbers, and per image and person.

``evaluate(collection, "predictions", gt_field="ground_truth", eval_key="oks")`` reads both fields
in bulk (``to_pose_data``), runs ``fiftyone_pose.eval.evaluate`` (COCO / CrowdPose / whole-body
OKS as pycocotools and xtcocotools compute it, PCKh / PCK as mmpose does) and, with an
``eval_key``, stores a FiftyOne evaluation run like ``evaluate_detections``' (a ``"detection"``
run: ``list_evaluations()``, ``load_evaluation_results``, ``load_evaluation_view``,
``delete_evaluation`` and the App's Model Evaluation panel work) with, on every evaluated person of
both fields:

- ``<eval_key>``: "tp", "fp" or "fn" at the matching threshold (``iou``, OKS 0.5 by default);
  crowd regions, persons without labeled points and predictions matched to them are not counted
  (as in COCOeval) and get none;
- ``<eval_key>_id``: the matched person's label id; ``<eval_key>_oks`` (``_pck`` for the PCK
  metrics: the share of the person's joints within the threshold): the similarity with it;
- ``<eval_key>_worst``: the name of the matched person's worst joint;

and on every sample ``<eval_key>_tp``, ``_fp``, ``_fn`` and its own score ``<eval_key>_ap`` (the
image's AP; ``_pck`` for PCK). The results print the reference's summary (``print_report``),
and give the per-joint error table and plot (``evaluation_results``). Writing back is one database update per
sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fiftyone as fo
import fiftyone.core.fields as fof
import fiftyone.core.utils as fou
import numpy as np
from fiftyone.utils.eval.detection import DetectionEvaluation, DetectionEvaluationConfig
from pymongo import UpdateOne

from ..core.errors import PoseUsageError
from ..eval import METHODS, default_method
from ..eval import evaluate as evaluate_pose
from . import documents
from .adapter import to_pose_data
from .evaluation_results import PoseEvaluationResults
from .fields import pose_fields, resolve_label_field, skeleton_of

#: samples per bulk write of the per-person results
_WRITE_BATCH = 1000


def evaluate(
    collection: fo.core.collections.SampleCollection,
    pred_field: str,
    gt_field: str | None = "ground_truth",
    eval_key: str | None = None,
    metric: str | None = None,
    flavor: str | None = None,
    iou: float = 0.5,
    pck_threshold: float | None = None,
    progress: bool | None = None,
) -> PoseEvaluationResults:
    """Evaluate the keypoints of ``pred_field`` against ``gt_field`` (see the module docstring).

    ``metric``: "oks", "pckh" or "pck" (default: the layout's benchmark metric); ``flavor`` (OKS):
    "coco", "crowdpose" or "parts" (default: by layout); ``iou``: the OKS at which persons are
    labeled; ``pck_threshold``: the PCK threshold (default 0.5 for PCKh, 0.2 for PCK).
    """
    fields = pose_fields(collection)
    gt_field = resolve_label_field(collection, gt_field)
    if pred_field not in fields:
        raise PoseUsageError(
            f"'{pred_field}' is not a keypoints field of the collection; keypoints fields: {', '.join(fields)}"
        )
    if metric is not None and metric not in METHODS:
        raise PoseUsageError(f"unknown metric {metric!r}; one of: {', '.join(METHODS)}")
    metric = metric or default_method(skeleton_of(collection, gt_field))
    config = PoseEvaluationConfig(
        pred_field, gt_field, iou=iou, classwise=True, metric=metric, flavor=flavor, pck_threshold=pck_threshold
    )
    backend = config.build()
    backend.ensure_requirements()
    backend.register_run(collection, eval_key)
    backend.register_samples(collection, eval_key)
    results = backend.generate_results(collection, [], eval_key=eval_key, progress=progress)
    if eval_key is not None:
        backend.save_run_results(collection, eval_key, results)
        backend.add_fields_to_sidebar_group(collection, eval_key, omit_fields=(pred_field, gt_field))
    return results


class PoseEvaluationConfig(DetectionEvaluationConfig):
    """Config of a keypoint evaluation run (a ``"detection"`` run, like ``evaluate_detections``')."""

    def __init__(
        self,
        pred_field: str,
        gt_field: str,
        iou: float | None = 0.5,
        classwise: bool | None = True,
        metric: str | None = None,
        flavor: str | None = None,
        pck_threshold: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(pred_field, gt_field, iou=iou, classwise=classwise, **kwargs)
        self.metric = metric
        self.flavor = flavor
        self.pck_threshold = pck_threshold

    @property
    def method(self) -> str:
        return f"fiftyone-pose-{self.metric or 'auto'}"

    @property
    def similarity(self) -> str:
        """The name of the per-person similarity: ``oks``, or ``pck`` for the PCK metrics."""
        return "oks" if self.metric in (None, "oks") else "pck"


class PoseEvaluation(DetectionEvaluation):
    """The run: declares, lists and deletes the fields ``evaluate`` writes."""

    def register_samples(self, samples, eval_key, dynamic=True):
        self.gt_field, self.pred_field = self.config.gt_field, self.config.pred_field
        if self.config.metric is None:  # the layout's benchmark metric, known before any field is declared
            self.config.metric = default_method(skeleton_of(samples, self.config.gt_field))
            if eval_key is not None:  # registered before this was known (evaluate_detections' order)
                self.update_run_config(samples, eval_key, self.config)
        if eval_key is None:
            return
        dataset = documents.dataset_of(samples)
        top = {f"{eval_key}_{n}": fof.IntField() for n in ("tp", "fp", "fn")}
        top[self._sample_score(eval_key)] = fof.FloatField()
        similarity = f"{eval_key}_{self.config.similarity}"
        kinds = {eval_key: fof.StringField, f"{eval_key}_id": fof.StringField, similarity: fof.FloatField,
                 f"{eval_key}_worst": fof.StringField}  # fmt: skip
        embedded = {
            f"{field}.keypoints.{name}": kind()
            for field in (self.config.gt_field, self.config.pred_field)
            for name, kind in kinds.items()
        }
        # one schema update per level (declaring field by field reloads the dataset)
        documents.merge_schema(dataset, {k: v for k, v in {**top, **embedded}.items() if not dataset.has_field(k)})

    def _sample_score(self, eval_key: str) -> str:
        return f"{eval_key}_ap" if self.config.similarity == "oks" else f"{eval_key}_pck"

    def evaluate(self, doc, eval_key=None):
        """Nothing per sample: COCO-style AP needs every image at once, so ``generate_results`` does
        the work for the whole collection (``evaluate_detections(method=PoseEvaluationConfig)``
        works, but ``fiftyone_pose.evaluate`` skips its sample-by-sample loop)."""
        return []

    def generate_results(self, samples, matches, eval_key=None, classes=None, missing=None, progress=None):
        """Read both fields in bulk, evaluate, write the per-person and per-image results back."""
        config = self.config
        gt_field, pred_field = config.gt_field, config.pred_field
        view = without_evaluation_attributes(samples, [gt_field, pred_field])
        unused = [p for p in (f"{gt_field}.keypoints.segmentation",) if view.has_field(p)]  # heavy, not needed
        gt = to_pose_data(view.exclude_fields(unused) if unused else view, gt_field, progress=progress)
        pred = to_pose_data(view, pred_field, progress=progress)
        threshold = config.iou if config.metric == "oks" else config.pck_threshold
        result = evaluate_pose(gt, pred, config.metric, flavor=config.flavor, threshold=threshold)
        gt_persons, pred_persons = _persons(samples, gt_field), _persons(samples, pred_field)
        for data, persons in ((gt, gt_persons), (pred, pred_persons)):
            if not np.array_equal(data.persons.image_index, persons.rows):
                raise PoseUsageError("the dataset changed while it was read for the evaluation; run it again")
        if eval_key is not None:
            _write_back(samples, config, eval_key, result, gt.skeleton.keypoints, gt_persons, pred_persons, progress)
        return PoseEvaluationResults.from_evaluation(
            samples, config, eval_key, result, gt, pred, gt_persons.ids, pred_persons.ids, backend=self
        )

    def get_fields(self, samples, eval_key, include_custom_metrics=True):
        fields = [f"{eval_key}_tp", f"{eval_key}_fp", f"{eval_key}_fn", self._sample_score(eval_key)]
        for field in (self.config.pred_field, self.config.gt_field):
            fields += [f"{field}.keypoints.{a}" for a in label_attributes(eval_key, self.config.similarity)]
        return fields

    def cleanup(self, samples, eval_key):
        dataset = documents.dataset_of(samples)
        present = [f for f in self.get_fields(dataset, eval_key) if dataset.has_field(f)]
        if present:
            dataset.delete_sample_fields(present, error_level=1)
        documents.drop_empty_sidebar_group(samples, eval_key)


def label_attributes(eval_key: str, similarity: str) -> list[str]:
    """The label attributes an evaluation run writes on each person."""
    return [eval_key, f"{eval_key}_id", f"{eval_key}_{similarity}", f"{eval_key}_worst"]


def evaluation_attributes(collection, label_field: str) -> list[str]:
    """The label attributes evaluation runs of the dataset wrote on ``label_field`` (this package's
    and FiftyOne's own ``evaluate_detections``): results, not part of the persons."""
    dataset = documents.root_dataset(collection)
    names = []
    for key in dataset.list_evaluations():
        config = dataset.get_evaluation_info(key).config
        if label_field in (getattr(config, "gt_field", None), getattr(config, "pred_field", None)):
            similarity = getattr(config, "similarity", "oks")
            names += [*label_attributes(key, similarity), f"{key}_iou"]
    return names


def without_evaluation_attributes(collection, label_fields: list[str | None]):
    """``collection`` without the evaluation results on the persons of ``label_fields``, so that
    an export or a new evaluation sees the persons as they were imported."""
    paths = []
    for field in label_fields:
        if field is None or not collection.has_field(field):
            continue
        for name in evaluation_attributes(collection, field):
            for kind in ("keypoints", "detections"):
                path = f"{field}.{kind}.{name}"
                if collection.has_field(path):
                    paths.append(path)
    return collection.exclude_fields(paths) if paths else collection


@dataclass
class _Persons:
    """A field's persons in ``to_pose_data``'s order: label ids, sample rows, positions in the lists."""

    ids: list
    rows: list[int]
    positions: list[int]


def _persons(collection, field: str) -> _Persons:
    """The persons of ``field`` in ``to_pose_data``'s order: samples in view order, persons in list
    order, then stably by the position in the source file (persons drawn in FiftyOne last)."""
    ids, sources = collection.values([f"{field}.keypoints.{documents.ID}", f"{field}.keypoints.source_index"])
    flat = [(i, row, j) for row, per in enumerate(ids) for j, i in enumerate(per or ())]
    src = np.array([np.iinfo(np.int64).max if s is None else s for per in sources for s in per or ()], np.int64)
    order = np.lexsort((np.arange(len(src)), src)).tolist()
    return _Persons([flat[i][0] for i in order], [flat[i][1] for i in order], [flat[i][2] for i in order])


def _write_back(collection, config, eval_key, result, names, gt_persons, pred_persons, progress) -> None:
    """Per person and per sample results: one update per sample, persons addressed by their
    position in the stored list (guarded by their ids: a sample changed meanwhile is an error)."""
    sample_ids = collection.values(documents.ID)
    sets: list[dict[str, Any]] = [{} for _ in sample_ids]
    guards: list[dict[str, Any]] = [{documents.ID: sid} for sid in sample_ids]
    similarity = f"{eval_key}_{config.similarity}"
    # both fields were read from the same view: their image tables are its samples, in order
    for field, side, persons, other in (
        (config.gt_field, result.gt, gt_persons, pred_persons),
        (config.pred_field, result.pred, pred_persons, gt_persons),
    ):
        positions = persons.positions
        if not isinstance(collection, fo.Dataset):  # a view may hide persons: find them in the stored lists
            stored = documents.root_dataset(collection).select(sample_ids, ordered=True)
            kp_ids = stored.values(f"{field}.keypoints.{documents.ID}")
            where = {i: j for labels in kp_ids for j, i in enumerate(labels or ())}
            positions = [where[i] for i in persons.ids]
        matched = [str(i) for i in other.ids]
        columns = zip(
            persons.ids,
            persons.rows,
            positions,
            side.status.tolist(),
            side.match.tolist(),
            np.where(np.isnan(side.similarity), None, side.similarity).tolist(),
            side.worst_joint.tolist(),
        )
        for label_id, row, j, status, match, sim, worst in columns:
            prefix = f"{field}.keypoints.{j}."
            out = sets[row]
            out[prefix + eval_key] = status
            out[prefix + eval_key + "_id"] = matched[match] if match >= 0 else None
            out[prefix + similarity] = sim
            out[prefix + eval_key + "_worst"] = names[worst] if worst >= 0 else None
            guards[row][prefix + documents.ID] = label_id
    score = f"{eval_key}_ap" if config.similarity == "oks" else f"{eval_key}_pck"
    counts = zip(
        result.image_tp.tolist(),
        result.image_fp.tolist(),
        result.image_fn.tolist(),
        np.where(np.isnan(result.image_score), None, result.image_score).tolist(),
    )
    for row, (tp, fp, fn, image_score) in enumerate(counts):
        sets[row].update({f"{eval_key}_tp": tp, f"{eval_key}_fp": fp, f"{eval_key}_fn": fn, score: image_score})
    matched = 0
    with fou.ProgressBar(total=len(sample_ids), progress=progress) as pb:
        for lo in range(0, len(sample_ids), _WRITE_BATCH):
            hi = min(lo + _WRITE_BATCH, len(sample_ids))
            matched += documents.update_samples(
                collection, [UpdateOne(guards[r], {"$set": sets[r]}) for r in range(lo, hi)]
            )
            pb.update(hi - lo)
    if matched != len(sample_ids):
        raise PoseUsageError(
            f"{len(sample_ids) - matched} samples changed while they were evaluated; run the evaluation again"
        )
