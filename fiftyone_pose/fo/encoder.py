"""Sample documents of a dataset, built as BSON (the import's hot path): the persons a chunk at a
time as they are read (``PersonStore``), then the samples a batch of images at a time
(``SampleEncoder``).

Numbers, ids and fixed keys of every person are laid out with numpy (``rawbson``); only what
has no fixed shape (segmentations, extra keys, absent keys, part boxes) goes through
``bson.encode``, per person. Persons become items of their sample's arrays by joining flat
lists of byte strings, so no Python object is made per value, and none is kept past its chunk.
What FiftyOne itself keeps in a sample or label comes from ``documents``; the pose attributes
are this package's.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from itertools import compress, repeat
from typing import Any

import bson
import fiftyone as fo
import numpy as np
import orjson
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from ..core.errors import PoseFormatError
from ..core.model import OPTIONAL_PERSON_KEYS, Images, Persons, PoseData, plain_json
from ..core.numbers import take_mask, to_lists
from . import documents
from . import rawbson as rb
from .fields import KEYPOINT_RESERVED, boxes_field, parts_field, record_types, split_extras, too_deep_error
from .prepared import SEGMENTATION, Elements

#: persons encoded at a time: bounds the byte matrices (a COCO-WholeBody person is ~10 kB)
_ENCODE_ROWS = 2048

#: more BSON elements for the samples of images ``lo:hi``: ``(lo, hi, widths, heights) -> [bytes per sample]``
SampleElements = Callable[[int, int, np.ndarray, np.ndarray], list[bytes]]


class PersonStore:
    """Every person of a dataset as the BSON items of its sample's label lists, encoded a chunk of
    persons at a time (``add``) and kept in a temporary file until the samples are built.

    The persons of one image can be anywhere in a file (COCO orders annotations by id), so a
    sample can be built only once every chunk is read; what waits meanwhile is bytes on disk,
    not arrays or Python objects in memory (a few numbers per item stay in memory). Items are
    stored without their array keys ("0", "1", ...), which are known once a sample's items are
    (``seal``, then ``items``). Use as a context manager: the file is deleted on leaving.
    """

    def __init__(self, header: PoseData, sizes: tuple[np.ndarray, np.ndarray]) -> None:
        self.origin = header.origin
        self.images = header.images  # (to name an image whose person cannot be kept)
        self.widths, self.heights = sizes
        self.names = {c["id"]: str(c.get("name", "person")) for c in header.categories}
        self.corner = np.array([header.origin, header.origin, 0.0, 0.0])  # subtracted from [x, y, w, h] boxes
        #: the types of the persons' extra keys so far (``fields.record_types``)
        self.person_types: dict[str, set[type]] = {}
        #: whether a person so far has part boxes (the dataset then has a parts field)
        self.has_parts = False
        #: persons added so far (the next one's ``source_index``)
        self.count = 0
        self._file = tempfile.TemporaryFile(prefix="fiftyone_pose_")
        self._size = 0
        self._lists = (_ItemList(), _ItemList(), _ItemList())  # keypoints, boxes, part boxes

    def __enter__(self) -> PersonStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def add(self, persons: Persons) -> None:
        """Encode the next chunk of persons (in file order)."""
        record_types(persons.extras, self.person_types)
        self.has_parts |= bool(persons.part_boxes)
        for a in range(0, len(persons), _ENCODE_ROWS):
            rows = np.arange(a, min(a + _ENCODE_ROWS, len(persons)))
            for items, (images, encoded) in zip(self._lists, self._encode(persons, rows)):
                lengths = np.fromiter(map(len, encoded), np.int64, count=len(encoded))
                items.add(images, self._size + np.cumsum(lengths) - lengths, lengths)
                self._size += self._file.write(b"".join(encoded))
        self.count += len(persons)

    def seal(self) -> None:
        """After the last chunk: group the items by image, ready for ``items``."""
        self._file.flush()
        for items in self._lists:
            items.seal(len(self.images))

    def items(self, lo: int, hi: int) -> list[tuple[list[memoryview], np.ndarray]]:
        """Per image of ``lo:hi``, the array bodies of its keypoints, boxes and part boxes, and their sizes.

        Items are read with ``os.pread`` (see ``_ItemList.joined``), not through a memory map: a
        batch's items are all over the file, and a map would count every page read around them as
        this process's memory."""
        return [items.joined(self._file.fileno(), lo, hi) for items in self._lists]

    def bytes_per_image(self) -> np.ndarray:
        """Once sealed: the bytes of each image's encoded persons, its keypoints, boxes and part boxes
        (their documents only: not their array keys, nor the sample's own elements)."""
        return sum(items.bytes_per_image() for items in self._lists)

    def _encode(self, p: Persons, rows: np.ndarray) -> list[tuple[np.ndarray, list[bytes]]]:
        """(image of each item, items) of the persons ``rows`` of ``p``: keypoints, boxes, part boxes."""
        n, k = len(rows), p.num_points
        img = p.image_index[rows]
        wh = np.stack([self.widths[img], self.heights[img]], axis=1).astype(np.float64)
        whwh = np.concatenate([wh, wh], axis=1)
        kp = p.keypoints[rows]
        vis = p.visibility[rows]
        points = (kp - self.origin) / wh[:, None, :]
        points[vis == 0] = np.nan
        triplets = np.concatenate([kp, p.raw_visibility(rows)[..., None]], axis=2).reshape(n, 3 * k)
        kp_mask = p.mask("keypoints")
        boxes, areas = p.boxes[rows], p.areas[rows]
        has_box = ~np.isnan(boxes).any(axis=1)
        has_area = ~np.isnan(areas)
        num_kp = p.num_keypoints[rows]
        cats = p.category_ids[rows]
        label = rb.concat([
            rb.const(n, bson.encode({"label": self.names.get(c, "person")})[4:-1], present=cats == c)
            for c in np.unique(cats).tolist()
        ])  # fmt: skip
        rest = _rest(p, rows, self.images)
        oids = rb.new_object_ids(3 * n)
        instance = documents.instance(oids[n : 2 * n])
        keypoint = rb.document(
            rb.DOCUMENT,
            None,
            rb.concat([
                rb.object_ids(documents.ID, oids[:n]),
                rb.const(n, documents.label_defaults(fo.Keypoint, ("label", "points"))),
                label,
                rb.pair_array("points", points),
                instance,
                rb.int_array("visibility", vis),
                rb.array("raw_keypoints", triplets,
                         take_mask(kp_mask, rows).reshape(n, 3 * k)),
                rb.integers(["person_id", "category_id", "iscrowd", "source_index"],
                            np.stack([p.ids[rows], cats, p.crowd[rows], self.count + rows], axis=1)),
                rb.array("bbox", boxes, take_mask(p.mask("bbox"), rows), present=has_box),
                rb.numbers(["area"], areas[:, None], np.reshape(take_mask(p.mask("area"), rows), (-1, 1)),
                           present=has_area[:, None]),
                rb.integers(["num_keypoints"], num_kp[:, None], present=(num_kp >= 0)[:, None]),
            ]),
            appended=np.fromiter(map(len, rest), np.int64, count=n),
        ).rows()  # fmt: skip
        # per person: the fixed elements, the rest, the closing NUL
        keypoints = [b"".join(parts) for parts in zip(keypoint, rest, repeat(b"\x00"))]
        detection = rb.document(
            rb.DOCUMENT,
            None,
            rb.concat([
                rb.object_ids(documents.ID, oids[2 * n :]),
                rb.const(n, documents.label_defaults(fo.Detection, ("label", "bounding_box"))),
                label,
                rb.array("bounding_box", (boxes - self.corner) / whwh, False),
                instance,
                rb.integers(["iscrowd"], p.crowd[rows, None]),
            ]),
        ).rows()  # fmt: skip
        part_names = list(p.part_boxes)
        drawn = (
            np.stack([_drawn(p.part_boxes[name][rows]) for name in part_names], axis=1)
            if part_names
            else np.zeros((n, 0), bool)
        )
        parts: list[bytes] = [b""] * (n * len(part_names))  # per person, per part in order
        for t, name in enumerate(part_names):
            parts[t :: len(part_names)] = rb.document(
                rb.DOCUMENT,
                None,
                rb.concat([
                    rb.object_ids(documents.ID, rb.new_object_ids(n)),
                    rb.const(n, documents.label_defaults(fo.Detection, ("label", "bounding_box"))),
                    rb.const(n, rb.string("label", name)),
                    rb.array("bounding_box", (p.part_boxes[name][rows] - self.corner) / whwh, False),
                    instance,
                ]),
            ).rows()  # fmt: skip
        drawn_flat = drawn.reshape(-1)
        return [
            (img, keypoints),
            (img[has_box], list(compress(detection, has_box))),
            (np.repeat(img, len(part_names))[drawn_flat], list(compress(parts, drawn_flat))),
        ]


