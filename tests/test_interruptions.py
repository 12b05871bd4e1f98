"""Imports and exports killed mid-way, for real: ``fiftyone-pose`` in a subprocess against this
session's scratch database, interrupted once it has written part of its work.

The contract:

- import + Ctrl-C (SIGINT): exit 130, one line on stderr, no dataset of that name, no temporary
  dataset, no samples collection left;
- import + ``kill -9`` (SIGKILL): nothing can clean up, so the temporary dataset
  (``_fiftyone_pose_tmp_*``) remains; an existing dataset of that name is untouched (it is replaced
  only once the new one is complete); ``fiftyone-pose cleanup`` lists the leftover,
  ``cleanup --delete`` removes it, and the same import rerun with ``--overwrite`` succeeds;
- export + ``kill -9`` mid-write: the destination holds its old bytes (or does not exist), never a
  partial file; the only other file that can remain is the hidden temporary beside it,
  ``.<name>.<random>.tmp``, which the next export does not need (and does not remove);
- export + Ctrl-C mid-write: exit 130, the old file, and no temporary file.
"""

from __future__ import annotations

import os
import re
import signal

import orjson
import pytest
from mutations import EXE, collections, dataset_state, run_cli, start_cli, temp_datasets, wait_until

from fiftyone_pose import cli

N_IMAGES = 8_000  # several insert batches (up to 1024 images each): long enough to be caught between them
INTERRUPTED = "fiftyone-pose: interrupted; nothing was left half-done"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    from benchmarks.generate import write_coco

    path = tmp_path_factory.mktemp("big") / "person_keypoints_big.json"
    stats = write_coco(path, n_images=N_IMAGES, seed=11)
    assert stats["images"] == N_IMAGES
    return path


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    from benchmarks.generate import write_coco

    path = tmp_path_factory.mktemp("small") / "person_keypoints_small.json"
    write_coco(path, n_images=7, seed=12)
    return path


def _start_and_catch_mid_import(fo_db, *args):
    """Start ``fiftyone-pose import ARGS`` and return (process, temp dataset, samples inserted)
    once its temporary dataset holds some but not all samples."""
    before = set(temp_datasets())
    proc = start_cli("import", *args)

    def partly_inserted():
        new = {n: c for n, c in temp_datasets().items() if n not in before and 0 < c < N_IMAGES}
        return next(iter(new.items()), None)

    temp, inserted = wait_until(partly_inserted, proc, what="the first samples are inserted")
    return proc, temp, inserted


def test_sigint_mid_import_exits_130_and_leaves_nothing(fo_db, big_file, dataset_name):
    datasets_before = sorted(fo_db.list_datasets())
    collections_before = {c for c in collections() if c.startswith(("samples.", "frames."))}
    proc, temp, inserted = _start_and_catch_mid_import(fo_db, big_file, "--name", dataset_name)
    temp_collection = fo_db.core.odm.get_db_conn().datasets.find_one({"name": temp})["sample_collection_name"]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)

    assert 0 < inserted < N_IMAGES
    assert proc.returncode == 130, err
    assert err.splitlines() == [INTERRUPTED]
    assert "imported" not in out
    assert dataset_state(dataset_name) is None
    assert dataset_state(temp) is None
    assert temp_datasets() == {}
    assert sorted(fo_db.list_datasets()) == datasets_before
    assert temp_collection not in collections()
    assert {c for c in collections() if c.startswith(("samples.", "frames."))} == collections_before


def test_sigint_while_the_file_is_read_in_a_second_process_stops_it_and_leaves_nothing(fo_db, big_file, dataset_name):
    import psutil

    datasets_before = sorted(fo_db.list_datasets())
    proc = start_cli("import", big_file, "--name", dataset_name, "--parallel")

    def reading_worker():
        try:
            children = psutil.Process(proc.pid).children()
        except psutil.NoSuchProcess:
            return None
        return next((c for c in children if "fiftyone_pose.formats.worker" in " ".join(c.cmdline())), None)

    worker = wait_until(reading_worker, proc, what="the file is read in a second process")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, err
    assert err.splitlines() == [INTERRUPTED]
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert dataset_state(dataset_name) is None
    assert temp_datasets() == {}
    assert sorted(fo_db.list_datasets()) == datasets_before


