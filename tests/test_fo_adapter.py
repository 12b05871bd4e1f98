"""FiftyOne round trips: file -> dataset -> file is the same document, views export what they show."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from helpers import coco_doc
from hypothesis import HealthCheck, given, settings
from strategies import coco_documents
from test_documents import stored

import fiftyone_pose as fop
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.fo.api import leftover_datasets


@pytest.fixture
def coco_file(tmp_path):
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(coco_doc()))
    for folder in ("images", "img"):  # images folders (without the images: imported with a warning)
        (tmp_path / folder).mkdir()
    return path


def export_doc(collection, tmp_path, name="out.json", **kwargs):
    out = tmp_path / name
    fop.export(collection, out, overwrite=True, **kwargs)
    return json.loads(out.read_text())


def test_import_export_is_the_same_document(fo_db, coco_file, tmp_path):
    ds = fop.load(coco_file, images_dir=tmp_path / "images")
    assert first_difference(export_doc(ds, tmp_path), coco_doc()) is None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(doc=coco_documents(max_images=4, max_persons=6))
def test_generated_documents_survive_fiftyone(fo_db, tmp_path, doc):
    path = tmp_path / "gen.json"
    path.write_text(json.dumps(doc))
    ds = fop.load(path, format="coco", images_dir=tmp_path)
    try:
        assert first_difference(export_doc(ds, tmp_path), doc) is None
    finally:
        ds.delete()


def test_values_mongodb_or_a_field_cannot_hold_survive_as_json_text(fo_db, tmp_path):
    doc = coco_doc()
    for i, image in enumerate(doc["images"]):
        image["url"] = ["a", 1, "c"][i]  # one key, two types: no field can hold it
        image["note"] = None  # only nulls: no type to declare
    anns = doc["annotations"]
    anns[0]["segmentation"] = {"counts": [2**63 + 5], "size": [480, 640]}  # beyond int64
    anns[1]["segmentation"] = [{"a\x00b": 1}]  # a NUL in a key
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    ds = fop.load(path, images_dir=tmp_path)
    assert [s.file_name for s in ds] == [im["file_name"] for im in doc["images"]]  # every sample loads
    assert first_difference(export_doc(ds, tmp_path), doc) is None


@pytest.mark.parametrize("depth", [190, 300])  # MongoDB refuses the one document / the whole message
def test_a_sample_mongodb_refuses_is_named_and_nothing_is_left(fo_db, tmp_path, dataset_name, depth):
    doc = coco_doc()
    nested: list = [1.5]
    for _ in range(depth):  # deeper than MongoDB nests a document
        nested = [nested]
    doc["annotations"][-1]["segmentation"] = nested
    image = next(i for i, im in enumerate(doc["images"]) if im["id"] == doc["annotations"][-1]["image_id"])
    assert_import_fails_cleanly(
        fo_db, tmp_path, doc, dataset_name, rf"images\[{image}\] .*MongoDB cannot store .*(nest|depth)"
    )


def deep_file(tmp_path, doc, depth):
    """``doc`` written to ``deep.json`` with its ``"DEEP"`` value nested ``depth`` lists deep (written
    as text: ``json.dumps`` would recurse)."""
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(doc).replace('"DEEP"', "[" * depth + "1.5" + "]" * depth))
    return path


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(
    ("record", "key", "depth"),
    [("annotations", "segmentation", 1000), ("annotations", "history", 254), ("annotations", "history", 300),
     ("annotations", "history", 1000), ("images", "history", 254), ("images", "history", 1000)],
)  # fmt: skip
def test_a_value_too_deep_to_keep_is_named_in_either_process(
    fo_db, tmp_path, dataset_name, parallel, record, key, depth
):
    """Deeper than JSON text holds (254 with its key) and than pymongo encodes or pickle sends at
    Python's recursion limit (~1000, ~500): the record and the field are named (the image, or where
    the reading process cannot send it, the person), never a RecursionError; nothing is left."""
    doc = coco_doc()
    target = doc[record][-1]
    target[key] = "DEEP"
    image = next(i for i, im in enumerate(doc["images"]) if im["id"] == target.get("image_id", target["id"]))
    path = deep_file(tmp_path, doc, depth)
    before = set(fo_db.list_datasets())
    where = rf"(images\[{image}\] \(id|persons\[{len(doc['annotations']) - 1}\] \(id)"
    with pytest.raises(fop.PoseFormatError, match=rf"deep\.json: {where} .*field '{key}': nested"):
        fop.load(path, images_dir=tmp_path, name=dataset_name, parallel=parallel)
    assert set(fo_db.list_datasets()) == before and not leftover_datasets()


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("depth", [176, 1000])
def test_a_file_level_key_too_deep_for_the_datasets_info_is_named(fo_db, tmp_path, dataset_name, parallel, depth):
    doc = {**coco_doc(), "licenses": "DEEP"}
    path = deep_file(tmp_path, doc, depth)
    before = set(fo_db.list_datasets())
    with pytest.raises(fop.PoseFormatError, match=r"deep\.json: field 'licenses': nested"):
        fop.load(path, images_dir=tmp_path, name=dataset_name, parallel=parallel)
    assert set(fo_db.list_datasets()) == before and not leftover_datasets()


def test_a_file_level_key_as_deep_as_the_datasets_info_holds_comes_back(fo_db, tmp_path, dataset_name):
    path = deep_file(tmp_path, {**coco_doc(), "licenses": "DEEP"}, 175)
    ds = fop.load(path, images_dir=tmp_path, name=dataset_name)
    fop.export(ds, tmp_path / "back.json")
    assert json.loads((tmp_path / "back.json").read_text())["licenses"] == json.loads(path.read_text())["licenses"]


@pytest.mark.parametrize("depth", [190, 300])
def test_a_refused_sample_is_named_and_nothing_is_left_when_batches_overlap_their_inserts(
    fo_db, tmp_path, monkeypatch, depth
):
    """``add_pose_data(overlap=True)`` (merge): the refusal comes while the next batch is built."""
    from fiftyone_pose import formats
    from fiftyone_pose.fo import adapter

    doc = coco_doc()
    nested: list = [1.5]
    for _ in range(depth):
        nested = [nested]
    doc["annotations"][0]["segmentation"] = nested
    image = next(i for i, im in enumerate(doc["images"]) if im["id"] == doc["annotations"][0]["image_id"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert len(doc["images"]) > image + 1
    monkeypatch.setattr(adapter, "CHUNK", 1)  # a batch per image: the refused one is followed by others
    ds = fo_db.Dataset()
    try:
        with pytest.raises(fop.PoseFormatError, match=rf"images\[{image}\] .*MongoDB cannot store .*(nest|depth)"):
            adapter.add_pose_data(ds, formats.read(path), tmp_path, overlap=True)
        assert len(ds) == 0
    finally:
        ds.delete()


def test_a_document_too_deep_for_pymongo_to_decode_counts_as_refused():
    """A refused batch is searched for the sample MongoDB refused by decoding its documents; one
    nested deeper than pymongo decodes (a segmentation encoded in the parsing process) is it."""
    from fiftyone_pose.fo import adapter
    from fiftyone_pose.fo import rawbson as rb

    raw = rb.wrap(b"\x010\x00" + bytes(8))
    for _ in range(1100):  # [[...[0.0]...]]: built as bytes, deeper than bson.decode goes
        raw = rb.wrap(b"\x040\x00" + raw)
    assert adapter.mongodb_refuses(raw)
    assert not adapter.mongodb_refuses(rb.wrap(b"\x010\x00" + bytes(8)))


def test_samples_are_stored_in_file_order_batch_after_batch(fo_db, tmp_path, monkeypatch):
    """FiftyOne lists a dataset's samples in MongoDB's natural order: each batch is inserted after
    the one before, never beside it, so the dataset lists the file's images in the file's order."""
    from fiftyone_pose.fo import adapter, documents

    doc = coco_doc()
    doc["images"] = [{**im, "id": 100 + i, "file_name": f"{i:04d}.jpg"} for i in range(40) for im in doc["images"][:1]]
    doc["annotations"] = [
        {**a, "image_id": 100 + (7 * i) % 40, "id": i + 1} for i, a in enumerate(doc["annotations"] * 10)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(doc))
    real, calls = documents.insert_samples, []

    def uneven_insert(ds, docs):  # every other insert slow: one beside it would overtake it
        calls.append(1)
        time.sleep(0.05 if len(calls) % 2 else 0)
        return real(ds, docs)

    monkeypatch.setattr(documents, "insert_samples", uneven_insert)
    monkeypatch.setattr(adapter, "CHUNK", 3)
    ds = fop.load(path, images_dir=tmp_path)
    try:
        assert ds.values("image_id") == [im["id"] for im in doc["images"]]
    finally:
        ds.delete()


def test_insert_batches_are_bounded_by_the_bytes_of_their_persons(fo_db, tmp_path, monkeypatch):
    """A batch holds at most ``BATCH_BYTES`` of encoded persons (unless one image alone has more;
    COCO-WholeBody samples are ten times COCO's): more batches, the same samples in the same order.
    The bytes counted are those of each image's person documents as stored."""
    from bson import CodecOptions
    from bson.raw_bson import RawBSONDocument

    from fiftyone_pose.fo import adapter, encoder

    doc = coco_doc()
    doc["images"] = [{**im, "id": 100 + i, "file_name": f"{i:04d}.jpg"} for i in range(30) for im in doc["images"][:1]]
    doc["annotations"] = [
        {**a, "image_id": 100 + (i * i) % 30, "id": i + 1} for i, a in enumerate(doc["annotations"] * 12)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(doc))
    real_batch, real_bytes = encoder.SampleEncoder.batch, encoder.PersonStore.bytes_per_image
    batches, weights = [], []

    def recorded_batch(self, lo, hi):
        batches.append((lo, hi))
        return real_batch(self, lo, hi)

    def recorded_bytes(self):
        weights.append(real_bytes(self))
        return weights[-1]

    monkeypatch.setattr(encoder.SampleEncoder, "batch", recorded_batch)
    monkeypatch.setattr(encoder.PersonStore, "bytes_per_image", recorded_bytes)
    one = fop.load(path, images_dir=tmp_path)
    assert batches == [(0, 30)]
    limit = int(weights[0].max()) - 1  # the heaviest image alone is over the bound
    monkeypatch.setattr(adapter, "BATCH_BYTES", limit)
    batches.clear()
    many = fop.load(path, images_dir=tmp_path)
    try:
        per_image = weights[1]
        assert np.array_equal(per_image, weights[0])
        raw = many._sample_collection.with_options(codec_options=CodecOptions(document_class=RawBSONDocument))
        stored = {
            s["image_id"]: sum(
                len(p.raw) for p in [*s["ground_truth"]["keypoints"], *s["ground_truth_boxes"]["detections"]]
            )
            for s in raw.find({})
        }
        assert [stored[100 + i] for i in range(30)] == per_image.tolist()
        batched = [per_image[lo:hi] for lo, hi in batches]
        assert any(len(b) == 1 and b[0] > limit for b in batched)  # an image heavier than the bound goes alone
        assert any((b > 0).sum() > 1 for b in batched)  # the others share batches
        assert batches[0][0] == 0 and batches[-1][1] == 30 and len(batches) > 5
        for (lo, hi), (after, _) in zip(batches, [*batches[1:], (30, None)]):
            assert hi == after and (hi - lo == 1 or per_image[lo:hi].sum() <= limit)
            if hi < 30:  # the next image did not fit
                assert per_image[lo : hi + 1].sum() > limit
        for field in ("image_id", "ground_truth.keypoints.person_id", "ground_truth.keypoints.raw_keypoints"):
            assert many.values(field) == one.values(field)
    finally:
        one.delete()
        many.delete()


def test_a_failure_while_a_batch_is_inserted_leaves_nothing(fo_db, tmp_path, monkeypatch):
    """A failure building a batch while the one before is still being inserted: that insert ends
    before the samples are deleted, so none is left (abandoned, it would store them afterwards)."""
    from fiftyone_pose import formats
    from fiftyone_pose.fo import adapter, documents, encoder

    doc = coco_doc()
    doc["images"] = [{**im, "id": 100 + i, "file_name": f"{i:04d}.jpg"} for i in range(12) for im in doc["images"][:1]]
    doc["annotations"] = [{**a, "image_id": 100 + i % 12, "id": i + 1} for i, a in enumerate(doc["annotations"] * 4)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(doc))
    real_insert, real_batch = documents.insert_samples, encoder.SampleEncoder.batch
    built = []

    def slow_insert(ds, docs):
        time.sleep(0.5)
        return real_insert(ds, docs)

    def failing_batch(self, lo, hi):
        built.append(lo)
        if len(built) == 3:
            raise RuntimeError("boom")
        return real_batch(self, lo, hi)

    monkeypatch.setattr(documents, "insert_samples", slow_insert)
    monkeypatch.setattr(encoder.SampleEncoder, "batch", failing_batch)
    monkeypatch.setattr(adapter, "CHUNK", 4)
    ds = fo_db.Dataset()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            adapter.add_pose_data(ds, formats.read(path), tmp_path, overlap=True)
        time.sleep(1.0)  # an abandoned insert would have stored its batch by now
        assert len(ds) == 0
    finally:
        ds.delete()


def assert_import_fails_cleanly(fo, tmp_path, doc, dataset_name, match):
    """Importing ``doc`` raises a PoseFormatError that names the file and matches; no dataset is left."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    before = set(fo.list_datasets())
    with pytest.raises(fop.PoseFormatError, match=rf"bad\.json: {match}"):
        fop.load(path, images_dir=tmp_path, name=dataset_name)
    assert set(fo.list_datasets()) == before and not leftover_datasets()


def test_samples_and_labels(fo_db, coco_file, tmp_path):
    fo = fo_db
    ds = fop.load(coco_file, images_dir=tmp_path / "images")
    assert len(ds) == 3
    s = ds.first()
    assert s.filepath == str(tmp_path / "images" / "000000000007.jpg")
    assert (s.metadata.width, s.metadata.height) == (640, 480)
    assert s.image_id == 7 and s.date_captured == "2013-11-14 17:02:52"
    person, crowd = s.ground_truth.keypoints
    assert person.points[1] == [255 / 640, 98 / 480]
    assert np.isnan(person.points[2]).all()  # unlabeled: hidden in the App
    assert person.visibility[:6] == [2, 2, 0, 1, 0, 2]
    assert person.bbox == [201.5, 88.0, 94.25, 240.0] and person.area == 14350.0
    assert person.person_id == 1 and person.iscrowd == 0 and crowd.iscrowd == 1
    box = s.ground_truth_boxes.detections[0]
    assert box.instance.id == person.instance.id  # box and keypoints are one person
    assert box.bounding_box == [201.5 / 640, 88 / 480, 94.25 / 640, 240 / 480]
    assert ds.skeletons["ground_truth"].labels[0] == "nose"
    assert ds.default_skeleton.edges[0] == [15, 13]
    info = ds.info["fiftyone_pose"]["ground_truth"]
    assert info["skeleton"]["sigmas"][0] == 0.026 and info["skeleton"]["flip_pairs"][0] == [1, 2]
    assert info["format"] == "coco" and info["meta"]["info"]["year"] == 2024
    other = ds.skip(1).first()
    assert other.file_name == "sub/dir/9.jpg" and other.image_id == 3000000000
    assert other.ground_truth.keypoints[1].source_note == "unknown extra key"
    # "attributes" is a name FiftyOne labels own: the record's value is kept aside, as JSON text
    assert json.loads(other.ground_truth.keypoints[1].extra_json) == {"attributes": {"occluded": False}}
    assert fo.dataset_exists(ds.name) and not leftover_datasets()


def test_filtered_view_exports_only_what_it_shows(fo_db, coco_file, tmp_path):
    F = fo_db.ViewField
    ds = fop.load(coco_file, images_dir=tmp_path)
    view = ds.filter_labels("ground_truth", F("iscrowd") == 0).match(F("image_id") != 11)
    out = export_doc(view, tmp_path)
    assert [a["id"] for a in out["annotations"]] == [1, 2, 3]
    assert [i["id"] for i in out["images"]] == [7, 3000000000]
    expected = {a["id"]: a for a in coco_doc()["annotations"]}
    for ann in out["annotations"]:
        assert first_difference(ann, expected[ann["id"]]) is None


def test_hidden_points_are_written_unlabeled_and_recounted(fo_db, coco_file, tmp_path):
    ds = fop.load(coco_file, images_dir=tmp_path)
    view = ds.filter_keypoints("ground_truth", labels=["nose", "left_eye"])
    out = export_doc(view, tmp_path)
    first = next(a for a in out["annotations"] if a["id"] == 1)
    assert first["keypoints"][:6] == [250, 102, 2, 255, 98, 2]
    assert first["keypoints"][6:] == [0] * 45
    assert first["num_keypoints"] == 2
    full = next(a for a in out["annotations"] if a["id"] == 3)
    assert full["num_keypoints"] == 2 and full["keypoints"][6:] == [0] * 45


def test_edited_points_and_boxes_are_exported(fo_db, coco_file, tmp_path):
    ds = fop.load(coco_file, images_dir=tmp_path)
    s = ds.first()
    person = s.ground_truth.keypoints[0]
    person.points[0] = [0.5, 0.25]
    s.ground_truth_boxes.detections[0].bounding_box = [0.1, 0.2, 0.3, 0.4]
    s.save()
    ann = next(a for a in export_doc(ds, tmp_path)["annotations"] if a["id"] == 1)
    assert ann["keypoints"][:3] == [320.0, 120.0, 2]
    assert ann["keypoints"][3:6] == [255, 98, 2]  # untouched points keep their exact int values
    assert ann["bbox"] == [64.0, 96.0, 192.0, 192.0]


def test_a_point_set_to_none_in_fiftyone_is_exported_unlabeled(fo_db, coco_file, tmp_path):
    ds = fop.load(coco_file, images_dir=tmp_path)
    s = ds.first()
    s.ground_truth.keypoints[0].points[1] = [None, None]
    s.save()
    ann = next(a for a in export_doc(ds, tmp_path)["annotations"] if a["id"] == 1)
    source = next(a for a in coco_doc()["annotations"] if a["id"] == 1)["keypoints"]
    assert (
        ann["keypoints"][:3] == source[:3] and ann["keypoints"][3:6] == [0, 0, 0] and ann["keypoints"][6:] == source[6:]
    )
    assert ann["num_keypoints"] == sum(v > 0 for v in source[2::3]) - 1  # recounted


def test_persons_drawn_in_fiftyone_are_exported_completely(fo_db, coco_file, tmp_path):
    fo = fo_db
    ds = fop.load(coco_file, images_dir=tmp_path)
    s = ds.skip(2).first()  # the image without persons, 320 x 240
    nan = [float("nan")] * 2
    pts = [[0.5, 0.5], [0.25, 0.75]] + [nan] * 15
    s.ground_truth.keypoints.append(fo.Keypoint(label="person", points=pts))
    s.save()
    ann = next(a for a in export_doc(ds, tmp_path)["annotations"] if a["image_id"] == 11)
    assert ann["keypoints"][:6] == [160.0, 120.0, 2, 80.0, 180.0, 2] and ann["keypoints"][6:] == [0] * 45
    assert ann["num_keypoints"] == 2
    assert ann["bbox"] == [80.0, 120.0, 80.0, 60.0] and ann["area"] == 4800.0
    assert ann["iscrowd"] == 0 and ann["id"] == 502  # after the largest existing id


def test_native_dataset_type(fo_db, coco_file, tmp_path):
    fo = fo_db
    ds = fo.Dataset.from_dir(
        dataset_type=fop.types.COCOPoseDataset, data_path=str(tmp_path / "img"), labels_path=str(coco_file)
    )
    assert ds.count("ground_truth.keypoints") == 4
    out = tmp_path / "native.json"
    ds.export(dataset_type=fop.types.COCOPoseDataset, labels_path=str(out))
    assert first_difference(json.loads(out.read_text()), coco_doc()) is None


def test_generic_dataset_type_sniffs_and_writes_the_imported_format(fo_db, tmp_path):
    """``fop.types.PoseDataset``: any format through from_dir / export, like fop.load / fop.export."""
    from mpii_trb_docs import mpii_trb_doc

    src = tmp_path / "mpii_trb_val.json"
    src.write_text(json.dumps(mpii_trb_doc()))
    ds = fo_db.Dataset.from_dir(dataset_type=fop.types.PoseDataset, data_path=str(tmp_path), labels_path=str(src))
    assert ds.info["fiftyone_pose"]["ground_truth"]["format"] == "mpii_trb"
    out = tmp_path / "out.json"
    ds.export(dataset_type=fop.types.PoseDataset, labels_path=str(out))
    assert first_difference(json.loads(out.read_text()), mpii_trb_doc()) is None
    ds.export(dataset_type=fop.types.PoseDataset, labels_path=str(tmp_path / "coco.json"), format="coco")
    first = json.loads((tmp_path / "coco.json").read_text())["annotations"][0]
    assert len(first["bbox"]) == 4 and first["num_keypoints"] == mpii_trb_doc()["annotations"][0]["num_joints"]


def test_failed_import_leaves_nothing(fo_db, tmp_path, dataset_name):
    doc = coco_doc()
    doc["images"][2]["width"] = 0  # size unknown and no image file to read it from
    assert_import_fails_cleanly(fo_db, tmp_path, doc, dataset_name, r"images\[2\].*width")


def test_benchmark_generator_file_roundtrips_pure_and_through_fiftyone(fo_db, tmp_path):
    from benchmarks.generate import write_coco

    path = tmp_path / "gen.json"
    write_coco(path, n_images=400, seed=3)
    original = json.loads(path.read_text())
    fop.write(fop.read(path), tmp_path / "pure.json")
    assert first_difference(json.loads((tmp_path / "pure.json").read_text()), original) is None
    ds = fop.load(path, images_dir=tmp_path)
    assert first_difference(export_doc(ds, tmp_path), original) is None


def test_a_read_gives_the_files_and_tags_of_its_images_in_their_order(fo_db, tmp_path):
    """``to_pose_data(files=...)`` / ``to_pose_stream(files=...)`` (merge, a YOLO export) read
    each image's filepath and tags in the same pass."""
    from benchmarks.generate import write_coco
    from fiftyone_pose.fo.adapter import to_pose_data, to_pose_stream
    from fiftyone_pose.fo.reader import SampleFiles

    path = tmp_path / "gen.json"
    write_coco(path, n_images=60, seed=4)
    ds = fop.load(path, images_dir=tmp_path)
    ds.take(7, seed=1).tag_samples("picked")
    view = ds.sort_by("image_id", reverse=True)
    files = SampleFiles()
    data = to_pose_data(view, files=files)
    assert (files.sources, files.tags) == (view.values("filepath"), view.values("tags"))
    assert sum("picked" in tags for tags in files.tags) == 7
    assert data.images.ids.tolist() == view.values("image_id")
    streamed = SampleFiles()
    assert to_pose_stream(view, files=streamed).images.ids.tolist() == view.values("image_id")
    assert streamed == files
    fop.write(data, tmp_path / "with.json")
    fop.write(to_pose_data(view), tmp_path / "without.json")
    assert (tmp_path / "with.json").read_bytes() == (tmp_path / "without.json").read_bytes()


def test_part_boxes_are_drawn_linked_and_exported_exactly(fo_db, tmp_path):
    from fiftyone_pose.fo.adapter import to_pose_data
    from fiftyone_pose.fo.api import create_dataset
    from fiftyone_pose.formats import coco

    data = coco.decode(coco_doc())
    n = len(data.persons)
    face = np.full((n, 4), np.nan)
    face[0] = [240.5, 90.0, 30.0, 25.0]
    face[3] = [0.0, 0.0, 0.0, 0.0]  # "no face" marker as some files write it: kept, not drawn
    data.persons.part_boxes = {"face": face}
    data.persons.int_mask["part_box.face"] = np.array([[False, False, True, True]] + [[True] * 4] * (n - 1))
    ds = create_dataset(data, tmp_path)
    s = ds.first()
    (det,) = s.ground_truth_parts.detections
    assert det.label == "face" and det.instance.id == s.ground_truth.keypoints[0].instance.id
    assert s.ground_truth.keypoints[0].part_boxes == {"face": [240.5, 90.0, 30, 25]}
    back = to_pose_data(ds)
    np.testing.assert_array_equal(back.persons.part_boxes["face"], face)
    assert back.persons.int_mask["part_box.face"][0].tolist() == [False, False, True, True]
    det.bounding_box = [0.5, 0.5, 0.25, 0.25]
    s.save()
    assert to_pose_data(ds).persons.part_boxes["face"][0].tolist() == [320.0, 240.0, 160.0, 120.0]


def test_export_in_many_batches_gives_the_same_document(fo_db, tmp_path, monkeypatch):
    """Export reads the view a batch at a time; batch edges must not show in the file."""
    from benchmarks.generate import write_coco
    from fiftyone_pose.fo import adapter, reader

    path = tmp_path / "gen.json"
    write_coco(path, n_images=60, seed=5)
    ds = fop.load(path, images_dir=tmp_path)
    s = ds.last()  # a person drawn in FiftyOne, after the file's persons
    s.ground_truth.keypoints.append(fo_db.Keypoint(label="person", points=[[0.5, 0.5]] * 17))
    s.save()
    monkeypatch.setattr(adapter, "EXPORT_BATCH", 7)
    batches = []
    read = reader.BatchReader.read
    monkeypatch.setattr(reader.BatchReader, "read", lambda self, raw: batches.append(1) or read(self, raw))
    small = export_doc(ds, tmp_path, "small.json")
    assert len(batches) == 9  # 60 samples, 7 at a time
    monkeypatch.setattr(adapter, "EXPORT_BATCH", 4096)
    assert first_difference(small, export_doc(ds, tmp_path, "large.json")) is None
    original = json.loads(path.read_text())
    assert first_difference(small["annotations"][:-1], original["annotations"]) is None
    assert small["annotations"][-1]["id"] == max(a["id"] for a in original["annotations"]) + 1


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("points", [[0.5, 0.5]] * 3, "has 3 points; the layout 'coco' has 17"),
        ("points", [[0.5]] * 17, r"has a point that is not \[x, y\]"),
        ("points", ["x"] * 17, r"has a point that is not \[x, y\]"),
        ("points", [None] * 17, r"has a point that is not \[x, y\]"),
        ("visibility", [2] * 16, "has a visibility list that is not 17 numbers"),
        ("person_id", 1.5, "has a 'person_id' that is not an integer"),
        ("iscrowd", "no", "has a 'iscrowd' that is not an integer"),
        ("bbox", [1, 2, 3], "has a bbox that is not 4 numbers"),
        ("bbox", [1, 2, 3, 2**60], "has a bbox that is not 4 numbers"),
        ("raw_keypoints", ["x"] * 51, "has raw_keypoints that are not 51 numbers"),
        ("area", "big", "has an area that is not a number"),
        ("area", 2**60, "has an area that is not a number"),
    ],
)
def test_a_keypoint_broken_in_the_database_is_named(fo_db, coco_file, tmp_path, key, value, message):
    """Another tool wrote a stored keypoint FiftyOne would not validate: the error names it, no file is written."""
    ds = fop.load(coco_file, images_dir=tmp_path)
    s = ds.first()
    kp_id = s.ground_truth.keypoints[0].id
    ds._sample_collection.update_one({"_id": s._id}, {"$set": {f"ground_truth.keypoints.0.{key}": value}})
    with pytest.raises(fop.PoseFormatError, match=rf"keypoint {kp_id} of 000000000007\.jpg: {message}"):
        fop.export(ds, tmp_path / "out.json", overwrite=True)
    assert not (tmp_path / "out.json").exists()


