"""Halpe Full-Body (136 points): a COCO-like file whose ``keypoints`` hold 136 triplets.

Differences from COCO, declared here on the COCO-like base:

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

import re

from ..core import skeleton as skeletons
from .cocolike import CocoLike, coco_structure
from .protocol import Confidence, Peek

NUM_POINTS = skeletons.load("halpe").num_keypoints

#: a complete numeric ``"keypoints": [...]`` list (category name lists do not match)
_NUMERIC_KEYPOINTS = re.compile(rb'"keypoints"\s*:\s*\[([-+0-9.eE,\s]*)\]')


class Halpe(CocoLike):
    def detect(self, peek: Peek) -> Confidence:
        """COCO-like, with 408-value keypoint lists (looked for in the last bytes too: real files
        list their images first)."""
        if not coco_structure(peek):
            return Confidence.NO
        lengths = {
            len(m.group(1).split(b",")) if m.group(1).strip() else 0 for m in _NUMERIC_KEYPOINTS.finditer(peek.text)
        }
        return Confidence.CERTAIN if 3 * NUM_POINTS in lengths else Confidence.NO


FORMAT = Halpe(
    name="halpe",
    title="Halpe",
    flavors={
        "v1": "Halpe Full-Body halpe_{train,val}_v1.json (136 points: body with head/neck/hip/feet, face, hands)",
    },
    layout="halpe",
    counts="coco",
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, read, write, decode, encode = FORMAT.detect, FORMAT.read, FORMAT.write, FORMAT.decode, FORMAT.encode
read_stream, write_stream = FORMAT.read_stream, FORMAT.write_stream
