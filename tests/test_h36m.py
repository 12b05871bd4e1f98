"""Human3.6M: mmpose's npz (written back with the same arrays bit for bit) and h36m_coco.json (the
same document back), frame-name parsing, camera sizes, refusals, damaged bytes, COCO export
(pycocotools AP = 1.0) and FiftyOne."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from dataset_strategies import coco_like_docs
from h36m_docs import FRAMES, frame_name, h36m_coco_doc, h36m_npz_arrays, npz_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import coords

from fiftyone_pose import cli, formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.core.model import ABSENT
from fiftyone_pose.core.stream import PoseStream
from fiftyone_pose.formats import coco, h36m
from fiftyone_pose.formats.h36m import CAMERA_SIZES, MMPOSE_COCO_NAMES, NpzDocument
from fiftyone_pose.formats.protocol import Confidence, Peek

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def arrays_differ(got: NpzDocument | dict, want: NpzDocument | dict) -> str | None:
    """Where two npz documents differ: keys or their order, dtype, shape, memory order, bytes, compression."""
    g = got.arrays if isinstance(got, NpzDocument) else got
    w = want.arrays if isinstance(want, NpzDocument) else want
    if list(g) != list(w):
        return f"keys {list(g)} != {list(w)}"
    for key in w:
        a, b = g[key], w[key]
        fortran = [x.ndim > 1 and x.flags.f_contiguous and not x.flags.c_contiguous for x in (a, b)]
        if a.dtype.str != b.dtype.str or a.shape != b.shape or fortran[0] != fortran[1]:
            return f"{key}: {a.dtype.str} {a.shape} F={fortran[0]} != {b.dtype.str} {b.shape} F={fortran[1]}"
        if a.tobytes("A") != b.tobytes("A"):
            return f"{key}: values differ"
    if isinstance(got, NpzDocument) and isinstance(want, NpzDocument):
        if {k: bool(v) for k, v in got.compressed.items()} != {k: bool(want.compressed.get(k)) for k in got.compressed}:
            return f"compression {got.compressed} != {want.compressed}"
    return None


def write_npz(path: Path, arrays: dict[str, np.ndarray], compressed: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(npz_bytes(arrays, compressed))
    return path


def npz_roundtrip(doc: NpzDocument | dict) -> NpzDocument:
    return h36m.encode(h36m.decode(doc), flavor="npz")


def coco_roundtrip(doc: dict) -> dict:
    return h36m.encode(h36m.decode(json.loads(json.dumps(doc))))


def keypoint_ap(path: Path) -> float:
    """COCOeval keypoint AP of a COCO file's persons against themselves (Human3.6M has no OKS
    sigmas: a uniform 0.05; any positive value gives AP 1.0 for exact matches)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    doc = json.loads(path.read_text())
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
               for a in doc["annotations"]]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        ev = COCOeval(gt, gt.loadRes(results), "keypoints")
        ev.params.kpt_oks_sigmas = np.full(17, 0.05)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


# ----------------------------------------------------------------------------------- strategies

_no_nul = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
parsed_names = st.builds(
    frame_name,
    st.sampled_from(["S1", "S9", "S11"]),
    st.sampled_from(["Directions_1", "WalkDog_2", "Photo_1", "Eating"]),
    st.sampled_from([*CAMERA_SIZES, "12345"]),
    st.integers(0, 999999),
    st.integers(1, 8),
)
frame_names = st.one_of(parsed_names, parsed_names, st.text(_no_nul, min_size=1, max_size=24))


