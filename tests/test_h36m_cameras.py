"""Human3.6M camera parameters: both JSON forms give the same cameras, errors name the file, the
camera and the field, ``cameras.pkl`` is refused, and its safe conversion builds only arrays. No
database."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_pose import cli
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import h36m as cams

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed

from benchmarks.generate import generate_h36m  # noqa: E402

CAMERAS = generate_h36m(240, seed=5)[1]  # mmpose form, nested: subject -> camera -> R, T, f, c, k, p, w, h, ...


def karfly_form(mmpose: dict) -> dict:
    """The same cameras as camera-parameters.json writes them: world-to-camera R, t in millimetres,
    a calibration matrix and OpenCV's distortion order."""
    intrinsics, extrinsics = {}, {}
    for subject, by_camera in mmpose.items():
        for camera, prm in by_camera.items():
            R = np.array(prm["R"]).T
            f, c, k, p = (np.ravel(prm[key]) for key in "fckp")
            intrinsics[camera] = {
                "calibration_matrix": [[f[0], 0.0, c[0]], [0.0, f[1], c[1]], [0.0, 0.0, 1.0]],
                "distortion": [k[0], k[1], p[0], p[1], k[2]],
            }
            t = -R @ np.ravel(prm["T"]) * 1000
            extrinsics.setdefault(subject, {})[camera] = {"R": R.tolist(), "t": [[v] for v in t.tolist()]}
    return {"intrinsics": intrinsics, "extrinsics": extrinsics}


def assert_same(a: cams.Cameras, b: cams.Cameras, atol: float = 0.0) -> None:
    assert list(a) == list(b)
    for key in a:
        for attr in ("R", "T", "f", "c", "k", "p"):
            assert np.allclose(getattr(a[key], attr), getattr(b[key], attr), rtol=0, atol=atol), (key, attr)


def test_mmpose_form_nested_and_flat(tmp_path):
    nested = cams.decode_cameras(CAMERAS)
    assert len(nested) == 8 and ("S9", "54138969") in nested
    cam = nested[("S11", "60457274")]
    prm = CAMERAS["S11"]["60457274"]
    assert cam.R.tolist() == prm["R"] and cam.T.tolist() == [v[0] for v in prm["T"]]
    assert (cam.width, cam.height) == (1000, 1002)
    flat = cams.decode_cameras({f"{s}_{c}": p for s, by in CAMERAS.items() for c, p in by.items()})
    assert_same(flat, nested)
    path = tmp_path / "cameras.json"
    cams.write_cameras(nested, path)
    assert_same(cams.read_cameras(path), nested)  # the JSON form written back is read back exactly


def test_camera_parameters_json_form_gives_the_same_cameras(tmp_path):
    path = tmp_path / "camera-parameters.json"
    path.write_text(json.dumps(karfly_form(CAMERAS)))
    assert_same(cams.read_cameras(path), cams.decode_cameras(CAMERAS), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_subnormal=True), min_size=12, max_size=12), st.integers(0, 4000))
def test_numbers_survive_encode_and_decode_exactly(values, size):
    base = cams.decode_cameras(CAMERAS)
    key = ("S9", "55011271")
    doc = cams.encode_cameras(base)
    prm = doc["S9"]["55011271"]
    prm.update(T=values[:3], f=values[3:5], c=values[5:7], k=values[7:10], p=values[10:12], w=size)
    again = cams.decode_cameras(json.loads(json.dumps(doc)))
    assert again[key].T.tolist() + again[key].f.tolist() + again[key].c.tolist() + again[key].k.tolist() + \
        again[key].p.tolist() == values and again[key].width == size  # fmt: skip
    assert cams.encode_cameras(again) == doc


