"""Small MPII files built in code in the structure ``pose-formats.md`` documents: the HRNet /
mmpose json lists (train-like and test-like) and the authors' ``.mat`` (struct ``RELEASE``) with
the cases its readers trip over: one-element struct arrays, a single ``point`` struct, empty
fields, ``is_visible`` as a number, as the text '0'/'1', empty or missing, persons without
``annopoints`` (test) or with an empty one (training), images without persons. No FiftyOne here.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import numpy as np

# ------------------------------------------------------------------------------------ HRNet json


def _joints(seed: float, labeled: list[int]) -> tuple[list[list[float]], list[int]]:
    joints = [[600.0 + 3 * j + seed, 300.5 + 7 * j] if v else [-1.0, -1.0] for j, v in enumerate(labeled)]
    return joints, list(labeled)


def mpii_hrnet_doc() -> list[dict[str, Any]]:
    """``valid.json``-like: two persons in one image (records not adjacent), float coordinates,
    ``[-1.0, -1.0]`` placeholders, a [-1, -1] centre, an int coordinate and an unknown key."""
    j1, v1 = _joints(0, [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    j2, v2 = _joints(50, [1] * 16)
    j2[3] = [655, 505]  # an int pair: written back as ints
    j3, v3 = _joints(9, [0] * 6 + [1] * 10)
    j3[0] = [-12.5, 830.25]  # labeled although outside the image
    return [
        {"image": "015601864.jpg", "center": [594.0, 257.0], "scale": 3.021046, "joints": j1, "joints_vis": v1},
        {
            "image": "000123456.jpg",
            "center": [640.0, 330.0],
            "scale": 2.91,
            "joints": j3,
            "joints_vis": v3,
            "person_note": "kept",
        },
        {"image": "015601864.jpg", "center": [-1, -1], "scale": 1.5, "joints": j2, "joints_vis": v2},
    ]


def mpii_hrnet_test_doc() -> list[dict[str, Any]]:
    """``test.json``-like: no joints at all."""
    return [
        {"image": "005808361.jpg", "center": [966.0, 340.0], "scale": 4.718488},
        {"image": "005808361.jpg", "center": [489.0, 383.0], "scale": 4.248238},
        {"image": "052475643.jpg", "center": [601.0, 251.0], "scale": 1.1},
    ]


# ------------------------------------------------------------------------------------------ .mat

#: the order of the struct fields in the authors' file
RECT_FIELDS = ("x1", "y1", "x2", "y2", "annopoints", "scale", "objpos")


def struct_array(fields: tuple[str, ...], rows: list[tuple[Any, ...]]) -> np.ndarray:
    """A 1 x N MATLAB struct array for ``scipy.io.savemat`` (a record array of objects)."""
    out = np.zeros((1, len(rows)), dtype=[(f, object) for f in fields])
    for i, row in enumerate(rows):
        for f, v in zip(fields, row):
            out[0, i][f] = v
    return out


def _points(ids: list[int], seed: float, visible: list[Any] | None = None) -> np.ndarray:
    fields = ("x", "y", "id") + (("is_visible",) if visible is not None else ())
    rows = []
    for n, joint in enumerate(ids):
        row = (float(620 + 5 * joint + seed), float(200 + 11 * joint), float(joint))
        rows.append(row + ((visible[n],) if visible is not None else ()))
    return struct_array(fields, rows)


def cell(values: list[Any], column: bool = False) -> np.ndarray:
    out = np.empty((len(values), 1) if column else (1, len(values)), dtype=object)
    for i, v in enumerate(values):
        out.flat[i] = v
    return out


EMPTY = np.zeros((0, 0))


def mpii_release() -> dict[str, Any]:
    """``{"RELEASE": ...}`` as ``savemat`` takes it (see the module doc for the cases)."""
    # image 1 (training): two persons in a struct array
    ids = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]  # no left hip / knee (3 and 4 missing)
    ids[3] = 5
    visible = [1.0, 0.0, 1.0, "1", "0", EMPTY, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    p1 = {"point": _points(ids, 0.0, visible)}
    p2 = {"point": {"x": 700.5, "y": 410.0, "id": 9.0, "is_visible": 1.0}}  # a single point: a 1 x 1 struct
    rects1 = struct_array(RECT_FIELDS, [
        (612.0, 120.0, 668.0, 190.0, p1, 2.91, {"x": 640.0, "y": 330.0}),
        (690.0, 380.0, 720.0, 420.0, p2, 1.2, {"x": 700.0, "y": 500.0}),
    ])  # fmt: skip
    # image 2 (training): a person with an empty annopoints, one whose points have no is_visible field
    rect2 = struct_array(RECT_FIELDS, [
        (10.0, 20.0, 30.0, 40.0, EMPTY, 0.8, {"x": 25.0, "y": 60.0}),
        (50.0, 20.0, 70.0, 40.0, {"point": _points([8, 9, 12], 3.0)}, 0.9, {"x": 60.0, "y": 70.0}),
    ])  # fmt: skip
    # image 3 (test): persons with objpos and scale only
    rects3 = struct_array(
        ("scale", "objpos"), [(4.718488, {"x": 966.0, "y": 340.0}), (4.248238, {"x": 489.0, "y": 383.0})]
    )
    annolist = struct_array(("image", "annorect", "frame_sec", "vidx"), [
        ({"name": "015601864.jpg"}, rects1, 11.0, 1.0),
        ({"name": "015599452.jpg"}, rect2, 12.5, 2.0),
        ({"name": "005808361.jpg"}, rects3, EMPTY, EMPTY),
        ({"name": "052475643.jpg"}, EMPTY, 3.0, 2.0),  # nobody annotated
        # one person: a 1 x 1 struct, not an array
        ({"name": "060111501.jpg"},
         dict(zip(RECT_FIELDS, (5.0, 6.0, 25.0, 30.0, {"point": _points([9], 1.0, [1.0])}, 1.0,
                                {"x": 15.0, "y": 90.0}))),
         4.0, 1.0),
    ])  # fmt: skip
    act = np.zeros((5, 1), dtype=[("cat_name", object), ("act_name", object), ("act_id", object)])
    activities = [
        ("sports", "curling", 1.0),
        ("sports", "curling", 1.0),
        (EMPTY, EMPTY, -1.0),
        ("music", "guitar", 7.0),
        ("sports", "curling", 1.0),
    ]
    for i, (cat, name, aid) in enumerate(activities):
        act[i, 0]["cat_name"], act[i, 0]["act_name"], act[i, 0]["act_id"] = cat, name, aid
    return {"RELEASE": {
        "annolist": annolist,
        "img_train": np.array([[1.0, 1.0, 0.0, 1.0, 1.0]]),
        "version": "12",
        "single_person": cell([np.array([[1.0], [2.0]]), np.array([[2.0]]), EMPTY, EMPTY, np.array([[1.0]])],
                              column=True),
        "act": act,
        "video_list": cell(["aAOusnrSsHI", "ZZ2SkJ4fYZs", "unused"]),
    }}  # fmt: skip


def mat_bytes(variables: dict[str, Any], compress: bool = False) -> bytes:
    from scipy.io import savemat

    buf = io.BytesIO()
    savemat(buf, copy.deepcopy(variables), do_compression=compress)
    return buf.getvalue()
