"""``fiftyone-pose``: the command line. Argument parsing only; the work is in the same functions
that Python users and the App plugin call.

Exit codes: 0 success, 2 bad input or usage (one line naming file, record and field), 130 Ctrl-C,
141 when the reader of the output went away (``| head``), as for Unix tools killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import formats
from .core.errors import CHOOSE, Option, PoseError, PoseFormatError, PoseUsageError, Spelling
from .formats import coco_results, worker
from .formats.h36m import convert_camera_pickle, read_cameras

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE

#: the example each command's --help ends with
_EXAMPLES = {
    "formats": "fiftyone-pose formats",
    "convert": "fiftyone-pose convert coco_wholebody_val_v1.0.json body17.json --to coco --layout coco",
    "import": "fiftyone-pose import person_keypoints_val2017.json --name coco-val --images-dir val2017/",
    "export": "fiftyone-pose export coco-val out.json --view clean --overwrite",
    "info": "fiftyone-pose info coco-val",
    "demo": "fiftyone-pose demo --app --port 5152",
    "cleanup": "fiftyone-pose cleanup --delete",
    "plugin": "fiftyone-pose plugin install",
    "curate": "fiftyone-pose curate coco-val persons_with_visible --min-count 8 --save-view clean\n"
    "  fiftyone-pose curate coco-val                 # lists the views and their options",
    "datasets": "fiftyone-pose datasets",
    "merge": "fiftyone-pose merge body8 coco-train aic-train crowdpose-train mpii-train --layout coco",
    "layouts": "fiftyone-pose layouts",
    "h36m-cameras": "fiftyone-pose h36m-cameras cameras.pkl cameras.json",
    "import-predictions": "fiftyone-pose import-predictions results.json --dataset coco-val --label-field predictions",
    "evaluate": "fiftyone-pose evaluate coco-val --pred-field predictions --eval-key oks",
}


class _Parser(argparse.ArgumentParser):
    """argparse's parser that records each option's flag by the keyword it sets (``images_dir``:
    ``--images-dir``; ``keyword=`` when it differs from ``dest``), so an error can name the
    flag the user must type instead of the Python keyword."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: dict[str, str] = {}
        super().__init__(*args, **kwargs)

    def add_argument(self, *names: str, keyword: str | None = None, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*names, **kwargs)
        if action.option_strings:
            self.flags[keyword or action.dest] = action.option_strings[-1]
        return action


