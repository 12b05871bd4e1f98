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

    from fiftyone.operators.executor import ExecutionError

    with pytest.raises(ExecutionError, match=f"{out} already exists; tick 'Replace an existing file' to replace"):
        foo.execute_operator(  # the error the CLI prints, the option named as the form's field
            f"{PLUGIN_NAME}/export_pose_view",
            {"view": view, "params": {"path": str(out), "view_target": "CURRENT_VIEW"}},
        )
    result = foo.execute_operator(  # by name to a 14-point layout: no format means COCO
        f"{PLUGIN_NAME}/export_pose_view",
        {
            "view": view,
            "params": {"path": str(out), "layout": "crowdpose", "view_target": "CURRENT_VIEW", "overwrite": True},
        },
    )
    assert result.error is None, result.error_message
    doc = json.loads(out.read_text())
    assert {len(a["keypoints"]) for a in doc["annotations"]} == {42} and len(doc["annotations"]) == 72
    assert doc["categories"][0]["keypoints"][:2] == ["left_shoulder", "right_shoulder"]

    result = foo.execute_operator(
        f"{PLUGIN_NAME}/curate_poses",
        {"dataset": ds, "params": {"filter": "persons_with_joint", "names": ["left_wrist"], "state": "occluded"}},
    )
    assert result.result == {"images": 7, "persons": 7}
    result = foo.execute_operator(f"{PLUGIN_NAME}/pose_statistics", {"dataset": ds, "params": {}})
    assert result.result["summary"]["persons"] == 88
    assert result.result["joints"][0] == {"joint": "nose", "visible": 55, "occluded": 0, "unlabeled": 33}


def test_the_curate_form_offers_every_view_with_the_options_of_its_signature(fo_db, dataset_name):
    """No second list: the form's fields are the views' parameters, typed as the signatures say."""
    from fiftyone.operators.executor import ExecutionContext

    from fiftyone_pose.core.errors import PoseUsageError
    from fiftyone_pose.fo import views
    from fiftyone_pose.fo.api import create_dataset
    from fiftyone_pose.plugin import CuratePoses, curate

    labels, images = demo_paths()
    from fiftyone_pose import formats

    create_dataset(formats.read(labels), images, dataset_name)
    operator = CuratePoses()
    for name in views.CURATION_VIEWS:
        ctx = ExecutionContext({"dataset_name": dataset_name, "params": {"filter": name}})
        form = operator.resolve_input(ctx).type
        options = [n for n in form.properties if n not in ("filter", "label_field", "chain")]
        assert options == [p.name for p in views.view_parameters(name)], name
        labels_shown = {c.value: c.label for c in form.properties["filter"].view.choices}
        assert labels_shown[name] == views.view_summary(name)
    joints = ExecutionContext({"dataset_name": dataset_name, "params": {"filter": "persons_with_joint"}})
    names = operator.resolve_input(joints).type.properties["names"]
    assert [c.value for c in names.view.choices][:3] == ["nose", "left_eye", "right_eye"]
    state = operator.resolve_input(joints).type.properties["state"]
    assert state.type.values == ["visible", "labeled", "occluded", "unlabeled"] and state.default == "visible"
    with pytest.raises(PoseUsageError, match="unknown filter"):
        curate(None, {"filter": "nope"})


def test_the_export_form_offers_the_layouts_the_field_converts_to(registered, dataset_name, tmp_path):
    import asyncio

    import orjson
    from fiftyone.operators.executor import resolve_type
    from fiftyone.operators.registry import OperatorRegistry
    from mpii_docs import mpii_hrnet_doc
    from PIL import Image

    import fiftyone_pose as fop

    src = tmp_path / "mpii_train.json"
    src.write_bytes(orjson.dumps(mpii_hrnet_doc()))
    for name in ("015601864.jpg", "000123456.jpg"):
        Image.new("RGB", (1280, 720)).save(tmp_path / name)
    ds = fop.load(src, name=dataset_name)
    form = asyncio.run(resolve_type(OperatorRegistry(), f"{PLUGIN_NAME}/export_pose_view", {"dataset_name": ds.name}))
    layouts = form.type.properties["layout"].type.values
    assert layouts == ["coco", "coco_wholebody", "halpe26", "mhp", "mpii"]


def test_plugin_list_and_uninstall(tmp_path, capsys):
    assert main(["plugin", "list", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"the plugin {PLUGIN_NAME} is not installed in {tmp_path}"
    assert main(["plugin", "install", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["plugin", "list", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{PLUGIN_NAME}: installed in {tmp_path / PLUGIN_FOLDER}",
        f"  operators: {', '.join(OPERATORS)}",
    ]
    (tmp_path / "other-plugin").mkdir()
    assert main(["plugin", "uninstall", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"removed the plugin {PLUGIN_NAME} from {tmp_path / PLUGIN_FOLDER}\n"
    assert os.listdir(tmp_path) == ["other-plugin"]  # nothing else is touched
    assert main(["plugin", "uninstall", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"fiftyone-pose: error: the plugin {PLUGIN_NAME} is not installed in {tmp_path}\n"
    )


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
