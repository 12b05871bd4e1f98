"""Fast JSON file reading and atomic writing (no half-written output, errors name the file).

Large documents can be read with their big arrays split into chunks of records, the arrays
under the top-level keys of an object (``load_json_chunked``) or the top-level array itself
(``load_json_array``), so only one chunk's parse tree is in memory at a time.
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
    raw = read_bytes(path)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno} (byte {e.pos})"
        hint = " (file truncated?)" if e.pos >= len(raw.rstrip()) - 1 else ""
        raise PoseFormatError(f"invalid JSON: {e.msg}{hint}", path=path, record=where) from None


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes; an unreadable file is a ``PoseFormatError`` naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror})", path=path) from None


# ------------------------------------------------------------------------------- chunked reading

#: records of a big array are parsed in chunks of about this many bytes (a knob: tests set 1 to
#: get one record per chunk). A chunk's Python objects take ~12x its bytes, so the chunk is most
#: of what a read holds; at 1 MB instead of 4 MB, measured on generated files: a COCO 64k import
#: takes 392 instead of 455 MB for both processes (AI Challenger 210k: 443 instead of 506 MB,
#: WholeBody 30k: 461 instead of 598 MB) in the same time, and a COCO-to-COCO convert of the 64k
#: file takes 4.0-4.6 instead of 4.7-5.0 s and 92 instead of 184 MB (WholeBody 30k: 8.7 instead
#: of 11.1 s, 91 instead of 204 MB). Smaller chunks convert faster still (256 kB: 3.2 s for COCO
#: 64k), but each costs the import's encoder a fixed overhead.
CHUNK_BYTES = 1 << 20
#: bytes scanned at a time when splitting a document (bounds the scan's temporary arrays)
_SCAN_BLOCK = 1 << 20
#: deeper documents are not split: a chunk is parsed one level less deep than it sits in the
#: document, and far below orjson's nesting limit (1024) that makes no difference
_MAX_DEPTH = 512
_WHITESPACE = b" \t\n\r"  # JSON's whitespace: the only bytes allowed around separators
_QUOTE, _BACKSLASH, _COLON = 0x22, 0x5C, 0x3A


class Chunk(list):
    """Records of a big array, a chunk of them; ``first`` is the position of the first in the array."""

    first: int = 0


class RecordChunks:
    """The records of one top-level array of a JSON file, parsed a chunk at a time from the file.

    Iterating reads each chunk's bytes from the file, parses them with ``orjson`` and yields its
    records as a ``Chunk`` (one empty chunk for an empty array), so only one chunk is in memory;
    invalid JSON in a chunk raises a ``PoseFormatError`` naming the line and column in the file,
    as ``load_json`` would.
    """

    def __init__(self, path: str | os.PathLike, spans: list[tuple[int, int]]) -> None:
        self.path = path
        self._spans = spans

    def __iter__(self) -> Iterator[Chunk]:
        if not self._spans:
            yield Chunk()
            return
        first = 0
        with _open(self.path) as f:
            for lo, hi in self._spans:
                try:
                    chunk = Chunk(orjson.loads(b"[" + os.pread(f.fileno(), hi - lo, lo) + b"]"))
                except orjson.JSONDecodeError as e:
                    raise _error_at(f, lo, e) from None
                chunk.first = first
                first += len(chunk)
                yield chunk
                del chunk  # (not kept while the next chunk is read: one chunk in memory at a time)


def load_json_chunked(
    path: str | os.PathLike, keys: Collection[str]
) -> tuple[dict[str, Any], dict[str, RecordChunks]] | None:
    """The JSON object in ``path`` with the arrays of the top-level ``keys`` left to parse by chunk.

    Returns the document with ``[]`` in place of each such array, and the arrays' records as
    ``RecordChunks``; None when the document cannot be split exactly (not an object, none of
    ``keys`` holds an array of objects or arrays, a key given twice, invalid JSON outside the
    arrays, nesting deeper than ``_MAX_DEPTH``): ``load_json`` then reads it. The file is
    scanned a block at a time, never held whole: memory stays about one block and one chunk.

    Splitting is exact: a chunk is parsed from the bytes between its first and last record, and
    the bytes between chunks and around the records must be whitespace and one comma, so the
    chunks' records are the array's records and invalid content fails to parse in some chunk.
    """
    split = _split(path, frozenset(keys))
    if split is None:
        return None
    doc, arrays = split
    # each key's last value is the array found (a later non-array value would win in orjson)
    if not isinstance(doc, dict) or any(doc.get(key) != [] for key in arrays):
        return None
    return doc, arrays


def load_json_array(path: str | os.PathLike) -> RecordChunks | None:
    """The records of the JSON array that is the whole document in ``path``, left to parse by chunk.

    None when the document cannot be split exactly (not an array, a record at a chunk boundary
    that is not an object or an array, invalid JSON outside the records, unbalanced brackets as in
    a truncated file, nesting deeper than ``_MAX_DEPTH``): ``load_json`` then reads it, and says
    what is wrong. A document that is not an array is told from its first bracket, without
    scanning the rest. Scanning and splitting are those of ``load_json_chunked``.
    """
    split = _split(path, None)
    if split is None or split[0] != []:  # (an object's emptied arrays give a dict)
        return None
    return split[1][_WHOLE]


def _split(path: str | os.PathLike, keys: frozenset[str] | None) -> tuple[Any, dict[str, RecordChunks]] | None:
    """The document with its split arrays emptied, and their records (see ``_Scan``); None when
    the scan finds nothing it can split exactly or the rest is not valid JSON."""
    with _open(path) as f:
        scan = _Scan(f, keys)
        if not scan.run():
            return None
        arrays = {key: RecordChunks(path, spans) for key, spans in scan.spans.items()}
        if not arrays:
            return None
        pieces, at = [], 0
        for lo, hi in scan.cut_points:
            pieces.append(os.pread(f.fileno(), lo - at, at))
            at = hi
        pieces.append(os.pread(f.fileno(), scan.size - at, at))
    try:
        return orjson.loads(b"".join(pieces)), arrays
    except orjson.JSONDecodeError:
        return None


def _open(path: str | os.PathLike):
    try:
        return open(path, "rb")
    except OSError as e:
        raise PoseFormatError(f"cannot read file ({e.strerror})", path=path) from None


#: the key of the split array in ``_Scan.spans`` when it is the document itself
_WHOLE = ""


class _Scan:
    """One pass over a file, a block at a time, finding the arrays to split and the chunk spans
    of their records: the top-level arrays of ``keys`` (``load_json_chunked``), or with ``keys``
    None the document itself, which must be an array (``load_json_array``).

    Brackets outside strings that open or close a value at depth 1 to 3 are found with numpy (a
    quote ends a string unless an odd run of backslashes precedes it; no block starts right
    after a backslash, so runs never span blocks). The split arrays' brackets are at depth
    ``self.top`` (2: the top-level values; 1: the document); inside a split array, the brackets
    one level deeper are its records: a new chunk starts at the first record that begins
    ``CHUNK_BYTES`` or more after the array's first record.
    """

    def __init__(self, f: Any, keys: frozenset[str] | None) -> None:
        self.f, self.keys = f, keys
        self.top = 1 if keys is None else 2
        self.size = os.fstat(f.fileno()).st_size
        #: key -> [(lo, hi)] byte spans of its chunks
        self.spans: dict[str, list[tuple[int, int]]] = {}
        #: (after "[", at "]") of each split array: the bytes left out of the document
        self.cut_points: list[tuple[int, int]] = []
        self._gaps: list[tuple[int, int, bytes]] = []  # (lo, hi, allowed) byte ranges to check
        self._array: str | None = None  # the split array being scanned
        self._open_at = 0
        self._first_start: int | None = None
        self._group = 0
        self._chunk_lo = 0
        self._last_end = -1
        self._open_records = 0

    def run(self) -> bool:
        """Scan the file; False when it cannot be split exactly."""
        parity = depth = max_depth = 0
        found = False
        lo = 0
        while lo < self.size:
            block = np.frombuffer(self._read_block(lo), np.uint8)
            hi = lo + len(block)
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
                    return False
                inside = np.where(is_open, after, after + 1)  # the depth inside the value opened/closed
                depth, max_depth = int(after[-1]), max(max_depth, int(after.max()))
                keep = inside <= self.top + 1
                found |= bool(keep.any())
                if not self._events(lo + at[keep], inside[keep], is_open[keep]):
                    return False
            lo = hi
        if depth or max_depth > _MAX_DEPTH or not found:
            return False
        return all(self._read(a, b).strip(_WHITESPACE) == allowed for a, b, allowed in self._gaps)

    def _read_block(self, lo: int) -> bytes:
        block = os.pread(self.f.fileno(), _SCAN_BLOCK, lo)
        while block.endswith(b"\\") and lo + len(block) < self.size:
            block += os.pread(self.f.fileno(), 1, lo + len(block))
        return block

    def _read(self, lo: int, hi: int) -> bytes:
        return os.pread(self.f.fileno(), hi - lo, lo) if hi > lo else b""

    def _events(self, pos: np.ndarray, inside: np.ndarray, is_open: np.ndarray) -> bool:
        """Handle a block's brackets: top-level ones one by one, records between them at once."""
        a = 0
        for t in np.flatnonzero(inside <= self.top).tolist():
            if self._array is not None and t > a:
                self._records(pos[a:t], is_open[a:t])
            if not self._top(int(pos[t]), int(inside[t]), bool(is_open[t])):
                return False
            a = t + 1
        if self._array is not None and len(pos) > a:
            self._records(pos[a:], is_open[a:])
        return True

    def _top(self, at: int, inside: int, is_open: bool) -> bool:
        if inside != self.top:
            return True
        if is_open:
            key = self._split_key(at)
            if key is None and self.keys is None:  # the document is not an array: nothing to split
                return False
            if key is not None:
                if key in self.spans:
                    return False
                self._array, self._open_at = key, at
                self.spans[key] = []
                self._first_start, self._group, self._last_end, self._open_records = None, 0, -1, 0
            return True
        if self._array is not None:  # the split array closes
            if self._open_records:
                return False
            spans = self.spans[self._array]
            if self._first_start is None:  # an empty array: only whitespace inside
                self._gaps.append((self._open_at + 1, at, b""))
            else:
                spans.append((self._chunk_lo, self._last_end + 1))
                self._gaps.append((self._open_at + 1, self._first_start, b""))
                self._gaps.append((self._last_end + 1, at, b""))
            self.cut_points.append((self._open_at + 1, at))
            self._array = None
        return True

    def _split_key(self, at: int) -> str | None:
        """The key of the split array that opens at ``at`` (``_WHOLE`` for the document), else None."""
        if self._read(at, at + 1) != b"[":
            return None
        if self.keys is None:
            return _WHOLE if not self.spans else None  # (a second top-level value: invalid JSON)
        key = _key_before(self._read, at)
        return key if key in self.keys else None

    def _records(self, pos: np.ndarray, is_open: np.ndarray) -> None:
        """The records (depth-3 brackets) of the split array in one stretch of a block."""
        starts, ends = pos[is_open], pos[~is_open]
        self._open_records += len(starts) - len(ends)
        if len(starts):
            if self._first_start is None:
                self._first_start = self._chunk_lo = int(starts[0])
            groups = (starts - self._first_start) // CHUNK_BYTES
            previous = np.concatenate([[self._group], groups[:-1]])
            spans = self.spans[self._array]
            for i in np.flatnonzero(groups != previous).tolist():
                start = int(starts[i])
                k = int(np.searchsorted(ends, start))  # the record before ends before this one starts
                end = int(ends[k - 1]) if k else self._last_end
                spans.append((self._chunk_lo, end + 1))
                self._gaps.append((end + 1, start, b","))
                self._chunk_lo = start
            self._group = int(groups[-1])
        if len(ends):
            self._last_end = int(ends[-1])


