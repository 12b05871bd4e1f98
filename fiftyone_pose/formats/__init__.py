"""One module per format, all with the same verbs; this registry finds them by name or by sniffing.

A format module defines ``NAME``, ``FLAVORS`` (flavor -> description), ``detect(path) -> float``
(confidence 0-1), ``read(path, **options) -> PoseData`` and ``write(data, path, **options)``, and
``ORIGIN = 1`` if its files count pixels from 1 (``write`` hands it data with that origin).
A format that is a folder of images and labels (YOLO) also defines ``images_root(path)`` (the
folder its file names are relative to), ``sample_tags(data)`` (its images' splits, as FiftyOne
tags) and ``PLACES_MEDIA = True`` (its ``write`` takes ``sources`` and ``tags`` of the images).
``PREDICTIONS = True`` marks a format of model predictions (``coco_results``): it is added to a
dataset with ``fiftyone_pose.load_predictions``, never imported as a dataset of its own.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from types import ModuleType

from ..core.bulk import paused_gc
from ..core.errors import Option, PoseFormatError, PoseUsageError
from ..core.layouts import to_layout
from ..core.model import PoseData, with_origin
from ..core.skeleton import Skeleton
from . import (
    aic,
    coco,
    coco_results,
    coco_wholebody,
    crowdpose,
    h36m,
    halpe,
    humanart,
    lsp,
    mhp,
    mpii,
    mpii_trb,
    ochuman,
    pytorch_pose,
    yolo,
)

#: every format, by name; a test checks that each module in this package is registered
REGISTRY: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        coco,
        coco_wholebody,
        halpe,
        aic,
        mhp,
        crowdpose,
        ochuman,
        humanart,
        lsp,
        mpii_trb,
        pytorch_pose,
        h36m,
        mpii,
        yolo,
        coco_results,
    )
}

#: a sniffed format is chosen only with at least this confidence and a clear lead
_MIN_CONFIDENCE = 0.5


def get(name: str) -> ModuleType:
    """The format module called ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known formats: {', '.join(sorted(REGISTRY))}") from None


def detect(path: str | os.PathLike) -> str:
    """The name of the format of ``path``; an error when no format (or more than one) fits."""
    if not os.path.exists(path):
        raise PoseFormatError("no such file", path=path)
    scores = sorted(((m.detect(path), name) for name, m in REGISTRY.items()), reverse=True)
    best, name = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    if best < _MIN_CONFIDENCE or best == runner_up:
        raise PoseFormatError(
            "cannot tell the format from the content; ",
            Option("format"),
            f" (one of: {', '.join(sorted(REGISTRY))})",
            path=path,
        )
    return name


def read(path: str | os.PathLike, format: str = "auto", **options) -> PoseData:
    """Read a pose file into ``PoseData`` (``format="auto"`` sniffs it)."""
    name = detect(path) if format == "auto" else format
    with paused_gc():
        return get(name).read(path, **options)


def write(
    data: PoseData, path: str | os.PathLike, format: str = "coco", layout: Skeleton | str | None = None, **options
) -> PoseData:
    """Write ``PoseData`` in ``format`` (atomically: no partial file on failure); returns what was written.

    ``layout`` (a skeleton name such as ``"coco"``, or a ``Skeleton``) first converts the persons to
    that keypoint layout as the layouts' mapping file says (``core.mappings``), e.g. 133-point
    COCO-WholeBody data as plain 17-point COCO, or MPII as Halpe-26; its notes count what changed,
    and what the writer left out or adjusted (YOLO).
    """
    module = get(format)
    parameters = inspect.signature(module.write).parameters
    unknown = sorted(set(options) - set(parameters))
    if unknown and all(p.kind is not p.VAR_KEYWORD for p in parameters.values()):
        raise PoseUsageError(f"format {format} takes no option {', '.join(unknown)}")
    with paused_gc():
        if layout is not None:
            data = to_layout(data, layout)
        data = with_origin(data, getattr(module, "ORIGIN", 0))
        try:
            report = module.write(data, path, **options)
        except PoseFormatError as e:  # a record the format cannot write
            raise e.with_path(path) from None
    return data if not report else dataclasses.replace(data, notes={**data.notes, **report})


def images_dir(path: str | os.PathLike, format: str) -> str:
    """The folder a file's image names are relative to unless the user says: the file's folder,
    or the dataset root for a folder format (YOLO)."""
    root = getattr(get(format), "images_root", None)
    return os.fspath(root(path)) if root is not None else os.path.dirname(os.path.abspath(path))


def sample_tags(data: PoseData) -> tuple[PoseData, list[list[str]] | None]:
    """``data`` without what its format reads as sample tags, and each image's tags (None: no tags).

    A YOLO dataset's splits become tags in FiftyOne, as FiftyOne's own YOLO importers do.
    """
    module = REGISTRY.get(data.format or "")
    tags = getattr(module, "sample_tags", None)
    return tags(data) if tags is not None else (data, None)
