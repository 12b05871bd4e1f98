"""FiftyOne dataset types, so the package works through ``fo.Dataset.from_dir`` and ``export``.

They are batch importers/exporters: FiftyOne hands them the whole dataset or view, and they run
the same bulk code as ``fiftyone_pose.load`` / ``fiftyone_pose.export``.
"""

from __future__ import annotations

import os

import fiftyone.types as fot
import fiftyone.utils.data as foud

from .. import formats
from ..core.errors import PoseUsageError
from ..formats import yolo
from .adapter import add_pose_data
from .api import export, tag_samples


class PoseDatasetImporter(foud.BatchDatasetImporter):
    """Imports a pose file; ``data_path`` is the image folder, ``labels_path`` the file."""

    format = "auto"

    def __init__(
        self,
        dataset_dir: str | None = None,
        data_path: str | None = None,
        labels_path: str | None = None,
        label_field: str = "ground_truth",
        format: str | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        max_samples: int | None = None,
    ) -> None:
        if labels_path is None:
            raise PoseUsageError("labels_path (the pose file) is required")
        if shuffle or max_samples is not None:
            raise PoseUsageError("shuffle/max_samples are not supported; import, then use view stages")
        super().__init__(dataset_dir=dataset_dir, shuffle=shuffle, seed=seed, max_samples=max_samples)
        self.labels_path = os.fspath(labels_path)
        self.data_path = data_path or dataset_dir or os.path.dirname(os.path.abspath(self.labels_path))
        self.label_field = label_field
        if format is not None:
            self.format = format

    def import_samples(self, dataset, tags=None, progress=None):
        data = formats.read(self.labels_path, self.format)
        return add_pose_data(dataset, data, self.data_path, self.label_field, tags=tags, progress=progress)


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


class YOLOPoseDatasetImporter(foud.BatchDatasetImporter):
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
        label_field: str = "ground_truth",
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
        data = formats.read(
            self.source,
            yolo.NAME,
            images_dir=self.data_path,
            max_samples=self.max_samples,
            shuffle=self.shuffle,
            seed=self.seed,
        )
        root = self.data_path or formats.images_dir(self.source, yolo.NAME)
        data, split_tags = formats.sample_tags(data)
        ids = add_pose_data(dataset, data, root, self.label_field, tags=tags, progress=progress)
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
