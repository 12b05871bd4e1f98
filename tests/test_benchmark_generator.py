"""Tests of the synthetic COCO person-keypoints generator (benchmarks/generate.py); no database."""

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed

from benchmarks.generate import COCO_KEYPOINTS, LAYOUTS, NUM_POINTS, generate_coco, main  # noqa: E402

N = 300
WB_PARTS = {"foot_kpts": 6, "face_kpts": 68, "lefthand_kpts": 21, "righthand_kpts": 21}


@pytest.fixture(scope="module", params=LAYOUTS)
def layout_doc(request):
    return request.param, generate_coco(N, request.param, seed=3)


def _is_2dec(x: float) -> bool:
    return type(x) is float and round(x, 2) == x


def test_deterministic_and_seed_dependent():
    for layout in LAYOUTS:
        a = generate_coco(50, layout, seed=7)
        assert a == generate_coco(50, layout, seed=7)
        assert a != generate_coco(50, layout, seed=8)


def test_rejects_unknown_layout():
    with pytest.raises(ValueError):
        generate_coco(5, "mpii")


def test_pycocotools_loads(layout_doc, tmp_path):
    layout, doc = layout_doc
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == N
    assert len(coco.getAnnIds()) == len(doc["annotations"])
    assert {"info", "licenses", "images", "annotations", "categories"} <= doc.keys()


def test_ids_and_images(layout_doc):
    _, doc = layout_doc
    image_ids = [im["id"] for im in doc["images"]]
    ann_ids = [a["id"] for a in doc["annotations"]]
    assert len(set(image_ids)) == N and 0 not in image_ids
    assert len(set(ann_ids)) == len(ann_ids) and 0 not in ann_ids
    assert image_ids != sorted(image_ids)  # non-sequential
    assert {a["image_id"] for a in doc["annotations"]} <= set(image_ids)
    for im in doc["images"]:
        assert im["file_name"] == f"{im['id']:012d}.jpg"
        assert {"license", "coco_url", "flickr_url", "date_captured", "width", "height"} <= im.keys()
    per_image = Counter(a["image_id"] for a in doc["annotations"])
    counts = [per_image.get(i, 0) for i in image_ids]
    assert 1.8 < np.mean(counts) < 2.9 and max(counts) <= 20 and 0 in counts


def test_category(layout_doc):
    layout, doc = layout_doc
    (cat,) = doc["categories"]
    assert cat["id"] == 1 and cat["name"] == "person"
    if layout == "halpe":
        assert cat["keypoints"] == [] and cat["skeleton"] == []
    else:
        assert cat["keypoints"] == COCO_KEYPOINTS and len(cat["skeleton"]) == 19
        assert all(1 <= i <= 17 for e in cat["skeleton"] for i in e)


def test_lengths_types_and_num_keypoints(layout_doc):
    layout, doc = layout_doc
    k = NUM_POINTS[layout]
    for a in doc["annotations"]:
        kp = a["keypoints"]
        assert len(kp) == 3 * k
        v = kp[2::3]
        assert all(type(x) is int and x in (0, 1, 2) for x in v)
        assert all(_is_2dec(x) for x in kp[0::3] + kp[1::3])
        assert a["num_keypoints"] == sum(x > 0 for x in v[:17])
        assert len(a["bbox"]) == 4 and all(_is_2dec(x) for x in a["bbox"])
        assert type(a["area"]) is float and a["area"] > 0
        if layout != "halpe":  # COCO keeps v=0 points at (0, 0)
            assert all(x == y == 0 for x, y, vis in zip(kp[0::3], kp[1::3], v) if vis == 0)
        if a["iscrowd"] or a["num_keypoints"] == 0:
            assert not any(kp[:51])
    if layout == "halpe":
        assert all("segmentation" not in a for a in doc["annotations"])
        assert any(kp[i] or kp[i + 1] for a in doc["annotations"] for kp in [a["keypoints"]]
                   for i in range(0, len(kp), 3) if kp[i + 2] == 0)  # fmt: skip


def test_segmentations(layout_doc):
    layout, doc = layout_doc
    if layout == "halpe":
        return
    sizes = {im["id"]: (im["height"], im["width"]) for im in doc["images"]}
    for a in doc["annotations"]:
        seg = a["segmentation"]
        if a["iscrowd"]:
            assert seg["size"] == list(sizes[a["image_id"]])
            assert all(type(c) is int and c >= 0 for c in seg["counts"])
            assert sum(seg["counts"]) == seg["size"][0] * seg["size"][1]
            rle = mask_utils.frPyObjects(seg, *seg["size"])
            assert mask_utils.area(rle) == a["area"]
            assert mask_utils.toBbox(rle).tolist() == a["bbox"]
        else:
            (poly,) = seg
            assert 16 <= len(poly) <= 40 and all(_is_2dec(x) for x in poly)


def test_crowd_fraction_and_visibility_proportions():
    doc = generate_coco(3000, "coco", seed=1)
    anns = doc["annotations"]
    crowd = [a for a in anns if a["iscrowd"]]
    assert crowd and 0.004 < len(crowd) / len(anns) < 0.02
    assert all(a["num_keypoints"] == 0 and a["id"] > 2**32 for a in crowd)
    people = [a for a in anns if not a["iscrowd"]]
    assert 0.07 < sum(a["num_keypoints"] == 0 for a in people) / len(people) < 0.13
    v = np.array([a["keypoints"][2::3] for a in people if a["num_keypoints"] > 0]).ravel()
    share = np.bincount(v, minlength=3) / v.size
    assert abs(share[0] - 0.32) < 0.03 and abs(share[1] - 0.08) < 0.02 and abs(share[2] - 0.60) < 0.03


