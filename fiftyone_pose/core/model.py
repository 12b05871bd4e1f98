"""The neutral in-memory pose dataset that every format reads into and writes from.

A dataset is two tables: images (one row per image) and persons (one row per person, with
``image_index`` pointing into the images). Per-person numbers live in numpy arrays, not in per-person
objects, so conversion to and from FiftyOne and JSON is vectorised.

Exactness: keypoints, boxes and areas are float64, which holds every JSON number of these files
exactly; ``int_mask`` remembers which of them were JSON integers so writers reproduce ``229`` vs
``229.0``. Anything a format carries that has no column here travels in ``extras`` (per record) or
``meta`` (per file), verbatim.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import orjson

from .numbers import concat_masks, take_mask, uniform_mask
from .skeleton import Skeleton


class Marker(enum.Enum):
    """Markers in ``PoseData.meta``: objects no file can hold (a string such as ``"__absent__"``
    is a value a file may have). Enum members stay themselves through copies and pickles."""

    ABSENT = "absent"


#: ``PoseData.meta`` value marking a top-level key the source file did not have (e.g. ``info``),
#: so a writer neither invents it on a round trip nor loses it when converting (test it with ``is``)
ABSENT = Marker.ABSENT

#: Standard per-person keys a source record may lack; ``Persons.absent`` says which, per person.
OPTIONAL_PERSON_KEYS = ("id", "category_id", "bbox", "area", "iscrowd", "num_keypoints", "segmentation")


@dataclass
class Images:
    """One row per image. ``widths``/``heights`` are 0 where unknown."""

    ids: np.ndarray  # int64 (M,)
    file_names: Sequence[str]  # a list, or a column that takes less memory (``packed.PackedJson``)
    widths: np.ndarray  # int64 (M,)
    heights: np.ndarray  # int64 (M,)
    extras: Sequence[dict[str, Any]]  # per image: keys the model has no column for, verbatim (read-only)

    def __len__(self) -> int:
        return len(self.file_names)

    def record(self, i: int) -> str:
        """How an error names image ``i``: ``images[i] (id ID, FILE_NAME)``."""
        return f"images[{i}] (id {self.ids[i]}, {self.file_names[i]})"

    @classmethod
    def empty(cls) -> Images:
        return cls(np.zeros(0, np.int64), [], np.zeros(0, np.int64), np.zeros(0, np.int64), [])

    @classmethod
    def concat(cls, parts: list[Images]) -> Images:
        """The images of several tables, one after the other."""
        if not parts:
            return cls.empty()
        return cls(
            ids=np.concatenate([p.ids for p in parts]),
            file_names=[f for p in parts for f in p.file_names],
            widths=np.concatenate([p.widths for p in parts]),
            heights=np.concatenate([p.heights for p in parts]),
            extras=[e for p in parts for e in p.extras],
        )


@dataclass
class Persons:
    """One row per person (crowd regions included, flagged by ``crowd``)."""

    image_index: np.ndarray  # int64 (N,): row in Images
    ids: np.ndarray  # int64 (N,)
    category_ids: np.ndarray  # int64 (N,)
    keypoints: np.ndarray  # float64 (N, K, 2), pixels, 0-based; raw values kept for v=0 points
    visibility: np.ndarray  # int8 (N, K): COCO 0 unlabeled / 1 occluded / 2 visible
    boxes: np.ndarray  # float64 (N, 4) [x, y, w, h] pixels; NaN row = no box
    areas: np.ndarray  # float64 (N,); NaN = no area
    crowd: np.ndarray  # bool (N,)
    num_keypoints: np.ndarray  # int64 (N,): the count the file states; -1 = not stated
    segmentations: list[Any]  # as given (polygons / RLE dict), or its ``compact_json``; None = absent
    extras: list[dict[str, Any]]
    #: the file's own visibility values where they differ from ``visibility`` (float64 (N, K))
    visibility_raw: np.ndarray | None = None
    #: which numbers were JSON ints: keys "keypoints" (N, K, 3), "bbox" (N, 4), "area" (N,),
    #: "part_box.<part>" (N, 4); always a bool array of the column's shape (``uniform_mask`` gives
    #: a free, read-only one where every value is alike)
    int_mask: dict[str, np.ndarray] = field(default_factory=dict)
    #: per optional key (see OPTIONAL_PERSON_KEYS): bool (N,) True where the record lacked it
    absent: dict[str, np.ndarray] = field(default_factory=dict)
    #: boxes of body parts (e.g. COCO-WholeBody "face", "lefthand"): part -> float64 (N, 4)
    #: [x, y, w, h] in pixels, kept exactly as given; NaN row = the person has no such box
    part_boxes: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, mask in self.int_mask.items():
            shape = (len(self.ids), *self.mask_shape(key))
            if not (isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == shape):
                found = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
                raise TypeError(f"int_mask[{key!r}] must be a bool array of shape {shape}, found {found}")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def num_points(self) -> int:
        return self.keypoints.shape[1]

    @classmethod
    def empty(cls, num_points: int) -> Persons:
        n = 0
        return cls(
            image_index=np.zeros(n, np.int64),
            ids=np.zeros(n, np.int64),
            category_ids=np.zeros(n, np.int64),
            keypoints=np.zeros((n, num_points, 2)),
            visibility=np.zeros((n, num_points), np.int8),
            boxes=np.zeros((n, 4)),
            areas=np.zeros(n),
            crowd=np.zeros(n, bool),
            num_keypoints=np.zeros(n, np.int64),
            segmentations=[],
            extras=[],
        )

    @classmethod
    def concat(cls, parts: list[Persons], num_points: int) -> Persons:
        """The persons of several tables, one after the other (``image_index`` taken as given)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty(num_points)
        if len(parts) == 1:
            return parts[0]

        def cat(get) -> np.ndarray:
            return np.concatenate([get(p) for p in parts])

        def filled(get, default, shape) -> np.ndarray:
            return np.concatenate([get(p) if get(p) is not None else np.full((len(p), *shape), default) for p in parts])

        # in the order the parts have them (a set's order would change from run to run); part
        # boxes by name, so parts first seen in a later chunk do not change their order
        mask_keys = dict.fromkeys(k for p in parts for k in p.int_mask)
        absent_keys = dict.fromkeys(k for p in parts for k in p.absent)
        box_keys = sorted({k for p in parts for k in p.part_boxes})
        has_raw = any(p.visibility_raw is not None for p in parts)
        return cls(
            image_index=cat(lambda p: p.image_index),
            ids=cat(lambda p: p.ids),
            category_ids=cat(lambda p: p.category_ids),
            keypoints=cat(lambda p: p.keypoints),
            visibility=cat(lambda p: p.visibility),
            boxes=cat(lambda p: p.boxes),
            areas=cat(lambda p: p.areas),
            crowd=cat(lambda p: p.crowd),
            num_keypoints=cat(lambda p: p.num_keypoints),
            segmentations=[s for p in parts for s in p.segmentations],
            extras=[e for p in parts for e in p.extras],
            visibility_raw=cat(lambda p: p.raw_visibility()) if has_raw else None,
            int_mask={k: concat_masks([p.mask(k) for p in parts]) for k in mask_keys},
            absent={k: filled(lambda p, k=k: p.absent.get(k), False, ()) for k in absent_keys},
            part_boxes={k: filled(lambda p, k=k: p.part_boxes.get(k), np.nan, (4,)) for k in box_keys},
        )

    def take(self, index: np.ndarray) -> Persons:
        """The persons at ``index`` (a reordering or a subset), every column alike."""
        index = np.asarray(index, dtype=np.int64)
        listed = index.tolist()
        return Persons(
            image_index=self.image_index[index],
            ids=self.ids[index],
            category_ids=self.category_ids[index],
            keypoints=self.keypoints[index],
            visibility=self.visibility[index],
            boxes=self.boxes[index],
            areas=self.areas[index],
            crowd=self.crowd[index],
            num_keypoints=self.num_keypoints[index],
            segmentations=[self.segmentations[i] for i in listed],
            extras=[self.extras[i] for i in listed],
            visibility_raw=None if self.visibility_raw is None else self.visibility_raw[index],
            int_mask={k: take_mask(m, index) for k, m in self.int_mask.items()},
            absent={k: m[index] for k, m in self.absent.items()},
            part_boxes={k: b[index] for k, b in self.part_boxes.items()},
        )

    def mask(self, key: str) -> np.ndarray:
        """The int mask of a column; without one, keypoints count as ints (COCO), the rest as floats."""
        mask = self.int_mask.get(key)
        return uniform_mask(key == "keypoints", (len(self), *self.mask_shape(key))) if mask is None else mask

    def mask_shape(self, key: str) -> tuple[int, ...]:
        """The shape of one person's int mask for a column: (K, 3) keypoints, () area, (4,) boxes."""
        return {"keypoints": (self.num_points, 3), "area": ()}.get(key, (4,))

    def raw_visibility(self, rows: Any = slice(None)) -> np.ndarray:
        """The visibility values as the source file wrote them (float64 (N, K)), of ``rows`` only if given."""
        if self.visibility_raw is not None:
            return self.visibility_raw[rows]
        return self.visibility[rows].astype(np.float64)


