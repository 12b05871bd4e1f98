"""LSP and LSPet (Leeds Sports Pose, 14 points): the authors' ``joints.mat``, read and written back.

``joints.mat`` holds one numeric variable, ``joints``: x, y and a flag for the 14 joints (README
order, skeleton ``lsp``) of the one person in each image. The two datasets lay it out differently,
so the reader branches on the array's shape, never on the file or folder name:

- LSP: ``3 x 14 x N`` (``joints[c, j, n]``), flag **0 = visible, 1 = occluded** (the opposite of
  what the README's word "visibility" suggests): flag 0 -> v = 2, 1 -> v = 1;
- LSPet: ``14 x 3 x N`` (``joints[j, c, n]``), flag **1 = visible, 0 = not visible**: 1 -> v = 2,
  0 -> v = 1 (such points keep the position the file gives; whether it is meaningful is not
  documented).

A file saved by MATLAB for one image has its trailing singleton dimension dropped: ``3 x 14`` and
``14 x 3`` are read as one image. Neither file has an "unlabeled" state (no point has v = 0).

In ``PoseData``: image ``n`` (0-based position on the last axis) is ``images/im%04d.jpg`` (LSP) or
``images/im%05d.jpg`` (LSPet) numbered ``n + 1``, relative to the folder that holds ``joints.mat``
(the default image folder of an import of the file); when the dataset folder itself is given, the
names start with that folder's name (``lsp_dataset/images/im0001.jpg``), relative to its parent,
which is where an import of the folder looks by default. Image and person ids are ``n + 1``. The
image size is not in the file (0 = unknown): the FiftyOne import reads it from the image headers,
``read(..., images_dir=...)`` does it here. Coordinates are kept exactly as stored (floats, their
MATLAB class recorded); the file's flags are ``visibility_raw``. There is no box (a COCO export
derives one from the points) and no area.

Pixel base: the files were made in MATLAB, but whether x = 1 is the first pixel is not documented.
The coordinates are kept as the file has them and the origin is recorded as 0 (``ORIGIN`` is not
set), so FiftyOne and COCO see the raw values; nothing is shifted by 1 or by 0.5.

``write`` writes ``joints.mat`` back in the orientation and flag convention it was read from
(``PoseData.meta["lsp"]``: ``flavor`` ``"lsp"``/``"lspet"``, the MATLAB ``class``, ``ndim`` for a
one-image 2-D file), with the same values: reading the written file gives the same array, bit for
bit. A COCO export carries ``meta["lsp"]`` as a top-level key ``"lsp"``, so LSP -> COCO -> LSP gives
the same values again (a flag stored as -0.0 comes back as 0.0). Data from elsewhere is written in
``flavor=`` (default: the source's; else ``lspet`` when the image names have 5 digits, else
``lsp``), as ``double``. What the file cannot hold is refused with a ``ValueError``, never written
wrongly:

- a joints slot is an image by position: every image must be named ``im<number>.jpg`` with the
  numbers 1..M exactly once (images are written in the order of those numbers, so a sorted view
  is fine; a subset of the images is not: it would renumber them);
- exactly one person per image (no crowd regions);
- unlabeled points (v = 0, e.g. hidden by a FiftyOne view) are refused, since the file has no such
  state; ``unlabeled="occluded"`` writes them with the not-visible flag and the coordinates the
  data holds for them (0, 0 for points hidden in FiftyOne), counted in the notes.

Reading is strict: one variable ``joints`` (a file with other variables is refused, as their
meaning is unknown), a real numeric array of one of the shapes above, finite coordinates and flags
0 or 1 only; anything else is a ``PoseFormatError`` naming the file, the image and the value. Files
are read with the project's strict MATLAB v5 reader (``mat5``; v7.3/HDF5 files are not supported)
and written by ``mat5.write_mat`` (scipy's writer, uncompressed v5, deterministic bytes).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.layouts import require_layout
from ..core.model import Persons, PoseData
from ..core.numbers import uniform_mask
from .context import ReadContext
from .jsonio import write_atomic
from .mat5 import MatError, class_dtype, class_name, read_mat, variable_headers, write_mat
from .native import new_images, sizes_from_headers
from .protocol import IMAGES_DIR, Confidence, OptionSpec, Peek

NAME = "lsp"
FLAVORS = {
    "lsp": "LSP joints.mat: joints 3 x 14 x N, flag 0 visible / 1 occluded; images/im%04d.jpg",
    "lspet": "LSPet joints.mat: joints 14 x 3 x N, flag 1 visible / 0 not visible; images/im%05d.jpg",
}
NUM_POINTS = 14
VARIABLE = "joints"
FILE_NAME = "joints.mat"
#: per flavor: the flag of a visible and of a not visible point, and the digits of the image names
_VISIBLE = {"lsp": 0.0, "lspet": 1.0}
_HIDDEN = {"lsp": 1.0, "lspet": 0.0}
_DIGITS = {"lsp": 4, "lspet": 5}
_COMPONENTS = ("x", "y", "flag")
_IMAGE_NAME = re.compile(r"im(\d+)\.jpg")
NOTE_UNLABELED = "unlabeled points written as not visible (joints.mat has no unlabeled state)"
NOTE_CLASS = "joints written as double (the edited values do not fit the file's MATLAB class)"
NOTE_EXTRAS = "records with keys joints.mat has no place for (not written)"
ORIGIN = 0  # the pixel base is undocumented: coordinates are kept as the file has them
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (
    OptionSpec("flavor", "lsp or lspet (default: the flavor read)", tuple(FLAVORS)),
    OptionSpec("unlabeled", "error (default) or occluded: how to write unlabeled points", ("error", "occluded")),
)
STREAMING = "read and written whole: joints.mat is one MATLAB array"


def layout() -> skeletons.Skeleton:
    return skeletons.load(NAME)


# ----------------------------------------------------------------------------------- sniffing


def _joints_file(path: str | os.PathLike) -> Path:
    """``path`` itself, or the ``joints.mat`` in it when it is a folder."""
    p = Path(path)
    return p / FILE_NAME if p.is_dir() else p


def detect(peek: Peek) -> Confidence:
    """A MATLAB file (or a folder with ``joints.mat``) whose ``joints`` variable is 3 x 14 x N or
    14 x 3 x N (told from the variable's header). A file called ``joints.mat`` whose header says
    otherwise is still ``LIKELY`` (above MHP's ``WEAK`` for any MATLAB file), so the LSP reader
    explains what is wrong with it."""
    file = peek.child(FILE_NAME) if peek.is_dir else peek
    if not file.head.startswith(b"MATLAB "):
        return Confidence.NO
    shape = dict(variable_headers(file.head)).get(VARIABLE)
    if shape is not None and _flavor_of_shape(shape) is not None:
        return Confidence.CERTAIN
    return Confidence.LIKELY if file.name == FILE_NAME else Confidence.NO


def _flavor_of_shape(shape: tuple[int, ...]) -> str | None:
    if len(shape) in (2, 3) and shape[:2] == (3, NUM_POINTS):
        return "lsp"
    if len(shape) in (2, 3) and shape[:2] == (NUM_POINTS, 3):
        return "lspet"
    return None


# ------------------------------------------------------------------------------------ reading


def read(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseData:
    """Read ``joints.mat``, given as the file or as the dataset folder that holds it.

    ``images_dir``: read the image sizes from the image headers there (the folder the image names
    are relative to, see the module doc); otherwise they stay 0 (unknown) and the FiftyOne import
    reads them itself.
    """
    folder = Path(path).is_dir()
    file = _joints_file(path)
    r = ReadContext(file)
    if folder and not file.is_file():
        raise PoseFormatError(f"no {FILE_NAME} in this folder", path=path)
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise r.error(f"cannot read file ({e.strerror})") from None
    try:
        variables = read_mat(raw)
    except MatError as e:
        raise r.error(f"cannot read as a MATLAB v5 file: {e}", e.where) from None
    prefix = f"{Path(path).resolve().name}/images/" if folder else "images/"
    data = decode(variables, path=file, image_prefix=prefix)
    return sizes_from_headers(data, images_dir, file)


def decode(
    variables: dict[str, np.ndarray], *, path: str | os.PathLike | None = None, image_prefix: str = "images/"
) -> PoseData:
    """The variables of a ``joints.mat`` (name -> array, MATLAB's shape) as ``PoseData`` (pure).

    ``image_prefix``: the folder part of the image names (``images/`` beside ``joints.mat``).
    """
    r = ReadContext(path)
    for name in variables:
        if name != VARIABLE:
            raise r.error(f"unknown variable: an LSP/LSPet {FILE_NAME} holds only '{VARIABLE}'", name)
    if VARIABLE not in variables:
        raise r.error(f"required variable is missing (found {', '.join(variables) or 'none'})", VARIABLE)
    joints = np.asarray(variables[VARIABLE])
    flavor = _flavor_of_shape(joints.shape)
    if joints.dtype.kind not in "iuf" or flavor is None:
        raise r.error(
            f"expected a numeric 3 x 14 x N (LSP) or 14 x 3 x N (LSPet) array, "
            f"found {class_name(joints.dtype) if joints.dtype.kind in 'iuf' else joints.dtype} "
            f"{' x '.join(map(str, joints.shape))}",
            VARIABLE,
        )
    if joints.ndim == 2:
        joints = joints[..., None]
    # (N, 14, 3): joints[c, j, n] (LSP) or joints[j, c, n] (LSPet)
    triplets = joints.transpose(2, 1, 0) if flavor == "lsp" else joints.transpose(2, 0, 1)
    triplets = np.ascontiguousarray(triplets, dtype=np.float64)
    n = len(triplets)
    names = [f"{image_prefix}im{i + 1:0{_DIGITS[flavor]}d}.jpg" for i in range(n)]

    def where(i: int, j: int, c: int) -> tuple[str, str, str]:
        index = (c, j, i) if flavor == "lsp" else (j, c, i)
        part = f"{_COMPONENTS[c]} of {layout().keypoints[j]}"
        return part, f"images[{i}] (id {i + 1}, {names[i]})", f"{VARIABLE}[{', '.join(map(str, index))}]"

    bad = ~np.isfinite(triplets[..., :2])
    if bad.any():
        i, j, c = (int(v) for v in np.argwhere(bad)[0])
        part, record, field = where(i, j, c)
        raise r.error(f"{part} is {triplets[i, j, c]}, expected a finite number", record, field)
    flags = triplets[..., 2]
    bad = ~np.isin(flags, (0.0, 1.0))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        part, record, field = where(i, j, 2)
        raise r.error(f"{part} is {flags[i, j]}, expected 0 or 1", record, field)

    visible = flags == _VISIBLE[flavor]
    ints = joints.dtype.kind in "iu"
    # x, y as the array's class; the flags are whole numbers: a COCO export writes 0/1/2 as ints
    kp_mask = np.broadcast_to(np.array([ints, ints, True]), (n, NUM_POINTS, 3))
    persons = Persons(
        image_index=np.arange(n, dtype=np.int64),
        ids=np.arange(1, n + 1, dtype=np.int64),
        category_ids=np.ones(n, np.int64),
        keypoints=np.ascontiguousarray(triplets[..., :2]),
        visibility=np.where(visible, 2, 1).astype(np.int8),
        boxes=np.full((n, 4), np.nan),
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=[{} for _ in range(n)],
        visibility_raw=flags.copy(),
        int_mask={"keypoints": kp_mask, "bbox": uniform_mask(False, (n, 4)), "area": uniform_mask(False, (n,))},
        absent={"segmentation": np.ones(n, bool)},
    )
    images = new_images(range(1, n + 1), names, [0] * n, [0] * n, [{} for _ in range(n)])
    meta: dict[str, Any] = {NAME: {"flavor": flavor, "class": class_name(joints.dtype)}}
    if variables[VARIABLE].ndim == 2:
        meta[NAME]["ndim"] = 2
    return PoseData(images, persons, layout(), [], meta, NAME, r.notes)


# ------------------------------------------------------------------------------------ writing


def write(data: PoseData, path: str | os.PathLike, *, flavor: str | None = None, unlabeled: str = "error") -> None:
    """Write ``data`` (14-point ``lsp`` layout, one person per image) as ``joints.mat`` (atomically).

    ``path``: the file, or a folder to write ``joints.mat`` into. ``flavor``: ``"lsp"`` or
    ``"lspet"`` (default: the source's). ``unlabeled``: ``"error"`` (default) refuses points with
    v = 0, ``"occluded"`` writes them as not visible (see the module doc).
    """
    joints = encode(data, flavor=flavor, unlabeled=unlabeled)
    write_atomic(written_file(path), [write_mat(joints)])


def written_file(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` writes: ``path``, or ``joints.mat`` in it when it is a folder."""
    return Path(path) / FILE_NAME if Path(path).is_dir() else Path(path)


def flavor_of(data: PoseData) -> str:
    """The flavor ``data`` was read from; for other data, ``lspet`` if its image names have 5 digits."""
    recorded = _recorded(data).get("flavor")
    if recorded in FLAVORS:
        return recorded
    digits = {
        len(m.group(1)) for name in data.images.file_names if (m := _IMAGE_NAME.fullmatch(PurePosixPath(name).name))
    }
    return "lspet" if digits == {5} else "lsp"


def _recorded(data: PoseData) -> dict[str, Any]:
    value = data.meta.get(NAME)
    return value if isinstance(value, dict) else {}


def encode(data: PoseData, *, flavor: str | None = None, unlabeled: str = "error") -> dict[str, np.ndarray]:
    """``data`` as the variables of a ``joints.mat`` (``{"joints": array}``; pure: no disk access)."""
    flavor = flavor or flavor_of(data)
    if flavor not in FLAVORS:
        raise PoseUsageError(f"unknown LSP flavor {flavor!r}; flavors: {', '.join(FLAVORS)}")
    if unlabeled not in ("error", "occluded"):
        raise PoseUsageError(f"unlabeled must be 'error' or 'occluded', not {unlabeled!r}")
    require_layout(data, NAME, "LSP")
    order = _slots(data)
    p = data.persons
    m = len(order)
    per_image = np.bincount(p.image_index, minlength=m)
    wrong = np.flatnonzero(per_image != 1)
    if len(wrong):
        i = int(wrong[0])
        raise PoseUsageError(
            f"joints.mat holds exactly one person per image; {data.images.record(i)} has {per_image[i]} "
            f"({len(wrong)} image(s) have not exactly one): export to COCO instead, or keep one person per image"
        )
    if p.crowd.any():
        i = int(p.image_index[np.flatnonzero(p.crowd)[0]])
        raise PoseUsageError(f"joints.mat has no crowd regions; {data.images.record(i)} has one")
    row_of_image = np.empty(m, np.int64)
    row_of_image[p.image_index] = np.arange(len(p))
    rows = row_of_image[order]  # the person of slot 0, 1, ...

    visibility = p.visibility[rows]
    if not np.isin(visibility, (0, 1, 2)).all():
        raise PoseUsageError("visibility values other than 0, 1, 2 cannot be written")
    raw = p.raw_visibility()[rows]
    native = np.where(visibility == 2, _VISIBLE[flavor], _HIDDEN[flavor])
    read_back = np.select([raw == _VISIBLE[flavor], raw == _HIDDEN[flavor]], [2, 1], 0)
    flags = np.where(read_back == visibility, raw, native)  # the file's own flag (e.g. -0.0) where it still holds
    hidden = visibility == 0
    if hidden.any():
        if unlabeled == "error":
            slot, j = (int(v) for v in np.argwhere(hidden)[0])
            raise PoseUsageError(
                f"joints.mat has no 'unlabeled' state, and {int(hidden.sum())} point(s) are unlabeled (v = 0), "
                f"e.g. {data.skeleton.keypoints[j]} in {data.images.record(int(order[slot]))}: "
                "pass unlabeled='occluded' to write them as not visible (at the coordinates the data holds for "
                "them), or export to COCO"
            )
        flags = np.where(hidden, _HIDDEN[flavor], flags)
        _note(data, NOTE_UNLABELED, int(hidden.sum()))
    triplets = np.concatenate([p.keypoints[rows], flags[..., None]], axis=2)  # (M, 14, 3)
    if not np.isfinite(triplets).all():
        slot, j = (int(v) for v in np.argwhere(~np.isfinite(triplets).all(axis=2))[0])
        raise PoseUsageError(
            f"joints.mat holds finite coordinates only; {data.skeleton.keypoints[j]} in "
            f"{data.images.record(int(order[slot]))} is at {p.keypoints[rows[slot], j].tolist()}"
        )

    recorded = _recorded(data)
    try:
        dtype = class_dtype(recorded.get("class", "double"))
    except (ValueError, TypeError):
        dtype = np.dtype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        values = triplets.astype(dtype)
    # the source's class where it holds every value exactly (sign of zero included), else double
    if not ((values.astype(np.float64) == triplets) & (np.signbit(values) == np.signbit(triplets))).all():
        values = triplets
        _note(data, NOTE_CLASS, 1)
    joints = values.transpose(2, 1, 0) if flavor == "lsp" else values.transpose(1, 2, 0)
    if m == 1 and recorded.get("ndim") == 2:  # as MATLAB saves one image: no trailing singleton axis
        joints = joints[..., 0]
    extras = sum(1 for e in p.extras if e) + sum(1 for e in data.images.extras if e)
    _note(data, NOTE_EXTRAS, extras)
    return {VARIABLE: np.ascontiguousarray(joints)}


def _slots(data: PoseData) -> np.ndarray:
    """The image of each joints slot: images named ``im1.jpg`` .. ``imM.jpg`` (any zero padding),
    each number once; a ValueError naming the first image that does not fit."""
    m = len(data.images)
    slot_of = np.empty(m, np.int64)
    for i, name in enumerate(data.images.file_names):
        match = _IMAGE_NAME.fullmatch(PurePosixPath(name).name)
        number = int(match.group(1)) if match else 0
        if not 1 <= number <= m:
            raise PoseUsageError(
                f"joints.mat gives image n the n-th slot, so the {m} image(s) must be named im1.jpg .. im{m}.jpg "
                f"(im0001.jpg, im00001.jpg: any zero padding); {data.images.record(i)} does not fit "
                "(images are known by position only: other names, or a subset of the images, cannot be written "
                "without renumbering them): export to COCO instead"
            )
        slot_of[i] = number - 1
    order = np.empty(m, np.int64)
    order[slot_of] = np.arange(m)
    taken = np.zeros(m, bool)
    taken[slot_of] = True
    if not taken.all():  # a number twice (so another one missing)
        counts = np.bincount(slot_of, minlength=m)
        i = int(np.flatnonzero(counts[slot_of] > 1)[1])
        raise PoseUsageError(
            f"two images have the same number, e.g. {data.images.record(i)}: joints.mat has one slot per image"
        )
    return order


def _note(data: PoseData, reason: str, count: int) -> None:
    if count:
        data.notes[reason] = data.notes.get(reason, 0) + count
