"""Pose curation as FiftyOne views: each function takes a collection and returns a view.

They chain with every FiftyOne stage, and a view's export holds exactly the persons it shows.
"""

from __future__ import annotations

from fiftyone import ViewField as F

from .adapter import resolve_label_field


def visible_count(min_count: int | None = None, max_count: int | None = None):
    """Expression: the person has between ``min_count`` and ``max_count`` visible (v=2) points."""
    n = F("visibility").filter(F() == 2).length()
    expr = None
    if min_count is not None:
        expr = n >= min_count
    if max_count is not None:
        expr = (n <= max_count) if expr is None else expr & (n <= max_count)
    if expr is None:
        raise ValueError("give min_count, max_count or both")
    return expr


def persons_with_visible(collection, min_count: int | None = None, max_count: int | None = None, label_field: str | None = None, only_matches: bool = True):
    """Persons with at least ``min_count`` / at most ``max_count`` visible points (others hidden)."""
    field = resolve_label_field(collection, label_field)
    return collection.filter_labels(field, visible_count(min_count, max_count), only_matches=only_matches)


def crowd(collection, is_crowd: bool = True, label_field: str | None = None, only_matches: bool = True):
    """Crowd regions (``is_crowd=True``) or individual persons (``False``)."""
    field = resolve_label_field(collection, label_field)
    return collection.filter_labels(field, F("iscrowd") == int(is_crowd), only_matches=only_matches)
