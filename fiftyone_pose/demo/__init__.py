"""Built-in demo dataset: synthetic stick-figure people in COCO person-keypoints
format (images drawn by the repository's ``tools/generate_demo.py``; no third-party images)."""

import pathlib

DEMO_DIR = pathlib.Path(__file__).resolve().parent
DEMO_JSON = DEMO_DIR / "person_keypoints_demo.json"
DEMO_IMAGES_DIR = DEMO_DIR / "images"