@st.composite
def npz_docs(draw, max_rows: int = 5, nan: bool = True, odd_flags: bool = True):
    """An mmpose-like npz with every case its reader must keep: dtypes, byte orders, Fortran
    order, compression, odd flags, duplicate or unparseable names, extra per-row and file-level
    arrays (some named like COCO keys), any key order. ``nan``: NaN/inf in the 3D points."""
    n = draw(st.integers(0, max_rows))
    names: list[str] = []
    for _ in range(n):
        names.append(draw(st.sampled_from(names)) if names and draw(st.integers(0, 5)) == 0 else draw(frame_names))
    arrays = {"imgname": np.array(names, dtype=str) if n else np.zeros(0, "<U1")}
    dtype = np.dtype(draw(st.sampled_from(["<f8", "<f4", ">f8", "<f2", "<i4", "<i8"])))
    if dtype.kind == "f":
        xy_el = st.floats(-1e4, 1e4, width=min(dtype.itemsize * 8, 64), allow_subnormal=False)
    else:
        xy_el = st.integers(-10_000, 10_000)
    xy = draw(hnp.arrays(dtype, (n, 17, 2), elements=xy_el))
    flags = draw(hnp.arrays(dtype, (n, 17, 1), elements=st.sampled_from([1, 1, 1, 1, 0, 2, -1] if odd_flags else [1])))
    arrays["part"] = np.concatenate([xy, flags], axis=2).astype(dtype)
    f3 = np.dtype(draw(st.sampled_from(["<f8", "<f4"])))
    s_el = st.floats(width=f3.itemsize * 8, allow_nan=nan, allow_infinity=nan)
    arrays["S"] = draw(hnp.arrays(f3, (n, 17, 4), elements=s_el))
    arrays["center"] = draw(hnp.arrays(np.float64, (n, 2), elements=st.floats(-1e4, 1e4)))
    arrays["scale"] = draw(
        hnp.arrays(np.dtype(draw(st.sampled_from(["<f8", "<f4"]))), (n,), elements=st.floats(0, 10, width=32))
    )
    for _ in range(draw(st.integers(0, 3))):
        key = draw(
            st.one_of(
                st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
                st.sampled_from(["bbox", "id", "npz_bbox", "area"]),
            )
        )
        if key in arrays:
            continue
        dt = np.dtype(draw(st.sampled_from(["|b1", "<i8", "<u1", ">i2", "<f4", "<f8", "<U5"])))
        per_row = draw(st.booleans())
        shape = (
            (n, *draw(st.sampled_from([(), (2,), (3, 2)]))) if per_row else draw(st.sampled_from([(), (3,), (2, 2)]))
        )
        if dt.kind == "U":
            el = st.text(_no_nul, max_size=5)
        elif dt.kind == "f":
            el = st.floats(width=dt.itemsize * 8, allow_nan=nan and per_row, allow_infinity=nan)
        else:
            el = None
        arrays[key] = draw(hnp.arrays(dt, shape, elements=el))
    order = draw(st.permutations(list(arrays)))
    out = {}
    for key in order:
        arr = arrays[key]
        out[key] = np.asfortranarray(arr) if arr.ndim > 1 and draw(st.booleans()) else arr
    return NpzDocument(out, {key: draw(st.booleans()) for key in out})


@st.composite
def coco_docs(draw):
    """``h36m_coco.json``-like documents: mmpose's category, flags 1 / 1.0 and odd ones,
    ``keypoints_3d``, frame names that parse and names that do not, optional info."""
    edges = [list(e) for e in skeletons.load("h36m").edges]
    doc = draw(coco_like_docs(
        17, list(MMPOSE_COCO_NAMES), edges, vis=st.sampled_from([1, 1.0, 1, 0, 2, 0.5]),
        ann_extras={"keypoints_3d": st.lists(coords, min_size=68, max_size=68)},
    ))  # fmt: skip
    for rec in doc["images"]:
        if draw(st.booleans()):
            rec["file_name"] = draw(parsed_names).rsplit("/", 1)[1] if draw(st.booleans()) else draw(parsed_names)
    return doc


def reference_parse(name: str) -> dict | None:
    """The documented rule, one name at a time: split the base name at the first ``_``, ``.``, ``_``."""
    base = name.rsplit("/", 1)[-1]
    subject, sep1, rest = base.partition("_")
    action, sep2, rest = rest.partition(".")
    camera, sep3, rest = rest.partition("_")
    stem, dot, _ = rest.rpartition(".")
    frame = stem if dot else rest
    if not (sep1 and sep2 and sep3 and subject and action and camera and 0 < len(frame) <= 18):
        return None
    if not re.fullmatch(r"[0-9]+", frame):
        return None
    return {"subject": subject, "action": action, "camera": camera, "frame": int(frame)}


