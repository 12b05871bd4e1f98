"""Model predictions into a dataset: a COCO results list as a label field of the images it was predicted on.

Keypoint predictions (COCO and COCO-WholeBody results) become a ``fo.Keypoints`` field, one
``fo.Keypoint`` per predicted person stored as the adapter stores a pose field, so that
``to_pose_data`` reads it back exactly: ``points`` normalised (NaN where the score is <= 0),
``visibility``, the file's exact triplets in ``raw_keypoints``, ``person_id`` (a record's ``id``),
``category_id``, ``source_index`` (its position in the file), ``bbox``, the record's other keys as
attributes (JSON text in ``extra_json`` where a key cannot be one); plus each point's score as the
keypoint's ``confidence`` list and the instance ``score`` as an attribute. Person-detector
results become a ``fo.Detections`` field (``confidence`` = score; the exact ``bbox``, ``score``
and the record's other keys as attributes). ``fiftyone_pose.export(view, path,
format="coco_results", label_field=...)`` writes either back as the same results list.

Predictions are matched to samples by ``image_id``; those for image ids the dataset lacks are
counted in the returned summary (and left out). Keypoint predictions must have the layout of the
dataset's keypoints field (``gt_field``): another point count is an error naming the record.
The field is written in one update per sample; if anything fails, the field is removed (with
``overwrite``, the field it replaced too), so no sample is left with half the predictions.
"""

from __future__ import annotations

import os
from typing import Any

import fiftyone as fo
import fiftyone.core.utils as fou
import numpy as np
import orjson
from pymongo import UpdateOne

from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import ABSENT, OPTIONAL_PERSON_KEYS, Images, Persons, PoseData
from ..core.numbers import to_array, to_lists
from ..formats import coco_results
from . import documents
from .fields import (
    KEYPOINT_RESERVED,
    keypoints_schema,
    pose_info,
    record_info,
    resolve_label_field,
    set_pose_info,
    skeleton_of,
    split_extras,
)

NOTE_UNKNOWN = "predictions for image ids the dataset lacks (left out)"
#: keypoint attributes the App filters on (besides a numeric instance ``score``)
_KEYPOINT_ATTRIBUTES = ("visibility", "raw_keypoints", "bbox", "person_id", "category_id", "source_index")
#: ``fo.Detection`` attributes the detector import owns
_DETECTION_RESERVED = frozenset(
    {"_id", "_cls", "id", "tags", "label", "bounding_box", "mask", "mask_path", "confidence", "index", "instance",
     "attributes", "bbox", "score", "category_id", "person_id", "source_index", "extra_json"}
)  # fmt: skip
#: samples per bulk write
_WRITE_BATCH = 1000


