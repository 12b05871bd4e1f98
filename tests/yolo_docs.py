"""Small YOLO-pose datasets and images for tests, built in code (as Ultralytics' coco8-pose is laid out)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

COCO_FLIP_IDX = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def image_bytes(width: int = 32, height: int = 24, kind: str = "JPEG", exif_orientation: int | None = None) -> bytes:
    """A small real image (Ultralytics' loader wants at least 10 x 10 pixels)."""
    from PIL import Image

    im = Image.new("RGB", (width, height), (90, 140, 200))
    buf = io.BytesIO()
    if exif_orientation is None:
        im.save(buf, kind)
    else:
        exif = Image.Exif()
        exif[274] = exif_orientation
        im.save(buf, kind, exif=exif.tobytes())
    return buf.getvalue()


def coco8_yaml(**extra: Any) -> str:
    """A dataset yaml shaped like Ultralytics' ``coco8-pose.yaml`` (no ``path``: the yaml's folder is the root)."""
    from helpers import COCO_NAMES

    lines = [
        "train: images/train",
        "val: images/val",
        "kpt_shape: [17, 3]",
        f"flip_idx: {COCO_FLIP_IDX}",
        "names:",
        "  0: person",
        "kpt_names:",
        "  0: [" + ", ".join(COCO_NAMES) + "]",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def row(cls: int, box: tuple[float, float, float, float], points: list[tuple[float, float, int]]) -> str:
    """One label row as Ultralytics' ``convert_coco`` writes it (``%g``)."""
    values = [cls, *box, *(v for p in points for v in p)]
    return " ".join(f"{v:g}" for v in values)


def coco8_files() -> dict[str, Any]:
    """Relative path -> content (text or bytes) of a two-split dataset: a background image in val,
    a PNG, points of all three visibilities, and an unlabelled point."""
    points = [(0.5 + i / 100, 0.25 + i / 50, (0, 1, 2)[i % 3]) for i in range(17)]
    points = [(x, y, v) if v else (0.0, 0.0, 0) for x, y, v in points]
    two = [(0.125, 0.5, 2)] * 17
    return {
        "coco8/dataset.yaml": coco8_yaml(),
        "coco8/images/train/a.jpg": image_bytes(40, 30),
        "coco8/images/train/b.png": image_bytes(20, 16, "PNG"),
        "coco8/images/val/c.jpg": image_bytes(32, 24),
        "coco8/images/val/empty.jpg": image_bytes(16, 16),
        "coco8/labels/train/a.txt": row(0, (0.5, 0.5, 0.25, 0.75), points)
        + "\n"
        + row(0, (0.2, 0.3, 0.1, 0.2), two)
        + "\n",
        "coco8/labels/train/b.txt": row(0, (0.4, 0.6, 0.3, 0.5), two) + "\n",
        "coco8/labels/val/c.txt": row(0, (0.55, 0.45, 0.5, 0.5), points) + "\n",
        "coco8/labels/val/empty.txt": "",
    }


def write_files(root: Path, files: dict[str, Any]) -> Path:
    """Write ``files`` (relative path -> text or bytes) under ``root``; returns ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def header_png(width: int, height: int) -> bytes:
    """A PNG header of any size without pixels: enough for readers that take the size from the header."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


def images_of(doc: dict, root: Path) -> Path:
    """Header-only images of the sizes a COCO document gives, at its file names under ``root``."""
    return write_files(root, {im["file_name"]: header_png(im["width"], im["height"]) for im in doc["images"]})
