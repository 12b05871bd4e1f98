"""Writing ``.npz`` files as ``numpy.savez`` does, also a chunk of rows at a time.

An ``.npz`` is a zip of ``<name>.npy`` members. ``NpzWriter`` writes each member through
``zipfile.ZipFile.open(..., "w", force_zip64=True)``, so a member's bytes are streamed, not built
in memory. ``SpilledColumns`` collects per-row arrays a chunk of rows at a time in temporary
files; once every chunk is in, each column's ``.npy`` header is known (its row count and the
dtype every chunk fits in) and its bytes are copied into the zip a block at a time. The result is
byte for byte what ``numpy.savez`` (or ``savez_compressed``) writes for the whole arrays, with the
zip entries' timestamps fixed so the same arrays always give the same bytes.
"""

from __future__ import annotations

import dataclasses
import tempfile
import zipfile
from typing import IO, BinaryIO

import numpy as np

#: bytes copied per block from a spilled column into the zip
_BLOCK = 1 << 24


def member_info(name: str, compressed: bool) -> zipfile.ZipInfo:
    """The zip entry of array ``name``: ``<name>.npy`` with a fixed timestamp, deflated or stored."""
    info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    return info


@dataclasses.dataclass
class _Column:
    """A column's chunks in the spill file: each one's dtype, rows and byte offset."""

    row_shape: tuple[int, ...]
    chunks: list[tuple[np.dtype, int, int]] = dataclasses.field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(n for _, n, _ in self.chunks)

    def dtype(self) -> np.dtype:
        """The dtype every chunk fits in: the widest text, else numpy's promotion (int and float: float)."""
        dtypes = [d for d, _, _ in self.chunks]
        if all(d == dtypes[0] for d in dtypes):
            return dtypes[0]
        if all(d.kind == "U" for d in dtypes):
            return max(dtypes, key=lambda d: d.itemsize)
        return np.result_type(*dtypes)


class SpilledColumns:
    """Per-row arrays added a chunk of rows at a time, kept in a temporary file until written.

    ``add(name, rows)`` appends C-ordered rows (the same row shape every time; the dtype may
    differ between chunks, see ``_Column.dtype``); ``write_member`` writes one column as an
    ``.npy`` member. Use as a context manager: the file is deleted on leaving.
    """

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="fiftyone_pose_npz_")
        self._columns: dict[str, _Column] = {}

    def __enter__(self) -> SpilledColumns:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def add(self, name: str, rows: np.ndarray) -> None:
        """Append ``rows`` (shape (n, *row_shape)) to column ``name``."""
        column = self._columns.setdefault(name, _Column(rows.shape[1:]))
        if rows.shape[1:] != column.row_shape:
            raise ValueError(f"column {name!r}: rows of shape {rows.shape[1:]}, earlier ones {column.row_shape}")
        offset = self._file.seek(0, 2)
        self._file.write(np.ascontiguousarray(rows).tobytes())
        column.chunks.append((rows.dtype, len(rows), offset))

    def write_member(self, zf: zipfile.ZipFile, name: str, *, compressed: bool = False, fortran: bool = False) -> None:
        """Write column ``name`` as ``<name>.npy`` into ``zf``, as ``np.savez`` writes the whole array.

        A Fortran-ordered column is read back whole (its bytes run column by column).
        """
        column = self._columns[name]
        dtype = column.dtype()
        with zf.open(member_info(name, compressed), "w", force_zip64=True) as out:
            if fortran:
                whole = np.empty((column.rows, *column.row_shape), dtype, order="F")
                row = 0
                for chunk_dtype, n, offset in column.chunks:
                    whole[row : row + n] = self._read(column, chunk_dtype, n, offset)
                    row += n
                np.lib.format.write_array(out, whole, allow_pickle=False)
                return
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
            np.lib.format.write_array_header_1_0(out, {**header, "shape": (column.rows, *column.row_shape)})
            for chunk_dtype, n, offset in column.chunks:
                if chunk_dtype == dtype:  # the bytes as they are, a block at a time
                    _copy(self._file, out, offset, n * dtype.itemsize * int(np.prod(column.row_shape)))
                else:
                    out.write(self._read(column, chunk_dtype, n, offset).astype(dtype).tobytes())

    def _read(self, column: _Column, dtype: np.dtype, n: int, offset: int) -> np.ndarray:
        self._file.seek(offset)
        count = n * int(np.prod(column.row_shape))
        return np.frombuffer(self._file.read(count * dtype.itemsize), dtype, count).reshape(n, *column.row_shape)


def _copy(src: IO[bytes], dst: BinaryIO, offset: int, size: int) -> None:
    src.seek(offset)
    while size > 0:
        block = src.read(min(size, _BLOCK))
        dst.write(block)
        size -= len(block)
