"""Keypoint mappings between layouts (``fiftyone_pose/mappings``, ``core.layouts.to_layout``).

Pinned against mmpose 1.3.2 as released (see ``mmpose_reference``): every ``KeypointConverter``
table of RTMPose's Body8 (COCO-17, Halpe-26) and Cocktail14 (COCO-WholeBody 133) configs equals
what ``to_layout`` does for that dataset, and ``KeypointConverter`` run on the same persons gives
the same points and labels, with MPII-family coordinates shifted to count pixels from 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import mmpose_reference
import numpy as np
import orjson
import pytest
from coco_eval import assert_export_evaluates, keypoint_ap, results_of
from dataset_docs import aic_native_doc
from helpers_wholebody import wholebody_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mpii_docs import mpii_hrnet_doc

from fiftyone_pose import formats
from fiftyone_pose.core import mappings
from fiftyone_pose.core import skeleton as skeletons
from fiftyone_pose.core.errors import PoseUsageError
from fiftyone_pose.core.layouts import to_layout
from fiftyone_pose.core.model import Images, Persons, PoseData, with_origin

#: mmpose dataset class -> (this package's layout, the person field its table indexes; None: the layout's points)
MMPOSE_SOURCES = {
    "CocoWholeBodyDataset": ("coco_wholebody", None),
    "AicDataset": ("aic", None),
    "CrowdPoseDataset": ("crowdpose", None),
    "MpiiDataset": ("mpii", None),
    "HalpeDataset": ("halpe", None),
    "OCHumanDataset": ("ochuman", None),
    "HumanArt21Dataset": ("humanart", "keypoints_21"),
    "PoseTrack18Dataset": ("posetrack", None),
}
#: datasets RTMPose maps whose files this package does not read (no layout to map from)
NO_READER = {
    "JhmdbDataset",
    "WFLWDataset",
    "Face300WDataset",
    "COFWDataset",
    "LapaDataset",
    "InterHand2DDoubleDataset",
}
TARGETS = {17: "coco", 26: "halpe26", 133: "coco_wholebody"}
SHIPPED = mappings.shipped()


@pytest.fixture(scope="session")
def wheel(request) -> Path:
    return mmpose_reference.download(request.config.cache.mkdir("mmpose"))


@pytest.fixture(scope="session")
def converters(wheel):
    return mmpose_reference.converters(wheel)


@pytest.fixture(scope="session")
def keypoint_converter(wheel):
    return mmpose_reference.keypoint_converter(wheel)


def _origin(layout: str) -> int:
    return formats.REGISTRY[layout].ORIGIN if layout in formats.REGISTRY else 0


def pose_data(layout: str, keypoints, visibility, extras=None, origin: int = 0, mask=None) -> PoseData:
    """One image with the given persons (keypoints (N, K, 2), visibility (N, K)) in ``layout``."""
    n = len(keypoints)
    persons = Persons(
        image_index=np.zeros(n, np.int64),
        ids=np.arange(1, n + 1),
        category_ids=np.ones(n, np.int64),
        keypoints=np.asarray(keypoints, np.float64),
        visibility=np.asarray(visibility, np.int8),
        boxes=np.full((n, 4), np.nan),
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=extras or [{} for _ in range(n)],
        int_mask={} if mask is None else {"keypoints": mask},
    )
    images = Images(np.array([1]), ["a.jpg"], np.array([4000]), np.array([4000]), [{}])
    return PoseData(images, persons, skeletons.load(layout), origin=origin)


# ------------------------------------------------------------------- what to_layout does, as a table


def probe(source: str, target: str, field: str | None = None) -> dict[int, int | tuple[int, int]]:
    """Where ``to_layout`` takes each labelled target point from, found by converting one person
    whose point i sits at (i + 1, (i + 1)^2): target index -> source index, or a sorted pair for a
    midpoint. ``field``: index into that extra field's points (its point j sits at (1001 + j, 0)),
    with the layout's own points given by their index in the field (same names)."""
    sk = skeletons.load(source)
    k = sk.num_keypoints
    xy = np.array([[i + 1, (i + 1) ** 2] for i in range(k)], np.float64)
    extras = [{}]
    names = list(sk.keypoints)
    if field:
        names = list(sk.meta["variants"][field]["keypoints"])
        extras = [{field: [v for j in range(len(names)) for v in (1001 + j, 0, 2)]}]
    out = to_layout(pose_data(source, xy[None], np.full((1, k), 2), extras), target)
    table: dict[int, int | tuple[int, int]] = {}
    for t in np.flatnonzero(out.persons.visibility[0] > 0).tolist():
        x, y = out.persons.keypoints[0, t].tolist()
        if x > 1000:
            table[t] = int(x) - 1001
        elif y == x * x:
            table[t] = names.index(sk.keypoints[int(x) - 1])
        else:  # the midpoint of a and b: x = (a + b) / 2, y = (a^2 + b^2) / 2
            s, q = 2 * x, 2 * y
            d = math.isqrt(int(2 * q - s * s))
            a, b = int(s - d) // 2, int(s + d) // 2
            table[t] = tuple(sorted((names.index(sk.keypoints[a - 1]), names.index(sk.keypoints[b - 1]))))
    return table