# ------------------------------------------------------------------------------------------ npz


def test_npz_example_model_images_persons_and_extras():
    arrays = h36m_npz_arrays()
    data = h36m.decode(arrays)
    im, p = data.images, data.persons
    assert data.format == "h36m" and data.skeleton.name == "h36m" and h36m.flavor_of(data) == "npz"
    assert (
        len(im) == len(p) == len(FRAMES)
        and im.ids.tolist() == list(range(1, 9))
        and p.ids.tolist() == list(range(1, 9))
    )
    assert im.file_names[0] == "S9/S9_Directions_1.54138969/S9_Directions_1.54138969_000001.jpg"
    assert im.extras[0] == {"subject": "S9", "action": "Directions_1", "camera": "54138969", "frame": 1}
    assert im.extras[5] == {"subject": "S9", "action": "Directions_1", "camera": "55011271", "frame": 6}  # 5 digits
    assert im.extras[6] == {"subject": "S11", "action": "WalkTogether_2", "camera": "60457274", "frame": 1231}
    # the four views of frame 1 group by (subject, action, frame)
    views = [e["camera"] for e in im.extras if (e["subject"], e["action"], e["frame"]) == ("S9", "Directions_1", 1)]
    assert sorted(views) == sorted(CAMERA_SIZES)
    assert list(zip(im.widths.tolist(), im.heights.tolist())) == [
        (1000, 1002), (1000, 1000), (1000, 1000), (1000, 1002), (1000, 1002), (1000, 1000), (1000, 1002), (0, 0)
    ]  # fmt: skip
    assert data.notes[h36m.NOTE_CAMERA] == 1 and h36m.NOTE_NAMES not in data.notes
    # every point exists: the file's 1 is visible (2), the raw value is kept
    assert (p.visibility == 2).all() and (p.visibility_raw == 1).all()
    assert np.array_equal(p.keypoints, arrays["part"][..., :2])
    assert np.isnan(p.boxes).all() and np.isnan(p.areas).all() and (p.num_keypoints == -1).all()
    assert p.extras[3].keys() == {"center", "scale", "S"}
    assert p.extras[3]["S"] == arrays["S"][3].ravel().tolist() and len(p.extras[3]["S"]) == 68
    assert p.extras[3]["center"] == arrays["center"][3].tolist() and p.extras[3]["scale"] == arrays["scale"][3]
    assert [e["name"] for e in data.meta[h36m.META_KEY]["arrays"]] == ["imgname", "center", "scale", "part", "S"]


def test_npz_example_roundtrips_bit_for_bit_through_a_file(tmp_path):
    src = write_npz(tmp_path / "h36m_test.npz", h36m_npz_arrays())
    assert formats.detect(src) == "h36m" and h36m.detect(Peek(src)) == Confidence.CERTAIN
    data = formats.read(src)
    out = tmp_path / "again.npz"
    formats.write(data, out, "h36m")
    with np.load(out, allow_pickle=False) as z:
        assert arrays_differ({k: z[k] for k in z.files}, h36m_npz_arrays()) is None
    first = out.read_bytes()
    formats.write(formats.read(out), out, "h36m")
    assert out.read_bytes() == first  # deterministic: fixed zip timestamps


def test_the_3d_extras_are_columns_not_lists():
    """300k rows of 3D points stay numpy arrays: the extras make a row's dict on access, and
    the writer hands the very arrays back."""
    arrays = h36m_npz_arrays()
    data = h36m.decode(arrays)
    extras = data.persons.extras
    assert isinstance(extras, h36m.RowDicts) and len(extras) == 8
    assert np.shares_memory(extras.column("S"), arrays["S"])
    assert list(extras)[2] == extras[2] == extras[-6] and extras[1:3] == [extras[1], extras[2]]
    out = h36m.encode(data, flavor="npz")
    assert np.shares_memory(out.arrays["S"], arrays["S"])


