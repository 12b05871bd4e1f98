"""PoseTrack18 (17 points), COCO-style: the authors' one file per video and mmpose's merged files.

The authors ship ``annotations/{train,val}/<video>.json``, one COCO-like file per video, and mmpose
merges them into ``posetrack18_{train,val}.json`` (many videos in one file, with image sizes).
Both are COCO-like, declared here by what differs from COCO; everything is kept and written back
as the file has it:

- the ``posetrack`` layout: COCO's points with ``head_bottom`` and ``head_top`` in place of the
  eyes; the ears are never labelled. The category (these names, with COCO's 1-based skeleton,
  which refers to the eyes) is kept verbatim but does not decide the layout;
- per image (a frame): ``vid_id``, ``frame_id``, ``is_labeled``, ``nframes``, the polygons
  ``ignore_regions_x`` / ``ignore_regions_y`` and any other key: sample fields in FiftyOne.
  Unlabelled frames hold no persons. An image without ``width`` / ``height`` is written back
  without them; a FiftyOne import reads its size from the image (and an export writes it);
- per person: ``track_id``, ``bbox_head`` and any other key: keypoint attributes in FiftyOne (a
  ``person_id`` key, FiftyOne's name for the record's ``id`` here, is kept as extra JSON);
- a person without ``area``, ``iscrowd`` or ``num_keypoints`` is written back without them; a
  COCO export writes the box area ``w*h``, ``iscrowd`` 0 and the count for pycocotools;
- visibility is kept as stored: the files flag a labelled point 1 (occlusion is not annotated).

``file_name`` is ``images/<split>/<video>/<frame>.jpg``: import with ``images_dir`` set to the
dataset root, the folder that holds ``images/``. Video grouping (a FiftyOne video per sequence) is
not done: each frame is a sample, ``vid_id`` and ``frame_id`` say where it belongs.
"""

from __future__ import annotations

from ..core import skeleton as skeletons
from .cocolike import CocoLike

FORMAT = CocoLike(
    name="posetrack",
    title="PoseTrack18",
    flavors={
        "video": "PoseTrack18 annotations/{train,val}/<video>.json (authors): one COCO-like file per video, "
        "17 points, vid_id/frame_id/ignore regions per frame, track_id/bbox_head per person",
        "merged": "mmpose posetrack18_{train,val}.json: the videos' files in one, with image sizes",
    },
    layout="posetrack",
    keys=("vid_id", "bbox_head", "ignore_regions_x"),  # not ``track_id``: other tracking files have it
    names=(skeletons.load("posetrack").keypoints,),
    derived_keys=True,
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, read, write, decode, encode = FORMAT.detect, FORMAT.read, FORMAT.write, FORMAT.decode, FORMAT.encode
read_stream, write_stream = FORMAT.read_stream, FORMAT.write_stream
