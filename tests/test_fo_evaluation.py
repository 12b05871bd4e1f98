"""Evaluation as a FiftyOne run: the reference's numbers, per person and per image, views, CLI, App operator."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from eval_cases import keypoint_case, known_results
from fiftyone import ViewField as F
from reference_tools import summarize_lines

import fiftyone_pose as fop
from fiftyone_pose import cli, formats
from fiftyone_pose.core.errors import PoseUsageError
from fiftyone_pose.eval import evaluate as evaluate_pure
from fiftyone_pose.fo import evaluation_views as ev_views


@pytest.fixture
def evaluated(fo_db, dataset_name, tmp_path):
    """A generated COCO ground truth with its predictions, and the files they came from."""
    gt_doc, results = keypoint_case(7, n_images=14)
    gp, rp = tmp_path / "gt.json", tmp_path / "results.json"
    gp.write_text(json.dumps(gt_doc))
    rp.write_text(json.dumps(results))
    ds = fop.load(gp, format="coco", name=dataset_name, skeleton="coco")
    fop.load_predictions(ds, rp)
    return ds, gp, rp, gt_doc, results


def _pycocotools(gp, results, sigmas):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gp))
        e = COCOeval(gt, gt.loadRes(results), "keypoints")
        e.params.kpt_oks_sigmas = np.array(sigmas)
        e.evaluate()
        e.accumulate()
    return e, summarize_lines(e)


def test_the_run_equals_pycocotools_and_is_a_fiftyone_evaluation(evaluated):
    ds, gp, rp, gt_doc, results = evaluated
    res = fop.evaluate(ds, "predictions", gt_field="ground_truth", eval_key="oks")
    ref, lines = _pycocotools(
        gp, known_results(gt_doc, results), ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"]
    )
    assert res.lines == lines and res.stats.tolist() == ref.stats.tolist()
    assert ds.list_evaluations() == ["oks"]
    info = ds.get_evaluation_info("oks")
    assert info.config.type == "detection" and info.config.method == "fiftyone-pose-oks"
    loaded = ds.load_evaluation_results("oks")
    assert loaded.lines == lines and loaded.mAP() == ref.stats[0] and loaded.mAR() == ref.stats[5]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        loaded.print_report()
    assert buf.getvalue().splitlines() == lines
    assert set(loaded.report()) >= {"person"}  # what the Model Evaluation panel reads
    assert len(ds.load_evaluation_view("oks")) == len(ds)
    table = loaded.joint_table()
    assert list(table.index[:2]) == ["nose", "left_eye"] and (table["count"] > 0).all()
    assert loaded.plot_joint_errors().data[0].type == "bar"


def test_persons_and_samples_carry_the_outcome(evaluated):
    ds, gp, rp, *_ = evaluated
    fop.evaluate(ds, "predictions", eval_key="oks")
    gt = formats.read(gp, "coco", skeleton="coco")
    pred = formats.read(rp, "coco_results", skeleton="coco")
    pure = evaluate_pure(gt, pred)
    in_dataset = np.isin(pred.images.ids[pred.persons.image_index], gt.images.ids)
    # per sample: counts and own AP, as the pure evaluation of the files has them
    image_ids, tp, fp, fn, ap = ds.values(["image_id", "oks_tp", "oks_fp", "oks_fn", "oks_ap"])
    row = {i: r for r, i in enumerate(gt.images.ids.tolist())}
    for iid, t, f, n, a in zip(image_ids, tp, fp, fn, ap):
        r = row[iid]
        assert (t, f, n) == (pure.image_tp[r], pure.image_fp[r], pure.image_fn[r])
        assert (a is None and np.isnan(pure.image_score[r])) or a == pure.image_score[r]
    # per person: status, match and OKS, both sides agreeing
    status = pure.pred.status[in_dataset]
    assert ds.count_values("predictions.keypoints.oks") == {
        k: int((status == k).sum()) for k in (None, "tp", "fp") if (status == k).any()
    }
    assert ds.count_values("ground_truth.keypoints.oks").get("fn", 0) == int((pure.gt.status == "fn").sum())
    preds = {k.id: k for s in ds for k in s.predictions.keypoints}
    gts = {k.id: k for s in ds for k in s.ground_truth.keypoints}
    for p in preds.values():
        if p.oks == "tp":
            g = gts[p.oks_id]
            assert (
                g.oks == "tp" and g.oks_id == p.id and g.oks_oks == p.oks_oks and p.oks_worst in gt.skeleton.keypoints
            )


def test_deleting_and_renaming_the_run(evaluated):
    ds, *_ = evaluated
    fop.evaluate(ds, "predictions", eval_key="oks")
    ds.rename_evaluation("oks", "coco")
    assert ds.has_field("coco_tp") and ds.has_field("predictions.keypoints.coco_oks")
    ds.delete_evaluation("coco")
    assert ds.list_evaluations() == []
    assert not any(f.startswith(("coco", "oks")) for f in ds.get_field_schema())
    assert not ds.has_field("predictions.keypoints.coco") and not ds.has_field("ground_truth.keypoints.coco_worst")


def test_exports_after_an_evaluation_hold_no_evaluation_results(evaluated, tmp_path):
    ds, gp, rp, gt_doc, results = evaluated
    fop.evaluate(ds, "predictions", eval_key="oks")
    fop.evaluate(ds, "predictions", eval_key="again")
    fop.export(ds, tmp_path / "gt.json", format="coco", overwrite=True)
    assert json.loads((tmp_path / "gt.json").read_text()) == gt_doc
    fop.export(ds, tmp_path / "back.json", label_field="predictions")
    assert json.loads((tmp_path / "back.json").read_text()) == known_results(gt_doc, results)


def test_a_view_evaluates_the_persons_it_shows(evaluated):
    """Persons hidden by the view are neither evaluated nor labeled; the shown ones are found by
    their position in the stored list."""
    ds, *_ = evaluated
    view = ds.filter_labels("predictions", F("score") > 0.5, only_matches=False)
    res = fop.evaluate(view, "predictions", eval_key="half")
    hidden = ds.filter_labels("predictions", F("score") <= 0.5).values("predictions.keypoints.half", unwind=True)
    assert set(hidden) == {None}
    shown = view.values("predictions.keypoints.half", unwind=True)
    assert set(shown) <= {"tp", "fp", None} and "fp" in shown
    assert res.lines != fop.evaluate(ds, "predictions").lines


def test_evaluation_views(evaluated):
    ds, *_ = evaluated
    fop.evaluate(ds, "predictions", eval_key="oks")
    worst = ev_views.worst_images(ds, "oks", 3)
    scores = worst.values("oks_ap")
    assert (
        len(scores) == 3
        and scores == sorted(scores)
        and scores[0] == min(s for s in ds.values("oks_ap") if s is not None)
    )
    fps = ev_views.confident_false_positives(ds, "oks", 0.6)
    assert set(fps.values("predictions.keypoints.oks", unwind=True)) == {"fp"}
    assert min(fps.values("predictions.keypoints.score", unwind=True)) >= 0.6
    expected = ds.filter_labels("predictions", (F("oks") == "fp") & (F("score") >= 0.6))
    assert fps.count("predictions.keypoints") == expected.count("predictions.keypoints") > 0
    joint = ds.values("predictions.keypoints.oks_worst", unwind=True)
    name = next(j for j in joint if j)
    by_joint = ev_views.persons_with_worst_joint(ds, "oks", name)
    assert set(by_joint.values("predictions.keypoints.oks_worst", unwind=True)) == {name}
    missed = ev_views.missed_persons(ds, "oks")
    assert set(missed.values("ground_truth.keypoints.oks", unwind=True)) == {"fn"}
    small = ev_views.missed_persons(ds, "oks", size="medium", max_visible=8)
    areas = small.values("ground_truth.keypoints.area", unwind=True)
    assert all(32**2 <= a < 96**2 for a in areas)
    with pytest.raises(PoseUsageError, match="no evaluation 'nope'"):
        ev_views.missed_persons(ds, "nope")
    with pytest.raises(PoseUsageError, match="no joint"):
        ev_views.persons_with_worst_joint(ds, "oks", "tail")


def test_cli_prints_the_reference_lines(evaluated, capsys):
    ds, gp, rp, gt_doc, results = evaluated
    ds.persistent = True
    assert cli.main(["evaluate", ds.name, "--pred-field", "predictions", "--eval-key", "oks"]) == 0
    out = capsys.readouterr().out.splitlines()
    _, lines = _pycocotools(
        gp, known_results(gt_doc, results), ds.info["fiftyone_pose"]["ground_truth"]["skeleton"]["sigmas"]
    )
    assert out[:10] == lines
    assert out[-1] == f"stored as evaluation 'oks' of dataset '{ds.name}'"
    assert cli.main(["evaluate", ds.name, "--pred-field", "nope"]) == 2
    assert "'nope' is not a keypoints field" in capsys.readouterr().err
    assert cli.main(["evaluate", ds.name, "--method", "pckh"]) == 2
    assert "PCKh needs every person's head box" in capsys.readouterr().err


def test_crowdpose_and_wholebody_through_fiftyone(fo_db, tmp_path):
    """The dataset's own metric by layout: CrowdPose's crowd index reaches the evaluation from the
    samples, COCO-WholeBody gets its six blocks, as the pure evaluation of the files has them."""
    from benchmarks.generate import generate_coco
    from benchmarks.predictions import generate_predictions

    gt_doc, results = keypoint_case(3, layout="crowdpose")
    for i, image in enumerate(gt_doc["images"]):
        image["crowdIndex"] = [0.05, 0.5, 0.9][i % 3]
    wb_doc = generate_coco(12, "wholebody", 1)
    cases = [(gt_doc, results, "crowdpose", 1), (wb_doc, generate_predictions(wb_doc, 4, 1), "coco_wholebody", 6)]
    for k, (doc, res, fmt, blocks) in enumerate(cases):
        gp, rp = tmp_path / f"gt{k}.json", tmp_path / f"res{k}.json"
        gp.write_text(json.dumps(doc))
        rp.write_text(json.dumps(res))
        ds = fop.load(gp, format=fmt, name=f"eval-{fmt}-{k}")
        try:
            fop.load_predictions(ds, rp)
            got = fop.evaluate(ds, "predictions", eval_key="e")
            gt = formats.read(gp, fmt)
            want = evaluate_pure(gt, formats.read(rp, "coco_results", skeleton=gt.skeleton))
            assert got.lines == want.lines and len(got.blocks) == blocks
        finally:
            ds.delete()


def test_operators_import_and_evaluate(fo_db, evaluated, tmp_path):
    from fiftyone_pose.plugin import evaluate_collection, import_predictions

    ds, gp, rp, *_ = evaluated
    summary = import_predictions(ds, {"path": str(rp), "label_field": "again"})
    assert summary["field"] == "again" and summary["predictions"] == ds.count("predictions.keypoints")
    results, view = evaluate_collection(ds, {"pred_field": "again", "eval_key": "op", "show": "missed_persons"})
    assert results.lines == fop.evaluate(ds, "predictions").lines
    assert set(view.values("ground_truth.keypoints.op", unwind=True)) == {"fn"}
    _, view = evaluate_collection(ds, {"pred_field": "again", "eval_key": "op", "show": "persons_with_worst_joint"})
    assert len(view) > 0


def test_fiftyones_own_evaluate_detections_takes_the_config(evaluated):
    """``evaluate_detections(method=PoseEvaluationConfig)`` gives the same run (FiftyOne's own
    sample loop does nothing; the collection is evaluated at once)."""
    from fiftyone_pose.fo.evaluation import PoseEvaluationConfig

    ds, *_ = evaluated
    native = ds.evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="native", method=PoseEvaluationConfig
    )
    ours = fop.evaluate(ds, "predictions", eval_key="ours")
    assert native.lines == ours.lines
    assert ds.values("native_tp") == ds.values("ours_tp") and ds.values("native_ap") == ds.values("ours_ap")
    assert ds.values("predictions.keypoints.native") == ds.values("predictions.keypoints.ours")


def test_mpii_pckh_through_fiftyone(fo_db, tmp_path):
    """The authors' .mat (1-based, head boxes) with 0-based predictions: PCKh as the pure evaluation
    of the files has it, and predictions exactly on the joints are all correct."""
    from mpii_docs import mat_bytes, mpii_release
    from PIL import Image

    mat = tmp_path / "mpii_human_pose_v1_u12_1.mat"
    mat.write_bytes(mat_bytes(mpii_release()))
    gt = formats.read(mat)
    for name in gt.images.file_names:
        Image.new("RGB", (1280, 720)).save(tmp_path / name, format="JPEG")
    p = gt.persons
    labeled = np.flatnonzero((p.visibility > 0).any(axis=1))
    results = [
        {
            "image_id": int(gt.images.ids[p.image_index[i]]),
            "category_id": 1,
            "keypoints": np.column_stack([p.keypoints[i] - 1.0, np.ones(16)]).ravel().tolist(),  # 0-based
            "score": 0.9,
        }
        for i in labeled
    ]
    rp = tmp_path / "results.json"
    rp.write_text(json.dumps(results))
    ds = fop.load(mat, images_dir=tmp_path, name="eval-mpii")
    try:
        fop.load_predictions(ds, rp)
        got = fop.evaluate(ds, "predictions", eval_key="pckh")
        want = evaluate_pure(gt, formats.read(rp, "coco_results", skeleton=gt.skeleton))
        assert got.lines == want.lines and got.lines[0] == "PCKh@0.5:"
        assert got.block("PCKh@0.5").as_dict()["Mean"] == 100.0
        assert set(ds.values("predictions.keypoints.pckh", unwind=True)) == {"tp"}
        assert set(ds.values("pckh_pck")) <= {1.0, None} and ds.has_field("predictions.keypoints.pckh_pck")
    finally:
        ds.delete()


def test_the_model_evaluation_panel_reads_the_run(evaluated):
    """What FiftyOne's Model Evaluation panel computes from a run works on this one (no App needed)."""
    panel_module = pytest.importorskip("plugins.panels.model_evaluation")
    ds, *_ = evaluated
    fop.evaluate(ds, "predictions", eval_key="oks")
    info, results = ds.get_evaluation_info("oks"), ds.load_evaluation_results("oks")
    panel = panel_module.EvaluationPanel()
    assert info.config.type in panel_module.SUPPORTED_EVALUATION_TYPES
    tp, fp, fn = panel.get_tp_fp_fn(info, results)
    assert (tp, fp, fn) == (ds.sum("oks_tp"), ds.sum("oks_fp"), ds.sum("oks_fn"))
    assert panel.get_map(results) == results.stats[0] and panel.get_mar(results) == results.stats[5]
    per_class = panel.get_per_class_metrics(info, results)
    assert 0 < per_class["person"]["iou"] <= 1 and "confidence" in per_class["person"]
    assert panel.get_confusion_matrix(results)["classes"] == ["person", "(none)"]
