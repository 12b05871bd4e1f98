"""The fields a pose import declares, their names, and what is recorded about them in ``dataset.info``.

A person's record keys become keypoint attributes and an image's keys sample fields where
FiftyOne can hold them (a plain name, a value MongoDB stores unchanged); the others travel as
JSON text in ``extra_json``, so they survive exactly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from itertools import chain
from typing import Any

import bson
import fiftyone as fo
import orjson

from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import ABSENT, PoseData
from ..core.skeleton import Skeleton
from ..formats.jsonio import JSON_NESTING, nesting
from . import documents

INFO_KEY = "fiftyone_pose"

#: keypoint attributes this package writes; a record key with one of these names goes to ``extra_json``
KEYPOINT_ATTRIBUTES = frozenset({
    "visibility", "raw_keypoints", "person_id", "category_id", "bbox", "area", "iscrowd",
    "num_keypoints", "segmentation", "absent", "extra_json", "source_index", "part_boxes",
})  # fmt: skip
KEYPOINT_RESERVED = documents.LABEL_KEYS | KEYPOINT_ATTRIBUTES
_SAMPLE_FIELDS = frozenset({"image_id", "file_name", "extra_json"})
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: levels of nesting MongoDB stores in a document, and the largest document
MAX_NESTING, MAX_BSON = 180, 16 * 1024 * 1024
#: levels an extra value may have (kept well below ``MAX_NESTING`` less the levels holding it)
_MAX_DEPTH = 90


def boxes_field(label_field: str) -> str:
    """The ``fo.Detections`` field of the persons' boxes."""
    return f"{label_field}_boxes"


def parts_field(label_field: str) -> str:
    """The ``fo.Detections`` field of the body-part boxes (COCO-WholeBody's face and hands)."""
    return f"{label_field}_parts"


def sample_reserved(label_field: str) -> frozenset[str]:
    """Sample keys an image record's key cannot take."""
    return documents.SAMPLE_KEYS | _SAMPLE_FIELDS | {label_field, boxes_field(label_field), parts_field(label_field)}


@functools.lru_cache(maxsize=4096)
def is_field_name(key: str, reserved: frozenset[str]) -> bool:
    """Whether a record's extra key can be a FiftyOne field/attribute of its own (cached: keys repeat per record)."""
    return key not in reserved and _FIELD_NAME.match(key) is not None


@functools.lru_cache(maxsize=1024)
def _all_field_names(keys: tuple[str, ...], reserved: frozenset[str]) -> bool:
    """Whether every key can be a field (cached: records of a file mostly share their keys)."""
    return all(is_field_name(k, reserved) for k in keys)


def split_extras(extra: dict[str, Any], reserved: frozenset[str]) -> tuple[dict[str, Any], str | None]:
    """A record's extra keys as (FiftyOne attributes, JSON text of the rest or None).

    The rest are keys FiftyOne cannot take as fields (reserved or odd names) and values MongoDB
    cannot store (e.g. object keys with NUL bytes); as JSON text they survive exactly. A value
    too deep for JSON text as well is a ``PoseFormatError`` naming its key (``too_deep_error``).
    """
    if not extra or _all_field_names(tuple(extra), reserved) and all(map(_storable, extra.values())):
        return extra, None
    safe = {k: v for k, v in extra.items() if is_field_name(k, reserved) and _storable(v)}
    if len(safe) == len(extra):
        return safe, None
    rest = {k: v for k, v in extra.items() if k not in safe}
    try:
        return safe, orjson.dumps(rest).decode()
    except orjson.JSONEncodeError:  # (a JSON value from a file: only its nesting can fail)
        key = next(k for k, v in rest.items() if too_deep({k: v}, JSON_NESTING))
        raise too_deep_error(key) from None


def too_deep_error(key: str) -> PoseFormatError:
    """The error for a value nested deeper than this package keeps (the caller names the record)."""
    return PoseFormatError(
        f"nested deeper than can be kept: MongoDB stores {MAX_NESTING} levels, and JSON text "
        f"{JSON_NESTING} with the key's own (orjson's limit)",
        field=key,
    )


def _storable(value: Any) -> bool:
    """Whether MongoDB stores ``value`` and gives it back unchanged."""
    if type(value) not in (dict, list):
        return type(value) is not int or -(2**63) <= value < 2**63
    if too_deep(value):  # (first: encoding a value nested a thousand deep would fail)
        return False
    try:
        bson.encode({"v": value})
    except (bson.errors.InvalidDocument, OverflowError):
        return False
    return b'"$' not in orjson.dumps(value)  # operator-like keys ("$x") confuse queries


def too_deep(value: Any, limit: int = _MAX_DEPTH) -> bool:
    """Whether ``value`` nests more than ``limit`` levels (``jsonio.nesting``: counted without
    recursion, so any depth can be asked)."""
    return nesting(value) > limit


