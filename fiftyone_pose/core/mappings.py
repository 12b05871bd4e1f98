"""Keypoint mappings between layouts, read from the package's mapping files (data, not code).

``fiftyone_pose/mappings/<source>.json`` lists the layouts the ``<source>`` layout can go to and,
for each, where every target point comes from:

- ``"name"``: the source point of that name, with its coordinates and visibility as they are;
- ``["a", "b"]``: the midpoint of two source points, labelled only where both are, with the
  smaller visibility (mmpose's 2-to-1 ``KeypointConverter`` case);
- ``{"field": "keypoints_21", "point": "left_finger"}``: a point of a per-person extra field of
  flat ``x, y, v`` triplets, named by the source skeleton's variant of that name (Human-Art's
  21 points).

``"same_names": true`` takes every other target point from the source point of the same name.
Target points with no source are unlabelled. ``note`` says where the table comes from and where
it departs from mmpose, ``approximations`` names the target points that are not quite the source
point, and ``reference`` names the mmpose config table the mapping equals (checked by the tests).
Layouts with the same keypoint names in the same order need no file: they convert as they are,
and share their mappings (OCHuman and Human-Art go where COCO goes, MHP where MPII goes).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from . import skeleton as skeletons
from .errors import PoseUsageError
from .skeleton import Skeleton

_MAPPING_PACKAGE = "fiftyone_pose.mappings"


@dataclass(frozen=True)
class FieldPoint:
    """A point held in a per-person extra field of flat ``x, y, v`` triplets (e.g. ``keypoints_21``)."""

    field: str
    index: int


@dataclass(frozen=True)
class Plan:
    """A mapping resolved to indices, for converting arrays of persons in one go.

    ``first``/``second``: per target point the source indices (equal for a copy; 0 where unused);
    ``midpoint``: the target points that average two sources; ``missing``: those with no source;
    ``fields``: per extra field, the target points (and the index in the field) it feeds;
    ``approximated``: the target points the mapping notes as approximations.
    """

    first: np.ndarray
    second: np.ndarray
    midpoint: np.ndarray
    missing: np.ndarray
    fields: dict[str, tuple[np.ndarray, np.ndarray]]
    approximated: np.ndarray

    @property
    def from_layout(self) -> np.ndarray:
        """The target points taken from the source layout's points (copies and midpoints)."""
        out = ~self.missing
        for targets, _ in self.fields.values():
            out[targets] = False
        return out


@dataclass(frozen=True)
class Mapping:
    """Where each point of the ``target`` layout comes from in the ``source`` layout."""

    source: str
    target: str
    #: target point name -> source name, (name, name) for a midpoint, or a ``FieldPoint``
    points: dict[str, str | tuple[str, str] | FieldPoint]
    note: str = ""
    #: target point name -> why it only approximates its source
    approximations: dict[str, str] = field(default_factory=dict)
    #: the mmpose config table this mapping equals: {"config": ..., "table": ...}
    reference: dict[str, Any] | None = None

    def plan(self, source: Skeleton, target: Skeleton) -> Plan:
        """The index form of this mapping for these two layouts (a PoseUsageError where a name is missing)."""
        k = target.num_keypoints
        src = {name: i for i, name in enumerate(source.keypoints)}
        first, second = np.zeros(k, np.int64), np.zeros(k, np.int64)
        midpoint, missing = np.zeros(k, bool), np.ones(k, bool)
        by_field: dict[str, list[tuple[int, int]]] = {}

        def index(name: str) -> int:
            if name not in src:
                raise PoseUsageError(
                    f"the mapping '{self.source}' -> '{self.target}' takes a point '{name}' that layout "
                    f"'{source.name}' does not have"
                )
            return src[name]

        for t, name in enumerate(target.keypoints):
            how = self.points.get(name)
            if how is None:
                continue
            missing[t] = False
            if isinstance(how, FieldPoint):
                by_field.setdefault(how.field, []).append((t, how.index))
            elif isinstance(how, tuple):
                first[t], second[t], midpoint[t] = index(how[0]), index(how[1]), True
            else:
                first[t] = second[t] = index(how)
        fields = {f: tuple(np.array(col, np.int64) for col in zip(*pairs)) for f, pairs in by_field.items()}
        approximated = np.array([n in self.approximations for n in target.keypoints], bool)
        return Plan(first, second, midpoint, missing, fields, approximated)


def _mapping_files() -> list[str]:
    files = resources.files(_MAPPING_PACKAGE).iterdir()
    return sorted(f.name[: -len(".json")] for f in files if f.name.endswith(".json"))


@functools.cache
def _file(source: str) -> dict[str, Any]:
    path = resources.files(_MAPPING_PACKAGE) / f"{source}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _point_source(spec: Any, source: str) -> str | tuple[str, str] | FieldPoint:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, list) and len(spec) == 2 and all(isinstance(s, str) for s in spec):
        return (spec[0], spec[1])
    if isinstance(spec, dict) and spec.keys() == {"field", "point"}:
        names = skeletons.load(source).meta["variants"][spec["field"]]["keypoints"]
        return FieldPoint(spec["field"], names.index(spec["point"]))
    raise ValueError(f"mapping file '{source}.json': cannot read the point source {spec!r}")


@functools.cache
def find(source: str, target: str) -> Mapping | None:
    """The shipped mapping from layout ``source`` to layout ``target``, if there is one."""
    entry = _file(source).get("targets", {}).get(target)
    if entry is None:
        return None
    points: dict[str, str | tuple[str, str] | FieldPoint] = {}
    if entry.get("same_names"):
        have = set(skeletons.load(source).keypoints)
        points.update({n: n for n in skeletons.load(target).keypoints if n in have})
    points.update({name: _point_source(spec, source) for name, spec in entry.get("points", {}).items()})
    return Mapping(
        source=source,
        target=target,
        points=points,
        note=entry.get("note", ""),
        approximations=dict(entry.get("approximations", {})),
        reference=entry.get("reference"),
    )


def shipped() -> list[Mapping]:
    """Every mapping the package ships, by source then target."""
    return [find(s, t) for s in _mapping_files() for t in _file(s).get("targets", {})]


def _same_points(layout: Skeleton) -> list[str]:
    """The shipped layouts with exactly these keypoint names: the layout itself first, if shipped."""
    same = [n for n in skeletons.available() if skeletons.load(n).keypoints == layout.keypoints]
    return sorted(same, key=lambda n: n != layout.name)


def resolve(source: Skeleton, target: str) -> Mapping | None:
    """The mapping that takes ``source`` to layout ``target``: its own, else that of a layout with the
    same keypoint names (OCHuman and Human-Art go where COCO goes, MHP where MPII goes)."""
    for name in [source.name, *_same_points(source)]:
        mapping = find(name, target)
        if mapping is not None:
            return mapping
    return None


def targets(source: Skeleton | str) -> list[str]:
    """The layouts ``source`` converts to: those with the same keypoint names and those a mapping reaches."""
    layout = skeletons.load(source) if isinstance(source, str) else source
    same = _same_points(layout)
    mapped = {t for name in {layout.name, *same} for t in _file(name).get("targets", {})}
    return sorted(set(same) | mapped)
