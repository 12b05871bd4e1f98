"""Placing image files in an export folder, without ever writing outside it.

Every export that writes media goes through here. A destination comes from a source's
``file_name``, which real files fill with sub-folders (kept), and sometimes with ``..`` or absolute
paths (flattened to their base name and counted): ``safe_relative`` decides. Files are written into
a fresh staging folder that this module creates, so no pre-existing link can redirect a write, and
the caller moves the finished folders into place (``replace_dir``).

Media modes follow FiftyOne's ``export_media``: ``copy`` (``True``), ``symlink``, ``move`` and
``none`` (``False``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.errors import PoseUsageError

MODES = ("symlink", "copy", "move", "none")
#: FiftyOne's spellings of ``export_media``
_FIFTYONE_MODES = {True: "copy", False: "none"}
_SEPARATORS = re.compile(r"[\\/]+")
_DRIVE = re.compile(r"^[A-Za-z]:")


def missing_files(root: str | os.PathLike, names: Sequence[str]) -> np.ndarray:
    """The indices of ``names`` (relative to ``root``, or absolute) that name no file.

    One directory listing per folder instead of one ``stat`` per file, so checking every image of
    an import costs little; images are never opened. A link counts where it leads to a file.
    """
    root = os.path.abspath(root)
    by_folder: dict[str, list[int]] = {}
    bases = []
    for i, name in enumerate(names):
        folder, _, base = name.rpartition("/")
        by_folder.setdefault(folder, []).append(i)
        bases.append(base)
    missing: list[int] = []
    for folder, rows in by_folder.items():
        try:
            with os.scandir(os.path.normpath(os.path.join(root, folder))) as entries:
                present = {e.name for e in entries if e.is_file()}
        except OSError:  # no such folder, or not one
            present = set()
        missing.extend(i for i in rows if bases[i] not in present)
    return np.array(sorted(missing), np.int64)


def media_mode(value: str | bool | None, default: str) -> str:
    """The media mode for ``value`` (FiftyOne's ``True``/``False`` included); a bad one is a usage error."""
    if value is None:
        return default
    mode = _FIFTYONE_MODES.get(value, value) if isinstance(value, bool) else value
    if mode not in MODES:
        raise PoseUsageError(f"unknown export_media {value!r}; use one of {', '.join(MODES)}")
    return mode


def safe_relative(name: str) -> tuple[str, bool]:
    """``name`` as a relative ``/``-separated path that stays below the folder it is joined to.

    Sub-folders are kept (``\\`` counts as a separator, as on Windows). A name that is absolute
    (``/x``, ``C:x``) or holds a ``..`` component could leave the folder: it is flattened to its
    last component, and the second value says so. A name with no file part is a usage error.
    """
    parts = [p for p in _SEPARATORS.split(name) if p not in ("", ".")]
    escapes = name[:1] in ("/", "\\") or _DRIVE.match(name) is not None or ".." in parts
    if not parts or parts[-1] == "..":
        raise PoseUsageError(f"file name {name!r} names no file")
    if escapes:
        return parts[-1], True
    return "/".join(parts), False


def place(sources: Sequence[str], targets: Sequence[str], mode: str) -> list[tuple[str, str]]:
    """Put each source file (an absolute path) at its target (``symlink``/``copy``/``move``) in a staging folder.

    Targets must lie in a folder this process created (``make_staging``), so none of them is an
    existing link. Returns the moves done, for ``undo_moves`` should the export fail later.
    Paths are strings: this runs once per image.
    """
    moved: list[tuple[str, str]] = []
    made: set[str] = set()
    try:
        for src, dst in zip(sources, targets):
            parent = os.path.dirname(dst)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            if mode == "symlink":
                os.symlink(src, dst)
            elif mode == "copy":
                shutil.copyfile(src, dst)
            elif mode == "move":
                shutil.move(src, dst)
                moved.append((src, dst))
    except BaseException:
        undo_moves(moved)
        raise
    return moved


def undo_moves(moved: list[tuple[str, str]]) -> None:
    """Move the files of a failed export back where they came from."""
    for src, dst in reversed(moved):
        shutil.move(dst, src)


def make_staging(root: Path) -> Path:
    """A new empty folder inside ``root`` (same file system, so finished folders move by renaming)."""
    return Path(tempfile.mkdtemp(prefix=".fiftyone-pose-", suffix=".tmp", dir=root))


def replace_dir(staged: Path, final: Path, trash: Path) -> None:
    """Move ``staged`` to ``final``; an existing ``final`` goes to ``trash`` first (deleted by the caller).

    ``final``'s parent must be a real folder inside the export root (``check_parent``).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() or final.is_symlink():
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(final, trash)
    os.replace(staged, final)


def check_parent(folder: Path, root: Path) -> None:
    """Refuse a folder of the export that is a link or a file (e.g. ``images`` linking elsewhere)."""
    if folder.is_symlink() or folder.exists() and not folder.is_dir():
        raise PoseUsageError(f"{folder} is a link or a file, not a folder of {root}; nothing was written")
