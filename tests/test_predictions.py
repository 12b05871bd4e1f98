"""Predictions into a dataset and back out: results lists as label fields, exported as the same list."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from eval_cases import UNKNOWN_IMAGE, keypoint_case
from helpers import coco_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from results_docs import detection_results, keypoint_results, wholebody_results
from strategies import coords, extras_for, numbers

import fiftyone_pose as fop
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError, PoseUsageError
from fiftyone_pose.fo.predictions import NOTE_UNKNOWN

COLUMNS = {"id", "image_id", "category_id", "bbox", "keypoints", "score"}


@pytest.fixture
def coco_dataset(fo_db, dataset_name, tmp_path):
    """The helpers' COCO example (images 7, 3000000000 and 11) as a dataset."""
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(coco_doc()))
    return fop.load(path, name=dataset_name)


def _write(tmp_path, doc, name="results.json"):
    path = tmp_path / name
    path.write_bytes(orjson.dumps(doc))
    return path


def test_keypoint_predictions_become_keypoints_with_scores(coco_dataset, tmp_path):
    doc = keypoint_results() + [{"image_id": UNKNOWN_IMAGE, "category_id": 1, "keypoints": [1] * 51, "score": 0.4}]
    summary = fop.load_predictions(coco_dataset, _write(tmp_path, doc))
    assert summary == {
        "field": "predictions",
        "predictions": 3,
        "images": 2,
        "layout": "coco (17 points)",
        "notes": {NOTE_UNKNOWN: 1},
    }
    sample = coco_dataset.match({"image_id": 7}).first()
    first, third = sample.predictions.keypoints
    assert first.confidence == [0.9] * 17 and first.score == 0.93 and first.label == "person"
    assert first.center == [110.0, 210.0] and first.points[0] == [100.5 / 640, 200.25 / 480]
    assert third.person_id == 12 and third.score == 0.5
    other = coco_dataset.match({"image_id": 3000000000}).first().predictions.keypoints[0]
    assert other.confidence == [0] * 17 and np.isnan(other.points[0]).all()  # a point scored 0: hidden
    assert coco_dataset.match({"image_id": 11}).first().predictions.keypoints == []
    assert coco_dataset.skeletons["predictions"].labels == coco_dataset.skeletons["ground_truth"].labels


def test_export_writes_the_results_list_back(coco_dataset, tmp_path):
    doc = keypoint_results()
    fop.load_predictions(coco_dataset, _write(tmp_path, doc))
    fop.export(coco_dataset, tmp_path / "back.json", format="coco_results", label_field="predictions")
    assert json.loads((tmp_path / "back.json").read_text()) == doc
    # the field remembers its format: no format= needed; the ground truth exports as before
    fop.export(coco_dataset, tmp_path / "again.json", label_field="predictions")
    assert json.loads((tmp_path / "again.json").read_text()) == doc
    fop.export(coco_dataset, tmp_path / "gt_back.json")
    assert first_difference(json.loads((tmp_path / "gt_back.json").read_text()), coco_doc()) is None


@st.composite
def coco_results_for_the_example(draw):
    """Results for the example's images: every number type, optional keys, odd extra keys."""
    records = []
    for _ in range(draw(st.integers(0, 6))):
        rec = {"image_id": draw(st.sampled_from([7, 3000000000, 11]))}
        if draw(st.booleans()):
            rec["id"] = draw(st.integers(-(2**63), 2**63 - 1))
        if draw(st.integers(0, 3)):
            rec["category_id"] = 1
        if draw(st.booleans()):
            rec["bbox"] = draw(st.lists(st.integers(0, 300) | st.floats(0, 300), min_size=4, max_size=4))
        rec["keypoints"] = draw(st.lists(st.one_of(coords, st.sampled_from([0, 0.0, 1])), min_size=51, max_size=51))
        rec["score"] = draw(numbers)
        rec.update(draw(extras_for(COLUMNS)))
        records.append(rec)
    return records


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=coco_results_for_the_example())
def test_results_round_trip_through_fiftyone(coco_dataset, tmp_path, doc):
    """Imported into the dataset and exported, a results list is the same document."""
    fop.load_predictions(coco_dataset, _write(tmp_path, doc), overwrite=True)
    fop.export(coco_dataset, tmp_path / "back.json", format="coco_results", label_field="predictions", overwrite=True)
    assert first_difference(json.loads((tmp_path / "back.json").read_text()), doc) is None


def test_a_point_count_that_disagrees_is_an_error_and_adds_nothing(coco_dataset, tmp_path):
    doc = [{"image_id": 7, "category_id": 1, "keypoints": [1, 2, 0.5] * 14, "score": 0.9}]
    with pytest.raises(PoseFormatError) as e:
        fop.load_predictions(coco_dataset, _write(tmp_path, doc))
    assert "results[0]: field 'keypoints': expected a list of 51 numbers (3 x 17 points), found 42 values" in str(
        e.value
    )
    assert "the layout 'coco' has 17 points" in str(e.value)
    assert not coco_dataset.has_field("predictions")


