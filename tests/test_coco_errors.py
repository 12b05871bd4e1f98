"""Malformed COCO input: every error names the file, the record and the field, on one line.

Pure layer: no FiftyOne, no database. Each case is a small mutation of ``coco_doc()``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import coco_doc

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.core.stream import PoseStream
from fiftyone_pose.formats import coco, cocolike, jsonio

BIG = 2**63  # one past int64: orjson reads it (up to 2^64 - 1), the model cannot hold it


def _write(tmp_path: Path, doc: Any, name: str = "person_keypoints.json") -> Path:
    path = tmp_path / name
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def _read_error(path: Path) -> PoseFormatError:
    with pytest.raises(PoseFormatError) as info:
        coco.read(path)
    err = info.value
    assert err.path == os.fspath(path)
    text = str(err)
    assert "\n" not in text and "\r" not in text
    assert text.startswith(f"{path}: ")
    return err


def _set(*keys: Any, value: Any) -> Callable[[dict], None]:
    """A mutation setting ``doc[k0][k1]...[kn] = value``."""

    def mutate(doc: dict) -> None:
        obj = doc
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value

    return mutate


def _delete(*keys: Any) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        obj = doc
        for k in keys[:-1]:
            obj = obj[k]
        del obj[keys[-1]]

    return mutate


def _pop_keypoint_value(doc: dict) -> None:
    doc["annotations"][3]["keypoints"].pop()


def _area_string_with_absent(doc: dict) -> None:
    # area absent on one record: the "optional key" code path must still name annotations[3]
    del doc["annotations"][0]["area"]
    doc["annotations"][3]["area"] = "4000"


def _bbox_string_with_absent(doc: dict) -> None:
    del doc["annotations"][0]["bbox"]
    doc["annotations"][3]["bbox"][1] = "x"


def _annotation_without_id_unknown_category(doc: dict) -> None:
    del doc["annotations"][3]["id"]
    doc["annotations"][3]["category_id"] = 2


# (id, mutation, record, field, words the message must contain)
#: record is matched exactly: the index, plus "(id N)" when the record has a usable id
CASES = [
    ("images-missing", _delete("images"),
     "top level", "images", "missing"),
    ("images-not-a-list", _set("images", value={"id": 7}),
     "top level", "images", "expected a list, found dict"),
    ("annotations-not-a-list", _set("annotations", value="none"),
     "top level", "annotations", "expected a list, found str"),
    ("image-not-an-object", _set("images", 1, value=5),
     "images[1]", None, "expected an object, found int"),
    ("image-without-id", _delete("images", 1, "id"),
     "images[1]", "id", "required key is missing"),
    ("image-id-string", _set("images", 1, "id", value="3000000000"),
     "images[1] (id 3000000000)", "id", "expected an integer id, found '3000000000'"),
    ("image-id-float", _set("images", 2, "id", value=11.0),
     "images[2] (id 11.0)", "id", "expected an integer id, found 11.0"),
    ("image-id-beyond-int64", _set("images", 2, "id", value=BIG),
     f"images[2] (id {BIG})", "id", f"expected an integer id, found {BIG}"),
    ("image-ids-duplicate", _set("images", 2, "id", value=7),
     "images[2]", "id", "duplicate id 7 (also used by images[0])"),
    ("image-file-name-missing", _delete("images", 2, "file_name"),
     "images[2] (id 11)", "file_name", "required key is missing"),
    ("image-width-negative", _set("images", 1, "width", value=-5),
     "images[1] (id 3000000000)", "width", "non-negative whole number, found -5"),
    ("image-width-string", _set("images", 1, "width", value="500"),
     "images[1] (id 3000000000)", "width", "expected a number, found '500'"),
    ("image-width-fraction", _set("images", 1, "width", value=500.5),
     "images[1] (id 3000000000)", "width", "whole number, found 500.5"),
    ("image-height-huge-float", _set("images", 2, "height", value=1e300),
     "images[2] (id 11)", "height", "whole number, found 1e+300"),
    ("image-height-beyond-int64", _set("images", 2, "height", value=BIG),
     "images[2] (id 11)", "height", f"expected a number, found {BIG}"),
    ("annotation-not-an-object", _set("annotations", 3, value=[1]),
     "annotations[3]", None, "expected an object, found list"),
    ("annotation-ids-duplicate", _set("annotations", 3, "id", value=1),
     "annotations[3]", "id", "duplicate id 1 (also used by annotations[0])"),
    ("annotation-id-string", _set("annotations", 3, "id", value="3"),
     "annotations[3] (id 3)", "id", "expected an integer id, found '3'"),
    ("annotation-without-image-id", _delete("annotations", 3, "image_id"),
     "annotations[3] (id 3)", "image_id", "required key is missing"),
    ("annotation-image-id-string", _set("annotations", 3, "image_id", value="7"),
     "annotations[3] (id 3)", "image_id", "expected an integer image id, found '7'"),
    ("annotation-unknown-image", _set("annotations", 3, "image_id", value=99),
     "annotations[3] (id 3)", "image_id", "refers to image id 99, which is not in 'images'"),
    ("annotation-image-id-beyond-int64", _set("annotations", 3, "image_id", value=BIG),
     "annotations[3] (id 3)", "image_id", f"found {BIG}"),
    ("annotation-unknown-category", _set("annotations", 3, "category_id", value=2),
     "annotations[3] (id 3)", "category_id", "refers to category id 2, which is not in 'categories'"),
    ("annotation-without-id-unknown-category", _annotation_without_id_unknown_category,
     "annotations[3]", "category_id", "refers to category id 2"),
    ("keypoints-missing", _delete("annotations", 3, "keypoints"),
     "annotations[3] (id 3)", "keypoints", "required key is missing"),
    ("keypoints-not-a-list", _set("annotations", 3, "keypoints", value={}),
     "annotations[3] (id 3)", "keypoints", "expected a list, found {}"),
    ("keypoints-length-50", _pop_keypoint_value,
     "annotations[3] (id 3)", "keypoints", "has 50 values, expected 51 (3 x 17 keypoints)"),
    ("keypoints-length-54", _set("annotations", 2, "keypoints", value=[0] * 54),
     "annotations[2] (id 2)", "keypoints", "has 54 values, expected 51"),
    ("keypoints-string", _set("annotations", 3, "keypoints", 4, value="1"),
     "annotations[3] (id 3)", "keypoints", "expected numbers, found '1'"),
    ("keypoints-null", _set("annotations", 3, "keypoints", 4, value=None),
     "annotations[3] (id 3)", "keypoints", "expected numbers, found None"),
    ("keypoints-nested-list", _set("annotations", 3, "keypoints", 4, value=[1, 2]),
     "annotations[3] (id 3)", "keypoints", "expected numbers, found [1, 2]"),
    ("keypoints-bool", _set("annotations", 0, "keypoints", 2, value=True),
     "annotations[0] (id 1)", "keypoints", "expected numbers, found True"),
    ("keypoints-int-beyond-2^53", _set("annotations", 3, "keypoints", 0, value=2**53 + 1),
     "annotations[3] (id 3)", "keypoints", "2^53"),
    ("bbox-length-3", _set("annotations", 3, "bbox", value=[100, 100, 50]),
     "annotations[3] (id 3)", "bbox", "expected a list [x, y, w, h], found [100, 100, 50]"),
    ("bbox-string", _set("annotations", 3, "bbox", 1, value="x"),
     "annotations[3] (id 3)", "bbox", "expected numbers, found 'x'"),
    ("bbox-int-beyond-int64", _set("annotations", 3, "bbox", 0, value=BIG + 1),
     "annotations[3] (id 3)", "bbox", "integer beyond ±2^53 cannot be kept exactly"),
    ("bbox-string-other-absent", _bbox_string_with_absent,
     "annotations[3] (id 3)", "bbox", "expected numbers, found 'x'"),
    ("area-string", _set("annotations", 3, "area", value="4000"),
     "annotations[3] (id 3)", "area", "expected a number, found '4000'"),
    ("area-string-other-absent", _area_string_with_absent,
     "annotations[3] (id 3)", "area", "expected a number, found '4000'"),
    ("area-int-beyond-2^53", _set("annotations", 3, "area", value=2**60 + 1),
     "annotations[3] (id 3)", "area", "2^53"),
    ("num-keypoints-negative", _set("annotations", 3, "num_keypoints", value=-1),
     "annotations[3] (id 3)", "num_keypoints", "non-negative count, found -1"),
    ("num-keypoints-fraction", _set("annotations", 3, "num_keypoints", value=2.5),
     "annotations[3] (id 3)", "num_keypoints", "non-negative count, found 2.5"),
    ("num-keypoints-string", _set("annotations", 3, "num_keypoints", value="17"),
     "annotations[3] (id 3)", "num_keypoints", "expected a count, found '17'"),
    ("num-keypoints-huge-float", _set("annotations", 3, "num_keypoints", value=1e300),
     "annotations[3] (id 3)", "num_keypoints", "non-negative count, found 1e+300"),
    ("category-without-id", _delete("categories", 0, "id"),
     "categories[0]", "id", "expected an object with an integer 'id'"),
]  # fmt: skip


@pytest.mark.parametrize("chunk_bytes", [1 << 22, 1], ids=["one-chunk", "a-chunk-per-record"])
@pytest.mark.parametrize(("mutate", "record", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_document_names_file_record_and_field(
    tmp_path, monkeypatch, mutate, record, field, words, chunk_bytes
):
    """Annotations are parsed a chunk at a time: the error names the record's place in the file all the same."""
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
    doc = coco_doc()
    mutate(doc)
    path = _write(tmp_path, doc)
    err = _read_error(path)
    assert err.record == record
    assert err.field == field
    assert words in err.message
    expected = ": ".join([os.fspath(path), record] + ([f"field '{field}'"] if field else []) + [err.message])
    assert str(err) == expected


