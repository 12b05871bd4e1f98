"""The pure layer streams: a COCO-like file is read as a header and chunks of persons and written
from them, so ``convert`` needs memory for a chunk and the images table, not the file; the output
is exact, errors found late name file, record and field, and nothing is written on failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from dataset_docs import aic_coco_doc, crowdpose_doc, humanart_doc, mhp_coco_doc, ochuman_coco_doc
from h36m_docs import h36m_coco_doc
from helpers import coco_doc
from helpers_wholebody import halpe_doc, wholebody_doc
from mpii_trb_docs import mpii_trb_doc
from posetrack_docs import merged_doc

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.core.stream import PoseStream
from fiftyone_pose.formats import coco, jsonio
from fiftyone_pose.formats.protocol import StreamingFormat

ROOT = Path(__file__).resolve().parents[1]
COCO_LIKE = {
    "coco": coco_doc,
    "coco_wholebody": wholebody_doc,
    "halpe": halpe_doc,
    "crowdpose": crowdpose_doc,
    "humanart": humanart_doc,
    "mpii_trb": mpii_trb_doc,
    "aic": aic_coco_doc,
    "mhp": mhp_coco_doc,
    "ochuman": ochuman_coco_doc,
    "h36m": h36m_coco_doc,
    "posetrack": merged_doc,
}


@pytest.mark.parametrize("name", sorted(COCO_LIKE))
def test_every_coco_like_file_converts_a_record_per_chunk_exactly(tmp_path, monkeypatch, name):
    """One record per chunk: the streamed file is the file, and what whole read + write gives."""
    doc = COCO_LIKE[name]()
    src = tmp_path / f"{name}.json"
    src.write_bytes(orjson.dumps(doc))
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    stream = formats.read_stream(src, name)
    assert isinstance(formats.get(name), StreamingFormat)
    formats.write_stream(stream, tmp_path / "streamed.json", name)
    formats.write(formats.read(src, name), tmp_path / "whole.json", name)
    assert first_difference(orjson.loads((tmp_path / "streamed.json").read_bytes()), doc) is None
    assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()


def test_conversion_to_another_format_and_layout_streams_with_its_notes(tmp_path, monkeypatch):
    src = tmp_path / "coco_wholebody.json"
    src.write_bytes(orjson.dumps(wholebody_doc()))
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    stream = formats.convert(src, tmp_path / "halpe.json", "coco_wholebody", "halpe", layout="halpe")
    whole = formats.read(src, "coco_wholebody")
    formats.write(whole, tmp_path / "whole.json", "halpe", layout="halpe")
    assert (tmp_path / "halpe.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    summary = stream.summary()
    assert summary["persons"] + summary["crowd_regions"] == len(whole.persons)
    assert any("written unlabeled" in reason for reason in summary["notes"])  # Halpe points WholeBody lacks


def test_a_bad_record_in_a_late_chunk_is_named_and_nothing_is_written(tmp_path, monkeypatch):
    doc = coco_doc()
    doc["annotations"][3]["keypoints"][4] = "x"
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    with pytest.raises(PoseFormatError) as err:
        (tmp_path / "out").mkdir()
        formats.convert(src, tmp_path / "out" / "converted.json", "coco", "crowdpose", layout="crowdpose")
    assert str(err.value).startswith(f"{src}: annotations[3] (id 3): field 'keypoints': expected numbers")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_invalid_json_in_a_late_chunk_names_line_and_column(tmp_path, monkeypatch):
    text = json.dumps(coco_doc(), indent=1).replace('"id": 3,', '"id": 3,,')
    src = tmp_path / "in.json"
    src.write_text(text)
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    with pytest.raises(PoseFormatError) as err:
        formats.convert(src, tmp_path / "out.json", "coco")
    with pytest.raises(PoseFormatError) as whole:
        jsonio.load_json(src)
    assert str(err.value) == str(whole.value) and "line" in err.value.record
    assert not (tmp_path / "out.json").exists()


def test_a_format_that_does_not_stream_takes_the_stream_whole(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps(coco_doc()))
    stream = formats.read_stream(src, "coco")
    formats.write_stream(stream, tmp_path / "mpii.json", "mpii", layout="mpii")
    whole = formats.read(src, "coco")
    formats.write(whole, tmp_path / "whole.json", "mpii", layout="mpii")
    assert (tmp_path / "mpii.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    notes = stream.header.notes  # the notes of the conversion and of the writer reach the stream's header
    assert notes["crowd regions not written (MPII has none)"] == 1
    assert notes["points of layout 'mpii' missing in 'coco', written unlabeled"] == 16


# ----------------------------------------------------------------------------------- PoseStream


def test_stream_of_data_chunks_collects_and_counts():
    data = coco.decode(coco_doc())
    stream = PoseStream.of(data, chunk_size=1)
    chunks = list(stream)
    assert [len(c) for c in chunks] == [1] * len(data.persons)
    assert stream.summary() == data.summary()
    again = PoseStream.of(data, chunk_size=3).collect()
    assert np.array_equal(again.persons.keypoints, data.persons.keypoints) and again.persons.ids.tolist() == [
        *data.persons.ids.tolist()
    ]
    with pytest.raises(RuntimeError, match="consumed once"):
        list(stream)


def test_map_shares_the_notes_and_sums_them_per_chunk():
    from fiftyone_pose.core.layouts import to_layout

    data = coco.decode(coco_doc())
    stream = PoseStream.of(data, chunk_size=2)
    halpe = stream.map(lambda d: to_layout(d, "halpe")).collect()
    whole = to_layout(data, "halpe")
    assert halpe.notes == whole.notes and halpe.notes is stream.header.notes
    assert np.array_equal(halpe.persons.keypoints, whole.persons.keypoints)


@pytest.mark.parametrize("rows", [[2, 0], [1], [], [0, 1, 2]])
def test_take_images_of_a_stream_equals_take_images_of_the_whole(rows):
    from fiftyone_pose.core.model import take_images

    data = coco.decode(coco_doc())
    assert len(data.images) == 3
    taken = PoseStream.of(data, chunk_size=1).take_images(rows)
    whole = take_images(data, np.array(rows, np.int64))
    got = taken.collect()
    assert got.images.ids.tolist() == whole.images.ids.tolist() and got.images.file_names == whole.images.file_names
    assert got.persons.ids.tolist() == whole.persons.ids.tolist()
    assert got.persons.image_index.tolist() == whole.persons.image_index.tolist()
    assert np.array_equal(got.persons.keypoints, whole.persons.keypoints)
    assert got.notes is data.notes  # the reader's late notes still reach the new stream


class _Closable:
    def __init__(self, chunks):
        self.chunks, self.closed = iter(chunks), False

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.chunks)

    def close(self):
        self.closed = True


def test_a_failure_in_map_closes_the_source():
    """What reads the source (a worker process) stops when ``fn`` fails on a chunk, not only when
    the derived stream is closed."""
    data = coco.decode(coco_doc())
    source = _Closable([data.persons, data.persons])
    stream = PoseStream(PoseStream.of(data).header, source)

    def fail(d):
        if len(d.persons):
            raise ValueError("bad chunk")
        return d

    with pytest.raises(ValueError, match="bad chunk"):
        list(stream.map(fail))
    assert source.closed


@pytest.mark.parametrize("derive", ["map", "take_images"])
def test_closing_a_derived_stream_before_its_first_chunk_closes_its_source(derive):
    """What reads the source (a worker process) stops also when the derived stream is closed before
    a chunk was asked for: a generator not started ignores ``close``."""
    data = coco.decode(coco_doc())
    header = PoseStream.of(data).header
    source = _Closable([data.persons])
    stream = PoseStream(header, source)
    derived = stream.map(lambda d: d) if derive == "map" else stream.take_images([0])
    derived.close()
    assert source.closed


# ---------------------------------------------------------------------------------------- memory

# the peak RSS of this process's memory (VmHWM: ru_maxrss would count a forking parent's peak too)
_CONVERT = """
import sys
from fiftyone_pose import formats

