"""The numpy BSON builder gives pymongo's own bytes; its ObjectIds never repeat (no database).

That the import stores what FiftyOne itself would is pinned in test_documents.py."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

import bson
import numpy as np
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fiftyone_pose.core.numbers import to_lists
from fiftyone_pose.fo import rawbson as rb

finite_or_nan = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(2**53), 2**53).map(float),
    st.integers(-(2**31) - 2, 2**31 + 2).map(float),
)


@st.composite
def number_tables(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 14))
    values = draw(hnp.arrays(np.float64, (n, m), elements=finite_or_nan))
    is_int = draw(st.one_of(st.booleans(), hnp.arrays(bool, (n, m))))
    present = draw(hnp.arrays(bool, (n,)))
    return values, is_int, present


@settings(max_examples=300, deadline=None)
@given(number_tables(), st.sampled_from(["a", "raw_keypoints", "x1"]))
def test_arrays_and_numbers_are_pymongos_bytes(table, key):
    values, is_int, present = table
    n, m = values.shape
    block = rb.document(
        rb.DOCUMENT,
        None,
        rb.concat(
            [
                rb.array(key, values, is_int, present=present),
                rb.numbers(["first"], values[:, :1], is_int if isinstance(is_int, bool) else is_int[:, :1]),
                rb.integers(["row", "id"], np.stack([np.arange(n), np.arange(n) * 2**40], axis=1)),
            ]
        ),
    )
    lists = to_lists(values, np.broadcast_to(is_int, values.shape))
    for i, raw in enumerate(block.rows()):
        doc = {key: lists[i]} if present[i] else {}
        doc.update(first=lists[i][0], row=i, id=i * 2**40)
        assert raw == bson.encode(doc)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(0, 20), st.just(2)), elements=finite_or_nan))
def test_pair_arrays_are_pymongos_bytes(values):
    rows = rb.document(rb.DOCUMENT, None, rb.pair_array("points", values)).rows()
    for i, raw in enumerate(rows):
        assert raw == bson.encode({"points": values[i].tolist()})


@given(hnp.arrays(np.int8, st.tuples(st.integers(1, 5), st.integers(0, 140))))
def test_int_arrays_are_pymongos_bytes(values):
    rows = rb.document(rb.DOCUMENT, None, rb.int_array("visibility", values)).rows()
    assert rows == [bson.encode({"visibility": row.tolist()}) for row in values]


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_index_heads_are_array_keys(index):
    rows = rb.index_heads(rb.DOCUMENT, np.array(index)).rows()
    assert rows == [b"\x03" + str(i).encode() + b"\x00" for i in index]


def test_open_documents_leave_room_for_appended_elements():
    body = rb.integers(["a"], np.array([[1], [2]]))
    tails = [bson.encode({"s": "x"})[4:-1], b""]
    rows = rb.document(rb.DOCUMENT, None, body, appended=np.array([len(t) for t in tails])).rows()
    assert bson.decode(rows[0] + tails[0] + b"\x00") == {"a": 1, "s": "x"}
    assert bson.decode(rows[1] + tails[1] + b"\x00") == {"a": 2}


@st.composite
def blocks(draw):
    n = draw(st.integers(0, 6))
    parts = []
    for _ in range(draw(st.integers(0, 7))):
        width = draw(st.sampled_from([0, 1, 3, 255, 256, 300]))
        data = draw(hnp.arrays(np.uint8, (n, width)))
        valid = draw(st.one_of(st.none(), hnp.arrays(bool, (n, width))))
        known = valid is not None and draw(st.booleans())  # sizes given by the maker, or counted
        parts.append(rb.Part(data, valid, valid.sum(axis=1) if known else None))
    return rb.Block(n, parts)


@settings(max_examples=200, deadline=None)
@given(blocks())
def test_rows_are_each_rows_unmasked_bytes(block):
    """Rows cut in runs (unmasked runs at their width, narrow ones with the masked) are each
    row's bytes under its masks, part after part."""
    expected = [
        b"".join((d[i] if v is None else d[i][v[i]]).tobytes() for d, v, _ in block.parts) for i in range(block.n)
    ]
    assert block.rows() == expected
    assert block.lengths.tolist() == [len(r) for r in expected]


