"""Helpers for bulk work on millions of small Python objects."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building or parsing many objects.

    Parsing a COCO file or building sample documents allocates millions of lists and dicts and no
    reference cycles; the collector's repeated full scans then cost as much as the work itself
    (measured: import and export take half the time without them). Reference counting still
    frees memory as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def usable_cpus(cgroup: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup") -> int:
    """The CPUs this process may run on (all of the machine's where the system cannot say), fewer
    where a CPU quota allows less: work is overlapped only where a second one is there, or the
    overlapping parts would take turns. The quota is the smallest on the way from this process's
    cgroup (``own``) up to the root of the hierarchy mounted at ``cgroup``: cgroup v2's
    ``cpu.max`` ("QUOTA PERIOD", or "max"), else cgroup v1's ``cpu.cfs_quota_us`` (-1: none)
    over ``cpu.cfs_period_us`` (a container's limit, or a systemd unit's ``CPUQuota``)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quotas = [q for folder in _cpu_folders(Path(cgroup), own) if (q := _cpu_quota(folder)) is not None]
    return min(cpus, max(1, int(min(quotas)))) if quotas else cpus


def _cpu_folders(root: Path, own: str) -> list[Path]:
    """The cgroup folders whose CPU quota applies to this process: its own and each above it, in
    the v2 hierarchy and in v1's ``cpu`` controller (a path that is not there, as inside a
    container that sees its own cgroup as the root, leaves the root)."""
    try:
        lines = Path(own).read_text().splitlines()
    except OSError:  # not Linux
        lines = []
    paths = {"": "/"}  # hierarchy ("" for v2, else v1's controller folder) -> this process's path in it
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:  # (not a cgroup line: left alone)
            continue
        _, controllers, path = fields
        if not controllers:
            paths[""] = path
        elif "cpu" in controllers.split(","):
            paths["cpu"] = paths["cpu,cpuacct"] = path
    paths.setdefault("cpu", "/")
    paths.setdefault("cpu,cpuacct", "/")
    folders = []
    for hierarchy, path in paths.items():
        base = root / hierarchy if hierarchy else root
        parts = [p for p in path.split("/") if p]
        folders += [base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]
    return folders


def _cpu_quota(folder: Path) -> float | None:
    """CPUs' worth of time the cgroup at ``folder`` may use; None where it sets no quota or
    cannot be read (no such file, or one of another form)."""
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota, period = (int((folder / f"cpu.cfs_{name}_us").read_text()) for name in ("quota", "period"))
        return None if quota < 0 else quota / period
    except (OSError, ValueError):
        return None


def batch_bounds(weights: np.ndarray, max_items: int, max_weight: int) -> list[int]:
    """Bounds ``[0, b1, ..., n]`` of consecutive batches of ``weights`` (e.g. bytes per item), each
    of at most ``max_items`` items and, unless one item alone weighs more, ``max_weight``."""
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, not {max_items}")
    n = len(weights)
    ends = np.cumsum(weights)
    bounds = [0]
    while bounds[-1] < n:
        lo = bounds[-1]
        reach = min((int(ends[lo - 1]) if lo else 0) + max_weight, int(ends[-1]))  # (no int64 overflow)
        fits = int(np.searchsorted(ends, reach, side="right"))
        bounds.append(min(max(fits, lo + 1), lo + max_items, n))
    return bounds