def test_data_counting_pixels_from_1_is_normalised_from_1_and_exported_exactly(fo_db, tmp_path):
    """MATLAB-made files (origin 1): FiftyOne sees x - 1, the export gives back the file's numbers."""
    from fiftyone_pose.core.model import with_origin
    from fiftyone_pose.fo.adapter import to_pose_data
    from fiftyone_pose.fo.api import create_dataset
    from fiftyone_pose.formats import coco

    data = with_origin(coco.decode(coco_doc()), 1)
    ds = create_dataset(data, tmp_path)
    s = ds.first()
    kp, p = s.ground_truth.keypoints[0], data.persons
    w, h = s.metadata.width, s.metadata.height
    assert kp.points[0] == [(p.keypoints[0, 0, 0] - 1) / w, (p.keypoints[0, 0, 1] - 1) / h]
    assert s.ground_truth_boxes.detections[0].bounding_box[:2] == [(p.boxes[0, 0] - 1) / w, (p.boxes[0, 1] - 1) / h]
    back = to_pose_data(ds)
    assert back.origin == 1
    np.testing.assert_array_equal(back.persons.keypoints, p.keypoints)
    np.testing.assert_array_equal(back.persons.boxes, p.boxes)
    kp.points[0] = [0.5, 0.25]
    s.save()
    assert to_pose_data(ds).persons.keypoints[0, 0].tolist() == [0.5 * w + 1, 0.25 * h + 1]
    assert (
        first_difference(
            export_doc(ds.skip(1), tmp_path),
            {
                **coco_doc(),
                "images": coco_doc()["images"][1:],
                "annotations": [a for a in coco_doc()["annotations"] if a["image_id"] != 7],
            },
        )
        is None
    )


