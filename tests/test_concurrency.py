"""Imports at the same time: into different names both succeed; into the same name one wins and
the other fails clearly (exit 2, one line), and the surviving dataset holds exactly one file.

Two real ``fiftyone-pose import`` processes race against this session's scratch database; the
two ways the loser can lose (the name is taken before it renames its finished temporary dataset,
or between FiftyOne's name check and the save, where MongoDB's unique index stops it) are also
forced in-process, so both are covered on every run whatever the timing.
"""

from __future__ import annotations

import uuid

import orjson
import pytest
from helpers import coco_doc
from mutations import collections, dataset_state, start_cli, temp_datasets

from fiftyone_pose.formats import coco

N_IMAGES = 600


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    """Two files of the same size (so the imports finish together) with different images."""
    from benchmarks.generate import write_coco

    folder = tmp_path_factory.mktemp("race")
    paths = []
    for seed in (21, 22):
        path = folder / f"person_keypoints_{seed}.json"
        write_coco(path, n_images=N_IMAGES, seed=seed)
        paths.append(path)
    ids = [sorted(i["id"] for i in orjson.loads(p.read_bytes())["images"]) for p in paths]
    assert ids[0] != ids[1]
    return list(zip(paths, ids))


def _image_ids(fo_db, name):
    return sorted(fo_db.load_dataset(name, reload=True).values("image_id"))


def _sample_collections():
    return {c for c in collections() if c.startswith("samples.")}


def test_two_imports_into_different_names_both_succeed(fo_db, two_files):
    fo_db.list_datasets()  # connected: the subprocesses use this session's running mongod
    names = [f"race-a-{uuid.uuid4().hex[:6]}", f"race-b-{uuid.uuid4().hex[:6]}"]
    procs = [start_cli("import", path, "--name", name) for (path, _), name in zip(two_files, names)]
    results = [p.communicate(timeout=180) for p in procs]
    try:
        for proc, (out, err), (path, ids), name in zip(procs, results, two_files, names):
            assert proc.returncode == 0, err
            assert [line for line in err.splitlines() if "images not found" not in line] == []  # no images: a warning
            assert f"imported {path} into dataset '{name}' (field 'ground_truth')" in out.splitlines()
            assert _image_ids(fo_db, name) == ids
        assert temp_datasets() == {}
    finally:
        for name in names:
            if fo_db.dataset_exists(name):
                fo_db.delete_dataset(name)


def test_two_imports_into_the_same_name_one_wins_the_other_fails_clearly(fo_db, two_files, dataset_name):
    fo_db.list_datasets()  # connected: the subprocesses use this session's running mongod
    collections_before = _sample_collections()
    procs = [start_cli("import", path, "--name", dataset_name) for path, _ in two_files]
    results = [p.communicate(timeout=180) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], results
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)

    out, err = results[loser]
    assert err.splitlines() == [
        f"fiftyone-pose: error: dataset '{dataset_name}' already exists; pass --overwrite to replace it"
    ]
    assert "imported" not in out
    assert f"imported {two_files[winner][0]} into dataset '{dataset_name}'" in results[winner][0]

    # no mixed dataset: exactly the winner's images, each once; the loser's work is gone
    assert _image_ids(fo_db, dataset_name) == two_files[winner][1]
    assert dataset_state(dataset_name)[1] == N_IMAGES
    assert temp_datasets() == {}
    assert len(_sample_collections() - collections_before) == 1


# --------------------------------------------------------------- the race, forced in-process


def _competitor(fo_db, name):
    """Another import's finished dataset appears under ``name``; returns its (id, samples)."""
    fo_db.Dataset(name, persistent=True)
    return dataset_state(name)


def test_name_taken_while_building_fails_clearly(fo_db, dataset_name, monkeypatch):
    """Another import finishes first (after our check, before our rename)."""
    from fiftyone_pose.fo import api

    real_add = api.add_pose_data
    taken = {}

    def add_then_lose_the_name(*args, **kwargs):
        ids = real_add(*args, **kwargs)
        taken["state"] = _competitor(fo_db, dataset_name)
        return ids

    monkeypatch.setattr(api, "add_pose_data", add_then_lose_the_name)
    with pytest.raises(ValueError) as info:
        api.create_dataset(coco.decode(coco_doc()), "/nonexistent", dataset_name)
    assert str(info.value) == f"dataset '{dataset_name}' already exists; pass overwrite=True to replace it"
    assert dataset_state(dataset_name) == taken["state"]  # the winner, untouched (no samples of ours)
    assert temp_datasets() == {}


def test_name_taken_between_check_and_save_fails_clearly(fo_db, dataset_name, monkeypatch):
    """The narrowest window: FiftyOne's name check passes, then the other import saves first;
    MongoDB's unique index on dataset names refuses our save."""
    import fiftyone.core.dataset as fod

    from fiftyone_pose.fo import api

    real_validate = fod._validate_dataset_name
    taken = {}

    def validate_then_lose_the_name(name, skip=None):
        slug = real_validate(name, skip=skip)
        if name == dataset_name and "state" not in taken:
            taken["state"] = None  # (creating the competitor validates the name too)
            taken["state"] = _competitor(fo_db, dataset_name)
        return slug

    monkeypatch.setattr(fod, "_validate_dataset_name", validate_then_lose_the_name)
    with pytest.raises(ValueError) as info:
        api.create_dataset(coco.decode(coco_doc()), "/nonexistent", dataset_name)
    assert str(info.value) == f"dataset '{dataset_name}' already exists; pass overwrite=True to replace it"
    assert dataset_state(dataset_name) == taken["state"]
    assert temp_datasets() == {}
