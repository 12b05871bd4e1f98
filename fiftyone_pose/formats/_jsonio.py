"""Fast JSON file reading and atomic writing (no half-written output, errors name the file)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

import orjson

from ..core.errors import PoseFormatError


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a syntax error names the file, line and column."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror})", path=path) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno} (byte {e.pos})"
        hint = " (file truncated?)" if e.pos >= len(raw.rstrip()) - 1 else ""
        raise PoseFormatError(f"invalid JSON: {e.msg}{hint}", path=path, record=where) from None


def dump_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as JSON, atomically."""
    write_atomic(path, [orjson.dumps(obj)])


def write_atomic(path: str | os.PathLike, chunks: Iterable[bytes]) -> None:
    """Write the chunks to a temporary file beside ``path`` and rename it into place.

    A crash or Ctrl-C leaves either the old file or the new one, never a truncated file; chunks
    let a writer stream a large document instead of holding all of it in memory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
