"""The numpy BSON builder gives pymongo's own bytes, and the import stores what FiftyOne itself would."""

from __future__ import annotations

import os

import bson
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fiftyone_pose.core.numbers import to_lists
from fiftyone_pose.fo import rawbson as rb
from fiftyone_pose.fo.adapter import _paths

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


names = st.text(st.sampled_from("ab./\n\\é_"), max_size=8)


@given(st.lists(names, min_size=1, max_size=5), st.sampled_from(["/data/images", "/", "/x/y"]))
def test_sample_paths_are_normalised_joins(file_names, images_dir):
    assert _paths(images_dir, file_names) == [os.path.normpath(os.path.join(images_dir, f)) for f in file_names]


def test_stored_sample_is_what_fiftyone_writes(fo_db, dataset_name):
    """The bulk-built document equals FiftyOne's own serialisation of the same labels."""
    import fiftyone as fo

    from fiftyone_pose.core import skeleton
    from fiftyone_pose.core.model import Images, Persons, PoseData
    from fiftyone_pose.fo.api import create_dataset

    k = 17
    kp = np.arange(2 * 2 * k, dtype=np.float64).reshape(2, k, 2) + 0.5
    vis = np.tile(np.array([0, 1, 2] * 5 + [2, 2], np.int8), (2, 1))
    persons = Persons(
        image_index=np.array([0, 0]), ids=np.array([7, 2**40]), category_ids=np.array([1, 1]), keypoints=kp,
        visibility=vis, boxes=np.array([[1.0, 2.0, 30.0, 40.0], [np.nan] * 4]), areas=np.array([12.5, np.nan]),
        crowd=np.array([False, True]), num_keypoints=np.array([10, -1]),
        segmentations=[[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], None], extras=[{"score": 0.5}, {}],
    )  # fmt: skip
    images = Images(np.array([3]), ["a.jpg"], np.array([640]), np.array([480]), [{"license": 4}])
    data = PoseData(images, persons, skeleton.load("coco"), [{"id": 1, "name": "person"}], {}, "coco", {})
    ds = create_dataset(data, "/imgs", name=dataset_name)
    stored = ds._sample_collection.find_one({})

    w, h = 640, 480
    pts = [
        [[x / w, y / h] if v else [np.nan, np.nan] for (x, y), v in zip(kp[i].tolist(), vis[i].tolist())]
        for i in range(2)
    ]
    labels = stored["ground_truth"]["keypoints"]
    expected = [
        fo.Keypoint(
            label="person",
            points=pts[i],
            visibility=vis[i].tolist(),
            person_id=int(persons.ids[i]),
            category_id=1,
            iscrowd=int(persons.crowd[i]),
            source_index=i,
            raw_keypoints=[v for (x, y), vv in zip(kp[i].tolist(), vis[i].tolist()) for v in (x, y, vv)],
        )  # fmt: skip
        for i in range(2)
    ]
    expected[0].bbox, expected[0].area, expected[0].num_keypoints = [1.0, 2.0, 30.0, 40.0], 12.5, 10
    expected[0].segmentation, expected[0].score = [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], 0.5
    expected[1].segmentation = None
    for label, want in zip(labels, expected):
        want = want.to_dict()
        got = dict(label)
        for key in ("_id", "instance"):
            got.pop(key), want.pop(key, None)
        # defaults FiftyOne fills in when it loads a label; not stored, as in FiftyOne's own bulk paths
        assert want.pop("attributes") == {} and want.pop("confidence") is None
        assert set(got) == set(want)
        for key in want:
            assert repr(got[key]) == repr(want[key]), key  # NaNs compare by their text, types too
    boxes = stored["ground_truth_boxes"]["detections"]
    assert len(boxes) == 1 and boxes[0]["instance"]["_id"] == labels[0]["instance"]["_id"]
    assert boxes[0]["bounding_box"] == [1 / w, 2 / h, 30 / w, 40 / h] and boxes[0]["label"] == "person"
    assert stored["metadata"] == {"_cls": "ImageMetadata", "width": 640, "height": 480}
    assert (stored["filepath"], stored["file_name"], stored["image_id"], stored["license"]) == (
        "/imgs/a.jpg",
        "a.jpg",
        3,
        4,
    )
    sample = ds.first()  # FiftyOne loads it back into its own objects
    assert sample.ground_truth.keypoints[0].points[1] == pts[0][1]
    assert sample.ground_truth_boxes.detections[0].instance.id == sample.ground_truth.keypoints[0].instance.id
