"""A file read in a second process, so that parsing it overlaps the work on what it gives.

Parsing a COCO-like file (JSON, then records to arrays) is Python work, and so is what follows
it: encoding the persons as BSON for FiftyOne, or writing another format. Both hold the
interpreter lock, so threads cannot overlap them; two processes can. ``read_stream`` starts a
Python (with this process's import path) running ``worker.main``, which reads the file with
``formats.read_stream`` and sends the header, then each chunk of persons, pickled through a
pipe, while the caller works on the chunks before. The caller gets the header, chunks and
notes the file gives in-process (tests/test_worker.py; the reader's notes are added when the
last chunk is read). A user error (``PoseError``) raised in the worker is raised again here,
with its file, record, field and message, at the same point of the stream (not its traceback:
the error is the file's); anything else is a bug and says so (``WorkerError``, with the
worker's traceback).

A new interpreter rather than ``multiprocessing``: spawning re-runs the caller's main module
(a script without a ``__main__`` guard would run again), and forking a process that holds
pymongo's threads can deadlock. The worker parses up to ``_AHEAD`` chunks ahead of the caller,
and after sending the header keeps of the images table only the ids' lookup: its memory is
the interpreter (~40 MB), a few chunks and their parse, and the images table while it is read
(at 64k COCO images it peaks at ~130 MB, then holds ~80-100 MB). The worker ends with the
stream: read to the end, closed (``PoseStream.close``) or let go.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gc
import io
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from ..core.bulk import usable_cpus
from ..core.errors import PoseError, PoseFormatError, PoseUsageError
from ..core.model import Images, Persons
from ..core.stream import PoseStream, add_notes, pickler
from . import jsonio
from .protocol import Peek

logger = logging.getLogger(__name__)

#: files at least this large are read in a worker when ``parallel`` is not given: starting one
#: costs ~0.3 s (a Python with numpy and this package), which a smaller file does not win back
PARALLEL_BYTES = 32 << 20
#: the read end's buffer: a chunk's message is about a MB
_BUFFER = 1 << 20
#: whether a file descriptor can be passed to the worker (``subprocess``'s ``pass_fds``)
POSIX = os.name == "posix"
#: parts the worker has ready before it waits for the caller to read
_AHEAD = 2
#: how long a worker whose pipe is closed is given to end by itself before it is killed
_EXIT_SECONDS = 0.5


class WorkerError(RuntimeError):
    """The reading process failed with an error that is not the user's (a bug), or ended."""


def wanted(path: str | os.PathLike, parallel: bool | None) -> bool:
    """Whether to read ``path`` in a worker: as asked, else for a large JSON file (a streaming
    format's npz or ``.mat`` flavors are read whole: nothing to overlap) when this process may
    use a second CPU (on one CPU the two processes would only take turns) and can start a
    Python (not in a frozen application). The worker's pipe is passed as a file descriptor,
    which needs a POSIX system (Linux, macOS)."""
    if parallel and not POSIX:
        raise PoseUsageError("reading a file in a second process needs a POSIX system (Linux, macOS)")
    if parallel is not None:
        return parallel
    if not POSIX or getattr(sys, "frozen", False) or not sys.executable:
        return False
    peek = Peek(path)
    return peek.size >= PARALLEL_BYTES and peek.head.lstrip()[:1] in (b"{", b"[") and usable_cpus() > 1


#: the worker's first lines: this process's import path (the package as this process found it,
#: also where it was added at run time, as in a notebook), then ``main``
_BOOT = "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); from {} import main; main()"


