"""``merge``: one training set from several pose datasets, in one keypoint layout.

RTMPose's Body8 maps COCO, AI Challenger, CrowdPose, MPII, ... onto COCO's 17 points and trains on
the union. ``merge`` builds that union as a FiftyOne dataset, so it can be seen, curated and
exported before training: each source (a dataset or a saved view) is read with the export path
(``to_pose_data``), converted with the layouts' mapping files (``to_layout``) and inserted with
the import path (``add_pose_data``), a source at a time, never sample by sample.

What the merged samples hold: their media (``filepath``), the source's sample fields and person
attributes, its tags plus a tag with the source dataset's name, and that name in ``source``.
``file_name`` becomes the image path relative to the folder all sources' images share (so a
COCO export of the union is one training set), the source's own ``file_name`` is kept in
``source_file_name`` where it differs. Image and person ids are kept, except where a source's
ids collide with those of the sources before it: then all its ids are shifted by a power of ten,
recorded per source in ``dataset.info["fiftyone_pose"][label_field]["merged_from"]``. Persons
get every key a COCO training file needs (a box and area derived from the points where the source
has none). Coordinates count pixels from 0 (MPII-family sources are shifted).

An image that two sources share (the same ``filepath``: COCO and COCO-WholeBody share val2017) is
kept once per source by default, and reported; ``duplicates="first"`` keeps the first source's
sample only (the later sources' persons of that image are dropped, counted). Like an import, the
merge builds its dataset under a temporary name and renames it only when complete.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fiftyone as fo
import numpy as np

from ..core.bulk import paused_gc
from ..core.errors import PoseUsageError
from ..core.layouts import to_layout
from ..core.model import PoseData, take_images, with_origin
from ..core.skeleton import Skeleton
from ..formats.cocolike import default_category
from .adapter import (
    INFO_KEY,
    add_pose_data,
    boxes_field,
    parts_field,
    resolve_label_field,
    stored_meta,
    to_pose_data,
)
from .api import building
from .reader import SampleFiles

#: the sample field naming each merged sample's source dataset
SOURCE_FIELD = "source"
#: ``duplicates`` values: keep an image once per source, or only the first source's sample
DUPLICATES = ("all", "first")
#: sample fields every pose dataset has (the others are the source's own, carried or reported)
_STANDARD_FIELDS = frozenset(
    {"id", "filepath", "tags", "metadata", "created_at", "last_modified_at", "image_id", "file_name", "extra_json"}
)


@dataclasses.dataclass
class _Source:
    """One source of a merge: its name (the tag and ``source`` value), collection, keypoints field,
    and, once read, its samples' filepaths and tags (in the order its images are read in)."""

    name: str
    collection: Any
    label_field: str
    view: str | None
    filepaths: list[str] = dataclasses.field(default_factory=list)
    tags: list[list[str]] = dataclasses.field(default_factory=list)


