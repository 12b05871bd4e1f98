"""YOLO-pose datasets (pure layer): written as Ultralytics' own converter writes them, accepted by
Ultralytics' own loader, read back to the same label files, and never written outside their folder.

The reference is Ultralytics itself: ``convert_coco(..., use_keypoints=True)`` runs on the same
COCO files and its rows must equal ours; ``verify_image_label`` and ``YOLODataset(task="pose")``
load every exported dataset (CPU, no training, no download). These tests are skipped only where
``ultralytics`` is not installed (it is in the ``test`` extra, so CI has it; see
``test_ultralytics_is_installed_in_ci``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import yaml
from dataset_docs import crowdpose_doc, humanart_doc, mhp_coco_doc, ochuman_coco_doc
from helpers import COCO_NAMES, coco_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import coco_documents
from yolo_docs import COCO_FLIP_IDX, coco8_files, coco8_yaml, header_png, image_bytes, images_of, write_files

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.errors import PoseFormatError, PoseUsageError
from fiftyone_pose.core.model import Persons
from fiftyone_pose.core.stream import PoseStream
from fiftyone_pose.demo.run import demo_paths
from fiftyone_pose.formats import coco, cocolike, jsonio, yolo

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------ Ultralytics itself


@pytest.fixture(scope="session")
def ultralytics(tmp_path_factory):
    """Ultralytics' own converter and loader, configured to write nothing outside the test's folders."""
    os.environ.setdefault("YOLO_CONFIG_DIR", str(tmp_path_factory.mktemp("ultralytics-config")))
    os.environ.setdefault("YOLO_OFFLINE", "true")
    pytest.importorskip("ultralytics", reason="ultralytics is not installed (pip install -e '.[test]' installs it)")
    from ultralytics.data import converter, utils
    from ultralytics.data.dataset import YOLODataset

    return converter, utils, YOLODataset


def test_ultralytics_is_installed_in_ci():
    """CI installs the test extra, so the tests against Ultralytics run there, never skip."""
    if not os.environ.get("CI"):
        pytest.skip("only checked in CI (CI=true)")
    import ultralytics  # noqa: F401


def _convert_coco_rows(ultralytics, doc: dict, work: Path) -> dict[str, np.ndarray]:
    """Label file (relative, without .txt) -> rows, as Ultralytics' ``convert_coco`` writes them."""
    converter = ultralytics[0]
    src = work / "annotations"
    src.mkdir(parents=True)
    (src / "person_keypoints_x.json").write_text(json.dumps(doc))
    converter.convert_coco(str(src), str(work / "converted"), use_keypoints=True, cls91to80=False)
    labels = work / "converted" / "labels" / "person_keypoints_x"
    return {_below_images(os.fspath(p.relative_to(labels))[:-4]): _rows(p) for p in labels.rglob("*.txt")}


def _below_images(name: str) -> str:
    """Where our export puts a file name with an ``images`` folder (Human-Art's): below that folder,
    so that Ultralytics' images -> labels rule finds the label."""
    return name.rpartition("/images/")[2] if "/images/" in f"/{name}" else name


def _rows(path: Path) -> np.ndarray:
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return np.array(lines, dtype=np.float64) if lines else np.zeros((0, 0))


def _our_rows(doc: dict, work: Path, format: str = "coco") -> tuple[dict[str, np.ndarray], dict[str, int]]:
    data = formats.read(_json(work, doc), format)
    report = formats.write(data, work / "ours", "yolo", export_media="none", split="train").notes
    labels = work / "ours" / "labels" / "train"
    return {os.fspath(p.relative_to(labels))[:-4]: _rows(p) for p in labels.rglob("*.txt")}, report


