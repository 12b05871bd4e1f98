"""Serve the FiftyOne App on the built-in demo dataset, for the browser test (run as a process).

    python tests/app_server.py PORT

Creates two datasets from the demo file: ``fiftyone-pose-app`` (skeleton set, as an import
leaves it) and ``fiftyone-pose-app-noskeleton`` (the same without skeletons), keypoints coloured
``SKELETON_COLOR`` so the test can count the pixels of drawn edges, then serves the App on
127.0.0.1:PORT until killed. Environment: the test's FIFTYONE_DATABASE_NAME, FIFTYONE_PLUGINS_DIR.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")

DATASET = "fiftyone-pose-app"
NO_SKELETON = "fiftyone-pose-app-noskeleton"
SKELETON_COLOR = "#ff00ff"
BOX_COLOR = "#00c000"


def main(port: int) -> None:
    import fiftyone as fo

    from fiftyone_pose import formats
    from fiftyone_pose.demo.run import demo_paths
    from fiftyone_pose.fo.api import create_dataset

    labels, images = demo_paths()
    data = formats.read(labels, "coco")
    scheme = fo.ColorScheme(
        color_by="field",
        fields=[
            {"path": "ground_truth", "fieldColor": SKELETON_COLOR},
            {"path": "ground_truth_boxes", "fieldColor": BOX_COLOR},
        ],
    )
    for name in (DATASET, NO_SKELETON):
        ds = create_dataset(data, images, name, overwrite=True, persistent=True, progress=False)
        ds.app_config.color_scheme = scheme
        if name == NO_SKELETON:
            ds.skeletons = {}
            ds.default_skeleton = None
        ds.save()
    session = fo.launch_app(fo.load_dataset(DATASET), port=port, address="127.0.0.1", remote=True, auto=False)
    print(f"serving {session.url}", flush=True)
    session.wait(-1)


if __name__ == "__main__":
    main(int(sys.argv[1]))
