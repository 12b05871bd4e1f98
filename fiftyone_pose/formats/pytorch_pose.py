"""pytorch-pose JSON (bearpaw/pytorch-pose): ``mpii_annotations.json``, ``LEEDS_annotations.json``
and ``coco_annotations_{2014,2017}.json``.

Each file is a JSON list with one record per person (MATLAB-made, every number a float such as
``1.000``): ``dataset`` (``"MPI"``, ``"LEEDS"`` or ``"coco"``), ``isValidation``, ``img_paths``,
``objpos``, ``scale_provided``, ``joint_self`` (K rows ``[x, y, vis]``) and, in the MPII and LEEDS
files, ``img_width``/``img_height``, ``annolist_index``, ``people_index``, ``numOtherPeople``,
``joint_others``, ``scale_provided_other``, ``objpos_other``. One file is one ``PoseData``; its
layout follows ``dataset`` (a file mixing datasets is an error):

- ``MPI`` (MPII) and ``LEEDS`` (LSP + LSPet): the 16-point ``mpii`` layout. ``vis`` 1 -> visible
  (2), ``vis`` 0 with coordinates -> occluded (1), ``[0, 0, 0]`` -> unlabeled (0). In the LEEDS
  file **pelvis and thorax are invented** by the converter (the mean of the hips / shoulders, always
  ``vis`` 1): LSP has no such points. Their number is in the notes; prefer LSP's ``joints.mat``
  for LSP itself;
- ``coco``: the 17-point ``coco`` layout, COCO's ``v`` kept; unlabeled rows are ``[1, 1, 0]``.

Coordinates are **1-based** in all three files (``origin`` 1; FiftyOne and a COCO export see them
shifted by one): MPII's are the ``.mat`` values, and the COCO generator adds 1 to COCO's. For
LEEDS the base of LSP's own ``joints.mat`` is undocumented; this file is made by the same MATLAB
scripts as the MPII one, and pytorch-pose's LSP loader subtracts 1 exactly as its MPII loader
does, so it is read as 1-based too (one base per file format; the raw values are kept either way).

There are no ids. Images are the distinct ``img_paths`` (for COCO: with the split folder, which is
``train2014``/``val2014`` from a ``COCO_val2014_...`` name, else ``train2017``/``val2017`` from
``isValidation``; the image's ``file_name`` is ``<folder>/<img_paths>``, so ``images_dir`` is the
folder holding the split folders), ids 1..M in order of first appearance; several records of one
image make one image. Persons get ids 1..N in record order; ``annolist_index``/``people_index``
(MPII: the ``.mat`` image and person; LEEDS: a counter and 1) stay as they are, a repeated pair is
counted in the notes. Persons are never rebuilt from ``joint_others`` (they disagree with the
persons' own records in the MPII file); ``joint_others``, ``scale_provided_other`` and
``objpos_other`` are kept verbatim, whatever their depth (it follows ``numOtherPeople``; records
where it does not are counted in the notes).

Every field is kept exactly: ``isValidation``, ``img_width``, ``img_height`` (and ``img_paths`` for
COCO) as the image's fields where all its records agree (sample fields in FiftyOne), the rest as
the person's; a file is written back as the same document (the same JSON values, record order and
keys; ``1.000`` is the float 1.0 and is written ``1.0``). Image sizes come from
``img_width``/``img_height`` where present, else from the image headers (``images_dir``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from itertools import chain
from typing import Any

import numpy as np
import orjson

from ..core import skeleton as skeletons
from ..core.errors import Option, PoseUsageError
from ..core.model import Persons, PoseData
from ..core.numbers import INT64_MAX, is_number, to_lists, uniform_mask
from .context import ReadContext
from .jsonio import dump_json, load_json
from .native import box_persons, new_images, sizes_from_headers
from .protocol import IMAGES_DIR, Confidence, OptionSpec, Peek

NAME = "pytorch_pose"
FLAVORS = {
    "MPI": "mpii_annotations.json: MPII persons, 16 points (mpii layout), 1-based, vis 1/0",
    "LEEDS": "LEEDS_annotations.json: LSP + LSPet in the 16-point mpii layout (pelvis/thorax synthesised), vis 1/0",
    "coco": (
        "coco_annotations_{2014,2017}.json: COCO persons, 17 points shifted to 1-based, COCO v, unlabeled [1, 1, 0]"
    ),
}
#: the files count pixels from 1
ORIGIN = 1
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (
    OptionSpec("flavor", "the dataset of records that have none (default: the data's own)", ("MPI", "LEEDS", "coco")),
)
STREAMING = "read and written whole: a JSON list of person records"
#: ``dataset`` value -> layout
LAYOUTS = {"MPI": "mpii", "LEEDS": "mpii", "coco": "coco"}
#: record keys in the files' order (the writer's order; other keys follow)
KEY_ORDER = (
    "dataset", "isValidation", "img_paths", "img_width", "img_height", "objpos", "joint_self", "scale_provided",
    "annolist_index", "people_index", "numOtherPeople", "joint_others", "scale_provided_other", "objpos_other",
)  # fmt: skip
#: record keys that belong to the image: kept on the image where all its records agree
IMAGE_KEYS = ("isValidation", "img_width", "img_height")
#: where an unlabeled point is written when the file's own values cannot be kept
_PLACEHOLDER = {"mpii": 0.0, "coco": 1.0}
_COCO_2014 = re.compile(r"^COCO_(train|val)(\d{4})_")
_MISSING = object()

NOTE_SYNTHESISED = "LEEDS pelvis/thorax points synthesised by the converter (mean of hips / shoulders), not annotated"
NOTE_FLAGS = "pytorch-pose vis values other than 0/1 (read as labeled if > 0, else unlabeled; raw value kept)"
NOTE_COCO_FLAGS = "pytorch-pose COCO v values other than 0/1/2 (read as 0 if <= 0, else labeled; raw value kept)"
#: the documented vis values per layout
_FLAGS = {"mpii": (0, 1), "coco": (0, 1, 2)}
NOTE_OTHERS = (
    "pytorch-pose records whose joint_others/objpos_other/scale_provided_other do not match numOtherPeople "
    "(kept as given)"
)
NOTE_FIELDS = (
    "pytorch-pose records with objpos not [x, y], scale_provided not a number or isValidation not 0/1 (kept as given)"
)
NOTE_PAIRS = "pytorch-pose records repeating another record's (annolist_index, people_index) (kept)"
NOTE_SIZES = "pytorch-pose images whose records disagree on img_width/img_height (kept per record; size from the image)"
NOTE_NO_SPLIT = (
    "pytorch-pose COCO records whose split folder cannot be told (isValidation not 0/1; file_name = img_paths)"
)


def layout(dataset: str = "MPI") -> skeletons.Skeleton:
    return skeletons.load(LAYOUTS[dataset])


def detect(peek: Peek) -> Confidence:
    """A JSON list whose first record has ``img_paths`` and ``joint_self``."""
    head = peek.head
    if not head.lstrip().startswith(b"["):
        return Confidence.NO
    return Confidence.CERTAIN if b'"joint_self"' in head and b'"img_paths"' in head else Confidence.NO


def read(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseData:
    """Read one pytorch-pose file. ``images_dir``: read the image sizes the file lacks (the COCO
    file has none) from the image headers there (a FiftyOne import does it itself)."""
    data = decode(load_json(path), path=path)
    return sizes_from_headers(data, images_dir, path)


def write(data: PoseData, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """Write ``data`` (``mpii`` or ``coco`` layout, 1-based) as a pytorch-pose file (atomically).

    ``flavor`` (``"MPI"``, ``"LEEDS"``, ``"coco"``): the ``dataset`` of records that have none
    (persons not read from such a file); default: the data's own, else the layout's.
    """
    dump_json(encode(data, flavor=flavor), path)


def flavor_of(data: PoseData) -> str:
    """The ``dataset`` value of ``data``: its first person's, else its layout's."""
    for e in data.persons.extras:
        value = e.get("dataset")
        if isinstance(value, str) and LAYOUTS.get(value) == data.skeleton.name:
            return value
    return "coco" if data.skeleton.name == "coco" else "MPI"


# --------------------------------------------------------------------------------------- reading


def _name(i: int, rec: Any) -> str:
    """``records[12] (img_paths 015601864.jpg)``: the record's position and its image."""
    p = rec.get("img_paths") if isinstance(rec, dict) else None
    return f"records[{i}]" + (f" (img_paths {p})" if isinstance(p, str) and p and "\n" not in p else "")


