"""A file read in a second process (``formats.worker``) gives the stream it gives in-process: the
same header, chunks, notes and errors, at the same point of the stream; the process never
outlives the stream."""

from __future__ import annotations

import gc
import json
import os
import pickle
import sys

import orjson
import psutil
import pytest
from dataset_docs import aic_native_doc, write_json
from test_streaming import COCO_LIKE

from fiftyone_pose import formats
from fiftyone_pose.core.bulk import usable_cpus
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import Option, PoseFormatError, PoseUsageError
from fiftyone_pose.formats import jsonio, worker


def _children() -> list[psutil.Process]:
    """This process's live workers (FiftyOne's database is a child too)."""
    return [
        p for p in psutil.Process().children()
        if p.status() != psutil.STATUS_ZOMBIE and worker.__name__ in " ".join(p.cmdline())
    ]  # fmt: skip


def _written(stream, path, format):
    formats.write_stream(stream, path, format)
    return path.read_bytes(), dict(stream.notes), stream.summary()


@pytest.fixture(autouse=True)
def no_worker_left():
    yield
    gc.collect()
    assert _children() == []


@pytest.mark.parametrize("name", sorted(COCO_LIKE) + ["aic native"])
def test_a_file_read_in_a_worker_is_the_file_read_here(tmp_path, monkeypatch, name):
    """One record per chunk, so the worker sends many chunks; what is written from its stream
    (and the notes and counts) is what is written from the stream read here."""
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)  # the worker cuts chunks as the caller would
    format = name.split()[0]
    src = write_json(tmp_path / "in.json", aic_native_doc() if name == "aic native" else COCO_LIKE[name]())
    here = formats.read_stream(src, format, parallel=False)
    there = formats.read_stream(src, format, parallel=True)
    assert len(there.images) == len(here.images)
    assert _written(there, tmp_path / "there.json", format) == _written(here, tmp_path / "here.json", format)


def test_the_worker_prepares_chunks_while_the_caller_is_behind(tmp_path, monkeypatch):
    """The worker prepares chunks while the caller is still reading the ones before: a slow caller
    gets prepared chunks. A fast one may get some as read (which ones depends on how the two
    processes are scheduled); either way a chunk holds the same persons."""
    import time

    from fiftyone_pose.fo.prepared import Elements, encode_segmentations

    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    doc = COCO_LIKE["coco"]()
    polygon = [[0.5 + j for j in range(12_000)]]  # a chunk's part is larger than the pipe's 64 kB buffer
    doc["annotations"] = [{**a, "id": i + 1, "segmentation": polygon} for i, a in enumerate(doc["annotations"] * 8)]
    src = write_json(tmp_path / "in.json", doc)
    expected = [encode_segmentations(c).segmentations for c in formats.read_stream(src, "coco", parallel=False)]

    def read(pause: float) -> list[bool]:
        prepared, chunks = [], []
        for chunk in formats.read_stream(src, "coco", parallel=True, prepare=encode_segmentations):
            time.sleep(pause)
            prepared.append(any(type(s) is Elements for s in chunk.segmentations))
            chunks.append(chunk.segmentations if prepared[-1] else encode_segmentations(chunk).segmentations)
        assert chunks == expected
        return prepared

    assert all(any(s is not None for s in segmentations) for segmentations in expected)
    assert sum(read(0.05)[1:]) >= len(expected) - 3  # the caller behind: the worker prepares
    read(0.0)  # the caller mostly waiting: chunks prepared or not, the same persons