def as_table(pairs) -> dict[int, int | tuple[int, int]]:
    """An mmpose mapping ``[(source, target), ((s1, s2), target), ...]`` as ``probe`` gives it."""
    return {t: tuple(sorted(s)) if isinstance(s, tuple) else s for s, t in pairs}


def field_of(mapping: mappings.Mapping) -> str | None:
    """The extra field a mapping takes points from (its table then indexes that field's points)."""
    fields = {p.field for p in mapping.points.values() if isinstance(p, mappings.FieldPoint)}
    return (mapping.reference or {}).get("source_points") or next(iter(fields), None)


def spec_table(mapping: mappings.Mapping, field: str | None) -> list[tuple]:
    """A shipped mapping in mmpose's form: index pairs into the source layout (or into ``field``'s points)."""
    src, tgt = skeletons.load(mapping.source), skeletons.load(mapping.target)
    names = list(src.meta["variants"][field]["keypoints"]) if field else list(src.keypoints)
    plan = mapping.plan(src, tgt)
    pairs: list[tuple] = []
    for t in range(tgt.num_keypoints):
        a, b = names.index(src.keypoints[plan.first[t]]), names.index(src.keypoints[plan.second[t]])
        if plan.midpoint[t]:
            pairs.append(((a, b), t))
        elif plan.from_layout[t]:
            pairs.append((a, t))
    for targets, index in plan.fields.values():
        pairs += [(int(j), int(t)) for t, j in zip(targets, index)]
    return pairs


# --------------------------------------------------------------------------- equal to RTMPose's tables


def test_every_rtmpose_table_is_what_to_layout_does(converters):
    """Each KeypointConverter of RTMPose's Body8 and Cocktail14 configs, for a dataset this package
    reads, equals the conversion of that dataset's layout to the target (17/26/133 points)."""
    unknown = {c.dataset_type for c in converters} - MMPOSE_SOURCES.keys() - NO_READER
    assert not unknown, f"RTMPose maps datasets this test does not place: {unknown}"
    checked = set()
    for c in converters:
        if c.dataset_type in NO_READER:
            continue
        source, field = MMPOSE_SOURCES[c.dataset_type]
        target = TARGETS[c.num_keypoints]
        assert probe(source, target, field) == as_table(c.table), f"{c.config}: {c.table_name}"
        checked.add(c.table_name)
    assert len(checked) == 19  # 6 Body8-COCO, 7 Body8-Halpe26 and 6 Cocktail14 tables of datasets read here


