"""MPII-TRB (40 points): mmpose's ``mpii_trb_{train,val}.json``.

COCO-like files (``info``, one category listing the 40 names and no ``skeleton``, ``images`` with
sizes, ``annotations``), read with ``coco.decode`` and the ``mpii_trb`` layout (points 0-13 the
MPII joints of the same person, 14-39 contour points). What differs from COCO:

- coordinates are **1-based** (the skeleton points carry the MPII values): ``origin`` 1, kept as
  the file has them; FiftyOne and a COCO export see them shifted by one;
- ``num_joints`` (labeled points among the 40) replaces COCO's ``num_keypoints``. Every record
  must have it (mmpose reads it). It is kept verbatim (a keypoint attribute in FiftyOne) and is
  also the person's stated point count: a COCO export writes it as ``num_keypoints``, and after
  points are edited or hidden in FiftyOne both are recounted. A ``num_joints`` that differs from
  the labeled points is counted in the notes;
- ``center`` (the MPII ``objpos``, 1-based), ``scale`` (undocumented, an inverse size: never used
  for boxes) and ``headbox`` (``[x1, y1, x2, y2]``, validation file only) are kept verbatim as the
  person's extra keys; they are not shifted in a COCO export;
- no ``bbox``, ``area`` or ``segmentation``: the file is written back without them; a COCO export
  (pycocotools-ready) gets the extent of the labeled points as ``bbox``, its ``w*h`` as ``area``
  and ``iscrowd`` 0 where a record lacks it. Visibility is COCO's 0/1/2.

Not read: the authors' own ``MPII_contour_points.json`` (contour points only, to be matched to MPII
persons); its layout is undocumented and no copy was inspected, so it is left out rather than guessed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import skeleton as skeletons
from ..core.model import Persons, PoseData
from ..core.numbers import INT64_MAX, is_number
from .cocolike import CocoLike
from .context import ReadContext, record_name

NUM_POINTS = 40
NOTE_COUNT = "MPII-TRB num_joints different from the number of labeled points (kept)"
NOTE_FIELDS = "MPII-TRB records whose center/scale/headbox are not [x, y] / a number / [x1, y1, x2, y2] (kept as given)"


class MpiiTrb(CocoLike):
    def read_persons(self, persons: Persons, records: Sequence[dict[str, Any]], ctx: ReadContext) -> Persons:
        """``num_joints`` checked and taken as the stated count; ``num_keypoints`` beside it kept."""
        p = super().read_persons(persons, records, ctx)
        n = len(p)
        if n == 0:
            return p
        had_nk = ~p.absent.get("num_keypoints", np.zeros(n, bool))
        counts = p.num_keypoints.copy()
        extras = list(p.extras)
        for i, e in enumerate(p.extras):
            if "num_joints" not in e:
                raise ctx.error("required key is missing", record_name("annotations", records, i), "num_joints")
            v = e["num_joints"]
            if not (is_number(v) and math.isfinite(v) and 0 <= v <= INT64_MAX and int(v) == v):
                raise ctx.error(
                    f"expected a non-negative count, found {v!r:.60}",
                    record_name("annotations", records, i),
                    "num_joints",
                )
            counts[i] = int(v)
            if had_nk[i] and "num_keypoints" not in e:  # a COCO key beside num_joints: kept as the file has it
                extras[i] = {**e, "num_keypoints": int(p.num_keypoints[i])}
        ctx.note(NOTE_COUNT, int((counts != (p.visibility > 0).sum(axis=1)).sum()))
        ctx.note(NOTE_FIELDS, sum(not _fields_ok(e) for e in p.extras))
        absent = {k: m for k, m in p.absent.items() if k not in ("bbox", "num_keypoints")}  # derived by a COCO export
        return dataclasses.replace(p, num_keypoints=counts, extras=extras, absent=absent)

    def write_header(self, header: PoseData) -> PoseData:
        """Without categories: one as mmpose's files have it (the names, no skeleton)."""
        header = super().write_header(header)
        if not header.categories and "categories" not in header.meta:  # (ABSENT, or the file's [])
            category = {
                "supercategory": "person",
                "id": 1,
                "name": "person",
                "keypoints": list(header.skeleton.keypoints),
            }
            header = dataclasses.replace(header, categories=[category])
        return header

    def write_persons(self, persons: Persons, header: PoseData) -> Persons:
        """``num_joints`` is the file's value while the person's count is unchanged, else the number
        of labeled points (persons edited in FiftyOne or from another file); no ``num_keypoints``,
        and no ``bbox``/``area``/``iscrowd`` where the source had none."""
        p = persons
        n = len(p)
        if n:
            counts = np.where(p.num_keypoints >= 0, p.num_keypoints, (p.visibility > 0).sum(axis=1)).tolist()
            extras = []
            for i, e in enumerate(p.extras):
                v = e.get("num_joints")
                kept = p.num_keypoints[i] >= 0 and is_number(v) and v == p.num_keypoints[i]
                extras.append(e if kept else {**e, "num_joints": counts[i]})
            absent = dict(p.absent)
            absent["num_keypoints"] = np.ones(n, bool)  # an extra "num_keypoints" (both keys in the source) is kept
            absent["bbox"] = np.isnan(p.boxes).any(axis=1) | absent.get("bbox", np.zeros(n, bool))
            p = dataclasses.replace(p, extras=extras, absent=absent)
        return super().write_persons(p, header)


def _fields_ok(e: dict[str, Any]) -> bool:
    """Whether the person's ``center``/``scale``/``headbox`` (where present) have mmpose's shapes."""

    def numbers(v: Any, n: int) -> bool:
        return isinstance(v, list) and len(v) == n and all(map(is_number, v))

    return (
        numbers(e.get("center", [0, 0]), 2)
        and is_number(e.get("scale", 0))
        and numbers(e.get("headbox", [0, 0, 0, 0]), 4)
    )


FORMAT = MpiiTrb(
    name="mpii_trb",
    title="MPII-TRB",
    flavors={
        "coco": "mmpose mpii_trb_{train,val}.json: COCO-like, 40 points (1-based), num_joints/center/scale "
        "(+ headbox in val), no bbox/area/segmentation",
    },
    layout="mpii_trb",
    keys=("num_joints",),
    names=(skeletons.load("mpii_trb").keypoints,),
    derived_keys=True,
    origin=1,  # the files count pixels from 1 (MPII coordinates)
)

NAME, FLAVORS, ORIGIN, STREAMING = FORMAT.name, FORMAT.flavors, FORMAT.origin, FORMAT.streaming
READ_OPTIONS, WRITE_OPTIONS = FORMAT.read_options, FORMAT.write_options
detect, read, write, decode, encode = FORMAT.detect, FORMAT.read, FORMAT.write, FORMAT.decode, FORMAT.encode
read_stream, write_stream = FORMAT.read_stream, FORMAT.write_stream
