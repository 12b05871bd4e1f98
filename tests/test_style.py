"""The code keeps the project's style: ruff's lint rules and formatter (configured in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]' installs it")
    return [found]


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff(command):
    result = subprocess.run(_ruff() + command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_fiftyone_module_over_about_400_lines():
    """Each module of ``fo/`` keeps to one job: none grows past about 400 lines (split it by job)."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / "fiftyone_pose" / "fo").rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 420
    }
    assert not long, long
