"""Pose statistics of a dataset or view: pandas tables and plotly figures.

The tables come from aggregations over the collection (only the few values needed are read, no
samples are loaded): per-joint visibility and labelled counts, persons per image, box sizes. The
figures use FiftyOne's plotly look; ``fo.NumericalHistogram`` / ``fo.CategoricalHistogram`` on
the same paths give App-linked versions in a notebook with a session.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fiftyone import ViewField as F

from .adapter import resolve_label_field
from .views import AREA_RANGES, crowd

#: default edges of the box-size histogram, in pixels of sqrt(area); 32 and 96 are COCO's cuts
SIZE_BINS = (0, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, np.inf)
_COLOR = "#FF6D04"  # FiftyOne's orange
_VIS_COLORS = {"visible": "#FF6D04", "occluded": "#499CEF", "unlabeled": "#BBBBBB"}


def _persons(collection, field: str, include_crowd: bool):
    return collection if include_crowd else crowd(collection, False, field, only_matches=False)


def joint_table(collection, label_field: str | None = None, include_crowd: bool = False) -> pd.DataFrame:
    """Per joint (rows, in skeleton order): persons with it visible (v=2), occluded (v=1),
    unlabeled (v=0), labeled (v>0), and the labelled / visible fractions. Crowd regions are left
    out unless ``include_crowd``."""
    field = resolve_label_field(collection, label_field)
    per_image = _persons(collection, field, include_crowd).values(f"{field}.keypoints.visibility")
    vis = [v for image in per_image for v in image or ()]
    skeleton = collection.get_skeleton(field)
    names = list(skeleton.labels) if skeleton is not None else None
    k = len(names) if names else max((len(v) for v in vis if v), default=0)
    arr = np.array([v for v in vis if v is not None and len(v) == k], dtype=np.int64).reshape(-1, k)
    counts = {
        "visible": (arr == 2).sum(axis=0),
        "occluded": (arr == 1).sum(axis=0),
        "unlabeled": (arr == 0).sum(axis=0),
        "labeled": (arr > 0).sum(axis=0),
    }
    table = pd.DataFrame(counts, index=pd.Index(names or [str(i) for i in range(k)], name="joint"))
    n = max(len(arr), 1)
    table["labeled_fraction"] = table["labeled"] / n
    table["visible_fraction"] = table["visible"] / n
    return table


def persons_per_image(collection, label_field: str | None = None, include_crowd: bool = False) -> pd.DataFrame:
    """Number of images (``images``) with each number of persons (index ``persons``, 0 included)."""
    field = resolve_label_field(collection, label_field)
    persons = F(f"{field}.keypoints")
    if not include_crowd:
        persons = persons.filter(F("iscrowd") != 1)
    counts = np.asarray(collection.values(persons.length()), dtype=np.int64)
    hist = np.bincount(counts) if len(counts) else np.zeros(1, np.int64)
    return pd.DataFrame({"images": hist}, index=pd.RangeIndex(len(hist), name="persons"))


def box_sizes(collection, bins=SIZE_BINS, label_field: str | None = None, include_crowd: bool = False) -> pd.DataFrame:
    """Histogram of the persons' sizes, sqrt(``area``) in pixels: one row per bin (``low`` <=
    size < ``high``) with its person count and COCO size class (small < 32, large >= 96)."""
    field = resolve_label_field(collection, label_field)
    areas = _persons(collection, field, include_crowd).values(f"{field}.keypoints.area", unwind=True)
    sizes = np.sqrt(np.array([a for a in areas if a is not None], dtype=np.float64))
    edges = np.asarray(bins, dtype=np.float64)
    idx = np.searchsorted(edges, sizes, side="right") - 1  # bins are [low, high)
    counts = np.bincount(idx[(idx >= 0) & (idx < len(edges) - 1)], minlength=len(edges) - 1)
    low, high = edges[:-1], edges[1:]
    size_class = np.where(
        high <= 32, "small", np.where(low >= 96, "large", np.where((low >= 32) & (high <= 96), "medium", "mixed"))
    )
    return pd.DataFrame({"low": low, "high": high, "persons": counts, "coco_size": size_class})


def area_classes(collection, label_field: str | None = None, include_crowd: bool = False) -> pd.DataFrame:
    """Persons per COCO area class (small / medium / large, on ``area``) and without an area."""
    field = resolve_label_field(collection, label_field)
    areas = _persons(collection, field, include_crowd).values(f"{field}.keypoints.area", unwind=True)
    a = np.array([np.nan if x is None else x for x in areas], dtype=np.float64)
    rows = {name: int(((a >= lo) & (a < hi)).sum()) for name, (lo, hi) in AREA_RANGES.items()}
    rows["no area"] = int(np.isnan(a).sum())
    return pd.DataFrame({"persons": rows}).rename_axis("size")


def pose_stats(collection, label_field: str | None = None) -> dict[str, pd.DataFrame]:
    """All the tables: ``joints``, ``persons_per_image``, ``box_sizes``, ``area_classes``."""
    field = resolve_label_field(collection, label_field)
    return {
        "joints": joint_table(collection, field),
        "persons_per_image": persons_per_image(collection, field),
        "box_sizes": box_sizes(collection, label_field=field),
        "area_classes": area_classes(collection, field),
    }


# ---------------------------------------------------------------------------------------- plots


def _figure(title: str, **layout: Any):
    import plotly.graph_objects as go
    from fiftyone.core.plots.plotly import _DEFAULT_LAYOUT

    fig = go.Figure()
    fig.update_layout(**{**_DEFAULT_LAYOUT, "margin": {"r": 10, "t": 40, "l": 10, "b": 10}}, title=title, **layout)
    return fig


def plot_joint_visibility(collection, label_field: str | None = None):
    """Stacked bars per joint: visible, occluded, unlabeled persons (plotly figure)."""
    table = joint_table(collection, label_field)
    fig = _figure("Keypoint visibility per joint", barmode="stack", xaxis_title="joint", yaxis_title="persons")
    for col in ("visible", "occluded", "unlabeled"):
        fig.add_bar(x=list(table.index), y=table[col].tolist(), name=col, marker_color=_VIS_COLORS[col])
    return fig


def plot_persons_per_image(collection, label_field: str | None = None):
    """Bars: how many images have 0, 1, 2, ... persons (plotly figure)."""
    table = persons_per_image(collection, label_field)
    fig = _figure("Persons per image", xaxis_title="persons in the image", yaxis_title="images")
    fig.add_bar(x=table.index.tolist(), y=table["images"].tolist(), marker_color=_COLOR, name="images")
    return fig


def plot_box_sizes(collection, bins=SIZE_BINS, label_field: str | None = None):
    """Histogram of person sizes, sqrt(area) in pixels, with COCO's 32 / 96 cuts (plotly figure)."""
    table = box_sizes(collection, bins, label_field)
    labels = [f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">={lo:g}" for lo, hi in zip(table["low"], table["high"])]
    colors = {"small": "#499CEF", "medium": _COLOR, "large": "#6D04FF", "mixed": "#BBBBBB"}
    fig = _figure("Person box sizes (sqrt(area), pixels)", xaxis_title="size (px)", yaxis_title="persons")
    fig.add_bar(
        x=labels, y=table["persons"].tolist(), marker_color=[colors[c] for c in table["coco_size"]], name="persons"
    )
    return fig
