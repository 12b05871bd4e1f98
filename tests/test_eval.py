"""The evaluation equals the reference tools, run on the same generated inputs (no database).

pycocotools (COCO OKS) and xtcocotools (CrowdPose, COCO-WholeBody and Halpe per part) read the
files these tests write; mmpose's PCK metrics get the same arrays. Every number they compute must
come out the same bits (``stats``, COCOeval's precision and recall arrays) and every printed line
the same text. See tests/reference_tools.py for how xtcocotools and mmpose are obtained.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pytest
from eval_cases import UNKNOWN_IMAGE, keypoint_case, known_results, pck_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_tools import mmpose_metrics, summarize_lines, xtcocotools

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.errors import PoseFormatError, PoseUsageError
from fiftyone_pose.core.layouts import parts_of
from fiftyone_pose.eval import evaluate
from fiftyone_pose.eval.common import NOTE_UNKNOWN_IMAGES
from fiftyone_pose.formats import coco_results

REFERENCE_RUNS = settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
seeds = st.integers(0, 2**32 - 1)


@pytest.fixture(scope="module")
def xt(request, tmp_path_factory):
    cache = request.config.cache.mkdir("reference-tools") if request.config.cache else tmp_path_factory.mktemp("ref")
    return xtcocotools(cache)


@pytest.fixture(scope="module")
def mmpose(request, tmp_path_factory):
    cache = request.config.cache.mkdir("reference-tools") if request.config.cache else tmp_path_factory.mktemp("ref")
    return mmpose_metrics(cache)


def _files(tmp_path, gt: dict, results: list) -> tuple:
    gp, rp = tmp_path / "gt.json", tmp_path / "results.json"
    gp.write_text(json.dumps(gt))
    rp.write_text(json.dumps(results))
    return gp, rp


def _ours(gp, rp, fmt: str = "auto"):
    gt = formats.read(gp, fmt)
    return gt, evaluate(gt, formats.read(rp, "coco_results", skeleton=gt.skeleton))


def _pycocotools(gp, results: list, sigmas):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gp))
        ev = COCOeval(gt, gt.loadRes(results), "keypoints")
        ev.params.kpt_oks_sigmas = np.array(sigmas)
        ev.evaluate()
        ev.accumulate()
    return ev, summarize_lines(ev)


def _xtcocotools(cocoeval, gp, results: list, iou_type: str, sigmas, use_area: bool):
    coco = cocoeval.__name__.replace("cocoeval", "coco")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'foot_score' not found, use 'score' instead"
        gt = __import__(coco, fromlist=["COCO"]).COCO(str(gp))
        ev = cocoeval.COCOeval(gt, gt.loadRes(results), iou_type, np.array(sigmas), use_area=use_area)
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        lines = summarize_lines(ev)
    return ev, lines


# ------------------------------------------------------------------------------ COCO: pycocotools


@REFERENCE_RUNS
@given(seed=seeds, two_categories=st.booleans(), boxes=st.booleans())
def test_coco_oks_equals_pycocotools(tmp_path_factory, seed, two_categories, boxes):
    gt_doc, results = keypoint_case(seed, categories=(1, 2) if two_categories else (1,), boxes_in_results=boxes)
    gp, rp = _files(tmp_path_factory.mktemp("coco"), gt_doc, results)
    gt, ours = _ours(gp, rp, "coco")
    ev, lines = _pycocotools(gp, known_results(gt_doc, results), gt.skeleton.sigmas)
    assert ours.stats.tolist() == ev.stats.tolist()
    assert ours.lines == lines
    assert np.array_equal(ours.precision, ev.eval["precision"]) and np.array_equal(ours.recall, ev.eval["recall"])
    assert ours.notes[NOTE_UNKNOWN_IMAGES] == sum(r["image_id"] == UNKNOWN_IMAGE for r in results)


def test_coco_labels_and_image_ap_equal_pycocotools_per_image(tmp_path):
    """Each prediction's tp / fp / ignored (OKS 0.5, area all) is COCOeval's evalImgs; each image's
    AP is COCOeval's on that image alone."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    for seed in range(4):
        gt_doc, results = keypoint_case(seed)
        gp, rp = _files(tmp_path, gt_doc, results)
        gt, ours = _ours(gp, rp, "coco")
        kept = known_results(gt_doc, results)
        ev, _ = _pycocotools(gp, kept, gt.skeleton.sigmas)
        row_of = {j + 1: i for j, i in enumerate(i for i, r in enumerate(results) if r["image_id"] != UNKNOWN_IMAGE)}
        expected = np.full(len(results), None, object)
        for e in ev.evalImgs[: len(ev.params.imgIds)]:  # category 1, area "all"
            for j, did in enumerate(e["dtIds"] if e else ()):
                matched, ignored = e["dtMatches"][0, j], e["dtIgnore"][0, j]
                expected[row_of[did]] = None if ignored else ("tp" if matched else "fp")
        assert ours.pred.status.tolist() == expected.tolist()
        for image in gt_doc["images"][:5]:
            with contextlib.redirect_stdout(io.StringIO()):
                one = COCOeval(COCO(str(gp)), COCO(str(gp)).loadRes(kept), "keypoints")
                one.params.kpt_oks_sigmas = np.array(gt.skeleton.sigmas)
                one.params.imgIds = [image["id"]]
                one.evaluate()
                one.accumulate()
            s = one.eval["precision"][:, :, :, 0, :]
            reference = np.mean(s[s > -1]) if (s > -1).any() else np.nan
            ours_ap = ours.image_score[gt.images.ids.tolist().index(image["id"])]
            assert ours_ap == pytest.approx(reference, abs=1e-12, nan_ok=True)


