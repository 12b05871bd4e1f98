"""Every format written as ``coco`` is a file COCO tools read: pycocotools loads it and COCOeval
(iouType keypoints) scores it against itself at AP 1.0, with the file's own sigmas where its
persons have other than COCO's 17 points. The inputs are the valid samples of every format that
the malformed-input harness mutates (tests/mutations.py)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from mutations import materialize, samples_of

from fiftyone_pose import formats

DATASET_FORMATS = sorted(name for name in formats.REGISTRY if not formats.is_predictions(name))
CASES = [(name, sample) for name in DATASET_FORMATS for sample in samples_of(name)]


def self_evaluation(path, sigmas: np.ndarray | None) -> float:
    """pycocotools' keypoint AP of the file's persons (those with labelled points) against itself."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        dets = [
            {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
            for a in gt.dataset["annotations"]
            if not a.get("iscrowd") and a.get("num_keypoints", 0) > 0
        ]
        if not dets:
            return float("nan")
        evaluation = COCOeval(gt, gt.loadRes(dets), "keypoints")
        if sigmas is not None:
            evaluation.params.kpt_oks_sigmas = sigmas
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])


@pytest.mark.parametrize(("name", "sample"), CASES, ids=[f"{n}-{s.label}" for n, s in CASES])
def test_every_format_written_as_coco_loads_in_pycocotools_and_scores_ap_1(name, sample, tmp_path):
    materialize(sample, None, tmp_path / "in")
    main = tmp_path / "in" / sample.main  # a file, or a folder (LSP, MHP, YOLO)
    out = tmp_path / "out.json"
    formats.convert(main, out, name, "coco", **sample.read_options)
    doc = json.loads(out.read_text())
    counts = {len(a["keypoints"]) // 3 for a in doc.get("annotations", [])}
    if not counts:
        return
    (k,) = counts
    written = formats.read(out)  # this package reads what it wrote, as a user would (sniffed)
    assert written.skeleton.num_keypoints == k
    if name in ("coco_wholebody", "halpe"):  # whole-body data: COCO's 17 body points, named
        assert k == 17 and [c["keypoints"] for c in doc["categories"]] == [list(written.skeleton.keypoints)]
    sigmas = None if k == 17 else np.asarray(written.skeleton.sigmas or [0.05] * k)
    ap = self_evaluation(out, sigmas)
    if any(a.get("num_keypoints", 0) > 0 and not a.get("iscrowd") for a in doc["annotations"]):
        assert ap == pytest.approx(1.0, abs=1e-12), (name, sample.label, ap)  # (a mean of ones: 1 - 2e-16)
    else:
        assert np.isnan(ap)


@pytest.mark.parametrize("name", ["coco_wholebody", "halpe"])
def test_whole_body_data_keeps_every_point_in_coco_when_its_layout_is_given(name, tmp_path):
    """``layout=`` the whole-body layout: every point, under a category that names them all."""
    sample = samples_of(name)[0]
    materialize(sample, None, tmp_path / "in")
    out = tmp_path / "all_points.json"
    written = formats.convert(tmp_path / "in" / sample.main, out, name, "coco", layout=name)
    layout = written.header.skeleton
    doc = json.loads(out.read_text())
    assert {len(a["keypoints"]) for a in doc["annotations"]} == {3 * layout.num_keypoints}
    assert [c["keypoints"] for c in doc["categories"]] == [list(layout.keypoints)]
    assert formats.read(out).skeleton.keypoints == layout.keypoints
    assert self_evaluation(out, np.asarray(layout.sigmas)) == pytest.approx(1.0, abs=1e-12)
