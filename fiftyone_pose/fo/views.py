"""Pose curation as FiftyOne views: each function takes a collection and returns a view.

They chain with every FiftyOne stage, and a view's export holds exactly the persons it shows:
person views hide the other persons together with their boxes, image views keep each image's
persons. Every view takes ``label_field=`` (the keypoints field; default: the one imported
first) and the person views ``only_matches=`` (hide images without a matching person).

``CURATION_VIEWS`` names them all. Their signatures and docstrings are the single description
of their options: ``view_parameters`` reads them (type hints, defaults, the ``Args:`` entries)
for the App's Curate form and the ``fiftyone-pose curate`` command, and ``apply_view`` runs a
view by name with the values those give.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal, NewType

import docstring_parser
import numpy as np
from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from ..core.errors import Option, PoseUsageError
from ..core.layouts import PARTS
from .adapter import INFO_KEY, boxes_field, parts_field, resolve_label_field

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
    return _persons(collection, field, visible_count(min_count, max_count), only_matches)


def crowd(collection, is_crowd: bool = True, label_field: str | None = None, only_matches: bool = True):
    """Crowd regions, or individual persons.

    Args:
        is_crowd: crowd regions (off: the individual persons)
    """
    field = resolve_label_field(collection, label_field)
    return _persons(collection, field, F("iscrowd") == int(is_crowd), only_matches)


# --- curation views (issue 8): counts, joints, sizes, borders, annotation errors, duplicates, swaps
# Person views hide the other persons (and their linked boxes) with ``filter_labels``; image views
# select samples with ``match``. Geometry runs in the database; OKS and swap checks, which need
# numpy, compute the persons' ids and return a view that selects them.

#: COCO's area ranges (pixels): small < 32², medium 32²..96², large >= 96² (the ``area`` attribute)
AREA_RANGES = {"small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, float("inf"))}
JOINT_STATES = typing.get_args(JointState)


def _persons(collection, field: str, expr, only_matches: bool = True):
    """Persons matching ``expr`` (the others hidden), their boxes and part boxes kept in step."""
    return _boxes_in_step(collection.filter_labels(field, expr, only_matches=only_matches), field)


def _boxes_in_step(view, field: str):
    """``view`` with the boxes and part boxes of the persons it hides hidden too."""
    shown = ViewExpression({"$ifNull": [F(f"${field}.keypoints").map(F("instance._id")), []]})
    linked = ViewExpression({"$in": [F("instance._id"), shown]})
    for linked_field in (boxes_field(field), parts_field(field)):
        if view.has_field(linked_field):
            view = view.filter_labels(linked_field, linked, only_matches=False)
    return view


def persons_where(collection, expr, label_field: str | None = None, only_matches: bool = True):
    """Persons of ``label_field`` matching the label expression ``expr`` (the others hidden, their
    boxes and part boxes with them), e.g. ``persons_where(ds, F("oks") == "fn")``."""
    return _persons(collection, resolve_label_field(collection, label_field), expr, only_matches)


def _select_persons(collection, field: str, ids, only_matches: bool = True):
    """The persons with these label ids (the others hidden); ids as strings, so the view
    serialises to JSON (saved views, the App)."""
    return _persons(collection, field, F("_id").to_string().is_in([str(i) for i in ids]), only_matches)


def _pose_info(collection, field: str) -> dict:
    return (collection._root_dataset.info.get(INFO_KEY, {}).get(field) or {}).get("skeleton") or {}


def joint_index(collection, name: str, label_field: str | None = None) -> int:
    """Index of the keypoint called ``name`` in the field's skeleton (``dataset.skeletons``)."""
    field = resolve_label_field(collection, label_field)
    skeleton = collection.get_skeleton(field)
    labels = (
        list(skeleton.labels)
        if skeleton is not None and skeleton.labels
        else _pose_info(collection, field).get("keypoints")
    )
    if not labels:
        raise PoseUsageError(f"field '{field}' has no skeleton with keypoint names")
    if name not in labels:
        raise PoseUsageError(f"the skeleton of '{field}' has no keypoint named {name!r}; it has: {', '.join(labels)}")
    return labels.index(name)


def _labeled_points():
    """Expression on a person: its labelled points as [[x, y], v] (unlabelled ones are NaN / v=0)."""
    return F.zip(F("points"), F("visibility")).filter((F()[1] > 0) & (F()[0][0] >= -1e300))


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
    return _persons(collection, field, F.all(exprs), only_matches)


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
    return _persons(collection, field, F.all(exprs), only_matches)


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
    return _persons(collection, field, F.all(exprs), only_matches)


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