@SETTINGS
@given(npz_docs())
def test_generated_npz_roundtrip_bit_for_bit(doc):
    assert arrays_differ(npz_roundtrip(doc), doc) is None


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(npz_docs(max_rows=3))
def test_generated_npz_roundtrip_through_files(doc):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h36m_train.npz"
        h36m.save_npz(doc, path)
        loaded = h36m.load_npz(path)
        assert arrays_differ(loaded, doc) is None
        h36m.write(h36m.read(path), path)
        assert arrays_differ(h36m.load_npz(path), doc) is None


@SETTINGS
@given(npz_docs(nan=False))
def test_generated_npz_from_plain_extras_roundtrip(doc):
    """Extras as one dict per person (as a FiftyOne export gives them) write the same arrays."""
    data = h36m.decode(doc)
    p = data.persons
    plain = dataclasses.replace(data, persons=dataclasses.replace(p, extras=[dict(e) for e in p.extras]))
    assert arrays_differ(h36m.encode(plain, flavor="npz"), doc) is None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(npz_docs(max_rows=6), st.integers(1, 3), st.booleans())
def test_streamed_npz_is_the_whole_write(doc, chunk_size, plain):
    """The npz written a chunk of persons at a time has the bytes and notes of the whole write,
    from the arrays as read or from plain extras (as a FiftyOne export gives them)."""
    data = h36m.decode(doc)
    if plain:
        p = data.persons
        data = dataclasses.replace(data, persons=dataclasses.replace(p, extras=[dict(e) for e in p.extras]))
    whole = dataclasses.replace(data, notes={})
    with tempfile.TemporaryDirectory() as tmp:
        h36m.save_npz(h36m.encode(whole, flavor="npz"), Path(tmp) / "whole.npz")
        stream = PoseStream.of(dataclasses.replace(data, notes={}), chunk_size=chunk_size)
        h36m.write_stream(stream, Path(tmp) / "streamed.npz")
        assert (Path(tmp) / "streamed.npz").read_bytes() == (Path(tmp) / "whole.npz").read_bytes()
    assert stream.notes == whole.notes


def test_streamed_npz_widens_names_of_a_later_chunk():
    """A frame name longer than the file's imgname width in the last chunk only widens the whole
    column, noted once, as the whole write does."""
    names = [f"S1/S1_Walk.54138969_00000{i}.jpg" for i in range(3)]
    doc = NpzDocument({"imgname": np.array(names), "part": np.ones((3, 17, 3))}, {})
    data = h36m.decode(doc)
    data.images.file_names[2] = "S1/S1_Walking_1.54138969_000001.jpg"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h36m_test.npz"
        stream = PoseStream.of(data, chunk_size=1)
        h36m.write_stream(stream, path)
        got = h36m.load_npz(path).arrays["imgname"]
    assert got.dtype == np.dtype("<U35") and got.tolist() == [*names[:2], data.images.file_names[2]]
    assert stream.notes == {"frame names longer than the file's imgname width (imgname widened)": 1}


@SETTINGS
@given(npz_docs(nan=False, odd_flags=False))
def test_generated_npz_through_a_coco_export_come_back_the_same(doc):
    """A COCO export of an npz keeps the arrays (persons' keys, the layout in ``h36m_npz``):
    read back and written as npz, it gives the same arrays (flags 1, as mmpose writes them)."""
    exported = json.loads(json.dumps(coco.encode(h36m.decode(doc))))
    assert arrays_differ(h36m.encode(h36m.decode(exported), flavor="npz"), doc) is None


def test_duplicate_frame_names_are_one_image_with_persons_in_row_order():
    arrays = h36m_npz_arrays()
    arrays["imgname"] = arrays["imgname"][[0, 1, 0, 2, 1, 3, 4, 5]]
    data = h36m.decode(arrays)
    assert len(data.images) == 6 and data.persons.image_index.tolist() == [0, 1, 0, 2, 1, 3, 4, 5]
    assert arrays_differ(h36m.encode(data, flavor="npz"), arrays) is None


