"""Time two source trees of fiftyone-pose on the same steps, interleaved, against one ``mongod``.

``python -m benchmarks.ab A_DIR B_DIR --file coco_5000_s0.json [--runs 5] [--steps ours_import,ours_export]``

A and B are checkouts of the package (``git archive REV | tar -x -C DIR``, a worktree, or this
one). The question is how B's whole import or export compares with A's on a machine whose load
drifts, so each run times A then B, the next one B then A, and the floors (``raw_insert``,
``raw_export``: plain pymongo, the same in both trees) once per run from A. The report gives each
step's median per tree, B / A, and each tree's ratio to the floor measured in the same runs.
Datasets are deleted after each run; mongod is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.run import find_mongod, mongod, run_step, step_env

#: the floor each of our steps is compared with (an export step reads what its tree's import wrote)
FLOOR = {"ours_import": "raw_insert", "ours_export": "raw_export"}
#: per tree, per step, the result of each run
Results = dict[str, dict[str, list[dict[str, float]]]]


def ab_report(trees: dict[str, Path], results: Results, steps: list[str], file: Path) -> str:
    """Markdown: per step and measure (wall and CPU seconds, CPU including the reading worker; peak
    RSS, alone and with the worker where one ran), the median of each tree
    (min–max), B / A, and each tree's ratio to its floor (wall time)."""
    a, b = trees
    runs = max((len(r) for r in results[a].values()), default=0)
    lines = [
        f"# A/B: {file.name}, {runs} interleaved runs",
        "",
        f"A = `{trees[a]}`, B = `{trees[b]}`.",
        "",
        "| step | measure | A median (min–max) | B median (min–max) | B / A | A / floor | B / floor |",
        "|---|---|---|---|---|---|---|",
    ]

    def values(tree: str, step: str, key: str) -> list[float]:
        return [r[key] for r in results[tree].get(step, []) if key in r]

    def cell(secs: list[float]) -> str:
        return f"{statistics.median(secs):.3f} ({min(secs):.3f}–{max(secs):.3f})" if secs else "n/a"

    def ratio(x: list[float], y: list[float]) -> str:
        return f"{statistics.median(x) / statistics.median(y):.3f}" if x and y and statistics.median(y) else "n/a"

    for step in steps:
        floor = values(a, FLOOR.get(step, ""), "seconds")
        measures = (("seconds", "wall s"), ("cpu_seconds", "CPU s"), ("peak_rss_mb", "peak RSS MB"),
                    ("tree_peak_rss_mb", "peak RSS MB with the reading worker"))  # fmt: skip
        for key, measure in measures:
            if not any(values(a, step, key) + values(b, step, key)):  # e.g. no worker in either tree
                continue
            sa, sb = values(a, step, key), values(b, step, key)
            to_floor = [ratio(sa, floor), ratio(sb, floor)] if key == "seconds" else ["", ""]
            lines.append(f"| {step} | {measure} | {cell(sa)} | {cell(sb)} | {ratio(sb, sa)} | {' | '.join(to_floor)} |")
    for floor in sorted({FLOOR[s] for s in steps if s in FLOOR}):
        lines.append(f"| {floor} (floor, A's tree) | wall s | {cell(values(a, floor, 'seconds'))} | | | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path, help="source tree A (the reference)")
    ap.add_argument("b", type=Path, help="source tree B")
    ap.add_argument("--file", type=Path, required=True, help="input file (e.g. from python -m benchmarks.generate)")
    ap.add_argument("--format", default="coco", help="fiftyone_pose format of the file")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", default="ours_import,ours_export", help="comma-separated steps of both trees")
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--mongod", type=Path, help="mongod binary (default: FiftyOne's)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup in `finally`
    steps = args.steps.split(",")
    floors = [f for f in ("raw_insert", "raw_export") if any(FLOOR.get(s) == f for s in steps)]
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    results: Results = {t: {} for t in trees}
    workdir = args.file.resolve().parent
    with mongod(args.mongod or find_mongod()) as uri:
        env = step_env(uri)
        for run in range(args.runs):
            order = list(trees) if run % 2 == 0 else list(trees)[::-1]
            tag = f"ab-{os.getpid()}-{run}"
            try:
                for tree, step in [("A", f) for f in floors] + [(t, s) for t in order for s in steps]:
                    name = f"{tag}-{tree}" if step.startswith("ours") else tag
                    r = _timed(step, env, trees[tree], args, name, workdir)
                    print(f"run {run + 1}/{args.runs} {tree} {step}: {r}", file=sys.stderr)
                    if "seconds" in r:  # else an error, shown above
                        results[tree].setdefault(step, []).append(r)
            finally:
                run_step("cleanup", env, trees["A"], name=tag, dataset=[f"{tag}-A", f"{tag}-B"])
    text = ab_report(trees, results, steps, args.file)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


def _timed(step: str, env: dict[str, str], tree: Path, args: argparse.Namespace, name: str, workdir: Path) -> Any:
    return run_step(
        step, env, tree, file=args.file.resolve(), out=workdir / f"ab_out_{step}.json", name=name,
        images_dir=workdir / "images", format=args.format,
    )  # fmt: skip


if __name__ == "__main__":
    main()
