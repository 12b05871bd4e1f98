"""npzio: columns written a chunk of rows at a time give the members ``numpy.savez`` writes for
the whole arrays (the reference runs on the same arrays), and the same bytes as writing them whole."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fiftyone_pose.formats.npzio import SpilledColumns, member_info

DTYPES = ["<f8", ">f8", "<f4", "<f2", "<i4", ">i8", "|u1", "|b1", "<U3", ">U5"]


@st.composite
def columns(draw):
    """Named per-row arrays of one row count, each with a compression and an order, and the
    row counts of the chunks they are added in."""
    n = draw(st.integers(0, 40))
    arrays = {}
    for name in draw(
        st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True), min_size=1, max_size=4, unique=True)
    ):
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        row_shape = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
        arrays[name] = (
            draw(hnp.arrays(dtype, (n, *row_shape))),
            draw(st.booleans()),  # compressed
            draw(st.booleans()) and bool(row_shape),  # Fortran order
        )
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    return arrays, list(zip([0, *cuts], [*cuts, n]))


def write_chunked(arrays, spans) -> bytes:
    buf = io.BytesIO()
    with SpilledColumns() as spilled:
        for lo, hi in spans:
            for name, (arr, _, _) in arrays.items():
                spilled.add(name, arr[lo:hi])
        with zipfile.ZipFile(buf, "w", allowZip64=True) as zf:
            for name, (_, compressed, fortran) in arrays.items():
                spilled.write_member(zf, name, compressed=compressed, fortran=fortran)
    return buf.getvalue()


def write_whole(arrays) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as zf:
        for name, (arr, compressed, fortran) in arrays.items():
            with zf.open(member_info(name, compressed), "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asfortranarray(arr) if fortran else arr, allow_pickle=False)
    return buf.getvalue()


def savez_members(arrays) -> dict[str, bytes]:
    """What ``numpy.savez`` / ``savez_compressed`` write for each array (member name: .npy bytes)."""
    members = {}
    for compress in (False, True):
        chosen = {k: np.asfortranarray(a) if f else a for k, (a, c, f) in arrays.items() if c == compress}
        buf = io.BytesIO()
        (np.savez_compressed if compress else np.savez)(buf, **chosen)
        with zipfile.ZipFile(buf) as zf:
            members.update({name: zf.read(name) for name in zf.namelist()})
    return members


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns())
def test_chunked_columns_are_numpy_savez(case):
    arrays, spans = case
    data = write_chunked(arrays, spans)
    assert data == write_whole(arrays)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        ours = {info.filename: zf.read(info) for info in zf.infolist()}
        assert [i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist()] == [c for _, c, _ in arrays.values()]
    assert ours == savez_members(arrays)
    with np.load(io.BytesIO(data)) as loaded:
        for name, (arr, _, _) in arrays.items():
            assert loaded[name].dtype == arr.dtype and loaded[name].tobytes() == arr.tobytes()


@pytest.mark.parametrize(
    ("chunks", "want"),
    [
        ([np.array(["ab"]), np.array(["abcdef"]), np.array(["a"])], np.array(["ab", "abcdef", "a"])),
        ([np.arange(3, dtype=np.int32), np.array([0.5])], np.array([0, 1, 2, 0.5])),
    ],
)
def test_chunks_of_different_dtypes_take_the_one_that_holds_all(chunks, want):
    """A text column widens to its longest chunk; ints and floats become floats, as ``np.array``
    of the whole column would."""
    with SpilledColumns() as spilled:
        for chunk in chunks:
            spilled.add("x", chunk)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            spilled.write_member(zf, "x")
    with np.load(io.BytesIO(buf.getvalue())) as loaded:
        assert loaded["x"].dtype == want.dtype and loaded["x"].tolist() == want.tolist()


def test_rows_of_another_shape_are_refused():
    with SpilledColumns() as spilled:
        spilled.add("x", np.zeros((2, 3)))
        with pytest.raises(ValueError, match="rows of shape"):
            spilled.add("x", np.zeros((2, 4)))
