"""Pose curation as FiftyOne views: each function takes a collection and returns a view.

They chain with every FiftyOne stage, and a view's export holds exactly the persons it shows.
"""

from __future__ import annotations

import numpy as np
from fiftyone import ViewField as F
from fiftyone.core.expressions import ViewExpression

from .adapter import INFO_KEY, boxes_field, parts_field, resolve_label_field


def visible_count(min_count: int | None = None, max_count: int | None = None):
    """Expression: the person has between ``min_count`` and ``max_count`` visible (v=2) points."""
    n = F("visibility").filter(F() == 2).length()
    expr = None
    if min_count is not None:
        expr = n >= min_count
    if max_count is not None:
        expr = (n <= max_count) if expr is None else expr & (n <= max_count)
    if expr is None:
        raise ValueError("give min_count, max_count or both")
    return expr


def persons_with_visible(
    collection,
    min_count: int | None = None,
    max_count: int | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons with at least ``min_count`` / at most ``max_count`` visible points (others hidden)."""
    field = resolve_label_field(collection, label_field)
    return _persons(collection, field, visible_count(min_count, max_count), only_matches)


def crowd(collection, is_crowd: bool = True, label_field: str | None = None, only_matches: bool = True):
    """Crowd regions (``is_crowd=True``) or individual persons (``False``)."""
    field = resolve_label_field(collection, label_field)
    return _persons(collection, field, F("iscrowd") == int(is_crowd), only_matches)


# --- curation views (issue 8): counts, joints, sizes, borders, annotation errors, duplicates, swaps
# Person views hide the other persons (and their linked boxes) with ``filter_labels``; image views
# select samples with ``match``. Geometry runs in the database; OKS and swap checks, which need
# numpy, compute the persons' ids and return a view that selects them.

#: COCO's area ranges (pixels): small < 32², medium 32²..96², large >= 96² (the ``area`` attribute)
AREA_RANGES = {"small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, float("inf"))}
JOINT_STATES = ("visible", "labeled", "occluded", "unlabeled")


def _persons(collection, field: str, expr, only_matches: bool = True):
    """Persons matching ``expr`` (the others hidden), their boxes and part boxes kept in step."""
    view = collection.filter_labels(field, expr, only_matches=only_matches)
    shown = ViewExpression({"$ifNull": [F(f"${field}.keypoints").map(F("instance._id")), []]})
    linked = ViewExpression({"$in": [F("instance._id"), shown]})
    for linked_field in (boxes_field(field), parts_field(field)):
        if collection.has_field(linked_field):
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
        raise ValueError(f"field '{field}' has no skeleton with keypoint names")
    if name not in labels:
        raise ValueError(f"the skeleton of '{field}' has no keypoint named {name!r}; it has: {', '.join(labels)}")
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
    """Persons with at least ``min_count`` / at most ``max_count`` labelled (v > 0) points."""
    field = resolve_label_field(collection, label_field)
    n = F("visibility").filter(F() > 0).length()
    exprs = [
        e
        for e in (None if min_count is None else n >= min_count, None if max_count is None else n <= max_count)
        if e is not None
    ]
    if not exprs:
        raise ValueError("give min_count, max_count or both")
    return _persons(collection, field, F.all(exprs), only_matches)


def persons_with_joint(
    collection, names, state: str = "visible", label_field: str | None = None, only_matches: bool = True
):
    """Persons whose joint ``names`` (one name or a list, all of them) are ``state``: "visible"
    (v=2), "labeled" (v>0), "occluded" (v=1) or "unlabeled" (v=0). Joints are found by name in the
    field's skeleton, e.g. ``persons_with_joint(ds, "left_wrist", "labeled")``."""
    field = resolve_label_field(collection, label_field)
    if state not in JOINT_STATES:
        raise ValueError(f"state must be one of {', '.join(JOINT_STATES)}, not {state!r}")
    exprs = []
    for name in [names] if isinstance(names, str) else list(names):
        v = F("visibility")[joint_index(collection, name, field)]
        exprs.append({"visible": v == 2, "labeled": v > 0, "occluded": v == 1, "unlabeled": v == 0}[state])
    if not exprs:
        raise ValueError("give at least one joint name")
    return _persons(collection, field, F.all(exprs), only_matches)


def persons_by_area(
    collection,
    size: str | None = None,
    min_area: float | None = None,
    max_area: float | None = None,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons by the ``area`` attribute: ``size`` "small" (< 32²), "medium" (32²..96²) or "large"
    (>= 96²), COCO's cuts, or ``min_area <= area < max_area``. Persons without an area are hidden."""
    field = resolve_label_field(collection, label_field)
    if size is not None:
        if size not in AREA_RANGES:
            raise ValueError(f"size must be one of {', '.join(AREA_RANGES)}, not {size!r}")
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
    """Images with at least ``min_count`` / at most ``max_count`` persons (crowd regions not
    counted unless ``include_crowd``); the images keep all their persons."""
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
        raise ValueError("give min_count, max_count or both")
    return collection.match(F.all(exprs))


def images_without_persons(collection, labeled_only: bool = True, label_field: str | None = None):
    """Images with no person (crowd regions aside); ``labeled_only``: no person with a labelled
    point (persons annotated with a box but no keypoints do not count)."""
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
    """Persons with a labelled point on the image border: inside the image and within ``margin``
    pixels of an edge (x <= margin, y <= margin, x >= width - margin or y >= height - margin).
    Points outside the image are errors (``outside_image``), not truncation."""
    field = resolve_label_field(collection, label_field)
    w, h = F("$metadata.width"), F("$metadata.height")
    inside = (F()[0] >= 0) & (F()[1] >= 0) & (F()[0] <= w) & (F()[1] <= h)
    on_border = inside & ((F()[0] <= margin) | (F()[1] <= margin) | (F()[0] >= w - margin) | (F()[1] >= h - margin))
    return _persons(collection, field, _pixel_points().filter(on_border).length() > 0, only_matches)


def outside_image(collection, tolerance: float = 0.0, label_field: str | None = None, only_matches: bool = True):
    """Persons with a labelled point outside the image (more than ``tolerance`` pixels beyond
    [0, width] x [0, height]): annotation errors."""
    field = resolve_label_field(collection, label_field)
    w, h = F("$metadata.width"), F("$metadata.height")
    t = tolerance
    outside = (F()[0] < -t) | (F()[1] < -t) | (F()[0] > w + t) | (F()[1] > h + t)
    return _persons(collection, field, _pixel_points().filter(outside).length() > 0, only_matches)


def outside_box(collection, tolerance: float = 1.0, label_field: str | None = None, only_matches: bool = True):
    """Persons with a labelled point more than ``tolerance`` pixels outside their box (the exact
    ``bbox`` attribute, x, y, w, h): annotation errors. Persons without a box are hidden."""
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
            raise ValueError(f"field '{field}' has no OKS sigmas in dataset.info; pass sigmas=[...]")
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
    collection, threshold: float = 0.9, sigmas=None, label_field: str | None = None, only_matches: bool = True
):
    """Persons of one image whose OKS with another person is above ``threshold`` (both shown),
    with the dataset's OKS sigmas (``dataset.info["fiftyone_pose"][field]["skeleton"]``)."""
    field = resolve_label_field(collection, label_field)
    return _select_persons(collection, field, duplicate_ids(collection, threshold, sigmas, field), only_matches)


def _mirrored_edges(collection, field: str) -> list[tuple[int, int, int, int]]:
    """Skeleton edges (i, j) between two flip-paired joints whose mirror (i', j') is an edge too."""
    flips = _pose_info(collection, field).get("flip_pairs")
    if not flips:
        raise ValueError(f"field '{field}' has no flip pairs in dataset.info; swaps cannot be checked")
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
    """Persons with a suspected left/right swap from the skeleton's flip pairs (see ``swap_ids``)."""
    field = resolve_label_field(collection, label_field)
    return _select_persons(collection, field, swap_ids(collection, ratio, field), only_matches)


#: the curation views by name, for the App plugin and the CLI
CURATION_VIEWS = {
    "persons_with_visible": persons_with_visible,
    "persons_with_labeled": persons_with_labeled,
    "persons_with_joint": persons_with_joint,
    "crowd": crowd,
    "persons_by_area": persons_by_area,
    "images_by_person_count": images_by_person_count,
    "truncated": truncated,
    "outside_image": outside_image,
    "outside_box": outside_box,
    "duplicates": duplicates,
    "swaps": swaps,
    "images_without_persons": images_without_persons,
}


# --- body parts (COCO-WholeBody, Halpe)
# A part's points are found by keypoint name in the field's skeleton (core.layouts.PART_RULES),
# never by position: the same functions work on COCO-WholeBody (133) and Halpe (136) datasets.


def _part_runs(collection, field: str, part: str) -> list[tuple[int, int]]:
    from ..core.layouts import part_indices, runs

    skeleton = collection.get_skeleton(field)
    if skeleton is None or not skeleton.labels:
        raise ValueError(f"field '{field}' has no skeleton; import it with fiftyone_pose.load")
    index = part_indices(skeleton.labels, part)
    if not len(index):
        raise ValueError(f"the skeleton of '{field}' has no '{part}' points")
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
        raise ValueError("give min_visible, max_visible or valid")
    expr = exprs[0]
    for e in exprs[1:]:
        expr = expr & e
    return expr


def part_visible(
    collection,
    part: str,
    min_visible: int | None = 1,
    max_visible: int | None = None,
    valid: bool | None = None,
    labeled: bool = False,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons whose ``part`` has at least ``min_visible`` (at most ``max_visible``) visible points
    and, with ``valid``, whose part flag is ``valid`` (see ``part_expr``); other persons are hidden,
    so an export holds exactly the persons shown. Chains with every FiftyOne stage, e.g.
    ``part_visible(ds, "lefthand", min_visible=15, valid=True)``."""
    field = resolve_label_field(collection, label_field)
    expr = part_expr(collection, part, min_visible, max_visible, valid, labeled, field)
    return collection.filter_labels(field, expr, only_matches=only_matches)


def face_visible(collection, min_visible: int | None = 1, valid: bool | None = None, **kwargs):
    """Persons whose face has at least ``min_visible`` visible points (see ``part_visible``)."""
    return part_visible(collection, "face", min_visible, valid=valid, **kwargs)


def hands_visible(
    collection,
    side: str = "any",
    min_visible: int | None = 1,
    valid: bool | None = None,
    labeled: bool = False,
    label_field: str | None = None,
    only_matches: bool = True,
):
    """Persons with ``min_visible`` visible points on the left, right, any or both hand(s)."""
    field = resolve_label_field(collection, label_field)
    hands = {
        "left": ["lefthand"],
        "right": ["righthand"],
        "any": ["lefthand", "righthand"],
        "both": ["lefthand", "righthand"],
    }
    if side not in hands:
        raise ValueError(f"side must be one of {', '.join(hands)}, not {side!r}")
    exprs = [part_expr(collection, h, min_visible, None, valid, labeled, field) for h in hands[side]]
    expr = exprs[0] if len(exprs) == 1 else (exprs[0] | exprs[1]) if side == "any" else (exprs[0] & exprs[1])
    return collection.filter_labels(field, expr, only_matches=only_matches)


def only_parts(collection, parts, label_field: str | None = None):
    """Show only the points of ``parts`` (e.g. ``["face"]``); an export writes the others unlabeled."""
    from ..core.layouts import part_indices

    field = resolve_label_field(collection, label_field)
    labels = list(collection.get_skeleton(field).labels)
    keep = sorted({int(i) for p in ([parts] if isinstance(parts, str) else parts) for i in part_indices(labels, p)})
    return collection.filter_keypoints(field, labels=[labels[i] for i in keep])


# --- dataset-specific views (CrowdPose, OCHuman, Human-Art)
# The crowd-index and scene views select images (with all their persons); the occlusion view
# selects persons (the others are hidden, so an export holds exactly the persons shown).

#: CrowdPose's benchmark subsets by image crowd index, as the CrowdPose paper defines them (the
#: format reference only says the benchmark reports easy / medium / hard)
CROWD_INDEX_LEVELS = {"easy": "crowdIndex < 0.1", "medium": "0.1 <= crowdIndex <= 0.8", "hard": "crowdIndex > 0.8"}
#: Human-Art's image domains: the folder under ``images/`` in ``file_name``
HUMANART_DOMAINS = ("real_human", "2D_virtual_human", "3D_virtual_human")


def _require_field(collection, path: str, what: str) -> None:
    if not collection.has_field(path):
        raise ValueError(f"the collection has no '{path}' field: {what}")


def crowd_index(
    collection,
    level: str | None = None,
    min_index: float | None = None,
    max_index: float | None = None,
    field: str = "crowdIndex",
):
    """CrowdPose images by crowd index: ``level`` "easy" (< 0.1), "medium" (0.1 to 0.8) or "hard"
    (> 0.8), or the range ``min_index`` <= crowd index <= ``max_index``. Images without a crowd
    index are left out; each image keeps all its persons. E.g. ``crowd_index(ds, "hard")``."""
    _require_field(collection, field, "import a CrowdPose file (format='crowdpose')")
    value = F(field)
    if level is not None:
        if min_index is not None or max_index is not None:
            raise ValueError("give level, or min_index/max_index, not both")
        levels = {"easy": value < 0.1, "medium": (value >= 0.1) & (value <= 0.8), "hard": value > 0.8}
        if level not in levels:
            raise ValueError(f"level must be one of {', '.join(levels)}, not {level!r}")
        expr = levels[level]
    else:
        if min_index is None and max_index is None:
            raise ValueError("give level, min_index or max_index")
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
    """OCHuman persons by occlusion: ``min_iou`` <= ``max_iou`` attribute < ``max_iou`` (the largest
    box IoU with another person of the image; half-open, so adjacent ranges split the persons).
    Persons without ``max_iou`` (e.g. from the COCO-style files, which lack it) are left out.
    E.g. ``occlusion(ds, min_iou=0.5)``, ``occlusion(ds, 0.25, 0.5)``."""
    field = resolve_label_field(collection, label_field)
    _require_field(collection, f"{field}.keypoints.max_iou", "import the native ochuman.json (format='ochuman')")
    if min_iou is None and max_iou is None:
        raise ValueError("give min_iou, max_iou or both")
    value = F("max_iou")
    expr = value.exists()
    if min_iou is not None:
        expr = expr & (value >= min_iou)
    if max_iou is not None:
        expr = expr & (value < max_iou)
    return collection.filter_labels(field, expr, only_matches=only_matches)


def scene_category(collection, categories=None, domains=None, field: str = "category"):
    """Human-Art images by scenario (the image ``category``: one name or a list, e.g. "cartoon")
    and/or by domain ("real_human", "2D_virtual_human", "3D_virtual_human": the folder under
    ``images/`` in ``file_name``). Each image keeps all its persons.
    E.g. ``scene_category(ds, ["cartoon", "oil_painting"])``, ``scene_category(ds, domains="real_human")``."""
    import re

    exprs = []
    if categories is not None:
        _require_field(collection, field, "import a Human-Art file (format='humanart')")
        exprs.append(F(field).is_in([categories] if isinstance(categories, str) else list(categories)))
    if domains is not None:
        wanted = [domains] if isinstance(domains, str) else list(domains)
        unknown = [d for d in wanted if d not in HUMANART_DOMAINS]
        if unknown:
            raise ValueError(f"unknown domain {unknown[0]!r}; domains: {', '.join(HUMANART_DOMAINS)}")
        exprs.append(F("file_name").re_match(r"(^|/)(" + "|".join(map(re.escape, wanted)) + r")/"))
    if not exprs:
        raise ValueError("give categories, domains or both")
    return collection.match(exprs[0] if len(exprs) == 1 else exprs[0] & exprs[1])
