"""MHP: mmpose's COCO-style files written back identical (face_box, empty segmentation), the
per-image .mat pose files read as far as they are known (and refused otherwise), COCO export
evaluated by pycocotools (AP = 1.0)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import mhp_coco_doc, mhp_mat_person, write_json
from dataset_strategies import mhp_coco_docs
from hypothesis import HealthCheck, given, settings

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import mhp

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc):
    return mhp.encode(mhp.decode(json.loads(json.dumps(doc))))


def test_coco_flavor_roundtrips_exactly():
    assert first_difference(roundtrip(mhp_coco_doc()), mhp_coco_doc()) is None


def test_model_layout_and_kept_fields():
    data = mhp.decode(mhp_coco_doc())
    p = data.persons
    assert data.skeleton.name == "mhp" and data.skeleton.keypoints[6] == "pelvis"  # names "Right-ankle", ...
    assert p.visibility[0].tolist() == [2] * 14 + [0, 0] and p.visibility_raw is None
    assert not p.int_mask["keypoints"].any()  # floats, written back as floats
    assert p.extras[0] == {"face_box": [270.0, 62.0, 38.5, 40.0]} and p.extras[2] == {}
    assert p.segmentations[0] == [] and p.areas.tolist() == [45037.5, 20000.0, 3000.0]


@SETTINGS
@given(mhp_coco_docs())
def test_generated_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_coco_export_evaluates_against_the_original(tmp_path):
    src = write_json(tmp_path / "mhp_val.json", mhp_coco_doc())
    assert formats.detect(src) == "mhp"
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_export_evaluates(out, "mhp", gt_path=src)
    assert doc["annotations"][0]["face_box"] == [270.0, 62.0, 38.5, 40.0]


# ----------------------------------------------------------------------------------- .mat files


def _mat(path, **people):
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {k: np.asarray(v, dtype=np.float64) for k, v in people.items()})
    return path


@pytest.fixture
def pose_annos(tmp_path):
    root = tmp_path / "val" / "pose_annos"
    _mat(root / "14.mat", person_0=mhp_mat_person(0, [0] * 14 + [1, 2]), person_1=mhp_mat_person(7, [0] * 16))
    person = mhp_mat_person(3, [0] * 16)
    person[5][:2] = [-1.0, -1.0]  # flag 0 but no position: unlabeled by the converter's rule
    _mat(root / "27.mat", person_0=person)
    _mat(root / "3.mat")  # an image without persons
    return root


def test_mat_folder_reads_as_the_converter_does(pose_annos):
    assert formats.detect(pose_annos) == "mhp" and formats.detect(pose_annos / "14.mat") == "mhp"
    data = formats.read(pose_annos)
    assert data.images.ids.tolist() == [3, 14, 27]  # the file-name numbers, in numeric order
    assert data.images.file_names == ["images/3.jpg", "images/14.jpg", "images/27.jpg"]
    assert (data.images.widths == 0).all()
    p = data.persons
    assert p.image_index.tolist() == [1, 1, 2]
    assert p.visibility[0].tolist() == [2] * 14 + [0, 0] and p.visibility_raw[0, 14:].tolist() == [1.0, 2.0]
    assert p.visibility[2, 5] == 0
    assert data.notes[mhp.NOTE_LABELED] == 14 + 16 + 15 and data.notes[mhp.NOTE_UNLABELED] == 3
    assert p.boxes[0].tolist() == [95.0, 80.0, 115.0, 250.5]
    assert p.extras[0] == {"face_box": [120.0, 90.0, 30.0, 35.0], "box_flags": [0.0] * 4, "mat_variable": "person_0"}
    one = formats.read(pose_annos / "27.mat")
    assert one.images.ids.tolist() == [27] and len(one.persons) == 1


def test_mat_converts_to_the_coco_flavor_and_to_coco(pose_annos, tmp_path):
    data = formats.read(pose_annos)
    doc = mhp.encode(data)
    assert doc["categories"][0]["keypoints"][0] == "Right-ankle"
    first = doc["annotations"][0]
    assert first["keypoints"][2::3] == [2] * 14 + [0, 0]  # COCO visibility, not the .mat flags
    assert first["area"] == 115.0 * 250.5 and first["num_keypoints"] == 14
    out = tmp_path / "coco.json"
    formats.write(data, out, "coco")
    assert_export_evaluates(out, "mhp")
    with pytest.raises(ValueError, match="read only"):
        mhp.encode(data, flavor="mat")


def test_mat_files_that_cannot_be_interpreted_are_refused(tmp_path):
    from scipy.io import savemat

    def refused(name, pattern, content=None, **variables):
        path = tmp_path / name / "1.mat"
        path.parent.mkdir()
        if content is not None:
            path.write_bytes(content)
        else:
            savemat(path, variables)
        with pytest.raises(PoseFormatError, match=pattern):
            formats.read(path, "mhp")
        return path

    refused("a", r"1\.mat: person_0: expected a numeric 20 x 3 array.*found float64 18x3", person_0=np.zeros((18, 3)))
    refused("b", r"1\.mat: joints: unknown variable", joints=np.zeros((20, 3)))
    refused("c", r"1\.mat: person_0: cannot read as a MATLAB v5 file: is a struct, expected a numeric array",
            person_0={"joints": np.zeros((20, 3))})  # fmt: skip
    refused("d", r"person_0: .*is a complex array", person_0=np.zeros((20, 3)) * 1j)
    refused("e", r"header: .*too short", b"MATLAB 5.0 MAT-file, garbage")
    refused("f", r"header: .*v7\.3 \(HDF5\) files are not supported", b"MATLAB 7.3 MAT-file".ljust(200, b" "))
    good = _mat(tmp_path / "g" / "1.mat", person_0=mhp_mat_person(0, [0] * 16)).read_bytes()
    refused("h", r"byte 128: .*runs past the end.*truncated", good[:-20])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoseFormatError, match="no .mat files"):
        mhp.read(tmp_path / "empty")


def test_compressed_and_integer_mat_files(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "pose_annos" / "5.mat"
    path.parent.mkdir()
    person = np.asarray(mhp_mat_person(0, [0] * 16))
    savemat(path, {"person_1": person.astype(np.int32), "person_0": person}, do_compression=True)
    data = formats.read(path)
    p = data.persons
    assert [e["mat_variable"] for e in p.extras] == ["person_0", "person_1"]  # by number
    np.testing.assert_array_equal(p.keypoints[0], p.keypoints[1])
    assert data.images.ids.tolist() == [5]


def test_damaged_mat_files_never_crash(tmp_path):
    """Random damage ends in a read or in one PoseFormatError (scipy's reader can segfault here)."""
    import random

    raw = _mat(
        tmp_path / "src.mat", person_0=mhp_mat_person(0, [0] * 14 + [1, 2]), person_1=mhp_mat_person(7, [0] * 16)
    ).read_bytes()
    rng = random.Random(1)
    path = tmp_path / "pose_annos" / "14.mat"
    path.parent.mkdir()
    outcomes = {"read": 0, "error": 0}
    for _ in range(400):
        b = bytearray(raw)
        if rng.random() < 0.3:
            b = b[: rng.randrange(len(b))]
        else:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        path.write_bytes(bytes(b))
        try:
            mhp.read(path)
            outcomes["read"] += 1
        except PoseFormatError as e:
            assert "\n" not in str(e) and str(e).startswith(str(path))
            outcomes["error"] += 1
    assert outcomes["read"] and outcomes["error"]


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_round_trip_and_mat_import(fo_db, pose_annos, tmp_path):
    from PIL import Image

    import fiftyone_pose as fop

    src = write_json(tmp_path / "mhp_val.json", mhp_coco_doc())
    ds = fop.load(src, format="mhp", images_dir=tmp_path)
    assert ds.skeletons["ground_truth"].labels == list(mhp.layout().keypoints)
    assert ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"] == list(mhp.layout().sigmas)
    assert ds.first().ground_truth.keypoints[0].face_box == [270.0, 62.0, 38.5, 40.0]
    out = tmp_path / "out.json"
    fop.export(ds, out, format="mhp", overwrite=True)
    assert first_difference(json.loads(out.read_text()), mhp_coco_doc()) is None

    images = pose_annos.parent / "images"
    images.mkdir()
    for stem in (3, 14, 27):
        Image.new("RGB", (400, 300)).save(images / f"{stem}.jpg")
    mats = fop.load(pose_annos)  # format sniffed; images relative to the split folder
    assert len(mats) == 3 and mats.first().metadata.width == 400
    fop.export(mats, out, format="coco", overwrite=True)
    assert_export_evaluates(out, "mhp")
