"""Human3.6M (17 of the 32 mocap joints): mmpose's npz files and its COCO-style file.

**npz** (mmpose ``h36m_train.npz`` / ``h36m_test.npz``, plain arrays, read without pickle): one
row per frame of one camera, one person per frame. ``imgname`` (the frame's path relative to
``images/``, e.g. ``S9/S9_Walking_1.55011271/S9_Walking_1.55011271_000046.jpg``), ``part``
(N, 17, 3) pixels with third column 1, ``S`` (N, 17, 4) metres in camera coordinates, ``center``
(N, 2), ``scale`` (N,) and any other array. In ``PoseData``:

- one image per distinct ``imgname`` (file order, ids 1..M), one person per row (ids 1..N);
  the name is parsed (``<subject>_<action>.<camera>_<frame>.<ext>``: split the base name at the
  first ``_``, then ``.``, then ``_``; any frame width) into the image extras ``subject``,
  ``action`` (with the sub-action, ``Walking_1``), ``camera`` (a string) and ``frame`` (an int),
  so the views of one frame group by (subject, action, frame). Names that do not parse get none
  (counted in the notes);
- the image size comes from the camera (54138969 and 60457274: 1000 x 1002, 55011271 and
  58860488: 1000 x 1000); another camera gives 0, and the FiftyOne import reads the image header;
- every point exists: the file's 1 is visibility 2, and the third column stays the raw value;
- every other per-row array is a per-person extra under its own name (``S``, ``center``,
  ``scale``; a name COCO uses for a person key gets the prefix ``npz_``), each row flattened
  (``S``: 68 numbers, 17 x (X, Y, Z, 1), the same flattening as ``keypoints_3d`` in the COCO
  file). There is no box and no area: a COCO export derives the box from the points. The extras
  are built per row on access (``RowDicts``), so 300k rows of 3D points are not 300k lists;
- ``meta["h36m_npz"]`` records each array's name, dtype, order (C/Fortran), compression and, for
  arrays that are not per row, the values: the npz is written back with the same arrays bit for
  bit (same keys in the same order, dtypes and rows), through a zip with fixed timestamps (the
  same data gives the same bytes).

**coco** (mmpose ``h36m_coco.json``): COCO without ``info``/``licenses``, ``keypoints_3d`` (68
numbers, world metres) per person, a category whose ``skeleton`` is 0-based and whose names swap
left and right for points 1-6. Read with the ``h36m`` layout (positions decide; the category is
kept verbatim and its skeleton never read as COCO edges); visibility 1 reads as 2 (raw kept);
images get the same parsed name fields (not written back into the file).

**VideoPose3D** ``data_2d_h36m_gt.npz`` / ``data_3d_h36m.npz`` are recognised and refused: their
arrays are pickled Python dicts (loading a pickle can run arbitrary code) and they have no frames.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
import operator
import os
import re
import struct
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.layouts import require_layout
from ..core.model import ABSENT, Images, Persons, PoseData
from ..core.numbers import uniform_mask
from ..core.stream import PoseStream
from .cocolike import PERSON_KEYS, CocoLike
from .context import ReadContext
from .h36m_cameras import Cameras as Cameras
from .h36m_cameras import convert_camera_pickle as convert_camera_pickle
from .h36m_cameras import decode_cameras as decode_cameras
from .h36m_cameras import encode_cameras as encode_cameras
from .h36m_cameras import read_cameras as read_cameras
from .h36m_cameras import write_cameras as write_cameras
from .jsonio import atomic_file
from .native import native_flags, sizes_from_headers
from .npzio import SpilledColumns, member_info
from .protocol import IMAGES_DIR, Confidence, OptionSpec, Peek

NAME = "h36m"
FLAVORS = {
    "npz": "mmpose h36m_{train,test}.npz: plain arrays imgname, part (N x 17 x 3 px), S (N x 17 x 4 m, camera "
    "frame), center, scale; one frame and one person per row",
    "coco": "mmpose h36m_coco.json: COCO-style (no info/licenses), keypoints_3d (68 numbers, world metres), "
    "0-based category skeleton",
    "videopose3d": "VideoPose3D data_2d_h36m_gt.npz / data_3d_h36m.npz: recognised and refused (pickled objects, "
    "loading them can run code; no frames)",
}
NUM_POINTS = 17
#: frame size (width, height) of each Human3.6M camera
CAMERA_SIZES = {"54138969": (1000, 1002), "55011271": (1000, 1000), "58860488": (1000, 1000), "60457274": (1000, 1002)}
#: image extras parsed from the frame name
FRAME_KEYS = ("subject", "action", "camera", "frame")
#: the names mmpose's h36m_to_coco converter writes (left/right swapped for points 1-6)
MMPOSE_COCO_NAMES = (
    "root (pelvis)", "left_hip", "left_knee", "left_foot", "right_hip", "right_knee", "right_foot", "spine",
    "thorax", "neck_base", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
    "right_wrist",
)  # fmt: skip
#: ``meta`` key of the npz layout (arrays, dtypes, order); in a COCO export it is a top-level key
#: (ignored by pycocotools) that lets the COCO file convert back to the same npz
META_KEY = "h36m_npz"
#: ``meta`` key set when a COCO file's image records have keys named like the parsed name fields
#: (they are then kept as the file gives them and the names are not parsed)
OWN_KEYS_MARK = "h36m_frame_keys_in_file"

#: every image's file name (objects) and the text type that holds the longest
FrameNames = tuple[np.ndarray, np.dtype]

_VIDEOPOSE3D = {"positions_2d", "positions_3d"}
_KINDS = "biufU"  # numbers, booleans and text; anything else is refused
#: a file-level array (not one value per row) is kept in ``meta`` up to this many values
_MAX_FILE_LEVEL = 10_000
_NPY_HEADER = 1 << 16
_ITER_ROWS = 4096
_PARSE_ROWS = 1 << 16
NOTE_FLAGS = "points whose flag is not 1 (read as unlabeled if <= 0, else present; raw value kept)"
NOTE_NAMES = "frame names that do not parse as <subject>_<action>.<camera>_<frame>.jpg (no subject/action/camera/frame)"
NOTE_CAMERA = "frames of a camera that is not one of the four Human3.6M cameras (size read from the image header)"
_REFUSED = (
    "this is a VideoPose3D file (data_2d_h36m_gt.npz / data_3d_h36m.npz): its arrays are pickled Python objects, "
    "and loading a pickle can run arbitrary code, so it is not read (it has no frames either); import mmpose's "
    "h36m_{train,test}.npz (plain arrays) or h36m_coco.json with the extracted frames instead"
)


def layout() -> skeletons.Skeleton:
    return skeletons.load(NAME)


# ----------------------------------------------------------------------------------- row dicts


class RowDicts(Sequence):
    """Per-row dicts made on access from columns (numpy arrays with one row per record).

    ``PoseData`` keeps extras as one dict per record; 300k rows of 68 numbers as Python lists
    would take about 1 GB, these columns take the arrays' own size. A column of shape (N,) gives
    a scalar per row, (N, ...) a flat list. Rows where ``present`` is False are empty dicts.
    Immutable: ``column`` hands the arrays to writers as they are.
    """

    def __init__(self, n: int, columns: dict[str, np.ndarray], present: np.ndarray | None = None) -> None:
        self._n = n
        self._columns = {k: c if c.ndim == 1 else c.reshape(n, math.prod(c.shape[1:])) for k, c in columns.items()}
        self._present = present

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._row(j) for j in range(*i.indices(self._n))]
        j = operator.index(i)
        if j < 0:
            j += self._n
        if not 0 <= j < self._n:
            raise IndexError("row index out of range")
        return self._row(j)

    def _row(self, i: int) -> dict[str, Any]:
        if self._present is not None and not self._present[i]:
            return {}
        return {k: c[i].tolist() for k, c in self._columns.items()}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        keys = list(self._columns)
        for lo in range(0, self._n, _ITER_ROWS):
            hi = min(lo + _ITER_ROWS, self._n)
            values = [c[lo:hi].tolist() for c in self._columns.values()]
            present = self._present[lo:hi].tolist() if self._present is not None else [True] * (hi - lo)
            for j, row in enumerate(zip(*values) if values else ((),) * (hi - lo)):
                yield dict(zip(keys, row)) if present[j] else {}

    def __repr__(self) -> str:
        return f"RowDicts({self._n} rows, columns {list(self._columns)})"

    def has(self, key: str) -> bool:
        return key in self._columns and self._present is None

    def column(self, key: str) -> np.ndarray:
        """The column of ``key`` as stored: (N,) or (N, values per row)."""
        return self._columns[key]


# -------------------------------------------------------------------------------------- sniffing


def detect(peek: Peek) -> Confidence:
    """npz: a zip holding ``imgname.npy`` and ``part.npy`` (VideoPose3D's ``positions_*``: refused
    on reading, with the reason), told from the zip's directory at the end of the file; COCO: a
    COCO file with ``keypoints_3d`` or the 17 names."""
    if peek.head.startswith(b"PK"):
        members = {name[:-4] for name in zip_names(peek.tail) if name.endswith(".npy")}
        return Confidence.CERTAIN if {"imgname", "part"} <= members or members & _VIDEOPOSE3D else Confidence.NO
    return COCO.detect(peek)


def zip_names(tail: bytes) -> list[str]:
    """The member names in the central directory of a zip file whose last bytes are ``tail``
    (for sniffing: entries that start before ``tail`` are not seen). Never raises."""
    names = []
    for m in re.finditer(rb"PK\x01\x02", tail):
        at = m.start()
        if at + 46 > len(tail):
            break
        (length,) = struct.unpack_from("<H", tail, at + 28)
        names.append(tail[at + 46 : at + 46 + length].decode("utf-8", "replace"))
    return names


# --------------------------------------------------------------------------------------- files


@dataclasses.dataclass
class NpzDocument:
    """An npz file's arrays in file order, and which members were compressed."""

    arrays: dict[str, np.ndarray]
    compressed: dict[str, bool] = dataclasses.field(default_factory=dict)


