"""AI Challenger: the native list and mmpose's COCO-style file, read (the native list a chunk of
images at a time), written back identical (the native list compared as bytes: its key order kept),
converted to COCO (pycocotools AP = 1.0), and through FiftyOne."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import orjson
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import AIC_HASH_1, aic_coco_doc, aic_native_doc, write_json
from dataset_strategies import aic_coco_docs, aic_native_docs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fiftyone_pose import cli, formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.core.stream import PoseStream
from fiftyone_pose.formats import aic, coco, jsonio

SETTINGS = settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(doc, **kwargs):
    return aic.encode(aic.decode(json.loads(json.dumps(doc))), **kwargs)


# ------------------------------------------------------------------------------------- native


def test_native_example_roundtrips_exactly():
    """The same bytes: values, number types and the authors' key order."""
    assert orjson.dumps(roundtrip(aic_native_doc())) == orjson.dumps(aic_native_doc())
    assert aic.decode(aic_native_doc()).meta == {}  # the authors' order: nothing to record


def test_native_model_visibility_ids_keys_and_boxes():
    data = aic.decode(aic_native_doc())
    p = data.persons
    assert data.skeleton.name == "aic" and data.skeleton.sigmas is not None and data.format == "aic"
    assert aic.flavor_of(data) == "native"
    # 1 visible -> 2, 2 occluded -> 1, 3 unlabeled -> 0; the native flags are kept
    assert p.visibility[1, :3].tolist() == [2, 1, 0]
    assert p.visibility_raw[1, :3].tolist() == [1.0, 2.0, 3.0]
    assert [e["human_key"] for e in p.extras] == ["human2", "human1", "human10", "human1"]  # file order
    assert p.ids.tolist() == [1, 2, 3, 4] and p.image_index.tolist() == [0, 0, 0, 1]
    assert p.boxes[1].tolist() == [40, 12, 170, 458] and p.int_mask["bbox"].all()
    assert p.boxes[2].tolist() == [5, 5, 0, 0]  # degenerate box kept
    assert np.isnan(p.areas).all() and not p.crowd.any() and (p.num_keypoints == -1).all()
    im = data.images
    assert im.ids.tolist() == [1, 2, 3] and im.file_names[0] == f"{AIC_HASH_1}.jpg"
    assert im.extras[0] == {"source_image_id": AIC_HASH_1, "url": "http://example.invalid/a.jpg"}
    assert im.extras[2] == {"source_image_id": im.file_names[2][:-4]}  # no url: none invented
    assert (im.widths == 0).all()  # not in the native file


def test_native_to_coco_has_coco_visibility_box_areas_and_no_sizes():
    doc = coco.encode(aic.decode(aic_native_doc()))
    first = doc["annotations"][1]  # human1 of the first image
    native = aic_native_doc()[0]["keypoint_annotations"]["human1"]
    assert first["keypoints"][:9] == [native[0], native[1], 2, native[3], native[4], 1, 0, 0, 0]
    assert first["bbox"] == [40, 12, 170, 458] and first["area"] == 170.0 * 458
    assert first["iscrowd"] == 0 and first["num_keypoints"] == 12 and "segmentation" not in first
    assert first["human_key"] == "human1"
    assert "width" not in doc["images"][0] and "info" in doc
    assert [c["keypoints"] for c in doc["categories"]] == [list(aic.layout().keypoints)]


def test_native_to_coco_and_back_to_native_is_the_same_document():
    as_coco = coco.encode(aic.decode(aic_native_doc()))
    again = aic.decode(json.loads(json.dumps(as_coco)))
    assert aic.flavor_of(again) == "coco"
    assert first_difference(aic.encode(again, flavor="native"), aic_native_doc()) is None


