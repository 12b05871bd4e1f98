"""``core.bulk.batch_bounds``: consecutive batches bounded in count and weight (the import's insert batches)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiftyone_pose.core.bulk import batch_bounds


@given(st.lists(st.integers(0, 50), max_size=80), st.integers(1, 10), st.integers(1, 100))
def test_batches_cover_the_items_in_order_each_as_large_as_the_bounds_allow(weights, max_items, max_weight):
    bounds = batch_bounds(np.array(weights, dtype=np.int64), max_items, max_weight)
    assert bounds[0] == 0 and bounds[-1] == len(weights)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        assert 1 <= hi - lo <= max_items
        assert sum(weights[lo:hi]) <= max_weight or hi - lo == 1  # an item heavier than the bound goes alone
        if hi < len(weights):  # the next item did not fit
            assert hi - lo == max_items or sum(weights[lo : hi + 1]) > max_weight


def test_an_empty_list_has_no_batch():
    assert batch_bounds(np.zeros(0, np.int64), 4, 10) == [0]


def test_a_heavy_item_goes_alone_between_light_batches():
    assert batch_bounds(np.array([5, 5, 5, 20, 1, 1, 1]), 3, 10) == [0, 2, 3, 4, 7]


def test_no_weight_bound_is_a_count_bound_only():
    assert batch_bounds(np.full(6, 5), 2, sys.maxsize) == [0, 2, 4, 6]  # (no int64 overflow)
    assert batch_bounds(np.full(6, 5), 4, 2**70) == [0, 4, 6]


def test_a_batch_holds_at_least_one_item():
    with pytest.raises(ValueError, match="max_items"):
        batch_bounds(np.ones(3, np.int64), 0, 10)
