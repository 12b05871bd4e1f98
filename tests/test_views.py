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
    fop.export(view, out, overwrite=True)
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


# ------------------------------------------------------------- one family, described by signatures


def test_every_view_takes_label_field_and_describes_its_options():
    """Same keyword everywhere; every option typed and documented, so the App's form and the CLI
    can be built from the signatures alone."""
    import inspect

    for name, view in V.CURATION_VIEWS.items():
        signature = inspect.signature(view)
        assert signature.parameters["label_field"].default is None, name
        assert "field" not in signature.parameters, name
        assert V.view_summary(name) and not V.view_summary(name).endswith("."), name
        declared = [p for p in signature.parameters if p not in ("collection", "label_field", "only_matches")]
        params = V.view_parameters(name)
        assert [p.name for p in params] == declared, name
        for p in params:
            assert p.type in (int, float, bool, str) and p.help, (name, p)
    assert {p.name: p.choices for p in V.view_parameters("part_visible")}["part"] == (
        "body", "foot", "face", "lefthand", "righthand"
    )  # fmt: skip
    joint = V.view_parameters("persons_with_joint")[0]
    assert (joint.name, joint.many, joint.source, joint.required) == ("names", True, "joint", True)


def test_apply_view_runs_a_view_by_name_with_form_or_command_line_values(ds, tmp_path):
    check(V.apply_view(ds, "persons_with_joint", names="left_wrist", state="occluded"), tmp_path, [4])
    check(V.apply_view(ds, "persons_with_joint", names=["nose", "left_shoulder"]), tmp_path, [1, 2, 5, 6, 7])
    check(V.apply_view(ds, "crowd", is_crowd="false"), tmp_path, [1, 2, 4, 5, 6, 7, 8])
    check(V.apply_view(ds, "persons_by_area", size="small", min_area=None), tmp_path, [4, 8])
    joints = V.parameter_choices(ds, V.view_parameters("persons_with_joint")[0])
    assert joints == COCO_NAMES
    from fiftyone_pose.core.errors import PoseUsageError

    for kwargs, message in [
        ({"name": "nope"}, "unknown view 'nope'; views: persons_with_visible, "),
        ({"name": "crowd", "size": "small"}, "the view crowd has no option 'size'; options: is_crowd"),
        ({"name": "persons_with_joint"}, "the view persons_with_joint needs 'names'"),
        ({"name": "persons_by_area", "size": "huge"}, "size must be one of small, medium, large, not 'huge'"),
        ({"name": "truncated", "margin": "wide"}, "margin: expected float, not 'wide'"),
    ]:
        with pytest.raises(PoseUsageError, match=message):
            V.apply_view(ds, kwargs.pop("name"), **kwargs)


def _linked(view, field: str) -> list[str]:
    return sorted(view.values(f"{field}.instance._id", unwind=True))


def _assert_boxes_follow_persons(view, persons: int, boxes: int, parts: int = 0):
    """The view shows ``persons`` persons, ``boxes`` boxes and ``parts`` part boxes, and every box
    shown belongs to a person shown."""
    assert view.count("ground_truth.keypoints") == persons
    assert view.count("ground_truth_boxes.detections") == boxes
    shown = set(_linked(view, "ground_truth.keypoints"))
    assert set(_linked(view, "ground_truth_boxes.detections")) <= shown
    if view.has_field("ground_truth_parts"):
        assert view.count("ground_truth_parts.detections") == parts
        assert set(_linked(view, "ground_truth_parts.detections")) <= shown


def test_part_and_occlusion_views_hide_the_boxes_of_hidden_persons(fo_db, tmp_path):
    from dataset_docs import ochuman_native_doc, write_json
    from helpers_wholebody import wholebody_doc

    doc = wholebody_doc()
    faceless = json.loads(json.dumps(doc["annotations"][0]))  # a second person on image 785, no face or hands
    faceless.update(id=30002, face_valid=False, righthand_valid=False, face_box=[0.0] * 4, righthand_box=[0.0] * 4)
    for key in ("face_kpts", "lefthand_kpts", "righthand_kpts"):
        faceless[key] = [0.0] * len(faceless[key])
    doc["annotations"].append(faceless)
    wb = fop.load(write_json(tmp_path / "coco_wholebody.json", doc), images_dir=tmp_path)
    oc = fop.load(write_json(tmp_path / "ochuman.json", ochuman_native_doc()), format="ochuman", images_dir=tmp_path)
    try:
        # 3 persons (one a crowd region), 3 boxes; 30001's face and right hand are drawn
        _assert_boxes_follow_persons(wb, 3, 3, 2)
        _assert_boxes_follow_persons(V.part_visible(wb, "face", min_visible=1), 1, 1, 2)
        _assert_boxes_follow_persons(V.face_visible(wb, min_visible=14), 1, 1, 2)  # 14 of its face points are v = 2
        _assert_boxes_follow_persons(
            V.hands_visible(wb, "right", min_visible=16), 1, 1, 2
        )  # 16 right-hand points v = 2
        _assert_boxes_follow_persons(V.part_visible(wb, "face", min_visible=None, max_visible=0, valid=False), 2, 2, 0)
        _assert_boxes_follow_persons(V.only_parts(wb, "face"), 1, 1, 2)  # 30001 has face points, 30002 none
        _assert_boxes_follow_persons(V.only_parts(wb, "face", only_matches=False), 3, 3, 2)
        # image 1: 3 persons (max_iou 0.61, 0.61, 0.12), image 2: 1 person (0.0)
        _assert_boxes_follow_persons(oc, 4, 4)
        _assert_boxes_follow_persons(V.occlusion(oc, min_iou=0.5), 2, 2)
        _assert_boxes_follow_persons(V.occlusion(oc, max_iou=0.5), 2, 2)
        _assert_boxes_follow_persons(V.occlusion(oc, 0.1, 0.5), 1, 1)
    finally:
        wb.delete()
        oc.delete()
