"""Benchmark steps, one per process: ``python -m benchmarks.steps STEP [--file F] [--out O] ...``.

Each step does its imports and setup first, then times only its own work with ``perf_counter``,
and prints one line ``BENCH_RESULT {json}`` on stdout with ``seconds``, ``peak_rss_mb`` (peak
resident size of this process right after the timed part), ``base_rss_mb`` (resident size before
it), ``cpu_seconds`` (CPU time of this process's threads in the timed part) and step-specific
extras. The peak is ``VmHWM`` from ``/proc/self/status``: Linux carries
``ru_maxrss`` over from the parent across fork/exec, so ``getrusage`` would report the runner's
size for any step smaller than it (``ru_maxrss`` is only the fallback without ``/proc``).
``rss_series_mb`` is the resident size sampled every 0.2 s by a thread of the step process while
the timed part runs, of the step process and the file-reading worker it starts (a large file is
parsed in a second process, ``fiftyone_pose.formats.worker``) together; where a worker ran,
``tree_peak_rss_mb`` is the largest such sample (the memory the step needed at once) and
``worker_peak_rss_mb`` the worker's own peak (its ``VmHWM``, read while it runs).
``children_cpu_seconds`` is the CPU time of the child processes reaped in the timed part (the
worker's), and ``cpu_seconds`` includes it.

Export steps also compare their output with the input file (untimed): ``exact`` (same values,
number types and key order), ``equal`` (same values by Python ``==``, e.g. ``229 == 229.0``; key
order may differ), ``equal up to list order`` (equal once ``images`` and ``annotations`` are
sorted by id) or ``differs``. A step whose fiftyone_pose function does not exist (yet) reports
``{"unavailable": reason}``.

The database comes from ``FIFTYONE_DATABASE_URI`` (FiftyOne and pymongo alike). ``raw_insert``
writes FiftyOne-shaped sample documents into the scratch collection ``raw_<name>`` of the
``bench_raw`` database, and ``raw_export`` reads them back: that pair is the plain-pymongo floor.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

RESULT_PREFIX = "BENCH_RESULT "
RAW_DB = "bench_raw"
IMAGE_EXTRAS = ("license", "coco_url", "flickr_url", "date_captured")
ANN_ATTRS = ("bbox", "area", "iscrowd", "num_keypoints", "segmentation")

STEPS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {}


class Unavailable(Exception):
    """The code a step measures does not exist (yet)."""


def step(fn: Callable[[argparse.Namespace], dict[str, Any]]) -> Callable[[argparse.Namespace], dict[str, Any]]:
    """Register a step under its function name."""
    STEPS[fn.__name__] = fn
    return fn


def _rss_mb() -> float:
    """Current resident size in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """Peak resident size of this process image in MiB (see the module docstring)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: seconds between two samples of the resident size (``rss_series_mb``)
RSS_INTERVAL = 0.2


def _workers() -> list[str]:
    """The pids of this process's file-reading workers (``fiftyone_pose.formats.worker``) alive now."""
    pids = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                pids += f.read().split()
        except OSError:
            continue
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"fiftyone_pose.formats.worker" in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def _status_mb(pid: str, key: str) -> float:
    """A size (``VmRSS``, ``VmHWM``) from ``/proc/PID/status`` in MiB; 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key + ":")) / 1024
    except (OSError, StopIteration):
        return 0.0


class _RssSampler(threading.Thread):
    """The resident size of this process and its workers every ``RSS_INTERVAL`` seconds, while the
    timed block runs, and each worker's peak."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.worker_peaks: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(RSS_INTERVAL):
            workers = _workers()
            for pid in workers:
                self.worker_peaks[pid] = max(self.worker_peaks.get(pid, 0.0), _status_mb(pid, "VmHWM"))
            self.samples.append(round(_rss_mb() + sum(_status_mb(pid, "VmRSS") for pid in workers), 1))


