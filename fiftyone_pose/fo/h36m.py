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
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import struct
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import bson
import fiftyone as fo
import fiftyone.core.utils as fou
import numpy as np
import orjson
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from ..core.camera import Camera, point_errors, project_each, to_world_each
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import Persons, PoseData
from ..formats import h36m
from . import rawbson as rb
from .adapter import CHUNK, add_pose_data
from .api import building
from .views import sequences

GROUP_FIELD = "group"
SLICE_3D = "3d"
PROJECTED = "projected"
ERROR_FIELD = "reprojection_error"
SKELETON_3D = "skeleton_3d"
FRAME_FIELD = "coordinate_frame"
INFO_KEY = "h36m"
SEQUENCES_VIEW = "sequences"
#: polyline colours of the skeleton's sides in the App
SIDE_COLORS = {"left": "#00d5ff", "right": "#ff3d6e", "centre": "#d9d9d9"}
#: Human3.6M videos are 50 fps; the frame numbers count them
VIDEO_FPS = 50
#: a view's root joint further than this from the first view's, once in the world frame, is noted
AGREEMENT_M = 0.05
_SCENE_FILES_PER_TASK = 256
_GROUP_CLS = rb.string("_cls", "Group")
_NOTE_NO_CAMERA = "persons whose (subject, camera) has no parameters in the cameras file (not projected)"
_NOTE_NO_3D = "persons without 3D points (no 'S' or 'keypoints_3d'): no projection, no 3d slice"
_NOTE_NOT_FINITE = "persons of a 3d slice with 3D points that are not finite numbers (no 3D skeleton drawn)"
_NOTE_DISAGREE = (
    f"views whose root joint, taken to the world frame through their camera, is more than {AGREEMENT_M * 100:.0f} cm "
    "from the first view's (do the camera extrinsics match the 3D points?)"
)


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
        staging = _Staging(target, overwrite)

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


