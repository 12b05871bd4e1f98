"""FiftyOne's stored documents: the one module that knows how FiftyOne 1.x lays out a sample in
MongoDB, and the private FiftyOne APIs the bulk import and export call.

The import writes finished sample documents with ``insert_many`` instead of building FiftyOne
objects, so it must write what ``Dataset.add_samples`` would: a sample holds ``_id``,
``filepath``, ``tags``, ``metadata`` (``_cls: "ImageMetadata"``, width, height), ``created_at``,
``last_modified_at``, ``_media_type``, ``_rand`` and ``_dataset_id`` besides its fields; a label
holds ``_id``, ``_cls`` and the defaults FiftyOne gives a new label (``tags``, ``attributes``,
...). ``tests/test_documents.py`` writes the same samples through ``add_samples`` and through
this module and compares every stored field, so a FiftyOne release that changes the layout fails
there, in one named test.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import bson
import fiftyone as fo
import numpy as np
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

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


def _cls(name: str) -> bytes:
    return rb.string("_cls", name)


@functools.cache
def label_defaults(cls: type, written: tuple[str, ...]) -> bytes:
    """The elements FiftyOne stores in every new label of class ``cls`` (``_cls``, ``tags``,
    ``attributes``, ...), except ``_id`` and the keys in ``written`` (the caller writes them)."""
    defaults = {k: v for k, v in cls().to_mongo().items() if k != ID and k not in written}
    return bson.encode(defaults)[4:-1]


def label_list(cls: type, key: str, items: bytes) -> bytes:
    """A label-list document (``fo.Keypoints``, ``fo.Detections``) holding array items ``items``."""
    return rb.wrap(_cls(cls.__name__) + rb.element_head(rb.ARRAY, key) + rb.wrap(items))


def instance(ids: np.ndarray) -> rb.Block:
    """The ``instance`` element (an ``fo.Instance``) of labels, from its ids' bytes (n, 12)."""
    n = len(ids)
    return rb.document(rb.DOCUMENT, "instance", rb.concat([rb.object_ids(ID, ids), rb.const(n, _cls("Instance"))]))


def sample_elements(
    ids: np.ndarray, dataset_id: ObjectId, tags: list[str], widths: np.ndarray, heights: np.ndarray
) -> rb.Block:
    """The elements FiftyOne keeps in each sample: ``_id`` (bytes (n, 12)), ``tags``, ``_media_type``,
    ``_dataset_id``, the timestamps, ``metadata`` (an image's width and height) and ``_rand``."""
    n = len(ids)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    fixed = {"tags": list(tags), "_media_type": "image", "_dataset_id": dataset_id, "created_at": now}
    size = rb.integers(["width", "height"], np.stack([widths, heights], axis=1))
    return rb.concat([
        rb.object_ids(ID, ids),
        rb.const(n, bson.encode({**fixed, "last_modified_at": now})[4:-1]),
        rb.document(rb.DOCUMENT, "metadata", rb.concat([rb.const(n, _cls("ImageMetadata")), size])),
        # FiftyOne's own rule for the random sort key (fiftyone.core.odm.sample)
        rb.numbers(["_rand"], _RNG.random((n, 1)) * 0.001 + 0.999, False),
    ])  # fmt: skip


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


def raw_batches(collection: fo.core.collections.SampleCollection, project: dict[str, Any], batch_size: int) -> Any:
    """A cursor over the raw BSON batches of the samples a view shows, projected to ``project``."""
    pipeline = collection._pipeline(post_pipeline=[{"$project": project}])
    return collection._dataset._sample_collection.aggregate_raw_batches(
        pipeline, allowDiskUse=True, batchSize=batch_size
    )


def insert_samples(dataset: fo.Dataset, docs: list[RawBSONDocument]) -> None:
    """Insert finished sample documents of ``dataset``."""
    dataset._sample_collection.insert_many(docs, ordered=False)


def delete_samples(dataset: fo.Dataset, ids: list[ObjectId]) -> None:
    """Delete the samples ``ids`` (inserted by an import that failed)."""
    dataset._sample_collection.delete_many({ID: {"$in": ids}})
