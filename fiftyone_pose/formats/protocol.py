"""What every format module is: the verbs, the declared options, detection levels and the peek.

Every module registered in ``formats.REGISTRY`` satisfies ``Format`` (a test checks each one):

- ``NAME`` (the registry name), ``FLAVORS`` (flavor -> the files it is), ``ORIGIN`` (0, or 1
  where the files count pixels from 1: ``formats.write`` hands ``write`` data in that origin),
  ``READ_OPTIONS`` / ``WRITE_OPTIONS`` (``OptionSpec``: the keyword arguments ``read`` / ``write``
  take, listed by ``fiftyone-pose formats``) and ``STREAMING`` (what reads and writes a chunk of
  persons at a time, and why the rest cannot);
- ``detect(peek) -> Confidence``: from a ``Peek`` at the file, never raising;
- ``read(path, **options) -> PoseData`` and ``write(data, path, **options)`` (atomic), which
  returns None, or what it left out or adjusted (reason -> count; ``formats.write`` adds it to
  the notes of the data it returns);
- the pure ``decode(doc, *, path=None) -> PoseData`` and ``encode(data, **options)``: no disk.

A module may be more, each declared by a protocol of its own (checked with ``isinstance``, never
by probing for attributes):

- ``StreamingFormat`` (the COCO-like ones, AI Challenger, Human3.6M, YOLO): ``read_stream(path,
  **options) -> PoseStream`` and ``write_stream(stream, path, **options)``; a file of a flavor
  that does not stream comes as one chunk;
- ``FolderFormat`` (YOLO): a dataset that is a folder of images and labels. ``images_root(path)``
  is the folder the file names of ``read(path)`` are relative to, ``sample_tags(data)`` takes
  the images' splits out as FiftyOne sample tags, and its ``write`` places the image files: it
  takes their ``sources`` and the samples' ``tags`` (declared write options). Its label rows are
  points, box and class only: it writes no segmentation, extra key or part box
  (``formats.writes_attributes``), so a FiftyOne export does not read them;
- ``PredictionsFormat`` (``coco_results``): model predictions, added to the dataset they were
  predicted on, never imported as a dataset: ``not_a_dataset(path)`` is the error that says so.
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..core.errors import PoseUsageError
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
class OptionSpec:
    """A keyword argument of a format's ``read`` or ``write``, declared (not to be confused with
    ``core.errors.Option``, an option an error message tells the user to pass)."""

    name: str
    help: str
    #: the values it takes, where they are a fixed set
    choices: tuple[str, ...] | None = None


#: ``images_dir``, the read option of formats whose files lack image sizes
IMAGES_DIR = OptionSpec("images_dir", "folder of the images: read the sizes the file lacks from their headers")

#: bytes of the start and of the end of a file that detection looks at
PEEK_BYTES = 1 << 16


class Peek:
    """What detection may look at, read once per path and shared by every format's ``detect``.

    ``head`` and ``tail`` are the first and last ``PEEK_BYTES`` of a file (both from one open;
    COCO-style files list their images first, so ``categories`` and annotations are near the
    end), ``text`` both; ``size``, ``is_dir``, ``is_file``, ``name``; for a folder, ``entries``
    (its file names), ``folders`` (its sub-folder names) and ``child(name)`` (a ``Peek`` at one
    of its files). Nothing raises: an unreadable path peeks as empty.
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
    def _listing(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The names of a folder's files and of its sub-folders (one scan; empty for a file)."""
        if not self.is_dir:
            return (), ()
        try:
            with os.scandir(self.path) as it:
                found = [(e.name, e.is_file(), e.is_dir()) for e in it]
        except OSError:
            return (), ()
        return tuple(sorted(n for n, f, _ in found if f)), tuple(sorted(n for n, _, d in found if d))

    @property
    def entries(self) -> tuple[str, ...]:
        """The names of the files in a folder (empty for a file)."""
        return self._listing[0]

    @property
    def folders(self) -> tuple[str, ...]:
        """The names of the sub-folders of a folder (empty for a file)."""
        return self._listing[1]

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
    READ_OPTIONS: Sequence[OptionSpec]
    WRITE_OPTIONS: Sequence[OptionSpec]
    STREAMING: str

    def detect(self, peek: Peek) -> Confidence: ...

    def read(self, path: str | os.PathLike, **options: Any) -> PoseData: ...

    def write(self, data: PoseData, path: str | os.PathLike, **options: Any) -> dict[str, int] | None: ...

    def decode(self, doc: Any, *, path: str | os.PathLike | None = None) -> PoseData: ...

    def encode(self, data: PoseData, **options: Any) -> Any: ...


@runtime_checkable
class StreamingFormat(Format, Protocol):
    """A format module that reads and writes a chunk of persons at a time."""

    def read_stream(self, path: str | os.PathLike, **options: Any) -> PoseStream: ...

    def write_stream(self, stream: PoseStream, path: str | os.PathLike, **options: Any) -> None: ...


@runtime_checkable
class FolderFormat(Format, Protocol):
    """A format whose dataset is a folder of images and labels (YOLO): see the module doc."""

    def images_root(self, path: str | os.PathLike) -> Path: ...

    def sample_tags(self, data: PoseData) -> tuple[PoseData, list[list[str]] | None]: ...


@runtime_checkable
class PredictionsFormat(Format, Protocol):
    """A format of model predictions (``coco_results``): see the module doc."""

    def not_a_dataset(self, path: str | os.PathLike) -> PoseUsageError: ...
