"""CrowdPose: read, written back identical (no area added), crowdIndex kept, the easy / medium /
hard views, COCO export evaluated by pycocotools (AP = 1.0)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import crowdpose_doc, write_json
from dataset_strategies import crowdpose_docs
from hypothesis import HealthCheck, given, settings

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.formats import crowdpose

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc):
    return crowdpose.encode(crowdpose.decode(json.loads(json.dumps(doc))))


def test_example_roundtrips_exactly():
    assert first_difference(roundtrip(crowdpose_doc()), crowdpose_doc()) is None


def test_model_layout_visibility_crowd_index_and_no_area():
    data = crowdpose.decode(crowdpose_doc())
    p = data.persons
    assert data.skeleton.name == "crowdpose" and data.skeleton.num_keypoints == 14
    assert data.categories[0]["keypoints"][12] == "head"  # kept verbatim, not the layout
    assert data.images.extras[0] == {"crowdIndex": 0.41} and data.images.extras[3] == {}
    # 0 unlabeled; 1 and 2 kept as stored (occlusion unknown), head and neck 1
    assert p.visibility[1, :4].tolist() == [1, 2, 1, 2] and p.visibility[0, 12:].tolist() == [1, 1]
    assert p.visibility_raw is None
    assert np.isnan(p.areas).all() and "area" not in p.absent
    assert p.num_keypoints.tolist() == [10, 12, 12, 6, 12]  # the file's count (head/neck not counted)
    assert p.extras[0] == {"iscrowd": 0} and "iscrowd" not in p.extras[3]  # where the file had it


def test_coco_export_adds_area_and_iscrowd_and_evaluates(tmp_path):
    src = write_json(tmp_path / "crowdpose_val.json", crowdpose_doc())
    assert formats.detect(src) == "crowdpose"
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_export_evaluates(out, "crowdpose")
    a = doc["annotations"][3]
    assert a["area"] == 60.0 * 90.0 and a["iscrowd"] == 0 and a["num_keypoints"] == 6
    assert doc["images"][0]["crowdIndex"] == 0.41
    assert "info" not in doc  # as the source (meta ABSENT); pycocotools 2.0.11 does not need it
    # the COCO export read back as CrowdPose keeps its areas
    again = crowdpose.encode(crowdpose.decode(json.loads(out.read_text())))
    assert again["annotations"][3]["area"] == 5400.0


def test_missing_optional_keys_stay_missing():
    doc = crowdpose_doc()
    del doc["categories"]
    del doc["annotations"][0]["num_keypoints"]
    del doc["annotations"][1]["bbox"]
    doc["annotations"][2]["area"] = 100.5  # a copy that has an area keeps it
    assert first_difference(roundtrip(doc), doc) is None


@SETTINGS
@given(crowdpose_docs())
def test_generated_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_detect_prefers_crowdpose_by_names_without_crowd_index(tmp_path):
    doc = crowdpose_doc()
    for im in doc["images"]:
        im.pop("crowdIndex", None)
    path = write_json(tmp_path / "mmpose_crowdpose_test.json", doc)
    assert formats.detect(path) == "crowdpose"


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_round_trip_views_and_coco_export(fo_db, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    src = write_json(tmp_path / "crowdpose_val.json", crowdpose_doc())
    ds = fop.load(src, format="crowdpose", images_dir=tmp_path)
    assert ds.skeletons["ground_truth"].labels == list(skeletons.load("crowdpose").keypoints)
    assert ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"] == list(skeletons.load("crowdpose").sigmas)
    assert ds.first().crowdIndex == 0.41
    out = tmp_path / "out.json"
    fop.export(ds, out, format="crowdpose", overwrite=True)
    assert first_difference(json.loads(out.read_text()), crowdpose_doc()) is None

    expected = {"easy": [100124], "medium": [100123], "hard": [100125]}
    for level, image_ids in expected.items():
        view = views.crowd_index(ds, level)
        assert view.values("image_id") == image_ids
        fop.export(view.sort_by("image_id"), out, format="crowdpose", overwrite=True)
        doc = json.loads(out.read_text())
        assert [im["id"] for im in doc["images"]] == image_ids
        want = [a for a in crowdpose_doc()["annotations"] if a["image_id"] in image_ids]
        assert first_difference(doc["annotations"], want) is None
    assert views.crowd_index(ds, min_index=0.4, max_index=0.41).values("image_id") == [100123]
    assert len(views.crowd_index(ds, "hard").match(fo_db.ViewField("image_id") > 0)) == 1  # chains
    with pytest.raises(ValueError, match="level must be one of"):
        views.crowd_index(ds, "extreme")

    fop.export(ds, out, format="coco", overwrite=True)
    assert_export_evaluates(out, "crowdpose")
