"""The ``3d`` slice of a grouped Human3.6M dataset: a ``.fo3d`` scene file and a sample per group,
holding the skeleton of the group's first view as 3D polylines."""

from __future__ import annotations

import re
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import bson
import fiftyone as fo
import fiftyone.core.utils as fou
import numpy as np
import orjson
from bson.raw_bson import RawBSONDocument

from ...core.camera import to_world_each
from ...core.model import Persons, PoseData
from .. import documents
from .. import rawbson as rb
from ..adapter import CHUNK
from .frames import CameraTable, Frames, Groups
from .layout import FRAME_FIELD, GROUP_FIELD, SIDE_COLORS, SKELETON_3D, SLICE_3D

#: a view's root joint further than this from the first view's, once in the world frame, is noted
AGREEMENT_M = 0.05
_SCENE_FILES_PER_TASK = 256
_NOTE_NOT_FINITE = "persons of a 3d slice with 3D points that are not finite numbers (no 3D skeleton drawn)"
_NOTE_DISAGREE = (
    f"views whose root joint, taken to the world frame through their camera, is more than {AGREEMENT_M * 100:.0f} cm "
    "from the first view's (do the camera extrinsics match the 3D points?)"
)


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
    values = (np.arange(6 * edges) + 0.5).reshape(edges, 2, 3).tolist()  # distinct doubles to find
    raw, id_at = documents.label_template(fo.Polyline(label=label, points3d=values, closed=False, filled=False))
    at = [raw.find(struct.pack("<d", v)) for v in np.ravel(values)]
    assert all(raw.count(struct.pack("<d", v)) == 1 for v in np.ravel(values))
    return np.frombuffer(raw, np.uint8), id_at, np.array(at)


class Scenes:
    """The ``3d`` slice: a scene file and a sample per group, the skeleton of its first view."""

    def __init__(
        self,
        data: PoseData,
        points: np.ndarray,
        world: bool,
        cams: CameraTable | None,
        frames: Frames,
        groups: Groups,
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
        cams: CameraTable,
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
        with fou.ProgressBar(total=self.groups.count, progress=progress) as pb:
            for lo in range(0, self.groups.count, CHUNK):
                hi = min(lo + CHUNK, self.groups.count)
                documents.insert_samples(dataset, self._documents(dataset, lo, hi))
                pb.update(hi - lo)

    def _documents(self, dataset: fo.Dataset, lo: int, hi: int) -> list[RawBSONDocument]:
        n = hi - lo
        head = rb.concat([
            documents.sample_elements(rb.new_object_ids(n), documents.dataset_id(dataset), [], media_type=SLICE_3D),
            documents.group_element(GROUP_FIELD, self.groups.oids[lo:hi], [SLICE_3D], np.zeros(n, np.int64)),
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
            per_side.append(rb.concat([heads, rb.Block(m, [rb.Part(data)])]).only(finite).rows() if m else [])
        items = [item for person in zip(*per_side) for item in person]
        head = rb.element_head(rb.DOCUMENT, SKELETON_3D)
        k = len(sides)
        bounds = (self.bounds[lo : hi + 1] - a).tolist()
        out = []
        for j in range(hi - lo):
            joined = b"".join(items[k * bounds[j] : k * bounds[j + 1]])
            out.append(head + documents.label_list(fo.Polylines, "polylines", joined) if joined else b"")
        return out