def test_unmutated_document_reads(tmp_path):
    """The base of every case above is valid, so each error comes from its one mutation."""
    path = _write(tmp_path, coco_doc())
    data = coco.read(path)
    assert (len(data.images), len(data.persons)) == (3, 4)
    assert first_difference(coco.encode(data), coco_doc()) is None


def test_top_level_list_is_rejected(tmp_path):
    path = _write(tmp_path, [coco_doc()])
    err = _read_error(path)
    assert err.record is None and err.field is None
    assert err.message == "expected a JSON object with 'images', found list"


def _truncation_offsets() -> list[int]:
    size = len(json.dumps(coco_doc(), indent=1).encode())
    return [0, 1, 2, 57, size // 3, size // 2, size - 2, size - 1]


@pytest.mark.parametrize("offset", _truncation_offsets(), ids=lambda o: f"at-byte-{o}")
def test_truncated_json_names_line_and_column(tmp_path, offset):
    raw = json.dumps(coco_doc(), indent=1).encode()
    path = tmp_path / "truncated.json"
    path.write_bytes(raw[:offset])
    err = _read_error(path)
    cut = raw[:offset]
    line = cut.count(b"\n") + 1
    column = len(cut) - (cut.rfind(b"\n") + 1) + 1
    assert err.record == f"line {line} column {column} (byte {offset})"
    assert err.field is None
    assert err.message.startswith("invalid JSON: ")
    assert err.message.endswith("(file truncated?)")


def test_syntax_error_inside_the_file_is_not_called_truncation(tmp_path):
    raw = json.dumps(coco_doc(), indent=1).encode()
    bad = raw.replace(b'"images": [', b'"images": [,', 1)
    path = tmp_path / "broken.json"
    path.write_bytes(bad)
    err = _read_error(path)
    offset = bad.index(b"[,") + 1
    line = bad[:offset].count(b"\n") + 1
    assert re.fullmatch(rf"line {line} column \d+ \(byte {offset}\)", err.record)
    assert "truncated" not in err.message


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nope.json"
    err = _read_error(path)
    assert err.message.startswith("cannot read file")


# ------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    "content",
    [b"this is not json\n", b"", b"[1, 2, 3]", json.dumps([coco_doc()]).encode(), b'{"images": [], "annotations": []}'],
    ids=["text", "empty", "json-list", "list-of-coco", "object-without-keypoint-keys"],
)
def test_detect_asks_for_format_when_it_cannot_tell(tmp_path, content):
    path = tmp_path / "data.json"
    path.write_bytes(content)
    with pytest.raises(PoseFormatError) as info:
        formats.detect(path)
    err = info.value
    assert err.path == os.fspath(path)
    assert "; pass format=... (one of: " in err.message  # the CLI names its flag (test_cli)
    assert "coco" in err.message
    assert "\n" not in str(err)


