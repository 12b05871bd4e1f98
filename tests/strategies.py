"""Hypothesis strategies for COCO keypoint documents with every case the format allows."""

from __future__ import annotations

from helpers import COCO_NAMES, COCO_SKELETON
from hypothesis import strategies as st

MAX_INT = 2**53
ints = st.integers(-MAX_INT, MAX_INT)
floats = st.floats(allow_nan=False, allow_infinity=False)
coords = st.one_of(st.integers(-5000, 5000), st.floats(-5000, 5000, allow_nan=False), floats)
numbers = st.one_of(ints, floats)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), floats, st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)
# extra keys: plain names, names FiftyOne reserves, and names no database field can take
extra_keys = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    st.sampled_from(["tags", "label", "points", "id", "extra", "metadata", "filepath", "confidence", "index"]),
    st.sampled_from(["a.b", "with space", "0lead", "é"]),
)


def extras_for(reserved: set[str]):
    return st.dictionaries(extra_keys.filter(lambda k: k not in reserved), json_values, max_size=3)


@st.composite
def visibility(draw):
    return draw(st.one_of(st.sampled_from([0, 1, 2]), st.sampled_from([0.0, 1.0, 2.0, 0.27, 3, -1])))


@st.composite
def segmentation(draw, width: int, height: int):
    kind = draw(st.sampled_from(["polygons", "rle", "rle_str", "empty"]))
    if kind == "polygons":
        return draw(st.lists(st.lists(coords, min_size=6, max_size=10), min_size=1, max_size=2))
    if kind == "rle":
        total = width * height
        cut = draw(st.integers(0, total))
        return {"size": [height, width], "counts": [cut, total - cut]}
    if kind == "rle_str":
        return {"size": [height, width], "counts": draw(st.text("0123456789:;<=>?@ABC", min_size=1, max_size=12))}
    return []


IMAGE_KEYS = {"id", "file_name", "width", "height"}
ANN_KEYS = {"id", "image_id", "category_id", "keypoints", "num_keypoints", "bbox", "area", "iscrowd", "segmentation"}


@st.composite
def coco_documents(draw, max_images: int = 5, max_persons: int = 8):
    """A valid COCO keypoint document: 17 COCO points or a custom layout."""
    custom = draw(st.booleans())
    if custom:
        k = draw(st.integers(1, 5))
        names = [f"joint_{i}" for i in range(k)]
        edges = draw(st.lists(st.tuples(st.integers(1, k), st.integers(1, k)).map(list), max_size=4))
    else:
        k, names, edges = 17, list(COCO_NAMES), [list(e) for e in COCO_SKELETON]

    n_images = draw(st.integers(0, max_images))
    image_ids = draw(st.lists(st.integers(1, 2**40), min_size=n_images, max_size=n_images, unique=True))
    images = []
    for iid in image_ids:
        w, h = draw(st.integers(1, 4000)), draw(st.integers(1, 4000))
        folder = draw(st.sampled_from(["", "sub/", "a/b/"]))
        rec = {"id": iid, "file_name": f"{folder}{iid:012d}.jpg"}
        rec["width"] = draw(st.sampled_from([w, float(w)]))
        rec["height"] = h
        rec.update(draw(extras_for(IMAGE_KEYS)))
        images.append(rec)

    annotations = []
    if images:
        n = draw(st.integers(0, max_persons))
        ann_ids = draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n, unique=True))
        for aid in ann_ids:
            im = draw(st.sampled_from(images))
            crowd = draw(st.sampled_from([0, 0, 0, 1]))
            kps = []
            for _ in range(k):
                v = 0 if crowd else draw(visibility())
                if v == 0 and draw(st.booleans()):
                    kps += [0, 0, v]
                else:
                    kps += [draw(coords), draw(coords), v]
            rec = {"id": aid, "image_id": im["id"], "category_id": 1, "keypoints": kps}
            optional = {
                "iscrowd": crowd,
                "num_keypoints": sum(1 for v in kps[2::3] if v > 0),
                "bbox": [draw(coords) for _ in range(4)],
                "area": draw(numbers),
                "segmentation": draw(segmentation(int(im["width"]), im["height"])),
            }
            for key, value in optional.items():
                if draw(st.integers(0, 9)):  # each optional key is absent now and then
                    rec[key] = value
            rec.update(draw(extras_for(ANN_KEYS)))
            annotations.append(rec)

    doc = {}
    if draw(st.booleans()):
        doc["info"] = {"description": draw(st.text(max_size=10)), "year": 2017}
    if draw(st.booleans()):
        doc["licenses"] = []
    doc["images"] = images
    doc["annotations"] = annotations
    doc["categories"] = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names, "skeleton": edges}]
    return doc