def keypoints_schema(label_field: str, attributes: Iterable[str]) -> dict[str, fo.Field]:
    """The declaration of the keypoints field ``label_field`` and of these attributes of its
    keypoints (of those this package writes), with types the App can filter on."""
    kp = f"{label_field}.keypoints"
    types = {
        "instance": fo.EmbeddedDocumentField(fo.Instance),
        "visibility": fo.ListField(fo.IntField()),
        "raw_keypoints": fo.ListField(fo.FloatField()),
        "person_id": fo.IntField(),
        "category_id": fo.IntField(),
        "iscrowd": fo.IntField(),
        "bbox": fo.ListField(fo.FloatField()),
        "area": fo.FloatField(),
        "num_keypoints": fo.IntField(),
        "source_index": fo.IntField(),
    }
    return {label_field: fo.EmbeddedDocumentField(fo.Keypoints), **{f"{kp}.{a}": types[a] for a in attributes}}


def declare_schema(
    dataset: fo.Dataset,
    header: PoseData,
    person_types: dict[str, set[type]],
    has_parts: bool,
    label_field: str,
) -> frozenset[str]:
    """Declare the fields the bulk insert writes, with types the App can filter on; returns the
    image keys that have a sample field.

    ``header``: the images (its persons are not looked at); ``person_types``: the types of the
    persons' extra keys over the whole file (``record_types``, added up chunk by chunk);
    ``has_parts``: whether any person has part boxes."""
    if dataset.media_type is None:
        dataset.media_type = "image"
    kp = f"{label_field}.keypoints"
    det = f"{boxes_field(label_field)}.detections"
    columns = ("instance", "visibility", "raw_keypoints", "person_id", "category_id", "iscrowd", "bbox", "area",
               "num_keypoints", "source_index")  # fmt: skip
    schema = {
        "image_id": fo.IntField(),
        "file_name": fo.StringField(),
        **keypoints_schema(label_field, columns),
        boxes_field(label_field): fo.EmbeddedDocumentField(fo.Detections),
        f"{det}.instance": fo.EmbeddedDocumentField(fo.Instance),
        f"{det}.iscrowd": fo.IntField(),
    }
    if has_parts:
        schema[parts_field(label_field)] = fo.EmbeddedDocumentField(fo.Detections)
        schema[f"{parts_field(label_field)}.detections.instance"] = fo.EmbeddedDocumentField(fo.Instance)
    image_schema = {
        key: ftype()
        for key, ftype in _extra_field_types(record_types(header.images.extras), sample_reserved(label_field), True)
    }
    schema.update(image_schema)
    schema.update({f"{kp}.{key}": ftype() for key, ftype in _extra_field_types(person_types, KEYPOINT_RESERVED)})
    existing = dataset.get_field_schema(flat=True)
    # a field of another type from an earlier import cannot take these values: they go to extra_json
    image_schema = {k: f for k, f in image_schema.items() if k not in existing or type(existing[k]) is type(f)}
    documents.merge_schema(dataset, {k: v for k, v in schema.items() if k not in existing})
    return frozenset(image_schema)


def declare_extra_json(dataset: fo.Dataset) -> None:
    """Declare the sample field holding the image keys no field could hold."""
    if not dataset.has_field("extra_json"):
        documents.merge_schema(dataset, {"extra_json": fo.StringField()})


def image_keys_without_field(data: PoseData, label_field: str, image_fields: frozenset[str]) -> frozenset[str]:
    """Sample keys an image key cannot take (it goes to ``extra_json``): FiftyOne's, this package's,
    and the image keys left without a declared field (FiftyOne cannot load undeclared fields)."""
    return frozenset(sample_reserved(label_field) | (set(chain.from_iterable(data.images.extras)) - image_fields))


def record_types(records: list[dict[str, Any]], seen: dict[str, set[type]] | None = None) -> dict[str, set[type]]:
    """The types each key of the records takes, added to ``seen`` (so a file's chunks add up to
    what the whole file gives)."""
    seen = {} if seen is None else seen
    for rec in records:
        for key, value in rec.items():
            seen.setdefault(key, set()).add(type(value))
    return seen


def _extra_field_types(
    seen: dict[str, set[type]], reserved: frozenset[str], containers: bool = False
) -> Iterable[tuple[str, type]]:
    """FiftyOne field types for extra keys of the types ``seen`` (``record_types``; scalars only,
    others stay dynamic).

    ``containers``: also lists and dicts (sample fields must be declared to be loaded; MPII's
    ``single_person`` and ``act``)."""
    for key, types in seen.items():
        if not is_field_name(key, reserved):
            continue
        types = types - {type(None)}
        if types and types <= {int, bool} and bool not in types:
            yield key, fo.IntField
        elif types and types <= {int, float}:
            yield key, fo.FloatField
        elif types == {str}:
            yield key, fo.StringField
        elif types == {bool}:
            yield key, fo.BooleanField
        elif containers and types == {list}:
            yield key, fo.ListField
        elif containers and types == {dict}:
            yield key, fo.DictField


