"""Human3.6M as it was recorded: the four synchronised views of a frame as one FiftyOne group, the
3D skeleton beside them, and the 2D points checked against the projection of the 3D ones.

``create_h36m_dataset(data, images_dir, grouped=True, cameras="cameras.json")`` (what
``fop.load(..., grouped=True)`` and ``fiftyone-pose import --grouped`` run) builds, from a
Human3.6M ``PoseData`` (mmpose npz or ``h36m_coco.json``):

- one group per (subject, action, frame) of the frame names, with the slice ``cam_<camera id>``
  for each view (image samples exactly as the flat import makes them, plus ``group``) and a
  ``3d`` slice: a ``.fo3d`` scene per group (camera placed at the first view's camera, looking at
  the root joint; a node named after the coordinate frame) whose sample holds the skeleton as 3D
  polylines (``skeleton_3d``: ``fo.Polylines`` with ``points3d``, one polyline per side, labelled
  ``left``/``right``/``centre``, one shape per skeleton edge), in metres: in the world frame where
  the cameras are given (or the file's 3D points are world ones), else in the first view's camera
  frame (``coordinate_frame`` says which). The persons of the first view (camera ids in order)
  give the 3D points;
- with cameras: ``dataset.info["h36m"]["cameras"]`` (the parameters, mmpose's conventions), a
  ``projected`` keypoints field per view (the 3D points through that view's camera, hidden in the
  App's sidebar by default) whose keypoints carry ``person_id``, ``errors`` (pixels per joint) and
  ``mean_error``, and the sample field ``reprojection_error`` (the largest mean error of its
  persons, pixels), for ``views.reprojection_error``;
- a saved view ``sequences``: the image samples as dynamic groups by (subject, action, camera),
  ordered by ``frame``, which the App plays at the data's frame rate.

``grouped=False`` with cameras adds the projections to the flat dataset. The image samples are
written by the bulk import (``add_pose_data``, which takes the extra elements), the ``3d``
samples in bulk the same way (``rawbson``); scene files are written by threads while the
database works. Scenes go to ``scenes_dir`` (default: FiftyOne's dataset folder,
``<default_dataset_dir>/<dataset slug>/scenes``), written into a temporary folder beside it that
replaces it only when the dataset is complete.

The work is split by job: ``frames`` (frame names, cameras, groups, 3D points), ``projection``
(the ``projected`` field), ``scenes`` (the ``3d`` slice) and ``layout`` (the names used).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import fiftyone as fo
import fiftyone.core.utils as fou
import numpy as np

from ...core.errors import PoseUsageError
from ...core.model import PoseData
from ...formats import h36m
from ..adapter import add_pose_data
from ..api import building
from ..views import sequences
from .frames import CameraTable, Frames, Groups, frame_rate, points_3d
from .layout import (
    ERROR_FIELD,
    FRAME_FIELD,
    GROUP_FIELD,
    INFO_KEY,
    PROJECTED,
    SEQUENCES_VIEW,
    SIDE_COLORS,
    SKELETON_3D,
    SLICE_3D,
)
from .projection import Projector
from .scenes import Scenes

__all__ = [
    "ERROR_FIELD",
    "FRAME_FIELD",
    "GROUP_FIELD",
    "INFO_KEY",
    "PROJECTED",
    "SEQUENCES_VIEW",
    "SIDE_COLORS",
    "SKELETON_3D",
    "SLICE_3D",
    "Staging",
    "add_h36m",
    "create_h36m_dataset",
]

_NOTE_NO_3D = "persons without 3D points (no 'S' or 'keypoints_3d'): no projection, no 3d slice"


def create_h36m_dataset(
    data: PoseData,
    images_dir: str | os.PathLike,
    name: str | None = None,
    label_field: str = "ground_truth",
    overwrite: bool = False,
    persistent: bool = False,
    progress: bool | None = None,
    *,
    grouped: bool = True,
    cameras: str | os.PathLike | h36m.Cameras | None = None,
    scenes_dir: str | os.PathLike | None = None,
) -> fo.Dataset:
    """A new dataset of Human3.6M ``data`` (see the module docstring), all or nothing: the
    dataset is built under a temporary name and the scene folder written beside its place."""
    if data.format != h36m.NAME:
        raise PoseUsageError(
            f"the grouped import and cameras are for Human3.6M files (format 'h36m'), not {data.format!r}"
        )
    if cameras is not None and not isinstance(cameras, dict):
        cameras = h36m.read_cameras(cameras)
    name = name or fo.get_default_dataset_name()
    staging = None
    if grouped:
        target = Path(scenes_dir or Path(fo.config.default_dataset_dir) / fou.to_slug(name) / "scenes").absolute()
        staging = Staging(target, overwrite)

    def fill(dataset: fo.Dataset) -> None:
        if staging is not None:
            staging.check()
        add_h36m(dataset, data, images_dir, label_field, cameras, staging, progress)

    try:
        with building(name, overwrite, persistent) as dataset:
            fill(dataset)
    except BaseException:
        if staging is not None:
            staging.discard()
        raise
    if staging is not None:
        try:
            staging.commit()
        except BaseException:
            dataset.delete()
            staging.discard()
            raise
    return dataset


class Staging:
    """A folder written under a temporary name beside ``target``, which it replaces on ``commit``."""

    def __init__(self, target: Path, overwrite: bool) -> None:
        self.target, self.overwrite = target, overwrite
        self.path = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"

    def check(self) -> None:
        """Refuse to replace a folder that has content, unless overwriting."""
        target = self.target
        if target.exists() and not self.overwrite and (not target.is_dir() or any(target.iterdir())):
            raise PoseUsageError(
                f"the scene folder {target} exists; pass overwrite=True (--overwrite) or another scenes_dir "
                "(--scenes-dir)"
            )

    def commit(self) -> None:
        if not self.path.exists():  # nothing was written (no 3D points)
            return
        old = self.target.parent / f".{self.target.name}.{uuid.uuid4().hex[:8]}.old"
        if self.target.exists():
            os.replace(self.target, old)
        os.replace(self.path, self.target)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def add_h36m(
    dataset: fo.Dataset,
    data: PoseData,
    images_dir: str | os.PathLike,
    label_field: str = "ground_truth",
    cameras: h36m.Cameras | None = None,
    staging: Staging | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Add ``data`` to ``dataset``: grouped with a ``3d`` slice whose scenes go to ``staging``
    (None: flat samples), projections where ``cameras`` are given. Returns the summary also kept
    in ``dataset.info["h36m"]``."""
    frames = Frames(data, require=staging is not None)
    points, world = points_3d(data)
    cams = CameraTable(cameras, frames) if cameras else None
    summary: dict[str, Any] = {}
    notes = data.notes
    if points is None:
        notes[_NOTE_NO_3D] = notes.get(_NOTE_NO_3D, 0) + len(data.persons)
    projector = Projector(data, points, world, cams, notes) if cams and points is not None else None
    groups = Groups(frames) if staging is not None else None
    if groups is not None:
        dataset.add_group_field(GROUP_FIELD, default=next(iter(groups.slices), None))
        for slice_name in groups.slices:
            dataset.add_group_slice(slice_name, "image")
        summary.update(groups=groups.count, slices=list(groups.slices))
    if projector is not None:
        dataset.add_sample_field(PROJECTED, fo.EmbeddedDocumentField, embedded_doc_type=fo.Keypoints)
        dataset.add_sample_field(f"{PROJECTED}.keypoints.person_id", fo.IntField)
        dataset.add_sample_field(f"{PROJECTED}.keypoints.errors", fo.ListField, subfield=fo.FloatField)
        dataset.add_sample_field(f"{PROJECTED}.keypoints.mean_error", fo.FloatField)
        dataset.add_sample_field(ERROR_FIELD, fo.FloatField)

    def elements(lo: int, hi: int, widths: np.ndarray, heights: np.ndarray) -> list[bytes]:
        parts = []
        if groups is not None:
            parts.append(groups.elements(lo, hi))
        if projector is not None:
            parts.append(projector.elements(lo, hi, widths, heights))
        return [b"".join(p) for p in zip(*parts)]

    scenes = None
    if groups is not None and points is not None:
        scenes = Scenes(data, points, world, cams, frames, groups, staging.target, notes)
        dataset.add_group_slice(SLICE_3D, "3d")
        writing = scenes.write_files(staging.path)
    try:
        add_pose_data(dataset, data, images_dir, label_field, progress=progress, sample_elements=elements)
        if scenes is not None:
            dataset.add_sample_field(SKELETON_3D, fo.EmbeddedDocumentField, embedded_doc_type=fo.Polylines)
            dataset.add_sample_field(FRAME_FIELD, fo.StringField)
            scenes.insert(dataset, progress)
            for future in writing:
                future.result()
            summary.update(scenes=len(scenes.paths), scenes_dir=str(staging.target))
    finally:
        if scenes is not None:
            scenes.pool.shutdown(wait=True, cancel_futures=True)
    if projector is not None:
        summary["reprojection_error_px"] = projector.statistics()
    if notes:
        summary["notes"] = dict(notes)
    _configure(dataset, frames, cameras, summary, projector is not None, scenes)
    return summary