@pytest.mark.parametrize("mapping", [m for m in SHIPPED if m.reference], ids=lambda m: f"{m.source}->{m.target}")
def test_a_mapping_names_the_rtmpose_table_it_equals(mapping, converters):
    ref = mapping.reference
    found = [c for c in converters if c.config == ref["config"] and c.table_name == ref["table"]]
    assert found, f"{ref['config']} has no KeypointConverter with table {ref['table']}"
    for c in found:
        source, field = MMPOSE_SOURCES[c.dataset_type]
        assert skeletons.load(source).keypoints == skeletons.load(mapping.source).keypoints
        assert field == ref.get("source_points") and TARGETS[c.num_keypoints] == mapping.target
        assert probe(mapping.source, mapping.target, field) == as_table(c.table)
    assert ref["package"] == f"mmpose=={mmpose_reference.VERSION}"


def _random_persons(source: str, n: int, seed: int, field: str | None):
    rng = np.random.default_rng(seed)
    k = skeletons.load(source).num_keypoints
    xy = np.round(rng.uniform(-50, 2000, (n, k, 2)), rng.integers(0, 3))
    v = rng.choice([0, 1, 2], (n, k), p=[0.3, 0.2, 0.5])
    extras = [{} for _ in range(n)]
    if field:  # the field's first points are the layout's (Human-Art: keypoints_21 starts with the 17)
        m = len(skeletons.load(source).meta["variants"][field]["keypoints"])
        more = np.round(rng.uniform(0, 2000, (n, m - k, 2)), 2)
        more_v = rng.choice([0, 1, 2], (n, m - k))
        points = np.concatenate([np.dstack([xy, v]), np.dstack([more, more_v])], axis=1)
        extras = [{field: row.ravel().tolist()} for row in points]
    return xy, v, extras


def _cases():
    """(source, target, field) of every shipped mapping and of every RTMPose table of a dataset read here."""
    cases = {(m.source, m.target, field_of(m)) for m in SHIPPED}
    cases |= {(s, t, None) for s in ("ochuman", "humanart") for t in ("coco",)}  # same names: as they are
    return sorted(cases, key=str)


@pytest.mark.parametrize("source,target,field", _cases(), ids=lambda v: str(v))
def test_keypoint_converter_gives_the_same_points(source, target, field, converters, keypoint_converter):
    """mmpose's KeypointConverter, run on the same persons with RTMPose's table (where RTMPose has
    one, else with the shipped mapping's), labels the same points at the same coordinates."""
    sk, tk = skeletons.load(source), skeletons.load(target)
    tables = [
        c.table
        for c in converters
        if c.dataset_type in MMPOSE_SOURCES
        and skeletons.load(MMPOSE_SOURCES[c.dataset_type][0]).keypoints == sk.keypoints
        and MMPOSE_SOURCES[c.dataset_type][1] == field
        and TARGETS[c.num_keypoints] == target
    ]
    mapping = mappings.resolve(sk, target)
    table = (
        tables[0] if tables else spec_table(mapping, field) if mapping else [(i, i) for i in range(tk.num_keypoints)]
    )
    origin = _origin(source)
    xy, v, extras = _random_persons(source, 64, len(source) * 7 + len(target), field)
    data = pose_data(source, xy, v, extras, origin=origin)
    ours = with_origin(to_layout(data, target), 0).persons

    zero_based = with_origin(data, 0).persons  # mmpose's input: 0-based points, labelled = v > 0
    kp, vis = zero_based.keypoints, np.minimum(1, zero_based.visibility).astype(np.float64)
    if field:
        points = np.array([e[field] for e in extras], np.float64).reshape(len(extras), -1, 3)
        kp, vis = points[..., :2], np.minimum(1, points[..., 2])
    theirs = keypoint_converter(num_keypoints=tk.num_keypoints, mapping=table)(
        {"keypoints": kp.copy(), "keypoints_visible": vis.copy()}
    )
    labelled = theirs["keypoints_visible"][..., 0] > 0
    assert ((ours.visibility > 0) == labelled).all()
    assert (ours.keypoints[labelled] == theirs["keypoints"][labelled]).all()
    unmapped = np.setdiff1d(np.arange(tk.num_keypoints), [t for _, t in table])
    assert (ours.keypoints[:, unmapped] == 0).all() and (theirs["keypoints"][:, unmapped] == 0).all()


