"""One module per format, all with the same verbs; this registry finds them by name or by sniffing.

Every format module satisfies ``protocol.Format`` (``NAME``, ``FLAVORS``, ``ORIGIN``, declared
``READ_OPTIONS`` / ``WRITE_OPTIONS``, ``STREAMING``, ``detect(peek)``, ``read``, ``write`` and the
pure ``decode`` / ``encode``); the COCO-like ones and YOLO also stream (``protocol.StreamingFormat``),
a folder of images and labels (YOLO) is a ``protocol.FolderFormat`` (its root, its splits as
sample tags, and a ``write`` that places the images), and a format of model predictions
(``coco_results``) a ``protocol.PredictionsFormat``: added to a dataset with
``fiftyone_pose.load_predictions``, never imported as a dataset of its own.
``read`` / ``write`` / ``read_stream`` / ``write_stream`` / ``convert`` here check the options
against the declared ones, shift coordinates to the format's origin and convert layouts;
``write`` returns the data as written, with the notes of the conversion and of the writer.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..core.bulk import paused_gc
from ..core.errors import Option, PoseFormatError, PoseUsageError
from ..core.layouts import to_layout
from ..core.model import Persons, PoseData, with_origin
from ..core.skeleton import Skeleton
from ..core.stream import PoseStream, add_notes
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
    posetrack,
    pytorch_pose,
    worker,
    yolo,
)
from .cocolike import whole_body
from .jsonio import check_destination, load_json
from .protocol import Confidence, FolderFormat, OptionSpec, Peek, PredictionsFormat, StreamingFormat

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
        yolo,
        coco_results,
    )
}
#: the modules of this package that are not formats: what the formats share
SUPPORT_MODULES = (
    "cocolike", "context", "h36m_cameras", "jsonio", "mat5", "media", "native", "npzio", "protocol", "worker",
)  # fmt: skip

#: ``layout``, the write option of every format
LAYOUT = OptionSpec("layout", "convert to this keypoint layout first, as the mapping files say (e.g. coco)")


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
        if best < Confidence.WEAK and peek.is_dir:
            raise PoseFormatError(
                "is a directory, and not a dataset folder of a known format; give the annotation file, or ",
                Option("format"),
                " for a dataset folder",
                path=path,
            )
        if best < Confidence.WEAK and peek.head.lstrip()[:1] in (b"{", b"["):
            load_json(path)  # a broken file is said to be broken: its line and column, as its reader says
        raise PoseFormatError(
            "cannot tell the format from the content; ",
            Option("format"),
            f" (one of: {', '.join(sorted(REGISTRY))})",
            path=path,
        )
    return name


def read(path: str | os.PathLike, format: str = "auto", **options: Any) -> PoseData:
    """Read a pose file into ``PoseData`` (``format="auto"`` sniffs it)."""
    module = _checked(detect(path) if format == "auto" else format, "read", options)
    with paused_gc():
        return module.read(path, **options)


def read_stream(
    path: str | os.PathLike,
    format: str = "auto",
    *,
    parallel: bool | None = None,
    prepare: Callable[[Persons], Persons] | None = None,
    **options: Any,
) -> PoseStream:
    """A pose file as a ``PoseStream``: its header, then its persons a chunk at a time where the
    format streams (see each module's ``STREAMING``), else as one chunk. The header is read with
    the collector paused, as a whole read is (its images table is many small objects).

    ``parallel``: read a streaming format in a second process (``worker``), so the caller's work
    on each chunk overlaps the parse of the next; by default (None) for a JSON file of
    ``worker.PARALLEL_BYTES`` or more when a second CPU is there, falling back to this process
    (with a warning) where a worker cannot start. Header, chunks, notes and user errors are the
    same either way.

    ``prepare``: the part of the caller's work on a chunk that may overlap the rest of it (a
    module-level function: it is sent by name). Read here, every chunk is prepared; read in the
    second process, a chunk is prepared there only while the caller is behind, so the caller
    must take a chunk prepared or not alike (it waits for chunks otherwise: then it does the
    work itself, and the two processes share it).
    """
    module = _checked(detect(path) if format == "auto" else format, "read", options)
    with paused_gc():
        if isinstance(module, StreamingFormat):
            if worker.wanted(path, parallel):
                return worker.read_stream(path, module.NAME, options, fallback=parallel is None, prepare=prepare)
            stream = module.read_stream(path, **options)
        else:
            stream = PoseStream.of(module.read(path, **options))
    return stream if prepare is None else stream.map(lambda d: dataclasses.replace(d, persons=prepare(d.persons)))


def write(
    data: PoseData, path: str | os.PathLike, format: str = "coco", layout: Skeleton | str | None = None, **options: Any
) -> PoseData:
    """Write ``PoseData`` in ``format`` (atomically: no partial file on failure); returns what was written.

    ``layout`` (a skeleton name such as ``"coco"``, or a ``Skeleton``) first converts the persons to
    that keypoint layout as the layouts' mapping file says (``core.mappings``), e.g. 133-point
    COCO-WholeBody data as plain 17-point COCO, or MPII as Halpe-26. The returned data's notes
    count what the conversion changed and what the writer left out or adjusted (YOLO's report).
    """
    module = check_write(path, format, options)
    chosen = write_layout(data, format, layout)
    with paused_gc():
        if chosen is not None:
            data = _converted(data, chosen, noted=layout is None)
        data = with_origin(data, module.ORIGIN)
        try:
            report = module.write(data, path, **options)
        except PoseFormatError as e:  # a record the format cannot write
            raise e.with_path(path) from None
    if report:
        notes = dict(data.notes)
        add_notes(notes, report)
        data = dataclasses.replace(data, notes=notes)
    return data


def write_stream(
    stream: PoseStream,
    path: str | os.PathLike,
    format: str = "coco",
    layout: Skeleton | str | None = None,
    **options: Any,
) -> PoseStream:
    """Write a ``PoseStream`` in ``format`` as its chunks come (formats that do not stream collect
    it first), atomically: a failure, also one found in a late chunk, leaves no file. ``layout``:
    see ``write``. Returns the stream as written, consumed: its ``summary()`` counts the persons
    written (after the conversion), and its notes, shared with ``stream``'s header, hold those of
    reading, converting and writing."""
    module = check_write(path, format, options)
    chosen = write_layout(stream.header, format, layout)
    if chosen is not None:
        stream = stream.map(lambda d: _converted(d, chosen, noted=layout is None))
    stream = stream.map(lambda d: with_origin(d, module.ORIGIN))
    with paused_gc():
        try:
            if isinstance(module, StreamingFormat):
                module.write_stream(stream, path, **options)
            else:
                add_notes(stream.header.notes, module.write(stream.collect(), path, **options) or {})
        except PoseFormatError as e:
            raise e.with_path(path) from None
        finally:
            stream.close()  # a failure before the last chunk: stop what reads the rest
    return stream


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    src_format: str = "auto",
    dst_format: str = "coco",
    layout: Skeleton | str | None = None,
    parallel: bool | None = None,
    **options: Any,
) -> PoseStream:
    """Convert a file, a chunk of persons at a time where both formats stream (memory bounded by
    a chunk and the images table); ``options`` are the writer's. Returns the stream as written
    (see ``write_stream``): ``summary()`` counts what was written, with the notes of reading,
    converting and writing. ``parallel``: see ``read_stream``."""
    check_write(dst, dst_format, options)  # before the input is read
    return write_stream(read_stream(src, src_format, parallel=parallel), dst, dst_format, layout=layout, **options)


def check_write(path: str | os.PathLike, format: str, options: dict[str, Any]) -> ModuleType:
    """The format module a write of ``path`` in ``format`` with ``options`` uses, once everything that can
    be checked before the work is: the format, its write options, and a destination it can write
    (``jsonio.check_destination``; a folder for a folder format). Every write (pure, ``convert``,
    FiftyOne's ``export``, the CLI and the App) checks here first."""
    module = _checked(format, "write", options)
    target = module.written_file(path) if hasattr(module, "written_file") else path  # LSP: a file or a folder
    check_destination(target, folder=isinstance(module, FolderFormat), format=format)
    return module


def write_layout(data: PoseData, format: str, layout: Skeleton | str | None) -> Skeleton | str | None:
    """The layout ``write`` converts ``data`` to: ``layout``, else for whole-body data (points of
    the face or hands: COCO-WholeBody, Halpe) written as ``coco`` from another format, COCO's 17
    body points. A COCO user expects a person keypoints file that COCO tools read as it is
    (pycocotools' COCOeval, a 17-point model); ``layout=`` the whole-body layout keeps every point,
    under a category that names them all. The summary says so (``notes``)."""
    if layout is not None or format != coco.NAME or data.format == coco.NAME:
        return layout
    return coco.NAME if whole_body(data.skeleton) else None


def _converted(data: PoseData, layout: Skeleton | str, noted: bool) -> PoseData:
    """``to_layout(data, layout)``; ``noted``: the layout is ``write_layout``'s choice, and the
    notes count the persons it gave COCO's body only."""
    source = data.skeleton
    out = to_layout(data, layout)
    if noted and len(out.persons):
        reason = (
            f"persons of layout '{source.name}' written with COCO's 17 body points "
            f"(layout '{source.name}' keeps all {source.num_keypoints})"
        )
        out = dataclasses.replace(out, notes={**out.notes, reason: len(out.persons)})
    return out


def images_dir(path: str | os.PathLike, format: str) -> str:
    """The folder a file's image names are relative to unless the user says: the file's folder,
    or the dataset root for a folder format (``protocol.FolderFormat``: YOLO)."""
    module = get(format)
    if isinstance(module, FolderFormat):
        return os.fspath(module.images_root(path))
    return os.path.dirname(os.path.abspath(path))


def places_media(format: str) -> bool:
    """Whether ``format`` writes the image files too (``protocol.FolderFormat``: YOLO), so its
    ``write`` takes their ``sources`` and ``tags``."""
    return isinstance(get(format), FolderFormat)


def writes_attributes(format: str) -> bool:
    """Whether ``format`` writes the persons' values without a fixed shape (segmentations, extra
    keys, part boxes): all but the folder formats (YOLO), whose label rows are points, box and
    class only, so an export need not read them."""
    return not places_media(format)


def streams(format: str) -> bool:
    """Whether ``format`` reads and writes a chunk of persons at a time (``protocol.StreamingFormat``:
    the COCO-like ones, YOLO, ...); the others read and write the whole file at once (see their
    ``STREAMING``)."""
    return isinstance(get(format), StreamingFormat)


def is_predictions(format: str) -> bool:
    """Whether ``format`` holds model predictions (``protocol.PredictionsFormat``: ``coco_results``),
    added to a dataset rather than imported as one."""
    return isinstance(get(format), PredictionsFormat)


def sample_tags(data: PoseData | PoseStream) -> tuple[PoseData | PoseStream, list[list[str]] | None]:
    """``data`` without what its format reads as sample tags, and each image's tags (None: no tags).

    A YOLO dataset's splits become tags in FiftyOne, as FiftyOne's own YOLO importers do. A
    stream's tags come from its header (the images), which is replaced in place.
    """
    header = data.header if isinstance(data, PoseStream) else data
    module = REGISTRY.get(header.format or "")
    if not isinstance(module, FolderFormat):
        return data, None
    header, tags = module.sample_tags(header)
    if isinstance(data, PoseStream):
        data.header = header
        return data, tags
    return header, tags


def _checked(name: str, verb: str, options: dict[str, Any]) -> ModuleType:
    """The format ``name``, once every option is one it declares for ``verb``."""
    module = get(name)
    declared = {o.name: o for o in (module.READ_OPTIONS if verb == "read" else module.WRITE_OPTIONS)}
    for key in options:
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise PoseUsageError(f"format '{name}' has no {verb} option '{key}' (its {verb} options: {known})")
    return module
