"""Pose statistics: exact table values on the generated dataset of the view tests, and figures."""

from __future__ import annotations

import json

import pytest
from test_views import build_doc

import fiftyone_pose as fop
from fiftyone_pose.fo import stats
from fiftyone_pose.fo import views as V


@pytest.fixture(scope="module")
def ds(fo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("stats") / "gen.json"
    path.write_text(json.dumps(build_doc()))
    dataset = fop.load(path, format="coco")
    yield dataset
    dataset.delete()


def test_joint_table(ds):
    t = stats.joint_table(ds)
    assert list(t.index[:3]) == ["nose", "left_eye", "right_eye"] and len(t) == 17
    assert t.loc["nose"][["visible", "occluded", "unlabeled", "labeled"]].tolist() == [6, 0, 1, 6]
    assert t.loc["left_wrist"][["visible", "occluded", "unlabeled", "labeled"]].tolist() == [5, 1, 1, 6]
    assert t.loc["left_knee"][["visible", "occluded", "unlabeled", "labeled"]].tolist() == [5, 0, 2, 5]
    assert t.loc["nose", "labeled_fraction"] == pytest.approx(6 / 7)
    with_crowd = stats.joint_table(ds, include_crowd=True)
    assert with_crowd.loc["nose", "unlabeled"] == 2
    # on a view: the statistics of what it shows
    assert stats.joint_table(V.persons_by_area(ds, "small")).loc["left_wrist"][["occluded", "unlabeled"]].tolist() == [
        1,
        1,
    ]


def test_persons_per_image(ds):
    assert stats.persons_per_image(ds)["images"].tolist() == [1, 1, 3]
    assert stats.persons_per_image(ds, include_crowd=True)["images"].tolist() == [1, 1, 2, 1]


def test_box_sizes_and_area_classes(ds):
    t = stats.box_sizes(ds)
    counts = dict(zip(t["low"], t["persons"]))
    assert {k: v for k, v in counts.items() if v} == {16: 1, 24: 1, 32: 1, 48: 1, 64: 2, 96: 1}
    assert t["persons"].sum() == 7
    assert (
        t.loc[t["low"] == 32, "coco_size"].item() == "medium" and t.loc[t["low"] == 96, "coco_size"].item() == "large"
    )
    assert stats.area_classes(ds)["persons"].to_dict() == {"small": 2, "medium": 4, "large": 1, "no area": 0}
    assert stats.area_classes(ds, include_crowd=True)["persons"]["medium"] == 5


def test_pose_stats_and_figures(ds):
    tables = stats.pose_stats(ds)
    assert set(tables) == {"joints", "persons_per_image", "box_sizes", "area_classes"}
    fig = stats.plot_joint_visibility(ds)
    assert [t.name for t in fig.data] == ["visible", "occluded", "unlabeled"]
    assert sum(sum(t.y) for t in fig.data) == 7 * 17
    assert list(stats.plot_persons_per_image(ds).data[0].y) == [1, 1, 3]
    assert sum(stats.plot_box_sizes(ds).data[0].y) == 7