# ------------------------------------------------------------------------- the points, by name


def named(source: str, target: str, field: str | None = None) -> dict[str, str | tuple[str, str]]:
    """``probe`` by names: target point -> source point (or pair), ``field:point`` for a field's point."""
    sk, tk = skeletons.load(source), skeletons.load(target)
    names = list(sk.meta["variants"][field]["keypoints"]) if field else list(sk.keypoints)

    def name(i: int) -> str:
        return names[i] if names[i] in sk.keypoints else f"{field}:{names[i]}"

    return {
        tk.keypoints[t]: tuple(sorted(name(i) for i in s)) if isinstance(s, tuple) else name(s)
        for t, s in probe(source, target, field).items()
    }


@pytest.mark.parametrize(
    "source,target,expected",
    [
        ("mpii", "halpe26", {"neck": "upper_neck", "head": "head_top", "left_wrist": "left_wrist"}),
        ("aic", "halpe26", {"head": "head_top", "neck": "neck", "right_ankle": "right_ankle"}),
        ("crowdpose", "halpe26", {"head": "top_head", "neck": "neck", "left_hip": "left_hip"}),
        ("h36m", "coco", {"left_ankle": "left_foot", "right_ankle": "right_foot", "right_wrist": "right_wrist"}),
        ("h36m", "halpe26", {"hip": "root", "neck": "thorax", "head": "head"}),
        ("mpii_trb", "halpe26", {"head": "head", "neck": "neck", "left_ankle": "left_ankle"}),
        ("lsp", "halpe26", {"head": "head_top", "neck": "neck"}),
        (
            "lsp",
            "mpii",
            {
                "pelvis": ("left_hip", "right_hip"),
                "thorax": ("left_shoulder", "right_shoulder"),
                "upper_neck": "neck",
                "head_top": "head_top",
            },
        ),
        ("mhp", "halpe26", {"neck": "upper_neck", "head": "head_top"}),
    ],
)
def test_named_points_land_where_they_should(source, target, expected):
    got = named(source, target)
    assert {name: got.get(name) for name in expected} == expected


def test_unmapped_points_stay_unlabelled():
    assert "hip" not in named("mpii", "halpe26")  # mmpose leaves it out; the file says why
    assert not {"nose", "left_eye", "left_ear"} & named("h36m", "coco").keys()
    assert not {"head", "neck", "hip"} & named("coco_wholebody", "halpe26").keys()


def test_wholebody_feet_go_to_halpe26_by_name_not_position():
    table = probe("coco_wholebody", "halpe26")
    assert [t for s in range(17, 23) for t, src in table.items() if src == s] == [20, 22, 24, 21, 23, 25]


def test_human_art_fingers_and_toes_come_from_keypoints_21():
    got = named("humanart", "coco_wholebody", "keypoints_21")
    assert got["left_forefinger4"] == "keypoints_21:left_finger"
    assert got["right_big_toe"] == "keypoints_21:right_toe"
    assert got["nose"] == "nose"


@pytest.mark.parametrize("mapping", SHIPPED, ids=lambda m: f"{m.source}->{m.target}")
def test_every_shipped_mapping_takes_each_point_from_where_its_file_says(mapping):
    field = field_of(mapping)
    variant = skeletons.load(mapping.source).meta["variants"][field]["keypoints"] if field else None
    expected = {
        t: f"{p.field}:{variant[p.index]}"
        if isinstance(p, mappings.FieldPoint)
        else tuple(sorted(p))
        if isinstance(p, tuple)
        else p
        for t, p in mapping.points.items()
    }
    assert named(mapping.source, mapping.target, field) == expected
    assert set(mapping.approximations) <= set(mapping.points), "an approximation note on an unmapped point"
    assert mapping.note


