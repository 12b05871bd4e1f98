"""Views of persons found with numpy: duplicates (OKS with another person of the image) and
suspected left/right swaps (from the skeleton's flip pairs)."""

from __future__ import annotations

import numpy as np

from ...core.errors import Option, PoseUsageError
from ..fields import resolve_label_field
from .common import select_persons, skeleton_info


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
        sigmas = skeleton_info(collection, field).get("sigmas")
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
    return select_persons(collection, field, duplicate_ids(collection, threshold, sigmas, field), only_matches)


def _mirrored_edges(collection, field: str) -> list[tuple[int, int, int, int]]:
    """Skeleton edges (i, j) between two flip-paired joints whose mirror (i', j') is an edge too."""
    flips = skeleton_info(collection, field).get("flip_pairs")
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
    return select_persons(collection, field, swap_ids(collection, ratio, field), only_matches)
