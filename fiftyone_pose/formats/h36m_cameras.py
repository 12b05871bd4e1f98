"""Human3.6M camera parameters (intrinsics, extrinsics, distortion) from their JSON forms.

Two forms are read, told apart by their keys; every camera is keyed by (subject, camera id), e.g.
``("S9", "54138969")`` (Human3.6M calibrated the extrinsics once per subject):

- **mmpose** (``cameras.pkl`` as JSON): ``{"S1": {"54138969": {"R", "T", "f", "c", "k", "p",
  "w", "h", "name", "id"}}}`` (also with flat ``"S1_54138969"`` keys). ``R`` rotates camera to
  world, ``T`` is the camera centre in metres (``core.camera``'s conventions); ``w``, ``h``,
  ``name`` and ``id`` are optional. Any nesting of the numbers is read (``T`` is 3 x 1 in the
  pickle).
- **camera-parameters.json** (karfly/human36m-camera-parameters, used by learnable
  triangulation): ``{"intrinsics": {camera: {"calibration_matrix": 3 x 3, "distortion": [k1, k2,
  p1, p2, k3]}}, "extrinsics": {subject: {camera: {"R": 3 x 3, "t": 3 x 1}}}}`` with ``R``
  rotating world to camera and ``t`` in millimetres (``X_cam = R X_world + t``): read as
  ``R.T`` and the centre ``-R.T t / 1000``.

mmpose's ``cameras.pkl`` itself is a pickle: loading one can run arbitrary code, so it is refused.
``convert_camera_pickle`` turns it into the mmpose JSON form safely: its unpickler builds only
numpy arrays, numbers, text, tuples, lists and dicts, and refuses anything else the file asks for.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import numpy as np
import orjson

from ..core.camera import Camera
from ..core.errors import PoseFormatError
from .jsonio import load_json, write_atomic

#: (subject, camera id) -> camera
Cameras = dict[tuple[str, str], Camera]

_SIZES = {"R": 9, "T": 3, "f": 2, "c": 2, "k": 3, "p": 2}
#: how far ``R @ R.T`` may be from the identity (rotations printed with 6 decimals pass)
_ROTATION_TOLERANCE = 1e-4
REFUSED_PICKLE = (
    "this is a Python pickle (mmpose's cameras.pkl?): loading a pickle can run arbitrary code, so it is not "
    "read. Convert it to JSON safely with `fiftyone-pose h36m-cameras cameras.pkl cameras.json` (it builds only "
    "arrays, numbers and text from the file, never code), or use the published camera-parameters.json"
)
#: what the safe unpickler builds: numpy arrays and scalars (as ``pickle.dump`` of an array writes them)
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def read_cameras(path: str | os.PathLike) -> Cameras:
    """The cameras of a JSON file in either form; a pickle is refused (see the module docstring)."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror})", path=path) from None
    if head[:1] == b"\x80" or os.fspath(path).endswith((".pkl", ".pickle")):
        raise PoseFormatError(REFUSED_PICKLE, path=path)
    try:
        return decode_cameras(load_json(path))
    except PoseFormatError as e:
        raise e.with_path(path) from None


def decode_cameras(doc: Any) -> Cameras:
    """The cameras of a parsed JSON document in either form (pure: no disk access)."""
    if not isinstance(doc, dict) or not doc:
        raise PoseFormatError("expected an object of cameras by subject (mmpose form) or 'intrinsics'/'extrinsics'")
    if "intrinsics" in doc or "extrinsics" in doc:
        return _decode_intrinsics_extrinsics(doc)
    cameras: Cameras = {}
    for key, value in doc.items():
        if isinstance(value, dict) and "R" not in value:  # nested: subject -> camera -> parameters
            for camera, params in value.items():
                cameras[(key, camera)] = _mmpose_camera(params, f"{key}/{camera}")
        else:  # flat: "S1_54138969" -> parameters
            subject, sep, camera = key.partition("_")
            if not (sep and subject and camera):
                raise PoseFormatError("expected a subject (e.g. 'S1') or a key '<subject>_<camera>'", record=key)
            cameras[(subject, camera)] = _mmpose_camera(value, key)
    if not cameras:
        raise PoseFormatError("holds no camera")
    return cameras


def _mmpose_camera(params: Any, record: str) -> Camera:
    if not isinstance(params, dict):
        raise PoseFormatError("expected the camera's parameters (R, T, f, c, k, p)", record=record)
    values = {key: _numbers(params, key, n, record) for key, n in _SIZES.items()}
    R = values["R"].reshape(3, 3)
    _check_rotation(R, record)
    width, height = (_size(params, key, record) for key in ("w", "h"))
    return Camera(R, values["T"], values["f"], values["c"], values["k"], values["p"], width, height)


