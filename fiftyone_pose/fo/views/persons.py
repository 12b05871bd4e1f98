"""Person and image views of any pose dataset: visible and labelled points, named joints, crowd
regions, sizes, persons per image, and annotation errors (points on the border, outside the image
or outside the person's box)."""

from __future__ import annotations

from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from ...core.errors import PoseUsageError
from ..fields import pose_info, resolve_label_field
from .common import (
    AREA_RANGES,
    JOINT_STATES,
    AreaSize,
    Joint,
    JointState,
    joint_index,
    matching_persons,
    pixel_points,
    visible_count,
)


def persons_with_visible(
    collection,
    min_count: int | None = None,
    max_count: int | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons with N visible points (v = 2).

    Args:
        min_count: at least this many visible points
        max_count: at most this many visible points
    """
    field = resolve_label_field(collection, label_field)
    return matching_persons(collection, field, visible_count(min_count, max_count), only_matches)


def crowd(collection, is_crowd: bool = True, label_field: str | None = None, only_matches: bool = True):
    """Crowd regions, or individual persons.

    Args:
        is_crowd: crowd regions (off: the individual persons)
    """
    field = resolve_label_field(collection, label_field)
    return matching_persons(collection, field, F("iscrowd") == int(is_crowd), only_matches)


def persons_with_labeled(
    collection,
    min_count: int | None = None,
    max_count: int | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons with N labelled points (v > 0).

    Args:
        min_count: at least this many labelled points
        max_count: at most this many labelled points
    """
    field = resolve_label_field(collection, label_field)
    n = F("visibility").filter(F() > 0).length()
    exprs = [
        e
        for e in (None if min_count is None else n >= min_count, None if max_count is None else n <= max_count)
        if e is not None
    ]
    if not exprs:
        raise PoseUsageError("give min_count, max_count or both")
    return matching_persons(collection, field, F.all(exprs), only_matches)


def persons_with_joint(
    collection,
    names: Joint | list[Joint],
    state: JointState = "visible",
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons with a named joint visible, labelled, occluded or unlabelled.

    Joints are found by name in the field's skeleton, e.g.
    ``persons_with_joint(ds, "left_wrist", "labeled")``.

    Args:
        names: the joint (or joints, all of them) by keypoint name
        state: visible (v=2), labeled (v>0), occluded (v=1) or unlabeled (v=0)
    """
    field = resolve_label_field(collection, label_field)
    if state not in JOINT_STATES:
        raise PoseUsageError(f"state must be one of {', '.join(JOINT_STATES)}, not {state!r}")
    exprs = []
    for name in [names] if isinstance(names, str) else list(names):
        v = F("visibility")[joint_index(collection, name, field)]
        exprs.append({"visible": v == 2, "labeled": v > 0, "occluded": v == 1, "unlabeled": v == 0}[state])
    if not exprs:
        raise PoseUsageError("give at least one joint name")
    return matching_persons(collection, field, F.all(exprs), only_matches)


def persons_by_area(
    collection,
    size: AreaSize | None = None,
    min_area: float | None = None,
    max_area: float | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons by COCO area class or area range.

    The ``area`` attribute is compared; persons without an area are hidden.

    Args:
        size: COCO's class: small (< 32²), medium (32²..96²) or large (>= 96²)
        min_area: area at least this (pixels²)
        max_area: area below this (pixels²)
    """
    field = resolve_label_field(collection, label_field)
    if size is not None:
        if size not in AREA_RANGES:
            raise PoseUsageError(f"size must be one of {', '.join(AREA_RANGES)}, not {size!r}")
        min_area, max_area = AREA_RANGES[size]
    exprs = [F("area").is_number()]
    if min_area is not None:
        exprs.append(F("area") >= min_area)
    if max_area is not None and max_area != float("inf"):
        exprs.append(F("area") < max_area)
    return matching_persons(collection, field, F.all(exprs), only_matches)


def images_by_person_count(
    collection,
    min_count: int | None = None,
    max_count: int | None = None,
    include_crowd: bool = False,
    label_field: str | None = None,
):
    """Images by number of persons.

    The images keep all their persons.

    Args:
        min_count: at least this many persons
        max_count: at most this many persons
        include_crowd: count crowd regions as persons
    """
    field = resolve_label_field(collection, label_field)
    persons = F(f"{field}.keypoints")
    if not include_crowd:
        persons = persons.filter(F("iscrowd") != 1)
    n = persons.length()
    exprs = [
        e
        for e in (None if min_count is None else n >= min_count, None if max_count is None else n <= max_count)
        if e is not None
    ]
    if not exprs:
        raise PoseUsageError("give min_count, max_count or both")
    return collection.match(F.all(exprs))


def images_without_persons(collection, labeled_only: bool = True, label_field: str | None = None):
    """Images without persons (crowd regions aside).

    Args:
        labeled_only: persons without a labelled point (a box only) do not count
    """
    field = resolve_label_field(collection, label_field)
    persons = F(f"{field}.keypoints").filter(F("iscrowd") != 1)
    if labeled_only:
        persons = persons.filter(F("visibility").filter(F() > 0).length() > 0)
    return collection.match(persons.length() == 0)


def truncated(collection, margin: float = 1.0, label_field: str | None = None, only_matches: bool = True):
    """Truncated persons: a labelled point on the image border.

    The point is inside the image and within ``margin`` pixels of an edge (x <= margin,
    y <= margin, x >= width - margin or y >= height - margin). Points outside the image are
    errors (``outside_image``), not truncation.

    Args:
        margin: distance from the edge (pixels)
    """
    field = resolve_label_field(collection, label_field)
    w, h = F("$metadata.width"), F("$metadata.height")
    inside = (F()[0] >= 0) & (F()[1] >= 0) & (F()[0] <= w) & (F()[1] <= h)
    on_border = inside & ((F()[0] <= margin) | (F()[1] <= margin) | (F()[0] >= w - margin) | (F()[1] >= h - margin))
    return matching_persons(collection, field, pixel_points().filter(on_border).length() > 0, only_matches)


def outside_image(collection, tolerance: float = 0.0, label_field: str | None = None, only_matches: bool = True):
    """Points outside the image (annotation errors).

    Persons with a labelled point more than ``tolerance`` pixels beyond [0, width] x [0, height].

    Args:
        tolerance: pixels allowed beyond the image
    """
    field = resolve_label_field(collection, label_field)
    w, h = F("$metadata.width"), F("$metadata.height")
    t = tolerance
    outside = (F()[0] < -t) | (F()[1] < -t) | (F()[0] > w + t) | (F()[1] > h + t)
    return matching_persons(collection, field, pixel_points().filter(outside).length() > 0, only_matches)


def outside_box(collection, tolerance: float = 1.0, label_field: str | None = None, only_matches: bool = True):
    """Points outside the person's box (annotation errors).

    Persons with a labelled point more than ``tolerance`` pixels outside their box (the exact
    ``bbox`` attribute, x, y, w, h). Persons without a box are hidden.

    Args:
        tolerance: pixels allowed beyond the box
    """
    field = resolve_label_field(collection, label_field)
    origin = pose_info(collection, field).get("origin", 0)  # 1: the file counts pixels from 1
    x0, y0 = F("$$box")[0] - origin, F("$$box")[1] - origin
    x1, y1 = x0 + F("$$box")[2], y0 + F("$$box")[3]
    t = tolerance
    outside = (F()[0] < x0 - t) | (F()[1] < y0 - t) | (F()[0] > x1 + t) | (F()[1] > y1 + t)
    expr = ViewExpression({"$let": {"vars": {"box": F("bbox")}, "in": pixel_points().filter(outside).length() > 0}})
    return matching_persons(collection, field, (F("bbox").length() == 4) & expr, only_matches)
