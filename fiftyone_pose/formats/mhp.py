"""MHP (LV-MHP v2.0, 16 MPII-order points): mmpose's COCO-style files, and the per-image ``.mat``
pose files as far as they are known.

COCO-style (mmpose ``mhp_{train,val}.json``): read with ``coco.decode`` and the ``mhp`` layout;
``face_box`` (``[x, y, w, h]``), ``segmentation: []``, the box ``area`` and every other key are
kept verbatim and written back identical. Visibility is 0 / 2 only (2 = labeled; the files carry no
occlusion information).

``.mat`` (``pose_annos/<id>.mat``, read only; give one file or the ``pose_annos`` folder): the
authors do not document these files. They are read the way a public converter reads them, and
anything else is an error naming the file and the variable:

- one variable per person, ``person_0``, ``person_1``, ... (read in that numeric order), each a
  numeric 20 x 3 array of ``(x, y, flag)`` rows: rows 0-15 the 16 joints in MPII order, rows
  16-17 the face-box corners, rows 18-19 the person-box corners;
- a joint is labeled (v = 2) when its flag is 0 and x, y > 0 (the converter's rule), otherwise
  unlabeled; the flag is kept as the raw visibility and the counts of both readings are in the
  notes, so a real file can be checked against the rule;
- the person box becomes ``bbox`` and the face box ``face_box`` (``[x, y, w, h]``, as in the
  converted files), the rows' flags ``box_flags``, the variable name ``mat_variable``;
- images are ``images/<id>.jpg`` relative to the split folder (the parent of ``pose_annos``, the
  default image folder when importing the folder); the size is not in the file (read from the
  image header by the FiftyOne import, or here with ``images_dir=``). Image ids are the file-name
  numbers (1..M when the names are not unique numbers).

Not supported: writing ``.mat`` files, the test split (no pose files known), MATLAB v7.3 (HDF5)
and v4 files, and any other variable layout. The files are read by a strict MAT v5 reader of
numeric arrays (``mat5``), not scipy, whose reader can crash the interpreter on damaged files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import Persons, PoseData
from ..core.numbers import to_lists, uniform_mask
from ..core.stream import PoseStream
from .cocolike import CocoLike
from .context import ReadContext
from .mat5 import MatError, read_mat
from .native import corners_to_boxes, new_images, sizes_from_headers
from .protocol import IMAGES_DIR, Confidence, OptionSpec, Peek

FLAVORS = {
    "coco": "mmpose mhp_{train,val}.json: COCO-style, 16 MPII-order points, face_box per person",
    "mat": "LV-MHP v2.0 pose_annos/<id>.mat, one file or the folder (read only; layout as a public "
    "converter reads it: person_N = 20 rows of x, y, flag)",
}
NUM_POINTS = 16
_MAT_ROWS = 20
_PERSON_VAR = re.compile(r"person_(\d+)")
NOTE_LABELED = "MHP .mat joints read as labeled (flag 0 and x, y > 0: a converter's rule, not the authors')"
NOTE_UNLABELED = "MHP .mat joints read as unlabeled (another flag, or x or y <= 0)"

#: the mmpose flavor, on the COCO-like base
COCO = CocoLike(
    name="mhp",
    title="MHP",
    flavors=FLAVORS,
    layout="mhp",
    names=(skeletons.load("mhp").meta["names_in_distributed_json"],),
    exact_names=True,
    spelled_names=True,
)
NAME, ORIGIN = COCO.name, COCO.origin
READ_OPTIONS = (IMAGES_DIR,)
WRITE_OPTIONS = (OptionSpec("flavor", "coco (the .mat files are read only)", ("coco",)),)
STREAMING = "coco flavor streams; .mat files are read whole (one MATLAB file per image)"


def layout() -> skeletons.Skeleton:
    return skeletons.load(NAME)


def detect(peek: Peek) -> Confidence:
    """A ``.mat`` file (or a folder of them): any MATLAB file is ``WEAK`` (the LSP and MPII
    ``.mat`` readers recognise theirs); a COCO file whose category lists the 16 MHP names."""
    if peek.is_dir:
        return Confidence.WEAK if any(name.endswith(".mat") for name in peek.entries) else Confidence.NO
    if peek.head.startswith(b"MATLAB ") and b"MAT-file" in peek.head[:128]:
        return Confidence.WEAK
    return COCO.detect(peek)


def read(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseData:
    """Read a COCO-style MHP file, a ``.mat`` pose file or a ``pose_annos`` folder of them.

    ``images_dir`` (``.mat`` only): read the image sizes from the image headers there.
    """
    return read_stream(path, images_dir=images_dir).collect()


def read_stream(path: str | os.PathLike, *, images_dir: str | os.PathLike | None = None) -> PoseStream:
    """Either flavor as a stream (``.mat`` files come as one chunk)."""
    if _is_mat(path):
        return PoseStream.of(sizes_from_headers(decode_mat(path), images_dir, path))
    return COCO.read_stream(path)


def _is_mat(path: str | os.PathLike) -> bool:
    return Path(path).is_dir() or Peek(path).head.startswith(b"MATLAB ")


def write(data: PoseData, path: str | os.PathLike, *, flavor: str = "coco") -> None:
    """Write ``data`` (16-point ``mhp`` layout) as an mmpose-style MHP COCO file (atomically, streamed)."""
    write_stream(PoseStream.of(data), path, flavor=flavor)


def write_stream(stream: PoseStream, path: str | os.PathLike, *, flavor: str = "coco") -> None:
    _check_flavor(flavor)
    COCO.write_stream(stream, path)


def _check_flavor(flavor: str) -> None:
    if flavor == "mat":
        raise PoseUsageError("MHP .mat files are read only: their layout is not documented by the authors")
    if flavor != "coco":
        raise PoseUsageError(f"unknown MHP flavor {flavor!r}; flavors: {', '.join(FLAVORS)}")


# ---------------------------------------------------------------------------------- COCO-style


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """A parsed COCO-style MHP document as ``PoseData`` (pure: no disk access)."""
    return COCO.decode(doc, path=path)


def encode(data: PoseData, *, flavor: str = "coco") -> dict[str, Any]:
    """``data`` as an MHP COCO-style document (pure: no disk access)."""
    _check_flavor(flavor)
    return COCO.encode(data)


# ------------------------------------------------------------------------------------- .mat files


def decode_mat(path: str | os.PathLike) -> PoseData:
    """Read one ``pose_annos/<id>.mat`` file, or every ``.mat`` file of a folder (sorted by name)."""
    root = Path(path)
    if root.is_dir():
        files = sorted((f for f in root.iterdir() if f.suffix == ".mat" and f.is_file()), key=_natural)
        if not files:
            raise PoseFormatError("no .mat files in this folder", path=path)
    else:
        files = [root]
    stems = [f.stem for f in files]
    numeric = all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems)
    ids = [int(s) for s in stems] if numeric else list(range(1, len(files) + 1))

    rows_of, image_of, var_names = [], [], []
    int_rows = True
    for i, file in enumerate(files):
        r = ReadContext(file)
        try:
            variables = list(read_mat(file.read_bytes()).items())
        except OSError as e:
            raise r.error(f"cannot read file ({e.strerror})") from None
        except MatError as e:
            raise r.error(f"cannot read as a MATLAB v5 file: {e}", e.where) from None
        people = []
        for name, value in variables:
            m = _PERSON_VAR.fullmatch(name)
            if m is None:
                raise r.error("unknown variable: only person_0, person_1, ... are known in MHP pose files", name)
            arr = np.asarray(value)
            if arr.dtype.kind not in "iuf" or arr.shape != (_MAT_ROWS, 3):
                raise r.error(
                    f"expected a numeric {_MAT_ROWS} x 3 array of (x, y, flag) rows (16 joints, face box, person box), "
                    f"found {arr.dtype} {'x'.join(map(str, arr.shape))}",
                    name,
                )
            if not np.isfinite(arr.astype(np.float64)).all():
                raise r.error("expected finite numbers", name)
            int_rows &= arr.dtype.kind in "iu"
            people.append((int(m.group(1)), name, arr.astype(np.float64)))
        for _, name, arr in sorted(people):
            rows_of.append(arr)
            image_of.append(i)
            var_names.append(name)

    images = new_images(
        ids, [f"images/{s}.jpg" for s in stems], [0] * len(files), [0] * len(files), [{} for _ in files]
    )
    n = len(rows_of)
    notes: dict[str, int] = {}
    if n == 0:
        return PoseData(images, Persons.empty(NUM_POINTS), layout(), [], {}, NAME, notes)
    arr = np.stack(rows_of)  # (n, 20, 3)
    joints = arr[:, :NUM_POINTS]
    raw = joints[..., 2].copy()
    labeled = (raw == 0) & (joints[..., 0] > 0) & (joints[..., 1] > 0)
    notes[NOTE_LABELED] = int(labeled.sum())
    notes[NOTE_UNLABELED] = int((~labeled).sum())
    face, face_mask, _ = corners_to_boxes(arr[:, 16:18, :2].reshape(n, 4), uniform_mask(int_rows, (n, 4)))
    boxes, box_mask, _ = corners_to_boxes(arr[:, 18:20, :2].reshape(n, 4), uniform_mask(int_rows, (n, 4)))
    face_lists = to_lists(face, face_mask)
    flag_lists = to_lists(arr[:, 16:20, 2], uniform_mask(int_rows, (n, 4)))
    persons = Persons(
        image_index=np.asarray(image_of, dtype=np.int64),
        ids=np.arange(1, n + 1, dtype=np.int64),
        category_ids=np.ones(n, np.int64),
        keypoints=np.ascontiguousarray(joints[..., :2]),
        visibility=np.where(labeled, 2, 0).astype(np.int8),
        boxes=boxes,
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=[
            {"face_box": face_lists[j], "box_flags": flag_lists[j], "mat_variable": var_names[j]} for j in range(n)
        ],
        visibility_raw=raw,
        int_mask={
            "keypoints": uniform_mask(int_rows, (n, NUM_POINTS, 3)),
            "bbox": box_mask,
            "area": uniform_mask(False, (n,)),
        },
        absent={"segmentation": np.ones(n, bool)},
    )
    return PoseData(images, persons, layout(), [], {}, NAME, notes)


def _natural(f: Path) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", f.name))