def _pixel_points():
    """Expression on a person: its labelled points in pixels, as [x, y] pairs."""
    w, h = F("$metadata.width"), F("$metadata.height")
    return _labeled_points().map(F()[0]).map(ViewExpression([F()[0] * w, F()[1] * h]))


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
    return _persons(collection, field, _pixel_points().filter(on_border).length() > 0, only_matches)


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
    return _persons(collection, field, _pixel_points().filter(outside).length() > 0, only_matches)


def outside_box(collection, tolerance: float = 1.0, label_field: str | None = None, only_matches: bool = True):
    """Points outside the person's box (annotation errors).

    Persons with a labelled point more than ``tolerance`` pixels outside their box (the exact
    ``bbox`` attribute, x, y, w, h). Persons without a box are hidden.

    Args:
        tolerance: pixels allowed beyond the box
    """
    field = resolve_label_field(collection, label_field)
    origin = (collection._root_dataset.info.get(INFO_KEY, {}).get(field) or {}).get(
        "origin", 0
    )  # 1: the file counts pixels from 1
    x0, y0 = F("$$box")[0] - origin, F("$$box")[1] - origin
    x1, y1 = x0 + F("$$box")[2], y0 + F("$$box")[3]
    t = tolerance
    outside = (F()[0] < x0 - t) | (F()[1] < y0 - t) | (F()[0] > x1 + t) | (F()[1] > y1 + t)
    expr = ViewExpression({"$let": {"vars": {"box": F("bbox")}, "in": _pixel_points().filter(outside).length() > 0}})
    return _persons(collection, field, (F("bbox").length() == 4) & expr, only_matches)


def _person_arrays(collection, field: str) -> list[dict]:
    """Per image: label ids, pixel points (NaN where unlabelled), visibility, areas, crowd flags."""
    kp = f"{field}.keypoints"
    rows = collection.values(
        [
            "metadata.width",
            "metadata.height",
            f"{kp}.id",
            f"{kp}.points",
            f"{kp}.visibility",
            f"{kp}.area",
            f"{kp}.bbox",
            f"{kp}.iscrowd",
        ]
    )
    out = []
    for w, h, ids, points, vis, areas, boxes, crowd_flags in zip(*rows):
        if not ids:
            continue
        n = len(ids)
        pts = np.array([p if p is not None else [] for p in points], dtype=np.float64).reshape(n, -1, 2) * [w, h]
        v = np.array([x if x is not None else [2] * pts.shape[1] for x in vis], dtype=np.int64)
        pts[v == 0] = np.nan
        area = np.array([np.nan if a is None else a for a in areas], dtype=np.float64)
        box_area = np.array([b[2] * b[3] if b else np.nan for b in boxes], dtype=np.float64)
        area = np.where(np.isnan(area), box_area, area)
        out.append({"ids": ids, "points": pts, "area": area, "crowd": np.array([bool(c) for c in crowd_flags])})
    return out


def oks_matrix(points: np.ndarray, areas: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """COCO's object keypoint similarity between every two persons of one image: entry [a, b]
    takes ``a`` as ground truth (its labelled points, its area) and ``b`` as prediction, i.e. the
    mean over a's labelled points of exp(-d²/(2 area (2 sigma)²)); ``b``'s unlabelled points score 0.
    ``points``: (n, k, 2) pixels with NaN where unlabelled."""
    labeled = ~np.isnan(points[..., 0])  # (n, k)
    d2 = ((points[:, None] - points[None, :]) ** 2).sum(axis=-1)  # (n, n, k), NaN where either is unlabelled
    e = d2 / ((2 * sigmas) ** 2) / (areas[:, None, None] + np.spacing(1)) / 2
    sim = np.exp(-np.nan_to_num(e, nan=np.inf))
    sim = np.where(labeled[:, None, :], sim, 0.0)
    n_labeled = labeled.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_labeled[:, None] > 0, sim.sum(axis=-1) / n_labeled[:, None], 0.0)