#: bytes a batch's one read may cover beyond twice its items (else each item is read on its own)
_SPAN_SLACK = 1 << 20


class _ItemList:
    """Where the items of one label list are in a ``PersonStore``'s file, grouped by image once sealed."""

    def __init__(self) -> None:
        self._added: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, images: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> None:
        self._added.append((images, offsets, lengths))

    def seal(self, num_images: int) -> None:
        images, offsets, lengths = (
            np.concatenate([added[j] for added in self._added] or [np.zeros(0, np.int64)]) for j in range(3)
        )
        self._added = []
        order = np.argsort(images, kind="stable")  # in file order within each image
        self.offsets, self.lengths = offsets[order], lengths[order]
        self.starts = np.searchsorted(images[order], np.arange(num_images + 1))

    def bytes_per_image(self) -> np.ndarray:
        return np.diff(np.concatenate([[0], np.cumsum(self.lengths)])[self.starts])

    def joined(self, fd: int, lo: int, hi: int) -> tuple[list[memoryview], np.ndarray]:
        """Per image of ``lo:hi``, its items with their array keys, joined (read from the file
        ``fd``), and their sizes. The batch's items are joined at once, then cut per image
        without copying (a copy of a COCO-WholeBody batch's items took a fifth of its time)."""
        a, b = int(self.starts[lo]), int(self.starts[hi])
        offsets, lengths = self.offsets[a:b], self.lengths[a:b]
        first = int(offsets.min()) if b > a else 0
        span = int((offsets + lengths).max()) - first if b > a else 0
        if span <= 2 * int(lengths.sum()) + _SPAN_SLACK:  # items close together: one read, then slices
            block = memoryview(os.pread(fd, span, first))
            pieces = rb.slices(block, (offsets - first).tolist(), (offsets - first + lengths).tolist())
        else:  # items all over the file (persons listed in no image order): each read on its own
            pieces = list(map(os.pread, repeat(fd), lengths.tolist(), offsets.tolist()))
        starts = self.starts[lo : hi + 1] - a
        counts = np.diff(starts)
        at = np.arange(b - a) - np.repeat(starts[:-1], counts)  # each item's position in its image's array
        heads = _index_heads(int(counts.max(initial=0)))
        flat: list[bytes] = [b""] * (2 * (b - a))
        flat[0::2] = list(map(heads.__getitem__, at.tolist()))
        flat[1::2] = pieces
        joined = memoryview(b"".join(flat))  # (cut without copying: the samples' bytes are joined from the cuts)
        head_sizes = np.fromiter(map(len, heads), np.int64, count=len(heads))
        ends = np.concatenate([[0], np.cumsum(head_sizes[at] + lengths)])[starts]
        bounds = ends.tolist()
        return rb.slices(joined, bounds[:-1], bounds[1:]), np.diff(ends)


