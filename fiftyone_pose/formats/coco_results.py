"""COCO results lists: model predictions as every pose codebase writes them, read and written losslessly.

A results file is a JSON list, one record per predicted person::

    [{"image_id": 785, "category_id": 1, "keypoints": [x, y, score, ...], "score": 0.93, ...}, ...]

Flavors (one per file, decided by its first record):

- ``keypoints``: ``keypoints`` holds 3 x K numbers, the third of each point its score; any other
  keys (``bbox``, ``center``, ``scale``, ``id``, ...) are kept;
- ``wholebody``: COCO-WholeBody results, ``keypoints`` (17 body points) plus ``foot_kpts``,
  ``face_kpts``, ``lefthand_kpts``, ``righthand_kpts``, joined into one 133-point person as the
  ground truth is (``coco_wholebody`` layout);
- ``detections``: person-detector results (``bbox`` + ``score``, no keypoints), as top-down
  pipelines ship them: persons with a box and no points (a 0-point layout).

In ``PoseData`` the point scores are ``persons.visibility_raw`` (``visibility`` maps them as COCO
does: ``<= 0`` unlabeled, else labeled), the instance ``score`` and every other key are
per-person extras, a record's ``id`` is the person id. Images are known by id only (no file names
or sizes). ``write`` gives the same document back: values with their int/float types, every key,
records in order; keys in the order ``id``, ``image_id``, ``category_id``, ``bbox``, ``keypoints``,
the part arrays, ``score``, then the record's other keys as they came.

A results list is predictions, not a dataset (a ``protocol.PredictionsFormat``): add it to the
dataset it was predicted on with ``fiftyone-pose import-predictions``
(``fiftyone_pose.fo.predictions.load_predictions``); ``not_a_dataset`` is the error an import gives.
"""

from __future__ import annotations

import os
import re
from itertools import chain
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import ABSENT, Images, Persons, PoseData
from ..core.numbers import INT64_MAX, INT64_MIN, concat_masks, mask_value, to_lists, uniform_mask
from ..core.skeleton import Skeleton
from .coco_wholebody import BODY_POINTS, PART_ARRAYS
from .context import ReadContext, record_name
from .jsonio import dumps, load_json, write_atomic
from .protocol import Confidence, OptionSpec, Peek

NAME = "coco_results"
FLAVORS = {
    "keypoints": "COCO keypoint results list [{image_id, category_id, keypoints [x, y, score, ...], score}, ...]",
    "wholebody": "COCO-WholeBody results (keypoints + foot_kpts, face_kpts, lefthand_kpts, righthand_kpts: 133 points)",
    "detections": "person-detector results [{image_id, category_id, bbox, score}, ...] (boxes, no keypoints)",
}
ORIGIN = 0
READ_OPTIONS = (
    OptionSpec("skeleton", "the layout the predictions must have (a skeleton name), else the point count decides"),
)
WRITE_OPTIONS = ()
STREAMING = (
    "read and written whole: a results list names its images only in its records, so the images "
    "table a stream starts with needs the whole list"
)
#: the layout of detector results: persons without points
DETECTIONS_LAYOUT = Skeleton(name="detections", keypoints=())

_RECORDS = "results"
_COLUMNS = ("id", "image_id", "category_id", "bbox", "keypoints", *(key for key, _ in PART_ARRAYS))
#: records converted to arrays at a time (bounds the temporary lists of a large file)
_CHUNK = 16384
_FIRST_RECORD = re.compile(rb"^\s*\[\s*\{")


def detect(peek: Peek) -> Confidence:
    """A JSON list whose records carry ``image_id``, ``score`` and ``keypoints`` or ``bbox`` (in
    the first 64 KiB): the structure of a results list, no dataset's (``CERTAIN``)."""
    head = peek.head
    if not _FIRST_RECORD.match(head):
        return Confidence.NO
    if b'"image_id"' in head and b'"score"' in head and (b'"keypoints"' in head or b'"bbox"' in head):
        return Confidence.CERTAIN
    return Confidence.NO


