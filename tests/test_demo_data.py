"""Checks of the built-in demo dataset (fiftyone_pose/demo).

Pure data tests: pycocotools + Pillow + numpy, no FiftyOne, no database.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import pathlib

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

DEMO_DIR = pathlib.Path(__file__).resolve().parents[1] / "fiftyone_pose" / "demo"
JSON_PATH = DEMO_DIR / "person_keypoints_demo.json"
IMAGES_DIR = DEMO_DIR / "images"

# pycocotools' decode() trips a numpy-2 DeprecationWarning (library issue, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

COCO_KEYPOINTS = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
COCO_SKELETON = [
    [16, 14],
    [14, 12],
    [17, 15],
    [15, 13],
    [12, 13],
    [6, 12],
    [7, 13],
    [6, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [9, 11],
    [2, 3],
    [1, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [5, 7],
]


def _load_generator():
    # load by path: the generator is a repository tool, not part of the package
    spec = importlib.util.spec_from_file_location("generate_demo", DEMO_DIR.parents[1] / "tools" / "generate_demo.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _is_figure_colour(rgb) -> bool:
    """Figures are painted saturated or dark; backgrounds are pale greys/pastels."""
    r, g, b = (int(c) for c in rgb[:3])
    return (max(r, g, b) - min(r, g, b)) >= 48 or max(r, g, b) <= 125


def _is_occluder_grey(rgb) -> bool:
    r, g, b = (int(c) for c in rgb[:3])
    return max(r, g, b) - min(r, g, b) <= 16 and 80 <= max(r, g, b) <= 200


@pytest.fixture(scope="module")
def raw():
    with open(JSON_PATH, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def coco():
    return COCO(str(JSON_PATH))


@pytest.fixture(scope="module")
def pixels(raw):
    return {im["id"]: np.asarray(Image.open(IMAGES_DIR / im["file_name"]).convert("RGB")) for im in raw["images"]}


def _persons(raw):
    return [a for a in raw["annotations"] if not a["iscrowd"]]


def test_top_level_structure(raw):
    assert list(raw) == ["info", "licenses", "images", "annotations", "categories"]
    for key in ("description", "version", "year", "contributor", "date_created"):
        assert key in raw["info"]
    assert raw["licenses"] and all({"id", "name", "url"} <= set(lic) for lic in raw["licenses"])
    assert raw["categories"] == [
        {
            "id": 1,
            "name": "person",
            "supercategory": "person",
            "keypoints": COCO_KEYPOINTS,
            "skeleton": COCO_SKELETON,
        }
    ]
    license_ids = {lic["id"] for lic in raw["licenses"]}
    for im in raw["images"]:
        assert im["license"] in license_ids
        assert im["coco_url"].startswith("http://") and "example.org" in im["coco_url"]
        assert "example.org" in im["flickr_url"]
        assert len(im["date_captured"]) == len("2024-01-08 21:08:52")


def test_json_is_compact(raw):
    text = JSON_PATH.read_text(encoding="utf-8")
    assert "\n" not in text
    assert text == json.dumps(raw)


def test_image_files_exist_with_declared_size(raw):
    assert 25 <= len(raw["images"]) <= 40
    total = 0
    for im in raw["images"]:
        path = IMAGES_DIR / im["file_name"]
        assert path.is_file(), path
        with Image.open(path) as img:
            assert img.format == "JPEG"
            assert img.size == (im["width"], im["height"])
        total += path.stat().st_size
    assert total < 600_000
    on_disk = {p.relative_to(IMAGES_DIR).as_posix() for p in IMAGES_DIR.rglob("*") if p.is_file()}
    assert on_disk == {im["file_name"] for im in raw["images"]}


def test_ids_unique_and_nonzero(raw):
    image_ids = [im["id"] for im in raw["images"]]
    ann_ids = [a["id"] for a in raw["annotations"]]
    assert len(set(image_ids)) == len(image_ids) and 0 not in image_ids
    assert len(set(ann_ids)) == len(ann_ids) and 0 not in ann_ids
    # ids are not simply 1..N (exercises id mapping in importers)
    assert set(ann_ids) != set(range(1, len(ann_ids) + 1))
    assert set(image_ids) != set(range(1, len(image_ids) + 1))
    assert {a["image_id"] for a in raw["annotations"]} <= set(image_ids)
    assert {a["category_id"] for a in raw["annotations"]} == {1}


def test_keypoint_lists(raw):
    sizes = {im["id"]: (im["width"], im["height"]) for im in raw["images"]}
    for a in raw["annotations"]:
        kps = a["keypoints"]
        assert len(kps) == 51
        vis = kps[2::3]
        assert all(type(v) is int and v in (0, 1, 2) for v in vis)
        assert a["num_keypoints"] == sum(v > 0 for v in vis)
        w, h = sizes[a["image_id"]]
        x0, y0, bw, bh = a["bbox"]
        for i in range(17):
            x, y, v = kps[3 * i : 3 * i + 3]
            if v == 0:
                assert (x, y) == (0, 0)
            else:
                assert 0 <= x <= w - 1 and 0 <= y <= h - 1
                assert x0 - 0.01 <= x <= x0 + bw + 0.01 and y0 - 0.01 <= y <= y0 + bh + 0.01


def test_boxes_areas_segmentations(raw, coco):
    sizes = {im["id"]: (im["width"], im["height"]) for im in raw["images"]}
    for a in raw["annotations"]:
        w, h = sizes[a["image_id"]]
        x, y, bw, bh = a["bbox"]
        assert all(isinstance(v, float) and round(v, 2) == v for v in a["bbox"])
        assert 0 <= x and 0 <= y and bw > 0 and bh > 0 and x + bw <= w + 1e-6 and y + bh <= h + 1e-6
        m = coco.annToMask(coco.anns[a["id"]])
        assert m.shape == (h, w)
        if a["iscrowd"]:
            seg = a["segmentation"]
            assert seg["size"] == [h, w]
            assert isinstance(seg["counts"], list) and all(type(c) is int for c in seg["counts"])
            assert sum(seg["counts"]) == h * w
            assert a["area"] == int(m.sum())
            assert a["num_keypoints"] == 0 and a["keypoints"] == [0] * 51
            # crowd bbox is the mask bbox
            ys, xs = np.nonzero(m)
            assert [x, y, bw, bh] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        else:
            assert isinstance(a["segmentation"], list) and len(a["segmentation"]) == 1
            poly = a["segmentation"][0]
            assert len(poly) >= 6 and len(poly) % 2 == 0
            rle = mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], h, w))
            assert a["area"] == float(mask_utils.area(rle)) > 0
            xs, ys = poly[0::2], poly[1::2]
            assert (x, y) == (min(xs), min(ys))
            assert abs(x + bw - max(xs)) < 0.011 and abs(y + bh - max(ys)) < 0.011


def test_dataset_exercises_edge_cases(raw):
    persons = _persons(raw)
    vis = collections.Counter(v for a in persons for v in a["keypoints"][2::3])
    assert vis[0] > 0 and vis[1] >= 20 and vis[2] >= 500

    by_image = collections.defaultdict(list)
    for a in raw["annotations"]:
        by_image[a["image_id"]].append(a)
    assert sum(1 for im in raw["images"] if not by_image[im["id"]]) >= 2  # no person at all
    assert 1 <= sum(a["iscrowd"] for a in raw["annotations"]) <= 3
    assert sum(1 for a in persons if a["num_keypoints"] == 0) >= 3
    labelled_per_image = [sum(1 for a in v if a["num_keypoints"]) for v in by_image.values()]
    assert min(labelled_per_image) == 0 and max(labelled_per_image) >= 5

    # integer-keypoint images and float-keypoint images (2 decimals), never mixed
    kinds = collections.Counter()
    for im in raw["images"]:
        coords = [
            c
            for a in by_image[im["id"]]
            for i in range(17)
            if a["keypoints"][3 * i + 2] > 0
            for c in a["keypoints"][3 * i : 3 * i + 2]
        ]
        if not coords:
            continue
        types = {type(c) for c in coords}
        assert len(types) == 1, im["file_name"]
        if float in types:
            assert all(round(c, 2) == c for c in coords)
            assert any(c != int(c) for c in coords)
        kinds[types.pop()] += 1
    assert kinds[int] > kinds[float] >= 3

    # partly out-of-frame persons: labelled joints near the border, v=0 for the rest
    sizes = {im["id"]: (im["width"], im["height"]) for im in raw["images"]}
    cut = 0
    for a in persons:
        w, h = sizes[a["image_id"]]
        x, y, bw, bh = a["bbox"]
        cut += a["num_keypoints"] > 0 and (x <= 0 or y <= 0 or x + bw >= w or y + bh >= h)
    assert cut >= 3

    names = [im["file_name"] for im in raw["images"]]
    assert any("/" in n for n in names)
    assert all(n.endswith(".jpg") for n in names)


def test_drawn_joints_are_on_the_figures(raw, pixels):
    """Visible joints sit on figure paint; backgrounds are not figure-coloured."""
    checked = 0
    for a in _persons(raw):
        img = pixels[a["image_id"]]
        kps = a["keypoints"]
        for i in range(17):
            x, y, v = kps[3 * i : 3 * i + 3]
            if v == 2:
                px = img[int(round(y)), int(round(x))]
                assert _is_figure_colour(px), (a["id"], i, x, y, px)
                checked += 1
    assert checked >= 500

    # the predicate discriminates: images without any annotation are background only
    annotated = {a["image_id"] for a in raw["annotations"]}
    for im in raw["images"]:
        if im["id"] not in annotated:
            flat = pixels[im["id"]].reshape(-1, 3).astype(int)
            fig = (flat.max(1) - flat.min(1) >= 48) | (flat.max(1) <= 125)
            assert fig.mean() < 0.001, im["file_name"]


def test_occluded_joints_are_really_occluded(raw, pixels):
    """v=1 joints are hidden: most of them under a grey box, the rest under
    another person (figure paint, but not the joint's own)."""
    grey = total = 0
    for a in _persons(raw):
        img = pixels[a["image_id"]]
        kps = a["keypoints"]
        for i in range(17):
            x, y, v = kps[3 * i : 3 * i + 3]
            if v == 1:
                total += 1
                grey += _is_occluder_grey(img[int(round(y)), int(round(x))])
    assert total >= 20
    assert grey >= 0.5 * total


def test_generator_is_deterministic(tmp_path):
    gen = _load_generator()
    out = gen.generate(tmp_path)
    assert out == tmp_path / "person_keypoints_demo.json"
    assert out.read_bytes() == JSON_PATH.read_bytes()
    data = json.loads(out.read_bytes())
    for im in data["images"]:
        with Image.open(tmp_path / "images" / im["file_name"]) as img:
            assert img.size == (im["width"], im["height"])
