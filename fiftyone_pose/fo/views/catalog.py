"""The curation views by name, described by their own signatures for the App's Curate form and
the ``fiftyone-pose curate`` command."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal

import docstring_parser

from ...core.errors import PoseUsageError
from ..fields import resolve_label_field
from .common import Joint, SceneCategory
from .datasets import crowd_index, occlusion, scene_category
from .parts import face_visible, hands_visible, only_parts, part_visible
from .persons import (
    crowd,
    images_by_person_count,
    images_without_persons,
    outside_box,
    outside_image,
    persons_by_area,
    persons_with_joint,
    persons_with_labeled,
    persons_with_visible,
    truncated,
)
from .similarity import duplicates, swaps

#: the curation views by name: the App's Curate form and ``fiftyone-pose curate`` offer them all
CURATION_VIEWS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        persons_with_visible,
        persons_with_labeled,
        persons_with_joint,
        crowd,
        persons_by_area,
        images_by_person_count,
        images_without_persons,
        truncated,
        outside_image,
        outside_box,
        duplicates,
        swaps,
        part_visible,
        face_visible,
        hands_visible,
        only_parts,
        crowd_index,
        occlusion,
        scene_category,
    )
}

#: parameters every view shares, offered by the App and the CLI in their own way (or not at all)
_COMMON = ("collection", "label_field", "only_matches")
#: value types whose choices are read from the collection
_SOURCES = {Joint: "joint", SceneCategory: "scene_category"}


@dataclasses.dataclass(frozen=True)
class ViewParameter:
    """One option of a curation view, as its signature and docstring declare it."""

    name: str
    #: int, float, bool or str
    type: type
    default: Any
    required: bool
    #: a list of values is accepted (one value also is)
    many: bool
    #: the values allowed (a ``Literal`` type)
    choices: tuple | None
    #: "joint" or "scene_category": the values are read from the collection (``parameter_choices``)
    source: str | None
    help: str

    def coerce(self, value: Any) -> Any:
        """``value`` as the view takes it, from the App's form (bools of optional flags come as
        "true" / "false") or the CLI (lists of one value); None when not given."""
        if value is None or value == "" or value == []:
            return None
        if self.many:
            values = [self._one(v) for v in ([value] if isinstance(value, str | int | float) else value)]
            return values
        return self._one(value)

    def _one(self, value: Any) -> Any:
        if self.type is bool and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise PoseUsageError(f"{self.name}: expected true or false, not {value!r}")
            return value.lower() == "true"
        try:
            value = self.type(value)
        except (TypeError, ValueError):
            raise PoseUsageError(f"{self.name}: expected {self.type.__name__}, not {value!r}") from None
        if self.choices is not None and value not in self.choices:
            raise PoseUsageError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        return value


def view_summary(name: str) -> str:
    """The first line of the view's docstring: what it shows (a label for the App and the CLI)."""
    return (docstring_parser.parse(inspect.getdoc(_view(name)) or "").short_description or name).rstrip(".")


def view_description(name: str) -> str:
    """The view's docstring without its ``Args:`` section."""
    doc = docstring_parser.parse(inspect.getdoc(_view(name)) or "")
    return "\n\n".join(t for t in (doc.short_description, doc.long_description) if t)


def view_parameters(name: str) -> list[ViewParameter]:
    """The options of the view ``name`` (``label_field`` and ``only_matches`` aside), read from
    its signature (type hints, defaults) and the ``Args:`` entries of its docstring."""
    view = _view(name)
    hints = typing.get_type_hints(view)
    helps = {p.arg_name: p.description or "" for p in docstring_parser.parse(inspect.getdoc(view) or "").params}
    out = []
    for param in inspect.signature(view).parameters.values():
        if param.name in _COMMON:
            continue
        base, many = _unwrap(hints[param.name])
        choices = typing.get_args(base) if typing.get_origin(base) is Literal else None
        source = _SOURCES.get(base)
        out.append(
            ViewParameter(
                name=param.name,
                type=type(choices[0]) if choices else getattr(base, "__supertype__", base),
                default=None if param.default is inspect.Parameter.empty else param.default,
                required=param.default is inspect.Parameter.empty,
                many=many,
                choices=choices,
                source=source,
                help=helps.get(param.name, ""),
            )
        )
    return out


def parameter_choices(collection, parameter: ViewParameter, label_field: str | None = None) -> list:
    """The values ``parameter`` can take on ``collection``: its ``Literal`` choices, the keypoint
    names of the field's skeleton (joints) or the collection's scene categories."""
    if parameter.source == "joint":
        skeleton = collection.get_skeleton(resolve_label_field(collection, label_field))
        return list(skeleton.labels) if skeleton is not None and skeleton.labels else []
    if parameter.source == "scene_category":
        return sorted(collection.distinct("category")) if collection.has_field("category") else []
    return list(parameter.choices or [])


def apply_view(collection, name: str, label_field: str | None = None, **values):
    """The view ``name`` of ``collection`` with these option values (as the App's form or the
    CLI give them: see ``ViewParameter.coerce``); options not given take the view's defaults."""
    params = {p.name: p for p in view_parameters(name)}
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise PoseUsageError(f"the view {name} has no option {unknown[0]!r}; options: {', '.join(params) or 'none'}")
    kwargs = {}
    for key, value in values.items():
        value = params[key].coerce(value)
        if value is not None:
            kwargs[key] = value
    missing = [p.name for p in params.values() if p.required and p.name not in kwargs]
    if missing:
        raise PoseUsageError(f"the view {name} needs {missing[0]!r}")
    return CURATION_VIEWS[name](collection, label_field=label_field, **kwargs)


def _view(name: str) -> Callable:
    try:
        return CURATION_VIEWS[name]
    except KeyError:
        raise PoseUsageError(f"unknown view {name!r}; views: {', '.join(CURATION_VIEWS)}") from None


def _unwrap(hint) -> tuple[Any, bool]:
    """(value type, whether a list is allowed) of a type hint such as ``Joint | list[Joint] | None``."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    args = [a for a in args if a is not type(None)]
    lists = [typing.get_args(a)[0] for a in args if typing.get_origin(a) in (list, Sequence)]
    singles = [a for a in args if typing.get_origin(a) not in (list, Sequence)]
    base = (lists or singles)[0]
    return base, bool(lists)
