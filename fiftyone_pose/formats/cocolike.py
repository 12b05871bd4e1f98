"""The COCO-like base: COCO-style person-keypoint JSON read, checked and written, losslessly and a
chunk at a time, for COCO itself and for every dataset shipped or converted as COCO-style JSON.

Reading then writing gives back the same document: ids, key sets, every number with its int/float
type and exact value, segmentations, categories, ``info``/``licenses`` and unknown keys. A file's
``images`` and ``annotations`` are parsed a chunk of records at a time (``jsonio``); persons come
as a ``PoseStream`` (``read_stream``) and are written from one (``write_stream``), so memory is
bounded by a chunk and the images table. ``read``/``write`` are the same with the whole dataset.

A COCO-like dataset is a ``CocoLike``: it declares only how its files differ from COCO,

- ``layout``: its skeleton file (None: the category's keypoint names decide, as in COCO); the
  category is then kept verbatim, never read as the layout. ``keypoints_layout``: the points of
  the ``keypoints`` key where the dataset keeps others elsewhere (COCO-WholeBody: the 17 body
  points); ``counts``: the layout whose points ``num_keypoints`` counts (whole-body files count
  the COCO body);
- ``keys`` / ``names``: its detection signature, person or image keys only its files have
  (``Confidence.CERTAIN``) and its category's keypoint-name lists (``LIKELY``);
- ``derived_keys``: its files have no ``area`` / ``iscrowd`` (COCO exports derive them, its own
  writer leaves them out where the file had none); ``origin``: 1 where they count pixels from 1;
- ``own_keys``: person keys its hooks read, so they are not kept as extras; ``spelled_names``:
  a category written for data that has none spells the names as its files do;

and, in a subclass, overrides the hooks that differ. Each takes its inputs and returns new
values, never changing what it was given:

- ``read_header(header, ctx)`` -> header: the file-level data after images and categories;
- ``read_persons(persons, records, ctx)`` -> persons: a chunk of persons and the records they
  were read from (e.g. the part arrays of COCO-WholeBody); ``ctx`` names records and counts notes;
- ``write_header(header)`` -> header: checks the layout, fills what the file needs (categories);
- ``write_persons(persons, header)`` -> persons: a chunk as the file holds it;
- ``person_keys(persons, header)`` -> ``[(key, values)]``: the dataset's own keys of a chunk's
  records (``MISSING`` where a record has none), written after COCO's keys, before the extras.

Data written in another format than it was read from gets ``num_keypoints`` (the count of labeled
points) where a record had none, as COCO evaluation needs; written back in its own format it stays
absent. A format module then binds the verbs of its ``CocoLike`` (see ``crowdpose.py``, the shortest).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np
import orjson

from ..core import skeleton as skeletons
from ..core.errors import PoseUsageError
from ..core.layouts import PART_RULES, require_layout
from ..core.model import ABSENT, OPTIONAL_PERSON_KEYS, Images, Persons, PoseData, keypoint_boxes
from ..core.numbers import INT64_MAX, INT64_MIN, is_int, is_number, mask_value, to_lists, uniform_mask
from ..core.packed import PackedJsonBuilder
from ..core.skeleton import Skeleton
from ..core.stream import PoseStream
from .context import MISSING, ReadContext, position, record_name
from .jsonio import Chunk, RecordChunks, dumps, load_json, load_json_chunked, write_atomic
from .protocol import Confidence, OptionSpec, Peek

IMAGE_KEYS = ("id", "file_name", "width", "height")
PERSON_KEYS = ("id", "image_id", "category_id", "keypoints", "num_keypoints", "bbox", "area", "iscrowd", "segmentation")

#: records of an in-memory document converted at a time (a file is read a ``jsonio`` chunk at a time)
DECODE_CHUNK = 16384
#: records encoded and serialised at a time when writing (bounds the writer's memory: 4096
#: COCO-WholeBody persons are ~100 MB of Python lists)
WRITE_CHUNK = 4096

#: the ``skeleton`` read option of formats whose layout comes from the file
SKELETON = OptionSpec("skeleton", "force the keypoint layout (a skeleton name), else the category's names decide")
#: what a COCO-like format says about streaming
STREAMS = "streams: reads and writes a chunk of persons at a time (memory bounded by a chunk)"

#: the parts whose points make a layout whole-body (see ``whole_body``)
WHOLE_BODY_RULES = tuple(PART_RULES[part] for part in ("face", "lefthand", "righthand"))
_NOTE_VISIBILITY = "visibility values other than 0/1/2 (read as 0 if <= 0, else labeled; raw value kept)"
_NOTE_ID_0 = "annotations with id 0 (COCOeval treats id 0 as unmatched)"


@dataclasses.dataclass(frozen=True)
class CocoLike:
    """A COCO-like format: what its files declare differently from COCO (see the module doc)."""

    name: str
    #: the dataset's name in messages ("CrowdPose")
    title: str
    flavors: Mapping[str, str]
    layout: str | None = None
    keypoints_layout: str | None = None
    counts: str | None = None
    keys: tuple[str, ...] = ()
    names: tuple[Sequence[str], ...] = ()
    #: ``names`` are its files' spelling only (MHP's "Right-ankle"): the same names in another
    #: spelling are another dataset's (MPII's, in a COCO file written from MPII data)
    exact_names: bool = False
    derived_keys: bool = False
    own_keys: tuple[str, ...] = ()
    #: a category written for data that has none spells the names as the dataset's files do
    #: (the skeleton file's ``names_in_distributed_json``), e.g. AI Challenger's "Right Shoulder"
    spelled_names: bool = False
    origin: int = 0
    read_options: tuple[OptionSpec, ...] = ()
    write_options: tuple[OptionSpec, ...] = ()
    streaming: str = STREAMS

    # ------------------------------------------------------------------------------ hooks

    def read_header(self, header: PoseData, ctx: ReadContext) -> PoseData:
        """The file-level data once images and categories are read (default: as read)."""
        return header

    def read_persons(self, persons: Persons, records: Sequence[dict[str, Any]], ctx: ReadContext) -> Persons:
        """A chunk of persons as the dataset reads them (default: ``derived_keys`` applied)."""
        return from_derived_keys(persons) if self.derived_keys else persons

    def write_header(self, header: PoseData) -> PoseData:
        """The file-level data as the dataset's file holds it (default: the layout checked)."""
        if self.layout is not None:
            require_layout(header, self.layout, self.title)
        return header

    def write_persons(self, persons: Persons, header: PoseData) -> Persons:
        """A chunk of persons as the file holds them (default: ``derived_keys``, ``counts``)."""
        if self.counts is not None:
            persons = counted(persons, points_of(self.counts, header.skeleton))
        return to_derived_keys(persons) if self.derived_keys else persons

    def person_keys(self, persons: Persons, header: PoseData) -> list[tuple[str, list[Any]]]:
        """The dataset's own keys of each record of a chunk (default: none)."""
        return []

    def default_categories(self, skeleton: Skeleton) -> list[dict[str, Any]]:
        """The categories of data that has none (from another format): COCO's ``person`` category,
        with ``spelled_names`` the names as the dataset's files spell them."""
        category = default_category(skeleton)
        if self.spelled_names:
            category["keypoints"] = list(skeleton.meta["names_in_distributed_json"])
        return [category]

    # ----------------------------------------------------------------------------- verbs

    def detect(self, peek: Peek) -> Confidence:
        """COCO's structure (``WEAK``), then this dataset's signature: ``keys`` (``CERTAIN``),
        ``names`` (``LIKELY``); a dataset with a signature claims no file without it."""
        if not coco_structure(peek):
            return Confidence.NO
        if any(f'"{key}"'.encode() in peek.text for key in self.keys):
            return Confidence.CERTAIN
        if self.names and names_match(peek.text, *self.names, exact=self.exact_names):
            return Confidence.LIKELY
        return Confidence.NO if self.keys or self.names else Confidence.WEAK

    def read(self, path: str | os.PathLike) -> PoseData:
        """Read a file (a chunk of records at a time; see ``read_stream``)."""
        return self.read_stream(path).collect()

    def read_stream(self, path: str | os.PathLike) -> PoseStream:
        """The file's header and its persons a chunk at a time.

        ``images`` and ``annotations`` are parsed a chunk of records at a time, straight from the
        file; a document that cannot be split exactly (see ``jsonio.load_json_chunked``) is
        parsed whole. Errors found in later chunks are raised by the stream's iterator.
        """
        return self.decode_stream(load_document(path), path=path)

    def decode(self, doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
        """A parsed document as ``PoseData`` (pure: no disk access; ``doc`` is not changed)."""
        return self.decode_stream(doc, path=path).collect()

    def decode_stream(
        self, doc: Any, *, path: str | os.PathLike | None = None, skeleton: Skeleton | str | None = None
    ) -> PoseStream:
        """A parsed document (its big arrays lists or ``RecordChunks``) as a ``PoseStream``;
        ``skeleton`` forces the layout (COCO's read option)."""
        ctx = ReadContext(path)
        if not isinstance(doc, dict):
            raise ctx.error(f"expected a JSON object with 'images', found {type(doc).__name__}")
        images_raw = records_of(doc, "images", ctx)
        anns = records_of(doc, "annotations", ctx) if "annotations" in doc else [Chunk()]
        categories = ctx.require_list(doc, "categories", "top level") if "categories" in doc else []
        for i, c in enumerate(categories):
            if not isinstance(c, dict) or not is_int(c.get("id")):
                raise ctx.error("expected an object with an integer 'id'", f"categories[{i}]", "id")

        images = packed_images(decode_images(chunk, ctx) for chunk in images_raw)
        check_unique(images.ids, "images", ctx)
        chunks = iter(anns)
        first = next(chunks, Chunk())
        if self.layout is not None and skeleton is None:
            body = skeletons.load(self.keypoints_layout or self.layout)
            layout = skeletons.load(self.layout)
        else:
            body = layout = resolve_skeleton(categories, first, skeleton, ctx)
        meta = {k: v for k, v in doc.items() if k not in ("images", "annotations", "categories")}
        for key in ("info", "annotations", "categories"):  # e.g. test-set image lists, Human3.6M's converted file
            if key not in doc:
                meta[key] = ABSENT
        if doc.get("categories") == []:  # stays empty: no category is made up for it
            meta["categories"] = []
        header = PoseData(
            images, Persons.empty(layout.num_keypoints), layout, categories, meta, self.name, ctx.notes, self.origin
        )
        header = self.read_header(header, ctx)
        return PoseStream(header, self._persons([first], chunks, ImageLookup(images), categories, body, ctx))

    def _persons(
        self,
        head: list[Chunk],
        chunks: Iterator[Chunk],
        lookup: ImageLookup,
        categories: list,
        body: Skeleton,
        ctx: ReadContext,
    ) -> Iterator[Persons]:
        """The persons of ``head`` (the chunk already read, taken out of the list) and ``chunks``.

        A chunk's records are let go before its persons are handed on, so one chunk's records
        and persons are in memory at a time; of the images table, only the ``lookup`` of their ids."""
        ids = UniqueIds()
        while head or (chunk := next(chunks, None)) is not None:
            if head:
                chunk = head.pop()
            persons = decode_persons(chunk, lookup, categories, body.num_keypoints, ctx, self.own_keys)
            persons = self.read_persons(persons, chunk, ctx)
            ids.add(persons, chunk, ctx)
            del chunk
            yield persons
            del persons

    def write(self, data: PoseData, path: str | os.PathLike) -> None:
        """Write ``data`` (streamed in chunks, renamed into place when complete)."""
        self.write_stream(PoseStream.of(data), path)

    def write_stream(self, stream: PoseStream, path: str | os.PathLike) -> None:
        """Write a stream's header and persons as they come, to a temporary file renamed into
        place when complete (nothing is written on failure)."""
        write_atomic(path, json_chunks(self._sections(stream)))

    def flavor(self, data: PoseData, flavor: str | None = None) -> str:
        """For datasets with a native flavor beside the COCO-style one: the flavor to write,
        ``flavor`` or else the one ``data`` was read from (``native_or_coco``), checked, and the
        data's layout checked."""
        flavor = flavor or native_or_coco(data)
        if flavor not in self.flavors:
            raise PoseUsageError(f"unknown {self.title} flavor {flavor!r}; flavors: {', '.join(self.flavors)}")
        require_layout(data, self.layout or "coco", self.title)
        return flavor

    def write_flavor(
        self,
        stream: PoseStream,
        path: str | os.PathLike,
        flavor: str | None,
        write_native: Callable[[PoseData, str | os.PathLike], None],
    ) -> None:
        """Write the COCO-style flavor as the persons come, or the native one with
        ``write_native`` once the stream is collected (see ``flavor``)."""
        if self.flavor(stream.header, flavor) == "coco":
            self.write_stream(stream, path)
        else:
            write_native(stream.collect(), path)

    def encode(self, data: PoseData) -> dict[str, Any]:
        """``data`` as a document (pure: no disk access)."""
        return {
            key: [r for part in value for r in part] if chunked else value
            for key, value, chunked in self._sections(PoseStream.of(data))
        }

    def _sections(self, stream: PoseStream) -> Iterator[tuple[str, Any, bool]]:
        """The document's top-level (key, value, chunked) in order; chunked values yield record lists."""
        header = self.write_header(stream.header)
        meta = dict(header.meta)
        has_annotations = meta.pop("annotations", None) is not ABSENT
        categories = meta.pop("categories", None)  # ABSENT, [] (the file's own, empty) or None
        if "info" not in meta:
            # data not read from a COCO-like file (converted, or made in FiftyOne): pycocotools
            # 2.0.9/2.0.10 loadRes raise KeyError without ``info``
            yield "info", {"description": "written by fiftyone-pose"}, False
            yield "licenses", [], False
        for key, value in meta.items():
            if value is not ABSENT:
                yield key, value, False
        yield "images", image_chunks(header.images), True
        chunks = iter(stream)
        if not has_annotations:  # written only if there are persons after all
            first = next((c for c in chunks if len(c)), None)
            chunks = chain([first], chunks) if first is not None else iter(())
            has_annotations = first is not None
        if has_annotations:
            yield "annotations", self._records(chunks, header), True
        if categories is not ABSENT:
            written = header.categories or ([] if categories == [] else self.default_categories(header.skeleton))
            if header.format != self.name and self.keypoints_layout is None and whole_body(header.skeleton):
                written = [naming(c, header.skeleton) for c in written]  # converted: name every point written
            yield "categories", written, False

    def _records(self, chunks: Iterable[Persons], header: PoseData) -> Iterator[list[dict[str, Any]]]:
        points = None if self.keypoints_layout is None else points_of(self.keypoints_layout, header.skeleton)
        converted = header.format != self.name
        for chunk in chunks:
            for lo in range(0, len(chunk), WRITE_CHUNK):
                part = chunk.take(np.arange(lo, min(lo + WRITE_CHUNK, len(chunk))))
                part = self.write_persons(counted_where_absent(part) if converted else part, header)
                yield encode_persons(part, header.images.ids, points, self.person_keys(part, header))
                del part
            del chunk  # (not kept while the next chunk is read)


def points_of(layout: str, skeleton: Skeleton) -> np.ndarray:
    """The indices in ``skeleton`` of the points of ``layout``, by name, in ``layout``'s order."""
    return np.array([skeleton.index(n) for n in skeletons.load(layout).keypoints], dtype=np.int64)


def native_or_coco(data: PoseData) -> str:
    """``native`` for data read from a dataset's native file (it has no COCO categories), else ``coco``."""
    return "native" if not data.categories and "categories" not in data.meta else "coco"


# ------------------------------------------------------------------------------------- detection

#: a ``"keypoints": ["name", ...]`` list of strings (a category's names; numeric lists do not match)
_NAME_LIST = re.compile(rb'"keypoints"\s*:\s*\[\s*("(?:[^"\\]|\\.)*"(?:\s*,\s*"(?:[^"\\]|\\.)*")*)\s*\]')


def coco_structure(peek: Peek) -> bool:
    """Whether the file looks like COCO-style JSON: an object with ``images`` or ``categories``
    and keypoints (or, for a test-set image list, ``categories``)."""
    head = peek.head
    if not head.lstrip().startswith(b"{") or b'"images"' not in head and b'"categories"' not in head:
        return False
    text = peek.text
    return b'"keypoints"' in text or b'"num_keypoints"' in text or b'"categories"' in text


def normalise_name(name: str) -> str:
    """``"Right Shoulder"``, ``"Right-ankle"``, ``"right_shoulder"`` -> ``"right_shoulder"``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def category_names(text: bytes, exact: bool = False) -> list[tuple[str, ...]]:
    """The keypoint-name lists of the categories visible in ``text``, normalised (``exact``: as spelled)."""
    out = []
    spelled = (lambda n: n) if exact else normalise_name
    for m in _NAME_LIST.finditer(text):
        try:
            names = orjson.loads(b"[" + m.group(1) + b"]")
        except orjson.JSONDecodeError:
            continue
        out.append(tuple(spelled(n) for n in names))
    return out


def names_match(text: bytes, *layouts: Sequence[str], exact: bool = False) -> bool:
    """Whether a category in ``text`` lists exactly one of the name lists ``layouts`` (``exact``:
    spelled as they are, else in any spelling ``normalise_name`` reads as the same)."""
    spelled = (lambda n: n) if exact else normalise_name
    wanted = {tuple(spelled(n) for n in names) for names in layouts}
    return any(found in wanted for found in category_names(text, exact))


# --------------------------------------------------------------------------------------- reading


def load_document(path: str | os.PathLike) -> Any:
    """The JSON document in ``path`` with its ``images`` and ``annotations`` as ``RecordChunks``
    (parsed when iterated) where it splits exactly, else parsed whole (see ``jsonio``)."""
    split = load_json_chunked(path, ("images", "annotations"))
    return load_json(path) if split is None else {**split[0], **split[1]}


def whole(doc: Any) -> Any:
    """``doc`` with every ``RecordChunks`` parsed into a list (for readers of other structures)."""
    if not isinstance(doc, dict):
        return doc
    return {k: [r for c in v for r in c] if isinstance(v, RecordChunks) else v for k, v in doc.items()}


def records_of(doc: dict, key: str, ctx: ReadContext) -> Iterable[Chunk]:
    """The records of a top-level array as chunks: its ``RecordChunks``, or ``DECODE_CHUNK``
    slices of a parsed list (the list itself is not changed)."""
    value = doc.get(key)
    if isinstance(value, RecordChunks):
        return value
    records = ctx.require_list(doc, key, "top level")
    chunks = []
    for lo in range(0, max(len(records), 1), DECODE_CHUNK):
        chunk = Chunk(records[lo : lo + DECODE_CHUNK])
        chunk.first = lo
        chunks.append(chunk)
    return chunks


def column(
    records: Sequence[Any],
    key: str,
    kind: str,
    ctx: ReadContext,
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
                raise ctx.error(f"expected an object, found {type(r).__name__}", position(kind, records, i)) from None
            if key not in r:
                raise ctx.error("required key is missing", record_name(kind, records, i), key) from None
        raise
    if _all_of_type(values, check, MISSING if required else default):
        return values
    for i, v in enumerate(values):
        if not (v is default and not required or check(v)):
            raise ctx.error(f"expected {expected}, found {v!r:.60}", record_name(kind, records, i), key)
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
    skipped = kinds.count(type(skip))  # MISSING's type (object) or None's: no other value has it
    ints = kinds.count(int) if int in types else 0
    if ints + sum(kinds.count(t) for t in types if t is not int) + skipped != len(values):
        return False
    if not ints:
        return True
    return not skipped and INT64_MIN <= min(values) and max(values) <= INT64_MAX


def is_list(v: Any) -> bool:
    return isinstance(v, list)


def is_str(v: Any) -> bool:
    return isinstance(v, str)


#: the exact types that pass a check (subclasses and int ranges are left to the check itself)
_CHECK_TYPES: dict[Callable[[Any], bool], tuple[type, ...]] = {
    is_int: (int,),
    is_number: (int, float),
    is_list: (list,),
    is_str: (str,),
}


def decode_images(records: Sequence[Any], ctx: ReadContext) -> Images:
    """COCO ``images`` records as an images table (ids not yet checked for uniqueness)."""
    ids = column(records, "id", "images", ctx, is_int, "an integer id")
    names = column(records, "file_name", "images", ctx, is_str, "a string")
    sizes = []
    extras = [{k: v for k, v in r.items() if k not in IMAGE_KEYS} for r in records]
    for key in ("width", "height"):
        vals = column(records, key, "images", ctx, is_number, "a number", required=False)
        arr = np.zeros(len(vals), np.int64)
        for i, v in enumerate(vals):
            if v is None:
                if key in records[i]:  # "width": null: read as unknown, written back as null
                    extras[i][key] = None
                continue
            if not math.isfinite(v) or v < 0 or v > INT64_MAX or int(v) != v:
                raise ctx.error(
                    f"expected a non-negative whole number, found {v!r}", record_name("images", records, i), key
                )
            arr[i] = int(v)
            if type(v) is not int or v == 0:  # e.g. 640.0, or 0 (unknown): keep the file's spelling
                extras[i][key] = v
        sizes.append(arr)
    return Images(np.array(ids, dtype=np.int64), names, sizes[0], sizes[1], extras)


def packed_images(parts: Iterable[Images]) -> Images:
    """The images of several tables, one after the other, with the file names and extras packed
    (``core.packed``): 64k COCO images' names and extra keys took ~50 MB as Python objects, and
    the images table is kept for the whole of a stream."""
    names, extras, numbers = PackedJsonBuilder(), PackedJsonBuilder(), []
    for part in parts:
        names.add(part.file_names)
        extras.add(part.extras)
        numbers.append(dataclasses.replace(part, file_names=[], extras=[]))  # the rest is packed
        del part
    if not numbers:
        return Images.empty()
    return dataclasses.replace(Images.concat(numbers), file_names=names.column(), extras=extras.column())


def check_unique(ids: np.ndarray, kind: str, ctx: ReadContext) -> None:
    """An error naming the second record of the first id used twice."""
    uniq, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if len(uniq) != len(ids):
        dup = uniq[counts > 1][0]
        second = int(np.flatnonzero(ids == dup)[1])
        raise ctx.error(f"duplicate id {dup} (also used by {kind}[{first[counts > 1][0]}])", f"{kind}[{second}]", "id")


class UniqueIds:
    """The person ids met so far, chunk by chunk (sorted, with each one's record position): an id
    used twice is an error naming the later record and the earlier one."""

    def __init__(self) -> None:
        self._sorted = np.zeros(0, np.int64)
        self._where = np.zeros(0, np.int64)

    def add(self, persons: Persons, records: Sequence[Any], ctx: ReadContext) -> None:
        """Check the ids of a chunk's persons (those that have one) and remember them."""
        has = ~persons.absent["id"] if "id" in persons.absent else np.ones(len(persons), bool)
        ids = persons.ids[has]
        if not len(ids):
            return
        where = np.flatnonzero(has) + getattr(records, "first", 0)
        i = np.searchsorted(self._sorted, ids)
        seen = self._sorted[np.minimum(i, max(len(self._sorted) - 1, 0))] == ids if len(self._sorted) else i < 0
        _, first = np.unique(ids, return_index=True)
        repeated = np.ones(len(ids), bool)
        repeated[first] = False
        bad = seen | repeated
        if bad.any():
            j = int(np.argmax(bad))
            earlier = self._where[i[j]] if seen[j] else where[int(np.argmax(ids == ids[j]))]
            raise ctx.error(
                f"duplicate id {ids[j]} (also used by annotations[{earlier}])", f"annotations[{where[j]}]", "id"
            )
        order = np.argsort(ids, kind="stable")
        at = np.searchsorted(self._sorted, ids[order])
        self._sorted = np.insert(self._sorted, at, ids[order])
        self._where = np.insert(self._where, at, where[order])


class ImageLookup:
    """Rows of the images table by image id (sorted once for every chunk of persons)."""

    def __init__(self, images: Images) -> None:
        self.order = np.argsort(images.ids, kind="stable")
        self.sorted_ids = images.ids[self.order]

    def rows(self, image_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The row of each id, and which ids are in the table at all."""
        if not len(self.order):
            return np.zeros(len(image_ids), np.int64), np.zeros(len(image_ids), bool)
        pos = np.searchsorted(self.sorted_ids, image_ids).clip(0, len(self.order) - 1)
        return self.order[pos], self.sorted_ids[pos] == image_ids


def resolve_skeleton(
    categories: list, records: Sequence[Any], forced: Skeleton | str | None, ctx: ReadContext
) -> Skeleton:
    """The layout: forced, else the category's keypoint names, else the only layout of that size
    (found from the first ``records`` with keypoints)."""
    if isinstance(forced, str):
        forced = skeletons.load(forced)
    named = [i for i, c in enumerate(categories) if c.get("keypoints")]
    names = categories[named[0]]["keypoints"] if named else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ctx.error(
            f"expected a list of names, found {names!r:.60}",
            record_name("categories", categories, named[0]),
            "keypoints",
        )
    differ = [i for i in named if categories[i]["keypoints"] != names]
    if differ:
        raise ctx.error(
            f"lists other keypoint names than {record_name('categories', categories, named[0])}; "
            "one layout per file is supported",
            record_name("categories", categories, differ[0]),
            "keypoints",
        )
    if forced is not None:
        if names and len(names) != forced.num_keypoints:
            raise ctx.error(
                f"the category lists {len(names)} keypoints but layout '{forced.name}' has {forced.num_keypoints}",
                record_name("categories", categories, named[0]),
                "keypoints",
            )
        return forced
    if names:
        found = skeletons.match(names, len(names), prefer="coco")
        if found is not None:
            return found
        return Skeleton.custom(names, _edges(categories, named[0], len(names), ctx))
    kp = next((a["keypoints"] for a in records if isinstance(a, dict) and isinstance(a.get("keypoints"), list)), None)
    if kp is None or len(kp) % 3:
        return skeletons.load("coco")
    found = skeletons.match((), len(kp) // 3, prefer="coco")
    if found is None:
        return Skeleton.custom([f"keypoint_{i}" for i in range(len(kp) // 3)])
    return found


def _edges(categories: list, i: int, k: int, ctx: ReadContext) -> list[tuple[int, int]]:
    """A category's 1-based ``skeleton`` as 0-based edges; anything but pairs of 1..k is an error."""
    pairs = categories[i].get("skeleton") or []

    def is_edge(e: Any) -> bool:
        return type(e) is list and len(e) == 2 and all(is_int(v) and 1 <= v <= k for v in e)

    bad = pairs if not isinstance(pairs, list) else next((e for e in pairs if not is_edge(e)), MISSING)
    if bad is not MISSING:
        raise ctx.error(
            f"expected pairs of keypoint numbers 1..{k}, found {bad!r:.60}",
            record_name("categories", categories, i),
            "skeleton",
        )
    return [(a - 1, b - 1) for a, b in pairs]


def decode_persons(
    anns: Sequence[Any],
    images: ImageLookup,
    categories: list,
    k: int,
    ctx: ReadContext,
    own_keys: Sequence[str] = (),
) -> Persons:
    """COCO ``annotations`` records (a chunk of them) as persons with ``k`` points; keys other than
    COCO's and ``own_keys`` are kept as extras."""
    n = len(anns)
    if n == 0:
        return Persons.empty(k)
    absent: dict[str, np.ndarray] = {}

    def optional(key: str, check: Callable[[Any], bool], expected: str) -> list:
        values = column(anns, key, "annotations", ctx, check, expected, required=False, default=MISSING)
        if values.count(MISSING):
            absent[key] = np.fromiter((v is MISSING for v in values), dtype=bool, count=n)
        return values

    ids = optional("id", is_int, "an integer id")
    id_arr = np.array([0 if v is MISSING else v for v in ids], dtype=np.int64)
    ctx.note(_NOTE_ID_0, int((id_arr == 0).sum()))

    image_ids = np.array(column(anns, "image_id", "annotations", ctx, is_int, "an integer image id"), dtype=np.int64)
    image_index, found = images.rows(image_ids)
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise ctx.error(
            f"refers to image id {image_ids[i]}, which is not in 'images'",
            record_name("annotations", anns, i),
            "image_id",
        )

    cat_values = optional("category_id", is_int, "an integer category id")
    known = {c["id"] for c in categories}
    cat_arr = np.array(
        [categories[0]["id"] if v is MISSING and categories else (1 if v is MISSING else v) for v in cat_values],
        dtype=np.int64,
    )
    if categories:
        bad = [i for i, v in enumerate(cat_values) if v is not MISSING and v not in known]
        if bad:
            raise ctx.error(
                f"refers to category id {cat_values[bad[0]]}, which is not in 'categories'",
                record_name("annotations", anns, bad[0]),
                "category_id",
            )

    kp_lists = column(anns, "keypoints", "annotations", ctx, is_list, "a list")
    lengths = np.fromiter(map(len, kp_lists), dtype=np.int64, count=n)
    if (lengths != 3 * k).any():
        i = int(np.flatnonzero(lengths != 3 * k)[0])
        raise ctx.error(
            f"has {lengths[i]} values, expected {3 * k} (3 x {k} keypoints)",
            record_name("annotations", anns, i),
            "keypoints",
        )
    values, kp_mask = numbers(list(chain.from_iterable(kp_lists)), anns, "keypoints", 3 * k, ctx)
    triplets = values.reshape(n, k, 3)
    raw_v = triplets[..., 2]
    visibility = np.where(raw_v <= 0, 0, np.where(raw_v == 1, 1, 2)).astype(np.int8)
    ctx.note(_NOTE_VISIBILITY, int((~np.isin(raw_v, (0, 1, 2))).sum()))

    bbox_values = optional("bbox", lambda v: isinstance(v, list) and len(v) == 4, "a list [x, y, w, h]")
    boxes, bbox_mask = rows(bbox_values, 4, anns, "bbox", ctx)
    area_values = optional("area", is_number, "a number")
    areas, area_mask = rows(area_values, 0, anns, "area", ctx)

    standard = frozenset(PERSON_KEYS) | frozenset(own_keys)
    extras = [{} if a.keys() <= standard else {k2: v for k2, v in a.items() if k2 not in standard} for a in anns]
    crowd_values = optional("iscrowd", lambda v: type(v) in (int, bool), "0 or 1")
    crowd = np.zeros(n, bool)
    for i, v in enumerate(crowd_values):
        if v is not MISSING:
            crowd[i] = bool(v)
            if type(v) is not int or v not in (0, 1):
                extras[i]["iscrowd"] = v  # keep the file's spelling (true/false, 2, ...)
    nk_values = optional("num_keypoints", is_number, "a count")
    num_kp = np.full(n, -1, np.int64)
    for i, v in enumerate(nk_values):
        if v is not MISSING:
            if not math.isfinite(v) or v < 0 or v > INT64_MAX or int(v) != v:
                raise ctx.error(
                    f"expected a non-negative count, found {v!r}", record_name("annotations", anns, i), "num_keypoints"
                )
            num_kp[i] = int(v)
            if type(v) is not int:
                extras[i]["num_keypoints"] = v
    seg_values = optional("segmentation", lambda v: True, "")
    segs = [None if v is MISSING else v for v in seg_values]

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
        int_mask={"keypoints": kp_mask.reshape(n, k, 3), "bbox": bbox_mask, "area": area_mask},
        absent=absent,
    )


def numbers(
    flat: list, records: Sequence[Any], key: str, per_record: int, ctx: ReadContext
) -> tuple[np.ndarray, np.ndarray]:
    """``to_array`` of ``per_record`` values of ``key`` per annotation record, with an error
    naming the record that holds a non-number."""
    return ctx.numbers(flat, lambda j: (record_name("annotations", records, j), key), per_record, per_record or 1)


def rows(values: list, width: int, records: Sequence[Any], key: str, ctx: ReadContext) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of an optional per-person key (``MISSING`` where absent) as float64 rows of
    ``width`` (0: one number per person; NaN where absent) and their int mask (a free uniform
    one where every present value is alike)."""
    n = len(values)
    shape = (n, width) if width else (n,)
    index = [i for i, v in enumerate(values) if v is not MISSING] if MISSING in values else range(n)
    present = [values[i] for i in index] if len(index) < n else values
    flat = list(chain.from_iterable(present)) if width else present
    arr, mask = ctx.numbers(
        flat, lambda j: (record_name("annotations", records, index[j]), key), width or 1, width or 1
    )
    if len(index) == n:
        return arr.reshape(shape), mask.reshape(shape)
    out = np.full(shape, np.nan)
    out[index] = arr.reshape(out[index].shape)
    value = mask_value(mask)
    if value is not None:  # (the rows of absent values are never written)
        return out, uniform_mask(value, shape)
    full = np.zeros(shape, bool)
    full[index] = mask.reshape(out[index].shape)
    return out, full


def from_derived_keys(p: Persons) -> Persons:
    """Persons of a file documented without ``area``/``iscrowd`` (``derived_keys``): a person
    without ``area`` has NaN (a COCO export then derives the box area for pycocotools, the
    dataset's writer leaves it out) and one without ``iscrowd`` is no crowd region; where a
    person has ``iscrowd``, the value is kept in its extras too, so the dataset's writer writes
    it exactly where the file had it (see ``to_derived_keys``)."""
    if not len(p):
        return p
    absent = dict(p.absent)
    absent.pop("area", None)  # areas stay NaN: "no area in the file"
    no_crowd = absent.pop("iscrowd", np.zeros(len(p), bool))
    extras = [e if no_crowd[i] or "iscrowd" in e else {**e, "iscrowd": int(p.crowd[i])} for i, e in enumerate(p.extras)]
    return dataclasses.replace(p, absent=absent, extras=extras)


def to_derived_keys(p: Persons) -> Persons:
    """Persons as the writer takes them for a file without ``area``/``iscrowd`` where the source
    had none (the inverse of ``from_derived_keys``)."""
    if not len(p):
        return p
    absent = dict(p.absent)
    absent["area"] = np.isnan(p.areas) | absent.get("area", np.zeros(len(p), bool))
    stated = np.fromiter(("iscrowd" in e for e in p.extras), dtype=bool, count=len(p))
    absent["iscrowd"] = ~stated & ~p.crowd
    return dataclasses.replace(p, absent=absent)


def counted_where_absent(p: Persons) -> Persons:
    """Persons whose record had no ``num_keypoints`` given the count of their labeled points by the
    writer: for data written in another format than it was read from (pycocotools' COCOeval needs
    the count; a file written back in its own format keeps it absent)."""
    if "num_keypoints" not in p.absent:
        return p
    return dataclasses.replace(p, absent={k: m for k, m in p.absent.items() if k != "num_keypoints"})


def counted(p: Persons, points: np.ndarray) -> Persons:
    """Persons whose unstated ``num_keypoints`` (edited or new persons) counts the labeled ``points``."""
    counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (p.visibility[:, points] > 0).sum(axis=1))
    return dataclasses.replace(p, num_keypoints=counts)


# --------------------------------------------------------------------------------------- writing


def json_chunks(sections: Iterable[tuple[str, Any, bool]]) -> Iterator[bytes]:
    """A document as JSON bytes from its top-level ``(key, value, chunked)``, record lists
    serialised a chunk at a time (bounded memory)."""
    yield b"{"
    for i, (key, value, chunked) in enumerate(sections):
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


def image_chunks(images: Images) -> Iterator[list[dict[str, Any]]]:
    for lo in range(0, len(images), WRITE_CHUNK):
        yield encode_images(images, slice(lo, lo + WRITE_CHUNK))


def default_category(layout: Skeleton) -> dict[str, Any]:
    """The ``person`` category of a layout, with COCO's 1-based ``skeleton``."""
    return {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(layout.keypoints),
        "skeleton": [[a + 1, b + 1] for a, b in layout.edges],
    }


def whole_body(layout: Skeleton) -> bool:
    """Whether ``layout`` has points of the face or hands (COCO-WholeBody, Halpe): its files'
    category cannot name the points a COCO file of it holds (WholeBody's names the 17 body
    points, Halpe's none)."""
    return any(rule.match(n) for n in layout.keypoints for rule in WHOLE_BODY_RULES)


def naming(category: dict[str, Any], layout: Skeleton) -> dict[str, Any]:
    """``category`` naming the points of ``layout``, with its 1-based edges, where it names
    another number of points: a COCO file written from whole-body data names every point its
    persons hold, as COCO tools (and this package) read it."""
    names = category.get("keypoints")
    if isinstance(names, list) and len(names) == layout.num_keypoints:
        return category
    return {**category, "keypoints": list(layout.keypoints), "skeleton": [[a + 1, b + 1] for a, b in layout.edges]}


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


def encode_persons(
    p: Persons,
    image_ids: np.ndarray,
    points: np.ndarray | None = None,
    own: Sequence[tuple[str, list[Any]]] = (),
) -> list[dict[str, Any]]:
    """One COCO annotation per person: COCO's keys (``keypoints`` of ``points`` only, if given),
    then the dataset's ``own`` keys (a value per person, ``MISSING`` for none), then the extras."""
    n = len(p)
    if n == 0:
        return []
    raw_v = p.raw_visibility()
    xy, vis, kp_mask = p.keypoints, p.visibility, p.mask("keypoints")
    if points is not None:
        xy, vis, raw_v, kp_mask = xy[:, points], vis[:, points], raw_v[:, points], kp_mask[:, points]
    if p.visibility_raw is not None:
        # a COCO file holds COCO visibility: the source's own value where COCO reads it as the same
        # visibility (0.27, 3, ...), the COCO value where the source's scale differs (AI
        # Challenger's 1 visible / 2 occluded / 3 unlabeled, OCHuman's four states)
        raw_v = np.where(np.where(raw_v <= 0, 0, np.where(raw_v == 1, 1, 2)) == vis, raw_v, vis)
    k = xy.shape[1]
    triplets = np.concatenate([xy, raw_v[..., None]], axis=2).reshape(n, 3 * k)
    kp_lists = to_lists(triplets, kp_mask.reshape(n, 3 * k))
    absent = {key: p.absent[key] for key in OPTIONAL_PERSON_KEYS if key in p.absent}
    has_box = ~absent.get("bbox", np.zeros(n, bool))
    has_area = ~absent.get("area", np.zeros(n, bool))
    boxes, areas = p.boxes, p.areas
    derive = np.isnan(boxes).any(axis=1) & has_box
    if derive.any():  # no box in the source (converted data): COCOeval needs one
        boxes = boxes.copy()
        boxes[derive] = keypoint_boxes(xy[derive], vis[derive])
    derive = np.isnan(areas) & has_area
    if derive.any():  # rule: box w*h, as OCHuman/MHP/Human3.6M COCO files do
        areas = np.where(derive, boxes[:, 2] * boxes[:, 3], areas)
    box_lists = to_lists(boxes, p.mask("bbox"))
    area_list = to_lists(areas, p.mask("area"))
    counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (vis > 0).sum(axis=1)).tolist()
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
        for key, values in own:
            if values[i] is not MISSING:
                rec[key] = values[i]
        if p.extras[i]:
            rec.update(p.extras[i])
        out.append(rec)
    return out
