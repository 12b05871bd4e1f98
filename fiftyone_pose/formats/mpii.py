"""MPII Human Pose (16 points): the authors' ``.mat`` file (read) and the HRNet / mmpose json
(read and written back identical).

**``mat``** (``mpii_human_pose_v1_u12_1.mat``, read only): the MATLAB struct ``RELEASE``, read by the
project's strict MAT v5 reader (``mat5.read_mat_values``: structs, cells and chars, every length
checked; never ``scipy.io.loadmat``, which can crash the interpreter on damaged files). Nothing is
squeezed, so a one-element struct array and a struct are the same thing, and empty values
(``[]``, ``''``, a struct array of 0 elements) all read as "none". In ``PoseData``:

- one image per ``annolist`` entry, ``file_name`` = ``image.name``, id = the number of the file
  name (``015601864.jpg`` -> 15601864; 1..M in file order when the names are not distinct numbers,
  noted), size unknown (0: the FiftyOne import reads it from the image header, ``read(...,
  images_dir=...)`` does it here). Image extras: ``annolist_index`` (1-based position in
  ``annolist``), ``img_train``, ``single_person`` (1-based ``annorect`` indices), ``act`` (``act_name``,
  ``cat_name``, ``act_id``), ``vidx``, ``video_id`` (its ``video_list`` entry), ``frame_sec`` and
  any other ``annolist`` field, where the file has them. Other ``RELEASE`` fields (``version``) go
  to ``meta``.
- one person per ``annorect`` entry, **also without joints** (every test person, some training
  persons): those have every point unlabeled, they are never dropped. Person extras:
  ``annorect_index`` (1-based) and the rectangle's fields verbatim: head rectangle ``x1``, ``y1``,
  ``x2``, ``y2``, ``objpos`` (``{"x", "y"}``), ``scale``, and any other field but ``annopoints``.
- joints from ``annopoints.point`` (``id`` 0-15 = the ``mpii`` layout index): ``is_visible`` 1 ->
  v = 2, 0 -> v = 1, also as the text ``'1'``/``'0'``; missing or empty -> labeled, occlusion
  unknown: v = 2; any other value is refused. Where ``is_visible`` is not a plain number, its raw
  value is kept in the person's ``is_visible_raw`` (joint name -> ``"1"``/``"0"``, ``[]``/``""``
  for empty, ``null`` for a missing field). ``visibility_raw`` holds the number (0 / 1; 2 where
  there is none). Joints without a ``point`` entry are unlabeled at ``0, 0`` with no raw value
  (NaN). A point without ``x``, ``y`` or a valid ``id`` (0-15, once per person) is refused.

**``hrnet``** (HRNet ``annot/{train,valid,trainval,test}.json``, mmpose ``mpii_{train,val,trainval,
test}.json``): a JSON list, one record per person: ``image``, ``center`` ``[x, y]``, ``scale``,
``joints`` (16 ``[x, y]``), ``joints_vis`` (16 of 0 / 1); test files have no ``joints`` /
``joints_vis``. Records sharing ``image`` form one image (in order of first appearance; ids as
above). ``joints_vis`` 1 -> v = 2 (labeled, occlusion unknown), raw 1 kept in ``visibility_raw``;
0 -> v = 0 with the file's placeholder (``[-1.0, -1.0]``) kept; other values are refused.
``center``, ``scale`` and unknown keys are person extras, verbatim. A record without joints reads
as a person whose points have no raw value (NaN) and is written back without them. Written back,
every record is the same, numbers with their int/float type, in the file's order.

Both: coordinates are 1-based (MATLAB) and kept exactly as the file has them (``origin = 1``;
FiftyOne and COCO see the keypoints shifted by 1; extras such as ``center``, ``objpos`` and the head
rectangle are verbatim, so they stay 1-based everywhere). There is **no person box** (boxes NaN: a COCO export
derives one from the labeled points), no area, no crowd flag; ``center``/``scale`` and the head
rectangle are kept as they are, never turned into a box. The documented numbers of a rectangle
(``x1`` ... ``y2``, ``scale``, ``objpos.x``/``.y``) must be finite numbers or empty.

Writing (``write``, always the ``hrnet`` flavor; ``.mat`` is read only): data read by this module
writes its records back (from the ``.mat``: ``objpos`` becomes ``center``, persons without joints
are written without ``joints``/``joints_vis``, as in ``test.json``, and the other person fields
as extra keys; image-level fields, images without persons and ``meta`` have no place in the list
and are counted in the notes). Data from other formats is written with ``[-1.0, -1.0]`` for
unlabeled points, ``joints_vis`` 1 for labeled ones, and ``center``/``scale`` derived from the
person box (or the labeled points' extent) where the person has none: the box centre and its
height / 200, counted in the notes.
"""