def load_predictions(
    dataset: fo.Dataset,
    path: str | os.PathLike,
    label_field: str = "predictions",
    gt_field: str | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Add the predictions of the results file ``path`` to ``dataset`` as ``label_field``.

    ``gt_field``: the keypoints field whose layout keypoint predictions have (default: the first
    one). ``overwrite``: replace an existing ``label_field``. Returns a summary: the field, the
    predictions and images added, the layout, and what was left out (``notes``).
    """
    if dataset.has_field(label_field) and not overwrite:
        raise PoseUsageError(
            f"dataset '{dataset.name}' already has a field '{label_field}'; pass overwrite=True (--overwrite) "
            "to replace it, or choose another label field"
        )
    gt_field = resolve_label_field(dataset, gt_field)
    if label_field == gt_field:
        raise PoseUsageError(f"'{label_field}' is the ground-truth field; give the predictions another field")
    detections = coco_results.sniff_flavor(path) == "detections"
    data = coco_results.read(path, skeleton=None if detections else skeleton_of(dataset, gt_field))
    data, known = _on_samples(dataset, data)
    data.categories = pose_info(dataset, gt_field).get("categories") or []
    if dataset.has_field(label_field):
        dataset.delete_sample_field(label_field)
    try:
        if data.persons.num_points == 0:
            _set_detections(dataset, data, label_field)
        else:
            _set_keypoints(dataset, data, label_field, progress)
    except BaseException as e:
        if dataset.has_field(label_field):
            dataset.delete_sample_field(label_field)
        set_pose_info(dataset, label_field, None)
        if isinstance(e, PoseFormatError):  # (a value too deep to keep: named below, but for the file)
            raise e.with_path(path) from None
        raise
    summary: dict[str, Any] = {
        "field": label_field,
        "predictions": len(data.persons),
        "images": int(np.unique(data.persons.image_index).size),
        "layout": f"{data.skeleton.name} ({data.skeleton.num_keypoints} points)",
    }
    if not known.all():
        summary["notes"] = {NOTE_UNKNOWN: int((~known).sum())}
    return summary


def _on_samples(dataset: fo.Dataset, data: PoseData) -> tuple[PoseData, np.ndarray]:
    """``data`` on the dataset's samples (every sample an image, in sample order, with its id and
    size), without the predictions of unknown image ids; and which predictions were known."""
    ids, widths, heights = dataset.values(["image_id", "metadata.width", "metadata.height"])
    if any(i is None for i in ids):
        raise PoseUsageError(f"dataset '{dataset.name}' has samples without an image_id: predictions cannot be matched")
    sample_ids = np.array(ids, dtype=np.int64)
    order = np.argsort(sample_ids, kind="stable")
    if len(sample_ids) and (np.diff(sample_ids[order]) == 0).any():
        raise PoseUsageError(f"dataset '{dataset.name}' has several samples with one image_id")
    pred_ids = data.images.ids[data.persons.image_index]
    pos = np.searchsorted(sample_ids[order], pred_ids).clip(0, max(len(order) - 1, 0))
    known = sample_ids[order][pos] == pred_ids if len(order) else np.zeros(len(pred_ids), bool)
    persons = data.persons.take(np.flatnonzero(known))
    persons.image_index = order[pos[known]]
    m = len(ids)
    images = Images(
        ids=sample_ids,
        file_names=[""] * m,
        widths=np.array([w or 0 for w in widths], dtype=np.int64),
        heights=np.array([h or 0 for h in heights], dtype=np.int64),
        extras=[{} for _ in range(m)],
    )
    kept = PoseData(images, persons, data.skeleton, data.categories, data.meta, data.format, data.notes, data.origin)
    return kept, known


def _set_keypoints(dataset: fo.Dataset, data: PoseData, label_field: str, progress: bool | None) -> None:
    """One ``fo.Keypoints`` per sample (empty where the model found nobody), written a batch of
    samples at a time: only one batch's label documents exist at once."""
    p = data.persons
    wh = np.stack([data.images.widths, data.images.heights], axis=1).astype(np.float64)[p.image_index]
    if len(p) and (wh <= 0).any():
        raise PoseUsageError("some images have no size; run dataset.compute_metadata() first")
    _declare(dataset, label_field, p)
    record_info(dataset, data, label_field, frozenset())
    names = {c.get("id"): str(c.get("name", "person")) for c in data.categories if isinstance(c, dict)}
    order = np.argsort(p.image_index, kind="stable")  # by sample, in file order within one
    bounds = np.searchsorted(p.image_index[order], np.arange(len(data.images) + 1))
    sample_ids = dataset.values(documents.ID)
    with fou.ProgressBar(total=len(sample_ids), progress=progress) as pb:
        for lo in range(0, len(sample_ids), _WRITE_BATCH):
            hi = min(lo + _WRITE_BATCH, len(sample_ids))
            rows = order[bounds[lo] : bounds[hi]]
            docs = _keypoint_docs(
                p.take(rows), rows, wh[rows], data.origin, names, data.images.ids[p.image_index[rows]]
            )
            at = (bounds[lo : hi + 1] - bounds[lo]).tolist()  # each sample's slice of the batch's documents
            ops = [
                UpdateOne(
                    {documents.ID: sample_ids[j]},
                    {"$set": {label_field: documents.label_document(fo.Keypoints, keypoints=d)}},
                )
                for j, d in zip(range(lo, hi), (docs[a:b] for a, b in zip(at[:-1], at[1:])))
            ]
            documents.update_samples(dataset, ops)
            pb.update(hi - lo)