@functools.cache
def _heads(count: int) -> list[bytes]:
    return rb.index_heads(rb.DOCUMENT, np.arange(count)).rows()


def _index_heads(count: int) -> list[bytes]:
    """Heads of embedded-document array items "0" .. at least ``count - 1`` (cached by powers of two)."""
    return _heads(1 << max(int(count) - 1, 0).bit_length())


class SampleEncoder:
    """BSON sample documents of a dataset's images, in batches (``batch``), with the persons of a
    sealed ``PersonStore``.

    ``header``: the images (and format facts) of the dataset; ``sizes``: each image's width and
    height (where the file has none, from the image); ``reserved``: sample keys an image key cannot
    take (see ``fields.image_keys_without_field``); ``more``: elements the caller adds to each sample
    (e.g. a grouped dataset's ``group``).
    """

    def __init__(
        self,
        header: PoseData,
        persons: PersonStore,
        images_dir: str,
        label_field: str,
        dataset_id: ObjectId,
        tags: list[str] | None,
        reserved: frozenset[str],
        more: SampleElements | None = None,
    ) -> None:
        self.images, self.persons, self.images_dir = header.images, persons, images_dir
        self.dataset_id, self.tags = dataset_id, list(tags or [])
        self.widths, self.heights = persons.widths, persons.heights
        self.reserved = reserved
        self.more = more
        self.field_heads = (
            rb.element_head(rb.DOCUMENT, label_field),
            rb.element_head(rb.DOCUMENT, boxes_field(label_field)),
            rb.element_head(rb.DOCUMENT, parts_field(label_field)),
        )
        #: whether a batch put image keys in ``extra_json`` (the field must then be declared)
        self.has_extra_json = False

    def batch(self, lo: int, hi: int) -> tuple[list[ObjectId], list[RawBSONDocument]]:
        """Ids and documents of the samples of images ``lo:hi``."""
        im = self.images
        n = hi - lo
        keypoints, boxes, parts = self.persons.items(lo, hi)
        oids = rb.new_object_ids(n)
        samples = rb.concat([
            documents.sample_elements(oids, self.dataset_id, self.tags, self.widths[lo:hi], self.heights[lo:hi]),
            rb.integers(["image_id"], im.ids[lo:hi, None]),
        ]).rows()  # fmt: skip
        names, extras = im.file_names[lo:hi], im.extras[lo:hi]  # (a packed column decodes a slice at once)
        kp_head, box_head, parts_head = self.field_heads
        columns: list[rb.Column] = [
            samples,
            *rb.string_column("filepath", sample_paths(self.images_dir, names)),
            *rb.string_column("file_name", names),
            kp_head, *documents.label_lists(fo.Keypoints, "keypoints", *keypoints),
            box_head, *documents.label_lists(fo.Detections, "detections", *boxes),
        ]  # fmt: skip
        if self.persons.has_parts:
            columns += [parts_head, *documents.label_lists(fo.Detections, "detections", *parts)]
        if self.more:
            columns.append(self.more(lo, hi, self.widths[lo:hi], self.heights[lo:hi]))
        if any(extras):
            columns.append([self._extras(extra, lo + i) if extra else b"" for i, extra in enumerate(extras)])
        docs = list(map(RawBSONDocument, rb.documents_of(columns, n)))
        return list(map(ObjectId, rb.fixed_rows(oids.tobytes(), 12))), docs

    def _extras(self, extra: dict[str, Any], i: int) -> bytes:
        """The BSON elements of image ``i``'s extra keys (those no field can take in ``extra_json``)."""
        try:
            safe, other = split_extras(extra, self.reserved)
        except PoseFormatError as e:
            raise e.with_record(self.images.record(i)) from None
        if other:
            safe = {**safe, "extra_json": other}
            self.has_extra_json = True
        return bson.encode(safe)[4:-1]