def _error_at(f: Any, lo: int, e: orjson.JSONDecodeError) -> PoseFormatError:
    """The error ``load_json`` gives for invalid JSON in a chunk parsed from ``file[lo:]`` as
    ``[`` + bytes + ``]``: line, column and position counted in the whole file (orjson counts
    characters, not bytes)."""
    newlines = chars = line_chars = 0
    at = 0
    while at < lo:
        block = np.frombuffer(os.pread(f.fileno(), min(_SCAN_BLOCK, lo - at), at), np.uint8)
        starts = (block & 0xC0) != 0x80  # the first byte of each UTF-8 character
        nl = np.flatnonzero(block == 0x0A)
        newlines += len(nl)
        chars += int(starts.sum())
        line_chars = int(starts[nl[-1] + 1 :].sum()) if len(nl) else line_chars + int(starts.sum())
        at += len(block)
    line = newlines + e.lineno
    column = line_chars + e.colno - 1 if e.lineno == 1 else e.colno
    pos = chars + e.pos - 1
    size = os.fstat(f.fileno()).st_size
    tail = os.pread(f.fileno(), min(size, 4096), max(size - 4096, 0))
    hint = " (file truncated?)" if pos >= size - (len(tail) - len(tail.rstrip())) - 1 else ""
    where = f"line {line} column {column} (byte {pos})"
    return PoseFormatError(f"invalid JSON: {e.msg}{hint}", path=f.name, record=where)


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


