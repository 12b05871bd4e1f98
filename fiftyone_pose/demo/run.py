"""The built-in demo: import the shipped dataset, curate it, export it, verify the export.

Everything it does is what a user would do with their own data, through the same functions. The
dataset stays (persistent, under ``DEMO_DATASET``, replaced by the next run) for the App; the
exported files go to ``out_dir``, or to a temporary folder removed at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from importlib import resources
from pathlib import Path

DEMO_DATASET = "fiftyone-pose-demo"
MIN_VISIBLE = 8


def demo_paths() -> tuple[Path, Path]:
    """(annotation file, image folder) of the shipped demo dataset."""
    root = Path(str(resources.files("fiftyone_pose.demo")))
    return root / "person_keypoints_demo.json", root / "images"


def run_demo(
    out_dir: str | None = None, launch_app: bool = False, port: int | None = None, remote: bool = False
) -> dict:
    """Run the demo and print what it did; returns the numbers it printed. With ``launch_app``,
    the App shows the curated view (on ``port``; ``remote``: without opening a browser here)."""
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)  # the demo's own folder (an export's must exist)
        return _run(Path(out_dir), launch_app, port, remote)
    with tempfile.TemporaryDirectory(prefix="fiftyone-pose-demo-") as scratch:
        result = _run(Path(scratch), launch_app, port, remote)
        print("   (the exported files were temporary: pass --out DIR to keep them)")
        return result


def _run(out: Path, launch_app: bool, port: int | None, remote: bool) -> dict:
    import fiftyone as fo

    from .. import formats
    from ..core.compare import same_document
    from ..fo import views
    from ..fo.api import create_dataset, export
    from ..fo.summary import pose_summary

    labels, images = demo_paths()
    print(f"1. read {labels.name} (pure layer, no database)")
    data = formats.read(labels, "coco")
    dataset = create_dataset(data, images, DEMO_DATASET, overwrite=True, persistent=True, progress=False)
    print(f"2. imported it into FiftyOne dataset '{dataset.name}':")
    for key, value in pose_summary(dataset).items():
        print(f"     {key}: {value}")

    view = views.persons_with_visible(views.crowd(dataset, False), min_count=MIN_VISIBLE)
    shown = pose_summary(view)
    print(
        f"3. curated: non-crowd persons with >= {MIN_VISIBLE} visible points: "
        f"{shown['persons']} persons on {shown['images']} images"
    )

    full_path, curated_path = out / "demo_roundtrip.json", out / "demo_curated.json"
    export(dataset, full_path, progress=False, overwrite=True)  # the files of an earlier run with the same --out
    export(view, curated_path, progress=False, overwrite=True)
    same = same_document(json.loads(full_path.read_text()), json.loads(labels.read_text()))
    print(f"4. exported the whole dataset to {full_path}: identical to the shipped file: {same}")
    print(f"   exported the curated view to {curated_path}")

    ap = _verify_with_pycocotools(curated_path, shown["persons"])
    print(
        f"5. pycocotools loads {curated_path.name}: {shown['persons']} annotations; "
        f"its persons evaluated as predictions against it: AP = {ap:.3f}"
    )
    if not same or ap < 0.999:
        raise RuntimeError("the demo's round trip or evaluation failed; please report this")
    if launch_app:
        session = fo.launch_app(view, port=port, remote=remote)
        print(f"6. the App shows the curated view at {session.url}; Ctrl-C to quit")
        session.wait()
    else:
        print(
            f"6. the dataset '{DEMO_DATASET}' stays for the App: fiftyone-pose demo --app, or in Python "
            f"fo.launch_app(fo.load_dataset('{DEMO_DATASET}')); the next run replaces it"
        )
    return {"persons": shown["persons"], "images": shown["images"], "ap": ap, "identical": same}


def _verify_with_pycocotools(path: Path, expected: int) -> float:
    """Load the file with pycocotools and evaluate its own persons as results (AP must be 1)."""
    import numpy as np
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        if len(gt.getAnnIds()) != expected:
            raise RuntimeError(f"{path} holds {len(gt.getAnnIds())} persons, the view showed {expected}")
        results = [
            {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
            for a in gt.loadAnns(gt.getAnnIds(iscrowd=False))
            if a["num_keypoints"] > 0
        ]
        ev = COCOeval(gt, gt.loadRes(results), iouType="keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(np.round(ev.stats[0], 6))