@settings(max_examples=200, deadline=None)
@given(number_tables(), st.data())
def test_parts_sizes_are_their_masks_counts(table, data):
    """Where a part's maker states its bytes per row (numbers with per-value ``present``, constants
    in some rows, array-key heads, a block kept in some rows), they are its mask's counts."""
    values, is_int, _ = table
    n, m = values.shape
    present = data.draw(hnp.arrays(bool, (n, m)))
    rows = data.draw(hnp.arrays(bool, (n,)))
    keys = [f"k{j}" * (j % 3 + 1) for j in range(m)]
    blocks = [
        rb.numbers(keys, values, is_int, present),
        rb.const(n, b"abc", present=rows),
        rb.index_heads(rb.DOCUMENT, np.arange(n) * 37),
        rb.numbers(keys, values, is_int).only(rows),
    ]
    for block in blocks:
        for part in block.parts:
            if part.sizes is not None:
                assert part.sizes.tolist() == part.valid.sum(axis=1).tolist()
        assert block.lengths.tolist() == [len(r) for r in block.rows()]
    expected = [
        bson.encode(
            {
                k: v
                for k, v, p in zip(keys, to_lists(values[i], np.broadcast_to(is_int, values.shape)[i]), present[i])
                if p
            }
        )[4:-1]
        for i in range(n)
    ]
    assert blocks[0].rows() == expected


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(texts, st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5), texts), max_size=8))
def test_documents_of_columns_are_pymongos_bytes(rows):
    """Documents joined column by column (constant, string and per-row columns) are what
    ``bson.encode`` gives for the same elements, also for no rows and empty rows."""
    n = len(rows)
    names = [name for name, _, _ in rows]
    numbers = [bson.encode({"v": values})[4:-1] if values else b"" for _, values, _ in rows]
    columns = [
        bson.encode({"const": 1.5})[4:-1],
        *rb.string_column("name", names),
        numbers,
        *rb.string_column("other", [other for _, _, other in rows]),
    ]
    expected = [
        bson.encode({"const": 1.5, "name": name, **({"v": values} if values else {}), "other": other})
        for name, values, other in rows
    ]
    assert rb.documents_of(columns, n) == expected


@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=20))
def test_int32_columns_are_int32_bytes(values):
    assert rb.int32_column(np.array(values, dtype=np.int64)) == [rb.int32_bytes(v) for v in values]


def _ids_in_a_new_process() -> set[bytes]:
    code = "from fiftyone_pose.fo import rawbson; print(rawbson.new_object_ids(5000).tobytes().hex())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    raw = bytes.fromhex(out.strip())
    return {raw[i : i + 12] for i in range(0, len(raw), 12)}


def test_object_ids_keep_growing_where_the_counter_wraps():
    source = rb.ObjectIdSource(counter=2**24 - 3)
    ids = [r.tobytes() for r in np.concatenate([source.take(2), source.take(5), source.take(1)])]
    assert ids == sorted(ids) and len(set(ids)) == 8
    assert [int.from_bytes(i[9:], "big") for i in ids] == [2**24 - 3, 2**24 - 2, 0, 1, 2, 3, 4, 5]


def _ids_in_a_forked_child(queue) -> None:
    queue.put(rb.new_object_ids(5000).tobytes())


def test_object_ids_are_unique_across_processes_and_against_pymongo():
    """The ids of the bulk import: ObjectId's layout (time, 5 random bytes, counter) with random
    bytes of their own, drawn again in each process (a forked child too)."""
    before = time.time()
    ours = rb.new_object_ids(5000)
    pymongos = [ObjectId().binary for _ in range(5000)]
    again = rb.new_object_ids(5000)
    mine = {r.tobytes() for r in np.concatenate([ours, again])}
    assert len(mine) == 10000 and not mine & set(pymongos)
    assert ours[0, 4:9].tobytes() != pymongos[0][4:9]  # not pymongo's process bytes
    made = [r.tobytes() for r in np.concatenate([ours, again])]
    assert made == sorted(made)  # in the order they were made
    assert int(before) <= ObjectId(ours[0].tobytes()).generation_time.timestamp() <= time.time()

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_ids_in_a_forked_child, args=(queue,))
    child.start()
    forked = queue.get(timeout=60)
    child.join(timeout=60)
    forked_ids = {forked[i : i + 12] for i in range(0, len(forked), 12)}
    others = [_ids_in_a_new_process(), _ids_in_a_new_process(), forked_ids]
    assert sum(map(len, others)) == 15000
    assert len(mine.union(*others)) == 25000
    assert len({next(iter(ids))[4:9] for ids in others} | {ours[0, 4:9].tobytes()}) == 4