def _key_before(read: Any, at: int) -> str | None:
    """The object key whose value starts at byte ``at`` (``"key" : value``), else None;
    ``read(lo, hi)`` gives the file's bytes."""
    colon = _last_other(read, at, _WHITESPACE)
    if colon < 0 or read(colon, colon + 1) != b":":
        return None
    close = _last_other(read, colon, _WHITESPACE)
    if close < 0 or read(close, close + 1) != b'"':
        return None
    start = close
    while True:  # back to the opening quote: the first one that no odd run of backslashes escapes
        start = _last_quote(read, start)
        if start < 0:
            return None
        if (start - 1 - _last_other(read, start, b"\\")) % 2 == 0:
            break
    try:
        key = orjson.loads(read(start, close + 1))
    except orjson.JSONDecodeError:
        return None
    return key if isinstance(key, str) else None


def _last_other(read: Any, end: int, skip: bytes) -> int:
    """Index of the last byte before ``end`` that is not in ``skip`` (-1 if none)."""
    while end > 0:
        lo = max(end - 256, 0)
        kept = len(read(lo, end).rstrip(skip))
        if kept:
            return lo + kept - 1
        end = lo
    return -1


def _last_quote(read: Any, end: int) -> int:
    """Index of the last ``"`` before ``end`` (-1 if none)."""
    while end > 0:
        lo = max(end - 256, 0)
        found = read(lo, end).rfind(b'"')
        if found >= 0:
            return lo + found
        end = lo
    return -1