def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

before = peak()
formats.convert(sys.argv[1], sys.argv[2], "coco", "coco")
print(peak() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc (Linux)")
def test_convert_memory_does_not_grow_with_the_file(tmp_path):
    """Peak RSS above the imports, converting a generated COCO file of 3k and of 24k images in
    fresh processes: 8x the file, well under 2.5x the memory (the images table grows, the chunk
    of persons does not: 35 and 27 MB measured with 1 MB chunks, 55 -> 94 MB with 4 MB chunks;
    read and written whole, 49 -> 165 MB)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.generate import write_coco

    deltas = []
    for n in (3000, 24000):
        src, dst = tmp_path / f"in{n}.json", tmp_path / f"out{n}.json"
        write_coco(src, n, "coco", seed=1)
        out = subprocess.run(
            [sys.executable, "-c", _CONVERT, str(src), str(dst)], capture_output=True, text=True, check=True
        )
        deltas.append(int(out.stdout.split()[-1]))
        assert dst.read_bytes() == src.read_bytes() or orjson.loads(dst.read_bytes()) == orjson.loads(src.read_bytes())
        src.unlink()
        dst.unlink()
    assert deltas[1] < 2.5 * deltas[0], deltas


def test_sorted_spill_gives_every_person_back_in_key_order():
    from fiftyone_pose.core.model import Persons
    from fiftyone_pose.core.stream import SortedSpill

    data = coco.decode(coco_doc())
    rng = np.random.default_rng(3)
    batches = [data.persons.take(rng.integers(0, len(data.persons), n)) for n in (5, 0, 7, 3)]
    keys = [rng.integers(0, 4, len(b)) for b in batches]  # ties: the order added
    with SortedSpill(data.persons.num_points, piece=2) as spill:
        for b, k in zip(batches, keys):
            spill.add(b, k, np.arange(len(k)) + 100 * len(k))
        got = list(spill.chunks(4))
    assert [len(p) for p, _ in got] == [4, 4, 4, 3]
    everything = Persons.concat(batches, data.persons.num_points)
    order = np.argsort(np.concatenate(keys), kind="stable")
    want = everything.take(order)
    back = PoseStream(PoseStream.of(data).header, [p for p, _ in got]).collect().persons
    assert back.ids.tolist() == want.ids.tolist() and back.segmentations == want.segmentations
    assert np.array_equal(back.keypoints, want.keypoints) and back.extras == want.extras
    aux = np.concatenate([np.arange(len(k)) + 100 * len(k) for k in keys])[order]
    assert np.concatenate([a for _, a in got]).tolist() == aux.tolist()
