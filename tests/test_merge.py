"""``merge``: several imported datasets of different families as one training set in one layout."""

from __future__ import annotations

import json
import uuid

import numpy as np
import orjson
import pytest
from coco_eval import keypoint_ap, results_of
from dataset_docs import aic_native_doc, crowdpose_doc, humanart_doc
from hypothesis import given, settings
from hypothesis import strategies as st
from mpii_docs import mpii_hrnet_doc
from PIL import Image

from benchmarks.generate import generate_coco
from fiftyone_pose import cli
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.errors import PoseUsageError

#: the families merged below: file name, document, whether its images must exist (no sizes in the file)
FAMILIES = {
    "coco": ("person_keypoints_train2017.json", lambda: generate_coco(30, "coco", seed=5), False),
    "wholebody": ("coco_wholebody_train_v1.0.json", lambda: generate_coco(30, "wholebody", seed=5), False),
    "mpii": ("mpii_train.json", mpii_hrnet_doc, True),
    "aic": ("keypoint_train_annotations_20170909.json", aic_native_doc, True),
    "crowdpose": ("crowdpose_train.json", crowdpose_doc, False),
    "humanart": ("training_humanart.json", humanart_doc, False),
}


@pytest.fixture(scope="module")
def sources(fo_db, tmp_path_factory):
    """One imported dataset per family (COCO and COCO-WholeBody share their images, as they do)."""
    import fiftyone_pose as fop
    from fiftyone_pose import formats

    root = tmp_path_factory.mktemp("sources")
    names = {}
    for family, (file_name, make, need_images) in FAMILIES.items():
        folder = root / ("coco" if family == "wholebody" else family)
        folder.mkdir(exist_ok=True)
        src = folder / file_name
        src.write_bytes(orjson.dumps(make()))
        if need_images:
            for name in formats.read(src).images.file_names:
                Image.new("RGB", (1280, 960)).save(folder / name, format="JPEG")
        names[family] = f"merge-src-{family}-{uuid.uuid4().hex[:6]}"
        fop.load(src, images_dir=folder, name=names[family], persistent=True)
    yield names
    for name in names.values():
        if fo_db.dataset_exists(name):
            fo_db.delete_dataset(name)


def _export(dataset, path, **options):
    import fiftyone_pose as fop

    fop.export(dataset, path, **options)
    return json.loads(path.read_text())


def test_four_families_merge_into_coco_and_evaluate_to_ap_1(sources, dataset_name, tmp_path):
    import fiftyone as fo

    import fiftyone_pose as fop

    order = ["coco", "mpii", "aic", "crowdpose", "humanart"]
    merged = fop.merge([sources[f] for f in order], name=dataset_name, layout="coco")
    assert merged.name == dataset_name
    counts = {f: len(fo.load_dataset(sources[f])) for f in order}
    assert len(merged) == sum(counts.values())
    for family in order:
        view = merged.match_tags(sources[family])
        assert len(view) == counts[family] and view.distinct("source") == [sources[family]]
    assert merged.skeletons["ground_truth"].labels == list(skeletons.load("coco").keypoints)

    doc = _export(merged, tmp_path / "body.json")
    assert len({a["id"] for a in doc["annotations"]}) == len(doc["annotations"])
    assert len({i["id"] for i in doc["images"]}) == len(doc["images"])
    assert {len(a["keypoints"]) for a in doc["annotations"]} == {51}
    assert all({"bbox", "area", "iscrowd", "num_keypoints"} <= a.keys() for a in doc["annotations"])
    assert keypoint_ap(tmp_path / "body.json", results_of(doc), "coco") == pytest.approx(1.0)

    # each source's persons are exactly its own COCO-layout export (ids shifted where they collided)
    info = merged.info["fiftyone_pose"]["ground_truth"]
    by_source = {s["name"]: s for s in info["merged_from"]}
    merged_persons = {a["id"]: a["keypoints"] for a in doc["annotations"]}
    for family in order:
        own = _export(fo.load_dataset(sources[family]), tmp_path / f"{family}.json", format="coco", layout="coco")
        offset = by_source[sources[family]]["person_id_offset"]
        assert {a["id"] + offset: a["keypoints"] for a in own["annotations"]}.items() <= merged_persons.items()