def test_odd_flags_unparseable_names_and_empty_files():
    arrays = h36m_npz_arrays()
    arrays["part"][0, :3, 2] = [0, 2, -1]
    arrays["imgname"] = np.array(["a.jpg", *arrays["imgname"][1:].tolist()])
    data = h36m.decode(arrays)
    assert data.persons.visibility[0, :4].tolist() == [0, 2, 0, 2]
    assert data.notes[h36m.NOTE_FLAGS] == 3 and data.notes[h36m.NOTE_NAMES] == 1
    assert data.images.extras[0] == {} and data.images.widths[0] == 0
    assert arrays_differ(npz_roundtrip(arrays), arrays) is None
    empty = {key: a[:0] for key, a in h36m_npz_arrays().items()}
    assert len(h36m.decode(empty).images) == 0 and arrays_differ(npz_roundtrip(empty), empty) is None


# -------------------------------------------------------------------------------- frame names


def test_frame_names_parse_by_separators_not_widths():
    names = [
        "S9/S9_Walking_1.55011271/S9_Walking_1.55011271_000046.jpg",
        "S9_Walking_1.55011271_00046.jpg",  # 5 digits, no folder
        "S1/S1_Directions.54138969/S1_Directions.54138969_7.png",
        "S1_Directions.54138969_12",  # no extension
        "S1_Eating_2.cam.x_0001.jpg",  # a dot in the camera part
        "S1Directions.54138969_000001.jpg", "S1_Directions_54138969_000001.jpg", "S1_Directions.54138969.jpg",
        "S1_Directions.54138969_0001x.jpg", "_Directions.54138969_000001.jpg", "S1_.54138969_000001.jpg",
        "S1_Directions._000001.jpg", "S1_Directions.54138969_.jpg", "S1_Directions.54138969_1_2.jpg",
    ]  # fmt: skip
    fields, ok = h36m.parse_frame_names(np.array(names))
    assert ok.tolist() == [True] * 5 + [False] * 9
    assert fields["frame"][:5].tolist() == [46, 46, 7, 12, 1]
    assert fields["camera"][4] == "cam.x" and fields["action"][0] == "Walking_1" and fields["subject"][2] == "S1"
    for i, name in enumerate(names):
        assert (reference_parse(name) is not None) == ok[i], name


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(frame_names, st.text("S1_W.c_0123456789/", max_size=20), st.text(_no_nul, max_size=8)),
        min_size=1,
        max_size=8,
    )
)
def test_vectorised_parse_equals_the_documented_rule(names):
    names = [n for n in names if n == n.rstrip("\x00")]  # numpy text drops trailing NULs
    fields, ok = h36m.parse_frame_names(np.array(names, dtype=str))
    for i, name in enumerate(names):
        want = reference_parse(name)
        assert bool(ok[i]) == (want is not None), name
        if want:
            assert {k: fields[k][i].item() for k in h36m.FRAME_KEYS} == want


def test_camera_sizes_width_by_height():
    names = np.array([frame_name("S1", "Eating_1", c, 1) for c in [*CAMERA_SIZES, "1234"]])
    fields, ok = h36m.parse_frame_names(names)
    widths, heights = h36m.camera_sizes(fields["camera"], ok)
    assert list(zip(widths.tolist(), heights.tolist())) == [
        (1000, 1002),
        (1000, 1000),
        (1000, 1000),
        (1000, 1002),
        (0, 0),
    ]


# ------------------------------------------------------------------------------------- errors


def _error(tmp_path: Path, content: bytes | dict, name: str = "h36m_test.npz") -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else npz_bytes(content))
    with pytest.raises(PoseFormatError) as e:
        formats.read(path, "h36m")
    text = str(e.value)
    assert text.startswith(f"{path}: ") and "\n" not in text, text
    return text[len(str(path)) + 2 :]


