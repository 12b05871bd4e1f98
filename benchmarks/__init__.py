"""Benchmarks for fiftyone-pose: a synthetic COCO person-keypoints generator and a runner.

- :mod:`benchmarks.generate` writes deterministic COCO / COCO-WholeBody / Halpe files at the
  scale and distribution of COCO train2017 person keypoints.
- :mod:`benchmarks.run` times import/export (ours, FiftyOne's built-in COCO importer/exporter and
  plain-Python floors) against one private ``mongod``; each step runs in its own process
  (:mod:`benchmarks.steps`).
"""