@SETTINGS
@given(aic_native_docs())
def test_generated_native_files_roundtrip_exactly(doc):
    assert orjson.dumps(roundtrip(doc)) == orjson.dumps(doc)  # key order included


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(aic_native_docs(), st.one_of(st.just(1), st.integers(2, 4000)))
def test_native_files_read_a_chunk_at_a_time_are_written_back_byte_for_byte(doc, chunk_bytes):
    """Read from the file a chunk of images at a time (chunk boundaries anywhere), the stream's
    header holds every image before the first chunk, and the file is written back as it was."""
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(jsonio, "CHUNK_BYTES", chunk_bytes):
        src = Path(tmp) / "keypoint_train_annotations.json"
        src.write_bytes(orjson.dumps(doc))
        stream = aic.read_stream(src)
        assert len(stream.images) == len(doc)
        chunks = list(stream)
        if chunk_bytes == 1:
            assert len(chunks) == max(len(doc), 1)  # one image per chunk
        data = PoseStream(stream.header, chunks).collect()
        aic.write(data, Path(tmp) / "back.json")
        assert (Path(tmp) / "back.json").read_bytes() == src.read_bytes()
    whole = aic.decode(json.loads(json.dumps(doc)))
    assert data.notes == whole.notes and data.meta == whole.meta
    assert data.persons.ids.tolist() == list(range(1, len(whole.persons) + 1))
    assert data.persons.image_index.tolist() == whole.persons.image_index.tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(aic_native_docs(), st.integers(1, 3), st.integers(1, 3), st.randoms(use_true_random=False))
def test_streamed_native_write_is_the_whole_list(doc, chunk_size, write_chunk, rng):
    """Written from a stream whose chunks give an image's persons anywhere (persons shuffled), a
    few persons at a time, the native file has the bytes and notes of the whole list."""
    data = aic.decode(json.loads(json.dumps(doc)))
    order = list(range(len(data.persons)))
    rng.shuffle(order)
    data = dataclasses.replace(data, persons=data.persons.take(np.array(order, dtype=np.int64)), notes={})
    whole = dataclasses.replace(data, notes={})
    want = orjson.dumps(aic.encode(whole, flavor="native"))
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(aic, "WRITE_CHUNK", write_chunk):
        stream = PoseStream.of(dataclasses.replace(data, notes={}), chunk_size=chunk_size)
        aic.write_stream(stream, Path(tmp) / "keypoint_train_annotations.json", flavor="native")
        assert (Path(tmp) / "keypoint_train_annotations.json").read_bytes() == want
    assert stream.notes == whole.notes


def test_odd_flags_are_noted_and_kept_but_0_is_written_as_3():
    doc = aic_native_doc()
    kp = doc[1]["keypoint_annotations"]["human1"]
    kp[2], kp[5], kp[8] = 0.5, 4, 0
    data = aic.decode(doc)
    assert data.notes[aic.NOTE_FLAGS] == 3
    assert data.persons.visibility[3, :3].tolist() == [0, 0, 0]
    out = aic.encode(data)[1]["keypoint_annotations"]["human1"]
    assert out[2] == 0.5 and out[5] == 4 and out[8] == 3


def test_inexact_float_corners_are_kept_verbatim():
    doc = aic_native_doc()
    doc[1]["human_annotations"]["human1"] = [0.2, 0.3, 0.9, 0.9]  # 0.2 + (0.9 - 0.2) != 0.9
    doc[0]["human_annotations"]["human10"] = [0, 0, 0, -0.0]  # 0 + (-0.0 - 0) is 0.0
    data = aic.decode(doc)
    assert "bbox_corners" in data.persons.extras[3] and "bbox_corners" in data.persons.extras[2]
    assert orjson.dumps(aic.encode(data)) == orjson.dumps(doc)  # (== would take -0.0 for 0.0)


def test_a_file_in_another_key_order_keeps_it_also_through_coco(tmp_path):
    """Our writer's former order (image_id, url, human_annotations, keypoint_annotations) is not
    the authors': such a file records its order, and a COCO export carries it back."""
    keys = ["image_id", "url", "human_annotations", "keypoint_annotations"]
    doc = [{k: r[k] for k in keys if k in r} for r in aic_native_doc()]
    data = aic.decode(doc)
    assert data.meta == {"aic": {"key_order": keys}} and not data.notes
    assert orjson.dumps(aic.encode(data)) == orjson.dumps(doc)
    src = write_json(tmp_path / "keypoint_validation_annotations.json", doc)
    formats.write(formats.read(src), tmp_path / "coco.json", "coco")
    as_coco = json.loads((tmp_path / "coco.json").read_text())
    assert as_coco["aic"] == {"key_order": keys}
    formats.write(formats.read(tmp_path / "coco.json", "aic"), tmp_path / "back.json", "aic", flavor="native")
    assert (tmp_path / "back.json").read_bytes() == orjson.dumps(doc)


