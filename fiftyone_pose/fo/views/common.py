"""What the curation views share: the option types their signatures declare, and the helpers
that hide persons (their boxes with them), select them, and read the field's skeleton.

Person views hide the other persons (and their linked boxes) with ``filter_labels``; image views
select samples with ``match``. Geometry runs in the database; OKS and swap checks, which need
numpy, compute the persons' ids and return a view that selects them.
"""

from __future__ import annotations

import typing
from typing import Literal, NewType

from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from ...core.errors import PoseUsageError
from ...core.layouts import PARTS
from .. import documents
from ..fields import boxes_field, parts_field, pose_info, resolve_label_field

#: a keypoint name of the field's skeleton (the App offers the skeleton's names)
Joint = NewType("Joint", str)
#: a Human-Art scenario, the image ``category`` (the App offers the collection's categories)
SceneCategory = NewType("SceneCategory", str)
JointState = Literal["visible", "labeled", "occluded", "unlabeled"]
AreaSize = Literal["small", "medium", "large"]
Part = Literal[PARTS]  # "body", "foot", "face", "lefthand", "righthand"
HandSide = Literal["left", "right", "any", "both"]
CrowdLevel = Literal["easy", "medium", "hard"]
Domain = Literal["real_human", "2D_virtual_human", "3D_virtual_human"]


def visible_count(min_count: int | None = None, max_count: int | None = None):
    """Expression: the person has between ``min_count`` and ``max_count`` visible (v=2) points."""
    n = F("visibility").filter(F() == 2).length()
    expr = None
    if min_count is not None:
        expr = n >= min_count
    if max_count is not None:
        expr = (n <= max_count) if expr is None else expr & (n <= max_count)
    if expr is None:
        raise PoseUsageError("give min_count, max_count or both")
    return expr


#: COCO's area ranges (pixels): small < 32², medium 32²..96², large >= 96² (the ``area`` attribute)
AREA_RANGES = {"small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, float("inf"))}
JOINT_STATES = typing.get_args(JointState)


def matching_persons(collection, field: str, expr, only_matches: bool = True):
    """Persons matching ``expr`` (the others hidden), their boxes and part boxes kept in step."""
    return boxes_in_step(collection.filter_labels(field, expr, only_matches=only_matches), field)


def boxes_in_step(view, field: str):
    """``view`` with the boxes and part boxes of the persons it hides hidden too."""
    shown = ViewExpression({"$ifNull": [F(f"${field}.keypoints").map(F(f"instance.{documents.ID}")), []]})
    linked = ViewExpression({"$in": [F(f"instance.{documents.ID}"), shown]})
    for linked_field in (boxes_field(field), parts_field(field)):
        if view.has_field(linked_field):
            view = view.filter_labels(linked_field, linked, only_matches=False)
    return view


def persons_where(collection, expr, label_field: str | None = None, only_matches: bool = True):
    """Persons of ``label_field`` matching the label expression ``expr`` (the others hidden, their
    boxes and part boxes with them), e.g. ``persons_where(ds, F("oks") == "fn")``."""
    return matching_persons(collection, resolve_label_field(collection, label_field), expr, only_matches)


def select_persons(collection, field: str, ids, only_matches: bool = True):
    """The persons with these label ids (the others hidden); ids as strings, so the view
    serialises to JSON (saved views, the App)."""
    return matching_persons(collection, field, F(documents.ID).to_string().is_in([str(i) for i in ids]), only_matches)


def skeleton_info(collection, field: str) -> dict:
    return pose_info(collection, field).get("skeleton") or {}


def joint_index(collection, name: str, label_field: str | None = None) -> int:
    """Index of the keypoint called ``name`` in the field's skeleton (``dataset.skeletons``)."""
    field = resolve_label_field(collection, label_field)
    skeleton = collection.get_skeleton(field)
    labels = (
        list(skeleton.labels)
        if skeleton is not None and skeleton.labels
        else skeleton_info(collection, field).get("keypoints")
    )
    if not labels:
        raise PoseUsageError(f"field '{field}' has no skeleton with keypoint names")
    if name not in labels:
        raise PoseUsageError(f"the skeleton of '{field}' has no keypoint named {name!r}; it has: {', '.join(labels)}")
    return labels.index(name)


def labeled_points():
    """Expression on a person: its labelled points as [[x, y], v] (unlabelled ones are NaN / v=0)."""
    return F.zip(F("points"), F("visibility")).filter((F()[1] > 0) & (F()[0][0] >= -1e300))


def pixel_points():
    """Expression on a person: its labelled points in pixels, as [x, y] pairs."""
    w, h = F("$metadata.width"), F("$metadata.height")
    return labeled_points().map(F()[0]).map(ViewExpression([F()[0] * w, F()[1] * h]))


def require_field(collection, path: str, source: str) -> None:
    if not collection.has_field(path):
        raise PoseUsageError(f"the collection has no '{path}' field; {source} files have it")
