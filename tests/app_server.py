"""Serve the FiftyOne App on the built-in demo dataset, for the browser test (run as a process).

    python tests/app_server.py PORT [WORK_DIR]

Creates two datasets from the demo file: ``fiftyone-pose-app`` (skeleton set, as an import
leaves it) and ``fiftyone-pose-app-noskeleton`` (the same without skeletons), keypoints coloured
``SKELETON_COLOR`` so the test can count the pixels of drawn edges, then serves the App on
127.0.0.1:PORT until killed. Environment: the test's FIFTYONE_DATABASE_NAME, FIFTYONE_PLUGINS_DIR.
With WORK_DIR, also ``fiftyone-pose-app-h36m``: a generated Human3.6M file imported grouped with
its cameras (four camera slices and the 3d slice), its frames drawn into WORK_DIR.
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
H36M_DATASET = "fiftyone-pose-app-h36m"
#: the Human3.6M sequences of the App's grouped dataset (two frames each)
H36M_SEQUENCES = ("S9_Directions_1", "S9_Walking_1")


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
    if len(sys.argv) > 2:
        h36m_dataset(sys.argv[2])
    session = fo.launch_app(fo.load_dataset(DATASET), port=port, address="127.0.0.1", remote=True, auto=False)
    print(f"serving {session.url}", flush=True)
    session.wait(-1)


def h36m_dataset(work: str) -> None:
    """The grouped Human3.6M dataset: generated rows of ``H36M_SEQUENCES``, their frames drawn
    (the 2D skeleton on grey, so the views differ), imported with the cameras."""
    import json
    from pathlib import Path

    import numpy as np
    from PIL import Image, ImageDraw

    import fiftyone_pose as fop
    from fiftyone_pose.core import skeleton

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed
    from benchmarks.generate import H36M_SIZES, generate_h36m

    work_dir = Path(work)
    arrays, cameras = generate_h36m(480, seed=7)
    keep = np.array([n.split("/")[1].split(".")[0] in H36M_SEQUENCES for n in arrays["imgname"].tolist()])
    arrays = {k: v[keep] for k, v in arrays.items()}
    src = work_dir / "h36m_test.npz"
    np.savez(src, **arrays)
    (work_dir / "cameras.json").write_text(json.dumps(cameras))
    edges = skeleton.load("h36m").edges
    for name, part in zip(arrays["imgname"].tolist(), arrays["part"]):
        size = H36M_SIZES[name.split(".")[1][:8]]
        image = Image.new("RGB", size, (70, 70, 70))
        draw = ImageDraw.Draw(image)
        for a, b in edges:
            draw.line([tuple(part[a, :2]), tuple(part[b, :2])], fill=(235, 235, 235), width=9)
        path = work_dir / "images" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
    fop.load(src, images_dir=work_dir / "images", name=H36M_DATASET, grouped=True, cameras=work_dir / "cameras.json",
             scenes_dir=work_dir / "scenes", overwrite=True, persistent=True, progress=False)  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]))
