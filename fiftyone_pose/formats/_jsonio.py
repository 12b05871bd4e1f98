"""Fast JSON file reading and atomic writing (no half-written output, errors name the file).

Large documents can be read with their big top-level arrays split into chunks of records
(``load_json_chunked``), so only one chunk's parse tree is in memory at a time.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from ..core.errors import PoseFormatError


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a syntax error names the file, line and column."""
    raw = _read_bytes(path)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno} (byte {e.pos})"
        hint = " (file truncated?)" if e.pos >= len(raw.rstrip()) - 1 else ""
        raise PoseFormatError(f"invalid JSON: {e.msg}{hint}", path=path, record=where) from None


def _read_bytes(path: str | os.PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror})", path=path) from None


# ------------------------------------------------------------------------------- chunked reading

#: bytes scanned at a time when splitting a document (bounds the scan's temporary arrays)
_SCAN_BLOCK = 1 << 18
#: records are parsed in chunks of about this many bytes
_CHUNK_BYTES = 1 << 22
#: deeper documents are not split: a chunk is parsed one level less deep than it sits in the
#: document, and far below orjson's nesting limit (1024) that makes no difference
_MAX_DEPTH = 512
_WHITESPACE = b" \t\n\r"  # JSON's whitespace: the only bytes allowed around separators
_QUOTE, _BACKSLASH, _COLON = 0x22, 0x5C, 0x3A


class Chunk(list):
    """Records of a big array, a chunk of them; ``first`` is the position of the first in the array."""

    first: int = 0


class RecordChunks:
    """The records of one top-level array of a JSON document, parsed a chunk at a time.

    Iterating parses each chunk with ``orjson`` and yields its records as a ``Chunk`` (one empty
    chunk for an empty array); invalid content raises ``orjson.JSONDecodeError`` when its chunk
    is reached.
    """

    def __init__(self, raw: bytes, starts: np.ndarray, ends: np.ndarray, cuts: list[int]) -> None:
        self._raw = raw
        self._spans = [(int(starts[lo]), int(ends[hi - 1]) + 1) for lo, hi in zip(cuts[:-1], cuts[1:])]

    def __iter__(self) -> Iterator[Chunk]:
        if not self._spans:
            yield Chunk()
        first = 0
        for lo, hi in self._spans:
            chunk = Chunk(orjson.loads(b"[" + self._raw[lo:hi] + b"]"))
            chunk.first = first
            first += len(chunk)
            yield chunk

    def head(self) -> Chunk:
        """The first chunk."""
        return next(iter(self))


def load_json_chunked(
    path: str | os.PathLike, keys: Collection[str]
) -> tuple[dict[str, Any], dict[str, RecordChunks]] | None:
    """The JSON object in ``path`` with the arrays of the top-level ``keys`` left to parse by chunk.

    Returns the document with ``[]`` in place of each such array, and the arrays' records as
    ``RecordChunks``; None when the document cannot be split exactly (not an object, none of
    ``keys`` holds an array of objects or arrays, a key given twice, invalid JSON outside the
    arrays, nesting deeper than ``_MAX_DEPTH``): ``load_json`` then reads it.

    Splitting is exact: a chunk is parsed from the bytes between its first and last record, and
    the bytes between chunks and around the records must be whitespace and one comma, so the
    chunks' records are the array's records and invalid content fails to parse in some chunk
    (the caller then reads the file with ``load_json``, whose error names the line and column).
    """
    raw = _read_bytes(path)
    brackets = _shallow_brackets(raw)
    if brackets is None:
        return None
    pos, depth, opens = brackets
    arrays: dict[str, RecordChunks] = {}
    cut_points = []
    for i in np.flatnonzero(opens & (depth == 2) & (np.frombuffer(raw, np.uint8)[pos] == ord("["))).tolist():
        key = _key_before(raw, int(pos[i]))
        if key not in keys:
            continue
        if key in arrays:
            return None
        end = i + 1 + int(np.argmax(depth[i + 1 :] == 2))  # the array's closing bracket
        inner = slice(i + 1, end)
        starts, ends = pos[inner][opens[inner]], pos[inner][~opens[inner]]
        records = _records(raw, int(pos[i]), int(pos[end]), starts, ends)
        if records is None:
            return None
        arrays[key] = records
        cut_points.append((int(pos[i]) + 1, int(pos[end])))
    if not arrays:
        return None
    pieces, at = [], 0
    for lo, hi in cut_points:
        pieces.append(raw[at:lo])
        at = hi
    pieces.append(raw[at:])
    try:
        doc = orjson.loads(b"".join(pieces))
    except orjson.JSONDecodeError:
        return None
    # each key's last value is the array found (a later non-array value would win in orjson)
    if not isinstance(doc, dict) or any(doc.get(key) != [] for key in arrays):
        return None
    return doc, arrays


