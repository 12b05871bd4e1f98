"""Columns read from raw BSON bytes equal what pymongo decodes from the same bytes (no database)."""

from __future__ import annotations

import math

import bson
import numpy as np
from bson import Int64, ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_pose.fo import bsoncolumns as bc

keys = st.one_of(
    st.sampled_from(["a", "bbox", "area", "tags", "points", "raw_keypoints", "num_keypoints"]),
    # long keys sharing their first 16 bytes, and keys of every length around the 8/16-byte reads
    st.builds(lambda i: f"raw_keypoints_extra_{i}", st.integers(0, 3)),
    st.text(st.sampled_from("abé_0"), min_size=1, max_size=20),
)
numbers = st.one_of(
    st.floats(allow_nan=True, width=64),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**53), 2**53).map(Int64),
)
scalars = st.one_of(numbers, st.booleans(), st.none(), st.text(max_size=5), st.builds(ObjectId))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)
documents = st.lists(st.dictionaries(keys, values, max_size=8), min_size=1, max_size=6)


def same(a, b) -> bool:
    """Equal, with NaN equal to NaN and number types compared too."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@settings(max_examples=300, deadline=None)
@given(documents)
def test_elements_keys_and_decode_give_back_the_documents(docs):
    raw = b"".join(bson.encode(d) for d in docs)
    b = bc.Batch(raw)
    starts = b.documents()
    assert starts.tolist() == np.cumsum([0] + [len(bson.encode(d)) for d in docs])[:-1].tolist()
    els = b.elements(starts)
    decoded = b.decode(els, np.arange(len(els.owner)), len(docs))
    assert all(same(got, bson.decode(bson.encode(want))) for got, want in zip(decoded, docs))
    for name in {k for d in docs for k in d} | {"absent"}:
        col = b.column(els, name, len(docs))
        assert col.present.tolist() == [name in d for d in docs]
        for i, d in enumerate(docs):
            if name in d:
                one = b.decode(
                    els,
                    np.flatnonzero((els.owner == i) & np.isin(np.arange(len(els.owner)), b.pick(els, name))),
                    len(docs),
                )
                assert same(one[i], bson.decode(bson.encode({name: d[name]})))


# arrays that repeat a layout (read by arithmetic) beside arrays that break it (walked)
periodic = st.tuples(st.lists(st.sampled_from([1.5, 7, Int64(2**40)]), min_size=1, max_size=3), st.integers(0, 14)).map(
    lambda t: [t[0][j % len(t[0])] for j in range(t[1])]
)
number_arrays = st.lists(
    st.one_of(periodic, st.lists(st.one_of(numbers, st.none(), st.text(max_size=2)), max_size=14)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(number_arrays, st.integers(0, 12), st.integers(1, 3))
def test_number_rows_are_the_arrays_numbers(arrays, width, period):
    raw = b"".join(bson.encode({"v": a}) for a in arrays)
    b = bc.Batch(raw)
    els = b.elements(b.documents())
    col = b.column(els, "v", len(arrays))
    values, ints, lengths, bad = b.number_rows(col.value, width, period)
    assert lengths.tolist() == [len(a) for a in arrays]
    for i, a in enumerate(arrays):
        shown = a[:width]
        assert bad[i] == any(v is None or isinstance(v, str) for v in shown)
        for j, v in enumerate(shown):
            if v is None or isinstance(v, str):
                assert math.isnan(values[i, j])
                continue
            assert ints[i, j] == (type(v) is not float)
            assert same(float(values[i, j]), float(v))
        assert np.isnan(values[i, len(shown) :]).all()


@given(st.lists(st.one_of(numbers, st.booleans(), st.none(), st.just("x")), min_size=1, max_size=10))
def test_integers_and_numbers_of_a_field(items):
    docs = [{"n": v} for v in items] + [{}]
    b = bc.Batch(b"".join(bson.encode(d) for d in docs))
    col = b.column(b.elements(b.documents()), "n", len(docs))
    out, given, bad = b.integers(col, -7)
    for i, v in enumerate(items):
        assert given[i] == (v is not None)
        whole = not isinstance(v, (str, float)) or (
            isinstance(v, float) and math.isfinite(v) and v == int(v) and abs(v) < 2**63
        )
        assert bad[i] == (v is not None and not whole)
        if v is None:
            assert out[i] == -7
        elif whole:
            assert out[i] == int(v)
    assert out[-1] == -7 and not given[-1]
    nums, is_int, ok = b.numbers(col.kind, col.value)
    for i, v in enumerate(items):
        assert ok[i] == (type(v) in (float, int) or type(v) is Int64 and abs(v) <= 2**53)
        if ok[i]:
            assert same(float(nums[i]), float(v)) and is_int[i] == (type(v) is not float)


def test_int64_beyond_float_precision_is_not_a_number_and_null_can_be_nan():
    b = bc.Batch(bson.encode({"n": [Int64(2**53 + 1), Int64(2**53), None]}))
    col = b.column(b.elements(b.documents()), "n", 1)
    kind, value, _ = b.items(col.value, 3)
    nums, is_int, ok = b.numbers(kind[0], value[0])
    assert ok.tolist() == [False, True, False] and is_int.tolist() == [False, True, False]
    assert np.isnan(nums[0]) and nums[1] == 2.0**53
    assert b.numbers(kind[0], value[0], null=True)[2].tolist() == [False, True, True]


def test_object_ids_and_strings():
    oids = [ObjectId() for _ in range(3)]
    docs = [{"i": {"_id": o}, "s": f"name{j}é"} for j, o in enumerate(oids)]
    b = bc.Batch(b"".join(bson.encode(d) for d in docs))
    els = b.elements(b.documents())
    inst = b.column(els, "i", 3)
    ids = b.column(b.elements(inst.value), "_id", 3)
    assert [x.tobytes() for x in b.object_ids(ids.value)] == [o.binary for o in oids]
    assert b.strings(b.column(els, "s", 3).value) == ["name0é", "name1é", "name2é"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.tuples(numbers, numbers).map(list), st.lists(numbers, max_size=3), numbers), max_size=6),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 7),
)
def test_items_of_nested_arrays_point_at_their_values(arrays, width):
    """[x, y] pairs (fixed layout when all are pairs of doubles) and anything else (walked)."""
    b = bc.Batch(b"".join(bson.encode({"p": a}) for a in arrays))
    col = b.column(b.elements(b.documents()), "p", len(arrays))
    kind, value, lengths = b.items(col.value, width)
    assert lengths.tolist() == [len(a) for a in arrays]
    for i, a in enumerate(arrays):
        for j in range(width):
            if j >= len(a):
                assert kind[i, j] == 0
                continue
            v = a[j]
            if isinstance(v, list):
                assert kind[i, j] == bc.ARRAY
                end = value[i, j] + int(b.read("<i4", value[i, j : j + 1])[0])
                # an array's bytes are a document's, keyed "0", "1", ...
                assert same(bson.decode(b.raw[value[i, j] : end]), {str(k): x for k, x in enumerate(v)})
            else:
                nums, _, ok = b.numbers(kind[i, j : j + 1], value[i, j : j + 1])
                assert ok[0] and same(float(nums[0]), float(v))


def test_arrays_of_one_repeating_layout_are_not_walked(monkeypatch):
    """x, y doubles and an int v per point, and [x, y] pairs: located by arithmetic, element by
    element equal to pymongo's."""
    triplets = [[10.5 + i, 20.25 * i, 2] * 17 for i in range(5)] + [
        [1.5, 2.5, 0] * 16 + [1, 2.5, 0]
    ]  # the last breaks the layout
    pairs = [[[0.5 * i, 0.25]] * 17 for i in range(6)]
    b = bc.Batch(b"".join(bson.encode({"t": t, "p": p}) for t, p in zip(triplets, pairs)))
    els = b.elements(b.documents())
    walked = []
    real = b.elements
    monkeypatch.setattr(b, "elements", lambda starts, array=False: walked.append(len(starts)) or real(starts, array))
    values, ints, lengths, bad = b.number_rows(b.column(els, "t", 6).value, 51, period=3)
    assert walked == [1] and lengths.tolist() == [51] * 6 and not bad.any()
    assert [values[i].tolist() for i in range(6)] == [[float(v) for v in t] for t in triplets]
    assert ints[0].tolist() == [False, False, True] * 17 and ints[5].tolist() == [False, False, True] * 16 + [
        True,
        False,
        True,
    ]
    walked.clear()
    kind, value, lengths = b.items(b.column(els, "p", 6).value, 17)
    assert walked == [] and (kind == bc.ARRAY).all()
    xy, _, n, _ = b.number_rows(value.reshape(-1), 2)
    assert walked == [] and (n == 2).all() and xy.reshape(6, 17, 2).tolist() == pairs
