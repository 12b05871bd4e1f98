"""fiftyone-pose: lossless, fast human-pose datasets in FiftyOne.

Pure layer (no database): ``read``/``write`` move files to and from the neutral ``PoseData``.
FiftyOne layer: ``load`` makes a dataset from a file, ``export`` writes any view back out,
``merge`` makes one dataset of several in one keypoint layout, and
``types.COCOPoseDataset`` plugs the same code into ``fo.Dataset.from_dir`` / ``export``.
FiftyOne is imported only when the FiftyOne layer is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core import Images, Persons, PoseData, PoseFormatError, Skeleton
from .formats import read, write

if TYPE_CHECKING:
    from .fo import types
    from .fo.api import export, load
    from .fo.evaluation import evaluate
    from .fo.merge import merge
    from .fo.predictions import load_predictions

__version__ = "0.1.0"
__all__ = [
    "Images",
    "Persons",
    "PoseData",
    "PoseFormatError",
    "Skeleton",
    "evaluate",
    "export",
    "load",
    "load_predictions",
    "merge",
    "read",
    "types",
    "write",
]

_LAZY = {
    "load": ("fo.api", "load"),
    "export": ("fo.api", "export"),
    "merge": ("fo.merge", "merge"),
    "types": ("fo.types", None),
    "evaluate": ("fo.evaluation", "evaluate"),
    "load_predictions": ("fo.predictions", "load_predictions"),
}


def __getattr__(name: str) -> Any:
    """Import the FiftyOne layer on first use, so the pure layer starts without FiftyOne."""
    if name not in _LAZY:
        raise AttributeError(f"module 'fiftyone_pose' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = importlib.import_module(f".{module}", __name__)
    return mod if attr is None else getattr(mod, attr)