def test_an_existing_field_is_replaced_only_when_asked(coco_dataset, tmp_path):
    path = _write(tmp_path, keypoint_results())
    fop.load_predictions(coco_dataset, path)
    with pytest.raises(PoseUsageError, match="already has a field 'predictions'"):
        fop.load_predictions(coco_dataset, path)
    with pytest.raises(PoseUsageError, match="ground-truth field"):
        fop.load_predictions(coco_dataset, path, label_field="ground_truth", overwrite=True)
    fop.load_predictions(coco_dataset, _write(tmp_path, keypoint_results()[:1], "one.json"), overwrite=True)
    assert coco_dataset.count("predictions.keypoints") == 1


def test_a_failed_import_leaves_no_field(coco_dataset, tmp_path, monkeypatch):
    from fiftyone_pose.fo import predictions

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(predictions.UpdateOne, "__init__", broken)
    with pytest.raises(RuntimeError):
        fop.load_predictions(coco_dataset, _write(tmp_path, keypoint_results()))
    assert not coco_dataset.has_field("predictions")
    assert "predictions" not in coco_dataset.info["fiftyone_pose"] and "predictions" not in coco_dataset.skeletons


def test_detector_results_become_detections(coco_dataset, tmp_path):
    doc = [dict(r, image_id=7 if i == 0 else 3000000000) for i, r in enumerate(detection_results())]
    doc[1]["track"] = {"$odd": 1}  # not storable as an attribute: kept as JSON text
    summary = fop.load_predictions(coco_dataset, _write(tmp_path, doc), label_field="people")
    assert summary["layout"] == "detections (0 points)" and summary["predictions"] == 2
    det = coco_dataset.match({"image_id": 7}).first().people.detections[0]
    assert det.confidence == 0.99 and det.bbox == [10.5, 20, 100, 200.25]
    assert det.bounding_box == pytest.approx([10.5 / 640, 20 / 480, 100 / 640, 200.25 / 480])
    fop.export(coco_dataset, tmp_path / "back.json", format="coco_results", label_field="people")
    assert (tmp_path / "back.json").read_bytes() == orjson.dumps(doc)


def test_wholebody_predictions_are_one_133_point_person(fo_db, dataset_name, tmp_path):
    from helpers_wholebody import wholebody_doc

    gt = wholebody_doc()
    ds = fop.load(_write(tmp_path, gt, "wb.json"), name=dataset_name)
    doc = [dict(r, image_id=gt["images"][0]["id"]) for r in wholebody_results()]
    fop.load_predictions(ds, _write(tmp_path, doc))
    person = ds.match({"image_id": gt["images"][0]["id"]}).first().predictions.keypoints[1]
    assert len(person.points) == 133 and person.confidence == [0.25] * 133 and person.foot_score == 0.2
    fop.export(ds, tmp_path / "back.json", format="coco_results", label_field="predictions")
    assert (tmp_path / "back.json").read_bytes() == orjson.dumps(doc)


def test_predictions_must_match_by_image_id(fo_db, dataset_name, tmp_path):
    gt_doc, results = keypoint_case(1)
    ds = fop.load(_write(tmp_path, gt_doc, "gt.json"), name=dataset_name)
    ds.match({"image_id": gt_doc["images"][0]["id"]}).set_field("image_id", gt_doc["images"][1]["id"]).save()
    with pytest.raises(PoseUsageError, match="several samples with one image_id"):
        fop.load_predictions(ds, _write(tmp_path, results))


def test_cli_adds_predictions_and_exports_them(coco_dataset, tmp_path, capsys):
    from fiftyone_pose import cli

    coco_dataset.persistent = True
    path = _write(tmp_path, keypoint_results())
    assert cli.main(["import-predictions", str(path), "--dataset", coco_dataset.name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"added {path} to dataset '{coco_dataset.name}' (field 'predictions')"
    assert "  predictions: 3" in out
    back = tmp_path / "back.json"
    assert (
        cli.main(["export", coco_dataset.name, str(back), "--format", "coco_results", "--label-field", "predictions"])
        == 0
    )
    assert json.loads(back.read_text()) == keypoint_results()
    capsys.readouterr()
    assert cli.main(["import-predictions", str(tmp_path / "gt.json"), "--dataset", coco_dataset.name]) == 2
    assert "is not a COCO results list" in capsys.readouterr().err


def test_detections_export_leaves_fiftyones_own_evaluation_out(coco_dataset, tmp_path):
    doc = [dict(r, image_id=7) for r in detection_results()]
    fop.load_predictions(coco_dataset, _write(tmp_path, doc), label_field="people")
    coco_dataset.evaluate_detections("people", gt_field="ground_truth_boxes", eval_key="boxes")
    assert coco_dataset.count_values("people.detections.boxes")  # FiftyOne labeled them
    fop.export(coco_dataset, tmp_path / "back.json", format="coco_results", label_field="people")
    assert json.loads((tmp_path / "back.json").read_text()) == doc


@pytest.mark.parametrize("detections", [False, True])
def test_a_value_too_deep_to_keep_is_named_and_adds_nothing(coco_dataset, tmp_path, detections):
    doc = [dict(r, image_id=7) for r in (detection_results() if detections else keypoint_results())]
    doc[-1]["history"] = "DEEP"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc).replace('"DEEP"', "[" * 300 + "1" + "]" * 300))
    with pytest.raises(PoseFormatError, match=r"results\.json: results \(image_id 7\): field 'history': nested"):
        fop.load_predictions(coco_dataset, path, label_field="people")
    assert not coco_dataset.has_field("people") and "people" not in coco_dataset.info["fiftyone_pose"]
