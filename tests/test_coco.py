"""COCO reader/writer: exact round trips (examples and generated documents) and the model it fills."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import coco_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import coco_documents

from fiftyone_pose import formats
from fiftyone_pose.core import errors as fop_errors
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.formats import coco, cocolike, jsonio


def roundtrip(doc):
    return coco.encode(coco.decode(json.loads(json.dumps(doc))))


def test_example_roundtrips_exactly():
    doc = coco_doc()
    assert first_difference(roundtrip(doc), doc) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coco_documents())
def test_generated_documents_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coco_documents(), st.sampled_from([1, 200]), st.sampled_from([1, 3]))
def test_generated_files_read_in_chunks_roundtrip_exactly(tmp_path_factory, doc, chunk_bytes, decode_chunk):
    """A file's images and annotations are parsed and converted a chunk at a time, and so is a
    parsed document: chunk edges never show (e.g. one chunk of int keypoints beside one of floats)."""
    path = tmp_path_factory.mktemp("chunks") / "in.json"
    path.write_text(json.dumps(doc))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
        mp.setattr(cocolike, "DECODE_CHUNK", decode_chunk)
        assert first_difference(coco.encode(coco.read(path)), doc) is None
        assert first_difference(coco.encode(coco.decode(doc)), doc) is None


def test_file_roundtrip_through_disk(tmp_path):
    src, dst = tmp_path / "in.json", tmp_path / "out.json"
    src.write_text(json.dumps(coco_doc()))
    formats.write(formats.read(src), dst)
    assert first_difference(json.loads(dst.read_text()), coco_doc()) is None


def test_model_columns():
    data = coco.decode(coco_doc())
    p = data.persons
    assert data.skeleton.name == "coco" and data.skeleton.sigmas is not None
    assert list(data.images.ids) == [7, 3000000000, 11]
    assert data.images.file_names[1] == "sub/dir/9.jpg"
    assert p.keypoints.shape == (4, 17, 2) and p.keypoints.dtype == np.float64
    assert p.visibility.dtype == np.int8
    assert p.keypoints[0, 1].tolist() == [255.0, 98.0]
    assert p.visibility[0, :6].tolist() == [2, 2, 0, 1, 0, 2]
    assert p.crowd.tolist() == [False, True, False, False]
    assert p.image_index.tolist() == [0, 0, 1, 1]
    assert not p.int_mask["keypoints"].all()  # ints and floats mixed across persons
    assert p.extras[3] == {"source_note": "unknown extra key", "attributes": {"occluded": False}}
    assert data.meta == {k: coco_doc()[k] for k in ("info", "licenses", "extra_top_level")}
    summary = data.summary()
    assert summary["persons"] == 3 and summary["crowd_regions"] == 1
    assert summary["persons_without_keypoints"] == 1
    assert summary["keypoints_labeled"] == 4 + 17


def test_visibility_outside_coco_scale_is_mapped_counted_and_kept():
    doc = coco_doc()
    kps = doc["annotations"][0]["keypoints"]
    kps[2], kps[5] = 0.27, 3
    data = coco.decode(doc)
    assert data.persons.visibility[0, :2].tolist() == [2, 2]
    assert data.notes["visibility values other than 0/1/2 (read as 0 if <= 0, else labeled; raw value kept)"] == 2
    assert first_difference(coco.encode(data), doc) is None


def test_missing_optional_keys_stay_missing():
    doc = coco_doc()
    for key in ("bbox", "area", "segmentation", "num_keypoints", "iscrowd"):
        del doc["annotations"][0][key]
    del doc["info"]
    assert first_difference(roundtrip(doc), doc) is None


def test_test_set_image_list_without_annotations():
    doc = {"images": coco_doc()["images"], "categories": coco_doc()["categories"]}
    data = coco.decode(doc)
    assert len(data.persons) == 0
    assert first_difference(coco.encode(data), doc) is None


def test_category_without_names_uses_layout_of_that_size():
    doc = coco_doc()
    doc["categories"][0]["keypoints"] = []
    doc["categories"][0]["skeleton"] = []
    data = coco.decode(doc)
    assert data.skeleton.name == "coco"
    assert first_difference(coco.encode(data), doc) is None


def test_custom_layout_comes_from_the_category():
    doc = coco_doc()
    doc["categories"][0]["keypoints"] = [f"p{i}" for i in range(17)]
    data = coco.decode(doc)
    assert data.skeleton.name == "custom"
    assert data.skeleton.edges[0] == (15, 13)  # 1-based in the file, 0-based in the model


def test_detect_and_registry(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(coco_doc()))
    assert formats.detect(path) == "coco"
    with pytest.raises(ValueError, match="unknown format"):
        formats.get("nope")


def test_every_format_module_is_registered():
    import pkgutil

    import fiftyone_pose.formats as pkg

    modules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    assert modules == set(formats.REGISTRY) | set(formats.SUPPORT_MODULES)
    assert not set(formats.REGISTRY) & set(formats.SUPPORT_MODULES)


def test_decoding_in_chunks_gives_the_same_data(monkeypatch):
    """decode() converts a parsed document a chunk of records at a time; chunk edges must not
    show, errors name the record's place in the whole document, and the document is not changed."""
    doc = coco_doc()
    doc["annotations"][2]["keypoints"][0] = 1.5  # a float among ints, in the second chunk
    given = json.loads(json.dumps(doc))
    monkeypatch.setattr(cocolike, "DECODE_CHUNK", 2)
    assert first_difference(coco.encode(coco.decode(doc)), given) is None
    assert doc == given
    doc["annotations"][3]["keypoints"][4] = "x"
    with pytest.raises(fop_errors.PoseFormatError, match=r"annotations\[3\] \(id 3\)"):
        coco.decode(doc)


