"""``load`` and ``export``: the FiftyOne-facing verbs that the CLI, the plugin and notebooks call."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import uuid
from collections.abc import Callable, Iterator

import fiftyone as fo
import pymongo

from .. import formats
from ..core.bulk import paused_gc
from ..core.errors import Option, PoseFormatError, PoseUsageError
from ..core.model import PoseData, take_images
from ..core.stream import PoseStream
from ..formats.media import missing_files
from . import documents
from .adapter import add_pose_data, resolve_label_field, to_pose_data, to_pose_stream
from .fields import pose_info
from .prepared import encode_segmentations
from .reader import SampleFiles

#: datasets being built are named with this prefix and renamed when complete
TEMP_PREFIX = "_fiftyone_pose_tmp_"
#: how the note of images not found begins (``check_images``)
MISSING_IMAGES = "images not found in "

logger = logging.getLogger(__name__)


def load(
    path: str | os.PathLike,
    format: str = "auto",
    images_dir: str | os.PathLike | None = None,
    name: str | None = None,
    label_field: str = "ground_truth",
    overwrite: bool = False,
    persistent: bool = False,
    progress: bool | None = None,
    grouped: bool = False,
    cameras: str | os.PathLike | None = None,
    scenes_dir: str | os.PathLike | None = None,
    require_images: bool = False,
    parallel: bool | None = None,
    **read_options,
) -> fo.Dataset:
    """Import a pose file into a new FiftyOne dataset.

    The dataset is built under a temporary name and renamed to ``name`` only when complete, so a
    failure or Ctrl-C never leaves a half-imported dataset. ``images_dir`` defaults to the folder
    of ``path`` (a YOLO dataset's root for a YOLO folder). The reader's adjustments are in
    ``dataset.info["fiftyone_pose"][label_field]``.

    Human3.6M: ``grouped=True`` makes one group per frame (a slice per camera and a ``3d`` slice
    whose scenes go to ``scenes_dir``); ``cameras`` (a camera-parameter JSON file) adds the
    projection of the 3D points to each view (see ``fiftyone_pose.fo.h36m``).

    Images that are not found are counted in the notes and logged as a warning; with
    ``require_images=True`` they are an error, and nothing is imported.

    ``parallel``: parse the file in a second process while this one builds the samples
    (``formats.read_stream``; by default for large JSON files when a second CPU is there:
    faster, for the second process's memory).
    """
    check_images_dir(images_dir)
    if format == "auto":
        format = formats.detect(path)
    if formats.is_predictions(format):
        raise formats.get(format).not_a_dataset(path)
    h36m = grouped or cameras is not None
    data, images_dir = read_for_import(
        path, format, images_dir, require_images, whole=h36m, parallel=parallel, **read_options
    )
    if warning := missing_images_warning(data):
        logger.warning("%s; pass require_images=True to refuse the import", warning)
    try:
        if h36m:
            from .h36m import create_h36m_dataset

            return create_h36m_dataset(
                data, images_dir, name, label_field, overwrite, persistent, progress,
                grouped=grouped, cameras=cameras, scenes_dir=scenes_dir,
            )  # fmt: skip
        if scenes_dir is not None:
            raise PoseUsageError("scenes_dir is where a grouped import (grouped=True) writes its 3D scenes")
        return create_dataset(data, images_dir, name, label_field, overwrite, persistent, progress)
    except PoseFormatError as e:  # e.g. an image without a size whose file cannot be read
        raise e.with_path(path) from None


def check_images_dir(images_dir: str | os.PathLike | None) -> None:
    """An images folder the user gave must exist (checked before the pose file is read)."""
    if images_dir is not None and not os.path.isdir(images_dir):
        raise PoseFormatError("no such images folder", path=images_dir)


def read_for_import(
    path: str | os.PathLike,
    format: str,
    images_dir: str | os.PathLike | None,
    require_images: bool = False,
    whole: bool = False,
    parallel: bool | None = None,
    pick: Callable[[int], list[int]] | None = None,
    **read_options,
) -> tuple[PoseData | PoseStream, str | os.PathLike]:
    """The file as ``load``, the CLI and the dataset types import it, and its images folder (by
    default the format's).

    A format that streams is read as a ``PoseStream``, imported a chunk of persons at a time
    (``add_pose_data``); the others, or ``whole``, as a ``PoseData``. ``pick``: the rows of the
    images to import, given their number (``model.picked_rows``: an importer's ``max_samples``
    and ``shuffle``). The images are checked (``check_images``) before anything is imported.
    ``parallel``: see ``formats.read_stream``."""
    streams = formats.streams(format) and not whole
    # where the stream goes to ``add_pose_data`` as it is, its segmentations are encoded where it is read
    prepare = encode_segmentations if streams else None
    data: PoseData | PoseStream = formats.read_stream(path, format, parallel=parallel, prepare=prepare, **read_options)
    if not streams:
        data = data.collect()
    if images_dir is None:
        images_dir = formats.images_dir(path, format)
    try:
        count = len(_header(data).images)
        rows = pick(count) if pick is not None else None
        if rows is not None and rows != list(range(count)):
            data = data.take_images(rows) if isinstance(data, PoseStream) else take_images(data, rows)
        return check_images(data, images_dir, require_images, path), images_dir
    except BaseException:
        if isinstance(data, PoseStream):
            data.close()
        raise


def check_images(
    data: PoseData | PoseStream,
    images_dir: str | os.PathLike,
    require_images: bool = False,
    path: str | os.PathLike | None = None,
) -> PoseData | PoseStream:
    """``data``, with the images whose file is not in ``images_dir`` counted in its notes (a few named);
    with ``require_images`` they are an error naming the pose file ``path``. Only existence is
    checked (``media.missing_files``: a listing per folder), never the image's content. A stream's
    note goes to its header's notes (shared with its chunks)."""
    names = _header(data).images.file_names
    missing = missing_files(images_dir, names)
    if not len(missing):
        return data
    where = f"images not found in {os.path.abspath(images_dir)} (e.g. {', '.join(names[i] for i in missing[:3])})"
    if require_images:
        raise PoseFormatError(f"{len(missing)} of {len(names)} {where}", path=path)
    if isinstance(data, PoseStream):
        data.header.notes[where] = len(missing)
        return data
    return dataclasses.replace(data, notes={**data.notes, where: len(missing)})


def missing_images_warning(data: PoseData | PoseStream) -> str | None:
    """The warning to show for ``check_images``' note (None when every image was found)."""
    header = _header(data)
    for reason, count in header.notes.items():
        if reason.startswith(MISSING_IMAGES):
            return f"{count} of {len(header.images)} {reason}"
    return None


def _header(data: PoseData | PoseStream) -> PoseData:
    return data.header if isinstance(data, PoseStream) else data


def create_dataset(
    data: PoseData | PoseStream,
    images_dir: str | os.PathLike,
    name: str | None = None,
    label_field: str = "ground_truth",
    overwrite: bool = False,
    persistent: bool = False,
    progress: bool | None = None,
) -> fo.Dataset:
    """A new dataset holding ``data`` (all or nothing, see ``load``); a YOLO dataset's splits become tags."""
    with building(name, overwrite, persistent) as dataset:
        data, tags = formats.sample_tags(data)
        ids = add_pose_data(dataset, data, images_dir, label_field, progress=progress)
        tag_samples(dataset, ids, tags)
    return dataset


@contextlib.contextmanager
def building(name: str | None, overwrite: bool = False, persistent: bool = False) -> Iterator[fo.Dataset]:
    """A new dataset, built under a temporary name and renamed to ``name`` when the block completes.

    A failure or Ctrl-C inside the block deletes it, and an existing dataset of that name is replaced
    (``overwrite``) only once its successor is complete. A replica set's failover is waited out where
    it can be; where it cannot, the import fails with a ``documents.DatabaseError`` once the temporary
    dataset is deleted.
    """
    if name is not None and fo.dataset_exists(name) and not overwrite:
        raise _exists(f"dataset '{name}'")
    with documents.failover_errors("import"):
        dataset = fo.Dataset(TEMP_PREFIX + uuid.uuid4().hex)
        try:
            yield dataset
            if name is None:
                name = fo.get_default_dataset_name()
            if overwrite and fo.dataset_exists(name):
                fo.delete_dataset(name)
            try:
                dataset.name = name
            except (ValueError, pymongo.errors.DuplicateKeyError):
                if fo.dataset_exists(name):  # another import took the name while this one was building
                    raise _exists(f"dataset '{name}'") from None
                raise
            dataset.persistent = persistent
        except BaseException:
            documents.delete_dataset(dataset)
            raise


def tag_samples(dataset: fo.Dataset, ids: list[str], tags: list[list[str]] | None) -> None:
    """Give the new samples ``ids`` their tags (``tags[i]`` for ``ids[i]``), one update per tag."""
    by_tag: dict[str, list[str]] = {}
    for sample_id, sample_tags in zip(ids, tags or ()):
        for tag in sample_tags:
            by_tag.setdefault(tag, []).append(sample_id)
    for tag, tagged in by_tag.items():
        dataset.select(tagged).tag_samples(tag)


def export(
    collection: fo.core.collections.SampleCollection,
    path: str | os.PathLike,
    format: str | None = None,
    label_field: str | None = None,
    progress: bool | None = None,
    overwrite: bool = False,
    **write_options,
) -> PoseStream:
    """Write the persons a dataset or view shows to ``path``; returns what was written, as a
    consumed ``PoseStream`` (``summary()``, ``header.notes``, ``header.format``).

    ``format`` defaults to the format the field was imported from (so a COCO-WholeBody dataset
    is written back as COCO-WholeBody), else COCO; with a ``layout`` conversion it defaults to
    COCO, the one format that holds any layout. A format that streams (the COCO-like ones, YOLO) is
    written a chunk of persons at a time (``to_pose_stream``); the others are read whole (``to_pose_data``).
    A format that places images (YOLO) gets the samples' files and tags (its splits). What the
    writer left out or adjusted is added to the returned stream's notes.
    An existing file is replaced only with ``overwrite=True``, as an existing dataset is on
    import; that is checked before any work.
    """
    from .evaluation import evaluation_attributes, without_evaluation_attributes
    from .predictions import detections_pose_data, is_detections

    detections = is_detections(collection, label_field)
    if format is None and not detections:
        source = pose_info(collection, resolve_label_field(collection, label_field)).get("format")
        format = _default_format(source, write_options.get("layout"))
    if format is not None:  # the format, its options and the destination, before any work
        formats.check_write(path, format, {k: v for k, v in write_options.items() if k != "layout"})
    if not overwrite and os.path.lexists(path):
        raise _exists(os.fspath(path))
    files = None
    with paused_gc():
        if detections:  # person-detector predictions
            skip = frozenset(evaluation_attributes(collection, label_field))
            stream = PoseStream.of(detections_pose_data(collection, label_field, skip))
        else:  # evaluation results on the persons are not part of them
            label_field = resolve_label_field(collection, label_field)
            view = without_evaluation_attributes(collection, [label_field])
            files = SampleFiles() if formats.places_media(format) else None
            attributes = formats.writes_attributes(format)
            if not formats.streams(format):  # the writer takes it whole: no spill to sort it in
                stream = PoseStream.of(to_pose_data(view, label_field, progress, files, attributes))
            else:
                stream = to_pose_stream(view, label_field, progress=progress, files=files, attributes=attributes)
        header = stream.header
        if format is None:
            format = _default_format(header.format, write_options.get("layout"))
        if formats.places_media(format):
            placed = (
                {"sources": files.sources, "tags": files.tags}
                if files is not None
                else sample_files(collection, header)
            )
            write_options = {**placed, **write_options}
        written = formats.write_stream(stream, path, format, **write_options)
    written.header.format = format
    return written


def _default_format(source: str | None, layout: str | None) -> str:
    """The format an export writes unless told: the one the data was imported from, else (or with a
    ``layout`` conversion) COCO, the one format that holds any layout."""
    return source if source in formats.REGISTRY and layout is None else "coco"


def sample_files(collection: fo.core.collections.SampleCollection, data: PoseData) -> dict[str, list]:
    """The image file (``sources``) and ``tags`` of each image of ``data``, read from ``collection``.

    ``data`` is ``to_pose_stream(collection).header``: its images follow the view's order, as ``values``
    does; the file names are compared to be sure.
    """
    fields = ["filepath", "tags", *(f for f in ("file_name",) if collection.has_field(f))]
    values = collection.values(fields)
    paths, tags = values[0], values[1]
    names = values[2] if len(values) > 2 else [None] * len(paths)
    expected = [name or os.path.basename(path) for name, path in zip(names, paths)]
    if expected != data.images.file_names:
        raise PoseUsageError("the view's samples changed while it was exported; export again")
    return {"sources": paths, "tags": tags}


def _exists(what: str) -> PoseUsageError:
    return PoseUsageError(f"{what} already exists; ", Option("overwrite", True), " to replace it")


def leftover_datasets() -> list[str]:
    """Temporary datasets left by imports that were killed before they could clean up."""
    return [n for n in fo.list_datasets() if n.startswith(TEMP_PREFIX)]
