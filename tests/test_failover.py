"""A replica set's failover met by an import or an export, simulated in-process: an insert batch
broken off after part of it was stored, a read whose cursor the failover killed, a failover that
does not end. Each sample is stored exactly once, the export reads again from the start, or the
command fails with a ``DatabaseError`` and leaves nothing (tests/test_replica_set.py does the
same against three real ``mongod``)."""

from __future__ import annotations

import json

import pymongo
import pytest
from helpers import coco_doc

import fiftyone_pose as fop
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.fo import adapter, documents, reader
from fiftyone_pose.fo.api import leftover_datasets


@pytest.fixture
def coco_file(tmp_path):
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(coco_doc()))
    return path


@pytest.fixture
def no_wait(monkeypatch):
    monkeypatch.setattr(documents.time, "sleep", lambda seconds: None)


def test_an_insert_broken_off_midway_is_sent_again_and_stores_each_sample_once(
    fo_db, coco_file, tmp_path, dataset_name, monkeypatch, no_wait
):
    real = pymongo.collection.Collection.insert_many
    broken = []

    def insert_part_then_fail(self, docs, *args, **kwargs):
        if self.name.startswith("samples.") and not broken:
            broken.append(len(docs))
            real(self, docs[:2], *args, **kwargs)  # stored, but the acknowledgement is lost
            raise pymongo.errors.AutoReconnect("connection closed: the primary stepped down")
        return real(self, docs, *args, **kwargs)

    monkeypatch.setattr(pymongo.collection.Collection, "insert_many", insert_part_then_fail)
    ds = fop.load(coco_file, images_dir=tmp_path, name=dataset_name)
    assert broken == [3]
    assert sorted(ds.values("image_id")) == sorted(im["id"] for im in coco_doc()["images"])
    assert first_difference(_exported(ds, tmp_path), coco_doc()) is None


def test_an_export_whose_cursor_a_failover_killed_reads_again(fo_db, coco_file, tmp_path, monkeypatch, no_wait):
    ds = fop.load(coco_file, images_dir=tmp_path)
    monkeypatch.setattr(adapter, "EXPORT_BATCH", 2)
    real, batches = reader.BatchReader.read, []

    def fail_once_on_the_second_batch(self, raw):
        batches.append(1)
        if len(batches) == 2:
            raise pymongo.errors.CursorNotFound("cursor id 42 not found", 43)
        return real(self, raw)

    monkeypatch.setattr(reader.BatchReader, "read", fail_once_on_the_second_batch)
    assert first_difference(_exported(ds, tmp_path), coco_doc()) is None
    assert len(batches) == 4  # two batches, the second failed: read again from the first


def test_a_failover_that_does_not_end_fails_clearly_and_leaves_nothing(
    fo_db, coco_file, tmp_path, dataset_name, monkeypatch, no_wait
):
    def no_primary(self, docs, *args, **kwargs):
        raise pymongo.errors.NotPrimaryError("not primary", {"code": 10107})

    monkeypatch.setattr(pymongo.collection.Collection, "insert_many", no_primary)
    before = set(fo_db.list_datasets())
    with pytest.raises(
        documents.DatabaseError,
        match=r"^the database failed during the import \(not primary.*\); nothing was left half-done$",
    ):
        fop.load(coco_file, images_dir=tmp_path, name=dataset_name)
    assert set(fo_db.list_datasets()) == before and not leftover_datasets()


def test_a_sample_the_server_refuses_is_not_taken_for_a_failover():
    refused = pymongo.errors.BulkWriteError({"writeErrors": [{"index": 0, "code": 15, "errmsg": "too deep"}]})
    stepped_down = pymongo.errors.BulkWriteError({"writeErrors": [{"index": 0, "code": 11602, "errmsg": "x"}]})
    duplicate_ids = pymongo.errors.BulkWriteError(
        {"writeErrors": [{"index": 0, "code": 11000, "keyPattern": {"_id": 1}, "errmsg": "dup"}]}
    )
    # the inserts done, their majority acknowledgement interrupted by the step-down
    concern = pymongo.errors.BulkWriteError(
        {"writeErrors": [], "writeConcernErrors": [{"code": 11602, "errmsg": "operation was interrupted"}]}
    )
    assert not documents.transient(refused)
    assert documents.transient(stepped_down) and documents.transient(duplicate_ids) and documents.transient(concern)
    assert not documents.transient(pymongo.errors.BulkWriteError({"writeErrors": [], "writeConcernErrors": []}))
    assert documents.transient(pymongo.errors.OperationFailure("x", 189))
    assert not documents.transient(pymongo.errors.OperationFailure("bad pipeline", 40324))


def _exported(collection, tmp_path):
    out = tmp_path / "out.json"
    fop.export(collection, out)
    return json.loads(out.read_text())