def _children_cpu() -> float:
    """CPU seconds of this process's reaped child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def timed(result: dict[str, Any], floor: bool = False) -> Iterator[None]:
    """Time the block into ``result`` and record memory before and after it, and during it
    (``rss_series_mb``: a sample every ``RSS_INTERVAL`` seconds, the base first and the peak last).

    ``floor=True`` (the plain-Python floors) turns the cyclic garbage collector off for the block,
    as fiftyone_pose's bulk paths do: otherwise its repeated full passes over millions of new
    objects take most of the time (5.5 s of 6.6 s decoding 64k samples) and the floor is no floor.
    """
    result["base_rss_mb"] = round(_rss_mb(), 1)
    if floor:
        gc.disable()
    sampler = _RssSampler()
    sampler.start()
    t0, c0, w0 = time.perf_counter(), time.process_time(), _children_cpu()
    try:
        yield
    finally:
        sampler.done.set()
    result["seconds"] = time.perf_counter() - t0
    # this process's threads and its (reaped) workers: steadier than wall time under load
    result["children_cpu_seconds"] = _children_cpu() - w0
    result["cpu_seconds"] = time.process_time() - c0 + result["children_cpu_seconds"]
    gc.enable()
    sampler.join()
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    result["rss_series_mb"] = [result["base_rss_mb"], *sampler.samples, result["peak_rss_mb"]]
    if sampler.worker_peaks:
        result["worker_peak_rss_mb"] = round(max(sampler.worker_peaks.values()), 1)
        result["tree_peak_rss_mb"] = max(result["rss_series_mb"])


def _sorted_by_id(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with ``images`` and ``annotations`` sorted by id."""
    key = lambda x: str(x.get("id"))  # noqa: E731
    return {**doc, **{k: sorted(doc[k], key=key) for k in ("images", "annotations") if k in doc}}


def _compare(out: str, src: str) -> str:
    """How the JSON written at ``out`` matches ``src`` (see the module docstring); an npz: ``exact``
    for the same bytes, ``equal`` for the same arrays (names, dtypes, values)."""
    if src.endswith(".npz"):
        return _compare_npz(out, src)
    with open(out, "rb") as f:
        a = orjson.loads(f.read())
    with open(src, "rb") as f:
        b = orjson.loads(f.read())
    if orjson.dumps(a) == orjson.dumps(b):
        return "exact"
    if a == b:
        return "equal"
    return "equal up to list order" if _sorted_by_id(a) == _sorted_by_id(b) else "differs"


def _compare_npz(out: str, src: str) -> str:
    import numpy as np

    with open(out, "rb") as f, open(src, "rb") as g:
        if f.read() == g.read():
            return "exact"
    with np.load(out) as a, np.load(src) as b:
        same = list(a) == list(b) and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)
    return "equal" if same else "differs"


def _pose() -> Any:
    """Import fiftyone_pose, or raise :class:`Unavailable`."""
    try:
        import fiftyone_pose
    except Exception as e:  # the package is being written while this runs
        raise Unavailable(f"import fiftyone_pose failed: {type(e).__name__}: {e}") from e
    return fiftyone_pose


def _pose_fn(name: str) -> Callable[..., Any]:
    fn = getattr(_pose(), name, None)
    if not callable(fn):
        raise Unavailable(f"fiftyone_pose.{name} does not exist")
    return fn


def _raw_collection(name: str) -> Any:
    import pymongo

    return pymongo.MongoClient(os.environ["FIFTYONE_DATABASE_URI"])[RAW_DB][f"raw_{name}"]


def _load_dataset(name: str) -> Any:
    import fiftyone as fo

    return fo.load_dataset(name)


def _connect() -> None:
    """Open FiftyOne's database connection outside the timed part."""
    import fiftyone as fo

    fo.list_datasets()


@step
def json_load(a: argparse.Namespace) -> dict[str, Any]:
    """``json.load`` of the file: the floor for parsing."""
    r: dict[str, Any] = {}
    with timed(r, floor=True), open(a.file) as f:
        json.load(f)
    return r


@step
def json_dump(a: argparse.Namespace) -> dict[str, Any]:
    """Write the loaded document with the stdlib: the floor for writing.

    ``f.write(json.dumps(doc))`` rather than ``json.dump(doc, f)``: ``json.dump`` streams through
    the pure-Python encoder and is about 3x slower, which would flatter anything compared to it.
    """
    with open(a.file) as f:
        doc = json.load(f)
    r: dict[str, Any] = {}
    with timed(r, floor=True), open(a.out, "w") as f:
        f.write(json.dumps(doc))
    r["output"] = _compare(a.out, a.file)
    return r


