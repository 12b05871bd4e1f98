"""``fiftyone-pose``: the command line. Argument parsing only; the work is in the same functions
that Python users and the App plugin call.

Exit codes: 0 success, 2 bad input or usage (one line naming file, record and field), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import formats
from .core.errors import PoseFormatError
from .formats import coco_results

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USER_ERROR
    _quiet_fiftyone()
    try:
        args.run(args)
    except (PoseFormatError, ValueError, OSError, KeyError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"fiftyone-pose: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("fiftyone-pose: interrupted; nothing was left half-done", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _quiet_fiftyone() -> None:
    # MongoDB 6.0 is supported but older than FiftyOne's preferred version; the warning is noise
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fiftyone-pose",
        description="Import, curate and export human-pose datasets with FiftyOne, losslessly.",
    )
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], None], help: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(run=run)
        return c

    command("formats", _formats, "list every format the tool reads and writes, with its file flavors")

    c = command("convert", _convert, "convert a pose file to another format (no database involved)")
    c.add_argument("src", help="input file")
    c.add_argument("dst", help="output file (written atomically)")
    c.add_argument("--from", dest="src_format", default="auto", help="input format (default: auto-detect)")
    c.add_argument("--to", dest="dst_format", default="coco", help="output format (default: coco)")
    c.add_argument(
        "--layout",
        help="keypoint layout to convert to by keypoint name first, e.g. coco (17 points from COCO-WholeBody or Halpe)",
    )

    c = command("import", _import, "import a pose file into a persistent FiftyOne dataset")
    c.add_argument("src", help="annotation file")
    c.add_argument("--format", default="auto", help="input format (default: auto-detect)")
    c.add_argument("--name", required=True, help="name of the FiftyOne dataset to create")
    c.add_argument("--images-dir", help="folder the file names are relative to (default: the file's folder)")
    c.add_argument("--label-field", default="ground_truth", help="keypoints field (default: ground_truth)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that name")

    c = command("export", _export, "write a FiftyOne dataset (or a saved view of it) to a pose file")
    c.add_argument("name", help="dataset name")
    c.add_argument("dst", help="output file (written atomically)")
    c.add_argument(
        "--format", help="output format (default: the format the dataset was imported from; coco with --layout)"
    )
    c.add_argument("--label-field", help="keypoints field (default: the one imported first)")
    c.add_argument("--view", help="name of a saved view of the dataset to export instead")
    c.add_argument(
        "--layout",
        help="keypoint layout to convert to by keypoint name first, e.g. coco (17 points from COCO-WholeBody or Halpe)",
    )

    c = command("import-predictions", _import_predictions, "add a COCO results list (model predictions) to a dataset")
    c.add_argument("src", help="results file: a JSON list of {image_id, keypoints [x, y, score, ...], score} or boxes")
    c.add_argument("--dataset", required=True, help="the dataset the predictions were made on (matched by image_id)")
    c.add_argument("--label-field", default="predictions", help="field to add (default: predictions)")
    c.add_argument("--gt-field", help="keypoints field whose layout the predictions have (default: the first)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing field of that name")

    c = command("evaluate", _evaluate, "evaluate predictions against ground truth: the reference tools' numbers")
    c.add_argument("name", help="dataset name")
    c.add_argument("--pred-field", default="predictions", help="predicted keypoints field (default: predictions)")
    c.add_argument("--gt-field", help="ground-truth keypoints field (default: the one imported first)")
    c.add_argument(
        "--eval-key", help="store the run under this key: per-person tp/fp/fn and per-image AP, for views and the App"
    )
    c.add_argument(
        "--method",
        choices=["oks", "pckh", "pck"],
        help="oks (COCO-style AP), pckh (MPII), pck (LSP, torso); default: the layout's benchmark metric",
    )
    c.add_argument("--iou", type=float, default=0.5, help="OKS at which persons count as matched (default: 0.5)")
    c.add_argument("--view", help="name of a saved view of the dataset to evaluate instead")

    c = command("info", _info, "print a dataset's pose summary: skeleton, counts, visibility histogram")
    c.add_argument("name", help="dataset name")
    c.add_argument("--label-field", help="keypoints field (default: the one imported first)")

    c = command("demo", _demo, "import, curate, export and verify the built-in demo dataset")
    c.add_argument("--out", help="folder for the exported file (default: a new temporary folder)")
    c.add_argument("--app", action="store_true", help="open the FiftyOne App on the demo dataset at the end")

    c = command("cleanup", _cleanup, "list (and with --delete remove) datasets left by killed imports")
    c.add_argument("--delete", action="store_true", help="delete them")

    c = command("plugin", _plugin_help, "the FiftyOne App plugin (operators: import, export, curate, statistics)")
    plugin = c.add_subparsers(title="plugin commands", metavar="ACTION")
    c = plugin.add_parser(
        "install",
        help="install the plugin into your FiftyOne plugins directory",
        description="install the plugin into your FiftyOne plugins directory "
        "(FIFTYONE_PLUGINS_DIR or fo.config.plugins_dir); reinstalling replaces it",
    )
    c.add_argument("--dir", help="plugins directory to install into (default: FiftyOne's)")
    c.set_defaults(run=_plugin_install)
    return p


def _print_summary(summary: dict[str, Any]) -> None:
    for key, value in summary.items():
        print(f"  {key.replace('_', ' ')}: {json.dumps(value) if isinstance(value, dict) else value}")


def _resolve_format(path: str, name: str) -> str:
    if name != "auto":
        formats.get(name)
        return name
    chosen = formats.detect(path)
    print(f"format: {chosen} (detected from the file's content)")
    return chosen


def _formats(args: argparse.Namespace) -> None:
    for name, module in sorted(formats.REGISTRY.items()):
        modes = "read, write" if hasattr(module, "write") else "read"
        print(f"{name} ({modes})")
        for flavor, text in module.FLAVORS.items():
            print(f"  {flavor}: {text}")


def _convert(args: argparse.Namespace) -> None:
    src_format = _resolve_format(args.src, args.src_format)
    data = formats.read(args.src, src_format)
    formats.write(data, args.dst, args.dst_format, layout=args.layout)
    print(f"wrote {args.dst} ({args.dst_format})")
    _print_summary(data.summary())


def _import(args: argparse.Namespace) -> None:
    src_format = _resolve_format(args.src, args.format)
    if src_format == coco_results.NAME:  # said before FiftyOne starts
        raise coco_results.not_a_dataset(args.src)
    from .fo.api import create_dataset

    data = formats.read(args.src, src_format)
    images_dir = args.images_dir or os.path.dirname(os.path.abspath(args.src))
    try:
        dataset = create_dataset(
            data, images_dir, args.name, args.label_field, overwrite=args.overwrite, persistent=True
        )
    except PoseFormatError as e:  # e.g. an image without a size whose file cannot be read
        raise e.with_path(args.src) from None
    print(f"imported {args.src} into dataset '{dataset.name}' (field '{args.label_field}')")
    _print_summary(data.summary())


def _export(args: argparse.Namespace) -> None:
    from .fo.api import export

    dataset = _dataset(args.name)
    collection = dataset.load_saved_view(args.view) if args.view else dataset
    data = export(collection, args.dst, args.format, args.label_field, layout=args.layout)
    what = f"view '{args.view}' of '{args.name}'" if args.view else f"dataset '{args.name}'"
    print(f"wrote {args.dst} ({data.format}) from {what}")
    _print_summary(data.summary())


def _import_predictions(args: argparse.Namespace) -> None:
    from .fo.predictions import load_predictions

    if formats.detect(args.src) != coco_results.NAME:
        raise coco_results.not_results(args.src)
    summary = load_predictions(_dataset(args.dataset), args.src, args.label_field, args.gt_field, args.overwrite)
    print(f"added {args.src} to dataset '{args.dataset}' (field '{args.label_field}')")
    _print_summary(summary)


def _evaluate(args: argparse.Namespace) -> None:
    from .fo.evaluation import evaluate

    dataset = _dataset(args.name)
    collection = dataset.load_saved_view(args.view) if args.view else dataset
    results = evaluate(
        collection, args.pred_field, args.gt_field, eval_key=args.eval_key, metric=args.method, iou=args.iou
    )
    print("\n".join(results.lines))
    if results.notes:
        _print_summary({"notes": results.notes})
    if args.eval_key:
        print(f"stored as evaluation '{args.eval_key}' of dataset '{args.name}'")


def _info(args: argparse.Namespace) -> None:
    from .fo.summary import pose_summary

    dataset = _dataset(args.name)
    _print_summary(pose_summary(dataset, args.label_field))


def _dataset(name: str):
    import fiftyone as fo

    if not fo.dataset_exists(name):
        raise ValueError(f"no dataset named '{name}' (fiftyone datasets list shows them)")
    return fo.load_dataset(name)


def _demo(args: argparse.Namespace) -> None:
    from .demo.run import run_demo

    run_demo(out_dir=args.out, launch_app=args.app)


def _plugin_help(args: argparse.Namespace) -> None:
    raise ValueError("give a plugin action: fiftyone-pose plugin install [--dir DIR]")


def _plugin_install(args: argparse.Namespace) -> None:
    from .plugin import OPERATORS, PLUGIN_NAME, install

    target = install(args.dir)
    print(f"installed the plugin {PLUGIN_NAME} into {target}")
    print(f"  operators: {', '.join(OPERATORS)}")
    if args.dir:
        print(f"  the App loads it with FIFTYONE_PLUGINS_DIR={target.parent}")


def _cleanup(args: argparse.Namespace) -> None:
    import fiftyone as fo

    from .fo.api import leftover_datasets

    names = leftover_datasets()
    if not names:
        print("no leftover datasets")
    for name in names:
        if args.delete:
            fo.delete_dataset(name)
            print(f"deleted {name}")
        else:
            print(name)


if __name__ == "__main__":
    sys.exit(main())