def is_npz(path: str | os.PathLike) -> bool:
    """Whether ``path`` is read as an npz: a zip (``PK``) or a file named ``*.npz``."""
    if os.fspath(path).endswith(".npz"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError:
        return False


def load_npz(path: str | os.PathLike) -> NpzDocument:
    """The arrays of an npz file, without pickle; damaged bytes are a ``PoseFormatError``.

    Each member is read whole (which checks its CRC) and its ``.npy`` header must describe
    exactly the bytes it holds before an array is laid over them (no copy), so a damaged header
    never makes it allocate. Object arrays (pickles) are refused, VideoPose3D's files by name.
    """
    try:
        zf = zipfile.ZipFile(path)
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror or e})", path=path) from None
    except Exception as e:  # noqa: BLE001 - BadZipFile and whatever a damaged directory raises
        raise PoseFormatError(f"not a readable npz file (a zip of .npy arrays): {_reason(e)}", path=path) from None
    arrays: dict[str, np.ndarray] = {}
    compressed: dict[str, bool] = {}
    with zf:
        if {n[:-4] for n in zf.namelist() if n.endswith(".npy")} & _VIDEOPOSE3D:
            raise PoseFormatError(_REFUSED, path=path)
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.is_dir():
                raise PoseFormatError(f"member {info.filename!r} is not a .npy array", path=path)
            key = info.filename[:-4]
            if key in arrays:
                raise PoseFormatError("array stored twice", path=path, field=key)
            try:
                arrays[key] = _read_member(zf, info)
            except PoseFormatError as e:
                raise PoseFormatError(e.message, path=path, field=key) from None
            except Exception as e:  # noqa: BLE001 - a damaged member: bad CRC, cut stream, bad header
                raise PoseFormatError(f"cannot read the array: {_reason(e)}", path=path, field=key) from None
            compressed[key] = info.compress_type != zipfile.ZIP_STORED
    return NpzDocument(arrays, compressed)