def test_wholebody_parts(layout_doc):
    layout, doc = layout_doc
    if layout != "wholebody":
        return
    hand_floats = 0
    for a in doc["annotations"]:
        for field, k in WB_PARTS.items():
            part = field.split("_")[0]
            kp, valid = a[field], a[f"{part}_valid"]
            assert len(kp) == 3 * k and type(valid) is bool
            if not valid:
                assert not any(kp)
            if part != "foot":
                assert len(a[f"{part}_box"]) == 4 and (valid or not any(a[f"{part}_box"]))
            for v in kp[2::3]:
                if "hand" in part and type(v) is float:
                    assert 0 < v < 1
                    hand_floats += 1
                else:
                    assert type(v) is int and v in (0, 1, 2)
        if a["iscrowd"] or a["num_keypoints"] == 0:
            assert not (a["face_valid"] or a["lefthand_valid"] or a["righthand_valid"] or a["foot_valid"])
    assert hand_floats > 0


def test_cli_writes_file(tmp_path, capsys):
    out = tmp_path / "h.json"
    main([str(out), "--images", "20", "--layout", "halpe", "--seed", "2"])
    assert json.loads(out.read_bytes()) == generate_coco(20, "halpe", 2)
    assert "images=20" in capsys.readouterr().out


def test_h36m_layout_is_an_mmpose_npz_with_its_cameras(tmp_path, capsys):
    from benchmarks.generate import H36M_ACTIONS, generate_h36m
    from fiftyone_pose.formats import h36m

    arrays, cameras = generate_h36m(1000, seed=4)
    again, _ = generate_h36m(1000, seed=4)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)
    rows = len(arrays["imgname"])
    assert list(arrays) == ["imgname", "center", "scale", "part", "S"] and rows == 960  # 240 sequence-views x 4 frames
    assert arrays["part"].shape == (rows, 17, 3) and (arrays["part"][..., 2] == 1).all()
    assert arrays["S"].shape == (rows, 17, 4) and (arrays["S"][..., 3] == 1).all()
    fields, ok = h36m.parse_frame_names(arrays["imgname"])
    assert ok.all() and set(fields["action"].tolist()) == set(H36M_ACTIONS)
    assert (np.diff(fields["frame"][:4]) == 5).all()  # one camera's sequence at 10 fps of the 50 fps frame numbers
    assert set(fields["subject"].tolist()) == set(cameras) == {"S9", "S11"}
    inside = (arrays["part"][..., 0] > 0) & (arrays["part"][..., 0] < 1000) & (arrays["part"][..., 1] > 0)
    assert inside.all() and (arrays["S"][..., 2] > 2).all()  # every joint in front of every camera, in its image
    main([str(tmp_path / "h36m_test.npz"), "--images", "240", "--layout", "h36m"])
    assert "rows=240" in capsys.readouterr().out
    with np.load(tmp_path / "h36m_test.npz") as z:
        assert z.files == list(arrays) and len(z["imgname"]) == 240
    assert json.loads((tmp_path / "cameras.json").read_text()).keys() == {"S9", "S11"}


def test_aic_layout_is_the_native_list_our_reader_takes_back(tmp_path, capsys):
    """``--layout aic``: the authors' JSON list, read by ``formats.aic`` (images sized from the
    linked JPEGs) and written back with the same values."""
    from benchmarks.generate import AIC_SIZES, aic_images, generate_aic
    from fiftyone_pose.formats import aic

    doc, size_of = generate_aic(400, seed=5)
    assert generate_aic(400, seed=5)[0] == doc and generate_aic(400, seed=6)[0] != doc
    assert [list(im) for im in doc[:1]] == [["url", "image_id", "keypoint_annotations", "human_annotations"]]
    persons = [
        (k, b) for im in doc for k, b in zip(im["keypoint_annotations"].values(), im["human_annotations"].values())
    ]
    assert 1.6 < len(persons) / len(doc) < 2.0
    flags = Counter(v for k, _ in persons for v in k[2::3])
    assert set(flags) == {1, 2, 3} and flags[1] > flags[2] + flags[3]
    for k, (x1, y1, x2, y2) in persons:
        assert all(type(v) is int for v in [*k, x1, y1, x2, y2]) and 0 <= x1 < x2 and 0 <= y1 < y2
        labelled = [(x, y) for x, y, v in zip(k[::3], k[1::3], k[2::3]) if v != 3]
        assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in labelled)
    main([str(tmp_path / "aic.json"), "--images", "400", "--layout", "aic", "--seed", "5"])
    assert "images=400" in capsys.readouterr().out and json.loads((tmp_path / "aic.json").read_bytes()) == doc
    aic_images(tmp_path / "aic.json", tmp_path / "images")
    data = aic.read(tmp_path / "aic.json", images_dir=tmp_path / "images")
    assert len(data.images) == 400 and len(data.persons) == len(persons)
    assert [(w, h) for w, h in zip(data.images.widths, data.images.heights)] == [AIC_SIZES[s] for s in size_of]
    aic.write(data, tmp_path / "back.json")
    assert json.loads((tmp_path / "back.json").read_bytes()) == doc
