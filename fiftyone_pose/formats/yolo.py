"""Ultralytics YOLO-pose datasets: a folder that ``yolo pose train data=<dir>/dataset.yaml`` trains on.

The format, as Ultralytics defines it (``ultralytics/data/converter.py`` ``convert_coco``,
``ultralytics/data/utils.py`` ``verify_image_label``, ``img2label_paths``):

- ``images/<split>/<name>`` and ``labels/<split>/<name>.txt``: Ultralytics finds an image's label
  by replacing the last ``/images/`` of its path with ``/labels/`` and its extension with ``.txt``;
- one row per person, ``class cx cy w h`` then ``x y v`` per point, positions divided by the image
  width and height, ``v`` COCO's 0/1/2;
- ``dataset.yaml``: ``path``, the splits, ``names``, ``kpt_shape: [K, 3]``, ``flip_idx`` (the
  skeleton's flip pairs) and ``kpt_names``.

Writing keeps a person where ``convert_coco(..., use_keypoints=True)`` keeps one, with the same
numbers (written with ``DIGITS`` significant digits where it writes 6). Where Ultralytics' loader
would reject the image (a point beyond 1.01, a value below -0.01), the row is adjusted the way
Ultralytics' own augmentation treats such data: a labelled point outside the image becomes
unlabelled (``0 0 0``) and a box is clipped to the image. Each adjustment and each person left
out is counted in the report ``write`` returns. Reading gives root-relative file names, the
image sizes from the image headers, and each image's split as the image key ``split`` (which a
FiftyOne import turns into a sample tag, ``sample_tags``).

A ``protocol.FolderFormat``: ``images_root`` and ``sample_tags`` above, and a ``write`` that places
the image files (``sources`` and ``tags``, handed by a FiftyOne export; see ``media``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from ..core import skeleton as skeletons
from ..core.errors import PoseFormatError, PoseUsageError
from ..core.model import Images, Persons, PoseData, keypoint_boxes, picked_rows
from ..core.numbers import uniform_mask
from ..core.skeleton import Skeleton
from ..core.stream import PoseStream, SortedSpill, add_notes
from . import jsonio, media
from .cocolike import default_category
from .context import ReadContext
from .jsonio import write_atomic
from .native import NOTE_SIZES, header_size
from .protocol import Confidence, OptionSpec, Peek

NAME = "yolo"
FLAVORS = {
    "ultralytics": "Ultralytics YOLO-pose dataset: dataset.yaml, images/<split>/, labels/<split>/*.txt "
    "(also a folder with images/ and labels/ and no yaml)",
}
ORIGIN = 0
#: the dataset description ``write`` creates (``data=`` of ``yolo pose train``)
YAML_NAME = "dataset.yaml"
#: image extensions Ultralytics reads (``IMG_FORMATS``): other files in a split folder are not images to it
IMAGE_EXTENSIONS = frozenset(
    ("avif", "bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp")
)
#: yaml keys Ultralytics reads as splits, in its order (``validation`` is its old name for ``val``)
SPLIT_KEYS = ("train", "val", "test", "minival")
#: tags that name a split when the caller names none
DEFAULT_SPLIT_TAGS = ("train", "val", "test")
#: significant digits of written numbers: float64 arithmetic noise (1e-16) never shows, so a file
#: read and written again is the same text, and a pixel of an image 10^5 px wide is kept to 1e-5 px
DIGITS = 10
#: how images get into the dataset (FiftyOne's ``export_media``; ``True``/``False`` are copy/none)
MEDIA_MODES = media.MODES
#: default media placement: a dataset that trains as is, without copying the images
DEFAULT_MEDIA = "symlink"
#: label files written by a thread at a time, while the next run's rows are formatted
LABELS_CHUNK = 4096
#: persons per chunk read back from the sort by image of a stream written in several chunks
SORTED_CHUNK = 4096
READ_OPTIONS = (
    OptionSpec("images_dir", "with a labels folder as the path: the images folder (no yaml)"),
    OptionSpec("max_samples", "read this many images only (the first ones, or random ones with shuffle)"),
    OptionSpec("shuffle", "with max_samples: random images instead of the first ones"),
    OptionSpec("seed", "the random seed of shuffle"),
)
WRITE_OPTIONS = (
    OptionSpec("images_dir", "folder the image names are relative to, where the images are placed from"),
    OptionSpec("sources", "the image file of each image, absolute paths (a FiftyOne export hands them)"),
    OptionSpec("tags", "each image's tags, its split among them (a FiftyOne export hands the sample tags)"),
    OptionSpec("split_tags", "the tags that name splits (default: train, val, test)"),
    OptionSpec("split", "put every image in this split (ignores tags)"),
    OptionSpec("export_media", f"how images get into images/<split>/ (default: {DEFAULT_MEDIA})", MEDIA_MODES),
)
STREAMING = (
    "read a run of label files at a time (whole without class names in a yaml: the rows name the classes); "
    "written a run of images at a time, the persons sorted by image through a temporary file first"
)
#: yaml keys this module writes itself; other keys of a read yaml travel in ``meta`` and are written back
_OWN_KEYS = frozenset({"path", "names", "nc", "kpt_shape", "flip_idx", "kpt_names", "validation", *SPLIT_KEYS})
#: Ultralytics' loader rejects an image with a point above this, or a value below ``-_TOLERANCE``
_TOLERANCE = 0.01
#: the note counting images with no label file
_NOTE_NO_LABEL = "images without a label file (background images)"
_BOX_FIELDS = ("class", "x_center", "y_center", "width", "height")


# --------------------------------------------------------------------------------------- detection


def detect(peek: Peek) -> Confidence:
    """A yaml with ``kpt_shape``, or a folder holding one (``CERTAIN``); a folder with ``images/``
    and ``labels/`` (``LIKELY``)."""
    if peek.is_file:
        return Confidence.CERTAIN if _is_pose_yaml(peek) else Confidence.NO
    if peek.is_dir:
        if _yaml_name(peek) is not None:
            return Confidence.CERTAIN
        return Confidence.LIKELY if {"images", "labels"} <= set(peek.folders) else Confidence.NO
    return Confidence.NO


def _is_pose_yaml(peek: Peek) -> bool:
    return peek.name.endswith((".yaml", ".yml")) and b"kpt_shape" in peek.head


def _yaml_name(folder: Peek) -> str | None:
    """The pose yaml of a dataset folder: ``dataset.yaml``, else the only other ``*.yaml`` with ``kpt_shape``."""
    if YAML_NAME in folder.entries:
        return YAML_NAME
    found = [name for name in folder.entries if _is_pose_yaml(folder.child(name))]
    return found[0] if len(found) == 1 else None


def _find_yaml(folder: Path) -> Path | None:
    name = _yaml_name(Peek(folder))
    return None if name is None else folder / name


def images_root(path: str | os.PathLike) -> Path:
    """The folder the file names of ``read(path)`` are relative to (the dataset root)."""
    path = Path(path)
    if path.is_dir() and _find_yaml(path) is None:
        return path.resolve()
    yaml_path = path if path.is_file() else _find_yaml(path)
    if yaml_path is None:
        raise PoseFormatError("no dataset yaml with 'kpt_shape' and no images/ and labels/ folders", path=path)
    return _root(_load_yaml(yaml_path), yaml_path)


def _root(config: dict[str, Any], yaml_path: Path) -> Path:
    """Ultralytics' dataset root: ``path`` if it exists (absolute or from the yaml's folder), else that folder."""
    given = config.get("path")
    if isinstance(given, str) and given:
        candidate = Path(given).expanduser()
        candidate = candidate if candidate.is_absolute() else yaml_path.parent / candidate
        if candidate.is_dir():
            return candidate.resolve()
    return yaml_path.parent.resolve()


# --------------------------------------------------------------------------------------- reading


def read(
    path: str | os.PathLike,
    *,
    images_dir: str | os.PathLike | None = None,
    max_samples: int | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> PoseData:
    """Read a YOLO-pose dataset: a yaml, a folder holding one, or a folder with ``images/`` and ``labels/``.

    ``path`` may also be a labels folder with ``images_dir`` the images folder (no yaml). Without
    a yaml the number of points comes from the rows. ``max_samples`` images (the first ones, or
    random ones with ``shuffle`` and ``seed``) are read, FiftyOne's importer convention. File
    names are relative to ``images_root(path)`` (``images_dir`` with a labels folder); each
    image's split is its key ``split``. Nothing is returned unless every file is valid.
    """
    return read_stream(path, images_dir=images_dir, max_samples=max_samples, shuffle=shuffle, seed=seed).collect()


def read_stream(
    path: str | os.PathLike,
    *,
    images_dir: str | os.PathLike | None = None,
    max_samples: int | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> PoseStream:
    """``read`` as a header (the images with their sizes, the layout, the classes) and the persons of
    a run of images at a time: their label files, about ``jsonio.CHUNK_BYTES`` of text, are read and parsed
    together, so memory does not grow with the dataset. A bad label file is an error when its run
    is read. Without class names (no yaml, or a yaml with neither ``names`` nor ``nc``) the classes
    are those the rows use, known only once every file is read: such a folder is read whole.
    """
    path = Path(path)
    if not path.exists():
        raise PoseFormatError("no such file or folder", path=path)
    yaml_path = None
    if images_dir is not None:
        root, config, splits = _labels_and_images(path, Path(images_dir))
    else:
        yaml_path = path if path.is_file() else _find_yaml(path)
        if yaml_path is not None:
            config = _load_yaml(yaml_path)
            root = _root(config, yaml_path)
            splits = _yaml_splits(config, root, yaml_path)
        else:
            root, config, splits = _bare_folder(path)
    source = yaml_path or path
    listed, notes = _list_images(splits)
    listed = [listed[i] for i in picked_rows(len(listed), max_samples, shuffle, seed)]
    file_names = [_relative_name(image, root) for image, _, _ in listed]
    sizes = [_image_size(image, i) for i, (image, _, _) in enumerate(listed)]
    split_names = [split for _, split, _ in listed]
    label_paths = [label for _, _, label in listed]
    if config:  # checked in the order ``decode`` checks them
        k, ndim = _kpt_shape(config, (), source)
        layout = _layout(config, k, source)
    names = _class_names(config, source) if config else None
    chunks: Iterable[Persons]
    if names is None:
        texts = [_read_label(label) for label in label_paths]
        doc = YoloDocument(config, file_names, sizes, texts, splits=split_names, label_paths=label_paths)
        data = decode(doc, path=source)
        notes[_NOTE_NO_LABEL] = sum(text is None for text in texts)
        header, chunks = dataclasses.replace(data, persons=Persons.empty(data.skeleton.num_keypoints)), [data.persons]
    else:
        header = _header(config, names, layout, file_names, sizes, split_names)
        chunks = _chunks(label_paths, header.images, layout, ndim, len(names), header.notes)
    header.meta["yolo"]["folders"] = _split_folders(splits, listed, root)
    notes[NOTE_SIZES] = len(listed)
    ctx = ReadContext(source, header.notes)
    for reason, count in notes.items():
        ctx.note(reason, count)
    return PoseStream(header, chunks)


def _chunks(
    label_paths: Sequence[str], images: Images, layout: Skeleton, ndim: int, num_classes: int, notes: dict[str, int]
) -> Iterator[Persons]:
    """The persons of the label files, a run of them (``jsonio.CHUNK_BYTES`` of text or more) at a time,
    numbered 1, 2, ... across the runs; what each run adjusts is counted in ``notes``."""
    k = layout.num_keypoints
    ctx = ReadContext(None, notes)
    first_id, lo = 1, 0
    while lo < len(label_paths):
        texts: list[str | None] = []
        size = 0
        while lo + len(texts) < len(label_paths) and (not texts or size < jsonio.CHUNK_BYTES):
            try:
                text = _read_label(label_paths[lo + len(texts)])
            except PoseFormatError:  # a bad file listed before it is named first, however the runs fall
                _parse(texts, 5 + k * ndim, label_paths[lo : lo + len(texts)], layout, ndim, num_classes)
                raise
            texts.append(text)
            size += len(text or "")
        hi = lo + len(texts)
        rows, owners, duplicates = _parse(texts, 5 + k * ndim, label_paths[lo:hi], layout, ndim, num_classes)
        persons = _persons(rows, owners + lo, images, k, ndim, first_id)
        for reason, count in _label_notes(texts, duplicates, len(rows), ndim).items():
            ctx.note(reason, count)
        ctx.note(_NOTE_NO_LABEL, sum(text is None for text in texts))
        first_id += len(rows)
        lo = hi
        del texts, rows
        yield persons
        del persons


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise PoseFormatError(f"cannot read the dataset yaml ({e})", path=path) from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise PoseFormatError(f"invalid YAML: {getattr(e, 'problem', None) or e}", path=path, record=where) from None
    if not isinstance(config, dict):
        raise PoseFormatError(
            f"expected a mapping of keys, found {type(config).__name__}", path=path, record="top level"
        )
    if "validation" in config and "val" not in config:  # Ultralytics renames it too
        config = {("val" if k == "validation" else k): v for k, v in config.items()}
    return config


@dataclass
class _Split:
    """Where a split's images are: folders (searched recursively) and list files of image paths.

    ``labels``: a labels folder given apart from the images (else Ultralytics' path rule applies).
    """

    folders: list[Path] = field(default_factory=list)
    lists: list[Path] = field(default_factory=list)
    labels: Path | None = None


def _yaml_splits(config: dict[str, Any], root: Path, yaml_path: Path) -> dict[str, _Split]:
    """The yaml's splits, resolved as Ultralytics does (``../x`` falls back to ``x`` under the root)."""
    splits: dict[str, _Split] = {}
    for key in SPLIT_KEYS:
        value = config.get(key)
        if not value:
            continue
        entries = value if isinstance(value, list) else [value]
        if not all(isinstance(e, str) and e for e in entries):
            raise PoseFormatError(
                f"expected a path or a list of paths, found {value!r:.60}",
                path=yaml_path,
                record="top level",
                field=key,
            )
        spec = splits[key] = _Split()
        for entry in entries:
            found = root / entry
            if not found.exists() and entry.startswith("../"):
                found = root / entry[3:]
            if found.is_dir():
                spec.folders.append(Path(os.path.normpath(found)))
            elif found.is_file():
                spec.lists.append(Path(os.path.normpath(found)))
            else:
                raise PoseFormatError(f"{found} does not exist", path=yaml_path, record="top level", field=key)
    if not splits:
        raise PoseFormatError("names no split (train, val, test)", path=yaml_path, record="top level", field="train")
    return splits


def _bare_folder(folder: Path) -> tuple[Path, dict[str, Any], dict[str, _Split]]:
    """A folder with ``images/`` and ``labels/`` and no yaml: each sub-folder of ``images/`` is a split."""
    images = folder / "images"
    if not images.is_dir() or not (folder / "labels").is_dir():
        raise PoseFormatError("no dataset yaml with 'kpt_shape' and no images/ and labels/ folders", path=folder)
    subfolders = sorted(p for p in images.iterdir() if p.is_dir())
    if subfolders and not any(p.is_file() and _is_image(p.name) for p in images.iterdir()):
        return folder.resolve(), {}, {p.name: _Split([p]) for p in subfolders}
    return folder.resolve(), {}, {"train": _Split([images])}


def _labels_and_images(labels: Path, images: Path) -> tuple[Path, dict[str, Any], dict[str, _Split]]:
    """A labels folder and an images folder: an image's label is at its path below ``images``, with ``.txt``."""
    if not labels.is_dir() or not images.is_dir():
        raise PoseUsageError(f"with images_dir, {labels} must be a labels folder and {images} an images folder")
    return images.resolve(), {}, {"train": _Split([images.resolve()], labels=labels.resolve())}


def _is_image(name: str) -> bool:
    return name.rpartition(".")[2].lower() in IMAGE_EXTENSIONS


def label_path(image: str | os.PathLike) -> str:
    """Where Ultralytics looks for an image's label: the last ``/images/`` turned ``/labels/``, extension ``.txt``."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(os.fspath(image).rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def _list_images(splits: dict[str, _Split]) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """(image path, split, label path) of every image, split by split; a label without an image is an error."""
    listed: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    notes: dict[str, int] = {}
    repeated = 0
    for split, spec in splits.items():
        same = next((s for s, other in splits.items() if other == spec), split)
        if same != split:  # e.g. one split written as both train and val
            notes[f"split '{split}' names the images of '{same}' (tagged '{same}')"] = 1
            continue
        images: list[tuple[str, str]] = []
        for folder in spec.folders:
            found = sorted(
                os.path.join(d, f) for d, _, files in os.walk(folder, followlinks=True) for f in files if _is_image(f)
            )
            if spec.labels is not None:
                pairs = [
                    (im, os.path.join(spec.labels, os.path.relpath(im, folder)).rsplit(".", 1)[0] + ".txt")
                    for im in found
                ]
                _check_labels_have_images(pairs, spec.labels, folder)
            else:
                pairs = [(im, label_path(im)) for im in found]
                probe = os.path.join(folder, "x.jpg")
                if label_path(probe) != probe[:-4] + ".txt":  # the folder pairs with a labels folder
                    _check_labels_have_images(pairs, Path(label_path(probe)).parent, folder)
            images += pairs
        for list_file in spec.lists:
            images += [(im, label_path(im)) for im in _read_list(list_file)]
        for image, label in images:
            if image in seen:
                repeated += 1
                continue
            seen.add(image)
            listed.append((image, split, label))
    notes["images listed by more than one split (tagged with the first)"] = repeated
    return listed, notes


def _check_labels_have_images(pairs: list[tuple[str, str]], labels_folder: Path, images_folder: Path) -> None:
    """Every ``.txt`` in a split's labels folder belongs to an image of the split."""
    if not labels_folder.is_dir():
        return
    expected = {label for _, label in pairs}
    for d, _, files in os.walk(labels_folder):
        for f in sorted(files):
            if f.endswith(".txt") and os.path.join(d, f) not in expected:
                raise PoseFormatError(
                    f"is a label file without an image (no image of that name in {images_folder})",
                    path=os.path.join(d, f),
                )


def _read_list(list_file: Path) -> list[str]:
    """The image paths of a split list file, one per line; relative ones count from the file's folder."""
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PoseFormatError(f"cannot read the image list ({e})", path=list_file) from None
    out = []
    for line in map(str.strip, lines):
        if line and _is_image(line):
            out.append(os.path.normpath(line if os.path.isabs(line) else list_file.parent / line))
    return out


def _read_label(label: str) -> str | None:
    try:
        with open(label, encoding="utf-8-sig") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise PoseFormatError(f"cannot read the label file ({e})", path=label) from None


def _image_size(image: str, i: int) -> tuple[int, int]:
    """(width, height) from the header, turned as Ultralytics' ``exif_size`` does for EXIF orientations 5-8."""
    try:
        return header_size(image, exif_turn=True)
    except PoseFormatError as e:
        raise PoseFormatError(e.message, path=image, record=f"images[{i}]") from None


def _split_folders(splits: dict[str, _Split], listed: list[tuple[str, str, str]], root: Path) -> dict[str, list[str]]:
    """Each split's image folders, root-relative: the yaml's folders, and for a list file the folder
    holding all its images. A writer places an image by its path below its folder."""
    folders = {split: [_relative_name(f, root) for f in spec.folders] for split, spec in splits.items()}
    for split, spec in splits.items():
        images = [os.path.dirname(image) for image, s, _ in listed if s == split] if spec.lists else []
        if images:
            folders[split].append(_relative_name(os.path.commonpath(images), root))
    return {split: fs for split, fs in folders.items() if fs}


def _relative_name(path: str | os.PathLike, root: Path) -> str:
    """``path`` relative to ``root`` with ``/`` separators, or absolute when it lies elsewhere."""
    rel = os.path.relpath(os.path.abspath(path), root)
    return Path(os.path.abspath(path)).as_posix() if rel.split(os.sep)[0] == ".." else Path(rel).as_posix()


def sample_tags(data: PoseData) -> tuple[PoseData, list[list[str]] | None]:
    """The data without its images' ``split`` key, and each image's split as its tags.

    A FiftyOne import turns the splits of a YOLO dataset into sample tags (and a YOLO export
    turns tags back into splits). None where no image has a split.
    """
    splits = [extra.get("split") for extra in data.images.extras]
    if not any(isinstance(s, str) for s in splits):
        return data, None
    extras = [{k: v for k, v in extra.items() if k != "split"} for extra in data.images.extras]
    images = dataclasses.replace(data.images, extras=extras)
    return dataclasses.replace(data, images=images), [[s] if isinstance(s, str) else [] for s in splits]


def _source_folder(name: str, folders: dict[str, list[str]]) -> str:
    """The deepest split folder (``meta["yolo"]["folders"]``) holding ``name``, as a ``/``-ended prefix."""
    best = ""
    for fs in folders.values():
        for f in fs:
            prefix = "" if f in ("", ".") else f.rstrip("/") + "/"
            if name.startswith(prefix) and len(prefix) > len(best):
                best = prefix
    return best


# ------------------------------------------------------------------------------------ pure decode


@dataclass(frozen=True)
class YoloDocument:
    """A YOLO-pose dataset as ``read`` gathers it from its folder, for the pure ``decode``.

    ``config``: the parsed dataset yaml (``{}`` without one); per image, its root-relative
    ``file_names``, its ``sizes`` (width, height), its label file's text (``texts``; None: it has
    none), its ``splits`` (kept as the image key ``split``) and ``label_paths`` (naming the files
    in errors).
    """

    config: dict[str, Any]
    file_names: list[str]
    sizes: Sequence[tuple[int, int]]
    texts: Sequence[str | None]
    splits: Sequence[str] | None = None
    label_paths: Sequence[str] | None = None


def decode(doc: YoloDocument, *, path: str | os.PathLike | None = None) -> PoseData:
    """``PoseData`` from a dataset yaml (parsed), the images (names and sizes) and their label texts.

    Pure: no disk access. The layout comes from ``kpt_shape``/``kpt_names``/``flip_idx`` (a
    shipped skeleton where they match one), else, without a yaml, from the rows. Boxes and points
    are in pixels of ``sizes``; ``category_id`` is the class plus 1.
    """
    config, texts = doc.config, doc.texts
    label_paths = doc.label_paths if doc.label_paths is not None else [f"labels[{i}]" for i in range(len(texts))]
    k, ndim = _kpt_shape(config, texts, path)
    layout = _layout(config, k, path)
    names = _class_names(config, path)
    rows, owners, duplicates = _parse(texts, 5 + k * ndim, label_paths, layout, ndim, len(names) if names else None)
    if names is None:  # no yaml: the classes the rows use
        count = int(rows[:, 0].max()) + 1 if len(rows) else 1
        names = ["person"] if count == 1 else [f"class_{i}" for i in range(count)]
    header = _header(config, names, layout, doc.file_names, doc.sizes, doc.splits)
    ctx = ReadContext(path, header.notes)
    for reason, count in _label_notes(texts, duplicates, len(rows), ndim).items():
        ctx.note(reason, count)
    return dataclasses.replace(header, persons=_persons(rows, owners, header.images, k, ndim, 1))


def _header(
    config: dict[str, Any],
    names: list[str],
    layout: Skeleton,
    file_names: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    splits: Sequence[str] | None,
) -> PoseData:
    """The dataset without persons: images (ids 1, 2, ...; the split as the key ``split``), classes, yaml keys."""
    m = len(file_names)
    sizes_arr = np.array(sizes, dtype=np.int64).reshape(-1, 2)
    images = Images(
        ids=np.arange(1, m + 1, dtype=np.int64),
        file_names=list(file_names),
        widths=sizes_arr[:, 0].copy(),
        heights=sizes_arr[:, 1].copy(),
        extras=[{} for _ in range(m)] if splits is None else [{"split": s} for s in splits],
    )
    categories = [{**default_category(layout), "id": i + 1, "name": name} for i, name in enumerate(names)]
    other = {key: value for key, value in config.items() if key not in _OWN_KEYS}
    kept = {key: value for key, value in other.items() if _json_safe(value)}
    dropped = len(other) - len(kept)
    return PoseData(
        images=images,
        persons=Persons.empty(layout.num_keypoints),
        skeleton=layout,
        categories=categories,
        meta={"yolo": {"yaml": kept}},
        format=NAME,
        notes={"yaml keys not kept (values JSON cannot hold)": dropped} if dropped else {},
    )


def _persons(rows: np.ndarray, owners: np.ndarray, images: Images, k: int, ndim: int, first_id: int) -> Persons:
    """Persons from label rows (``class cx cy w h`` and the points, divided by the size of the image
    ``owners`` names), in pixels; ids ``first_id``, ``first_id + 1``, ..."""
    n = len(rows)
    w = images.widths[owners].astype(np.float64)[:, None]
    h = images.heights[owners].astype(np.float64)[:, None]
    kp = rows[:, 5:].reshape(n, k, ndim)
    xy = np.stack([kp[..., 0] * w, kp[..., 1] * h], axis=2)
    raw_v = kp[..., 2] if ndim == 3 else np.where((kp[..., 0] < 0) | (kp[..., 1] < 0), 0.0, 2.0)
    visibility = np.where(raw_v <= 0, 0, np.where(raw_v == 1, 1, 2)).astype(np.int8)
    bw, bh = rows[:, 3:4] * w, rows[:, 4:5] * h
    boxes = np.concatenate([rows[:, 1:2] * w - bw / 2, rows[:, 2:3] * h - bh / 2, bw, bh], axis=1)
    return Persons(
        image_index=owners,
        ids=np.arange(first_id, first_id + n, dtype=np.int64),
        category_ids=rows[:, 0].astype(np.int64) + 1,
        keypoints=xy,
        visibility=visibility,
        boxes=boxes,
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=[{} for _ in range(n)],
        visibility_raw=raw_v.copy() if ndim == 3 and (raw_v != visibility).any() else None,
        int_mask={
            "keypoints": uniform_mask(False, (n, k, 3)),
            "bbox": uniform_mask(False, (n, 4)),
            "area": uniform_mask(False, (n,)),
        },
        absent={"segmentation": np.ones(n, bool)},
    )


def _label_notes(texts: Sequence[str | None], duplicates: int, rows: int, ndim: int) -> dict[str, int]:
    """What reading these label texts (``rows`` persons kept) adjusted, reason -> count."""
    return {
        "duplicate rows, read once (as Ultralytics' loader does)": duplicates,
        "empty label files (background images)": sum(1 for t in texts if t is not None and not t.strip()),
        "kpt_shape [K, 2]: points read as labelled unless a coordinate is negative (as Ultralytics does)": (
            rows if ndim == 2 else 0
        ),
    }


def _json_safe(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


def _kpt_shape(config: dict[str, Any], texts: Sequence[str | None], path: Any) -> tuple[int, int]:
    """``kpt_shape`` of the yaml; without a yaml, from the first row (``5 + 3K`` values, else ``5 + 2K``)."""
    if not config:
        first = next((line.split() for t in texts if t for line in t.splitlines() if line.strip()), None)
        if first is None:
            raise PoseFormatError(
                "no yaml and no label row: the number of points is unknown", path=path, record="labels"
            )
        extra = len(first) - 5
        for ndim in (3, 2):
            if extra > 0 and extra % ndim == 0:
                return extra // ndim, ndim
        raise PoseFormatError(f"a row has {len(first)} values: not 5 + K x 3 or 5 + K x 2", path=path, record="labels")
    shape = config.get("kpt_shape")
    if not (isinstance(shape, list) and len(shape) == 2 and all(type(v) is int for v in shape)) or not (
        shape[0] >= 1 and shape[1] in (2, 3)
    ):
        raise PoseFormatError(
            f"expected [number of points, 2 or 3], found {shape!r:.60}",
            path=path,
            record="top level",
            field="kpt_shape",
        )
    return shape[0], shape[1]


def _class_names(config: dict[str, Any], path: Any) -> list[str] | None:
    """Class names by class index: ``names`` (a dict or a list), else ``nc``; None without either."""
    names = config.get("names")
    if names is None:
        nc = config.get("nc")
        if nc is None:
            return None
        if type(nc) is not int or nc < 1:
            raise PoseFormatError(
                f"expected a positive number of classes, found {nc!r:.60}", path=path, record="top level", field="nc"
            )
        return [f"class_{i}" for i in range(nc)]
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    if isinstance(names, dict):
        try:
            index = {int(key): str(value) for key, value in names.items()}
        except (TypeError, ValueError):
            index = {}
        if index and sorted(index) == list(range(len(index))):
            return [index[i] for i in range(len(index))]
    raise PoseFormatError(
        f"expected class names 0..n-1, found {names!r:.60}", path=path, record="top level", field="names"
    )


def _layout(config: dict[str, Any], k: int, path: Any) -> Skeleton:
    """The skeleton: a shipped one matching ``kpt_names`` (or, without names, the point count and
    ``flip_idx``), else a generic one with the file's names (or ``keypoint_<i>``) and flip pairs."""
    names = _kpt_names(config, k, path)
    flips = config.get("flip_idx")
    pairs = None if flips is None else _flip_pairs(flips, k, path)
    found = skeletons.match(names or (), k, prefer="coco") if names else None
    if names is None:
        same = [s for s in map(skeletons.load, skeletons.available()) if s.num_keypoints == k]
        same = [s for s in same if pairs is None or _same_pairs(s.flip_pairs, pairs)]
        found = next((s for s in same if s.name == "coco"), same[0] if len(same) == 1 else None)
    if found is not None and (pairs is None or _same_pairs(found.flip_pairs, pairs)):
        return found
    return Skeleton(
        name="custom",
        keypoints=tuple(names or (f"keypoint_{i}" for i in range(k))),
        edges=found.edges if found is not None else (),
        flip_pairs=tuple(pairs or ()),
    )


def _kpt_names(config: dict[str, Any], k: int, path: Any) -> list[str] | None:
    value = config.get("kpt_names")
    if value is None:
        return None
    lists = list(value.values()) if isinstance(value, dict) else [value]
    names = lists[0] if lists else None
    if not isinstance(names, list) or len(names) != k or not all(isinstance(n, str) for n in names):
        raise PoseFormatError(
            f"expected {k} point names (kpt_shape), found {names!r:.60}",
            path=path,
            record="top level",
            field="kpt_names",
        )
    return names


def _flip_pairs(flips: Any, k: int, path: Any) -> list[tuple[int, int]]:
    """``flip_idx`` as pairs; it must send each point to its mirror and the mirror back."""
    valid = isinstance(flips, list) and len(flips) == k and all(type(j) is int and 0 <= j < k for j in flips)
    if not valid or any(flips[j] != i for i, j in enumerate(flips)):
        raise PoseFormatError(
            f"expected {k} point indices, each point's mirror (whose mirror is the point), found {flips!r:.80}",
            path=path,
            record="top level",
            field="flip_idx",
        )
    return [(i, j) for i, j in enumerate(flips) if i < j]


def _same_pairs(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> bool:
    return {tuple(sorted(p)) for p in a} == {tuple(sorted(p)) for p in b}


def flip_index(layout: Skeleton) -> list[int]:
    """Ultralytics' ``flip_idx`` of a layout: each point's mirror partner, itself where it has none."""
    index = list(range(layout.num_keypoints))
    for a, b in layout.flip_pairs:
        index[a], index[b] = b, a
    return index


def _column_name(j: int, layout: Skeleton, ndim: int) -> str:
    if j < 5:
        return _BOX_FIELDS[j]
    point, part = divmod(j - 5, ndim)
    return f"{('x', 'y', 'visibility')[part]} of point {point} ({layout.keypoints[point]})"


def _parse(
    texts: Sequence[str | None],
    width: int,
    label_paths: Sequence[str],
    layout: Skeleton,
    ndim: int,
    num_classes: int | None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The rows of every label text as one float64 matrix, checked as Ultralytics' ``verify_image_label`` does.

    Returns (rows, their image index, duplicate rows dropped: equal in float32 within an image, as
    Ultralytics' ``np.unique`` finds them). A row Ultralytics would reject (and with it the whole
    image) is an error naming the file, the line and the field. The texts' rows are converted,
    checked and deduplicated together (file by file, ``np.unique`` per file was 36% of a 64k-image
    read); only where that finds a fault are the files gone through one by one (``_check_file``),
    so that the first bad file is the one named, with its first fault.
    """
    lines = [_label_lines(text) for text in texts]
    rows = None
    if all(len(values) == width for file_lines in lines for _, values in file_lines):
        try:
            flat = [v for file_lines in lines for _, values in file_lines for v in values]
            rows = np.array(flat, dtype=np.float64).reshape(-1, width)
        except ValueError:
            pass
    if rows is None or _bad_cell(rows, ndim, num_classes) is not None:
        for i, file_lines in enumerate(lines):
            _check_file(file_lines, width, label_paths[i], layout, ndim, num_classes)
        raise RuntimeError("label rows that fail together passed one file at a time")
    owners = np.repeat(np.arange(len(texts), dtype=np.int64), [len(file_lines) for file_lines in lines])
    keep = _first_of_equal_rows(rows.astype(np.float32) + np.float32(0), owners)  # + 0: -0.0 is 0.0, as in np.unique
    return rows[keep], owners[keep], len(rows) - len(keep)


def _label_lines(text: str | None) -> list[tuple[int, list[str]]]:
    """(line number, values) of each line of a label text that holds any."""
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()] if text else []


def _check_file(
    lines: list[tuple[int, list[str]]], width: int, path: str, layout: Skeleton, ndim: int, num_classes: int | None
) -> None:
    """Raise for the first fault of one label file's ``lines`` (values, then numbers, then checks)."""
    for n, values in lines:
        if len(values) != width:
            raise PoseFormatError(
                f"has {len(values)} values, expected {width} "
                f"(class, box and {(width - 5) // ndim} x {ndim} point values, as kpt_shape says)",
                path=path,
                record=f"line {n}",
                field="values",
            )
    try:
        block = np.array([v for _, values in lines for v in values], dtype=np.float64).reshape(-1, width)
    except ValueError:
        n, j, value = next((n, j, v) for n, values in lines for j, v in enumerate(values) if not _is_float(v))
        raise PoseFormatError(
            f"expected a number, found {value!r:.40}",
            path=path,
            record=f"line {n}",
            field=_column_name(j, layout, ndim),
        ) from None
    bad = _bad_cell(block, ndim, num_classes)
    if bad is not None:
        r, j, message = bad
        raise PoseFormatError(
            f"{block[r, j]!r} {message}", path=path, record=f"line {lines[r][0]}", field=_column_name(j, layout, ndim)
        )


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _bad_cell(block: np.ndarray, ndim: int, num_classes: int | None) -> tuple[int, int, str] | None:
    """(row, column, what is wrong) of the first value that makes Ultralytics drop the image, compared
    in float32 as its loader does (the checks in turn, each the first in row order); None if none."""
    v = block.astype(np.float32)
    cols = np.arange(v.shape[1])
    is_class = cols == 0
    is_size = (cols == 3) | (cols == 4)
    is_position = (cols >= 5) & ((cols - 5) % ndim < 2)
    classes = v[:, :1]
    bad_class = (classes % 1 != 0) | (classes < 0)
    if num_classes is not None:
        bad_class |= classes >= num_classes
    checks = (
        (~np.isfinite(v), "is not a finite number"),
        (is_class & bad_class, "is not a class index" + (f" 0..{num_classes - 1}" if num_classes else "")),
        (is_size & (v < 0), "is a negative box size: Ultralytics rejects the image"),
        (v < -_TOLERANCE, f"is below -{_TOLERANCE}: Ultralytics rejects the image"),
        (is_position & (v > 1 + _TOLERANCE), f"is above {1 + _TOLERANCE} (not divided by the image size?)"),
    )
    for bad, message in checks:
        if bad.any():
            r, j = (int(x) for x in np.argwhere(bad)[0])
            return r, j, message
    return None


# ------------------------------------------------------------------------------------ pure encode


def encode(data: PoseData) -> tuple[list[str], dict[str, int]]:
    """Each image's label text, and what was left out or adjusted (reason -> count). Pure.

    A person is left out where ``convert_coco`` leaves it out: a crowd region, a box of zero
    width or height, no labelled point (also none inside the image). A person without a box gets
    the box of its labelled points. Numbers are ``convert_coco``'s (box centre, then divided by the
    image size); a box reaching outside the image is clipped to it, a labelled point outside the
    image is written unlabelled, as Ultralytics' own augmentation does, since its loader rejects
    the image. ``v`` is COCO's 0/1/2; unlabelled points are ``0 0 0``. Identical rows are written once.
    """
    writable = _Writable(data)
    writable.see(data.persons)
    writable.check()
    texts, report = _label_texts(data)
    return texts, {reason: count for reason, count in report.items() if count}


def _label_texts(data: PoseData, lo: int = 0, hi: int | None = None) -> tuple[list[str], dict[str, int]]:
    """The label texts of images ``lo`` to ``hi`` (all by default; ``data`` holds the persons of no
    other: formatting is the slow part, so a writer calls this a run of images at a time) and
    ``encode``'s report for them, zero counts included. Every person must be one a row can be
    made of (checked first by ``_Writable``)."""
    p, im = data.persons, data.images
    hi = len(im) if hi is None else hi
    classes = _class_index(data)
    labeled = p.visibility > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # sizes of 0 only where nothing is written
        rows, keep, report = _person_rows(p, im.widths[p.image_index], im.heights[p.image_index], classes, labeled)

    kept = np.flatnonzero(keep)
    kept = kept[np.argsort(p.image_index[kept], kind="stable")]
    owner = p.image_index[kept]
    unique = _first_of_equal_rows(rows[kept], owner)
    duplicates = len(kept) - len(unique)
    kept, owner = kept[unique], owner[unique]
    report["identical rows in an image, written once (as convert_coco)"] = duplicates
    ends = np.searchsorted(owner, np.arange(lo, hi + 1)).tolist()
    line = " ".join([f"%.{DIGITS}g"] * rows.shape[1])
    lines = list(map(line.__mod__, map(tuple, rows[kept].tolist())))
    return ["\n".join(lines[a:b]) + "\n" if b > a else "" for a, b in zip(ends[:-1], ends[1:])], report


class _Writable:
    """Sees persons in the order they come (a stream's chunks one after the other) and keeps the
    first that no YOLO row can be made of; ``check`` raises for it as a whole write does: a
    category not among the categories first, then an image without a size."""

    def __init__(self, data: PoseData) -> None:
        self.images = data.images
        self.categories = np.array([c["id"] for c in data.categories], dtype=np.int64)
        self.sized = (data.images.widths > 0) & (data.images.heights > 0)
        self.seen = 0
        self.category: PoseFormatError | None = None
        self.unsized: PoseFormatError | None = None

    def see(self, p: Persons) -> None:
        if self.category is None and len(self.categories) > 1:  # one category: every person is of it
            unknown = np.flatnonzero(~np.isin(p.category_ids, self.categories))
            if len(unknown):
                i = int(unknown[0])
                self.category = PoseFormatError(
                    f"category {p.category_ids[i]} is not in the categories",
                    record=f"annotations[{self.seen + i}] (id {p.ids[i]})",
                    field="category_id",
                )
        if self.unsized is None:
            needed = ~p.crowd & (p.visibility > 0).any(axis=1)  # persons that can be written
            unsized = np.flatnonzero(needed & ~self.sized[p.image_index])
            if len(unsized):
                self.unsized = PoseFormatError(
                    "the image has no size: YOLO rows are divided by it",
                    record=self.images.record(int(p.image_index[unsized[0]])),
                    field="width",
                )
        self.seen += len(p)

    def check(self) -> None:
        for error in (self.category, self.unsized):
            if error is not None:
                raise error


def _person_rows(
    p: Persons, widths: np.ndarray, heights: np.ndarray, classes: np.ndarray, labeled: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Every person's row (``convert_coco``'s arithmetic), which persons are kept, and the counts.

    ``widths``/``heights``: each person's image size.
    """
    n, k = len(p), p.num_points
    w, h = widths.astype(np.float64), heights.astype(np.float64)
    boxes = p.boxes.copy()
    no_box = np.isnan(boxes).any(axis=1) & ~p.crowd
    boxes[no_box] = keypoint_boxes(p.keypoints[no_box], p.visibility[no_box])
    x, y, bw, bh = boxes.T
    crowd = p.crowd
    some = labeled.any(axis=1)
    flat = ~crowd & ((bw / w <= 0) | (bh / h <= 0)) & (some | ~no_box)  # no box and no point: unlabeled
    nx = p.keypoints[..., 0] / w[:, None]
    ny = p.keypoints[..., 1] / h[:, None]
    inside = (nx >= 0) & (nx <= 1) & (ny >= 0) & (ny <= 1)
    written = labeled & inside
    unlabeled = ~crowd & ~flat & ~some
    all_outside = ~crowd & ~flat & ~unlabeled & ~written.any(axis=1)  # no labelled point left to write
    # clip to the image; convert_coco's exact arithmetic wherever nothing is clipped, and where a
    # box passes the border by less than the written precision (a box read back from its rows)
    x0, y0 = np.clip(x, 0, w), np.clip(y, 0, h)
    x1, y1 = np.clip(x + bw, 0, w), np.clip(y + bh, 0, h)
    slack = 10.0 ** (1 - DIGITS)
    clipped = (x0 - x > slack * w) | (y0 - y > slack * h) | (x + bw - x1 > slack * w) | (y + bh - y1 > slack * h)
    x, y = np.where(clipped, x0, x), np.where(clipped, y0, y)
    bw, bh = np.where(clipped, x1 - x0, bw), np.where(clipped, y1 - y0, bh)
    outside_box = ~crowd & ~flat & ~unlabeled & ~all_outside & ((bw <= 0) | (bh <= 0))
    keep = ~(crowd | flat | unlabeled | all_outside | outside_box)
    rows = np.zeros((n, 5 + 3 * k))
    rows[:, 0] = classes
    rows[:, 1] = (x + bw / 2) / w
    rows[:, 2] = (y + bh / 2) / h
    rows[:, 3] = bw / w
    rows[:, 4] = bh / h
    points = rows[:, 5:].reshape(n, k, 3)
    points[..., 0] = np.where(written, nx, 0.0)
    points[..., 1] = np.where(written, ny, 0.0)
    points[..., 2] = np.where(written, p.visibility, 0)
    rows += 0.0  # -0.0 -> 0.0: equal rows are one row, as in convert_coco's dict of tuples

    on_kept = keep[:, None]
    placed = (p.keypoints[..., 0] != 0) | (p.keypoints[..., 1] != 0)
    report = {
        "crowd regions left out (YOLO has none; as Ultralytics' convert_coco)": int(crowd.sum()),
        "persons left out: box of zero width or height (as convert_coco)": int(flat.sum()),
        "persons left out: no labelled point (as convert_coco)": int(unlabeled.sum()),
        "persons left out: every labelled point outside the image": int(all_outside.sum()),
        "persons left out: box outside the image": int(outside_box.sum()),
        "persons without a box: given the box of their labelled points": int((no_box & keep).sum()),
        "boxes reaching outside the image, clipped to it": int((clipped & keep).sum()),
        "labelled points outside the image, written unlabelled (0 0 0) as Ultralytics does": int(
            (labeled & ~inside & on_kept).sum()
        ),
        "unlabelled points with coordinates, written 0 0 0": int((~labeled & on_kept & placed).sum()),
        "points whose source visibility is not COCO's 0/1/2, written as COCO's": int(
            (written & on_kept & (p.raw_visibility() != p.visibility)).sum()
        ),
    }
    return rows, keep, report


def _class_index(data: PoseData) -> np.ndarray:
    """Each person's class: the position of its category in the file's category list (0 without one;
    every category is there: ``_Writable``)."""
    cats = [c["id"] for c in data.categories]
    if len(cats) <= 1 or not len(data.persons):
        return np.zeros(len(data.persons))
    ids = np.array(cats, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], data.persons.category_ids).clip(0, len(ids) - 1)
    return order[pos].astype(np.float64)


def _first_of_equal_rows(rows: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the first of each group of equal rows of the same image.

    Rows are grouped by image and a 64-bit hash of their bits (sorting whole rows measured 6x
    slower), and a row is dropped only where its bits equal those of the row before it.
    """
    n = len(rows)
    if n < 2:
        return np.arange(n)
    bits = np.ascontiguousarray(rows, dtype=np.float64).view(np.uint64)
    hashes = _mixed(bits ^ _mixed(np.arange(bits.shape[1], dtype=np.uint64))).sum(axis=1, dtype=np.uint64)
    order = np.lexsort((np.arange(n), hashes, owner))
    candidate = np.flatnonzero((owner[order][1:] == owner[order][:-1]) & (hashes[order][1:] == hashes[order][:-1]))
    equal = (bits[order[candidate + 1]] == bits[order[candidate]]).all(axis=1)
    drop = np.zeros(n, bool)
    drop[order[candidate[equal] + 1]] = True
    return np.flatnonzero(~drop)


def _mixed(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser of each 64-bit value: every input bit reaches every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def class_names(data: PoseData) -> list[str]:
    """The yaml's ``names``: the categories' names in file order, else one ``person`` class."""
    return [str(c.get("name", "person")) for c in data.categories] or ["person"]


def dataset_yaml(
    data: PoseData, root: Path, folders: dict[str, str], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The dataset yaml of an export: ``path``, split folders, ``kpt_shape``, ``flip_idx``, ``names``, ``kpt_names``.

    ``folders``: split -> folder written now; ``previous``: the yaml already in the folder, whose
    other splits are kept. Ultralytics needs ``train`` and ``val``: a missing one reads the
    images of another split. Keys of a YOLO source's yaml this module does not write are kept.
    """
    previous = previous or {}
    names = class_names(data)
    layout = data.skeleton
    splits = {key: value for key, value in previous.items() if key in SPLIT_KEYS and key not in folders}
    splits.update(folders)
    first = next(iter(folders.values()), None) or next(iter(splits.values()), None)
    config: dict[str, Any] = {"path": str(root)}
    config["train"] = splits.pop("train", first)
    config["val"] = splits.pop("val", config["train"])
    config.update(splits)
    config["kpt_shape"] = [layout.num_keypoints, 3]
    config["flip_idx"] = flip_index(layout)
    config["names"] = dict(enumerate(names))
    config["kpt_names"] = {i: list(layout.keypoints) for i in range(len(names))}
    source = (data.meta.get("yolo") or {}).get("yaml") or {}
    for key, value in [*source.items(), *previous.items()]:
        if key not in _OWN_KEYS and key not in config and key not in folders:
            config[key] = value
    return config


def _compatible(previous: dict[str, Any], config: dict[str, Any]) -> str | None:
    """What makes a yaml already in the export folder describe another dataset, or None."""
    for key in ("kpt_shape", "flip_idx", "names", "kpt_names"):
        if key in previous and previous[key] != config[key]:
            return f"its {key} is {previous[key]!r:.60}, this export's {config[key]!r:.60}"
    return None


# --------------------------------------------------------------------------------------- writing


def write(
    data: PoseData,
    path: str | os.PathLike,
    *,
    images_dir: str | os.PathLike | None = None,
    sources: Sequence[str] | None = None,
    tags: Sequence[Sequence[str]] | None = None,
    split_tags: Sequence[str] | None = None,
    split: str | None = None,
    export_media: str | bool | None = None,
) -> dict[str, int]:
    """Write a YOLO-pose dataset into the folder ``path``; returns what was left out or adjusted.

    Splits: ``split`` puts every image in that split; else each image's tag among ``split_tags``
    (default train, val, test) from ``tags`` (a FiftyOne export's sample tags) or from the YOLO
    dataset the data was read from; else one ``train`` split, said in the report. Never a random
    split. Media (``export_media``): ``symlink`` (default: trains as is, copies nothing), ``copy``,
    ``move`` or ``none`` (labels and yaml only); the images are ``sources`` (absolute paths, one
    per image) or ``images_dir`` joined with each file name. An image lands at
    ``images/<split>/<file_name>`` with its sub-folders (a ``..`` or absolute name is flattened
    to its base name and counted), its label at ``labels/<split>/<file_name>.txt``.

    All or nothing: the files are written into a staging folder inside ``path``, then each split
    folder written replaces the old one whole (its stale labels would train otherwise) and the
    yaml is merged with the one there. Nothing is ever written outside ``path``.
    """
    header = dataclasses.replace(data, persons=Persons.empty(data.persons.num_points), notes={})
    write_stream(
        PoseStream(header, [data.persons]),
        path,
        images_dir=images_dir,
        sources=sources,
        tags=tags,
        split_tags=split_tags,
        split=split,
        export_media=export_media,
    )
    return header.notes


def write_stream(
    stream: PoseStream,
    path: str | os.PathLike,
    *,
    images_dir: str | os.PathLike | None = None,
    sources: Sequence[str] | None = None,
    tags: Sequence[Sequence[str]] | None = None,
    split_tags: Sequence[str] | None = None,
    split: str | None = None,
    export_media: str | bool | None = None,
) -> None:
    """``write`` of a stream: the images come from its header, their persons a chunk at a time, in
    any order (a stream of more than one chunk is sorted by image through a temporary file,
    ``core.stream.SortedSpill``), and the label files are written ``LABELS_CHUNK`` images at a time,
    so memory does not grow with the dataset. What ``write`` returns is added to the header's notes.
    """
    mode = media.media_mode(export_media, DEFAULT_MEDIA)
    root = Path(os.path.abspath(path))
    if root.exists() and not root.is_dir():
        raise PoseUsageError(f"{root} is a file: a YOLO dataset is written into a folder")
    data = stream.header
    splits, report = _assign_splits(data, tags, split_tags, split)
    rels, path_report = _destinations(data, splits)
    report.update(path_report)
    if mode != "none":
        sources = _sources(data, sources, images_dir)
        data = _with_sizes(data, sources, report)
    else:
        sources = None
        report["images not written (export_media none): put them in images/<split>/"] = len(data.images)
    written = list(dict.fromkeys(splits)) or [split or "train"]
    yaml_path = root / YAML_NAME
    previous = _load_yaml(yaml_path) if yaml_path.is_file() else None
    config = dataset_yaml(data, root, {s: f"images/{s}" for s in written}, previous)
    if previous is not None and (why := _compatible(previous, config)):
        raise PoseUsageError(f"{yaml_path} describes another dataset ({why}); export into another folder")
    kinds = ("labels",) if mode == "none" else ("labels", "images")
    for kind in kinds:
        media.check_parent(root / kind, root)
    if sources is not None:
        _check_sources_kept(sources, [root / kind / s for kind in kinds for s in written])

    blocks = _image_blocks(stream, _Writable(data), len(data.images), data.persons.num_points)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = media.make_staging(root)
    moved: list[tuple[str, str]] = []
    placing: Future | None = None
    labelling: list[Future] = []
    # threads create the files (system calls, the GIL released) while this one formats the rows
    with ThreadPoolExecutor(max_workers=2) as files:
        try:
            for s in written:
                for kind in kinds:
                    (staging / kind / s).mkdir(parents=True)
            if sources is not None:
                folder = os.path.join(staging, "images", "")
                targets = [f"{folder}{s}/{rel}" for s, rel in zip(splits, rels)]
                placing = files.submit(media.place, sources, targets, mode)
            counts: dict[str, int] = {}  # in the order of one whole write's report
            for lo, hi, persons in blocks:
                texts, row_report = _label_texts(dataclasses.replace(data, persons=persons), lo, hi)
                add_notes(counts, row_report)
                labelling.append(files.submit(_write_labels, staging / "labels", splits[lo:hi], rels[lo:hi], texts))
                del persons, texts
                if len(labelling) > 2:  # the texts of two runs at most wait for their files
                    labelling[-3].result()
            for done in labelling:
                done.result()
            report.update({reason: count for reason, count in counts.items() if count})
            if placing is not None:
                moved, placing = placing.result(), None
            write_atomic(staging / YAML_NAME, [_yaml_text(config)])
            for s in written:
                for kind in kinds:
                    media.replace_dir(staging / kind / s, root / kind / s, staging / "replaced" / kind / s)
            moved = []  # in place now: a failure from here on leaves the new dataset, not the sources
            os.replace(staging / YAML_NAME, yaml_path)
        except BaseException:
            blocks.close()  # its temporary file
            for pending in labelling:  # the threads finish before their folder is deleted
                if not pending.cancel():
                    _outcome(pending)
            if placing is not None:  # still placing: wait for it, then undo what it moved
                moved = _outcome(placing) or []
            media.undo_moves(moved)
            shutil.rmtree(staging, ignore_errors=True)
            if created:
                shutil.rmtree(root, ignore_errors=True)
            raise
    shutil.rmtree(staging)
    add_notes(stream.header.notes, report)


def _image_blocks(
    chunks: Iterable[Persons], writable: _Writable, num_images: int, num_points: int
) -> Iterator[tuple[int, int, Persons]]:
    """(lo, hi, the persons of images ``lo:hi`` in image order) for runs of ``LABELS_CHUNK`` images,
    from ``chunks`` in any order: one chunk (a whole dataset) is sorted here, more go through a
    ``SortedSpill`` by image. Within an image the persons keep their order. Every chunk is seen by
    ``writable`` before the first run, so a person that cannot be written fails as in a whole write."""
    chunks = iter(chunks)
    first = next(chunks, None)
    second = next(chunks, None) if first is not None else None
    if second is None:  # one chunk: its sorted order, sliced a run at a time
        whole = first if first is not None else Persons.empty(num_points)
        writable.see(whole)
        writable.check()
        order = np.argsort(whole.image_index, kind="stable")
        starts = np.searchsorted(whole.image_index[order], np.arange(0, num_images + LABELS_CHUNK, LABELS_CHUNK))
        for j, lo in enumerate(range(0, num_images, LABELS_CHUNK)):
            yield lo, min(lo + LABELS_CHUNK, num_images), whole.take(order[starts[j] : starts[j + 1]])
        return
    with SortedSpill(num_points) as spill:
        for chunk in chain([first, second], chunks):
            writable.see(chunk)
            spill.add(chunk, chunk.image_index, np.zeros(len(chunk), np.int64))
            del chunk
        del first, second
        writable.check()
        ordered = (persons for persons, _ in spill.chunks(SORTED_CHUNK))
        buffer = Persons.empty(num_points)  # at most a run's persons and a sorted chunk
        for lo in range(0, num_images, LABELS_CHUNK):
            hi = min(lo + LABELS_CHUNK, num_images)
            while not len(buffer) or buffer.image_index[-1] < hi:  # the run's persons may go on in the next chunk
                more = next(ordered, None)
                if more is None:
                    break
                buffer = Persons.concat([buffer, more], num_points)
            n = int(np.searchsorted(buffer.image_index, hi))
            yield lo, hi, buffer.take(np.arange(n))
            buffer = buffer.take(np.arange(n, len(buffer)))


def _outcome(running: Future) -> Any:
    """What a file thread returned (a placement: the moves it made), once it has finished; None
    where it failed (a failed placement undid its moves)."""
    try:
        return running.result()
    except BaseException:
        return None


def _assign_splits(
    data: PoseData, tags: Sequence[Sequence[str]] | None, split_tags: Sequence[str] | None, split: str | None
) -> tuple[list[str], dict[str, int]]:
    """Each image's split and the report line that says how they were chosen."""
    m = len(data.images)
    if split is not None:
        if split_tags:
            raise PoseUsageError("give a split or split tags, not both")
        return [_split_name(split)] * m, {}
    names = tuple(_split_name(t) for t in split_tags) if split_tags else DEFAULT_SPLIT_TAGS
    chosen = _tagged_splits(tags, names)
    if chosen is None:  # no split tag: the images' split key (a YOLO source, or a field in FiftyOne)
        keys = [[e["split"]] if isinstance(e.get("split"), str) else [] for e in data.images.extras]
        chosen = _tagged_splits(keys, names)
    if chosen is not None:
        several = next((i for i, c in enumerate(chosen) if len(c) > 1), None)
        if several is not None:
            raise PoseUsageError(
                f"image {data.images.file_names[several]} has the split tags {', '.join(chosen[several])}; "
                "give each image one"
            )
        untagged = [i for i, c in enumerate(chosen) if not c]
        if untagged:
            raise PoseUsageError(
                f"{len(untagged)} image(s) have none of the split tags {', '.join(names)} "
                f"(e.g. {data.images.file_names[untagged[0]]}): tag them, or export a view without them"
            )
        return [c[0] for c in chosen], {}
    if split_tags:
        raise PoseUsageError(f"no image has any of the split tags {', '.join(names)}")
    return ["train"] * m, {"images in one split 'train' (no split tags; 'val' reads the same images)": m}


def _tagged_splits(tags: Sequence[Sequence[str]] | None, names: tuple[str, ...]) -> list[list[str]] | None:
    """Each image's tags that name a split, or None when no image has one."""
    if tags is None:
        return None
    chosen = [[t for t in image if t in names] for image in tags]
    return chosen if any(chosen) else None


def _split_name(name: str) -> str:
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise PoseUsageError(f"{name!r} cannot name a split folder")
    return name


def _destinations(data: PoseData, splits: list[str]) -> tuple[list[str], dict[str, int]]:
    """Each image's path below ``images/<split>/``, checked: inside the folder, an image Ultralytics
    reads, and one image per label file."""
    folders = (data.meta.get("yolo") or {}).get("folders") or {}
    rels: list[str] = []
    flattened = below_images = 0
    for i, name in enumerate(data.images.file_names):
        if folders:  # read from a YOLO dataset: the path below its split folder
            name = name[len(_source_folder(name, folders)) :]
        rel, escaped = media.safe_relative(name)
        flattened += escaped
        parts = rel.split("/")
        if "images" in parts[:-1]:  # Ultralytics pairs an image with labels/ beside its last images/ folder
            last = max(j for j, part in enumerate(parts[:-1]) if part == "images")
            rel = "/".join(parts[last + 1 :])
            below_images += 1
        if not _is_image(rel):
            raise PoseFormatError(
                f"Ultralytics reads only images named *.{', *.'.join(sorted(IMAGE_EXTENSIONS))}",
                record=f"images[{i}] (id {data.images.ids[i]})",
                field="file_name",
            )
        rels.append(rel)
    _check_unique_labels(data, splits, rels)
    report = {
        "file names leaving the folder ('..' or absolute), placed by their base name": flattened,
        "file names below an 'images' folder, placed below it": below_images,
    }
    return rels, {reason: count for reason, count in report.items() if count}


def _check_unique_labels(data: PoseData, splits: list[str], rels: list[str]) -> None:
    """No two images share a label file (``a.jpg`` and ``a.png``) and no file is another's folder."""
    stems: dict[tuple[str, str], int] = {}
    dirs = {(s, rel.rsplit("/", j)[0]) for s, rel in zip(splits, rels) for j in range(1, rel.count("/") + 1)}
    for i, (s, rel) in enumerate(zip(splits, rels)):
        key = (s, rel.rsplit(".", 1)[0])
        j = stems.setdefault(key, i)
        if j != i or (s, rel) in dirs or key in dirs:
            other = data.images.file_names[j] if j != i else "a folder of another image"
            raise PoseFormatError(
                f"its image and label would take the place of {other} (images/{s}/{rel}, labels/{s}/{key[1]}.txt)",
                record=data.images.record(i),
                field="file_name",
            )


def _sources(data: PoseData, sources: Sequence[str] | None, images_dir: str | os.PathLike | None) -> list[str]:
    """The image file of each image, as an absolute path; a missing one is an error naming it."""
    if sources is None:
        if images_dir is None:
            raise PoseUsageError(
                "the images' folder (images_dir, --images-dir) is needed to place them; or export_media='none'"
            )
        base = os.path.abspath(images_dir)
        sources = [os.path.join(base, name) for name in data.images.file_names]
    else:
        sources = [s if os.path.isabs(s) else os.path.abspath(s) for s in map(os.fspath, sources)]
    missing = [i for i, s in enumerate(sources) if not os.path.isfile(s)]
    if missing:
        i = missing[0]
        raise PoseFormatError(
            f"image file {sources[i]} not found ({len(missing)} of {len(sources)} missing)",
            record=f"images[{i}] (id {data.images.ids[i]})",
            field="file_name",
        )
    return sources


def _with_sizes(data: PoseData, sources: list[str], report: dict[str, int]) -> PoseData:
    """``data`` with the image sizes its source lacks (AI Challenger's files) read from the image headers."""
    unknown = np.flatnonzero((data.images.widths <= 0) | (data.images.heights <= 0))
    if not len(unknown):
        return data
    widths, heights = data.images.widths.copy(), data.images.heights.copy()
    for i in unknown.tolist():
        widths[i], heights[i] = _image_size(sources[i], i)
    report[NOTE_SIZES] = len(unknown)
    images = dataclasses.replace(data.images, widths=widths, heights=heights)
    return dataclasses.replace(data, images=images)


def _check_sources_kept(sources: Sequence[str], replaced: list[Path]) -> None:
    """Refuse to replace a split folder that holds one of the images being exported."""
    existing = [(str(f) + os.sep, os.path.realpath(f) + os.sep) for f in replaced if f.exists()]
    if not existing:
        return
    real_dirs: dict[str, str] = {}
    for src in sources:
        src = os.path.abspath(src)
        d = os.path.dirname(src)
        if d not in real_dirs:
            real_dirs[d] = os.path.realpath(d) + os.sep
        for folder, real in existing:
            if src.startswith(folder) or real_dirs[d].startswith(real):
                raise PoseUsageError(
                    f"the image {src} lies in {folder[:-1]}, which this export replaces; export into another "
                    "folder, or with export_media='none' to rewrite the labels only"
                )


def _write_labels(folder: Path, splits: list[str], rels: list[str], texts: list[str]) -> None:
    """One label file per image, below ``folder/<split>/`` (strings, not Paths: this runs per image)."""
    made: set[str] = set()
    base = os.path.join(folder, "")
    for s, rel, text in zip(splits, rels, texts):
        sub, slash, _ = rel.rpartition("/")
        parent = f"{base}{s}/{sub}" if slash else f"{base}{s}"
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(f"{base}{s}/{rel.rsplit('.', 1)[0]}.txt", "w", encoding="utf-8") as f:
            f.write(text)


def _yaml_text(config: dict[str, Any]) -> bytes:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120).encode()
