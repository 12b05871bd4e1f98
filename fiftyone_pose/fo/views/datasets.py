"""Dataset-specific views: CrowdPose's crowd index, OCHuman's occlusion, Human-Art's scenes, and
Human3.6M's reprojection errors and sequences.

The crowd-index and scene views select images (with all their persons); the occlusion view
selects persons (the others are hidden, so an export holds exactly the persons shown).
"""

from __future__ import annotations

import re
import typing

from fiftyone import ViewField as F

from ...core.errors import PoseUsageError
from ..fields import resolve_label_field
from .common import CrowdLevel, Domain, SceneCategory, matching_persons, require_field

#: CrowdPose's benchmark subsets by image crowd index, as the CrowdPose paper defines them (the
#: format reference only says the benchmark reports easy / medium / hard)
CROWD_INDEX_LEVELS = {"easy": "crowdIndex < 0.1", "medium": "0.1 <= crowdIndex <= 0.8", "hard": "crowdIndex > 0.8"}
#: Human-Art's image domains: the folder under ``images/`` in ``file_name``
HUMANART_DOMAINS = typing.get_args(Domain)


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
    require_field(collection, "crowdIndex", "CrowdPose")
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
    require_field(collection, f"{field}.keypoints.max_iou", "native OCHuman (ochuman.json)")
    if min_iou is None and max_iou is None:
        raise PoseUsageError("give min_iou, max_iou or both")
    value = F("max_iou")
    expr = value.exists()
    if min_iou is not None:
        expr = expr & (value >= min_iou)
    if max_iou is not None:
        expr = expr & (value < max_iou)
    return matching_persons(collection, field, expr, only_matches)


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
    resolve_label_field(collection, label_field)  # a pose collection; the scene is per image
    exprs = []
    if categories is not None:
        require_field(collection, "category", "Human-Art")
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
    require_field(flat, field, "import Human3.6M with its cameras (cameras=..., --cameras)")
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