def sniff_flavor(path: str | os.PathLike) -> str:
    """The flavor of a results file ("keypoints", "wholebody" or "detections"), from its first 64 KiB."""
    head = Peek(path).head
    if any(f'"{key}"'.encode() in head for key, _ in PART_ARRAYS):
        return "wholebody"
    return "keypoints" if b'"keypoints"' in head else "detections"


def describe(path: str | os.PathLike) -> str:
    """What a results file holds, in words (e.g. for ``--format auto``)."""
    return {
        "wholebody": "a COCO-WholeBody results list (model predictions)",
        "keypoints": "a COCO keypoint results list (model predictions)",
        "detections": "a person-detector results list (boxes and scores)",
    }[sniff_flavor(path)]


def not_a_dataset(path: str | os.PathLike) -> PoseUsageError:
    """The error for importing a results list as a dataset: it names what the file is and the way in."""
    return PoseUsageError(
        f"{os.fspath(path)} is {describe(path)}, not a dataset: add it to the dataset it was predicted on "
        f"with `fiftyone-pose import-predictions {os.fspath(path)} --dataset NAME` "
        "(Python: fiftyone_pose.load_predictions)"
    )


def not_results(path: str | os.PathLike) -> PoseUsageError:
    """The error for adding a file that is not a results list as predictions."""
    return PoseUsageError(
        f"{os.fspath(path)} is not a COCO results list (a JSON list of records with image_id, score and "
        "keypoints or bbox); to import a dataset, use `fiftyone-pose import`"
    )


def read(path: str | os.PathLike, *, skeleton: Skeleton | str | None = None) -> PoseData:
    """Read a results file. ``skeleton``: the layout the predictions must have (e.g. the dataset's)."""
    return decode(load_json(path), path=path, skeleton=skeleton)


def write(data: PoseData, path: str | os.PathLike) -> None:
    """Write ``data`` as a results list (atomically, a chunk of records at a time)."""
    write_atomic(path, _json_chunks(data))


# --------------------------------------------------------------------------------------- reading