def test_bad_arrays_name_the_array_and_row(tmp_path):
    arrays = h36m_npz_arrays()
    del arrays["part"]
    assert _error(tmp_path, arrays).startswith("field 'part': required array is missing")
    arrays = h36m_npz_arrays()
    arrays["part"] = arrays["part"][:, :16]
    assert (
        _error(tmp_path, arrays)
        == "field 'part': expected 8 x 17 x 3 numbers (x, y, 1 per point), found float64 (8, 16, 3)"
    )
    arrays = h36m_npz_arrays()
    arrays["part"][3, 5, 1] = np.nan
    assert _error(tmp_path, arrays) == (
        "rows[3] (S9/S9_Directions_1.60457274/S9_Directions_1.60457274_000001.jpg): field 'part': "
        "has a coordinate or flag that is not a finite number"
    )
    arrays = h36m_npz_arrays()
    arrays["imgname"] = np.arange(8)
    assert _error(tmp_path, arrays).startswith("field 'imgname': expected a list of frame names")
    arrays = h36m_npz_arrays()
    arrays["imgname"][2] = ""
    assert _error(tmp_path, arrays) == "rows[2]: field 'imgname': empty frame name"
    arrays = h36m_npz_arrays()
    arrays["phase"] = np.ones(8, complex)
    assert (
        _error(tmp_path, arrays) == "field 'phase': unsupported dtype complex128 (numbers, booleans and text are read)"
    )
    arrays = h36m_npz_arrays()
    arrays["big"] = np.zeros((9, 17, 4, 20))  # not one row per frame, and too large for the file-level record
    assert _error(tmp_path, arrays).startswith("field 'big': has 9 rows, imgname has 8")
    arrays["big"] = np.zeros((9, 17, 4))  # small: kept as a file-level array
    assert arrays_differ(npz_roundtrip(arrays), arrays) is None


def test_pickles_are_refused_without_being_loaded(tmp_path):
    arrays = h36m_npz_arrays()
    arrays["meta"] = np.array([{"boom": 1}], dtype=object)
    assert _error(tmp_path, arrays) == (
        "field 'meta': holds Python objects (a pickle): loading a pickle can run arbitrary code, so it is not read"
    )
    for name, key in (("data_2d_h36m_gt.npz", "positions_2d"), ("data_3d_h36m.npz", "positions_3d")):
        path = tmp_path / name
        np.savez(path, **{key: np.array({"S1": {"Walking": np.zeros((2, 17, 2))}}, dtype=object)}, metadata=np.array(1))
        assert formats.detect(path) == "h36m"
        assert "VideoPose3D" in _error(tmp_path, path.read_bytes(), name)
        assert "pickle" in _error(tmp_path, path.read_bytes(), name)
    with pytest.raises(ValueError, match="not written"):
        h36m.write(h36m.decode(h36m_npz_arrays()), tmp_path / "x.npz", flavor="videopose3d")


