"""A dataset's pose summary, computed by aggregations in the database (no samples loaded)."""

from __future__ import annotations

from typing import Any

import fiftyone as fo

from .adapter import INFO_KEY, resolve_label_field


def pose_summary(collection: fo.core.collections.SampleCollection, label_field: str | None = None) -> dict[str, Any]:
    """Skeleton, images, persons, crowd regions, labeled keypoints and the persons' visibility histogram."""
    field = resolve_label_field(collection, label_field)
    kp = f"{field}.keypoints"
    info = collection._root_dataset.info.get(INFO_KEY, {}).get(field, {})
    skeleton = collection.get_skeleton(field)
    n_images, n_labels, crowd = collection.aggregate([fo.Count(), fo.Count(kp), fo.CountValues(f"{kp}.iscrowd")])
    persons = collection.filter_labels(field, fo.ViewField("iscrowd") != 1, only_matches=False)
    vis = persons.count_values(f"{kp}.visibility[]")
    counts = {str(v): int(vis.get(v, 0)) for v in (0, 1, 2)}
    n_crowd = int(crowd.get(1, 0))
    layout = (info.get("skeleton") or {}).get("name") or "custom"
    return {
        "field": field,
        "format": info.get("format") or "unknown",
        "skeleton": f"{layout} ({len(skeleton.labels)} points, {len(skeleton.edges)} edges)" if skeleton else "none",
        "images": n_images,
        "persons": n_labels - n_crowd,
        "crowd_regions": n_crowd,
        "keypoints_labeled": counts["1"] + counts["2"],
        "visibility": counts,
    }
