"""COCO-WholeBody (133 points): exact round trips (pure and through FiftyOne), the model it fills,
detection, export as 17-point COCO (COCOeval AP 1.0), and part views with exact person counts."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from helpers import coco_doc
from helpers_wholebody import coco_eval_ap, halpe_doc, wholebody_doc
from hypothesis import HealthCheck, given, settings
from strategies_wholebody import wholebody_documents

from fiftyone_pose import PoseFormatError, formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.layouts import part_indices, to_layout
from fiftyone_pose.formats import coco, coco_wholebody, cocolike, halpe, jsonio
from fiftyone_pose.formats.protocol import Peek

WB = skeletons.load("coco_wholebody")


def roundtrip(doc):
    return coco_wholebody.encode(coco_wholebody.decode(json.loads(json.dumps(doc))))


def generated(n_images=150, seed=5):
    from benchmarks.generate import generate_coco

    return orjson.loads(orjson.dumps(generate_coco(n_images, "wholebody", seed)))


# ------------------------------------------------------------------------------------ pure layer


def test_documented_example_roundtrips_exactly():
    doc = wholebody_doc()
    assert first_difference(roundtrip(doc), doc) is None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(wholebody_documents())
def test_generated_documents_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(wholebody_documents())
def test_generated_files_read_a_record_per_chunk_roundtrip_exactly(tmp_path_factory, doc):
    """The part arrays are read per chunk of annotations (``refine``): chunk edges never show."""
    path = tmp_path_factory.mktemp("wb") / "in.json"
    path.write_bytes(orjson.dumps(doc))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jsonio, "CHUNK_BYTES", 1)
        data = coco_wholebody.read(path)
    assert data.skeleton.num_keypoints == 133
    assert list(data.persons.part_boxes) == [
        part for _, part in coco_wholebody.PART_BOXES if part in data.persons.part_boxes
    ]
    assert first_difference(coco_wholebody.encode(data), doc) is None


def test_written_in_chunks_of_persons_gives_the_document(tmp_path, monkeypatch):
    """The writer streams the annotations; the part keys are added per chunk of persons."""
    monkeypatch.setattr(cocolike, "WRITE_CHUNK", 1)
    doc = wholebody_doc()
    data = coco_wholebody.decode(doc)
    assert len(data.persons) > 1
    coco_wholebody.write(data, tmp_path / "out.json")
    assert first_difference(orjson.loads((tmp_path / "out.json").read_bytes()), doc) is None


def test_bad_part_field_in_a_later_chunk_names_its_record(tmp_path, monkeypatch):
    doc = wholebody_doc()
    doc["annotations"][1]["face_kpts"] = [0] * 5
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps(doc))
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    with pytest.raises(PoseFormatError, match=r"annotations\[1\] \(id 900100000786\): field 'face_kpts'"):
        coco_wholebody.read(path)


def test_benchmark_generator_file_roundtrips_exactly():
    doc = generated()
    assert first_difference(roundtrip(doc), doc) is None


def test_model_has_133_points_in_documented_order_with_raw_values():
    data = coco_wholebody.decode(wholebody_doc())
    p = data.persons
    assert data.skeleton.name == "coco_wholebody" and len(data.skeleton.sigmas) == 133
    assert p.keypoints.shape == (2, 133, 2) and p.visibility.shape == (2, 133)
    # body 0-16, feet 17-22, face 23-90, left hand 91-111, right hand 112-132
    assert p.keypoints[0, WB.index("left_big_toe")].tolist() == [150, 420]
    assert WB.index("left_big_toe") == 17 and WB.index("face-0") == 23
    assert WB.index("left_hand_root") == 91 and WB.index("right_hand_root") == 112
    assert p.keypoints[0, 23].tolist() == [188.2, 70.5] and p.visibility[0, 23] == 1
    assert p.keypoints[0, 112].tolist() == [240.1, 260.3]
    assert p.visibility[0, 112] == 2 and p.raw_visibility()[0, 112] == 0.27  # score: labeled, raw kept
    assert p.visibility[0, 91:112].tolist() == [0] * 21  # invalid left hand
    assert p.num_keypoints.tolist() == [12, 0]  # the file's count: body points only
    assert list(p.part_boxes) == ["face", "lefthand", "righthand"]
    assert p.part_boxes["face"][0].tolist() == [180.0, 55.0, 40.0, 44.0]
    assert p.part_boxes["lefthand"][0].tolist() == [0.0] * 4  # invalid part: zeros kept as given
    assert not p.int_mask["part_box.face"].all()  # 0.0 floats in one person, 0 ints in the crowd
    assert p.extras[0] == {"face_valid": True, "lefthand_valid": False, "righthand_valid": True, "foot_valid": True}
    assert data.categories[0]["keypoints"][:2] == ["nose", "left_eye"]  # the file's 17 names, kept
    assert any("read as labeled" in reason for reason in data.notes)


def test_recount_counts_the_body_points_only():
    data = coco_wholebody.decode(wholebody_doc())
    data.persons.num_keypoints[:] = -1  # e.g. after an edit in FiftyOne
    data.persons.visibility[0, 17:] = 2  # labeled feet, face, hands do not count
    out = coco_wholebody.encode(data)
    assert [a["num_keypoints"] for a in out["annotations"]] == [12, 0]


def test_file_roundtrip_through_disk_with_detection(tmp_path):
    src, dst = tmp_path / "coco_wholebody_val_v1.0.json", tmp_path / "out.json"
    src.write_text(json.dumps(wholebody_doc()))
    assert formats.detect(src) == "coco_wholebody"
    data = formats.read(src)
    assert data.format == "coco_wholebody"
    formats.write(data, dst, "coco_wholebody")
    assert first_difference(json.loads(dst.read_text()), wholebody_doc()) is None


def test_detection_looks_at_the_tail_of_big_files(tmp_path):
    doc = generated(n_images=800)  # images alone fill far more than the sniffed head
    path = tmp_path / "big.json"
    raw = orjson.dumps(doc)
    assert raw.index(b'"foot_kpts"') > 1 << 17
    path.write_bytes(raw)
    assert coco_wholebody.detect(Peek(path)) > coco.detect(Peek(path)) > halpe.detect(Peek(path))
    assert formats.detect(path) == "coco_wholebody"


def test_plain_coco_and_halpe_are_not_wholebody(tmp_path):
    for name, doc in (("coco", coco_doc()), ("halpe", halpe_doc())):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        assert coco_wholebody.detect(Peek(path)) < coco.detect(Peek(path))
        assert formats.detect(path) == name


def test_a_category_with_all_133_names_is_read_and_kept():
    doc = wholebody_doc()
    doc["categories"][0]["keypoints"] = list(WB.keypoints)
    data = coco_wholebody.decode(doc)
    assert data.skeleton.name == "coco_wholebody"
    assert first_difference(coco_wholebody.encode(data), doc) is None


def test_missing_optional_part_keys_stay_missing():
    doc = wholebody_doc()
    for key in ("face_box", "foot_valid", "bbox", "segmentation"):
        del doc["annotations"][0][key]
    del doc["info"]
    data = coco_wholebody.decode(doc)
    assert np.isnan(data.persons.part_boxes["face"][0]).all()
    assert first_difference(coco_wholebody.encode(data), doc) is None


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("foot_kpts", None, "required key is missing"),
        ("face_kpts", [1.0] * 201, "found 201 values"),
        ("lefthand_kpts", [0] * 62 + ["x"], "expected numbers"),
        ("righthand_box", [1, 2, 3], "expected a list"),
    ],
)
def test_bad_part_fields_name_the_record_and_field(key, value, message):
    doc = wholebody_doc()
    if value is None:
        del doc["annotations"][1][key]
    else:
        doc["annotations"][1][key] = value
    with pytest.raises(PoseFormatError, match=rf"annotations\[1\] \(id 900100000786\): field '{key}'.*{message}"):
        coco_wholebody.decode(doc)


def test_empty_and_test_set_files():
    doc = wholebody_doc()
    doc["annotations"] = []
    assert first_difference(roundtrip(doc), doc) is None
    del doc["annotations"]
    assert first_difference(roundtrip(doc), doc) is None


def test_other_layouts_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="layout='coco_wholebody'"):
        coco_wholebody.encode(coco.decode(coco_doc()))


# ----------------------------------------------------------------------- layouts, 17-point export


def test_export_as_plain_coco_is_valid_and_evaluates_to_ap_1(tmp_path):
    src = tmp_path / "wb.json"
    src.write_bytes(orjson.dumps(generated()))
    out = tmp_path / "coco17.json"
    formats.write(formats.read(src), out, "coco", layout="coco")
    doc = json.loads(out.read_text())
    source = json.loads(src.read_text())
    assert formats.detect(out) == "coco"
    assert doc["categories"][0]["keypoints"] == list(skeletons.load("coco").keypoints)
    by_id = {a["id"]: a for a in source["annotations"]}
    for ann in doc["annotations"]:
        orig = by_id[ann["id"]]
        assert len(ann["keypoints"]) == 51 and ann["keypoints"] == orig["keypoints"]
        assert ann["num_keypoints"] == orig["num_keypoints"]
        assert not {"foot_kpts", "face_kpts", "face_box", "face_valid"} & ann.keys()
        assert (
            first_difference(
                {k: ann[k] for k in ("bbox", "area", "segmentation")},
                {k: orig[k] for k in ("bbox", "area", "segmentation")},
            )
            is None
        )
    ap, n = coco_eval_ap(doc)
    assert n > 100 and ap == pytest.approx(1.0)


def test_the_documented_example_as_plain_coco_evaluates_to_ap_1():
    doc = coco.encode(to_layout(coco_wholebody.decode(wholebody_doc()), "coco"))
    assert doc["annotations"][0]["keypoints"] == wholebody_doc()["annotations"][0]["keypoints"]
    ap, n = coco_eval_ap(doc)
    assert n == 1 and ap == pytest.approx(1.0)


def test_layout_conversion_goes_by_name_not_position():
    data = halpe.decode(halpe_doc())
    wb = to_layout(data, "coco_wholebody")
    hp = skeletons.load("halpe")
    for name in ("left_small_toe", "right_big_toe", "left_heel", "face-5", "right_pinky_finger4"):
        assert wb.persons.keypoints[0, WB.index(name)].tolist() == data.persons.keypoints[0, hp.index(name)].tolist()
        assert wb.persons.visibility[0, WB.index(name)] == data.persons.visibility[0, hp.index(name)]
    assert hp.index("left_small_toe") != WB.index("left_small_toe")
    # and back: WholeBody has no head/neck/hip, they are written unlabeled and noted
    back = to_layout(coco_wholebody.decode(wholebody_doc()), "halpe")
    assert back.persons.visibility[0, [hp.index(n) for n in ("head", "neck", "hip")]].tolist() == [0, 0, 0]
    assert any("missing" in reason for reason in back.notes)
    assert "face" in back.persons.part_boxes  # Halpe has a face: the box is kept in the model


def test_part_indices_come_from_names():
    assert part_indices(WB, "foot").tolist() == list(range(17, 23))
    assert part_indices(WB, "face").tolist() == list(range(23, 91))
    assert part_indices(WB, "lefthand").tolist() == list(range(91, 112))
    assert part_indices(WB, "righthand").tolist() == list(range(112, 133))
    assert part_indices("halpe", "body").tolist() == list(range(0, 20))
    assert part_indices("halpe", "foot").tolist() == list(range(20, 26))
    with pytest.raises(ValueError, match="unknown part"):
        part_indices(WB, "tail")


# ----------------------------------------------------------------------------------- FiftyOne


def export_doc(collection, tmp_path, name="out.json", **kwargs):
    import fiftyone_pose as fop

    out = tmp_path / name
    fop.export(collection, out, overwrite=True, **kwargs)
    return json.loads(out.read_text())


@pytest.fixture
def wb_file(tmp_path):
    path = tmp_path / "coco_wholebody_val_v1.0.json"
    path.write_text(json.dumps(wholebody_doc()))
    return path


def test_import_export_through_fiftyone_is_the_same_document(fo_db, wb_file, tmp_path):
    import fiftyone_pose as fop

    ds = fop.load(wb_file, images_dir=tmp_path)
    assert first_difference(export_doc(ds, tmp_path, format="coco_wholebody"), wholebody_doc()) is None


def test_dataset_has_the_wholebody_skeleton_parts_and_flags(fo_db, wb_file, tmp_path):
    import fiftyone_pose as fop

    ds = fop.load(wb_file, images_dir=tmp_path)
    assert ds.skeletons["ground_truth"].labels == list(WB.keypoints)
    assert ds.skeletons["ground_truth"].edges[0] == [15, 13] and len(ds.skeletons["ground_truth"].edges) == 65
    info = ds.info["fiftyone_pose"]["ground_truth"]
    assert info["format"] == "coco_wholebody" and len(info["skeleton"]["sigmas"]) == 133
    assert info["skeleton"]["sigmas"][:17] == list(skeletons.load("coco").sigmas)
    s = ds.first()
    person = s.ground_truth.keypoints[0]
    assert len(person.points) == 133 and person.visibility[112] == 2
    assert person.raw_keypoints[112 * 3 + 2] == 0.27 and person.num_keypoints == 12
    assert person.face_valid is True and person.lefthand_valid is False
    assert person.part_boxes == {
        "face": [180.0, 55.0, 40.0, 44.0],
        "lefthand": [0.0] * 4,
        "righthand": [230.0, 250.0, 30.0, 35.0],
    }
    parts = {d.label: d for d in s.ground_truth_parts.detections}
    assert set(parts) == {"face", "righthand"}  # the all-zero left-hand box is kept, not drawn
    assert parts["face"].instance.id == person.instance.id
    assert parts["face"].bounding_box == [180 / 640, 55 / 425, 40 / 640, 44 / 425]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(doc=wholebody_documents(max_images=3, max_persons=4))
def test_generated_documents_survive_fiftyone(fo_db, tmp_path, doc):
    import fiftyone_pose as fop

    path = tmp_path / "gen.json"
    path.write_text(json.dumps(doc))
    ds = fop.load(path, format="coco_wholebody", images_dir=tmp_path)
    try:
        assert first_difference(export_doc(ds, tmp_path, format="coco_wholebody"), doc) is None
    finally:
        ds.delete()


def test_edited_hand_point_is_exported_and_body_count_kept(fo_db, wb_file, tmp_path):
    import fiftyone_pose as fop

    ds = fop.load(wb_file, images_dir=tmp_path)
    s = ds.first()
    person = s.ground_truth.keypoints[0]
    person.points[WB.index("left_thumb1")] = [0.5, 0.5]  # a new point on the (invalid) left hand
    s.save()
    ann = export_doc(ds, tmp_path, format="coco_wholebody")["annotations"][0]
    assert ann["lefthand_kpts"][3:6] == [320.0, 212.5, 2]
    assert ann["num_keypoints"] == 12  # recounted: body points only
    expected = wholebody_doc()["annotations"][0]
    for key in ("keypoints", "foot_kpts", "face_kpts", "righthand_kpts", "face_box", "lefthand_box", "face_valid"):
        assert ann[key] == expected[key]


def test_export_as_plain_coco_through_fiftyone(fo_db, tmp_path):
    import fiftyone_pose as fop

    src = tmp_path / "wb.json"
    src.write_bytes(orjson.dumps(generated(n_images=60)))
    ds = fop.load(src, images_dir=tmp_path)
    doc = export_doc(ds, tmp_path, format="coco", layout="coco")
    assert {len(a["keypoints"]) for a in doc["annotations"]} == {51}
    assert export_doc(ds, tmp_path, name="default.json", layout="coco") == doc  # a layout alone means COCO
    ap, n = coco_eval_ap(doc)
    assert n > 20 and ap == pytest.approx(1.0)


def test_part_views_show_and_export_exactly_the_matching_persons(fo_db, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    F = fo_db.ViewField
    doc = generated(n_images=120, seed=11)
    src = tmp_path / "wb.json"
    src.write_bytes(orjson.dumps(doc))
    ds = fop.load(src, images_dir=tmp_path)
    anns = doc["annotations"]

    def visible(ann, key, v2=True):  # COCO v=2 is every labeled value but 1 (scores read as 2)
        return sum(1 for v in ann[key][2::3] if v > 0 and (v != 1 or not v2))

    cases = [
        (views.part_visible(ds, "lefthand", min_visible=15, valid=True),
         [a for a in anns if a["lefthand_valid"] and visible(a, "lefthand_kpts") >= 15]),
        (views.face_visible(ds, min_visible=20),
         [a for a in anns if visible(a, "face_kpts") >= 20]),
        (views.part_visible(ds, "foot", valid=False, min_visible=None),
         [a for a in anns if not a["foot_valid"]]),
        (views.hands_visible(ds, "both", min_visible=10, labeled=True),
         [a for a in anns if visible(a, "lefthand_kpts", False) >= 10 and visible(a, "righthand_kpts", False) >= 10]),
        (views.part_visible(ds, "righthand", min_visible=12, valid=True).match(F("metadata.width") == 640),
         [a for a in anns if a["righthand_valid"] and visible(a, "righthand_kpts") >= 12
          and next(i for i in doc["images"] if i["id"] == a["image_id"])["width"] == 640]),
    ]  # fmt: skip
    for i, (view, expected) in enumerate(cases):
        assert 0 < len(expected) < len(anns), i
        assert view.count("ground_truth.keypoints") == len(expected), i
        out = export_doc(view, tmp_path, name=f"v{i}.json", format="coco_wholebody")
        assert sorted(a["id"] for a in out["annotations"]) == sorted(a["id"] for a in expected), i
        by_id = {a["id"]: a for a in expected}
        assert all(first_difference(a, by_id[a["id"]]) is None for a in out["annotations"]), i

    face_only = views.only_parts(ds, "face")
    out = export_doc(face_only, tmp_path, name="face.json", format="coco_wholebody")
    shown = next(a for a in out["annotations"] if any(v > 0 for v in a["face_kpts"][2::3]))
    assert shown["keypoints"][2::3] == [0] * 17 and shown["righthand_kpts"] == [0] * 63
    assert shown["face_kpts"] == next(a for a in anns if a["id"] == shown["id"])["face_kpts"]


def test_export_defaults_to_the_imported_format(fo_db, wb_file, tmp_path, capsys):
    """Without a format, a WholeBody dataset is written back as WholeBody (not 133 points as COCO)."""
    import fiftyone_pose as fop
    from fiftyone_pose.cli import main

    ds = fop.load(wb_file, images_dir=tmp_path, name=f"wb-{tmp_path.name}", persistent=True)
    try:
        assert first_difference(export_doc(ds, tmp_path), wholebody_doc()) is None
        assert main(["export", ds.name, str(tmp_path / "cli.json")]) == 0
        assert "(coco_wholebody)" in capsys.readouterr().out
        assert first_difference(json.loads((tmp_path / "cli.json").read_text()), wholebody_doc()) is None
    finally:
        ds.delete()