def _configure(
    dataset: fo.Dataset,
    frames: Frames,
    cameras: h36m.Cameras | None,
    summary: dict[str, Any],
    projected: bool,
    scenes: Scenes | None,
) -> None:
    """Camera parameters and the summary in ``dataset.info``; the App's defaults; the sequences view."""
    info = dict(dataset.info)
    info[INFO_KEY] = {
        "cameras": h36m.encode_cameras(cameras) if cameras else None,
        "camera_convention": "X_world = R X_cam + T (metres); distortion: Human3.6M's published model "
        "(fiftyone_pose.core.camera)",
        **summary,
    }
    dataset.info = info
    app = dataset.app_config
    fields = []
    if projected:  # the App's default (every label field) but the projection
        active = fo.DatasetAppConfig.default_active_fields(dataset)
        active.paths = [path for path in active.paths if path != PROJECTED]
        app.active_fields = active
    if scenes is not None:
        colors = [{"value": side, "color": color} for side, color in SIDE_COLORS.items()]
        fields.append({"path": SKELETON_3D, "colorByAttribute": "label", "valueColors": colors})
    if fields:
        app.color_scheme = fo.ColorScheme(color_by="value", fields=fields)
    app.dynamic_groups_target_frame_rate = frame_rate(frames)
    dataset.save()
    dataset.save_view(
        SEQUENCES_VIEW, sequences(dataset), description="the frames of each (subject, action, camera), in order"
    )
