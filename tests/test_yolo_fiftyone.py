"""YOLO-pose datasets through FiftyOne: the CLI's three commands, ``fop.export`` of views, the
dataset type for ``view.export`` / ``fo.Dataset.from_dir``, the App's export operator; splits are
sample tags both ways, and COCO -> YOLO -> COCO keeps every point the rows hold."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from dataset_docs import crowdpose_doc, humanart_doc, mhp_coco_doc, ochuman_coco_doc
from helpers import coco_doc
from yolo_docs import coco8_files, images_of, write_files

from fiftyone_pose import cli, formats
from fiftyone_pose.demo.run import demo_paths

pytestmark = pytest.mark.fiftyone


def _labels(root: Path) -> dict[str, str]:
    return {os.fspath(p.relative_to(root)): p.read_text() for p in sorted((root / "labels").rglob("*.txt"))}


def _rows(path: Path) -> np.ndarray:
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return np.array(lines, dtype=np.float64) if lines else np.zeros((0, 0))


def test_cli_converts_imports_and_exports_yolo(fo_db, dataset_name, tmp_path, capsys):
    labels, images = demo_paths()
    out = tmp_path / "out"
    assert (
        cli.main(["convert", os.fspath(labels), os.fspath(out), "--to", "yolo", "--images-dir", os.fspath(images)]) == 0
    )
    printed = capsys.readouterr().out
    assert f"wrote {out} (yolo)" in printed and "one split 'train'" in printed and "crowd regions left out" in printed
    assert (out / "images" / "train" / "extra").is_dir() and (
        out / "images" / "train" / "000001000042.jpg"
    ).is_symlink()

    assert cli.main(["import", os.fspath(out), "--format", "yolo", "--name", dataset_name]) == 0
    ds = fo_db.load_dataset(dataset_name)
    assert ds.count_sample_tags() == {"train": 30} and "split" not in ds.get_field_schema()
    assert ds.first().filepath == os.fspath(out / "images" / "train" / "000001000042.jpg")
    assert ds.skeletons["ground_truth"].labels[0] == "nose"

    ds.take(10, seed=3).tag_samples("val")
    ds.match_tags("val").untag_samples("train")
    again = tmp_path / "again"
    capsys.readouterr()
    code = cli.main(
        [
            "export",
            dataset_name,
            os.fspath(again),
            "--format",
            "yolo",
            "--split-tags",
            "train,val",
            "--export-media",
            "copy",
        ]
    )
    assert code == 0, capsys.readouterr().err
    config = yaml.safe_load((again / "dataset.yaml").read_text())
    assert (config["train"], config["val"]) == ("images/train", "images/val")
    assert len(list((again / "images" / "val").rglob("*.jpg"))) == 10
    assert not next((again / "images" / "val").rglob("*.jpg")).is_symlink()

    def below_split(labels: dict[str, str]) -> dict[str, str]:  # labels/<split>/<file_name>.txt
        return {"/".join(Path(name).parts[2:]): text for name, text in labels.items()}

    assert below_split(_labels(again)) == below_split(_labels(out))  # the same files, the same rows

    assert cli.main(["export", dataset_name, os.fspath(tmp_path / "x.json"), "--format", "coco", "--split", "a"]) == 2
    assert capsys.readouterr().err.strip() == (
        "fiftyone-pose: error: format 'coco' has no write option 'split' (its write options: none)"
    )


def test_export_of_a_view_writes_the_persons_it_shows_in_the_tagged_splits(fo_db, dataset_name, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import views

    labels, images = demo_paths()
    ds = fop.load(labels, images_dir=images, name=dataset_name)
    view = views.persons_with_visible(ds, min_count=8)
    view.take(5, seed=1).tag_samples("val")
    ds.match_tags("val", bool=False).tag_samples("train")
    data = fop.export(view, tmp_path / "out", format="yolo")
    rows = sum(len(_rows(p)) for p in (tmp_path / "out" / "labels").rglob("*.txt"))
    assert (
        rows
        == len(view.values("ground_truth.keypoints", unwind=True))
        == data.summary()["persons"] + data.summary()["crowd_regions"]
    )
    assert len(list((tmp_path / "out" / "images" / "val").rglob("*.jpg"))) == len(view.match_tags("val"))
    assert len(list((tmp_path / "out" / "images" / "train").rglob("*.jpg"))) == len(view.match_tags("train"))
    assert data.format == "yolo"
    ds.untag_samples("train")
    with pytest.raises(ValueError, match="have none of the split tags"):
        fop.export(view, tmp_path / "bad", format="yolo")
    assert not (tmp_path / "bad").exists()


def test_dataset_type_honours_export_media_max_samples_and_shuffle(fo_db, dataset_name, tmp_path):
    import fiftyone as fo

    import fiftyone_pose as fop

    labels, images = demo_paths()
    ds = fop.load(labels, images_dir=images, name=dataset_name)
    ds.export(export_dir=os.fspath(tmp_path / "out"), dataset_type=fop.types.YOLOPoseDataset, export_media=True)
    placed = tmp_path / "out" / "images" / "train" / "000001000042.jpg"
    assert placed.is_file() and not placed.is_symlink()
    name = f"{dataset_name}-back"
    try:
        back = fo.Dataset.from_dir(
            dataset_dir=os.fspath(tmp_path / "out"),
            dataset_type=fop.types.YOLOPoseDataset,
            max_samples=7,
            shuffle=True,
            seed=2,
            name=name,
        )
        assert len(back) == 7 and back.count_sample_tags() == {"train": 7}
        label_files = [Path(p.replace("/images/", "/labels/")).with_suffix(".txt") for p in back.values("filepath")]
        assert back.count("ground_truth.keypoints") == sum(len(_rows(f)) for f in label_files)
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_app_export_operator_offers_yolo(fo_db, dataset_name, tmp_path, monkeypatch):
    import fiftyone.operators as foo

    import fiftyone_pose as fop
    from fiftyone_pose.plugin import PLUGIN_NAME

    cli.main(["plugin", "install", "--dir", os.fspath(tmp_path / "plugins")])
    monkeypatch.setattr(fo_db.config, "plugins_dir", os.fspath(tmp_path / "plugins"))
    labels, images = demo_paths()
    ds = fop.load(labels, images_dir=images, name=dataset_name)
    result = foo.execute_operator(
        f"{PLUGIN_NAME}/export_pose_view",
        {
            "dataset": ds,
            "params": {"path": os.fspath(tmp_path / "out"), "format": "yolo", "export_media": "none"},
        },
    )
    assert result.error is None, result.error_message
    assert result.result["images"] == 30 and (tmp_path / "out" / "dataset.yaml").is_file()
    assert not (tmp_path / "out" / "images").exists()


#: the COCO-like files of the tests (and the demo), each with the format that reads it
ROUND_TRIPS = {
    "coco": coco_doc,
    "crowdpose": crowdpose_doc,
    "humanart": humanart_doc,
    "mhp": mhp_coco_doc,
    "ochuman": ochuman_coco_doc,
    "demo": None,
}


@pytest.mark.parametrize("format", ROUND_TRIPS)
def test_coco_to_yolo_to_coco_through_fiftyone_keeps_every_point_the_rows_hold(fo_db, dataset_name, tmp_path, format):
    import fiftyone_pose as fop

    if format == "demo":
        labels, images = demo_paths()
        format = "coco"
    else:
        doc = ROUND_TRIPS[format]()
        labels = tmp_path / "in.json"
        labels.write_text(json.dumps(doc))
        images = images_of(doc, tmp_path / "images")
    ds = fop.load(labels, format=format, images_dir=images, name=dataset_name)
    fop.export(ds, tmp_path / "yolo", format="yolo")
    # the same label files as the pure write, though the export reads no segmentation or extra key
    formats.write(formats.read(labels, format), tmp_path / "pure", "yolo", images_dir=images)
    assert _labels(tmp_path / "yolo") == _labels(tmp_path / "pure")
    back = fop.load(tmp_path / "yolo", name=f"{dataset_name}-2")
    try:
        fop.export(back, tmp_path / "back.json", format="coco")
    finally:
        back.delete()
    doc = json.loads((tmp_path / "back.json").read_text())
    annotations: dict[int, list] = {}
    for a in doc["annotations"]:
        annotations.setdefault(a["image_id"], []).append(a)
    assert len(doc["images"]) == len(ds)
    for im in doc["images"]:
        rows = _rows((tmp_path / "yolo" / im["file_name"].replace("images/", "labels/", 1)).with_suffix(".txt"))
        people = annotations.get(im["id"], [])
        assert len(people) == len(rows)
        wh = np.array([im["width"], im["height"]])
        for values, person in zip(rows, people):
            kp = np.array(person["keypoints"], dtype=np.float64).reshape(-1, 3)
            points = values[5:].reshape(-1, 3)
            assert np.allclose(kp[:, :2], points[:, :2] * wh, rtol=0, atol=1e-9 * wh.max())
            assert (kp[:, 2] == points[:, 2]).all()
            cx, cy, bw, bh = values[1:5] * np.tile(wh, 2)
            assert np.allclose(person["bbox"], [cx - bw / 2, cy - bh / 2, bw, bh], rtol=0, atol=1e-9 * wh.max())


def test_a_bad_label_file_imports_nothing(fo_db, dataset_name, tmp_path, capsys):
    from fiftyone_pose.fo.api import leftover_datasets

    files = coco8_files()
    files["coco8/labels/val/c.txt"] = "0 0.5 0.5 0.2\n"
    root = write_files(tmp_path, files) / "coco8"
    before = leftover_datasets()
    assert cli.main(["import", os.fspath(root), "--name", dataset_name]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"fiftyone-pose: error: {root / 'labels' / 'val' / 'c.txt'}: line 1: field 'values': "
        "has 4 values, expected 56 (class, box and 17 x 3 point values, as kpt_shape says)"
    )
    assert not fo_db.dataset_exists(dataset_name) and leftover_datasets() == before
    assert formats.detect(root) == "yolo"


def test_yolo_import_reads_a_run_of_label_files_at_a_time(fo_db, dataset_name, tmp_path, monkeypatch):
    """``fop.load`` and the dataset type read a YOLO folder a run of label files at a time
    (``yolo.read_stream``): the samples, their split tags and their persons are those of a
    one-run read."""
    import fiftyone as fo

    import fiftyone_pose as fop
    from fiftyone_pose.formats import jsonio

    root = write_files(tmp_path, coco8_files()) / "coco8"
    names = [dataset_name, f"{dataset_name}-runs", f"{dataset_name}-type"]

    def content(ds) -> tuple:
        points = ds.values("ground_truth.keypoints.points")
        return ds.values("filepath"), ds.values("tags"), str(points), ds.values("ground_truth.keypoints.person_id")

    try:
        whole = fop.load(root, name=names[0])
        monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)  # one label file per run
        runs = fop.load(root, name=names[1])
        typed = fo.Dataset.from_dir(dataset_dir=os.fspath(root), dataset_type=fop.types.YOLOPoseDataset, name=names[2])
        assert content(runs) == content(whole) == content(typed)
        assert whole.count_sample_tags() == {"train": 2, "val": 2} and whole.count("ground_truth.keypoints") == 4
        assert "split" not in whole.get_field_schema()
    finally:
        for name in names:
            if fo.dataset_exists(name):
                fo.delete_dataset(name)
