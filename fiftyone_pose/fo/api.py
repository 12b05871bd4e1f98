"""``load`` and ``export``: the FiftyOne-facing verbs that the CLI, the plugin and notebooks call."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fiftyone as fo
import pymongo

from .. import formats
from ..core.bulk import paused_gc
from ..core.errors import PoseFormatError
from ..core.model import PoseData
from ..formats import coco_results
from .adapter import add_pose_data, resolve_label_field, to_pose_data

#: datasets being built are named with this prefix and renamed when complete
TEMP_PREFIX = "_fiftyone_pose_tmp_"


def load(
    path: str | os.PathLike,
    format: str = "auto",
    images_dir: str | os.PathLike | None = None,
    name: str | None = None,
    label_field: str = "ground_truth",
    overwrite: bool = False,
    persistent: bool = False,
    progress: bool | None = None,
    **read_options,
) -> fo.Dataset:
    """Import a pose file into a new FiftyOne dataset.

    The dataset is built under a temporary name and renamed to ``name`` only when complete, so a
    failure or Ctrl-C never leaves a half-imported dataset. ``images_dir`` defaults to the folder
    of ``path``. The reader's adjustments are in ``dataset.info["fiftyone_pose"][label_field]``.
    """
    if (formats.detect(path) if format == "auto" else format) == coco_results.NAME:
        raise coco_results.not_a_dataset(path)
    data = formats.read(path, format, **read_options)
    if images_dir is None:
        images_dir = Path(path).resolve().parent
    try:
        return create_dataset(data, images_dir, name, label_field, overwrite, persistent, progress)
    except PoseFormatError as e:  # e.g. an image without a size whose file cannot be read
        raise e.with_path(path) from None


def create_dataset(
    data: PoseData,
    images_dir: str | os.PathLike,
    name: str | None = None,
    label_field: str = "ground_truth",
    overwrite: bool = False,
    persistent: bool = False,
    progress: bool | None = None,
) -> fo.Dataset:
    """A new dataset holding ``data`` (all or nothing, see ``load``)."""
    if name is not None and fo.dataset_exists(name) and not overwrite:
        raise ValueError(f"dataset '{name}' already exists; pass overwrite=True (--overwrite) to replace it")
    dataset = fo.Dataset(TEMP_PREFIX + uuid.uuid4().hex)
    try:
        add_pose_data(dataset, data, images_dir, label_field, progress=progress)
        if name is None:
            name = fo.get_default_dataset_name()
        if overwrite and fo.dataset_exists(name):
            fo.delete_dataset(name)
        try:
            dataset.name = name
        except (ValueError, pymongo.errors.DuplicateKeyError):
            if fo.dataset_exists(name):  # another import took the name while this one was building
                raise ValueError(
                    f"dataset '{name}' already exists; pass overwrite=True (--overwrite) to replace it"
                ) from None
            raise
        dataset.persistent = persistent
    except BaseException:
        dataset.delete()
        raise
    return dataset


def export(
    collection: fo.core.collections.SampleCollection,
    path: str | os.PathLike,
    format: str | None = None,
    label_field: str | None = None,
    progress: bool | None = None,
    **write_options,
) -> PoseData:
    """Write the persons a dataset or view shows to ``path``; returns what was written.

    ``format`` defaults to the format the field was imported from (so a COCO-WholeBody dataset
    is written back as COCO-WholeBody), else COCO; with a ``layout`` conversion it defaults to
    COCO, the one format that holds any layout.
    """
    from .evaluation import evaluation_attributes, without_evaluation_attributes
    from .predictions import detections_pose_data, is_detections

    with paused_gc():
        if is_detections(collection, label_field):  # person-detector predictions
            skip = frozenset(evaluation_attributes(collection, label_field))
            data = detections_pose_data(collection, label_field, skip)
        else:  # evaluation results on the persons are not part of them
            label_field = resolve_label_field(collection, label_field)
            view = without_evaluation_attributes(collection, [label_field])
            data = to_pose_data(view, label_field, progress=progress)
        if format is None:
            native = data.format in formats.REGISTRY and write_options.get("layout") is None
            format = data.format if native else "coco"
        formats.write(data, path, format, **write_options)
    data.format = format
    return data


def leftover_datasets() -> list[str]:
    """Temporary datasets left by imports that were killed before they could clean up."""
    return [n for n in fo.list_datasets() if n.startswith(TEMP_PREFIX)]
