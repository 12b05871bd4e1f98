"""One module per format, all with the same verbs; this registry finds them by name or by sniffing.

Every format module satisfies ``protocol.Format`` (``NAME``, ``FLAVORS``, ``ORIGIN``, declared
``READ_OPTIONS`` / ``WRITE_OPTIONS``, ``STREAMING``, ``detect(peek)``, ``read``, ``write`` and the
pure ``decode`` / ``encode``); the COCO-like ones also stream (``protocol.StreamingFormat``).
``read`` / ``write`` / ``read_stream`` / ``write_stream`` / ``convert`` here check the options
against the declared ones, shift coordinates to the format's origin and convert layouts.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from ..core import skeleton as skeletons
from ..core.bulk import paused_gc
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.layouts import to_layout
from ..core.model import PoseData, with_origin
from ..core.skeleton import Skeleton
from ..core.stream import PoseStream
from . import (
    aic,
    coco,
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
    posetrack,
    pytorch_pose,
)
from .protocol import Confidence, Option, Peek, StreamingFormat

#: every format, by name; a test checks that each module in this package is registered or support
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
        posetrack,
        lsp,
        mpii_trb,
        pytorch_pose,
        h36m,
        mpii,
    )
}
#: the modules of this package that are not formats: what the formats share
SUPPORT_MODULES = ("cocolike", "context", "jsonio", "mat5", "native", "protocol")

#: ``layout``, the write option of every format
LAYOUT = Option("layout", "convert to this keypoint layout by keypoint name first (a skeleton name, e.g. coco)")


def get(name: str) -> ModuleType:
    """The format module called ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise PoseUsageError(f"unknown format {name!r}; known formats: {', '.join(sorted(REGISTRY))}") from None


def detect(path: str | os.PathLike) -> str:
    """The name of the format of ``path``; an error when no format (or more than one) fits.

    Every format looks at one shared ``Peek`` (the file's first and last bytes, read once); the
    highest ``Confidence`` wins, and a tie at the top is ambiguous.
    """
    if not os.path.exists(path):
        raise PoseFormatError("no such file", path=path)
    peek = Peek(path)
    scores = sorted(((m.detect(peek), name) for name, m in REGISTRY.items()), reverse=True)
    best, name = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else Confidence.NO
    if best < Confidence.WEAK or best == runner_up:
        raise PoseFormatError(
            f"cannot tell the format from the content; pass --format / format= (one of: {', '.join(sorted(REGISTRY))})",
            path=path,
        )
    return name


def read(path: str | os.PathLike, format: str = "auto", **options: Any) -> PoseData:
    """Read a pose file into ``PoseData`` (``format="auto"`` sniffs it)."""
    module = _checked(detect(path) if format == "auto" else format, "read", options)
    with paused_gc():
        return module.read(path, **options)


def read_stream(path: str | os.PathLike, format: str = "auto", **options: Any) -> PoseStream:
    """A pose file as a ``PoseStream``: its header, then its persons a chunk at a time where the
    format streams (see each module's ``STREAMING``), else as one chunk."""
    module = _checked(detect(path) if format == "auto" else format, "read", options)
    if isinstance(module, StreamingFormat):
        return module.read_stream(path, **options)
    with paused_gc():
        return PoseStream.of(module.read(path, **options))


def write(
    data: PoseData, path: str | os.PathLike, format: str = "coco", layout: Skeleton | str | None = None, **options: Any
) -> None:
    """Write ``PoseData`` in ``format`` (atomically: no partial file on failure).

    ``layout`` (a skeleton name such as ``"coco"``, or a ``Skeleton``) first converts the persons to
    that keypoint layout by keypoint name, e.g. 133-point COCO-WholeBody data as plain 17-point COCO.
    """
    module = _checked(format, "write", options)
    with paused_gc():
        if layout is not None:
            data = to_layout(data, _layout(layout))
        data = with_origin(data, module.ORIGIN)
        try:
            module.write(data, path, **options)
        except PoseFormatError as e:  # a record the format cannot write
            raise e.with_path(path) from None


def write_stream(
    stream: PoseStream,
    path: str | os.PathLike,
    format: str = "coco",
    layout: Skeleton | str | None = None,
    **options: Any,
) -> None:
    """Write a ``PoseStream`` in ``format`` as its chunks come (formats that do not stream collect
    it first), atomically: a failure, also one found in a late chunk, leaves no file. ``layout``:
    see ``write``. Notes of the conversion and the writer join the stream's header notes."""
    module = _checked(format, "write", options)
    if layout is not None:
        target = _layout(layout)
        stream = stream.map(lambda d: to_layout(d, target))
    stream = stream.map(lambda d: with_origin(d, module.ORIGIN))
    with paused_gc():
        try:
            if isinstance(module, StreamingFormat):
                module.write_stream(stream, path, **options)
            else:
                module.write(stream.collect(), path, **options)
        except PoseFormatError as e:
            raise e.with_path(path) from None


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    src_format: str = "auto",
    dst_format: str = "coco",
    layout: Skeleton | str | None = None,
) -> PoseStream:
    """Convert a file, a chunk of persons at a time where both formats stream (memory bounded by
    a chunk and the images table); returns the source stream, consumed: ``summary()`` counts
    what was read, with the notes of reading, converting and writing."""
    stream = read_stream(src, src_format)
    write_stream(stream, dst, dst_format, layout=layout)
    return stream


def _checked(name: str, verb: str, options: dict[str, Any]) -> ModuleType:
    """The format ``name``, once every option is one it declares for ``verb``."""
    module = get(name)
    declared = {o.name: o for o in (module.READ_OPTIONS if verb == "read" else module.WRITE_OPTIONS)}
    for key in options:
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise PoseUsageError(f"format '{name}' has no {verb} option '{key}' (its {verb} options: {known})")
    return module


def _layout(layout: Skeleton | str) -> Skeleton:
    if isinstance(layout, Skeleton):
        return layout
    try:
        return skeletons.load(layout)
    except KeyError as e:
        raise PoseUsageError(e.args[0]) from None