def _assert_rows_equal(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    """Every image convert_coco writes, with the same rows in the same order, within its 6 digits."""
    for name, rows in theirs.items():
        assert len(ours[name]) == len(rows), name
        if not len(rows):
            continue
        assert ours[name].shape == rows.shape, name
        assert np.allclose(ours[name], rows, rtol=6e-6, atol=2e-6), (
            name,
            np.argwhere(~np.isclose(ours[name], rows, rtol=6e-6, atol=2e-6)),
            ours[name],
            rows,
        )
    assert all(len(rows) == 0 for name, rows in ours.items() if name not in theirs)  # no annotation at all


@st.composite
def inside_coco_documents(draw):
    """COCO documents whose boxes and labelled points lie in their images (where convert_coco's
    rows are already rows Ultralytics loads), with crowd regions, zero-size boxes, persons
    without points, repeated persons, int and float numbers."""
    n_images = draw(st.integers(1, 4))
    images, annotations = [], []
    for iid in range(1, n_images + 1):
        w, h = draw(st.integers(1, 3000)), draw(st.integers(1, 3000))
        images.append(
            {"id": iid, "file_name": f"{draw(st.sampled_from(['', 'sub/']))}{iid:06d}.jpg", "width": w, "height": h}
        )
        for _ in range(draw(st.integers(0, 4))):

            def coord(limit: float) -> float:
                return draw(st.one_of(st.integers(0, int(limit)), st.floats(0, limit, allow_nan=False)))

            x, y = coord(w), coord(h)
            box = [x, y, draw(st.floats(0, w - x)) if draw(st.booleans()) else 0, coord(h - y) if y < h else 0]
            kps = []
            for _ in range(17):
                v = draw(st.sampled_from([0, 1, 2]))
                kps += [coord(w), coord(h), v] if v else [0, 0, 0]
            ann = {"id": len(annotations) + 1, "image_id": iid, "category_id": 1, "keypoints": kps, "bbox": box,
                   "iscrowd": draw(st.sampled_from([0, 0, 0, 1])), "area": 1.0, "num_keypoints": 0}  # fmt: skip
            annotations.append(ann)
            if draw(st.integers(0, 9)) == 0:  # the same person twice: one row
                annotations.append({**ann, "id": len(annotations) + 1})
    categories = [{"id": 1, "name": "person", "keypoints": COCO_NAMES, "skeleton": []}]
    return {"images": images, "annotations": annotations, "categories": categories}


@PROPERTY
@given(inside_coco_documents())
def test_rows_equal_convert_coco(ultralytics, tmp_path_factory, doc):
    work = tmp_path_factory.mktemp("cc")
    ours, report = _our_rows(doc, work)
    _assert_rows_equal(ours, _convert_coco_rows(ultralytics, doc, work))
    assert not {k for k in report if "clipped" in k or "outside" in k}, report


#: the COCO-like files of the tests, each with the format that reads it
TEST_FILES = {
    "coco": coco_doc,
    "crowdpose": crowdpose_doc,
    "humanart": humanart_doc,
    "mhp": mhp_coco_doc,
    "ochuman": ochuman_coco_doc,
}


def _demo_doc() -> dict:
    return json.loads(demo_paths()[0].read_text())


def _adjusted(theirs: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """convert_coco's rows with our documented changes, for Ultralytics' loader: a labelled point
    outside the image and the coordinates of an unlabelled one written ``0 0 0``, a box clipped to
    the image. Returns the rows and the report lines they give."""
    out, points, unlabelled, boxes = {}, 0, 0, 0
    for name, rows in theirs.items():
        rows = rows.copy()
        if len(rows):
            p = rows[:, 5:].reshape(len(rows), -1, 3)
            outside = (p[..., 2] > 0) & ((p[..., 0] < 0) | (p[..., 0] > 1) | (p[..., 1] < 0) | (p[..., 1] > 1))
            placed = (p[..., 2] == 0) & ((p[..., 0] != 0) | (p[..., 1] != 0))
            p[outside | placed] = 0
            kept = ~(outside.any(axis=1) & ~(p[..., 2] > 0).any(axis=1))  # not: every labelled point outside
            points += int(outside[kept].sum())
            unlabelled += int(placed[kept].sum())
            rows = rows[kept]
            lo = np.clip(rows[:, 1:3] - rows[:, 3:5] / 2, 0, 1)
            hi = np.clip(rows[:, 1:3] + rows[:, 3:5] / 2, 0, 1)
            clipped = (np.abs(lo - (rows[:, 1:3] - rows[:, 3:5] / 2)) > 1e-5).any(axis=1) | (
                np.abs(hi - (rows[:, 1:3] + rows[:, 3:5] / 2)) > 1e-5
            ).any(axis=1)
            rows[clipped, 1:3] = ((lo + hi) / 2)[clipped]
            rows[clipped, 3:5] = (hi - lo)[clipped]
            boxes += int(clipped.sum())
        out[name] = rows
    report = {
        "labelled points outside the image, written unlabelled (0 0 0) as Ultralytics does": points,
        "unlabelled points with coordinates, written 0 0 0": unlabelled,
        "boxes reaching outside the image, clipped to it": boxes,
    }
    return out, report


@pytest.mark.parametrize("format", [*TEST_FILES, "demo"])
def test_test_files_rows_equal_convert_coco(ultralytics, tmp_path, format):
    """The same rows, but for the adjustments Ultralytics' loader needs, each counted."""
    doc = TEST_FILES[format]() if format != "demo" else _demo_doc()
    ours, report = _our_rows(doc, tmp_path, format if format != "demo" else "coco")
    theirs, adjusted = _adjusted(_convert_coco_rows(ultralytics, doc, tmp_path))
    _assert_rows_equal(ours, theirs)
    assert {reason: report.get(reason, 0) for reason in adjusted} == adjusted
    crowd = sum(1 for a in doc["annotations"] if a.get("iscrowd"))
    assert report.get("crowd regions left out (YOLO has none; as Ultralytics' convert_coco)", 0) == crowd


def test_points_and_boxes_outside_the_image_are_adjusted_where_ultralytics_would_drop_the_image(ultralytics, tmp_path):
    """convert_coco writes them as they are, and Ultralytics' loader then drops the whole image;
    ours writes such a point unlabelled and clips the box, and counts both."""
    doc = coco_doc()
    person = doc["annotations"][0]  # image 7, 640 x 480
    person["keypoints"][:3] = [650, 102, 2]  # right of the image
    person["bbox"] = [-20.0, 88.0, 94.25, 240.0]  # reaches left of it
    ours, report = _our_rows(doc, tmp_path)
    theirs = _convert_coco_rows(ultralytics, doc, tmp_path)
    name = "000000000007"
    assert theirs[name][0, 5:8].tolist() == pytest.approx([650 / 640, 102 / 480, 2], rel=6e-6)
    assert ours[name][0, 5:8].tolist() == [0, 0, 0]
    assert ours[name][0, 1:5].tolist() == pytest.approx([74.25 / 2 / 640, 208 / 480, 74.25 / 640, 0.5], rel=1e-9)
    assert np.allclose(ours[name][0, 8:], theirs[name][0, 8:], rtol=6e-6)  # the other points as convert_coco
    assert report["boxes reaching outside the image, clipped to it"] == 1
    _, verify, _ = ultralytics
    images = tmp_path / "img"
    write_files(images, {p["file_name"]: image_bytes() for p in doc["images"]})
    theirs_ok = _verify(
        verify, tmp_path / "converted" / "labels" / "person_keypoints_x" / f"{name}.txt", images / f"{name}.jpg"
    )
    ours_ok = _verify(verify, tmp_path / "ours" / "labels" / "train" / f"{name}.txt", images / f"{name}.jpg")
    assert theirs_ok[8] == 1 and ours_ok[8] == 0  # nc: corrupt for theirs, not for ours


def _verify(utils, label: Path, image: Path, nkpt: int = 17, num_cls: int = 1) -> list:
    return utils.verify_image_label((os.fspath(image), os.fspath(label), "", True, num_cls, nkpt, 3, False))


@PROPERTY
@given(coco_documents(max_images=4, max_persons=6))
def test_ultralytics_loads_every_exported_label_file(ultralytics, tmp_path_factory, doc):
    """Any COCO document (points anywhere, boxes of any size and place, odd visibility values,
    custom layouts): every label file passes ``verify_image_label``, every row is kept."""
    _, verify, _ = ultralytics
    work = tmp_path_factory.mktemp("verify")
    picture = write_files(work, {"picture.jpg": image_bytes()}) / "picture.jpg"
    data = coco.decode(doc)
    sources = [os.fspath(picture)] * len(data.images)
    formats.write(data, work / "out", "yolo", sources=sources)
    config = yaml.safe_load((work / "out" / "dataset.yaml").read_text())
    k = config["kpt_shape"][0]
    for image in sorted((work / "out" / "images" / "train").rglob("*.jpg")):
        label = Path(verify.img2label_paths([os.fspath(image)])[0])
        rows = _rows(label)
        result = _verify(verify, label, image, nkpt=k, num_cls=len(config["names"]))
        assert result[8] == 0, result[9]  # not corrupt
        assert len(result[1]) == len(rows) and not result[9], result[9]  # no row dropped, no warning


@PROPERTY
@given(coco_documents(max_images=4, max_persons=6))
def test_written_then_read_then_written_gives_the_same_label_files(tmp_path_factory, doc):
    work = tmp_path_factory.mktemp("again")
    picture = write_files(work, {"p.jpg": image_bytes()}) / "p.jpg"
    data = coco.decode(doc)
    formats.write(data, work / "first", "yolo", sources=[os.fspath(picture)] * len(data.images))
    again = formats.read(work / "first")
    formats.write(again, work / "second", "yolo", images_dir=formats.images_dir(work / "first", "yolo"))
    assert _label_texts(work / "first") == _label_texts(work / "second")
    first = yaml.safe_load((work / "first" / "dataset.yaml").read_text())
    second = yaml.safe_load((work / "second" / "dataset.yaml").read_text())
    assert {**first, "path": ""} == {**second, "path": ""}


def test_label_files_written_a_run_of_images_at_a_time_are_the_same(tmp_path, monkeypatch):
    """The label files are written by threads, a run of ``LABELS_CHUNK`` images at a time."""
    data = coco.decode(_demo_doc())
    images = images_of(_demo_doc(), tmp_path / "src")
    formats.write(data, tmp_path / "whole", "yolo", images_dir=images)
    monkeypatch.setattr(yolo, "LABELS_CHUNK", 2)
    formats.write(data, tmp_path / "runs", "yolo", images_dir=images, export_media="copy")
    assert len(data.images) > 2 * yolo.LABELS_CHUNK
    assert _label_texts(tmp_path / "whole") == _label_texts(tmp_path / "runs")
    assert sorted(os.listdir(tmp_path / "runs" / "images" / "train")) == sorted(
        os.listdir(tmp_path / "whole" / "images" / "train")
    )


@PROPERTY
@given(inside_coco_documents(), st.integers(1, 4), st.integers(1, 3), st.randoms(use_true_random=False))
def test_a_stream_in_chunks_in_any_order_writes_what_a_whole_write_writes(
    tmp_path_factory, doc, chunk_size, labels_chunk, random
):
    """``write_stream`` takes the persons in chunks in any order: sorted by image through a
    temporary file and written a run of images at a time, they give the label files, yaml and
    report of one whole write."""
    work = tmp_path_factory.mktemp("chunks")
    picture = os.fspath(write_files(work, {"p.jpg": image_bytes()}) / "p.jpg")
    data = coco.decode(doc)
    order = list(range(len(data.persons)))
    random.shuffle(order)
    data = dataclasses.replace(data, persons=data.persons.take(np.array(order, dtype=np.int64)))
    whole = formats.write(data, work / "whole", "yolo", sources=[picture] * len(data.images))
    with mock.patch.object(yolo, "LABELS_CHUNK", labels_chunk), mock.patch.object(yolo, "SORTED_CHUNK", chunk_size):
        stream = PoseStream.of(dataclasses.replace(data, notes=dict(data.notes)), chunk_size)
        written = formats.write_stream(stream, work / "chunks", "yolo", sources=[picture] * len(data.images))
    assert _label_texts(work / "chunks") == _label_texts(work / "whole") and written.header.notes == whole.notes
    first, second = (yaml.safe_load((work / d / "dataset.yaml").read_text()) for d in ("whole", "chunks"))
    assert {**first, "path": ""} == {**second, "path": ""}


def test_a_row_that_cannot_be_written_in_a_late_chunk_leaves_nothing(tmp_path, monkeypatch):
    """The rows are made a run of images at a time, after the images were placed: a person that
    cannot be written in the last run undoes the moves and leaves no folder."""
    doc = coco_doc()
    images = images_of(doc, tmp_path / "src")
    before = sorted(os.fspath(p.relative_to(images)) for p in images.rglob("*.*"))
    doc["categories"].append({**doc["categories"][0], "id": 7, "name": "other"})
    data = coco.decode(doc)
    data.persons.category_ids[-1] = 9
    monkeypatch.setattr(yolo, "LABELS_CHUNK", 1)
    with pytest.raises(PoseFormatError, match="category 9 is not in the categories") as e:
        stream = PoseStream.of(data, 1)
        formats.write_stream(stream, tmp_path / "out", "yolo", images_dir=images, export_media="move")
    n = len(data.persons)
    assert (e.value.record, e.value.field) == (f"annotations[{n - 1}] (id {data.persons.ids[-1]})", "category_id")
    assert sorted(os.fspath(p.relative_to(images)) for p in images.rglob("*.*")) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_the_person_named_is_the_first_that_cannot_be_written_in_the_order_given(tmp_path, monkeypatch, chunk_size):
    """Persons in reverse image order, two of them of unknown categories, an image without a size:
    the error names the first unknown category in the order the persons come, however they are
    chunked and run, as a whole write does."""
    doc = coco_doc()
    doc["categories"].append({**doc["categories"][0], "id": 7, "name": "other"})
    data = coco.decode(doc)
    data = dataclasses.replace(data, persons=data.persons.take(np.arange(len(data.persons))[::-1].copy()))
    data.persons.category_ids[[1, 2]] = [8, 9]
    data.images.widths[data.persons.image_index[0]] = 0
    monkeypatch.setattr(yolo, "LABELS_CHUNK", 1)
    with pytest.raises(PoseFormatError) as e:
        formats.write_stream(PoseStream.of(data, chunk_size), tmp_path / "out", "yolo", export_media="none")
    assert (e.value.record, e.value.message) == (
        f"annotations[1] (id {data.persons.ids[1]})",
        "category 8 is not in the categories",
    )
    data.persons.category_ids[[1, 2]] = 1
    with pytest.raises(PoseFormatError, match="the image has no size") as e:
        formats.write_stream(PoseStream.of(data, chunk_size), tmp_path / "out", "yolo", export_media="none")
    assert e.value.record == data.images.record(int(data.persons.image_index[0]))
    assert not (tmp_path / "out").exists()


def _label_texts(root: Path) -> dict[str, str]:
    return {os.fspath(p.relative_to(root)): p.read_text() for p in sorted((root / "labels").rglob("*.txt"))}


@PROPERTY
@given(inside_coco_documents())
def test_coco_to_yolo_to_coco_keeps_every_point_the_rows_hold(tmp_path_factory, doc):
    _coco_to_yolo_to_coco_keeps_the_rows(doc, tmp_path_factory.mktemp("back"))


@pytest.mark.parametrize("format", TEST_FILES)
def test_test_files_go_coco_to_yolo_to_coco(tmp_path, format):
    _coco_to_yolo_to_coco_keeps_the_rows(TEST_FILES[format](), tmp_path, format)


def test_demo_goes_coco_to_yolo_to_coco(tmp_path):
    _coco_to_yolo_to_coco_keeps_the_rows(_demo_doc(), tmp_path, "coco", demo_paths()[1])


def _coco_to_yolo_to_coco_keeps_the_rows(
    doc: dict, work: Path, format: str = "coco", images: Path | None = None
) -> None:
    """Each row's person comes back as COCO with its box and every point the row holds, in pixels,
    to the precision the rows are written with (10 significant digits of values up to 1)."""
    images = images or images_of(doc, work / "images")
    formats.write(formats.read(_json(work, doc), format), work / "yolo", "yolo", images_dir=images)
    formats.write(formats.read(work / "yolo"), work / "back.json", "coco")
    back = json.loads((work / "back.json").read_text())
    ids = {im["file_name"]: im["id"] for im in back["images"]}
    persons: dict[int, list[dict]] = {}
    for a in back["annotations"]:
        persons.setdefault(a["image_id"], []).append(a)
    for im in doc["images"]:
        w, h, name = im["width"], im["height"], im["file_name"]
        placed = _below_images(name)
        rows = _rows(work / "yolo" / "labels" / "train" / (placed.rsplit(".", 1)[0] + ".txt"))
        people = persons.get(ids[f"images/train/{placed}"], [])
        assert len(people) == len(rows)
        tolerance = 1e-9 * max(w, h)
        for values, person in zip(rows, people):
            kp = np.array(person["keypoints"], dtype=np.float64).reshape(-1, 3)
            points = values[5:].reshape(-1, 3)
            assert np.allclose(kp[:, :2], points[:, :2] * [w, h], rtol=0, atol=tolerance)
            assert (kp[:, 2] == points[:, 2]).all()
            cx, cy, bw, bh = values[1:5] * [w, h, w, h]
            assert np.allclose(person["bbox"], [cx - bw / 2, cy - bh / 2, bw, bh], rtol=0, atol=tolerance)


# ------------------------------------------------------------------------------ the exported folder


def test_yaml_has_the_layout_flip_idx_and_names_of_every_shipped_skeleton(tmp_path):
    """Every layout can be exported: kpt_shape is the layout, flip_idx its flip pairs."""
    for name in skeletons.available():
        layout = skeletons.load(name)
        data = coco.decode(_one_person_doc(layout))
        formats.write(data, tmp_path / name, "yolo", images_dir=images_of(_one_person_doc(layout), tmp_path / "img"))
        config = yaml.safe_load((tmp_path / name / "dataset.yaml").read_text())
        assert config["kpt_shape"] == [layout.num_keypoints, 3]
        assert config["flip_idx"] == yolo.flip_index(layout)
        assert config["kpt_names"] == {0: list(layout.keypoints)}
        assert config["names"] == {0: "person"}
        row_values = _rows(tmp_path / name / "labels" / "train" / "a.txt")
        assert row_values.shape == (1, 5 + 3 * layout.num_keypoints)
        assert formats.read(tmp_path / name).skeleton.keypoints == layout.keypoints
    coco_layout = skeletons.load("coco")
    assert yolo.flip_index(coco_layout) == COCO_FLIP_IDX  # Ultralytics' coco8-pose.yaml


def _one_person_doc(layout) -> dict:
    k = layout.num_keypoints
    kps = [v for i in range(k) for v in (10 + i % 50, 20 + i % 30, 2)]
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": kps, "bbox": [5, 5, 70, 60]}],
        "categories": [cocolike.default_category(layout)],
    }


def test_layout_option_converts_by_name_first(tmp_path):
    from helpers_wholebody import wholebody_doc

    data = formats.read(_json(tmp_path, wholebody_doc()))
    formats.write(data, tmp_path / "out", "yolo", layout="coco", export_media="none")
    config = yaml.safe_load((tmp_path / "out" / "dataset.yaml").read_text())
    assert config["kpt_shape"] == [17, 3] and config["flip_idx"] == COCO_FLIP_IDX


def _json(folder: Path, doc: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "in.json"
    path.write_text(json.dumps(doc))
    return path


def test_ultralytics_dataset_finds_every_person_of_a_split_export(ultralytics, tmp_path):
    """``YOLODataset(task="pose")`` on the demo exported with split tags: every image, every row, none corrupt."""
    _, utils, yolo_dataset = ultralytics
    labels, images = demo_paths()
    data = formats.read(labels)
    tags = [["val"] if i % 4 == 0 else ["train"] for i in range(len(data.images))]
    formats.write(data, tmp_path / "out", "yolo", images_dir=images, tags=tags)
    config = utils.check_det_dataset(os.fspath(tmp_path / "out" / "dataset.yaml"), autodownload=False)
    for split in ("train", "val"):
        expected = {p.stem: len(_rows(p)) for p in (tmp_path / "out" / "labels" / split).rglob("*.txt")}
        dataset = yolo_dataset(img_path=config[split], data=config, task="pose", augment=False)
        found = {Path(label["im_file"]).stem: len(label["cls"]) for label in dataset.labels}
        assert found == expected and sum(found.values()) > 0
        assert all(label["keypoints"].shape[1:] == (17, 3) for label in dataset.labels)
    assert sum(1 for t in tags if t == ["val"]) == len(list((tmp_path / "out" / "images" / "val").rglob("*.jpg")))


# ---------------------------------------------------------------------------------------- reading


def test_reads_a_coco8_pose_like_dataset(tmp_path):
    root = write_files(tmp_path, coco8_files()) / "coco8"
    data = formats.read(root)
    assert data.format == "yolo" and formats.detect(root) == "yolo" and formats.detect(root / "dataset.yaml") == "yolo"
    assert data.skeleton.name == "coco"
    assert data.images.file_names == [
        "images/train/a.jpg", "images/train/b.png", "images/val/c.jpg", "images/val/empty.jpg",
    ]  # fmt: skip
    assert [e["split"] for e in data.images.extras] == ["train", "train", "val", "val"]
    assert data.images.widths.tolist() == [40, 20, 32, 16] and data.images.heights.tolist() == [30, 16, 24, 16]
    p = data.persons
    assert p.image_index.tolist() == [0, 0, 1, 2]
    assert p.keypoints[0, 1].tolist() == pytest.approx([0.51 * 40, 0.27 * 30])
    assert p.visibility[0, :3].tolist() == [0, 1, 2] and p.keypoints[0, 0].tolist() == [0, 0]
    assert p.boxes[0].tolist() == pytest.approx([(0.5 - 0.125) * 40, (0.5 - 0.375) * 30, 10, 22.5])
    assert data.notes["empty label files (background images)"] == 1
    assert formats.images_dir(root, "yolo") == os.fspath(root.resolve())
    stripped, tags = formats.sample_tags(data)
    assert tags == [["train"], ["train"], ["val"], ["val"]] and all("split" not in e for e in stripped.images.extras)


def _person_arrays(p) -> dict[str, list]:
    return {
        "image_index": p.image_index.tolist(), "ids": p.ids.tolist(), "category_ids": p.category_ids.tolist(),
        "keypoints": p.keypoints.tolist(), "visibility": p.visibility.tolist(), "boxes": p.boxes.tolist(),
        "raw_visibility": p.raw_visibility().tolist(),
    }  # fmt: skip


@PROPERTY
@given(inside_coco_documents(), st.integers(1, 600))
def test_label_files_read_a_run_at_a_time_give_what_a_whole_read_gives(tmp_path_factory, doc, chunk_bytes):
    """``read_stream`` parses the label files of a run of images at a time (``jsonio.CHUNK_BYTES`` of
    text): the chunks, one after the other, are the persons a whole read gives, numbered across
    the runs, and the notes are counted the same."""
    work = tmp_path_factory.mktemp("runs")
    picture = write_files(work, {"p.jpg": image_bytes()}) / "p.jpg"
    data = coco.decode(doc)
    formats.write(data, work / "out", "yolo", sources=[os.fspath(picture)] * len(data.images))
    whole = formats.read(work / "out")  # the default chunk (1 MB) holds these few files
    with mock.patch.object(jsonio, "CHUNK_BYTES", chunk_bytes):
        stream = formats.read_stream(work / "out", "yolo")
        chunks = list(stream)
    sizes = [len(p) for p in chunks]
    labelled = sum(1 for t in _label_texts(work / "out").values() if t.strip())
    assert (len(chunks) > 0) == (len(whole.images) > 0) and len(chunks) >= (labelled if chunk_bytes == 1 else 0)
    assert _person_arrays(Persons.concat(chunks, whole.skeleton.num_keypoints)) == _person_arrays(whole.persons)
    root = Path(formats.images_dir(work / "out", "yolo"))  # and the pure decode of the same texts
    labels = [Path(yolo.label_path(root / name)) for name in whole.images.file_names]
    texts = [label.read_text() if label.exists() else None for label in labels]
    config = yaml.safe_load((work / "out" / "dataset.yaml").read_text())
    image_sizes = list(zip(whole.images.widths.tolist(), whole.images.heights.tolist()))
    decoded = yolo.decode(yolo.YoloDocument(config, whole.images.file_names, image_sizes, texts))
    assert _person_arrays(decoded.persons) == _person_arrays(whole.persons)
    assert sum(sizes) == len(whole.persons) and stream.header.notes == whole.notes
    assert stream.header.images.file_names == whole.images.file_names and stream.header.categories == whole.categories


def test_a_bad_label_file_is_an_error_when_its_run_is_read(tmp_path, monkeypatch):
    """The header comes first; the persons before the bad file come in their chunks; then the error,
    naming the file, the line and the field."""
    files = coco8_files()
    files["coco8/labels/val/c.txt"] = "0 0.5 0.5 0.2\n"
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    stream = formats.read_stream(write_files(tmp_path, files) / "coco8", "yolo")
    assert len(stream.header.images) == 4
    chunks = iter(stream)
    assert [len(next(chunks)), len(next(chunks))] == [2, 1]  # a.txt, b.txt
    with pytest.raises(PoseFormatError) as e:
        next(chunks)
    assert e.value.path == os.fspath(tmp_path / "coco8" / "labels" / "val" / "c.txt")
    assert (e.value.record, e.value.field) == ("line 1", "values")


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 20])
def test_the_first_bad_label_file_is_named_however_the_runs_fall(tmp_path, monkeypatch, chunk_bytes):
    """A file with a bad row before a file that cannot be read: the first is named, in one run or many."""
    files = coco8_files()
    files["coco8/labels/train/a.txt"] = "0 0.5 0.5 0.2\n"
    files["coco8/labels/val/c.txt"] = b"\xff\xfe\x00bad"
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", chunk_bytes)
    with pytest.raises(PoseFormatError) as e:
        list(formats.read_stream(write_files(tmp_path, files) / "coco8", "yolo"))
    assert e.value.path.endswith("a.txt") and (e.value.record, e.value.field) == ("line 1", "values")


