"""FiftyOne's stored documents: the one module that knows how FiftyOne 1.x lays out a sample in
MongoDB, and the private FiftyOne APIs the bulk import and export call.

The import writes finished sample documents with ``insert_many`` instead of building FiftyOne
objects, so it must write what ``Dataset.add_samples`` would: a sample holds ``_id``,
``filepath``, ``tags``, ``metadata`` (``_cls: "ImageMetadata"``, width, height), ``created_at``,
``last_modified_at``, ``_media_type``, ``_rand`` and ``_dataset_id`` besides its fields; a label
holds ``_id``, ``_cls`` and the defaults FiftyOne gives a new label (``tags``, ``attributes``,
...). A sample of a group holds its group element (``_id``, ``_cls: "Group"``, ``name``: the
slice); a ``3d`` sample (a scene) has no metadata. ``tests/test_documents.py`` writes the same
samples through ``add_samples`` and through this module and compares every stored field, so a
FiftyOne release that changes the layout fails there, in one named test.

Everything else in ``fo/`` uses FiftyOne's public API; the private names it needs (the sample
collection, schema merging, the root and backing datasets of a view, the view's pipeline) are
called here only, which tests/test_documents.py checks.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import bson
import fiftyone as fo
import numpy as np
import pymongo
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from ..core.errors import PoseError
from . import rawbson as rb

#: keys FiftyOne owns in a stored sample; a record's key of that name cannot be a sample field
SAMPLE_KEYS = frozenset({
    "_id", "id", "filepath", "tags", "metadata", "created_at", "last_modified_at", "media_type",
    "_media_type", "_rand", "_dataset_id", "frames", "group",
})  # fmt: skip
#: keys FiftyOne owns in a stored label; a record's key of that name cannot be an attribute
LABEL_KEYS = frozenset({
    "_id", "_cls", "id", "tags", "label", "points", "confidence", "index", "attributes", "instance",
})  # fmt: skip
#: the key of a label's id, and of the id of the ``fo.Instance`` linking labels
ID = "_id"

_RNG = np.random.default_rng()
#: times an operation is sent while MongoDB's primary keeps changing
ATTEMPTS = 5
#: how long undoing a failed import waits for a primary
CLEANUP_SECONDS = 60.0

T = TypeVar("T")


def _cls(name: str) -> bytes:
    return rb.string("_cls", name)


@functools.cache
def label_defaults(cls: type, written: tuple[str, ...]) -> bytes:
    """The elements FiftyOne stores in every new label of class ``cls`` (``_cls``, ``tags``,
    ``attributes``, ...), except ``_id`` and the keys in ``written`` (the caller writes them)."""
    defaults = {k: v for k, v in cls().to_mongo().items() if k != ID and k not in written}
    return bson.encode(defaults)[4:-1]


def label_document(cls: type, **values: Any) -> dict[str, Any]:
    """A new label (or label list) of class ``cls`` as FiftyOne stores it, as a dict for pymongo:
    a new ``_id`` where the class has one, the defaults FiftyOne gives it and ``values``."""
    doc = bson.decode(rb.wrap(label_defaults(cls, tuple(values))))
    return {ID: ObjectId(), **doc, **values} if _has_id(cls) else {**doc, **values}


@functools.cache
def _has_id(cls: type) -> bool:
    return ID in cls().to_mongo()


def label_list(cls: type, key: str, items: bytes) -> bytes:
    """A label-list document (``fo.Keypoints``, ``fo.Detections``) holding array items ``items``."""
    return rb.wrap(_list_head(cls, key) + rb.wrap(items))


def label_lists(cls: type, key: str, items: list[bytes] | list[memoryview], sizes: np.ndarray) -> list[rb.Column]:
    """Columns of label-list documents (see ``label_list``), row ``i`` holding the array items
    ``items[i]`` of ``sizes[i]`` bytes."""
    head = _list_head(cls, key)
    return [rb.int32_column(sizes + len(head) + 10), head, rb.int32_column(sizes + 5), items, b"\x00\x00"]


@functools.cache
def _list_head(cls: type, key: str) -> bytes:
    return _cls(cls.__name__) + rb.element_head(rb.ARRAY, key)


def instance(ids: np.ndarray) -> rb.Block:
    """The ``instance`` element (an ``fo.Instance``) of labels, from its ids' bytes (n, 12)."""
    n = len(ids)
    return rb.document(rb.DOCUMENT, "instance", rb.concat([rb.object_ids(ID, ids), rb.const(n, _cls("Instance"))]))


