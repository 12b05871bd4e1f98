"""Human-Art: ``{training,validation}_humanart*.json`` (and the ``*_coco.json`` unions), COCO-like.

Read with the 17-point ``humanart`` layout (COCO's points): the category lists the 21 names of
``keypoints_21`` although ``keypoints`` holds 17, so the category never decides the layout; it is
kept verbatim. Everything else is kept as the file has it, and written back identical:

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

from ..core import skeleton as skeletons
from .cocolike import CocoLike

FORMAT = CocoLike(
    name="humanart",
    title="Human-Art",
    flavors={
        "coco": "{training,validation}_humanart*.json (and *_humanart_coco.json): COCO-like, 17 points plus "
        "keypoints_21/self_contact per person, scene category and description per image",
    },
    layout="humanart",
    keys=("keypoints_21", "num_keypoints_21"),
    names=(skeletons.load("humanart").meta["variants"]["keypoints_21"]["keypoints"],),
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, read, write, decode, encode = FORMAT.detect, FORMAT.read, FORMAT.write, FORMAT.decode, FORMAT.encode
read_stream, write_stream = FORMAT.read_stream, FORMAT.write_stream
