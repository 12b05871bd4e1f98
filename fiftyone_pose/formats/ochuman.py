"""OCHuman: the native ``ochuman.json`` and the COCO-style val/test files of the OCHumanApi converter.

Native: ``{"keypoint_names": [19 names], "keypoint_visible": {legend}, "images": [{image_id,
file_name, width, height, annotations: [{bbox [x1, y1, x2, y2], keypoints (57 numbers) or null,
segms (outer/inner polygons) or null, max_iou}]}]}``. In ``PoseData``:

- persons have the 17 COCO points (the ``ochuman`` layout), taken from the native points **by name**
  (``keypoint_names``, never by position); the other native points (``head``, ``neck``) stay in the
  person's ``extra_keypoints`` ``{name: [x, y, flag]}``; a person without keypoints (``null``) has
  17 unlabeled points and ``extra_keypoints: null``;
- visibility as the authors' converter maps it: 0 missing -> 0, 1 visible -> 2, 2 self-occluded ->
  2, 3 occluded by others -> 1; the native flag is kept (``visibility_raw``), coordinates too;
- ``max_iou`` (the occlusion level; ``fiftyone_pose.fo.views.occlusion`` filters by it), ``segms``
  and any other key are kept verbatim in the person's extras (there is no COCO mask: a COCO export
  has no ``segmentation``, and carries ``segms``);
- the box is ``[x1, y1, x2 - x1, y2 - y1]`` (corners that cannot be computed back exactly are kept
  in ``bbox_corners``); no area (a COCO export writes the box area, as the authors' converter
  does), no crowd flag;
- images get ids 1..M and keep ``image_id`` as ``source_image_id``; ``keypoint_names``,
  ``keypoint_visible`` and other top-level keys are kept (a COCO export carries them as extra
  top-level keys, which pycocotools ignores).

COCO-style (``ochuman_coco_format_{val,test}_range_*.json``): read with ``coco.decode`` and the
``ochuman`` layout; written back identical (no ``info``/``licenses`` when the file has none).
There is no ``max_iou`` in these files.

``write`` writes the flavor the data was read from (native when the data has no COCO categories),
or ``flavor="native"`` / ``"coco"``. Writing native from COCO-style data gives each person a
``max_iou`` computed from the boxes (noted) and ``segms: null``.

Known limit: a visible point (flag 1) moved in FiftyOne is written back as flag 2 (self-occluded),
since both are COCO 2.
"""

from __future__ import annotations

import dataclasses
import os
from itertools import chain
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.model import ABSENT, Persons, PoseData
from ..core.numbers import to_lists
from ..core.stream import PoseStream
from .cocolike import CocoLike, coco_structure, load_document, native_or_coco, whole
from .context import ReadContext
from .jsonio import dump_json
from .native import (
    box_persons,
    corners_from_lists,
    group_by_image,
    is_size,
    native_flags,
    new_images,
    person_corners,
    triplet_lists,
)
from .protocol import Confidence, OptionSpec, Peek

FLAVORS = {
    "native": "ochuman.json: images with per-person bbox (x1,y1,x2,y2), 19 named keypoints (flags 0 missing / "
    "1 visible / 2 self-occluded / 3 occluded by others) or null, segms or null, max_iou",
    "coco": "ochuman_coco_format_{val,test}_range_*.json: COCO-style, 17 points, compressed RLE masks, box areas",
}
#: the native order the OCHumanApi drawing code assumes; used to check ``keypoint_names`` and to
#: write native files from data that has none, never to read by position
API_ORDER = (
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "head", "neck", "right_ear", "left_ear", "nose", "right_eye", "left_eye",
)  # fmt: skip
LEGEND = {"missing": 0, "vis": 1, "self_occluded": 2, "others_occluded": 3}
#: native flag -> COCO visibility (the authors' converter)
VISIBILITY = {0: 0, 1: 2, 2: 2, 3: 1}
_TO_NATIVE = {0: 0, 1: 3, 2: 1}
NOTE_FLAGS = "visibility flags other than 0/1/2/3 (read as 0 if <= 0, else labeled; raw value kept)"
NOTE_ORDER = "keypoint_names in another order than the OCHumanApi drawing code assumes (read by name)"
NOTE_CROWD = "crowd regions not written (OCHuman's native file has none)"
NOTE_MAX_IOU = "max_iou computed from the boxes (not in the source)"
_OWN_PERSON_KEYS = ("extra_keypoints", "bbox_corners")
_IMAGE_KEYS = ("image_id", "file_name", "width", "height", "annotations")


