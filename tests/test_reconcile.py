"""Edits made in FiftyOne merged with the stored exact values: pure functions on arrays, no database."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fiftyone_pose.fo.reconcile import (
    HIDDEN_NOTE,
    MOVED_NOTE,
    LinkedBoxes,
    number_new_records,
    reconcile_boxes,
    reconcile_points,
    source_order,
)

SIZES = np.array([[640.0, 480.0], [320.0, 240.0]])


def stored(origin: int = 0):
    """Two persons of three points as an import stores them: exact triplets, normalised points."""
    raw = np.array(
        [
            [[100, 50, 2], [201.5, 88.25, 1], [7, 9, 0]],  # the last point unlabeled, its coordinates kept
            [[10, 20, 2], [30, 40, 2], [0, 0, 0]],
        ],
        dtype=np.float64,
    )
    ints = np.ones((2, 3, 3), bool)
    ints[0, 1, :2] = False
    vis = raw[..., 2].astype(np.int64)
    points = (raw[..., :2] - origin) / SIZES[:, None, :]
    points[vis == 0] = np.nan
    return points, vis, raw, ints


def test_untouched_points_keep_their_exact_values_and_types():
    points, vis, raw, ints = stored()
    out = reconcile_points(points, vis, raw, ints, np.array([True, True]), SIZES, 0)
    np.testing.assert_array_equal(out.keypoints, raw[..., :2])  # the unlabeled point's 7, 9 too
    np.testing.assert_array_equal(out.visibility, vis)
    np.testing.assert_array_equal(out.int_mask, ints)
    assert not out.changed.any() and out.notes == {}


def test_a_moved_point_is_written_from_the_normalised_value_keeping_its_flag():
    points, vis, raw, ints = stored()
    points[0, 1] = [0.5, 0.25]
    out = reconcile_points(points, vis, raw, ints, np.array([True, True]), SIZES, 0)
    assert out.keypoints[0, 1].tolist() == [320.0, 120.0]
    assert out.visibility[0, 1] == 1 and out.visibility_raw[0, 1] == 1
    assert out.int_mask[0, 1].tolist() == [False, False, True]
    assert out.changed.tolist() == [True, False] and out.notes == {MOVED_NOTE: 1}


def test_a_point_placed_where_none_was_labeled_becomes_visible():
    points, vis, raw, ints = stored()
    points[1, 2] = [0.5, 0.5]
    out = reconcile_points(points, vis, raw, ints, np.array([True, True]), SIZES, 0)
    assert out.keypoints[1, 2].tolist() == [160.0, 120.0] and out.visibility[1, 2] == 2
    assert out.visibility_raw[1, 2] == 2


def test_a_point_hidden_by_a_view_is_written_unlabeled():
    points, vis, raw, ints = stored()
    points[1, 0] = np.nan
    out = reconcile_points(points, vis, raw, ints, np.array([True, True]), SIZES, 0)
    assert out.keypoints[1, 0].tolist() == [0, 0] and out.visibility[1, 0] == 0 and out.visibility_raw[1, 0] == 0
    assert out.int_mask[1, 0].all() and out.changed.tolist() == [False, True] and out.notes == {HIDDEN_NOTE: 1}


def test_a_person_drawn_in_fiftyone_takes_every_point_from_fiftyone():
    points = np.array([[[0.5, 0.5], [np.nan, np.nan], [0.25, 0.75]]])
    out = reconcile_points(
        points, np.full((1, 3), -1), np.zeros((1, 3, 3)), np.zeros((1, 3, 3), bool), np.array([False]), SIZES[:1], 0
    )
    assert out.keypoints.tolist() == [[[320.0, 240.0], [0.0, 0.0], [160.0, 360.0]]]
    assert out.visibility.tolist() == [[2, 0, 2]]
    assert out.int_mask[0, 1].all() and out.int_mask[0, 0].tolist() == [False, False, True]


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.float64, (3, 4, 2), elements=st.floats(0, 2000, allow_nan=False)),
    hnp.arrays(np.int64, (3, 4), elements=st.integers(0, 2)),
    st.sampled_from([0, 1]),
)
def test_unedited_points_come_back_exactly(xy, vis, origin):
    """Whatever the values, points an import normalised and nobody touched give back the stored triplets."""
    raw = np.concatenate([xy, vis[..., None].astype(np.float64)], axis=2)
    sizes = np.array([[640.0, 480.0], [333.0, 77.0], [1.0, 3.0]])
    points = (xy - origin) / sizes[:, None, :]
    points[vis == 0] = np.nan
    ints = np.zeros((3, 4, 3), bool)
    out = reconcile_points(points, vis, raw, ints, np.ones(3, bool), sizes, origin)
    np.testing.assert_array_equal(out.keypoints, xy)
    np.testing.assert_array_equal(out.visibility, vis)
    assert not out.changed.any()


def test_boxes_stay_exact_unless_their_detection_was_edited():
    boxes = np.array([[201.5, 88.0, 94.25, 240.0], [1.0, 2.0, 3.0, 4.0], [np.nan] * 4])
    ints = np.array([[False, True, False, True], [True] * 4, [False] * 4])
    sizes = np.array([[640.0, 480.0]] * 3)
    whwh = np.concatenate([sizes, sizes], axis=1)
    linked = boxes / whwh
    linked[1] = [0.5, 0.5, 0.25, 0.25]  # edited in FiftyOne
    linked[2] = [0.0, 0.0, 0.5, 0.5]  # drawn in FiftyOne: no stored box
    out, out_ints = reconcile_boxes(boxes, ints, sizes, 0, linked)
    assert out[0].tolist() == boxes[0].tolist() and out_ints[0].tolist() == ints[0].tolist()
    assert out[1].tolist() == [320.0, 240.0, 160.0, 120.0] and not out_ints[1].any()
    assert out[2].tolist() == [0.0, 0.0, 320.0, 240.0]
    unlinked = np.full((3, 4), np.nan)  # no detection: the stored box, NaN where none
    same, _ = reconcile_boxes(boxes, ints, sizes, 1, unlinked)
    np.testing.assert_array_equal(same, boxes)


def test_boxes_counting_pixels_from_1_are_shifted_by_the_origin():
    boxes = np.array([[11.0, 21.0, 30.0, 40.0]])
    sizes = np.array([[100.0, 200.0]])
    linked = np.array([[0.1, 0.1, 0.3, 0.2]])
    out, _ = reconcile_boxes(boxes, np.ones((1, 4), bool), sizes, 1, linked)
    assert out.tolist() == [[11.0, 21.0, 30.0, 40.0]]  # (11 - 1) / 100 == 0.1: not edited
    out, _ = reconcile_boxes(boxes, np.ones((1, 4), bool), sizes, 1, np.array([[0.5, 0.5, 0.3, 0.2]]))
    assert out.tolist() == [[51.0, 101.0, 30.0, 40.0]]


def ids(*values: int) -> np.ndarray:
    return np.array([v.to_bytes(12, "big") for v in values], "V12")


def test_linked_boxes_are_found_by_instance_and_part_and_the_last_wins():
    linked = LinkedBoxes(
        ids(1, 2, 1, 2),
        [None, None, None, "face"],
        np.array([[0.1] * 4, [0.2] * 4, [0.3] * 4, [0.4] * 4]),
    )
    persons, has = ids(1, 2, 3, 0), np.array([True, True, True, False])
    body = linked.boxes_of(persons, has, None)
    assert body[:2].tolist() == [[0.3] * 4, [0.2] * 4] and np.isnan(body[2:]).all()
    face = linked.boxes_of(persons, has, "face")
    assert np.isnan(face[0]).all() and face[1].tolist() == [0.4] * 4
    assert np.isnan(LinkedBoxes(ids(), [], np.zeros((0, 4))).boxes_of(persons, has, None)).all()


def test_records_made_in_fiftyone_get_ids_after_the_largest():
    values = np.array([5, 0, 9, 0])
    number_new_records(values, np.array([True, False, True, False]))
    assert values.tolist() == [5, 10, 9, 11]
    fresh = np.zeros(2, np.int64)
    number_new_records(fresh, np.zeros(2, bool))
    assert fresh.tolist() == [1, 2]


def test_persons_go_back_to_the_file_order_with_drawn_ones_last():
    assert source_order(np.array([3, -1, 0, 2, -1, 1])).tolist() == [2, 5, 3, 0, 1, 4]