def merge(
    sources: Sequence[str | fo.core.collections.SampleCollection],
    name: str | None = None,
    layout: str | Skeleton = "coco",
    label_field: str | None = None,
    duplicates: str = "all",
    overwrite: bool = False,
    persistent: bool = False,
    progress: bool | None = None,
) -> fo.Dataset:
    """A new dataset holding the persons of ``sources`` in keypoint ``layout`` (see the module doc).

    ``sources``: datasets or views, or names (``"dataset"`` or ``"dataset:saved_view"``).
    ``label_field``: the keypoints field to read from each source (default: each source's first)
    and to write (default ``ground_truth``). ``duplicates``: ``"all"`` or ``"first"``.
    What each source brought is in ``dataset.info["fiftyone_pose"][<field>]["merged_from"]``.
    """
    if duplicates not in DUPLICATES:
        raise PoseUsageError(f"duplicates must be one of {', '.join(DUPLICATES)}, not {duplicates!r}")
    if not sources:
        raise PoseUsageError("give at least one dataset to merge")
    resolved = [_resolve(s, label_field) for s in sources]
    for s in resolved:  # every source converts before anything is read (no samples: just its layout)
        target = to_layout(to_pose_data(s.collection.limit(0), s.label_field, progress=False), layout).skeleton
    root = images_root(p for s in resolved for p in s.collection.bounds("filepath") if p is not None)
    field = label_field or "ground_truth"

    seen: dict[str, str] = {}  # filepath -> the source that brought it first
    taken = {"image": np.zeros(0, np.int64), "person": np.zeros(0, np.int64)}
    report: list[dict[str, Any]] = []
    image_fields: set[str] = set()
    licenses: list[Any] = []
    # the next source is read while this one is inserted: each waits on mongod much of the time
    with paused_gc(), building(name, overwrite, persistent) as dataset, ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(_read, resolved[0], layout, progress)
        for k, s in enumerate(resolved):
            data, entry, s.filepaths, s.tags = pending.result()
            if k + 1 < len(resolved):
                pending = reader.submit(_read, resolved[k + 1], layout, progress)
            kept = _duplicates(s, seen, entry)
            if duplicates == "first" and len(kept) < len(s.filepaths):
                data = _only_images(data, kept, entry)
            else:
                kept = np.arange(len(s.filepaths))
            entry["image_id_offset"] = _shift_ids(data.images.ids, None, taken, "image")
            entry["person_id_offset"] = _shift_ids(data.persons.ids, data.persons.absent.get("id"), taken, "person")
            licenses += [lic for lic in data.meta.get("licenses") or [] if lic not in licenses]
            data = _as_training_set(data, s, kept, root, target, entry)
            # each batch built while the one before is inserted: mongod then works on the other core
            ids = add_pose_data(dataset, data, root, field, tags=[s.name], progress=progress)
            if any(s.tags):
                _carry_tags(dataset, ids, [s.tags[i] for i in kept.tolist()])
            image_fields |= set(dataset.info[INFO_KEY][field].get("image_fields", []))
            report.append(entry)
        info = dict(dataset.info)
        pose = dict(info[INFO_KEY])
        names = ", ".join(s.name for s in resolved)
        pose[field] = {
            **pose[field],
            "image_fields": sorted(image_fields),
            **stored_meta(
                {
                    "info": {"description": f"{names} in layout '{target.name}' (fiftyone-pose merge)"},
                    "licenses": licenses,
                }
            ),
            "merged_from": report,
            "images_root": root,
        }
        info[INFO_KEY] = pose
        dataset.info = info
        dataset.save()
    return dataset


def _resolve(source: str | fo.core.collections.SampleCollection, label_field: str | None) -> _Source:
    """A source given by name (``dataset`` or ``dataset:saved_view``) or as a collection."""
    view = None
    if isinstance(source, str):
        dataset_name, view = (source, "") if fo.dataset_exists(source) else source.rpartition(":")[::2]
        if not fo.dataset_exists(dataset_name):
            raise PoseUsageError(f"no dataset named '{source}' (fiftyone datasets list shows them)")
        collection = fo.load_dataset(dataset_name)
        if view:
            if not collection.has_saved_view(view):
                raise PoseUsageError(f"dataset '{dataset_name}' has no saved view '{view}'")
            collection = collection.load_saved_view(view)
        view = view or None
    else:
        collection = source
        view = source.name if isinstance(source, fo.DatasetView) else None
    name = collection.name if isinstance(collection, fo.Dataset) else collection.dataset_name
    if collection.has_field(SOURCE_FIELD):
        raise PoseUsageError(
            f"dataset '{name}' has a sample field '{SOURCE_FIELD}' of its own, where merge records the source; "
            f"rename it first (dataset.rename_sample_field('{SOURCE_FIELD}', ...))"
        )
    return _Source(name, collection, resolve_label_field(collection, label_field), view)


def images_root(filepaths: Iterable[str]) -> str:
    """The folder all these (absolute) image paths are in: the deepest that holds each one's folder.

    Of a set of paths, the first and last in sort order give the same folder: every path sorted
    between two starts with the characters they share (so ``merge`` reads only those two per source)."""
    folders = {os.path.dirname(p) for p in filepaths}
    return os.path.commonpath(sorted(folders)) if folders else os.sep


