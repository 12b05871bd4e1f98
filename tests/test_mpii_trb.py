"""MPII-TRB (mmpose ``mpii_trb_{train,val}.json``): read, written back identical (1-based
coordinates, ``num_joints``/``center``/``scale``/``headbox`` kept, no bbox/area added), converted
to a pycocotools-ready COCO file (AP = 1.0), and through FiftyOne."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
from coco_eval import results_of
from dataset_docs import write_json
from hypothesis import HealthCheck, given, settings
from mpii_trb_docs import NAMES, mpii_trb_doc, mpii_trb_docs

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import coco, mpii_trb
from fiftyone_pose.formats.protocol import Confidence, Peek

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc):
    return mpii_trb.encode(mpii_trb.decode(json.loads(json.dumps(doc))))


def assert_coco_ready(path: Path) -> dict:
    """pycocotools loads the COCO file and its persons, as results, score AP = 1.0 against it.

    MPII-TRB defines no OKS sigmas (the skeleton file has none): any positive ones give OKS 1 for
    identical points, so a flat 0.05 checks the file, not the metric.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    doc = json.loads(path.read_text())
    assert all(len(a["keypoints"]) == 120 and v in (0, 1, 2) for a in doc["annotations"] for v in a["keypoints"][2::3])
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        ev = COCOeval(gt, gt.loadRes(results_of(doc)), "keypoints")
        ev.params.kpt_oks_sigmas = np.full(40, 0.05)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == 1.0, ev.stats[0]
    return doc


def test_example_roundtrips_exactly():
    assert first_difference(roundtrip(mpii_trb_doc()), mpii_trb_doc()) is None


def test_model_layout_origin_counts_and_kept_keys():
    data = mpii_trb.decode(mpii_trb_doc())
    p = data.persons
    assert data.skeleton.name == "mpii_trb" and data.skeleton.num_keypoints == 40 and data.format == "mpii_trb"
    assert data.origin == 1  # MPII coordinates, kept as the file has them
    assert p.keypoints[0, 0].tolist() == [300.0, 120.0] and p.visibility[0, 12:14].tolist() == [1, 2]
    assert p.visibility_raw is None  # COCO's 0/1/2
    assert p.num_keypoints.tolist() == [38, 14, 40]  # num_joints is the stated count
    assert p.extras[0] == {"num_joints": 38, "center": [640.0, 330.0], "scale": 0.2849,
                           "headbox": [612.0, 120.0, 668.0, 190.0], "iscrowd": 0}  # fmt: skip
    assert "headbox" not in p.extras[1]  # train-style record
    assert np.isnan(p.boxes).all() and np.isnan(p.areas).all()  # none in the file; a COCO export derives them
    assert set(p.absent) == {"segmentation"}
    assert data.categories[0]["keypoints"] == NAMES and "skeleton" not in data.categories[0]
    assert data.meta["info"]["year"] == 2019 and not data.notes
    assert data.images.widths.tolist() == [1280, 640, 300]


def test_coco_export_is_pycocotools_ready_and_zero_based(tmp_path):
    src = write_json(tmp_path / "mpii_trb_val.json", mpii_trb_doc())
    assert formats.detect(src) == "mpii_trb"
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_coco_ready(out)
    a = doc["annotations"][0]
    source = mpii_trb_doc()["annotations"][0]
    # labeled points move to COCO's 0-based pixels; unlabeled ones keep their 0, 0, 0
    assert a["keypoints"][:3] == [299.0, 119.0, 2] and a["keypoints"][-3:] == [0, 0, 0]
    labeled = np.array(source["keypoints"]).reshape(40, 3)
    labeled = labeled[labeled[:, 2] > 0]
    x0, y0 = labeled[:, 0].min() - 1, labeled[:, 1].min() - 1
    w, h = labeled[:, 0].max() - 1 - x0, labeled[:, 1].max() - 1 - y0
    assert a["bbox"] == [x0, y0, w, h] and a["area"] == w * h  # the extent of the labeled points
    assert a["num_keypoints"] == 38 and a["num_joints"] == 38 and a["iscrowd"] == 0
    assert a["center"] == [640.0, 330.0] and a["headbox"] == source["headbox"]  # verbatim extras
    assert "segmentation" not in a
    assert doc["categories"][0]["keypoints"] == NAMES and doc["info"]["year"] == 2019
    # and the COCO file reads back (COCO, 0-based) with the same points, one pixel to the top-left
    again = coco.read(out, skeleton="mpii_trb")
    assert again.persons.keypoints[0, 0].tolist() == [299.0, 119.0]


def test_num_joints_is_required_and_a_count():
    for value, message in ((None, "expected a non-negative count, found None"), ("38", "found '38'"),
                           (-1, "found -1"), (2.5, "found 2.5"), (True, "found True")):  # fmt: skip
        doc = mpii_trb_doc()
        doc["annotations"][1]["num_joints"] = value
        with pytest.raises(
            PoseFormatError, match=rf"^x\.json: annotations\[1\] \(id 1202\): field 'num_joints': .*{message}"
        ):
            mpii_trb.decode(doc, path="x.json")
    doc = mpii_trb_doc()
    del doc["annotations"][2]["num_joints"]
    with pytest.raises(
        PoseFormatError, match=r"annotations\[2\] \(id 7\): field 'num_joints': required key is missing"
    ):
        mpii_trb.decode(doc)


def test_num_joints_spelling_and_mismatch_are_kept_and_noted():
    doc = mpii_trb_doc()
    doc["annotations"][0]["num_joints"] = 38.0  # a float count: written back as a float
    doc["annotations"][1]["num_joints"] = 12  # 14 points are labeled
    data = mpii_trb.decode(doc)
    assert data.persons.num_keypoints.tolist() == [38, 12, 40]
    assert data.notes == {mpii_trb.NOTE_COUNT: 1}
    assert first_difference(mpii_trb.encode(data), doc) is None


