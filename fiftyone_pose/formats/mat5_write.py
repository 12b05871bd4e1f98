"""A small writer of MATLAB v5 ``.mat`` files holding plain numeric arrays: the counterpart of ``mat5``.

Why not ``scipy.io.savemat``: its header carries the time of writing, so two exports of the same
data would differ, and this project's exports are byte-for-byte deterministic. The files are
uncompressed level-5 MAT-files, little-endian, one real non-sparse array per variable, stored in
its own MATLAB class (``double``, ``single``, ``int8`` ... ``uint64``); MATLAB, Octave, scipy and
``mat5.read_mat`` read them.
"""

from __future__ import annotations

import re
import struct

import numpy as np

#: the 116 bytes of descriptive text that open the file (padded with spaces)
HEADER_TEXT = b"MATLAB 5.0 MAT-file, Platform: any, Created by: fiftyone-pose"
#: numpy type -> (MATLAB class code, storage type code, class name)
_CLASSES: dict[str, tuple[int, int, str]] = {
    "f8": (6, 9, "double"),
    "f4": (7, 7, "single"),
    "i1": (8, 1, "int8"),
    "u1": (9, 2, "uint8"),
    "i2": (10, 3, "int16"),
    "u2": (11, 4, "uint16"),
    "i4": (12, 5, "int32"),
    "u4": (13, 6, "uint32"),
    "i8": (14, 12, "int64"),
    "u8": (15, 13, "uint64"),
}
_BY_NAME = {name: np.dtype(key) for key, (_, _, name) in _CLASSES.items()}
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX = 1, 5, 6, 14
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")


def class_name(dtype: np.dtype) -> str:
    """The MATLAB class of arrays of ``dtype`` (``"double"``, ``"uint8"``, ...); ValueError for others."""
    dtype = np.dtype(dtype)
    key = f"{dtype.kind}{dtype.itemsize}"
    if key not in _CLASSES:
        raise ValueError(f"no MATLAB numeric class holds {dtype} values")
    return _CLASSES[key][2]


def class_dtype(name: str) -> np.dtype:
    """The numpy type of MATLAB class ``name``; ValueError for a name that is not a numeric class."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown MATLAB numeric class {name!r}; classes: {', '.join(_BY_NAME)}") from None


def write_mat(variables: dict[str, np.ndarray]) -> bytes:
    """The bytes of a MAT-file holding ``variables`` (name -> array of 2 or more dimensions), in order."""
    header = HEADER_TEXT.ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100) + b"IM"
    return header + b"".join(_matrix(name, np.asarray(array)) for name, array in variables.items())


def _element(mi: int, data: bytes) -> bytes:
    """A data element: tag (type, byte count) and the data, padded to 8 bytes."""
    return struct.pack("<II", mi, len(data)) + data + bytes(-len(data) % 8)


def _matrix(name: str, array: np.ndarray) -> bytes:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a MATLAB variable name (a letter, then letters, digits, '_'; at most 63)")
    if array.ndim < 2:
        raise ValueError(f"variable {name!r}: MATLAB arrays have at least 2 dimensions, this one has {array.ndim}")
    key = f"{array.dtype.kind}{array.dtype.itemsize}"
    if array.dtype.kind not in "iuf" or key not in _CLASSES:
        raise ValueError(f"variable {name!r}: no MATLAB numeric class holds {array.dtype} values")
    if any(d >= 2**31 for d in array.shape):
        raise ValueError(f"variable {name!r}: dimensions {array.shape} do not fit a MAT-file")
    mx, mi, _ = _CLASSES[key]
    values = np.ascontiguousarray(array.ravel(order="F"), dtype=array.dtype.newbyteorder("<")).tobytes()
    body = (
        _element(_MI_UINT32, struct.pack("<II", mx, 0))  # array flags: the class, no complex/global/logical bit
        + _element(_MI_INT32, struct.pack(f"<{array.ndim}i", *array.shape))
        + _element(_MI_INT8, name.encode("ascii"))
        + _element(mi, values)
    )
    return struct.pack("<II", _MI_MATRIX, len(body)) + body