def record_info(dataset: fo.Dataset, data: PoseData, label_field: str, image_fields: frozenset[str]) -> None:
    """Skeleton on ``dataset.skeletons``; sigmas, flip pairs, categories and file-level keys in
    info (a key nested deeper than info holds is a ``PoseFormatError`` naming it)."""
    layout = data.skeleton
    dataset.skeletons[label_field] = fo.KeypointSkeleton(
        labels=list(layout.keypoints), edges=[list(e) for e in layout.edges]
    )
    if dataset.default_skeleton is None:
        dataset.default_skeleton = dataset.skeletons[label_field]
    # info holds the categories 4 levels down in the dataset's document, a file-level key 5 (measured:
    # a key of 175 levels is stored, one of 176 refused)
    for key, value, levels in [("categories", data.categories, 4), *((k, v, 5) for k, v in data.meta.items())]:
        if too_deep(value, MAX_NESTING - levels):
            raise PoseFormatError(f"nested deeper than dataset.info holds ({MAX_NESTING - levels} levels)", field=key)
    entry = {
        "format": data.format,
        "origin": data.origin,
        "skeleton": layout.to_dict(),
        "categories": data.categories,
        **stored_meta(data.meta),
        "image_fields": sorted(image_fields),
    }
    set_pose_info(dataset, label_field, entry)


def set_pose_info(dataset: fo.Dataset, label_field: str, entry: dict[str, Any] | None) -> None:
    """Record ``entry`` about ``label_field`` in ``dataset.info`` (None: forget the field, its
    skeleton too) and save the dataset."""
    info = dict(dataset.info)
    pose = dict(info.get(INFO_KEY, {}))
    if entry is None:
        pose.pop(label_field, None)
        dataset.skeletons.pop(label_field, None)
    else:
        pose[label_field] = entry
    info[INFO_KEY] = pose
    dataset.info = info
    dataset.save()


def pose_info(collection: fo.core.collections.SampleCollection, label_field: str) -> dict[str, Any]:
    """What the import recorded about ``label_field`` (empty for fields made otherwise)."""
    return documents.root_dataset(collection).info.get(INFO_KEY, {}).get(label_field, {})


def pose_fields(collection: fo.core.collections.SampleCollection) -> list[str]:
    """The keypoint fields of a collection, those this package imported first."""
    recorded = list(documents.root_dataset(collection).info.get(INFO_KEY, {}))
    kp_fields = list(collection.get_field_schema(embedded_doc_type=fo.Keypoints))
    return [f for f in recorded if f in kp_fields] + [f for f in kp_fields if f not in recorded]


def resolve_label_field(collection: fo.core.collections.SampleCollection, label_field: str | None) -> str:
    """``label_field``, checked to be a keypoints field, or the collection's first keypoints field."""
    fields = pose_fields(collection)
    if label_field is None:
        if not fields:
            raise PoseUsageError("the collection has no keypoints field to export")
        return fields[0]
    if label_field not in fields:
        raise PoseUsageError(
            f"'{label_field}' is not a keypoints field; keypoints fields: {', '.join(fields) or 'none'}"
        )
    return label_field


def skeleton_of(collection: fo.core.collections.SampleCollection, label_field: str) -> Skeleton:
    """The keypoint layout of ``label_field``: as imported, else the dataset's FiftyOne skeleton."""
    info = pose_info(collection, label_field)
    if info.get("skeleton"):
        return Skeleton.from_dict(info["skeleton"])
    sk = collection.get_skeleton(label_field)
    if sk is not None and sk.labels:
        return Skeleton.custom(sk.labels, [e for e in sk.edges if len(e) == 2])
    raise PoseUsageError(f"field '{label_field}' has no skeleton; set dataset.skeletons['{label_field}'] first")


#: how ``ABSENT`` was stored in ``dataset.info`` by earlier versions (a string a file can hold too)
_LEGACY_ABSENT = "__absent__"


def stored_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """``PoseData.meta`` as a field's entry in ``dataset.info`` keeps it: ``meta``, the file's own
    values, and ``absent_keys``, the keys marked ``ABSENT``; no value a file holds is a marker."""
    return {
        "meta": {key: value for key, value in meta.items() if value is not ABSENT},
        "absent_keys": [key for key, value in meta.items() if value is ABSENT],
    }


def meta_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``PoseData.meta`` of a field's entry in ``dataset.info`` (see ``stored_meta``)."""
    meta = dict(entry.get("meta") or {})
    if "absent_keys" not in entry:  # stored before ``absent_keys``: the marker was a string
        return {key: ABSENT if value == _LEGACY_ABSENT else value for key, value in meta.items()}
    return {**meta, **dict.fromkeys(entry["absent_keys"], ABSENT)}
