"""The ``fiftyone-pose`` command line: exit codes, one-line errors, and the work it promises.

``main([...])`` runs in-process for speed; one test runs the installed entry point for real.
Tests that touch FiftyOne request ``fo_db`` (the session's scratch database) and import the
FiftyOne layer inside the test, so the pure tests here never import fiftyone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers import coco_doc

from fiftyone_pose import cli
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.formats import coco

SUBCOMMANDS = [
    "cleanup", "convert", "curate", "datasets", "demo", "evaluate", "export", "formats",
    "h36m-cameras", "import", "import-predictions", "info", "layouts", "merge", "plugin",
]  # fmt: skip
DETECTED = "format: coco (detected from the file's content)"


# ---------------------------------------------------------------------------------------- helpers


def _write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def _load(path: Path) -> Any:
    with open(path) as f:
        return json.load(f)


def _run(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    """(exit code, stdout lines, stderr lines) of ``fiftyone-pose ARGV``."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def _one_error_line(err: list[str]) -> str:
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith("fiftyone-pose: error: ")
    assert "Traceback" not in line
    return line


def _counts(doc: dict) -> dict[str, Any]:
    """The counts the tool reports, worked out from the raw document (independently of the package)."""
    anns = doc["annotations"]
    crowd = [a for a in anns if a["iscrowd"]]
    persons = [a for a in anns if not a["iscrowd"]]
    vis = [v for a in persons for v in a["keypoints"][2::3]]
    hist = {str(v): vis.count(v) for v in (0, 1, 2)}
    return {
        "images": len(doc["images"]),
        "persons": len(persons),
        "crowd_regions": len(crowd),
        "persons_without_keypoints": sum(1 for a in persons if not any(a["keypoints"][2::3])),
        "keypoints_labeled": hist["1"] + hist["2"],
        "visibility": hist,
    }


def _summary_lines(doc: dict) -> list[str]:
    c = _counts(doc)
    return [
        f"  images: {c['images']}",
        f"  persons: {c['persons']}",
        f"  crowd regions: {c['crowd_regions']}",
        f"  persons without keypoints: {c['persons_without_keypoints']}",
        f"  keypoints labeled: {c['keypoints_labeled']}",
        f"  visibility: {json.dumps(c['visibility'])}",
        "  layout: coco (17 points)",
    ]


def test_counts_of_the_test_document():
    """Pins the numbers every exact assertion below is derived from."""
    assert _counts(coco_doc()) == {
        "images": 3,
        "persons": 3,
        "crowd_regions": 1,
        "persons_without_keypoints": 1,
        "keypoints_labeled": 21,
        "visibility": {"0": 30, "1": 1, "2": 20},
    }


# ------------------------------------------------------------------------------- pure commands


def test_formats_lists_coco_and_its_flavors(capsys):
    code, out, err = _run(capsys, "formats")
    assert code == 0 and err == []
    from fiftyone_pose import formats

    expected = []
    for name, module in sorted(formats.REGISTRY.items()):
        expected += [f"{name} (read, write)"] + [f"  {flavor}: {text}" for flavor, text in module.FLAVORS.items()]
        expected += [f"  read option {o.name}: {o.help}" for o in module.READ_OPTIONS]
        expected += [f"  write option {o.name}: {o.help}" for o in module.WRITE_OPTIONS]
        expected += [f"  {module.STREAMING}"]
    expected += [f"every format: write option layout: {formats.LAYOUT.help}"]
    assert out == expected
    assert "  read and written whole: joints.mat is one MATLAB array" in out  # says which cannot stream, and why
    i = out.index("coco (read, write)")
    assert out[i + 1 : i + 1 + len(coco.FLAVORS)] == [f"  {f}: {t}" for f, t in coco.FLAVORS.items()]
    assert {"person_keypoints", "image_info"} <= set(coco.FLAVORS)


def test_every_subcommand_is_covered_here():
    parser = cli._parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert sorted(sub.choices) == SUBCOMMANDS


@pytest.mark.parametrize("command", [[]] + [[c] for c in SUBCOMMANDS], ids=lambda c: " ".join(c) or "top")
def test_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        cli.main(command + ["--help"])
    assert info.value.code == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: fiftyone-pose {' '.join(command)}".rstrip())
    assert err == ""
    if command:  # each command's help ends with an example of it
        example = out.split("example:\n", 1)[1].split("\n")[0].split("#")[0].split()
        assert example[:2] == ["fiftyone-pose", command[0]], out


