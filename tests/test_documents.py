"""The contract with FiftyOne's stored layout: the bulk import stores what ``Dataset.add_samples`` stores.

The same samples (keypoints with attributes, person boxes and part boxes linked by
``fo.Instance``, extra sample fields, tags, metadata) go into one dataset through FiftyOne's own
``add_samples`` and into another through this package's fast path. Every stored field of the
raw MongoDB documents must then agree, sample-level ones included, with their BSON types. Only
values that must differ are set aside: ids (compared as a pattern, so the links between labels
still count), the timestamps' values (not their presence or type), ``_dataset_id`` (each
dataset's own) and the ``_rand`` value (FiftyOne draws it at random). A FiftyOne release that
changes the layout fails here.

The same holds for a grouped Human3.6M import: its ``3d`` samples (a ``.fo3d`` scene, a group
element, the skeleton as 3D polylines, no metadata) and what it adds to the image samples (their
group element, the ``projected`` keypoints, ``reprojection_error``).
"""

from __future__ import annotations

import datetime
import json
import math
import sys
from pathlib import Path
from typing import Any

import bson
import numpy as np
from bson import Int64, ObjectId

from fiftyone_pose.core import skeleton
from fiftyone_pose.core.model import Images, Persons, PoseData

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed

from benchmarks.generate import generate_h36m  # noqa: E402

K = 17
W, H = np.array([640, 320]), np.array([480, 240])


def pose_data() -> PoseData:
    """Two images, three persons: ints and floats, a crowd RLE, a person without a box, part boxes."""
    xy = np.arange(3 * K * 2, dtype=np.float64).reshape(3, K, 2) * 3.25 + 1
    xy[0, 0] = [100, 50]  # ints in the file
    vis = np.array([[2, 1, 0] * 5 + [2, 2]] * 3, np.int8)
    vis[1] = 0
    ints = np.zeros((3, K, 3), bool)
    ints[..., 2] = True
    ints[0, 0] = True
    face = np.array([[240.5, 90.0, 30.0, 25.0], [0.0, 0.0, 0.0, 0.0], [np.nan] * 4])
    persons = Persons(
        image_index=np.array([0, 0, 1]),
        ids=np.array([1, 2**40, 3]),
        category_ids=np.array([1, 1, 1]),
        keypoints=xy,
        visibility=vis,
        boxes=np.array([[201.5, 88.0, 94.25, 240.0], [0.0, 210.0, 640.0, 180.0], [np.nan] * 4]),
        areas=np.array([14350.5, 61234.0, np.nan]),
        crowd=np.array([False, True, False]),
        num_keypoints=np.array([10, 0, -1]),
        segmentations=[[[201.5, 88.0, 295.75, 88.0, 295.75, 328.0]], {"size": [480, 640], "counts": [5, 7]}, None],
        extras=[{"score": 0.5, "attributes": {"occluded": False}}, {}, {"track": "t-1"}],
        int_mask={
            "keypoints": ints,
            "bbox": np.array([[False, True, False, True], [True] * 4, [False] * 4]),
            "area": np.array([False, True, False]),
            "part_box.face": np.array([[False, True, True, True], [True] * 4, [False] * 4]),
        },
        absent={"bbox": np.array([False, False, True]), "segmentation": np.array([False, False, True])},
        part_boxes={"face": face},
    )
    images = Images(
        np.array([7, 3000000000]),
        ["a.jpg", "sub/b.jpg"],
        W.copy(),
        H.copy(),
        [{"license": 4, "coco_url": "http://x/a.jpg", "flickr url": "odd"}, {"license": 2, "coco_url": "http://x/b"}],
    )
    return PoseData(images, persons, skeleton.load("coco"), [{"id": 1, "name": "person"}], {}, "coco", {})


