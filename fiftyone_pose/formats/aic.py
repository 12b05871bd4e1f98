"""AI Challenger keypoints (14 points): the authors' native JSON list and mmpose's COCO-style file.

Native (``keypoint_{train,validation}_annotations_*.json``): a list of images, each with ``url``,
``image_id`` (the 40-hex-digit file name), ``keypoint_annotations`` ``{"human1": [42 numbers], ...}``
with flags 1 visible / 2 labeled but not visible / 3 not labeled, and ``human_annotations``
``{"human1": [x1, y1, x2, y2], ...}``. It is read a chunk of images at a time, twice: first the
images (the stream's header), then the persons (``jsonio.load_json_array``). In ``PoseData``:

- visibility is COCO's (1 -> 2, 2 -> 1, 3 -> 0) and ``visibility_raw`` holds the file's flags, so a
  native file is written back with its own flags (a COCO export writes COCO's);
- images get ids 1..M in file order, ``file_name`` ``<image_id>.jpg``, and keep the native id as
  ``source_image_id`` (a sample field in FiftyOne) beside ``url``; the size is unknown (0): the
  FiftyOne import reads it from the image header, ``read(..., images_dir=...)`` does it here. A COCO
  file written from native data without sizes has no ``width``/``height`` (pycocotools does not
  need them). The file names and extras are kept packed (``core.packed.PackedJson``): as Python
  objects, the 210k images of the train list took ~100 MB, a fifth of an import's peak;
- persons get ids 1..N in file order (``human_annotations``' order: an image whose
  ``keypoint_annotations`` list them otherwise is counted in the notes, and written in that
  order) and keep their key (``human_key``); the box is ``[x1, y1,
  x2 - x1, y2 - y1]`` (corners that cannot be computed back exactly are kept in ``bbox_corners``);
  there is no area (a COCO export writes the box area ``w*h``), no crowd flag and no mask;
- the keys of an image record are written in the authors' order (``KEY_ORDER``) or in the file's:
  a file whose records order them otherwise keeps its order in ``meta["aic"]["key_order"]`` (one
  order of every key that each record follows; records that disagree with the others are counted
  in the notes and written in that order). A COCO export carries it as a top-level key ``"aic"``.

COCO-style (mmpose ``aic_{train,val}.json``): COCO with 14 points, names ``"Right Shoulder"`` ...,
and no ``area``, ``iscrowd`` or ``segmentation``; read with ``coco.decode`` (the category's names do
not decide the layout). A COCO export gets the box area and ``iscrowd`` 0 that pycocotools needs;
this module writes them back only where the file had them.

``write`` writes the flavor the data was read from (native when the data has no COCO categories),
or ``flavor="native"`` / ``"coco"``.
"""

from __future__ import annotations

import dataclasses
import heapq
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError
from ..core.model import Persons, PoseData
from ..core.numbers import is_int
from ..core.packed import PackedJsonBuilder
from ..core.stream import PoseStream, SortedSpill
from .cocolike import WRITE_CHUNK, CocoLike, load_document, native_or_coco
from .context import ReadContext
from .jsonio import Chunk, dumps, load_json_array, write_atomic
from .native import (
    box_persons,
    corners_from_lists,
    group_by_image,
    native_flags,
    new_images,
    person_corners,
    sizes_from_headers,
    triplet_lists,
)
from .protocol import IMAGES_DIR, Confidence, OptionSpec, Peek

FLAVORS = {
    "native": "authors' keypoint_{train,validation}_annotations_*.json: a list of images with "
    "human_annotations (boxes x1,y1,x2,y2) and keypoint_annotations (flags 1 visible / 2 occluded / 3 unlabeled)",
    "coco": "mmpose aic_{train,val}.json: COCO-style, 14 points, no area/iscrowd/segmentation",
}
NUM_POINTS = 14
#: native flag -> COCO visibility (anything else reads as unlabeled, its raw value kept)
VISIBILITY = {1: 2, 2: 1, 3: 0}
_TO_NATIVE = {2: 1, 1: 2, 0: 3}
NOTE_FLAGS = "visibility flags other than 1/2/3 (read as unlabeled, raw value kept; 0 is written back as 3)"
NOTE_ORDER = "images whose keys are in another order than the other images' (written in the file's order)"
NOTE_PERSON_ORDER = (
    "images listing their persons in another order in keypoint_annotations (written in human_annotations' order)"
)
_NATIVE_PERSON_KEYS = ("human_key", "bbox_corners")
#: the keys of a native image record in the authors' order; other keys are written before the persons
KEY_ORDER = ("url", "image_id", "keypoint_annotations", "human_annotations")
_PERSON_MAPS = ("keypoint_annotations", "human_annotations")

