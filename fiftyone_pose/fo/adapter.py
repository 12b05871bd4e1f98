"""The one bridge between ``PoseData`` and FiftyOne: samples in, samples out, in bulk.

Import writes finished sample documents with ``insert_many`` (no per-label object construction);
export reads them back with one aggregation over the view. What a sample holds:

- sample fields: ``filepath``, ``metadata`` (width/height), ``image_id``, ``file_name`` and the
  image record's other keys (as JSON text in ``extra_json`` where FiftyOne cannot hold them);
- ``<field>`` (``fo.Keypoints``): one ``fo.Keypoint`` per person, ``points`` normalised to [0, 1]
  with NaN for unlabeled points (the App hides them), ``visibility`` (COCO 0/1/2 per point),
  ``raw_keypoints`` (the source's x, y, v triplets in pixels, exact, with their int/float types),
  ``person_id``, ``category_id``, ``bbox``, ``area``, ``iscrowd``, ``num_keypoints``,
  ``segmentation``, and the record's other keys;
- ``<field>_boxes`` (``fo.Detections``): the person box, linked to the keypoints by ``fo.Instance``;
- ``<field>_parts`` (``fo.Detections``, layouts with part boxes such as COCO-WholeBody): one box per
  body part labelled with the part name, linked the same way; the exact values are in the
  keypoint's ``part_boxes``.

Export takes the exact pixel values wherever the normalised ones still match them, and the
normalised ones (times the image size) where the user edited or a view filtered them.

The work is split by job: ``fields`` (names, schema, ``dataset.info``), ``encoder`` (sample BSON),
``reader`` (export batches as arrays), ``reconcile`` (edits merged with the exact values, pure),
and ``documents``, the one module that knows FiftyOne's stored layout and private APIs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import bson
import fiftyone as fo
import fiftyone.core.media as fom
import fiftyone.core.utils as fou
import numpy as np
import pymongo
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from ..core.bulk import batch_bounds, paused_gc, usable_cpus
from ..core.errors import PoseFormatError
from ..core.model import Images, Persons, PoseData
from ..core.stream import PoseStream, SortedSpill, add_notes
from ..formats.native import sizes_from_headers
from . import documents
from .encoder import PersonStore, SampleElements, SampleEncoder
from .fields import (
    INFO_KEY,
    MAX_BSON,
    MAX_NESTING,
    boxes_field,
    declare_extra_json,
    declare_schema,
    image_keys_without_field,
    meta_of,
    parts_field,
    pose_fields,
    pose_info,
    record_info,
    resolve_label_field,
    skeleton_of,
    stored_meta,
    too_deep,
)
from .reader import BatchReader, SampleFiles, export_projection
from .reconcile import number_new_records, source_order

__all__ = [
    "BATCH_BYTES",
    "CHUNK",
    "EXPORT_BATCH",
    "INFO_KEY",
    "EXPORT_CHUNK",
    "add_pose_data",
    "boxes_field",
    "parts_field",
    "pose_fields",
    "resolve_label_field",
    "stored_meta",
    "to_pose_data",
    "to_pose_stream",
]

#: images per insert_many batch: bounds peak memory, keeps batches well under MongoDB's limits
#: (1024: 26 MB less peak than 4096 importing 5k COCO images, no slower)
CHUNK = 1024
#: bytes of persons per insert_many batch at most (unless one image has more): COCO-WholeBody
#: samples are ten times COCO's, and 1024 of them (26 MB) cost time and memory (WholeBody 30k,
#: 5 interleaved runs: 0.945x the time, peak 333 instead of 479 MB; a COCO batch stays 1024)
BATCH_BYTES = 6 << 20
#: samples per cursor batch on export: each batch's bytes and columns are transient memory
#: (1024: 45 MB less peak than 4096 on COCO train, no slower)
EXPORT_BATCH = 1024
#: persons per chunk a streamed export hands to the writer
EXPORT_CHUNK = 4096


# ---------------------------------------------------------------------------------------- import


def add_pose_data(
    dataset: fo.Dataset,
    data: PoseData | PoseStream,
    images_dir: str | os.PathLike,
    label_field: str = "ground_truth",
    tags: list[str] | None = None,
    progress: bool | None = None,
    sample_elements: SampleElements | None = None,
    overlap: bool | None = None,
) -> list[str]:
    """Add every image of ``data`` to ``dataset`` as a sample; returns the new sample ids.

    A ``PoseStream`` is read a chunk of persons at a time: each chunk is encoded and let go
    (``encoder.PersonStore``), so the whole ``PoseData`` of a big file never exists; the samples
    are inserted once the last chunk is read, since a sample holds every person of its image.
    All or nothing: on any failure (Ctrl-C included, an error in a late chunk too) the samples
    inserted so far are deleted. Each sample is stored exactly once, also through a replica set's
    failover (checked at the end), or the import fails with a ``documents.DatabaseError``.
    ``overlap``: build each batch of samples while the one before is inserted; by default where
    a second CPU is there for mongod (idle 2 cores, COCO 64k: 0.90x the time; on one CPU the
    two would take turns: benchmarks/results-memory.md). One batch is inserted at a time, so the
    samples are stored in file order, as FiftyOne lists them (two at once let mongod use both
    cores, 0.4-0.5 s less at COCO 64k, but interleaved the samples' order from run to run).
    """
    stream = data if isinstance(data, PoseStream) else PoseStream.of(data)
    if overlap is None:
        overlap = usable_cpus() > 1
    try:
        with documents.failover_errors("import"):
            return _add_pose_data(dataset, stream, images_dir, label_field, tags, progress, sample_elements, overlap)
    finally:
        stream.close()  # a failure before the last chunk: stop what reads the rest


def _add_pose_data(
    dataset: fo.Dataset,
    stream: PoseStream,
    images_dir: str | os.PathLike,
    label_field: str,
    tags: list[str] | None,
    progress: bool | None,
    sample_elements: SampleElements | None,
    overlap: bool,
) -> list[str]:
    header = stream.header
    images_dir = os.path.abspath(os.fspath(images_dir))
    num_images = len(header.images)
    sized = sizes_from_headers(header, images_dir).images  # where the file gives none (notes go to header's)
    ids: list[ObjectId] = []
    with PersonStore(header, (sized.widths, sized.heights)) as persons:
        with paused_gc():
            for chunk in stream:
                persons.add(chunk)
                del chunk
        persons.seal()
        image_fields = declare_schema(dataset, header, persons.person_types, persons.has_parts, label_field)
        record_info(dataset, header, label_field, image_fields)
        reserved = image_keys_without_field(header, label_field, image_fields)
        encoder = SampleEncoder(
            header, persons, images_dir, label_field, documents.dataset_id(dataset), tags, reserved, sample_elements
        )
        writer = ThreadPoolExecutor(max_workers=1)
        inserting: tuple[Future, list[RawBSONDocument], int] | None = None  # a batch being inserted
        try:
            with paused_gc(), fou.ProgressBar(total=num_images, progress=progress) as pb:
                bounds = batch_bounds(persons.bytes_per_image(), CHUNK, BATCH_BYTES)
                for lo, hi in zip(bounds[:-1], bounds[1:]):
                    new_ids, docs = encoder.batch(lo, hi)
                    ids.extend(new_ids)
                    if inserting is not None:
                        _inserted(*inserting, header)
                    inserting = (writer.submit(documents.insert_samples, dataset, docs), docs, lo)
                    if not overlap:
                        _inserted(*inserting, header)
                        inserting = None
                    pb.update(hi - lo)
                if inserting is not None:
                    _inserted(*inserting, header)
                    inserting = None
            stored = documents.count_samples(dataset, ids)
            if stored != len(ids):  # e.g. writes acknowledged by one node, then rolled back by a failover
                raise documents.DatabaseError(
                    f"the database kept {stored} of the {len(ids)} samples written (use the write concern "
                    "w=majority with a replica set); nothing was imported"
                )
            if encoder.has_extra_json:
                declare_extra_json(dataset)
        except BaseException:  # all or nothing, also on Ctrl-C
            # an insert still running (failed while the next batch was built, or Ctrl-C anywhere) ends
            # first: abandoned, it would go on in mongod and store samples after the cleanup
            writer.shutdown(wait=True)
            documents.delete_samples(dataset, ids)
            raise
        finally:
            writer.shutdown(wait=True)
    return [str(i) for i in ids]


def _inserted(insert: Future, docs: list[RawBSONDocument], first_image: int, data: PoseData) -> None:
    """Wait for the insert of a batch of samples (it runs in the writer thread); a sample MongoDB
    refuses (nested deeper than it stores, over 16 MB) is named, with MongoDB's reason."""
    try:
        insert.result()
    except (pymongo.errors.OperationFailure, bson.errors.InvalidDocument) as e:
        if documents.transient(e):  # a failover insert_samples could not wait out: not the sample's fault
            raise
        if isinstance(e, pymongo.errors.BulkWriteError):
            errors = e.details.get("writeErrors") or [{"index": None}]
            j, reason = errors[0]["index"], errors[0].get("errmsg")
        else:  # the whole message was refused: find the sample
            j = next((j for j, d in enumerate(docs) if mongodb_refuses(d.raw)), None)
            reason = str(e)[:200]
        if j is None:
            raise
        i = first_image + j
        raise PoseFormatError(
            f"MongoDB cannot store this image's sample: {reason}",
            record=data.images.record(i),
        ) from None


def mongodb_refuses(raw: bytes) -> bool:
    """Whether MongoDB refuses a sample document for its size or nesting (one nested deeper than
    pymongo decodes, e.g. encoded in the parsing process, counts as refused)."""
    if len(raw) > MAX_BSON:
        return True
    try:
        return too_deep(bson.decode(raw), MAX_NESTING)
    except bson.errors.InvalidBSON:
        return True


def to_pose_data(
    collection: fo.core.collections.SampleCollection,
    label_field: str | None = None,
    progress: bool | None = None,
    files: SampleFiles | None = None,
    attributes: bool = True,
) -> PoseData:
    """The persons and images a view shows, as ``PoseData`` (exact where nothing was edited).

    One aggregation over the view; its raw batches are read as columns (``reader``), so no
    Python object is made per number. A primary stepping down mid-read starts the read again. Of
    a grouped collection, the samples of every image slice. ``files``, where given, gets each
    image's media file and tags from the same read. ``attributes=False`` leaves out what has no
    fixed shape (segmentations, extra keys, part boxes), for a writer of fixed columns (YOLO).
    """
    parts: list[Persons] = []
    known: list[np.ndarray] = []
    sources: list[np.ndarray] = []

    def keep(persons: Persons, source: np.ndarray, has_id: np.ndarray) -> None:
        parts.append(persons)
        sources.append(source)
        known.append(has_id)

    def start() -> None:  # a read started again after a failover
        for kept in (parts, known, sources):
            kept.clear()

    header = _read_view(collection, label_field, progress, keep, start, files, attributes)
    persons = Persons.concat(parts, header.skeleton.num_keypoints)
    parts.clear()  # one copy of the persons at a time: this is the peak of a whole read
    number_new_records(persons.ids, np.concatenate(known or [np.zeros(0, bool)]))
    # the source file's order; persons drawn in FiftyOne follow, in sample order
    order = source_order(np.concatenate(sources or [np.zeros(0, np.int64)]))
    if (order != np.arange(len(order))).any():
        persons = persons.take(order)
    return dataclasses.replace(header, persons=persons)


def to_pose_stream(
    collection: fo.core.collections.SampleCollection,
    label_field: str | None = None,
    progress: bool | None = None,
    files: SampleFiles | None = None,
    attributes: bool = True,
) -> PoseStream:
    """What ``to_pose_data`` gives, as a ``PoseStream``: memory for the images table and a chunk.

    The view is read once (the header's images must all be known before the first person is
    written); each cursor batch's persons go to a temporary file (``core.stream.SortedSpill``)
    as they are read, and come back a chunk at a time in the source file's order. ``files``, where
    given, gets each image's media file and tags from the same read. ``attributes``: see
    ``to_pose_data`` (False for a writer that writes none).
    """
    spill: SortedSpill | None = None
    max_id = np.iinfo(np.int64).min
    without_id = 0

    def start() -> None:  # also after a failover: the read starts again
        nonlocal spill, max_id, without_id
        if spill is not None:
            spill.__exit__()
        spill, max_id, without_id = None, np.iinfo(np.int64).min, 0

    def keep(persons: Persons, source: np.ndarray, has_id: np.ndarray) -> None:
        nonlocal spill, max_id, without_id
        if spill is None:
            spill = SortedSpill(persons.num_points)
        if has_id.any():
            max_id = max(max_id, int(persons.ids[has_id].max()))
        # persons drawn in FiftyOne get new ids after the largest, in sample order (``number_new_records``)
        rank = np.full(len(persons), -1, np.int64)
        rank[~has_id] = np.arange(without_id, without_id + int((~has_id).sum()))
        without_id += int((~has_id).sum())
        spill.add(persons, np.where(source >= 0, source, np.iinfo(np.int64).max), rank)

    header = _read_view(collection, label_field, progress, keep, start, files, attributes)
    first_new = max_id + 1 if max_id > np.iinfo(np.int64).min else 1

    def chunks() -> Iterator[Persons]:
        if spill is None:
            return
        with spill:
            for persons, rank in spill.chunks(EXPORT_CHUNK):
                new = rank >= 0
                persons.ids[new] = first_new + rank[new]
                yield persons
                del persons

    return PoseStream(header, chunks())


def _read_view(
    collection: fo.core.collections.SampleCollection,
    label_field: str | None,
    progress: bool | None,
    keep: Callable[[Persons, np.ndarray, np.ndarray], None],
    start: Callable[[], None],
    files: SampleFiles | None = None,
    attributes: bool = True,
) -> PoseData:
    """Read a view's batches: the images table and the rest as a header (returned), each batch's
    persons, their source-file positions and which have ids handed to ``keep``, the images' files
    and tags to ``files`` where given. A primary stepping down mid-read starts the read again,
    after ``start``."""
    if collection.media_type == fom.GROUP:
        collection = collection.select_group_slices(media_type=fom.IMAGE)

    def read() -> PoseData:
        start()
        if files is not None:
            files.sources.clear()
            files.tags.clear()
        return _read_batches(collection, label_field, progress, keep, files, attributes)

    with documents.failover_errors("export"):
        return documents.retrying(read)


def _read_batches(
    collection: fo.core.collections.SampleCollection,
    label_field: str | None,
    progress: bool | None,
    keep: Callable[[Persons, np.ndarray, np.ndarray], None],
    files: SampleFiles | None = None,
    attributes: bool = True,
) -> PoseData:
    """``_read_view``, read once from the start."""
    label_field = resolve_label_field(collection, label_field)
    info = pose_info(collection, label_field)
    layout = skeleton_of(collection, label_field)
    image_fields = info.get("image_fields", [])
    det_fields = [f for f in (boxes_field(label_field), parts_field(label_field)) if collection.has_field(f)]
    origin = info.get("origin", 0)
    reader = BatchReader(label_field, det_fields, image_fields, layout, origin, files, attributes)
    image_parts, known_image_ids, notes = [], [], {}
    cursor = documents.raw_batches(collection, export_projection(label_field, det_fields, image_fields), EXPORT_BATCH)
    with cursor, paused_gc(), fou.ProgressBar(total=len(collection), progress=progress) as pb:
        offset = 0
        for raw in _prefetched(cursor):
            images, has_image_id, persons, batch_notes, source, has_person_id = reader.read(raw)
            persons.image_index += offset
            offset += len(images)
            image_parts.append(images)
            known_image_ids.append(has_image_id)
            keep(persons, source, has_person_id)
            del persons
            add_notes(notes, batch_notes)
            pb.update(len(images))
        images = Images.concat(image_parts)
        number_new_records(images.ids, np.concatenate(known_image_ids or [np.zeros(0, bool)]))
    return PoseData(
        images=images,
        persons=Persons.empty(layout.num_keypoints),
        skeleton=layout,
        categories=info.get("categories") or [],
        meta=meta_of(info),
        format=info.get("format"),
        notes=notes,
        origin=origin,
    )


def _prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """The items, each next one fetched in a thread while the caller works on the current one.

    On export, mongod runs the aggregation and sends the next batch (the socket wait releases
    the GIL) while this process reads the current one.
    """
    with ThreadPoolExecutor(max_workers=1) as fetcher:
        pending = fetcher.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = fetcher.submit(next, items, None)
            yield item
