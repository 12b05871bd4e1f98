"""What an import does to each chunk of persons where the file is read, so that it overlaps the
rest of the import: ``formats.read_stream``'s ``prepare``, run in the parsing process when there
is one (``formats.worker``), on the chunks it reads while the importing process is behind; the
encoder takes a segmentation encoded or not. Each segmentation becomes its BSON element.

A segmentation (COCO's polygons or RLE) is the one person value without a fixed shape in most
files. Encoded in the importing process, it was pickled as Python lists, unpickled there, then
encoded: ~0.9 of that process's ~3.9 CPU seconds before the samples are built, COCO 64k. Encoded
where it is parsed, it crosses the pipe as bytes. This module imports no FiftyOne (nor does
anything it imports), so the parsing process stays small and starts fast.
"""

from __future__ import annotations

import dataclasses

import bson

from ..core.model import Persons, plain_json

#: the key a person's segmentation is stored under in its keypoint label
SEGMENTATION = "segmentation"


class Elements(bytes):
    """BSON elements, without a document around them: joined into one as they are."""


def encode_segmentations(persons: Persons) -> Persons:
    """``persons`` with each segmentation BSON can hold as its ``Elements`` (``segmentation``: value).

    One that it cannot hold (an integer beyond int64, a NUL in a key, nesting too deep for
    pymongo) stays as it is: the encoder keeps it as JSON text, or names it. An absent one
    (None) stays None."""
    segmentations = []
    for value in persons.segmentations:
        if value is not None:
            try:
                value = Elements(bson.encode({SEGMENTATION: plain_json(value)})[4:-1])
            except (bson.errors.InvalidDocument, OverflowError, RecursionError):
                pass
        segmentations.append(value)
    return dataclasses.replace(persons, segmentations=segmentations)
