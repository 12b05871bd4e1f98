"""The notebooks in notebooks/ run top to bottom on the demo data (so they cannot rot)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: seconds a notebook may take in all (a cell: CELL_TIMEOUT)
NOTEBOOK_BUDGET, CELL_TIMEOUT = 240, 180

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(fo_db, path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    # the kernel inherits this process's environment: the tests' scratch database
    nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    elapsed = time.monotonic() - start
    assert elapsed < NOTEBOOK_BUDGET, f"{path.name} took {elapsed:.0f} s"
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", ()) if o.get("output_type") == "error"
    ]
    assert not errors


def test_every_notebook_is_stored_without_outputs():
    """Outputs are produced by running them; stored ones would go stale."""
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(
            not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"
        ), path.name
