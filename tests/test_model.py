"""The neutral model's helpers (``core.model``)."""

from __future__ import annotations

import orjson

from fiftyone_pose.core.model import compact_json, plain_json


def test_a_compact_json_value_gives_back_the_value():
    """Export holds segmentations as fragments; inserting them again (merge) needs the values back."""
    for value in ([[1.5, 2, 3.25]], {"size": [4, 5], "counts": "abc"}, None, 3):
        held = compact_json(value)
        assert plain_json(held) == value and type(plain_json(held)) is type(value)
        assert orjson.dumps({"s": held}) == orjson.dumps({"s": value})
