"""Human3.6M grouped: a generated npz whose 2D points are the projection of its 3D points through
known cameras (benchmarks/generate.py, the authors' ProjectPointRadial) imported as one group per
frame: slices and counts, the projection and reprojection errors, the 3d slice (scene files as
FiftyOne writes them; the stored documents are pinned against ``add_samples`` in
test_documents.py), sequences, exports back bit for bit, the COCO-style file, errors that leave
nothing behind, and the command line."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from fiftyone_pose import cli, formats
from fiftyone_pose.core.errors import PoseFormatError, PoseUsageError
from fiftyone_pose.fo.api import MISSING_IMAGES
from fiftyone_pose.formats import h36m

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed

from benchmarks.generate import H36M_ACTIONS, H36M_CAMERAS, generate_h36m  # noqa: E402

ROWS = 480  # 2 subjects x 30 sequences x 4 cameras x 2 frames
GROUPS = ROWS // 4
SLICES = [f"cam_{c}" for c in H36M_CAMERAS]


def write(tmp: Path, arrays: dict, cameras: dict | None = None) -> tuple[Path, Path | None]:
    src = tmp / "annotation_body3d" / "fps10" / "h36m_test.npz"
    src.parent.mkdir(parents=True, exist_ok=True)
    np.savez(src, **arrays)
    path = None
    if cameras is not None:
        path = tmp / "cameras.json"
        path.write_text(json.dumps(cameras))
    return src, path


@pytest.fixture(scope="module")
def generated():
    return generate_h36m(ROWS, seed=11)


@pytest.fixture(scope="module")
def grouped(fo_db, generated, tmp_path_factory):
    """The generated file imported grouped with its cameras (read only: tests that change data import their own)."""
    import fiftyone_pose as fop

    tmp = tmp_path_factory.mktemp("h36m")
    src, cameras = write(tmp, *generated)
    ds = fop.load(src, name="test-h36m-grouped", grouped=True, cameras=cameras, scenes_dir=tmp / "scenes")
    yield ds, src, tmp
    ds.delete()


def world_points(arrays: dict, cameras: dict) -> np.ndarray:
    """Each row's 3D points in the world frame (mmpose: X_world = R S + T), computed from the files."""
    out = np.zeros((len(arrays["imgname"]), 17, 3))
    for i, name in enumerate(arrays["imgname"].tolist()):
        subject, camera = name.split("/")[0], name.rsplit("/", 1)[1].split(".")[1].split("_")[0]
        prm = cameras[subject][camera]
        out[i] = arrays["S"][i, :, :3] @ np.array(prm["R"]).T + np.ravel(prm["T"])
    return out


# ------------------------------------------------------------------------------------ groups


def test_one_group_per_frame_with_a_slice_per_camera_and_a_3d_slice(grouped, generated):
    ds, _, _ = grouped
    arrays, _ = generated
    assert ds.media_type == "group" and ds.group_slices == [*SLICES, "3d"] and ds.default_group_slice == SLICES[0]
    assert ds.group_media_types == {**dict.fromkeys(SLICES, "image"), "3d": "3d"}
    assert len(ds.distinct("group.id")) == GROUPS
    for name in [*SLICES, "3d"]:
        assert len(ds.select_group_slices(name)) == GROUPS
    images = ds.select_group_slices(media_type="image")
    assert len(images) == ROWS and sorted(images.values("file_name")) == sorted(arrays["imgname"].tolist())
    # a group: the four views of one (subject, action, frame), and its 3d sample
    for group_id in ds.take(5, seed=1).values("group.id"):
        group = ds.get_group(group_id)
        assert sorted(group) == sorted([*SLICES, "3d"])
        keys = {(s.subject, s.action, s.frame) for s in group.values()}
        assert len(keys) == 1 and [group[c].camera for c in SLICES] == list(H36M_CAMERAS)
    assert ds.info["h36m"]["groups"] == GROUPS and ds.info["h36m"]["slices"] == SLICES
    assert ds.app_config.dynamic_groups_target_frame_rate == 10  # every fifth frame of the 50 fps videos