def fiftyone_samples(fo, data: PoseData) -> list[Any]:
    """The samples the import means to store, made with FiftyOne's public API."""
    p, im = data.persons, data.images
    samples = []
    for i in range(len(im)):
        w, h = float(im.widths[i]), float(im.heights[i])
        keypoints, boxes, parts = [], [], []
        for r in np.flatnonzero(p.image_index == i).tolist():
            inst = fo.Instance()
            xy, vis, mask = p.keypoints[r].tolist(), p.visibility[r].tolist(), p.int_mask["keypoints"][r].tolist()
            points = [[x / w, y / h] if v else [math.nan, math.nan] for (x, y), v in zip(xy, vis)]
            raw = [
                int(value) if is_int else float(value)
                for (x, y), v, ints in zip(xy, vis, mask)
                for value, is_int in zip((x, y, v), ints)
            ]
            kp = fo.Keypoint(
                label="person", points=points, instance=inst, visibility=[int(v) for v in p.visibility[r]],
                raw_keypoints=raw, person_id=int(p.ids[r]), category_id=1, iscrowd=int(p.crowd[r]), source_index=r,
            )  # fmt: skip
            if not np.isnan(p.boxes[r]).any():
                bmask = p.int_mask["bbox"][r]
                kp.bbox = [int(v) if m else v for v, m in zip(p.boxes[r].tolist(), bmask)]
                area = float(p.areas[r])
                kp.area = int(area) if p.int_mask["area"][r] else area
                box = (p.boxes[r] / [w, h, w, h]).tolist()
                boxes.append(fo.Detection(label="person", bounding_box=box, instance=inst, iscrowd=int(p.crowd[r])))
            if p.num_keypoints[r] >= 0:
                kp.num_keypoints = int(p.num_keypoints[r])
            absent = [key for key, m in p.absent.items() if m[r]]  # in OPTIONAL_PERSON_KEYS' order
            if absent:
                kp.absent = absent
            if "segmentation" not in absent:
                kp.segmentation = p.segmentations[r]
            for key, value in p.extras[r].items():
                if key == "attributes":  # a name FiftyOne labels own: kept aside as JSON text
                    kp.extra_json = '{"attributes":{"occluded":false}}'
                else:
                    kp.set_field(key, value)
            face = p.part_boxes["face"][r]
            kp.part_boxes = {}  # every person of a layout with part boxes has the attribute
            if not np.isnan(face).any():
                fmask = p.int_mask["part_box.face"][r]
                kp.part_boxes = {"face": [int(v) if m else v for v, m in zip(face.tolist(), fmask)]}
                if face[2] > 0 and face[3] > 0:
                    parts.append(fo.Detection(label="face", bounding_box=(face / [w, h, w, h]).tolist(), instance=inst))
            keypoints.append(kp)
        extras = {k: v for k, v in im.extras[i].items() if " " not in k}
        if len(extras) < len(im.extras[i]):  # a key no field can have: kept as JSON text
            extras["extra_json"] = '{"flickr url":"odd"}'
        samples.append(
            fo.Sample(
                filepath=f"/imgs/{im.file_names[i]}",
                tags=["train"],
                metadata=fo.ImageMetadata(width=int(w), height=int(h)),
                image_id=int(im.ids[i]),
                file_name=im.file_names[i],
                **extras,
                ground_truth=fo.Keypoints(keypoints=keypoints),
                ground_truth_boxes=fo.Detections(detections=boxes),
                ground_truth_parts=fo.Detections(detections=parts),
            )
        )
    return samples


