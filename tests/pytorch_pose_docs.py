"""Small pytorch-pose files (``mpii_annotations.json``, ``LEEDS_annotations.json``,
``coco_annotations_2017.json``) built in code in the structure ``pose-formats.md`` documents, and
a hypothesis strategy of valid ones. Every number is a float, as jsonlab writes ``1.000``."""

from __future__ import annotations

import copy
from typing import Any

from dataset_strategies import plain_extras_for, small
from hypothesis import strategies as st
from strategies import coords

U = None  # an unlabeled joint


def mpi_rows(x0: float, y0: float, flags: list[int | None]) -> list[list[float]]:
    """16 rows ``[x, y, vis]`` from ``(x0, y0)``: vis 1.0 visible, 0.0 occluded, ``[0, 0, 0]`` unlabeled."""
    return [[0.0, 0.0, 0.0] if f is U else [x0 + 5.5 * i, y0 + 17.25 * i, float(f)] for i, f in enumerate(flags)]


def coco_rows(seed: float, v: list[int]) -> list[list[float]]:
    """17 rows ``[x + 1, y + 1, v]`` with COCO's v; unlabeled rows are ``[1, 1, 0]``."""
    return [[1.0, 1.0, 0.0] if f == 0 else [101.0 + 9 * i + seed, 51.5 + 11 * i, float(f)] for i, f in enumerate(v)]


def leeds_rows(x0: float, vis: list[int]) -> list[list[float]]:
    """16 MPII-order rows from 14 LSP-like points: pelvis / thorax are the mean of hips / shoulders, vis 1."""
    rows = [[x0 + 6.125 * i, 190.0 - 10.5 * i, float(v)] for i, v in enumerate(vis)]
    rows[6] = [(rows[2][0] + rows[3][0]) / 2, (rows[2][1] + rows[3][1]) / 2, 1.0]
    rows[7] = [(rows[12][0] + rows[13][0]) / 2, (rows[12][1] + rows[13][1]) / 2, 1.0]
    return rows


_OTHER = mpi_rows(280.5, 150.0, [1] * 10 + [0] * 6)

_MPI = [
    # two persons of one image, each listing the other in joint_others (depth for one other person:
    # a 16 x 3 list, a scalar, a pair); the copies disagree with the persons' own records
    {"dataset": "MPI", "isValidation": 0.0, "img_paths": "015601864.jpg", "img_width": 1280.0, "img_height": 720.0,
     "objpos": [594.0, 257.0], "joint_self": mpi_rows(560.0, 120.5, [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, U, 1, 1, 1, 1]),
     "scale_provided": 3.021, "annolist_index": 5.0, "people_index": 1.0, "numOtherPeople": 1.0,
     "joint_others": _OTHER, "scale_provided_other": 2.43, "objpos_other": [300.0, 310.0]},
    {"dataset": "MPI", "isValidation": 0.0, "img_paths": "015601864.jpg", "img_width": 1280.0, "img_height": 720.0,
     "objpos": [300.0, 310.0], "joint_self": mpi_rows(281.0, 149.75, [1] * 10 + [0] * 6),
     "scale_provided": 2.43, "annolist_index": 5.0, "people_index": 2.0, "numOtherPeople": 1.0,
     "joint_others": mpi_rows(560.125, 120.0, [1] * 16), "scale_provided_other": 3.021, "objpos_other": [594.0, 257.0]},
    # a validation person alone in its image: empty lists for the others
    {"dataset": "MPI", "isValidation": 1.0, "img_paths": "000123456.jpg", "img_width": 640.0, "img_height": 480.0,
     "objpos": [320.0, 240.0], "joint_self": mpi_rows(300.0, 100.0, [U] * 6 + [1] * 10),
     "scale_provided": 1.5, "annolist_index": 7.0, "people_index": 1.0, "numOtherPeople": 0.0,
     "joint_others": [], "scale_provided_other": [], "objpos_other": []},
    # two other persons: lists of them
    {"dataset": "MPI", "isValidation": 0.0, "img_paths": "000200001.jpg", "img_width": 1920.0, "img_height": 1080.0,
     "objpos": [900.0, 500.0], "joint_self": mpi_rows(850.0, 300.0, [1] * 16),
     "scale_provided": 4.0, "annolist_index": 9.0, "people_index": 3.0, "numOtherPeople": 2.0,
     "joint_others": [_OTHER, mpi_rows(700.0, 250.0, [1] * 16)], "scale_provided_other": [2.1, 1.9],
     "objpos_other": [[300.0, 310.0], [700.0, 400.0]]},
]  # fmt: skip

_LEEDS = [
    {"dataset": "LEEDS", "isValidation": 0.0, "img_paths": "lsp_dataset/images/im0001.jpg", "img_width": 151.0,
     "img_height": 213.0, "objpos": [75.5, 106.5], "joint_self": leeds_rows(30.0, [1] * 16), "scale_provided": 1.771,
     "annolist_index": 1.0, "people_index": 1.0, "numOtherPeople": 0.0},
    {"dataset": "LEEDS", "isValidation": 1.0, "img_paths": "lsp_dataset/images/im1001.jpg", "img_width": 160.0,
     "img_height": 200.0, "objpos": [80.0, 100.0],
     "joint_self": leeds_rows(35.5, [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1]),
     "scale_provided": 1.6, "annolist_index": 2.0, "people_index": 1.0, "numOtherPeople": 0.0},
    {"dataset": "LEEDS", "isValidation": 0.0, "img_paths": "lspet_dataset/images/im00001.jpg", "img_width": 300.0,
     "img_height": 400.0, "objpos": [150.5, 200.25],
     "joint_self": leeds_rows(120.0, [1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1]),
     "scale_provided": 2.2, "annolist_index": 3.0, "people_index": 1.0, "numOtherPeople": 0.0,
     "joint_others": [], "scale_provided_other": [], "objpos_other": []},
]  # fmt: skip

