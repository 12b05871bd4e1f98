"""The reference evaluators the equality tests run: pycocotools (a dependency), xtcocotools and mmpose.

- **xtcocotools** has no wheel built for numpy 2 (its wheels fail on import with "numpy.dtype size
  changed"), so it is built from its source distribution once, with the test environment's numpy
  and Cython (``pip install --no-binary xtcocotools --no-build-isolation --target DIR``), into
  pytest's cache folder (``.pytest_cache/d/xtcocotools-...``), and imported from there. The build
  takes about 30 s on 2 cores and is reused by later runs.
- **mmpose** cannot be imported without mmcv/mmengine. Its metric code is numpy only: the wheel of
  1.3.2 is downloaded (``pip download mmpose==1.3.2 --no-deps``, 1.7 MB, cached the same way) and
  ``mmpose/evaluation/functional/keypoint_eval.py``, ``mesh_eval.py`` and
  ``mmpose/evaluation/metrics/keypoint_2d_metrics.py`` are loaded as they are, from the wheel, under
  their own module names, with stand-ins for the framework names they import (mmengine's
  ``BaseMetric``, ``MMLogger``, mmpose's ``METRICS`` registry and the heatmap decoders of
  ``mmpose.codecs.utils``, none of which the metrics use). ``MpiiPCKAccuracy`` and ``PCKAccuracy``
  then run unchanged.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np

XTCOCOTOOLS_VERSION = "1.14.3"
MMPOSE_VERSION = "1.3.2"


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True)
    if done.returncode:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"pip {' '.join(args)} failed: " + " | ".join(tail))


def _cached(cache: Path, name: str, fill) -> Path:
    """``cache/name``, made by ``fill(tmp)`` into a temporary folder renamed into place when complete."""
    target = cache / name
    if not target.exists():
        tmp = cache / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        fill(tmp)
        tmp.rename(target)
    return target


def xtcocotools(cache: Path) -> types.ModuleType:
    """xtcocotools built from source for this numpy (see the module docstring); its ``cocoeval`` module."""
    abi = f"py{sys.version_info[0]}{sys.version_info[1]}-numpy{np.__version__}"
    folder = _cached(
        cache,
        f"xtcocotools-{XTCOCOTOOLS_VERSION}-{abi}",
        lambda tmp: _pip(
            "install",
            "--quiet",
            "--no-deps",
            "--no-binary",
            "xtcocotools",
            "--no-build-isolation",
            "--target",
            str(tmp),
            f"xtcocotools=={XTCOCOTOOLS_VERSION}",
        ),
    )
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module("xtcocotools.cocoeval")


def mmpose_metrics(cache: Path) -> types.ModuleType:
    """mmpose's ``keypoint_2d_metrics`` module loaded from its wheel (see the module docstring)."""
    folder = _cached(
        cache,
        f"mmpose-{MMPOSE_VERSION}",
        lambda tmp: _pip("download", "--quiet", "--no-deps", "--dest", str(tmp), f"mmpose=={MMPOSE_VERSION}"),
    )
    (wheel,) = folder.glob("mmpose-*.whl")
    files = _cached(cache, f"mmpose-{MMPOSE_VERSION}-metrics", lambda tmp: _extract(wheel, tmp))
    return _load_metrics(files)


_MMPOSE_FILES = (
    "mmpose/evaluation/functional/keypoint_eval.py",
    "mmpose/evaluation/functional/mesh_eval.py",
    "mmpose/evaluation/metrics/keypoint_2d_metrics.py",
)


def _extract(wheel: Path, out: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for name in _MMPOSE_FILES:
            z.extract(name, out)


def _module(name: str, **attrs) -> types.ModuleType:
    module = sys.modules.get(name) or types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def _load_metrics(root: Path) -> types.ModuleType:
    if "mmpose.evaluation.metrics.keypoint_2d_metrics" in sys.modules:
        return sys.modules["mmpose.evaluation.metrics.keypoint_2d_metrics"]

    class BaseMetric:  # mmengine's: keeps the processed results of each batch
        def __init__(self, collect_device: str = "cpu", prefix: str | None = None) -> None:
            self.results: list = []

    class Registry:
        def register_module(self, *args, **kwargs):
            return lambda cls: cls

    def unused(*args, **kwargs):
        raise AssertionError("heatmap decoding is not part of the metrics")

    class MMLogger:
        @staticmethod
        def get_current_instance() -> logging.Logger:
            return logging.getLogger("mmpose-reference")

    _module("mmengine")
    _module("mmengine.evaluator", BaseMetric=BaseMetric)
    _module("mmengine.logging", MMLogger=MMLogger)
    for name in ("mmpose", "mmpose.codecs", "mmpose.evaluation"):
        package = _module(name)
        package.__path__ = []
    _module("mmpose.codecs.utils", get_heatmap_maximum=unused, get_simcc_maximum=unused)
    _module("mmpose.registry", METRICS=Registry())
    functional = _module("mmpose.evaluation.functional")
    functional.__path__ = [str(root / "mmpose/evaluation/functional")]
    metrics = _module("mmpose.evaluation.metrics")
    metrics.__path__ = [str(root / "mmpose/evaluation/metrics")]
    keypoint_eval = importlib.import_module("mmpose.evaluation.functional.keypoint_eval")
    functional.__dict__.update(
        {
            k: getattr(keypoint_eval, k)
            for k in ("keypoint_auc", "keypoint_epe", "keypoint_nme", "keypoint_pck_accuracy")
        }
    )
    return importlib.import_module("mmpose.evaluation.metrics.keypoint_2d_metrics")


def summarize_lines(evaluator) -> list[str]:
    """The lines a COCOeval's ``summarize()`` prints (its metric lines; xtcocotools' crowd mode also
    prints progress while it re-evaluates each crowd level, which is not part of the table)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        evaluator.summarize()
    return [line for line in out.getvalue().splitlines() if line.startswith(" Average")]
