"""``core.numbers.to_array``: the values as float64 and, value by value, whether each was an int."""

from __future__ import annotations

import bson
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiftyone_pose.core.numbers import NumberTypeError, to_array

small_ints = st.integers(-(2**31), 2**31)
number = st.one_of(small_ints, st.floats(allow_nan=False, allow_infinity=False), small_ints.map(bson.Int64))


@st.composite
def triplets(draw):
    """x, y, v lists whose phases are each all ints, all floats or mixed (unlabeled points as ``0, 0, 0``)."""
    n = draw(st.integers(0, 30))
    phases = [draw(st.sampled_from([small_ints, st.floats(-1e6, 1e6), number])) for _ in range(3)]
    return [draw(phases[j % 3]) for j in range(3 * n)]


@given(st.one_of(st.tuples(st.lists(number, max_size=60), st.integers(1, 4)), triplets().map(lambda v: (v, 3))))
def test_the_mask_flags_each_int_and_every_value_is_kept(case):
    values, period = case
    arr, mask = to_array(values, period=period)
    assert np.array_equal(arr, np.array(values, dtype=np.float64))
    assert mask.shape == arr.shape
    assert mask.tolist() == [type(v) is not float for v in values]


def test_a_mixed_mask_can_be_written():
    _, mask = to_array([1.5, 0, 2, 0, 0.5, 2], period=3)
    mask[0] = True
    assert mask.tolist() == [True, True, True, True, False, True]


def test_bools_and_strings_are_not_numbers():
    for bad in ([1.0, True, 2], [1, "2", 3.0]):
        with pytest.raises(NumberTypeError):
            to_array(bad, period=3)