def test_images_whose_keys_disagree_with_the_others_are_counted_and_written_in_the_file_order():
    doc = aic_native_doc()
    doc[1] = {"image_id": doc[1]["image_id"], **doc[1]}  # image_id before url, unlike images 0 and 2
    data = aic.decode(doc)
    assert data.notes == {aic.NOTE_ORDER: 1} and data.meta == {}
    back = aic.encode(data)
    assert list(back[1]) == list(aic.KEY_ORDER)
    assert orjson.dumps(back) == orjson.dumps(aic_native_doc())


def test_persons_listed_in_another_order_in_keypoint_annotations_are_counted():
    doc = aic_native_doc()
    points = doc[0]["keypoint_annotations"]
    doc[0]["keypoint_annotations"] = {key: points[key] for key in ("human1", "human2", "human10")}
    data = aic.decode(doc)
    assert data.notes == {aic.NOTE_PERSON_ORDER: 1}
    assert [e["human_key"] for e in data.persons.extras[:3]] == ["human2", "human1", "human10"]
    assert orjson.dumps(aic.encode(data)) == orjson.dumps(aic_native_doc())  # human_annotations' order


@pytest.mark.parametrize(
    "shapes, order",
    [
        ([("a", "c"), ("a", "b", "c")], ["a", "b", "c"]),
        ([("a", "b"), ("a", "c"), ("b", "c")], ["a", "b", "c"]),  # c after b, though seen before it
        ([("x",), ("b", "a"), ("a", "x")], ["b", "a", "x"]),  # the constraints, not the first record, decide
        ([("a", "b"), ("b", "a")], ["a", "b"]),  # disagreeing: the first seen first
        ([], []),
    ],
)
def test_key_order_is_one_that_every_agreeing_record_follows(shapes, order):
    assert aic.key_order(shapes) == order


def test_data_of_another_format_is_written_in_the_authors_key_order():
    from helpers import coco_doc

    from fiftyone_pose.core.layouts import to_layout

    native = aic.encode(to_layout(coco.decode(coco_doc()), "aic"), flavor="native")
    for rec in native:
        keys = [k for k in rec if k in aic.KEY_ORDER]
        assert keys == [k for k in aic.KEY_ORDER if k in rec]
        assert list(rec)[-2:] == ["keypoint_annotations", "human_annotations"]  # the image's other keys first


def test_native_read_streams_and_a_bad_record_in_a_late_chunk_is_named(tmp_path, monkeypatch):
    """The checks of the images run before the stream is returned, those of the numbers in the
    chunk that holds them: every error has the text, file, record and field of the whole read."""
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    doc = aic_native_doc()
    doc[1]["keypoint_annotations"]["human1"][4] = "x"
    src = write_json(tmp_path / "keypoint_train_annotations.json", doc)
    with pytest.raises(PoseFormatError) as whole:
        aic.decode(doc, path=src)
    stream = aic.read_stream(src)
    chunks = iter(stream)
    assert len(next(chunks)) == 3  # the first image's persons
    with pytest.raises(PoseFormatError) as streamed:
        next(chunks)
    assert str(streamed.value) == str(whole.value)
    assert str(whole.value).startswith(f"{src}: images[1] (image_id {doc[1]['image_id']}): field 'keypoint_annotations")

    doc = aic_native_doc()
    del doc[2]["human_annotations"]
    src = write_json(tmp_path / "keypoint_train_annotations.json", doc)
    with pytest.raises(PoseFormatError, match=r"images\[2\] .*field 'human_annotations': required key is missing"):
        aic.read_stream(src)


