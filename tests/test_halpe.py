"""Halpe Full-Body (136 points): exact round trips (pure and through FiftyOne), detection, image
names as given, export as 17-point COCO (COCOeval AP 1.0), and part views on a layout without
part flags."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from helpers import coco_doc
from helpers_wholebody import coco_eval_ap, halpe_doc, wholebody_doc
from hypothesis import HealthCheck, given, settings
from strategies_wholebody import halpe_documents

from fiftyone_pose import PoseFormatError, formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.layouts import to_layout
from fiftyone_pose.formats import coco, coco_wholebody, halpe
from fiftyone_pose.formats.protocol import Peek

HALPE = skeletons.load("halpe")


def roundtrip(doc):
    return halpe.encode(halpe.decode(json.loads(json.dumps(doc))))


def generated(n_images=150, seed=7):
    from benchmarks.generate import generate_coco

    return orjson.loads(orjson.dumps(generate_coco(n_images, "halpe", seed)))


# ------------------------------------------------------------------------------------ pure layer


def test_documented_example_roundtrips_exactly():
    doc = halpe_doc()
    assert first_difference(roundtrip(doc), doc) is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(halpe_documents())
def test_generated_documents_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_benchmark_generator_file_roundtrips_exactly():
    doc = generated()
    assert first_difference(roundtrip(doc), doc) is None


def test_model():
    data = halpe.decode(halpe_doc())
    p = data.persons
    assert data.skeleton.name == "halpe" and len(data.skeleton.sigmas) == 136
    assert p.keypoints.shape == (2, 136, 2)
    # v=0 with real coordinates: unlabeled, coordinates kept for export
    assert p.visibility[0, 2] == 0 and p.keypoints[0, 2].tolist() == [133.5, 221.0]
    assert p.visibility[0, 30] == 0 and p.keypoints[0, 30].tolist() == [140.25, 80.5]
    assert p.visibility[0, HALPE.index("head")] > 0
    assert p.num_keypoints.tolist() == [15, 0]  # the file's count (first 17 only)
    assert data.categories == halpe_doc()["categories"]  # empty names/skeleton, kept
    assert data.images.file_names == ["HICO_train2015_00004242.jpg", "000000000139.jpg"]  # as given


def test_recount_counts_the_first_17_points_only():
    data = halpe.decode(halpe_doc())
    data.persons.num_keypoints[:] = -1
    out = halpe.encode(data)
    assert [a["num_keypoints"] for a in out["annotations"]] == [15, 0]


def test_file_without_info_and_image_list_without_annotations():
    doc = halpe_doc()
    assert "info" not in doc and first_difference(roundtrip(doc), doc) is None
    del doc["annotations"]  # a test-set style image list
    assert first_difference(roundtrip(doc), doc) is None


def test_wrong_number_of_values_names_the_record():
    doc = halpe_doc()
    doc["annotations"][1]["keypoints"] = [0] * 51
    with pytest.raises(
        PoseFormatError, match=r"annotations\[1\] \(id 89\): field 'keypoints': has 51 values, expected 408"
    ):
        halpe.decode(doc)


def test_detection(tmp_path):
    path = tmp_path / "halpe_val_v1.json"
    path.write_text(json.dumps(halpe_doc()))
    assert formats.detect(path) == "halpe"
    assert halpe.detect(Peek(path)) > coco.detect(Peek(path)) > coco_wholebody.detect(Peek(path))
    for name, doc in (("coco", coco_doc()), ("coco_wholebody", wholebody_doc())):
        other = tmp_path / f"{name}.json"
        other.write_text(json.dumps(doc))
        assert halpe.detect(Peek(other)) < coco.detect(Peek(other))
        assert formats.detect(other) == name


def test_detection_looks_at_the_tail_of_big_files(tmp_path):
    doc = generated(n_images=800)
    raw = orjson.dumps(doc)
    assert raw.index(b'"annotations"') > 1 << 17
    path = tmp_path / "big.json"
    path.write_bytes(raw)
    assert formats.detect(path) == "halpe"
    data = formats.read(path)
    assert data.format == "halpe" and data.persons.num_points == 136


def test_export_as_plain_coco_evaluates_to_ap_1(tmp_path):
    src = tmp_path / "halpe.json"
    src.write_bytes(orjson.dumps(generated()))
    out = tmp_path / "coco17.json"
    formats.write(formats.read(src), out, "coco", layout="coco")
    doc = json.loads(out.read_text())
    source = {a["id"]: a for a in json.loads(src.read_text())["annotations"]}
    assert doc["categories"][0]["keypoints"] == list(skeletons.load("coco").keypoints)
    assert "info" in doc  # pycocotools 2.0.9/2.0.10 need it
    for ann in doc["annotations"]:
        assert ann["keypoints"] == source[ann["id"]]["keypoints"][:51]
        assert ann["num_keypoints"] == source[ann["id"]]["num_keypoints"]
    ap, n = coco_eval_ap(doc)
    assert n > 100 and ap == pytest.approx(1.0)


def test_as_wholebody_by_name():
    data = halpe.decode(halpe_doc())
    doc = coco_wholebody.encode(to_layout(data, "coco_wholebody"))
    ann = doc["annotations"][0]
    src = halpe_doc()["annotations"][0]["keypoints"]
    # Halpe interleaves the feet (left big toe, right big toe, left small toe, ...);
    # WholeBody lists the left foot first: each point goes to its own name
    names = ["left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"]
    expected = [v for name in names for v in src[3 * HALPE.index(name) : 3 * HALPE.index(name) + 3]]
    assert ann["foot_kpts"] == expected
    assert ann["keypoints"] == src[:51] and ann["face_kpts"] == src[26 * 3 : 94 * 3]


# ----------------------------------------------------------------------------------- FiftyOne


def export_doc(collection, tmp_path, name="out.json", **kwargs):
    import fiftyone_pose as fop

    out = tmp_path / name
    fop.export(collection, out, overwrite=True, **kwargs)
    return json.loads(out.read_text())


def test_import_export_through_fiftyone(fo_db, tmp_path):
    import fiftyone_pose as fop

    path = tmp_path / "halpe_train_v1.json"
    path.write_text(json.dumps(halpe_doc()))
    (tmp_path / "hico_20160224_det" / "images" / "train2015").mkdir(parents=True)
    ds = fop.load(path, images_dir=tmp_path / "hico_20160224_det" / "images" / "train2015")
    assert ds.skeletons["ground_truth"].labels == list(HALPE.keypoints)
    assert len(ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"]) == 136
    s = ds.first()
    assert s.filepath.endswith("hico_20160224_det/images/train2015/HICO_train2015_00004242.jpg")
    assert s.file_name == "HICO_train2015_00004242.jpg"
    person = s.ground_truth.keypoints[0]
    assert np.isnan(person.points[2]).all() and person.raw_keypoints[6:9] == [133.5, 221.0, 0]
    assert first_difference(export_doc(ds, tmp_path, format="halpe"), halpe_doc()) is None
    doc = export_doc(ds, tmp_path, name="c.json", format="coco", layout="coco")
    assert len(doc["annotations"][0]["keypoints"]) == 51


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(doc=halpe_documents(max_images=3, max_persons=4))
def test_generated_documents_survive_fiftyone(fo_db, tmp_path, doc):
    import fiftyone_pose as fop

    path = tmp_path / "gen.json"
    path.write_text(json.dumps(doc))
    ds = fop.load(path, format="halpe", images_dir=tmp_path)
    try:
        assert first_difference(export_doc(ds, tmp_path, format="halpe"), doc) is None
    finally:
        ds.delete()


def test_part_views_without_part_flags(fo_db, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    doc = generated(n_images=100, seed=3)
    path = tmp_path / "halpe.json"
    path.write_bytes(orjson.dumps(doc))
    ds = fop.load(path, images_dir=tmp_path)
    anns = doc["annotations"]

    def count(ann, lo, hi, labeled=False):
        return sum(1 for v in ann["keypoints"][3 * lo + 2 : 3 * hi : 3] if (v > 0 if labeled else v == 2))

    cases = [
        (views.face_visible(ds, min_visible=45), [a for a in anns if count(a, 26, 94) >= 45]),
        (
            views.part_visible(ds, "lefthand", min_visible=None, valid=True),
            [a for a in anns if count(a, 94, 115, True) > 0],
        ),
        (views.part_visible(ds, "foot", min_visible=4, labeled=True), [a for a in anns if count(a, 20, 26, True) >= 4]),
        (views.part_visible(ds, "body", min_visible=15), [a for a in anns if count(a, 0, 20) >= 15]),
    ]
    for i, (view, expected) in enumerate(cases):
        assert 0 < len(expected) < len(anns), i
        assert view.count("ground_truth.keypoints") == len(expected), i
        out = export_doc(view, tmp_path, name=f"v{i}.json", format="halpe")
        assert sorted(a["id"] for a in out["annotations"]) == sorted(a["id"] for a in expected), i
