"""The shipped skeleton files have complete flip pairs: YOLO's ``flip_idx`` and the swap views use them."""

from __future__ import annotations

import re

import pytest

from fiftyone_pose.core import skeleton as skeletons

#: mirror pairs of the 68-point (iBUG) face markup: jaw, brows, nose, eyes, outer and inner lips;
#: the other points (chin, nose bridge, nose tip, lip centres) lie on the midline
FACE_PAIRS = [
    (0, 16), (1, 15), (2, 14), (3, 13), (4, 12), (5, 11), (6, 10), (7, 9),
    (17, 26), (18, 25), (19, 24), (20, 23), (21, 22), (31, 35), (32, 34),
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58), (60, 64), (61, 63), (65, 67),
]  # fmt: skip
FACE_MIRROR = {**dict(FACE_PAIRS), **{b: a for a, b in FACE_PAIRS}}
_SIDE = re.compile(r"left|right")


def _mirror(name: str) -> str:
    return _SIDE.sub(lambda m: "right" if m.group() == "left" else "left", name)


@pytest.mark.parametrize("name", skeletons.available())
def test_flip_pairs_pair_every_point_with_its_mirror(name):
    layout = skeletons.load(name)
    partner: dict[int, int] = {}
    for a, b in layout.flip_pairs:
        assert a != b and a not in partner and b not in partner, (name, a, b)  # each point in one pair
        partner[a], partner[b] = b, a
    for i, point in enumerate(layout.keypoints):
        face = re.fullmatch(r"face-(\d+)", point)
        if _SIDE.search(point):
            assert layout.keypoints[partner[i]] == _mirror(point), (name, point)
        elif face:
            mirror = FACE_MIRROR.get(int(face.group(1)))
            got = layout.keypoints[partner[i]] if i in partner else None
            assert got == (None if mirror is None else f"face-{mirror}"), (name, point, got)
        else:  # nose, head, neck, pelvis, ...: on the midline
            assert i not in partner, (name, point)