def dump_json(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as JSON, atomically."""
    write_atomic(path, [dumps(obj)])


#: levels of nesting orjson writes (deeper, ``orjson.dumps`` fails)
JSON_NESTING = 254


def nesting(value: Any) -> int:
    """Levels of lists and objects in a JSON value (0 for a number or a string), counted without
    recursion, so that a value nested a thousand deep can be measured."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        items = v.values() if type(v) is dict else v if type(v) is list else None
        if items is None:
            continue
        deepest = max(deepest, depth)
        if {list, dict} & set(map(type, items)):  # (a flat list of numbers is not walked in Python)
            stack.extend((x, depth + 1) for x in items if type(x) in (list, dict))
    return deepest


def dumps(value: Any, records: str | None = None, first: int = 0) -> bytes:
    """``orjson.dumps(value)``; what it cannot write (nesting deeper than ``JSON_NESTING``) is named:
    with ``records`` (e.g. ``"annotations"``) ``value`` is a list of them, numbered from ``first``."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as e:
        where = None
        if records is not None:
            # (in its list: the list's level counts)
            where = next((f"{records}[{first + i}]" for i, r in enumerate(value) if not _dumpable([r])), None)
        raise PoseFormatError(
            f"cannot be written as JSON: {e} (orjson writes up to {JSON_NESTING} levels of nesting)", record=where
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
    try:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = None
        fd, tmp = _temporary_beside(path)
    except OSError as e:  # the user's destination: a folder that cannot be made or written to
        raise PoseFormatError(f"cannot write file ({e.strerror})", path=path) from None
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
        try:
            os.replace(tmp, path)
        except OSError as e:  # e.g. the destination is a folder
            raise PoseFormatError(f"cannot write file ({e.strerror})", path=path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_destination(path: str | os.PathLike, folder: bool = False, format: str | None = None) -> None:
    """Refuse a destination a write would fail on, before any work: a folder given as a file
    (a file given as a ``folder``), a folder that does not exist, or one this process cannot
    write to (read-only, ``/proc``, no permission; tried by making and removing a file there,
    which also holds for root). The error names the destination, never a temporary file."""
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise PoseFormatError(f"is a file; format '{format}' writes a folder", path=path)
        where = path if path.is_dir() else path.parent
    else:
        if path.is_dir():
            raise PoseFormatError("is a directory; give a file name", path=path)
        where = path.parent
    if not where.is_dir():
        raise PoseFormatError(f"the folder {where} does not exist", path=path)
    try:
        fd, tmp = _temporary_beside(where / path.name)  # a hidden file in the folder written to
    except OSError as e:
        raise PoseFormatError(f"cannot write there ({e.strerror})", path=path) from None
    os.close(fd)
    os.unlink(tmp)


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
