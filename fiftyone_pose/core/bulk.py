"""Helpers for bulk work on millions of small Python objects."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path


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


def usable_cpus(cgroup: str = "/sys/fs/cgroup") -> int:
    """The CPUs this process may run on (all of the machine's where the system cannot say), fewer
    where a container's CPU quota allows less: work is overlapped only where a second one is
    there, or the overlapping parts would take turns. The quota is cgroup v2's ``cpu.max``
    ("QUOTA PERIOD", or "max"), else cgroup v1's ``cpu.cfs_quota_us`` (-1: none) over
    ``cpu.cfs_period_us`` in the ``cpu`` controller's folder (Docker before cgroup v2)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cpu_quota(cgroup)
    return cpus if quota is None else min(cpus, max(1, int(quota)))


def _cpu_quota(cgroup: str) -> float | None:
    """CPUs' worth of time the cgroup at ``cgroup`` may use; None where it sets no quota or
    cannot be read (not Linux, or files of another form)."""
    root = Path(cgroup)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for folder in (root / "cpu", root / "cpu,cpuacct"):
        try:
            quota, period = (int((folder / f"cpu.cfs_{name}_us").read_text()) for name in ("quota", "period"))
            return None if quota < 0 else quota / period
        except (OSError, ValueError):
            continue
    return None