def test_data_counting_pixels_from_1_is_written_to_coco_from_0(tmp_path):
    """A MATLAB-made file's coordinates (origin 1) move by one pixel in a COCO file; placeholders of
    unlabeled points do not."""
    from fiftyone_pose.core.model import with_origin

    data = coco.decode(coco_doc())
    one_based = with_origin(data, 1)
    p, q = data.persons, one_based.persons
    labeled = p.visibility > 0
    np.testing.assert_array_equal(q.keypoints[labeled], p.keypoints[labeled] + 1)
    np.testing.assert_array_equal(q.keypoints[~labeled], p.keypoints[~labeled])
    np.testing.assert_array_equal(q.boxes[:, :2], p.boxes[:, :2] + 1)
    np.testing.assert_array_equal(q.boxes[:, 2:], p.boxes[:, 2:])
    formats.write(one_based, tmp_path / "out.json", "coco")
    assert first_difference(json.loads((tmp_path / "out.json").read_text()), coco_doc()) is None


def test_empty_categories_stay_empty(tmp_path):
    """``"categories": []`` is written back as it is, not as a made-up ``person`` category."""
    doc = coco_doc()
    doc["categories"] = []
    for ann in doc["annotations"]:
        ann.pop("category_id")
    assert first_difference(coco.encode(coco.decode(doc)), doc) is None
    path = tmp_path / "empty_categories.json"
    path.write_text(json.dumps(doc))
    formats.convert(path, tmp_path / "out.json", "coco", "coco")
    assert first_difference(json.loads((tmp_path / "out.json").read_text()), doc) is None


def test_values_spelled_like_an_internal_marker_are_kept():
    """No value a file can hold is taken for the model's marker of a missing key."""
    doc = coco_doc()
    doc["info"] = "__absent__"
    doc["licenses"] = "__absent__"
    doc["extra_key"] = "__absent__"
    doc["images"][0]["note"] = "__absent__"
    doc["annotations"][0]["note"] = "__absent__"
    assert first_difference(coco.encode(coco.decode(doc)), doc) is None


@pytest.mark.parametrize("k", [5, 14])
def test_a_category_without_names_reads_as_a_generic_k_point_layout_and_writes_back(k):
    """Real files: an empty ``keypoints`` name list with K-point persons (K of no shipped layout, or
    of several) reads with a generic K-point skeleton and is written back exactly."""
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 7, "image_id": 1, "category_id": 1, "keypoints": [1.5, 2, 2] * (k - 1) + [0, 0, 0],
             "num_keypoints": k - 1, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}],
    }  # fmt: skip
    data = coco.decode(doc)
    assert data.skeleton.name == "custom" and data.skeleton.num_keypoints == k
    assert data.skeleton.keypoints[0] == "keypoint_0"
    assert first_difference(coco.encode(data), doc) is None