def test_without_class_names_the_folder_is_read_whole(tmp_path, monkeypatch):
    """No yaml: the classes are those the rows use, known once every file is read."""
    files = {k.replace("coco8/", ""): v for k, v in coco8_files().items() if not k.endswith(".yaml")}
    monkeypatch.setattr(jsonio, "CHUNK_BYTES", 1)
    chunks = list(formats.read_stream(write_files(tmp_path / "bare", files), "yolo"))
    assert [len(p) for p in chunks] == [4]


def test_reads_without_yaml_and_from_a_labels_folder_and_an_images_folder(tmp_path):
    files = {k.replace("coco8/", ""): v for k, v in coco8_files().items() if not k.endswith(".yaml")}
    root = write_files(tmp_path / "bare", files)
    data = formats.read(root)
    assert data.skeleton.name == "coco" and len(data.persons) == 4 and data.categories[0]["name"] == "person"
    assert sorted({e["split"] for e in data.images.extras}) == ["train", "val"]
    apart = formats.read(root / "labels" / "val", "yolo", images_dir=root / "images" / "val")
    assert apart.images.file_names == ["c.jpg", "empty.jpg"] and len(apart.persons) == 1


def test_skeleton_from_names_or_from_point_count_and_flip_idx(tmp_path):
    root = write_files(tmp_path, coco8_files()) / "coco8"
    config = yaml.safe_load((root / "dataset.yaml").read_text())
    del config["kpt_names"]
    (root / "dataset.yaml").write_text(yaml.safe_dump(config))
    assert formats.read(root).skeleton.name == "coco"  # 17 points with COCO's flip_idx
    config["flip_idx"] = list(range(17))  # no mirror pairs: not COCO's layout
    (root / "dataset.yaml").write_text(yaml.safe_dump(config))
    generic = formats.read(root).skeleton
    assert generic.name == "custom" and generic.keypoints[:2] == ("keypoint_0", "keypoint_1") and not generic.flip_pairs
    config["kpt_names"] = {0: [f"p{i}" for i in range(17)]}
    config["flip_idx"] = [1, 0, *range(2, 17)]
    (root / "dataset.yaml").write_text(yaml.safe_dump(config))
    named = formats.read(root).skeleton
    assert named.keypoints[0] == "p0" and named.flip_pairs == ((0, 1),)


