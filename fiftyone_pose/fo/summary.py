"""A dataset's pose summary, computed by aggregations in the database (no samples loaded)."""

from __future__ import annotations

from typing import Any

import fiftyone as fo

from .fields import pose_info, resolve_label_field


def pose_summary(collection: fo.core.collections.SampleCollection, label_field: str | None = None) -> dict[str, Any]:
    """Skeleton, images, persons, crowd regions, labeled keypoints and the persons' visibility histogram."""
    field = resolve_label_field(collection, label_field)
    kp = f"{field}.keypoints"
    info = pose_info(collection, field)
    skeleton = collection.get_skeleton(field)
    n_images, n_labels, crowd = collection.aggregate([fo.Count(), fo.Count(kp), fo.CountValues(f"{kp}.iscrowd")])
    persons = collection.filter_labels(field, fo.ViewField("iscrowd") != 1, only_matches=False)
    vis = persons.count_values(f"{kp}.visibility[]")
    counts = {str(v): int(vis.get(v, 0)) for v in (0, 1, 2)}
    n_crowd = int(crowd.get(1, 0))
    layout = (info.get("skeleton") or {}).get("name") or "custom"
    merged = [source["name"] for source in info.get("merged_from", [])]
    return {
        "field": field,
        "format": info.get("format") or "unknown",
        "skeleton": f"{layout} ({len(skeleton.labels)} points, {len(skeleton.edges)} edges)" if skeleton else "none",
        "images": n_images,
        "persons": n_labels - n_crowd,
        "crowd_regions": n_crowd,
        "keypoints_labeled": counts["1"] + counts["2"],
        "visibility": counts,
        **({"sources": _per_source(collection, field, merged)} if merged else {}),
    }


def _per_source(collection: fo.core.collections.SampleCollection, field: str, names: list[str]) -> dict[str, Any]:
    """Images and persons (crowd regions aside) per source of a merged dataset, as the collection shows them."""
    persons = fo.ViewField(f"{field}.keypoints").filter(fo.ViewField("iscrowd") != 1).length()
    sources, counts = collection.values(["source", persons])
    out = {name: {"images": 0, "persons": 0} for name in names}
    for name, n in zip(sources, counts):
        entry = out.setdefault(name, {"images": 0, "persons": 0})
        entry["images"] += 1
        entry["persons"] += n or 0
    return out
