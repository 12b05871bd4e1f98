"""YOLO-pose datasets (pure layer): written as Ultralytics' own converter writes them, accepted by
Ultralytics' own loader, read back to the same label files, and never written outside their folder.

The reference is Ultralytics itself: ``convert_coco(..., use_keypoints=True)`` runs on the same
COCO files and its rows must equal ours; ``verify_image_label`` and ``YOLODataset(task="pose")``
load every exported dataset (CPU, no training, no download). These tests are skipped only where
``ultralytics`` is not installed (it is in the ``test`` extra, so CI has it; see
``test_ultralytics_is_installed_in_ci``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from dataset_docs import crowdpose_doc, humanart_doc, mhp_coco_doc, ochuman_coco_doc
from helpers import COCO_NAMES, coco_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import coco_documents
from yolo_docs import COCO_FLIP_IDX, image_bytes, images_of, write_files

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.demo.run import demo_paths
from fiftyone_pose.formats import coco, yolo

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
    report = formats.write(data, work / "ours", "yolo", export_media="none", split="train")
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
    assert report["labelled points outside the image, written unlabelled (0 0 0) as Ultralytics does"] == 1
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
        "categories": [coco.default_category(layout)],
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