def test_ultralytics_layouts_of_the_yaml(tmp_path):
    """``path`` relative to the yaml, split list files (coco-pose), Roboflow's ``../train/images``."""
    files = coco8_files()
    root = write_files(tmp_path, {k.replace("coco8/", "data/coco8/"): v for k, v in files.items()})
    (root / "data" / "coco8" / "dataset.yaml").unlink()
    (root / "data" / "coco8" / "train.txt").write_text("./images/train/a.jpg\n./images/train/b.png\n")
    (root / "ds.yaml").write_text(
        coco8_yaml().replace("train: images/train", "train: train.txt").replace("val:", "path: data/coco8\nval:")
    )
    data = formats.read(root / "ds.yaml")
    assert data.images.file_names[:2] == ["images/train/a.jpg", "images/train/b.png"] and len(data.persons) == 4
    roboflow = write_files(tmp_path / "rf", {
        "train/images/a.jpg": files["coco8/images/train/a.jpg"],
        "train/labels/a.txt": files["coco8/labels/train/a.txt"],
        "valid/images/c.jpg": files["coco8/images/val/c.jpg"],
        "valid/labels/c.txt": files["coco8/labels/val/c.txt"],
        "data.yaml": coco8_yaml().replace("images/train", "../train/images").replace("images/val", "../valid/images"),
    })  # fmt: skip
    data = formats.read(roboflow)
    assert data.images.file_names == ["train/images/a.jpg", "valid/images/c.jpg"] and len(data.persons) == 3
    formats.write(data, tmp_path / "out", "yolo", images_dir=formats.images_dir(roboflow, "yolo"))
    assert sorted(os.fspath(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.txt")) == [
        "labels/train/a.txt", "labels/val/c.txt",
    ]  # fmt: skip


def test_exif_orientation_turns_the_size_as_ultralytics_does(tmp_path):
    files = coco8_files()
    files["coco8/images/train/a.jpg"] = image_bytes(40, 30, exif_orientation=6)
    data = formats.read(write_files(tmp_path, files) / "coco8")
    assert (data.images.widths[0], data.images.heights[0]) == (30, 40)


def test_duplicate_rows_are_read_once_and_counted(tmp_path):
    files = coco8_files()
    files["coco8/labels/train/b.txt"] *= 3
    data = formats.read(write_files(tmp_path, files) / "coco8")
    assert (data.persons.image_index == 1).sum() == 1
    assert data.notes["duplicate rows, read once (as Ultralytics' loader does)"] == 2


#: spellings of values that float32 holds alike (Ultralytics compares rows in float32, -0.0 equal to 0.0)
_ALIKE = [["0.1", "0.1000000001", "0.10000000149"], ["0", "0.0", "-0.0"], ["0.5", "0.50000001"], ["0.25"]]


@st.composite
def label_files(draw):
    """Label texts of the coco8 images a, b and c: rows drawn from a few distinct ones, repeated
    as they are or spelled differently with the same float32 values."""
    texts = []
    for _ in range(3):
        bases = []  # per row: the spellings each value may take
        for _ in range(draw(st.integers(1, 3))):
            spellings = [_ALIKE[draw(st.integers(0, len(_ALIKE) - 1))] for _ in range(5 + 17 * 3)]
            spellings[0] = ["0"]  # the class
            for j in range(7, 5 + 17 * 3, 3):  # v: 0, 1 or 2, the same in every copy of the row
                spellings[j] = [draw(st.sampled_from("012"))]
            bases.append(spellings)
        rows = []
        for _ in range(draw(st.integers(0, 6))):
            rows.append(" ".join(draw(st.sampled_from(options)) for options in draw(st.sampled_from(bases))))
        texts.append("\n".join(rows) + "\n" if rows else "")
    return texts


@PROPERTY
@given(label_files(), st.sampled_from([1, 200, 1 << 20]))
def test_duplicate_rows_are_those_ultralytics_drops(ultralytics, tmp_path_factory, texts, chunk_bytes):
    """Per image, the rows kept are those Ultralytics' own loader (``verify_image_label``) keeps
    from the same label file, and as many are dropped, in one run or many; ours are the first of
    each group of equal rows, in the file's order."""
    files = coco8_files()
    images = {"train/a": "train/a.jpg", "train/b": "train/b.png", "val/c": "val/c.jpg"}
    for name, text in zip(images, texts):
        files[f"coco8/labels/{name}.txt"] = text
    root = write_files(tmp_path_factory.mktemp("dup"), files) / "coco8"
    with mock.patch.object(jsonio, "CHUNK_BYTES", chunk_bytes):
        data = formats.read_stream(root, "yolo").collect()
    p, dropped = data.persons, 0
    for i, (name, text) in enumerate(zip(images, texts)):
        result = _verify(ultralytics[1], root / "labels" / f"{name}.txt", root / "images" / images[name])
        assert result[0] is not None, result[-1]
        theirs = np.concatenate([result[1], result[4].reshape(len(result[1]), 51)], axis=1)
        rows = np.array([line.split() for line in text.splitlines()], dtype=np.float64).reshape(-1, 56)
        dropped += len(rows) - len(theirs)
        mine = p.image_index == i
        n, w, h = int(mine.sum()), float(data.images.widths[i]), float(data.images.heights[i])
        x, y, bw, bh = p.boxes[mine].T
        points = np.stack(
            [p.keypoints[mine][..., 0] / w, p.keypoints[mine][..., 1] / h, p.raw_visibility()[mine]], axis=2
        )
        ours = np.column_stack([p.category_ids[mine] - 1, (x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h])
        ours = np.concatenate([ours.reshape(n, 5), points.reshape(n, 51)], axis=1)
        same = np.isclose(ours[:, None, :], theirs[None, :, :], atol=1e-6).all(axis=2)  # rows are far apart or equal
        assert len(ours) == len(theirs) and same.any(axis=0).all() and same.any(axis=1).all()
        first = [int(np.flatnonzero(np.isclose(rows, row, atol=1e-6).all(axis=1))[0]) for row in ours]
        assert first == sorted(set(first))  # the first of each group, in the file's order
    assert data.notes.get("duplicate rows, read once (as Ultralytics' loader does)", 0) == dropped


_POINT = "x of point 0 (nose)"


@pytest.mark.parametrize(
    "label, field, message",
    [
        ("0 0.5 0.5 0.2 0.2 0.1 0.1", "values", "has 7 values, expected 56"),
        ("0 0.5 0.5 0.2 0.2 " + "1.5 0.5 2 " * 17, _POINT, "above 1.01"),
        ("0 0.5 0.5 0.2 0.2 " + "-0.5 0.5 2 " * 17, _POINT, "below -0.01"),
        ("0 0.5 0.5 -0.005 0.2 " + "0.5 0.5 2 " * 17, "width", "negative box size"),
        ("0 0.5 0.5 0.2 0.2 " + "abc 0.5 2 " * 17, _POINT, "expected a number"),
        ("0 0.5 0.5 0.2 0.2 " + "nan 0.5 2 " * 17, _POINT, "not a finite number"),
        ("1 0.5 0.5 0.2 0.2 " + "0.5 0.5 2 " * 17, "class", "not a class index 0..0"),
        ("0.5 0.5 0.5 0.2 0.2 " + "0.5 0.5 2 " * 17, "class", "not a class index"),
    ],
)
def test_a_row_ultralytics_would_reject_names_file_line_and_field(tmp_path, label, field, message):
    files = coco8_files()
    files["coco8/labels/train/b.txt"] += "\n" + label + "\n"  # after an empty line: line 3
    with pytest.raises(PoseFormatError) as e:
        formats.read(write_files(tmp_path, files) / "coco8")
    assert e.value.path == os.fspath(tmp_path / "coco8" / "labels" / "train" / "b.txt")
    assert (e.value.record, e.value.field) == ("line 3", field)
    assert message in e.value.message


def test_a_label_without_an_image_and_a_bad_yaml_are_errors(tmp_path):
    files = coco8_files()
    files["coco8/labels/train/lost.txt"] = files["coco8/labels/train/b.txt"]
    with pytest.raises(PoseFormatError, match="label file without an image") as e:
        formats.read(write_files(tmp_path / "a", files) / "coco8")
    assert e.value.path.endswith("labels/train/lost.txt")
    for field in ("kpt_shape", "flip_idx"):
        files = coco8_files()
        lines = files["coco8/dataset.yaml"].splitlines()
        files["coco8/dataset.yaml"] = "\n".join(f"{field}: [1, 2, 3]" if x.startswith(field) else x for x in lines)
        with pytest.raises(PoseFormatError) as e:
            formats.read(write_files(tmp_path / field, files) / "coco8")
        assert e.value.field == field and e.value.path.endswith("dataset.yaml")
    files = coco8_files()
    files["coco8/dataset.yaml"] += "names: [unclosed\n"
    with pytest.raises(PoseFormatError, match="invalid YAML") as e:
        formats.read(write_files(tmp_path / "yaml", files) / "coco8")
    assert e.value.record.startswith("line ")


# ------------------------------------------------------------------------------ writing the folder


def test_hostile_file_names_never_write_outside_the_folder(tmp_path):
    """``..`` and absolute names are placed by their base name and counted; nothing lands outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    doc = coco_doc()
    names = [
        "../../outside/escape.jpg",
        os.fspath(outside / "absolute.jpg"),
        "sub/../../outside/x.jpg",
        "C:\\win\\w.jpg",
        "kept\\v.jpg",
    ]
    doc["images"] = [{**im, "file_name": name} for im, name in zip(doc["images"][:1] * 5, names)]
    for i, im in enumerate(doc["images"]):
        im["id"] = i + 1
    doc["annotations"] = [{**doc["annotations"][0], "image_id": 1}]
    data = coco.decode(doc)
    picture = write_files(tmp_path / "src", {"p.jpg": image_bytes()}) / "p.jpg"
    (tmp_path / "out").mkdir()
    report = formats.write(data, tmp_path / "out" / "ds", "yolo", sources=[os.fspath(picture)] * 5).notes
    assert report["file names leaving the folder ('..' or absolute), placed by their base name"] == 4
    assert sorted(os.listdir(outside)) == []  # nothing written there, nothing replaced
    placed = sorted(os.fspath(p.relative_to(tmp_path / "out" / "ds")) for p in (tmp_path / "out" / "ds").rglob("*.*"))
    assert placed == [
        "dataset.yaml", "images/train/absolute.jpg", "images/train/escape.jpg", "images/train/kept/v.jpg",
        "images/train/w.jpg", "images/train/x.jpg", "labels/train/absolute.txt", "labels/train/escape.txt",
        "labels/train/kept/v.txt", "labels/train/w.txt", "labels/train/x.txt",
    ]  # fmt: skip
    assert sorted(os.listdir(tmp_path / "out")) == ["ds"]


def test_links_in_the_output_folder_are_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "images").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(PoseUsageError, match="is a link"):
        formats.write(
            coco.decode(coco_doc()), tmp_path / "out", "yolo", images_dir=images_of(coco_doc(), tmp_path / "i")
        )
    assert os.listdir(tmp_path / "elsewhere") == [] and sorted(os.listdir(tmp_path / "out")) == ["images"]


def test_two_images_for_one_label_file_is_an_error(tmp_path):
    doc = coco_doc()
    doc["images"][1]["file_name"] = "000000000007.png"  # beside 000000000007.jpg: one label file
    with pytest.raises(PoseFormatError, match="would take the place of 000000000007.jpg") as e:
        formats.write(coco.decode(doc), tmp_path / "out", "yolo", export_media="none")
    assert e.value.field == "file_name" and not (tmp_path / "out").exists()


@pytest.mark.parametrize("mode", ["symlink", "copy", "move", "none"])
def test_media_modes(tmp_path, mode):
    doc = coco_doc()
    images = images_of(doc, tmp_path / "src")
    report = formats.write(coco.decode(doc), tmp_path / "out", "yolo", images_dir=images, export_media=mode).notes
    placed = tmp_path / "out" / "images" / "train" / "sub" / "dir" / "9.jpg"
    source = images / "sub" / "dir" / "9.jpg"
    if mode == "symlink":
        assert placed.is_symlink() and os.readlink(placed) == os.fspath(source.resolve()) and source.exists()
    elif mode == "copy":
        assert not placed.is_symlink() and placed.read_bytes() == source.read_bytes()
    elif mode == "move":
        assert placed.is_file() and not source.exists()
    else:
        assert not (tmp_path / "out" / "images").exists()
        assert report["images not written (export_media none): put them in images/<split>/"] == 3
    assert (tmp_path / "out" / "labels" / "train" / "sub" / "dir" / "9.txt").is_file()


def test_a_failed_export_leaves_nothing_and_moves_the_images_back(tmp_path):
    doc = coco_doc()
    images = images_of(doc, tmp_path / "src")
    before = sorted(os.fspath(p.relative_to(images)) for p in images.rglob("*.*"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dataset.yaml").write_text(coco8_yaml().replace("[17, 3]", "[5, 3]"))  # another dataset
    with pytest.raises(PoseUsageError, match="describes another dataset"):
        formats.write(coco.decode(doc), tmp_path / "out", "yolo", images_dir=images, export_media="move")
    assert sorted(os.listdir(tmp_path / "out")) == ["dataset.yaml"]
    (tmp_path / "out" / "dataset.yaml").unlink()
    with pytest.MonkeyPatch.context() as mp:  # the yaml cannot be written: after every image was moved
        mp.setattr(yolo, "write_atomic", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
        with pytest.raises(OSError, match="disk full"):
            formats.write(coco.decode(doc), tmp_path / "out", "yolo", images_dir=images, export_media="move")
    assert sorted(os.fspath(p.relative_to(images)) for p in images.rglob("*.*")) == before
    assert os.listdir(tmp_path / "out") == []
    (tmp_path / "out").rmdir()
    two = coco_doc()  # a row that cannot be written, found while the images are being moved
    two["categories"].append({**two["categories"][0], "id": 7, "name": "other"})
    unknown = coco.decode(two)
    unknown.persons.category_ids[-1] = 9
    with pytest.raises(PoseFormatError, match="category 9 is not in the categories"):
        formats.write(unknown, tmp_path / "out", "yolo", images_dir=images, export_media="move")
    assert sorted(os.fspath(p.relative_to(images)) for p in images.rglob("*.*")) == before
    assert not (tmp_path / "out").exists()
    missing = coco_doc()
    missing["images"][2]["file_name"] = "nowhere.jpg"
    with pytest.raises(PoseFormatError, match="image file .*nowhere.jpg not found"):
        formats.write(coco.decode(missing), tmp_path / "out", "yolo", images_dir=images)
    assert not (tmp_path / "out").exists()


def test_splits_from_tags_one_split_said_so_and_bad_tags_refused(tmp_path):
    doc = coco_doc()
    images = images_of(doc, tmp_path / "src")
    data = coco.decode(doc)
    report = formats.write(data, tmp_path / "one", "yolo", images_dir=images).notes
    assert report["images in one split 'train' (no split tags; 'val' reads the same images)"] == 3
    config = yaml.safe_load((tmp_path / "one" / "dataset.yaml").read_text())
    assert (config["train"], config["val"], config["path"]) == (
        "images/train",
        "images/train",
        os.fspath(tmp_path / "one"),
    )
    tags = [["train", "x"], ["val"], ["test"]]
    formats.write(data, tmp_path / "three", "yolo", images_dir=images, tags=tags)
    config = yaml.safe_load((tmp_path / "three" / "dataset.yaml").read_text())
    assert [config[s] for s in ("train", "val", "test")] == ["images/train", "images/val", "images/test"]
    formats.write(data, tmp_path / "mine", "yolo", images_dir=images, tags=[["a"], ["b"], ["a"]], split_tags=["a", "b"])
    config = yaml.safe_load((tmp_path / "mine" / "dataset.yaml").read_text())
    assert (config["train"], config["val"], config["a"], config["b"]) == (
        "images/a",
        "images/a",
        "images/a",
        "images/b",
    )
    with pytest.raises(PoseUsageError, match="1 image\\(s\\) have none of the split tags"):
        formats.write(data, tmp_path / "bad", "yolo", images_dir=images, tags=[["train"], ["val"], []])
    with pytest.raises(PoseUsageError, match="has the split tags train, val"):
        formats.write(data, tmp_path / "bad", "yolo", images_dir=images, tags=[["train", "val"], ["val"], ["val"]])
    with pytest.raises(PoseUsageError, match="no image has any of the split tags nope"):
        formats.write(data, tmp_path / "bad", "yolo", images_dir=images, split_tags=["nope"])
    with pytest.raises(PoseUsageError, match="cannot name a split folder"):
        formats.write(data, tmp_path / "bad", "yolo", images_dir=images, split="../up")
    assert not (tmp_path / "bad").exists()


def test_splits_written_one_after_the_other_share_the_yaml_and_replace_their_own_folder(tmp_path):
    doc = coco_doc()
    images = images_of(doc, tmp_path / "src")
    data = coco.decode(doc)
    formats.write(data, tmp_path / "out", "yolo", images_dir=images, split="train")
    (tmp_path / "out" / "labels" / "train" / "stale.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    formats.write(data, tmp_path / "out", "yolo", images_dir=images, split="val")
    formats.write(data, tmp_path / "out", "yolo", images_dir=images, split="train")
    config = yaml.safe_load((tmp_path / "out" / "dataset.yaml").read_text())
    assert (config["train"], config["val"]) == ("images/train", "images/val")
    assert not (tmp_path / "out" / "labels" / "train" / "stale.txt").exists()
    assert len(list((tmp_path / "out" / "labels" / "val").rglob("*.txt"))) == 3
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []  # no staging left


def test_exporting_into_the_folder_of_the_images_is_refused_but_labels_can_be_rewritten(tmp_path):
    root = write_files(tmp_path, coco8_files()) / "coco8"
    data = formats.read(root)
    with pytest.raises(PoseUsageError, match="which this export replaces"):
        formats.write(data, root, "yolo", images_dir=root)
    assert (root / "images" / "train" / "a.jpg").is_file()
    (root / "labels" / "train" / "a.txt").write_text("")  # labels rewritten in place from the data
    formats.write(data, root, "yolo", export_media="none")
    assert len(_rows(root / "labels" / "train" / "a.txt")) == 2 and (root / "images" / "val" / "c.jpg").is_file()


def test_persons_without_box_get_the_box_of_their_points(tmp_path):
    doc = coco_doc()
    del doc["annotations"][0]["bbox"]
    ours, report = _our_rows(doc, tmp_path)
    assert report["persons without a box: given the box of their labelled points"] == 1
    x = np.array([250, 255, 262, 270])
    y = np.array([102, 98, 101, 140])
    box = [(x.min() + x.max()) / 2 / 640, (y.min() + y.max()) / 2 / 480, np.ptp(x) / 640, np.ptp(y) / 480]
    assert ours["000000000007"][0, 1:5].tolist() == pytest.approx(box)


def test_image_sizes_a_file_lacks_come_from_the_images(tmp_path):
    doc = coco_doc()
    images = images_of(doc, tmp_path / "src")
    for im in doc["images"]:
        del im["width"], im["height"]
    report = formats.write(coco.decode(doc), tmp_path / "out", "yolo", images_dir=images).notes
    assert report["image sizes read from image headers"] == 3
    rows = _rows(tmp_path / "out" / "labels" / "train" / "000000000007.txt")
    assert rows[0, 5:7].tolist() == pytest.approx([250 / 640, 102 / 480])
    with pytest.raises(PoseFormatError, match="the image has no size") as e:
        formats.write(coco.decode(doc), tmp_path / "none", "yolo", export_media="none")
    assert e.value.field == "width" and e.value.record.startswith("images[0]")


def test_mpii_without_boxes_or_sizes_counts_from_one_and_exports(tmp_path):
    """MPII's json: no box (the box of the labelled points, said so), no image size (the headers),
    pixels counted from 1 (shifted to YOLO's 0-based frame), 16 points with MPII's flip pairs."""
    from mpii_docs import mpii_hrnet_doc, mpii_hrnet_test_doc

    path = tmp_path / "valid.json"
    path.write_text(json.dumps(mpii_hrnet_doc()))
    data = formats.read(path, "mpii")
    images = write_files(tmp_path / "images", {name: header_png(1280, 900) for name in data.images.file_names})
    report = formats.write(data, tmp_path / "out", "yolo", images_dir=images).notes
    assert report["persons without a box: given the box of their labelled points"] == 3
    assert report["image sizes read from image headers"] == 2
    config = yaml.safe_load((tmp_path / "out" / "dataset.yaml").read_text())
    assert config["kpt_shape"] == [16, 3] and config["flip_idx"] == yolo.flip_index(skeletons.load("mpii"))
    rows = _rows(tmp_path / "out" / "labels" / "train" / "015601864.txt")
    first = mpii_hrnet_doc()[0]["joints"][0]
    assert rows[0, 5:8].tolist() == pytest.approx([(first[0] - 1) / 1280, (first[1] - 1) / 900, 2])
    path.write_text(json.dumps(mpii_hrnet_test_doc()))  # test persons: no joints, no box
    report = formats.write(
        formats.read(path, "mpii"), tmp_path / "test", "yolo", export_media="none", split="test"
    ).notes
    assert report["persons left out: no labelled point (as convert_coco)"] == len(mpii_hrnet_test_doc())
