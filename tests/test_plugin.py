"""The App plugin: installed by the CLI, listed by FiftyOne, operators executed (no App server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fiftyone_pose.cli import main
from fiftyone_pose.demo.run import demo_paths
from fiftyone_pose.plugin import OPERATORS, PLUGIN_FOLDER, PLUGIN_NAME

URIS = [f"{PLUGIN_NAME}/{name}" for name in OPERATORS]


def test_cli_installs_the_plugin(tmp_path, capsys, monkeypatch):
    assert main(["plugin", "install", "--dir", str(tmp_path)]) == 0
    folder = tmp_path / PLUGIN_FOLDER
    assert "from fiftyone_pose.plugin import register" in (folder / "__init__.py").read_text()
    assert f'name: "{PLUGIN_NAME}"' in (folder / "fiftyone.yml").read_text()
    assert str(folder) in capsys.readouterr().out
    (folder / "stale.txt").write_text("from an older install")
    assert main(["plugin", "install", "--dir", str(tmp_path)]) == 0  # reinstall replaces
    assert sorted(p.name for p in tmp_path.iterdir()) == [PLUGIN_FOLDER]
    assert sorted(p.name for p in folder.iterdir()) == ["__init__.py", "fiftyone.yml"]
    # default: FiftyOne's plugins directory
    monkeypatch.setenv("FIFTYONE_PLUGINS_DIR", str(tmp_path / "default"))
    assert main(["plugin", "install"]) == 0
    assert (tmp_path / "default" / PLUGIN_FOLDER / "fiftyone.yml").is_file()
    assert main(["plugin"]) == 2


def test_fiftyone_lists_the_operators(tmp_path):
    main(["plugin", "install", "--dir", str(tmp_path)])
    env = {**os.environ, "FIFTYONE_PLUGINS_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", "import fiftyone.core.cli as c; c.main()", "operators", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert all(uri in out.stdout for uri in URIS), out.stdout


@pytest.fixture
def registered(fo_db, tmp_path, monkeypatch):
    main(["plugin", "install", "--dir", str(tmp_path / "plugins")])
    monkeypatch.setattr(fo_db.config, "plugins_dir", str(tmp_path / "plugins"))
    import fiftyone.operators as foo

    return foo


def test_operators_execute(registered, dataset_name, tmp_path):
    foo = registered
    labels, images = demo_paths()
    result = foo.execute_operator(
        f"{PLUGIN_NAME}/import_pose_dataset",
        {
            "params": {
                "path": str(labels),
                "format": "auto",
                "images_dir": str(images),
                "name": dataset_name,
                "open": False,
            }
        },
    )
    assert result.error is None, result.error_message
    import fiftyone as fo

    ds = fo.load_dataset(dataset_name)
    assert len(ds) == 30 and ds.count("ground_truth.keypoints") == 90 and ds.persistent

    out = tmp_path / "curated.json"
    result = foo.execute_operator(
        f"{PLUGIN_NAME}/curate_poses",
        {"dataset": ds, "params": {"filter": "persons_with_visible", "min_count": 8}},
    )
    assert result.error is None, result.error_message
    assert result.result == {"images": 27, "persons": 72}
    from fiftyone_pose.fo import views

    view = views.persons_with_visible(ds, min_count=8)
    result = foo.execute_operator(
        f"{PLUGIN_NAME}/export_pose_view",
        {"view": view, "params": {"path": str(out), "format": "coco", "view_target": "CURRENT_VIEW"}},
    )
    assert result.error is None, result.error_message
    assert result.result == {"path": str(out), "images": 27, "persons": 72}
    assert len(json.loads(out.read_text())["annotations"]) == 72

    result = foo.execute_operator(  # by name to a 14-point layout: no format means COCO
        f"{PLUGIN_NAME}/export_pose_view",
        {"view": view, "params": {"path": str(out), "layout": "crowdpose", "view_target": "CURRENT_VIEW"}},
    )
    assert result.error is None, result.error_message
    doc = json.loads(out.read_text())
    assert {len(a["keypoints"]) for a in doc["annotations"]} == {42} and len(doc["annotations"]) == 72
    assert doc["categories"][0]["keypoints"][:2] == ["left_shoulder", "right_shoulder"]

    result = foo.execute_operator(
        f"{PLUGIN_NAME}/curate_poses",
        {"dataset": ds, "params": {"filter": "persons_with_joint", "names": "left_wrist", "state": "occluded"}},
    )
    assert result.result == {"images": 7, "persons": 7}
    result = foo.execute_operator(f"{PLUGIN_NAME}/pose_statistics", {"dataset": ds, "params": {}})
    assert result.result["summary"]["persons"] == 88
    assert result.result["joints"][0] == {"joint": "nose", "visible": 55, "occluded": 0, "unlabeled": 33}


def test_curate_maps_every_filter(fo_db):
    from fiftyone_pose.fo import views
    from fiftyone_pose.plugin import _FILTERS, curate

    assert set(_FILTERS) == set(views.CURATION_VIEWS)
    with pytest.raises(ValueError, match="unknown filter"):
        curate(None, {"filter": "nope"})


def test_prediction_operators_execute(registered, dataset_name, tmp_path):
    """Import predictions and evaluate them from the App's operators (perturbed demo persons)."""
    import fiftyone as fo
    from eval_cases import perturbed_results

    foo = registered
    labels, images = demo_paths()
    import fiftyone_pose as fop

    ds = fop.load(labels, images_dir=images, name=dataset_name)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(perturbed_results(json.loads(labels.read_text()), seed=0)))
    result = foo.execute_operator(
        f"{PLUGIN_NAME}/import_pose_predictions", {"dataset": ds, "params": {"path": str(results)}}
    )
    assert result.error is None, result.error_message
    assert result.result["predictions"] == ds.count("predictions.keypoints") > 0
    assert result.result["left_out"] == "nothing"
    result = foo.execute_operator(
        f"{PLUGIN_NAME}/evaluate_poses",
        {"dataset": ds, "params": {"gt_field": "ground_truth", "pred_field": "predictions", "eval_key": "app",
                                   "method": "auto", "show": "worst_images"}},
    )  # fmt: skip
    assert result.error is None, result.error_message
    assert result.result["report"].splitlines()[0].startswith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all")
    assert fo.load_dataset(dataset_name).list_evaluations() == ["app"]