def _shallow_brackets(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The brackets outside strings that open or close a value at nesting depth 1 to 3.

    Returns their positions, the depth inside the value each opens or closes (1: the top-level
    value) and which of them open; None when the nesting is too deep or unbalanced. A quote
    ends a string unless an odd run of backslashes precedes it. numpy does the work, a block at
    a time (no block starts right after a backslash, so runs never span blocks).
    """
    buf = np.frombuffer(raw, np.uint8)
    parity = depth = max_depth = 0  # parity: 1 inside a string
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    lo = 0
    while lo < len(buf):
        hi = min(lo + _SCAN_BLOCK, len(buf))
        while hi < len(buf) and buf[hi - 1] == _BACKSLASH:
            hi += 1
        block = buf[lo:hi]
        folded = block & 0xDF  # {[ are 0x7B 0x5B and }] 0x7D 0x5D: without bit 0x20, 0x5B and 0x5D
        special = np.flatnonzero((block == _QUOTE) | (folded == 0x5B) | (folded == 0x5D))
        byte = block[special]
        quote = byte == _QUOTE
        where = np.flatnonzero(quote)
        quote[where[_escaped(block, special[where])]] = False
        parities = (parity + np.cumsum(quote)) % 2  # at a bracket: 1 inside a string
        bracket = (byte != _QUOTE) & (parities == 0)
        if len(special):
            parity = int(parities[-1])
        if bracket.any():
            at, is_open = special[bracket], (byte[bracket] & 0x02) != 0  # [ { have bit 0x02, ] } not
            after = depth + np.cumsum(np.where(is_open, 1, -1))
            if after.min() < 0:
                return None
            inside = np.where(is_open, after, after + 1)  # the depth inside the value opened/closed
            depth, max_depth = int(after[-1]), max(max_depth, int(after.max()))
            keep = inside <= 3
            found.append((lo + at[keep], inside[keep], is_open[keep]))
        lo = hi
    if depth or max_depth > _MAX_DEPTH or not found:
        return None
    return tuple(np.concatenate(parts) for parts in zip(*found))  # type: ignore[return-value]


def _escaped(block: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """Which quotes follow an odd run of backslashes (the run starts in ``block``)."""
    escaped = np.zeros(len(quotes), bool)
    after_backslash = np.flatnonzero(block[quotes[quotes > 0] - 1] == _BACKSLASH) + int(len(quotes) and quotes[0] == 0)
    if len(after_backslash):
        slashes = np.flatnonzero(block == _BACKSLASH)
        run_start = np.ones(len(slashes), bool)
        run_start[1:] = np.diff(slashes) != 1
        first = slashes[np.maximum.accumulate(np.where(run_start, np.arange(len(slashes)), 0))]
        q = quotes[after_backslash]
        escaped[after_backslash] = (q - first[np.searchsorted(slashes, q - 1)]) % 2 == 1
    return escaped


def _key_before(raw: bytes, at: int) -> str | None:
    """The object key whose value starts at ``raw[at]`` (``"key" : value``), else None."""
    colon = _last_other(raw, at, _WHITESPACE)
    if colon < 0 or raw[colon] != _COLON:
        return None
    close = _last_other(raw, colon, _WHITESPACE)
    if close < 0 or raw[close] != _QUOTE:
        return None
    start = close
    while True:  # back to the opening quote: the first one that no odd run of backslashes escapes
        start = raw.rfind(b'"', 0, start)
        if start < 0:
            return None
        if (start - 1 - _last_other(raw, start, b"\\")) % 2 == 0:
            break
    try:
        key = orjson.loads(raw[start : close + 1])
    except orjson.JSONDecodeError:
        return None
    return key if isinstance(key, str) else None


def _last_other(raw: bytes, end: int, skip: bytes) -> int:
    """Index of the last byte before ``end`` that is not in ``skip`` (-1 if none), without copying ``raw``."""
    while end > 0:
        lo = max(end - 256, 0)
        kept = len(raw[lo:end].rstrip(skip))
        if kept:
            return lo + kept - 1
        end = lo
    return -1


def _records(raw: bytes, open_at: int, close_at: int, starts: np.ndarray, ends: np.ndarray) -> RecordChunks | None:
    """The records of the array ``raw[open_at..close_at]`` in chunks of about ``_CHUNK_BYTES``.

    None unless only whitespace precedes the first record and follows the last one (an array of
    scalars, or with scalars at its ends, is not split), and whitespace and one comma separate
    the chunks.
    """
    if not len(starts):
        return RecordChunks(raw, starts, ends, [0]) if not raw[open_at + 1 : close_at].strip(_WHITESPACE) else None
    if raw[open_at + 1 : int(starts[0])].strip(_WHITESPACE) or raw[int(ends[-1]) + 1 : close_at].strip(_WHITESPACE):
        return None
    group = (starts - starts[0]) // _CHUNK_BYTES
    cuts = [0, *(np.flatnonzero(np.diff(group)) + 1).tolist(), len(starts)]
    for c in cuts[1:-1]:
        if raw[int(ends[c - 1]) + 1 : int(starts[c])].strip(_WHITESPACE) != b",":
            return None
    return RecordChunks(raw, starts, ends, cuts)


def dump_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as JSON, atomically."""
    write_atomic(path, [dumps(obj)])


def dumps(value: Any, records: str | None = None, first: int = 0) -> bytes:
    """``orjson.dumps(value)``; what it cannot write (nesting deeper than 254 levels) is named:
    with ``records`` (e.g. ``"annotations"``) ``value`` is a list of them, numbered from ``first``."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as e:
        where = None
        if records is not None:
            where = next((f"{records}[{first + i}]" for i, r in enumerate(value) if not _dumpable(r)), None)
        raise PoseFormatError(
            f"cannot be written as JSON: {e} (orjson writes up to 254 levels of nesting)", record=where
        ) from None


def _dumpable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


def write_atomic(path: str | os.PathLike, chunks: Iterable[bytes]) -> None:
    """Write the chunks to ``path`` through ``atomic_file``; chunks let a writer stream a large
    document instead of holding all of it in memory."""
    with atomic_file(path) as f:
        for chunk in chunks:
            f.write(chunk)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` through: a temporary file beside it, renamed into place
    when the block ends without an error (and deleted when it does not).

    A crash or Ctrl-C leaves either the old file or the new one, never a truncated file. A new
    file gets the mode an ``open`` would give it (0666 less the umask), a replaced file keeps its
    mode, so an export on a shared server is as readable as any other file there.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp = _temporary_beside(path)
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new hidden ``.<name>.<random>.tmp`` file in ``path``'s folder, opened for writing.

    Unlike ``tempfile.mkstemp`` (always mode 0600), its mode follows the umask like any new file.
    """
    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:  # a name already taken: draw another
            continue
