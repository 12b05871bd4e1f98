"""A pose dataset that passes a chunk of persons at a time: ``PoseStream``.

A stream is a *header* and an iterator of person *chunks*:

- ``header`` is a ``PoseData`` without persons: the whole images table, the skeleton, the
  categories, ``meta``, ``format``, ``origin`` and ``notes``. Readers add notes while the chunks
  are read, so ``header.notes`` is complete once the chunks are exhausted.
- ``chunks`` yields ``Persons`` in file order; their ``image_index`` points into
  ``header.images``. Persons of one image may be in several chunks (COCO orders annotations by
  id, not by image). A chunk is about one parse chunk of the source file (a few MB), so memory
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

import dataclasses
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .model import Persons, PoseData, person_counts, summary


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

        def chunks() -> Iterator[Persons]:
            for chunk in self:
                out = fn(dataclasses.replace(self.header, persons=chunk, notes={}))
                del chunk
                add_notes(notes, out.notes)
                yield out.persons
                del out

        return PoseStream(header, chunks())

    def summary(self) -> dict[str, object]:
        """``PoseData.summary`` of what has streamed past (complete once the stream is consumed)."""
        return summary(self.header, self._counts)


def add_notes(notes: dict[str, int], more: dict[str, int]) -> None:
    """Add the counts of ``more`` to ``notes``."""
    for reason, count in more.items():
        notes[reason] = notes.get(reason, 0) + count
