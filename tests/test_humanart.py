"""Human-Art: every image and person field kept and written back identical (keypoints_21,
self_contact nested or flat, 13-digit ids), the scene views, COCO export evaluated (AP = 1.0)."""

from __future__ import annotations

import json

import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import HUMANART_21, humanart_doc, write_json
from dataset_strategies import humanart_docs
from hypothesis import HealthCheck, given, settings

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.formats import humanart

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc):
    return humanart.encode(humanart.decode(json.loads(json.dumps(doc))))


def test_example_roundtrips_exactly():
    assert first_difference(roundtrip(humanart_doc()), humanart_doc()) is None


def test_model_layout_and_kept_fields():
    data = humanart.decode(humanart_doc())
    p = data.persons
    # 17 points although the category lists the 21 names of keypoints_21
    assert data.skeleton.name == "humanart" and p.num_points == 17
    assert data.categories[0]["keypoints"] == HUMANART_21
    assert data.images.ids.tolist()[0] == 3000000000123 and p.ids.tolist()[0] == 3000000000456
    assert data.images.extras[0]["category"] == "cartoon" and data.images.extras[0]["description"] == "a girl jumping"
    assert len(p.extras[0]["keypoints_21"]) == 63 and p.extras[0]["self_contact"] == [[390.5, 250.0]]
    assert p.extras[1]["self_contact"] == [400.0, 300.0, 410.0, 310.0] and p.extras[2]["self_contact"] == []
    assert p.visibility[0, 15:].tolist() == [1, 0] and p.visibility_raw is None


def test_missing_optional_fields_stay_missing():
    doc = humanart_doc()
    del doc["info"]
    del doc["annotations"][0]["self_contact"]
    del doc["annotations"][1]["annotator"]
    del doc["images"][0]["author"]
    assert first_difference(roundtrip(doc), doc) is None


@SETTINGS
@given(humanart_docs())
def test_generated_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_coco_export_keeps_the_fields_and_evaluates_against_the_original(tmp_path):
    src = write_json(tmp_path / "validation_humanart.json", humanart_doc())
    assert formats.detect(src) == "humanart"
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_export_evaluates(out, "humanart", gt_path=src)
    assert first_difference(doc, humanart_doc()) is None  # already a COCO file: nothing to change


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_round_trip_scene_views_and_coco_export(fo_db, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    src = write_json(tmp_path / "HumanArt" / "annotations" / "validation_humanart.json", humanart_doc())
    ds = fop.load(src, format="humanart", images_dir=tmp_path)  # the folder that contains HumanArt/
    assert ds.skeletons["ground_truth"].labels == list(skeletons.load("humanart").keypoints)
    assert ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"] == list(skeletons.load("humanart").sigmas)
    s = ds.first()
    assert s.filepath == str(tmp_path / "HumanArt/images/2D_virtual_human/cartoon/000000000123.jpg")
    assert s.category == "cartoon" and s.image_id == 3000000000123
    assert s.ground_truth.keypoints[0].self_contact == [[390.5, 250.0]]
    out = tmp_path / "out.json"
    fop.export(ds, out, format="humanart", overwrite=True)
    assert first_difference(json.loads(out.read_text()), humanart_doc()) is None

    cartoon = views.scene_category(ds, "cartoon")
    fop.export(cartoon, out, format="humanart", overwrite=True)
    doc = json.loads(out.read_text())
    want = humanart_doc()
    assert first_difference(doc["images"], want["images"][:1]) is None
    assert first_difference(doc["annotations"], want["annotations"][:1]) is None
    assert views.scene_category(ds, ["dance", "sculpture"]).values("category") == ["sculpture", "dance"]
    assert views.scene_category(ds, domains="real_human").values("image_id") == [3000000000125]
    assert len(views.scene_category(ds, domains=["2D_virtual_human", "3D_virtual_human"], categories="sculpture")) == 1
    with pytest.raises(ValueError, match="unknown domain"):
        views.scene_category(ds, domains="virtual")

    fop.export(ds, out, format="coco", overwrite=True)
    assert_export_evaluates(out, "humanart", gt_path=src)