#: the mmpose flavor, on the COCO-like base
COCO = CocoLike(
    name="aic",
    title="AI Challenger",
    flavors=FLAVORS,
    layout="aic",
    names=(skeletons.load("aic").keypoints, skeletons.load("aic").meta["names_in_distributed_json"]),
    derived_keys=True,
    spelled_names=True,
)
NAME, ORIGIN = COCO.name, COCO.origin
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (OptionSpec("flavor", "native or coco (default: the flavor read)", tuple(FLAVORS)),)
STREAMING = (
    "coco flavor streams; native is read a chunk of images at a time, twice (the images, then the persons), "
    "and written a run of images at a time (persons sorted by image through a temporary file)"
)


def layout() -> skeletons.Skeleton:
    return skeletons.load(NAME)


def detect(peek: Peek) -> Confidence:
    """Native: a JSON list whose first record has ``human_annotations``/``keypoint_annotations``;
    COCO-style: a COCO file whose category lists the 14 AI Challenger names."""
    if peek.head.lstrip().startswith(b"["):
        native = b'"keypoint_annotations"' in peek.head or b'"human_annotations"' in peek.head
        return Confidence.CERTAIN if native else Confidence.NO
    return COCO.detect(peek)


def read(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseData:
    """Read either flavor. ``images_dir``: read the image sizes the native file lacks from the image
    headers there (otherwise they stay 0 = unknown; a FiftyOne import reads them itself)."""
    return read_stream(path, images_dir=images_dir).collect()


def read_stream(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseStream:
    """Either flavor as a stream. The native list is parsed a chunk of images at a time, twice
    (the header's images table, then the persons); a list that cannot be split exactly (see
    ``jsonio.load_json_array``) is parsed whole and comes as one chunk."""
    records = load_json_array(path)
    if records is not None:
        stream = _native_stream(records, path)
    else:
        doc = load_document(path)
        stream = _native_stream([Chunk(doc)], path) if isinstance(doc, list) else COCO.decode_stream(doc, path=path)
    stream.header = sizes_from_headers(stream.header, images_dir, path)
    return stream


def write(data: PoseData, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """Write ``data`` (14-point ``aic`` layout) as AI Challenger, in ``flavor`` (default: the source's), atomically."""
    write_stream(PoseStream.of(data), path, flavor=flavor)


def write_stream(stream: PoseStream, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """The coco flavor as the persons come; native: a run of images at a time (``_write_native``)."""
    if COCO.flavor(stream.header, flavor) == "coco":
        COCO.write_stream(stream, path)
    else:
        _write_native(stream, path)


def _write_native(stream: PoseStream, path: str | os.PathLike) -> None:
    """The native list, a run of images at a time: the persons are sorted by image through a
    temporary file (``SortedSpill``; a stream may give an image's persons in any chunk), then each
    run of images whose persons are all read is encoded and written. The same bytes as encoding
    the whole list."""
    header = stream.header
    with SortedSpill(NUM_POINTS) as spill:
        for chunk in stream:
            spill.add(chunk, chunk.image_index, np.zeros(len(chunk), np.int8))
        write_atomic(path, _native_pieces(header, spill))


def _native_pieces(header: PoseData, spill: SortedSpill) -> Iterator[bytes]:
    """The bytes of the native list, from the persons of ``spill`` in image order."""
    done, held, sep = 0, Persons.empty(NUM_POINTS), b""

    def records(persons: Persons, hi: int) -> bytes:
        nonlocal done, sep
        recs = _encode_native(dataclasses.replace(header, persons=persons), done, hi)
        first, done = done, hi
        if not recs:
            return b""
        out = sep + dumps(recs, "images", first)[1:-1]  # the run's records, without the list's brackets
        sep = b","
        return out

    yield b"["
    for chunk, _ in spill.chunks(WRITE_CHUNK):
        persons = Persons.concat([held, chunk], NUM_POINTS)
        last = int(persons.image_index[-1])  # its persons may go on in the next chunk
        cut = int(np.searchsorted(persons.image_index, last))
        yield records(persons.take(np.arange(cut)), last)
        held = persons.take(np.arange(cut, len(persons)))
        del chunk, persons
    yield records(held, len(header.images))
    yield b"]"


#: the flavor data was read from: native data has no COCO categories
flavor_of = native_or_coco


# --------------------------------------------------------------------------------------- reading


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """A parsed AI Challenger document (either flavor) as ``PoseData`` (pure: no disk access)."""
    if isinstance(doc, list):
        return _native_stream([Chunk(doc)], path).collect()
    if isinstance(doc, dict):
        return COCO.decode(doc, path=path)
    raise PoseFormatError(
        f"expected a JSON list of images (native) or a COCO object, found {type(doc).__name__}", path=path
    )


def _native_stream(chunks: Iterable[Chunk], path: str | os.PathLike | None) -> PoseStream:
    """The native list, given as chunks of records that can be iterated twice: the images table
    (the header, complete before any person) from the first pass, the persons a chunk at a time
    from the second. The records' structure is checked in the first pass (its errors come from
    ``read_stream``), their numbers in the second (their errors from the chunk that holds them)."""
    r = ReadContext(path)
    return PoseStream(_native_header(chunks, r), _native_persons(chunks, r))


def _native_header(chunks: Iterable[Chunk], r: ReadContext) -> PoseData:
    """The images of the native list, and the order of their keys (``meta``, where not the authors')."""
    # the names and extras of 210k images as Python objects took ~100 MB: they are packed (``PackedJson``)
    names, extras, widths, heights = PackedJsonBuilder(), PackedJsonBuilder(), [], []
    shapes: dict[tuple[str, ...], int] = {}  # each order of keys the records have, and how many have it
    reordered = 0  # images whose two person maps list the persons in different orders
    for chunk in chunks:
        chunk_names, chunk_extras = [], []
        for j, rec in enumerate(chunk):
            iid, _, humans, points = _checked(rec, chunk.first + j, r)
            reordered += list(humans) != list(points)
            chunk_names.append(f"{iid}.jpg")
            extra = {"source_image_id": iid}
            extra.update((key, v) for key, v in rec.items() if key not in ("image_id", *_PERSON_MAPS))
            chunk_extras.append(extra)
            # not in the authors' files; a copy that has them gives the size (kept verbatim too)
            widths.append(_size(rec.get("width")))
            heights.append(_size(rec.get("height")))
            shape = tuple(rec)
            shapes[shape] = shapes.get(shape, 0) + 1
        names.add(chunk_names)
        extras.add(chunk_extras)
        del chunk, chunk_names, chunk_extras
    images = new_images(np.arange(1, len(widths) + 1), names.column(), widths, heights, extras.column())
    order = key_order(list(shapes))
    rank = {key: i for i, key in enumerate(order)}
    r.note(NOTE_ORDER, sum(n for shape, n in shapes.items() if not _follows(shape, rank)))
    r.note(NOTE_PERSON_ORDER, reordered)
    meta = {} if [key for key in KEY_ORDER if key in rank] == order else {NAME: {"key_order": order}}
    return PoseData(images, Persons.empty(NUM_POINTS), layout(), [], meta, NAME, r.notes)


def _native_persons(chunks: Iterable[Chunk], r: ReadContext) -> Iterator[Persons]:
    """The persons of the native list, a chunk of images at a time, ids 1..N in file order."""
    first_id = 1
    for chunk in chunks:
        persons = _chunk_persons(chunk, r, first_id)
        first_id += len(persons)
        del chunk
        yield persons
        del persons


def _chunk_persons(chunk: Chunk, r: ReadContext, first_id: int) -> Persons:
    k = NUM_POINTS
    image_of, keys, boxes, kps, box_records, kp_records = [], [], [], [], [], []
    for j, rec in enumerate(chunk):
        i = chunk.first + j
        _, record, humans, points = _checked(rec, i, r)
        for key in humans:
            image_of.append(i)
            keys.append(key)
            boxes.append(humans[key])
            box_records.append((record, f"human_annotations.{key}"))
            kps.append(points[key])
            kp_records.append((record, f"keypoint_annotations.{key}"))
    n = len(keys)
    if n == 0:
        return Persons.empty(k)
    for (record, field), v in zip(kp_records, kps):
        if not isinstance(v, list) or len(v) != 3 * k:
            found = f"{len(v)} values" if isinstance(v, list) else f"{v!r:.40}"
            raise r.error(f"expected {3 * k} numbers (3 x {k} keypoints), found {found}", record, field)
    triplets, kp_mask = r.numbers(list(chain.from_iterable(kps)), kp_records.__getitem__, 3 * k)
    triplets = triplets.reshape(n, k, 3)
    raw = triplets[..., 2].copy()
    visibility = np.select([raw == 1, raw == 2], [2, 1], 0).astype(np.int8)
    r.note(NOTE_FLAGS, int((~np.isin(raw, (1, 2, 3))).sum()))
    xywh, box_mask, exact = corners_from_lists(boxes, r, box_records)
    person_extras = [{"human_key": key} for key in keys]
    for j in np.flatnonzero(~exact).tolist():
        person_extras[j]["bbox_corners"] = boxes[j]
    return box_persons(
        image_of,
        triplets[..., :2],
        visibility,
        raw,
        kp_mask.reshape(n, k, 3),
        xywh,
        box_mask,
        person_extras,
        first_id,
    )


def _checked(rec: Any, i: int, r: ReadContext) -> tuple[Any, str, dict, dict]:
    """Image record ``i``'s ``image_id``, its name in errors, and its two person maps, checked."""
    if not isinstance(rec, dict):
        raise r.error(f"expected an object, found {type(rec).__name__}", f"images[{i}]")
    iid = rec.get("image_id")
    if not (isinstance(iid, str) and iid or is_int(iid)):
        raise r.error(f"expected the image name (a string), found {iid!r:.60}", f"images[{i}]", "image_id")
    record = f"images[{i}] (image_id {iid})"
    humans = _object(rec, "human_annotations", record, r)
    points = _object(rec, "keypoint_annotations", record, r)
    if humans.keys() != points.keys():
        only_box = [h for h in humans if h not in points]
        if only_box:
            raise r.error(
                f"has no entry for person {only_box[0]!r} of human_annotations", record, "keypoint_annotations"
            )
        only_kp = next(h for h in points if h not in humans)
        raise r.error(f"has no entry for person {only_kp!r} of keypoint_annotations", record, "human_annotations")
    return iid, record, humans, points


def key_order(shapes: Sequence[tuple[str, ...]]) -> list[str]:
    """One order of every key of ``shapes`` (records' keys in file order) that each of them follows,
    where there is one: a topological sort of "``a`` comes right before ``b`` in some record",
    the keys first seen earliest first. Where records disagree (``a`` before ``b`` in one, after
    in another) the earliest key left goes next; those records do not follow the order."""
    rank: dict[str, int] = {}
    for shape in shapes:
        for key in shape:
            rank.setdefault(key, len(rank))
    keys = list(rank)
    after: dict[str, set[str]] = {key: set() for key in keys}
    for shape in shapes:
        for a, b in zip(shape, shape[1:]):
            after[a].add(b)
    waiting = dict.fromkeys(keys, 0)
    for key in keys:
        for b in after[key]:
            waiting[b] += 1
    ready = [rank[key] for key in keys if not waiting[key]]
    heapq.heapify(ready)
    order: list[str] = []
    placed: set[str] = set()
    scan = 0
    while len(order) < len(keys):
        if ready:
            key = keys[heapq.heappop(ready)]
        else:  # a cycle: the records disagree
            while keys[scan] in placed:
                scan += 1
            key = keys[scan]
        order.append(key)
        placed.add(key)
        for b in after[key]:
            waiting[b] -= 1
            if not waiting[b] and b not in placed:
                heapq.heappush(ready, rank[b])
    return order


def _follows(shape: tuple[str, ...], rank: dict[str, int]) -> bool:
    """Whether the keys of ``shape`` are in the order ``rank`` gives."""
    return all(rank[a] < rank[b] for a, b in zip(shape, shape[1:]))


def _object(rec: dict, key: str, record: str, r: ReadContext) -> dict:
    value = rec.get(key)
    if key not in rec:
        raise r.error("required key is missing", record, key)
    if not isinstance(value, dict):
        raise r.error(f"expected an object {{human id: ...}}, found {value!r:.60}", record, key)
    return value


def _size(v: Any) -> int:
    return int(v) if is_int(v) and v > 0 else 0


def _read_map(raw: np.ndarray) -> np.ndarray:
    return np.select([raw == 1, raw == 2], [2, 1], 0)


# --------------------------------------------------------------------------------------- writing


def encode(data: PoseData, *, flavor: str | None = None) -> Any:
    """``data`` as an AI Challenger document (pure: no disk access): a list (native) or a dict."""
    return COCO.encode(data) if COCO.flavor(data, flavor) == "coco" else _encode_native(data)


def _encode_native(data: PoseData, lo: int = 0, hi: int | None = None) -> list[dict[str, Any]]:
    """The records of images ``lo`` to ``hi`` (default: all), whose persons are ``data.persons``."""
    hi = len(data.images) if hi is None else hi
    p = data.persons
    images = data.images
    flags, flag_mask = native_flags(p, _read_map, _TO_NATIVE, ambiguous=(0,), native_source=flavor_of(data) == "native")
    kp_lists = triplet_lists(p, flags, flag_mask)
    corners = person_corners(p)
    dropped_crowd = dropped_keys = renamed = 0
    arrange = _arrangement(data.meta)
    out = []
    in_range = dataclasses.replace(p, image_index=p.image_index - lo)
    for i, rows in zip(range(lo, hi), group_by_image(in_range, hi - lo)):
        extra = images.extras[i]
        iid = extra.get("source_image_id", PurePosixPath(images.file_names[i]).stem)
        rec: dict[str, Any] = {"image_id": iid}
        rec.update((key, v) for key, v in extra.items() if key != "source_image_id")
        humans: dict[str, Any] = {}
        points: dict[str, Any] = {}
        taken = {p.extras[j].get("human_key") for j in rows.tolist()}
        fresh = (f"human{m}" for m in range(1, 10**9) if f"human{m}" not in taken)
        for j in rows.tolist():
            if p.crowd[j]:  # a crowd region is not a person: AI Challenger has no place for it
                dropped_crowd += 1
                continue
            key = p.extras[j].get("human_key")
            if not isinstance(key, str) or key in humans:
                renamed += key is not None
                key = next(fresh)
            humans[key] = corners[j]
            points[key] = kp_lists[j]
            dropped_keys += any(x not in _NATIVE_PERSON_KEYS for x in p.extras[j])
        rec["human_annotations"] = humans
        rec["keypoint_annotations"] = points
        out.append(arrange(rec))
    for reason, count in (
        ("crowd regions not written (AI Challenger has none)", dropped_crowd),
        ("persons with keys the native file has no place for (not written)", dropped_keys),
        ("persons given a new human key (none, or a duplicate)", renamed),
    ):
        if count:
            data.notes[reason] = data.notes.get(reason, 0) + count
    return out


def _arrangement(meta: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The function that puts a record's keys in the file's order (``meta["aic"]["key_order"]``)
    or the authors' (``KEY_ORDER``); keys the order lacks (data from another format) go before
    the persons, in the order they come."""
    kept = meta.get(NAME)
    order = kept.get("key_order") if isinstance(kept, dict) else None
    if not (isinstance(order, list) and all(isinstance(key, str) for key in order)):
        order = KEY_ORDER
    rank = {key: float(i) for i, key in enumerate(order)}
    other = min((rank[key] for key in _PERSON_MAPS if key in rank), default=float(len(order))) - 0.5
    arranged: dict[tuple[str, ...], tuple[str, ...]] = {}  # a record's keys as built -> as written

    def arrange(rec: dict[str, Any]) -> dict[str, Any]:
        shape = tuple(rec)
        keys = arranged.get(shape)
        if keys is None:
            keys = arranged[shape] = tuple(sorted(shape, key=lambda key: rank.get(key, other)))
        return rec if keys == shape else {key: rec[key] for key in keys}

    return arrange
