"""Helpers shared by the formats with native (not COCO-style) files: AI Challenger, OCHuman,
MHP's ``.mat``, MPII, LSP, pytorch-pose, Human3.6M's npz: persons of boxes and keypoints,
``[x1, y1, x2, y2]`` boxes kept exactly, native visibility scales, and image sizes from image
headers. Reading context and errors: ``context.ReadContext``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import zlib
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np

from ..core.errors import PoseFormatError
from ..core.model import Images, Persons, PoseData, keypoint_boxes
from ..core.numbers import INT64_MAX, NumberTypeError, is_number, to_array, to_lists, uniform_mask
from .context import ReadContext

NOTE_SIZES = "image sizes read from image headers"

# ------------------------------------------------------------------------------ native records


def box_persons(
    image_of: Sequence[int],
    keypoints: np.ndarray,
    visibility: np.ndarray,
    raw: np.ndarray | None,
    kp_mask: np.ndarray,
    boxes: np.ndarray,
    box_mask: np.ndarray,
    extras: list[dict[str, Any]],
    first_id: int = 1,
) -> Persons:
    """Persons of a native file that has keypoints and boxes only (AIC, OCHuman): ids 1..N in
    file order (from ``first_id``: a chunk of a file read a chunk at a time), one category, no
    area, no crowd flag, no segmentation."""
    n = len(extras)
    return Persons(
        image_index=np.asarray(image_of, dtype=np.int64),
        ids=np.arange(first_id, first_id + n, dtype=np.int64),
        category_ids=np.ones(n, np.int64),
        keypoints=np.ascontiguousarray(keypoints),
        visibility=visibility,
        boxes=boxes,
        areas=np.full(n, np.nan),
        crowd=np.zeros(n, bool),
        num_keypoints=np.full(n, -1, np.int64),
        segmentations=[None] * n,
        extras=extras,
        visibility_raw=raw,
        int_mask={"keypoints": kp_mask, "bbox": box_mask, "area": uniform_mask(False, (n,))},
        absent={"segmentation": np.ones(n, bool)},
    )


def is_size(v: Any) -> bool:
    """A JSON number that is a whole, non-negative image size."""
    # (a float such as 1.8e19, which orjson gives for an int beyond 2^64, must still fit int64)
    return is_number(v) and v == v and abs(v) != float("inf") and 0 <= v <= INT64_MAX and int(v) == v


# ----------------------------------------------------------------------- [x1, y1, x2, y2] boxes


def corners_to_boxes(corners: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[x1, y1, x2, y2]`` rows as ``[x, y, w, h]`` (``w = x2 - x1``, as Python computes it).

    Returns the boxes, their int mask and, per row, whether the corners can be computed back exactly
    (``x + w == x2`` with the same int/float type and sign: ``0 + -0.0`` gives ``0.0``); rows where
    they cannot keep their corners verbatim elsewhere (``bbox_corners`` in the person's extras).
    """
    n = len(corners)
    boxes = np.empty((n, 4))
    boxes[:, :2] = corners[:, :2]
    boxes[:, 2:] = corners[:, 2:] - corners[:, :2]
    box_mask = np.empty((n, 4), bool)
    box_mask[:, :2] = mask[:, :2]
    box_mask[:, 2:] = mask[:, :2] & mask[:, 2:]
    with np.errstate(invalid="ignore"):
        back = boxes[:, :2] + boxes[:, 2:]
    exact = (back == corners[:, 2:]).all(axis=1) & (box_mask[:, 2:] == mask[:, 2:]).all(axis=1)
    exact &= (np.signbit(back) == np.signbit(corners[:, 2:])).all(axis=1)
    exact &= np.isfinite(boxes).all(axis=1)
    return boxes, box_mask, exact


def boxes_to_corners(boxes: np.ndarray, mask: np.ndarray) -> list[list[Any]]:
    """``[x, y, w, h]`` rows as ``[x1, y1, x2, y2]`` lists (ints where both terms were ints)."""
    corners = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    cmask = np.concatenate([mask[:, :2], mask[:, :2] & mask[:, 2:]], axis=1)
    return to_lists(corners, cmask)


