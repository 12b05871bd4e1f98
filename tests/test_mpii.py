"""MPII Human Pose: the HRNet / mmpose json read and written back identical, the authors' ``.mat``
(struct ``RELEASE``) read through the strict MAT v5 reader with every squeeze case, conversion to
COCO (pycocotools AP = 1.0), sniffing, errors, and FiftyOne."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import write_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mpii_docs import (
    EMPTY,
    RECT_FIELDS,
    cell,
    mat_bytes,
    mpii_hrnet_doc,
    mpii_hrnet_test_doc,
    mpii_release,
    struct_array,
)
from strategies import extras_for, floats

from fiftyone_pose import cli, formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.core.model import with_origin
from fiftyone_pose.formats import coco, mat5, mpii
from fiftyone_pose.formats.mat5 import MatError, MatStruct, read_mat, read_mat_values, variable_names
from fiftyone_pose.formats.protocol import Confidence, Peek

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc):
    return mpii.encode(mpii.decode(json.loads(json.dumps(doc))))


# ------------------------------------------------------------------------------------ HRNet json


def test_hrnet_examples_roundtrip_exactly():
    for doc in (mpii_hrnet_doc(), mpii_hrnet_test_doc(), []):
        assert first_difference(roundtrip(doc), doc) is None


def test_the_documented_record_reads_as_documented():
    record = {"image": "000123456.jpg", "center": [640.0, 330.0], "scale": 2.91,
              "joints": [[655.0, 505.0], [650.0, 430.0], [630.0, 360.0], [660.0, 362.0], [-1.0, -1.0], [-1.0, -1.0],
                         [645.0, 361.0], [642.0, 230.0], [640.2, 205.7], [637.8, 131.3], [598.0, 300.0], [605.0, 262.0],
                         [615.0, 228.0], [670.0, 232.0], [682.0, 270.0], [690.0, 309.0]],
              "joints_vis": [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}  # fmt: skip
    data = mpii.decode([record])
    assert data.images.ids.tolist() == [123456] and data.images.file_names == ["000123456.jpg"]
    assert data.persons.keypoints[0, 8].tolist() == [640.2, 205.7]  # 1-based, unshifted
    assert first_difference(mpii.encode(data), [record]) is None


def test_hrnet_model_visibility_placeholders_and_extras():
    data = mpii.decode(mpii_hrnet_doc())
    p = data.persons
    assert data.format == "mpii" and data.origin == 1 and data.skeleton.name == "mpii"
    assert data.images.file_names == ["015601864.jpg", "000123456.jpg"] and data.images.ids.tolist() == [
        15601864,
        123456,
    ]
    assert p.image_index.tolist() == [0, 1, 0] and p.ids.tolist() == [1, 2, 3]  # records 0 and 2 share an image
    assert (data.images.widths == 0).all() and data.images.extras == [{}, {}]
    # joints_vis 1 -> labeled (2), raw 1 kept; 0 -> unlabeled with its [-1.0, -1.0] placeholder
    assert p.visibility[0, 3:7].tolist() == [2, 0, 0, 2] and p.visibility_raw[0, 3:7].tolist() == [1, 0, 0, 1]
    assert p.keypoints[0, 4].tolist() == [-1.0, -1.0]
    assert p.keypoints[1, 0].tolist() == [-12.5, 830.25] and p.visibility[1, 0] == 0  # placeholder of its own
    assert p.int_mask["keypoints"][2, 3].tolist() == [True, True, True] and p.int_mask["keypoints"][2, 2].tolist() == [
        False,
        False,
        True,
    ]
    assert p.extras == [{"center": [594.0, 257.0], "scale": 3.021046},
                        {"center": [640.0, 330.0], "scale": 2.91, "person_note": "kept"},
                        {"center": [-1, -1], "scale": 1.5}]  # fmt: skip
    assert np.isnan(p.boxes).all() and np.isnan(p.areas).all() and not p.crowd.any()
    assert data.notes == {}


def test_a_test_file_keeps_persons_without_joints_and_writes_them_back_without():
    data = mpii.decode(mpii_hrnet_test_doc())
    p = data.persons
    assert len(p) == 3 and (p.visibility == 0).all() and np.isnan(p.visibility_raw).all()
    assert data.notes == {mpii.NOTE_NO_JOINTS: 3}
    assert data.summary()["persons_without_keypoints"] == 3
    out = mpii.encode(data)
    assert all("joints" not in r and "joints_vis" not in r for r in out)
    # in COCO: unlabeled at 0, 0, 0 (the reader's placeholder, no -1 invented)
    doc = coco.encode(with_origin(data, 0))
    assert set(doc["annotations"][0]["keypoints"]) == {0}


def test_joints_of_other_persons_survive_a_record_without_joints():
    doc = mpii_hrnet_doc() + mpii_hrnet_test_doc()[:1]
    assert first_difference(roundtrip(doc), doc) is None


@st.composite
def hrnet_docs(draw, fiftyone: bool = False, max_records: int = 6):
    """HRNet / mmpose MPII lists: numeric and other image names, ints and floats, joints_vis as 0/1
    or 0.0/1.0, labeled points at -1, -1, records with and without joints, centre and scale
    present or not, extra keys."""
    c = (
        st.one_of(st.integers(-3000, 3000), st.floats(-3000, 3000, allow_nan=False).map(lambda v: round(v, 3)))
        if fiftyone
        else st.one_of(st.integers(-(2**53), 2**53), floats)
    )
    names = st.one_of(
        st.integers(0, 10**9 - 1).map(lambda n: f"{n:09d}.jpg"),
        st.sampled_from(["im_a.jpg", "b.png", "x/015601864.jpg"]),
    )
    pool = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    doc = []
    for _ in range(draw(st.integers(0, max_records))):
        rec = {"image": draw(st.sampled_from(pool))}
        if draw(st.integers(0, 4)):
            rec["center"] = [draw(c), draw(c)]
        if draw(st.integers(0, 4)):
            rec["scale"] = draw(c)
        if draw(st.integers(0, 3)):
            flags = [draw(st.sampled_from([0, 1, 1, 0.0, 1.0] if not fiftyone else [0, 1, 1])) for _ in range(16)]
            rec["joints"] = [[-1.0, -1.0] if v == 0 and draw(st.booleans()) else [draw(c), draw(c)] for v in flags]
            rec["joints_vis"] = flags
        if not fiftyone:
            rec.update(draw(extras_for({"image", "center", "scale", "joints", "joints_vis"})))
        doc.append(rec)
    return doc


@SETTINGS
@given(hrnet_docs())
def test_generated_hrnet_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_hrnet_errors_name_the_record_and_the_field():
    def fails(doc, pattern):
        with pytest.raises(PoseFormatError, match=pattern):
            mpii.decode(doc, path="valid.json")

    doc = mpii_hrnet_doc()
    fails({"images": []}, r"^valid\.json: expected a JSON list of person records")
    fails([dict(doc[0], image=None)], r"records\[0\]: field 'image': expected the image file name")
    fails([{k: v for k, v in doc[0].items() if k != "image"}], r"records\[0\]: field 'image': required key is missing")
    fails(
        [{k: v for k, v in doc[0].items() if k != "joints_vis"}],
        r"records\[0\] \(image 015601864\.jpg\): field 'joints_vis': required key is missing",
    )
    fails(
        [dict(doc[0], joints=doc[0]["joints"][:-1])],
        r"records\[0\] \(image 015601864\.jpg\): field 'joints': expected 16 \[x, y\] pairs",
    )
    fails([dict(doc[0], joints_vis=doc[0]["joints_vis"] + [1])], r"field 'joints_vis': expected 16 flags")
    bad = json.loads(json.dumps(doc))
    bad[2]["joints"][5][1] = "7"
    fails(bad, r"records\[2\] \(image 015601864\.jpg\): field 'joints': expected numbers, found '7'")
    bad = json.loads(json.dumps(doc))
    bad[1]["joints_vis"][4] = 2
    fails(bad, r"records\[1\] \(image 000123456\.jpg\): field 'joints_vis': expected 0 or 1, found 2 at joint 4")
    bad[1]["joints_vis"][4] = True
    fails(bad, r"records\[1\].*field 'joints_vis': expected numbers, found True")
    fails([dict(doc[0], center=[1.0])], r"records\[0\].*field 'center': expected \[x, y\] numbers")
    fails([dict(doc[0], scale="2")], r"records\[0\].*field 'scale': expected a number")


def test_image_ids_are_the_file_numbers_or_numbered_in_order():
    data = mpii.decode([{"image": "b.jpg"}, {"image": "015601864.jpg"}, {"image": "b.jpg"}])
    assert data.images.ids.tolist() == [1, 2] and data.notes[mpii.NOTE_NAMES] == 2
    data = mpii.decode([{"image": "images/7.jpg"}, {"image": "007.jpg"}])  # both are 7
    assert data.images.ids.tolist() == [1, 2]
    assert mpii.decode([{"image": "images/7.jpg"}, {"image": "8.png"}]).images.ids.tolist() == [7, 8]


# ------------------------------------------------------------------------------------------ .mat


@pytest.fixture(params=[False, True], ids=["plain", "compressed"])
def mat_file(request, tmp_path):
    path = tmp_path / "mpii_human_pose_v1_u12_1.mat"
    path.write_bytes(mat_bytes(mpii_release(), compress=request.param))
    return path


def test_mat_images_and_their_fields(mat_file):
    data = formats.read(mat_file)  # sniffed
    assert data.format == "mpii" and data.origin == 1
    im = data.images
    assert im.file_names == ["015601864.jpg", "015599452.jpg", "005808361.jpg", "052475643.jpg", "060111501.jpg"]
    assert im.ids.tolist() == [15601864, 15599452, 5808361, 52475643, 60111501]
    assert im.extras[0] == {"annolist_index": 1, "img_train": 1, "single_person": [1, 2],
                            "act": {"cat_name": "sports", "act_name": "curling", "act_id": 1},
                            "frame_sec": 11.0, "vidx": 1, "video_id": "aAOusnrSsHI"}  # fmt: skip
    assert im.extras[2] == {"annolist_index": 3, "img_train": 0, "single_person": [],
                            "act": {"cat_name": None, "act_name": None, "act_id": -1},
                            "frame_sec": None, "vidx": None}  # fmt: skip
    assert data.meta == {"version": "12"}
    assert data.notes[mpii.NOTE_VIDEOS] == 1  # "unused"


def test_mat_persons_joints_and_visibility(mat_file):
    data = mpii.read(mat_file)
    p = data.persons
    names = list(data.skeleton.keypoints)
    # every annorect entry is a person: 2 + 2 + 2 (test) + 0 + 1 (a 1 x 1 struct, not an array)
    assert p.image_index.tolist() == [0, 0, 1, 1, 2, 2, 4]
    first = p.extras[0]
    assert first == {"annorect_index": 1, "x1": 612.0, "y1": 120.0, "x2": 668.0, "y2": 190.0, "scale": 2.91,
                     "objpos": {"x": 640.0, "y": 330.0},
                     "is_visible_raw": {"left_ankle": "1", "pelvis": "0", "thorax": []}}  # fmt: skip
    # is_visible 1 -> 2, 0 -> 1, '1' -> 2, '0' -> 1, [] -> 2 (occlusion unknown); no point -> 0
    assert p.visibility[0].tolist() == [2, 1, 2, 0, 0, 2, 1, 2, 2, 2, 2, 1, 2, 2, 2, 2]
    assert p.visibility_raw[0, [0, 1, 5, 6, 7]].tolist() == [1, 0, 1, 0, 2] and np.isnan(p.visibility_raw[0, 3:5]).all()
    assert p.keypoints[0, 0].tolist() == [620.0, 200.0] and p.keypoints[0, 15].tolist() == [
        695.0,
        365.0,
    ]  # as in the file
    assert p.keypoints[0, 3].tolist() == [0.0, 0.0]  # no point: 0, 0 and no raw value
    assert names[9] == "head_top" and p.visibility[1].tolist() == [0] * 9 + [2] + [0] * 6  # a single point struct
    # a person whose annopoints is empty, and test persons without annopoints: kept, nothing labeled
    assert (p.visibility[[2, 4, 5]] == 0).all() and p.extras[4] == {
        "annorect_index": 1,
        "scale": 4.718488,
        "objpos": {"x": 966.0, "y": 340.0},
    }
    # points without an is_visible field: labeled, the missing value kept as null
    assert p.visibility[3, [8, 9, 12]].tolist() == [2, 2, 2] and p.extras[3]["is_visible_raw"] == dict.fromkeys(
        ["upper_neck", "head_top", "right_shoulder"]
    )
    assert np.isnan(p.boxes).all() and (p.num_keypoints == -1).all()
    assert (
        data.notes[mpii.NOTE_NO_JOINTS] == 3
        and data.notes[mpii.NOTE_VIS_MISSING] == 4
        and data.notes[mpii.NOTE_VIS_TEXT] == 2
    )


def test_mat_written_as_hrnet_json(mat_file, tmp_path):
    out = tmp_path / "from_mat.json"
    data = formats.read(mat_file)
    formats.write(data, out, "mpii")
    doc = json.loads(out.read_text())
    assert len(doc) == 7  # every person; the image without persons has no record
    first = doc[0]
    assert first["image"] == "015601864.jpg" and first["center"] == [640.0, 330.0] and first["scale"] == 2.91
    assert "objpos" not in first and first["x1"] == 612.0 and first["annorect_index"] == 1
    assert first["joints_vis"] == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]  # occluded or not: labeled
    assert first["joints"][3] == [-1.0, -1.0] and first["joints"][0] == [620.0, 200.0]
    assert "joints" not in doc[2] and "joints" not in doc[4]  # persons without joints, as in test.json
    assert data.notes["images without persons not written (the json lists persons)"] == 1
    assert data.notes["images whose fields are not written (the json has no image records)"] == 5
    # and it reads back to the same joints and visibility (bar the occluded/visible distinction)
    again = mpii.read(out)
    labeled = data.persons.visibility > 0
    assert ((again.persons.visibility > 0) == labeled).all()
    assert (again.persons.keypoints[labeled] == data.persons.keypoints[labeled]).all()
    assert first_difference(mpii.encode(again), doc) is None


def test_mat_to_coco_shifts_to_zero_based_and_evaluates(mat_file, tmp_path):
    out = tmp_path / "coco.json"
    assert cli.main(["convert", str(mat_file), str(out)]) == 0
    doc = assert_export_evaluates(out, "mpii")
    ann = doc["annotations"][0]
    assert ann["keypoints"][:9] == [619.0, 199.0, 2, 624.0, 210.0, 1, 629.0, 221.0, 2]  # 1-based - 1, occluded kept
    assert ann["keypoints"][9:12] == [0, 0, 0] and ann["is_visible_raw"]["thorax"] == []
    assert doc["images"][0]["act"]["act_name"] == "curling" and doc["version"] == "12"
    assert len(doc["annotations"]) == 7 and doc["annotations"][4]["num_keypoints"] == 0


def _release(**changes) -> dict:
    release = mpii_release()
    release["RELEASE"].update(changes)
    return release


def _refused(tmp_path, variables, pattern, name="x.mat"):
    path = tmp_path / name
    path.write_bytes(mat_bytes(variables) if isinstance(variables, dict) else variables)
    with pytest.raises(PoseFormatError, match=pattern):
        mpii.read(path)


def test_mat_errors_name_the_path_and_field(tmp_path):
    release = mpii_release()
    points = release["RELEASE"]["annolist"][0, 0]["annorect"][0, 0]["annopoints"]["point"]
    points[0, 2]["id"] = 0.0  # twice
    _refused(
        tmp_path,
        release,
        r"x\.mat: RELEASE\.annolist\(1\)\.annorect\(1\)\.annopoints\.point\(3\): field 'id': joint id 0 appears twice",
    )
    points[0, 2]["id"] = 16.0
    _refused(tmp_path, release, r"point\(3\): field 'id': expected a joint id 0\.\.15, found 16\.0")
    points[0, 2]["id"], points[0, 2]["is_visible"] = 2.0, 2.0
    _refused(tmp_path, release, r"point\(3\): field 'is_visible': expected 0 or 1 .*found 2\.0")
    points[0, 2]["is_visible"], points[0, 2]["x"] = 1.0, np.nan
    _refused(tmp_path, release, r"point\(3\): field 'x': expected a finite number, found nan")
    points[0, 2]["x"] = EMPTY
    _refused(tmp_path, release, r"point\(3\): field 'x': expected the joint's coordinate, found nothing")
    _refused(
        tmp_path,
        _release(img_train=np.ones((1, 3))),
        r"RELEASE: field 'img_train': expected 5 numbers .* found a 1x3 float64 array",
    )
    _refused(tmp_path, _release(act="x"), r"RELEASE: field 'act': expected a struct array of 5 activities")
    _refused(
        tmp_path,
        _release(video_list=cell(["a", 3.0])),
        r"RELEASE\.video_list\{2\}: expected a video id \(text\), found 3\.0",
    )
    release = mpii_release()
    del release["RELEASE"]["annolist"]
    _refused(tmp_path, release, r"RELEASE: field 'annolist': required field is missing")
    release = mpii_release()
    release["RELEASE"]["annolist"][0, 1]["image"] = {"name": EMPTY}
    _refused(
        tmp_path,
        release,
        r"RELEASE\.annolist\(2\)\.image: field 'name': expected the image file name, found a 0x0 float64 array",
    )
    release["RELEASE"]["annolist"][0, 1]["image"] = "015599452.jpg"
    _refused(
        tmp_path,
        release,
        r"RELEASE\.annolist\(2\): field 'image': expected a struct with the field 'name', found the text",
    )
    release = mpii_release()
    release["RELEASE"]["annolist"][0, 0]["annorect"][0, 1]["objpos"] = {"x": 1.0}
    _refused(
        tmp_path,
        release,
        r"RELEASE\.annolist\(1\)\.annorect\(2\): field 'objpos': expected a struct with the fields x and y",
    )
    _refused(tmp_path, {**mpii_release(), "extra": np.ones((2, 2))}, r"x\.mat: extra: unknown variable")
    _refused(
        tmp_path, {"person_0": np.zeros((20, 3))}, r"unknown variable: the MPII annotation file holds only RELEASE"
    )
    _refused(tmp_path, {"RELEASE": np.ones((2, 2))}, r"RELEASE: expected a struct, found a 2x2 float64 array")
    good = mat_bytes(mpii_release())
    _refused(tmp_path, good[:-40], r"byte 128: cannot read as a MATLAB v5 file: .*runs past the end.*truncated")
    _refused(tmp_path, good[:5], r"x\.mat: header: cannot read as a MATLAB v5 file: too short")


def test_mat_tolerates_what_means_nothing(tmp_path):
    """Empty or missing optional fields: no persons, no points, no extras; never an error."""
    rect = struct_array(RECT_FIELDS, [(EMPTY, EMPTY, EMPTY, EMPTY, {"point": EMPTY}, EMPTY, EMPTY)])
    annolist = struct_array(
        ("image", "annorect"), [({"name": "1.jpg"}, rect), ({"name": "2.jpg"}, struct_array(("scale",), []))]
    )
    path = tmp_path / "m.mat"
    path.write_bytes(mat_bytes({"RELEASE": {"annolist": annolist}}))
    data = mpii.read(path)
    assert len(data.images) == 2 and len(data.persons) == 1 and (data.persons.visibility == 0).all()
    assert data.persons.extras == [
        {"annorect_index": 1, "x1": None, "y1": None, "x2": None, "y2": None, "scale": None, "objpos": None}
    ]
    assert data.images.extras == [{"annolist_index": 1}, {"annolist_index": 2}]
    out = mpii.encode(data)
    assert out == [
        {"image": "1.jpg", "annorect_index": 1, "x1": None, "y1": None, "x2": None, "y2": None, "objpos": None}
    ]
    path.write_bytes(mat_bytes({"RELEASE": {"annolist": EMPTY}}))
    assert len(mpii.read(path).images) == 0


# ------------------------------------------------------------------------------ the MAT v5 reader


def _element(mi: int, data: bytes) -> bytes:
    return struct.pack("<II", mi, len(data)) + data + b"\x00" * (-len(data) % 8)


def _char_array(name: bytes, text: str, mi: int, encoded: bytes) -> bytes:
    """A MATLAB char row as MATLAB writes it (flags, 1 x n, name, characters in type ``mi``)."""
    body = (
        _element(6, struct.pack("<II", 4, 0))
        + _element(5, struct.pack("<ii", 1, len(text)))
        + _element(1, name)
        + _element(mi, encoded)
    )
    return _element(14, body)


def test_mat5_reads_nested_values_like_scipy(tmp_path):
    from scipy.io import loadmat

    raw = mat_bytes(mpii_release(), compress=True)
    ours = read_mat_values(raw)["RELEASE"]
    path = tmp_path / "r.mat"
    path.write_bytes(raw)
    theirs = loadmat(path, struct_as_record=True)["RELEASE"][0, 0]
    assert isinstance(ours, MatStruct) and ours.shape == (1, 1) and list(ours.fields) == list(theirs.dtype.names)
    annolist = ours.elements[0]["annolist"]
    assert annolist.shape == (1, 5) and annolist.fields == ("image", "annorect", "frame_sec", "vidx")
    for i in range(5):
        assert annolist.elements[i]["image"].elements[0]["name"] == theirs["annolist"][0, i]["image"][0, 0]["name"][0]
    point = annolist.elements[0]["annorect"].elements[0]["annopoints"].elements[0]["point"]
    ref = theirs["annolist"][0, 0]["annorect"][0, 0]["annopoints"][0, 0]["point"]
    assert [e["x"] for e in point.elements] == [float(ref[0, j]["x"][0, 0]) for j in range(ref.shape[1])]
    assert point.elements[3]["is_visible"] == "1" and point.elements[5]["is_visible"].shape == (0, 0)
    single = ours.elements[0]["single_person"]
    assert single.dtype == object and single.shape == (5, 1) and single[0, 0].tolist() == [[1.0], [2.0]]
    assert ours.elements[0]["img_train"].tolist() == [[1.0, 1.0, 0.0, 1.0, 1.0]]
    assert ours.elements[0]["version"] == "12" and variable_names(raw[:4096]) == ["RELEASE"]


def test_mat5_chars_as_matlab_stores_them():
    header = b"MATLAB 5.0 MAT-file, written by hand".ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100) + b"IM"
    raw = header + _char_array(b"a", "héllo", 4, "héllo".encode("utf-16-le")) + _char_array(b"b", "ok", 16, b"ok")
    packed = zlib.compress(_char_array(b"c", "zip", 4, "zip".encode("utf-16-le")))
    raw += struct.pack("<II", 15, len(packed)) + packed  # compressed elements are not padded
    assert read_mat_values(raw) == {"a": "héllo", "b": "ok", "c": "zip"}
    assert variable_names(raw) == ["a", "b", "c"]
    with pytest.raises(MatError, match="holds 4 characters for dimensions 1x5") as e:
        read_mat_values(header + _char_array(b"a", "héllo", 4, "héll".encode("utf-16-le")))
    assert e.value.where == "a"
    with pytest.raises(MatError, match="is a struct, expected a numeric array"):
        read_mat(mat_bytes({"s": {"x": 1.0}}))  # the numeric-only reader is unchanged


def test_mat5_scalars_classes_and_limits():
    values = read_mat_values(
        mat_bytes(
            {"d": 2.5, "i": np.array([[7]], dtype=np.uint8), "a": np.arange(6.0).reshape(2, 3), "e": EMPTY, "s": ""}
        )
    )
    assert values["d"] == 2.5 and type(values["i"]) is int and values["i"] == 7
    assert values["a"].tolist() == [[0, 1, 2], [3, 4, 5]] and values["e"].shape == (0, 0) and values["s"] == ""
    deep: object = 1.0
    for _ in range(mat5.MAX_DEPTH + 2):
        deep = cell([deep])
    with pytest.raises(MatError, match="nested more than 64 deep"):
        read_mat_values(mat_bytes({"deep": deep}))
    with pytest.raises(MatError, match="compressed element holds more than 100 bytes"):
        read_mat_values(mat_bytes(mpii_release(), compress=True), max_bytes=100)
    # a struct array without fields takes no bytes per element: its size is bounded, not looped over
    header = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100) + b"IM"
    for dims, expected in (((1, 1), [{}]), ((2**30, 2**30), None)):
        body = _element(6, struct.pack("<II", 2, 0)) + _element(5, struct.pack("<ii", *dims)) + _element(1, b"s")
        raw = header + _element(14, body + struct.pack("<HHi", 5, 4, 32) + _element(1, b""))
        if expected is None:
            with pytest.raises(MatError, match="without fields is too large"):
                read_mat_values(raw)
        else:
            assert read_mat_values(raw)["s"].elements == expected


def test_mat5_damaged_bytes_are_errors_never_crashes():
    """Random byte damage inside the variable (the outer length intact): a MatError naming a
    place, or a value; never another exception (lengths are checked before use)."""
    rng = np.random.default_rng(7)
    raw = bytearray(mat_bytes(mpii_release()))
    outcomes = {"error": 0, "read": 0}
    for _ in range(1500):
        damaged = bytearray(raw)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(136, len(raw)))
            damaged[at] = int(rng.choice([0, 1, 0xFF, 0x7F, 0x80, int(rng.integers(0, 256))]))
        try:
            read_mat_values(bytes(damaged))
            outcomes["read"] += 1
        except MatError as e:
            assert e.where and "\n" not in str(e)
            outcomes["error"] += 1
    assert outcomes["error"] > 500 and outcomes["read"] > 50, outcomes


# --------------------------------------------------------------------------------------- sniffing


def test_detect_tells_mpii_from_other_lists_and_mat_files(tmp_path, mat_file):
    assert formats.detect(write_json(tmp_path / "valid.json", mpii_hrnet_doc())) == "mpii"
    assert formats.detect(write_json(tmp_path / "test.json", mpii_hrnet_test_doc())) == "mpii"
    assert formats.detect(mat_file) == "mpii"
    pytorch_pose = [{"dataset": "MPI", "img_paths": "015601864.jpg", "objpos": [594.0, 257.0],
                     "joint_self": [[1, 2, 1]] * 16, "scale_provided": 3.0, "isValidation": 0.0}]  # fmt: skip
    aic = [{"image_id": "a", "human_annotations": {}, "keypoint_annotations": {}}]
    for other in (pytorch_pose, aic, [], {"images": []}):
        assert mpii.detect(Peek(write_json(tmp_path / "other.json", other))) == 0.0
    mhp_file = tmp_path / "14.mat"
    mhp_file.write_bytes(mat_bytes({"person_0": np.zeros((20, 3))}))
    for path in (mhp_file, tmp_path, tmp_path / "none"):
        assert mpii.detect(Peek(path)) == Confidence.NO


# ----------------------------------------------------------------------------- other formats in


def test_other_formats_are_written_with_hrnet_conventions():
    from helpers import coco_doc

    from fiftyone_pose.core.layouts import to_layout

    data = to_layout(coco.decode(coco_doc()), "mpii")
    with pytest.raises(ValueError, match="layout='mpii'"):
        mpii.encode(coco.decode(coco_doc()))
    out = mpii.encode(data)
    persons = [a for a in coco_doc()["annotations"] if not a["iscrowd"]]
    assert len(out) == len(persons)
    rec = out[0]
    assert set(rec["joints_vis"]) <= {0, 1} and rec["joints"][6] == [-1.0, -1.0]  # pelvis: not in COCO
    x, y, w, h = persons[0]["bbox"]
    assert rec["center"] == [x + 1 + w / 2, y + 1 + h / 2] and rec["scale"] == h / 200  # derived, 1-based
    assert data.notes[mpii.NOTE_DERIVED] == len(persons)
    with pytest.raises(ValueError, match="read only"):
        mpii.encode(data, flavor="mat")


# ----------------------------------------------------------------------------------------- FiftyOne


def _images(folder, names, size=(640, 480)):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (size[0] + i, size[1])).save(folder / name, format="JPEG")


def test_fiftyone_imports_the_mat_and_exports_json_and_coco(fo_db, mat_file, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    images = tmp_path / "images"
    _images(images, mpii.read(mat_file).images.file_names)
    ds = fop.load(mat_file, format="mpii", images_dir=images)
    try:
        assert ds.skeletons["ground_truth"].labels == list(mpii.layout().keypoints) and len(ds) == 5
        s = ds.first()
        assert (
            (s.metadata.width, s.metadata.height) == (640, 480) and s.img_train == 1 and s.act["act_name"] == "curling"
        )
        assert s.video_id == "aAOusnrSsHI" and s.single_person == [1, 2]
        person = s.ground_truth.keypoints[0]
        assert person.visibility[:3] == [2, 1, 2] and person.objpos == {"x": 640.0, "y": 330.0}
        assert person.points[0] == pytest.approx([619.0 / 640, 199.0 / 480])  # 1-based, seen 0-based
        assert person.raw_keypoints[:3] == [620.0, 200.0, 1.0] and person.is_visible_raw["thorax"] == []
        assert ds.count("ground_truth.keypoints") == 7  # persons without joints included
        assert views.persons_with_labeled(ds, max_count=0).count("ground_truth.keypoints") == 3

        out = tmp_path / "export.json"
        fop.export(ds, out, overwrite=True)  # the imported format: the HRNet json
        assert first_difference(json.loads(out.read_text()), mpii.encode(mpii.read(mat_file))) is None
        coco_out = tmp_path / "coco.json"
        fop.export(ds, coco_out, format="coco", overwrite=True)
        exported = assert_export_evaluates(coco_out, "mpii")
        assert exported["images"][0]["width"] == 640
    finally:
        ds.delete()


def test_fiftyone_hrnet_round_trip_and_a_hidden_joint(fo_db, tmp_path):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "annot" / "valid.json", mpii_hrnet_doc() + mpii_hrnet_test_doc()[:1])
    _images(tmp_path / "images", mpii.read(src).images.file_names)
    ds = fop.load(src, images_dir=tmp_path / "images")
    try:
        person = ds.first().ground_truth.keypoints[0]
        assert person.visibility[3:7] == [2, 0, 0, 2] and person.center == [594.0, 257.0] and person.scale == 3.021046
        out = tmp_path / "back.json"
        fop.export(ds, out, overwrite=True)
        assert first_difference(json.loads(out.read_text()), json.loads(src.read_text())) is None
        view = ds.filter_keypoints("ground_truth", labels=[n for n in mpii.layout().keypoints if n != "right_ankle"])
        fop.export(view, out, overwrite=True)
        written = json.loads(out.read_text())
        assert written[0]["joints_vis"][0] == 0 and written[0]["joints_vis"][1] == 1
        assert written[0]["joints"][0] == [0, 0]  # the point FiftyOne hid, as the adapter writes it
        assert [r["joints_vis"] for r in written] == [
            [0] + r["joints_vis"][1:] for r in mpii_hrnet_doc()
        ]  # right_ankle hidden
    finally:
        ds.delete()


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=hrnet_docs(fiftyone=True, max_records=4))
def test_generated_hrnet_files_survive_fiftyone(fo_db, tmp_path, doc):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "gen.json", doc)
    _images(tmp_path, mpii.read(src).images.file_names, (64, 48))
    ds = fop.load(src, format="mpii")
    try:
        out = tmp_path / "out.json"
        fop.export(ds, out, format="mpii", overwrite=True)
        assert first_difference(json.loads(out.read_text()), doc) is None
    finally:
        ds.delete()


def test_a_coco_file_written_from_mpii_is_detected_by_its_names_and_converts_back(tmp_path):
    """Its category names MPII's 16 points: it is a COCO file of the 'mpii' layout (not MHP's, whose
    files spell the names 'Right-ankle'), and goes back to MPII with no layout to give."""
    src = write_json(tmp_path / "valid.json", mpii_hrnet_doc())
    formats.convert(src, tmp_path / "mpii_coco.json", "mpii", "coco")
    assert formats.detect(tmp_path / "mpii_coco.json") == "coco"
    data = formats.read(tmp_path / "mpii_coco.json")
    assert data.skeleton.name == "mpii"
    written = formats.convert(tmp_path / "mpii_coco.json", tmp_path / "back.json", "auto", "mpii")
    assert written.summary()["persons"] == len(formats.read(src).persons)
    back, source = formats.read(tmp_path / "back.json"), formats.read(src)
    labelled = source.persons.visibility > 0
    assert (back.persons.visibility == source.persons.visibility).all()
    assert np.array_equal(back.persons.keypoints[labelled], source.persons.keypoints[labelled])


def _as_python_lists(value):
    """``value`` with every struct array as a list of dicts, as Python tools build MPII-style files
    (``scipy.io.savemat`` then writes each as a cell array of structs)."""
    if isinstance(value, dict):
        return {key: _as_python_lists(v) for key, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.names:
        return [{f: _as_python_lists(row[f]) for f in value.dtype.names} for row in value.ravel(order="F")]
    return value


def test_a_mat_file_of_cell_arrays_of_structs_reads_as_the_struct_arrays(tmp_path):
    """``annolist``, ``annorect``, ``point`` and ``act`` as cell arrays of structs (Python lists of
    dicts through ``scipy.io.savemat``, e.g. Datumaro's MPII test assets) read as their struct arrays."""
    import scipy.io

    structs, cells = tmp_path / "structs.mat", tmp_path / "cells.mat"
    scipy.io.savemat(structs, mpii_release())
    scipy.io.savemat(cells, _as_python_lists(mpii_release()))
    expected, got = mpii.read(structs), mpii.read(cells)
    assert got.images.file_names == expected.images.file_names
    assert got.images.extras == expected.images.extras
    assert np.array_equal(got.persons.keypoints, expected.persons.keypoints)
    assert np.array_equal(got.persons.visibility, expected.persons.visibility)
    assert got.persons.extras == expected.persons.extras
    assert got.notes == expected.notes