def test_image_slices_hold_what_the_flat_import_holds(grouped, dataset_name):
    import fiftyone_pose as fop

    ds, src, _ = grouped
    flat = fop.load(src, name=dataset_name)
    images = ds.select_group_slices(media_type="image").sort_by("filepath")
    for path in ("filepath", "subject", "action", "camera", "frame", "metadata.width", "metadata.height",
                 "ground_truth.keypoints.points", "ground_truth.keypoints.raw_keypoints", "ground_truth.keypoints.S",
                 "ground_truth.keypoints.center", "ground_truth.keypoints.scale"):  # fmt: skip
        assert images.values(path) == flat.sort_by("filepath").values(path), path


def test_the_projection_equals_the_2d_points_and_the_errors_are_zero(grouped, generated):
    ds, _, _ = grouped
    arrays, _ = generated
    images = ds.select_group_slices(media_type="image")
    names = images.values("file_name")
    row = {n: i for i, n in enumerate(arrays["imgname"].tolist())}
    widths, heights = images.values("metadata.width"), images.values("metadata.height")
    projected = images.values("projected.keypoints.points")
    for name, w, h, persons in zip(names, widths, heights, projected):
        (points,) = persons
        pixels = np.array(points) * [w, h]
        assert np.abs(pixels - arrays["part"][row[name], :, :2]).max() < 1e-6  # sub-pixel: to rounding
    errors = images.values("projected.keypoints.errors")
    assert all(len(e[0]) == 17 and max(e[0]) < 1e-6 for e in errors)
    assert max(images.values("reprojection_error")) < 1e-6
    assert images.values("projected.keypoints.person_id") == images.values("ground_truth.keypoints.person_id")
    assert ds.info["h36m"]["reprojection_error_px"]["persons"] == ROWS
    active = ds.app_config.active_fields  # shown in the App: every label field but the projection
    assert (
        not active.exclude and "projected" not in active.paths and {"ground_truth", "skeleton_3d"} <= set(active.paths)
    )
    cams = h36m.decode_cameras(ds.info["h36m"]["cameras"])  # the parameters, in dataset.info
    assert len(cams) == 8 and cams[("S9", "54138969")].R.tolist() == generated[1]["S9"]["54138969"]["R"]


def test_reprojection_error_view_finds_the_bad_frames(fo_db, generated, tmp_path, dataset_name):
    import fiftyone_pose as fop
    from fiftyone_pose.fo.views import reprojection_error

    arrays, cameras = copy.deepcopy(generated)
    bad = {7: 12.0, 200: 30.0, 201: 3.0}  # rows and how far their 2D points move (pixels)
    for i, shift in bad.items():
        arrays["part"][i, :, :2] += shift / np.sqrt(2)
    src, cams = write(tmp_path, arrays, cameras)
    ds = fop.load(src, name=dataset_name, grouped=True, cameras=cams, scenes_dir=tmp_path / "scenes")
    view = reprojection_error(ds, min_px=10)
    assert view.media_type == "group" and len(view) == 2  # groups (frames), largest error first
    want = [arrays["imgname"][i] for i in (200, 7)]
    assert [
        view.get_group(g)[f"cam_{n.split('.')[1][:8]}"].file_name for g, n in zip(view.values("group.id"), want)
    ] == want
    assert len(reprojection_error(ds, min_px=1, max_px=20)) == 2  # rows 7 and 201
    assert len(reprojection_error(ds, min_px=100)) == 0
    assert ds.info["h36m"]["reprojection_error_px"]["max"] == pytest.approx(30.0)
    # the flat import with cameras: the samples themselves
    flat = fop.load(src, name=dataset_name + "-flat", cameras=cams)
    try:
        assert flat.media_type == "image" and not flat.has_field("group")
        assert reprojection_error(flat, min_px=10).values("file_name") == want
    finally:
        flat.delete()
    with pytest.raises(ValueError, match="cameras"):
        reprojection_error(fop.load(src, name=dataset_name + "-plain", overwrite=True), min_px=1)
    fo_db.delete_dataset(dataset_name + "-plain")


# ------------------------------------------------------------------------------------ 3d slice


