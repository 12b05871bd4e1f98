"""A pose dataset that passes a chunk of persons at a time: ``PoseStream``.

A stream is a *header* and an iterator of person *chunks*:

- ``header`` is a ``PoseData`` without persons: the whole images table, the skeleton, the
  categories, ``meta``, ``format``, ``origin`` and ``notes``. Readers add notes while the chunks
  are read, so ``header.notes`` is complete once the chunks are exhausted.
- ``chunks`` yields ``Persons`` in file order; their ``image_index`` points into
  ``header.images``. Persons of one image may be in several chunks (COCO orders annotations by
  id, not by image). A chunk is about one parse chunk of the source file (~1 MB), so memory
  is bounded by a chunk plus the images table, whatever the size of the file.

Reading (``formats.read_stream``): the chunks are checked as they are read; an error found late
(a bad record deep in the file) is raised by the iterator, naming file, record and field as
``read`` does. Writing (``formats.write_stream``): the writer consumes the chunks as it writes,
into a temporary file that is renamed into place only when complete, so nothing is written on
failure. A stream is consumed once.

For the FiftyOne layer: an import can hand each chunk (with ``header.images``) to the sample
encoder and insert it before the next is read; an export can build the header from the view's
images and yield one ``Persons`` chunk per cursor batch to ``formats.write_stream``.
"""

from __future__ import annotations

import copyreg
import dataclasses
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO

import numpy as np
import orjson

from .model import Images, Persons, PoseData, images_at, new_rows, person_counts, persons_of_rows, summary


class PoseStream:
    """A header and the person chunks that follow it (see the module doc); consumed once."""

    def __init__(self, header: PoseData, chunks: Iterable[Persons]) -> None:
        if len(header.persons):
            raise ValueError("a stream header holds no persons: they come in the chunks")
        self.header = header
        self._chunks = iter(chunks)
        self._counts = person_counts(header.persons)
        self._consumed = False

    @classmethod
    def of(cls, data: PoseData, chunk_size: int | None = None) -> PoseStream:
        """``data`` as a stream: its persons in chunks of ``chunk_size`` (default: one chunk).

        The header shares ``data.notes``, so notes a writer adds reach ``data``.
        """
        header = dataclasses.replace(data, persons=Persons.empty(data.persons.num_points))
        p = data.persons
        if chunk_size is None or len(p) <= chunk_size:
            return cls(header, [p])
        return cls(header, (p.take(np.arange(lo, min(lo + chunk_size, len(p)))) for lo in range(0, len(p), chunk_size)))

    def __iter__(self) -> Iterator[Persons]:
        """The chunks, each counted for ``summary`` as it passes."""
        if self._consumed:
            raise RuntimeError("a PoseStream is consumed once")
        self._consumed = True
        for chunk in self._chunks:
            self._counts += person_counts(chunk)
            yield chunk
            del chunk  # (not kept while the next chunk is made: one chunk in memory at a time)

    def close(self) -> None:
        """Let go of what reads the chunks not read yet (a worker process, an open file): for a
        stream a failure leaves part-read. Closing again, or a consumed stream, does nothing."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def collect(self) -> PoseData:
        """The whole dataset: the header with every chunk's persons (reads what is left)."""
        chunks = list(self)
        return dataclasses.replace(self.header, persons=Persons.concat(chunks, self.header.persons.num_points))

    def map(self, fn: Callable[[PoseData], PoseData]) -> PoseStream:
        """The stream of ``fn`` applied to the header and to each chunk (as header + chunk).

        ``fn`` must work person by person (``to_layout``, ``with_origin``): its header must not
        depend on the persons. The new stream shares this one's notes: what ``fn`` notes for each
        chunk is added there, beside the reader's notes.
        """
        notes = self.header.notes
        header = fn(dataclasses.replace(self.header, notes={}))
        add_notes(notes, header.notes)
        header = dataclasses.replace(header, notes=notes)

        def convert(chunk: Persons) -> Persons:
            out = fn(dataclasses.replace(self.header, persons=chunk, notes={}))
            add_notes(notes, out.notes)
            return out.persons

        return self._derived(header, convert)

    def take_images(self, rows: Sequence[int]) -> PoseStream:
        """The stream of the images at ``rows`` only, in that order, and their persons (``model.take_images``
        a chunk at a time). The new stream shares this one's notes."""
        taken = np.asarray(rows, np.int64)
        header = dataclasses.replace(self.header, images=images_at(self.header.images, taken))
        new_row = new_rows(len(self.header.images), taken)
        return self._derived(header, lambda chunk: persons_of_rows(chunk, new_row))

    def _derived(self, header: PoseData, convert: Callable[[Persons], Persons]) -> PoseStream:
        """The stream of ``header`` and of ``convert`` applied to each of this stream's chunks."""

        def chunks() -> Iterator[Persons]:
            try:
                for chunk in self:
                    out = convert(chunk)
                    del chunk
                    yield out
                    del out
            finally:  # ``convert`` failed, or the new stream was closed part-read
                self.close()

        return PoseStream(header, _Derived(chunks(), self))

    @property
    def images(self) -> Images:
        """The images table (the header's)."""
        return self.header.images

    @property
    def notes(self) -> dict[str, int]:
        """What reading, converting and writing left out or adjusted (the header's; complete once consumed)."""
        return self.header.notes

    @property
    def format(self) -> str | None:
        """The format read or written (the header's)."""
        return self.header.format

    def summary(self) -> dict[str, object]:
        """``PoseData.summary`` of what has streamed past (complete once the stream is consumed)."""
        return summary(self.header, self._counts)


