"""COCO person-keypoint JSON (2014/2017 and COCO-like files): read and write, losslessly.

Every format module has the same surface: ``NAME``, ``FLAVORS``, ``detect(path) -> float``,
``read(path) -> PoseData``, ``write(data, path)``, and the pure ``decode(doc)`` / ``encode(data)``
beside them. Reading then writing gives back the same document: ids, key sets, every number with
its int/float type and exact value, segmentations, categories, ``info``/``licenses`` and unknown keys.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np
import orjson

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError
from ..core.model import ABSENT, OPTIONAL_PERSON_KEYS, Images, Persons, PoseData, keypoint_boxes
from ..core.numbers import (
    INT64_MAX,
    INT64_MIN,
    MAX_EXACT_INT,
    NumberTypeError,
    concat_masks,
    is_int,
    is_number,
    to_array,
    to_lists,
)
from ..core.skeleton import Skeleton
from ._jsonio import RecordChunks, dumps, load_json, load_json_chunked, write_atomic

NAME = "coco"
FLAVORS = {
    "person_keypoints": "COCO person-keypoint JSON (person_keypoints_*.json, COCO-like files of other datasets)",
    "image_info": "COCO test-set image list (images and categories, no annotations)",
}

IMAGE_KEYS = ("id", "file_name", "width", "height")
PERSON_KEYS = ("id", "image_id", "category_id", "keypoints", "num_keypoints", "bbox", "area", "iscrowd", "segmentation")

_MISSING = object()
#: annotations converted to arrays at a time when reading
_READ_CHUNK = 16384


def detect(path: str | os.PathLike) -> float:
    """Confidence (0-1) that ``path`` is a COCO keypoint file, from its first and last bytes.

    The last bytes matter: a real COCO file lists its images first (over a megabyte for val2017),
    so its annotations and ``categories`` (with the keypoint names) are only near the end.
    """
    head = _head(path)
    if not head.lstrip().startswith(b"{") or b'"images"' not in head and b'"categories"' not in head:
        return 0.0
    text = head + _tail(path)
    if b'"keypoints"' in text or b'"num_keypoints"' in text:
        return 0.6
    # a test-set image list (images + categories, no annotations) is COCO too
    return 0.5 if b'"categories"' in text else 0.1


def read(path: str | os.PathLike, *, skeleton: Skeleton | str | None = None) -> PoseData:
    """Read a COCO keypoint file. ``skeleton`` forces the layout (else the category decides)."""
    return read_document(path, lambda doc: decode(doc, path=path, skeleton=skeleton, consume=True))


def read_document(path: str | os.PathLike, decode_doc: Callable[[dict[str, Any]], PoseData]) -> PoseData:
    """``decode_doc`` of the file's document, its ``annotations`` parsed a chunk at a time.

    Only one chunk of annotation records is a Python parse tree at any time, which bounds the
    peak memory of a large file to about its arrays (``decode`` accepts the chunks in place of
    the list). Invalid JSON found in a chunk is reported by one plain parse of the file.
    """
    split = load_json_chunked(path, ("annotations",))
    if split is None:
        return decode_doc(load_json(path))
    doc, arrays = split
    try:
        return decode_doc({**doc, **arrays})
    except orjson.JSONDecodeError:
        load_json(path)  # names the line and column
        raise


#: adds a dataset's own keys to the COCO records of the persons at ``rows`` (e.g. COCO-WholeBody's part arrays)
Extend = Callable[[list[dict[str, Any]], np.ndarray], None]


def write(data: PoseData, path: str | os.PathLike, *, extend: Extend | None = None) -> None:
    """Write ``data`` as a COCO keypoint file: streamed in chunks, renamed into place when complete.

    COCO-like formats write through here too, with ``extend`` adding their keys chunk by chunk,
    so no format holds a whole document of Python lists.
    """
    write_atomic(path, _json_chunks(data, extend))


# --------------------------------------------------------------------------------------- reading


def decode(
    doc: Any,
    *,
    path: str | os.PathLike | None = None,
    skeleton: Skeleton | str | None = None,
    format_name: str = NAME,
    consume: bool = False,
    refine: Callable[[Persons, list, _Context], Persons] | None = None,
) -> PoseData:
    """Turn a parsed COCO document into ``PoseData`` (pure: no disk access).

    ``annotations`` may be a list or ``RecordChunks`` (see ``read_document``). ``consume=True``
    lets it free the document's keypoint lists as it goes (the caller parsed the document for
    this call only), which lowers peak memory by about a third. ``refine(persons, records,
    context)``: a dataset's own reading of its extra keys, applied to each chunk of persons
    with the records they were read from (e.g. COCO-WholeBody's part arrays).
    """
    ctx = _Context(path)
    if not isinstance(doc, dict):
        raise ctx.error(f"expected a JSON object with 'images', found {type(doc).__name__}")
    images_raw = ctx.require_list(doc, "images", "top level")
    anns = (
        doc["annotations"]
        if isinstance(doc.get("annotations"), RecordChunks)
        else ctx.require_list(doc, "annotations", "top level")
        if "annotations" in doc
        else []
    )
    categories = ctx.require_list(doc, "categories", "top level") if "categories" in doc else []
    for i, c in enumerate(categories):
        if not isinstance(c, dict) or not is_int(c.get("id")):
            raise ctx.error("expected an object with an integer 'id'", f"categories[{i}]", "id")

    images = _decode_images(images_raw, ctx)
    layout = _resolve_skeleton(categories, anns.head() if isinstance(anns, RecordChunks) else anns, skeleton, ctx)
    k = layout.num_keypoints
    chunks = anns if isinstance(anns, RecordChunks) else [anns]
    parts = []
    for chunk in chunks:
        persons = _decode_persons(chunk, images, categories, k, ctx, consume or chunks is anns)
        parts.append(refine(persons, chunk, ctx) if refine is not None else persons)
    persons = Persons.concat(parts, parts[0].num_points)
    if "id" not in persons.absent:
        _check_unique(persons.ids, "annotations", ctx)
    meta = {k: v for k, v in doc.items() if k not in ("images", "annotations", "categories")}
    for key in ("info", "annotations", "categories"):  # e.g. test-set image lists, Human3.6M's converted file
        if key not in doc:
            meta[key] = ABSENT
    return PoseData(images, persons, layout, categories, meta, format_name, ctx.notes)


class _Context:
    """The file being read, its error factory and the adjustment counters."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = path
        self.notes: dict[str, int] = {}

    def error(self, message: str, record: str | None = None, field: str | None = None) -> PoseFormatError:
        return PoseFormatError(message, path=self.path, record=record, field=field)

    def note(self, reason: str, count: int) -> None:
        if count:
            self.notes[reason] = self.notes.get(reason, 0) + int(count)

    def require_list(self, obj: dict, key: str, record: str) -> list:
        value = obj.get(key, _MISSING)
        if value is _MISSING:
            raise self.error("required key is missing", record, key)
        if not isinstance(value, list):
            raise self.error(f"expected a list, found {type(value).__name__}", record, key)
        return value


def _record(kind: str, records: Sequence[Any], i: int) -> str:
    """``annotations[12] (id 900017)``: the record's position in the file and its id."""
    rid = records[i].get("id") if isinstance(records[i], dict) else None
    return _position(kind, records, i) + (f" (id {rid})" if rid is not None else "")


def _position(kind: str, records: Sequence[Any], i: int) -> str:
    """``annotations[12]``, counted in the whole file (a ``Chunk`` of records knows where it starts)."""
    return f"{kind}[{getattr(records, 'first', 0) + i}]"


def _column(
    records: list,
    key: str,
    kind: str,
    ctx: _Context,
    check: Callable[[Any], bool],
    expected: str,
    required: bool = True,
    default: Any = None,
) -> list:
    """``[r[key] for r in records]`` (``default`` where not required and absent), checked.

    Any failure names the first bad record and the field.
    """
    try:
        values = [r[key] for r in records] if required else [r.get(key, default) for r in records]
    except (KeyError, TypeError, AttributeError):
        for i, r in enumerate(records):
            if not isinstance(r, dict):
                raise ctx.error(f"expected an object, found {type(r).__name__}", _position(kind, records, i)) from None
            if key not in r:
                raise ctx.error("required key is missing", _record(kind, records, i), key) from None
        raise
    if _all_of_type(values, check, _MISSING if required else default):
        return values
    for i, v in enumerate(values):
        if not (v is default and not required or check(v)):
            raise ctx.error(f"expected {expected}, found {v!r:.60}", _record(kind, records, i), key)
    return values


def _all_of_type(values: list, check: Callable[[Any], bool], skip: Any) -> bool:
    """True if every value but ``skip`` passes ``check``, decided from type counts at C speed.

    False means "not decided" (another check, other types, ints to range-check among
    placeholders or out-of-range floats): the caller then checks each value.
    """
    types = _CHECK_TYPES.get(check)
    if types is None:
        return False
    kinds = list(map(type, values))
    skipped = kinds.count(type(skip))  # _MISSING's type (object) or None's: no other value has it
    ints = kinds.count(int) if int in types else 0
    if ints + sum(kinds.count(t) for t in types if t is not int) + skipped != len(values):
        return False
    if not ints:
        return True
    return not skipped and INT64_MIN <= min(values) and max(values) <= INT64_MAX


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


#: the exact types that pass a check (subclasses and int ranges are left to the check itself)
_CHECK_TYPES: dict[Callable[[Any], bool], tuple[type, ...]] = {
    is_int: (int,),
    is_number: (int, float),
    _is_list: (list,),
    _is_str: (str,),
}


def _decode_images(records: list, ctx: _Context) -> Images:
    ids = _column(records, "id", "images", ctx, is_int, "an integer id")
    names = _column(records, "file_name", "images", ctx, _is_str, "a string")
    sizes = []
    extras = [{k: v for k, v in r.items() if k not in IMAGE_KEYS} for r in records]
    for key in ("width", "height"):
        vals = _column(records, key, "images", ctx, is_number, "a number", required=False)
        arr = np.zeros(len(vals), np.int64)
        for i, v in enumerate(vals):
            if v is None:
                if key in records[i]:  # "width": null: read as unknown, written back as null
                    extras[i][key] = None
                continue
            if not math.isfinite(v) or v < 0 or v > INT64_MAX or int(v) != v:
                raise ctx.error(
                    f"expected a non-negative whole number, found {v!r}", _record("images", records, i), key
                )
            arr[i] = int(v)
            if type(v) is not int or v == 0:  # e.g. 640.0, or 0 (unknown): keep the file's spelling
                extras[i][key] = v
        sizes.append(arr)
    id_arr = np.array(ids, dtype=np.int64)
    _check_unique(id_arr, "images", ctx)
    return Images(id_arr, names, sizes[0], sizes[1], extras)


def _check_unique(ids: np.ndarray, kind: str, ctx: _Context) -> None:
    uniq, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if len(uniq) != len(ids):
        dup = uniq[counts > 1][0]
        second = int(np.flatnonzero(ids == dup)[1])
        raise ctx.error(f"duplicate id {dup} (also used by {kind}[{first[counts > 1][0]}])", f"{kind}[{second}]", "id")


def _resolve_skeleton(categories: list, anns: list, forced: Skeleton | str | None, ctx: _Context) -> Skeleton:
    """The layout: forced, else the category's keypoint names, else the only layout of that size."""
    if isinstance(forced, str):
        forced = skeletons.load(forced)
    named = [i for i, c in enumerate(categories) if c.get("keypoints")]
    names = categories[named[0]]["keypoints"] if named else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ctx.error(
            f"expected a list of names, found {names!r:.60}", _record("categories", categories, named[0]), "keypoints"
        )
    differ = [i for i in named if categories[i]["keypoints"] != names]
    if differ:
        raise ctx.error(
            f"lists other keypoint names than {_record('categories', categories, named[0])}; "
            "one layout per file is supported",
            _record("categories", categories, differ[0]),
            "keypoints",
        )
    if forced is not None:
        if names and len(names) != forced.num_keypoints:
            raise ctx.error(
                f"the category lists {len(names)} keypoints but layout '{forced.name}' has {forced.num_keypoints}",
                _record("categories", categories, named[0]),
                "keypoints",
            )
        return forced
    if names:
        found = skeletons.match(names, len(names), prefer=NAME)
        if found is not None:
            return found
        return Skeleton.custom(names, _edges(categories, named[0], len(names), ctx))
    kp = next((a["keypoints"] for a in anns if isinstance(a, dict) and isinstance(a.get("keypoints"), list)), None)
    if kp is None or len(kp) % 3:
        return skeletons.load(NAME)
    found = skeletons.match((), len(kp) // 3, prefer=NAME)
    if found is None:
        return Skeleton.custom([f"keypoint_{i}" for i in range(len(kp) // 3)])
    return found


def _edges(categories: list, i: int, k: int, ctx: _Context) -> list[tuple[int, int]]:
    """A category's 1-based ``skeleton`` as 0-based edges; anything but pairs of 1..k is an error."""
    pairs = categories[i].get("skeleton") or []

    def is_edge(e: Any) -> bool:
        return type(e) is list and len(e) == 2 and all(is_int(v) and 1 <= v <= k for v in e)

    bad = pairs if not isinstance(pairs, list) else next((e for e in pairs if not is_edge(e)), _MISSING)
    if bad is not _MISSING:
        raise ctx.error(
            f"expected pairs of keypoint numbers 1..{k}, found {bad!r:.60}",
            _record("categories", categories, i),
            "skeleton",
        )
    return [(a - 1, b - 1) for a, b in pairs]


def _decode_persons(anns: list, images: Images, categories: list, k: int, ctx: _Context, consume: bool) -> Persons:
    n = len(anns)
    if n == 0:
        return Persons.empty(k)
    absent: dict[str, np.ndarray] = {}

    def optional(key: str, check: Callable[[Any], bool], expected: str) -> list:
        values = _column(anns, key, "annotations", ctx, check, expected, required=False, default=_MISSING)
        if values.count(_MISSING):
            absent[key] = np.fromiter((v is _MISSING for v in values), dtype=bool, count=n)
        return values

    ids = optional("id", is_int, "an integer id")
    id_arr = np.array([0 if v is _MISSING else v for v in ids], dtype=np.int64)
    ctx.note("annotations with id 0 (COCOeval treats id 0 as unmatched)", int((id_arr == 0).sum()))

    image_ids = np.array(_column(anns, "image_id", "annotations", ctx, is_int, "an integer image id"), dtype=np.int64)
    order = np.argsort(images.ids, kind="stable")
    pos = np.searchsorted(images.ids[order], image_ids).clip(0, max(len(order) - 1, 0))
    found = images.ids[order][pos] == image_ids if len(order) else np.zeros(n, bool)
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise ctx.error(
            f"refers to image id {image_ids[i]}, which is not in 'images'", _record("annotations", anns, i), "image_id"
        )
    image_index = order[pos]

    cat_values = optional("category_id", is_int, "an integer category id")
    known = {c["id"] for c in categories}
    cat_arr = np.array(
        [categories[0]["id"] if v is _MISSING and categories else (1 if v is _MISSING else v) for v in cat_values],
        dtype=np.int64,
    )
    if categories:
        bad = [i for i, v in enumerate(cat_values) if v is not _MISSING and v not in known]
        if bad:
            raise ctx.error(
                f"refers to category id {cat_values[bad[0]]}, which is not in 'categories'",
                _record("annotations", anns, bad[0]),
                "category_id",
            )

    kp_lists = _column(anns, "keypoints", "annotations", ctx, _is_list, "a list")
    lengths = np.fromiter(map(len, kp_lists), dtype=np.int64, count=n)
    if (lengths != 3 * k).any():
        i = int(np.flatnonzero(lengths != 3 * k)[0])
        raise ctx.error(
            f"has {lengths[i]} values, expected {3 * k} (3 x {k} keypoints)",
            _record("annotations", anns, i),
            "keypoints",
        )
    triplets = np.empty((n, k, 3))
    masks = []
    for lo in range(0, n, _READ_CHUNK):  # a chunk at a time: no 3*K*N-long list of all values
        hi = min(lo + _READ_CHUNK, n)
        values, mask = _numbers(list(chain.from_iterable(kp_lists[lo:hi])), anns, "keypoints", 3 * k, ctx, lo)
        triplets[lo:hi] = values.reshape(hi - lo, k, 3)
        masks.append(mask.reshape(hi - lo, k, 3))
        if consume:  # the parsed lists are the largest part of the document: free them now
            kp_lists[lo:hi] = [None] * (hi - lo)
            for a in anns[lo:hi]:
                del a["keypoints"]
    kp_mask = concat_masks(masks)
    raw_v = triplets[..., 2]
    visibility = np.where(raw_v <= 0, 0, np.where(raw_v == 1, 1, 2)).astype(np.int8)
    odd = ~np.isin(raw_v, (0, 1, 2))
    ctx.note("visibility values other than 0/1/2 (read as 0 if <= 0, else labeled; raw value kept)", int(odd.sum()))

    bbox_values = optional("bbox", lambda v: isinstance(v, list) and len(v) == 4, "a list [x, y, w, h]")
    boxes, bbox_mask = _rows(bbox_values, absent.get("bbox"), 4, anns, "bbox", ctx)
    area_values = optional("area", is_number, "a number")
    areas, area_mask = _rows(area_values, absent.get("area"), 0, anns, "area", ctx)

    standard = frozenset(PERSON_KEYS)
    extras = [{} if a.keys() <= standard else {k2: v for k2, v in a.items() if k2 not in standard} for a in anns]
    crowd_values = optional("iscrowd", lambda v: type(v) in (int, bool), "0 or 1")
    crowd = np.zeros(n, bool)
    for i, v in enumerate(crowd_values):
        if v is not _MISSING:
            crowd[i] = bool(v)
            if type(v) is not int or v not in (0, 1):
                extras[i]["iscrowd"] = v  # keep the file's spelling (true/false, 2, ...)
    nk_values = optional("num_keypoints", is_number, "a count")
    num_kp = np.full(n, -1, np.int64)
    for i, v in enumerate(nk_values):
        if v is not _MISSING:
            if not math.isfinite(v) or v < 0 or v > INT64_MAX or int(v) != v:
                raise ctx.error(
                    f"expected a non-negative count, found {v!r}", _record("annotations", anns, i), "num_keypoints"
                )
            num_kp[i] = int(v)
            if type(v) is not int:
                extras[i]["num_keypoints"] = v
    seg_values = optional("segmentation", lambda v: True, "")
    segs = [None if v is _MISSING else v for v in seg_values]

    return Persons(
        image_index=image_index.astype(np.int64),
        ids=id_arr,
        category_ids=cat_arr,
        keypoints=np.ascontiguousarray(triplets[..., :2]),
        visibility=visibility,
        boxes=boxes,
        areas=areas,
        crowd=crowd,
        num_keypoints=num_kp,
        segmentations=segs,
        extras=extras,
        visibility_raw=raw_v.copy() if (raw_v != visibility).any() else None,
        int_mask={"keypoints": kp_mask, "bbox": bbox_mask, "area": area_mask},
        absent=absent,
    )


def _numbers(
    flat: list, anns: list, key: str, per_record: int, ctx: _Context, first: int = 0
) -> tuple[np.ndarray, Any]:
    """``to_array`` with an error naming the annotation that holds a non-number.

    ``flat`` holds the values of ``anns[first:]`` (a chunk), so errors name the right record.
    """
    try:
        return to_array(flat, period=per_record or 1)
    except NumberTypeError as e:
        j = _first_bad_number(flat)
        if j is None:
            raise ctx.error(str(e), "annotations", key) from None
        record = _record("annotations", anns, first + j // max(per_record, 1))
        raise ctx.error(_bad_number_message(flat[j], e), record, key) from None


def _first_bad_number(flat: list) -> int | None:
    """Index of the first value ``to_array`` rejects: a non-number or an int float64 cannot hold."""
    for j, v in enumerate(flat):
        if not is_number(v) or type(v) is int and abs(v) > MAX_EXACT_INT:
            return j
    return None


def _bad_number_message(v: Any, e: NumberTypeError) -> str:
    return str(e) if type(v) in (int, float) else f"expected numbers, found {v!r:.60}"


def _rows(
    values: list, missing: np.ndarray | None, width: int, anns: list, key: str, ctx: _Context
) -> tuple[np.ndarray, Any]:
    """Numbers of an optional per-person key as float64 rows (NaN where absent) and their int mask."""
    n = len(values)
    shape = (n, width) if width else (n,)
    present = [v for v in values if v is not _MISSING] if missing is not None else values
    flat = list(chain.from_iterable(present)) if width else present
    if missing is not None:
        # errors must name the real record index, so map positions in ``present`` back
        index = np.flatnonzero(~missing)
        try:
            arr, mask = to_array(flat, period=width or 1)
        except NumberTypeError as e:
            j = _first_bad_number(flat)
            if j is None:
                raise ctx.error(str(e), "annotations", key) from None
            record = _record("annotations", anns, int(index[j // (width or 1)]))
            raise ctx.error(_bad_number_message(flat[j], e), record, key) from None
        out = np.full(shape, np.nan)
        out[index] = arr.reshape(out[index].shape)
        full = np.zeros(shape, bool)
        full[index] = mask.reshape(out[index].shape)
        return out, full
    arr, mask = _numbers(flat, anns, key, width, ctx)
    return arr.reshape(shape), mask.reshape(shape)


def _head(path: str | os.PathLike, size: int = 1 << 16) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def _tail(path: str | os.PathLike, size: int = 1 << 16) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - size, 0))
            return f.read(size)
    except OSError:
        return b""


# --------------------------------------------------------------------------------------- writing


#: records encoded and serialised at a time when streaming a file (bounds the writer's memory: 4096
#: COCO-WholeBody persons are ~100 MB of Python lists)
_WRITE_CHUNK = 4096


def encode(data: PoseData, *, extend: Extend | None = None) -> dict[str, Any]:
    """Turn ``PoseData`` into a COCO document (pure: no disk access); ``extend``: see ``write``."""
    return {
        key: [r for part in value for r in part] if chunked else value
        for key, value, chunked in _sections(data, extend)
    }


def _sections(data: PoseData, extend: Extend | None = None) -> Iterator[tuple[str, Any, bool]]:
    """The document's top-level (key, value, chunked) in order; chunked values yield record lists."""
    meta = dict(data.meta)
    has_annotations = meta.pop("annotations", None) != ABSENT
    has_categories = meta.pop("categories", None) != ABSENT
    if "info" not in meta:
        # data not read from a COCO-like file (converted, or made in FiftyOne): pycocotools
        # 2.0.9/2.0.10 loadRes raise KeyError without ``info``
        yield "info", {"description": "written by fiftyone-pose"}, False
        yield "licenses", [], False
    for key, value in meta.items():
        if value != ABSENT:
            yield key, value, False
    yield "images", _image_chunks(data.images), True
    if has_annotations or len(data.persons):
        yield "annotations", _person_chunks(data, extend), True
    if has_categories:
        yield "categories", data.categories or [default_category(data.skeleton)], False


def _json_chunks(data: PoseData, extend: Extend | None = None) -> Iterator[bytes]:
    """The document as JSON bytes, record lists serialised a chunk at a time (bounded memory)."""
    yield b"{"
    for i, (key, value, chunked) in enumerate(_sections(data, extend)):
        yield (b"," if i else b"") + orjson.dumps(key) + b":"
        if not chunked:
            yield dumps(value)
            continue
        yield b"["
        done = 0
        for records in value:
            if records:
                yield (b"," if done else b"") + dumps(records, key, done)[1:-1]
                done += len(records)
        yield b"]"
    yield b"}"


def _image_chunks(images: Images) -> Iterator[list[dict[str, Any]]]:
    for lo in range(0, len(images), _WRITE_CHUNK):
        yield encode_images(images, slice(lo, lo + _WRITE_CHUNK))


def _person_chunks(data: PoseData, extend: Extend | None) -> Iterator[list[dict[str, Any]]]:
    for lo in range(0, len(data.persons), _WRITE_CHUNK):
        rows = np.arange(lo, min(lo + _WRITE_CHUNK, len(data.persons)))
        records = _encode_person_rows(data.persons.take(rows), data.images.ids)
        if extend is not None:
            extend(records, rows)
        yield records


def default_category(layout: Skeleton) -> dict[str, Any]:
    """The ``person`` category of a layout, with COCO's 1-based ``skeleton``."""
    return {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(layout.keypoints),
        "skeleton": [[a + 1, b + 1] for a, b in layout.edges],
    }


def encode_images(images: Images, rows: slice = slice(None)) -> list[dict[str, Any]]:
    """COCO ``images`` records (of the rows given); a size of 0 (unknown) is not written."""
    out = []
    for iid, name, w, h, extra in zip(
        images.ids[rows].tolist(),
        images.file_names[rows],
        images.widths[rows].tolist(),
        images.heights[rows].tolist(),
        images.extras[rows],
    ):
        rec: dict[str, Any] = {"id": iid, "file_name": name}
        if w:
            rec["width"] = w
        if h:
            rec["height"] = h
        rec.update(extra)
        out.append(rec)
    return out


def _encode_person_rows(p: Persons, image_ids: np.ndarray) -> list[dict[str, Any]]:
    """One COCO annotation per person; standard keys first, then the record's extra keys."""
    n, k = len(p), p.num_points
    if n == 0:
        return []
    raw_v = p.raw_visibility()
    if p.visibility_raw is not None:
        # a COCO file holds COCO visibility: the source's own value where COCO reads it as the same
        # visibility (0.27, 3, ...), the COCO value where the source's scale differs (AI
        # Challenger's 1 visible / 2 occluded / 3 unlabeled, OCHuman's four states)
        raw_v = np.where(np.where(raw_v <= 0, 0, np.where(raw_v == 1, 1, 2)) == p.visibility, raw_v, p.visibility)
    triplets = np.concatenate([p.keypoints, raw_v[..., None]], axis=2).reshape(n, 3 * k)
    kp_lists = to_lists(triplets, p.mask("keypoints").reshape(n, 3 * k))
    absent = {key: p.absent[key] for key in OPTIONAL_PERSON_KEYS if key in p.absent}
    has_box = ~absent.get("bbox", np.zeros(n, bool))
    has_area = ~absent.get("area", np.zeros(n, bool))
    boxes, areas = p.boxes, p.areas
    derive = np.isnan(boxes).any(axis=1) & has_box
    if derive.any():  # no box in the source (converted data): COCOeval needs one
        boxes = boxes.copy()
        boxes[derive] = keypoint_boxes(p.keypoints[derive], p.visibility[derive])
    derive = np.isnan(areas) & has_area
    if derive.any():  # rule: box w*h, as OCHuman/MHP/Human3.6M COCO files do
        areas = np.where(derive, boxes[:, 2] * boxes[:, 3], areas)
    box_lists = to_lists(boxes, p.mask("bbox"))
    area_list = to_lists(areas, p.mask("area"))
    counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (p.visibility > 0).sum(axis=1)).tolist()
    image_ids = image_ids[p.image_index].tolist()
    crowd = p.crowd.astype(np.int64).tolist()
    ids, cats = p.ids.tolist(), p.category_ids.tolist()

    out = []
    for i in range(n):
        rec: dict[str, Any] = {}
        if "id" not in absent or not absent["id"][i]:
            rec["id"] = ids[i]
        rec["image_id"] = image_ids[i]
        if "category_id" not in absent or not absent["category_id"][i]:
            rec["category_id"] = cats[i]
        rec["keypoints"] = kp_lists[i]
        if "num_keypoints" not in absent or not absent["num_keypoints"][i]:
            rec["num_keypoints"] = counts[i]
        if has_box[i]:
            rec["bbox"] = box_lists[i]
        if has_area[i]:
            rec["area"] = area_list[i]
        if "iscrowd" not in absent or not absent["iscrowd"][i]:
            rec["iscrowd"] = crowd[i]
        if "segmentation" not in absent or not absent["segmentation"][i]:
            rec["segmentation"] = p.segmentations[i]
        if p.extras[i]:
            rec.update(p.extras[i])
        out.append(rec)
    return out