def _keypoint_docs(
    p: Persons, rows: np.ndarray, wh: np.ndarray, origin: int, names: dict[int, str], image_ids: np.ndarray
) -> list[dict[str, Any]]:
    """The ``fo.Keypoint`` documents of persons ``p`` (``rows``: their positions in the file;
    ``image_ids``: their images', naming one whose value is too deep to keep)."""
    n, k = len(p), p.num_points
    raw = p.raw_visibility()
    points = (p.keypoints - origin) / wh[:, None, :]  # as the adapter normalises (to_pose_data compares)
    points[p.visibility == 0] = np.nan
    mask = p.mask("keypoints")
    triplets = np.concatenate([p.keypoints, raw[..., None]], axis=2).reshape(n, 3 * k)
    raw_lists = to_lists(triplets, mask.reshape(n, 3 * k))
    scores = to_lists(raw, mask[..., 2])
    boxes = to_lists(np.nan_to_num(p.boxes), p.mask("bbox"))
    has_box = ~np.isnan(p.boxes).any(axis=1)
    absent = {key: p.absent[key] for key in OPTIONAL_PERSON_KEYS if key in p.absent}
    points_lists, vis_lists = points.tolist(), p.visibility.tolist()
    ids, cats, sources = p.ids.tolist(), p.category_ids.tolist(), rows.tolist()
    docs = []
    for i in range(n):
        doc = documents.label_document(
            fo.Keypoint,
            label=names.get(cats[i], "person"),
            points=points_lists[i],
            confidence=scores[i],
            visibility=vis_lists[i],
            raw_keypoints=raw_lists[i],
            person_id=ids[i],
            category_id=cats[i],
            source_index=sources[i],
        )
        if has_box[i]:
            doc["bbox"] = boxes[i]
        missing = [key for key, m in absent.items() if m[i]]
        if missing:
            doc["absent"] = missing
        try:
            attrs, other = split_extras(p.extras[i], KEYPOINT_RESERVED)
        except PoseFormatError as e:  # a value too deep to keep
            raise e.with_record(f"results (image_id {image_ids[i]})") from None
        doc.update(attrs)
        if other:
            doc["extra_json"] = other
        docs.append(doc)
    return docs


def _declare(dataset: fo.Dataset, label_field: str, p: Persons) -> None:
    """The field and the attributes the App filters on, with their types (one schema update per
    level: declaring field by field reloads the dataset each time)."""
    schema = keypoints_schema(label_field, _KEYPOINT_ATTRIBUTES)
    scores = {type(e.get("score")) for e in p.extras}
    if scores and scores <= {int, float}:
        schema[f"{label_field}.keypoints.score"] = fo.FloatField()
    documents.merge_schema(dataset, schema)