def _reason(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member as an array over its bytes (no copy); its header must match its size."""
    fmt = np.lib.format
    with zf.open(info) as f:
        raw = f.read()  # to the end, which checks the CRC; bounded by what the member really holds
    probe = io.BytesIO(raw[:_NPY_HEADER])
    version = fmt.read_magic(probe)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(probe)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(probe)
    else:
        raise PoseFormatError(f"unsupported .npy format version {version[0]}.{version[1]}")
    if dtype.hasobject:
        raise PoseFormatError(
            "holds Python objects (a pickle): loading a pickle can run arbitrary code, so it is not read"
        )
    offset = probe.tell()
    count = math.prod(shape)
    size = count * dtype.itemsize
    if len(raw) != offset + size:
        raise PoseFormatError(
            f"the .npy header says {shape} x {dtype} ({size} bytes), the member holds {len(raw) - offset} "
            "bytes of data: file damaged?"
        )
    if dtype.itemsize == 0:
        return np.zeros(shape, dtype)
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape, order="F" if fortran else "C")


def save_npz(doc: NpzDocument, path: str | os.PathLike) -> None:
    """Write the arrays as ``np.savez`` does (``<key>.npy`` members, no pickle), atomically.

    The zip entries have a fixed timestamp, so the same arrays always give the same bytes.
    """
    with atomic_file(path) as f, zipfile.ZipFile(f, "w", allowZip64=True) as zf:
        for key, arr in doc.arrays.items():
            with zf.open(member_info(key, doc.compressed.get(key, False)), "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


def read(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseData:
    """Read an mmpose npz or ``h36m_coco.json``. ``images_dir``: read the image sizes the file
    does not give (frames of unknown cameras) from the image headers there."""
    return read_stream(path, images_dir=images_dir).collect()


def read_stream(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseStream:
    """Either flavor as a stream (an npz comes as one chunk: its arrays are read whole)."""
    stream = PoseStream.of(decode(load_npz(path), path=path)) if is_npz(path) else COCO.read_stream(path)
    stream.header = sizes_from_headers(stream.header, images_dir, path)
    return stream


def write(data: PoseData, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """Write ``data`` (17-point ``h36m`` layout) in ``flavor`` (default: the one it was read from;
    data from elsewhere is written as the COCO-style file). Atomic: no partial file."""
    write_stream(PoseStream.of(data), path, flavor=flavor)


def write_stream(stream: PoseStream, path: str | os.PathLike, *, flavor: str | None = None) -> None:
    """The persons as they come: the coco flavor as a JSON stream, the npz a chunk of rows at a
    time through temporary column files (``npzio.SpilledColumns``), the same bytes as ``write``."""
    if _check_flavor(flavor or flavor_of(stream.header)) == "coco":
        COCO.write_stream(stream, path)
        return
    header = stream.header
    spec = _npz_header(header)
    used = np.zeros(len(header.images), bool)
    frames = _frame_names(header.images)
    with SpilledColumns() as columns:
        chunks = iter(stream)
        first = next(chunks, Persons.empty(NUM_POINTS))  # no persons: the arrays with no rows
        for chunk in itertools.chain([first], chunks):
            arrays, images = _npz_rows(dataclasses.replace(header, persons=chunk), spec, frames)
            used[images] = True
            for name, arr in arrays.items():
                columns.add(name, arr)
            del chunk, arrays
        _note_images_without_persons(header, used)
        with atomic_file(path) as f, zipfile.ZipFile(f, "w", allowZip64=True) as zf:
            for entry in spec:
                name, compressed, fortran = entry["name"], bool(entry.get("compressed")), entry.get("fortran_order")
                if _per_row(entry):
                    columns.write_member(zf, name, compressed=compressed, fortran=bool(fortran))
                else:
                    with zf.open(member_info(name, compressed), "w", force_zip64=True) as out:
                        np.lib.format.write_array(out, _file_level(entry), allow_pickle=False)


def flavor_of(data: PoseData) -> str:
    """``npz`` for data read from an npz (it has the npz layout and no COCO categories), else ``coco``."""
    if META_KEY in data.meta and not data.categories and "categories" not in data.meta:
        return "npz"
    return "coco"


def _check_flavor(flavor: str) -> str:
    if flavor == "videopose3d":
        raise PoseUsageError("VideoPose3D files are not written (they are pickles); write flavor 'npz' or 'coco'")
    if flavor not in FLAVORS:
        raise PoseUsageError(f"unknown Human3.6M flavor {flavor!r}; flavors: {', '.join(FLAVORS)}")
    return flavor


# --------------------------------------------------------------------------------------- reading


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """An npz (``NpzDocument``, or a dict of arrays) or a parsed COCO-style document as
    ``PoseData`` (pure: no disk access)."""
    if isinstance(doc, dict) and doc and all(isinstance(v, np.ndarray) for v in doc.values()):
        doc = NpzDocument(dict(doc))
    if isinstance(doc, NpzDocument):
        return _decode_npz(doc, path)
    return COCO.decode(doc, path=path)


def _decode_npz(doc: NpzDocument, path: str | os.PathLike | None) -> PoseData:
    r = ReadContext(path)
    arrays = doc.arrays
    if _VIDEOPOSE3D & arrays.keys():
        raise r.error(_REFUSED)
    for key in ("imgname", "part"):
        if key not in arrays:
            raise r.error("required array is missing (an mmpose Human3.6M npz has imgname and part)", None, key)
    for key, arr in arrays.items():
        if arr.dtype.kind not in _KINDS or arr.dtype.fields is not None or arr.dtype.subdtype is not None:
            raise r.error(f"unsupported dtype {arr.dtype} (numbers, booleans and text are read)", None, key)
    names = arrays["imgname"]
    if names.ndim != 1 or names.dtype.kind != "U":
        raise r.error(f"expected a list of frame names (1-D text), found {names.dtype} {names.shape}", None, "imgname")
    n = len(names)
    empty = np.flatnonzero(np.strings.str_len(names) == 0)
    if len(empty):
        raise r.error("empty frame name", f"rows[{empty[0]}]", "imgname")
    part = arrays["part"]
    k = NUM_POINTS
    if part.dtype.kind not in "iuf" or part.shape != (n, k, 3):
        raise r.error(
            f"expected {n} x {k} x 3 numbers (x, y, 1 per point), found {part.dtype} {part.shape}", None, "part"
        )
    keypoints = part[..., :2].astype(np.float64)
    raw = part[..., 2].astype(np.float64)
    finite = np.isfinite(keypoints).all(axis=(1, 2)) & np.isfinite(raw).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise r.error("has a coordinate or flag that is not a finite number", f"rows[{i}] ({names[i]})", "part")

    # images: one per distinct name, in the order of first appearance (a set decides: a sort of
    # 300k names would take twice the memory of the names)
    file_names = names.tolist()
    if len(set(file_names)) == n:
        image_names, image_index = names, np.arange(n, dtype=np.int64)
    else:
        uniq, first, inverse = np.unique(names, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(uniq), np.int64)
        rank[order] = np.arange(len(uniq))
        image_names, image_index = uniq[order], rank[inverse.reshape(-1)]
        file_names = image_names.tolist()
    m = len(image_names)
    extras, widths, heights = _frame_fields(image_names, r)
    images = Images(np.arange(1, m + 1, dtype=np.int64), file_names, widths, heights, extras)

    r.note(NOTE_FLAGS, int((raw != 1).sum()))
    is_int = part.dtype.kind in "iu"
    person_columns: dict[str, np.ndarray] = {}
    spec = []
    for key, arr in arrays.items():
        entry: dict[str, Any] = {"name": key, "dtype": arr.dtype.str}
        if arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous:
            entry["fortran_order"] = True
        if doc.compressed.get(key):
            entry["compressed"] = True
        if key not in ("imgname", "part"):
            if arr.ndim >= 1 and arr.shape[0] == n:
                entry["key"] = _extra_key(key, arrays)
                entry["row_shape"] = list(arr.shape[1:])
                person_columns[entry["key"]] = arr
            elif arr.size <= _MAX_FILE_LEVEL:
                entry["shape"] = list(arr.shape)
                entry["values"] = arr.tolist()
            else:
                raise r.error(
                    f"has {arr.shape[0] if arr.ndim else 'no'} rows, imgname has {n}: an array with one row per frame "
                    f"is kept per person, other arrays only up to {_MAX_FILE_LEVEL} values",
                    None,
                    key,
                )
        spec.append(entry)
    persons = Persons(
        image_index=image_index,
        ids=np.arange(1, n + 1, dtype=np.int64),
        category_ids=np.ones(n, np.int64),
        keypoints=keypoints,
        visibility=np.where(raw > 0, 2, 0).astype(np.int8),
        boxes=np.full((n, 4), np.nan),
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=RowDicts(n, person_columns),
        visibility_raw=raw,
        # x, y as the array's type; the flag as an int (a COCO export writes visibility 2, not 2.0)
        int_mask={
            "keypoints": np.broadcast_to(np.array([is_int, is_int, True]), (n, k, 3)),
            "bbox": uniform_mask(False, (n, 4)),
            "area": uniform_mask(False, (n,)),
        },
        absent={"segmentation": np.ones(n, bool)},
    )
    return PoseData(images, persons, layout(), [], {META_KEY: {"arrays": spec}}, NAME, r.notes)


def _extra_key(name: str, arrays: dict[str, np.ndarray]) -> str:
    """The person-extra key of array ``name``: its name, unless COCO uses it for a person key."""
    key = name
    while key in PERSON_KEYS or key != name and key in arrays:
        key = f"npz_{key}"
    return key


def parse_frame_names(names: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``subject``, ``action``, ``camera`` (text) and ``frame`` (int) of each frame name, and
    which names parse (vectorised: numpy string functions, no loop over names).

    The base name (after the last ``/``) splits at the first ``_`` (subject), then the first
    ``.`` (action), then the first ``_`` (camera); the rest, without its extension, is the frame
    number, of any width (mmpose writes 6 digits, its documentation shows 5). Positions are
    found first and each field is cut once, so no intermediate holds every name's remainder.
    """
    names = np.asarray(names, dtype=str)
    if len(names) > _PARSE_ROWS:  # a chunk at a time: bounds the temporary full-width slices
        parts = [parse_frame_names(names[lo : lo + _PARSE_ROWS]) for lo in range(0, len(names), _PARSE_ROWS)]
        fields = {key: np.concatenate([f[key] for f, _ in parts]) for key in FRAME_KEYS}
        return fields, np.concatenate([ok for _, ok in parts])
    st = np.strings
    start = st.rfind(names, "/") + 1
    u1 = st.find(names, "_", start)
    d1 = st.find(names, ".", u1 + 1)
    u2 = st.find(names, "_", d1 + 1)
    dot = st.rfind(names, ".", u2 + 1)
    stop = np.where(dot >= 0, dot, st.str_len(names))
    ok = (u1 > start) & (d1 > u1 + 1) & (u2 > d1 + 1) & (stop > u2 + 1) & (stop - u2 - 1 <= 18)
    frame_text = _tight(st.slice(names, u2 + 1, stop))
    ok &= st.strip(frame_text, "0123456789") == ""
    frame = np.zeros(len(names), np.int64)
    frame[ok] = frame_text[ok].astype(np.int64)
    fields = {
        "subject": _tight(st.slice(names, start, u1)),
        "action": _tight(st.slice(names, u1 + 1, d1)),
        "camera": _tight(st.slice(names, d1 + 1, u2)),
        "frame": frame,
    }
    return fields, ok


def _tight(text: np.ndarray) -> np.ndarray:
    """A text array as narrow as its longest value (numpy's slices keep the input's width)."""
    width = int(np.strings.str_len(text).max()) if len(text) else 1
    return text.astype(f"<U{max(width, 1)}")


def _frame_fields(names: np.ndarray, r: ReadContext) -> tuple[RowDicts, np.ndarray, np.ndarray]:
    """The parsed name fields of each image (as row dicts) and its size from the camera (0: unknown)."""
    fields, ok = parse_frame_names(names)
    r.note(NOTE_NAMES, int((~ok).sum()))
    widths, heights = camera_sizes(fields["camera"], ok)
    r.note(NOTE_CAMERA, int((widths == 0).sum()))
    return RowDicts(len(names), fields, None if ok.all() else ok), widths, heights


def camera_sizes(cameras: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(cameras, return_inverse=True)
    sizes = np.array([CAMERA_SIZES.get(c, (0, 0)) for c in uniq.tolist()], dtype=np.int64).reshape(-1, 2)
    wh = sizes[inverse.reshape(-1)] if len(cameras) else np.zeros((0, 2), np.int64)
    wh[~ok] = 0
    return np.ascontiguousarray(wh[:, 0]), np.ascontiguousarray(wh[:, 1])


# --------------------------------------------------------------------------------------- writing


def encode(data: PoseData, *, flavor: str | None = None) -> Any:
    """``data`` as an npz (``NpzDocument``) or a COCO-style document (pure: no disk access)."""
    flavor = _check_flavor(flavor or flavor_of(data))
    if flavor == "coco":
        return COCO.encode(data)
    spec = _npz_header(data)
    rows, images = _npz_rows(data, spec, _frame_names(data.images))
    used = np.zeros(len(data.images), bool)
    used[images] = True
    _note_images_without_persons(data, used)
    arrays: dict[str, np.ndarray] = {}
    for entry in spec:
        arr = rows[entry["name"]] if _per_row(entry) else _file_level(entry)
        arrays[entry["name"]] = np.asfortranarray(arr) if entry.get("fortran_order") else arr
    return NpzDocument(arrays, {e["name"]: bool(e.get("compressed")) for e in spec})


def _npz_header(data: PoseData) -> list[dict[str, Any]]:
    """Check ``data`` (its header) for an npz; return the arrays to write (``_npz_spec``) and
    note the image keys the npz has no place for."""
    require_layout(data, NAME, "Human3.6M")
    if not isinstance(data.images.extras, RowDicts):
        other = sum(bool(e.keys() - set(FRAME_KEYS)) for e in data.images.extras)
        _note(data, "images with keys the npz has no place for (not written)", other)
    return _npz_spec(data)


def _npz_rows(
    data: PoseData, spec: list[dict[str, Any]], frames: FrameNames
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The per-row arrays of ``data.persons`` (C order) and the image of each row; notes what is
    left out. Works on any chunk of persons with the whole images table."""
    p = data.persons
    rows = np.flatnonzero(~p.crowd)
    _note(data, "crowd regions not written (an npz row is one person)", int(p.crowd.sum()))
    if not isinstance(p.extras, RowDicts):
        known = {e["key"] for e in spec if "key" in e}
        _note(
            data,
            "persons with keys the npz has no place for (not written)",
            sum(bool(p.extras[i].keys() - known) for i in rows.tolist()),
        )
    _note(
        data,
        "person boxes not written (an npz has no box; mmpose derives it from center/scale)",
        int((~np.isnan(p.boxes[rows]).any(axis=1)).sum()),
    )
    arrays: dict[str, np.ndarray] = {}
    for entry in filter(_per_row, spec):
        name, dtype = entry["name"], np.dtype(entry["dtype"])
        if name == "imgname":
            arrays[name] = _names(data, rows, dtype, frames)
        elif name == "part":
            arrays[name] = _part(data, rows, dtype)
        else:
            arrays[name] = _person_column(data, rows, entry["key"], dtype, tuple(entry["row_shape"]))
    return arrays, p.image_index[rows]


def _per_row(entry: dict[str, Any]) -> bool:
    """Whether the array ``entry`` has one row per person (else it is a file-level array)."""
    return entry["name"] in ("imgname", "part") or "row_shape" in entry


def _file_level(entry: dict[str, Any]) -> np.ndarray:
    """A file-level array, as recorded (values, dtype, shape, order)."""
    arr = np.array(entry["values"], dtype=np.dtype(entry["dtype"])).reshape(entry["shape"])
    return np.asfortranarray(arr) if entry.get("fortran_order") else arr


def _note_images_without_persons(data: PoseData, used: np.ndarray) -> None:
    _note(data, "images without persons not written (an npz row is one person)", int((~used).sum()))


def _note(data: PoseData, reason: str, count: int) -> None:
    if count:
        data.notes[reason] = data.notes.get(reason, 0) + int(count)


def _flag(data: PoseData, reason: str) -> None:
    """Note ``reason`` once for the whole file (a chunked write meets it in several chunks)."""
    data.notes[reason] = 1


def _npz_spec(data: PoseData) -> list[dict[str, Any]]:
    """The arrays to write: as recorded when the npz was read, else ``imgname`` and ``part``."""
    recorded = data.meta.get(META_KEY)
    if recorded is None:
        return [{"name": "imgname", "dtype": "<U"}, {"name": "part", "dtype": "<f8"}]
    try:
        spec = list(recorded["arrays"])
        names = [e["name"] for e in spec]
        valid = names.count("imgname") == 1 and names.count("part") == 1 and len(set(names)) == len(names)
        for e in spec:
            dtype = np.dtype(e["dtype"])
            valid &= isinstance(e["name"], str) and dtype.kind in _KINDS and dtype.fields is None
            if e["name"] not in ("imgname", "part"):
                valid &= ("row_shape" in e and isinstance(e.get("key"), str)) or ("shape" in e and "values" in e)
    except Exception:  # noqa: BLE001 - any malformed record of the layout
        valid = False
    if not valid:
        raise PoseUsageError(f"the data's '{META_KEY}' record (the npz layout) is not valid: {recorded!r:.200}")
    return spec


def _frame_names(images: Images) -> FrameNames:
    """The images' file names, read once for all the chunks of a write."""
    return np.array(images.file_names, dtype=object), np.dtype((str, max([1, *map(len, images.file_names)])))


def _names(data: PoseData, rows: np.ndarray, dtype: np.dtype, frames: FrameNames) -> np.ndarray:
    """``imgname``: each person's frame name, as the file's text type (wider if a name needs it:
    as wide as the longest frame name, whether or not that frame has a person)."""
    objects, widest = frames
    names = objects[data.persons.image_index[rows]].astype(widest)
    if names.dtype.itemsize > dtype.itemsize:
        if dtype.itemsize:
            _flag(data, "frame names longer than the file's imgname width (imgname widened)")
        dtype = names.dtype.newbyteorder(dtype.byteorder)
    return names.astype(dtype)


def _part(data: PoseData, rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """(n, 17, 3): x, y and the flag (the file's own where still meaningful, else 1 present / 0 not)."""
    p = data.persons
    # the file's own flag where it still reads as the point's visibility; a COCO file's 2 is 1 here
    native = data.format == NAME and flavor_of(data) == "npz"
    flags, _ = native_flags(p, _read_flags, {2: 1.0, 1: 1.0, 0: 0.0}, native_source=native)
    values = np.concatenate([p.keypoints, flags[..., None]], axis=2)
    return _cast(data, values if len(rows) == len(p) else values[rows], dtype, "part")


def _read_flags(raw: np.ndarray) -> np.ndarray:
    return np.where(raw > 0, 2, 0)


def _cast(data: PoseData, values: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``values`` as ``dtype``; an integer type that cannot hold them exactly becomes float64 (noted)."""
    with np.errstate(invalid="ignore"):
        out = values.astype(dtype, copy=False)
    if dtype.kind in "iub" and values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            exact = out.astype(np.float64) == values
        if not exact.all():
            _flag(data, f"'{name}' written as float64 (edited values do not fit the file's {dtype})")
            return values.astype(np.float64)
    return out


def _person_column(
    data: PoseData, rows: np.ndarray, key: str, dtype: np.dtype, row_shape: tuple[int, ...]
) -> np.ndarray:
    """The per-row array ``key`` (n, *row_shape) from the persons' extras."""
    extras = data.persons.extras
    n = len(rows)
    if isinstance(extras, RowDicts) and extras.has(key):  # as read: the arrays themselves
        column = extras.column(key)
        out = column if len(rows) == len(column) else column[rows]
        return out.reshape(n, *row_shape).astype(dtype, copy=False)
    width = math.prod(row_shape)
    missing = object()
    values = [extras[i].get(key, missing) for i in rows.tolist()]
    given = np.fromiter((v is not missing for v in values), dtype=bool, count=n)
    present = [v for v in values if v is not missing]
    fill = {"f": np.nan, "U": ""}.get(dtype.kind, 0)
    out = np.full((n, width), fill, dtype=dtype)
    if present:
        try:
            # (a float written as null, e.g. NaN through a COCO file, reads back as NaN)
            arr = np.array(present, dtype={"U": str, "f": np.float64}.get(dtype.kind))
            if arr.dtype.kind not in "biufU" or arr.shape != ((len(present), width) if row_shape else (len(present),)):
                raise ValueError(f"expected {width} {'values' if row_shape else 'value'} per person")
            if dtype.kind == "U" and arr.dtype.itemsize > dtype.itemsize:
                _flag(data, f"'{key}' values longer than the file's text width (widened)")
                dtype = arr.dtype
                out = out.astype(dtype)
            out[given] = (
                _cast(data, arr.reshape(len(present), width), dtype, key)
                if arr.dtype.kind == "f"
                else arr.reshape(len(present), width)
            )
        except (ValueError, TypeError, OverflowError) as e:
            j = int(np.flatnonzero(given)[0])
            raise PoseUsageError(
                f"person {j}: extra '{key}' cannot be written as the npz's {dtype} array of "
                f"{row_shape or 'scalars'}: {e}"
            ) from None
    _note(data, f"persons without '{key}' (written as {fill!r})", int((~given).sum()))
    return out.reshape(n, *row_shape)


def _without_frame_fields(images: Images) -> list[dict[str, Any]]:
    """Image extras without the fields parsed from the name (where they still equal the parse)."""
    if isinstance(images.extras, RowDicts):  # read from an npz: the parsed fields are all there is
        return [{} for _ in range(len(images))]
    if not len(images):
        return list(images.extras)
    parsed = RowDicts(len(images), *parse_frame_names(np.array(images.file_names, dtype=str)))
    out = []
    for e, f in zip(images.extras, parsed):
        if f and e.keys() & f.keys():
            e = {key: v for key, v in e.items() if key not in f or type(v) is not type(f[key]) or v != f[key]}
        out.append(e)
    return out


# ---------------------------------------------------------------------------------- COCO-style


class H36mCoco(CocoLike):
    """mmpose's ``h36m_coco.json`` on the COCO-like base."""

    def read_header(self, header: PoseData, ctx: ReadContext) -> PoseData:
        """The frame-name fields of each image, unless the file's image records have such keys."""
        images, meta = header.images, dict(header.meta)
        if any(e.keys() & set(FRAME_KEYS) for e in images.extras):
            meta[OWN_KEYS_MARK] = True  # the file's own keys win; the names are not parsed
        elif len(images):
            names = ReadContext(ctx.path)
            parsed, _, _ = _frame_fields(np.array(images.file_names, dtype=str), names)
            names.notes.pop(NOTE_CAMERA, None)  # the file gives the sizes
            for reason, count in names.notes.items():
                ctx.note(reason, count)
            extras = [{**e, **f} if f else e for e, f in zip(images.extras, parsed)]
            images = dataclasses.replace(images, extras=extras)
        return dataclasses.replace(header, images=images, meta=meta)

    def read_persons(self, persons: Persons, records: Sequence[dict[str, Any]], ctx: ReadContext) -> Persons:
        """Every point exists: the file's flag 1 (any positive value) is visibility 2, raw kept."""
        raw = persons.raw_visibility()
        ctx.note(NOTE_FLAGS, int((raw != 1).sum()))
        visibility = np.where(raw > 0, 2, 0).astype(np.int8)
        return dataclasses.replace(persons, visibility=visibility, visibility_raw=raw.copy() if len(persons) else None)

    def write_header(self, header: PoseData) -> PoseData:
        """The parsed name fields out of the image records, and for data not read from a COCO file
        the converter's top level (no info, licenses) and a category with the layout's names and
        a 0-based skeleton."""
        header = super().write_header(header)
        images, meta, categories = header.images, dict(header.meta), header.categories
        if not meta.pop(OWN_KEYS_MARK, False):
            images = dataclasses.replace(images, extras=_without_frame_fields(images))
        if not (categories or "categories" in meta or "info" in meta):
            meta = {"info": ABSENT, **meta}
            sk = header.skeleton
            categories = [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(sk.keypoints),
                           "skeleton": [list(e) for e in sk.edges]}]  # fmt: skip
        return dataclasses.replace(header, images=images, meta=meta, categories=categories)

    def write_persons(self, persons: Persons, header: PoseData) -> Persons:
        """The flags as written in the file (1 = present), the file's own where still meaningful."""
        p = persons
        flags, fmask = native_flags(p, _read_flags, {2: 1, 1: 1, 0: 0}, native_source=header.format == NAME)
        mask = p.mask("keypoints").copy()
        mask[..., 2] = fmask
        return dataclasses.replace(
            p,
            visibility=np.where(flags <= 0, 0, np.where(flags == 1, 1, 2)).astype(np.int8),
            visibility_raw=flags,
            int_mask={**p.int_mask, "keypoints": mask},
        )


#: the COCO-style flavor
COCO = H36mCoco(
    name="h36m",
    title="Human3.6M",
    flavors=FLAVORS,
    layout="h36m",
    keys=("keypoints_3d", META_KEY),
    names=(skeletons.load("h36m").keypoints, MMPOSE_COCO_NAMES),
)
ORIGIN = COCO.origin
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (OptionSpec("flavor", "npz or coco (default: the flavor read)", ("npz", "coco")),)
STREAMING = (
    "coco flavor streams; an npz is read whole (its arrays are one zip of .npy members) and written a chunk of "
    "rows at a time"
)