def test_not_an_npz(tmp_path):
    assert _error(tmp_path, b"").startswith("not a readable npz file")
    assert _error(tmp_path, b"PK\x03\x04 not really").startswith("not a readable npz file")
    for members, error in (
        ({"imgname.npy": b"\x93NUMPY"}, "field 'imgname': cannot read the array: ValueError"),
        ({"imgname.npy": npz_bytes({"x": np.zeros(3)})}, "field 'imgname': cannot read the array: ValueError"),
        ({"readme.txt": b"hello"}, "member 'readme.txt' is not a .npy array"),
    ):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, content in members.items():
                zf.writestr(name, content)
        assert _error(tmp_path, buf.getvalue()).startswith(error)
    # a header that promises more data than the member holds is refused before any array is made
    npy = io.BytesIO()
    np.lib.format.write_array(npy, np.zeros((1, 17, 3)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # a valid zip (CRC of the changed bytes) whose header lies
        zf.writestr("part.npy", npy.getvalue().replace(b"(1, 17, 3)", b"(9, 17, 3)"))
    assert _error(tmp_path, buf.getvalue()) == (
        "field 'part': the .npy header says (9, 17, 3) x float64 (3672 bytes), "
        "the member holds 408 bytes of data: file damaged?"
    )


def test_damaged_bytes_give_a_format_error_never_another_exception(tmp_path):
    """Every cut and a flipped byte at every position of a small npz (stored and compressed):
    a PoseFormatError, or a file that still reads and writes back; ``detect`` never raises."""
    arrays = {k: v[:2] for k, v in h36m_npz_arrays().items()}
    outcomes = {"error": 0, "read": 0}
    for compressed in (False, True):
        raw = npz_bytes(arrays, compressed)
        variants = [raw[:cut] for cut in range(0, len(raw), 7)]
        variants += [raw[:i] + bytes([raw[i] ^ 0x5A]) + raw[i + 1 :] for i in range(0, len(raw), 3)]
        for content in variants:
            path = tmp_path / "h36m_test.npz"
            path.write_bytes(content)
            assert h36m.detect(Peek(path)) in Confidence
            try:
                data = h36m.read(path)
            except PoseFormatError as e:
                assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
                outcomes["error"] += 1
                continue
            h36m.write(data, tmp_path / "out.npz")
            outcomes["read"] += 1
    assert outcomes["error"] > 0.8 * sum(outcomes.values()), outcomes


# ------------------------------------------------------------------------------------- COCO


def test_coco_flavor_example_reads_by_position_and_roundtrips_exactly(tmp_path):
    doc = h36m_coco_doc()
    data = h36m.decode(copy.deepcopy(doc))
    assert h36m.flavor_of(data) == "coco" and data.skeleton.name == "h36m"
    assert data.categories == doc["categories"]  # verbatim: swapped names and the 0-based skeleton
    assert data.skeleton.edges == skeletons.load("h36m").edges  # not read from the category
    p = data.persons
    assert (p.visibility == 2).all() and (p.visibility_raw == 1).all()
    assert p.extras[0]["keypoints_3d"] == doc["annotations"][0]["keypoints_3d"]
    assert data.images.extras[1] == {"subject": "S9", "action": "Directions_1", "camera": "55011271", "frame": 1}
    assert data.meta == {"info": ABSENT}  # mmpose's file has no info (nor licenses): none is written back
    assert first_difference(coco_roundtrip(doc), doc) is None
    src = tmp_path / "h36m_coco.json"
    src.write_text(json.dumps(doc))
    assert formats.detect(src) == "h36m"
    out = tmp_path / "again.json"
    formats.write(formats.read(src), out, "h36m")
    written = json.loads(out.read_text())
    assert first_difference(written, doc) is None and "info" not in written


@SETTINGS
@given(coco_docs())
def test_generated_coco_flavor_files_roundtrip_exactly(doc):
    assert first_difference(coco_roundtrip(doc), doc) is None


def test_coco_flavor_records_with_name_fields_keep_them(tmp_path):
    doc = h36m_coco_doc()
    doc["images"][0]["camera"] = "54138969"  # the file's own key, equal to the parse
    data = h36m.decode(copy.deepcopy(doc))
    assert data.meta[h36m.OWN_KEYS_MARK] is True and "subject" not in data.images.extras[1]
    assert first_difference(h36m.encode(data), doc) is None


def test_exports_to_coco_evaluate_and_come_back_to_the_same_npz(tmp_path):
    src = write_npz(tmp_path / "h36m_test.npz", h36m_npz_arrays())
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    exported = json.loads(out.read_text())
    assert keypoint_ap(out) == 1.0
    ann, image = exported["annotations"][0], exported["images"][0]
    assert ann["keypoints"][2::3] == [2] * 17 and ann["num_keypoints"] == 17 and ann["iscrowd"] == 0
    assert ann["bbox"][2] > 0 and ann["area"] == ann["bbox"][2] * ann["bbox"][3]  # from the points
    assert len(ann["S"]) == 68 and "segmentation" not in ann
    assert image["width"] == 1000 and image["height"] == 1002 and image["camera"] == "54138969"
    assert "width" not in exported["images"][7]  # unknown camera, no image read
    back = tmp_path / "back.npz"
    formats.write(formats.read(out), back, "h36m", flavor="npz")
    assert arrays_differ(h36m.load_npz(back), h36m_npz_arrays()) is None
    # the COCO-style flavor too, and from it the COCO export
    coco_file = tmp_path / "h36m_coco.json"
    coco_file.write_text(json.dumps(h36m_coco_doc()))
    formats.write(formats.read(coco_file), out, "coco")
    assert keypoint_ap(out) == 1.0 and json.loads(out.read_text())["annotations"][0]["keypoints"][2] == 2


def test_npz_written_as_the_coco_flavor_looks_like_the_converter(tmp_path):
    data = h36m.decode(h36m_npz_arrays())
    doc = h36m.encode(data, flavor="coco")
    assert list(doc)[:1] == ["h36m_npz"] and "info" not in doc and "licenses" not in doc
    assert doc["categories"][0]["skeleton"][0] == [0, 4]  # 0-based, as mmpose's file
    assert doc["annotations"][0]["keypoints"][2] == 1 and "subject" not in doc["images"][0]
    again = h36m.decode(json.loads(json.dumps(doc)))
    assert arrays_differ(h36m.encode(again, flavor="npz"), h36m_npz_arrays()) is None


def test_coco_flavor_written_as_npz_says_what_it_leaves_out():
    doc = h36m_coco_doc()
    data = h36m.decode(copy.deepcopy(doc))
    out = h36m.encode(data, flavor="npz")
    assert list(out.arrays) == ["imgname", "part"] and out.arrays["imgname"][0] == doc["images"][0]["file_name"]
    assert (out.arrays["part"][..., 2] == 1).all() and out.arrays["part"].dtype == np.float64
    assert data.notes["persons with keys the npz has no place for (not written)"] == 6  # keypoints_3d (world frame)
    assert data.notes["person boxes not written (an npz has no box; mmpose derives it from center/scale)"] == 6


def test_other_layouts_are_refused_and_cli_convert(tmp_path, capsys):
    from helpers import coco_doc

    with pytest.raises(ValueError, match="layout='h36m'"):
        h36m.encode(coco.decode(coco_doc()), flavor="npz")
    src = write_npz(tmp_path / "h36m_test.npz", h36m_npz_arrays())
    out = tmp_path / "converted.json"
    assert cli.main(["convert", str(src), str(out)]) == 0
    assert "format: h36m" in capsys.readouterr().out
    assert keypoint_ap(out) == 1.0
    assert (
        cli.main(
            ["convert", str(tmp_path / "converted.json"), str(tmp_path / "back.npz"), "--from", "h36m", "--to", "h36m"]
        )
        == 0
    )


# ------------------------------------------------------------------------------------ FiftyOne


def test_fiftyone_import_views_and_export_back_bit_for_bit(fo_db, tmp_path, dataset_name):
    from fiftyone import ViewField as F
    from PIL import Image

    import fiftyone_pose as fop

    arrays = h36m_npz_arrays()
    src = write_npz(tmp_path / "annotation_body3d" / "fps10" / "h36m_test.npz", arrays)
    images = tmp_path / "images"
    unknown = images / arrays["imgname"][7]  # the only frame whose size the file cannot give
    unknown.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48)).save(unknown)
    ds = fop.load(src, images_dir=images, name=dataset_name)
    assert len(ds) == 8 and ds.skeletons["ground_truth"].labels == list(skeletons.load("h36m").keypoints)
    s = ds.first()
    assert (s.subject, s.action, s.camera, s.frame) == ("S9", "Directions_1", "54138969", 1)
    assert (s.metadata.width, s.metadata.height) == (1000, 1002)
    person = s.ground_truth.keypoints[0]
    assert person.visibility == [2] * 17 and person.raw_keypoints[2::3] == [1] * 17
    assert person.points[0] == pytest.approx([arrays["part"][0, 0, 0] / 1000, arrays["part"][0, 0, 1] / 1002])
    assert person.S == arrays["S"][0].ravel().tolist() and person.scale == arrays["scale"][0]
    last = ds.match(F("filepath").ends_with("_000011.jpg")).first()
    assert (last.metadata.width, last.metadata.height) == (64, 48)  # read from the image header
    # the views of one frame, grouped: all four cameras of S9 Directions_1 frame 1
    frame1 = ds.match((F("subject") == "S9") & (F("action") == "Directions_1") & (F("frame") == 1))
    assert sorted(frame1.distinct("camera")) == sorted(CAMERA_SIZES)

    out = tmp_path / "out.npz"
    fop.export(ds, out)
    assert arrays_differ(h36m.load_npz(out), arrays) is None
    coco_out = tmp_path / "coco.json"
    fop.export(frame1, coco_out, format="coco")
    assert keypoint_ap(coco_out) == 1.0 and len(json.loads(coco_out.read_text())["images"]) == 4