def test_a_scene_per_group_as_fiftyone_writes_it(grouped):
    import fiftyone as fo
    from fiftyone.core.threed import Object3D

    ds, _, tmp = grouped
    threed = ds.select_group_slices("3d")
    paths = threed.values("filepath")
    assert len(set(paths)) == GROUPS and sorted(map(str, (tmp / "scenes").rglob("*.fo3d"))) == sorted(paths)
    assert not [p for p in tmp.iterdir() if p.name.startswith(".scenes")]  # no temporary folder left
    for sample in threed.take(4, seed=2):
        scene = fo.Scene.from_fo3d(sample.filepath)
        root = sample.skeleton_3d.polylines[0].points3d[0][0]  # the first left edge starts at the root
        view = ds.get_group(sample.group.id)["cam_54138969"]
        centre = ds.info["h36m"]["cameras"][view.subject]["54138969"]["T"]
        reference = fo.Scene(camera=fo.PerspectiveCamera(position=centre, look_at=root, up="Z"))
        reference.add(Object3D("Human3.6M world frame (metres, z up)"))
        ours, theirs = json.loads(Path(sample.filepath).read_text()), reference.as_dict()
        for d in (ours, theirs, ours["children"][0], theirs["children"][0]):
            d.pop("uuid")
        assert ours == theirs and scene.camera.up == "Z"
        assert sample.coordinate_frame == "world" and sample.frame == view.frame


def test_the_3d_skeleton_is_the_world_skeleton_by_side(grouped, generated):
    ds, _, _ = grouped
    arrays, cameras = generated
    world = world_points(arrays, cameras)
    row = {n: i for i, n in enumerate(arrays["imgname"].tolist())}
    sides = {"left": [(0, 4), (4, 5), (5, 6), (8, 11), (11, 12), (12, 13)],
             "right": [(0, 1), (1, 2), (2, 3), (8, 14), (14, 15), (15, 16)],
             "centre": [(0, 7), (7, 8), (8, 9), (9, 10)]}  # fmt: skip
    for sample in ds.select_group_slices("3d").take(10, seed=3):
        first_view = ds.get_group(sample.group.id)["cam_54138969"]
        points = world[row[first_view.file_name]]
        lines = sample.skeleton_3d.polylines
        assert [p.label for p in lines] == list(sides) and not any(p.closed or p.filled for p in lines)
        for line in lines:
            want = [[points[a].tolist(), points[b].tolist()] for a, b in sides[line.label]]
            assert np.abs(np.array(line.points3d) - want).max() < 1e-12
    # the four views agree in the world frame: no note for extrinsics that do not match (the only
    # note: the generated frames have no image files)
    assert [k for k in ds.info["h36m"]["notes"] if not k.startswith(MISSING_IMAGES)] == []


def test_extrinsics_that_do_not_match_the_points_are_noted(fo_db, generated, tmp_path, dataset_name):
    import fiftyone_pose as fop

    arrays, cameras = copy.deepcopy(generated)
    cameras["S11"]["58860488"]["T"][0][0] += 0.2  # this camera's centre 20 cm off: its S lands elsewhere
    src, cams = write(tmp_path, arrays, cameras)
    ds = fop.load(src, name=dataset_name, grouped=True, cameras=cams, scenes_dir=tmp_path / "scenes")
    (note,) = [k for k in ds.info["h36m"]["notes"] if "more than 5 cm" in k]
    assert ds.info["h36m"]["notes"][note] == ROWS // 8  # S11's frames seen by that camera


def test_without_cameras_the_3d_slice_is_in_the_first_cameras_frame(fo_db, generated, tmp_path, dataset_name):
    import fiftyone as fo

    import fiftyone_pose as fop

    arrays, _ = generated
    src, _ = write(tmp_path, arrays)
    ds = fop.load(src, name=dataset_name, grouped=True, scenes_dir=tmp_path / "scenes")
    assert not ds.has_field("projected") and not ds.has_field("reprojection_error")
    sample = ds.select_group_slices("3d").first()
    view = ds.get_group(sample.group.id)["cam_54138969"]
    s = np.array(view.ground_truth.keypoints[0].S).reshape(17, 4)[:, :3]
    assert sample.coordinate_frame == "camera 54138969"
    assert np.array_equal(np.array(sample.skeleton_3d.polylines[0].points3d[0]), s[[0, 4]])
    scene = fo.Scene.from_fo3d(sample.filepath)
    assert scene.camera.up == "-Y" and scene.camera.position.to_arr().tolist() == [0, 0, 0]
    assert [c.name for c in scene.children] == ["camera 54138969 frame (metres, x right, y down, z forward)"]
    assert ds.info["h36m"]["cameras"] is None


# ------------------------------------------------------------------------------------ sequences, exports