_COCO = [
    {"dataset": "coco", "isValidation": 1.0, "img_paths": "000000000139.jpg", "objpos": [181.0, 138.5],
     "joint_self": coco_rows(0.0, [2, 2, 0, 2, 0, 2, 2, 1, 2, 2, 2, 2, 2, 0, 0, 0, 0]), "scale_provided": 0.953},
    {"dataset": "coco", "isValidation": 1.0, "img_paths": "000000000139.jpg", "objpos": [420.0, 150.0],
     "joint_self": coco_rows(300.0, [0] * 5 + [2] * 12), "scale_provided": 1.2},
    {"dataset": "coco", "isValidation": 0.0, "img_paths": "000000000009.jpg", "objpos": [250.0, 300.0],
     "joint_self": coco_rows(150.5, [2] * 17), "scale_provided": 2.5},
]  # fmt: skip


def mpi_doc() -> list[dict[str, Any]]:
    return copy.deepcopy(_MPI)


def leeds_doc() -> list[dict[str, Any]]:
    return copy.deepcopy(_LEEDS)


def coco_pp_doc() -> list[dict[str, Any]]:
    return copy.deepcopy(_COCO)


# ---------------------------------------------------------------------------------- generated

#: ``vis`` values: the documented ones (floats, as the files have them), ints, and odd ones a reader must keep
_MPI_VIS = st.one_of(st.sampled_from([0.0, 1.0, 1.0]), st.sampled_from([0, 1, 2.0, 0.5, -1.0]))
_COCO_VIS = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 2.0]), st.sampled_from([0, 1, 2, 3.0, -1.0]))


@st.composite
def pytorch_pose_docs(draw, fiftyone: bool = False, max_records: int = 6):
    """A valid pytorch-pose file of one dataset: records of a few images in any order, image
    fields the records of an image agree on (or not), optional keys present or not, extra keys."""
    flavor = draw(st.sampled_from(["MPI", "LEEDS", "coco"]))
    k = 17 if flavor == "coco" else 16
    c = small if fiftyone else coords
    n_images = draw(st.integers(1, 3))
    if flavor == "coco":
        paths = [
            draw(st.sampled_from([f"{i:012d}.jpg", f"COCO_val2014_{i:012d}.jpg", f"COCO_train2014_{i:012d}.jpg"]))
            for i in range(1, n_images + 1)
        ]
    else:
        paths = [
            f"lsp_dataset/images/im{i:04d}.jpg" if flavor == "LEEDS" else f"{i:09d}.jpg" for i in range(1, n_images + 1)
        ]
    image_fields = []
    for _ in paths:
        fields: dict[str, Any] = {"isValidation": draw(st.sampled_from([0.0, 1.0, 0, 1] + ([] if fiftyone else [0.5])))}
        if flavor != "coco" or draw(st.integers(0, 4)) == 0:
            fields["img_width"] = draw(st.sampled_from([float, int]))(draw(st.integers(1, 3000)))
            fields["img_height"] = float(draw(st.integers(1, 3000)))
        image_fields.append(fields)
    records = []
    for j in range(draw(st.integers(0 if not fiftyone else 1, max_records))):
        m = draw(st.integers(0, n_images - 1))
        rec: dict[str, Any] = {"dataset": flavor, "img_paths": paths[m]}
        for key, value in image_fields[m].items():
            if draw(st.integers(0, 9)):  # mostly the image's value; sometimes missing or another one
                rec[key] = value
            elif not fiftyone and draw(st.booleans()):
                rec[key] = value + 1
        rows = []
        for _ in range(k):
            v = draw(_COCO_VIS if flavor == "coco" else _MPI_VIS)
            unlabeled = (v == 0 and flavor == "coco") or (v == 0.0 and draw(st.booleans()))
            if unlabeled and draw(st.integers(0, 3)):
                rows.append([1.0, 1.0, v] if flavor == "coco" else [0.0, 0.0, v])
            else:
                rows.append([draw(c), draw(c), v])
        rec["joint_self"] = rows
        optional = {
            "objpos": [draw(c), draw(c)],
            "scale_provided": draw(c),
            "annolist_index": float(j + 1),
            "people_index": draw(st.sampled_from([1.0, 2.0])),
            "numOtherPeople": 0.0,
        }
        for key, value in optional.items():
            if draw(st.integers(0, 3)):
                rec[key] = value
        if draw(st.booleans()):
            others = draw(st.integers(0, 2))
            rec["numOtherPeople"] = float(others)
            one = [[draw(c), draw(c), draw(_MPI_VIS)] for _ in range(k)]
            if others == 1:
                rec.update(joint_others=one, scale_provided_other=draw(c), objpos_other=[draw(c), draw(c)])
            elif others == 2:
                rec.update(
                    joint_others=[one, one],
                    scale_provided_other=[draw(c), draw(c)],
                    objpos_other=[[1.0, 2.0], [3.0, 4.0]],
                )
            elif draw(st.booleans()):
                rec.update(joint_others=[], scale_provided_other=[], objpos_other=[])
        if not fiftyone:
            rec.update(
                draw(
                    plain_extras_for(
                        {*rec, "joint_self", "dataset", "img_paths", "img_width", "img_height", "isValidation"}
                    )
                )
            )
        records.append(rec)
    return records
