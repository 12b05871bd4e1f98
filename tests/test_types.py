"""The dataset types follow FiftyOne's importer conventions as its own COCO importer does:
``label_field`` of ``from_dir`` / ``merge_dir``, ``max_samples``, ``shuffle`` / ``seed``, and
``labels_path`` / ``data_path`` relative to ``dataset_dir`` with COCO's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import coco_doc

import fiftyone_pose as fop
from fiftyone_pose.core.compare import first_difference


@pytest.fixture
def coco_dir(tmp_path) -> Path:
    """A dataset folder laid out as FiftyOne's COCO importer expects: ``labels.json`` and ``data/``."""
    (tmp_path / "labels.json").write_text(json.dumps(coco_doc()))
    for image in coco_doc()["images"]:
        path = tmp_path / "data" / image["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return tmp_path


def _keypoint_fields(ds) -> list[str]:
    import fiftyone as fo

    return sorted(ds.get_field_schema(embedded_doc_type=fo.Keypoints))


def _fiftyone_coco(fo, coco_dir: Path, **kwargs):
    """FiftyOne's own COCO importer, keypoints only (one label field, as ours writes its keypoints)."""
    return fo.Dataset.from_dir(
        dataset_dir=str(coco_dir), dataset_type=fo.types.COCODetectionDataset, label_types="keypoints", **kwargs
    )


@pytest.mark.parametrize("label_field", [None, "predictions"])
def test_from_dir_names_the_field_and_finds_the_files_as_fiftyone_coco(fo_db, coco_dir, tmp_path, label_field):
    fo = fo_db
    theirs = _fiftyone_coco(fo, coco_dir, label_field=label_field)
    ours = fo.Dataset.from_dir(
        dataset_dir=str(coco_dir), dataset_type=fop.types.COCOPoseDataset, label_field=label_field
    )
    assert _keypoint_fields(ours) == _keypoint_fields(theirs) == [label_field or "ground_truth"]
    assert sorted(ours.values("filepath")) == sorted(theirs.values("filepath"))  # labels.json, data/
    field = label_field or "ground_truth"
    assert ours.count(f"{field}.keypoints") == 4
    out = tmp_path / "out.json"
    fop.export(ours, out, label_field=field)
    assert first_difference(json.loads(out.read_text()), coco_doc()) is None


def test_merge_dir_writes_into_the_label_field(fo_db, coco_dir, tmp_path):
    fo = fo_db
    theirs = _fiftyone_coco(fo, coco_dir)
    theirs.merge_dir(
        dataset_dir=str(coco_dir),
        dataset_type=fo.types.COCODetectionDataset,
        label_types="keypoints",
        label_field="predictions",
    )
    ours = fo.Dataset.from_dir(dataset_dir=str(coco_dir), dataset_type=fop.types.COCOPoseDataset)
    ours.merge_dir(dataset_dir=str(coco_dir), dataset_type=fop.types.COCOPoseDataset, label_field="predictions")
    assert _keypoint_fields(ours) == _keypoint_fields(theirs) == ["ground_truth", "predictions"]
    assert len(ours) == 3
    for field in ("ground_truth", "predictions"):  # both fields keep what their import recorded
        out = tmp_path / f"{field}.json"
        fop.export(ours, out, label_field=field)
        assert first_difference(json.loads(out.read_text()), coco_doc()) is None


def test_max_samples_shuffle_and_seed(fo_db, coco_dir):
    fo = fo_db
    doc = coco_doc()
    ids = [im["id"] for im in doc["images"]]

    def imported(**kwargs):
        ds = fo.Dataset.from_dir(dataset_dir=str(coco_dir), dataset_type=fop.types.COCOPoseDataset, **kwargs)
        return ds, ds.values("image_id")

    ds, first = imported(max_samples=2)
    assert first == ids[:2]  # the first images of the file, with their persons
    persons = [a for a in doc["annotations"] if a["image_id"] in ids[:2]]
    assert sorted(ds.values("ground_truth.keypoints.person_id", unwind=True)) == sorted(a["id"] for a in persons)
    assert imported(max_samples=0)[1] == []
    orders = {tuple(imported(shuffle=True, seed=seed)[1]) for seed in range(8)}
    assert all(sorted(order) == sorted(ids) for order in orders) and len(orders) > 1  # shuffled, all kept
    picked = imported(shuffle=True, seed=3, max_samples=2)[1]
    assert picked == imported(shuffle=True, seed=3, max_samples=2)[1] == list(imported(shuffle=True, seed=3)[1][:2])


@pytest.mark.parametrize("kwargs", [{}, {"shuffle": True, "seed": 5, "max_samples": 2}])
def test_from_dir_streams_the_file_through_the_reading_process_as_load_does(fo_db, coco_dir, monkeypatch, kwargs):
    """A large file is read a chunk of persons at a time in a second process (forced here for a small
    one): the samples, persons and the pose info are those of the same import read in this process."""
    from fiftyone_pose.formats import worker

    fo = fo_db

    def imported(parallel_bytes: int):
        monkeypatch.setattr(worker, "PARALLEL_BYTES", parallel_bytes)
        monkeypatch.setattr(worker, "usable_cpus", lambda: 2)
        started = []
        start = worker._Source.start
        monkeypatch.setattr(worker._Source, "start", classmethod(lambda cls: started.append(1) or start()))
        ds = fo.Dataset.from_dir(dataset_dir=str(coco_dir), dataset_type=fop.types.COCOPoseDataset, **kwargs)
        rows = ds.values(["image_id", "ground_truth.keypoints.person_id", "ground_truth.keypoints.raw_keypoints"])
        return bool(started), rows, ds.info["fiftyone_pose"]

    in_worker, rows, info = imported(0)
    here, rows_here, info_here = imported(1 << 60)
    assert in_worker and not here
    assert rows == rows_here and info == info_here


def test_labels_path_relative_to_dataset_dir(fo_db, coco_dir):
    fo = fo_db
    (coco_dir / "labels.json").rename(coco_dir / "person_keypoints.json")
    ds = fo.Dataset.from_dir(
        dataset_dir=str(coco_dir), dataset_type=fop.types.COCOPoseDataset, labels_path="person_keypoints.json"
    )
    assert ds.count("ground_truth.keypoints") == 4
    assert ds.first().filepath == str(coco_dir / "data" / coco_doc()["images"][0]["file_name"])
