"""``core.packed``: a column of JSON values kept as JSON text gives back the very values it was given
(types, key order), by index, slice and iteration; values JSON cannot give back keep the column plain."""

from __future__ import annotations

import pickle

import pytest
from dataset_docs import aic_native_doc
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_pose.core.packed import PackedJson, PackedJsonBuilder
from fiftyone_pose.formats import aic

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def built(*chunks):
    builder = PackedJsonBuilder()
    for chunk in chunks:
        builder.add(chunk)
    return builder.column()


def same(a, b):
    """Equal with the same types and key order throughout."""
    return type(a) is type(b) and (
        [*a.items()] == [*b.items()] and all(same(a[k], b[k]) for k in a)
        if isinstance(a, dict)
        else len(a) == len(b) and all(map(same, a, b))
        if isinstance(a, list)
        else a == b
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(JSON_VALUES, max_size=6), max_size=4))
def test_values_come_back_the_same_by_index_slice_and_iteration(chunks):
    values = [v for chunk in chunks for v in chunk]
    column = built(*chunks)
    assert isinstance(column, PackedJson) and len(column) == len(values)
    assert same(list(column), values)
    assert same([column[i] for i in range(len(values))], values)
    assert same([column[i] for i in range(-len(values), 0)], values)
    for lo, hi, step in [(0, None, None), (1, -1, None), (None, None, 2), (None, None, -1)]:
        assert same(column[lo:hi:step], values[lo:hi:step])
    assert column == values and values == column and column == built(*chunks)
    assert same(list(pickle.loads(pickle.dumps(column))), values)


def test_a_row_is_a_new_object_and_a_bad_index_is_an_index_error():
    column = built([{"url": "a"}, "b"])
    column[0]["url"] = "changed"
    assert column[0] == {"url": "a"} and column != [{"url": "a"}, "c"] and column != "ab"
    with pytest.raises(IndexError):
        column[2]
    with pytest.raises(IndexError):
        column[-3]
    assert built() == [] and list(built([], [])) == [] and built()[0:3] == []


@pytest.mark.parametrize(
    "odd",
    [float("nan"), float("inf"), (1, 2), 2**64, {1: "a"}, {"k": [float("nan")]}],
    ids=["nan", "inf", "tuple", "int beyond 64 bits", "int key", "nested nan"],
)
def test_a_value_json_cannot_give_back_keeps_the_column_plain(odd):
    """Before or after packed chunks: the column becomes a list of the very objects."""
    for chunks in ([[odd, "a"]], [["a", {"b": 1}], [odd], ["c"]]):
        column = built(*chunks)
        values = [v for chunk in chunks for v in chunk]
        assert type(column) is list and len(column) == len(values)
        assert column[-2 if chunks[-1] == ["c"] else 0] is odd


def test_the_ai_challenger_images_table_is_packed():
    """210k images as Python objects took ~100 MB of an import's memory (benchmarks/results-memory.md)."""
    images = aic.decode(aic_native_doc()).images
    assert isinstance(images.file_names, PackedJson) and isinstance(images.extras, PackedJson)