def _cli(capsys, *argv):
    """``fiftyone-pose ARGV`` in this process (the same code; no second FiftyOne start-up)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_sigkill_mid_import_leftover_is_listed_cleaned_and_rerun_succeeds(
    fo_db, big_file, small_file, dataset_name, capsys
):
    small_images = len(orjson.loads(small_file.read_bytes())["images"])
    assert _cli(capsys, "import", small_file, "--name", dataset_name)[0] == 0
    old = dataset_state(dataset_name)
    assert old[1] == small_images
    leftovers_before = set(temp_datasets())

    proc, temp, inserted = _start_and_catch_mid_import(fo_db, big_file, "--name", dataset_name, "--overwrite")
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < inserted < N_IMAGES

    # the killed import replaced nothing: the old dataset is intact, its half-built successor remains
    assert dataset_state(dataset_name) == old
    leftover = set(temp_datasets()) - leftovers_before
    assert leftover == {temp}
    assert 0 < temp_datasets()[temp] < N_IMAGES

    code, listed, err = _cli(capsys, "cleanup")
    assert (code, err) == (0, [])
    assert listed == sorted(temp_datasets())
    assert temp in listed
    assert dataset_state(temp) is not None  # listing deletes nothing

    code, deleted, err = _cli(capsys, "cleanup", "--delete")
    assert (code, err) == (0, [])
    assert deleted == [f"deleted {n}" for n in listed]
    assert temp_datasets() == {}
    assert dataset_state(dataset_name) == old  # a real dataset is never touched
    assert _cli(capsys, "cleanup")[1] == ["no leftover datasets"]

    rerun = run_cli("import", big_file, "--name", dataset_name, "--overwrite")
    assert rerun.returncode == 0, rerun.stderr
    assert f"imported {big_file} into dataset '{dataset_name}' (field 'ground_truth')" in rerun.stdout.splitlines()
    new = dataset_state(dataset_name)
    assert new[0] != old[0]
    assert new[1] == N_IMAGES
    assert temp_datasets() == {}
    assert fo_db.load_dataset(dataset_name).persistent


@pytest.fixture(scope="module")
def exported_dataset(fo_db, big_file):
    from fiftyone_pose.fo import api

    name = f"interrupt-export-{os.getpid()}"
    ds = api.load(big_file, name=name)
    assert len(ds) == N_IMAGES
    yield name
    ds.delete()


OLD = b'{"previous": "export"}\n'


def _tmp_files(folder, dst_name):
    return sorted(n for n in os.listdir(folder) if n != dst_name)


def _start_export_and_catch_mid_write(dataset, dst):
    dst.write_bytes(OLD)
    proc = start_cli("export", dataset, dst, "--overwrite")
    pattern = re.compile(rf"^\.{re.escape(dst.name)}\.[^/]+\.tmp$")

    def writing():  # the temporary file is there: the export writes it until it renames it
        temps = [n for n in os.listdir(dst.parent) if pattern.match(n)]
        return temps[0] if temps else None

    temp = wait_until(writing, proc, what="the export starts writing")
    return proc, temp, pattern


def test_sigkill_mid_export_leaves_the_old_file_and_at_most_a_hidden_tmp(exported_dataset, tmp_path, capsys):
    dst = tmp_path / "out.json"
    proc, temp, pattern = _start_export_and_catch_mid_write(exported_dataset, dst)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    assert dst.read_bytes() == OLD  # never a partial destination
    strays = _tmp_files(tmp_path, dst.name)
    assert strays == [temp]  # the only other file: the hidden temporary, by its pattern
    assert pattern.match(temp)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads((tmp_path / temp).read_bytes())  # it was killed mid-write: truncated

    assert _cli(capsys, "export", exported_dataset, dst, "--overwrite")[0] == 0
    assert len(orjson.loads(dst.read_bytes())["images"]) == N_IMAGES
    assert _tmp_files(tmp_path, dst.name) == [temp]  # the stray stays; the new export left none


def test_sigint_mid_export_exits_130_and_leaves_the_old_file_only(exported_dataset, tmp_path):
    dst = tmp_path / "out.json"
    proc, temp, _ = _start_export_and_catch_mid_write(exported_dataset, dst)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines() == [INTERRUPTED]
    assert dst.read_bytes() == OLD
    assert os.listdir(tmp_path) == ["out.json"]  # the temporary file was removed


def test_the_console_script_is_installed():
    assert os.path.isabs(EXE) and os.access(EXE, os.X_OK)
