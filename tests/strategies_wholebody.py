"""Hypothesis strategies for COCO-WholeBody (133 points) and Halpe (136 points) documents.

Built from the COCO strategies' pieces; every case these files have: ints and floats mixed within
one list, hand/face visibility scores in (0, 1), invalid parts as all-zero lists and boxes, v=0
points with real coordinates (Halpe), empty category lists (Halpe), missing optional keys, extra
keys with awkward names, images without persons, a file without ``annotations``.
"""

from __future__ import annotations

import random

from helpers import COCO_NAMES, COCO_SKELETON
from hypothesis import strategies as st
from strategies import ANN_KEYS, IMAGE_KEYS, coords, extras_for, numbers, segmentation, visibility

WB_PARTS = (
    ("foot_kpts", 6, "foot"),
    ("face_kpts", 68, "face"),
    ("lefthand_kpts", 21, "lefthand"),
    ("righthand_kpts", 21, "righthand"),
)
WB_BOXES = ("face_box", "lefthand_box", "righthand_box")
WB_FLAGS = ("face_valid", "lefthand_valid", "righthand_valid", "foot_valid")
WB_KEYS = {key for key, _, _ in WB_PARTS} | set(WB_BOXES) | set(WB_FLAGS)

part_visibility = st.one_of(
    st.sampled_from([0, 1, 2, 0.0, 1.0, 2.0, 3, -1]),
    st.floats(0.0, 1.0, exclude_min=True, exclude_max=True),
)
zero = st.sampled_from([0, 0.0])
part_box = st.one_of(st.lists(zero, min_size=4, max_size=4), st.lists(coords, min_size=4, max_size=4))


@st.composite
def _triplets(draw, k: int, vis, keep_v0_coords: bool = True) -> list:
    """``k`` flat x, y, v triplets: all zeros now and then (an invalid part), else mixed."""
    if draw(st.integers(0, 3)) == 0:
        z = draw(zero)
        return [z] * (3 * k)
    # a drawn pool of values spread over the points by a drawn random generator: every number
    # type and visibility case, without hundreds of draws per person (which would be slow)
    xs = draw(st.lists(coords, min_size=1, max_size=6))
    vs = draw(st.lists(vis, min_size=1, max_size=5))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    out: list = []
    for _ in range(k):
        v = rnd.choice(vs)
        if v == 0 and (not keep_v0_coords or rnd.random() < 0.5):
            out += [rnd.choice((0, 0.0)), rnd.choice((0, 0.0)), v]
        else:
            out += [rnd.choice(xs), rnd.choice(xs), v]
    return out


@st.composite
def _images(draw, max_images: int, halpe: bool):
    n_images = draw(st.integers(0, max_images))
    ids = draw(st.lists(st.integers(1, 2**40), min_size=n_images, max_size=n_images, unique=True))
    images = []
    for iid in ids:
        # Halpe train images carry HICO-DET's source prefix; val images are COCO val2017 names
        name = (
            draw(st.sampled_from([f"HICO_train2015_{iid % 10**8:08d}.jpg", f"{iid:012d}.jpg"]))
            if halpe
            else f"{iid:012d}.jpg"
        )
        rec = {"id": iid, "file_name": name, "width": draw(st.integers(1, 4000)), "height": draw(st.integers(1, 4000))}
        rec.update(draw(extras_for(IMAGE_KEYS)))
        images.append(rec)
    return images


def _optional(draw, rec: dict, values: dict) -> None:
    for key, value in values.items():
        if draw(st.integers(0, 9)):  # each optional key is absent now and then
            rec[key] = value


@st.composite
def wholebody_documents(draw, max_images: int = 4, max_persons: int = 6):
    """A valid COCO-WholeBody document (17 body points + the part arrays, boxes and flags)."""
    images = draw(_images(max_images, halpe=False))
    annotations = []
    if images:
        n = draw(st.integers(0, max_persons))
        for aid in draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n, unique=True)):
            im = draw(st.sampled_from(images))
            crowd = draw(st.sampled_from([0, 0, 0, 1]))
            body = [0] * 51 if crowd else draw(_triplets(17, visibility()))
            rec = {"id": aid, "image_id": im["id"], "category_id": 1, "keypoints": body}
            _optional(draw, rec, {
                "iscrowd": crowd,
                "num_keypoints": sum(1 for v in body[2::3] if v > 0),
                "bbox": [draw(coords) for _ in range(4)],
                "area": draw(numbers),
                "segmentation": draw(segmentation(im["width"], im["height"])),
            })  # fmt: skip
            for key, k, _ in WB_PARTS:
                rec[key] = draw(_triplets(k, visibility() if key == "foot_kpts" else part_visibility))
            boxes = {key: draw(part_box) for key in WB_BOXES}
            _optional(draw, rec, boxes)
            _optional(draw, rec, {flag: draw(st.booleans()) for flag in WB_FLAGS})
            rec.update(draw(extras_for(ANN_KEYS | WB_KEYS)))
            annotations.append(rec)
    doc: dict = {}
    if draw(st.booleans()):
        doc["info"] = {"description": draw(st.text(max_size=10)), "year": 2020}
    if draw(st.booleans()):
        doc["licenses"] = []
    doc["images"] = images
    doc["annotations"] = annotations
    doc["categories"] = [{"id": 1, "name": "person", "supercategory": "person",
                          "keypoints": list(COCO_NAMES), "skeleton": [list(e) for e in COCO_SKELETON]}]  # fmt: skip
    return doc


@st.composite
def halpe_documents(draw, max_images: int = 4, max_persons: int = 6):
    """A valid Halpe document (136-point ``keypoints``, empty category lists, no segmentation)."""
    images = draw(_images(max_images, halpe=True))
    annotations = []
    if images:
        n = draw(st.integers(0, max_persons))
        for aid in draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n, unique=True)):
            im = draw(st.sampled_from(images))
            crowd = draw(st.sampled_from([0, 0, 0, 0, 1]))
            kps = [0] * 408 if crowd else draw(_triplets(136, visibility()))
            rec = {"id": aid, "image_id": im["id"], "category_id": 1, "keypoints": kps}
            _optional(draw, rec, {
                "iscrowd": crowd,
                "num_keypoints": sum(1 for v in kps[2:51:3] if v > 0),
                "bbox": [draw(coords) for _ in range(4)],
                "area": draw(numbers),
            })  # fmt: skip
            if draw(st.integers(0, 4)) == 0:
                rec["segmentation"] = draw(segmentation(im["width"], im["height"]))
            rec.update(draw(extras_for(ANN_KEYS)))
            annotations.append(rec)
    doc: dict = {}
    if draw(st.booleans()):
        doc["info"] = {"description": draw(st.text(max_size=10)), "year": 2020}
    doc["images"] = images
    if annotations or draw(st.integers(0, 4)):
        doc["annotations"] = annotations  # else a test-set style image list
    doc["categories"] = [{"supercategory": "person", "id": 1, "name": "person", "keypoints": [], "skeleton": []}]
    return doc
