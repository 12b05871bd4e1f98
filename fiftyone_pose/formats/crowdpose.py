"""CrowdPose (14 points): the authors' ``crowdpose_{train,val,trainval,test}.json`` and mmpose's copies.

COCO-like, with the ``crowdpose`` layout (the category's names, point 12 ``"head"``, and its COCO
skeleton are kept verbatim but never decide the layout). Specifics:

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

from ..core import skeleton as skeletons
from .cocolike import CocoLike

FORMAT = CocoLike(
    name="crowdpose",
    title="CrowdPose",
    flavors={
        "coco": "crowdpose_{train,val,trainval,test}.json (authors) and mmpose_crowdpose_*.json: COCO-like, "
        "14 points, per-image crowdIndex, no area/segmentation",
    },
    layout="crowdpose",
    keys=("crowdIndex",),
    names=(skeletons.load("crowdpose").keypoints, skeletons.load("crowdpose").meta["names_in_distributed_json"]),
    derived_keys=True,
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, read, write, decode, encode = FORMAT.detect, FORMAT.read, FORMAT.write, FORMAT.decode, FORMAT.encode
read_stream, write_stream = FORMAT.read_stream, FORMAT.write_stream
