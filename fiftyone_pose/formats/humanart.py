"""Human-Art: ``{training,validation}_humanart*.json`` (and the ``*_coco.json`` unions), COCO-like.

Read with ``coco.decode`` and the 17-point ``humanart`` layout (COCO's points): the category lists the
21 names of ``keypoints_21`` although ``keypoints`` holds 17, so the category never decides the
layout; it is kept verbatim. Everything else is kept as the file has it, and written back
identical:

- per image: ``category`` (the scenario: cartoon, oil painting, ...), ``description``, ``author``,
  ``page_url``, ``image_url``, ``picture_name`` and any other key (sample fields in FiftyOne;
  ``fiftyone_pose.fo.views.scene_category`` selects scenarios and real / 2D / 3D-virtual images);
- per person: ``keypoints_21`` (63 numbers), ``num_keypoints_21``, ``self_contact`` (flat or nested,
  as stored), ``annotator`` and any other key (keypoint attributes in FiftyOne). Edits made in
  FiftyOne change ``keypoints``, not ``keypoints_21``.

``file_name`` carries the dataset-root prefix (``HumanArt/images/...``): import with ``images_dir``
set to the folder that contains ``HumanArt/``. Ids above 2^31 are kept (64-bit).
"""

from __future__ import annotations

import os
from typing import Any

from ..core import skeleton as skeletons
from ..core.model import PoseData
from . import coco
from ._native import coco_like_score, decode_coco_style, encode_coco_style, require_layout, write_coco_style

NAME = "humanart"
FLAVORS = {
    "coco": "{training,validation}_humanart*.json (and *_humanart_coco.json): COCO-like, 17 points plus "
    "keypoints_21/self_contact per person, scene category and description per image",
}


def layout():
    return skeletons.load(NAME)


def detect(path: str | os.PathLike) -> float:
    """A COCO-like file with ``keypoints_21`` persons or a category listing the 21 Human-Art names."""
    return coco_like_score(
        path, ["keypoints_21", "num_keypoints_21"], layout().meta["variants"]["keypoints_21"]["keypoints"]
    )


def read(path: str | os.PathLike) -> PoseData:
    """Read a Human-Art file."""
    return coco.read_document(path, lambda doc: decode(doc, path=path, consume=True))


def write(data: PoseData, path: str | os.PathLike) -> None:
    """Write ``data`` (17-point layout) as a Human-Art file (atomically, streamed)."""
    require_layout(data, NAME, "Human-Art")
    write_coco_style(data, path)


def decode(doc: Any, *, path: str | os.PathLike | None = None, consume: bool = False) -> PoseData:
    """A parsed Human-Art document as ``PoseData`` (pure: no disk access)."""
    return decode_coco_style(doc, path=path, layout=NAME, format_name=NAME, consume=consume)


def encode(data: PoseData) -> dict[str, Any]:
    """``data`` as a Human-Art document (pure: no disk access)."""
    require_layout(data, NAME, "Human-Art")
    return encode_coco_style(data)