def _rest(p: Persons, rows: np.ndarray, images: Images) -> list[bytes]:
    """Per person at ``rows``, the BSON elements of its values without a fixed shape; a value
    nested deeper than can be kept is an error naming the person's image (of ``images``)."""
    part_names = list(p.part_boxes)
    absent = {key: p.absent[key][rows] for key in OPTIONAL_PERSON_KEYS if key in p.absent}
    exact_parts = [
        to_lists(p.part_boxes[name][rows], take_mask(p.mask(f"part_box.{name}"), rows)) for name in part_names
    ]
    present_parts = [~np.isnan(p.part_boxes[name][rows]).any(axis=1) for name in part_names]
    rest = []
    for j, r in enumerate(rows.tolist()):
        missing = [key for key, m in absent.items() if m[j]]
        head: dict[str, Any] = {"absent": missing} if missing else {}
        tail: dict[str, Any] = {}
        try:
            if p.extras[r]:
                safe, other = split_extras(p.extras[r], KEYPOINT_RESERVED)
                tail.update(safe)
                if other:
                    tail["extra_json"] = other
            if part_names:
                tail["part_boxes"] = {
                    name: exact[j] for name, exact, present in zip(part_names, exact_parts, present_parts) if present[j]
                }
            segmentation = None if SEGMENTATION in missing else p.segmentations[r]
            if type(segmentation) is Elements:  # encoded where the file was read (``prepared``)
                rest.append(b"".join([_elements(head), segmentation, _elements(tail)]))
                continue
            doc = head
            if SEGMENTATION not in missing:
                doc[SEGMENTATION] = plain_json(segmentation)
            doc.update(tail)
            rest.append(_encode_rest(doc) if doc else b"")
        except PoseFormatError as e:  # a value too deep to keep
            raise e.with_record(images.record(int(p.image_index[r]))) from None
    return rest