def _error(tmp_path: Path, doc) -> str:
    path = tmp_path / "cameras.json"
    path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
    with pytest.raises(PoseFormatError) as e:
        cams.read_cameras(path)
    text = str(e.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    return text[len(str(path)) + 2 :]


def test_errors_name_the_camera_and_the_field(tmp_path):
    def changed(subject, camera, **values):
        doc = json.loads(json.dumps(CAMERAS))
        doc[subject][camera].update(values)
        return doc

    assert _error(tmp_path, changed("S9", "58860488", f=[1.0])) == (
        "S9/58860488: field 'f': expected 2 finite numbers, found [1.0]"
    )
    assert _error(tmp_path, changed("S9", "58860488", k=[0, "x", 1])).startswith(
        "S9/58860488: field 'k': expected 3 finite numbers"
    )
    for not_rotation in (2 * np.eye(3), np.diag([1.0, 1.0, -1.0])):  # a scaling; a mirror
        assert _error(tmp_path, changed("S11", "54138969", R=not_rotation.tolist())).startswith(
            "S11/54138969: field 'R': is not a rotation"
        )
    assert _error(tmp_path, changed("S11", "54138969", w=1000.5)).startswith(
        "S11/54138969: field 'w': expected an image"
    )
    doc = json.loads(json.dumps(CAMERAS))
    del doc["S9"]["54138969"]["p"]
    assert _error(tmp_path, doc) == "S9/54138969: field 'p': missing"
    assert _error(tmp_path, {"S9-54138969": {"R": []}}).startswith("S9-54138969: expected a subject")
    assert _error(tmp_path, []).startswith("expected an object of cameras")
    assert _error(tmp_path, b'{"S9": ').startswith("line 1 column")
    k = karfly_form(CAMERAS)
    del k["intrinsics"]["55011271"]
    assert _error(tmp_path, k) == "extrinsics/S9/55011271: camera 55011271 has no intrinsics"
    k = karfly_form(CAMERAS)
    k["intrinsics"]["54138969"]["distortion"] = [0.1] * 4
    assert _error(tmp_path, k).startswith("intrinsics/54138969: field 'distortion': expected 5 finite numbers")


class _Boom:
    """What a hostile pickle does: calls a function of the attacker's choice when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def mmpose_pickle() -> bytes:
    """``cameras.pkl`` as mmpose's preprocess_h36m.py writes it: (subject, camera) -> numpy arrays."""
    out = {}
    for subject, by_camera in CAMERAS.items():
        for camera, prm in by_camera.items():
            out[(subject, camera)] = {
                **{key: np.array(prm[key]) for key in ("R", "T", "c", "f", "k", "p")},
                "w": prm["w"], "h": prm["h"], "name": prm["name"], "id": camera,
            }  # fmt: skip
    return pickle.dumps(out)


def test_the_pickle_is_refused_and_converted_safely(tmp_path, capsys):
    pkl = tmp_path / "cameras.pkl"
    pkl.write_bytes(mmpose_pickle())
    message = _error(tmp_path, pkl.read_bytes())
    assert "pickle" in message and "fiftyone-pose h36m-cameras cameras.pkl cameras.json" in message
    with pytest.raises(PoseFormatError, match="pickle"):
        cams.read_cameras(pkl)
    out = tmp_path / "converted.json"
    assert_same(cams.convert_camera_pickle(pkl, out), cams.decode_cameras(CAMERAS))
    assert_same(cams.read_cameras(out), cams.decode_cameras(CAMERAS))
    out.unlink()
    assert cli.main(["h36m-cameras", str(pkl), str(out)]) == 0
    assert "8 cameras" in capsys.readouterr().out and out.exists()
    # refused at the command line: one line, exit 2
    assert cli.main(["import", str(pkl), "--name", "x", "--grouped", "--cameras", str(pkl)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pickle" in err


def test_a_hostile_pickle_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    pkl = tmp_path / "cameras.pkl"
    pkl.write_bytes(pickle.dumps({("S9", "54138969"): {"R": _Boom(marker)}}))
    with pytest.raises(PoseFormatError, match=r"refused: the pickle asks for pathlib\.Path\.touch"):
        cams.convert_camera_pickle(pkl, tmp_path / "out.json")
    assert not marker.exists() and not (tmp_path / "out.json").exists()
    pkl.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(PoseFormatError, match="not a readable pickle"):
        cams.convert_camera_pickle(pkl, tmp_path / "out.json")
    pkl.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(PoseFormatError, match="keyed by"):
        cams.convert_camera_pickle(pkl, tmp_path / "out.json")
