"""FiftyOne dataset types, so the package works through ``fo.Dataset.from_dir`` and ``export``.

They are batch importers/exporters: FiftyOne hands them the whole dataset or view, and they run
the same bulk code as ``fiftyone_pose.load`` / ``fiftyone_pose.export``.
"""

from __future__ import annotations

import functools
import os

import fiftyone.types as fot
import fiftyone.utils.data as foud

from .. import formats
from ..core.errors import PoseUsageError
from ..core.model import PoseData, picked_rows
from ..core.stream import PoseStream
from ..formats import yolo
from . import documents
from .adapter import INFO_KEY, add_pose_data
from .api import check_images_dir, export, logger, missing_images_warning, read_for_import, tag_samples


class _Conventions:
    """FiftyOne's importer conventions, as its own COCO importer follows them."""

    label_field: str | None

    def add(self, dataset, data: PoseData | PoseStream, images_dir: str | os.PathLike, tags, progress) -> list[str]:
        """``add_pose_data`` into the keypoints field FiftyOne's ``from_dir`` / ``add_dir`` /
        ``merge_dir`` name: their ``label_field`` (FiftyOne does not pass it to batch importers:
        ``documents.importer_call``), else the importer's own, else ``ground_truth``, as FiftyOne
        names a single label field."""
        given, target = documents.importer_call()
        if given is not None and not isinstance(given, str):
            raise PoseUsageError(f"label_field must be a field name (the keypoints field), not {given!r}")
        ids = add_pose_data(dataset, data, images_dir, given or self.label_field or "ground_truth", tags, progress)
        if target is not None and target is not dataset:  # merge_dir: FiftyOne merges this dataset into target
            _keep_pose_info(dataset, target)
        return ids


def _keep_pose_info(merged, target) -> None:
    """FiftyOne's ``merge_dir`` replaces the target's top-level info keys and default skeleton with
    those of the dataset merged in: give that one the target's pose fields' too, so they survive."""
    pose = dict(target.info.get(INFO_KEY, {}))
    pose.update(merged.info.get(INFO_KEY, {}))
    merged.info[INFO_KEY] = pose
    if target.default_skeleton is not None:
        merged.default_skeleton = target.default_skeleton
    merged.save()


class PoseDatasetImporter(foud.BatchDatasetImporter, foud.ImportPathsMixin, _Conventions):
    """Imports a pose file: ``labels_path`` the file, ``data_path`` its image folder.

    As FiftyOne's COCO importer: relative paths are inside ``dataset_dir``, where ``labels_path``
    defaults to ``labels.json`` and ``data_path`` to ``data/`` (here: where that folder exists,
    else ``dataset_dir``; without either, the pose file's folder); ``max_samples`` images are read
    (the first ones, or random ones with ``shuffle`` and ``seed``) with their persons. Images not
    found are counted in the notes, or an error with ``require_images=True``.
    """

    format = "auto"

    def __init__(
        self,
        dataset_dir: str | None = None,
        data_path: str | None = None,
        labels_path: str | None = None,
        label_field: str | None = None,
        format: str | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        max_samples: int | None = None,
        require_images: bool = False,
    ) -> None:
        labels_path = self._parse_labels_path(dataset_dir=dataset_dir, labels_path=labels_path, default="labels.json")
        if labels_path is None:
            raise PoseUsageError("labels_path (the pose file) or dataset_dir (holding labels.json) is required")
        if data_path is None and dataset_dir is not None and not os.path.isdir(os.path.join(dataset_dir, "data")):
            images_dir = os.path.abspath(dataset_dir)  # no data/ folder: the images are in dataset_dir
        else:  # None without dataset_dir and data_path: the pose file's folder (as fiftyone_pose.load)
            images_dir = self._parse_data_path(dataset_dir=dataset_dir, data_path=data_path, default="data/")
        check_images_dir(images_dir)
        super().__init__(dataset_dir=dataset_dir, shuffle=shuffle, seed=seed, max_samples=max_samples)
        self.labels_path = labels_path
        self.data_path = images_dir
        self.label_field = label_field
        self.require_images = require_images
        if format is not None:
            self.format = format

    def import_samples(self, dataset, tags=None, progress=None):
        """As ``fiftyone_pose.load`` imports: a file that streams is read a chunk of persons at a
        time (in a second process where that pays), so memory does not grow with the file."""
        format = formats.detect(self.labels_path) if self.format == "auto" else self.format
        pick = functools.partial(picked_rows, max_samples=self.max_samples, shuffle=self.shuffle, seed=self.seed)
        data, images_dir = read_for_import(self.labels_path, format, self.data_path, self.require_images, pick=pick)
        try:
            if warning := missing_images_warning(data):
                logger.warning("%s; pass require_images=True to refuse the import", warning)
            return self.add(dataset, data, images_dir, tags, progress)
        finally:
            if isinstance(data, PoseStream):
                data.close()  # a failure before the import took it: stop what reads the file