def test_center_scale_headbox_of_another_shape_are_kept_and_noted():
    doc = mpii_trb_doc()
    doc["annotations"][0]["headbox"] = [612.0, 120.0, 668.0]
    doc["annotations"][1]["center"] = "640, 330"
    del doc["annotations"][2]["scale"]  # absent: nothing to say about it
    data = mpii_trb.decode(doc)
    assert data.notes == {mpii_trb.NOTE_FIELDS: 2}
    assert first_difference(mpii_trb.encode(data), doc) is None


def test_a_copy_with_coco_keys_keeps_them():
    doc = mpii_trb_doc()
    a = doc["annotations"][2]
    a.update(num_keypoints=39, bbox=[1.5, 2.0, 30.0, 40.0], area=1200.0, segmentation=[])
    del doc["annotations"][1]["iscrowd"]
    del doc["info"]
    assert first_difference(roundtrip(doc), doc) is None
    coco_doc = coco.encode(mpii_trb.decode(doc))
    assert coco_doc["annotations"][2]["num_keypoints"] == 39 and coco_doc["annotations"][1]["iscrowd"] == 0


def test_edited_counts_are_recounted_and_new_persons_get_num_joints():
    data = mpii_trb.decode(mpii_trb_doc())
    p = data.persons
    vis = p.visibility.copy()
    vis[0, :5] = 0  # five points hidden (as a FiftyOne view hides them)
    counts = p.num_keypoints.copy()
    counts[0] = -1  # "recount" (what the FiftyOne export says for an edited person)
    drawn = p.take(np.array([2]))  # a person made elsewhere: no extra keys
    drawn = dataclasses.replace(drawn, extras=[{}], num_keypoints=np.array([-1]), ids=np.array([99]))
    from fiftyone_pose.core.model import Persons

    persons = Persons.concat([dataclasses.replace(p, visibility=vis, num_keypoints=counts), drawn], 40)
    doc = mpii_trb.encode(dataclasses.replace(data, persons=persons))
    assert doc["annotations"][0]["num_joints"] == 33 and doc["annotations"][1]["num_joints"] == 14
    assert doc["annotations"][3] == {"id": 99, "image_id": 123456, "category_id": 1,
                                     "keypoints": doc["annotations"][2]["keypoints"], "num_joints": 40}  # fmt: skip


@SETTINGS
@given(mpii_trb_docs())
def test_generated_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_detected_by_num_joints_or_by_the_40_names(tmp_path):
    path = write_json(tmp_path / "val.json", mpii_trb_doc())
    scores = {name: m.detect(Peek(path)) for name, m in formats.REGISTRY.items()}
    assert formats.detect(path) == "mpii_trb" and all(
        s == Confidence.NO for name, s in scores.items() if name not in ("mpii_trb", "coco")
    ), scores
    doc = mpii_trb_doc()
    for a in doc["annotations"]:
        a["n_joints"] = a.pop("num_joints")
    assert formats.detect(write_json(tmp_path / "names.json", doc)) == "mpii_trb"
    from helpers import coco_doc

    assert mpii_trb.detect(Peek(write_json(tmp_path / "coco.json", coco_doc()))) == Confidence.NO


def test_other_layouts_need_a_conversion():
    from helpers import coco_doc

    with pytest.raises(ValueError, match="layout='mpii_trb'"):
        mpii_trb.encode(coco.decode(coco_doc()))


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_points_attributes_round_trip_and_curation(fo_db, tmp_path):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "mpii_trb_val.json", mpii_trb_doc())
    ds = fop.load(src, images_dir=tmp_path)  # sniffed; the file gives the sizes
    assert ds.skeletons["ground_truth"].labels == NAMES and ds.info["fiftyone_pose"]["ground_truth"]["origin"] == 1
    s = ds.first()
    person = s.ground_truth.keypoints[0]
    assert person.points[0] == [(300.0 - 1) / 1280, (120.0 - 1) / 720]  # 1-based: shifted for FiftyOne
    assert person.visibility[12:14] == [1, 2] and np.isnan(person.points[-1]).all()
    assert (
        person.num_joints == 38 and person.center == [640.0, 330.0] and person.headbox == [612.0, 120.0, 668.0, 190.0]
    )
    assert len(s.ground_truth_boxes.detections) == 0  # no person box in the file
    out = tmp_path / "out.json"
    fop.export(ds, out, overwrite=True)  # the format it came from
    assert first_difference(json.loads(out.read_text()), mpii_trb_doc()) is None

    # hidden points are written unlabeled and num_joints is recounted
    view = ds.filter_keypoints("ground_truth", labels=NAMES[5:])
    fop.export(view, out, overwrite=True)
    a = json.loads(out.read_text())["annotations"][0]
    assert a["keypoints"][:15] == [0] * 15 and a["num_joints"] == 33
    assert a["center"] == [640.0, 330.0]

    fop.export(ds, out, format="coco", overwrite=True)
    assert assert_coco_ready(out)["annotations"][1]["num_keypoints"] == 14


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=mpii_trb_docs(fiftyone=True, max_images=2))
def test_generated_files_survive_fiftyone(fo_db, tmp_path, doc):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "gen.json", doc)
    ds = fop.load(src, format="mpii_trb", images_dir=tmp_path)
    try:
        out = tmp_path / "out.json"
        fop.export(ds, out, overwrite=True)
        assert first_difference(json.loads(out.read_text()), doc) is None
    finally:
        ds.delete()