def _decode_intrinsics_extrinsics(doc: dict[str, Any]) -> Cameras:
    intrinsics, extrinsics = doc.get("intrinsics"), doc.get("extrinsics")
    for key, value in (("intrinsics", intrinsics), ("extrinsics", extrinsics)):
        if not isinstance(value, dict):
            raise PoseFormatError(
                "expected an object (camera-parameters.json has intrinsics and extrinsics)", field=key
            )
    cameras: Cameras = {}
    for subject, by_camera in extrinsics.items():
        if not isinstance(by_camera, dict):
            raise PoseFormatError("expected an object of cameras", record=f"extrinsics/{subject}")
        for camera, ext in by_camera.items():
            record = f"extrinsics/{subject}/{camera}"
            if not isinstance(ext, dict):
                raise PoseFormatError("expected the camera's R and t", record=record)
            if not isinstance(intrinsics.get(camera), dict):
                raise PoseFormatError(f"camera {camera} has no intrinsics", record=record)
            R = _numbers(ext, "R", 9, record).reshape(3, 3)
            _check_rotation(R, record)
            t = _numbers(ext, "t", 3, record)
            record_in = f"intrinsics/{camera}"
            K = _numbers(intrinsics[camera], "calibration_matrix", 9, record_in).reshape(3, 3)
            d = _numbers(intrinsics[camera], "distortion", 5, record_in)  # OpenCV order: k1, k2, p1, p2, k3
            cameras[(subject, camera)] = Camera(
                R.T, -(R.T @ t) / 1000, K[[0, 1], [0, 1]], K[[0, 1], [2, 2]], d[[0, 1, 4]], d[[2, 3]]
            )
    if not cameras:
        raise PoseFormatError("holds no camera", field="extrinsics")
    return cameras


def _numbers(params: dict[str, Any], key: str, count: int, record: str) -> np.ndarray:
    if key not in params:
        raise PoseFormatError("missing", record=record, field=key)
    try:
        values = np.asarray(params[key], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        values = None
    if values is None or len(values) != count or not np.isfinite(values).all():
        raise PoseFormatError(
            f"expected {count} finite numbers, found {str(params[key])[:80]}", record=record, field=key
        )
    return values


def _size(params: dict[str, Any], key: str, record: str) -> int:
    value = params.get(key, 0)
    if type(value) is not int or value < 0:
        raise PoseFormatError(f"expected an image size in pixels (an integer >= 0), found {value!r}", record=record,
                              field=key)  # fmt: skip
    return value


def _check_rotation(R: np.ndarray, record: str) -> None:
    off = float(np.abs(R @ R.T - np.eye(3)).max())
    if off > _ROTATION_TOLERANCE or np.linalg.det(R) < 0:
        raise PoseFormatError(f"is not a rotation (R R^T differs from the identity by {off:.3g})", record=record,
                              field="R")  # fmt: skip


def encode_cameras(cameras: Cameras) -> dict[str, dict[str, dict[str, Any]]]:
    """The cameras in the mmpose JSON form, nested by subject (as ``decode_cameras`` reads it)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (subject, camera), cam in cameras.items():
        out.setdefault(subject, {})[camera] = {
            "R": cam.R.tolist(), "T": cam.T.tolist(), "f": cam.f.tolist(), "c": cam.c.tolist(),
            "k": cam.k.tolist(), "p": cam.p.tolist(), "w": cam.width, "h": cam.height, "id": camera,
        }  # fmt: skip
    return out


def write_cameras(cameras: Cameras, path: str | os.PathLike) -> None:
    """Write the cameras as the mmpose JSON form (atomically)."""
    write_atomic(path, [orjson.dumps(encode_cameras(cameras), option=orjson.OPT_INDENT_2)])


# ------------------------------------------------------------------------------ safe conversion


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays, numbers, text and containers, and refuses any
    other class or function the pickle names (the way a pickle runs code)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise PoseFormatError(f"refused: the pickle asks for {module}.{name}, which is not an array or a number")


def convert_camera_pickle(src: str | os.PathLike, dst: str | os.PathLike) -> Cameras:
    """mmpose's ``cameras.pkl`` (a dict keyed by ``(subject, camera id)``) as the mmpose JSON
    form at ``dst``, unpickled without running code (see ``_ArraysOnly``); returns the cameras."""
    try:
        with open(src, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror})", path=src) from None
    try:
        doc = _ArraysOnly(io.BytesIO(raw)).load()
    except PoseFormatError as e:
        raise e.with_path(src) from None
    except Exception as e:  # noqa: BLE001 - a damaged or foreign pickle
        raise PoseFormatError(f"not a readable pickle: {type(e).__name__}: {e}", path=src) from None
    if not isinstance(doc, dict) or not all(isinstance(k, tuple) and len(k) == 2 for k in doc):
        raise PoseFormatError("expected a dict keyed by (subject, camera id), as mmpose writes cameras.pkl", path=src)
    try:
        cameras = decode_cameras({f"{s}_{c}": _plain(params) for (s, c), params in doc.items()})
    except PoseFormatError as e:
        raise e.with_path(src) from None
    write_cameras(cameras, dst)
    return cameras


def _plain(value: Any) -> Any:
    """Arrays and numpy scalars as lists and Python numbers (for ``decode_cameras``)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value