class OchumanCoco(CocoLike):
    def detect(self, peek: Peek) -> Confidence:
        """A COCO file named ``ochuman*`` (its content is plain COCO's)."""
        return Confidence.LIKELY if coco_structure(peek) and "ochuman" in peek.name.lower() else Confidence.NO

    def write_header(self, header: PoseData) -> PoseData:
        """Native data: the COCO-style files hold only images, annotations and categories."""
        header = super().write_header(header)
        if not header.categories and header.meta.get("categories") is not ABSENT:
            meta = {k: v for k, v in header.meta.items() if k not in ("keypoint_names", "keypoint_visible")}
            header = dataclasses.replace(header, meta=meta)
        return header


#: the COCO-style flavor, on the COCO-like base
COCO = OchumanCoco(name="ochuman", title="OCHuman", flavors=FLAVORS, layout="ochuman")
NAME, ORIGIN = COCO.name, COCO.origin
READ_OPTIONS = ()
WRITE_OPTIONS = (OptionSpec("flavor", "native or coco (default: the flavor read)", tuple(FLAVORS)),)
STREAMING = "coco flavor streams; native is read and written whole (persons nested in their images)"


def layout() -> skeletons.Skeleton:
    return skeletons.load(NAME)


def detect(peek: Peek) -> Confidence:
    """Native: an object with ``keypoint_names``/``keypoint_visible`` (or persons with ``max_iou``
    and ``segms``); COCO-style: a COCO file named ``ochuman*``."""
    text = peek.text
    if not text.lstrip().startswith(b"{"):
        return Confidence.NO
    if b'"keypoint_visible"' in text or b'"keypoint_names"' in text or b'"max_iou"' in text and b'"segms"' in text:
        return Confidence.CERTAIN
    return COCO.detect(peek)


def read(path: str | os.PathLike) -> PoseData:
    """Read either flavor."""
    return read_stream(path).collect()


def read_stream(path: str | os.PathLike) -> PoseStream:
    """Either flavor as a stream (the native file comes as one chunk)."""
    doc = load_document(path)
    if isinstance(doc, dict) and "annotations" not in doc:  # native, or a COCO image list
        doc = whole(doc)
        if _is_native(doc):
            return PoseStream.of(_decode_native(doc, path))
    return COCO.decode_stream(doc, path=path)