class _Staging:
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
    staging: _Staging | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Add ``data`` to ``dataset``: grouped with a ``3d`` slice whose scenes go to ``staging``
    (None: flat samples), projections where ``cameras`` are given. Returns the summary also kept
    in ``dataset.info["h36m"]``."""
    frames = _Frames(data, require=staging is not None)
    points, world = _points_3d(data)
    cams = _CameraTable(cameras, frames) if cameras else None
    summary: dict[str, Any] = {}
    notes = data.notes
    if points is None:
        notes[_NOTE_NO_3D] = notes.get(_NOTE_NO_3D, 0) + len(data.persons)
    projector = _Projector(data, points, world, cams, notes) if cams and points is not None else None
    groups = _Groups(frames) if staging is not None else None
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
        scenes = _Scenes(data, points, world, cams, frames, groups, staging.target, notes)
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


# ----------------------------------------------------------------------------------- frames


class _Frames:
    """The parsed frame names of the images: subject, action, camera (text), frame (int)."""

    def __init__(self, data: PoseData, require: bool) -> None:
        names = np.array(data.images.file_names, dtype=str) if len(data.images) else np.zeros(0, "<U1")
        fields, ok = h36m.parse_frame_names(names)
        if require and not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise PoseFormatError(
                "the frame name does not parse as <subject>_<action>.<camera>_<frame>.jpg: the grouped import needs "
                "each frame's subject, action, camera and frame number (import the file flat instead)",
                record=f"images[{i}] ({names[i]})",
            )
        self.ok = ok
        self.subject, self.action, self.camera, self.frame = (fields[k] for k in h36m.FRAME_KEYS)
        if require and len(names) and np.isin(self.subject, [".", ".."]).any():
            i = int(np.flatnonzero(np.isin(self.subject, [".", ".."]))[0])
            raise PoseFormatError("a subject named '.' or '..' cannot name a scene folder", record=f"images[{i}]")


def _points_3d(data: PoseData) -> tuple[np.ndarray | None, bool]:
    """Each person's 17 3D points (N, 17, 3) in metres, and whether they are world points: the
    npz's ``S`` (camera frame), else ``keypoints_3d`` (world frame); (None, False) without either."""
    extras, n = data.persons.extras, len(data.persons)
    k = h36m.NUM_POINTS
    for key, world in (("S", False), ("keypoints_3d", True)):
        if isinstance(extras, h36m.RowDicts):
            if not extras.has(key):
                continue
            column = extras.column(key)
            bad = None if column.ndim == 2 and column.shape[1] in (3 * k, 4 * k) else 0
        else:
            present = [i for i in range(n) if key in extras[i]]
            if not present:
                continue
            column = np.full((n, 4 * k), np.nan)
            bad = next((i for i in present if not _numbers(extras[i][key], 4 * k)), None)
            if bad is None:
                column[present] = np.array([extras[i][key] for i in present], dtype=np.float64)
        if bad is not None or column.dtype.kind not in "iuf":
            i = bad or 0
            raise PoseFormatError(
                f"expected {k} x 4 (or {k} x 3) numbers per person (X, Y, Z[, 1] in metres)",
                record=f"persons[{i}] (id {data.persons.ids[i]})",
                field=key,
            )
        return column.reshape(n, k, column.shape[1] // k)[..., :3], world
    return None, False


def _numbers(value: Any, count: int) -> bool:
    """Whether ``value`` is a list of ``count`` numbers (JSON null reads as NaN)."""
    return type(value) is list and len(value) == count and all(v is None or (type(v) in (int, float)) for v in value)


class _CameraTable:
    """The cameras as a list, and each image's index in it (-1: none for its subject and camera)."""

    def __init__(self, cameras: h36m.Cameras, frames: _Frames) -> None:
        self.cameras: list[Camera] = list(cameras.values())
        pairs = np.char.add(np.char.add(frames.subject, "/"), frames.camera)
        uniq, inverse = np.unique(pairs, return_inverse=True)
        index = {f"{s}/{c}": i for i, (s, c) in enumerate(cameras)}
        self.image = np.array([index.get(u, -1) for u in uniq.tolist()], np.int64)[inverse.reshape(-1)]
        self.image[~frames.ok] = -1


class _Projector:
    """The ``projected`` field and ``reprojection_error`` of image samples, a batch at a time."""

    def __init__(
        self,
        data: PoseData,
        points: np.ndarray,
        world: bool,
        cams: _CameraTable,
        notes: dict[str, int],
    ) -> None:
        self.data, self.points, self.world, self.cams = data, points, world, cams
        p = data.persons
        self.order = np.argsort(p.image_index, kind="stable")
        self.starts = np.searchsorted(p.image_index[self.order], np.arange(len(data.images) + 1))
        missing = int((cams.image[p.image_index] < 0).sum())
        if missing:
            notes[_NOTE_NO_CAMERA] = notes.get(_NOTE_NO_CAMERA, 0) + missing
        self.means: list[np.ndarray] = []
        self.head = rb.element_head(rb.DOCUMENT, PROJECTED)
        self.cls = rb.string("_cls", "Keypoints") + rb.element_head(rb.ARRAY, "keypoints")
        self.keypoint = rb.string("_cls", "Keypoint") + rb.element_head(rb.ARRAY, "tags") + rb.wrap(b"")
        self.keypoint += rb.string("label", "person")

    def elements(self, lo: int, hi: int, widths: np.ndarray, heights: np.ndarray) -> list[bytes]:
        p = self.data.persons
        rows = self.order[self.starts[lo] : self.starts[hi]]
        camera = self.cams.image[p.image_index[rows]]
        rows, camera = rows[camera >= 0], camera[camera >= 0]
        n, m = len(rows), hi - lo
        uv = project_each(self.points[rows], self.cams.cameras, camera, self.world)
        errors = point_errors(p.keypoints[rows], uv)
        counted = np.isfinite(errors).sum(axis=1)
        with np.errstate(invalid="ignore"):  # no finite error: NaN
            mean = np.where(np.isfinite(errors), errors, 0).sum(axis=1) / counted
        self.means.append(mean)
        image = p.image_index[rows] - lo
        rank = np.arange(n) - np.searchsorted(image, image)
        wh = np.stack([widths, heights], axis=1).astype(np.float64)[image]
        items = rb.document(
            rb.DOCUMENT,
            rb.index_heads(rb.DOCUMENT, rank),
            rb.concat([
                rb.object_ids("_id", rb.new_object_ids(n)),
                rb.const(n, self.keypoint),
                rb.pair_array("points", (uv - self.data.origin) / wh[:, None, :]),
                rb.integers(["person_id"], p.ids[rows, None]),
                rb.array("errors", errors, False),
                rb.numbers(["mean_error"], mean[:, None], False, present=~np.isnan(mean)[:, None]),
            ]),
        ).rows() if n else []  # fmt: skip
        worst = np.full(m, -np.inf)
        np.fmax.at(worst, image, mean)
        has_error = np.isfinite(worst)
        sample = rb.numbers([ERROR_FIELD], np.where(has_error, worst, 0)[:, None], False, present=has_error[:, None])
        errors_bytes = sample.rows()
        bounds = np.searchsorted(image, np.arange(m + 1)).tolist()
        out = []
        for j in range(m):
            a, b = bounds[j], bounds[j + 1]
            own = self.head + rb.wrap(self.cls + rb.wrap(b"".join(items[a:b]))) if b > a else b""
            out.append(own + errors_bytes[j])
        return out

    def statistics(self) -> dict[str, float | int]:
        """Median, 95th percentile and largest of the persons' mean reprojection errors (pixels)."""
        means = np.concatenate(self.means) if self.means else np.zeros(0)
        means = means[~np.isnan(means)]
        if not len(means):
            return {"persons": 0}
        median, p95 = np.percentile(means, [50, 95]).tolist()
        return {
            "persons": len(means),
            "median": round(median, 3),
            "p95": round(p95, 3),
            "max": round(float(means.max()), 3),
        }


# ----------------------------------------------------------------------------------- groups


class _Groups:
    """One group per (subject, action, frame), numbered in file order; one slice per camera."""

    def __init__(self, frames: _Frames) -> None:
        codes = [np.unique(values, return_inverse=True)[1].reshape(-1) for values in (frames.subject, frames.action)]
        key = np.stack([*codes, frames.frame], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(first), np.int64)
        rank[order] = np.arange(len(first))
        self.of_image = rank[inverse.reshape(-1)]
        self.count = len(first)
        cameras, self.camera_code = np.unique(frames.camera, return_inverse=True)
        self.camera_code = self.camera_code.reshape(-1)
        self.cameras = cameras.tolist()
        self.slices = [f"cam_{c}" for c in self.cameras]
        slot = self.of_image * max(len(self.cameras), 1) + self.camera_code
        uniq, counts = np.unique(slot, return_counts=True)
        if (counts > 1).any():
            dup = int(uniq[np.flatnonzero(counts > 1)[0]])
            i, j = np.flatnonzero(slot == dup)[:2].tolist()
            raise PoseFormatError(
                f"images[{i}] and images[{j}] are the same frame of the same camera (subject, action, frame and "
                "camera are equal): a group holds one image per camera",
                record=f"images[{j}]",
            )
        # each group's first view: its image of the first camera (camera ids in order)
        by_group = np.lexsort((self.camera_code, self.of_image))
        self.first_view = by_group[np.searchsorted(self.of_image[by_group], np.arange(self.count))]
        self.oids = rb.new_object_ids(self.count)
        self._names = [rb.string("name", s) for s in self.slices]

    def elements(self, lo: int, hi: int) -> list[bytes]:
        """The ``group`` element of images ``lo:hi``."""
        n = hi - lo
        code = self.camera_code[lo:hi]
        names = rb.concat([rb.const(n, raw, present=code == c) for c, raw in enumerate(self._names)])
        body = rb.concat([rb.object_ids("_id", self.oids[self.of_image[lo:hi]]), rb.const(n, _GROUP_CLS), names])
        return rb.document(rb.DOCUMENT, GROUP_FIELD, body).rows()


def _frame_rate(frames: _Frames) -> int:
    """Frames per second of the sequences: 50 over the commonest step between the frame numbers of
    one (subject, action, camera)."""
    codes = [np.unique(v, return_inverse=True)[1].reshape(-1) for v in (frames.subject, frames.action, frames.camera)]
    key = np.lexsort((frames.frame, *codes[::-1]))
    same = np.ones(max(len(key) - 1, 0), bool)
    for c in codes:
        same &= c[key][1:] == c[key][:-1]
    steps = np.diff(frames.frame[key])[same]
    steps = steps[steps > 0]
    return max(1, round(VIDEO_FPS / int(np.bincount(steps).argmax()))) if len(steps) else VIDEO_FPS


# ----------------------------------------------------------------------------------- 3d slice


def _sides(skeleton) -> dict[str, list[tuple[int, int]]]:
    """The skeleton's edges by side: an edge touching a ``left_*`` (``right_*``) point is left (right)."""
    sides: dict[str, list[tuple[int, int]]] = {side: [] for side in SIDE_COLORS}
    for a, b in skeleton.edges:
        names = (skeleton.keypoints[a], skeleton.keypoints[b])
        side = next((s for s in ("left", "right") if any(n.startswith(f"{s}_") for n in names)), "centre")
        sides[side].append((a, b))
    return {side: edges for side, edges in sides.items() if edges}


def _scene_template() -> list:
    """``fo.Scene.write``'s text of a scene with the coordinate frame's node and a camera, cut at
    its per-group values: constant bytes and value names, alternating."""
    node = {"position": [0.0, 0.0, 0.0], "quaternion": [0.0, 0.0, 0.0, 1.0], "scale": [1.0, 1.0, 1.0]}
    scene = {
        "_type": "Scene", "uuid": "@scene@", "name": "Scene", "visible": True, **node,
        "children": [{"_type": "Object3D", "uuid": "@node@", "name": "@frame@", "visible": True, **node,
                      "children": []}],
        "__FO3D_VERSION": "1.0",
        "camera": {"position": "@position@", "lookAt": "@look_at@", "aspect": None, "up": "@up@", "fov": 50.0,
                   "near": 0.1, "far": 2000.0},
        "lights": None, "background": None,
    }  # fmt: skip
    pieces = re.split(rb'"@(\w+)@"', orjson.dumps(scene))
    return [p.decode() if j % 2 else p for j, p in enumerate(pieces)]


_SCENE_TEMPLATE = _scene_template()


def _polyline_template(label: str, edges: int) -> tuple[np.ndarray, int, np.ndarray]:
    """A ``fo.Polyline`` document (BSON, as FiftyOne stores it) with ``edges`` two-point 3D shapes,
    where its ``_id`` is, and where each of its 6 x ``edges`` coordinates is (doubles, in order):
    one fixed layout, filled per person with numpy."""
    marker = ObjectId(b"\xfe" * 12)
    values = (np.arange(6 * edges) + 0.5).reshape(edges, 2, 3).tolist()  # distinct doubles to find
    raw = bson.encode({
        "_id": marker, "_cls": "Polyline", "tags": [], "label": label, "points": [], "points3d": values,
        "closed": False, "filled": False, "attributes": {},
    })  # fmt: skip
    at = [raw.find(struct.pack("<d", v)) for v in np.ravel(values)]
    assert raw.count(marker.binary) == 1 and all(raw.count(struct.pack("<d", v)) == 1 for v in np.ravel(values))
    return np.frombuffer(raw, np.uint8), raw.find(marker.binary), np.array(at)


class _Scenes:
    """The ``3d`` slice: a scene file and a sample per group, the skeleton of its first view."""

    def __init__(
        self,
        data: PoseData,
        points: np.ndarray,
        world: bool,
        cams: _CameraTable | None,
        frames: _Frames,
        groups: _Groups,
        target: Path,
        notes: dict[str, int],
    ) -> None:
        p = data.persons
        self.groups = groups
        order = np.argsort(p.image_index, kind="stable")
        starts = np.searchsorted(p.image_index[order], np.arange(len(data.images) + 1))
        view = groups.first_view
        lengths = starts[view + 1] - starts[view]
        self.rows = (
            np.concatenate([order[a:b] for a, b in zip(starts[view].tolist(), starts[view + 1].tolist())])
            if len(view)
            else np.zeros(0, np.int64)
        )
        self.bounds = np.concatenate([[0], np.cumsum(lengths)])
        group_of_row = np.repeat(np.arange(groups.count), lengths)
        xyz = np.asarray(points[self.rows], dtype=np.float64)
        camera = cams.image[p.image_index[self.rows]] if cams else np.full(len(self.rows), -1)
        view_camera = cams.image[view] if cams else np.full(groups.count, -1)
        if not world and cams:
            moved = camera >= 0
            xyz[moved] = to_world_each(xyz[moved], cams.cameras, camera[moved])
            self._check_agreement(p, points, cams, np.where(moved[:, None], xyz[:, 0], np.nan), group_of_row, notes)
        in_world = np.full(groups.count, world) | (view_camera >= 0)
        finite = np.isfinite(xyz).all(axis=(1, 2))
        if (~finite).any():
            notes[_NOTE_NOT_FINITE] = notes.get(_NOTE_NOT_FINITE, 0) + int((~finite).sum())
        self.xyz, self.finite, self.group_of_row = xyz, finite, group_of_row
        self.in_world = in_world
        self.view_camera = view_camera
        self.cams = cams
        self.skeleton = data.skeleton
        subject, action, frame = frames.subject[view], frames.action[view], frames.frame[view]
        self.subject, self.action, self.frame = subject.tolist(), action.tolist(), frame
        self.camera_ids = frames.camera[view].tolist()
        self.paths = [
            str(target / s / f"{s}_{a}" / f"{f:06d}.fo3d") for s, a, f in zip(self.subject, self.action, frame.tolist())
        ]
        self.target = target
        self.pool = ThreadPoolExecutor(max_workers=4)

    def _check_agreement(
        self,
        p: Persons,
        points: np.ndarray,
        cams: _CameraTable,
        first_roots: np.ndarray,
        group_of_row: np.ndarray,
        notes: dict[str, int],
    ) -> None:
        """Note the views whose root, in the world frame through their camera, is far from the first
        view's (``first_roots``: the world roots of the first views' persons, NaN where unknown).
        Only images of one person are compared (Human3.6M's frames all are)."""
        single = np.bincount(p.image_index, minlength=len(self.groups.of_image)) == 1
        view_root = np.full((self.groups.count, 3), np.nan)
        alone = single[p.image_index[self.rows]]
        view_root[group_of_row[alone]] = first_roots[alone]
        rows = np.flatnonzero(single[p.image_index])
        camera = cams.image[p.image_index[rows]]
        roots = to_world_each(np.asarray(points[rows, :1], dtype=np.float64), cams.cameras, camera)[:, 0]
        distance = np.linalg.norm(roots - view_root[self.groups.of_image[p.image_index[rows]]], axis=1)
        with np.errstate(invalid="ignore"):  # NaN: no camera for one of the two
            far = int((distance > AGREEMENT_M).sum())
        if far:
            notes[_NOTE_DISAGREE] = notes.get(_NOTE_DISAGREE, 0) + far

    # ---------------------------------------------------------------------------- scene files

    def _scene(self, g: int, root: list[float] | None) -> bytes:
        """The ``.fo3d`` text of group ``g``, as ``fo.Scene.write`` writes it (uuids from the group id)."""
        world = bool(self.in_world[g])
        if world:
            frame = "Human3.6M world frame (metres, z up)"
            position = self.cams.cameras[self.view_camera[g]].T.tolist() if self.view_camera[g] >= 0 else None
        else:
            frame = f"camera {self.camera_ids[g]} frame (metres, x right, y down, z forward)"
            position = [0.0, 0.0, 0.0]
        h = self.groups.oids[g].tobytes().hex()
        stem = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:24]}"
        values = {
            "scene": f'"{stem}00000000"'.encode(),
            "node": f'"{stem}00000001"'.encode(),
            "frame": orjson.dumps(frame),
            "position": orjson.dumps(position if root else None),
            "look_at": orjson.dumps(root),
            "up": b'"Z"' if world else b'"-Y"',
        }
        return b"".join(values[piece] if j % 2 else piece for j, piece in enumerate(_SCENE_TEMPLATE))

    def write_files(self, folder: Path) -> list[Future]:
        """Start writing every group's scene file under ``folder`` (the final folder's stand-in)."""
        folder.mkdir(parents=True)
        for s, a in sorted(set(zip(self.subject, self.action))):
            (folder / s / f"{s}_{a}").mkdir(parents=True, exist_ok=True)
        first = self.bounds[:-1]
        has = self.bounds[1:] > first
        roots = np.full((self.groups.count, 3), np.nan)
        roots[has] = self.xyz[first[has], 0]
        ok = np.isfinite(roots).all(axis=1).tolist()
        roots_list = roots.tolist()
        cut = len(str(self.target))
        paths = [str(folder) + path[cut:] for path in self.paths]

        def write(lo: int, hi: int) -> None:
            for g in range(lo, hi):
                with open(paths[g], "xb") as f:
                    f.write(self._scene(g, roots_list[g] if ok[g] else None))

        n = self.groups.count
        return [
            self.pool.submit(write, lo, min(lo + _SCENE_FILES_PER_TASK, n)) for lo in range(0, n, _SCENE_FILES_PER_TASK)
        ]

    # ---------------------------------------------------------------------------- samples

    def insert(self, dataset: fo.Dataset, progress: bool | None) -> None:
        """Insert the ``3d`` samples, a batch at a time."""
        collection = dataset._sample_collection
        with fou.ProgressBar(total=self.groups.count, progress=progress) as pb:
            for lo in range(0, self.groups.count, CHUNK):
                hi = min(lo + CHUNK, self.groups.count)
                collection.insert_many(self._documents(dataset, lo, hi), ordered=False)
                pb.update(hi - lo)

    def _documents(self, dataset: fo.Dataset, lo: int, hi: int) -> list[RawBSONDocument]:
        n = hi - lo
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        fixed = bson.encode({
            "tags": [], "_media_type": "3d", "_dataset_id": dataset._doc.id, "created_at": now, "last_modified_at": now,
        })[4:-1]  # fmt: skip
        group = rb.document(rb.DOCUMENT, GROUP_FIELD, rb.concat([
            rb.object_ids("_id", self.groups.oids[lo:hi]),
            rb.const(n, _GROUP_CLS + rb.string("name", SLICE_3D)),
        ]))  # fmt: skip
        head = rb.concat([
            rb.object_ids("_id", rb.new_object_ids(n)),
            rb.const(n, fixed),
            rb.numbers(["_rand"], np.random.default_rng().random((n, 1)) * 0.001 + 0.999, False),  # FiftyOne's rule
            group,
            rb.integers(["frame"], self.frame[lo:hi, None]),
        ]).rows()  # fmt: skip
        skeletons = self._skeletons(lo, hi)
        docs = []
        for j, g in enumerate(range(lo, hi)):
            text = {
                "filepath": self.paths[g],
                "subject": self.subject[g],
                "action": self.action[g],
                FRAME_FIELD: "world" if self.in_world[g] else f"camera {self.camera_ids[g]}",
            }
            docs.append(RawBSONDocument(rb.wrap(head[j] + bson.encode(text)[4:-1] + skeletons[j])))
        return docs

    def _skeletons(self, lo: int, hi: int) -> list[bytes]:
        """The ``skeleton_3d`` element of groups ``lo:hi``: a polyline per side of each finite person."""
        a, b = int(self.bounds[lo]), int(self.bounds[hi])
        m = b - a
        xyz, finite = self.xyz[a:b], self.finite[a:b]
        group = self.group_of_row[a:b] - lo
        before = np.cumsum(finite) - finite
        rank = before - before[np.searchsorted(group, group)] if m else before
        sides = _sides(self.skeleton)
        per_side = []
        for s, (side, edges) in enumerate(sides.items()):
            template, id_at, at = _polyline_template(side, len(edges))
            data = np.repeat(template[None], m, axis=0)
            data[:, id_at : id_at + 12] = rb.new_object_ids(m)
            coordinates = xyz[:, np.array(edges).ravel()].reshape(m, -1)  # (edge, end, x/y/z) in order
            data[:, at[:, None] + np.arange(8)] = (
                np.ascontiguousarray(coordinates, "<f8").view(np.uint8).reshape(m, -1, 8)
            )
            heads = rb.index_heads(rb.DOCUMENT, len(sides) * rank + s)
            per_side.append(rb.concat([heads, rb.Block(m, [(data, None)])]).only(finite).rows() if m else [])
        items = [item for person in zip(*per_side) for item in person]
        head = rb.element_head(rb.DOCUMENT, SKELETON_3D)
        cls = rb.string("_cls", "Polylines") + rb.element_head(rb.ARRAY, "polylines")
        k = len(sides)
        bounds = (self.bounds[lo : hi + 1] - a).tolist()
        out = []
        for j in range(hi - lo):
            joined = b"".join(items[k * bounds[j] : k * bounds[j + 1]])
            out.append(head + rb.wrap(cls + rb.wrap(joined)) if joined else b"")
        return out


# ----------------------------------------------------------------------------------- dataset


def _configure(
    dataset: fo.Dataset,
    frames: _Frames,
    cameras: h36m.Cameras | None,
    summary: dict[str, Any],
    projected: bool,
    scenes: _Scenes | None,
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
    app.dynamic_groups_target_frame_rate = _frame_rate(frames)
    dataset.save()
    dataset.save_view(
        SEQUENCES_VIEW, sequences(dataset), description="the frames of each (subject, action, camera), in order"
    )