@dataclass
class PoseData:
    """A pose dataset: images, persons, the keypoint layout, and the file-level rest."""

    images: Images
    persons: Persons
    skeleton: Skeleton
    #: categories as the file lists them (COCO ``categories``), verbatim
    categories: list[dict[str, Any]] = field(default_factory=list)
    #: other top-level content (``info``, ``licenses``, unknown keys), verbatim and in order;
    #: ``ABSENT`` for a key the format knows that the file lacked, ``"categories": []`` where the
    #: file's categories are an empty list (written back empty, not as a made-up category)
    meta: dict[str, Any] = field(default_factory=dict)
    #: registry name of the format this came from ("coco", ...)
    format: str | None = None
    #: what a reader adjusted or skipped, by reason -> count (never silent)
    notes: dict[str, int] = field(default_factory=dict)
    #: the coordinate of the image's first pixel in ``keypoints`` and boxes: 0 (COCO and most
    #: files) or 1 (MATLAB-made files such as MPII). Coordinates stay as the file wrote them, so
    #: they are written back exactly; FiftyOne and other formats see them shifted by this.
    origin: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts a user wants after an import or conversion."""
        return summary(self, person_counts(self.persons))


def person_counts(p: Persons) -> np.ndarray:
    """The additive counts behind a summary, of these persons: persons, crowd regions, persons
    without labeled points, and points with visibility 0, 1, 2 (crowd regions' points not counted)."""
    vis = p.visibility[~p.crowd]
    hist = np.bincount(vis.ravel().astype(np.int64), minlength=3)[:3] if vis.size else np.zeros(3, np.int64)
    unlabeled = int(((vis > 0).sum(axis=1) == 0).sum()) if len(vis) else 0
    return np.array([len(vis), int(p.crowd.sum()), unlabeled, *hist.tolist()], np.int64)


#: how a writer's notes of what it left out begin, by what they take from the summary's counts:
#: the summary of data as written (``formats.write``) counts what the file holds
LEFT_OUT = {
    "images": ("images without persons not written",),
    "crowd_regions": ("crowd regions not written", "crowd regions left out"),
    "persons": ("persons left out",),
    "persons_without_keypoints": ("persons left out: no labelled point",),
}


def summary(data: PoseData, counts: np.ndarray) -> dict[str, Any]:
    """The summary of ``data`` (its images, layout and notes) with ``person_counts`` of its persons
    (summed over chunks when the persons streamed past), less what the notes say a writer left
    out (``LEFT_OUT``)."""
    persons, crowd, unlabeled, v0, v1, v2 = counts.tolist()
    left = {
        what: sum(n for reason, n in data.notes.items() if reason.startswith(starts))
        for what, starts in LEFT_OUT.items()
    }
    v0 -= left["persons_without_keypoints"] * data.skeleton.num_keypoints  # (their points are all unlabelled)
    return {
        "images": len(data.images) - left["images"],
        "persons": persons - left["persons"],
        "crowd_regions": crowd - left["crowd_regions"],
        "persons_without_keypoints": unlabeled - left["persons_without_keypoints"],
        "keypoints_labeled": v1 + v2,
        "visibility": {"0": v0, "1": v1, "2": v2},
        "layout": f"{data.skeleton.name} ({data.skeleton.num_keypoints} points)",
        **({"notes": dict(data.notes)} if data.notes else {}),
    }


def take_images(data: PoseData, rows: np.ndarray) -> PoseData:
    """``data`` with only the images at ``rows``, in that order, and their persons (in their own order)."""
    rows = np.asarray(rows, np.int64)
    new_row = new_rows(len(data.images), rows)
    return replace(data, images=images_at(data.images, rows), persons=persons_of_rows(data.persons, new_row))


def images_at(images: Images, rows: np.ndarray) -> Images:
    """The images at ``rows`` (int64), in that order."""
    listed = rows.tolist()
    return Images(
        ids=images.ids[rows],
        file_names=[images.file_names[i] for i in listed],
        widths=images.widths[rows],
        heights=images.heights[rows],
        extras=[images.extras[i] for i in listed],
    )


def new_rows(count: int, rows: np.ndarray) -> np.ndarray:
    """For each of ``count`` images, its row among the images ``rows`` (int64) taken (-1: not taken)."""
    new_row = np.full(count, -1, np.int64)
    new_row[rows] = np.arange(len(rows))
    return new_row


def persons_of_rows(persons: Persons, new_row: np.ndarray) -> Persons:
    """The persons (in their own order) of the images ``new_rows`` keeps, pointing at their new rows."""
    kept = persons.take(np.flatnonzero(new_row[persons.image_index] >= 0))
    kept.image_index = new_row[kept.image_index]
    return kept


def picked_rows(
    count: int, max_samples: int | None = None, shuffle: bool = False, seed: int | None = None
) -> list[int]:
    """The rows of ``count`` images an importer reads, FiftyOne's importer convention: all of them, or
    ``max_samples`` of them; the first ones, or with ``shuffle`` in a random order (``seed``)."""
    rows = list(range(count))
    if shuffle:
        random.Random(seed).shuffle(rows)
    return rows if max_samples is None else rows[: max(int(max_samples), 0)]


def with_origin(data: PoseData, origin: int) -> PoseData:
    """``data`` with its coordinates shifted to count pixels from ``origin`` (0 or 1).

    Labeled points and boxes move; the placeholder coordinates of unlabeled points (``0, 0`` in
    COCO, ``-1, -1`` in MPII's json) are not positions and stay as they are.
    """
    if origin == data.origin:
        return data
    shift = float(origin - data.origin)
    p = data.persons
    keypoints = np.where((p.visibility > 0)[..., None], p.keypoints + shift, p.keypoints)
    xy = np.array([shift, shift, 0.0, 0.0])
    persons = replace(
        p,
        keypoints=keypoints,
        boxes=p.boxes + xy,
        part_boxes={name: b + xy for name, b in p.part_boxes.items()},
    )  # a whole shift keeps ints ints: the int masks stay
    return replace(data, persons=persons, origin=origin)


def compact_json(value: Any) -> Any:
    """A list or dict as an ``orjson.Fragment`` of its JSON text; other values as they are.

    Export holds every person's segmentation until the file is written: as Python lists of
    floats that is ~1 kB per person, as JSON text ~0.2 kB. The text is copied out of orjson's
    result, whose buffer keeps ~4 kB per call allocated while it lives. JSON writers (orjson)
    write a fragment as its text; ``plain_json`` gives the value back.
    """
    if type(value) not in (list, dict):
        return value
    return orjson.Fragment(bytes(memoryview(orjson.dumps(value))))


def plain_json(value: Any) -> Any:
    """The value a ``compact_json`` fragment holds (other values as they are)."""
    return (
        orjson.loads(orjson.dumps(value)) if type(value) is orjson.Fragment else value
    )  # a fragment dumps as its text


def keypoint_boxes(keypoints: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """``[x, y, w, h]`` extent of each person's labeled points (zeros for a person with none).

    Used where a source has no box (converted datasets, persons drawn in FiftyOne).
    """
    labeled = visibility > 0
    x = np.where(labeled, keypoints[..., 0], np.nan)
    y = np.where(labeled, keypoints[..., 1], np.nan)
    out = np.zeros((len(keypoints), 4))
    has = labeled.any(axis=1)
    if has.any():
        x0, y0 = np.nanmin(x[has], axis=1), np.nanmin(y[has], axis=1)
        out[has] = np.stack([x0, y0, np.nanmax(x[has], axis=1) - x0, np.nanmax(y[has], axis=1) - y0], axis=1)
    return out