# ------------------------------------------------------------------------------------ visibility


def test_a_midpoint_is_labelled_only_where_both_sources_are_with_the_smaller_v():
    sk = skeletons.load("lsp")
    lh, rh, ls, rs = (sk.index(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"))
    xy = np.zeros((3, 14, 2))
    xy[:, lh], xy[:, rh] = [10, 20], [13, 30]
    xy[:, ls], xy[:, rs] = [1, 1], [3, 5]
    v = np.full((3, 14), 2)
    v[1, lh] = 1  # occluded + visible: occluded
    v[2, rh] = 0  # one source unlabelled: unlabelled
    mask = np.ones((3, 14, 3), bool)
    mask[:, ls, 0] = False  # a float among the sources: the midpoint is not an int
    out = to_layout(pose_data("lsp", xy, v, mask=mask), "mpii")
    mp = skeletons.load("mpii")
    pelvis, thorax = mp.index("pelvis"), mp.index("thorax")
    assert out.persons.visibility[:, pelvis].tolist() == [2, 1, 0]
    assert out.persons.keypoints[:, pelvis].tolist() == [[11.5, 25.0], [11.5, 25.0], [0.0, 0.0]]
    assert out.persons.keypoints[0, thorax].tolist() == [2.0, 3.0]
    kp_mask = out.persons.int_mask["keypoints"]
    assert kp_mask[0, pelvis].tolist() == [False, True, True]  # 11.5 is not an int, 25.0 is
    assert kp_mask[0, thorax].tolist() == [False, True, True] and kp_mask[2, pelvis].tolist() == [True] * 3


def test_a_copied_point_keeps_its_visibility_raw_value_and_number_type(tmp_path):
    src = tmp_path / "keypoint_train_annotations.json"
    src.write_bytes(orjson.dumps(aic_native_doc()))
    data = formats.read(src)
    out = to_layout(data, "halpe26")
    aic = skeletons.load("aic")
    halpe26 = skeletons.load("halpe26")
    for name, src_name in (("head", "head_top"), ("left_knee", "left_knee")):
        t, s = halpe26.index(name), aic.index(src_name)
        assert (out.persons.visibility[:, t] == data.persons.visibility[:, s]).all()
        assert (out.persons.raw_visibility()[:, t] == data.persons.raw_visibility()[:, s]).all()
        assert (out.persons.keypoints[:, t] == data.persons.keypoints[:, s]).all()
    written = tmp_path / "h26.json"
    formats.write(data, written, "coco", layout="halpe26")
    back = json.loads(written.read_text())["annotations"]
    assert all(type(x) is int for a in back for x in a["keypoints"])  # the file's ints stay ints


def test_what_a_mapping_leaves_out_or_approximates_is_counted():
    xy = np.ones((2, 16, 2))
    v = np.full((2, 16), 2)
    v[0, 0] = 0
    out = to_layout(pose_data("mpii", xy, v), "halpe26")
    assert out.notes["points of layout 'halpe26' missing in 'mpii', written unlabeled"] == 2 * 12
    assert out.notes["labelled points of 'mpii' with no place in 'halpe26' (pelvis, thorax), dropped"] == 4
    assert out.notes["labelled points of layout 'halpe26' that approximate a point of 'mpii' (head, neck)"] == 4
    lacking = [{"keypoints_21": [1, 2, 2] * 21}, {}]
    out = to_layout(pose_data("humanart", np.ones((2, 17, 2)), np.full((2, 17), 2), lacking), "coco_wholebody")
    assert out.notes["persons without a valid 'keypoints_21' field, its points written unlabeled"] == 1
    assert out.persons.visibility[1, skeletons.load("coco_wholebody").index("left_big_toe")] == 0


# ---------------------------------------------------------------------------------------- errors


def test_a_pair_without_a_mapping_names_the_layouts_the_source_goes_to():
    data = pose_data("mpii", np.ones((1, 16, 2)), np.full((1, 16), 2))
    with pytest.raises(PoseUsageError, match=r"no keypoint mapping from layout 'mpii' to 'aic'.*coco, coco_wholebody"):
        to_layout(data, "aic")
    with pytest.raises(PoseUsageError, match="unknown layout 'body25'; layouts: aic, coco"):
        to_layout(data, "body25")


def test_targets_list_every_reachable_layout():
    assert mappings.targets("mpii") == ["coco", "coco_wholebody", "halpe26", "mhp", "mpii"]
    assert "halpe" in mappings.targets("ochuman")  # through COCO's file: the same 17 names
    for source in skeletons.available():
        for target in mappings.targets(source):
            layout = skeletons.load(source)
            n = layout.num_keypoints
            assert to_layout(pose_data(source, np.ones((1, n, 2)), np.full((1, n), 2)), target).skeleton.name == target


# ------------------------------------------------------------------------------- the Halpe-26 layout


def _metainfo(info: dict) -> dict:
    """A layout as this package's skeleton files derive it from mmpose's dataset metainfo."""
    kinfo = info["keypoint_info"]
    names = [kinfo[i]["name"] for i in range(len(kinfo))]
    at = {n: i for i, n in enumerate(names)}
    links = [info["skeleton_info"][i]["link"] for i in range(len(info["skeleton_info"]))]
    swaps = [(i, at[kinfo[i]["swap"]]) for i in range(len(names)) if kinfo[i]["swap"]]
    return {
        "keypoints": names,
        "edges": [[at[a], at[b]] for a, b in links],
        "flip_pairs": [[i, j] for i, j in swaps if i < j],
        "sigmas": list(info["sigmas"]),
        "joint_weights": list(info["joint_weights"]),
    }


@pytest.mark.parametrize("name", ["halpe26", "halpe", "coco_wholebody"])
def test_the_skeleton_file_equals_mmpose_metainfo(name, wheel):
    """halpe26.json is mmpose's halpe26 metainfo, derived as the other skeleton files are (the
    same derivation gives halpe.json and coco_wholebody.json back)."""
    ours = skeletons.load(name)
    expected = _metainfo(mmpose_reference.dataset_info(wheel, name))
    assert {
        "keypoints": list(ours.keypoints),
        "edges": [list(e) for e in ours.edges],
        "flip_pairs": [list(p) for p in ours.flip_pairs],
        "sigmas": list(ours.sigmas),
        "joint_weights": list(ours.joint_weights),
    } == expected


def test_halpe26_is_halpes_first_26_points():
    assert skeletons.load("halpe26").keypoints == skeletons.load("halpe").keypoints[:26]


# ------------------------------------------------------------------- files, pycocotools, the CLI


def test_mpii_as_halpe26_evaluates_with_halpe26_sigmas(tmp_path):
    src = tmp_path / "mpii_train.json"
    src.write_bytes(orjson.dumps(mpii_hrnet_doc()))
    out = tmp_path / "h26.json"
    formats.write(formats.read(src), out, "coco", layout="halpe26")
    doc = assert_export_evaluates(out, "halpe26")
    assert doc["categories"][0]["keypoints"] == list(skeletons.load("halpe26").keypoints)
    neck, upper_neck = skeletons.load("halpe26").index("neck"), skeletons.load("mpii").index("upper_neck")
    first = mpii_hrnet_doc()[0]["joints"][upper_neck]
    assert doc["annotations"][0]["keypoints"][3 * neck : 3 * neck + 3] == [first[0] - 1, first[1] - 1, 2]


def test_wholebody_as_halpe26_keeps_the_feet(tmp_path):
    src = tmp_path / "coco_wholebody_val_v1.0.json"
    src.write_bytes(orjson.dumps(wholebody_doc()))
    out = tmp_path / "h26.json"
    formats.write(formats.read(src), out, "coco", layout="halpe26")
    doc = json.loads(out.read_text())
    assert keypoint_ap(out, results_of(doc), "halpe26") == pytest.approx(1.0)  # 1 - 2e-16, as for its COCO-17
    kps, foot = doc["annotations"][0]["keypoints"], wholebody_doc()["annotations"][0]["foot_kpts"]
    assert kps[3 * 20 : 3 * 21] == foot[0:3] and kps[3 * 21 : 3 * 22] == foot[9:12]  # left / right big toe


_SOURCES = [m for m in SHIPPED if m.source not in ("humanart",)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mapping=st.sampled_from(_SOURCES),
    n=st.integers(0, 5),
    data=st.data(),
)
def test_mapped_persons_write_as_coco_and_read_back_exactly(tmp_path_factory, mapping, n, data):
    """Property: a mapped dataset's COCO file holds each copied point exactly as the source had it
    (int or float, shifted to count from 0), midpoints per the rule, and nothing else labelled."""
    k = skeletons.load(mapping.source).num_keypoints
    ints = data.draw(hnp.arrays(bool, (n, k, 2)))
    values = data.draw(hnp.arrays(np.float64, (n, k, 2), elements=st.floats(-5000, 5000, width=32)))
    xy = np.where(ints, np.round(values), values)
    v = data.draw(hnp.arrays(np.int8, (n, k), elements=st.sampled_from([0, 1, 2])))
    mask = np.concatenate([ints, np.ones((n, k, 1), bool)], axis=2)
    origin = _origin(mapping.source)
    source = pose_data(mapping.source, xy, v, origin=origin, mask=mask)
    path = tmp_path_factory.mktemp("mapped") / "out.json"
    formats.write(source, path, "coco", layout=mapping.target)
    back = formats.read(path, "coco")
    assert back.skeleton.keypoints == skeletons.load(mapping.target).keypoints
    expected = with_origin(to_layout(source, mapping.target), 0).persons
    assert (back.persons.visibility == expected.visibility).all()
    assert (back.persons.keypoints[expected.visibility > 0] == expected.keypoints[expected.visibility > 0]).all()
    plan = mapping.plan(skeletons.load(mapping.source), skeletons.load(mapping.target))
    copies = plan.from_layout & ~plan.midpoint
    src0 = with_origin(source, 0).persons
    assert (back.persons.visibility[:, copies] == src0.visibility[:, plan.first[copies]]).all()
    labelled = src0.visibility[:, plan.first[copies]] > 0
    assert (back.persons.keypoints[:, copies][labelled] == src0.keypoints[:, plan.first[copies]][labelled]).all()
    doc = json.loads(path.read_text())
    for i, a in enumerate(doc["annotations"]):
        for t in np.flatnonzero(copies).tolist():
            s = plan.first[t]
            if v[i, s] > 0:
                assert [type(x) is int for x in a["keypoints"][3 * t : 3 * t + 2]] == ints[i, s].tolist()


def test_cli_converts_mpii_to_coco_17_and_lists_the_layouts(tmp_path, capsys):
    from fiftyone_pose import cli

    src = tmp_path / "mpii_train.json"
    src.write_bytes(orjson.dumps(mpii_hrnet_doc()))
    dst = tmp_path / "mpii_coco17.json"
    assert cli.main(["convert", str(src), str(dst), "--to", "coco", "--layout", "coco"]) == 0
    out = capsys.readouterr().out
    assert "points of layout 'coco' missing in 'mpii', written unlabeled" in out
    assert_export_evaluates(dst, "coco")
    assert cli.main(["convert", str(src), str(tmp_path / "x.json"), "--layout", "aic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "fiftyone-pose: error: no keypoint mapping from layout 'mpii' to 'aic'; "
        "'mpii' converts to: coco, coco_wholebody, halpe26, mhp"
    ]
    assert not (tmp_path / "x.json").exists()
    assert cli.main(["layouts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "mpii (16 points) -> coco, coco_wholebody, halpe26, mhp" in lines
    assert len(lines) == len(skeletons.available())