def test_export_keeps_the_file_order_whatever_mongodbs_natural_order(fo_db, coco_file, tmp_path):
    """MongoDB's natural order differs between a replica set's members (a failover changes it):
    the export orders samples by id, which an import makes in file order; a view's own sort wins."""
    ds = fop.load(coco_file, images_dir=tmp_path)
    coll = ds._sample_collection
    first = coll.find_one({"image_id": 7})
    coll.delete_one({"_id": first["_id"]})
    coll.insert_one(first)  # now last in natural order
    assert [d["image_id"] for d in coll.find({}, {"image_id": True})][-1] == 7
    assert first_difference(export_doc(ds, tmp_path), coco_doc()) is None
    by_id = export_doc(ds.sort_by("image_id", reverse=True), tmp_path, "sorted.json")
    assert [im["id"] for im in by_id["images"]] == [3000000000, 11, 7]


def test_dataset_types_refuse_what_they_cannot_do_as_usage_errors(fo_db, coco_file):
    from fiftyone_pose.core.errors import PoseFormatError, PoseUsageError
    from fiftyone_pose.fo.types import PoseDatasetExporter, PoseDatasetImporter

    with pytest.raises(PoseUsageError, match="labels_path"):
        PoseDatasetImporter(data_path="/images")
    with pytest.raises(PoseFormatError, match="nowhere: no such images folder"):
        PoseDatasetImporter(labels_path=str(coco_file), data_path=str(coco_file.parent / "nowhere"))
    with pytest.raises(PoseUsageError, match="labels_path"):
        PoseDatasetExporter()


