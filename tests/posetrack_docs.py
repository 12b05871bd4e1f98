"""PoseTrack18 files built in code in the documented structure (``pose-formats.md``): the authors'
file of one video and mmpose's merged file, and a hypothesis strategy of generated documents."""

from __future__ import annotations

from typing import Any

from dataset_strategies import coco_like_docs, small
from helpers import COCO_SKELETON
from hypothesis import strategies as st
from strategies import coords

from fiftyone_pose.core import skeleton as skeletons

NAMES = list(skeletons.load("posetrack").keypoints)
CATEGORY = {"supercategory": "person", "id": 1, "name": "person", "keypoints": NAMES, "skeleton": COCO_SKELETON}
#: the ears (points 3, 4) are never labelled in PoseTrack18
EARS = (3, 4)


def points(seed: float, labelled: list[int]) -> list[Any]:
    """17 triplets: the points in ``labelled`` at (x, y, 1), the others and the ears (0, 0, 0)."""
    out: list[Any] = []
    for i in range(17):
        out += [seed + 11 * i, 200 + 7.5 * i, 1] if i in labelled and i not in EARS else [0, 0, 0]
    return out


def _frame(video: str, split: str, frame: int, nframes: int, **keys: Any) -> dict[str, Any]:
    """An image record as the authors write it (their key order), frame ``frame`` of ``video``."""
    image_id = int(f"1{video}{frame:04d}")
    return {
        "has_no_densepose": True,
        "is_labeled": False,
        "file_name": f"images/{split}/{video}_mpii_test/{frame:06d}.jpg",
        "nframes": nframes,
        "frame_id": image_id,
        "vid_id": video,
        "id": image_id,
        **keys,
    }


def video_doc() -> dict[str, Any]:
    """``annotations/val/000342_mpii_test.json``: four frames of one video, two unlabelled (no
    persons, one without ignore regions), two labelled with ignore-region polygons (one pair of
    empty lists); no image sizes; persons with ``track_id``, ``bbox_head``, an empty ``scores``
    list and no ``area`` / ``iscrowd`` / ``num_keypoints``; ids above 2^31."""
    regions_x = [[10, 60.5, 60.5, 10], [900, 950, 925]]
    regions_y = [[20, 20, 80.25, 80.25], [5, 5, 40]]
    return {
        "images": [
            _frame("000342", "val", 0, 4),
            _frame("000342", "val", 1, 4, is_labeled=True, ignore_regions_x=regions_x, ignore_regions_y=regions_y),
            _frame("000342", "val", 2, 4, is_labeled=True, ignore_regions_x=[], ignore_regions_y=[]),
            _frame("000342", "val", 3, 4, ignore_regions_x=[], ignore_regions_y=[]),
        ],
        "annotations": [
            {"bbox_head": [612.5, 96, 41, 52.75], "keypoints": points(600.5, list(range(17))), "track_id": 0,
             "image_id": 10003420001, "bbox": [580.25, 90.0, 220.5, 410.0], "scores": [], "category_id": 1,
             "id": 1000342000100},
            {"bbox_head": [210, 80, 38, 45], "keypoints": points(200, [0, 1, 2, 5, 6, 7, 9, 11, 12]), "track_id": 1,
             "image_id": 10003420001, "bbox": [190, 70, 160, 380], "scores": [], "category_id": 1,
             "id": 1000342000101},
            {"bbox_head": [614.0, 98.5, 40.0, 52.0], "keypoints": points(602, [0, 1, 2, 5, 6]), "track_id": 0,
             "image_id": 10003420002, "bbox": [582.0, 91.5, 219.0, 408.0], "scores": [], "category_id": 1,
             "id": 1000342000200},
        ],
        "categories": [CATEGORY],
    }  # fmt: skip


def merged_doc() -> dict[str, Any]:
    """mmpose's ``posetrack18_val.json``: frames of two videos in one file, with image sizes; persons
    with ``num_keypoints``, ``iscrowd`` and ``person_id`` besides the authors' keys."""
    return {
        "images": [
            _frame("000342", "val", 0, 2, width=1920, height=1080),
            _frame("000342", "val", 1, 2, is_labeled=True, ignore_regions_x=[[1, 2, 3]],
                   ignore_regions_y=[[4, 5.5, 6]], width=1920, height=1080),
            _frame("014102", "val", 7, 60, is_labeled=True, ignore_regions_x=[], ignore_regions_y=[], width=1280,
                   height=720),
        ],
        "annotations": [
            {"bbox_head": [612, 96, 41, 52], "keypoints": points(600, list(range(17))), "track_id": 0,
             "image_id": 10003420001, "bbox": [580, 90, 220, 410], "scores": [], "category_id": 1,
             "id": 1000342000100, "iscrowd": 0, "num_keypoints": 15, "person_id": 1},
            {"bbox_head": [300.5, 40.5, 30.0, 35.0], "keypoints": points(290.25, [0, 2, 5, 6, 11, 12]),
             "track_id": 4, "image_id": 10141020007, "bbox": [280.0, 30.0, 120.0, 300.0], "scores": [],
             "category_id": 1, "id": 1014102000704, "iscrowd": 0, "num_keypoints": 6, "person_id": 2},
        ],
        "categories": [CATEGORY],
    }  # fmt: skip


# ------------------------------------------------------------------------------------ generated


def _polygons(c):
    """Ignore regions: a list of polygons (each a list of numbers), often empty."""
    return st.lists(st.lists(c, max_size=5), max_size=2)


@st.composite
def posetrack_docs(draw, fiftyone: bool = False, max_images: int = 4):
    """A PoseTrack18 document: the authors' per-video structure (no image sizes) or mmpose's merged
    one (with sizes), with every frame and person key present or absent, ints and floats, flags
    0/1 (and COCO's 2), unlabelled frames without persons and unknown keys."""
    c = small if fiftyone else coords
    sk = skeletons.load("posetrack")
    doc = draw(
        coco_like_docs(
            sk.num_keypoints, NAMES, COCO_SKELETON, vis=st.sampled_from([0, 1, 1, 2]), top_keys=(),
            image_extras={"vid_id": st.text("0123456789", min_size=6, max_size=6),
                          "frame_id": st.integers(0, 2**40), "is_labeled": st.booleans(),
                          "nframes": st.integers(1, 1000), "has_no_densepose": st.booleans(),
                          "ignore_regions_x": _polygons(c), "ignore_regions_y": _polygons(c)},
            ann_extras={"track_id": st.integers(0, 50), "bbox_head": st.lists(c, min_size=4, max_size=4),
                        "person_id": st.integers(0, 2**40), "scores": st.lists(c, max_size=17)},
            fiftyone=fiftyone, max_images=max_images,
        )
    )  # fmt: skip
    if draw(st.booleans()):  # the authors' files: no image sizes
        for image in doc["images"]:
            del image["width"], image["height"]
    return doc