def canonical(value: Any, ids: dict[ObjectId, int]) -> Any:
    """``value`` with its types spelled out (1 is not 1.0, NaN equals NaN) and ObjectIds numbered
    by first appearance, so two documents compare by their layout and links, not their ids."""
    if isinstance(value, dict):
        return {k: canonical(v, ids) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [canonical(v, ids) for v in value]
    if isinstance(value, ObjectId):
        return ("ObjectId", ids.setdefault(value, len(ids)))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def stored(dataset, query: dict[str, Any] | None = None, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """The dataset's raw sample documents (those matching ``query``; only their ``keys``, if given),
    in file order, with the values that must differ checked and set aside."""
    out = []
    for doc in dataset._sample_collection.find(query or {}).sort([("group.name", 1), ("image_id", 1), ("_id", 1)]):
        assert doc.pop("_dataset_id") == dataset._doc.id
        for key in ("created_at", "last_modified_at"):
            assert type(doc[key]) is datetime.datetime
            doc[key] = "<time>"
        assert type(doc["_rand"]) is float and 0.999 <= doc["_rand"] < 1
        doc["_rand"] = "<random>"
        out.append(canonical({k: v for k, v in doc.items() if k in keys} if keys else doc, {}))
    return out


def assert_same(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Canonical documents agree key by key."""
    assert len(got) == len(expected) > 0
    for mine, want in zip(got, expected):
        assert set(mine) == set(want), set(mine) ^ set(want)
        for key in want:
            assert mine[key] == want[key], key


def test_the_fast_path_stores_what_add_samples_stores(fo_db):
    fo = fo_db
    from fiftyone_pose.fo.adapter import add_pose_data

    data = pose_data()
    theirs, ours = fo.Dataset(), fo.Dataset()
    try:
        theirs.add_samples(fiftyone_samples(fo, data))
        add_pose_data(ours, data, "/imgs", tags=["train"])
        expected, got = stored(theirs), stored(ours)
        assert len(got) == 2
        assert_same(got, expected)
        # every field add_samples declares is declared alike (the bulk path declares attributes too)
        ours_schema = ours.get_field_schema(flat=True)
        for path, field in theirs.get_field_schema(flat=True).items():
            assert type(ours_schema[path]) is type(field), path
            assert getattr(ours_schema[path], "document_type", None) == getattr(field, "document_type", None), path
        # both load back into FiftyOne's objects alike
        a, b = theirs.first(), ours.first()
        assert a.ground_truth.keypoints[0].points[1] == b.ground_truth.keypoints[0].points[1]
        assert b.ground_truth_boxes.detections[0].instance.id == b.ground_truth.keypoints[0].instance.id
        assert b.ground_truth_parts.detections[0].instance.id == b.ground_truth.keypoints[0].instance.id
    finally:
        theirs.delete()
        ours.delete()


def test_label_list_columns_are_label_lists():
    """A batch's label lists built column by column are ``label_list``'s bytes, row by row."""
    import fiftyone as fo

    from fiftyone_pose.fo import documents
    from fiftyone_pose.fo import rawbson as rb

    items = [b"", bson.encode({"0": {"a": 1}})[4:-1], bson.encode({"0": {"a": 1}, "1": {"b": "x"}})[4:-1]]
    columns = documents.label_lists(fo.Keypoints, "keypoints", items, np.array([len(i) for i in items]))
    joined = [b"".join(row) for row in zip(*(c if isinstance(c, list) else [c] * len(items) for c in columns))]
    assert joined == [documents.label_list(fo.Keypoints, "keypoints", i) for i in items]
    assert [bson.decode(rb.wrap(rb.element_head(rb.DOCUMENT, "k") + j))["k"]["keypoints"] for j in joined] == [
        [],
        [{"a": 1}],
        [{"a": 1}, {"b": "x"}],
    ]


def test_canonical_form_keeps_types_and_links():
    a, b = ObjectId(), ObjectId()
    assert canonical({"x": [1, 1.0, Int64(1)], "i": a, "j": a}, {}) != canonical({"x": [1.0, 1, 1], "i": a, "j": a}, {})
    assert canonical({"i": a, "j": a}, {}) == canonical({"i": b, "j": b}, {})
    assert canonical({"i": a, "j": a}, {}) != canonical({"i": a, "j": b}, {})
    assert canonical([math.nan], {}) == canonical([float("nan")], {})


def test_a_grouped_human36m_import_stores_what_add_samples_stores(fo_db, tmp_path, dataset_name):
    """The 3d samples whole; of the image samples, what the grouped import adds (the flat sample is pinned above)."""
    fo = fo_db
    import fiftyone_pose as fop

    arrays, cameras = generate_h36m(240, seed=3)
    np.savez(tmp_path / "h36m_test.npz", **arrays)
    (tmp_path / "cameras.json").write_text(json.dumps(cameras))
    ours = fop.load(tmp_path / "h36m_test.npz", name=dataset_name, grouped=True, cameras=tmp_path / "cameras.json",
                    scenes_dir=tmp_path / "scenes")  # fmt: skip
    theirs = fo.Dataset()
    try:
        raw = ours._sample_collection
        group_id = raw.find_one({"_media_type": "3d"}, sort=[("frame", 1), ("_id", 1)])["group"]["_id"]
        views = sorted(
            raw.find({"group._id": group_id}), key=lambda d: (d["group"]["name"] == "3d", d["group"]["name"])
        )
        assert [d["group"]["name"] for d in views][-1] == "3d" and len(views) == 5
        *images, scene = views
        theirs.add_group_field("group", default=images[0]["group"]["name"])
        group = fo.Group()
        samples = []
        for doc in images:
            projected = [
                fo.Keypoint(label=kp["label"], points=kp["points"], person_id=kp["person_id"], errors=kp["errors"],
                            mean_error=kp["mean_error"])
                for kp in doc["projected"]["keypoints"]
            ]  # fmt: skip
            samples.append(
                fo.Sample(filepath=doc["filepath"], group=group.element(doc["group"]["name"]),
                          projected=fo.Keypoints(keypoints=projected), reprojection_error=doc["reprojection_error"])
            )  # fmt: skip
        lines = [
            fo.Polyline(label=p["label"], points3d=p["points3d"], closed=False, filled=False)
            for p in scene["skeleton_3d"]["polylines"]
        ]
        assert {p.label for p in lines} == {"left", "right", "centre"}
        samples.append(
            fo.Sample(filepath=scene["filepath"], group=group.element("3d"), subject=scene["subject"],
                      action=scene["action"], frame=scene["frame"], coordinate_frame=scene["coordinate_frame"],
                      skeleton_3d=fo.Polylines(polylines=lines))
        )  # fmt: skip
        theirs.add_samples(samples)
        assert_same(stored(ours, {"_id": views[-1]["_id"]}), stored(theirs, {"_media_type": "3d"}))
        image_ids = [d["_id"] for d in images]
        keys = ["group", "projected", "reprojection_error", "_media_type"]
        assert_same(stored(ours, {"_id": {"$in": image_ids}}, keys), stored(theirs, {"_media_type": "image"}, keys))
        # the samples of one group share its id
        assert len({d["group"]["_id"] for d in views}) == 1
    finally:
        theirs.delete()


def test_only_documents_reaches_into_private_names():
    """Outside ``fo/documents.py``, no code of ``fo/`` reads a private name (``x._name``) of anything
    but its own object (``self``, ``cls``) or, in an override of a FiftyOne hook, ``super()``: a
    FiftyOne release that renames a private API is then handled in one module."""
    import ast

    import fiftyone_pose.fo as fo_package

    root = Path(fo_package.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "documents.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
                continue
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            parent = isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "super"
            if not (own or parent):
                found.append(f"{path.relative_to(root)}:{node.lineno} .{node.attr}")
    assert not found, found