class _Derived:
    """The chunks of a stream made from another's (``map``, ``take_images``): closing them closes
    that stream too, also before the first chunk (a generator not started ignores ``close``, so
    its own ``finally`` would not run)."""

    def __init__(self, chunks: Iterator[Persons], source: PoseStream) -> None:
        self._chunks, self._source = chunks, source

    def __iter__(self) -> Iterator[Persons]:
        return self

    def __next__(self) -> Persons:
        return next(self._chunks)

    def close(self) -> None:
        try:
            self._chunks.close()
        finally:
            self._source.close()


def add_notes(notes: dict[str, int], more: dict[str, int]) -> None:
    """Add the counts of ``more`` to ``notes``."""
    for reason, count in more.items():
        notes[reason] = notes.get(reason, 0) + count


class SortedSpill:
    """Persons added a batch at a time, given back in the order of a key a chunk at a time: an
    external merge sort through a temporary file, so what is in memory is a piece of each batch.

    ``add`` sorts a batch by its key and writes it in pieces of ``piece`` persons; ``chunks``
    merges the batches, reading each one's pieces in turn. Equal keys keep the order they were
    added in. Each person carries an ``aux`` integer (e.g. a flag the caller needs per person).
    Use as a context manager: the file is deleted on leaving.
    """

    def __init__(self, num_points: int, piece: int = 256) -> None:
        self.num_points, self.piece = num_points, piece
        self._file = tempfile.TemporaryFile(prefix="fiftyone_pose_")
        self._keys: list[np.ndarray] = []
        self._pieces: list[list[tuple[int, int]]] = []  # per batch: (offset, bytes) of each piece

    def __enter__(self) -> SortedSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def __len__(self) -> int:
        return sum(map(len, self._keys))

    def add(self, persons: Persons, keys: np.ndarray, aux: np.ndarray) -> None:
        """Add a batch of persons with their sort keys."""
        order = np.argsort(keys, kind="stable")
        persons, keys, aux = persons.take(order), keys[order], aux[order]
        pieces = []
        for lo in range(0, len(persons), self.piece):
            index = np.arange(lo, min(lo + self.piece, len(persons)))
            offset = self._file.tell()
            pickler(self._file).dump((persons.take(index), aux[index]))
            pieces.append((offset, self._file.tell() - offset))
        self._keys.append(keys)
        self._pieces.append(pieces)

    def chunks(self, size: int) -> Iterator[tuple[Persons, np.ndarray]]:
        """Every person added, in key order, ``size`` at a time, with its ``aux``."""
        self._file.flush()
        keys = np.concatenate(self._keys or [np.zeros(0, np.int64)])
        batch_of = np.repeat(np.arange(len(self._keys)), [len(k) for k in self._keys])
        order = np.argsort(keys, kind="stable")  # equal keys: batch order, then order within the batch
        readers = [_PieceReader(self._file, pieces) for pieces in self._pieces]
        for lo in range(0, len(order), size):
            batches = batch_of[order[lo : lo + size]]
            counts = np.bincount(batches, minlength=len(readers))
            taken = [readers[b].take(int(counts[b]), self.num_points) for b in np.flatnonzero(counts).tolist()]
            persons = Persons.concat([p for p, _ in taken], self.num_points)
            aux = np.concatenate([a for _, a in taken])
            # ``taken`` is grouped by batch; each batch's persons come in key order, as in ``batches``
            back = np.argsort(np.argsort(batches, kind="stable"))
            yield persons.take(back), aux[back]
            del persons, taken


def pickler(file: BinaryIO) -> pickle.Pickler:
    """A pickler of persons to ``file`` (``pickle.load`` reads them back): a segmentation kept as
    JSON text (``model.compact_json``, an ``orjson.Fragment``, which pickle cannot take) as that
    text. One pickler per object sent: a pickler remembers every object it has written."""
    writer = pickle.Pickler(file, pickle.HIGHEST_PROTOCOL)
    writer.dispatch_table = _DISPATCH
    return writer


def _reduce_fragment(fragment: orjson.Fragment) -> tuple:
    return orjson.Fragment, (orjson.dumps(fragment),)


_DISPATCH = {**copyreg.dispatch_table, orjson.Fragment: _reduce_fragment}


class _PieceReader:
    """The persons of one batch of a ``SortedSpill``, read a piece at a time as they are taken."""

    def __init__(self, file, pieces: list[tuple[int, int]]) -> None:
        self.file, self.pieces = file, pieces
        self.next_piece = 0
        self.buffer: tuple[Persons, np.ndarray] | None = None
        self.at = 0  # persons of ``buffer`` already taken

    def take(self, count: int, num_points: int) -> tuple[Persons, np.ndarray]:
        """The next ``count`` persons of the batch."""
        parts = []
        while count:
            if self.buffer is None or self.at == len(self.buffer[1]):
                offset, size = self.pieces[self.next_piece]
                self.next_piece += 1
                self.file.seek(offset)
                self.buffer, self.at = pickle.loads(self.file.read(size)), 0
            persons, aux = self.buffer
            index = np.arange(self.at, min(self.at + count, len(aux)))
            parts.append((persons.take(index), aux[index]))
            self.at += len(index)
            count -= len(index)
        if self.buffer is not None and self.at == len(self.buffer[1]):
            self.buffer = None  # let a finished piece go now
        return Persons.concat([p for p, _ in parts], num_points), np.concatenate([a for _, a in parts])