def test_empty_categories_and_marker_like_values_survive_fiftyone(fo_db, tmp_path):
    """``"categories": []`` stays empty, and values spelled like an internal marker stay values."""
    doc = coco_doc()
    doc["categories"] = []
    for ann in doc["annotations"]:
        ann.pop("category_id")
    doc["info"] = "__absent__"
    doc["extra_key"] = "__absent__"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    ds = fop.load(path, format="coco", images_dir=tmp_path)
    assert first_difference(export_doc(ds, tmp_path), doc) is None


def test_a_missing_info_survives_fiftyone(fo_db, tmp_path):
    """A file without ``info``/``licenses`` gets none written back after FiftyOne either."""
    doc = coco_doc()
    del doc["info"]
    doc.pop("licenses", None)
    path = tmp_path / "no_info.json"
    path.write_text(json.dumps(doc))
    ds = fop.load(path, format="coco", images_dir=tmp_path)
    assert first_difference(export_doc(ds, tmp_path), doc) is None


# ------------------------------------------------------------------------------ streaming import


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(doc=coco_documents(max_images=4, max_persons=6))
def test_a_streamed_import_stores_what_the_whole_file_stores(fo_db, tmp_path, monkeypatch, doc):
    """One record per chunk: persons of an image come in several chunks, extra keys' types differ
    between chunks; the samples, the schema and the info are those of the whole file at once."""
    from fiftyone_pose import formats
    from fiftyone_pose.fo.api import create_dataset
    from fiftyone_pose.formats import jsonio

    path = tmp_path / "gen.json"
    path.write_text(json.dumps(doc))
    whole = create_dataset(formats.read(path, "coco"), tmp_path)
    with monkeypatch.context() as m:
        m.setattr(jsonio, "CHUNK_BYTES", 1)
        streamed = fop.load(path, format="coco", images_dir=tmp_path)
    try:
        assert stored(streamed) == stored(whole)  # raw documents, ids and times set aside
        assert streamed.get_field_schema(flat=True).keys() == whole.get_field_schema(flat=True).keys()
        for key, field in whole.get_field_schema(flat=True).items():
            assert type(streamed.get_field_schema(flat=True)[key]) is type(field), key
        assert streamed.info == whole.info
        assert first_difference(export_doc(streamed, tmp_path), doc) is None
    finally:
        streamed.delete()
        whole.delete()


