"""Image sizes from image headers: one helper (``formats.native.header_size``) for the readers'
``images_dir``, the FiftyOne import and YOLO, with damaged files and decompression bombs as a
``PoseFormatError`` naming the image."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import coco_doc, png

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
