"""A file read in a second process, so that parsing it overlaps the work on what it gives.

Parsing a COCO-like file (JSON, then records to arrays) is Python work, and so is what follows
it: encoding the persons as BSON for FiftyOne, or writing another format. Both hold the
interpreter lock, so threads cannot overlap them; two processes can. ``read_stream`` starts a
Python running ``worker.main``, which reads the file with ``formats.read_stream``
and sends the header, then each chunk of persons, pickled through a pipe, while the caller
works on the chunks before. The caller gets the ``PoseStream`` the file gives in-process
(tests/test_worker.py), its errors included: a user error (``PoseError``) raised in the worker
is raised again here with its file, record and field, at the same point of the stream;
anything else is a bug and says so, with the worker's traceback (``WorkerError``).

A new interpreter rather than ``multiprocessing``: spawning re-runs the caller's main module
(a script without a ``__main__`` guard would run again), and forking a process that holds
pymongo's threads can deadlock. The pipe holds a chunk or so, so the worker reads ahead by
about one chunk: memory stays bounded by a chunk in each process, plus the images table.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
import weakref
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..core.errors import PoseError, PoseUsageError
from ..core.model import Images, Persons
from ..core.stream import PoseStream, add_notes, pickler
from . import jsonio
from .protocol import Peek

#: files at least this large are read in a worker when ``parallel`` is not given: starting one
#: costs ~0.2 s, which a smaller file does not win back
PARALLEL_BYTES = 32 << 20
_BUFFER = 1 << 20
#: whether a file descriptor can be passed to the worker (``subprocess``'s ``pass_fds``)
POSIX = os.name == "posix"
#: parts the worker has ready before it waits for the caller to read
_AHEAD = 2


class WorkerError(RuntimeError):
    """The reading process failed with an error that is not the user's (a bug), or ended."""


def wanted(path: str | os.PathLike, parallel: bool | None) -> bool:
    """Whether to read ``path`` in a worker: as asked, else for a large JSON file (a streaming
    format's npz or ``.mat`` flavors are read whole: nothing to overlap) when this process may
    use a second CPU (on one CPU the two processes would only take turns). The worker's pipe is
    passed as a file descriptor, which needs a POSIX system (Linux, macOS)."""
    if parallel and not POSIX:
        raise PoseUsageError("parallel reading needs a POSIX system (Linux, macOS); pass parallel=False")
    if parallel is not None:
        return parallel
    peek = Peek(path)
    return POSIX and peek.size >= PARALLEL_BYTES and peek.head.lstrip()[:1] in (b"{", b"[") and _usable_cpus() > 1


def _usable_cpus() -> int:
    """The CPUs this process may run on (all of the machine's where the system cannot say)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_stream(path: str | os.PathLike, format: str, options: dict[str, Any]) -> PoseStream:
    """``formats.read_stream(path, format, **options)``, read in a worker process."""
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import main; main()", str(write_end)],
            stdin=subprocess.PIPE,
            pass_fds=(write_end,),
            start_new_session=True,  # Ctrl-C reaches the caller only, which stops the worker
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    source = _Source(process, os.fdopen(read_end, "rb", _BUFFER))
    try:
        with process.stdin:
            request = (os.fspath(path), format, options, jsonio.CHUNK_BYTES)  # chunks as this process would cut them
            pickle.dump(request, process.stdin, pickle.HIGHEST_PROTOCOL)
        header = source.receive("header")
    except BaseException:
        source.close()
        raise
    return PoseStream(header, _Chunks(source, header.notes))


class _Source:
    """The worker process and the read end of its pipe; ``close`` stops and reaps it."""

    def __init__(self, process: subprocess.Popen, pipe: BinaryIO) -> None:
        self.process, self.pipe = process, pipe
        self._finalizer = weakref.finalize(self, _stop, process, pipe)

    def receive(self, expected: str) -> Any:
        """The next message's value: ``expected`` ("header", "chunk") or "end"; an error sent is raised."""
        try:
            kind, value = pickle.load(self.pipe)
        except (EOFError, pickle.UnpicklingError):  # the pipe ended, maybe within a message
            self.close()
            raise WorkerError(
                f"the process reading the file ended without a word (exit code {self.process.returncode})"
            ) from None
        if kind == "error":
            self.close()
            raise value
        if kind == "bug":
            self.close()
            raise WorkerError(f"the process reading the file failed:\n{value}")
        if kind not in (expected, "end"):
            raise WorkerError(f"the process reading the file sent {kind!r} where {expected!r} was due")
        return value if kind == expected else _End(value)

    def close(self) -> None:
        self._finalizer()


class _End:
    """The last message: the notes the reader added while the chunks were read."""

    def __init__(self, notes: dict[str, int]) -> None:
        self.notes = notes


class _Chunks:
    """The chunks a worker sends; at the end its notes are added to the header's."""

    def __init__(self, source: _Source, notes: dict[str, int]) -> None:
        self.source, self.notes = source, notes

    def __iter__(self) -> Iterator[Persons]:
        return self

    def __next__(self) -> Persons:
        value = self.source.receive("chunk")
        if isinstance(value, _End):
            self.source.close()
            add_notes(self.notes, value.notes)
            raise StopIteration
        return value


def _stop(process: subprocess.Popen, pipe: BinaryIO) -> None:
    """Stop the worker (if it is still reading) and reap it."""
    pipe.close()
    if process.poll() is None:
        process.kill()
    process.wait()


def main() -> None:
    """The worker: read the file asked for on stdin; send each part to the pipe named by argv[1].

    A thread writes the pickled parts to the pipe while the next chunk is parsed, so the parse
    waits for the caller only when ``_AHEAD`` chunks are waiting to be read.
    """
    gc.disable()  # short-lived, and parsing makes no cycles (see core.bulk.paused_gc)
    from . import read_stream as read

    out = os.fdopen(int(sys.argv[1]), "wb")
    outbox: queue.Queue[memoryview | None] = queue.Queue(maxsize=_AHEAD)

    def write() -> None:
        try:
            while (message := outbox.get()) is not None:
                out.write(message)
                out.flush()
            out.close()
        except BrokenPipeError:  # the caller stopped reading (it had what it needed, or failed)
            os._exit(0)

    def send(kind: str, value: Any) -> None:
        message = io.BytesIO()
        pickler(message).dump((kind, value))
        outbox.put(message.getbuffer())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        path, format, options, jsonio.CHUNK_BYTES = pickle.load(sys.stdin.buffer)
        stream = read(path, format, parallel=False, **options)
        before = dict(stream.header.notes)
        send("header", stream.header)
        stream.header = dataclasses.replace(stream.header, images=Images.empty())  # the caller's now
        for chunk in stream:
            send("chunk", chunk)
            del chunk
        send("end", {k: v - before.get(k, 0) for k, v in stream.header.notes.items() if v != before.get(k, 0)})
    except PoseError as e:
        send("error", e)
    except BaseException:
        send("bug", traceback.format_exc())
    outbox.put(None)
    writer.join()
