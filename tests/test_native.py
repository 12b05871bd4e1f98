"""Image sizes from image headers: one helper (``formats.native.header_size``) for the readers'
``images_dir``, the FiftyOne import and YOLO, with damaged files and decompression bombs as a
``PoseFormatError`` naming the image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import coco_doc, png
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats import coco
from fiftyone_pose.formats.native import header_size, sizes_from_headers

BAD_IMAGES = {
    "bomb": png(200_000, 200_000, pixels=False),  # Pillow: DecompressionBombError, not an OSError
    "garbage": b"\x00\x01 not an image \xfe" * 40,
    "zero-width": png(0, 17, pixels=False),
}


def test_header_size_reads_the_header(tmp_path):
    (tmp_path / "a.png").write_bytes(png(33, 17))
    assert header_size(tmp_path / "a.png") == (33, 17)


@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_a_damaged_image_is_a_pose_format_error_naming_it(tmp_path, kind):
    image = tmp_path / "a.png"
    image.write_bytes(BAD_IMAGES[kind])
    with pytest.raises(PoseFormatError) as info:
        header_size(image)
    assert info.value.path == str(image)

    doc = coco_doc()
    doc["images"][0]["file_name"] = "a.png"
    del doc["images"][0]["width"]
    data = coco.decode(doc)
    with pytest.raises(PoseFormatError) as info:
        sizes_from_headers(data, tmp_path, "ann.json")
    error = info.value
    assert error.path == "ann.json" and str(image) in error.record and error.field == "width"
    assert "\n" not in str(error)


def test_only_the_unknown_side_is_read_from_the_header(tmp_path):
    (tmp_path / "a.png").write_bytes(png(33, 17))
    doc = coco_doc()
    doc["images"][0].update(file_name="a.png", height=99)
    del doc["images"][0]["width"]
    sized = sizes_from_headers(coco.decode(doc), tmp_path)
    assert (sized.images.widths[0], sized.images.heights[0]) == (33, 99)
    assert np.array_equal(sized.images.widths[1:], coco.decode(coco_doc()).images.widths[1:])
    assert sized.notes == {"image sizes read from image headers": 1}


# ------------------------------------------------------------- plain JPEG and PNG headers, read directly

JPEG_OPTIONS = st.fixed_dictionaries({
    "mode": st.sampled_from(["L", "RGB", "CMYK"]),
    "progressive": st.booleans(),
    "optimize": st.booleans(),
    "quality": st.integers(5, 95),
    "exif": st.booleans(),
    "icc": st.booleans(),
    "comment": st.booleans(),
})  # fmt: skip


def _jpeg(width: int, height: int, options: dict) -> bytes:
    from PIL import Image

    im = Image.new(options["mode"], (width, height), 90 if options["mode"] == "L" else (90,) * len(options["mode"]))
    kwargs = {"quality": options["quality"], "progressive": options["progressive"], "optimize": options["optimize"]}
    if options["exif"]:
        exif = Image.Exif()
        exif[274] = 1  # orientation: as stored
        exif[271] = "camera"
        kwargs["exif"] = exif.tobytes()
    if options["icc"]:
        kwargs["icc_profile"] = b"\x00" * 9000  # more than one block: the walk reads on
    if options["comment"]:
        kwargs["comment"] = b"x" * 5000
    out = io.BytesIO()
    im.save(out, "JPEG", **kwargs)
    return out.getvalue()


def _pillow_size(path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(1, 80), height=st.integers(1, 80), options=JPEG_OPTIONS)
def test_a_plain_jpeg_header_is_read_directly_with_pillows_size(tmp_path, monkeypatch, width, height, options):
    """Without Pillow opening the file (it would fail here), the size Pillow gives."""
    from PIL import Image

    image = tmp_path / "a.jpg"
    image.write_bytes(_jpeg(width, height, options))
    expected = _pillow_size(image)
    assert expected == (width, height)
    with monkeypatch.context() as m:
        m.setattr(Image, "open", None)  # the direct read only
        assert header_size(image) == expected


@pytest.mark.parametrize(("width", "height"), [(65535, 1), (1, 65535), (12345, 6789), (256, 255)])
def test_frame_header_sizes_up_to_jpegs_largest_are_read_as_pillow_reads_them(tmp_path, width, height):
    """A frame header patched to another size (Pillow reads only the header): big-endian height,
    then width, as Pillow and the JPEG standard lay them out."""
    data = bytearray(_jpeg(8, 8, {"mode": "RGB", "progressive": False, "optimize": False, "quality": 50,
                                  "exif": False, "icc": False, "comment": False}))  # fmt: skip
    at = data.index(b"\xff\xc0") + 5
    data[at : at + 4] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    image = tmp_path / "a.jpg"
    image.write_bytes(bytes(data))
    assert header_size(image) == _pillow_size(image) == (width, height)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "I;16"])
@pytest.mark.parametrize("interlace", [False, True])
def test_a_plain_png_header_is_read_directly_with_pillows_size(tmp_path, monkeypatch, mode, interlace):
    from PIL import Image

    image = tmp_path / "a.png"
    Image.new(mode, (37, 21)).save(image, optimize=interlace, interlace=interlace)
    expected = _pillow_size(image)
    with monkeypatch.context() as m:
        m.setattr(Image, "open", None)
        assert header_size(image) == expected == (37, 21)


def _rgb_jpeg() -> bytes:
    return _jpeg(9, 7, {"mode": "RGB", "progressive": False, "optimize": False, "quality": 50, "exif": True,
                        "icc": False, "comment": False})  # fmt: skip


@pytest.mark.parametrize(
    "damage",
    [
        "junk before a segment",  # Pillow skips it: its size
        "fill bytes before a segment",  # read directly
        "cut in the header",  # Pillow: an error naming the image
        "12-bit frame",  # Pillow cannot open it: an error
        "no frame header",  # Pillow: a size of 0: an error
        "bomb",  # beyond Pillow's limit: an error
    ],
)
def test_an_unusual_jpeg_header_gets_what_pillow_says(tmp_path, damage):
    data = bytearray(_rgb_jpeg())
    sof = data.index(b"\xff\xc0")
    if damage == "junk before a segment":
        data[sof:sof] = b"\x00junk"
    elif damage == "fill bytes before a segment":
        data[sof:sof] = b"\xff\xff\xff"
    elif damage == "cut in the header":
        data = data[: sof + 6]
    elif damage == "12-bit frame":
        data[sof + 4] = 12
    elif damage == "no frame header":
        data[sof + 1] = 0xFE  # a comment segment instead
    elif damage == "bomb":
        data[sof + 5 : sof + 9] = b"\xff\xff\xff\xff"
    image = tmp_path / "a.jpg"
    image.write_bytes(bytes(data))
    try:
        expected = _pillow_size(image)
    except Exception:
        expected = None
    if expected is None or min(expected) <= 0 or damage == "bomb":
        with pytest.raises(PoseFormatError) as info:
            header_size(image)
        assert info.value.path == str(image)
    else:
        assert header_size(image) == expected == (9, 7)


def test_an_exif_turned_jpeg_is_left_to_pillow_with_exif_turn(tmp_path):
    from PIL import Image

    im = Image.new("RGB", (9, 7))
    exif = Image.Exif()
    exif[274] = 6  # turned 90 degrees
    image = tmp_path / "a.jpg"
    im.save(image, exif=exif.tobytes())
    assert header_size(image) == (9, 7)
    assert header_size(image, exif_turn=True) == (7, 9)


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_only_the_header_is_read_what_follows_it_is_not_checked(tmp_path, kind):
    """As for an image whose size the file gives: the size is all that is read, so a file cut short
    after its header gives its size (Pillow would refuse to open it)."""
    if kind == "jpeg":
        data = _rgb_jpeg()
        data = data[: data.index(b"\xff\xda") + 2]  # cut right after the start-of-scan marker
    else:
        data = png(33, 17)[:33]  # the signature and the IHDR chunk only
    image = tmp_path / f"a.{kind}"
    image.write_bytes(data)
    assert header_size(image) == ((9, 7) if kind == "jpeg" else (33, 17))