def _elements(doc: dict[str, Any]) -> bytes:
    """BSON elements of ``doc``'s values (checked already: ``split_extras``)."""
    return bson.encode(doc)[4:-1] if doc else b""


def _encode_rest(doc: dict[str, Any]) -> bytes:
    """BSON elements of a person's shapeless values; a segmentation BSON cannot hold (an
    integer beyond int64, a NUL in a key) is kept as JSON text in ``extra_json``.

    Nesting deeper than MongoDB stores is not checked here (that would cost a pass over every
    polygon); the insert refuses it and the import names the image. Nesting too deep for
    pymongo to encode (about a thousand levels) is too deep for JSON text as well: an error."""
    try:
        return bson.encode(doc)[4:-1]
    except (bson.errors.InvalidDocument, OverflowError, RecursionError):
        if SEGMENTATION not in doc:  # the other values were checked by split_extras
            raise
    rest = {k: v for k, v in doc.items() if k != SEGMENTATION}
    other = orjson.loads(rest.get("extra_json") or "{}")
    try:
        extra_json = orjson.dumps({**other, SEGMENTATION: doc[SEGMENTATION]}).decode()
    except orjson.JSONEncodeError:  # (a JSON value from a file: only its nesting can fail)
        raise too_deep_error(SEGMENTATION) from None
    return bson.encode({**rest, "extra_json": extra_json})[4:-1]


def sample_paths(images_dir: str, names: list[str]) -> list[str]:
    """``normpath(join(images_dir, name))`` of each name."""
    return [os.path.normpath(os.path.join(images_dir, name)) for name in names]


def _drawn(part_boxes: np.ndarray) -> np.ndarray:
    """Part boxes drawn as detections: present and not an all-zero "no box" marker."""
    return ~np.isnan(part_boxes).any(axis=1) & (part_boxes[:, 2] > 0) & (part_boxes[:, 3] > 0)
