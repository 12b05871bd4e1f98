"""What every format module is: the verbs, the declared options, detection levels and the peek.

Every module registered in ``formats.REGISTRY`` satisfies ``Format`` (a test checks each one):

- ``NAME`` (the registry name), ``FLAVORS`` (flavor -> the files it is), ``ORIGIN`` (0, or 1
  where the files count pixels from 1: ``formats.write`` hands ``write`` data in that origin),
  ``READ_OPTIONS`` / ``WRITE_OPTIONS`` (``Option``: the keyword arguments ``read`` / ``write``
  take, listed by ``fiftyone-pose formats``) and ``STREAMING`` (what reads and writes a chunk of
  persons at a time, and why the rest cannot);
- ``detect(peek) -> Confidence``: from a ``Peek`` at the file, never raising;
- ``read(path, **options) -> PoseData`` and ``write(data, path, **options)`` (atomic);
- the pure ``decode(doc, *, path=None) -> PoseData`` and ``encode(data, **options)``: no disk.

Modules that can stream (the COCO-like ones) are also ``StreamingFormat``: ``read_stream(path,
**options) -> PoseStream`` and ``write_stream(stream, path, **options)``; a file of a flavor that
does not stream comes as one chunk.
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..core.model import PoseData
from ..core.stream import PoseStream


class Confidence(enum.IntEnum):
    """How sure a format is that a file is its own. The highest level wins; a tie at the top is
    ambiguous (the user names the format), and ``NO`` everywhere means unknown."""

    #: the content rules this format out
    NO = 0
    #: the file has this format's general structure, but nothing sets it apart (any COCO-style
    #: JSON for COCO, any MATLAB file for MHP's ``.mat`` reader): a dataset's signature beats it
    WEAK = 1
    #: a sign of this dataset that another could share: its category's keypoint names, its file name
    LIKELY = 2
    #: a key or structure only this dataset's files have
    CERTAIN = 3


@dataclass(frozen=True)
class Option:
    """A keyword argument of a format's ``read`` or ``write``."""

    name: str
    help: str
    #: the values it takes, where they are a fixed set
    choices: tuple[str, ...] | None = None


#: ``images_dir``, the read option of formats whose files lack image sizes
IMAGES_DIR = Option("images_dir", "folder of the images: read the sizes the file lacks from their headers")

#: bytes of the start and of the end of a file that detection looks at
PEEK_BYTES = 1 << 16


class Peek:
    """What detection may look at, read once per path and shared by every format's ``detect``.

    ``head`` and ``tail`` are the first and last ``PEEK_BYTES`` of a file (both from one open;
    COCO-style files list their images first, so ``categories`` and annotations are near the
    end), ``text`` both; ``size``, ``is_dir``, ``is_file``, ``name``; for a folder, ``entries``
    (its file names) and ``child(name)`` (a ``Peek`` at one of them). Nothing raises: an
    unreadable path peeks as empty.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self._children: dict[str, Peek] = {}

    @functools.cached_property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    @functools.cached_property
    def is_file(self) -> bool:
        return self.path.is_file()

    @functools.cached_property
    def _bytes(self) -> tuple[bytes, bytes, int]:
        if not self.is_file:
            return b"", b"", 0
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                head = f.read(PEEK_BYTES)
                if size <= PEEK_BYTES:
                    return head, head, size
                f.seek(max(size - PEEK_BYTES, PEEK_BYTES))
                return head, f.read(PEEK_BYTES), size
        except OSError:
            return b"", b"", 0

    @property
    def head(self) -> bytes:
        return self._bytes[0]

    @property
    def tail(self) -> bytes:
        return self._bytes[1]

    @property
    def size(self) -> int:
        return self._bytes[2]

    @functools.cached_property
    def text(self) -> bytes:
        """The head and the tail (the whole file when it is small)."""
        return self.head if self.size <= PEEK_BYTES else self.head + self.tail

    @functools.cached_property
    def entries(self) -> tuple[str, ...]:
        """The names of the files in a folder (empty for a file)."""
        if not self.is_dir:
            return ()
        try:
            return tuple(sorted(e.name for e in os.scandir(self.path) if e.is_file()))
        except OSError:
            return ()

    def child(self, name: str) -> Peek:
        """A peek at the file ``name`` in this folder (one per name)."""
        if name not in self._children:
            self._children[name] = Peek(self.path / name)
        return self._children[name]


@runtime_checkable
class Format(Protocol):
    """A format module (see the module doc)."""

    NAME: str
    FLAVORS: Mapping[str, str]
    ORIGIN: int
    READ_OPTIONS: Sequence[Option]
    WRITE_OPTIONS: Sequence[Option]
    STREAMING: str

    def detect(self, peek: Peek) -> Confidence: ...

    def read(self, path: str | os.PathLike, **options: Any) -> PoseData: ...

    def write(self, data: PoseData, path: str | os.PathLike, **options: Any) -> None: ...

    def decode(self, doc: Any, *, path: str | os.PathLike | None = None) -> PoseData: ...

    def encode(self, data: PoseData, **options: Any) -> Any: ...


@runtime_checkable
class StreamingFormat(Format, Protocol):
    """A format module that reads and writes a chunk of persons at a time."""

    def read_stream(self, path: str | os.PathLike, **options: Any) -> PoseStream: ...

    def write_stream(self, stream: PoseStream, path: str | os.PathLike, **options: Any) -> None: ...