def _set_detections(dataset: fo.Dataset, data: PoseData, label_field: str) -> None:
    """Detector results as ``fo.Detections``, one per sample, normalised by the image size."""
    p = data.persons
    names = {c.get("id"): c.get("name") for c in data.categories if isinstance(c, dict)}
    w = data.images.widths[p.image_index].astype(np.float64)
    h = data.images.heights[p.image_index].astype(np.float64)
    if len(p) and ((w <= 0) | (h <= 0)).any():
        raise PoseUsageError("some images have no size; run dataset.compute_metadata() first")
    boxes = (p.boxes - [data.origin, data.origin, 0, 0]) / np.stack([w, h, w, h], axis=1)
    no_category = p.absent.get("category_id", np.zeros(len(p), bool))
    no_id = p.absent.get("id", np.zeros(len(p), bool))
    per_sample: list[list[fo.Detection]] = [[] for _ in range(len(data.images))]
    for i in range(len(p)):
        extra = dict(p.extras[i])
        score = extra.pop("score")
        try:
            attrs, other = split_extras(extra, _DETECTION_RESERVED)
        except PoseFormatError as e:
            raise e.with_record(f"results (image_id {data.images.ids[p.image_index[i]]})") from None
        if not no_category[i]:
            attrs["category_id"] = int(p.category_ids[i])
        if not no_id[i]:
            attrs["person_id"] = int(p.ids[i])
        if other:
            attrs["extra_json"] = other
        per_sample[p.image_index[i]].append(
            fo.Detection(
                label=names.get(int(p.category_ids[i])) or "person",
                bounding_box=boxes[i].tolist(),
                confidence=float(score),
                score=score,
                bbox=_exact_box(p, i),
                source_index=i,
                **attrs,
            )
        )
    set_pose_info(dataset, label_field, {"format": coco_results.NAME, "detections": True})
    dataset.set_values(label_field, [fo.Detections(detections=d) for d in per_sample])


def _exact_box(p: Persons, i: int) -> list[Any]:
    ints = p.mask("bbox")[i]
    return [int(v) if ints[j] else float(v) for j, v in enumerate(p.boxes[i].tolist())]


def is_detections(collection, label_field: str | None) -> bool:
    """Whether ``label_field`` holds person-detector predictions (a ``fo.Detections`` field)."""
    return (
        label_field is not None
        and collection.has_field(label_field)
        and issubclass(getattr(collection.get_field(label_field), "document_type", type(None)), fo.Detections)
    )


def detections_pose_data(collection, label_field: str, skip: frozenset[str] = frozenset()) -> PoseData:
    """The detector results of ``label_field`` as ``PoseData`` (0 points), as they were imported;
    ``skip``: attributes not to write (e.g. evaluation results)."""
    image_ids, dets = collection.values(["image_id", f"{label_field}.detections"])
    rows: list[tuple[int, int, dict[str, Any]]] = []
    for image, labels in enumerate(dets):
        for det in labels or ():
            attrs = det.to_dict()
            rows.append((attrs.get("source_index", len(rows)), image, attrs))
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    box_values, box_mask = to_array([v for _, _, a in rows for v in a["bbox"]], period=4)
    extras, has_category, has_id = [], np.zeros(n, bool), np.zeros(n, bool)
    for j, (_, _, a) in enumerate(rows):
        extra = {"score": a["score"]}
        extra.update({k: v for k, v in a.items() if k not in _DETECTION_RESERVED and k not in skip})
        extra.update(orjson.loads(a["extra_json"]) if a.get("extra_json") else {})
        extras.append(extra)
        has_category[j], has_id[j] = "category_id" in a, "person_id" in a
    persons = Persons(
        image_index=np.array([image for _, image, _ in rows], dtype=np.int64),
        ids=np.array([a.get("person_id", j + 1) for j, (_, _, a) in enumerate(rows)], dtype=np.int64),
        category_ids=np.array([a.get("category_id", 1) for _, _, a in rows], dtype=np.int64),
        keypoints=np.zeros((n, 0, 2)),
        visibility=np.zeros((n, 0), np.int8),
        boxes=box_values.reshape(n, 4),
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=extras,
        int_mask={"bbox": box_mask.reshape(n, 4)},
        absent={"id": ~has_id, "category_id": ~has_category},
    )
    m = len(image_ids)
    images = Images(
        np.array(image_ids, dtype=np.int64), [""] * m, np.zeros(m, np.int64), np.zeros(m, np.int64), [{}] * m
    )
    meta = {"info": ABSENT, "categories": ABSENT}
    return PoseData(images, persons, coco_results.DETECTIONS_LAYOUT, [], meta, coco_results.NAME)