def test_sequences_play_each_camera_in_frame_order(grouped):
    ds, _, _ = grouped
    view = ds.load_saved_view("sequences")
    assert view._is_dynamic_groups and len(view) == 2 * len(H36M_ACTIONS) * len(H36M_CAMERAS)
    for group in list(view.iter_dynamic_groups())[:6]:
        frames, keys = (
            group.values("frame"),
            set(zip(group.values("subject"), group.values("action"), group.values("camera"))),
        )
        assert frames == sorted(frames) and len(frames) == 2 and len(keys) == 1


def test_exports_back_to_the_same_npz_and_to_the_coco_style_file(grouped, tmp_path, dataset_name):
    import fiftyone_pose as fop

    ds, src, _ = grouped
    out = tmp_path / "back.npz"
    fop.export(ds, out)
    assert out.read_bytes() == _rewritten(src, tmp_path)
    with np.load(src) as a, np.load(out) as b:
        assert a.files == b.files and all(
            a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a.files
        )
    # h36m_coco.json: the same file the flat import exports
    flat = fop.load(src, name=dataset_name)
    fop.export(ds, tmp_path / "grouped.json", format="h36m", flavor="coco")
    fop.export(flat, tmp_path / "flat.json", format="h36m", flavor="coco")
    assert (tmp_path / "grouped.json").read_bytes() == (tmp_path / "flat.json").read_bytes()
    # a view of groups exports its frames' rows only, in file order
    some = ds.select_groups(ds.take(3, seed=4).values("group.id"))
    fop.export(some, tmp_path / "some.npz")
    with np.load(tmp_path / "some.npz") as z:
        names = z["imgname"].tolist()
    assert len(names) == 12 and names == sorted(names, key=list(np.load(src)["imgname"]).index)


def _rewritten(src: Path, tmp: Path) -> bytes:
    """The source npz as the writer lays out a zip (fixed timestamps): its arrays, written again."""
    again = tmp / "again.npz"
    formats.write(formats.read(src), again, "h36m")
    return again.read_bytes()


def test_coco_style_file_with_world_points_projects_through_the_extrinsics(fo_db, generated, tmp_path, dataset_name):
    import fiftyone_pose as fop

    arrays, cameras = generated
    world = world_points(arrays, cameras)
    doc = {"categories": [{"supercategory": "person", "id": 1, "name": "person",
                           "keypoints": list(h36m.MMPOSE_COCO_NAMES), "skeleton": [[0, 4]]}],
           "images": [], "annotations": []}  # fmt: skip
    for i, name in enumerate(arrays["imgname"].tolist()):
        doc["images"].append({"file_name": name, "height": 1000, "width": 1000, "id": i + 1})
        doc["annotations"].append({
            "num_keypoints": 17, "iscrowd": 0, "category_id": 1, "id": i + 1, "image_id": i + 1,
            "keypoints": arrays["part"][i].ravel().tolist(),
            "keypoints_3d": np.concatenate([world[i], np.ones((17, 1))], axis=1).ravel().tolist(),
        })  # fmt: skip
    src = tmp_path / "h36m_coco.json"
    src.write_text(json.dumps(doc))
    cams = tmp_path / "cameras.json"
    cams.write_text(json.dumps(cameras))
    ds = fop.load(src, name=dataset_name, grouped=True, cameras=cams, scenes_dir=tmp_path / "scenes")
    images = ds.select_group_slices(media_type="image")
    assert max(images.values("reprojection_error")) < 1e-6
    sample = ds.select_group_slices("3d").first()
    assert sample.coordinate_frame == "world"
    fop.export(ds, tmp_path / "back.json")
    assert json.loads((tmp_path / "back.json").read_text()) == doc


# ------------------------------------------------------------------------------------ errors


def _nothing_left(fo_db, name: str, tmp: Path) -> None:
    assert not fo_db.dataset_exists(name)
    assert not (tmp / "scenes").exists() and not [p for p in tmp.iterdir() if p.name.startswith(".scenes")]