def person_corners(p: Persons, extras_key: str = "bbox_corners") -> list[list[Any]]:
    """Each person's box as corners: the file's own corners where the box is still the one they
    give, else computed from ``[x, y, w, h]`` (from the labeled points where there is no box)."""
    n = len(p)
    if n == 0:
        return []
    boxes = p.boxes.copy()
    mask = p.mask("bbox").copy()
    missing = np.isnan(boxes).any(axis=1)
    if missing.any():  # persons drawn in FiftyOne: the extent of their points
        boxes[missing] = keypoint_boxes(p.keypoints[missing], p.visibility[missing])
        mask[missing] = False
    out = boxes_to_corners(boxes, mask)
    for i, e in enumerate(p.extras):
        kept = e.get(extras_key)
        if kept is not None and _corners_give(kept, boxes[i], mask[i]):
            out[i] = kept
    return out


def _corners_give(kept: Any, box: np.ndarray, mask: np.ndarray) -> bool:
    try:
        arr, m = to_array(kept)
    except (NumberTypeError, TypeError):
        return False
    if arr.shape != (4,):
        return False
    b, bm, _ = corners_to_boxes(arr[None], m[None])
    return bool((b[0] == box).all() and (bm[0] == mask).all())


def corners_from_lists(
    lists: list, reader: ReadContext, records: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``corners_to_boxes`` of per-person ``[x1, y1, x2, y2]`` lists, checked (errors name the record)."""
    for (record, field), v in zip(records, lists):
        if not isinstance(v, list) or len(v) != 4:
            raise reader.error(f"expected a box [x1, y1, x2, y2], found {v!r:.60}", record, field)
    n = len(lists)
    if n == 0:
        return np.zeros((0, 4)), np.zeros((0, 4), bool), np.zeros(0, bool)
    arr, mask = reader.numbers(list(chain.from_iterable(lists)), records.__getitem__, 4)
    bad = ~np.isfinite(arr)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise reader.error(f"expected finite numbers, found {lists[j // 4]!r:.60}", *records[j // 4])
    return corners_to_boxes(arr.reshape(n, 4), mask.reshape(n, 4))


# --------------------------------------------------------------------------- native visibility


def native_flags(
    p: Persons,
    read_map: Callable[[np.ndarray], np.ndarray],
    to_native: dict[int, float],
    ambiguous: Sequence[float] = (),
    native_source: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Each point's visibility on a native scale, for writing the native file back, and its int mask.

    The source's own value (``visibility_raw``) is kept, with its int/float type, where reading it
    gives the point's COCO visibility (so every native value, odd ones included, round-trips);
    elsewhere (points moved, hidden or drawn in FiftyOne, data from another format) the native value
    of the COCO visibility is written, as an int. ``ambiguous`` raw values are never kept (AI
    Challenger's undocumented 0 is also what a point hidden in FiftyOne carries). Data not read
    from the native file (``native_source=False``) has COCO values there: none is kept.
    """
    raw = p.raw_visibility()
    keep = (read_map(raw) == p.visibility) & native_source
    for value in ambiguous:
        keep &= raw != value
    fallback = np.zeros(raw.shape)
    for coco_v, native_v in to_native.items():
        fallback[p.visibility == coco_v] = native_v
    return np.where(keep, raw, fallback), np.where(keep, p.mask("keypoints")[..., 2], True)


# ---------------------------------------------------------------------------------- image sizes


def sizes_from_headers(
    data: PoseData, images_dir: str | os.PathLike | None, path: str | os.PathLike | None = None
) -> PoseData:
    """``data`` with the image sizes the file lacks read from the image headers (not the pixels).

    For readers' ``images_dir`` option, on the data (or stream header) they just read: None leaves
    ``data`` as it is; the count goes to ``data.notes`` (shared with a stream's chunks). An image
    that cannot be read is an error naming it and the pose file ``path``.
    """
    if images_dir is None:
        return data
    images = data.images
    widths, heights = images.widths.copy(), images.heights.copy()
    unknown = np.flatnonzero((widths <= 0) | (heights <= 0))
    for i in unknown.tolist():
        file = os.path.join(images_dir, images.file_names[i])
        try:
            size = header_size(file)
        except PoseFormatError as e:
            raise PoseFormatError(
                f"the file gives no image size, and {e.message}",
                path=path,
                record=f"images[{i}] (id {images.ids[i]}, {file})",
                field="width",
            ) from None
        # only the unknown side: a width or height the file gives is kept (the points are in its frame)
        widths[i] = widths[i] if widths[i] > 0 else size[0]
        heights[i] = heights[i] if heights[i] > 0 else size[1]
    ReadContext(path, data.notes).note(NOTE_SIZES, len(unknown))
    return dataclasses.replace(data, images=dataclasses.replace(images, widths=widths, heights=heights))


def header_size(file: str | os.PathLike, exif_turn: bool = False) -> tuple[int, int]:
    """An image's (width, height) from its header, without reading the pixels; ``exif_turn``:
    as displayed, swapped for EXIF orientations 5-8 (as Ultralytics' ``exif_size``).

    The one reader of image headers (readers' ``images_dir``, the FiftyOne import, YOLO): a
    missing file, a damaged or unsupported header, a size of 0, or a decompression bomb (a header
    of more than Pillow's 178 Mpx) is a ``PoseFormatError`` naming the image. A plain JPEG or PNG
    header is read without Pillow (``_plain_header_size``), Pillow opens the others.
    """
    size = _plain_header_size(file, exif_turn)
    if size is not None:
        return size
    Image = _pillow()[0]

    try:
        with Image.open(file) as im:
            w, h = im.size
            try:
                turned = exif_turn and im.getexif().get(274) in (5, 6, 7, 8)
            except Exception:  # a damaged EXIF block: Ultralytics ignores it too
                turned = False
    except (OSError, Image.DecompressionBombError) as e:
        raise PoseFormatError(f"the image header cannot be read ({e})", path=file) from None
    if min(w, h) <= 0:
        raise PoseFormatError(f"the image header gives the size {w}x{h}", path=file)
    return (h, w) if turned else (w, h)


#: bytes of an image file read at a time while its header is walked
_HEADER_BLOCK = 4096
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: (bit depth, colour type) pairs of the PNG specification (the modes Pillow opens)
_PNG_MODES = frozenset({
    (1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3), (4, 3), (8, 3),
    (8, 4), (16, 4), (8, 6), (16, 6),
})  # fmt: skip


def _plain_header_size(file: str | os.PathLike, exif_turn: bool) -> tuple[int, int] | None:
    """The size Pillow gives a JPEG or PNG file whose header is plain, read without Pillow:
    ``Image.open`` takes ~25 us per image (5-6 s for AI Challenger's 210k images), this ~7 us.

    None where Pillow decides: another format; anything unusual in the segments up to the scan
    (junk between them, no frame header, one Pillow refuses, a segment cut short) or in a PNG's
    IHDR chunk (its length, checksum, mode or filter); a size of 0 or beyond Pillow's
    decompression-bomb limit; and with ``exif_turn``, a JPEG with an APP1 segment (EXIF or XMP,
    which may turn it) or any PNG. Only the size is read, as for an image whose file gives it:
    what follows is not checked (the scan or the image data cut short, a damaged text chunk), and
    the contents of the segments a JPEG walk skips (quantization tables, JFIF and Adobe blocks)
    are not either, where Pillow would refuse a malformed one.
    """
    try:
        fd = os.open(file, os.O_RDONLY)
    except OSError:
        return None
    try:
        head = os.pread(fd, _HEADER_BLOCK, 0)
        if head.startswith(b"\xff\xd8\xff"):
            size = _jpeg_size(fd, head, exif_turn)
        elif head.startswith(_PNG_SIGNATURE) and not exif_turn:
            size = _png_size(head)
        else:
            return None
    except OSError:
        return None
    finally:
        os.close(fd)
    limit = _pillow()[0].MAX_IMAGE_PIXELS
    if size is None or min(size) <= 0 or (limit is not None and size[0] * size[1] > limit):
        return None
    return size


@functools.cache
def _pillow() -> tuple[Any, dict[int, tuple], Callable]:
    """Pillow's ``Image`` module, and its JPEG marker table and frame-header handler."""
    from PIL import Image
    from PIL.JpegImagePlugin import MARKER, SOF

    return Image, MARKER, SOF


def _jpeg_size(fd: int, head: bytes, exif_turn: bool) -> tuple[int, int] | None:
    """(width, height) of the last frame header before the scan, walking the segments as Pillow
    does (its own marker table: which markers have a length, which are frame headers)."""
    _, markers, frame_header = _pillow()
    buf, base = head, 0  # the file's bytes from ``base``
    pos, size = 2, None
    while True:
        i = pos - base
        if i + 4 > len(buf):  # a marker and its length are not all in ``buf``
            buf, base, i = os.pread(fd, _HEADER_BLOCK, pos), pos, 0
            if len(buf) < 2:
                return None
        if buf[i] != 0xFF:
            return None
        if buf[i + 1] == 0xFF:  # a fill byte
            pos += 1
            continue
        code = 0xFF00 | buf[i + 1]
        entry = markers.get(code)
        if entry is None:
            return None
        if code == 0xFFDA:  # start of scan
            return size
        pos += 2
        if entry[2] is None:  # no length (SOI, EOI, RSTn, ...)
            continue
        if i + 4 > len(buf):
            return None
        length = (buf[i + 2] << 8) | buf[i + 3]
        if length < 2:
            return None
        if entry[2] is frame_header:
            frame = buf[i + 4 : i + 2 + length] if i + 2 + length <= len(buf) else os.pread(fd, length - 2, pos + 2)
            if len(frame) < 6 or frame[0] != 8 or frame[5] not in (1, 3, 4):  # what Pillow opens
                return None
            size = (frame[3] << 8) | frame[4], (frame[1] << 8) | frame[2]
        elif exif_turn and code == 0xFFE1:
            return None
        pos += length


def _png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG's IHDR chunk, where its length, checksum, mode and filter are valid."""
    if len(head) < 33 or head[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    ihdr = head[16:29]
    if zlib.crc32(head[12:29]) != int.from_bytes(head[29:33], "big"):
        return None
    if (ihdr[8], ihdr[9]) not in _PNG_MODES or ihdr[11] != 0:
        return None
    return int.from_bytes(ihdr[0:4], "big"), int.from_bytes(ihdr[4:8], "big")


def new_images(
    ids: Sequence[int],
    file_names: Sequence[str],
    widths: Sequence[int],
    heights: Sequence[int],
    extras: Sequence[dict[str, Any]],
) -> Images:
    return Images(
        np.asarray(ids, dtype=np.int64).reshape(-1),
        file_names,
        np.asarray(widths, dtype=np.int64).reshape(-1),
        np.asarray(heights, dtype=np.int64).reshape(-1),
        extras,
    )


def group_by_image(p: Persons, num_images: int) -> list[np.ndarray]:
    """Per image, the rows of its persons in file order."""
    order = np.argsort(p.image_index, kind="stable")
    starts = np.searchsorted(p.image_index[order], np.arange(num_images + 1))
    return [order[starts[i] : starts[i + 1]] for i in range(num_images)]


def triplet_lists(p: Persons, flags: np.ndarray, fmask: np.ndarray) -> list[list[Any]]:
    """Per person, the flat ``x, y, flag`` list with each number's int/float type."""
    n, k = p.visibility.shape
    if n == 0:
        return []
    triplets = np.concatenate([p.keypoints, flags[..., None]], axis=2).reshape(n, 3 * k)
    mask = np.concatenate([p.mask("keypoints")[..., :2], fmask[..., None]], axis=2).reshape(n, 3 * k)
    return to_lists(triplets, mask)
