"""Views of body parts (COCO-WholeBody, Halpe).

A part's points are found by keypoint name in the field's skeleton (core.layouts.PART_RULES),
never by position: the same functions work on COCO-WholeBody (133) and Halpe (136) datasets.
"""

from __future__ import annotations

from fiftyone import ViewField as F

from ...core.errors import PoseUsageError
from ...core.layouts import PARTS, part_indices, runs
from ..fields import resolve_label_field
from .common import HandSide, Part, boxes_in_step, matching_persons


def _part_runs(collection, field: str, part: str) -> list[tuple[int, int]]:
    """The (start, stop) runs of the part's point indices in the field's skeleton."""
    skeleton = collection.get_skeleton(field)
    if skeleton is None or not skeleton.labels:
        raise PoseUsageError(f"field '{field}' has no skeleton; import it with fiftyone_pose.load")
    if part not in PARTS:
        raise PoseUsageError(f"unknown part {part!r}; parts: {', '.join(PARTS)}")
    index = part_indices(skeleton.labels, part)
    if not len(index):
        raise PoseUsageError(f"the skeleton of '{field}' has no '{part}' points")
    return runs(index)


def part_expr(
    collection,
    part: str,
    min_visible: int | None = 1,
    max_visible: int | None = None,
    valid: bool | None = None,
    labeled: bool = False,
    label_field: str | None = None,
):
    """Expression on a person: its ``part`` has ``min_visible``..``max_visible`` visible points
    (``labeled=True``: labeled points, v > 0) and, with ``valid``, the part's ``<part>_valid`` flag
    (COCO-WholeBody) is ``valid``; a layout without flags (Halpe) counts a part as valid when it
    has a labeled point. ``part``: "body", "foot", "face", "lefthand" or "righthand"."""
    field = resolve_label_field(collection, label_field)
    spans = _part_runs(collection, field, part)
    points = F("visibility")[spans[0][0] : spans[0][1]]
    for lo, hi in spans[1:]:
        points = points.extend(F("visibility")[lo:hi])
    shown = points.filter(F() > 0 if labeled else F() == 2).length()
    exprs = []
    if min_visible is not None:
        exprs.append(shown >= min_visible)
    if max_visible is not None:
        exprs.append(shown <= max_visible)
    if valid is not None:
        flag = f"{part}_valid"
        if collection.has_field(f"{field}.keypoints.{flag}"):
            exprs.append(F(flag) == valid)
        else:
            has_labeled = points.filter(F() > 0).length() > 0
            exprs.append(has_labeled if valid else ~has_labeled)
    if not exprs:
        raise PoseUsageError("give min_visible, max_visible or valid")
    expr = exprs[0]
    for e in exprs[1:]:
        expr = expr & e
    return expr


def part_visible(
    collection,
    part: Part,
    min_visible: int | None = 1,
    max_visible: int | None = None,
    valid: bool | None = None,
    labeled: bool = False,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons by the visible points of a body part (whole-body layouts).

    With ``valid``, the part's flag must be ``valid`` too (see ``part_expr``). E.g.
    ``part_visible(ds, "lefthand", min_visible=15, valid=True)``.

    Args:
        part: body, foot, face, lefthand or righthand (found by keypoint name)
        min_visible: at least this many visible points on the part
        max_visible: at most this many visible points on the part
        valid: the part's <part>_valid flag (Halpe: the part has a labelled point)
        labeled: count labelled points (v > 0) instead of visible ones
    """
    field = resolve_label_field(collection, label_field)
    expr = part_expr(collection, part, min_visible, max_visible, valid, labeled, field)
    return matching_persons(collection, field, expr, only_matches)


def face_visible(
    collection,
    min_visible: int | None = 1,
    valid: bool | None = None,
    labeled: bool = False,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons by the visible points of the face (whole-body layouts).

    ``part_visible`` for the face.

    Args:
        min_visible: at least this many visible face points
        valid: the face_valid flag (Halpe: the face has a labelled point)
        labeled: count labelled points (v > 0) instead of visible ones
    """
    return part_visible(
        collection, "face", min_visible, None, valid, labeled, label_field=label_field, only_matches=only_matches
    )


def hands_visible(
    collection,
    side: HandSide = "any",
    min_visible: int | None = 1,
    valid: bool | None = None,
    labeled: bool = False,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons by the visible points of their hands (whole-body layouts).

    Args:
        side: left, right, any (either hand) or both hands
        min_visible: at least this many visible points on the hand(s)
        valid: the hands' <hand>_valid flags (Halpe: the hand has a labelled point)
        labeled: count labelled points (v > 0) instead of visible ones
    """
    field = resolve_label_field(collection, label_field)
    hands = {
        "left": ["lefthand"],
        "right": ["righthand"],
        "any": ["lefthand", "righthand"],
        "both": ["lefthand", "righthand"],
    }
    if side not in hands:
        raise PoseUsageError(f"side must be one of {', '.join(hands)}, not {side!r}")
    exprs = [part_expr(collection, h, min_visible, None, valid, labeled, field) for h in hands[side]]
    expr = exprs[0] if len(exprs) == 1 else (exprs[0] | exprs[1]) if side == "any" else (exprs[0] & exprs[1])
    return matching_persons(collection, field, expr, only_matches)


def only_parts(collection, parts: Part | list[Part], label_field: str | None = None, only_matches: bool = True):
    """Only the points of some body parts (the others hidden).

    An export writes the hidden points as unlabelled. Persons without a point of these parts
    are hidden (``only_matches=False``: every person stays). E.g. ``only_parts(ds, ["face"])``.

    Args:
        parts: the parts to keep: body, foot, face, lefthand, righthand
    """
    field = resolve_label_field(collection, label_field)
    parts = [parts] if isinstance(parts, str) else list(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise PoseUsageError(f"unknown part {unknown[0]!r}; parts: {', '.join(PARTS)}")
    labels = list(collection.get_skeleton(field).labels)
    keep = sorted({int(i) for p in parts for i in part_indices(labels, p)})
    view = collection.filter_keypoints(field, labels=[labels[i] for i in keep], only_matches=only_matches)
    return boxes_in_step(view, field)