def test_a_truncated_native_file_fails_naming_line_and_column(tmp_path):
    text = json.dumps(aic_native_doc(), indent=1)
    src = tmp_path / "keypoint_train_annotations.json"
    src.write_text(text[: len(text) // 2])
    with pytest.raises(PoseFormatError, match=r"keypoint_train_annotations.json: line \d+ column \d+ .*truncated"):
        formats.read(src, "aic")


def test_native_errors_name_the_record_and_field():
    doc = aic_native_doc()
    del doc[0]["keypoint_annotations"]["human10"]
    with pytest.raises(PoseFormatError, match=r"images\[0\] \(image_id 3f78.*field 'keypoint_annotations'.*human10"):
        aic.decode(doc, path="x.json")
    doc = aic_native_doc()
    doc[1]["keypoint_annotations"]["human1"] = doc[1]["keypoint_annotations"]["human1"][:-1]
    with pytest.raises(PoseFormatError, match=r"images\[1\].*field 'keypoint_annotations.human1'.*41 values"):
        aic.decode(doc)
    doc = aic_native_doc()
    doc[0]["human_annotations"]["human1"][2] = "210"
    with pytest.raises(PoseFormatError, match=r"images\[0\].*field 'human_annotations.human1'.*'210'"):
        aic.decode(doc)
    with pytest.raises(PoseFormatError, match=r"images\[0\].*field 'image_id'"):
        aic.decode([{"human_annotations": {}, "keypoint_annotations": {}}])


# ----------------------------------------------------------------------------------- COCO-style


def test_coco_flavor_roundtrips_exactly_and_reads_coco_visibility():
    doc = aic_coco_doc()
    data = aic.decode(doc)
    assert aic.flavor_of(data) == "coco" and data.skeleton.name == "aic"  # names "Right Shoulder", ...
    assert data.persons.visibility_raw is None and data.persons.visibility[1, :3].tolist() == [2, 1, 0]
    assert first_difference(roundtrip(doc), doc) is None


def test_coco_flavor_export_gets_area_and_iscrowd_for_pycocotools(tmp_path):
    src = write_json(tmp_path / "aic_val.json", aic_coco_doc())
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    exported = assert_export_evaluates(out, "aic")
    assert all(a["iscrowd"] == 0 and a["area"] == a["bbox"][2] * a["bbox"][3] for a in exported["annotations"])
    # and back: the AI Challenger writer leaves out what the file did not have
    back = tmp_path / "back.json"
    formats.write(formats.read(out, "aic"), back, "aic")
    again = json.loads(back.read_text())
    assert all("iscrowd" in a and "area" in a for a in again["annotations"])  # the COCO file had them
    formats.write(formats.read(src, "aic"), back, "aic")
    assert first_difference(json.loads(back.read_text()), aic_coco_doc()) is None


@SETTINGS
@given(aic_coco_docs())
def test_generated_coco_flavor_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


def test_native_data_written_as_the_coco_flavor_has_the_authors_names():
    doc = aic.encode(aic.decode(aic_native_doc()), flavor="coco")
    assert doc["categories"][0]["keypoints"][0] == "Right Shoulder"
    assert all("iscrowd" not in a and "area" not in a for a in doc["annotations"])


# ----------------------------------------------------------------------------- files and the CLI


def test_detect_read_with_image_sizes_and_cli_convert(tmp_path, capsys):
    from PIL import Image

    src = write_json(tmp_path / "keypoint_validation_annotations_20170911.json", aic_native_doc())
    assert formats.detect(src) == "aic"
    images = tmp_path / "images"
    images.mkdir()
    for i, size in enumerate([(640, 480), (320, 240), (100, 50)]):
        Image.new("RGB", size).save(images / aic.decode(aic_native_doc()).images.file_names[i])
    data = aic.read(src, images_dir=images)
    assert data.images.widths.tolist() == [640, 320, 100] and data.notes["image sizes read from image headers"] == 3

    out = tmp_path / "converted.json"
    assert cli.main(["convert", str(src), str(out)]) == 0
    assert "format: aic" in capsys.readouterr().out
    exported = assert_export_evaluates(out, "aic")
    assert len(exported["annotations"]) == 4 and "width" not in exported["images"][0]


def test_other_layouts_need_a_conversion_by_name():
    from helpers import coco_doc

    from fiftyone_pose.formats import coco as coco_format

    data = coco_format.decode(coco_doc())
    with pytest.raises(ValueError, match="layout='aic'"):
        aic.encode(data)
    from fiftyone_pose.core.layouts import to_layout

    native = aic.encode(to_layout(data, "aic"), flavor="native")
    assert (
        len(native) == 3 and sum(len(r["human_annotations"]) for r in native) == 3
    )  # the crowd region is not a person
    assert native[0]["keypoint_annotations"]["human1"][-3:] == [0, 0, 3]  # neck: not in COCO


# ------------------------------------------------------------------------------------ FiftyOne


@pytest.fixture
def native_with_images(tmp_path):
    from PIL import Image

    src = write_json(tmp_path / "ann" / "keypoint_train_annotations.json", aic_native_doc())
    images = tmp_path / "images"
    images.mkdir()
    for i, name in enumerate(aic.decode(aic_native_doc()).images.file_names):
        Image.new("RGB", (640 + i, 480)).save(images / name)
    return src, images


def test_fiftyone_round_trip_skeleton_sizes_and_coco_export(fo_db, native_with_images, tmp_path):
    import fiftyone_pose as fop

    src, images = native_with_images
    ds = fop.load(src, format="aic", images_dir=images)
    assert ds.skeletons["ground_truth"].labels == list(aic.layout().keypoints)
    assert ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"] == list(aic.layout().sigmas)
    s = ds.first()
    assert (s.metadata.width, s.metadata.height) == (640, 480)  # from the image header
    assert s.source_image_id == AIC_HASH_1 and s.url == "http://example.invalid/a.jpg"
    person = s.ground_truth.keypoints[1]
    assert person.human_key == "human1" and person.visibility[:3] == [2, 1, 0]
    assert person.raw_keypoints[2:9:3] == [1, 2, 3]  # the native flags
    native = tmp_path / "native.json"
    fop.export(ds, native, format="aic", overwrite=True)
    assert native.read_bytes() == orjson.dumps(aic_native_doc())  # key order too
    out = tmp_path / "coco.json"
    fop.export(ds, out, format="coco", overwrite=True)
    exported = assert_export_evaluates(out, "aic")
    assert exported["images"][0]["width"] == 640  # known now

    # a point hidden by a view is written as "not labeled" (3) in the native file
    view = ds.filter_keypoints("ground_truth", labels=["right_shoulder", "neck"])
    fop.export(view, native, format="aic", overwrite=True)
    kp = json.loads(native.read_text())[0]["keypoint_annotations"]["human1"]
    assert kp[2] == 1 and kp[5] == 3 and kp[3:5] == [0, 0]


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=aic_native_docs(fiftyone=True, max_images=3))
def test_generated_native_files_survive_fiftyone(fo_db, tmp_path, doc):
    from PIL import Image

    import fiftyone_pose as fop

    for rec in doc:  # the sizes come from the image headers
        Image.new("RGB", (64, 48)).save(tmp_path / f"{rec['image_id']}.jpg")
    src = write_json(tmp_path / "gen.json", doc)
    ds = fop.load(src, format="aic", images_dir=tmp_path)
    try:
        out = tmp_path / "out.json"
        fop.export(ds, out, format="aic", overwrite=True)
        assert out.read_bytes() == orjson.dumps(doc)  # the file's key order too
    finally:
        ds.delete()


def test_import_of_a_native_file_streams(fo_db, native_with_images, monkeypatch):
    """``fop.load`` and the CLI read a native file as COCO's: a stream, a chunk of images at a time."""
    from fiftyone_pose.fo.api import read_for_import

    src, images = native_with_images
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    data, _ = read_for_import(src, "aic", images)
    assert isinstance(data, PoseStream) and len(data.images) == 3
    assert [len(chunk) for chunk in data] == [3, 1, 0]
