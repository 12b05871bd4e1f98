"""LSP and LSPet ``joints.mat``: read in both orientations, written back bit for bit, converted to
COCO (pycocotools AP = 1.0), refused where the file cannot hold the data, and through FiftyOne."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from coco_eval import results_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import loadmat, savemat

from fiftyone_pose import cli, formats
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.core.layouts import to_layout
from fiftyone_pose.formats import coco, lsp
from fiftyone_pose.formats.mat5 import class_dtype, read_mat, write_mat
from fiftyone_pose.formats.protocol import Peek

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def triplets(n: int, seed: float = 0.0) -> np.ndarray:
    """(n, 14, 3): sub-pixel x, y and flags 0/1 (a different pattern per image)."""
    i, j = np.meshgrid(np.arange(n), np.arange(14), indexing="ij")
    return np.stack([20.25 + 7.5 * j + seed + i, 150.125 - 9.75 * j + 2 * i, (i + j) % 3 == 0], axis=2).astype(
        np.float64
    )


def oriented(t: np.ndarray, flavor: str) -> np.ndarray:
    """``joints`` as the file holds it: 3 x 14 x N (LSP) or 14 x 3 x N (LSPet)."""
    return np.ascontiguousarray(t.transpose(2, 1, 0) if flavor == "lsp" else t.transpose(1, 2, 0))


def mat_bytes(variables: dict, compress: bool = False) -> bytes:
    buf = io.BytesIO()
    savemat(buf, variables, do_compression=compress)
    return buf.getvalue()


def write_joints(path: Path, joints: np.ndarray, compress: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mat_bytes({"joints": joints}, compress))
    return path


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Same class, shape and bytes (so -0.0 and 0.0 differ)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------------- the examples


def test_documented_lsp_example_reads_with_inverted_flags():
    """pose-formats.md: image im0001.jpg, right ankle visible (flag 0), head top occluded (flag 1)."""
    t = triplets(2)
    t[0, 0] = [29.74, 143.80, 0.0]
    t[0, 13] = [88.10, 17.36, 1.0]
    data = lsp.decode({"joints": oriented(t, "lsp")})
    p = data.persons
    assert data.format == "lsp" and data.skeleton.name == "lsp" and data.origin == 0
    assert p.keypoints[0, 0].tolist() == [29.74, 143.80] and p.keypoints[0, 13].tolist() == [88.10, 17.36]
    assert p.visibility[0, 0] == 2 and p.visibility[0, 13] == 1
    assert p.visibility_raw[0, 0] == 0.0 and p.visibility_raw[0, 13] == 1.0
    assert data.images.file_names == ["images/im0001.jpg", "images/im0002.jpg"]
    assert data.images.ids.tolist() == [1, 2] and p.ids.tolist() == [1, 2] and p.image_index.tolist() == [0, 1]
    assert (data.images.widths == 0).all() and (data.images.heights == 0).all()  # not in the file
    assert np.isnan(p.boxes).all() and np.isnan(p.areas).all() and not p.crowd.any()
    assert data.meta == {"lsp": {"flavor": "lsp", "class": "double"}}
    # every joint of every image: LSP flag 0 -> v 2, 1 -> v 1
    assert (p.visibility == np.where(t[..., 2] == 0, 2, 1)).all()


def test_lspet_orientation_and_flags():
    t = triplets(3, 1.5)
    data = lsp.decode({"joints": oriented(t, "lspet")})
    p = data.persons
    assert data.meta["lsp"]["flavor"] == "lspet"
    assert (p.keypoints == t[..., :2]).all()
    assert (p.visibility == np.where(t[..., 2] == 1, 2, 1)).all()  # LSPet flag 1 -> v 2, 0 -> v 1
    assert data.images.file_names == ["images/im00001.jpg", "images/im00002.jpg", "images/im00003.jpg"]


def test_one_image_saved_by_matlab_without_the_singleton_axis():
    t = triplets(1, 3.0)
    for flavor in ("lsp", "lspet"):
        joints = oriented(t, flavor)[..., 0]  # 3 x 14 / 14 x 3, as MATLAB saves a 3 x 14 x 1 array
        data = lsp.decode({"joints": joints})
        assert len(data.images) == 1 and (data.persons.keypoints[0] == t[0, :, :2]).all()
        assert data.meta["lsp"] == {"flavor": flavor, "class": "double", "ndim": 2}
        assert same_array(lsp.encode(data)["joints"], joints)


# ------------------------------------------------------------------------ round trips, generated

_CLASSES = ["double", "single", "int16", "uint16", "int32", "uint8"]


@st.composite
def joints_arrays(draw):
    """A ``joints`` array of either orientation, any numeric class, any finite values, 0/1 flags."""
    flavor = draw(st.sampled_from(["lsp", "lspet"]))
    cls = draw(st.sampled_from(_CLASSES))
    n = draw(st.integers(0, 5))
    dtype = np.dtype(
        {"double": "f8", "single": "f4"}.get(
            cls, {"int16": "i2", "uint16": "u2", "int32": "i4", "uint8": "u1"}.get(cls)
        )
    )
    if dtype.kind == "f":
        coords = st.floats(allow_nan=False, allow_infinity=False, width=dtype.itemsize * 8)
        flags = st.sampled_from([0.0, 1.0, -0.0])
    else:
        info = np.iinfo(dtype)
        coords = st.integers(int(info.min), int(info.max))
        flags = st.sampled_from([0, 1])
    values = draw(st.lists(coords, min_size=n * 28, max_size=n * 28))
    flag_values = draw(st.lists(flags, min_size=n * 14, max_size=n * 14))
    t = np.empty((n, 14, 3), dtype)
    t[..., :2] = np.asarray(values, dtype).reshape(n, 14, 2)
    t[..., 2] = np.asarray(flag_values, dtype).reshape(n, 14)
    joints = oriented(t, flavor)
    if n == 1 and draw(st.booleans()):
        joints = np.ascontiguousarray(joints[..., 0])  # MATLAB's one-image file
    return joints, draw(st.booleans())


#: sha256 of the files the project's former hand-written MAT writer made of the arrays below (every
#: numeric class, both orientations, one-image 2-D files, no images; C and Fortran order). scipy's
#: savemat with a fixed header writes the same bytes, so the hand-written writer was dropped.
FORMER_WRITER_SHA256 = "1214aa959eb22bb0b3a1d0164b16d829ac84e7d2d0993f3c7e9fff5dfab3c317"


def test_written_files_are_byte_for_byte_the_former_writers():
    digest = hashlib.sha256()
    for name in ("double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"):
        dtype = class_dtype(name)
        for shape in [(3, 14, 4), (14, 3, 4), (3, 14), (14, 3), (3, 14, 0)]:
            size = int(np.prod(shape))
            values = (np.arange(size) % 97 - (40 if dtype.kind in "if" else 0)).astype(dtype).reshape(shape)
            for arr in (values, np.asfortranarray(values)):
                written = write_mat({"joints": arr})
                assert written.startswith(b"MATLAB 5.0 MAT-file, Platform: any, Created by: fiftyone-pose  ")
                digest.update(written)
    assert digest.hexdigest() == FORMER_WRITER_SHA256


@SETTINGS
@given(joints_arrays())
def test_generated_files_are_written_back_bit_for_bit(generated):
    joints, compress = generated
    raw = mat_bytes({"joints": joints}, compress)
    data = lsp.decode(read_mat(raw))
    assert data.meta["lsp"]["flavor"] == ("lsp" if joints.shape[0] == 3 else "lspet")
    written = write_mat(lsp.encode(data))
    assert same_array(read_mat(written)["joints"], joints)
    assert same_array(loadmat(io.BytesIO(written))["joints"], joints)  # another reader agrees
    assert write_mat(lsp.encode(lsp.decode(read_mat(written)))) == written  # deterministic bytes
    # converted to the other flavor and back: the same values
    other = "lspet" if data.meta["lsp"]["flavor"] == "lsp" else "lsp"
    again = lsp.decode(lsp.encode(data, flavor=other))
    assert (again.persons.keypoints == data.persons.keypoints).all()
    assert (again.persons.visibility == data.persons.visibility).all()


@SETTINGS
@given(joints_arrays())
def test_generated_files_survive_a_coco_file(generated):
    """LSP -> COCO -> LSP: the same joints (the flavor and class travel as a top-level COCO key);
    only a flag stored as -0.0 comes back as 0.0 (COCO writes its visibility, 2)."""
    joints, _ = generated
    data = lsp.decode({"joints": joints})
    doc = json.loads(json.dumps(coco.encode(data)))
    assert doc["lsp"] == data.meta["lsp"]
    assert all(v in (1, 2) and type(v) is int for a in doc["annotations"] for v in a["keypoints"][2::3])
    back = coco.decode(doc)
    assert back.skeleton.name == "lsp"
    written = lsp.encode(back)["joints"]
    assert written.dtype == joints.dtype and written.shape == joints.shape and np.array_equal(written, joints)
    assert lsp.decode({"joints": written}).persons.keypoints.tobytes() == data.persons.keypoints.tobytes()


def test_files_on_disk_folder_and_file_and_deterministic_write(tmp_path):
    t = triplets(4)
    src = write_joints(tmp_path / "lsp_dataset" / "joints.mat", oriented(t, "lsp"), compress=True)
    from_file = formats.read(src)
    from_folder = formats.read(tmp_path / "lsp_dataset")
    assert from_file.format == from_folder.format == "lsp"
    assert from_file.images.file_names[0] == "images/im0001.jpg"  # beside joints.mat
    assert from_folder.images.file_names[0] == "lsp_dataset/images/im0001.jpg"  # relative to the folder's parent
    out = tmp_path / "out" / "joints.mat"
    out.parent.mkdir()  # a destination's folder must exist
    formats.write(from_folder, out, "lsp")
    first = out.read_bytes()
    assert same_array(loadmat(out)["joints"], oriented(t, "lsp"))
    formats.write(formats.read(out, "lsp"), out, "lsp")
    assert out.read_bytes() == first
    folder = tmp_path / "into_folder"
    folder.mkdir()
    lsp.write(from_file, folder)  # a folder: joints.mat in it
    assert (folder / "joints.mat").read_bytes() == first


def test_image_sizes_from_the_image_headers(tmp_path):
    from PIL import Image

    src = write_joints(tmp_path / "lspet_dataset" / "joints.mat", oriented(triplets(2), "lspet"))
    (tmp_path / "lspet_dataset" / "images").mkdir()
    for k in range(2):
        Image.new("RGB", (100 + k, 160)).save(tmp_path / "lspet_dataset" / "images" / f"im{k + 1:05d}.jpg")
    data = lsp.read(src, images_dir=tmp_path / "lspet_dataset")
    assert data.images.widths.tolist() == [100, 101] and data.images.heights.tolist() == [160, 160]
    assert data.notes["image sizes read from image headers"] == 2
    with pytest.raises(PoseFormatError, match=r"joints\.mat: images\[0\] \(id 1, .*im00001\.jpg\): field 'width'"):
        lsp.read(src, images_dir=tmp_path / "elsewhere")


# ------------------------------------------------------------------------------------ sniffing


def test_detect_lsp_and_not_mhp_or_mpii(tmp_path):
    from dataset_docs import mhp_mat_person

    lsp_file = write_joints(tmp_path / "lsp_dataset" / "joints.mat", oriented(triplets(2), "lsp"))
    lspet_file = write_joints(tmp_path / "other.mat", oriented(triplets(2), "lspet"), compress=True)
    for path in (lsp_file, lsp_file.parent, lspet_file):
        assert formats.detect(path) == "lsp"
    mhp = tmp_path / "pose_annos" / "1.mat"
    mhp.parent.mkdir()
    mhp.write_bytes(mat_bytes({"person_0": np.asarray(mhp_mat_person(0, [0] * 16))}))
    mpii = tmp_path / "mpii_human_pose_v1_u12_1.mat"
    mpii.write_bytes(mat_bytes({"RELEASE": {"annolist": np.zeros((1, 2)), "img_train": np.ones((1, 2))}}))
    wrong_shape = tmp_path / "wrong.mat"
    wrong_shape.write_bytes(mat_bytes({"joints": np.zeros((2, 14, 3))}))
    for path in (mhp, mhp.parent, mpii, wrong_shape, tmp_path / "missing.mat"):
        assert lsp.detect(Peek(path)) == 0.0, path
    assert formats.detect(mhp) == "mhp"
    coco_file = tmp_path / "person_keypoints.json"
    coco.write(lsp.decode({"joints": oriented(triplets(2), "lsp")}), coco_file)
    assert lsp.detect(Peek(coco_file)) == 0.0 and formats.detect(coco_file) == "coco"
    # a damaged joints.mat is still LSP's to explain
    broken = tmp_path / "broken" / "joints.mat"
    broken.parent.mkdir()
    broken.write_bytes(lsp_file.read_bytes()[:300])
    assert formats.detect(broken) == "lsp"
    with pytest.raises(
        PoseFormatError, match=r"broken/joints\.mat: byte 128: cannot read as a MATLAB v5 file: .*truncated"
    ):
        formats.read(broken)


# -------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({"joints": np.zeros((3, 14, 2)), "names": np.ones((1, 2))}, r"x\.mat: names: unknown variable"),
        ({"points": np.zeros((3, 14, 2))}, r"x\.mat: points: unknown variable"),
        ({}, r"x\.mat: joints: required variable is missing \(found none\)"),
        (
            {"joints": np.zeros((3, 13, 2))},
            r"x\.mat: joints: expected a numeric 3 x 14 x N \(LSP\) or 14 x 3 x N \(LSPet\) array, "
            r"found double 3 x 13 x 2",
        ),
        ({"joints": np.zeros((14, 3, 2, 1, 2))}, r"joints: expected .* found double 14 x 3 x 2 x 1 x 2"),
        ({"joints": np.zeros((1, 42))}, r"joints: expected .* found double 1 x 42"),
        ({"joints": "text"}, r"x\.mat: joints: cannot read as a MATLAB v5 file: is a char array"),
        ({"joints": {"x": np.ones((2, 2))}}, r"x\.mat: joints: cannot read as a MATLAB v5 file: is a struct"),
    ],
)
def test_unexpected_variables_name_the_file_and_variable(tmp_path, variables, error):
    path = tmp_path / "x.mat"
    path.write_bytes(mat_bytes(variables))
    with pytest.raises(PoseFormatError, match=error):
        lsp.read(path)


def test_bad_values_name_the_image_and_the_value(tmp_path):
    t = triplets(3)
    t[1, 4, 0] = np.nan
    with pytest.raises(
        PoseFormatError,
        match=r"x\.mat: images\[1\] \(id 2, images/im0002\.jpg\): field 'joints\[0, 4, 1\]': "
        r"x of left_knee is nan, expected a finite number",
    ):
        lsp.read(write_joints(tmp_path / "x.mat", oriented(t, "lsp")))
    t = triplets(3)
    t[2, 13, 2] = 2.0
    with pytest.raises(
        PoseFormatError,
        match=r"images\[2\] \(id 3, images/im00003\.jpg\): field 'joints\[13, 2, 2\]': "
        r"flag of head_top is 2.0, expected 0 or 1",
    ):
        lsp.read(write_joints(tmp_path / "x.mat", oriented(t, "lspet")))
    t = triplets(3)
    t[0, 0, 1] = -np.inf
    with pytest.raises(PoseFormatError, match=r"field 'joints\[1, 0, 0\]': y of right_ankle is -inf"):
        lsp.decode({"joints": oriented(t, "lsp")}, path="x.mat")


def test_files_that_are_not_v5_mat_files(tmp_path):
    v73 = tmp_path / "v73.mat"
    v73.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(128, b" ") + b"\x89HDF\r\n")
    with pytest.raises(PoseFormatError, match=r"v73\.mat: header: .*v7\.3 \(HDF5\) files are not supported"):
        lsp.read(v73)
    text = tmp_path / "joints.json"
    text.write_text("{}")
    with pytest.raises(PoseFormatError, match=r"joints\.json: header: cannot read as a MATLAB v5 file"):
        lsp.read(text)
    empty = tmp_path / "empty_dataset"
    empty.mkdir()
    with pytest.raises(PoseFormatError, match=r"empty_dataset: no joints\.mat in this folder"):
        lsp.read(empty)


# ------------------------------------------------------------------------- what cannot be written


def lsp_data(n: int = 3, flavor: str = "lsp"):
    return lsp.decode({"joints": oriented(triplets(n), flavor)})


def test_unlabeled_points_are_refused_or_written_as_not_visible():
    for flavor, hidden_flag in (("lsp", 1.0), ("lspet", 0.0)):
        data = lsp_data(3, flavor)
        data.persons.visibility[1, 5] = 0  # e.g. hidden by a FiftyOne view
        data.persons.keypoints[1, 5] = 0
        with pytest.raises(
            ValueError,
            match=r"no 'unlabeled' state.*1 point\(s\).*left_ankle in images\[1\] \(id 2.*unlabeled='occluded'",
        ):
            lsp.encode(data)
        joints = lsp.encode(data, unlabeled="occluded")["joints"]
        t = joints.transpose(2, 1, 0) if flavor == "lsp" else joints.transpose(2, 0, 1)
        assert t[1, 5].tolist() == [0.0, 0.0, hidden_flag]
        assert data.notes[lsp.NOTE_UNLABELED] == 1
        again = lsp.decode({"joints": joints})
        assert again.persons.visibility[1, 5] == 1 and (again.persons.visibility.ravel() > 0).all()
    with pytest.raises(ValueError, match="unlabeled must be"):
        lsp.encode(lsp_data(), unlabeled="drop")
    data = lsp_data()
    data.persons.keypoints[2, 3, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"finite coordinates only; left_hip in images\[2\] \(id 3, images/im0003\.jpg\) is at \[.*, nan\]",
    ):
        lsp.encode(data)


def test_not_exactly_one_person_per_image_is_refused():
    data = lsp_data(3)
    p = data.persons
    two = p.take(np.array([0, 1, 1, 2]))
    with pytest.raises(
        ValueError, match=r"exactly one person per image; images\[1\] \(id 2, images/im0002\.jpg\) has 2"
    ):
        lsp.encode(type(data)(data.images, two, data.skeleton, [], data.meta, "lsp"))
    none = p.take(np.array([0, 2]))
    with pytest.raises(ValueError, match=r"images\[1\] \(id 2, images/im0002\.jpg\) has 0"):
        lsp.encode(type(data)(data.images, none, data.skeleton, [], data.meta, "lsp"))
    p.crowd[2] = True
    with pytest.raises(ValueError, match=r"no crowd regions; images\[2\]"):
        lsp.encode(data)


def test_images_are_written_in_the_slots_their_names_give():
    data = lsp_data(3)
    order = np.array([2, 0, 1])
    images = data.images
    shuffled = type(images)(
        images.ids[order], [images.file_names[i] for i in order], images.widths[order], images.heights[order], [{}] * 3
    )
    persons = data.persons.take(np.array([1, 2, 0]))  # the persons of im0002, im0003, im0001
    persons.image_index = np.array([2, 0, 1])  # rows of im0002, im0003, im0001 in the shuffled table
    view = type(data)(shuffled, persons, data.skeleton, [], data.meta, "lsp")
    assert same_array(lsp.encode(view)["joints"], lsp.encode(data)["joints"])
    subset = type(data)(
        type(images)(images.ids[1:], images.file_names[1:], images.widths[1:], images.heights[1:], [{}] * 2),
        data.persons.take(np.array([1, 2])),
        data.skeleton, [], data.meta, "lsp",
    )  # fmt: skip
    subset.persons.image_index = np.array([0, 1])
    with pytest.raises(
        ValueError, match=r"must be named im1\.jpg \.\. im2\.jpg.*images\[1\] \(id 3, images/im0003\.jpg\) does not fit"
    ):
        lsp.encode(subset)
    twice = lsp_data(2)
    twice.images.file_names[1] = "images/im0001.jpg"
    with pytest.raises(ValueError, match="two images have the same number"):
        lsp.encode(twice)


def test_other_layouts_and_flavors():
    from helpers import coco_doc

    with pytest.raises(ValueError, match="layout='lsp'"):
        lsp.encode(coco.decode(coco_doc()))
    converted = to_layout(coco.decode(coco_doc()), "lsp")
    with pytest.raises(
        ValueError, match=r"must be named im1\.jpg \.\. im3\.jpg.*images\[0\] \(id 7, 000000000007\.jpg\) does not fit"
    ):
        lsp.encode(converted)  # COCO's images are not LSP's numbered slots (and it has more than one person per image)
    with pytest.raises(ValueError, match="unknown LSP flavor"):
        lsp.encode(lsp_data(), flavor="leeds")
    # data without a recorded flavor: the digits of the image names decide
    data = lsp_data(2, "lspet")
    data.meta = {}
    assert lsp.encode(data)["joints"].shape == (14, 3, 2)


def test_edited_values_that_the_class_cannot_hold_are_written_as_double():
    t = triplets(2).astype(np.int16)
    data = lsp.decode({"joints": oriented(t, "lsp")})
    assert data.meta["lsp"]["class"] == "int16" and data.persons.int_mask["keypoints"].all()
    assert lsp.encode(data)["joints"].dtype == np.int16
    data.persons.keypoints[0, 0, 0] = 12.5  # moved in FiftyOne
    joints = lsp.encode(data)["joints"]
    assert joints.dtype == np.float64 and joints[0, 0, 0] == 12.5 and data.notes[lsp.NOTE_CLASS] == 1


# -------------------------------------------------------------------------------- COCO and CLI


def self_ap(path: Path, sigma: float = 0.089) -> float:
    """pycocotools keypoint AP of a COCO file's persons against itself (LSP has no OKS sigmas: any will do)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    doc = json.loads(path.read_text())
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        ev = COCOeval(gt, gt.loadRes(results_of(doc)), "keypoints")
        ev.params.kpt_oks_sigmas = np.full(14, sigma)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def test_coco_export_evaluates_and_cli_convert(tmp_path, capsys):
    src = write_joints(tmp_path / "lspet_dataset" / "joints.mat", oriented(triplets(5), "lspet"))
    out = tmp_path / "coco.json"
    assert cli.main(["convert", str(src), str(out)]) == 0
    assert "format: lsp" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert len(doc["annotations"]) == 5 and all("bbox" in a and a["area"] > 0 for a in doc["annotations"])
    assert doc["images"][0] == {"id": 1, "file_name": "images/im00001.jpg"}  # no size in joints.mat
    assert self_ap(out) == 1.0
    back = tmp_path / "back.mat"
    assert cli.main(["convert", str(out), str(back), "--to", "lsp"]) == 0
    assert same_array(loadmat(back)["joints"], loadmat(src)["joints"])


