"""Hypothesis strategies for the AI Challenger, MHP, CrowdPose, OCHuman and Human-Art files, native
and COCO-style, with every case their readers must keep: ints and floats, odd flags, missing
optional keys, unknown keys, persons without keypoints, images without persons."""

from __future__ import annotations

from typing import Any

from dataset_docs import OCHUMAN_NAMES
from hypothesis import strategies as st
from strategies import coords, extras_for, json_values, numbers, segmentation

from fiftyone_pose.core import skeleton as skeletons

small = st.one_of(st.integers(-3000, 3000), st.floats(-3000, 3000, allow_nan=False).map(lambda v: round(v, 3)))
plain_keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
#: the default COCO visibility flags (a module-level strategy, built once like a default value)
coco_flags = st.sampled_from([0, 1, 2])


def plain_extras_for(reserved: set[str]):
    return st.dictionaries(plain_keys.filter(lambda k: k not in reserved), json_values, max_size=2)


# ----------------------------------------------------------------------------------- COCO-style


@st.composite
def coco_like_docs(
    draw,
    k: int,
    names: list[str],
    edges: list[list[int]],
    *,
    vis=coco_flags,
    image_extras: dict[str, Any] | None = None,
    ann_extras: dict[str, Any] | None = None,
    top_keys: tuple[str, ...] = ("info", "licenses"),
    fiftyone: bool = False,
    max_images: int = 4,
    max_persons: int = 6,
):
    """A COCO-like document of ``k`` points. ``image_extras`` / ``ann_extras``: key -> strategy of
    dataset-specific fields, each present or absent per record. ``fiftyone``: values FiftyOne can
    hold (moderate numbers, plain key names)."""
    c = small if fiftyone else coords
    n_images = draw(st.integers(0, max_images))
    image_ids = draw(st.lists(st.integers(1, 2**45), min_size=n_images, max_size=n_images, unique=True))
    images = []
    for iid in image_ids:
        w, h = draw(st.integers(1, 3000)), draw(st.integers(1, 3000))
        rec: dict[str, Any] = {"id": iid, "file_name": f"{iid}.jpg", "width": w, "height": h}
        for key, strategy in (image_extras or {}).items():
            if draw(st.integers(0, 4)):
                rec[key] = draw(strategy)
        if not fiftyone:
            rec.update(draw(extras_for({"id", "file_name", "width", "height", *(image_extras or {})})))
        images.append(rec)
    anns = []
    if images:
        n = draw(st.integers(0, max_persons))
        ids = draw(st.lists(st.integers(1, 2**45), min_size=n, max_size=n, unique=True))
        for aid in ids:
            im = draw(st.sampled_from(images))
            crowd = draw(st.sampled_from([0, 0, 0, 1]))
            kps: list[Any] = []
            for _ in range(k):
                v = 0 if crowd else draw(vis)
                kps += [0, 0, v] if v == 0 and draw(st.booleans()) else [draw(c), draw(c), v]
            rec = {"id": aid, "image_id": im["id"], "category_id": 1, "keypoints": kps}
            optional = {
                "iscrowd": crowd,
                "num_keypoints": sum(1 for v in kps[2::3] if v > 0),
                "bbox": [draw(c) for _ in range(4)],
                "area": draw(small if fiftyone else numbers),
                "segmentation": draw(segmentation(im["width"], im["height"])),
            }
            for key, value in optional.items():
                if draw(st.integers(0, 3)):
                    rec[key] = value
            for key, strategy in (ann_extras or {}).items():
                if draw(st.integers(0, 3)):
                    rec[key] = draw(strategy)
            if not fiftyone:
                rec.update(
                    draw(extras_for({"id", "image_id", "category_id", "keypoints", *optional, *(ann_extras or {})}))
                )
            anns.append(rec)
    doc: dict[str, Any] = {}
    for key in top_keys:
        if draw(st.booleans()):
            doc[key] = {"description": "x"} if key == "info" else []
    doc["images"] = images
    doc["annotations"] = anns
    doc["categories"] = [{"supercategory": "person", "id": 1, "name": "person", "keypoints": names, "skeleton": edges}]
    return doc


def _layout_args(name: str, names_key: str | None = "names_in_distributed_json"):
    sk = skeletons.load(name)
    names = list(sk.meta[names_key]) if names_key and names_key in sk.meta else list(sk.keypoints)
    return sk.num_keypoints, names, [[a + 1, b + 1] for a, b in sk.edges]


def aic_coco_docs(fiftyone: bool = False):
    return coco_like_docs(*_layout_args("aic"), image_extras={"url": st.text(max_size=8)}, fiftyone=fiftyone)


def mhp_coco_docs(fiftyone: bool = False):
    box = st.lists(small, min_size=4, max_size=4)
    return coco_like_docs(
        *_layout_args("mhp"), vis=st.sampled_from([0.0, 2.0, 0, 2]), image_extras={"license": st.integers(0, 3)},
        ann_extras={"face_box": box}, fiftyone=fiftyone,
    )  # fmt: skip


def crowdpose_docs(fiftyone: bool = False):
    return coco_like_docs(
        *_layout_args("crowdpose"), image_extras={"crowdIndex": st.floats(0, 1)}, top_keys=("info",), fiftyone=fiftyone
    )


def ochuman_coco_docs(fiftyone: bool = False):
    return coco_like_docs(*_layout_args("ochuman", None), top_keys=(), fiftyone=fiftyone)