def test_bad_requests_and_files_leave_nothing(fo_db, generated, tmp_path, dataset_name, monkeypatch):
    import fiftyone_pose as fop
    from fiftyone_pose.fo import h36m as fo_h36m
    from fiftyone_pose.fo.h36m import scenes

    arrays, cameras = copy.deepcopy(generated)
    arrays["imgname"][5] = "S9/not_a_frame_name.jpg"
    src, cams = write(tmp_path, arrays, cameras)
    with pytest.raises(PoseFormatError, match=r"h36m_test.npz: images\[5\] \(S9/not_a_frame_name.jpg\): the frame"):
        fop.load(src, name=dataset_name, grouped=True, cameras=cams, scenes_dir=tmp_path / "scenes")
    _nothing_left(fo_db, dataset_name, tmp_path)
    arrays, _ = copy.deepcopy(generated)
    arrays["imgname"][3] = arrays["imgname"][2].replace("_0", "_")  # the same frame and camera, another width
    src, _ = write(tmp_path, arrays)
    with pytest.raises(PoseFormatError, match=r"images\[2\] and images\[3\] are the same frame of the same camera"):
        fop.load(src, name=dataset_name, grouped=True, scenes_dir=tmp_path / "scenes")
    _nothing_left(fo_db, dataset_name, tmp_path)
    # a failure half-way (here: the database refusing the 3d samples) deletes the dataset and the scenes
    src, _ = write(tmp_path, generated[0])
    monkeypatch.setattr(scenes.Scenes, "insert", lambda *a: (_ for _ in ()).throw(RuntimeError("insert failed")))
    with pytest.raises(RuntimeError, match="insert failed"):
        fop.load(src, name=dataset_name, grouped=True, scenes_dir=tmp_path / "scenes")
    _nothing_left(fo_db, dataset_name, tmp_path)
    monkeypatch.undo()
    # an existing scene folder is replaced only with overwrite, once the new dataset is complete
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / "mine.txt").write_text("keep")
    with pytest.raises(PoseUsageError, match="scene folder .* exists"):
        fop.load(src, name=dataset_name, grouped=True, scenes_dir=tmp_path / "scenes")
    assert (tmp_path / "scenes" / "mine.txt").exists() and not fo_db.dataset_exists(dataset_name)
    ds = fop.load(src, name=dataset_name, grouped=True, scenes_dir=tmp_path / "scenes", overwrite=True)
    assert not (tmp_path / "scenes" / "mine.txt").exists()
    assert len(list((tmp_path / "scenes").rglob("*.fo3d"))) == GROUPS
    with pytest.raises(PoseUsageError, match="Human3.6M"):
        fo_h36m.create_h36m_dataset(formats.read(_coco_file(tmp_path)), tmp_path, dataset_name + "-x", grouped=True)
    with pytest.raises(PoseUsageError, match="scenes_dir"):
        fop.load(src, name=dataset_name + "-y", scenes_dir=tmp_path / "elsewhere")
    ds.delete()


def _coco_file(tmp: Path) -> Path:
    from helpers import coco_doc

    path = tmp / "coco.json"
    path.write_text(json.dumps(coco_doc()))
    return path


def test_command_line_import_grouped(fo_db, generated, tmp_path, capsys):
    src, cams = write(tmp_path, *generated)
    name = "test-h36m-cli-grouped"
    try:
        argv = ["import", str(src), "--name", name, "--grouped", "--cameras", str(cams), "--scenes-dir",
                str(tmp_path / "scenes")]  # fmt: skip
        assert cli.main(argv) == 0
        out = capsys.readouterr().out
        assert (
            f"groups: {GROUPS}" in out
            and f"scenes dir: {tmp_path / 'scenes'}" in out
            and "reprojection error px" in out
        )
        assert fo_db.load_dataset(name).group_slices == [*SLICES, "3d"]
        assert cli.main(argv) == 2 and "already exists" in capsys.readouterr().err
    finally:
        if fo_db.dataset_exists(name):
            fo_db.delete_dataset(name)


def test_frames_without_their_cameras_are_counted_not_projected(fo_db, generated, tmp_path, dataset_name):
    import fiftyone_pose as fop

    arrays, cameras = copy.deepcopy(generated)
    del cameras["S11"]
    src, cams = write(tmp_path, arrays, cameras)
    ds = fop.load(src, name=dataset_name, cameras=cams)
    notes = {k: n for k, n in ds.info["h36m"]["notes"].items() if not k.startswith(MISSING_IMAGES)}
    assert notes == {"persons whose (subject, camera) has no parameters in the cameras file (not projected)": ROWS // 2}
    assert ds.count("reprojection_error") == ds.count("projected") == ROWS // 2
    assert set(ds.exists("projected", False).distinct("subject")) == {"S11"}
