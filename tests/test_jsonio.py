"""Reading a JSON document with its big arrays split into chunks gives the same values as one parse."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import jsonio

# strings that trip a naive scanner: quotes, backslash runs, brackets, braces, commas, colons
tricky = st.text(st.sampled_from('ab"\\[]{},: é\n\t'), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False), tricky
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(tricky, inner, max_size=4)),
    max_leaves=10,
)
records = st.lists(st.one_of(st.dictionaries(tricky, values, max_size=5), st.lists(values, max_size=4)), max_size=30)
documents = st.fixed_dictionaries(
    {"annotations": records},
    optional={
        "images": st.lists(st.dictionaries(tricky, values, max_size=3), max_size=5),
        "info": values,
        'a\\"nnotations': records,
    },
)
layouts = st.sampled_from(
    [
        {},
        {"indent": 1},
        {"separators": (" , ", " : ")},
        {"ensure_ascii": False},
        {"indent": "\t", "ensure_ascii": False},
    ]
)


def split(path, keys=("annotations",)):
    found = jsonio.load_json_chunked(path, keys)
    if found is None:
        return None
    doc, arrays = found
    return doc, {key: [list(chunk) for chunk in chunks] for key, chunks in arrays.items()}


@settings(max_examples=300, deadline=None)
@given(documents, layouts, st.sampled_from([1, 64, 1 << 22]))
def test_chunks_hold_exactly_the_records(tmp_path_factory, doc, layout, chunk_bytes):
    path = tmp_path_factory.mktemp("j") / "doc.json"
    path.write_text(json.dumps(doc, **layout), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
        found = split(path)
    assert found is not None  # records are objects or arrays: always split
    rest, arrays = found
    chunks = arrays["annotations"]
    assert [r for c in chunks for r in c] == orjson.loads(path.read_bytes())["annotations"]
    assert rest == {**orjson.loads(path.read_bytes()), "annotations": []}
    if chunk_bytes == 1:
        assert len(chunks) == max(len(doc["annotations"]), 1)  # one record per chunk; one empty chunk for none


def test_chunk_positions_count_records_before_them(tmp_path, monkeypatch):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"annotations": [{"id": i} for i in range(10)], "images": []}))
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 30)
    _, arrays = jsonio.load_json_chunked(path, ["annotations"])
    chunks = list(arrays["annotations"])
    assert len(chunks) > 2
    assert [c.first for c in chunks] == [sum(len(c) for c in chunks[:i]) for i in range(len(chunks))]


@pytest.mark.parametrize(
    "text",
    [
        '[{"annotations": []}]',  # not an object
        '{"annotations": 5}',  # not an array
        '{"annotations": [{"a": 1}], "annotations": [{"a": 2}]}',  # the key twice
        '{"annotations": [1, {"a": 1}]}',  # a scalar before the first record
        '{"annotations": [{"a": 1}] "images": []}',  # invalid outside the array
        '{"annotations": [{"a": 1}]',  # unbalanced
    ],
)
def test_documents_that_cannot_be_split_exactly_are_left_to_one_parse(tmp_path, text):
    path = tmp_path / "doc.json"
    path.write_text(text)
    assert jsonio.load_json_chunked(path, ["annotations"]) is None


def test_invalid_json_inside_the_array_fails_when_its_chunk_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "doc.json"
    path.write_text('{"annotations": [{"a": 1}, {"a": 2}, {"a": tru}]}')
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    _, arrays = jsonio.load_json_chunked(path, ["annotations"])
    chunks = iter(arrays["annotations"])
    assert list(next(chunks)) == [{"a": 1}]
    with pytest.raises(PoseFormatError) as err:
        list(chunks)
    with pytest.raises(PoseFormatError) as whole:
        jsonio.load_json(path)
    assert str(err.value) == str(whole.value)


@settings(max_examples=100, deadline=None)
@given(documents, layouts, st.sampled_from([1, 64, 1 << 22]), st.data())
def test_invalid_json_in_a_chunk_is_located_as_one_parse_locates_it(tmp_path_factory, doc, layout, chunk_bytes, data):
    """The line, column and position of a syntax error inside a chunk are counted in the whole
    file, in characters as orjson counts them (non-ASCII text before it included)."""
    records = doc["annotations"]
    if not records:
        return
    i = data.draw(st.integers(0, len(records) - 1))
    records[i] = {"k": "BREAK"}  # (the strategies' text has no capitals)
    text = json.dumps(doc, **layout).replace('"BREAK"', "tru")
    path = tmp_path_factory.mktemp("j") / "doc.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PoseFormatError) as whole:
        jsonio.load_json(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
        _, arrays = jsonio.load_json_chunked(path, ["annotations"])
        with pytest.raises(PoseFormatError) as err:
            for _ in arrays["annotations"]:
                pass
    assert str(err.value) == str(whole.value)


# ----------------------------------------------------------------- a top-level array, split


def write_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("j") / "doc.json"
    path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=300, deadline=None)
@given(records, layouts, st.one_of(st.sampled_from([1, 1 << 22]), st.integers(2, 300)), st.integers(1, 40))
def test_a_top_level_array_is_split_into_exactly_its_records(tmp_path_factory, doc, layout, chunk_bytes, scan_block):
    """Chunk boundaries anywhere (a chunk of ``chunk_bytes``), scanned in blocks of any size (a
    block may end inside a string, on a backslash, between a quote and a bracket): the records
    are those of one parse, in order, numbered from the start of the array."""
    path = write_text(tmp_path_factory, json.dumps(doc, **layout))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
        mp.setattr(jsonio, "_SCAN_BLOCK", scan_block)
        records = jsonio.load_json_array(path)
        assert records is not None  # records are objects or arrays: always split
        chunks = list(records)
        again = [r for c in records for r in c]  # read twice: the same records
    whole = orjson.loads(path.read_bytes())
    assert [r for c in chunks for r in c] == whole == again
    assert [c.first for c in chunks] == [sum(len(c) for c in chunks[:i]) for i in range(len(chunks))]
    if chunk_bytes == 1:
        assert [len(c) for c in chunks] == [1] * len(doc) or (doc == [] and [len(c) for c in chunks] == [0])


@pytest.mark.parametrize(
    "text",
    [
        '{"annotations": [{"a": 1}]}',  # an object
        "[1, 2]",  # scalar records
        '[{"a": 1}, 5]',  # a scalar after the last record
        '[{"a": 1}] [{"a": 2}]',  # two documents
        '[{"a": 1}] x',  # invalid after the array
        '[{"a": 1}, {"a": 2}',  # truncated
        '[{"a": 1}, {"a": "]',  # truncated inside a string
        "",  # empty
    ],
)
def test_arrays_that_cannot_be_split_exactly_are_left_to_one_parse(tmp_path, text):
    path = tmp_path / "doc.json"
    path.write_text(text)
    assert jsonio.load_json_array(path) is None


def test_a_truncated_array_fails_loudly_naming_file_line_and_column(tmp_path):
    path = tmp_path / "keypoint_train_annotations.json"
    path.write_text('[\n  {"image_id": "a", "human_annotations": {}},\n  {"image_id": "b", "human_annot')
    assert jsonio.load_json_array(path) is None
    with pytest.raises(PoseFormatError, match=r"keypoint_train_annotations.json: line 3 column \d+ .*truncated"):
        jsonio.load_json(path)


def test_an_object_is_told_from_its_first_bracket(tmp_path, monkeypatch):
    """Not an array: the scan stops at the first block (an object is not read to its end)."""
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"annotations": [{"a": i} for i in range(1000)]}))
    monkeypatch.setattr(jsonio, "_SCAN_BLOCK", 64)
    read = []
    real = jsonio._Scan._read_block
    monkeypatch.setattr(jsonio._Scan, "_read_block", lambda self, lo: read.append(lo) or real(self, lo))
    assert jsonio.load_json_array(path) is None
    assert read == [0]


@settings(max_examples=100, deadline=None)
@given(records, layouts, st.sampled_from([1, 64, 1 << 22]), st.data())
def test_invalid_json_in_a_record_is_located_as_one_parse_locates_it(tmp_path_factory, doc, layout, chunk_bytes, data):
    """A syntax error in a record of a split array names the line, column and position in the
    file that ``load_json`` names (non-ASCII text before it included)."""
    if not doc:
        return
    i = data.draw(st.integers(0, len(doc) - 1))
    doc[i] = {"k": "BREAK"}  # (the strategies' text has no capitals)
    path = write_text(tmp_path_factory, json.dumps(doc, **layout).replace('"BREAK"', "tru"))
    with pytest.raises(PoseFormatError) as whole:
        jsonio.load_json(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
        records = jsonio.load_json_array(path)
        with pytest.raises(PoseFormatError) as err:
            for _ in records:
                pass
    assert str(err.value) == str(whole.value)


# ------------------------------------------------------------------ file modes of written files


@pytest.fixture
def umask():
    """Sets the process umask for one test and restores it."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _writers(tmp_path):
    """Each atomic writer of the package, writing a small valid file to a path."""
    from helpers import coco_doc

    from fiftyone_pose import formats
    from fiftyone_pose.formats import h36m

    data = formats.read(_write_json(tmp_path / "src.json", coco_doc()), "coco")
    npz = h36m.NpzDocument(arrays={"a": np.arange(3)}, compressed={"a": False})
    return {
        "json": lambda path: jsonio.write_atomic(path, [b"{}"]),
        "coco": lambda path: formats.write(data, path, "coco"),
        "npz": lambda path: h36m.save_npz(npz, path),
    }


def _write_json(path, doc):
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("writer", ["json", "coco", "npz"])
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077], ids=oct)
def test_new_files_follow_the_umask(tmp_path, umask, writer, mask):
    write = _writers(tmp_path)[writer]
    umask(mask)
    write(tmp_path / "new.out")
    assert stat.S_IMODE(os.stat(tmp_path / "new.out").st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("writer", ["json", "coco", "npz"])
@pytest.mark.parametrize("mode", [0o664, 0o640, 0o444], ids=oct)
def test_a_replaced_file_keeps_its_mode(tmp_path, umask, writer, mode):
    write = _writers(tmp_path)[writer]
    umask(0o077)
    target = tmp_path / "old.out"
    target.write_bytes(b"old")
    os.chmod(target, mode)
    write(target)
    assert target.read_bytes() != b"old"
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.out", "src.json"]  # no temporary file left


def test_nesting_counts_levels_without_recursion():
    deep: list = [1]
    for _ in range(5000):
        deep = [deep]
    assert [jsonio.nesting(v) for v in (1.5, "x", [], {"a": [1, {"b": {}}]}, deep)] == [0, 0, 1, 4, 5001]
