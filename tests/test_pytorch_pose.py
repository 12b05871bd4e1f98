"""pytorch-pose JSON (``mpii_annotations.json``, ``LEEDS_annotations.json``,
``coco_annotations_*.json``): read, written back identical (floats, record order, every field),
converted to COCO (pycocotools AP = 1.0), sniffed apart from the other JSON lists, and through
FiftyOne."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import aic_native_doc, write_json
from hypothesis import HealthCheck, given, settings
from pytorch_pose_docs import coco_pp_doc, leeds_doc, mpi_doc, pytorch_pose_docs

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import coco
from fiftyone_pose.formats import pytorch_pose as pp
from fiftyone_pose.formats.protocol import Confidence, Peek

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DOCS = {"mpi": mpi_doc, "leeds": leeds_doc, "coco": coco_pp_doc}


def roundtrip(doc, **kwargs):
    return pp.encode(pp.decode(json.loads(json.dumps(doc))), **kwargs)


@pytest.mark.parametrize("which", sorted(DOCS))
def test_examples_roundtrip_exactly(which):
    doc = DOCS[which]()
    out = roundtrip(doc)
    assert first_difference(out, doc) is None
    assert [list(r) for r in out] == [list(r) for r in doc]  # the files' key order too


def test_mpi_model_visibility_images_and_fields():
    data = pp.decode(mpi_doc())
    p, im = data.persons, data.images
    assert data.skeleton.name == "mpii" and data.origin == 1 and data.format == "pytorch_pose" and not data.notes
    # vis 1 -> visible (2), vis 0 with coordinates -> occluded (1), [0, 0, 0] -> unlabeled (0); raw kept
    assert p.visibility[0, 4:6].tolist() == [2, 1] and p.visibility[0, 11] == 0
    assert p.visibility_raw[0, 4:6].tolist() == [1.0, 0.0] and p.keypoints[0, 0].tolist() == [560.0, 120.5]
    assert not p.int_mask["keypoints"].any()  # every number a float, as jsonlab writes 1.000
    # two records of one image make one image; ids in order of appearance, persons in record order
    assert im.file_names == ["015601864.jpg", "000123456.jpg", "000200001.jpg"] and im.ids.tolist() == [1, 2, 3]
    assert p.image_index.tolist() == [0, 0, 1, 2] and p.ids.tolist() == [1, 2, 3, 4]
    assert im.widths.tolist() == [1280, 640, 1920] and im.heights.tolist() == [720, 480, 1080]
    assert im.extras[1] == {"isValidation": 1.0, "img_width": 640.0, "img_height": 480.0}
    assert p.extras[1]["people_index"] == 2.0 and "isValidation" not in p.extras[1] and "img_paths" not in p.extras[1]
    assert p.extras[0]["joint_others"] == mpi_doc()[0]["joint_others"]  # verbatim, never a person
    assert len(p) == 4 and np.isnan(p.boxes).all() and (p.num_keypoints == -1).all()


def test_leeds_counts_the_synthesised_points_and_keeps_the_folders():
    data = pp.decode(leeds_doc())
    assert data.skeleton.name == "mpii" and data.origin == 1
    assert data.notes == {pp.NOTE_SYNTHESISED: 6}  # pelvis and thorax of 3 persons
    assert data.images.file_names[2] == "lspet_dataset/images/im00001.jpg"
    assert data.persons.visibility[2, :2].tolist() == [2, 1]


def test_coco_file_split_folders_placeholders_and_no_sizes():
    data = pp.decode(coco_pp_doc())
    p, im = data.persons, data.images
    assert data.skeleton.name == "coco" and data.origin == 1
    assert im.file_names == ["val2017/000000000139.jpg", "train2017/000000000009.jpg"]
    assert im.extras[0] == {"img_paths": "000000000139.jpg", "isValidation": 1.0}
    assert (im.widths == 0).all()  # none in the file: read from the image headers
    assert p.visibility[0, :3].tolist() == [2, 2, 0] and p.keypoints[0, 2].tolist() == [1.0, 1.0]  # [1, 1, 0] kept
    assert p.visibility_raw is None and p.visibility[0, 7] == 1


def test_coco_2014_names_same_name_in_both_splits_and_unknown_split():
    doc = coco_pp_doc()
    doc[0]["img_paths"] = doc[1]["img_paths"] = "COCO_val2014_000000000042.jpg"
    doc[0]["isValidation"] = doc[1]["isValidation"] = 0.0  # CPM trained on most of val2014: the name decides
    data = pp.decode(doc)
    assert data.images.file_names[0] == "val2014/COCO_val2014_000000000042.jpg"
    doc = coco_pp_doc()
    doc[1]["isValidation"] = 0.0  # the same bare name in train and val: two images
    doc[2]["isValidation"] = 0.5
    data = pp.decode(doc)
    assert data.images.file_names == ["val2017/000000000139.jpg", "train2017/000000000139.jpg", "000000000009.jpg"]
    assert data.notes == {pp.NOTE_NO_SPLIT: 1, pp.NOTE_FIELDS: 1}
    assert first_difference(pp.encode(data), doc) is None


def test_records_of_an_image_apart_and_disagreeing_fields_stay_per_record():
    doc = mpi_doc()
    doc.insert(2, doc.pop(0))  # image 1's records are no longer next to each other
    doc[2]["isValidation"] = 1.0  # and disagree on isValidation and the size
    doc[2]["img_width"] = 1281.0
    data = pp.decode(doc)
    assert data.images.file_names[0] == "015601864.jpg" and data.persons.image_index.tolist() == [0, 1, 0, 2]
    assert "isValidation" not in data.images.extras[0] and data.persons.extras[2]["isValidation"] == 1.0
    assert data.images.widths[0] == 0 and data.images.heights[0] == 720  # the width from the image
    assert data.notes == {pp.NOTE_SIZES: 1}
    out = pp.encode(data)
    assert first_difference(out, doc) is None and [list(r) for r in out] == [list(r) for r in doc]


def test_others_depth_and_repeated_persons_are_noted():
    doc = mpi_doc()
    doc[0]["numOtherPeople"] = 2.0  # but one other person's lists
    doc[3]["people_index"] = doc[2]["people_index"] = 1.0
    doc[3]["annolist_index"] = doc[2]["annolist_index"]
    data = pp.decode(doc)
    assert data.notes == {pp.NOTE_OTHERS: 1, pp.NOTE_PAIRS: 1}
    assert first_difference(pp.encode(data), doc) is None


def test_fields_of_another_shape_are_kept_and_noted():
    doc = mpi_doc()
    doc[0]["objpos"] = [594.0]
    doc[1]["scale_provided"] = "2.43"
    doc[2]["isValidation"] = 2.0
    del doc[3]["objpos"]  # absent: nothing to say about it
    data = pp.decode(doc)
    assert data.notes == {pp.NOTE_FIELDS: 3}
    assert first_difference(pp.encode(data), doc) is None


def test_odd_vis_values_are_kept_and_noted():
    doc = mpi_doc()
    doc[2]["joint_self"][7][2] = 2.0
    doc[2]["joint_self"][8][2] = -1.0
    doc[2]["joint_self"][9][2] = 1  # an int: kept as an int
    data = pp.decode(doc)
    assert data.persons.visibility[2, 7:10].tolist() == [2, 0, 2] and data.notes == {pp.NOTE_FLAGS: 2}
    assert first_difference(pp.encode(data), doc) is None


def test_errors_name_the_record_and_field():
    cases = [
        (lambda d: d[1].__setitem__("dataset", "LEEDS"),
         r"records\[1\] \(img_paths 015601864.jpg\): field 'dataset': is 'LEEDS' but records\[0\] is 'MPI'"),
        (lambda d: d[2].pop("dataset"),
         r"records\[2\] \(img_paths 000123456.jpg\): field 'dataset': required key is missing"),
        (lambda d: d[0].__setitem__("dataset", "mpii"),
         r"records\[0\].*field 'dataset': expected one of 'MPI', 'LEEDS', 'coco', found 'mpii'"),
        (lambda d: d[3].pop("img_paths"), r"records\[3\]: field 'img_paths': required key is missing"),
        (lambda d: d[3].__setitem__("img_paths", 5), r"records\[3\]: field 'img_paths': expected the image path"),
        (lambda d: d[1].__setitem__("joint_self", d[1]["joint_self"][:15]),
         r"records\[1\].*field 'joint_self': expected 16 rows \[x, y, vis\] \(MPI file\), found 15 rows"),
        (lambda d: d[1]["joint_self"][3].pop(),
         r"records\[1\].*field 'joint_self': expected 16 rows .*one of them \[297.5, 201.5\]"),
        (lambda d: d[2]["joint_self"][3].__setitem__(0, "1.0"),
         r"records\[2\].*field 'joint_self': expected numbers, found '1.0'"),
        (lambda d: d[0].__setitem__("img_width", -1.0),
         r"records\[0\].*field 'img_width': expected a non-negative whole number, found -1.0"),
        (lambda d: d[0].__setitem__("img_height", 7.5),
         r"records\[0\].*field 'img_height': expected a non-negative whole number, found 7.5"),
        (lambda d: d.__setitem__(1, []), r"records\[1\]: expected an object, found list"),
    ]  # fmt: skip
    for change, message in cases:
        doc = mpi_doc()
        change(doc)
        with pytest.raises(PoseFormatError, match=rf"^x\.json: {message}"):
            pp.decode(doc, path="x.json")
    with pytest.raises(PoseFormatError, match="expected a JSON list of person records, found dict"):
        pp.decode({"records": mpi_doc()})


@SETTINGS
@given(pytorch_pose_docs())
def test_generated_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_an_empty_file_is_an_empty_list_again():
    data = pp.decode([])
    assert len(data.images) == 0 and pp.encode(data) == []


# --------------------------------------------------------------------------------- sniffing


def hrnet_doc():
    """mmpose/HRNet ``mpii_val.json``: a list of ``image``/``center``/``scale``/``joints``/``joints_vis`` records."""
    return [{"image": "015601864.jpg", "center": [594.0, 257.0], "scale": 3.021,
             "joints": [[600.0 + i, 300.0 - i] for i in range(16)], "joints_vis": [1] * 16}]  # fmt: skip


@pytest.mark.parametrize("which", sorted(DOCS))
def test_each_file_is_sniffed_as_pytorch_pose_only(tmp_path, which):
    path = write_json(tmp_path / f"{which}_annotations.json", DOCS[which]())
    scores = {name: m.detect(Peek(path)) for name, m in formats.REGISTRY.items()}
    assert formats.detect(path) == "pytorch_pose"
    assert all(s == Confidence.NO for name, s in scores.items() if name != "pytorch_pose"), scores


def test_other_json_lists_are_not_claimed(tmp_path):
    for name, doc in (("aic", aic_native_doc()), ("hrnet", hrnet_doc())):
        assert pp.detect(Peek(write_json(tmp_path / f"{name}.json", doc))) == 0.0, name
    assert pp.detect(Peek(tmp_path / "missing.json")) == 0.0 and pp.detect(Peek(tmp_path)) == 0.0


# ------------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(("which", "layout"), [("mpi", "mpii"), ("leeds", "mpii"), ("coco", "coco")])
def test_coco_export_evaluates_and_is_zero_based(tmp_path, which, layout):
    src = write_json(tmp_path / f"{which}.json", DOCS[which]())
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_export_evaluates(out, layout)
    first = DOCS[which]()[0]["joint_self"]
    kp = doc["annotations"][0]["keypoints"]
    assert kp[:2] == [first[0][0] - 1, first[0][1] - 1]  # COCO's 0-based pixels
    assert doc["annotations"][0]["objpos"] == DOCS[which]()[0]["objpos"]  # an extra key, verbatim
    if which == "mpi":
        assert kp[3 * 4 + 2 :: 3][:2] == [2, 1] and kp[3 * 11 : 3 * 12] == [0.0, 0.0, 0]  # visibility as COCO's
        assert doc["images"][0]["width"] == 1280 and doc["images"][0]["isValidation"] == 0.0
    if which == "coco":
        assert kp[6:9] == [1.0, 1.0, 0] and "width" not in doc["images"][0]  # the placeholder stays, v = 0


def test_coco_data_written_as_pytorch_pose(tmp_path):
    from helpers import coco_doc

    data = coco.decode(coco_doc())
    formats.write(data, tmp_path / "pp.json", "pytorch_pose")  # shifted to 1-based on the way
    out = json.loads((tmp_path / "pp.json").read_text())
    persons = [a for a in coco_doc()["annotations"] if not a.get("iscrowd")]
    assert len(out) == len(persons) and data.notes["crowd regions not written (pytorch-pose lists persons only)"] == 1
    rec = out[0]
    kp = persons[0]["keypoints"]
    assert rec["dataset"] == "coco" and rec["img_paths"] == coco_doc()["images"][0]["file_name"]
    assert rec["img_width"] == float(coco_doc()["images"][0]["width"])
    for j in range(17):  # labeled points 1-based, unlabeled at the file's placeholder, floats
        x, y, v = kp[3 * j : 3 * j + 3]
        want = [x + 1.0, y + 1.0, float(v)] if v else [1.0, 1.0, 0.0]
        assert rec["joint_self"][j] == want and all(type(n) is float for n in rec["joint_self"][j]), j
    assert data.notes[
        "pytorch-pose records written without objpos/scale_provided (pytorch-pose's loaders need them)"
    ] == len(out)
    with pytest.raises(ValueError, match="flavor 'MPI' does not hold the 'coco' layout"):
        pp.encode(data, flavor="MPI")


def test_edited_points_are_written_in_the_files_own_terms():
    data = pp.decode(mpi_doc())
    p = data.persons
    vis = p.visibility.copy()
    vis[0, 0] = 0  # hidden
    vis[0, 1] = 1  # now occluded
    doc = pp.encode(dataclasses.replace(data, persons=dataclasses.replace(p, visibility=vis)))
    assert doc[0]["joint_self"][0] == [0.0, 0.0, 0.0] and doc[0]["joint_self"][1] == [565.5, 137.75, 0.0]
    assert doc[0]["joint_self"][2:] == mpi_doc()[0]["joint_self"][2:]


def test_other_layouts_need_a_conversion():
    from fiftyone_pose.formats import aic

    with pytest.raises(ValueError, match="pass layout='mpii' or pass layout='coco' to convert it"):
        pp.encode(aic.decode(aic_native_doc()))


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_mpi_fields_points_round_trip_and_hidden_points(fo_db, tmp_path):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "mpii_annotations.json", mpi_doc())
    ds = fop.load(src, images_dir=tmp_path)  # sniffed; the file gives the sizes
    s = ds.first()
    assert s.file_name == "015601864.jpg" and s.isValidation == 0.0 and s.img_width == 1280.0
    assert (s.metadata.width, s.metadata.height) == (1280, 720)
    person = s.ground_truth.keypoints[0]
    assert person.points[0] == [(560.0 - 1) / 1280, (120.5 - 1) / 720]  # 1-based: shifted for FiftyOne
    assert person.visibility[4:6] == [2, 1] and person.raw_keypoints[4 * 3 + 2 :: 3][:2] == [1.0, 0.0]
    assert (
        person.dataset == "MPI" and person.people_index == 1.0 and person.joint_others == mpi_doc()[0]["joint_others"]
    )
    assert len(s.ground_truth.keypoints) == 2
    assert ds.match(fo_db.ViewField("isValidation") == 1).values("file_name") == ["000123456.jpg"]  # a split view
    out = tmp_path / "out.json"
    fop.export(ds, out, overwrite=True)
    assert first_difference(json.loads(out.read_text()), mpi_doc()) is None

    view = ds.filter_keypoints("ground_truth", labels=list(pp.layout().keypoints[2:]))
    fop.export(view, out, overwrite=True)
    rec = json.loads(out.read_text())[0]
    assert rec["joint_self"][:2] == [[0, 0, 0], [0, 0, 0]] and rec["joint_self"][2:] == mpi_doc()[0]["joint_self"][2:]
    assert pp.decode(json.loads(out.read_text())).persons.visibility[0, :2].tolist() == [0, 0]  # unlabeled again

    fop.export(ds, out, format="coco", overwrite=True)
    assert_export_evaluates(out, "mpii")


def test_fiftyone_coco_file_sizes_from_images_in_split_folders(fo_db, tmp_path):
    from PIL import Image

    import fiftyone_pose as fop

    src = write_json(tmp_path / "coco_annotations_2017.json", coco_pp_doc())
    images = tmp_path / "coco"
    for name, size in (("val2017/000000000139.jpg", (640, 426)), ("train2017/000000000009.jpg", (640, 480))):
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(images / name)
    ds = fop.load(src, format="pytorch_pose", images_dir=images)
    s = ds.first()
    assert (s.metadata.width, s.metadata.height) == (640, 426) and s.img_paths == "000000000139.jpg"
    assert s.filepath == str(images / "val2017" / "000000000139.jpg")
    assert s.ground_truth.keypoints[0].points[0] == [(101.0 - 1) / 640, (51.5 - 1) / 426]
    out = tmp_path / "out.json"
    fop.export(ds, out, overwrite=True)
    assert first_difference(json.loads(out.read_text()), coco_pp_doc()) is None  # no sizes added
    fop.export(ds, out, format="coco", overwrite=True)
    assert assert_export_evaluates(out, "coco")["images"][0]["width"] == 640  # known now


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=pytorch_pose_docs(fiftyone=True, max_records=4))
def test_generated_files_survive_fiftyone(fo_db, tmp_path, doc):
    from PIL import Image

    import fiftyone_pose as fop

    data = pp.decode(doc)
    for name in data.images.file_names:  # sizes the file lacks come from the image headers
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48)).save(tmp_path / name)
    src = write_json(tmp_path / "gen.json", doc)
    ds = fop.load(src, format="pytorch_pose", images_dir=tmp_path)
    try:
        out = tmp_path / "out.json"
        fop.export(ds, out, overwrite=True)
        assert first_difference(json.loads(out.read_text()), doc) is None
    finally:
        ds.delete()