class PoseDatasetExporter(foud.BatchDatasetExporter):
    """Writes a collection's persons to ``labels_path`` (media are not copied); ``format``
    defaults to the one the field was imported from, as ``fiftyone_pose.export`` does."""

    format: str | None = None

    def __init__(
        self,
        export_dir: str | None = None,
        labels_path: str | None = None,
        keypoints_field: str | None = None,
        format: str | None = None,
    ) -> None:
        if labels_path is None:
            if export_dir is None:
                raise PoseUsageError("labels_path (or export_dir) is required")
            labels_path = os.path.join(export_dir, "labels.json")
        super().__init__(export_dir=export_dir)
        self.labels_path = os.fspath(labels_path)
        self.keypoints_field = keypoints_field
        if format is not None:
            self.format = format

    def export_samples(self, sample_collection, progress=None):
        # FiftyOne's exporters replace their labels file
        export(
            sample_collection, self.labels_path, self.format, self.keypoints_field, progress=progress, overwrite=True
        )


class COCOPoseImporter(PoseDatasetImporter):
    format = "coco"


class COCOPoseExporter(PoseDatasetExporter):
    format = "coco"


class PoseDataset(fot.Dataset):
    """Any pose format of this package: sniffed on import (or ``format=``), written back in the
    format it was imported from on export (or ``format=``)."""

    def get_dataset_importer_cls(self):
        return PoseDatasetImporter

    def get_dataset_exporter_cls(self):
        return PoseDatasetExporter


class COCOPoseDataset(fot.Dataset):
    """COCO person-keypoint JSON, lossless (ids, exact coordinates, boxes, areas, RLE, skeleton)."""

    def get_dataset_importer_cls(self):
        return COCOPoseImporter

    def get_dataset_exporter_cls(self):
        return COCOPoseExporter


class YOLOPoseDatasetImporter(foud.BatchDatasetImporter, _Conventions):
    """Imports an Ultralytics YOLO-pose dataset; its splits become sample tags.

    ``dataset_dir``: the dataset folder (or ``yaml_path``: its yaml); or ``labels_path`` a labels
    folder and ``data_path`` its images folder. ``max_samples``, ``shuffle`` and ``seed`` pick the
    images read, as FiftyOne's own YOLO importer does.
    """

    def __init__(
        self,
        dataset_dir: str | None = None,
        yaml_path: str | None = None,
        data_path: str | None = None,
        labels_path: str | None = None,
        label_field: str | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        max_samples: int | None = None,
    ) -> None:
        super().__init__(dataset_dir=dataset_dir, shuffle=shuffle, seed=seed, max_samples=max_samples)
        source = labels_path if data_path is not None else yaml_path or dataset_dir
        if source is None:
            raise PoseUsageError("dataset_dir (the YOLO dataset folder) or yaml_path is required")
        self.source = os.fspath(source)
        self.data_path = None if data_path is None else os.fspath(data_path)
        self.label_field = label_field

    def import_samples(self, dataset, tags=None, progress=None):
        """The label files are read a run at a time (``yolo.read_stream``), only those of the images picked."""
        stream = formats.read_stream(
            self.source,
            yolo.NAME,
            images_dir=self.data_path,
            max_samples=self.max_samples,
            shuffle=self.shuffle,
            seed=self.seed,
        )
        try:
            root = self.data_path or formats.images_dir(self.source, yolo.NAME)
            stream, split_tags = formats.sample_tags(stream)
            ids = self.add(dataset, stream, root, tags, progress)
        finally:
            stream.close()  # a failure before the import took it
        tag_samples(dataset, ids, split_tags)
        return ids


class YOLOPoseDatasetExporter(foud.BatchDatasetExporter):
    """Writes a collection as an Ultralytics YOLO-pose dataset into ``export_dir``.

    ``split`` puts every sample in one split; else each sample's tag among ``split_tags``
    (default train, val, test) names its split. ``export_media``: ``"symlink"`` (default),
    ``True``/``"copy"``, ``"move"`` or ``False``/``"none"``. See ``fiftyone_pose.formats.yolo.write``.
    """

    def __init__(
        self,
        export_dir: str | None = None,
        split: str | None = None,
        split_tags: list[str] | None = None,
        export_media: str | bool | None = None,
        keypoints_field: str | None = None,
        layout: str | None = None,
    ) -> None:
        if export_dir is None:
            raise PoseUsageError("export_dir (the folder to write the dataset into) is required")
        super().__init__(export_dir=export_dir)
        self.options = {"split": split, "split_tags": split_tags, "export_media": export_media, "layout": layout}
        self.keypoints_field = keypoints_field

    def export_samples(self, sample_collection, progress=None):
        options = {key: value for key, value in self.options.items() if value is not None}
        export(sample_collection, self.export_dir, yolo.NAME, self.keypoints_field, progress=progress, **options)


class YOLOPoseDataset(fot.Dataset):
    """Ultralytics YOLO-pose: ``images/<split>/``, ``labels/<split>/*.txt`` and a ``dataset.yaml`` that
    ``yolo pose train`` reads; splits are sample tags."""

    def get_dataset_importer_cls(self):
        return YOLOPoseDatasetImporter

    def get_dataset_exporter_cls(self):
        return YOLOPoseDatasetExporter
