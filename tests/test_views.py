"""Curation views: exact person counts on a small generated dataset, and exports that hold exactly
the persons each view shows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import COCO_NAMES, coco_doc

import fiftyone_pose as fop
from fiftyone_pose.fo import views as V

W, H = 200, 100
# a person facing the camera (its left on the image's right), offsets from (cx, top) in pixels
POSE = {
    "nose": (0, 0), "left_eye": (2, -2), "right_eye": (-2, -2), "left_ear": (4, -1), "right_ear": (-4, -1),
    "left_shoulder": (8, 10), "right_shoulder": (-8, 10), "left_elbow": (11, 22), "right_elbow": (-11, 22),
    "left_wrist": (12, 33), "right_wrist": (-12, 33), "left_hip": (5, 35), "right_hip": (-5, 35),
    "left_knee": (6, 50), "right_knee": (-6, 50), "left_ankle": (6, 65), "right_ankle": (-6, 65),
}  # fmt: skip


def person(pid, image_id, cx, top, area, v=None, moved=None, box=None, iscrowd=0):
    """A COCO record: the pose at (cx, top), visibility ``v`` per name (default 2 for all),
    ``moved`` replaces some points (name -> (x, y)), ``box`` defaults to the pose's extent."""
    v = {n: 2 for n in COCO_NAMES} if v is None else v
    kps = []
    for name in COCO_NAMES:
        x, y = (moved or {}).get(name, (cx + POSE[name][0], top + POSE[name][1]))
        vis = v.get(name, 0)
        kps += [x, y, vis] if vis else [0, 0, 0]
    return {
        "id": pid, "image_id": image_id, "category_id": 1, "iscrowd": iscrowd, "area": area,
        "bbox": box or [cx - 14, top - 4, 28, 72], "num_keypoints": sum(1 for n in COCO_NAMES if v.get(n, 0)),
        "keypoints": kps, "segmentation": [],
    }  # fmt: skip


def build_doc():
    doc = coco_doc()
    doc["images"] = [{"id": i, "file_name": f"{i}.jpg", "width": W, "height": H} for i in range(1, 6)]
    face = {
        "nose": 2,
        "left_eye": 2,
        "right_eye": 2,
        "left_ear": 2,
        "right_ear": 2,
        "left_shoulder": 1,
        "left_elbow": 1,
        "left_wrist": 1,
    }
    swapped = {n: (150 + POSE[m][0], 15 + POSE[m][1]) for n, m in
               [("left_knee", "right_knee"), ("right_knee", "left_knee"),
                ("left_ankle", "right_ankle"), ("right_ankle", "left_ankle")]}  # fmt: skip
    doc["annotations"] = [
        person(1, 1, 50, 10, 5000.0),                                            # good, medium
        person(2, 1, 50.5, 10.5, 5000.0),                                        # duplicate of 1
        {**person(3, 1, 150, 10, 2000.0, v={}), "iscrowd": 1},                   # crowd region
        person(4, 2, 4, 10, 500.0, v=face),                                      # right ear on x=0: truncated; small
        person(5, 2, 150, 15, 9216.0, moved=swapped),                            # knees and ankles swapped; large (96²)
        person(6, 3, 50, 10, 1024.0, moved={"left_wrist": (205, 43)}),           # wrist outside the image; medium (32²)
        person(7, 3, 150, 10, 3000.0, box=[136, 6, 28, 50]),                     # knees and ankles below its box
        person(8, 4, 90, 20, 800.0, v={}, box=[80, 20, 20, 40]),                 # box only, no points
    ]  # fmt: skip
    return doc