def _flag_spelling(flags: dict[str, str]) -> Spelling:
    """Names an option as the flag of the command at hand (Python's spelling when it has none)."""

    def spell(option: Option) -> str | None:
        flag = flags.get(option.name)
        if flag is None:
            return None
        if option.value is CHOOSE:
            return f"pass {flag} {option.name.upper()}"
        return f"pass {flag}" if option.value is True else f"pass {flag} {option.value}"

    return spell


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, where it can still be handled
    except BrokenPipeError:
        # the reader went away (`| head -1`): not an error; stop quietly, as Unix tools do, and
        # keep the interpreter's own flush at exit from failing again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USER_ERROR
    _quiet_fiftyone()
    try:
        args.run(args)
    except PoseError as e:
        print(f"fiftyone-pose: error: {e.render(_flag_spelling(args.flags))}", file=sys.stderr)
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
    p = _Parser(
        prog="fiftyone-pose",
        description="Import, curate and export human-pose datasets with FiftyOne, losslessly.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {importlib.metadata.version('fiftyone-pose')}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], None], help: str) -> argparse.ArgumentParser:
        c = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=f"example:\n  {_EXAMPLES[name]}" if name in _EXAMPLES else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        c.set_defaults(run=run, flags=c.flags)
        return c

    command("formats", _formats, "list every format the tool reads and writes, with its file flavors")

    c = command("convert", _convert, "convert a pose file to another format (no database involved)")
    c.add_argument("src", help="input file")
    c.add_argument("dst", help="output file (written atomically)")
    c.add_argument(
        "--from", dest="src_format", keyword="format", default="auto", help="input format (default: auto-detect)"
    )
    c.add_argument("--to", dest="dst_format", default="coco", help="output format (default: coco)")
    c.add_argument(
        "--layout",
        help="keypoint layout to convert to first, e.g. coco, halpe26, coco_wholebody (fiftyone-pose layouts: which)",
    )
    c.add_argument(
        "--images-dir",
        help="--to yolo: folder the input's image names are relative to (default: the input file's folder)",
    )
    _media_options(c)
    _parallel_option(c)

    c = command("import", _import, "import a pose file into a persistent FiftyOne dataset")
    c.add_argument("src", help="annotation file")
    c.add_argument("--format", default="auto", help="input format (default: auto-detect)")
    c.add_argument("--name", required=True, help="name of the FiftyOne dataset to create")
    c.add_argument("--images-dir", help="folder the file names are relative to (default: the file's folder)")
    c.add_argument("--label-field", default="ground_truth", help="keypoints field (default: ground_truth)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that name")
    c.add_argument(
        "--require-images",
        action="store_true",
        help="refuse the import when an image file is not found (default: import it and warn)",
    )
    c.add_argument(
        "--grouped", action="store_true", help="Human3.6M: one group per frame (a slice per camera, and a 3d slice)"
    )
    c.add_argument("--cameras", help="Human3.6M: camera parameters (JSON) to project the 3D points into each view")
    c.add_argument("--scenes-dir", help="Human3.6M --grouped: folder for the 3D scenes (default: FiftyOne's)")
    _parallel_option(c)

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
        help="keypoint layout to convert to first, e.g. coco, halpe26, coco_wholebody (fiftyone-pose layouts: which)",
    )
    c.add_argument("--overwrite", action="store_true", help="replace an existing file")
    _media_options(c)

    c = command(
        "merge", _merge, "merge datasets (or saved views) into one new dataset in one keypoint layout, e.g. Body8"
    )
    c.add_argument("name", help="name of the new dataset")
    c.add_argument("sources", nargs="+", help="datasets to merge, or DATASET:SAVED_VIEW")
    c.add_argument("--layout", default="coco", help="keypoint layout of the merged persons (default: coco)")
    c.add_argument(
        "--label-field",
        help="keypoints field read from each source and written (default: each one's first; ground_truth)",
    )
    c.add_argument(
        "--duplicates",
        choices=("all", "first"),
        default="all",
        help="an image two sources share (same file): keep it once per source (all, default) or only the first's",
    )
    c.add_argument("--overwrite", action="store_true", help="replace an existing dataset of that name")

    command("layouts", _layouts, "list the keypoint layouts and the layouts each one converts to")

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
    c.add_argument("--port", type=int, help="with --app: the App's port (default: FiftyOne's, 5151)")
    c.add_argument("--remote", action="store_true", help="with --app: serve the App without opening a browser here")

    c = command(
        "h36m-cameras", _h36m_cameras, "convert mmpose's Human3.6M cameras.pkl to JSON without running code from it"
    )
    c.add_argument("src", help="cameras.pkl")
    c.add_argument("dst", help="output JSON file (written atomically)")

    c = command("cleanup", _cleanup, "list (and with --delete remove) datasets left by killed imports")
    c.add_argument("--delete", action="store_true", help="delete them")

    c = command("plugin", _plugin_help, "the FiftyOne App plugin (operators: import, export, curate, statistics)")
    plugin = c.add_subparsers(title="plugin commands", metavar="ACTION")
    c = plugin.add_parser(
        "install",
        help="install the plugin into your FiftyOne plugins directory",
        description="install the plugin into your FiftyOne plugins directory "
        "(FIFTYONE_PLUGINS_DIR or fo.config.plugins_dir); reinstalling replaces it",
        epilog="example:\n  fiftyone-pose plugin install --dir ~/fiftyone/__plugins__",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--dir", keyword="directory", help="plugins directory to install into (default: FiftyOne's)")
    c.set_defaults(run=_plugin_install, flags=c.flags)
    c = plugin.add_parser(
        "list",
        help="say where the plugin is installed and list its operators",
        description="say whether the plugin is installed in your FiftyOne plugins directory, and its operators",
        epilog="example:\n  fiftyone-pose plugin list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--dir", keyword="directory", help="plugins directory to look in (default: FiftyOne's)")
    c.set_defaults(run=_plugin_list, flags=c.flags)
    c = plugin.add_parser(
        "uninstall",
        help="remove the plugin from your FiftyOne plugins directory",
        description="remove the plugin folder that `plugin install` wrote (nothing else)",
        epilog="example:\n  fiftyone-pose plugin uninstall",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--dir", keyword="directory", help="plugins directory to remove it from (default: FiftyOne's)")
    c.set_defaults(run=_plugin_uninstall, flags=c.flags)

    c = command("curate", _curate, "apply a curation view to a dataset; save it as a view that export --view writes")
    c.add_argument("name", help="dataset name")
    c.add_argument("view", nargs="?", help="the view, e.g. persons_with_visible (without it: list the views)")
    c.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        metavar="...",
        help="the view's options, --label-field F, --view SAVED_VIEW to start from, --save-view NAME, "
        "--overwrite (fiftyone-pose curate NAME VIEW --help lists them)",
    )

    command("datasets", _datasets, "list the pose datasets: keypoints fields, formats, skeletons and counts")
    return p


def _parallel_option(c: argparse.ArgumentParser) -> None:
    """Whether the input file is parsed in a second process (``formats.read_stream``)."""
    c.add_argument(
        "--parallel",
        action=argparse.BooleanOptionalAction,
        help="parse the input in a second process while this one works on what it gives (default: for JSON "
        f"files of {worker.PARALLEL_BYTES >> 20} MB or more when a second CPU is there; the two processes "
        "together measured at most ~40 MB more than one)",
    )


def _media_options(c: argparse.ArgumentParser) -> None:
    """Options of formats that write a folder of images and labels (yolo)."""
    from .formats import yolo

    c.add_argument(
        "--export-media",
        choices=yolo.MEDIA_MODES,
        help=f"yolo: how images get into DST/images/<split>/ (default: {yolo.DEFAULT_MEDIA}, "
        "a dataset that trains as is without copying the images; none: labels and yaml only)",
    )
    c.add_argument(
        "--split-tags",
        help="yolo: comma-separated sample tags that name splits (default: train,val,test); "
        "without tagged images all go to one split 'train'",
    )
    c.add_argument("--split", help="yolo: put every image in this split (ignores tags)")


def _media_write_options(args: argparse.Namespace) -> dict[str, Any]:
    """The yolo options given on the command line (``formats.write`` refuses them for other formats)."""
    given = {
        "export_media": args.export_media,
        "split_tags": args.split_tags.split(",") if args.split_tags else None,
        "split": args.split,
    }
    return {key: value for key, value in given.items() if value is not None}


def _print_summary(summary: dict[str, Any], indent: str = "  ") -> None:
    for key, value in summary.items():
        print(f"{indent}{key.replace('_', ' ')}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")


def _resolve_format(path: str, name: str) -> str:
    if name != "auto":
        formats.get(name)
        return name
    chosen = formats.detect(path)
    print(f"format: {chosen} (detected from the file's content)")
    return chosen


def _formats(args: argparse.Namespace) -> None:
    for name, module in sorted(formats.REGISTRY.items()):
        print(f"{name} (read, write)")
        for flavor, text in module.FLAVORS.items():
            print(f"  {flavor}: {text}")
        for verb, options in (("read", module.READ_OPTIONS), ("write", module.WRITE_OPTIONS)):
            for option in options:
                print(f"  {verb} option {option.name}: {option.help}")
        print(f"  {module.STREAMING}")
    print(f"every format: write option {formats.LAYOUT.name}: {formats.LAYOUT.help}")


def _convert(args: argparse.Namespace) -> None:
    src_format = _resolve_format(args.src, args.src_format)
    options = _media_write_options(args)
    if args.images_dir or formats.places_media(args.dst_format):
        options["images_dir"] = args.images_dir or formats.images_dir(args.src, src_format)
    args.flags = {**args.flags, "format": "--to"}  # from here on, format= means the output's
    written = formats.convert(
        args.src, args.dst, src_format, args.dst_format, layout=args.layout, parallel=args.parallel, **options
    )
    print(f"wrote {args.dst} ({args.dst_format})")
    _print_summary(written.summary())


def _import(args: argparse.Namespace) -> None:
    h36m = args.grouped or args.cameras is not None
    cameras = read_cameras(args.cameras) if args.cameras is not None else None  # before the big file
    from .fo.api import check_images_dir, create_dataset, missing_images_warning, read_for_import

    check_images_dir(args.images_dir)
    src_format = _resolve_format(args.src, args.format)
    if formats.is_predictions(src_format):  # said before FiftyOne starts
        raise formats.get(src_format).not_a_dataset(args.src)
    fo = _fiftyone()

    data, images_dir = read_for_import(
        args.src, src_format, args.images_dir, args.require_images, whole=h36m, parallel=args.parallel
    )
    replaced = args.overwrite and fo.dataset_exists(args.name)
    try:
        if h36m:
            from .fo.h36m import create_h36m_dataset

            dataset = create_h36m_dataset(
                data, images_dir, args.name, args.label_field, overwrite=args.overwrite, persistent=True,
                grouped=args.grouped, cameras=cameras, scenes_dir=args.scenes_dir,
            )  # fmt: skip
        elif args.scenes_dir is not None:
            raise PoseUsageError("--scenes-dir is where --grouped writes the 3D scenes")
        else:
            dataset = create_dataset(
                data, images_dir, args.name, args.label_field, overwrite=args.overwrite, persistent=True
            )
    except PoseFormatError as e:  # e.g. an image without a size whose file cannot be read
        raise e.with_path(args.src) from None
    print(f"imported {args.src} into dataset '{dataset.name}' (field '{args.label_field}')")
    if replaced:
        print(f"  replaced the dataset '{args.name}' that existed")
    _print_summary(data.summary())
    if warning := missing_images_warning(data):
        print(f"fiftyone-pose: warning: {warning}; pass --require-images to refuse the import", file=sys.stderr)
    if h36m:
        shown = {k: v for k, v in dataset.info["h36m"].items() if k not in ("cameras", "camera_convention", "notes")}
        _print_summary(shown)  # the notes are in the summary above


def _h36m_cameras(args: argparse.Namespace) -> None:
    cameras = convert_camera_pickle(args.src, args.dst)
    print(f"wrote {args.dst}: {len(cameras)} cameras ({len({s for s, _ in cameras})} subjects), mmpose's JSON form")


def _export(args: argparse.Namespace) -> None:
    from .fo.api import export

    dataset = _dataset(args.name)
    collection = _saved_view(dataset, args.view)
    replaced = args.overwrite and os.path.lexists(args.dst)
    data = export(
        collection,
        args.dst,
        args.format,
        args.label_field,
        layout=args.layout,
        overwrite=args.overwrite,
        **_media_write_options(args),
    )
    what = f"view '{args.view}' of '{args.name}'" if args.view else f"dataset '{args.name}'"
    print(f"wrote {args.dst} ({data.format}) from {what}")
    if replaced:
        print(f"  replaced the file {args.dst} that existed")
    _print_summary(data.summary())


def _merge(args: argparse.Namespace) -> None:
    from .fo.adapter import INFO_KEY
    from .fo.merge import merge

    _fiftyone()
    dataset = merge(
        args.sources,
        args.name,
        layout=args.layout,
        label_field=args.label_field,
        duplicates=args.duplicates,
        overwrite=args.overwrite,
        persistent=True,
    )
    field = args.label_field or "ground_truth"
    info = dataset.info[INFO_KEY][field]
    print(f"merged {len(args.sources)} sources into dataset '{dataset.name}' (layout {args.layout}, field '{field}')")
    print(f"  file names relative to: {info['images_root']}")
    for source in info["merged_from"]:
        print(f"  {source['name']}:")
        _print_summary({k: v for k, v in source.items() if k != "name" and v not in (None, 0, {}, [])}, indent="    ")


def _layouts(args: argparse.Namespace) -> None:
    from .core import mappings, skeleton

    for name in skeleton.available():
        layout = skeleton.load(name)
        others = [t for t in mappings.targets(layout) if t != name]
        print(f"{name} ({layout.num_keypoints} points) -> {', '.join(others) or 'no other layout'}")


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
    collection = _saved_view(dataset, args.view)
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


def _fiftyone():
    """FiftyOne, connected to its database: a server that cannot be reached (a wrong
    ``FIFTYONE_DATABASE_URI``, a stopped ``mongod``) is said in one line, not as a bug."""
    import fiftyone as fo
    import pymongo

    try:
        fo.core.odm.get_db_conn().command("ping")
    except (ConnectionError, pymongo.errors.ServerSelectionTimeoutError) as e:
        reason = str(e).split(" (configured timeouts")[0]
        raise PoseUsageError(
            f"cannot reach FiftyOne's database server (mongod): {reason}; check FIFTYONE_DATABASE_URI"
        ) from None
    return fo


def _dataset(name: str):
    fo = _fiftyone()

    if not fo.dataset_exists(name):
        raise PoseUsageError(f"no dataset named '{name}' (fiftyone-pose datasets lists them)")
    return fo.load_dataset(name)


def _saved_view(dataset, name: str | None):
    """The dataset's saved view ``name`` (None: the dataset)."""
    if name is None:
        return dataset
    if not dataset.has_saved_view(name):
        saved = ", ".join(dataset.list_saved_views()) or "none"
        raise PoseUsageError(f"dataset '{dataset.name}' has no saved view '{name}'; saved views: {saved}")
    return dataset.load_saved_view(name)


def _demo(args: argparse.Namespace) -> None:
    from .demo.run import run_demo

    if (args.port is not None or args.remote) and not args.app:
        raise PoseUsageError("--port and --remote apply to the App: add --app")
    _fiftyone()
    run_demo(out_dir=args.out, launch_app=args.app, port=args.port, remote=args.remote)


def _plugin_help(args: argparse.Namespace) -> None:
    raise PoseUsageError("give a plugin action: fiftyone-pose plugin install|list|uninstall [--dir DIR]")


def _plugin_install(args: argparse.Namespace) -> None:
    from .plugin import OPERATORS, PLUGIN_NAME, install

    target = install(args.dir)
    print(f"installed the plugin {PLUGIN_NAME} into {target}")
    print(f"  operators: {', '.join(OPERATORS)}")
    if args.dir:
        print(f"  the App loads it with FIFTYONE_PLUGINS_DIR={target.parent}")


def _plugin_list(args: argparse.Namespace) -> None:
    from .plugin import OPERATORS, PLUGIN_NAME, installed, plugins_dir

    target = installed(args.dir)
    if target is None:
        print(f"the plugin {PLUGIN_NAME} is not installed in {args.dir or plugins_dir()}")
        print("  fiftyone-pose plugin install installs it")
        return
    print(f"{PLUGIN_NAME}: installed in {target}")
    print(f"  operators: {', '.join(OPERATORS)}")


def _plugin_uninstall(args: argparse.Namespace) -> None:
    from .plugin import PLUGIN_NAME, uninstall

    print(f"removed the plugin {PLUGIN_NAME} from {uninstall(args.dir)}")


def _curate(args: argparse.Namespace) -> None:
    from .fo import views
    from .fo.adapter import resolve_label_field

    dataset = _dataset(args.name)
    if args.view is None:
        for name in views.CURATION_VIEWS:
            options = " ".join(f"--{p.name.replace('_', '-')}" for p in views.view_parameters(name))
            print(f"{name}: {views.view_summary(name)}" + (f"\n  options: {options}" if options else ""))
        return
    view_parser = _view_parser(args.name, args.view)
    options = vars(view_parser.parse_args(args.options))
    args.flags = view_parser.flags
    from_view, label_field = options.pop("from_view"), options.pop("label_field")
    save_as, overwrite = options.pop("save_view"), options.pop("overwrite")
    base = _saved_view(dataset, from_view)
    if save_as and dataset.has_saved_view(save_as) and not overwrite:
        raise PoseUsageError(f"the dataset has a saved view '{save_as}'; ", Option("overwrite", True), " to replace it")
    view = views.apply_view(base, args.view, label_field, **options)
    field = resolve_label_field(view, label_field)
    print(f"{args.view}: {view.count(f'{field}.keypoints')} persons on {len(view)} images of '{args.name}'")
    if save_as:
        dataset.save_view(save_as, view, overwrite=overwrite)
        print(f"  saved as the view '{save_as}': fiftyone-pose export {args.name} OUT --view {save_as} writes it")


def _view_parser(dataset: str, name: str) -> _Parser:
    """The options of the view ``name``, from its signature and docstring (``view_parameters``)."""
    from .fo import views

    c = _Parser(
        prog=f"fiftyone-pose curate {dataset} {name}",
        description=views.view_description(name),
        epilog=f"example:\n  {_EXAMPLES['curate'].splitlines()[0]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for p in views.view_parameters(name):
        kwargs: dict[str, Any] = {"help": p.help, "dest": p.name, "required": p.required}
        if p.type is bool:
            kwargs.update(action=argparse.BooleanOptionalAction, default=p.default)
        else:
            kwargs.update(type=p.type, default=p.default, nargs="+" if p.many else None, choices=p.choices)
        c.add_argument(f"--{p.name.replace('_', '-')}", **kwargs)
    c.add_argument("--label-field", help="keypoints field (default: the one imported first)")
    c.add_argument("--view", dest="from_view", help="apply the view to this saved view (default: the whole dataset)")
    c.add_argument("--save-view", help="save the result as a view of the dataset under this name")
    c.add_argument("--overwrite", action="store_true", help="replace a saved view of that name")
    return c


def _datasets(args: argparse.Namespace) -> None:
    fo = _fiftyone()

    from .fo.adapter import pose_fields
    from .fo.api import TEMP_PREFIX
    from .fo.summary import pose_summary

    others = 0
    for name in fo.list_datasets():
        if name.startswith(TEMP_PREFIX):
            continue
        dataset = fo.load_dataset(name)
        fields = pose_fields(dataset)
        others += not fields
        for field in fields:
            s = pose_summary(dataset, field)
            print(
                f"{name}: {field}: {s['format']}, skeleton {s['skeleton']}, {s['images']} images, "
                f"{s['persons']} persons, {s['crowd_regions']} crowd regions"
            )
    if others:
        print(f"({others} other datasets have no keypoints field)")


def _cleanup(args: argparse.Namespace) -> None:
    fo = _fiftyone()

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
