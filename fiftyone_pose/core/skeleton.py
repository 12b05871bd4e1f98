"""Keypoint layouts (names, edges, flip pairs, OKS sigmas) loaded from the package's skeleton files."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .errors import PoseUsageError

_SKELETON_PACKAGE = "fiftyone_pose.skeletons"
_LAYOUT_KEYS = ("name", "keypoints", "edges", "flip_pairs", "sigmas", "joint_weights")


@dataclass(frozen=True)
class Skeleton:
    """A keypoint layout. ``edges`` and ``flip_pairs`` are 0-based index pairs, in file order."""

    name: str
    keypoints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    flip_pairs: tuple[tuple[int, int], ...] = ()
    sigmas: tuple[float, ...] | None = None
    joint_weights: tuple[float, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def index(self, name: str) -> int:
        """Index of the keypoint called ``name`` (a ``PoseUsageError`` naming the layout otherwise)."""
        try:
            return self.keypoints.index(name)
        except ValueError:
            raise PoseUsageError(
                f"skeleton '{self.name}' has no keypoint named {name!r}; it has: {', '.join(self.keypoints)}"
            ) from None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Skeleton:
        def pairs(v: Sequence[Sequence[int]] | None) -> tuple[tuple[int, int], ...]:
            return tuple((int(a), int(b)) for a, b in (v or ()))

        sig, jw = d.get("sigmas"), d.get("joint_weights")
        return cls(
            name=str(d["name"]),
            keypoints=tuple(d["keypoints"]),
            edges=pairs(d.get("edges")),
            flip_pairs=pairs(d.get("flip_pairs")),
            sigmas=None if sig is None else tuple(float(s) for s in sig),
            joint_weights=None if jw is None else tuple(float(w) for w in jw),
            meta={k: v for k, v in d.items() if k not in _LAYOUT_KEYS},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "keypoints": list(self.keypoints),
            "edges": [list(e) for e in self.edges],
            "flip_pairs": [list(p) for p in self.flip_pairs],
            "sigmas": None if self.sigmas is None else list(self.sigmas),
            "joint_weights": None if self.joint_weights is None else list(self.joint_weights),
            **self.meta,
        }

    @classmethod
    def custom(cls, keypoints: Sequence[str], edges: Sequence[Sequence[int]] = ()) -> Skeleton:
        """A layout that no skeleton file describes (e.g. from a file's own category)."""
        return cls(name="custom", keypoints=tuple(keypoints), edges=tuple((int(a), int(b)) for a, b in edges))


def available() -> list[str]:
    """Names of the layouts shipped with the package."""
    files = resources.files(_SKELETON_PACKAGE).iterdir()
    return sorted(f.name[: -len(".json")] for f in files if f.name.endswith(".json"))


@functools.cache
def load(name: str) -> Skeleton:
    """The shipped layout called ``name`` (e.g. ``"coco"``, ``"halpe"``)."""
    path = resources.files(_SKELETON_PACKAGE) / f"{name}.json"
    if not path.is_file():
        raise PoseUsageError(f"unknown layout {name!r}; layouts: {', '.join(available())}")
    return Skeleton.from_dict(json.loads(path.read_text()))


#: layouts other datasets reuse point for point (OCHuman and Human-Art COCO's names, MHP MPII's):
#: names that several layouts share are the base layout's
BASE_LAYOUTS = ("coco", "mpii")


def match(names: Sequence[str], num_keypoints: int, prefer: str | None = None) -> Skeleton | None:
    """The shipped layout with these keypoint names, else the only one with this many points.

    ``prefer``, then ``BASE_LAYOUTS``, break ties (several layouts share COCO's 17 names, MHP
    has MPII's 16).
    """
    order = [prefer, *BASE_LAYOUTS]
    layouts = sorted(
        (load(n) for n in available()), key=lambda s: order.index(s.name) if s.name in order else len(order)
    )
    if names:
        return next((s for s in layouts if list(s.keypoints) == list(names)), None)
    same_k = [s for s in layouts if s.num_keypoints == num_keypoints]
    if prefer is not None and same_k and same_k[0].name == prefer:
        return same_k[0]
    return same_k[0] if len(same_k) == 1 else None
