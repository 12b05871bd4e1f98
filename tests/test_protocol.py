"""Every registered format is a ``protocol.Format``: the same verbs, declared options and origin,
named detection levels, and one shared peek at the file per sniff."""

from __future__ import annotations

import builtins
import inspect
import json
import os

import numpy as np
import pytest
from helpers import coco_doc
from helpers_wholebody import wholebody_doc

from fiftyone_pose import formats
from fiftyone_pose.core.errors import PoseUsageError
from fiftyone_pose.formats.protocol import (
    Confidence,
    FolderFormat,
    Format,
    OptionSpec,
    Peek,
    PredictionsFormat,
    StreamingFormat,
)

MODULES = sorted(formats.REGISTRY.items())


@pytest.mark.parametrize(("name", "module"), MODULES, ids=[n for n, _ in MODULES])
def test_every_format_has_the_protocol(name, module):
    assert isinstance(module, Format)
    assert module.NAME == name and module.FLAVORS and module.ORIGIN in (0, 1) and module.STREAMING
    for options, verb in ((module.READ_OPTIONS, module.read), (module.WRITE_OPTIONS, module.write)):
        assert all(isinstance(o, OptionSpec) and o.help for o in options)
        params = inspect.signature(verb).parameters
        for option in options:  # a declared option is a keyword of the verb it belongs to
            assert params[option.name].kind is inspect.Parameter.KEYWORD_ONLY, (name, option.name)
        keywords = {p for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}
        assert keywords == {o.name for o in options}, (name, verb.__name__)  # and only those
    assert list(inspect.signature(module.detect).parameters) == ["peek"]
    assert "path" in inspect.signature(module.decode).parameters
    if isinstance(module, StreamingFormat):
        read_keywords = set(inspect.signature(module.read_stream).parameters) - {"path"}
        assert read_keywords == {o.name for o in module.READ_OPTIONS}


def test_the_streaming_formats_and_the_others_say_why_not():
    streaming = {n for n, m in MODULES if isinstance(m, StreamingFormat)}
    assert streaming == {
        "aic", "coco", "coco_wholebody", "crowdpose", "h36m", "halpe", "humanart", "mhp", "mpii_trb", "ochuman",
        "posetrack", "yolo",
    }  # fmt: skip
    for name, module in MODULES:
        assert ("whole" in module.STREAMING) == (name not in {"aic", "coco", "coco_wholebody", "crowdpose", "halpe",
                                                                "humanart", "mpii_trb", "posetrack"}), name  # fmt: skip


def test_the_optional_protocols_are_declared_not_probed():
    """A folder format (its root, its splits as tags, a write that places the images) and a format
    of predictions are protocols of their own, which ``formats`` asks with isinstance."""
    assert {n for n, m in MODULES if isinstance(m, FolderFormat)} == {"yolo"}
    assert {n for n, m in MODULES if isinstance(m, PredictionsFormat)} == {"coco_results"}
    assert [n for n in formats.REGISTRY if formats.places_media(n)] == ["yolo"]
    assert [n for n in formats.REGISTRY if formats.is_predictions(n)] == ["coco_results"]
    write = inspect.signature(formats.get("yolo").write).parameters
    assert {"sources", "tags"} <= set(write)  # what a FiftyOne export hands a format that places media


def test_a_folder_is_peeked_at_with_its_sub_folders(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    assert Peek(tmp_path).folders == ("images", "labels") and Peek(tmp_path).entries == ()
    assert formats.get("yolo").detect(Peek(tmp_path)) is Confidence.LIKELY
    _write(tmp_path / "dataset.yaml", b"kpt_shape: [17, 3]\n")
    assert formats.get("yolo").detect(Peek(tmp_path)) is Confidence.CERTAIN
    assert formats.get("yolo").detect(Peek(tmp_path / "dataset.yaml")) is Confidence.CERTAIN
    assert formats.detect(tmp_path) == "yolo"


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p / "missing.json",
        lambda p: p,  # an empty folder
        lambda p: _write(p / "empty.json", b""),
        lambda p: _write(p / "binary.bin", bytes(range(256)) * 300),
        lambda p: _write(p / "list.json", b"[1, 2, 3]"),
    ],
    ids=["missing", "folder", "empty", "binary", "list"],
)
def test_detection_answers_a_level_and_never_raises(tmp_path, make):
    path = make(tmp_path)
    for _, module in MODULES:
        assert module.detect(Peek(path)) is Confidence.NO


def test_levels_order_a_dataset_signature_above_coco():
    assert Confidence.NO < Confidence.WEAK < Confidence.LIKELY < Confidence.CERTAIN


@pytest.mark.parametrize("doc", [coco_doc, wholebody_doc], ids=["coco", "wholebody"])
def test_one_sniff_opens_the_file_once(tmp_path, monkeypatch, doc):
    """Every format looks at the same peek: the file is opened once, not once per format
    (43 times before the peek was shared)."""
    path = _write(tmp_path / "file.json", json.dumps(doc()).encode())
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def spy(real):
        def wrapper(file, *args, **kwargs):
            if isinstance(file, str | os.PathLike) and os.path.abspath(file) == str(path):
                opened.append(file)
            return real(file, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(builtins, "open", spy(real_open))
    monkeypatch.setattr(os, "open", spy(real_os_open))
    assert formats.detect(path) in ("coco", "coco_wholebody")
    assert len(opened) == 1


def test_peek_reads_head_and_tail_once_and_children_of_a_folder(tmp_path):
    data = np.arange(1 << 18, dtype=np.uint8).tobytes()
    path = _write(tmp_path / "big.bin", data)
    peek = Peek(path)
    assert peek.head == data[: 1 << 16] and peek.tail == data[-(1 << 16) :] and peek.size == len(data)
    small = Peek(_write(tmp_path / "small.bin", data[:100]))
    assert small.head == small.tail == small.text == data[:100]
    folder = Peek(tmp_path)
    assert folder.is_dir and folder.entries == ("big.bin", "small.bin")
    assert folder.child("small.bin") is folder.child("small.bin")


def test_options_are_checked_against_the_declared_ones(tmp_path):
    path = _write(tmp_path / "in.json", json.dumps(coco_doc()).encode())
    with pytest.raises(
        PoseUsageError, match=r"format 'coco' has no read option 'images_dir' \(its read options: skeleton\)"
    ):
        formats.read(path, "coco", images_dir=tmp_path)
    data = formats.read(path, "coco", skeleton="coco")
    with pytest.raises(PoseUsageError, match="format 'coco' has no write option 'flavor'"):
        formats.write(data, tmp_path / "out.json", "coco", flavor="coco")
    with pytest.raises(PoseUsageError, match="unknown format 'nope'"):
        formats.read(path, "nope")
    assert not (tmp_path / "out.json").exists()


def _write(path, raw: bytes):
    path.write_bytes(raw)
    return path