def sample_elements(
    ids: np.ndarray,
    dataset_id: ObjectId,
    tags: list[str],
    widths: np.ndarray | None = None,
    heights: np.ndarray | None = None,
    media_type: str = "image",
) -> rb.Block:
    """The elements FiftyOne keeps in each sample: ``_id`` (bytes (n, 12)), ``tags``, ``_media_type``,
    ``_dataset_id``, the timestamps, ``_rand`` and, given the images' ``widths`` and ``heights``,
    ``metadata`` (FiftyOne stores none for a sample without metadata, e.g. a ``3d`` scene)."""
    n = len(ids)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    fixed = {"tags": list(tags), "_media_type": media_type, "_dataset_id": dataset_id, "created_at": now}
    blocks = [rb.object_ids(ID, ids), rb.const(n, bson.encode({**fixed, "last_modified_at": now})[4:-1])]
    if widths is not None and heights is not None:
        size = rb.integers(["width", "height"], np.stack([widths, heights], axis=1))
        blocks.append(rb.document(rb.DOCUMENT, "metadata", rb.concat([rb.const(n, _cls("ImageMetadata")), size])))
    # FiftyOne's own rule for the random sort key (fiftyone.core.odm.sample)
    blocks.append(rb.numbers(["_rand"], _RNG.random((n, 1)) * 0.001 + 0.999, False))
    return rb.concat(blocks)


def group_element(key: str, ids: np.ndarray, slices: list[str], slice_of: np.ndarray) -> rb.Block:
    """The ``fo.Group`` element ``key`` of samples: their group's id (bytes (n, 12)) and their slice
    ``slices[slice_of[i]]``."""
    n = len(ids)
    names = rb.concat([
        rb.const(n, rb.string("name", name), present=slice_of == s) for s, name in enumerate(slices)
    ])  # fmt: skip
    return rb.document(rb.DOCUMENT, key, rb.concat([rb.object_ids(ID, ids), rb.const(n, _cls("Group")), names]))


def label_template(label: fo.Label) -> tuple[bytes, int]:
    """``label`` as FiftyOne stores it (BSON), and where its 12-byte id is in it: a fixed layout
    whose id and values the caller replaces per row."""
    raw, oid = bson.encode(label.to_mongo()), ObjectId(label.id).binary
    assert raw.count(oid) == 1
    return raw, raw.find(oid)


def dataset_id(dataset: fo.Dataset) -> ObjectId:
    """The id FiftyOne stores in each sample of ``dataset``."""
    return dataset._doc.id


def merge_schema(dataset: fo.Dataset, fields: dict[str, fo.Field]) -> None:
    """Declare ``fields`` (``"a"`` or ``"a.b"`` paths) without loading a sample; parents first."""
    for top_level in (True, False):  # FiftyOne needs a field declared before fields embedded in it
        level = {k: v for k, v in fields.items() if ("." not in k) == top_level}
        if level:
            dataset._merge_sample_field_schema(level)


def root_dataset(collection: fo.core.collections.SampleCollection) -> fo.Dataset:
    """The dataset a view (or a dataset) belongs to."""
    return collection._root_dataset


def dataset_of(collection: fo.core.collections.SampleCollection) -> fo.Dataset:
    """The dataset whose samples a view shows (of a generated view, such as patches, the generated
    dataset; ``root_dataset`` is then the one it came from)."""
    return collection._dataset


def update_samples(collection: fo.core.collections.SampleCollection, ops: list[pymongo.UpdateOne]) -> int:
    """Send updates of stored sample documents in one unordered bulk write; returns how many samples
    the filters matched."""
    return dataset_of(collection)._sample_collection.bulk_write(ops, ordered=False).matched_count


def drop_empty_sidebar_group(collection: fo.core.collections.SampleCollection, name: str) -> None:
    """Remove the App's sidebar group ``name`` if no field is left in it (what FiftyOne's own
    evaluation runs do on cleanup)."""
    collection._delete_empty_sidebar_group(name)


def raw_batches(collection: fo.core.collections.SampleCollection, project: dict[str, Any], batch_size: int) -> Any:
    """A cursor over the raw BSON batches of the samples a view shows, projected to ``project``.

    In the view's order, or by id where the view sets none: the import's ids grow in file
    order, while MongoDB's natural order differs between the members of a replica set, so it
    would change after a failover.
    """
    ordered = any(key in stage for stage in collection._pipeline() for key in ("$sort", "$sample"))
    pipeline = collection._pipeline(post_pipeline=[*([] if ordered else [{"$sort": {ID: 1}}]), {"$project": project}])
    return collection._dataset._sample_collection.aggregate_raw_batches(
        pipeline, allowDiskUse=True, batchSize=batch_size
    )


def insert_samples(dataset: fo.Dataset, docs: list[RawBSONDocument]) -> None:
    """Insert finished sample documents of ``dataset``, once each, through a replica set's failover.

    pymongo retries a write once, after waiting for a primary; if that attempt meets a primary
    stepping down too, the batch is sent again (see ``retrying``). The samples' ids are set by
    the import, so the ones an interrupted attempt did write come back as duplicate ``_id``s and
    are skipped, never doubled.
    """
    coll = dataset._sample_collection

    def insert() -> None:
        try:
            coll.insert_many(docs, ordered=False)
        except pymongo.errors.BulkWriteError as e:
            if e.details.get("writeConcernErrors") or not all(map(_duplicate_id, e.details.get("writeErrors") or [{}])):
                raise

    retrying(insert)


def count_samples(dataset: fo.Dataset, ids: list[ObjectId]) -> int:
    """How many of the samples ``ids`` the database holds (asked of the primary)."""
    return retrying(lambda: dataset._sample_collection.count_documents({ID: {"$in": ids}}))


