"""OCHuman: the native ochuman.json (19 named points, 4-state visibility, null keypoints/masks,
max_iou) and the COCO-style files, written back identical, converted to COCO (pycocotools AP = 1.0),
the occlusion view."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import OCHUMAN_NAMES, ochuman_coco_doc, ochuman_native_doc, write_json
from dataset_strategies import ochuman_coco_docs, ochuman_native_docs
from hypothesis import HealthCheck, given, settings

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import ochuman

SETTINGS = settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc, **kwargs):
    return ochuman.encode(ochuman.decode(json.loads(json.dumps(doc))), **kwargs)


# ------------------------------------------------------------------------------------- native


def test_native_example_roundtrips_exactly():
    assert first_difference(roundtrip(ochuman_native_doc()), ochuman_native_doc()) is None


def test_native_points_by_name_visibility_and_kept_fields():
    doc = ochuman_native_doc()
    data = ochuman.decode(doc)
    p = data.persons
    sk = data.skeleton
    assert sk.name == "ochuman" and sk.num_keypoints == 17 and ochuman.flavor_of(data) == "native"
    first = doc["images"][0]["annotations"][0]["keypoints"]
    for name in sk.keypoints:  # each COCO point is the native point of the same name
        c, j = sk.keypoints.index(name), OCHUMAN_NAMES.index(name)
        assert p.keypoints[0, c].tolist() == first[3 * j : 3 * j + 2]
        assert p.visibility_raw[0, c] == first[3 * j + 2]
        assert p.visibility[0, c] == {0: 0, 1: 2, 2: 2, 3: 1}[first[3 * j + 2]]
    assert p.extras[0]["extra_keypoints"] == {"head": first[36:39], "neck": first[39:42]}
    assert p.extras[0]["max_iou"] == 0.61 and p.extras[0]["segms"]["inner"] == []
    assert p.extras[2] == {"extra_keypoints": None, "max_iou": 0.12, "segms": None}  # box only
    assert (p.visibility[2] == 0).all() and p.boxes[0].tolist() == [110.0, 40.0, 330.0 - 110.0, 510.0 - 40.0]
    assert data.images.extras[0] == {"source_image_id": "000042"} and data.images.widths.tolist() == [700, 640]
    assert data.meta["keypoint_names"] == OCHUMAN_NAMES


def test_keypoint_names_in_another_order_are_read_by_name():
    doc = ochuman_native_doc()
    order = list(range(19))
    random.Random(4).shuffle(order)
    doc["keypoint_names"] = [OCHUMAN_NAMES[i] for i in order]
    for im in doc["images"]:
        for ann in im["annotations"]:
            if ann["keypoints"]:
                kp = ann["keypoints"]
                ann["keypoints"] = [v for i in order for v in kp[3 * i : 3 * i + 3]]
    data = ochuman.decode(doc)
    same = ochuman.decode(ochuman_native_doc())
    np.testing.assert_array_equal(data.persons.keypoints, same.persons.keypoints)
    np.testing.assert_array_equal(data.persons.visibility, same.persons.visibility)
    assert data.notes[ochuman.NOTE_ORDER] == 1
    assert first_difference(ochuman.encode(data), doc) is None


def test_native_to_coco_like_the_authors_converter(tmp_path):
    src = write_json(tmp_path / "ochuman.json", ochuman_native_doc())
    assert formats.detect(src) == "ochuman"
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_export_evaluates(out, "ochuman")
    a = doc["annotations"][0]
    # nose 1, left_eye 2, right_eye 1, left_ear 0, right_ear 1 ... left_shoulder 3, right_shoulder 1
    assert a["keypoints"][2::3][:7] == [2, 2, 2, 0, 2, 1, 2]
    assert a["bbox"] == [110.0, 40.0, 220.0, 470.0] and a["area"] == 220.0 * 470.0 and a["iscrowd"] == 0
    assert a["max_iou"] == 0.61 and "segmentation" not in a
    assert doc["annotations"][2]["num_keypoints"] == 0  # keypoints null: 17 unlabeled points
    # the COCO file carries everything the native one had but the 4th visibility state: back to
    # native, the same document with self-occluded (2) COCO points read as visible (1)
    back = ochuman.encode(ochuman.decode(json.loads(out.read_text())), flavor="native")
    want = ochuman_native_doc()
    for im in want["images"]:
        for ann in im["annotations"]:
            kp = ann["keypoints"] or []
            for j, name in enumerate(OCHUMAN_NAMES):
                if kp and name not in ("head", "neck") and kp[3 * j + 2] == 2:
                    kp[3 * j + 2] = 1
    assert first_difference(back, want) is None


@SETTINGS
@given(ochuman_native_docs())
def test_generated_native_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_missing_optional_fields_and_errors():
    doc = ochuman_native_doc()
    del doc["keypoint_visible"]
    del doc["images"][0]["annotations"][0]["max_iou"]
    del doc["images"][0]["annotations"][1]["segms"]
    assert first_difference(roundtrip(doc), doc) is None
    doc = ochuman_native_doc()
    del doc["keypoint_names"]
    with pytest.raises(
        PoseFormatError, match=r"top level: field 'keypoint_names': required to read the keypoints by name"
    ):
        ochuman.decode(doc)
    doc = ochuman_native_doc()
    doc["images"][1]["annotations"][0]["keypoints"].pop()
    with pytest.raises(
        PoseFormatError,
        match=r"images\[1\] \(image_id '000043', annotations\[0\]\): field 'keypoints': expected null or 57",
    ):
        ochuman.decode(doc)
    doc = ochuman_native_doc()
    doc["images"][0]["width"] = -3
    with pytest.raises(PoseFormatError, match=r"images\[0\] \(image_id '000042'\): field 'width'"):
        ochuman.decode(doc)


def test_coco_data_written_native_gets_box_max_iou_and_null_masks():
    data = ochuman.decode(ochuman_coco_doc())
    native = ochuman.encode(data, flavor="native")
    assert native["keypoint_names"] == list(ochuman.API_ORDER)
    persons = native["images"][0]["annotations"]
    inter = 19.5 * 30.0  # boxes [10, 5, 40, 50] and [30.5, 10, 20, 30]
    assert persons[0]["max_iou"] == pytest.approx(inter / (2000.0 + 600.0 - inter)) and persons[0]["segms"] is None
    assert data.notes[ochuman.NOTE_MAX_IOU] == 3


# ----------------------------------------------------------------------------------- COCO-style


def test_coco_flavor_roundtrips_exactly_and_evaluates_against_the_original(tmp_path):
    assert first_difference(roundtrip(ochuman_coco_doc()), ochuman_coco_doc()) is None
    src = write_json(tmp_path / "ochuman_coco_format_val_range_0.00_1.00.json", ochuman_coco_doc())
    assert formats.detect(src) == "ochuman"
    data = formats.read(src)
    assert data.skeleton.name == "ochuman" and ochuman.flavor_of(data) == "coco"
    out = tmp_path / "coco.json"
    formats.write(data, out, "coco")
    assert_export_evaluates(out, "ochuman", gt_path=src)


@SETTINGS
@given(ochuman_coco_docs())
def test_generated_coco_flavor_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_round_trip_occlusion_view_and_coco_export(fo_db, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    src = write_json(tmp_path / "ochuman.json", ochuman_native_doc())
    ds = fop.load(src, format="ochuman", images_dir=tmp_path)
    assert ds.skeletons["ground_truth"].labels == list(ochuman.layout().keypoints)
    assert ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"] == list(ochuman.layout().sigmas)
    person = ds.first().ground_truth.keypoints[0]
    assert person.max_iou == 0.61 and person.extra_keypoints["head"][2] == 1
    out = tmp_path / "out.json"
    fop.export(ds, out, format="ochuman", overwrite=True)
    assert first_difference(json.loads(out.read_text()), ochuman_native_doc()) is None

    occluded = views.occlusion(ds, min_iou=0.5)
    assert occluded.count("ground_truth.keypoints") == 2
    fop.export(occluded, out, format="ochuman", overwrite=True)
    doc = json.loads(out.read_text())
    want = ochuman_native_doc()["images"][0]
    want["annotations"] = want["annotations"][:2]
    assert first_difference(doc["images"], [want]) is None
    low = views.occlusion(ds, max_iou=0.5)
    assert low.values("ground_truth.keypoints.max_iou") == [[0.12], [0.0]]
    with pytest.raises(ValueError, match="give min_iou"):
        views.occlusion(ds)

    fop.export(ds, out, format="coco", overwrite=True)
    assert_export_evaluates(out, "ochuman")


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=ochuman_native_docs(fiftyone=True))
def test_generated_native_files_survive_fiftyone(fo_db, tmp_path, doc):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "gen.json", doc)
    ds = fop.load(src, format="ochuman", images_dir=tmp_path)
    try:
        out = tmp_path / "out.json"
        fop.export(ds, out, format="ochuman", overwrite=True)
        assert first_difference(json.loads(out.read_text()), doc) is None
    finally:
        ds.delete()