def humanart_docs(fiftyone: bool = False):
    variant = skeletons.load("humanart").meta["variants"]["keypoints_21"]
    c = small if fiftyone else coords
    contact = st.one_of(st.just([]), st.lists(st.lists(c, min_size=2, max_size=2), max_size=2), st.lists(c, max_size=4))
    return coco_like_docs(
        17, list(variant["keypoints"]), [[a + 1, b + 1] for a, b in variant["edges"]],
        image_extras={"category": st.sampled_from(["cartoon", "oil_painting", "dance", "sculpture"]),
                      "description": st.text(max_size=12), "author": st.text(max_size=5), "page_url": st.just(""),
                      "image_url": st.just(""), "picture_name": st.text(max_size=5)},
        ann_extras={"keypoints_21": st.lists(c, min_size=63, max_size=63), "num_keypoints_21": st.integers(0, 21),
                    "self_contact": contact, "annotator": st.integers(0, 30)},
        fiftyone=fiftyone,
    )  # fmt: skip


# --------------------------------------------------------------------------------------- native

#: AI Challenger flags: the documented ones, and odd ones a reader must keep (0 is rewritten as 3)
aic_flags = st.one_of(st.sampled_from([1, 2, 3]), st.sampled_from([1.0, 2.0, 3.0, 0.5, 4, -1]))


@st.composite
def aic_native_docs(draw, fiftyone: bool = False, max_images: int = 4):
    """Files whose records have their keys in one order per file: the authors' or any other, the
    unknown keys (sorted by name) together at any place."""
    c = small if fiftyone else coords
    authors = ["url", "image_id", "keypoint_annotations", "human_annotations", "*"]
    order = draw(st.one_of(st.just(authors), st.permutations(authors)))
    out = []
    for _ in range(draw(st.integers(0, max_images))):
        rec: dict[str, Any] = {"image_id": draw(st.text("0123456789abcdef", min_size=1, max_size=40))}
        if draw(st.booleans()):
            rec["url"] = draw(st.text(max_size=10))
        extras = {}
        if not fiftyone:
            extras = draw(
                plain_extras_for({"url", "image_id", "human_annotations", "keypoint_annotations", "width", "height"})
            )
        n = draw(st.integers(0, 4))
        keys = draw(st.lists(st.from_regex(r"human[0-9]{1,2}", fullmatch=True), min_size=n, max_size=n, unique=True))
        humans, points = {}, {}
        for key in keys:
            humans[key] = [draw(c) for _ in range(4)]
            kp: list[Any] = []
            for _ in range(14):
                f = draw(aic_flags if not fiftyone else st.sampled_from([1, 2, 3]))
                kp += [0, 0, f] if f == 3 and draw(st.booleans()) else [draw(c), draw(c), f]
            points[key] = kp
        rec["human_annotations"] = humans
        rec["keypoint_annotations"] = points
        arranged: dict[str, Any] = {}
        for key in order:
            if key == "*":
                arranged.update(sorted(extras.items()))
            elif key in rec:
                arranged[key] = rec[key]
        out.append(arranged)
    return out


ochuman_flags = st.one_of(st.sampled_from([0, 1, 2, 3]), st.sampled_from([1.0, 3.0, 0.5, 4, -1]))


@st.composite
def ochuman_native_docs(draw, fiftyone: bool = False, max_images: int = 3):
    c = small if fiftyone else coords
    names = list(draw(st.permutations(OCHUMAN_NAMES)))  # any order: read by name
    with_names = draw(st.integers(0, 9)) > 0
    doc: dict[str, Any] = {}
    if with_names:
        doc["keypoint_names"] = names
    if draw(st.booleans()):
        doc["keypoint_visible"] = {"missing": 0, "vis": 1, "self_occluded": 2, "others_occluded": 3}
    if not fiftyone and draw(st.booleans()):
        doc["note"] = draw(json_values)
    images = []
    for i in range(draw(st.integers(0, max_images))):
        w, h = draw(st.integers(1, 3000)), draw(st.integers(1, 3000))
        rec: dict[str, Any] = {
            "image_id": draw(st.one_of(st.text("0123456789", min_size=1, max_size=6), st.integers(0, 10**6))),
            "file_name": f"{i:06d}.jpg",
            "width": w,
            "height": h,
        }
        anns = []
        for _ in range(draw(st.integers(0, 3))):
            ann: dict[str, Any] = {"bbox": [draw(c) for _ in range(4)]}
            if with_names and draw(st.integers(0, 4)):
                kp: list[Any] = []
                for _ in range(19):
                    kp += [draw(c), draw(c), draw(ochuman_flags if not fiftyone else st.sampled_from([0, 1, 2, 3]))]
                ann["keypoints"] = kp
            else:
                ann["keypoints"] = None
            if draw(st.integers(0, 3)):
                ann["segms"] = draw(st.one_of(st.none(), st.fixed_dictionaries({
                    "outer": st.lists(st.lists(c, min_size=6, max_size=8), min_size=1, max_size=2),
                    "inner": st.lists(st.lists(c, min_size=6, max_size=6), max_size=1),
                    "height": st.just(h), "width": st.just(w)})))  # fmt: skip
            if draw(st.integers(0, 3)):
                ann["max_iou"] = draw(st.floats(0, 1))
            if not fiftyone:
                ann.update(
                    draw(plain_extras_for({"bbox", "keypoints", "segms", "max_iou", "extra_keypoints", "bbox_corners"}))
                )
            anns.append(ann)
        rec["annotations"] = anns
        images.append(rec)
    doc["images"] = images
    return doc
