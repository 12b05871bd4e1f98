"""Halpe Full-Body (136 points): a COCO-like file whose ``keypoints`` hold 136 triplets.

Differences from COCO, all handled here on top of ``coco.decode`` / ``coco.encode``:

- the layout is ``halpe`` (body 0-25 incl. head, neck, hip and feet, face 26-93, left hand
  94-114, right hand 115-135); ``categories[0].keypoints`` and ``skeleton`` are empty lists in the
  shipped files, so the layout never comes from the category, and the empty lists are written back;
- ``v = 0`` points may carry real coordinates: they are unlabeled (hidden in FiftyOne) and the
  coordinates are written back as given;
- ``num_keypoints`` counts labeled points among the first 17 (COCO body) only: the file's value is
  kept, and a recount (after edits in FiftyOne) counts those 17;
- image names are kept exactly as given: train images are HICO-DET's
  (``HICO_train2015_XXXXXXXX.jpg``, the source prefix is part of the name, nothing is stripped or
  added), validation images are COCO ``val2017`` names and ids. The two splits live in different
  image trees, so each file is imported with its own ``images_dir``. An image list without
  ``annotations`` (test-set style) is read and written back without that key, as in COCO.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.layouts import coco_body_indices
from ..core.model import PoseData
from . import coco

NAME = "halpe"
FLAVORS = {
    "v1": "Halpe Full-Body halpe_{train,val}_v1.json (136 points: body with head/neck/hip/feet, face, hands)",
}
NUM_POINTS = 136

#: a complete numeric ``"keypoints": [...]`` list (category name lists do not match)
_NUMERIC_KEYPOINTS = re.compile(rb'"keypoints"\s*:\s*\[([-+0-9.eE,\s]*)\]')


def detect(path: str | os.PathLike) -> float:
    """Confidence that ``path`` is a Halpe file: COCO-like, with 408-value keypoint lists.

    Real files list their images first, so the annotations are looked for in the last bytes too.
    Without a complete annotation in sight, an empty category name list is weaker evidence.
    """
    if coco.detect(path) < 0.5:
        return 0.0
    text = coco._head(path) + coco._tail(path)
    lengths = {len(m.group(1).split(b",")) if m.group(1).strip() else 0 for m in _NUMERIC_KEYPOINTS.finditer(text)}
    if 3 * NUM_POINTS in lengths:
        return 0.9
    if lengths - {0}:  # complete keypoint lists of another size: another layout
        return 0.0
    return 0.55 if 0 in lengths and b'"num_keypoints"' in text else 0.0


def read(path: str | os.PathLike) -> PoseData:
    """Read a Halpe file."""
    return coco.read_document(path, lambda doc: decode(doc, path=path))


def write(data: PoseData, path: str | os.PathLike) -> None:
    """Write ``data`` (136-point ``halpe`` layout) as a Halpe file (atomically, streamed)."""
    coco.write(_as_coco(data), path)


def decode(doc: Any, *, path: str | os.PathLike | None = None) -> PoseData:
    """Turn a parsed Halpe document into 136-point ``PoseData`` (pure: no disk access)."""
    return coco.decode(doc, path=path, skeleton=NAME, format_name=NAME)


def encode(data: PoseData) -> dict[str, Any]:
    """Turn 136-point ``PoseData`` into a Halpe document (pure: no disk access)."""
    return coco.encode(_as_coco(data))


def _as_coco(data: PoseData) -> PoseData:
    """136-point data as the COCO writer takes it for a Halpe file (body-only recount, no invented ``info``)."""
    halpe = skeletons.load(NAME)
    if tuple(data.skeleton.keypoints) != halpe.keypoints:
        raise ValueError(
            f"Halpe needs the '{NAME}' layout ({halpe.num_keypoints} points); this data has "
            f"'{data.skeleton.name}' ({data.skeleton.num_keypoints} points): pass layout='{NAME}' to convert by name"
        )
    p = data.persons
    body = coco_body_indices(halpe)
    counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (p.visibility[:, body] > 0).sum(axis=1))
    return dataclasses.replace(
        data,
        persons=dataclasses.replace(p, num_keypoints=counts),
        # a Halpe file without "info" is written back without one (coco.encode adds it otherwise)
        format=coco.NAME if data.format == NAME else data.format,
    )
