"""The frames of a Human3.6M import: each image's subject, action, camera and frame number, its
camera's parameters, its group (one per subject, action and frame) and the persons' 3D points."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.camera import Camera
from ...core.errors import PoseFormatError
from ...core.model import PoseData
from ...formats import h36m
from .. import documents
from .. import rawbson as rb
from .layout import GROUP_FIELD, VIDEO_FPS


class Frames:
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


def points_3d(data: PoseData) -> tuple[np.ndarray | None, bool]:
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


class CameraTable:
    """The cameras as a list, and each image's index in it (-1: none for its subject and camera)."""

    def __init__(self, cameras: h36m.Cameras, frames: Frames) -> None:
        self.cameras: list[Camera] = list(cameras.values())
        pairs = np.char.add(np.char.add(frames.subject, "/"), frames.camera)
        uniq, inverse = np.unique(pairs, return_inverse=True)
        index = {f"{s}/{c}": i for i, (s, c) in enumerate(cameras)}
        self.image = np.array([index.get(u, -1) for u in uniq.tolist()], np.int64)[inverse.reshape(-1)]
        self.image[~frames.ok] = -1


class Groups:
    """One group per (subject, action, frame), numbered in file order; one slice per camera."""

    def __init__(self, frames: Frames) -> None:
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

    def elements(self, lo: int, hi: int) -> list[bytes]:
        """The ``group`` element of images ``lo:hi``."""
        ids = self.oids[self.of_image[lo:hi]]
        return documents.group_element(GROUP_FIELD, ids, self.slices, self.camera_code[lo:hi]).rows()


def frame_rate(frames: Frames) -> int:
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
