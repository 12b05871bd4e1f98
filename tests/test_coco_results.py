"""COCO results lists: read and written back as the same document, sniffed, and refused clearly."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from results_docs import detection_results, keypoint_results, wholebody_results
from strategies import coords, extras_for, numbers

from fiftyone_pose import cli, formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError, PoseUsageError
from fiftyone_pose.formats import coco_results
from fiftyone_pose.formats.coco_wholebody import PART_ARRAYS
from fiftyone_pose.formats.protocol import Confidence, Peek

COLUMNS = {"id", "image_id", "category_id", "bbox", "keypoints", "score", *(k for k, _ in PART_ARRAYS)}
ints64 = st.integers(-(2**63), 2**63 - 1)


@st.composite
def results_lists(draw, max_records: int = 8):
    """A valid results list: keypoint (K points), COCO-WholeBody or detector results, with every
    number type, optional ``id`` / ``category_id`` / ``bbox``, and extra keys."""
    flavor = draw(st.sampled_from(["keypoints", "wholebody", "detections"]))
    k = draw(st.sampled_from([17, 14, 3]))
    image_ids = draw(st.lists(ints64, min_size=1, max_size=4))
    records = []
    for _ in range(draw(st.integers(0, max_records))):
        rec = {}
        if draw(st.booleans()):
            rec["id"] = draw(ints64)
        rec["image_id"] = draw(st.sampled_from(image_ids))
        if draw(st.integers(0, 3)):
            rec["category_id"] = draw(ints64)
        if flavor == "detections" or draw(st.booleans()):
            rec["bbox"] = draw(st.lists(numbers, min_size=4, max_size=4))
        sizes = {"keypoints": 17, **dict(PART_ARRAYS)} if flavor == "wholebody" else {"keypoints": k}
        if flavor != "detections":
            for key, n in sizes.items():
                rec[key] = draw(
                    st.lists(st.one_of(coords, st.sampled_from([0, 0.0, 1])), min_size=3 * n, max_size=3 * n)
                )
        rec["score"] = draw(numbers)
        rec.update(draw(extras_for(COLUMNS)))
        records.append(rec)
    return records


@settings(max_examples=60, deadline=None)
@given(doc=results_lists())
def test_a_results_list_is_written_back_as_the_same_document(doc):
    data = coco_results.decode(doc)
    again = coco_results.encode(data)
    assert first_difference(again, doc) is None
    assert len(data.persons) == len(doc)
    if doc and "foot_kpts" in doc[0]:
        assert data.skeleton.name == "coco_wholebody" and data.persons.num_points == 133


def test_files_round_trip_byte_for_byte_in_the_usual_key_order(tmp_path):
    for doc in (keypoint_results()[:1], wholebody_results(), detection_results()):
        path = tmp_path / "r.json"
        path.write_bytes(orjson.dumps(doc))
        formats.write(formats.read(path), tmp_path / "out.json", "coco_results")
        assert (tmp_path / "out.json").read_bytes() == path.read_bytes()


def test_wholebody_results_become_one_133_point_person():
    doc = wholebody_results()
    data = coco_results.decode(doc)
    assert data.skeleton.name == "coco_wholebody"
    p = data.persons
    assert p.keypoints.shape == (2, 133, 2)
    assert p.keypoints[0, 17].tolist() == doc[0]["foot_kpts"][:2]  # feet follow the body
    assert p.raw_visibility()[0].tolist() == [0.25] * 133
    assert p.extras[1] == {"score": 0.7, "foot_score": 0.2, "wholebody_score": 0.65}


def test_detector_results_are_boxes_without_points():
    data = coco_results.decode(detection_results())
    assert data.persons.num_points == 0 and data.skeleton.name == "detections"
    assert data.persons.boxes[0].tolist() == [10.5, 20, 100, 200.25]
    assert data.images.ids.tolist() == [7, 8]


def test_keypoint_values_scores_and_images():
    data = coco_results.decode(keypoint_results())
    p = data.persons
    assert data.images.ids.tolist() == [7, 3000000000]  # in the order the file first names them
    assert p.image_index.tolist() == [0, 1, 0]
    assert p.visibility[1].tolist() == [0] * 17  # a point score of 0: not a point
    assert p.raw_visibility()[0, 0] == 0.9 and p.visibility[0, 0] == 2
    assert p.ids.tolist() == [1, 2, 12] and p.absent["id"].tolist() == [True, True, False]
    assert [e["score"] for e in p.extras] == [0.93, 1, 0.5]


def test_the_layout_is_forced_and_a_point_count_that_disagrees_is_named():
    doc = keypoint_results()
    assert coco_results.decode(doc, skeleton="ochuman").skeleton.name == "ochuman"
    with pytest.raises(PoseFormatError) as e:
        coco_results.decode(doc, path="r.json", skeleton="crowdpose")
    assert str(e.value) == (
        "r.json: results[0]: field 'keypoints': expected a list of 42 numbers (3 x 14 points), found 51 values; "
        "the layout 'crowdpose' has 14 points"
    )
    with pytest.raises(PoseFormatError, match=r"results\[0\]: field 'foot_kpts': holds COCO-WholeBody results"):
        coco_results.decode(wholebody_results(), skeleton="coco")


BAD_RECORDS = [
    (lambda d: d.__setitem__(1, 5), "results[1]: expected an object, found int"),
    (lambda d: d[1].pop("score"), "results[1]: field 'score': required key is missing"),
    (lambda d: d[2].update(score="0.5"), "results[2] (id 12): field 'score': expected a number, found '0.5'"),
    (lambda d: d[2].update(image_id=7.0), "results[2] (id 12): field 'image_id': expected an integer, found 7.0"),
    (
        lambda d: d[1]["keypoints"].pop(),
        "results[1]: field 'keypoints': expected a list of 51 numbers (3 x 17 points), found 50 values; "
        "the layout 'coco' has 17 points",
    ),
    (lambda d: d[1]["keypoints"].__setitem__(4, None), "results[1]: field 'keypoints': expected numbers, found None"),
    (lambda d: d[1].update(bbox=[1, 2]), "results[1]: field 'bbox': expected a list [x, y, w, h], found 2 values"),
    (lambda d: d[1].pop("keypoints"), "results[1]: field 'keypoints': required key is missing"),
]


@pytest.mark.parametrize(("change", "error"), BAD_RECORDS)
def test_bad_records_are_named(change, error):
    doc = keypoint_results()
    change(doc)
    with pytest.raises(PoseFormatError) as e:
        coco_results.decode(doc, path="r.json")
    assert str(e.value) == f"r.json: {error}"


def test_not_a_list():
    with pytest.raises(PoseFormatError, match="expected a JSON list of results, found dict"):
        coco_results.decode({"annotations": []})


def test_a_prediction_without_a_score_cannot_be_written():
    data = coco_results.decode(keypoint_results())
    del data.persons.extras[2]["score"]
    with pytest.raises(PoseFormatError, match=r"results\[2\]: field 'score': has no score"):
        coco_results.encode(data)


def test_detection_and_description(tmp_path):
    for doc, words in (
        (keypoint_results(), "a COCO keypoint results list"),
        (wholebody_results(), "a COCO-WholeBody results list"),
        (detection_results(), "a person-detector results list"),
    ):
        path = tmp_path / "r.json"
        path.write_text(json.dumps(doc, indent=1))
        assert formats.detect(path) == "coco_results"
        assert coco_results.describe(path).startswith(words)
    # other JSON lists are not results lists
    path.write_text(json.dumps([{"image_id": "abc", "keypoint_annotations": {}, "human_annotations": {}}]))
    assert coco_results.detect(Peek(path)) is Confidence.NO
    path.write_text("[]")
    assert coco_results.detect(Peek(path)) is Confidence.NO


def test_import_of_a_results_list_says_what_it_is(tmp_path, capsys):
    """``--format auto`` recognises the list and points to import-predictions, before any database work."""
    path = tmp_path / "results.json"
    path.write_text(json.dumps(keypoint_results()))
    code = cli.main(["import", str(path), "--name", "x"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == [
        f"fiftyone-pose: error: {path} is a COCO keypoint results list (model predictions), not a dataset: add it "
        f"to the dataset it was predicted on with `fiftyone-pose import-predictions {path} --dataset NAME` "
        "(Python: fiftyone_pose.load_predictions)"
    ]
    assert isinstance(coco_results.not_a_dataset(path), PoseUsageError)


def test_convert_copies_a_results_list(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_bytes(orjson.dumps(detection_results()))
    assert cli.main(["convert", str(path), str(tmp_path / "out.json"), "--to", "coco_results"]) == 0
    assert (tmp_path / "out.json").read_bytes() == path.read_bytes()
    assert "format: coco_results" in capsys.readouterr().out


def test_the_scores_are_the_visibility_raw_values():
    data = coco_results.decode(keypoint_results())
    raw = data.persons.raw_visibility()
    assert np.array_equal(data.persons.visibility, np.where(raw <= 0, 0, np.where(raw == 1, 1, 2)))
