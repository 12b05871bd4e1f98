"""COCO person keypoints (2014/2017, and COCO-like files of other datasets), read and written losslessly.

COCO is the base every COCO-like dataset declares its differences from (``cocolike``): here the
declaration has none. The layout comes from the category's keypoint names (or the ``skeleton``
option), and any COCO-style file is claimed at ``Confidence.WEAK``, below every dataset's own
signature. Reading then writing gives back the same document: ids, key sets, every number with
its int/float type and exact value, segmentations, categories, ``info``/``licenses`` and unknown keys.
"""

from __future__ import annotations

import os
from typing import Any

from ..core.model import PoseData
from ..core.skeleton import Skeleton
from ..core.stream import PoseStream
from .cocolike import SKELETON, CocoLike, load_document

FORMAT = CocoLike(
    name="coco",
    title="COCO",
    flavors={
        "person_keypoints": "COCO person-keypoint JSON (person_keypoints_*.json, COCO-like files of other datasets)",
        "image_info": "COCO test-set image list (images and categories, no annotations)",
    },
    read_options=(SKELETON,),
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, write, encode, write_stream = FORMAT.detect, FORMAT.write, FORMAT.encode, FORMAT.write_stream


def read(path: str | os.PathLike, *, skeleton: Skeleton | str | None = None) -> PoseData:
    """Read a COCO keypoint file. ``skeleton`` forces the layout (else the category decides)."""
    return read_stream(path, skeleton=skeleton).collect()


def read_stream(path: str | os.PathLike, *, skeleton: Skeleton | str | None = None) -> PoseStream:
    """A COCO keypoint file's header, then its persons a chunk at a time."""
    return FORMAT.decode_stream(load_document(path), path=path, skeleton=skeleton)


def decode(doc: Any, *, path: str | os.PathLike | None = None, skeleton: Skeleton | str | None = None) -> PoseData:
    """A parsed COCO document as ``PoseData`` (pure: no disk access; ``doc`` is not changed)."""
    return FORMAT.decode_stream(doc, path=path, skeleton=skeleton).collect()