def _json(v: Any) -> bytes | None:
    try:
        return orjson.dumps(v)
    except (TypeError, orjson.JSONEncodeError):
        return None


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """A parsed pytorch-pose document as ``PoseData`` (pure: no disk access)."""
    r = ReadContext(path)
    if not isinstance(doc, list):
        raise r.error(f"expected a JSON list of person records, found {type(doc).__name__}")
    flavor, first = None, 0
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise r.error(f"expected an object, found {type(rec).__name__}", f"records[{i}]")
        if "dataset" not in rec:
            raise r.error("required key is missing", _name(i, rec), "dataset")
        ds = rec["dataset"]
        if not isinstance(ds, str) or ds not in LAYOUTS:
            raise r.error(
                f"expected one of {', '.join(map(repr, LAYOUTS))}, found {ds!r:.60}", _name(i, rec), "dataset"
            )
        if flavor is None:
            flavor, first = ds, i
        elif ds != flavor:
            raise r.error(
                f"is {ds!r} but records[{first}] is {flavor!r}: one dataset per file", _name(i, rec), "dataset"
            )
    sk = layout(flavor or "MPI")
    k = sk.num_keypoints
    if not doc:
        return PoseData(new_images([], [], [], [], []), Persons.empty(k), sk, [], {}, NAME, r.notes, ORIGIN)

    # images: one per distinct file name, in order of first appearance
    index: dict[str, int] = {}
    names: list[str] = []
    img_paths: list[str] = []
    image_of: list[int] = []
    rows: list[list] = []
    row_records: list[tuple[str, str]] = []
    no_split = 0
    for i, rec in enumerate(doc):
        name = _name(i, rec)
        p = rec.get("img_paths", _MISSING)
        if p is _MISSING:
            raise r.error("required key is missing", name, "img_paths")
        if not isinstance(p, str) or not p:
            raise r.error(f"expected the image path (a non-empty string), found {p!r:.60}", name, "img_paths")
        file_name = p
        if flavor == "coco" and "/" not in p:
            folder = _coco_folder(p, rec.get("isValidation"))
            no_split += folder is None
            file_name = p if folder is None else f"{folder}/{p}"
        if file_name not in index:
            index[file_name] = len(names)
            names.append(file_name)
            img_paths.append(p)
        image_of.append(index[file_name])
        joints = rec.get("joint_self", _MISSING)
        if joints is _MISSING:
            raise r.error("required key is missing", name, "joint_self")
        if not (
            isinstance(joints, list)
            and len(joints) == k
            and all(isinstance(row, list) and len(row) == 3 for row in joints)
        ):
            raise r.error(f"expected {k} rows [x, y, vis] ({flavor} file), found {_shape(joints)}", name, "joint_self")
        rows.append(joints)
        row_records.append((name, "joint_self"))
        for key in ("img_width", "img_height"):
            v = rec.get(key)
            if key in rec and not _is_size(v):
                raise r.error(f"expected a non-negative whole number, found {v!r:.60}", name, key)
    r.note(NOTE_NO_SPLIT, no_split)

    n = len(doc)
    values, mask = r.numbers(list(chain.from_iterable(chain.from_iterable(rows))), row_records.__getitem__, 3 * k)
    bad = ~np.isfinite(values)
    if bad.any():
        j = int(np.flatnonzero(bad)[0]) // (3 * k)
        raise r.error("expected finite numbers", *row_records[j])
    triplets = values.reshape(n, k, 3)
    kp_mask = mask.reshape(n, k, 3)
    raw = triplets[..., 2].copy()
    visibility = read_visibility(sk.name, triplets[..., :2], raw)
    r.note(NOTE_FLAGS if sk.name == "mpii" else NOTE_COCO_FLAGS, int((~np.isin(raw, _FLAGS[sk.name])).sum()))
    if flavor == "LEEDS":
        r.note(NOTE_SYNTHESISED, int((visibility[:, [sk.index("pelvis"), sk.index("thorax")]] > 0).sum()))

    # fields: the image's where all its records agree, else the person's
    groups: list[list[int]] = [[] for _ in names]
    for i, m in enumerate(image_of):
        groups[m].append(i)
    person_extras = [{key: v for key, v in rec.items() if key not in ("joint_self", "img_paths")} for rec in doc]
    image_extras: list[dict[str, Any]] = []
    widths, heights = np.zeros(len(names), np.int64), np.zeros(len(names), np.int64)
    odd_sizes = 0
    for m, group in enumerate(groups):
        extra: dict[str, Any] = {"img_paths": img_paths[m]} if names[m] != img_paths[m] else {}
        for key in IMAGE_KEYS:
            if _agree(doc, group, key):
                extra[key] = doc[group[0]][key]
                for i in group:
                    del person_extras[i][key]
        widths[m], heights[m] = int(extra.get("img_width", 0)), int(extra.get("img_height", 0))
        odd_sizes += any(key in person_extras[i] for i in group for key in ("img_width", "img_height"))
        image_extras.append(extra)
    r.note(NOTE_SIZES, odd_sizes)
    _note_others(doc, k, r)
    _note_fields(doc, r)
    _note_pairs(doc, r)

    images = new_images(range(1, len(names) + 1), names, widths, heights, image_extras)
    boxes = np.full((n, 4), np.nan)
    persons = box_persons(
        image_of, triplets[..., :2], visibility, raw, kp_mask, boxes, uniform_mask(False, (n, 4)), person_extras
    )
    if (raw == visibility).all():
        persons = dataclasses.replace(persons, visibility_raw=None)
    return PoseData(images, persons, sk, [], {}, NAME, r.notes, ORIGIN)