@pytest.mark.parametrize("name", ["coco_wholebody", "halpe"])
def test_segmentations_encoded_where_the_file_is_read_are_stored_as_the_whole_files(fo_db, tmp_path, monkeypatch, name):
    """The import encodes each segmentation in the reading process (``fo.prepared``): next to part
    boxes, extra keys, absent keys and a segmentation BSON cannot hold, the stored labels are byte
    for byte those of the same file imported whole, also through the reading process."""
    from helpers_wholebody import halpe_doc, wholebody_doc

    from fiftyone_pose import formats
    from fiftyone_pose.fo.api import create_dataset
    from fiftyone_pose.formats import jsonio, worker

    doc = wholebody_doc() if name == "coco_wholebody" else halpe_doc()
    anns = doc["annotations"]
    anns[0]["note"] = {"by": "x"}
    anns[1].pop("segmentation", None)
    anns[-1]["segmentation"] = {"counts": [2**63 + 5], "size": [480, 640]}  # beyond int64: JSON text
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    whole = create_dataset(formats.read(path, name), tmp_path)
    streamed = []
    try:
        for parallel_bytes in (1 << 60, 0):
            with monkeypatch.context() as m:
                m.setattr(jsonio, "CHUNK_BYTES", 1)
                m.setattr(worker, "PARALLEL_BYTES", parallel_bytes)
                m.setattr(worker, "usable_cpus", lambda: 2)
                streamed.append(fop.load(path, format=name, images_dir=tmp_path))
            assert stored(streamed[-1]) == stored(whole)
            assert first_difference(export_doc(streamed[-1], tmp_path), doc) is None
    finally:
        for ds in [whole, *streamed]:
            ds.delete()