from __future__ import annotations

import math
import os
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.errors import PoseUsageError
from ..core.layouts import require_layout
from ..core.model import ABSENT, Persons, PoseData, keypoint_boxes, with_origin
from ..core.numbers import NumberTypeError, to_array, to_lists, uniform_mask
from .context import ReadContext
from .jsonio import dump_json, load_json, read_bytes
from .mat5 import MatError, MatStruct, read_mat_values, variable_names
from .native import new_images, sizes_from_headers
from .protocol import IMAGES_DIR, Confidence, OptionSpec, Peek

NAME = "mpii"
#: MPII's files count pixels from 1 (MATLAB); ``formats.write`` hands ``write`` data with origin 1
ORIGIN = 1
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (OptionSpec("flavor", "hrnet (the .mat is read only)", ("hrnet",)),)
STREAMING = "read and written whole: the .mat is one MATLAB struct, the json a list of person records"
FLAVORS = {
    "mat": "authors' mpii_human_pose_v1_u12_1.mat (struct RELEASE; read only)",
    "hrnet": "HRNet / mmpose json list (train.json, valid.json, test.json, mpii_{train,val,trainval,test}.json): "
    "one record per person with image, center, scale, joints, joints_vis",
}
NUM_POINTS = 16
#: the largest RELEASE accepted once decompressed (the authors' file: about 150 MB)
MAX_MAT_BYTES = 1 << 30
_JOINT_KEYS = ("joints", "joints_vis")
_MISSING = object()

NOTE_NAMES = "images numbered 1..M in file order (an image name is not a number, or two names give the same number)"
NOTE_NO_JOINTS = "persons without joint labels (kept, every point unlabeled)"
NOTE_VIS_MISSING = (
    "MPII .mat joints without is_visible (read as labeled, occlusion unknown; raw kept in is_visible_raw)"
)
NOTE_VIS_TEXT = "MPII .mat joints whose is_visible is the text '0'/'1' (read as the number; raw kept in is_visible_raw)"
NOTE_POINT_FIELDS = "MPII .mat point fields other than x, y, id, is_visible (not kept)"
NOTE_ANNOPOINTS_FIELDS = "MPII .mat annopoints fields other than point (not kept)"
NOTE_VIDX = "MPII .mat vidx outside video_list (no video_id)"
NOTE_VIDEOS = "MPII .mat video_list entries no image refers to (not kept)"


def layout() -> skeletons.Skeleton:
    return skeletons.load(NAME)


def detect(peek: Peek) -> Confidence:
    """The ``.mat``: a MATLAB v5 header and a ``RELEASE`` variable; the json: a list of records
    with ``joints_vis`` (or, for a test file, ``image``, ``center`` and ``scale``), and none of the
    keys of other per-record lists (pytorch-pose's ``joint_self``/``img_paths``, AI Challenger's)."""
    head = peek.head
    if head.startswith(b"MATLAB "):
        return Confidence.CERTAIN if "RELEASE" in variable_names(head) else Confidence.NO
    if not head.lstrip().startswith(b"["):
        return Confidence.NO
    if any(key in head for key in (b'"joint_self"', b'"img_paths"', b'"human_annotations"', b'"keypoint_annotations"')):
        return Confidence.NO
    if b'"image"' not in head:
        return Confidence.NO
    if b'"joints_vis"' in head and b'"joints"' in head:
        return Confidence.CERTAIN
    return Confidence.LIKELY if b'"center"' in head and b'"scale"' in head else Confidence.NO


