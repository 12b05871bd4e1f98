"""PoseTrack18 on the COCO-like base: the authors' per-video files and mmpose's merged files read
and written back identical (generated documents too; a chunk at a time: tests/test_streaming.py),
frame and person keys kept, detection apart from COCO, a COCO export evaluated by pycocotools, and
the FiftyOne round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from coco_eval import assert_export_evaluates
from dataset_docs import write_json
from helpers import coco_doc
from hypothesis import HealthCheck, given, settings
from posetrack_docs import NAMES, merged_doc, posetrack_docs, video_doc

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseUsageError
from fiftyone_pose.formats import coco, posetrack
from fiftyone_pose.formats.protocol import Confidence, Peek

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DOCS = {"video": video_doc, "merged": merged_doc}


def roundtrip(doc):
    return posetrack.encode(posetrack.decode(json.loads(json.dumps(doc))))


@pytest.mark.parametrize("flavor", sorted(DOCS))
def test_example_roundtrips_exactly(flavor):
    assert first_difference(roundtrip(DOCS[flavor]()), DOCS[flavor]()) is None


def test_model_layout_frame_and_person_keys():
    data = posetrack.decode(video_doc())
    p, im = data.persons, data.images
    assert data.skeleton.name == "posetrack" and data.skeleton.keypoints[1:3] == ("head_bottom", "head_top")
    assert data.categories == video_doc()["categories"]  # kept verbatim (COCO's skeleton), not the layout
    assert (im.widths == 0).all() and (im.heights == 0).all()  # no sizes in the authors' files
    assert im.extras[1]["vid_id"] == "000342" and im.extras[1]["frame_id"] == 10003420001
    assert im.extras[1]["is_labeled"] is True and im.extras[1]["nframes"] == 4
    assert im.extras[1]["ignore_regions_x"] == [[10, 60.5, 60.5, 10], [900, 950, 925]]
    assert "ignore_regions_x" not in im.extras[0]
    assert p.image_index.tolist() == [1, 1, 2]  # unlabelled frames hold nobody
    assert p.extras[1] == {"bbox_head": [210, 80, 38, 45], "track_id": 1, "scores": []}
    # labelled points are flagged 1 and kept as stored; the ears are never labelled
    assert p.visibility[0].tolist() == [1, 1, 1, 0, 0] + [1] * 12 and p.visibility_raw is None
    assert np.isnan(p.areas).all() and (p.num_keypoints == -1).all() and not p.crowd.any()
    assert "num_keypoints" in p.absent and not {"area", "iscrowd"} & set(p.absent)  # derived keys (see CocoLike)
    assert data.skeleton.flip_pairs[0] == (3, 4) and data.skeleton.sigmas[:3] == (0.026, 0.025, 0.025)


def test_merged_file_keeps_sizes_counts_and_person_ids():
    data = posetrack.decode(merged_doc())
    assert data.images.widths.tolist() == [1920, 1920, 1280]
    assert data.persons.num_keypoints.tolist() == [15, 6]
    assert [e["person_id"] for e in data.persons.extras] == [1, 2]


def test_missing_optional_keys_stay_missing():
    doc = video_doc()
    del doc["categories"]
    del doc["annotations"][0]["bbox"], doc["annotations"][1]["bbox_head"]
    doc["annotations"][2]["area"] = 100.5  # a file with an area keeps it
    assert first_difference(roundtrip(doc), doc) is None


@SETTINGS
@given(posetrack_docs())
def test_generated_files_roundtrip_exactly(doc):
    assert first_difference(roundtrip(doc), doc) is None


# ------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize("flavor", sorted(DOCS))
def test_detected_as_certain_by_its_keys(tmp_path, flavor):
    """(That no other format claims it, and PoseTrack no other file: tests/test_dataset_detection.py.)"""
    path = write_json(tmp_path / "000342_mpii_test.json", DOCS[flavor]())
    assert posetrack.detect(Peek(path)) == Confidence.CERTAIN


def test_detected_by_the_category_names_alone(tmp_path):
    """A copy stripped of PoseTrack's keys is still told from COCO by its category's names."""
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [],
           "categories": video_doc()["categories"]}  # fmt: skip
    path = write_json(tmp_path / "val.json", doc)
    assert posetrack.detect(Peek(path)) == Confidence.LIKELY and formats.detect(path) == "posetrack"


def test_coco_is_not_posetrack_and_the_coco_reader_finds_the_layout(tmp_path):
    doc = coco_doc()
    for a in doc["annotations"]:  # a COCO-style tracking file: track ids alone are not PoseTrack's
        a["track_id"] = a["id"]
    path = write_json(tmp_path / "person_keypoints_val2017.json", doc)
    assert posetrack.detect(Peek(path)) == Confidence.NO and formats.detect(path) == "coco"
    src = write_json(tmp_path / "video.json", video_doc())
    assert coco.read(src).skeleton.name == "posetrack"  # read as plain COCO: the names find the layout


# -------------------------------------------------------------------------------- COCO export


def test_coco_export_adds_area_and_iscrowd_and_evaluates(tmp_path):
    src = write_json(tmp_path / "000342_mpii_test.json", video_doc())
    out = tmp_path / "coco.json"
    formats.write(formats.read(src), out, "coco")
    doc = assert_export_evaluates(out, "posetrack")
    a = doc["annotations"][0]
    assert a["area"] == 220.5 * 410.0 and a["iscrowd"] == 0 and a["num_keypoints"] == 15
    assert a["track_id"] == 0 and doc["images"][1]["vid_id"] == "000342"
    assert doc["categories"][0]["keypoints"] == NAMES
    # the COCO export read back as PoseTrack keeps what it gained
    again = posetrack.encode(posetrack.decode(json.loads(out.read_text())))
    assert again["annotations"][0]["area"] == 220.5 * 410.0


def test_other_layouts_are_refused_with_the_layout_named(tmp_path):
    with pytest.raises(PoseUsageError, match="PoseTrack18 needs the 'posetrack' layout"):
        formats.write(formats.read(write_json(tmp_path / "c.json", coco_doc())), tmp_path / "p.json", "posetrack")
    assert not (tmp_path / "p.json").exists()


# ------------------------------------------------------------------------------------ FiftyOne


def _frames_on_disk(root, doc, size=(64, 48)):
    from PIL import Image

    for image in doc["images"]:
        path = root / image["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (image["width"], image["height"]) if "width" in image else size).save(path)


def test_fiftyone_round_trip_fields_attributes_and_coco_export(fo_db, tmp_path):
    import fiftyone_pose as fop

    src = write_json(tmp_path / "posetrack18_val.json", merged_doc())
    ds = fop.load(src, format="posetrack", images_dir=tmp_path)
    assert ds.skeletons["ground_truth"].labels == NAMES
    assert ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"] == list(skeletons.load("posetrack").sigmas)
    s = ds.skip(1).first()
    assert (s.vid_id, s.frame_id, s.is_labeled, s.nframes) == ("000342", 10003420001, True, 2)
    assert s.ignore_regions_x == [[1, 2, 3]] and s.ignore_regions_y == [[4, 5.5, 6]]
    person = s.ground_truth.keypoints[0]
    assert (person.track_id, person.bbox_head) == (0, [612, 96, 41, 52])
    # ``person_id`` is the record's ``id`` here: the file's key of that name is kept as extra JSON
    assert person.person_id == 1000342000100 and json.loads(person.extra_json)["person_id"] == 1
    out = tmp_path / "out.json"
    fop.export(ds, out, format="posetrack")
    assert first_difference(json.loads(out.read_text()), merged_doc()) is None
    fop.export(ds.match(fo_db.ViewField("vid_id") == "014102"), out, overwrite=True)  # the format imported, one video
    assert [im["vid_id"] for im in json.loads(out.read_text())["images"]] == ["014102"]
    fop.export(ds, out, format="coco", overwrite=True)
    assert_export_evaluates(out, "posetrack")


def test_fiftyone_reads_the_sizes_a_video_file_lacks_from_the_frames(fo_db, tmp_path):
    import fiftyone_pose as fop

    _frames_on_disk(tmp_path, video_doc())
    src = write_json(tmp_path / "annotations" / "val" / "000342_mpii_test.json", video_doc())
    ds = fop.load(src, images_dir=tmp_path)  # sniffed
    assert ds.info["fiftyone_pose"]["ground_truth"]["format"] == "posetrack"
    assert ds.first().metadata.width == 64
    out = tmp_path / "out.json"
    fop.export(ds, out)
    doc = json.loads(out.read_text())
    for image in doc["images"]:  # known now, and written
        assert (image.pop("width"), image.pop("height")) == (64, 48)
    assert first_difference(doc, video_doc()) is None


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=posetrack_docs(fiftyone=True, max_images=3))
def test_generated_files_survive_fiftyone(fo_db, tmp_path_factory, doc):
    import fiftyone_pose as fop

    root = tmp_path_factory.mktemp("posetrack")
    _frames_on_disk(root, doc)
    ds = fop.load(write_json(root / "gen.json", doc), format="posetrack", images_dir=root)
    try:
        out = root / "out.json"
        fop.export(ds, out, format="posetrack")
        back = json.loads(out.read_text())
        for image, source in zip(back["images"], doc["images"]):
            if "width" not in source:  # read from the frame, and written
                del image["width"], image["height"]
        assert first_difference(back, doc) is None
    finally:
        ds.delete()