# ------------------------------------------------------------------------------------- FiftyOne


def test_fiftyone_import_export_and_a_hidden_point(fo_db, tmp_path):
    from PIL import Image

    import fiftyone_pose as fop

    t = triplets(3, 0.5)
    root = tmp_path / "lsp_dataset"
    write_joints(root / "joints.mat", oriented(t, "lsp"))
    (root / "images").mkdir()
    for k in range(3):
        Image.new("RGB", (200 + k, 300)).save(root / "images" / f"im{k + 1:04d}.jpg")
    ds = fop.load(root, format="auto")  # the folder: images found under it by default
    try:
        assert ds.skeletons["ground_truth"].labels == list(lsp.layout().keypoints)
        s = ds.first()
        assert Path(s.filepath) == (root / "images" / "im0001.jpg").resolve()
        assert (s.metadata.width, s.metadata.height) == (200, 300)  # from the image header
        (person,) = s.ground_truth.keypoints
        assert person.visibility == np.where(t[0, :, 2] == 0, 2, 1).tolist()
        assert person.raw_keypoints[2::3] == t[0, :, 2].tolist()  # the file's flags
        assert np.allclose(np.array(person.points), t[0, :, :2] / [200, 300])
        out = tmp_path / "out" / "joints.mat"
        out.parent.mkdir()
        written = fop.export(ds, out, format="lsp", overwrite=True)
        assert same_array(loadmat(out)["joints"], oriented(t, "lsp"))
        assert written.notes == {}  # nothing adjusted, nothing left out
        fop.export(ds, tmp_path / "default.mat", overwrite=True)  # the format imported from
        assert same_array(loadmat(tmp_path / "default.mat")["joints"], oriented(t, "lsp"))
        coco_out = tmp_path / "coco.json"
        fop.export(ds, coco_out, format="coco", overwrite=True)
        assert json.loads(coco_out.read_text())["images"][0]["width"] == 200 and self_ap(coco_out) == 1.0

        view = ds.filter_keypoints("ground_truth", labels=[n for n in lsp.layout().keypoints if n != "neck"])
        with pytest.raises(ValueError, match=r"no 'unlabeled' state.*3 point\(s\).*neck"):
            fop.export(view, out, format="lsp", overwrite=True)
        assert same_array(loadmat(out)["joints"], oriented(t, "lsp"))  # the old file is untouched
        fop.export(view, out, format="lsp", unlabeled="occluded", overwrite=True)
        written = loadmat(out)["joints"]
        assert (written[:, 12, :] == [[0.0], [0.0], [1.0]]).all()  # neck: 0, 0, occluded
        assert np.array_equal(np.delete(written, 12, axis=1), np.delete(oriented(t, "lsp"), 12, axis=1))
        with pytest.raises(ValueError, match=r"subset of the images"):
            fop.export(ds.skip(1), out, format="lsp", overwrite=True)
        sorted_view = ds.sort_by("filepath", reverse=True)
        fop.export(sorted_view, out, format="lsp", overwrite=True)
        assert same_array(loadmat(out)["joints"], oriented(t, "lsp"))
    finally:
        ds.delete()
