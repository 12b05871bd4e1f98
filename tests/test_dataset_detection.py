"""Every dataset file is sniffed as its own format and nothing else; plain COCO stays COCO."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_docs import (
    aic_coco_doc,
    aic_native_doc,
    crowdpose_doc,
    humanart_doc,
    mhp_coco_doc,
    mhp_mat_person,
    ochuman_coco_doc,
    ochuman_native_doc,
    write_json,
)
from helpers import coco_doc
from posetrack_docs import merged_doc, video_doc

from fiftyone_pose import formats
from fiftyone_pose.formats.protocol import Confidence, Peek

DATASETS = ("aic", "mhp", "crowdpose", "ochuman", "humanart", "posetrack")
FIXTURES = {
    "keypoint_validation_annotations_20170911.json": ("aic", aic_native_doc),
    "aic_val.json": ("aic", aic_coco_doc),
    "mhp_val.json": ("mhp", mhp_coco_doc),
    "crowdpose_val.json": ("crowdpose", crowdpose_doc),
    "ochuman.json": ("ochuman", ochuman_native_doc),
    "ochuman_coco_format_val_range_0.00_1.00.json": ("ochuman", ochuman_coco_doc),
    "validation_humanart.json": ("humanart", humanart_doc),
    "000342_mpii_test.json": ("posetrack", video_doc),
    "posetrack18_val.json": ("posetrack", merged_doc),
    "person_keypoints_val2017.json": ("coco", coco_doc),
}


@pytest.mark.parametrize("file_name", sorted(FIXTURES))
def test_each_file_is_detected_as_its_own_format_only(tmp_path, file_name):
    own, build = FIXTURES[file_name]
    path = write_json(tmp_path / file_name, build())
    assert formats.detect(path) == own
    scores = {name: module.detect(Peek(path)) for name, module in formats.REGISTRY.items()}
    assert all(score < scores[own] for name, score in scores.items() if name != own), scores
    # the other dataset formats do not claim it at all
    assert all(scores[name] == Confidence.NO for name in DATASETS if name != own), scores
    assert formats.read(path).format == own


def test_renamed_ochuman_coco_file_is_plain_coco(tmp_path):
    """Without its name an OCHuman COCO-style file is COCO (same 17 points and sigmas)."""
    path = write_json(tmp_path / "val.json", ochuman_coco_doc())
    assert formats.detect(path) == "coco"


def test_mhp_mat_file_and_folder_are_detected(tmp_path):
    from scipy.io import savemat

    folder = tmp_path / "pose_annos"
    folder.mkdir()
    savemat(folder / "1.mat", {"person_0": np.asarray(mhp_mat_person(0, [0] * 16))})
    for path in (folder, folder / "1.mat"):
        assert formats.detect(path) == "mhp"
        assert all(m.detect(Peek(path)) == 0 for name, m in formats.REGISTRY.items() if name != "mhp")
    assert formats.REGISTRY["mhp"].detect(Peek(tmp_path / "no_such_folder")) == Confidence.NO