@pytest.mark.parametrize("action", ["install", "list", "uninstall"])
def test_plugin_actions_have_help_with_an_example(capsys, action):
    with pytest.raises(SystemExit) as info:
        cli.main(["plugin", action, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and f"example:\n  fiftyone-pose plugin {action}" in out


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"fiftyone-pose {version('fiftyone-pose')}\n"


def test_no_command_prints_help_and_fails(capsys):
    code, out, err = _run(capsys)
    assert code == 2
    assert out[0].startswith("usage: fiftyone-pose")


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["convert", "--bogus"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_convert_round_trips_and_says_what_it_detected(tmp_path, capsys):
    src = _write(tmp_path / "in" / "person_keypoints.json", coco_doc())
    dst = tmp_path / "out" / "sub" / "converted.json"
    dst.parent.mkdir(parents=True)
    code, out, err = _run(capsys, "convert", src, dst)
    assert code == 0 and err == []
    assert out == [DETECTED, f"wrote {dst} (coco)"] + _summary_lines(coco_doc())
    assert first_difference(_load(dst), coco_doc()) is None
    assert os.listdir(dst.parent) == ["converted.json"]


def test_convert_with_explicit_format_does_not_sniff(tmp_path, capsys):
    src = _write(tmp_path / "data.txt", coco_doc())
    dst = tmp_path / "out.json"
    code, out, err = _run(capsys, "convert", src, dst, "--from", "coco", "--to", "coco")
    assert code == 0 and err == []
    assert out[0] == f"wrote {dst} (coco)"
    assert first_difference(_load(dst), coco_doc()) is None


def test_convert_to_another_layout_by_keypoint_name(tmp_path, capsys):
    from helpers_wholebody import wholebody_doc

    src = _write(tmp_path / "coco_wholebody_val_v1.0.json", wholebody_doc())
    dst = tmp_path / "body17.json"
    code, out, err = _run(capsys, "convert", src, dst, "--layout", "coco")
    assert code == 0 and err == [] and out[1] == f"wrote {dst} (coco)"
    written = _load(dst)
    assert written["categories"][0]["keypoints"] == list(skeletons.load("coco").keypoints)
    assert [a["keypoints"] for a in written["annotations"]] == [a["keypoints"] for a in wholebody_doc()["annotations"]]
    code, _, err = _run(capsys, "convert", src, tmp_path / "x.json", "--layout", "no_such_layout")
    assert code == 2 and "no_such_layout" in _one_error_line(err) and not (tmp_path / "x.json").exists()


def _unknown_image(doc: dict) -> None:
    doc["annotations"][3]["image_id"] = 99


def _string_keypoint(doc: dict) -> None:
    doc["annotations"][1]["keypoints"][7] = "7"


def _bbox_of_three(doc: dict) -> None:
    doc["annotations"][2]["bbox"] = [1, 2, 3]


@pytest.mark.parametrize(
    ("mutate", "located"),
    [
        (_unknown_image, "annotations[3] (id 3): field 'image_id': refers to image id 99"),
        (_string_keypoint, "annotations[1] (id 501): field 'keypoints': expected numbers, found '7'"),
        (_bbox_of_three, "annotations[2] (id 2): field 'bbox': expected a list [x, y, w, h]"),
    ],
    ids=["unknown-image", "string-keypoint", "bbox-of-3"],
)
def test_convert_malformed_file_fails_in_one_line_and_writes_nothing(tmp_path, capsys, mutate, located):
    doc = coco_doc()
    mutate(doc)
    src = _write(tmp_path / "in" / "bad.json", doc)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = _run(capsys, "convert", src, out_dir / "converted.json")
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith(f"fiftyone-pose: error: {src}: {located}")
    assert os.listdir(out_dir) == []
    assert not any("wrote" in o for o in out)


def test_convert_truncated_file_names_line_and_column(tmp_path, capsys):
    raw = json.dumps(coco_doc()).encode()
    src = tmp_path / "cut.json"
    src.write_bytes(raw[:200])
    code, _, err = _run(capsys, "convert", src, tmp_path / "out.json", "--from", "coco")
    assert code == 2
    line = _one_error_line(err)
    assert line == (
        f"fiftyone-pose: error: {src}: line 1 column 201 (byte 200): "
        "invalid JSON: unexpected end of data (file truncated?)"
    )
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("content", [b"not json at all", b"[1, 2]"], ids=["text", "json-list"])
def test_convert_unrecognised_file_asks_for_format(tmp_path, capsys, content):
    src = tmp_path / "mystery.json"
    src.write_bytes(content)
    code, _, err = _run(capsys, "convert", src, tmp_path / "out.json")
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith(
        f"fiftyone-pose: error: {src}: cannot tell the format from the content; pass --from FORMAT ("
    )
    assert sorted(os.listdir(tmp_path)) == ["mystery.json"]


def test_hints_name_the_flag_of_the_command_at_hand(tmp_path, capsys, monkeypatch):
    """Options an error suggests are spelled as the flags the user types, per command: the input
    format is --from in convert and --format in import; an output-side hint in convert is --to."""
    from fiftyone_pose.core.errors import Option, PoseUsageError

    src = tmp_path / "mystery.json"
    src.write_bytes(b"[1, 2]")
    code, _, err = _run(capsys, "import", src, "--name", "x")
    assert code == 2 and "; pass --format FORMAT (one of: " in _one_error_line(err)

    def refuse(stream, path, format, layout=None):
        raise PoseUsageError("cannot write that; ", Option("layout", "aic"), " or ", Option("format", "coco"), " or ",
                             Option("unlabeled", "occluded"))  # fmt: skip

    monkeypatch.setattr(cli.formats, "write_stream", refuse)
    good = _write(tmp_path / "in.json", coco_doc())
    code, _, err = _run(capsys, "convert", good, tmp_path / "out.json")
    assert _one_error_line(err) == (
        "fiftyone-pose: error: cannot write that; pass --layout aic or pass --to coco or pass unlabeled='occluded'"
    )  # a keyword without a flag keeps its Python spelling


def test_a_layout_a_format_needs_is_hinted_as_the_flag(tmp_path, capsys):
    good = _write(tmp_path / "in.json", coco_doc())
    code, _, err = _run(capsys, "convert", good, tmp_path / "out.json", "--to", "aic")
    assert code == 2 and not (tmp_path / "out.json").exists()
    assert _one_error_line(err) == (
        "fiftyone-pose: error: AI Challenger needs the 'aic' layout (14 points); this data has 'coco' "
        "(17 points): pass --layout aic to convert it"
    )


def test_convert_missing_file_and_unknown_format(tmp_path, capsys):
    code, _, err = _run(capsys, "convert", tmp_path / "absent.json", tmp_path / "out.json")
    assert code == 2
    assert _one_error_line(err) == f"fiftyone-pose: error: {tmp_path / 'absent.json'}: no such file"

    src = _write(tmp_path / "in.json", coco_doc())
    code, _, err = _run(capsys, "convert", src, tmp_path / "out.json", "--to", "nope")
    assert code == 2
    from fiftyone_pose import formats

    known = ", ".join(sorted(formats.REGISTRY))
    assert _one_error_line(err) == f"fiftyone-pose: error: unknown format 'nope'; known formats: {known}"
    assert sorted(os.listdir(tmp_path)) == ["in.json"]


def test_entry_point_subprocess(tmp_path):
    """The installed console script: help works, a bad file is exit 2 with one line, no traceback."""
    exe = shutil.which("fiftyone-pose", path=os.path.dirname(sys.executable))
    assert exe is not None
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: fiftyone-pose")
    for command in SUBCOMMANDS:
        assert command in done.stdout

    doc = coco_doc()
    doc["images"][1]["id"] = "x"
    src = _write(tmp_path / "bad.json", doc)
    done = subprocess.run(
        [exe, "convert", str(src), str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"fiftyone-pose: error: {src}: images[1] (id x): field 'id': expected an integer id, found 'x'"
    ]
    assert sorted(os.listdir(tmp_path)) == ["bad.json"]


# --------------------------------------------------------------------------- FiftyOne commands


@pytest.fixture
def src(tmp_path) -> Path:
    """The test document, with its (empty) image files beside it."""
    path = _write(tmp_path / "data" / "person_keypoints.json", coco_doc())
    _touch_images(path.parent, [im["file_name"] for im in coco_doc()["images"]])
    return path


def _import_lines(src: Path, name: str, doc: dict) -> list[str]:
    return [DETECTED, f"imported {src} into dataset '{name}' (field 'ground_truth')"] + _summary_lines(doc)


def test_import_creates_persistent_dataset(fo_db, dataset_name, src, capsys):
    from fiftyone_pose.fo.api import leftover_datasets

    before = leftover_datasets()
    code, out, err = _run(capsys, "import", src, "--name", dataset_name)
    assert code == 0, err
    assert err == []
    assert out == _import_lines(src, dataset_name, coco_doc())

    ds = fo_db.load_dataset(dataset_name)
    assert ds.persistent
    counts = _counts(coco_doc())
    assert len(ds) == counts["images"]
    assert ds.count("ground_truth.keypoints") == counts["persons"] + counts["crowd_regions"]
    assert sorted(ds.values("image_id")) == sorted(i["id"] for i in coco_doc()["images"])
    assert sorted(ds.values("ground_truth.keypoints.person_id", unwind=True)) == sorted(
        a["id"] for a in coco_doc()["annotations"]
    )
    assert sorted(ds.values("filepath")) == sorted(str(src.parent / i["file_name"]) for i in coco_doc()["images"])
    assert leftover_datasets() == before  # the temporary dataset became the named one


def test_import_twice_needs_overwrite(fo_db, dataset_name, src, tmp_path, capsys):
    from fiftyone_pose.fo.api import leftover_datasets

    before = leftover_datasets()
    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    first_id = fo_db.load_dataset(dataset_name)._doc.id

    smaller = coco_doc()
    smaller["images"] = smaller["images"][:1]
    smaller["annotations"] = [a for a in smaller["annotations"] if a["image_id"] == 7]
    other = _write(tmp_path / "other" / "smaller.json", smaller)
    _touch_images(other.parent, ["000000000007.jpg"])

    code, out, err = _run(capsys, "import", other, "--name", dataset_name)
    assert code == 2
    assert _one_error_line(err) == (
        f"fiftyone-pose: error: dataset '{dataset_name}' already exists; pass --overwrite to replace it"
    )
    ds = fo_db.load_dataset(dataset_name)
    assert ds._doc.id == first_id
    assert len(ds) == 3
    assert ds.count("ground_truth.keypoints") == 4
    assert leftover_datasets() == before

    code, out, err = _run(capsys, "import", other, "--name", dataset_name, "--overwrite")
    assert code == 0, err
    lines = _import_lines(other, dataset_name, smaller)
    assert out == lines[:2] + [f"  replaced the dataset '{dataset_name}' that existed"] + lines[2:]
    ds = fo_db.load_dataset(dataset_name)
    assert ds._doc.id != first_id
    assert ds.persistent
    assert len(ds) == 1
    assert ds.count("ground_truth.keypoints") == 2
    assert leftover_datasets() == before


def _image_without_size(doc: dict) -> None:
    # passes the reader; fails while the dataset is built (no size, no image file to read it from)
    del doc["images"][2]["width"], doc["images"][2]["height"]


@pytest.mark.parametrize(
    ("mutate", "located", "built"),
    [
        (_unknown_image, "annotations[3] (id 3): field 'image_id': refers to image id 99", False),
        (_image_without_size, "images[2] (id 11, ", True),
    ],
    ids=["fails-reading", "fails-building"],
)
def test_import_malformed_file_leaves_nothing(
    fo_db, dataset_name, tmp_path, capsys, monkeypatch, mutate, located, built
):
    from fiftyone_pose.fo import api

    before = set(fo_db.list_datasets())
    leftovers_before = api.leftover_datasets()
    seen_during_build: list[list[str]] = []
    real_add = api.add_pose_data

    def spy(*args, **kwargs):
        seen_during_build.append(api.leftover_datasets())
        return real_add(*args, **kwargs)

    monkeypatch.setattr(api, "add_pose_data", spy)
    doc = coco_doc()
    mutate(doc)
    src = _write(tmp_path / "bad.json", doc)
    code, out, err = _run(capsys, "import", src, "--name", dataset_name)
    assert code == 2
    line = _one_error_line(err)
    assert line.startswith(f"fiftyone-pose: error: {src}: {located}")
    if built:
        assert line.endswith(
            "field 'width': the file gives no image size, and the image header cannot be read "
            f"([Errno 2] No such file or directory: '{tmp_path / 'empty.jpg'}')"
        )
    # the temporary dataset existed while it was built: a COCO file streams, so an error found
    # while reading it (a late chunk) comes after the dataset was started, and it goes too
    assert len(seen_during_build) == 1
    assert len(set(seen_during_build[0]) - set(leftovers_before)) == 1
    assert not fo_db.dataset_exists(dataset_name)
    assert api.leftover_datasets() == leftovers_before
    assert set(fo_db.list_datasets()) == before


def test_import_interrupted_exits_130_and_leaves_nothing(fo_db, dataset_name, src, capsys, monkeypatch):
    from fiftyone_pose.fo import api

    before = set(fo_db.list_datasets())
    real_add = api.add_pose_data

    def interrupted(*args, **kwargs):
        real_add(*args, **kwargs)  # the samples are in the temp dataset when Ctrl-C arrives
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "add_pose_data", interrupted)
    code, out, err = _run(capsys, "import", src, "--name", dataset_name)
    assert code == 130
    assert err == ["fiftyone-pose: interrupted; nothing was left half-done"]
    assert not fo_db.dataset_exists(dataset_name)
    assert set(fo_db.list_datasets()) == before


def test_export_writes_the_input_back(fo_db, dataset_name, src, tmp_path, capsys):
    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    dst = tmp_path / "export" / "out.json"
    dst.parent.mkdir()
    code, out, err = _run(capsys, "export", dataset_name, dst)
    assert code == 0 and err == []
    assert out == [f"wrote {dst} (coco) from dataset '{dataset_name}'"] + _summary_lines(coco_doc())
    assert first_difference(_load(dst), coco_doc()) is None
    assert os.listdir(dst.parent) == ["out.json"]


def test_export_to_another_layout(fo_db, dataset_name, tmp_path, capsys):
    from helpers_wholebody import wholebody_doc

    src = _write(tmp_path / "coco_wholebody_val_v1.0.json", wholebody_doc())
    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    dst = tmp_path / "body17.json"
    code, out, err = _run(capsys, "export", dataset_name, dst, "--format", "coco", "--layout", "coco")
    assert code == 0 and err == []
    assert [a["keypoints"] for a in _load(dst)["annotations"]] == [
        a["keypoints"] for a in wholebody_doc()["annotations"]
    ]


def test_export_saved_view_writes_only_its_persons(fo_db, dataset_name, src, tmp_path, capsys):
    from fiftyone import ViewField as F

    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    ds = fo_db.load_dataset(dataset_name)
    keep = [1, 3]
    ds.save_view("labeled", ds.filter_labels("ground_truth", F("person_id").is_in(keep)))

    dst = tmp_path / "view.json"
    code, out, err = _run(capsys, "export", dataset_name, dst, "--view", "labeled")
    assert code == 0 and err == []
    expected = coco_doc()
    expected["annotations"] = [a for a in expected["annotations"] if a["id"] in keep]
    shown = {a["image_id"] for a in expected["annotations"]}
    expected["images"] = [i for i in expected["images"] if i["id"] in shown]
    assert out == [f"wrote {dst} (coco) from view 'labeled' of '{dataset_name}'"] + _summary_lines(expected)
    written = _load(dst)
    assert [a["id"] for a in written["annotations"]] == keep
    assert first_difference(written, expected) is None

    code, _, err = _run(capsys, "export", dataset_name, tmp_path / "none.json", "--view", "no-such-view")
    assert code == 2
    assert "no-such-view" in _one_error_line(err)
    assert not (tmp_path / "none.json").exists()


def test_info_prints_skeleton_counts_and_visibility(fo_db, dataset_name, src, capsys):
    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    code, out, err = _run(capsys, "info", dataset_name)
    assert code == 0 and err == []
    c = _counts(coco_doc())
    assert out == [
        "  field: ground_truth",
        "  format: coco",
        "  skeleton: coco (17 points, 19 edges)",
        f"  images: {c['images']}",
        f"  persons: {c['persons']}",
        f"  crowd regions: {c['crowd_regions']}",
        f"  keypoints labeled: {c['keypoints_labeled']}",
        f"  visibility: {json.dumps(c['visibility'])}",
    ]


def test_cleanup_lists_and_deletes_leftover_temp_datasets(fo_db, dataset_name, src, capsys):
    from fiftyone_pose.fo.api import TEMP_PREFIX, leftover_datasets

    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    if not leftover_datasets():  # (other test modules may have leaked some; see the report)
        code, out, _ = _run(capsys, "cleanup")
        assert code == 0 and out == ["no leftover datasets"]

    name = TEMP_PREFIX + uuid.uuid4().hex  # what a killed import leaves behind
    fo_db.Dataset(name, persistent=True)
    try:
        leftovers = leftover_datasets()
        assert name in leftovers
        code, out, err = _run(capsys, "cleanup")
        assert code == 0 and err == []
        assert out == leftovers
        assert fo_db.dataset_exists(name)

        code, out, err = _run(capsys, "cleanup", "--delete")
        assert code == 0 and err == []
        assert out == [f"deleted {n}" for n in leftovers]
        assert not fo_db.dataset_exists(name)
        assert leftover_datasets() == []
        assert fo_db.dataset_exists(dataset_name)  # a real dataset is never touched

        code, out, _ = _run(capsys, "cleanup")
        assert code == 0 and out == ["no leftover datasets"]
    finally:
        if fo_db.dataset_exists(name):
            fo_db.delete_dataset(name)


def test_export_and_info_of_missing_dataset(fo_db, tmp_path, capsys):
    name = f"missing-{uuid.uuid4().hex[:8]}"
    code, out, err = _run(capsys, "export", name, tmp_path / "out.json")
    assert code == 2
    assert (
        _one_error_line(err) == f"fiftyone-pose: error: no dataset named '{name}' (fiftyone-pose datasets lists them)"
    )
    assert os.listdir(tmp_path) == []

    code, out, err = _run(capsys, "info", name)
    assert code == 2
    assert (
        _one_error_line(err) == f"fiftyone-pose: error: no dataset named '{name}' (fiftyone-pose datasets lists them)"
    )


# ------------------------------------------------------------------------ hardening (issue 15)


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`fiftyone-pose convert a.json b.json | head -1`: the reader goes away before the output
    comes; the command stops quietly (exit 141, as for SIGPIPE), without "Broken pipe"."""
    exe = shutil.which("fiftyone-pose", path=os.path.dirname(sys.executable))
    src = _write(tmp_path / "in.json", coco_doc())
    proc = subprocess.Popen(
        [exe, "convert", str(src), str(tmp_path / "out.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # before the process can write anything (its start alone takes longer)
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == cli.EXIT_BROKEN_PIPE
    assert err == ""
    # it stopped at its first line (unbuffered output) or after the work: never half-way
    written = sorted(os.listdir(tmp_path))
    assert written in (["in.json"], ["in.json", "out.json"])
    if written == ["in.json", "out.json"]:
        assert first_difference(_load(tmp_path / "out.json"), coco_doc()) is None

    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{exe}' formats | head -1"], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.count("\n") == 1 and "Broken pipe" not in done.stderr and "Traceback" not in done.stderr


def test_a_bug_is_not_a_user_error(capsys, monkeypatch):
    """Only the project's own errors are one-line user errors (exit 2); a bug shows as a bug."""
    from fiftyone_pose.core.errors import PoseUsageError

    def bug(args):
        raise RuntimeError("an internal bug")

    def user_error(args):
        raise PoseUsageError("a bad request")

    monkeypatch.setattr(cli, "_formats", bug)
    with pytest.raises(RuntimeError, match="an internal bug"):  # the console script prints its traceback, exit 1
        cli.main(["formats"])
    monkeypatch.setattr(cli, "_formats", user_error)
    code, _, err = _run(capsys, "formats")
    assert code == 2 and _one_error_line(err) == "fiftyone-pose: error: a bad request"


def test_export_refuses_an_existing_file_before_any_work(fo_db, dataset_name, src, tmp_path, capsys, monkeypatch):
    from fiftyone_pose.fo import api

    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    dst = tmp_path / "out.json"
    dst.write_text("precious")
    calls = []
    real = api.to_pose_stream
    monkeypatch.setattr(api, "to_pose_stream", lambda *a, **k: calls.append(1) or real(*a, **k))
    code, out, err = _run(capsys, "export", dataset_name, dst)
    assert code == 2 and out == []
    assert _one_error_line(err) == f"fiftyone-pose: error: {dst} already exists; pass --overwrite to replace it"
    assert dst.read_text() == "precious" and calls == []  # refused before reading the dataset

    import fiftyone_pose as fop
    from fiftyone_pose.core.errors import PoseUsageError

    with pytest.raises(PoseUsageError, match="already exists; pass overwrite=True to replace it"):
        fop.export(fo_db.load_dataset(dataset_name), dst)
    assert calls == []

    code, out, err = _run(capsys, "export", dataset_name, dst, "--overwrite")
    assert code == 0 and err == []
    assert out[:2] == [f"wrote {dst} (coco) from dataset '{dataset_name}'", f"  replaced the file {dst} that existed"]
    assert first_difference(_load(dst), coco_doc()) is None

    code, out, err = _run(capsys, "import", src, "--name", dataset_name, "--overwrite")
    assert code == 0 and out[2] == f"  replaced the dataset '{dataset_name}' that existed"
    code, _, err = _run(capsys, "import", src, "--name", dataset_name)
    assert _one_error_line(err) == (
        f"fiftyone-pose: error: dataset '{dataset_name}' already exists; pass --overwrite to replace it"
    )


def test_demo_keeps_its_dataset_and_removes_its_scratch_folder(fo_db, tmp_path, capsys, monkeypatch):
    import tempfile

    from fiftyone_pose.demo.run import DEMO_DATASET

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        for _ in range(2):  # a second run replaces the first one's dataset
            code, out, err = _run(capsys, "demo")
            assert code == 0, err
            assert fo_db.dataset_exists(DEMO_DATASET) and fo_db.load_dataset(DEMO_DATASET).persistent
            assert len(fo_db.load_dataset(DEMO_DATASET)) == 30
            assert f"the dataset '{DEMO_DATASET}' stays for the App: fiftyone-pose demo --app" in "\n".join(out)
            assert os.listdir(tmp_path) == []  # no fiftyone-pose-demo-* folder left
        kept = tmp_path / "kept"
        assert _run(capsys, "demo", "--out", kept)[0] == 0
        assert sorted(os.listdir(kept)) == ["demo_curated.json", "demo_roundtrip.json"]
        assert _run(capsys, "demo", "--out", kept)[0] == 0  # its own files are replaced
        code, _, err = _run(capsys, "demo", "--port", "5999")
        assert (
            code == 2
            and _one_error_line(err) == "fiftyone-pose: error: --port and --remote apply to the App: add --app"
        )
    finally:
        if fo_db.dataset_exists(DEMO_DATASET):
            fo_db.delete_dataset(DEMO_DATASET)


def test_curate_saves_a_view_that_export_writes(fo_db, dataset_name, src, tmp_path, capsys):
    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    code, out, err = _run(capsys, "curate", dataset_name)
    assert code == 0 and err == []
    from fiftyone_pose.fo import views

    assert [line.split(":")[0] for line in out if not line.startswith(" ")] == list(views.CURATION_VIEWS)
    assert "  options: --min-count --max-count" in out

    code, out, err = _run(capsys, "curate", dataset_name, "crowd", "--no-is-crowd", "--save-view", "people")
    assert code == 0, err
    people = [a for a in coco_doc()["annotations"] if not a["iscrowd"]]
    assert out == [
        f"crowd: {len(people)} persons on {len({a['image_id'] for a in people})} images of '{dataset_name}'",
        f"  saved as the view 'people': fiftyone-pose export {dataset_name} OUT --view people writes it",
    ]
    dst = tmp_path / "people.json"
    assert _run(capsys, "export", dataset_name, dst, "--view", "people")[0] == 0
    assert sorted(a["id"] for a in _load(dst)["annotations"]) == sorted(a["id"] for a in people)

    # chained on the saved view, with a joint by name; an existing saved view needs --overwrite
    argv = ["curate", dataset_name, "persons_with_joint", "--names", "nose", "--state", "labeled", "--view", "people"]
    code, _, err = _run(capsys, *argv, "--save-view", "people")
    assert code == 2 and _one_error_line(err) == (
        "fiftyone-pose: error: the dataset has a saved view 'people'; pass --overwrite to replace it"
    )
    code, out, err = _run(capsys, *argv, "--save-view", "people", "--overwrite")
    with_nose = [a for a in people if a["keypoints"][2] > 0]
    assert code == 0 and out[0].startswith(f"persons_with_joint: {len(with_nose)} persons on ")
    assert len(fo_db.load_dataset(dataset_name).load_saved_view("people").values("id")) >= 1

    with pytest.raises(SystemExit) as info:  # a view's own help, from its signature and docstring
        cli.main(["curate", dataset_name, "part_visible", "--help"])
    help_text = capsys.readouterr().out
    assert info.value.code == 0
    assert "--part {body,foot,face,lefthand,righthand}" in help_text and "--valid, --no-valid" in help_text
    code, _, err = _run(capsys, "curate", dataset_name, "no_such_view")
    assert code == 2 and "unknown view 'no_such_view'; views: persons_with_visible" in _one_error_line(err)


def test_datasets_lists_pose_datasets_with_format_skeleton_and_counts(fo_db, dataset_name, src, capsys):
    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    other = fo_db.Dataset()  # no keypoints field: counted, not listed
    try:
        code, out, err = _run(capsys, "datasets")
    finally:
        other.delete()
    assert code == 0 and err == []
    c = _counts(coco_doc())
    assert (
        f"{dataset_name}: ground_truth: coco, skeleton coco (17 points, 19 edges), {c['images']} images, "
        f"{c['persons']} persons, {c['crowd_regions']} crowd regions"
    ) in out
    assert out[-1].endswith("other datasets have no keypoints field)")


@pytest.mark.parametrize("error", [ValueError("bad math"), KeyError("a key"), OSError(5, "I/O error in a library")])
def test_an_internal_value_key_or_os_error_is_a_bug(tmp_path, capsys, monkeypatch, error):
    """``ValueError``, ``KeyError`` and ``OSError`` raised inside the tool are bugs: they pass through
    ``main`` (the console script prints the traceback, exit 1), never a one-line user error."""
    from fiftyone_pose import formats

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(formats, "convert", broken)
    src = _write(tmp_path / "in.json", coco_doc())
    with pytest.raises(type(error)):
        cli.main(["convert", str(src), str(tmp_path / "out.json"), "--from", "coco"])


def test_the_console_script_shows_a_bug_with_its_traceback_and_exit_1(tmp_path):
    src = _write(tmp_path / "in.json", coco_doc())
    inject = (
        "import sys; from fiftyone_pose import cli, formats\n"
        "def broken(*a, **k): raise KeyError('internal')\n"
        "formats.convert = broken\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", inject, "convert", str(src), str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "KeyError: 'internal'" in done.stderr


def test_bad_input_and_bad_paths_are_one_line_user_errors(tmp_path, capsys):
    """What the user gave: a missing file, a folder for a file, a folder as the output, an unknown
    layout or part: exit 2, one line naming it, no traceback."""
    src = _write(tmp_path / "in.json", coco_doc())
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [
        (("convert", tmp_path / "missing.json", tmp_path / "o.json", "--from", "coco"), "missing.json"),
        (("convert", folder, tmp_path / "o.json", "--from", "coco"), "Is a directory"),
        (("convert", src, folder), f"{folder}: is a directory; give a file name"),
        (("convert", src, tmp_path / "o.json", "--layout", "nonsense"), "unknown layout 'nonsense'"),
    ]
    for argv, expected in cases:
        code, _, err = _run(capsys, *argv)
        assert code == 2, argv
        assert expected in _one_error_line(err), (argv, err)
    assert os.listdir(folder) == []  # no temporary file left beside the refused destination


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(coco_doc())[:300],  # cut before anything sets a format apart
        json.dumps(coco_doc())[:-40],  # cut near the end
        '{"images": [1, 2,}',  # invalid
        "[1, 2",  # a cut list
    ],
)
def test_auto_detection_reports_a_broken_json_file_as_broken(tmp_path, capsys, content):
    """``--format auto`` (the default) says what ``--format coco`` says of a broken file: its line
    and column, not "cannot tell the format"."""
    path = tmp_path / "broken.json"
    path.write_text(content)
    auto = _one_error_line(_run(capsys, "convert", path, tmp_path / "o.json")[2])
    named = _one_error_line(_run(capsys, "convert", path, tmp_path / "o.json", "--from", "coco")[2])
    assert auto == named and "invalid JSON" in auto and "cannot tell" not in auto


def test_a_folder_of_no_known_format_is_called_a_directory(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"")
    code, _, err = _run(capsys, "convert", folder, tmp_path / "o.json")
    assert code == 2
    assert _one_error_line(err) == (
        f"fiftyone-pose: error: {folder}: is a directory, and not a dataset folder of a known format; "
        "give the annotation file, or pass --from FORMAT for a dataset folder"
    )


@pytest.mark.parametrize(
    ("to", "options"),
    [
        ("mpii", {"layout": "mpii"}),
        ("pytorch_pose", {"layout": "mpii"}),
        ("aic", {"layout": "aic", "flavor": "native"}),
        ("ochuman", {"flavor": "native"}),
        ("coco", {"layout": "crowdpose"}),
    ],
)
def test_the_convert_summary_describes_what_was_written(tmp_path, capsys, to, options):
    """Images, persons, crowd regions and points as the written file holds them (not as the
    input had them), and what was left out counted in the notes."""
    from fiftyone_pose import formats

    src = _write(tmp_path / "in.json", coco_doc())  # a crowd region, an image without persons
    out = tmp_path / "out.json"
    written = formats.convert(src, out, "coco", to, **options).summary()
    back = formats.read(out, to).summary()
    for key in ("images", "persons", "crowd_regions", "persons_without_keypoints", "keypoints_labeled"):
        assert written[key] == back[key], key
    assert written["layout"].split(" (")[1] == back["layout"].split(" (")[1]  # (OCHuman's is COCO's, by name)
    source = formats.read(src).summary()
    left_out = source["crowd_regions"] - back["crowd_regions"]
    if left_out:
        assert any(r.startswith("crowd regions not written") and n == left_out for r, n in written["notes"].items())
    if source["images"] != back["images"]:
        assert any(r.startswith("images without persons not written") for r in written["notes"])
    if "layout" in options:
        assert written["layout"].startswith(f"{options['layout']} (")
        code, lines, _ = _run(capsys, "convert", src, tmp_path / "cli.json", "--to", to, "--layout", options["layout"])
        assert code == 0 and f"  persons: {back['persons']}" in lines and f"  images: {back['images']}" in lines


# ------------------------------------------------------------- destinations checked before the work


def _bad_destinations(tmp_path: Path) -> list[tuple[Path, str]]:
    """(destination, what the error says) for every kind of destination that cannot be written."""
    folder = tmp_path / "existing_folder"
    folder.mkdir(exist_ok=True)
    return [
        (folder, f"{folder}: is a directory; give a file name"),
        (Path("/proc/out.json"), "/proc/out.json: cannot write there (No such file or directory)"),
        (tmp_path / "missing" / "out.json", f"{tmp_path / 'missing' / 'out.json'}: the folder "
         f"{tmp_path / 'missing'} does not exist"),
    ]  # fmt: skip


def test_convert_checks_the_destination_before_reading(tmp_path, capsys, monkeypatch):
    from fiftyone_pose import formats

    src = _write(tmp_path / "in.json", coco_doc())
    reads = []
    real = formats.read_stream
    monkeypatch.setattr(formats, "read_stream", lambda *a, **k: reads.append(1) or real(*a, **k))
    for dst, said in _bad_destinations(tmp_path):
        code, out, err = _run(capsys, "convert", src, dst, "--from", "coco")
        assert code == 2 and _one_error_line(err) == f"fiftyone-pose: error: {said}"
        assert ".tmp" not in err[0]
    code, out, err = _run(capsys, "convert", src, tmp_path / "out.json", "--from", "coco", "--to", "nonsense")
    assert code == 2 and "unknown format 'nonsense'" in _one_error_line(err)
    assert reads == [] and not (tmp_path / "out.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["existing_folder", "in.json"]


def test_pure_write_checks_the_destination(tmp_path):
    from fiftyone_pose import formats
    from fiftyone_pose.core.errors import PoseFormatError

    data = formats.read(_write(tmp_path / "in.json", coco_doc()))
    for dst, said in _bad_destinations(tmp_path):
        with pytest.raises(PoseFormatError) as e:
            formats.write(data, dst, "coco")
        assert str(e.value) == said
    yolo_file = tmp_path / "not_a_folder"
    yolo_file.write_text("x")
    with pytest.raises(PoseFormatError, match="not_a_folder: is a file; format 'yolo' writes a folder"):
        formats.write(data, yolo_file, "yolo", images_dir=tmp_path)


def test_export_checks_the_destination_before_any_work(fo_db, dataset_name, src, tmp_path, capsys, monkeypatch):
    import fiftyone_pose as fop
    from fiftyone_pose.core.errors import PoseError
    from fiftyone_pose.fo import api

    assert _run(capsys, "import", src, "--name", dataset_name)[0] == 0
    calls = []
    real = api.to_pose_stream
    monkeypatch.setattr(api, "to_pose_stream", lambda *a, **k: calls.append(1) or real(*a, **k))
    for dst, said in _bad_destinations(tmp_path):
        code, out, err = _run(capsys, "export", dataset_name, dst)
        assert code == 2 and _one_error_line(err) == f"fiftyone-pose: error: {said}"
        with pytest.raises(PoseError) as e:
            fop.export(fo_db.load_dataset(dataset_name), dst, overwrite=True)
        assert str(e.value) == said
    code, out, err = _run(capsys, "export", dataset_name, tmp_path / "out.json", "--format", "nonsense")
    assert code == 2 and "unknown format 'nonsense'" in _one_error_line(err)
    assert calls == [] and not (tmp_path / "out.json").exists()


# ------------------------------------------------------------------------------- missing images


def _touch_images(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")


def test_missing_files_lists_each_folder_once(tmp_path):
    from fiftyone_pose.formats.media import missing_files

    _touch_images(tmp_path, ["a.jpg", "sub/b.jpg", "sub/c.jpg"])
    (tmp_path / "sub" / "link.jpg").symlink_to(tmp_path / "a.jpg")
    (tmp_path / "sub" / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / "folder.jpg").mkdir()
    names = ["a.jpg", "sub/b.jpg", "x.jpg", "sub/link.jpg", "sub/broken.jpg", "folder.jpg", "no/such/d.jpg",
             str(tmp_path / "sub" / "c.jpg"), "sub/../a.jpg", "./sub/c.jpg"]  # fmt: skip
    assert missing_files(tmp_path, names).tolist() == [2, 4, 5, 6]


def test_import_reports_missing_images_or_refuses_them(fo_db, dataset_name, src, tmp_path, capsys, monkeypatch):
    from fiftyone_pose import formats

    folder = src.parent
    for name in ("sub/dir/9.jpg", "empty.jpg"):  # 2 of the 3 images are missing
        (folder / name).unlink()
    code, out, err = _run(capsys, "import", src, "--name", dataset_name)
    assert code == 0
    note = f"images not found in {folder} (e.g. sub/dir/9.jpg, empty.jpg)"
    assert f'  notes: {{"{note}": 2}}' in out
    assert err == [f"fiftyone-pose: warning: 2 of 3 images not found in {folder} (e.g. sub/dir/9.jpg, empty.jpg); "
                   "pass --require-images to refuse the import"]  # fmt: skip
    assert len(fo_db.load_dataset(dataset_name)) == 3  # imported all the same

    other = dataset_name + "-strict"
    code, out, err = _run(capsys, "import", src, "--name", other, "--require-images")
    assert code == 2 and _one_error_line(err) == (
        f"fiftyone-pose: error: {src}: 2 of 3 images not found in {folder} (e.g. sub/dir/9.jpg, empty.jpg)"
    )
    assert not fo_db.dataset_exists(other)
    from fiftyone_pose.fo.api import leftover_datasets

    assert leftover_datasets() == []

    import fiftyone_pose as fop
    from fiftyone_pose.core.errors import PoseFormatError

    with pytest.raises(PoseFormatError, match="2 of 3 images not found"):
        fop.load(src, name=other, require_images=True)
    assert not fo_db.dataset_exists(other)

    _touch_images(folder, ["sub/dir/9.jpg", "empty.jpg"])
    code, out, err = _run(capsys, "import", src, "--name", other, "--require-images")
    assert code == 0 and err == [] and not any("notes" in line for line in out)

    reads = []
    real = formats.read
    monkeypatch.setattr(formats, "read", lambda *a, **k: reads.append(1) or real(*a, **k))
    nowhere = tmp_path / "nowhere"
    code, out, err = _run(capsys, "import", src, "--name", dataset_name + "-x", "--images-dir", nowhere)
    assert code == 2 and _one_error_line(err) == f"fiftyone-pose: error: {nowhere}: no such images folder"
    with pytest.raises(PoseFormatError, match=f"{nowhere}: no such images folder"):
        fop.load(src, name=dataset_name + "-x", images_dir=nowhere)
    assert reads == []
