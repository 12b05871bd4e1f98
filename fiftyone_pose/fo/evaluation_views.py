"""Views of an evaluation run: where the model does worst, its confident mistakes, what it misses.

Each takes a collection and the ``eval_key`` of a ``fiftyone_pose.evaluate`` run, returns a view
that chains with every FiftyOne stage, and hides the persons it does not show (their boxes with
them), so an export holds exactly the persons shown.
"""

from __future__ import annotations

from fiftyone import ViewField as F

from ..core.errors import PoseUsageError
from .views import AREA_RANGES, persons_by_area, persons_where, visible_count


def _fields(collection, eval_key: str) -> tuple[str, str]:
    """The run's (ground-truth field, prediction field)."""
    if eval_key not in collection.list_evaluations():
        raise PoseUsageError(
            f"no evaluation '{eval_key}'; evaluations: {', '.join(collection.list_evaluations()) or 'none'}"
        )
    config = collection.get_evaluation_info(eval_key).config
    return config.gt_field, config.pred_field


def _image_score(collection, eval_key: str) -> str:
    for name in (f"{eval_key}_ap", f"{eval_key}_pck"):
        if collection.has_field(name):
            return name
    raise PoseUsageError(f"evaluation '{eval_key}' stored no per-image score")


def worst_images(collection, eval_key: str, count: int = 25):
    """The ``count`` images with the lowest own AP (or PCK), worst first; images without a score
    (nothing to find there) are left out."""
    score = _image_score(collection, eval_key)
    return collection.match(F(score) != None).sort_by(score).limit(count)  # noqa: E711 - a database expression


def confident_false_positives(collection, eval_key: str, min_score: float = 0.5):
    """Predicted persons the run counted as false positives although the model scored them at
    least ``min_score`` (the instance ``score``, or the detection's confidence)."""
    _, pred_field = _fields(collection, eval_key)
    expr = (F(eval_key) == "fp") & (F("score") >= min_score)
    return persons_where(collection, expr, pred_field)


def persons_with_worst_joint(collection, eval_key: str, joint: str, predictions: bool = True):
    """Matched persons whose worst joint (lowest per-joint OKS, or largest normalised distance for
    PCK) is ``joint``: the predictions (``predictions=True``) or the ground truth."""
    gt_field, pred_field = _fields(collection, eval_key)
    field = pred_field if predictions else gt_field
    names = collection.get_skeleton(gt_field).labels if collection.get_skeleton(gt_field) else []
    if names and joint not in names:
        raise PoseUsageError(f"the skeleton has no joint {joint!r}; it has: {', '.join(names)}")
    return persons_where(collection, F(f"{eval_key}_worst") == joint, field)


def missed_persons(
    collection,
    eval_key: str,
    size: str | None = None,
    min_visible: int | None = None,
    max_visible: int | None = None,
):
    """Ground-truth persons the model missed (false negatives), optionally of a COCO size class
    (``size`` "small", "medium", "large" on ``area``) and with ``min_visible``..``max_visible``
    visible points (fewer visible points: more occluded)."""
    gt_field, _ = _fields(collection, eval_key)
    view = persons_where(collection, F(eval_key) == "fn", gt_field)
    if size is not None:
        if size not in AREA_RANGES:
            raise PoseUsageError(f"size must be one of {', '.join(AREA_RANGES)}, not {size!r}")
        view = persons_by_area(view, size, label_field=gt_field)
    if min_visible is not None or max_visible is not None:
        view = persons_where(view, visible_count(min_visible, max_visible), gt_field)
    return view


#: the views by name, for the App plugin and the CLI
EVALUATION_VIEWS = {
    "worst_images": worst_images,
    "confident_false_positives": confident_false_positives,
    "persons_with_worst_joint": persons_with_worst_joint,
    "missed_persons": missed_persons,
}
