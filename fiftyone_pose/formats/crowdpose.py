"""CrowdPose (14 points): the authors' ``crowdpose_{train,val,trainval,test}.json`` and mmpose's copies.

COCO-like, read with ``coco.decode`` and the ``crowdpose`` layout (the category's names, point 12
``"head"``, and its COCO skeleton are kept verbatim but never decide the layout). Specifics:

- ``images[].crowdIndex`` (the image's crowding, in [0, 1]) is kept: a sample field in FiftyOne,
  and ``fiftyone_pose.fo.views.crowd_index`` selects the benchmark's easy / medium / hard images;
- no ``area``: the file is written back without one; a COCO export writes the box area ``w*h``
  (pycocotools needs an area; note that CrowdPose's own evaluator ignores ``area`` and uses
  ``0.53*w*h``, so OKS values differ from crowdposetools unless the areas are rescaled);
- a person without ``iscrowd`` gets 0 in a COCO export and none when written back here;
- visibility is kept as stored (0 unlabeled; 1 and 2 do not reliably separate occluded from
  visible, head and neck are always 1: treat both as "labeled, occlusion unknown");
- ``num_keypoints`` is the file's (it does not count head and neck); a recount (after edits in
  FiftyOne) counts every labeled point.
"""

from __future__ import annotations

import os
from typing import Any

from ..core import skeleton as skeletons
from ..core.model import PoseData
from . import coco
from ._native import coco_like_score, decode_coco_style, encode_coco_style, require_layout, write_coco_style

NAME = "crowdpose"
FLAVORS = {
    "coco": "crowdpose_{train,val,trainval,test}.json (authors) and mmpose_crowdpose_*.json: COCO-like, "
    "14 points, per-image crowdIndex, no area/segmentation",
}


def layout():
    return skeletons.load(NAME)


def detect(path: str | os.PathLike) -> float:
    """A COCO-like file with ``crowdIndex`` images or a category listing the 14 CrowdPose names."""
    sk = layout()
    return coco_like_score(path, ["crowdIndex"], sk.keypoints, sk.meta.get("names_in_distributed_json", ()))


def read(path: str | os.PathLike) -> PoseData:
    """Read a CrowdPose file."""
    return coco.read_document(path, lambda doc: decode(doc, path=path, consume=True))


def write(data: PoseData, path: str | os.PathLike) -> None:
    """Write ``data`` (14-point ``crowdpose`` layout) as a CrowdPose file (atomically, streamed)."""
    require_layout(data, NAME, "CrowdPose")
    write_coco_style(data, path, derived_keys=True)


def decode(doc: Any, *, path: str | os.PathLike | None = None, consume: bool = False) -> PoseData:
    """A parsed CrowdPose document as ``PoseData`` (pure: no disk access)."""
    return decode_coco_style(doc, path=path, layout=NAME, format_name=NAME, derived_keys=True, consume=consume)


def encode(data: PoseData) -> dict[str, Any]:
    """``data`` as a CrowdPose document (pure: no disk access)."""
    require_layout(data, NAME, "CrowdPose")
    return encode_coco_style(data, derived_keys=True)