def read_stream(
    path: str | os.PathLike,
    format: str,
    options: dict[str, Any],
    fallback: bool = False,
    prepare: Callable[[Persons], Persons] | None = None,
) -> PoseStream:
    """``formats.read_stream(path, format, prepare=prepare, **options)``, read in a worker process
    (which applies ``prepare`` to the chunks it reads while the caller is behind; see ``main``).

    ``fallback``: where the worker cannot start or fails before the header for a reason that is
    not the file's (no Python to start, the package not importable there), read in-process, with
    a warning, instead of raising ``WorkerError``.
    """
    try:
        source = _Source.start()
        try:
            # chunks as this process cuts them
            request = (os.fspath(path), format, options, jsonio.CHUNK_BYTES, prepare)
            source.request(request, last=True)
            header = source.receive("header")
        except BaseException:
            source.close()
            raise
    except (WorkerError, OSError) as e:
        if not fallback:
            raise
        logger.warning("reading %s in this process: %s", os.fspath(path), e)
        from . import read_stream as read_here

        return read_here(path, format, parallel=False, prepare=prepare, **options)
    return PoseStream(header, _Chunks(source, header.notes))


class _Source:
    """The worker process and the read end of its pipe; ``close`` stops and reaps it."""

    def __init__(self, process: subprocess.Popen[bytes], pipe: BinaryIO) -> None:
        self.process, self.pipe = process, pipe
        self._finalizer = weakref.finalize(self, _stop, process, pipe)

    @classmethod
    def start(cls) -> _Source:
        """A new worker, given this process's import path."""
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen(
                # -I: nothing from the working directory or PYTHON* variables before the path is set
                [sys.executable, "-I", "-c", _BOOT.format(__name__), str(write_end)],
                stdin=subprocess.PIPE,
                pass_fds=(write_end,),
                start_new_session=True,  # Ctrl-C reaches the caller only, which stops the worker (``close``)
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        source = cls(process, os.fdopen(read_end, "rb", _BUFFER))
        source.request(sys.path, last=False)
        return source

    def request(self, value: Any, last: bool) -> None:
        """Send ``value`` to the worker's stdin (the import path, then the request), closing it
        after the ``last``."""
        try:
            pickle.dump(value, self.process.stdin, pickle.HIGHEST_PROTOCOL)
            if last:
                self.process.stdin.close()
        except OSError:  # the worker ended already (a broken pipe): say how
            raise WorkerError(f"the process reading the file could not start ({self._ending()})") from None

    def receive(self, expected: str) -> Any:
        """The next message's value: ``expected`` ("header", "chunk"), or an ``_End`` after the last
        chunk; an error sent is raised. Any failure here (Ctrl-C too) stops the worker."""
        try:
            kind, value = pickle.load(self.pipe)
        except (EOFError, pickle.UnpicklingError):  # the pipe ended, maybe within a message
            self.close()
            raise WorkerError(f"the process reading the file ended without a word ({self._ending()})") from None
        except BaseException:
            self.close()
            raise
        if kind == "error":
            self.close()
            raise value
        if kind == "bug":
            self.close()
            raise WorkerError(f"the process reading the file failed:\n{value}")
        if kind != expected and not (kind == "end" and expected == "chunk"):
            self.close()
            raise WorkerError(f"the process reading the file sent {kind!r} where {expected!r} was due")
        return value if kind == expected else _End(value)

    def _ending(self) -> str:
        """How the worker ended (it has, or is about to: its pipe is closed)."""
        try:
            code = self.process.wait(_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            return "it had not ended"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}; its error output says why"

    def close(self) -> None:
        """Stop the worker (if it is still reading) and reap it; again: nothing."""
        self._finalizer()


@dataclasses.dataclass
class _End:
    """The last message: the notes the reader added while the chunks were read."""

    notes: dict[str, int]


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

    def close(self) -> None:
        """Stop the worker of a stream left part-read (``PoseStream.close``)."""
        self.source.close()


def _stop(process: subprocess.Popen[bytes], pipe: BinaryIO) -> None:
    """Stop the worker and reap it: one that has sent everything is let end by itself."""
    pipe.close()
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(_EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _release_freed_memory() -> None:
    """Give the memory the header's parse freed back to the system (glibc keeps it for reuse
    otherwise): the worker then holds ~100 MB instead of ~125 MB while 64k COCO images' persons
    stream. Nothing where the C library is not glibc."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _unsendable(kind: str, value: Any, first: int, path: str) -> BaseException:
    """The error for a part that could not be pickled: a value in it nested deeper than JSON text
    holds (pickling fails at ~490 levels on Python 3.11, ~740 on 3.12, far past JSON text's 254),
    named with its record and key. A part without one is a bug."""
    if kind == "header":
        values = [(None, {"categories": value.categories, **value.meta})]
        values += [(value.images.record(i), extra) for i, extra in enumerate(value.images.extras)]
    elif kind == "chunk":
        values = [
            (f"persons[{first + j}] (id {value.ids[j]})", {"segmentation": value.segmentations[j], **value.extras[j]})
            for j in range(len(value))
        ]
    else:
        values = []
    for record, keys in values:
        for key, v in keys.items():
            if (depth := jsonio.nesting(v)) > jsonio.JSON_NESTING:
                return PoseFormatError(
                    f"nested {depth} levels deep, more than JSON text holds ({jsonio.JSON_NESTING}): it cannot be kept",
                    path=path,
                    record=record,
                    field=key,
                )
    return RuntimeError(f"a {kind} could not be pickled, and none of its values is nested too deep")


def main() -> None:
    """The worker: read the file asked for on stdin; send each part to the pipe named by argv[1].

    A thread writes the pickled parts to the pipe while the next chunk is parsed, so the parse
    waits for the caller only when ``_AHEAD`` chunks are waiting to be read. The caller's
    ``prepare`` is applied to a chunk only while the caller is behind (a part sent is still waiting
    or being written: parts are larger than the pipe's 64 kB buffer); when the caller waits for
    chunks, it does that work itself, so the two processes share it (idle, COCO 64k: its persons
    are all read 0.1-0.2 s sooner, COCO-WholeBody 30k: 0.6-0.9 s sooner, than with every chunk
    prepared here). A part the writer thread has not yet taken up counts as unread too, so on a
    busy machine more chunks are prepared here, as they all were before.
    """
    gc.disable()  # short-lived, and parsing makes no cycles (see core.bulk.paused_gc)
    from . import read_stream as read

    out = os.fdopen(int(sys.argv[1]), "wb")
    outbox: queue.Queue[memoryview | None] = queue.Queue(maxsize=_AHEAD)

    unread = threading.Event()  # set while a part is being written: the caller has not read it all

    def write() -> None:
        try:
            while (message := outbox.get()) is not None:
                unread.set()
                out.write(message)
                out.flush()
                unread.clear()
            out.close()
        except BrokenPipeError:  # the caller stopped reading (it had what it needed, or failed)
            os._exit(0)
        except BaseException:  # the caller sees the pipe end, and the exit code
            traceback.print_exc()
            os._exit(1)

    def send(kind: str, value: Any, first: int = 0) -> None:
        message = io.BytesIO()
        try:
            pickler(message).dump((kind, value))
        except RecursionError:  # pickle recurses per level of nesting: name the value
            raise _unsendable(kind, value, first, path) from None
        outbox.put(message.getbuffer())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        path, format, options, jsonio.CHUNK_BYTES, prepare = pickle.load(sys.stdin.buffer)
        stream = read(path, format, parallel=False, **options)
        before = dict(stream.header.notes)
        send("header", stream.header)
        stream.header = dataclasses.replace(stream.header, images=Images.empty())  # the caller's now
        _release_freed_memory()
        sent = 0  # persons sent so far
        for chunk in stream:
            behind = unread.is_set() or not outbox.empty()
            send("chunk", prepare(chunk) if prepare is not None and behind else chunk, sent)
            sent += len(chunk)
            del chunk
        send("end", {k: v - before.get(k, 0) for k, v in stream.header.notes.items() if v != before.get(k, 0)})
    except PoseError as e:
        try:
            send("error", e)
        except Exception:  # an error that cannot be pickled is a bug of its own
            send("bug", traceback.format_exc())
    except BaseException:
        send("bug", traceback.format_exc())
    outbox.put(None)
    writer.join()