def test_the_preparing_module_runs_without_fiftyone():
    """The reading process imports ``fo.prepared`` to run it: that must not start FiftyOne."""
    import subprocess
    import sys

    code = "import sys, fiftyone_pose.fo.prepared; print('fiftyone' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_extra_key_types_are_merged_over_every_chunk(fo_db, tmp_path, monkeypatch):
    from fiftyone_pose.formats import jsonio

    doc = coco_doc()
    doc["annotations"][0]["score"] = 1  # an int in the first chunk, a float in a later one: a float field
    doc["annotations"][-1]["score"] = 0.5
    doc["annotations"][-1]["late"] = "only in the last chunk"
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    ds = fop.load(path, images_dir=tmp_path)
    schema = ds.get_field_schema(flat=True)
    assert type(schema["ground_truth.keypoints.score"]) is fo_db.FloatField
    assert type(schema["ground_truth.keypoints.late"]) is fo_db.StringField
    assert first_difference(export_doc(ds, tmp_path), doc) is None


def test_a_bad_record_in_a_late_chunk_leaves_no_dataset(fo_db, tmp_path, monkeypatch, dataset_name):
    from fiftyone_pose.formats import jsonio

    doc = coco_doc()
    doc["annotations"][-1]["bbox"] = [1, 2, "x", 4]
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    n = len(doc["annotations"]) - 1
    assert_import_fails_cleanly(fo_db, tmp_path, doc, dataset_name, rf"annotations\[{n}\] .*field 'bbox'")