def test_merged_samples_keep_fields_attributes_tags_and_media(sources, dataset_name):
    import fiftyone as fo

    from fiftyone_pose.fo.merge import merge

    mpii = fo.load_dataset(sources["mpii"])
    first = mpii.first()
    first.tags.append("checked")
    first.save()
    try:
        merged = merge([sources["crowdpose"], sources["mpii"], sources["aic"]], name=dataset_name, layout="halpe26")
    finally:
        first.tags.remove("checked")
        first.save()
    assert merged.match_tags("checked").values("filepath") == [first.filepath]
    assert set(merged.values("filepath")) == {
        p for f in ("crowdpose", "mpii", "aic") for p in fo.load_dataset(sources[f]).values("filepath")
    }
    assert sorted(v for v in merged.values("crowdIndex") if v is not None) == [0.05, 0.41, 0.93]  # a sample field
    persons = merged.match(fo.ViewField("source") == sources["mpii"]).values("ground_truth.keypoints", unwind=True)
    assert all(p["scale"] > 0 and len(p["center"]) == 2 for p in persons)  # MPII's attributes
    assert all(len(p.points) == 26 for p in persons)
    aic = merged.match(fo.ViewField("source") == sources["aic"]).values("ground_truth.keypoints", unwind=True)
    assert {"human1", "human2"} <= {p["human_key"] for p in aic}  # AIC's own person key
    info = merged.info["fiftyone_pose"]["ground_truth"]
    assert info["skeleton"]["sigmas"] == list(skeletons.load("halpe26").sigmas)
    assert [s["layout"] for s in info["merged_from"]] == ["crowdpose", "mpii", "aic"]
    notes = info["merged_from"][1]["notes"]
    assert notes["labelled points of layout 'halpe26' that approximate a point of 'mpii' (head, neck)"] > 0


def test_shared_images_are_reported_and_kept_once_per_source_or_once(sources, dataset_name, tmp_path):
    import fiftyone as fo

    from fiftyone_pose.fo.merge import merge

    coco, wholebody = fo.load_dataset(sources["coco"]), fo.load_dataset(sources["wholebody"])
    merged = merge([sources["coco"], sources["wholebody"]], name=dataset_name, layout="coco")
    entry = merged.info["fiftyone_pose"]["ground_truth"]["merged_from"][1]
    assert entry["shared_images"] == {sources["coco"]: len(coco)} and len(merged) == len(coco) + len(wholebody)
    assert entry["image_id_offset"] == 10 ** len(str(max(coco.values("image_id"))))  # the same image ids
    merged.delete()

    once = merge([sources["coco"], sources["wholebody"]], name=dataset_name, layout="coco", duplicates="first")
    entry = once.info["fiftyone_pose"]["ground_truth"]["merged_from"][1]
    assert len(once) == len(coco) and entry["dropped_images"] == len(wholebody)
    assert entry["dropped_persons"] == wholebody.count("ground_truth.keypoints")
    assert entry["image_id_offset"] == 0  # nothing left to collide


def test_a_halpe26_merge_evaluates_with_halpe26_sigmas(sources, dataset_name, tmp_path):
    from fiftyone_pose.fo.merge import merge

    merged = merge([sources[f] for f in ("wholebody", "mpii", "aic", "crowdpose")], name=dataset_name, layout="halpe26")
    doc = _export(merged, tmp_path / "h26.json")
    assert {len(a["keypoints"]) for a in doc["annotations"]} == {78}
    assert keypoint_ap(tmp_path / "h26.json", results_of(doc), "halpe26") == pytest.approx(1.0)
    feet = np.array([a["keypoints"] for a in doc["annotations"]]).reshape(len(doc["annotations"]), 26, 3)[:, 20:, 2]
    assert (feet > 0).any()  # WholeBody's feet survive