@pytest.fixture(scope="module")
def ds(fo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("views") / "gen.json"
    path.write_text(json.dumps(build_doc()))
    dataset = fop.load(path, format="coco")
    yield dataset
    dataset.delete()


def person_ids(view):
    return sorted(view.values("ground_truth.keypoints.person_id", unwind=True))


def check(view, tmp_path, persons, images=None):
    """The view shows exactly ``persons`` (their boxes too), and its export holds exactly them."""
    assert person_ids(view) == sorted(persons)
    assert view.count("ground_truth_boxes.detections") == len(persons)
    out = tmp_path / "view.json"
    fop.export(view, out)
    doc = json.loads(out.read_text())
    assert sorted(a["id"] for a in doc["annotations"]) == sorted(persons)
    if images is not None:
        assert sorted(view.values("image_id")) == sorted(images)
        assert sorted(i["id"] for i in doc["images"]) == sorted(images)


@pytest.mark.parametrize(
    "make, persons",
    [
        (lambda ds: V.persons_with_visible(ds, min_count=8), [1, 2, 5, 6, 7]),
        (lambda ds: V.persons_with_visible(ds, max_count=5), [3, 4, 8]),
        (lambda ds: V.persons_with_visible(ds, min_count=1, max_count=5), [4]),
        (lambda ds: V.persons_with_labeled(ds, min_count=1), [1, 2, 4, 5, 6, 7]),
        (lambda ds: V.persons_with_labeled(ds, max_count=0), [3, 8]),
        (lambda ds: V.persons_with_joint(ds, "left_wrist", "occluded"), [4]),
        (lambda ds: V.persons_with_joint(ds, "left_wrist", "visible"), [1, 2, 5, 6, 7]),
        (lambda ds: V.persons_with_joint(ds, "nose", "labeled"), [1, 2, 4, 5, 6, 7]),
        (lambda ds: V.persons_with_joint(ds, ["nose", "left_shoulder"], "visible"), [1, 2, 5, 6, 7]),
        (lambda ds: V.persons_with_joint(ds, "left_knee", "unlabeled"), [3, 4, 8]),
        (lambda ds: V.crowd(ds), [3]),
        (lambda ds: V.crowd(ds, False), [1, 2, 4, 5, 6, 7, 8]),
        (lambda ds: V.persons_by_area(ds, "small"), [4, 8]),
        (lambda ds: V.persons_by_area(ds, "medium"), [1, 2, 3, 6, 7]),
        (lambda ds: V.persons_by_area(ds, "large"), [5]),
        (lambda ds: V.persons_by_area(ds, min_area=1000, max_area=3000), [3, 6]),
        (lambda ds: V.persons_by_area(V.crowd(ds, False), "medium"), [1, 2, 6, 7]),
        (lambda ds: V.truncated(ds), [4]),
        (lambda ds: V.truncated(ds, margin=2.5), [4]),
        (lambda ds: V.outside_image(ds), [6]),
        (lambda ds: V.outside_image(ds, tolerance=10), []),
        (lambda ds: V.outside_box(ds), [6, 7]),
        (lambda ds: V.outside_box(ds, tolerance=20), [6]),
        (lambda ds: V.duplicates(ds), [1, 2]),
        (lambda ds: V.duplicates(ds, threshold=0.9999), []),
        (lambda ds: V.swaps(ds), [5]),
        (lambda ds: V.swaps(V.crowd(ds, False).limit(1)), []),
    ],
)
def test_person_views(ds, tmp_path, make, persons):
    check(make(ds), tmp_path, persons)


@pytest.mark.parametrize(
    "make, images, persons",
    [
        (lambda ds: V.images_by_person_count(ds, min_count=2), [1, 2, 3], [1, 2, 3, 4, 5, 6, 7]),
        (lambda ds: V.images_by_person_count(ds, max_count=0), [5], []),
        (lambda ds: V.images_by_person_count(ds, min_count=1, max_count=1), [4], [8]),
        (lambda ds: V.images_by_person_count(ds, min_count=3, include_crowd=True), [1], [1, 2, 3]),
        (lambda ds: V.images_without_persons(ds), [4, 5], [8]),
        (lambda ds: V.images_without_persons(ds, labeled_only=False), [5], []),
    ],
)
def test_image_views(ds, tmp_path, make, images, persons):
    check(make(ds), tmp_path, persons, images)


def test_only_matches_false_keeps_every_image(ds):
    view = V.duplicates(ds, only_matches=False)
    assert len(view) == 5 and person_ids(view) == [1, 2]


def test_views_survive_serialisation(fo_db, ds):
    """The App and saved views get views as JSON: every view must come back the same."""
    for make in (lambda d: V.duplicates(d), lambda d: V.outside_box(d), lambda d: V.persons_with_joint(d, "nose")):
        view = make(ds)
        stages = json.loads(json.dumps(view._serialize()))
        assert person_ids(fo_db.DatasetView._build(ds, stages)) == person_ids(view)


def test_joints_by_name_only(ds):
    with pytest.raises(ValueError, match="no keypoint named 'left_hand'.*nose"):
        V.persons_with_joint(ds, "left_hand")
    with pytest.raises(ValueError, match="state must be one of"):
        V.persons_with_joint(ds, "nose", "seen")
    with pytest.raises(ValueError, match="size must be one of"):
        V.persons_by_area(ds, "huge")


def test_oks_matrix_matches_pycocotools():
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    sigmas = np.array(
        [
            0.026,
            0.025,
            0.025,
            0.035,
            0.035,
            0.079,
            0.079,
            0.072,
            0.072,
            0.062,
            0.062,
            0.107,
            0.107,
            0.087,
            0.087,
            0.089,
            0.089,
        ]
    )
    a = rng.uniform(0, 100, (17, 2))
    b = a + rng.normal(0, 3, (17, 2))
    a[[2, 5]] = np.nan  # unlabelled in the ground truth: not counted
    ours = V.oks_matrix(np.stack([a, b]), np.array([900.0, 900.0]), sigmas)[0, 1]
    # pycocotools' computeOks for one ground truth and one detection
    ev = COCOeval(iouType="keypoints")
    ev.params.kpt_oks_sigmas = sigmas
    gt_kp = np.concatenate([np.nan_to_num(a), np.where(np.isnan(a[:, :1]), 0, 2)], axis=1).ravel().tolist()
    ev._gts = {(1, 1): [{"keypoints": gt_kp, "area": 900.0, "bbox": [0, 0, 100, 100]}]}
    ev._dts = {(1, 1): [{"keypoints": np.concatenate([b, np.ones((17, 1))], axis=1).ravel().tolist(), "score": 1.0}]}
    ev.params.catIds = [1]
    assert ours == pytest.approx(ev.computeOks(1, 1)[0, 0], rel=1e-12)


def test_demo_views_are_clean(fo_db):
    """The demo's drawn figures have no errors, duplicates or swaps; its truncated persons are known."""
    from fiftyone_pose import formats
    from fiftyone_pose.demo.run import demo_paths
    from fiftyone_pose.fo.api import create_dataset

    labels, images = demo_paths()
    ds = create_dataset(formats.read(labels), images)
    try:
        for view in (V.outside_image(ds), V.outside_box(ds), V.duplicates(ds), V.swaps(ds)):
            assert view.count("ground_truth.keypoints") == 0
        assert person_ids(V.truncated(ds)) == [900004, 900086, 900179, 900187, 900225]
        assert len(V.images_without_persons(ds, labeled_only=False)) == 3
    finally:
        ds.delete()