# ------------------------------------------------------------------------------ streaming export


def test_a_streamed_export_in_small_chunks_keeps_the_file_order(fo_db, tmp_path, monkeypatch):
    """Annotations in no image order, read 7 samples a batch and written 5 persons a chunk: the
    file comes back as it was, and a person drawn in FiftyOne follows with a new id."""
    from benchmarks.generate import write_coco
    from fiftyone_pose import formats
    from fiftyone_pose.fo import adapter

    path = tmp_path / "gen.json"
    write_coco(path, n_images=60, seed=7)
    original = json.loads(path.read_text())
    np.random.default_rng(0).shuffle(original["annotations"])  # persons of an image all over the file
    path.write_text(json.dumps(original))
    ds = fop.load(path, images_dir=tmp_path)
    s = ds.first()
    s.ground_truth.keypoints.append(fo_db.Keypoint(label="person", points=[[0.5, 0.5]] * 17))
    s.save()
    monkeypatch.setattr(adapter, "EXPORT_BATCH", 7)
    monkeypatch.setattr(adapter, "EXPORT_CHUNK", 5)
    written = fop.export(ds, tmp_path / "out.json")
    small = json.loads((tmp_path / "out.json").read_text())
    assert first_difference(small["annotations"][:-1], original["annotations"]) is None
    assert first_difference(small["images"], original["images"]) is None
    assert small["annotations"][-1]["id"] == max(a["id"] for a in original["annotations"]) + 1
    assert written.summary()["persons"] + written.summary()["crowd_regions"] == len(original["annotations"]) + 1
    formats.write(adapter.to_pose_data(ds), tmp_path / "whole.json")  # the whole read gives the same file
    assert (tmp_path / "whole.json").read_bytes() == (tmp_path / "out.json").read_bytes()


@pytest.mark.parametrize("slack", [-(2**40), 0, 2**20])
def test_a_streamed_import_reads_its_parked_persons_in_one_read_or_item_by_item(fo_db, tmp_path, monkeypatch, slack):
    """Persons of an image all over the file: a batch's items are read in one span where they lie
    close together, else one by one (a negative slack forces that); the samples are the same."""
    from benchmarks.generate import write_coco
    from fiftyone_pose import formats
    from fiftyone_pose.fo import encoder
    from fiftyone_pose.fo.api import create_dataset
    from fiftyone_pose.formats import jsonio

    path = tmp_path / "gen.json"
    write_coco(path, n_images=40, seed=3)
    doc = json.loads(path.read_text())
    np.random.default_rng(1).shuffle(doc["annotations"])
    path.write_text(json.dumps(doc))
    whole = create_dataset(formats.read(path, "coco"), tmp_path)
    monkeypatch.setattr(encoder, "_SPAN_SLACK", slack)
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 4096)
    streamed = fop.load(path, format="coco", images_dir=tmp_path)
    try:
        assert stored(streamed) == stored(whole)
        assert first_difference(export_doc(streamed, tmp_path), doc) is None
    finally:
        streamed.delete()
        whole.delete()