def write(data: PoseData, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """Write ``data`` (17-point layout) as OCHuman, in ``flavor`` (default: the source's), atomically."""
    write_stream(PoseStream.of(data), path, flavor=flavor)


def write_stream(stream: PoseStream, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """The coco flavor as the persons come; native: collected, then written whole."""
    COCO.write_flavor(stream, path, flavor, lambda data, p: dump_json(_encode_native(data), p))


#: the flavor data was read from: native data has no COCO categories
flavor_of = native_or_coco


# --------------------------------------------------------------------------------------- reading


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """A parsed OCHuman document (either flavor) as ``PoseData`` (pure: no disk access)."""
    if isinstance(doc, dict) and _is_native(doc):
        return _decode_native(doc, path)
    return COCO.decode(doc, path=path)


def _is_native(doc: dict) -> bool:
    """Native files nest the persons in the images; COCO-style ones (also a COCO export of native
    data, which carries ``keypoint_names``) have top-level ``annotations``."""
    if "annotations" in doc:
        return False
    images = doc.get("images")
    first = images[0] if isinstance(images, list) and images else None
    if isinstance(first, dict):
        return "annotations" in first or "id" not in first
    return "keypoint_names" in doc or "keypoint_visible" in doc


def _decode_native(doc: dict, path: str | os.PathLike | None) -> PoseData:
    r = ReadContext(path)
    sk = layout()
    k = sk.num_keypoints
    names = doc.get("keypoint_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(x, str) for x in names)):
        raise r.error(f"expected a list of names, found {names!r:.60}", "top level", "keypoint_names")
    legend = doc.get("keypoint_visible", LEGEND)
    if legend != LEGEND:
        raise r.error(f"expected the legend {LEGEND}, found {legend!r:.80}", "top level", "keypoint_visible")
    images_raw = doc.get("images")
    if not isinstance(images_raw, list):
        raise r.error("required key is missing" if "images" not in doc else "expected a list", "top level", "images")

    ids, file_names, widths, heights, extras = [], [], [], [], []
    image_of, boxes, box_records, kps, kp_records, person_extras = [], [], [], [], [], []
    for i, rec in enumerate(images_raw):
        if not isinstance(rec, dict):
            raise r.error(f"expected an object, found {type(rec).__name__}", f"images[{i}]")
        if "image_id" not in rec:
            raise r.error("required key is missing", f"images[{i}]", "image_id")
        record = f"images[{i}] (image_id {rec['image_id']!r:.40})"
        name = rec.get("file_name")
        if not isinstance(name, str):
            raise r.error(f"expected a string, found {name!r:.60}", record, "file_name")
        extra = {"source_image_id": rec["image_id"]}
        for key in ("width", "height"):
            v = rec.get(key)
            if v is not None and not is_size(v):
                raise r.error(f"expected a non-negative whole number, found {v!r}", record, key)
            if v is None or type(v) is not int or v == 0:
                extra[key] = v  # absent/null, 0 or 640.0: written back as the file has it
                if v is None and key not in rec:
                    del extra[key]
        anns = rec.get("annotations")
        if not isinstance(anns, list):
            raise r.error(
                "required key is missing" if "annotations" not in rec else f"expected a list, found {anns!r:.60}",
                record,
                "annotations",
            )
        for j, ann in enumerate(anns):
            if not isinstance(ann, dict):
                raise r.error(f"expected an object, found {type(ann).__name__}", record, f"annotations[{j}]")
            where = f"{record[:-1]}, annotations[{j}])"  # e.g. images[3] (image_id '000042', annotations[1])
            if "bbox" not in ann:
                raise r.error("required key is missing", where, "bbox")
            if "keypoints" not in ann:  # (null is the file's way to say "no keypoints")
                raise r.error("required key is missing", where, "keypoints")
            image_of.append(i)
            boxes.append(ann["bbox"])
            box_records.append((where, "bbox"))
            kps.append(ann.get("keypoints"))
            kp_records.append((where, "keypoints"))
            person_extras.append({key: v for key, v in ann.items() if key not in ("bbox", "keypoints")})
        ids.append(i + 1)
        file_names.append(name)
        widths.append(int(rec["width"]) if is_size(rec.get("width")) else 0)
        heights.append(int(rec["height"]) if is_size(rec.get("height")) else 0)
        extra.update((key, v) for key, v in rec.items() if key not in _IMAGE_KEYS)
        extras.append(extra)
    images = new_images(ids, file_names, widths, heights, extras)
    meta = {key: v for key, v in doc.items() if key != "images"}
    for key in ("keypoint_names", "keypoint_visible"):
        if key not in doc:  # written back without it
            meta[key] = ABSENT

    n = len(image_of)
    if n == 0:
        return PoseData(images, Persons.empty(k), sk, [], meta, NAME, r.notes)
    with_kp = [j for j, v in enumerate(kps) if v is not None]
    if with_kp and names is None:
        raise r.error("required to read the keypoints by name, but missing", "top level", "keypoint_names")
    names = names or []
    if len(set(names)) != len(names):
        raise r.error("lists a name twice", "top level", "keypoint_names")
    missing = [x for x in sk.keypoints if x not in names]
    if with_kp and missing:
        raise r.error(f"has no point named {', '.join(missing)}", "top level", "keypoint_names")
    if names and tuple(names) != API_ORDER:
        r.note(NOTE_ORDER, 1)
    kn = len(names)
    for j in with_kp:
        v = kps[j]
        if not isinstance(v, list) or len(v) != 3 * kn:
            found = f"{len(v)} values" if isinstance(v, list) else f"{v!r:.40}"
            raise r.error(f"expected null or {3 * kn} numbers (3 x {kn} keypoint_names), found {found}", *kp_records[j])

    keypoints = np.zeros((n, k, 2))
    raw = np.zeros((n, k))
    kp_mask = np.ones((n, k, 3), bool)
    if with_kp:
        arr, mask = r.numbers(
            list(chain.from_iterable(kps[j] for j in with_kp)), [kp_records[j] for j in with_kp].__getitem__, 3 * kn
        )
        arr = arr.reshape(len(with_kp), kn, 3)
        mask = mask.reshape(arr.shape)
        take = [names.index(x) for x in sk.keypoints]
        keypoints[with_kp] = arr[:, take, :2]
        raw[with_kp] = arr[:, take, 2]
        kp_mask[with_kp] = mask[:, take]
        others = [(c, x) for c, x in enumerate(names) if x not in sk.keypoints]
        rows = to_lists(arr, mask)
        for row, j in enumerate(with_kp):
            person_extras[j] = {"extra_keypoints": {x: rows[row][c] for c, x in others}, **person_extras[j]}
    for j, v in enumerate(kps):
        if v is None:
            person_extras[j] = {"extra_keypoints": None, **person_extras[j]}
    visibility = np.select([raw <= 0, raw == 3, raw == 1, raw == 2], [0, 1, 2, 2], 2).astype(np.int8)
    r.note(NOTE_FLAGS, int((~np.isin(raw[with_kp], (0, 1, 2, 3))).sum()))
    xywh, box_mask, exact = corners_from_lists(boxes, r, box_records)
    for j in np.flatnonzero(~exact).tolist():
        person_extras[j]["bbox_corners"] = boxes[j]
    persons = box_persons(image_of, keypoints, visibility, raw, kp_mask, xywh, box_mask, person_extras)
    return PoseData(images, persons, sk, [], meta, NAME, r.notes)


def _read_map(raw: np.ndarray) -> np.ndarray:
    return np.select([raw <= 0, raw == 3, raw == 1, raw == 2], [0, 1, 2, 2], 2)


# --------------------------------------------------------------------------------------- writing


def encode(data: PoseData, *, flavor: str | None = None) -> dict[str, Any]:
    """``data`` as an OCHuman document (pure: no disk access)."""
    return COCO.encode(data) if COCO.flavor(data, flavor) == "coco" else _encode_native(data)


def _encode_native(data: PoseData) -> dict[str, Any]:
    p = data.persons
    images = data.images
    sk = layout()
    names = data.meta.get("keypoint_names")
    if not (isinstance(names, list) and all(x in names for x in sk.keypoints)):
        names = list(API_ORDER)
    native_source = flavor_of(data) == "native"
    flags, flag_mask = native_flags(p, _read_map, _TO_NATIVE, native_source=native_source)
    ours = triplet_lists(p, flags, flag_mask)
    corners = person_corners(p)
    index = {x: c for c, x in enumerate(sk.keypoints)}
    max_iou = _box_max_iou(data) if not native_source else []
    computed = 0
    people: list[dict[str, Any]] = []
    for j in range(len(p)):
        extra = p.extras[j]
        extra_kp = extra.get("extra_keypoints")
        labeled = bool((p.visibility[j] > 0).any())
        if extra_kp is None and "extra_keypoints" in extra and not labeled and not p.keypoints[j].any():
            keypoints = None
        else:
            mine = ours[j]
            other = extra_kp if isinstance(extra_kp, dict) else {}
            keypoints = []
            for x in names:
                if x in index:
                    keypoints += mine[3 * index[x] : 3 * index[x] + 3]
                else:
                    v = other.get(x)
                    keypoints += v if isinstance(v, list) and len(v) == 3 else [0, 0, 0]
        person: dict[str, Any] = {"bbox": corners[j], "keypoints": keypoints}
        person.update((key, v) for key, v in extra.items() if key not in _OWN_PERSON_KEYS)
        if not native_source:  # converting: the native structure has both (a native person may lack them)
            if "segms" not in person:
                person["segms"] = None
            if "max_iou" not in person:
                person["max_iou"] = max_iou[j]
                computed += 1
        people.append(person)
    if computed:
        data.notes[NOTE_MAX_IOU] = data.notes.get(NOTE_MAX_IOU, 0) + computed
    if p.crowd.any():
        data.notes[NOTE_CROWD] = data.notes.get(NOTE_CROWD, 0) + int(p.crowd.sum())

    out_images = []
    for i, rows in enumerate(group_by_image(p, len(images))):
        extra = dict(images.extras[i])
        iid = extra.pop("source_image_id", PurePosixPath(images.file_names[i]).stem)
        rec: dict[str, Any] = {"image_id": iid, "file_name": images.file_names[i]}
        for key, size in (("width", int(images.widths[i])), ("height", int(images.heights[i]))):
            if key in extra:
                rec[key] = extra.pop(key)
            elif size:
                rec[key] = size
        rec.update(extra)
        rec["annotations"] = [people[j] for j in rows.tolist() if not p.crowd[j]]
        out_images.append(rec)
    doc: dict[str, Any] = {"keypoint_names": names, "keypoint_visible": dict(LEGEND)}
    converting = flavor_of(data) != "native"  # COCO's own top-level keys have no place in ochuman.json
    doc.update(
        (key, v) for key, v in data.meta.items() if not (converting and key in ("info", "licenses", "categories"))
    )
    if doc["keypoint_names"] is ABSENT and any(v is not None for v in (q["keypoints"] for q in people)):
        doc["keypoint_names"] = names  # the file had none, but now there are keypoints to name
    doc = {key: v for key, v in doc.items() if v is not ABSENT}
    doc["images"] = out_images
    return doc


def _box_max_iou(data: PoseData) -> list[float]:
    """Per person, the largest box IoU with another person of its image (0.0 when alone)."""
    p = data.persons
    out = np.zeros(len(p))
    boxes = np.nan_to_num(p.boxes)
    for rows in group_by_image(p, len(data.images)):
        if len(rows) < 2:
            continue
        b = boxes[rows]
        x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
        iw = np.clip(np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]), 0, None)
        ih = np.clip(np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]), 0, None)
        inter = iw * ih
        union = (b[:, 2] * b[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        np.fill_diagonal(iou, 0.0)
        out[rows] = iou.max(axis=1)
    return out.tolist()