def _samples(doc: dict[str, Any], images_dir: str) -> list[dict[str, Any]]:
    """FiftyOne-shaped sample documents, one per image, persons in one Keypoints field."""
    from bson import ObjectId

    nan = math.nan
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in doc["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    label = {c["id"]: c["name"] for c in doc["categories"]}
    samples = []
    for im in doc["images"]:
        w, h = im["width"], im["height"]
        people = []
        for ann in by_image.get(im["id"], ()):
            kp = ann["keypoints"]
            vis = kp[2::3]
            people.append({
                "_id": ObjectId(),
                "_cls": "Keypoint",
                "tags": [],
                "label": label[ann["category_id"]],
                "points": [[x / w, y / h] if v else [nan, nan] for x, y, v in zip(kp[0::3], kp[1::3], vis)],
                "visible": vis,
                "coco_id": ann["id"],
                **{k: ann[k] for k in ANN_ATTRS if k in ann},
            })  # fmt: skip
        samples.append({
            "_id": ObjectId(),
            "filepath": os.path.join(images_dir, im["file_name"]),
            "tags": [],
            "_media_type": "image",
            "metadata": {"_cls": "ImageMetadata", "width": w, "height": h},
            "coco_id": im["id"],
            **{k: im[k] for k in IMAGE_EXTRAS if k in im},
            "ground_truth": {"_cls": "Keypoints", "keypoints": people},
        })  # fmt: skip
    return samples


@step
def raw_insert(a: argparse.Namespace) -> dict[str, Any]:
    """Plain Python: load + build sample documents + pymongo ``insert_many``."""
    coll = _raw_collection(a.name)
    coll.drop()
    r: dict[str, Any] = {}
    with timed(r, floor=True):
        with open(a.file) as f:
            samples = _samples(json.load(f), a.images_dir)
        t0 = time.perf_counter()
        coll.insert_many(samples)
        r["insert_seconds"] = time.perf_counter() - t0
    return r


@step
def raw_export(a: argparse.Namespace) -> dict[str, Any]:
    """Plain Python: ``find()`` with a projection on ``raw_insert``'s collection, COCO dicts, ``json.dumps``."""
    coll = _raw_collection(a.name)
    with open(a.file, "rb") as f:  # the header a real exporter keeps in dataset.info
        src = orjson.loads(f.read())
    header = {k: src[k] for k in ("info", "licenses", "categories")}
    category = {c["name"]: c["id"] for c in src["categories"]}
    del src
    projection = ["filepath", "metadata", "coco_id", *IMAGE_EXTRAS, "ground_truth"]
    r: dict[str, Any] = {}
    with timed(r, floor=True):
        images, annotations = [], []
        for s in coll.find({}, projection):
            w, h = s["metadata"]["width"], s["metadata"]["height"]
            images.append({
                **{k: s[k] for k in IMAGE_EXTRAS if k in s},
                "file_name": os.path.basename(s["filepath"]),
                "height": h,
                "width": w,
                "id": s["coco_id"],
            })  # fmt: skip
            for p in s["ground_truth"]["keypoints"]:
                kp: list[Any] = []
                for (x, y), v in zip(p["points"], p["visible"]):
                    kp += (0.0, 0.0, v) if x != x else (x * w, y * h, v)
                ann = {"segmentation": p["segmentation"]} if "segmentation" in p else {}
                ann.update(
                    num_keypoints=p["num_keypoints"], area=p["area"], iscrowd=p["iscrowd"], keypoints=kp,
                    image_id=s["coco_id"], bbox=p["bbox"], category_id=category[p["label"]], id=p["coco_id"],
                )  # fmt: skip
                annotations.append(ann)
        annotations.sort(key=lambda x: x["id"])
        with open(a.out, "w") as f:
            f.write(json.dumps({**header, "images": images, "annotations": annotations}))
    r["output"] = _compare(a.out, a.file)
    return r


@step
def fo_builtin_import(a: argparse.Namespace) -> dict[str, Any]:
    """FiftyOne's own ``COCODetectionDataset`` importer (detections + keypoints)."""
    import fiftyone as fo

    # The importer lists ``data_path`` when it is a directory and raises KeyError for any
    # file_name not found there; a {file_name: path} dict lets it run without images on disk.
    with open(a.file, "rb") as f:
        data_path = {
            im["file_name"]: os.path.join(a.images_dir, im["file_name"]) for im in orjson.loads(f.read())["images"]
        }
    _connect()
    r: dict[str, Any] = {}
    with timed(r):
        ds = fo.Dataset.from_dir(
            dataset_type=fo.types.COCODetectionDataset,
            data_path=data_path,
            labels_path=a.file,
            label_types=["detections", "keypoints"],
            name=a.name,
        )
    ds.persistent = True
    r["samples"] = len(ds)
    return r


@step
def fo_builtin_export(a: argparse.Namespace) -> dict[str, Any]:
    """FiftyOne's own ``COCODetectionDataset`` exporter on the keypoints field."""
    import fiftyone as fo

    ds = _load_dataset(a.name)
    r: dict[str, Any] = {}
    with timed(r):
        ds.export(
            dataset_type=fo.types.COCODetectionDataset,
            labels_path=a.out,
            label_field="keypoints",
            export_media=False,
        )
    r["output"] = _compare(a.out, a.file)
    return r


@step
def ours_import(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.load(path, format=FORMAT, images_dir=..., name=...)`` (``--format``, default coco)."""
    load = _pose_fn("load")
    _connect()
    r: dict[str, Any] = {}
    with timed(r):
        ds = load(a.file, format=a.format, images_dir=a.images_dir, name=a.name)
    ds.persistent = True
    r["samples"] = len(ds)
    return r


@step
def ours_import_grouped(a: argparse.Namespace) -> dict[str, Any]:
    """Human3.6M grouped: ``fiftyone_pose.load(path, grouped=True, cameras=CAMERAS, scenes_dir=...)``
    (``--cameras``; the scenes go to a ``scenes`` folder beside ``--out``, deleted afterwards)."""
    load = _pose_fn("load")
    scenes = os.path.join(os.path.dirname(os.path.abspath(a.out)), f"scenes-{a.name}")
    _connect()
    r: dict[str, Any] = {}
    try:
        with timed(r):
            ds = load(a.file, format=a.format, images_dir=a.images_dir, name=a.name, grouped=True, cameras=a.cameras,
                      scenes_dir=scenes)  # fmt: skip
    finally:
        shutil.rmtree(scenes, ignore_errors=True)
    ds.persistent = True
    r["samples"] = len(ds.select_group_slices(media_type="image"))
    r["groups"] = len(ds.select_group_slices("3d"))
    return r


@step
def ours_export(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.export(dataset, out_path, format=FORMAT)``."""
    export = _pose_fn("export")
    ds = _load_dataset(a.name)
    r: dict[str, Any] = {}
    if os.path.exists(a.out):  # an earlier run's file: export replaces nothing unasked
        os.unlink(a.out)
    with timed(r):
        export(ds, a.out, format=a.format)
    r["output"] = _compare(a.out, a.file)
    return r


@step
def ours_merge(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.merge(--dataset ..., name=--name, layout=--layout)`` of imported datasets."""
    merge = _pose_fn("merge")
    _connect()
    r: dict[str, Any] = {}
    with timed(r):
        ds = merge(a.dataset, name=a.name, layout=a.layout)
    ds.persistent = True
    r["samples"] = len(ds)
    return r


@step
def ours_merged_export(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.export(merged, out_path, format="coco")``: the merged persons exported once,
    the yardstick of ``ours_merge``."""
    export = _pose_fn("export")
    ds = _load_dataset(a.name)
    r: dict[str, Any] = {}
    if os.path.exists(a.out):  # an earlier run's file: export replaces nothing unasked
        os.unlink(a.out)
    with timed(r):
        written = export(ds, a.out, format="coco")
    r["persons"] = written.summary()["persons"]
    return r


@step
def pure_read(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.read(path, format=FORMAT)`` (no database)."""
    read = _pose_fn("read")
    r: dict[str, Any] = {}
    with timed(r):
        read(a.file, format=a.format)
    return r


@step
def pure_write(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.write(data, out_path, format=FORMAT)`` of what ``read`` returned."""
    read, write = _pose_fn("read"), _pose_fn("write")
    data = read(a.file, format=a.format)
    r: dict[str, Any] = {}
    with timed(r):
        write(data, a.out, format=a.format)
    r["output"] = _compare(a.out, a.file)
    return r


def _yolo_dir(a: argparse.Namespace) -> Path:
    """The folder a YOLO step writes (``--out`` without its suffix), emptied first (untimed)."""
    root = Path(a.out).with_suffix("")
    shutil.rmtree(root, ignore_errors=True)
    return root


def _compare_yolo(out: Path, floor: Path) -> str:
    """``same rows`` when the label files equal those of ``yolo_floor`` (text for text), else ``differs``."""
    if not floor.is_dir():
        return "no yolo_floor output to compare"

    def texts(root: Path) -> dict[str, bytes]:
        return {os.fspath(p.relative_to(root)): p.read_bytes() for p in (root / "labels").rglob("*.txt")}

    return "same rows as yolo_floor" if texts(out) == texts(floor) else "differs from yolo_floor"


@step
def yolo_floor(a: argparse.Namespace) -> dict[str, Any]:
    """Plain Python: the loaded COCO document (untimed) to a YOLO-pose folder, as ``convert_coco`` loops.

    The same rows as fiftyone_pose writes (``%.10g``, crowd / empty-box / no-point persons left
    out, points outside the image unlabelled), one label file and one image symlink per image,
    and the yaml: the floor for ``pure_write_yolo``.
    """
    with open(a.file, "rb") as f:
        doc = orjson.loads(f.read())
    root = _yolo_dir(a)
    r: dict[str, Any] = {}
    with timed(r, floor=True):
        by_image: dict[int, list[dict[str, Any]]] = {}
        for ann in doc["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann)
        images = (
            (im["file_name"], im["width"], im["height"],
             [(ann["bbox"], ann.get("iscrowd"), ann["keypoints"]) for ann in by_image.get(im["id"], ())])
            for im in doc["images"]
        )  # fmt: skip
        _write_yolo(root, images, len(doc["categories"][0]["keypoints"]), a.images_dir)
    return r


@step
def raw_export_yolo(a: argparse.Namespace) -> dict[str, Any]:
    """Plain Python from the database: ``find()`` on ``raw_insert``'s collection, then the rows and
    symlinks of ``yolo_floor``: the floor of an export to YOLO that starts, as ``ours_export_yolo``
    does, from the stored samples."""
    coll = _raw_collection(a.name)
    with open(a.file, "rb") as f:  # the layout a real exporter keeps in dataset.info
        k = len(orjson.loads(f.read())["categories"][0]["keypoints"])
    root = _yolo_dir(a)
    r: dict[str, Any] = {}
    with timed(r, floor=True):

        def images() -> Any:
            for s in coll.find({}, ["filepath", "metadata", "ground_truth"]):
                w, h = s["metadata"]["width"], s["metadata"]["height"]
                persons = []
                for p in s["ground_truth"]["keypoints"]:
                    kp: list[Any] = []
                    for (x, y), v in zip(p["points"], p["visible"]):
                        kp += (0.0, 0.0, v) if x != x else (x * w, y * h, v)
                    persons.append((p["bbox"], p["iscrowd"], kp))
                yield os.path.basename(s["filepath"]), w, h, persons

        _write_yolo(root, images(), k, a.images_dir)
    r["output"] = _compare_yolo(root, root.with_name("out_yolo_floor"))
    return r


def _write_yolo(root: Path, images: Any, k: int, images_dir: str) -> None:
    """A YOLO-pose folder from ``(file_name, width, height, [(bbox, iscrowd, keypoints)])`` per image,
    the rows as ``convert_coco`` loops (see ``yolo_floor``)."""
    labels, links = root / "labels" / "train", root / "images" / "train"
    labels.mkdir(parents=True)
    links.mkdir(parents=True)
    line = " ".join(["%.10g"] * (5 + k * 3))
    for file_name, w, h, persons in images:
        rows = []
        for (x, y, bw, bh), iscrowd, kp in persons:
            if iscrowd or bw <= 0 or bh <= 0 or not any(kp[2::3]):
                continue
            row = [0, (x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h]
            for i in range(0, len(kp), 3):
                px, py, v = kp[i] / w, kp[i + 1] / h, kp[i + 2]
                row += (px, py, v) if v and 0 <= px <= 1 and 0 <= py <= 1 else (0, 0, 0)
            rows.append(line % tuple(row))
        with open(labels / (file_name.rsplit(".", 1)[0] + ".txt"), "w") as f:
            f.write("\n".join(rows) + "\n" if rows else "")
        os.symlink(os.path.join(images_dir, file_name), links / file_name)
    (root / "dataset.yaml").write_text(f"path: {root}\ntrain: images/train\nval: images/train\n")


# ---- evaluation (issue 14): the reference evaluator, ours on files, ours as a FiftyOne run


@step
def pycocotools_eval(a: argparse.Namespace) -> dict[str, Any]:
    """pycocotools: ``COCO(file)``, ``loadRes(results)``, ``COCOeval`` keypoints with the layout's
    sigmas, ``evaluate``/``accumulate``/``summarize`` (COCO layout only)."""
    import contextlib
    import io

    import numpy as np

    if a.format != "coco":
        raise Unavailable("the reference for this layout is xtcocotools' per-part evaluation")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from fiftyone_pose.core import skeleton

    sigmas = np.array(skeleton.load("coco").sigmas)
    r: dict[str, Any] = {}
    with timed(r), contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(a.file)
        ev = COCOeval(gt, gt.loadRes(a.results), "keypoints")
        ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    r["output"] = f"AP {ev.stats[0]:.3f}"
    r["stats"] = ev.stats.tolist()
    return r


@step
def pure_write_yolo(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.write(data, folder, format="yolo", images_dir=...)`` (symlinks) of what ``read`` returned."""
    read, write = _pose_fn("read"), _pose_fn("write")
    data = read(a.file, format=a.format)
    root = _yolo_dir(a)
    r: dict[str, Any] = {}
    with timed(r):
        write(data, root, format="yolo", images_dir=a.images_dir)
    r["output"] = _compare_yolo(root, root.with_name("out_yolo_floor"))
    return r


@step
def ours_eval(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.read`` of both files and ``fiftyone_pose.eval.evaluate`` (no database)."""
    read = _pose_fn("read")
    from fiftyone_pose.eval import evaluate

    r: dict[str, Any] = {}
    with timed(r):
        gt = read(a.file, format=a.format)
        result = evaluate(gt, read(a.results, format="coco_results", skeleton=gt.skeleton))
    r["output"] = f"AP {result.stats[0]:.3f}"
    r["stats"] = result.stats.tolist()
    return r


@step
def ours_export_yolo(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.export(dataset, folder, format="yolo")`` (symlinks) of ``ours_import``'s dataset."""
    export = _pose_fn("export")
    ds = _load_dataset(a.name)
    root = _yolo_dir(a)
    r: dict[str, Any] = {}
    with timed(r):
        export(ds, root, format="yolo")
    r["output"] = _compare_yolo(root, root.with_name("out_yolo_floor"))
    return r


@step
def ours_predictions(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.load_predictions(dataset, results)`` into ``ours_import``'s dataset."""
    load_predictions = _pose_fn("load_predictions")
    ds = _load_dataset(a.name)
    r: dict[str, Any] = {}
    with timed(r):
        summary = load_predictions(ds, a.results, overwrite=True)
    r["output"] = f"{summary['predictions']} predictions"
    return r


@step
def ours_eval_fo(a: argparse.Namespace) -> dict[str, Any]:
    """``fiftyone_pose.evaluate(dataset, "predictions", eval_key="eval")``: bulk read, evaluation,
    per-person and per-image results written back, the run stored."""
    evaluate = _pose_fn("evaluate")
    ds = _load_dataset(a.name)
    r: dict[str, Any] = {}
    with timed(r):
        result = evaluate(ds, "predictions", eval_key="eval")
    r["output"] = f"AP {result.stats[0]:.3f}"
    r["stats"] = result.stats.tolist()
    return r


@step
def cleanup(a: argparse.Namespace) -> dict[str, Any]:
    """Delete the FiftyOne datasets ``--dataset`` and the raw collection ``raw_<--name>``."""
    if a.name:
        _raw_collection(a.name).drop()
    if a.dataset:
        import fiftyone as fo

        for name in a.dataset:
            if fo.dataset_exists(name):
                fo.delete_dataset(name)
    return {}


def main(argv: list[str] | None = None) -> None:
    """Run one step and print its ``BENCH_RESULT`` line."""
    ap = argparse.ArgumentParser(description="Run one benchmark step (see module docstring).")
    ap.add_argument("step", choices=sorted(STEPS))
    ap.add_argument("--file", help="input COCO JSON")
    ap.add_argument("--out", help="output JSON path")
    ap.add_argument("--name", help="dataset / scratch collection name")
    ap.add_argument("--images-dir", default="/nonexistent/images")
    ap.add_argument("--format", default="coco", help="fiftyone_pose format of the file (ours_*, pure_* steps)")
    ap.add_argument("--dataset", action="append", default=[], help="(cleanup) dataset to delete; (ours_merge) source")
    ap.add_argument("--layout", default="coco", help="(ours_merge) keypoint layout of the merged dataset")
    ap.add_argument("--cameras", help="(ours_import_grouped) Human3.6M camera parameters (JSON)")
    ap.add_argument("--results", help="(evaluation steps) COCO results list of the file's images")
    a = ap.parse_args(argv)
    try:
        result = STEPS[a.step](a)
    except Unavailable as e:
        result = {"unavailable": str(e)}
    sys.stdout.write("\n" + RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
