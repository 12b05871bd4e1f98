"""Exports are deterministic: the same dataset or saved view exported twice gives byte-identical
files, in the same process and in fresh processes with different hash seeds (so no set or dict
order that depends on ``PYTHONHASHSEED`` can leak into the output)."""

from __future__ import annotations

import copy

import orjson
import pytest
from helpers import coco_doc
from mutations import cli_env, run_cli

from fiftyone_pose import cli
from fiftyone_pose.core.compare import first_difference


def _doc():
    """The example document with extra keys in different orders and sets per record, the things
    a set or a hash-ordered dict would shuffle."""
    doc = copy.deepcopy(coco_doc())
    doc["images"][0].update({"zeta": 1, "alpha": "a", "mid": [1, 2]})
    doc["images"][1].update({"mid": {"k": 1}, "zeta": 2.5})
    doc["images"][2].update({"alpha": None, "extra.dotted": 3, "with space": True})
    doc["annotations"][0].update({"z_note": "z", "a_note": "a", "tags": ["x"]})
    doc["annotations"][2].update({"a_note": "b", "$weird": 1, "m": {"y": 2, "x": 1}})
    return doc


@pytest.fixture
def imported(fo_db, dataset_name, tmp_path):
    from fiftyone import ViewField as F

    from fiftyone_pose.fo import api

    src = tmp_path / "in" / "person_keypoints.json"
    src.parent.mkdir()
    src.write_bytes(orjson.dumps(_doc()))
    ds = api.load(src, name=dataset_name, persistent=True)
    view = ds.filter_labels("ground_truth", F("person_id").is_in([1, 2, 3]), only_matches=False).sort_by(
        "image_id", reverse=True
    )
    ds.save_view("chosen", view)
    return dataset_name


def _export(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.mark.parametrize("view", [None, "chosen"], ids=["dataset", "saved-view"])
def test_exporting_twice_gives_identical_bytes(imported, tmp_path, capsys, view):
    extra = ["--view", view] if view else []
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    _export(capsys, "export", imported, first, *extra)
    _export(capsys, "export", imported, second, *extra)
    assert first.read_bytes() == second.read_bytes()
    written = orjson.loads(first.read_bytes())
    if view is None:
        assert first_difference(written, _doc()) is None
    else:
        assert [a["id"] for a in written["annotations"]] == [1, 2, 3]
        assert [i["id"] for i in written["images"]] == [3000000000, 11, 7]  # the view's order


def test_exports_from_fresh_processes_with_other_hash_seeds_are_identical(imported, tmp_path, capsys):
    here = tmp_path / "here.json"
    _export(capsys, "export", imported, here, "--view", "chosen")
    for seed in ("1", "2"):
        out = tmp_path / f"seed-{seed}.json"
        done = run_cli("export", imported, out, "--view", "chosen", env=cli_env(PYTHONHASHSEED=seed))
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == here.read_bytes(), f"PYTHONHASHSEED={seed}"