def test_a_bad_record_in_a_late_chunk_is_raised_at_the_same_point(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    doc = COCO_LIKE["coco"]()
    doc["annotations"][3]["keypoints"][4] = "x"
    src = write_json(tmp_path / "in.json", doc)
    errors, counts = [], []
    for parallel in (False, True):
        chunks = iter(formats.read_stream(src, "coco", parallel=parallel))
        with pytest.raises(PoseFormatError) as err:
            while True:
                counts.append((parallel, len(next(chunks))))
        errors.append(err.value)
    here, there = errors
    assert [c for p, c in counts if p] == [c for p, c in counts if not p]
    assert (str(there), there.path, there.record, there.field) == (str(here), here.path, here.record, here.field)
    assert there.record == "annotations[3] (id 3)" and there.field == "keypoints"


def test_an_error_in_the_header_is_raised_by_read_stream(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps({"images": [{"id": 1, "file_name": 3}], "annotations": []}))
    with pytest.raises(PoseFormatError) as here:
        formats.read_stream(src, "coco", parallel=False)
    with pytest.raises(PoseFormatError) as there:
        formats.read_stream(src, "coco", parallel=True)
    assert str(there.value) == str(here.value) and there.value.field == here.value.field


def test_user_errors_pickle_with_their_parts_and_attributes(tmp_path):
    """So the command line still spells the options of an error raised in the worker its own way."""
    error = PoseFormatError("bad layout; ", Option("layout", "aic"), path=tmp_path, record="images[2]", field="x")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is PoseFormatError and back.parts == error.parts
    assert (back.path, back.record, back.field, str(back)) == (error.path, error.record, error.field, str(error))
    assert back.render(lambda o: f"--{o.name} {o.value}") == error.render(lambda o: f"--{o.name} {o.value}")
    usage = pickle.loads(pickle.dumps(PoseUsageError("unknown format 'x'")))
    assert (
        type(usage) is PoseUsageError and str(usage) == "unknown format 'x'" and usage.args == ("unknown format 'x'",)
    )


def test_a_stream_left_unread_stops_its_worker(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    src = write_json(tmp_path / "in.json", COCO_LIKE["coco"]())
    stream = formats.read_stream(src, "coco", parallel=True)
    assert len(_children()) == 1
    del stream  # never iterated: stopped when let go (no cycle keeps it: no gc.collect needed)
    assert _children() == []
    chunks = iter(formats.read_stream(src, "coco", parallel=True))
    next(chunks)
    del chunks  # left after a chunk
    assert _children() == []
    stream = formats.read_stream(src, "coco", parallel=True).map(lambda d: d)
    next(iter(stream))
    stream.close()  # what a failed import does: the worker stops though the stream is still referenced
    assert _children() == []


def test_a_bug_in_the_worker_says_so_with_its_traceback(tmp_path):
    src = write_json(tmp_path / "in.json", COCO_LIKE["coco"]())
    with pytest.raises(worker.WorkerError, match=r"(?s)failed:.*Traceback.*Error"):
        worker.read_stream(src, "coco", {"skeleton": 5})  # not a layout: fails inside the reader


def test_a_worker_that_cannot_start_is_an_error_if_asked_for_else_the_file_is_read_here(tmp_path, monkeypatch, caplog):
    src = write_json(tmp_path / "in.json", COCO_LIKE["coco"]())
    monkeypatch.setattr(sys, "executable", "/bin/false")  # a Python that is not one
    with pytest.raises(worker.WorkerError, match="could not start|ended without a word"):
        formats.read_stream(src, "coco", parallel=True)
    monkeypatch.setattr(worker, "PARALLEL_BYTES", 0)
    stream = formats.read_stream(src, "coco")
    assert "reading" in caplog.text and "in this process" in caplog.text
    monkeypatch.undo()
    assert _written(stream, tmp_path / "a.json", "coco") == _written(
        formats.read_stream(src, "coco", parallel=False), tmp_path / "b.json", "coco"
    )


def test_the_worker_imports_the_package_this_process_imported(tmp_path, monkeypatch):
    """Not a ``fiftyone_pose`` folder in the working directory (which ``python -c`` would put first)."""
    (tmp_path / "fiftyone_pose").mkdir()
    (tmp_path / "fiftyone_pose" / "__init__.py").write_text("raise ImportError('the wrong package')")
    write_json(tmp_path / "in.json", COCO_LIKE["coco"]())
    monkeypatch.chdir(tmp_path)
    stream = formats.read_stream("in.json", "coco", parallel=True)  # a relative path: the same folder
    assert sum(map(len, stream)) == len(COCO_LIKE["coco"]()["annotations"])


def test_a_worker_that_dies_is_a_bug_not_a_short_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    doc = COCO_LIKE["coco"]()
    one = doc["annotations"][0]
    doc["annotations"] = [{**one, "id": i} for i in range(1, 3001)]  # more than the pipe holds
    src = write_json(tmp_path / "in.json", doc)
    chunks = iter(formats.read_stream(src, "coco", parallel=True))
    next(chunks)
    (child,) = _children()
    child.kill()
    child.wait(10)
    with pytest.raises(worker.WorkerError, match="ended without a word"):
        for _ in chunks:
            pass


def test_files_are_read_in_a_worker_when_large_and_a_second_cpu_is_there(tmp_path, monkeypatch):
    src = tmp_path / "in.json"
    src.write_bytes(orjson.dumps(COCO_LIKE["coco"]()))
    monkeypatch.setattr(worker, "usable_cpus", lambda: 2)
    assert not worker.wanted(src, None)  # small: starting a process costs more than it wins
    assert worker.wanted(src, True) and not worker.wanted(tmp_path / "in.json", False)
    monkeypatch.setattr(worker, "PARALLEL_BYTES", 0)
    assert worker.wanted(src, None)
    npz = tmp_path / "data.npz"
    npz.write_bytes(b"PK\x03\x04" + bytes(100))
    assert not worker.wanted(npz, None)  # read whole (Human3.6M's npz): nothing to overlap
    monkeypatch.setattr(worker, "usable_cpus", lambda: 1)
    assert not worker.wanted(src, None)  # one CPU: the two processes would take turns
    monkeypatch.setattr(worker, "usable_cpus", lambda: 2)
    monkeypatch.setattr(worker, "POSIX", False)  # Windows: no file descriptor to pass; read here, or say why not
    assert not worker.wanted(src, None)
    with pytest.raises(PoseUsageError, match="needs a POSIX system"):
        worker.wanted(src, True)


def test_usable_cpus_are_the_affinity_within_a_containers_quota(tmp_path, monkeypatch):
    quota, own = tmp_path / "cpu.max", str(tmp_path / "no-proc-file")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert usable_cpus(str(tmp_path / "none"), own) == 4  # no cgroup files: the affinity
    for text, cpus in (("max 100000\n", 4), ("250000 100000\n", 2), ("150000 100000\n", 1), ("50000 100000", 1)):
        quota.write_text(text)
        assert usable_cpus(str(tmp_path), own) == cpus, text
    quota.write_text("garbage")
    assert usable_cpus(str(tmp_path), own) == 4
    monkeypatch.delattr(os, "sched_getaffinity")  # macOS
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert usable_cpus(str(tmp_path / "none"), own) == 2


@pytest.mark.parametrize("controller", ["cpu", "cpu,cpuacct"])
def test_a_cgroup_v1_quota_counts_too(tmp_path, monkeypatch, controller):
    """Docker on cgroup v1: ``--cpus 1.5`` writes quota 150000 over period 100000; -1 is none."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    folder = tmp_path / controller
    folder.mkdir()
    (folder / "cpu.cfs_period_us").write_text("100000\n")
    for quota, cpus in (("-1\n", 4), ("150000\n", 1), ("200000\n", 2), ("800000\n", 4)):
        (folder / "cpu.cfs_quota_us").write_text(quota)
        assert usable_cpus(str(tmp_path), str(tmp_path / "no-proc-file")) == cpus, quota


def test_the_smallest_quota_from_the_own_cgroup_up_counts(tmp_path, monkeypatch):
    """A systemd unit's ``CPUQuota`` (v2) or a slice above it; v1's path of a container that sees
    its cgroup as the root (the path is not there: the root's quota counts)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    own = tmp_path / "proc-self-cgroup"
    unit = tmp_path / "v2" / "user.slice" / "app.service"
    unit.mkdir(parents=True)
    own.write_text("0::/user.slice/app.service\n")
    (unit / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(str(tmp_path / "v2"), str(own)) == 4
    (unit.parent / "cpu.max").write_text("200000 100000\n")  # the slice allows 2
    assert usable_cpus(str(tmp_path / "v2"), str(own)) == 2
    (unit / "cpu.max").write_text("100000 100000\n")  # the unit 1
    assert usable_cpus(str(tmp_path / "v2"), str(own)) == 1
    v1 = tmp_path / "v1"
    (v1 / "cpu,cpuacct").mkdir(parents=True)
    own.write_text("4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\nnot a cgroup line\n0::/\n")
    (v1 / "cpu,cpuacct" / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("300000\n")
    assert usable_cpus(str(v1), str(own)) == 3


def test_an_import_whose_file_is_read_in_a_worker_exports_the_file(fo_db, tmp_path, monkeypatch, dataset_name):
    import fiftyone_pose as fop

    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    monkeypatch.setattr(worker, "PARALLEL_BYTES", 0)  # every file, however small
    doc = COCO_LIKE["coco_wholebody"]()
    src = write_json(tmp_path / "in.json", doc)
    reads = []
    monkeypatch.setattr(worker, "read_stream", lambda *a, **k: reads.append(a) or READ_STREAM(*a, **k))
    dataset = fop.load(src, format="coco_wholebody", name=dataset_name)
    assert len(reads) == 1
    fop.export(dataset, tmp_path / "out.json", format="coco_wholebody")
    assert first_difference(orjson.loads((tmp_path / "out.json").read_bytes()), doc) is None


def test_an_import_failing_in_a_late_chunk_read_in_a_worker_leaves_nothing(fo_db, tmp_path, monkeypatch, dataset_name):
    import fiftyone_pose as fop

    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    monkeypatch.setattr(worker, "PARALLEL_BYTES", 0)
    doc = COCO_LIKE["coco"]()
    doc["annotations"][-1]["bbox"] = "x"
    src = write_json(tmp_path / "in.json", doc)
    before = fo_db.list_datasets()
    with pytest.raises(PoseFormatError, match=r"annotations\[\d+\] \(id \d+\): field 'bbox'"):
        fop.load(src, format="coco", name=dataset_name)
    assert fo_db.list_datasets() == before


@pytest.mark.parametrize("flag", ["--parallel", "--no-parallel"])
def test_the_command_line_reads_in_a_worker_as_asked(tmp_path, monkeypatch, flag):
    from fiftyone_pose import cli

    src = write_json(tmp_path / "in.json", COCO_LIKE["halpe"]())
    reads = []
    monkeypatch.setattr(worker, "read_stream", lambda *a, **k: reads.append(a) or READ_STREAM(*a, **k))
    assert cli.main(["convert", str(src), str(tmp_path / "out.json"), "--from", "halpe", "--to", "halpe", flag]) == 0
    assert len(reads) == (flag == "--parallel")
    assert first_difference(orjson.loads((tmp_path / "out.json").read_bytes()), orjson.loads(src.read_bytes())) is None


READ_STREAM = worker.read_stream