def read(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseData:
    """Read the ``.mat`` (a MATLAB header, or a ``.mat`` name) or an HRNet json file.

    ``images_dir``: read the image sizes (not in any MPII file) from the image headers there
    (otherwise 0 = unknown; a FiftyOne import reads them)."""
    if Peek(path).head.startswith(b"MATLAB ") or os.fspath(path).lower().endswith(".mat"):
        data = decode_mat(read_bytes(path), path=path)
    else:
        data = decode(load_json(path), path=path)
    return sizes_from_headers(data, images_dir, path)


def write(data: PoseData, path: str | os.PathLike, *, flavor: str = "hrnet") -> None:
    """Write ``data`` (16-point ``mpii`` layout) as an HRNet / mmpose MPII json list (atomically)."""
    dump_json(encode(data, flavor=flavor), path)


# ---------------------------------------------------------------------------------- HRNet json


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """A parsed HRNet / mmpose MPII json list as ``PoseData`` (pure: no disk access)."""
    r = ReadContext(path)
    if not isinstance(doc, list):
        raise r.error(f"expected a JSON list of person records (HRNet / mmpose MPII json), found {type(doc).__name__}")
    k = NUM_POINTS
    names: list[str] = []
    index_of: dict[str, int] = {}
    image_of, records, extras = [], [], []
    flat: list[Any] = []
    nan = math.nan
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise r.error(f"expected an object, found {type(rec).__name__}", f"records[{i}]")
        image = rec.get("image", _MISSING)
        if image is _MISSING:
            raise r.error("required key is missing", f"records[{i}]", "image")
        if not isinstance(image, str) or not image:
            raise r.error(f"expected the image file name, found {image!r:.60}", f"records[{i}]", "image")
        record = f"records[{i}] (image {image})"
        joints, vis = rec.get("joints", _MISSING), rec.get("joints_vis", _MISSING)
        if (joints is _MISSING) != (vis is _MISSING):
            lacking, has = ("joints", "joints_vis") if joints is _MISSING else ("joints_vis", "joints")
            raise r.error(f"required key is missing (the record has '{has}')", record, lacking)
        if joints is _MISSING:  # a test record: no joints at all
            flat += [0, 0, nan] * k
        else:
            if (
                not isinstance(joints, list)
                or len(joints) != k
                or not all(type(j) is list and len(j) == 2 for j in joints)
            ):
                raise r.error(f"expected {k} [x, y] pairs, found {joints!r:.60}", record, "joints")
            if not isinstance(vis, list) or len(vis) != k:
                raise r.error(f"expected {k} flags (0 or 1), found {vis!r:.60}", record, "joints_vis")
            for (x, y), v in zip(joints, vis):
                flat += [x, y, v]
        for key, expected in (("center", "[x, y] numbers"), ("scale", "a number")):
            value = rec.get(key, _MISSING)
            if value is not _MISSING and not (_is_pair(value) if key == "center" else _is_number(value)):
                raise r.error(f"expected {expected}, found {value!r:.60}", record, key)
        if image not in index_of:
            index_of[image] = len(names)
            names.append(image)
        image_of.append(index_of[image])
        records.append(record)
        extras.append({key: v for key, v in rec.items() if key not in ("image", *_JOINT_KEYS)})

    images = new_images(_image_ids(names, r), names, [0] * len(names), [0] * len(names), [{} for _ in names])
    n = len(records)
    if n == 0:
        return PoseData(images, Persons.empty(k), layout(), [], {}, NAME, r.notes, origin=ORIGIN)
    try:
        values, mask = to_array(flat, period=3)
    except NumberTypeError as e:
        j = next(j for j, v in enumerate(flat) if not _is_number(v) or type(v) is int and abs(v) > 2**53)
        raise r.error(_number_message(flat[j], e), records[j // (3 * k)], _JOINT_KEYS[j % 3 == 2]) from None
    triplets = values.reshape(n, k, 3)
    raw = triplets[..., 2]
    bad = ~np.isin(raw, (0, 1)) & ~np.isnan(raw)
    if bad.any():
        j, point = np.argwhere(bad)[0].tolist()
        raise r.error(
            f"expected 0 or 1, found {doc[j]['joints_vis'][point]!r} at joint {point}", records[j], "joints_vis"
        )
    if not np.isfinite(triplets[..., :2]).all():
        j = int(np.argwhere(~np.isfinite(triplets[..., :2]))[0][0])
        raise r.error("expected finite coordinates", records[j], "joints")
    visibility = np.where(raw == 1, 2, 0).astype(np.int8)
    absent = np.isnan(raw)
    r.note(NOTE_NO_JOINTS, int(absent.all(axis=1).sum()))
    mask = mask.reshape(n, k, 3)
    if absent.any():  # records without joints: 0, 0 and a flag that is no value (NaN), all whole numbers
        mask = mask.copy()
        mask[absent] = True
    persons = _persons(image_of, triplets[..., :2], visibility, raw.copy(), mask, extras)
    return PoseData(images, persons, layout(), [], {}, NAME, r.notes, origin=ORIGIN)


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _is_pair(v: Any) -> bool:
    return type(v) is list and len(v) == 2 and all(map(_is_number, v))


def _number_message(v: Any, e: NumberTypeError) -> str:
    return str(e) if type(v) in (int, float) else f"expected numbers, found {v!r:.60}"


def _image_ids(names: list[str], r: ReadContext) -> list[int]:
    """The number of each image's file name (``015601864.jpg`` -> 15601864), or 1..M in order
    when a name is not a number or two names give the same number (noted)."""
    stems = [PurePosixPath(name).stem for name in names]
    if all(s.isascii() and s.isdigit() and len(s) < 19 for s in stems):
        ids = [int(s) for s in stems]
        if len(set(ids)) == len(ids):
            return ids
    r.note(NOTE_NAMES, len(names))
    return list(range(1, len(names) + 1))


def _persons(
    image_of: list[int],
    keypoints: np.ndarray,
    visibility: np.ndarray,
    raw: np.ndarray,
    kp_mask: np.ndarray,
    extras: list[dict[str, Any]],
) -> Persons:
    """MPII persons: ids 1..N in file order, one category, no box, area, crowd flag or mask."""
    n = len(extras)
    return Persons(
        image_index=np.asarray(image_of, dtype=np.int64),
        ids=np.arange(1, n + 1, dtype=np.int64),
        category_ids=np.ones(n, np.int64),
        keypoints=np.ascontiguousarray(keypoints, dtype=np.float64),
        visibility=visibility,
        boxes=np.full((n, 4), np.nan),
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=extras,
        visibility_raw=raw if (raw != visibility).any() else None,
        int_mask={"keypoints": kp_mask, "bbox": uniform_mask(False, (n, 4)), "area": uniform_mask(False, (n,))},
        absent={"segmentation": np.ones(n, bool)},
    )


def encode(data: PoseData, *, flavor: str = "hrnet") -> list[dict[str, Any]]:
    """``data`` as an HRNet / mmpose MPII json list (pure: no disk access; see the module doc)."""
    if flavor == "mat":
        raise PoseUsageError("MPII .mat files are read only: write flavor='hrnet' (the json list) or format='coco'")
    if flavor != "hrnet":
        raise PoseUsageError(f"unknown MPII flavor {flavor!r}; flavors: {', '.join(FLAVORS)}")
    require_layout(data, NAME, "MPII")
    data = with_origin(data, ORIGIN)
    p, images = data.persons, data.images
    n = len(p)
    notes: dict[str, int] = {}
    if n == 0:
        _note_unwritten(data, notes, p.image_index)
        return []
    ours = data.format == NAME  # read by this module: raw flags and placeholders are the file's
    raw, vis = p.raw_visibility(), p.visibility
    no_value = np.isnan(raw) & (vis == 0)
    placeholder = no_value | ((vis == 0) & (not ours))
    kp_mask = p.mask("keypoints")
    xy = np.where(placeholder[..., None], -1.0, p.keypoints)
    joints = to_lists(xy, kp_mask[..., :2] & ~placeholder[..., None])
    keep = ours & (((raw == 1) & (vis > 0)) | ((raw == 0) & (vis == 0)))
    flags = to_lists(np.where(keep, raw, (vis > 0).astype(np.float64)), np.where(keep, kp_mask[..., 2], True))
    without_joints = no_value.all(axis=1)
    centers = _derived_centers(p) if not ours else None

    out = []
    for j in range(n):
        if p.crowd[j]:  # a crowd region is not a person: the list has no place for it
            notes["crowd regions not written (MPII has none)"] = (
                notes.get("crowd regions not written (MPII has none)", 0) + 1
            )
            continue
        extra = dict(p.extras[j])
        rec: dict[str, Any] = {"image": images.file_names[p.image_index[j]]}
        center = extra.pop("center", _MISSING)
        if center is _MISSING:
            objpos = extra.get("objpos")
            if isinstance(objpos, dict) and objpos.keys() == {"x", "y"} and all(map(_is_number, objpos.values())):
                center = [objpos["x"], objpos["y"]]
                del extra["objpos"]
            elif centers is not None and centers[j] is not None:
                center = centers[j][0]
                extra.setdefault("scale", centers[j][1])
                notes[NOTE_DERIVED] = notes.get(NOTE_DERIVED, 0) + 1
        if center is not _MISSING and center is not None:  # None: an empty .mat field, as if absent
            rec["center"] = center
        scale = extra.pop("scale", None)
        if scale is not None:
            rec["scale"] = scale
        if not without_joints[j]:
            rec["joints"] = joints[j]
            rec["joints_vis"] = flags[j]
        rec.update(extra)
        out.append(rec)
    _note_unwritten(data, notes, p.image_index)
    return out


NOTE_DERIVED = "persons given center and scale from their box or points (box centre, height / 200)"


def _derived_centers(p: Persons) -> list[tuple[list[float], float] | None]:
    """Per person of another format: HRNet's ``center`` and ``scale`` from the box (else the
    labeled points' extent): the box centre and its height / 200; None where there is neither."""
    boxes = p.boxes.copy()
    missing = np.isnan(boxes).any(axis=1)
    boxes[missing] = keypoint_boxes(p.keypoints[missing], p.visibility[missing])
    has = ~missing | (p.visibility > 0).any(axis=1)
    return [
        ([float(b[0] + b[2] / 2), float(b[1] + b[3] / 2)], float(b[3] / 200)) if has[j] else None
        for j, b in enumerate(boxes.tolist())
    ]


def _note_unwritten(data: PoseData, notes: dict[str, int], image_index: np.ndarray) -> None:
    """Count what an HRNet list has no place for (images without persons, image fields, ``meta``)
    with the writer's other ``notes`` in ``data.notes``."""
    empty = len(data.images) - len(np.unique(image_index))
    if empty:
        notes["images without persons not written (the json lists persons)"] = empty
    with_fields = sum(1 for e in data.images.extras if e)
    if with_fields:
        notes["images whose fields are not written (the json has no image records)"] = with_fields
    meta = [key for key, value in data.meta.items() if value is not ABSENT]
    if meta:
        notes[f"file-level fields not written ({', '.join(meta)})"] = len(meta)
    for reason, count in notes.items():
        data.notes[reason] = data.notes.get(reason, 0) + count


# ------------------------------------------------------------------------------------ .mat file


def decode_mat(raw: bytes, *, path: str | os.PathLike | None = None) -> PoseData:
    """The authors' ``.mat`` file (its bytes) as ``PoseData`` (see the module doc)."""
    r = ReadContext(path)
    try:
        variables = read_mat_values(raw, MAX_MAT_BYTES)
    except MatError as e:
        raise r.error(f"cannot read as a MATLAB v5 file: {e}", e.where) from None
    other = [name for name in variables if name != "RELEASE"]
    if other:
        raise r.error("unknown variable: the MPII annotation file holds only RELEASE", other[0] or "(unnamed)")
    if "RELEASE" not in variables:
        raise r.error("no RELEASE variable: not the MPII annotation file", "RELEASE")
    release = variables["RELEASE"]
    if not isinstance(release, MatStruct) or len(release) != 1:
        raise r.error(f"expected a struct, found {_describe(release)}", "RELEASE")
    fields = release.elements[0]
    if "annolist" not in fields:
        raise r.error("required field is missing", "RELEASE", "annolist")
    annolist = _elements(fields["annolist"], "RELEASE", "annolist", "a struct array of images", r)
    m = len(annolist)
    per_image = _release_columns(fields, m, r)
    videos = per_image.pop("video_list", None)
    used_videos: set[int] = set()

    names, image_extras = [], []
    image_of, keypoints, visibility, raw_vis, kp_ints, person_extras = [], [], [], [], [], []
    k = NUM_POINTS
    joint_names = layout().keypoints
    for i, entry in enumerate(annolist):
        where = f"RELEASE.annolist({i + 1})" if m > 1 else "RELEASE.annolist"
        names.append(_image_name(entry, where, r))
        extra: dict[str, Any] = {"annolist_index": i + 1}
        for key, column in per_image.items():
            extra[key] = column[i]
        for key, value in entry.items():
            if key in ("image", "annorect"):
                continue
            extra[key] = _whole(_plain(value)) if key == "vidx" else _plain(value)
            if key == "vidx" and videos is not None:
                vidx = extra["vidx"]
                if type(vidx) is int and 1 <= vidx <= len(videos):
                    extra["video_id"] = videos[vidx - 1]
                    used_videos.add(vidx)
                elif vidx is not None:
                    r.note(NOTE_VIDX, 1)
        image_extras.append(extra)
        rects = _elements(entry.get("annorect", _MISSING), where, "annorect", "a struct array of persons", r)
        for ri, rect in enumerate(rects):
            rwhere = f"{where}.annorect({ri + 1})" if len(rects) > 1 else f"{where}.annorect"
            kp, v, rv, ints, person = _person(rect, rwhere, joint_names, r)
            image_of.append(i)
            keypoints.append(kp)
            visibility.append(v)
            raw_vis.append(rv)
            kp_ints.append(ints)
            person_extras.append({"annorect_index": ri + 1, **person})
    if videos is not None:
        r.note(NOTE_VIDEOS, len(videos) - len(used_videos))

    images = new_images(_image_ids(names, r), names, [0] * m, [0] * m, image_extras)
    meta = {key: _plain(value) for key, value in fields.items() if key not in ("annolist", *_RELEASE_COLUMNS)}
    n = len(person_extras)
    if n == 0:
        return PoseData(images, Persons.empty(k), layout(), [], meta, NAME, r.notes, origin=ORIGIN)
    vis = np.stack(visibility)
    raw_arr = np.stack(raw_vis)
    r.note(NOTE_NO_JOINTS, int((vis == 0).all(axis=1).sum()))
    persons = _persons(image_of, np.stack(keypoints), vis, raw_arr, np.stack(kp_ints), person_extras)
    return PoseData(images, persons, layout(), [], meta, NAME, r.notes, origin=ORIGIN)


#: RELEASE fields with one entry per image (video_list: one per video, looked up through vidx)
_RELEASE_COLUMNS = ("img_train", "single_person", "act", "video_list")


def _release_columns(fields: dict[str, Any], m: int, r: ReadContext) -> dict[str, list[Any]]:
    """The per-image RELEASE fields the file has, as per-image values (and ``video_list``)."""
    out: dict[str, list[Any]] = {}
    if "img_train" in fields:
        values = _numbers(fields["img_train"])
        if values is None or len(values) != m:
            raise r.error(
                f"expected {m} numbers (one per image in annolist), found {_describe(fields['img_train'])}",
                "RELEASE",
                "img_train",
            )
        out["img_train"] = [_whole(v) for v in values]
    if "single_person" in fields:
        cells = fields["single_person"]
        if not isinstance(cells, np.ndarray) or cells.dtype != object or cells.size != m:
            raise r.error(
                f"expected a cell array of {m} index lists (one per image), found {_describe(cells)}",
                "RELEASE",
                "single_person",
            )
        column = []
        for i, cell in enumerate(cells.ravel(order="F").tolist()):
            values = _numbers(cell)
            if values is None:
                raise r.error(
                    f"expected a list of person indices, found {_describe(cell)}", f"RELEASE.single_person{{{i + 1}}}"
                )
            column.append([_whole(v) for v in values])
        out["single_person"] = column
    if "act" in fields:
        act = fields["act"]
        elements = _struct_elements(act)
        if elements is None or len(elements) != m:
            raise r.error(
                f"expected a struct array of {m} activities (one per image), found {_describe(act)}", "RELEASE", "act"
            )
        out["act"] = [
            {key: _whole(_plain(v)) if key == "act_id" else _plain(v) for key, v in e.items()} for e in elements
        ]
    if "video_list" in fields:
        cells = fields["video_list"]
        if _is_empty(cells):
            cells = np.empty(0, dtype=object)
        if not isinstance(cells, np.ndarray) or cells.dtype != object:
            raise r.error(f"expected a cell array of video ids, found {_describe(cells)}", "RELEASE", "video_list")
        videos = cells.ravel(order="F").tolist()
        for i, v in enumerate(videos):
            if not isinstance(v, str):
                raise r.error(f"expected a video id (text), found {_describe(v)}", f"RELEASE.video_list{{{i + 1}}}")
        out["video_list"] = videos
    return out


def _image_name(entry: dict[str, Any], where: str, r: ReadContext) -> str:
    image = entry.get("image", _MISSING)
    if image is _MISSING:
        raise r.error("required field is missing", where, "image")
    if not isinstance(image, MatStruct) or len(image) != 1 or "name" not in image.fields:
        raise r.error(f"expected a struct with the field 'name', found {_describe(image)}", where, "image")
    name = image.elements[0]["name"]
    if not isinstance(name, str) or not name:
        raise r.error(f"expected the image file name, found {_describe(name)}", f"{where}.image", "name")
    return name


def _person(
    rect: dict[str, Any], where: str, joint_names: tuple[str, ...], r: ReadContext
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """One ``annorect`` entry: keypoints (16, 2), visibility, raw visibility, int mask (16, 3), extras."""
    k = NUM_POINTS
    kp = np.zeros((k, 2))
    vis = np.zeros(k, np.int8)
    raw = np.full(k, np.nan)
    ints = np.ones((k, 3), bool)  # flags are whole numbers (NaN, "no value", stays a float anyway)
    extras = {key: _rect_field(key, value, where, r) for key, value in rect.items() if key != "annopoints"}
    odd: dict[str, Any] = {}
    annopoints = _elements(rect.get("annopoints", _MISSING), where, "annopoints", "a struct with the field 'point'", r)
    if len(annopoints) > 1:
        raise r.error(f"expected one struct, found a struct array of {len(annopoints)}", where, "annopoints")
    points: list[dict[str, Any]] = []
    if annopoints:
        holder = annopoints[0]
        r.note(NOTE_ANNOPOINTS_FIELDS, sum(1 for key in holder if key != "point"))
        points = _elements(holder.get("point", _MISSING), f"{where}.annopoints", "point", "a struct array of joints", r)
    seen: set[int] = set()
    for j, point in enumerate(points):
        pwhere = f"{where}.annopoints.point({j + 1})" if len(points) > 1 else f"{where}.annopoints.point"
        r.note(NOTE_POINT_FIELDS, sum(1 for key in point if key not in ("x", "y", "id", "is_visible")))
        joint = _whole(_scalar(point.get("id", _MISSING), pwhere, "id", r))
        if type(joint) is not int or not 0 <= joint < k:
            raise r.error(f"expected a joint id 0..{k - 1}, found {_describe(point.get('id', _MISSING))}", pwhere, "id")
        if joint in seen:
            raise r.error(f"joint id {joint} appears twice in this person", pwhere, "id")
        seen.add(joint)
        x, y = (_finite(_scalar(point.get(key, _MISSING), pwhere, key, r), pwhere, key, r) for key in ("x", "y"))
        if x is None or y is None:  # a joint that was not labeled has no point at all
            raise r.error("expected the joint's coordinate, found nothing", pwhere, "x" if x is None else "y")
        kp[joint] = x, y
        ints[joint, :2] = type(x) is int, type(y) is int
        flag, odd_value = _is_visible(point, pwhere, r)
        if odd_value is not _MISSING:
            odd[joint_names[joint]] = odd_value
        vis[joint] = {1: 2, 0: 1}.get(flag, 2)
        raw[joint] = 2.0 if flag is None else float(flag)
    if odd:
        extras["is_visible_raw"] = odd
    return kp, vis, raw, ints, extras


def _rect_field(key: str, value: Any, where: str, r: ReadContext) -> Any:
    """A rectangle field as a person extra: the documented numbers checked (finite, or empty ->
    None; ``objpos`` as ``{"x", "y"}``), any other field verbatim."""
    if key in ("x1", "y1", "x2", "y2", "scale"):
        return _finite(_scalar(value, where, key, r), where, key, r)
    if key != "objpos" or _is_empty(value):
        return _plain(value)
    if not isinstance(value, MatStruct) or len(value) != 1 or set(value.fields) != {"x", "y"}:
        raise r.error(f"expected a struct with the fields x and y, found {_describe(value)}", where, key)
    xy = value.elements[0]
    return {f: _finite(_scalar(xy[f], f"{where}.objpos", f, r), f"{where}.objpos", f, r) for f in value.fields}


def _finite(value: float | int | None, where: str, field: str, r: ReadContext) -> float | int | None:
    if value is not None and not math.isfinite(value):
        raise r.error(f"expected a finite number, found {value!r}", where, field)
    return value


def _is_visible(point: dict[str, Any], where: str, r: ReadContext) -> tuple[int | None, Any]:
    """(0 / 1, or None for "not stated", and the raw value where it is not a plain number)."""
    if "is_visible" not in point:
        r.note(NOTE_VIS_MISSING, 1)
        return None, None
    value = point["is_visible"]
    if _is_number(value) and value in (0, 1):
        return int(value), _MISSING
    if isinstance(value, str) and value in ("0", "1"):
        r.note(NOTE_VIS_TEXT, 1)
        return int(value), value
    if _is_empty(value):
        r.note(NOTE_VIS_MISSING, 1)
        return None, "" if isinstance(value, str) else []
    raise r.error(
        f"expected 0 or 1 (a number or the text '0'/'1') or nothing, found {_describe(value)}", where, "is_visible"
    )


# ------------------------------------------------------------------------- MATLAB values, checked


def _elements(value: Any, where: str, field: str, what: str, r: ReadContext) -> list[dict[str, Any]]:
    """The elements of a struct array field; none for a missing or empty field."""
    if value is _MISSING or _is_empty(value):
        return []
    elements = _struct_elements(value)
    if elements is None:
        raise r.error(f"expected {what}, found {_describe(value)}", where, field)
    return elements


def _struct_elements(value: Any) -> list[dict[str, Any]] | None:
    """The elements of a struct array, or of a cell array of single structs (what
    ``scipy.io.savemat`` writes for a Python list of dicts, e.g. MPII-style files made in Python:
    the same elements, in column-major order); None for anything else."""
    if isinstance(value, MatStruct):
        return value.elements
    if isinstance(value, np.ndarray) and value.dtype == object and value.size:
        cells = value.ravel(order="F").tolist()
        if all(isinstance(c, MatStruct) and len(c) == 1 for c in cells):
            return [c.elements[0] for c in cells]
    return None


def _scalar(value: Any, where: str, field: str, r: ReadContext) -> float | int | None:
    """A 1 x 1 number; None for a missing or empty field."""
    if value is _MISSING or _is_empty(value):
        return None
    if _is_number(value):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size == 1:
        return value.item()
    raise r.error(f"expected a number, found {_describe(value)}", where, field)


def _numbers(value: Any) -> list[Any] | None:
    """The numbers of a numeric array (column-major), [] for an empty value; None if not numeric."""
    if _is_number(value):
        return [value]
    if _is_empty(value):
        return []
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value.ravel(order="F").tolist()
    return None


def _is_empty(value: Any) -> bool:
    """``[]``, ``''``, ``{}`` or a struct array of no elements: MATLAB's "nothing"."""
    if isinstance(value, (str, MatStruct)):
        return len(value) == 0
    return isinstance(value, np.ndarray) and value.size == 0


def _whole(value: Any) -> Any:
    """A float that is a whole number as an int (indices and flags stored as MATLAB doubles)."""
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _plain(value: Any) -> Any:
    """A MATLAB value as JSON-like Python: a struct as a dict (a struct array as a list of them),
    a cell array as a list, chars as text, numbers as numbers or (nested) lists, empty as None."""
    if isinstance(value, MatStruct):
        items = [{key: _plain(v) for key, v in e.items()} for e in value.elements]
        return items[0] if len(items) == 1 else items
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [_plain(v) for v in value.ravel(order="F").tolist()]
        if value.dtype.kind == "U":  # rows of a char matrix
            return ["".join(row) for row in value.reshape(value.shape[0], -1, order="F").tolist()]
        if value.size == 0:
            return None
        return value.item() if value.size == 1 else value.squeeze().tolist()
    return value


def _describe(value: Any) -> str:
    """A short description of a MATLAB value for an error message."""
    if isinstance(value, MatStruct):
        return (
            f"a struct array of {len(value)}"
            if len(value) != 1
            else f"a struct with fields {', '.join(value.fields) or '(none)'}"
        )
    if isinstance(value, str):
        return f"the text {value!r:.40}"
    if isinstance(value, np.ndarray):
        size = "x".join(map(str, value.shape))
        kind = {"O": "cell array", "U": "char array"}.get(value.dtype.kind, f"{value.dtype} array")
        return f"a {size} {kind}"
    if value is _MISSING:
        return "nothing"
    return f"{value!r:.40}"