def test_persons_are_labeled_with_their_match(tmp_path):
    gt_doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 400, "height": 400}],
        "annotations": [
            {"id": 5, "image_id": 1, "category_id": 1, "keypoints": [100, 100, 2] * 17, "num_keypoints": 17,
             "bbox": [90, 90, 20, 20], "area": 4000, "iscrowd": 0},
            {"id": 6, "image_id": 1, "category_id": 1, "keypoints": [300, 300, 2] * 17, "num_keypoints": 17,
             "bbox": [290, 290, 20, 20], "area": 4000, "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "person"}],
    }  # fmt: skip
    results = [
        {"image_id": 1, "category_id": 1, "keypoints": [101, 100, 1] * 17, "score": 0.9},
        {"image_id": 1, "category_id": 1, "keypoints": [200, 200, 1] * 17, "score": 0.8},
    ]
    gp, rp = _files(tmp_path, gt_doc, results)
    _, ours = _ours(gp, rp)
    assert ours.pred.status.tolist() == ["tp", "fp"] and ours.gt.status.tolist() == ["tp", "fn"]
    assert ours.pred.match.tolist() == [0, -1] and ours.gt.match.tolist() == [0, -1]
    assert 0.9 < ours.pred.similarity[0] == ours.gt.similarity[0] < 1.0
    assert (ours.image_tp[0], ours.image_fp[0], ours.image_fn[0]) == (1, 1, 1)
    table = ours.joints.table()
    assert table["count"].tolist() == [1] * 17 and (table["within_0.05"] == 1.0).all()


# ----------------------------------------------------------------------------- CrowdPose: xtcocotools


@REFERENCE_RUNS
@given(seed=seeds)
def test_crowdpose_equals_xtcocotools_keypoints_crowd(xt, tmp_path_factory, seed):
    gt_doc, results = keypoint_case(seed, layout="crowdpose")
    rng = np.random.default_rng(seed)
    for image in gt_doc["images"]:  # on and between xtcocotools' cuts 0.2 and 0.8
        image["crowdIndex"] = float(rng.choice([0.0, 0.1, 0.2, 0.5, 0.8, 0.95]))
    for a in gt_doc["annotations"]:
        del a["area"]  # CrowdPose has none: the evaluation uses 0.53 w h
        if rng.random() < 0.3:  # CrowdPose's num_keypoints counts the visible points only
            a["num_keypoints"] = sum(v == 2 for v in a["keypoints"][2::3])
    gp, rp = _files(tmp_path_factory.mktemp("crowdpose"), gt_doc, results)
    gt, ours = _ours(gp, rp, "crowdpose")
    ev, lines = _xtcocotools(xt, gp, known_results(gt_doc, results), "keypoints_crowd", gt.skeleton.sigmas, False)
    assert ours.stats.tolist() == ev.stats.tolist()
    assert ours.lines == lines and len(lines) == 9


# ------------------------------------------------------------------ WholeBody and Halpe: xtcocotools


def _whole_body_case(seed: int, layout: str) -> tuple[dict, list]:
    from benchmarks.generate import generate_coco
    from benchmarks.predictions import generate_predictions

    gt_doc = generate_coco(25, layout, seed)
    results = generate_predictions(gt_doc, 6, seed)
    rng = np.random.default_rng(seed)
    for r in results[::7]:  # part scores where a model gives them; the others fall back to score
        r["foot_score"], r["wholebody_score"] = 0.3, float(rng.random())
    if layout == "wholebody":
        for r in results[::11]:  # a part without a positive score: xtcocotools drops the prediction
            r["lefthand_kpts"][2::3] = [0] * 21
    results[3]["score"] = results[4]["score"]  # a tie
    return gt_doc, results


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wholebody_equals_xtcocotools_per_part(xt, tmp_path, seed):
    gt_doc, results = _whole_body_case(seed, "wholebody")
    gp, rp = _files(tmp_path, gt_doc, results)
    gt, ours = _ours(gp, rp, "coco_wholebody")
    sigmas = np.array(gt.skeleton.sigmas)
    parts = {**parts_of(gt.skeleton), "wholebody": np.arange(133)}
    assert [b.title for b in ours.blocks] == ["body", "foot", "face", "lefthand", "righthand", "wholebody"]
    for block in ours.blocks:
        ev, lines = _xtcocotools(xt, gp, results, f"keypoints_{block.title}", sigmas[parts[block.title]], True)
        assert block.stats.tolist() == ev.stats.tolist(), block.title
        assert block.lines == lines
    assert ours.lines == [line for b in ours.blocks for line in (f"{b.title}:", *b.lines)]


@pytest.mark.parametrize("seed", [0, 1])
def test_halpe_equals_xtcocotools_on_its_parts(xt, tmp_path, seed):
    """xtcocotools evaluates files with COCO-WholeBody's part arrays: the Halpe file is split into
    them by keypoint name (body 20, foot 6, face 68, hands 21), in the layout's order."""
    gt_doc, results = _whole_body_case(seed, "halpe")
    gp, rp = _files(tmp_path, gt_doc, results)
    gt, ours = _ours(gp, rp, "halpe")
    parts = parts_of(gt.skeleton)
    keys = {"body": "keypoints", "foot": "foot_kpts", "face": "face_kpts", "lefthand": "lefthand_kpts",
            "righthand": "righthand_kpts"}  # fmt: skip

    def split(record: dict) -> dict:
        kp = np.array(record["keypoints"], dtype=object).reshape(-1, 3)
        return {**record, **{key: kp[parts[name]].ravel().tolist() for name, key in keys.items()}}

    split_gt = tmp_path / "split.json"
    split_gt.write_text(json.dumps({**gt_doc, "annotations": [split(a) for a in gt_doc["annotations"]]}))
    split_results = [split(r) for r in results]
    sigmas = np.array(gt.skeleton.sigmas)
    for block in ours.blocks:
        idx = parts.get(block.title, np.arange(136))
        ev, lines = _xtcocotools(xt, split_gt, split_results, f"keypoints_{block.title}", sigmas[idx], True)
        assert block.stats.tolist() == ev.stats.tolist(), block.title
        assert block.lines == lines


# -------------------------------------------------------------------------------------- PCK: mmpose


@pytest.mark.parametrize("seed", range(4))
def test_mpii_pckh_equals_mmpose(mmpose, seed):
    gt, pred = pck_case(seed, "mpii")
    ours = evaluate(gt, pred)
    assert ours.method == "pckh"
    by_person = _prediction_of(gt, pred, shift=1.0)  # mmpose gets one prediction per person, in order
    metric = mmpose.MpiiPCKAccuracy(thr=0.5, norm_item="head")
    samples = []
    for i, e in enumerate(gt.persons.extras):
        head = np.linalg.norm(np.array([e["x2"], e["y2"]], float) - np.array([e["x1"], e["y1"]], float)) * 0.6
        samples.append({
            "gt_instances": {"keypoints": gt.persons.keypoints[i : i + 1],
                             "keypoints_visible": gt.persons.visibility[i : i + 1] > 0,
                             "head_size": np.array([[head]])},
            "pred_instances": {"keypoints": pred.persons.keypoints[by_person[i] : by_person[i] + 1]},
        })  # fmt: skip
    metric.process([], samples)
    expected = metric.compute_metrics(metric.results)
    names = ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1"]
    keys = ["Head PCK", "Shoulder PCK", "Elbow PCK", "Wrist PCK", "Hip PCK", "Knee PCK", "Ankle PCK", "PCK", "PCK@0.1"]
    assert ours.block("PCKh@0.5").names == names
    assert ours.stats.tolist() == [float(expected[k]) for k in keys]
    assert ours.lines[-1] == "| " + " | ".join(f"{float(expected[k]):.3f}" for k in keys) + " |"


def _prediction_of(gt, pred, shift: float) -> np.ndarray:
    """For each person of ``pck_case``, the prediction made from it (the nearest; ``shift``: the
    ground truth's pixel origin)."""
    d = np.linalg.norm(gt.persons.keypoints[:, None] - shift - pred.persons.keypoints[None], axis=-1)
    return np.argmin(np.where(gt.persons.visibility[:, None] > 0, d, 0).sum(-1), axis=1)


@pytest.mark.parametrize("seed", range(4))
def test_lsp_torso_pck_equals_mmpose(mmpose, seed):
    gt, pred = pck_case(seed, "lsp")
    ours = evaluate(gt, pred)
    assert ours.method == "pck"
    names = gt.skeleton.keypoints
    # mmpose's torso is joints 4 and 5 (left shoulder, right hip in its JHMDB order): put LSP's there
    first = [names.index("left_shoulder"), names.index("right_hip")]
    perm = np.array(
        [i for i in range(len(names)) if i not in first][:4]
        + first
        + [i for i in range(len(names)) if i not in first][4:]
    )
    owner = _prediction_of(gt, pred, shift=0.0)
    metric = mmpose.PCKAccuracy(thr=0.2, norm_item="torso")
    samples = [
        {"gt_instances": {"keypoints": gt.persons.keypoints[i : i + 1, perm],
                          "keypoints_visible": gt.persons.visibility[i : i + 1, perm] > 0},
         "pred_instances": {"keypoints": pred.persons.keypoints[owner[i] : owner[i] + 1, perm]}}
        for i in range(len(gt.persons))
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Ground truth torso size < 1": the cases include such persons
        metric.process([], samples)
    expected = metric.compute_metrics(metric.results)["tPCK"]
    acc, _, _ = mmpose.keypoint_pck_accuracy(
        np.concatenate([r["pred_coords"] for r in metric.results]),
        np.concatenate([r["gt_coords"] for r in metric.results]),
        np.concatenate([r["mask"] for r in metric.results]),
        0.2,
        np.concatenate([r["torso_size"] for r in metric.results]),
    )
    per_joint = np.empty_like(acc)
    per_joint[perm] = acc
    block = ours.block("PCK@0.2")
    assert block.as_dict()["Mean"] == 100.0 * expected
    groups = {
        "Head": ["head_top"],
        "Shoulder": ["left_shoulder", "right_shoulder"],
        "Ankle": ["left_ankle", "right_ankle"],
    }
    for column, joints in groups.items():
        idx = [names.index(j) for j in joints]
        want = (
            100.0 * per_joint[idx[0]]
            if len(idx) == 1
            else 0.5 * (100.0 * per_joint[idx[0]] + 100.0 * per_joint[idx[1]])
        )
        assert block.as_dict()[column] == want


def test_pckh_needs_head_boxes():
    gt, pred = pck_case(0, "mpii")
    for e in gt.persons.extras:
        e.clear()
    with pytest.raises(PoseUsageError, match="head box"):
        evaluate(gt, pred)


# ------------------------------------------------------------------------------------ usage errors


def test_layouts_must_agree_and_oks_needs_sigmas():
    gt, pred = pck_case(0, "lsp")
    with pytest.raises(PoseUsageError, match="no OKS sigmas"):
        evaluate(gt, pred, "oks")
    other = coco_results.decode([{"image_id": 100, "keypoints": [1, 2, 1] * 17, "score": 1}])
    with pytest.raises(PoseUsageError, match="same"):
        evaluate(gt, other)
    with pytest.raises(PoseUsageError, match="unknown evaluation method"):
        evaluate(gt, pred, "map")


def test_a_prediction_without_a_score_is_named():
    gt, pred = pck_case(0, "mpii")
    del pred.persons.extras[3]["score"]
    with pytest.raises(PoseFormatError, match=r"predictions\[3\].*'score'"):
        evaluate(gt, pred, "oks")


def test_default_methods_by_layout():
    from fiftyone_pose.eval import default_method

    assert [default_method(skeletons.load(n)) for n in ("coco", "mpii", "lsp", "crowdpose")] == [
        "oks",
        "pckh",
        "pck",
        "oks",
    ]