def _agree(doc: list, group: list[int], key: str) -> bool:
    """Whether every record of ``group`` has ``key`` with the same JSON value (``1.0`` and ``1`` differ)."""
    if key not in doc[group[0]]:
        return False
    text = _json(doc[group[0]][key])
    return text is not None and all(key in doc[i] and _json(doc[i][key]) == text for i in group[1:])


def _coco_folder(img_paths: str, is_validation: Any) -> str | None:
    """The COCO image folder of a record: from a ``COCO_val2014_...`` name, else from ``isValidation`` (2017)."""
    m = _COCO_2014.match(img_paths)
    if m:
        return m.group(1) + m.group(2)
    if type(is_validation) in (int, float) and is_validation in (0, 1):
        return "val2017" if is_validation == 1 else "train2017"
    return None


def _shape(v: Any) -> str:
    if not isinstance(v, list):
        return f"{v!r:.60}"
    bad = next((row for row in v if not (isinstance(row, list) and len(row) == 3)), None)
    if bad is not None:
        return f"{len(v)} rows, one of them {bad!r:.40}"
    return f"{len(v)} rows"


def _is_size(v: Any) -> bool:
    return is_number(v) and math.isfinite(v) and 0 <= v <= INT64_MAX and int(v) == v


def read_visibility(layout_name: str, xy: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """COCO visibility of pytorch-pose points.

    ``mpii`` (MPI, LEEDS): ``vis`` 1 -> 2; 0 -> 1 with coordinates, 0 at ``(0, 0)``; other values
    labeled (2) if > 0, else unlabeled. ``coco``: COCO's ``v`` (> 2 and fractions labeled).
    """
    labeled = np.where(raw <= 0, 0, np.where(raw == 1, 1, 2))
    if layout_name == "coco":
        return labeled.astype(np.int8)
    at_origin = (xy[..., 0] == 0) & (xy[..., 1] == 0)
    return np.where(raw == 0, np.where(at_origin, 0, 1), np.where(raw > 0, 2, 0)).astype(np.int8)


def _others_ok(n: Any, value: Any, one: Any) -> bool:
    """Whether an ``*_other`` value has the depth ``numOtherPeople`` = ``n`` gives it (jsonlab squeezing)."""
    if value is _MISSING:
        return n == 0
    if n == 0:
        return value == []
    if n == 1:
        return one(value)
    return isinstance(value, list) and len(value) == n and all(one(x) for x in value)


def _pair(x: Any) -> bool:
    return isinstance(x, list) and len(x) == 2 and all(map(is_number, x))


def _note_others(doc: list, k: int, r: ReadContext) -> None:
    number, pair = is_number, _pair

    def rows(x: Any) -> bool:
        return (
            isinstance(x, list)
            and len(x) == k
            and all(isinstance(row, list) and len(row) == 3 and all(map(number, row)) for row in x)
        )

    odd = 0
    for rec in doc:
        n = rec.get("numOtherPeople", _MISSING)
        if n is _MISSING:
            continue
        if not (is_number(n) and math.isfinite(n) and n >= 0 and int(n) == n):
            odd += 1
            continue
        checks = (("joint_others", rows), ("objpos_other", pair), ("scale_provided_other", number))
        odd += not all(_others_ok(int(n), rec.get(key, _MISSING), one) for key, one in checks)
    r.note(NOTE_OTHERS, odd)


def _note_fields(doc: list, r: ReadContext) -> None:
    """Count records whose fields pytorch-pose's loaders read have another shape (kept, not interpreted here)."""
    odd = 0
    for rec in doc:
        v = rec.get("isValidation", 0)
        odd += not (
            _pair(rec.get("objpos", [0, 0]))
            and is_number(rec.get("scale_provided", 0))
            and type(v) in (int, float)
            and v in (0, 1)
        )
    r.note(NOTE_FIELDS, odd)


def _note_pairs(doc: list, r: ReadContext) -> None:
    seen: set[tuple[float, float]] = set()
    repeated = 0
    for rec in doc:
        a, b = rec.get("annolist_index"), rec.get("people_index")
        if is_number(a) and is_number(b):
            key = (float(a), float(b))
            repeated += key in seen
            seen.add(key)
    r.note(NOTE_PAIRS, repeated)


# --------------------------------------------------------------------------------------- writing


def encode(data: PoseData, *, flavor: str | None = None) -> list[dict[str, Any]]:
    """``data`` as a pytorch-pose document (pure: no disk access): one record per person, in order.

    Records keep every field they were read with; persons from elsewhere (drawn in FiftyOne,
    another format) get ``dataset``, the image's fields and ``joint_self``, and no invented
    ``objpos``/``scale_provided`` (counted in the notes). Crowd regions and images without
    persons have no place in the file (counted).
    """
    name = data.skeleton.name
    if name not in _PLACEHOLDER or tuple(data.skeleton.keypoints) != skeletons.load(name).keypoints:
        raise PoseUsageError(
            f"pytorch-pose JSON holds the 'mpii' (MPI, LEEDS) or 'coco' layout; this data has '{name}' "
            f"({data.skeleton.num_keypoints} points): ",
            Option("layout", "mpii"),
            " or ",
            Option("layout", "coco"),
            " to convert it",
        )
    if flavor is not None and LAYOUTS.get(flavor) != name:
        raise PoseUsageError(f"flavor {flavor!r} does not hold the '{name}' layout; flavors: {', '.join(LAYOUTS)}")
    default = flavor or flavor_of(data)
    native = data.format == NAME
    p, images = data.persons, data.images
    n, k = p.visibility.shape
    joint_self = _joint_rows(p, name, native)
    written = np.zeros(len(images), bool)
    notes = {"crowd": 0, "relabeled": 0, "no_crop": 0}
    out = []
    for i in range(n):
        if p.crowd[i]:
            notes["crowd"] += 1
            continue
        m = int(p.image_index[i])
        written[m] = True
        extra = p.extras[i]
        fields = dict(images.extras[m])
        if not native:  # another format's image fields (license, url, ...) are not the records'
            fields = {key: v for key, v in fields.items() if key in ("img_paths", *IMAGE_KEYS)}
            if images.widths[m] > 0 and images.heights[m] > 0:
                fields.setdefault("img_width", float(images.widths[m]))
                fields.setdefault("img_height", float(images.heights[m]))
        fields.update(extra)
        ds = fields.get("dataset", _MISSING)
        if ds is _MISSING or not (isinstance(ds, str) and LAYOUTS.get(ds) == name):
            notes["relabeled"] += ds is not _MISSING
            fields["dataset"] = default
        fields.setdefault("img_paths", images.file_names[m])
        fields["joint_self"] = joint_self[i]
        notes["no_crop"] += "objpos" not in fields or "scale_provided" not in fields
        out.append(
            {
                key: fields[key]
                for key in chain(
                    (key for key in KEY_ORDER if key in fields), (key for key in fields if key not in KEY_ORDER)
                )
            }
        )
    for reason, count in (
        ("crowd regions not written (pytorch-pose lists persons only)", notes["crowd"]),
        ("images without persons not written (pytorch-pose lists persons only)", int((~written).sum())),
        ("records whose dataset did not fit the layout (written as the data's own)", notes["relabeled"]),
        (
            "pytorch-pose records written without objpos/scale_provided (pytorch-pose's loaders need them)",
            notes["no_crop"],
        ),
    ):
        if count:
            data.notes[reason] = data.notes.get(reason, 0) + count
    return out


def _joint_rows(p: Persons, layout_name: str, native: bool) -> list[list[list[Any]]]:
    """Per person, the ``joint_self`` rows: the file's values where they still read as the point's
    visibility, else the format's own (floats; unlabeled points at the placeholder: ``[0, 0, 0]``
    in the MPII layout, where ``vis`` 0 with coordinates means occluded, ``[1, 1, 0]`` in COCO's)."""
    n, k = p.visibility.shape
    if n == 0:
        return []
    raw = p.raw_visibility()
    # the file's int/float types; data from elsewhere is written as the format writes numbers: floats
    mask = p.mask("keypoints") & native
    keep = (read_visibility(layout_name, p.keypoints, raw) == p.visibility) & native
    if layout_name == "coco":
        fallback = p.visibility.astype(np.float64)
    else:
        fallback = np.where(p.visibility == 2, 1.0, 0.0)
    triplets = np.concatenate([p.keypoints, np.where(keep, raw, fallback)[..., None]], axis=2)
    mask[..., 2] &= keep
    unlabeled = ~keep & (p.visibility == 0)
    triplets[unlabeled, :2] = _PLACEHOLDER[layout_name]
    mask[unlabeled] = False
    lists = to_lists(triplets.reshape(n, 3 * k), mask.reshape(n, 3 * k))
    return [[row[j : j + 3] for j in range(0, 3 * k, 3)] for row in lists]