def test_detect_missing_file(tmp_path):
    with pytest.raises(PoseFormatError, match="no such file"):
        formats.detect(tmp_path / "absent.json")


def test_detect_coco(tmp_path):
    assert formats.detect(_write(tmp_path, coco_doc())) == "coco"


def test_detect_coco_whose_images_fill_the_first_bytes(tmp_path):
    """Real COCO files list megabytes of images before any annotation or category."""
    doc = coco_doc()
    doc["images"] += [
        {"id": 100 + i, "file_name": f"{i:012d}.jpg", "width": 640, "height": 480, "coco_url": "x" * 200}
        for i in range(1000)
    ]
    path = _write(tmp_path, doc)
    assert path.stat().st_size > 3 * (1 << 16)
    assert b'"keypoints"' not in path.read_bytes()[: 1 << 16]
    assert formats.detect(path) == "coco"


# -------------------------------------------------------------------------------------- writing


def _folder(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def _failing_stream(data):
    """``data`` as a stream whose second chunk fails: the writer has written the images by then."""

    def chunks():
        yield data.persons.take(np.arange(1))
        raise RuntimeError("encoder failed")

    return PoseStream(PoseStream.of(data).header, chunks())


def test_failed_encode_leaves_no_file(tmp_path):
    (tmp_path / "in").mkdir()
    data = coco.read(_write(tmp_path / "in", coco_doc()))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError, match="encoder failed"):
        formats.write_stream(_failing_stream(data), out / "result.json")
    assert _folder(out) == []