def test_a_merge_that_cannot_finish_leaves_nothing(sources, dataset_name, monkeypatch):
    import fiftyone as fo

    from fiftyone_pose.fo import merge as merge_module
    from fiftyone_pose.fo.api import leftover_datasets

    with pytest.raises(PoseUsageError, match=r"no keypoint mapping from layout 'mpii' to 'aic'.*coco"):
        merge_module.merge([sources["coco"], sources["mpii"]], name=dataset_name, layout="aic")
    assert not fo.dataset_exists(dataset_name) and not leftover_datasets()

    calls = []
    real = merge_module.add_pose_data

    def failing(*args, **kwargs):  # the second source fails half-way
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(merge_module, "add_pose_data", failing)
    with pytest.raises(KeyboardInterrupt):
        merge_module.merge([sources["coco"], sources["crowdpose"]], name=dataset_name)
    assert not fo.dataset_exists(dataset_name) and not leftover_datasets()


def test_saved_views_merge_and_bad_requests_are_usage_errors(sources, dataset_name):
    import fiftyone as fo

    from fiftyone_pose.fo.merge import merge

    crowd = fo.load_dataset(sources["crowdpose"])
    crowd.save_view("crowded", crowd.match(fo.ViewField("crowdIndex") > 0.3))
    try:
        merged = merge([f"{sources['crowdpose']}:crowded", sources["aic"]], name=dataset_name)
        assert len(merged.match_tags(sources["crowdpose"])) == 2
        assert merged.info["fiftyone_pose"]["ground_truth"]["merged_from"][0]["view"] == "crowded"
    finally:
        crowd.delete_saved_view("crowded")
    with pytest.raises(PoseUsageError, match="no dataset named 'nope'"):
        merge(["nope"], name=dataset_name)
    with pytest.raises(PoseUsageError, match="has no saved view 'nope'"):
        merge([f"{sources['aic']}:nope"], name=dataset_name)
    with pytest.raises(PoseUsageError, match="duplicates must be one of all, first"):
        merge([sources["aic"]], name=dataset_name, duplicates="some")


def test_cli_merge_and_info_show_per_source_counts(sources, dataset_name, capsys):
    import fiftyone as fo

    args = ["merge", dataset_name, sources["coco"], sources["mpii"], sources["aic"], sources["crowdpose"]]
    assert cli.main([*args, "--layout", "coco"]) == 0
    out = capsys.readouterr().out
    assert f"merged 4 sources into dataset '{dataset_name}' (layout coco, field 'ground_truth')" in out
    assert fo.load_dataset(dataset_name).persistent
    assert cli.main(["info", dataset_name]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("  sources: "))
    per_source = json.loads(line[len("  sources: ") :])
    mpii = fo.load_dataset(sources["mpii"])
    assert per_source[sources["mpii"]] == {"images": len(mpii), "persons": mpii.count("ground_truth.keypoints")}
    assert list(per_source) == [sources[f] for f in ("coco", "mpii", "aic", "crowdpose")]

    assert cli.main([*args[:2], sources["mpii"], "--layout", "aic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no keypoint mapping from layout 'mpii' to 'aic'" in err[0]


def test_a_wholebody_merge_exports_as_coco_wholebody(sources, dataset_name, tmp_path):
    import fiftyone_pose as fop
    from fiftyone_pose import formats

    merged = fop.merge([sources["wholebody"], sources["humanart"]], name=dataset_name, layout="coco_wholebody")
    doc = _export(merged, tmp_path / "wb.json", format="coco_wholebody")
    back = formats.read(tmp_path / "wb.json", "coco_wholebody")  # (Human-Art's keys make detection ambiguous)
    assert back.skeleton.name == "coco_wholebody" and len(back.persons) == len(doc["annotations"])
    art = [a for a in doc["annotations"] if "keypoints_21" in a]
    assert art and all(a["lefthand_kpts"][8 * 3 : 8 * 3 + 2] == a["keypoints_21"][17 * 3 : 17 * 3 + 2] for a in art)
    coco = _export(merged, tmp_path / "wb133.json", format="coco")
    assert keypoint_ap(tmp_path / "wb133.json", results_of(coco), "coco_wholebody") == pytest.approx(1.0)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["a", "a.b", "a b", "ab", "b", "é", "0"]), min_size=1, max_size=4), min_size=1)
)
def test_the_images_root_of_the_first_and_last_path_is_that_of_all_paths(parts):
    """``merge`` reads each source's first and last filepath in sort order, not every one."""
    from fiftyone_pose.fo.merge import images_root

    paths = ["/" + "/".join(p) for p in parts]
    assert images_root([min(paths), max(paths)]) == images_root(paths)
