"""Test setup: pure tests need nothing; FiftyOne tests share one database per session.

The FiftyOne tests use their own database name, so they never see or touch a user's datasets,
and drop it at the end.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ.setdefault("FIFTYONE_SHOW_PROGRESS_BARS", "false")
os.environ["FIFTYONE_DATABASE_NAME"] = f"fiftyone_pose_tests_{uuid.uuid4().hex[:8]}"

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(items):
    for item in items:
        if "fo_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.fiftyone)


@pytest.fixture(scope="session")
def fo_db():
    """FiftyOne with this session's scratch database (started once, dropped at the end)."""
    import fiftyone as fo
    import fiftyone.core.odm as foo

    yield fo
    foo.get_db_client().drop_database(fo.config.database_name)


@pytest.fixture
def dataset_name(fo_db):
    """A fresh dataset name; the dataset is deleted after the test if it exists."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    if fo_db.dataset_exists(name):
        fo_db.delete_dataset(name)