class _FailingFile:
    """A file that takes half of what it is given, then fails (disk full, Ctrl-C, ...)."""

    def __init__(self, f, exc):
        self.f, self.exc = f, exc

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.f.close()

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise self.exc


@pytest.mark.parametrize(
    "exc", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=["disk-full", "ctrl-c"]
)
@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-file"])
def test_failed_write_midway_leaves_no_partial_or_temp_file(tmp_path, monkeypatch, exc, existing):
    (tmp_path / "in").mkdir()
    data = coco.read(_write(tmp_path / "in", coco_doc()))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "result.json"
    if existing:
        target.write_bytes(b"previous content\n")
    real_fdopen = os.fdopen
    seen: list[str] = []

    def failing_fdopen(fd, *args, **kwargs):
        seen.extend(_folder(out))  # the temporary file exists while it is written
        return _FailingFile(real_fdopen(fd, *args, **kwargs), exc)

    monkeypatch.setattr(jsonio.os, "fdopen", failing_fdopen)
    with pytest.raises(type(exc)):
        formats.write(data, target)
    monkeypatch.undo()
    assert any(name.startswith(".result.json.") and name.endswith(".tmp") for name in seen)
    if existing:
        assert _folder(out) == ["result.json"]
        assert target.read_bytes() == b"previous content\n"
    else:
        assert _folder(out) == []


def test_failed_encode_leaves_existing_file_untouched(tmp_path):
    (tmp_path / "in").mkdir()
    data = coco.read(_write(tmp_path / "in", coco_doc()))
    target = tmp_path / "result.json"
    target.write_bytes(b"previous content\n")
    before = target.stat().st_mtime_ns
    with pytest.raises(RuntimeError):
        formats.write_stream(_failing_stream(data), target)
    assert target.read_bytes() == b"previous content\n"
    assert target.stat().st_mtime_ns == before
    assert _folder(tmp_path) == ["in", "result.json"]


def test_successful_write_replaces_file_and_leaves_no_temp(tmp_path):
    (tmp_path / "in").mkdir()
    data = coco.read(_write(tmp_path / "in", coco_doc()))
    target = tmp_path / "out" / "result.json"
    target.parent.mkdir()
    target.write_bytes(b"previous content\n")
    formats.write(data, target)
    assert _folder(target.parent) == ["result.json"]
    assert first_difference(json.loads(target.read_bytes()), coco_doc()) is None


@pytest.mark.parametrize("depth", [252, 300])  # 252: the record writes alone, not in its list
def test_a_record_too_deep_to_write_is_named_and_no_file_is_left(tmp_path, monkeypatch, depth):
    (tmp_path / "in").mkdir()
    doc = coco_doc()
    nested: list = [0]
    for _ in range(depth):  # reads fine; orjson writes at most 254 levels
        nested = [nested]
    doc["annotations"][2]["history"] = nested
    path = tmp_path / "in" / "deep.json"
    path.write_text(json.dumps(doc))
    data = coco.read(path)
    monkeypatch.setattr(cocolike, "WRITE_CHUNK", 2)  # the record sits in the second chunk
    with pytest.raises(PoseFormatError, match=r"out\.json: annotations\[2\]: cannot be written as JSON.*254 levels"):
        formats.write(data, tmp_path / "out.json")
    assert _folder(tmp_path) == ["in"]