def delete_samples(dataset: fo.Dataset, ids: list[ObjectId]) -> None:
    """Delete the samples ``ids`` (inserted by an import that failed), waiting for a primary if need be."""
    retrying(lambda: dataset._sample_collection.delete_many({ID: {"$in": ids}}), cleanup=True)


def delete_dataset(dataset: fo.Dataset) -> None:
    """Delete a dataset an import was building, waiting for a primary if need be."""
    try:
        retrying(dataset.delete, cleanup=True)
    except pymongo.errors.PyMongoError as e:
        raise DatabaseError(
            f"{e}; the unfinished dataset '{dataset.name}' could not be deleted: "
            "run 'fiftyone-pose cleanup --delete' once the database is back"
        ) from e


class DatabaseError(PoseError, ConnectionError):
    """MongoDB could not carry out an import or export to the end (its primary changed again and
    again, or none was elected in time). Nothing was left half-done; running it again is safe, so
    it is said in one line like the user's own errors (the CLI exits 2), not as a bug."""


@contextlib.contextmanager
def failover_errors(what: str) -> Iterator[None]:
    """Report MongoDB failing over for good, or out of reach, as a ``DatabaseError`` naming ``what``
    (the command line prints it in one line); other errors pass as they are."""
    try:
        yield
    except pymongo.errors.PyMongoError as e:
        if not transient(e):
            raise
        reason = (str(e).splitlines() or [type(e).__name__])[0][:300]
        raise DatabaseError(f"the database failed during the {what} ({reason}); nothing was left half-done") from e


def retrying(operation: Callable[[], T], cleanup: bool = False) -> T:
    """Run ``operation`` (which must be safe to repeat) again while MongoDB answers that its
    primary stepped down or is being elected.

    pymongo already waits for a primary (the URI's ``serverSelectionTimeoutMS``, 30 s by
    default) and retries most operations once; this covers an operation that meets a failover
    again, up to ``ATTEMPTS`` times. ``cleanup``: undoing a failed import, which also waits out
    a set without a primary for up to ``CLEANUP_SECONDS``, so the failure leaves nothing behind.
    """
    deadline = time.monotonic() + CLEANUP_SECONDS
    attempt = 0
    while True:
        try:
            return operation()
        except pymongo.errors.PyMongoError as e:
            attempt += 1
            waited_out = isinstance(e, pymongo.errors.ServerSelectionTimeoutError)
            if cleanup:
                if not (transient(e) or waited_out) or time.monotonic() > deadline:
                    raise
            elif waited_out or not transient(e) or attempt >= ATTEMPTS:
                raise
        time.sleep(min(0.1 * 2**attempt, 2.0))


def transient(error: BaseException) -> bool:
    """Whether a MongoDB error says only that the primary changed (or the connection to it broke)."""
    if isinstance(error, pymongo.errors.AutoReconnect):  # NotPrimaryError, a reset connection, no primary yet
        return True
    if isinstance(error, pymongo.errors.BulkWriteError):  # a write refused, or not confirmed by the set
        errors = [*(error.details.get("writeErrors") or []), *(error.details.get("writeConcernErrors") or [])]
        return bool(errors) and all(e.get("code") in _FAILOVER_CODES or _duplicate_id(e) for e in errors)
    if isinstance(error, pymongo.errors.OperationFailure):
        return error.code in _FAILOVER_CODES or error.has_error_label("RetryableWriteError")
    return False


#: server error codes of a primary stepping down or shutting down, of a node not (yet) primary,
#: and of a read's cursor killed by such a change (the read is then done again)
_FAILOVER_CODES = frozenset({43, 91, 175, 189, 237, 10107, 11600, 11602, 13435, 13436})


def _duplicate_id(error: dict[str, Any]) -> bool:
    """Whether a write error is a duplicate ``_id`` (the document is already there)."""
    if error.get("code") != 11000:
        return False
    pattern = error.get("keyPattern")
    return set(pattern) == {ID} if pattern else " index: _id_ " in error.get("errmsg", "")


def importer_call() -> tuple[Any, fo.Dataset | None]:
    """The ``label_field`` given to ``Dataset.from_dir`` / ``add_dir`` / ``merge_dir`` (or
    ``add_importer`` / ``merge_importer``) and the dataset imported or merged into, seen from a
    batch importer's ``import_samples``.

    FiftyOne hands ``label_field`` to sample-by-sample importers only: a ``BatchDatasetImporter`` is
    called as ``import_samples(dataset, tags, progress)``, and by ``merge_samples`` with a temporary
    dataset that is then merged into the target. Both are read from the arguments of the FiftyOne
    function that calls it (``fiftyone.utils.data.import_samples`` / ``merge_samples``); ``(None,
    None)`` when the importer was not called from there. Pinned by tests/test_types.py.
    """
    import fiftyone.utils.data as foud

    callers = (foud.import_samples.__code__, foud.merge_samples.__code__)
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code in callers:
                return frame.f_locals.get("label_field"), frame.f_locals.get("dataset")
            frame = frame.f_back
        return None, None
    finally:
        del frame