def duplicate_ids(collection, threshold: float = 0.9, sigmas=None, label_field: str | None = None) -> list[str]:
    """Label ids of the persons that have, in the same image, another person whose OKS with them
    is above ``threshold`` (the larger of the two directions; crowd regions are not compared)."""
    field = resolve_label_field(collection, label_field)
    if sigmas is None:
        sigmas = _pose_info(collection, field).get("sigmas")
        if sigmas is None:
            raise PoseUsageError(f"field '{field}' has no OKS sigmas in dataset.info; ", Option("sigmas"))
    sigmas = np.asarray(sigmas, dtype=np.float64)
    found: list[str] = []
    for image in _person_arrays(collection, field):
        live = np.flatnonzero(~image["crowd"] & ~np.isnan(image["points"][..., 0]).all(axis=1))
        if len(live) < 2:
            continue
        sim = oks_matrix(image["points"][live], image["area"][live], sigmas)
        sim = np.maximum(sim, sim.T)
        np.fill_diagonal(sim, 0.0)
        found.extend(image["ids"][i] for i in live[(sim > threshold).any(axis=1)])
    return found


def duplicates(
    collection,
    threshold: float = 0.9,
    sigmas: list[float] | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Duplicate persons: OKS with another person of the image above a threshold.

    Both persons are shown. OKS uses the dataset's sigmas
    (``dataset.info["fiftyone_pose"][field]["skeleton"]``) unless ``sigmas`` are given.

    Args:
        threshold: OKS above this
        sigmas: OKS sigma per keypoint (default: the dataset's)
    """
    field = resolve_label_field(collection, label_field)
    return _select_persons(collection, field, duplicate_ids(collection, threshold, sigmas, field), only_matches)


def _mirrored_edges(collection, field: str) -> list[tuple[int, int, int, int]]:
    """Skeleton edges (i, j) between two flip-paired joints whose mirror (i', j') is an edge too."""
    flips = _pose_info(collection, field).get("flip_pairs")
    if not flips:
        raise PoseUsageError(f"field '{field}' has no flip pairs in dataset.info; swaps cannot be checked")
    mate = {}
    for a, b in flips:
        mate[int(a)], mate[int(b)] = int(b), int(a)
    skeleton = collection.get_skeleton(field)
    edges = {tuple(sorted(e)) for e in (skeleton.edges if skeleton is not None else []) if len(e) == 2}
    out = []
    for i, j in sorted(edges):
        if i in mate and j in mate and mate[i] != j:
            mirror = tuple(sorted((mate[i], mate[j])))
            if mirror in edges and (i, j) < mirror:
                out.append((i, j, mate[i], mate[j]))
    return out


def swap_ids(collection, ratio: float = 0.9, label_field: str | None = None) -> list[str]:
    """Label ids of persons with a suspected left/right swap: for a limb and its mirror (skeleton
    edges between flip-paired joints), joining each joint to the other side's neighbour is
    shorter than ``ratio`` times the limbs as labelled. A person mirrored as a whole is not found."""
    field = resolve_label_field(collection, label_field)
    limbs = _mirrored_edges(collection, field)
    found: list[str] = []
    if not limbs:
        return found
    i, j, mi, mj = (np.array(c) for c in zip(*limbs))
    for image in _person_arrays(collection, field):
        p = image["points"]  # (n, k, 2)

        def dist(a, b, p=p):
            return np.linalg.norm(p[:, a] - p[:, b], axis=-1)  # (n, limbs), NaN where unlabelled

        straight = dist(i, j) + dist(mi, mj)
        crossed = dist(i, mj) + dist(mi, j)
        with np.errstate(invalid="ignore"):
            suspect = (crossed < ratio * straight) & ~image["crowd"][:, None]
        found.extend(image["ids"][r] for r in np.flatnonzero(suspect.any(axis=1)))
    return found


def swaps(collection, ratio: float = 0.9, label_field: str | None = None, only_matches: bool = True):
    """Suspected left/right swaps, from the skeleton's flip pairs.

    See ``swap_ids``.

    Args:
        ratio: crossed limbs shorter than this times the limbs as labelled
    """
    field = resolve_label_field(collection, label_field)
    return _select_persons(collection, field, swap_ids(collection, ratio, field), only_matches)


# --- body parts (COCO-WholeBody, Halpe)
# A part's points are found by keypoint name in the field's skeleton (core.layouts.PART_RULES),
# never by position: the same functions work on COCO-WholeBody (133) and Halpe (136) datasets.


def _part_runs(collection, field: str, part: str) -> list[tuple[int, int]]:
    from ..core.layouts import part_indices, runs

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
    return _persons(collection, field, expr, only_matches)


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
    return _persons(collection, field, expr, only_matches)


def only_parts(collection, parts: Part | list[Part], label_field: str | None = None, only_matches: bool = True):
    """Only the points of some body parts (the others hidden).

    An export writes the hidden points as unlabelled. Persons without a point of these parts
    are hidden (``only_matches=False``: every person stays). E.g. ``only_parts(ds, ["face"])``.

    Args:
        parts: the parts to keep: body, foot, face, lefthand, righthand
    """
    from ..core.layouts import part_indices

    field = resolve_label_field(collection, label_field)
    parts = [parts] if isinstance(parts, str) else list(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise PoseUsageError(f"unknown part {unknown[0]!r}; parts: {', '.join(PARTS)}")
    labels = list(collection.get_skeleton(field).labels)
    keep = sorted({int(i) for p in parts for i in part_indices(labels, p)})
    view = collection.filter_keypoints(field, labels=[labels[i] for i in keep], only_matches=only_matches)
    return _boxes_in_step(view, field)


# --- dataset-specific views (CrowdPose, OCHuman, Human-Art)
# The crowd-index and scene views select images (with all their persons); the occlusion view
# selects persons (the others are hidden, so an export holds exactly the persons shown).

#: CrowdPose's benchmark subsets by image crowd index, as the CrowdPose paper defines them (the
#: format reference only says the benchmark reports easy / medium / hard)
CROWD_INDEX_LEVELS = {"easy": "crowdIndex < 0.1", "medium": "0.1 <= crowdIndex <= 0.8", "hard": "crowdIndex > 0.8"}
#: Human-Art's image domains: the folder under ``images/`` in ``file_name``
HUMANART_DOMAINS = typing.get_args(Domain)


def _require_field(collection, path: str, source: str) -> None:
    if not collection.has_field(path):
        raise PoseUsageError(f"the collection has no '{path}' field; {source} files have it")


def crowd_index(
    collection,
    level: CrowdLevel | None = None,
    min_index: float | None = None,
    max_index: float | None = None,
    label_field: str | None = None,
):
    """CrowdPose images by crowd index.

    ``level`` picks CrowdPose's benchmark subsets, or give the range ``min_index`` <= crowd
    index <= ``max_index``. Images without a crowd index (the sample field ``crowdIndex``) are
    left out; each image keeps all its persons. E.g. ``crowd_index(ds, "hard")``.

    Args:
        level: easy (< 0.1), medium (0.1 to 0.8) or hard (> 0.8)
        min_index: crowd index at least this
        max_index: crowd index at most this
    """
    resolve_label_field(collection, label_field)  # a pose collection; the crowd index is per image
    _require_field(collection, "crowdIndex", "CrowdPose")
    value = F("crowdIndex")
    if level is not None:
        if min_index is not None or max_index is not None:
            raise PoseUsageError("give level, or min_index/max_index, not both")
        levels = {"easy": value < 0.1, "medium": (value >= 0.1) & (value <= 0.8), "hard": value > 0.8}
        if level not in levels:
            raise PoseUsageError(f"level must be one of {', '.join(levels)}, not {level!r}")
        expr = levels[level]
    else:
        if min_index is None and max_index is None:
            raise PoseUsageError("give level, min_index or max_index")
        parts = ([value >= min_index] if min_index is not None else []) + (
            [value <= max_index] if max_index is not None else []
        )
        expr = parts[0] if len(parts) == 1 else parts[0] & parts[1]
    return collection.match(value.exists() & expr)


def occlusion(
    collection,
    min_iou: float | None = None,
    max_iou: float | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """OCHuman persons by occlusion (box IoU with another person).

    ``min_iou`` <= ``max_iou`` attribute < ``max_iou``, the largest box IoU with another person of
    the image; half-open, so adjacent ranges split the persons. Persons without ``max_iou`` (e.g.
    from the COCO-style files, which lack it) are hidden. E.g. ``occlusion(ds, min_iou=0.5)``,
    ``occlusion(ds, 0.25, 0.5)``.

    Args:
        min_iou: largest IoU with another person at least this
        max_iou: largest IoU with another person below this
    """
    field = resolve_label_field(collection, label_field)
    _require_field(collection, f"{field}.keypoints.max_iou", "native OCHuman (ochuman.json)")
    if min_iou is None and max_iou is None:
        raise PoseUsageError("give min_iou, max_iou or both")
    value = F("max_iou")
    expr = value.exists()
    if min_iou is not None:
        expr = expr & (value >= min_iou)
    if max_iou is not None:
        expr = expr & (value < max_iou)
    return _persons(collection, field, expr, only_matches)


def scene_category(
    collection,
    categories: SceneCategory | list[SceneCategory] | None = None,
    domains: Domain | list[Domain] | None = None,
    label_field: str | None = None,
):
    """Human-Art images by scenario and/or domain.

    The scenario is the image's ``category`` (e.g. "cartoon"), the domain the folder under
    ``images/`` in ``file_name``. Each image keeps all its persons. E.g.
    ``scene_category(ds, ["cartoon", "oil_painting"])``, ``scene_category(ds, domains="real_human")``.

    Args:
        categories: the scenario (or scenarios), e.g. cartoon
        domains: real_human, 2D_virtual_human or 3D_virtual_human (or several)
    """
    import re

    resolve_label_field(collection, label_field)  # a pose collection; the scene is per image
    exprs = []
    if categories is not None:
        _require_field(collection, "category", "Human-Art")
        exprs.append(F("category").is_in([categories] if isinstance(categories, str) else list(categories)))
    if domains is not None:
        wanted = [domains] if isinstance(domains, str) else list(domains)
        unknown = [d for d in wanted if d not in HUMANART_DOMAINS]
        if unknown:
            raise PoseUsageError(f"unknown domain {unknown[0]!r}; domains: {', '.join(HUMANART_DOMAINS)}")
        exprs.append(F("file_name").re_match(r"(^|/)(" + "|".join(map(re.escape, wanted)) + r")/"))
    if not exprs:
        raise PoseUsageError("give categories, domains or both")
    return collection.match(exprs[0] if len(exprs) == 1 else exprs[0] & exprs[1])


#: the curation views by name: the App's Curate form and ``fiftyone-pose curate`` offer them all
CURATION_VIEWS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        persons_with_visible,
        persons_with_labeled,
        persons_with_joint,
        crowd,
        persons_by_area,
        images_by_person_count,
        images_without_persons,
        truncated,
        outside_image,
        outside_box,
        duplicates,
        swaps,
        part_visible,
        face_visible,
        hands_visible,
        only_parts,
        crowd_index,
        occlusion,
        scene_category,
    )
}

# --- the views described by their own signatures, for the App's form and the CLI

#: parameters every view shares, offered by the App and the CLI in their own way (or not at all)
_COMMON = ("collection", "label_field", "only_matches")
#: value types whose choices are read from the collection
_SOURCES = {Joint: "joint", SceneCategory: "scene_category"}


@dataclasses.dataclass(frozen=True)
class ViewParameter:
    """One option of a curation view, as its signature and docstring declare it."""

    name: str
    #: int, float, bool or str
    type: type
    default: Any
    required: bool
    #: a list of values is accepted (one value also is)
    many: bool
    #: the values allowed (a ``Literal`` type)
    choices: tuple | None
    #: "joint" or "scene_category": the values are read from the collection (``parameter_choices``)
    source: str | None
    help: str

    def coerce(self, value: Any) -> Any:
        """``value`` as the view takes it, from the App's form (bools of optional flags come as
        "true" / "false") or the CLI (lists of one value); None when not given."""
        if value is None or value == "" or value == []:
            return None
        if self.many:
            values = [self._one(v) for v in ([value] if isinstance(value, str | int | float) else value)]
            return values
        return self._one(value)

    def _one(self, value: Any) -> Any:
        if self.type is bool and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise PoseUsageError(f"{self.name}: expected true or false, not {value!r}")
            return value.lower() == "true"
        try:
            value = self.type(value)
        except (TypeError, ValueError):
            raise PoseUsageError(f"{self.name}: expected {self.type.__name__}, not {value!r}") from None
        if self.choices is not None and value not in self.choices:
            raise PoseUsageError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        return value


def view_summary(name: str) -> str:
    """The first line of the view's docstring: what it shows (a label for the App and the CLI)."""
    return (docstring_parser.parse(inspect.getdoc(_view(name)) or "").short_description or name).rstrip(".")


def view_description(name: str) -> str:
    """The view's docstring without its ``Args:`` section."""
    doc = docstring_parser.parse(inspect.getdoc(_view(name)) or "")
    return "\n\n".join(t for t in (doc.short_description, doc.long_description) if t)


def view_parameters(name: str) -> list[ViewParameter]:
    """The options of the view ``name`` (``label_field`` and ``only_matches`` aside), read from
    its signature (type hints, defaults) and the ``Args:`` entries of its docstring."""
    view = _view(name)
    hints = typing.get_type_hints(view)
    helps = {p.arg_name: p.description or "" for p in docstring_parser.parse(inspect.getdoc(view) or "").params}
    out = []
    for param in inspect.signature(view).parameters.values():
        if param.name in _COMMON:
            continue
        base, many = _unwrap(hints[param.name])
        choices = typing.get_args(base) if typing.get_origin(base) is Literal else None
        source = _SOURCES.get(base)
        out.append(
            ViewParameter(
                name=param.name,
                type=type(choices[0]) if choices else getattr(base, "__supertype__", base),
                default=None if param.default is inspect.Parameter.empty else param.default,
                required=param.default is inspect.Parameter.empty,
                many=many,
                choices=choices,
                source=source,
                help=helps.get(param.name, ""),
            )
        )
    return out


def parameter_choices(collection, parameter: ViewParameter, label_field: str | None = None) -> list:
    """The values ``parameter`` can take on ``collection``: its ``Literal`` choices, the keypoint
    names of the field's skeleton (joints) or the collection's scene categories."""
    if parameter.source == "joint":
        skeleton = collection.get_skeleton(resolve_label_field(collection, label_field))
        return list(skeleton.labels) if skeleton is not None and skeleton.labels else []
    if parameter.source == "scene_category":
        return sorted(collection.distinct("category")) if collection.has_field("category") else []
    return list(parameter.choices or [])


def apply_view(collection, name: str, label_field: str | None = None, **values):
    """The view ``name`` of ``collection`` with these option values (as the App's form or the
    CLI give them: see ``ViewParameter.coerce``); options not given take the view's defaults."""
    params = {p.name: p for p in view_parameters(name)}
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise PoseUsageError(f"the view {name} has no option {unknown[0]!r}; options: {', '.join(params) or 'none'}")
    kwargs = {}
    for key, value in values.items():
        value = params[key].coerce(value)
        if value is not None:
            kwargs[key] = value
    missing = [p.name for p in params.values() if p.required and p.name not in kwargs]
    if missing:
        raise PoseUsageError(f"the view {name} needs {missing[0]!r}")
    return CURATION_VIEWS[name](collection, label_field=label_field, **kwargs)


def _view(name: str) -> Callable:
    try:
        return CURATION_VIEWS[name]
    except KeyError:
        raise PoseUsageError(f"unknown view {name!r}; views: {', '.join(CURATION_VIEWS)}") from None


def _unwrap(hint) -> tuple[Any, bool]:
    """(value type, whether a list is allowed) of a type hint such as ``Joint | list[Joint] | None``."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    args = [a for a in args if a is not type(None)]
    lists = [typing.get_args(a)[0] for a in args if typing.get_origin(a) in (list, Sequence)]
    singles = [a for a in args if typing.get_origin(a) not in (list, Sequence)]
    base = (lists or singles)[0]
    return base, bool(lists)


# --- Human3.6M (issue 17): reprojection errors and sequences; see fiftyone_pose.fo.h36m


def reprojection_error(
    collection, min_px: float = 10.0, max_px: float | None = None, field: str = "reprojection_error"
):
    """Human3.6M frames whose 2D points are ``min_px`` pixels or more (and less than ``max_px``)
    from the projection of their 3D points through the camera, largest first (the sample field
    ``reprojection_error``: the worst person's mean over its joints, set by an import with
    cameras). On a grouped dataset the view shows whole groups: every frame one of whose views
    matches, all its slices. E.g. ``reprojection_error(ds, min_px=5)``."""
    flat = collection.select_group_slices(media_type="image") if collection.media_type == "group" else collection
    _require_field(flat, field, "import Human3.6M with its cameras (cameras=..., --cameras)")
    value = F(field)
    expr = value.exists() & (value >= min_px)
    if max_px is not None:
        expr = expr & (value < max_px)
    matches = flat.match(expr).sort_by(field, reverse=True)
    if flat is collection:
        return matches
    return collection.select_groups(list(dict.fromkeys(matches.values("group.id"))), ordered=True)


def sequences(collection):
    """Human3.6M image samples as dynamic groups, one per (subject, action, camera) in ``frame``
    order: the App steps through and plays each sequence (the image slices of a grouped dataset)."""
    flat = collection.select_group_slices(media_type="image") if collection.media_type == "group" else collection
    return flat.group_by(["subject", "action", "camera"], order_by="frame")