def decode(doc: Any, *, path: str | os.PathLike | None = None, skeleton: Skeleton | str | None = None) -> PoseData:
    """Turn a parsed results list into ``PoseData`` (pure: no disk access; ``doc`` is not changed).

    ``skeleton`` forces the layout: a point count that disagrees is an error naming the record.
    Without it the count decides (COCO's 17, COCO-WholeBody's part arrays, another shipped layout
    of that size, else a custom one).
    """
    ctx = ReadContext(path)

    def error(message: str, i: int | None = None, field: str | None = None) -> PoseFormatError:
        return ctx.error(message, None if i is None else record_name(_RECORDS, doc, i), field)

    if not isinstance(doc, list):
        raise error(f"expected a JSON list of results, found {type(doc).__name__}")
    for i, r in enumerate(doc):
        if not isinstance(r, dict):
            raise error(f"expected an object, found {type(r).__name__}", i)
    if isinstance(skeleton, str):
        skeleton = skeletons.load(skeleton)
    flavor = _flavor(doc, skeleton)
    n = len(doc)
    for key in ("image_id", "score", *(("bbox",) if flavor == "detections" else ("keypoints",))):
        _require(doc, key, error)
    if flavor == "wholebody":
        for key, _ in PART_ARRAYS:
            _require(doc, key, error)

    image_ids = _integers(doc, "image_id", error)
    unique, first, inverse = np.unique(image_ids, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # images in the order the file first names them
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    images = Images(
        ids=unique[order],
        file_names=[""] * len(unique),
        widths=np.zeros(len(unique), np.int64),
        heights=np.zeros(len(unique), np.int64),
        extras=[{} for _ in range(len(unique))],
    )

    absent: dict[str, np.ndarray] = {k: np.ones(n, bool) for k in ("area", "iscrowd", "num_keypoints", "segmentation")}
    ids = np.arange(1, n + 1, dtype=np.int64)  # pycocotools' loadRes numbers predictions from 1
    has_id = np.fromiter(("id" in r for r in doc), bool, count=n)
    if has_id.any():
        ids[has_id] = _integers([r for r in doc if "id" in r], "id", error, np.flatnonzero(has_id))
    if not has_id.all():
        absent["id"] = ~has_id
    categories = np.ones(n, np.int64)
    has_cat = np.fromiter(("category_id" in r for r in doc), bool, count=n)
    if has_cat.any():
        categories[has_cat] = _integers(
            [r for r in doc if "category_id" in r], "category_id", error, np.flatnonzero(has_cat)
        )
    if not has_cat.all():
        absent["category_id"] = ~has_cat

    for i, r in enumerate(doc):
        if type(r["score"]) not in (int, float):
            raise error(f"expected a number, found {r['score']!r:.60}", i, "score")

    boxes = np.full((n, 4), np.nan)
    bbox_mask = uniform_mask(False, (n, 4))
    has_box = np.fromiter(("bbox" in r for r in doc), bool, count=n)
    if has_box.any():
        rows = np.flatnonzero(has_box)
        values, bbox_mask_rows = _rows(doc, rows, "bbox", 4, ctx, error)
        boxes[rows] = values
        bbox_mask = _spread(bbox_mask_rows, has_box)
    if not has_box.all():
        absent["bbox"] = ~has_box

    if flavor == "detections" or not n:
        layout = DETECTIONS_LAYOUT if flavor == "detections" else skeleton or skeletons.load("coco")
        k = layout.num_keypoints
        keypoints, raw, kp_mask = np.zeros((n, k, 2)), np.zeros((n, k)), uniform_mask(True, (n, k, 3))
    else:
        layout, keypoints, raw, kp_mask = _points(doc, flavor, skeleton, ctx, error)
    visibility = np.where(raw <= 0, 0, np.where(raw == 1, 1, 2)).astype(np.int8)
    extras = [{k: v for k, v in r.items() if k not in _COLUMNS} for r in doc]
    persons = Persons(
        image_index=rank[inverse],
        ids=ids,
        category_ids=categories,
        keypoints=keypoints,
        visibility=visibility,
        boxes=boxes,
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=extras,
        visibility_raw=raw,
        int_mask={"keypoints": kp_mask, "bbox": bbox_mask},
        absent=absent,
    )
    # a results list has no images/categories/info of its own: writers of other formats must not invent them
    meta = {"info": ABSENT, "categories": ABSENT}
    return PoseData(images, persons, layout, [], meta, NAME, ctx.notes)


def _flavor(doc: list[dict[str, Any]], skeleton: Skeleton | None) -> str:
    if not doc:
        return "detections" if skeleton is not None and skeleton.num_keypoints == 0 else "keypoints"
    first = doc[0]
    if "keypoints" not in first:
        return "detections"
    return "wholebody" if any(key in first for key, _ in PART_ARRAYS) else "keypoints"


def _require(doc: list[dict[str, Any]], key: str, error) -> None:
    for i, r in enumerate(doc):
        if key not in r:
            raise error("required key is missing", i, key)


def _integers(records: list[dict[str, Any]], key: str, error, index: np.ndarray | None = None) -> np.ndarray:
    """``[r[key] for r in records]`` as int64; a non-integer names its record (``index``: the records' positions)."""
    values = [r[key] for r in records]
    kinds = list(map(type, values))
    if kinds.count(int) == len(values) and (not values or INT64_MIN <= min(values) and max(values) <= INT64_MAX):
        return np.array(values, dtype=np.int64)
    for j, v in enumerate(values):
        if type(v) is not int or not INT64_MIN <= v <= INT64_MAX:
            i = j if index is None else int(index[j])
            raise error(f"expected an integer, found {v!r:.60}", i, key)
    raise AssertionError("unreachable")


def _rows(
    doc: list[dict[str, Any]], rows: np.ndarray, key: str, width: int, ctx: ReadContext, error
) -> tuple[np.ndarray, np.ndarray]:
    """The number lists ``doc[r][key]`` (each ``width`` long) of ``rows`` as float64 (len(rows), width) and int mask."""
    out = np.empty((len(rows), width))
    masks = []
    listed = rows.tolist()
    for lo in range(0, len(listed), _CHUNK):
        part = listed[lo : lo + _CHUNK]
        lists = [doc[i][key] for i in part]
        for j, v in enumerate(lists):
            if not isinstance(v, list) or len(v) != width:
                found = f"{len(v)} values" if isinstance(v, list) else f"{v!r:.40}"
                raise error(_expected_numbers(key, width, found), part[j], key)
        values, mask = ctx.numbers(
            list(chain.from_iterable(lists)),
            lambda j, part=part: (record_name(_RECORDS, doc, part[j]), key),
            width,
            period=3 if width % 3 == 0 else width,
        )
        out[lo : lo + len(part)] = values.reshape(len(part), width)
        masks.append(mask.reshape(len(part), width))
    return out, concat_masks(masks) if masks else uniform_mask(True, (0, width))


def _expected_numbers(key: str, width: int, found: str) -> str:
    if key == "bbox":
        return f"expected a list [x, y, w, h], found {found}"
    return f"expected a list of {width} numbers (3 x {width // 3} points), found {found}"


def _spread(mask: np.ndarray, present: np.ndarray) -> np.ndarray:
    """An int mask of the present rows as one of all rows: a free uniform one where every present
    value is alike (the rows of absent values are never written), else absent rows False."""
    if present.all():
        return mask
    value = mask_value(mask)
    if value is not None:
        return uniform_mask(value, (len(present), *mask.shape[1:]))
    full = np.zeros((len(present), *mask.shape[1:]), bool)
    full[present] = mask
    return full


def _points(
    doc: list[dict[str, Any]], flavor: str, skeleton: Skeleton | None, ctx: ReadContext, error
) -> tuple[Skeleton, np.ndarray, np.ndarray, np.ndarray]:
    """The layout, the points (N, K, 2), their scores (N, K) and the triplets' int mask (N, K, 3)."""
    n = len(doc)
    rows = np.arange(n)
    if flavor == "wholebody":
        layout = skeletons.load("coco_wholebody")
        if skeleton is not None and skeleton.keypoints != layout.keypoints:
            raise error(
                f"holds COCO-WholeBody results (133 points), but the layout is '{skeleton.name}' "
                f"({skeleton.num_keypoints} points)",
                0,
                PART_ARRAYS[0][0],
            )
        parts = [("keypoints", BODY_POINTS), *PART_ARRAYS]
    elif skeleton is not None and skeleton.name == "coco_wholebody":
        raise error(
            "the layout is 'coco_wholebody': expected COCO-WholeBody results, with "
            + ", ".join(key for key, _ in PART_ARRAYS)
            + " beside the 17 body points of 'keypoints'",
            0,
            PART_ARRAYS[0][0],
        )
    else:
        k = skeleton.num_keypoints if skeleton is not None else _point_count(doc, error)
        layout = skeleton if skeleton is not None else _layout_of(k)
        parts = [("keypoints", k)]
    xy, raw, masks = [], [], []
    for key, k in parts:
        values, mask = _rows(doc, rows, key, 3 * k, ctx, _with_layout(error, layout, key))
        triplets = values.reshape(n, k, 3)
        xy.append(triplets[..., :2])
        raw.append(triplets[..., 2])
        masks.append(mask.reshape(n, k, 3))
    mask = concat_masks(masks, axis=1)
    return layout, np.ascontiguousarray(np.concatenate(xy, axis=1)), np.concatenate(raw, axis=1), mask


def _with_layout(error, layout: Skeleton, key: str):
    """``error`` whose wrong-length messages name the layout the count comes from."""

    def named(message: str, i: int | None = None, field: str | None = None) -> PoseFormatError:
        if message.startswith("expected a list of") and key == "keypoints" and layout.name != "coco_wholebody":
            message += f"; the layout '{layout.name}' has {layout.num_keypoints} points"
        return error(message, i, field)

    return named


def _point_count(doc: list[dict[str, Any]], error) -> int:
    first = doc[0]["keypoints"]
    if not isinstance(first, list) or not first or len(first) % 3:
        found = f"{len(first)} values" if isinstance(first, list) else f"{first!r:.40}"
        raise error(f"expected a list of x, y, score triplets, found {found}", 0, "keypoints")
    return len(first) // 3


def _layout_of(k: int) -> Skeleton:
    found = skeletons.match((), k, prefer="coco")
    return found if found is not None else Skeleton.custom([f"keypoint_{i}" for i in range(k)])


# --------------------------------------------------------------------------------------- writing


def encode(data: PoseData) -> list[dict[str, Any]]:
    """Turn ``PoseData`` into a results list (pure: no disk access)."""
    return [r for lo in range(0, len(data.persons), _CHUNK) for r in _encode_rows(data, lo, lo + _CHUNK)]


def _json_chunks(data: PoseData):
    yield b"["
    for lo in range(0, len(data.persons), _CHUNK):
        records = _encode_rows(data, lo, lo + _CHUNK)
        yield (b"," if lo else b"") + dumps(records, _RECORDS, lo)[1:-1]
    yield b"]"


def _encode_rows(data: PoseData, lo: int, hi: int) -> list[dict[str, Any]]:
    """The records of persons ``lo:hi`` (see the module docstring for the key order)."""
    p = data.persons.take(np.arange(lo, min(hi, len(data.persons))))
    n, k = len(p), p.num_points
    columns: list[tuple[str, list[Any]]] = []
    if k:
        triplets = np.concatenate([p.keypoints, p.raw_visibility()[..., None]], axis=2)
        mask = p.mask("keypoints")
        if data.skeleton.name == "coco_wholebody" and k == 133:
            start = 0
            for key, size in [("keypoints", BODY_POINTS), *PART_ARRAYS]:
                part_mask = mask[:, start : start + size].reshape(n, 3 * size)
                part = triplets[:, start : start + size].reshape(n, 3 * size)
                columns.append((key, to_lists(part, part_mask)))
                start += size
        else:
            columns.append(("keypoints", to_lists(triplets.reshape(n, 3 * k), mask.reshape(n, 3 * k))))
    has = {key: ~p.absent.get(key, np.zeros(n, bool)) for key in ("id", "category_id", "bbox")}
    has["bbox"] &= ~np.isnan(p.boxes).any(axis=1)
    boxes = to_lists(np.nan_to_num(p.boxes), p.mask("bbox"))
    image_ids = data.images.ids[p.image_index].tolist()
    ids, cats = p.ids.tolist(), p.category_ids.tolist()
    out = []
    for i in range(n):
        extra = p.extras[i]
        if "score" not in extra:
            raise PoseFormatError(
                "has no score; a results list needs one per prediction", record=f"{_RECORDS}[{lo + i}]", field="score"
            )
        rec: dict[str, Any] = {"id": ids[i]} if has["id"][i] else {}
        rec["image_id"] = image_ids[i]
        if has["category_id"][i]:
            rec["category_id"] = cats[i]
        if has["bbox"][i]:
            rec["bbox"] = boxes[i]
        for key, lists in columns:
            rec[key] = lists[i]
        rec["score"] = extra["score"]
        rec.update(extra)
        out.append(rec)
    return out