def _read(
    s: _Source, layout: str | Skeleton, progress: bool | None
) -> tuple[PoseData, dict[str, Any], list[str], list[list[str]]]:
    """A source's persons in the target layout, counting pixels from 0, its report entry, and its
    images' filepaths and tags (read in the same pass)."""
    files = SampleFiles()
    data = to_pose_data(s.collection, s.label_field, progress=progress, files=files)
    source_layout = data.skeleton.name
    data = with_origin(to_layout(data, layout), 0)
    own = set(s.collection.info.get(INFO_KEY, {}).get(s.label_field, {}).get("image_fields", []))
    pose = {s.label_field, boxes_field(s.label_field), parts_field(s.label_field)}
    entry = {
        "name": s.name,
        "view": s.view,
        "label_field": s.label_field,
        "layout": source_layout,
        "format": data.format,
        "images": len(data.images),
        "persons": int((~data.persons.crowd).sum()),
        "crowd_regions": int(data.persons.crowd.sum()),
        "fields_not_carried": sorted(set(s.collection.get_field_schema()) - _STANDARD_FIELDS - own - pose),
        "notes": dict(data.notes),
    }
    return data, entry, files.sources, files.tags


def _duplicates(s: _Source, seen: dict[str, str], entry: dict[str, Any]) -> np.ndarray:
    """Record which of the source's images earlier sources brought (by filepath); returns the others' indices."""
    shared = np.array([p in seen for p in s.filepaths], bool)
    by_source: dict[str, int] = {}
    for path in (p for p, dup in zip(s.filepaths, shared.tolist()) if dup):
        by_source[seen[path]] = by_source.get(seen[path], 0) + 1
    for path in s.filepaths:
        seen.setdefault(path, s.name)
    entry["shared_images"] = by_source
    return np.flatnonzero(~shared)


def _only_images(data: PoseData, kept: np.ndarray, entry: dict[str, Any]) -> PoseData:
    """``data`` with only the images at ``kept`` and their persons (the others are counted)."""
    out = take_images(data, kept)
    entry["dropped_images"] = len(data.images) - len(out.images)
    entry["dropped_persons"] = len(data.persons) - len(out.persons)
    return out


def _shift_ids(ids: np.ndarray, absent: np.ndarray | None, taken: dict[str, np.ndarray], kind: str) -> int:
    """Make ``ids`` (in place) unique among the ids earlier sources took; returns the offset added.

    Ids the source lacks (``absent``) are numbered after its largest. Where any id collides with an
    earlier source's, every id of this source is shifted by the smallest power of ten that puts
    them all above the earlier ones, so the source's own id stays readable in the new one.
    """
    have = np.ones(len(ids), bool) if absent is None else ~absent
    if not have.all():
        start = int(ids[have].max()) + 1 if have.any() else 1
        ids[~have] = np.arange(start, start + int((~have).sum()))
    offset = 0
    if len(ids) and len(taken[kind]) and np.isin(ids, taken[kind]).any():
        offset = 10 ** len(str(int(taken[kind].max()) - min(int(ids.min()), 0)))
        ids += offset
    taken[kind] = np.concatenate([taken[kind], ids])
    return offset


def _as_training_set(
    data: PoseData, s: _Source, kept: np.ndarray, root: str, target: Skeleton, entry: dict[str, Any]
) -> PoseData:
    """The source's data as the merged dataset holds it: one person category, every key a COCO
    training file needs, ``source``, and file names relative to ``root``."""
    p = data.persons
    other_category = p.category_ids != 1
    if other_category.any():
        entry["notes"]["persons whose category id was not 1, given 1"] = int(other_category.sum())
    absent = {"segmentation": p.absent["segmentation"]} if "segmentation" in p.absent else {}
    persons = dataclasses.replace(p, category_ids=np.ones(len(p), np.int64), absent=absent)
    prefix = os.path.join(root, "")
    names, extras = [], []
    for file_name, extra, i in zip(data.images.file_names, data.images.extras, kept.tolist()):
        path = s.filepaths[i]  # under root, which is their common folder (os.path.relpath: 20x slower)
        rel = path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, root)
        names.append(rel)
        extras.append({**extra, SOURCE_FIELD: s.name, **({"source_file_name": file_name} if rel != file_name else {})})
    images = dataclasses.replace(data.images, file_names=names, extras=extras)
    return dataclasses.replace(
        data, images=images, persons=persons, categories=[default_category(target)], meta={}, format="coco"
    )


def _carry_tags(dataset: fo.Dataset, ids: list[str], tags: list[list[str]]) -> None:
    """Give the new samples (``ids``, in order) the tags their source samples had, one update per tag."""
    by_tag: dict[str, list[str]] = {}
    for sample_id, sample_tags in zip(ids, tags):
        for tag in sample_tags or ():
            by_tag.setdefault(tag, []).append(sample_id)
    for tag, tagged in by_tag.items():
        dataset.select(tagged).tag_samples(tag)
