"""The fiftyone-pose App plugin: operators that call the same functions as Python and the CLI.

- ``import_pose_dataset``: a pose file (format picker, auto-detect) into a new dataset, with progress;
- ``export_pose_view``: the dataset, current view or selection to a pose file (format picker);
- ``curate_poses``: one of the curation views of ``fiftyone_pose.fo.views`` from a form, set as the
  App's view (chained onto the current view, or on the whole dataset);
- ``pose_statistics``: the pose summary and per-joint visibility table of the current view;
- ``import_pose_predictions``: a COCO results list (model predictions) into a field of the dataset;
- ``evaluate_poses``: predictions against ground truth (the reference tools' numbers), stored as an
  evaluation run for the Model Evaluation panel, optionally showing one of its views.

``fiftyone-pose plugin install`` writes a small plugin folder into the FiftyOne plugins directory
whose ``__init__.py`` imports ``register`` from here (see ``install``). Imports are absolute so
FiftyOne can also load this folder itself as a plugin.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from importlib import resources
from pathlib import Path

import fiftyone.operators as foo
import fiftyone.operators.types as types

from fiftyone_pose import formats
from fiftyone_pose.core import skeleton
from fiftyone_pose.core.errors import PoseUsageError
from fiftyone_pose.fo import views as pose_views
from fiftyone_pose.fo.adapter import pose_fields

PLUGIN_NAME = "@fiftyone-pose/pose"
PLUGIN_FOLDER = "fiftyone-pose"
OPERATORS = ("import_pose_dataset", "export_pose_view", "curate_poses", "pose_statistics")
OPERATORS = OPERATORS + ("import_pose_predictions", "evaluate_poses")

# the curation form: label and parameters (name, kind, default, label) of each view
_FILTERS = {
    "persons_with_visible": (
        "Persons with N visible points (v=2)",
        [("min_count", "int", 8, "at least"), ("max_count", "int", None, "at most")],
    ),
    "persons_with_labeled": (
        "Persons with N labelled points (v>0)",
        [("min_count", "int", 1, "at least"), ("max_count", "int", None, "at most")],
    ),
    "persons_with_joint": (
        "Persons with a named joint ...",
        [
            ("names", "joint", None, "joint"),
            ("state", ["visible", "labeled", "occluded", "unlabeled"], "visible", "state"),
        ],
    ),
    "crowd": (
        "Crowd regions / individual persons",
        [("is_crowd", "bool", False, "crowd regions (off: individual persons)")],
    ),
    "persons_by_area": (
        "Persons by COCO box area",
        [("size", ["small", "medium", "large"], "medium", "size (small < 32², large >= 96²)")],
    ),
    "images_by_person_count": (
        "Images by number of persons",
        [
            ("min_count", "int", 2, "at least"),
            ("max_count", "int", None, "at most"),
            ("include_crowd", "bool", False, "count crowd regions"),
        ],
    ),
    "truncated": ("Truncated persons (points on the image border)", [("margin", "float", 1.0, "margin (pixels)")]),
    "outside_image": ("Points outside the image (errors)", [("tolerance", "float", 0.0, "tolerance (pixels)")]),
    "outside_box": ("Points outside the person's box (errors)", [("tolerance", "float", 1.0, "tolerance (pixels)")]),
    "duplicates": ("Duplicate persons (OKS above threshold)", [("threshold", "float", 0.9, "OKS threshold")]),
    "swaps": ("Suspected left/right swaps", [("ratio", "float", 0.9, "crossed / labelled limb length below")]),
    "images_without_persons": (
        "Images without labelled persons",
        [("labeled_only", "bool", True, "persons without labelled points do not count")],
    ),
}


def _field_input(ctx, inputs) -> str | None:
    fields = pose_fields(ctx.dataset) if ctx.dataset is not None else []
    if len(fields) > 1:
        inputs.enum("label_field", fields, default=fields[0], label="Keypoints field", view=types.DropdownView())
    return ctx.params.get("label_field") or (fields[0] if fields else None)


def _formats(writable: bool) -> list[str]:
    return sorted(n for n, m in formats.REGISTRY.items() if not writable or hasattr(m, "write"))


class ImportPoseDataset(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="import_pose_dataset",
            label="Import pose dataset",
            description="Import a pose annotation file (COCO keypoints, ...) into a new dataset",
            dynamic=True,
            execute_as_generator=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.str("path", label="Annotation file", description="path on the App server's machine", required=True)
        inputs.enum("format", ["auto"] + _formats(False), default="auto", label="Format", view=types.DropdownView())
        inputs.str("images_dir", label="Images folder", description="default: the file's folder")
        inputs.str("name", label="Dataset name", required=True)
        inputs.str("label_field", label="Keypoints field", default="ground_truth")
        inputs.bool("overwrite", default=False, label="Replace a dataset of that name")
        inputs.bool("open", default=True, label="Open the dataset when done")
        return types.Property(inputs, view=types.View(label="Import pose dataset"))

    def execute(self, ctx):
        p = ctx.params
        state = {"progress": 0.0, "label": "reading the file", "dataset": None, "error": None}

        def progress(pb):
            state["progress"], state["label"] = pb.progress or 0.0, f"importing images ({pb.iteration}/{pb.total})"
            if ctx.delegated:
                ctx.set_progress(progress=state["progress"], label=state["label"])

        def work():
            try:
                state["dataset"] = import_dataset(p, progress)
            except Exception as e:  # reported to the App below
                state["error"] = e

        if ctx.delegated:
            work()
        else:
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            while thread.is_alive():
                yield ctx.ops.set_progress(progress=state["progress"], label=state["label"])
                thread.join(0.25)
        if state["error"] is not None:
            raise state["error"]
        ds = state["dataset"]
        yield ctx.ops.set_progress(progress=1.0, label=f"imported {len(ds)} images into '{ds.name}'")
        if p.get("open", True) and not ctx.delegated:
            yield ctx.ops.open_dataset(ds.name)


def import_dataset(params: dict, progress=None):
    """The import operator's work: ``fiftyone_pose.load`` with the form's values (persistent)."""
    from fiftyone_pose.fo.api import load

    return load(
        params["path"],
        format=params.get("format") or "auto",
        images_dir=params.get("images_dir") or None,
        name=params["name"],
        label_field=params.get("label_field") or "ground_truth",
        overwrite=bool(params.get("overwrite")),
        persistent=True,
        progress=progress,
    )


class ExportPoseView(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="export_pose_view",
            label="Export pose view",
            description="Write the persons the current view shows to a pose file (COCO keypoints, ...)",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.view_target(ctx)
        inputs.str("path", label="Output file", description="path on the App server's machine", required=True)
        inputs.enum(
            "format",
            _formats(True),
            label="Format",
            description="default: the format the dataset was imported from (COCO with a layout)",
            view=types.DropdownView(),
        )
        inputs.enum(
            "layout",
            skeleton.available(),
            label="Keypoint layout",
            description=(
                "convert the persons to this layout by keypoint name first, e.g. coco: 17 points from COCO-WholeBody"
            ),
            view=types.DropdownView(),
        )
        _field_input(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Export pose view"))

    def execute(self, ctx):
        from fiftyone_pose.fo.api import export

        p = ctx.params
        data = export(
            ctx.target_view(), p["path"], p.get("format"), p.get("label_field"), progress=False, layout=p.get("layout")
        )
        return {"path": os.fspath(ctx.params["path"]), "images": len(data.images), "persons": len(data.persons)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("path", label="Written")
        outputs.int("images", label="Images")
        outputs.int("persons", label="Persons")
        return types.Property(outputs)


class CuratePoses(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="curate_poses",
            label="Curate poses",
            description=(
                "Filter persons by visibility, joints, crowd, size, border, annotation errors, duplicates, swaps"
            ),
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        choices = types.Dropdown(label="Filter")
        for name in pose_views.CURATION_VIEWS:  # a view without a form entry gets no parameters
            choices.add_choice(name, label=_FILTERS.get(name, (name, []))[0])
        inputs.enum("filter", choices.values(), default="persons_with_visible", label="Filter", view=choices)
        field = _field_input(ctx, inputs)
        name = ctx.params.get("filter") or "persons_with_visible"
        for param, kind, default, label in _FILTERS.get(name, ("", []))[1]:
            if kind == "int":
                inputs.int(param, default=default, label=label)
            elif kind == "float":
                inputs.float(param, default=default, label=label)
            elif kind == "bool":
                inputs.bool(param, default=default, label=label)
            elif kind == "joint":
                skeleton = ctx.dataset.get_skeleton(field) if ctx.dataset is not None and field else None
                joints = list(skeleton.labels) if skeleton is not None else []
                inputs.enum(
                    param,
                    joints,
                    default=joints[0] if joints else None,
                    required=True,
                    label=label,
                    view=types.DropdownView(),
                )
            else:
                inputs.enum(param, kind, default=default, label=label, view=types.DropdownView())
        inputs.bool("chain", default=True, label="Apply to the current view (off: to the whole dataset)")
        return types.Property(inputs, view=types.View(label="Curate poses"))

    def execute(self, ctx):
        base = ctx.view if ctx.params.get("chain", True) else ctx.dataset
        view = curate(base, ctx.params)
        ctx.ops.set_view(view)
        field = ctx.params.get("label_field") or pose_fields(base)[0]
        return {"images": len(view), "persons": view.count(f"{field}.keypoints")}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("images", label="Images shown")
        outputs.int("persons", label="Persons shown")
        return types.Property(outputs)


def curate(collection, params: dict):
    """The curation operator's work: the view named ``params["filter"]`` with the form's values."""
    name = params.get("filter") or "persons_with_visible"
    if name not in pose_views.CURATION_VIEWS:
        raise ValueError(f"unknown filter {name!r}; one of: {', '.join(pose_views.CURATION_VIEWS)}")
    kwargs = {}
    for param, _, default, _ in _FILTERS.get(name, ("", []))[1]:
        value = params.get(param, default)
        if value is not None:
            kwargs[param] = value
    return pose_views.CURATION_VIEWS[name](collection, label_field=params.get("label_field"), **kwargs)


class PoseStatistics(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="pose_statistics",
            label="Pose statistics",
            description="Persons, keypoints and per-joint visibility of the current view",
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _field_input(ctx, inputs)
        return types.Property(inputs)

    def execute(self, ctx):
        from fiftyone_pose.fo.stats import joint_table
        from fiftyone_pose.fo.summary import pose_summary

        summary = pose_summary(ctx.view, ctx.params.get("label_field"))
        table = joint_table(ctx.view, ctx.params.get("label_field"))
        joints = [
            {"joint": j, **{k: int(v) for k, v in row.items() if k in ("visible", "occluded", "unlabeled")}}
            for j, row in table.iterrows()
        ]
        return {"summary": {k: v for k, v in summary.items() if not isinstance(v, dict)}, "joints": joints}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.obj("summary", label="Summary", view=types.JSONView())
        table = types.TableView()
        for col in ("joint", "visible", "occluded", "unlabeled"):
            table.add_column(col, label=col)
        outputs.list("joints", types.Object(), label="Per joint", view=table)
        return types.Property(outputs)


class ImportPosePredictions(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="import_pose_predictions",
            label="Import pose predictions",
            description="Add a COCO results list (model predictions) to the dataset, matched by image id",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.str("path", label="Results file", description="path on the App server's machine", required=True)
        inputs.str("label_field", label="Predictions field", default="predictions")
        fields = pose_fields(ctx.dataset) if ctx.dataset is not None else []
        if len(fields) > 1:
            inputs.enum("gt_field", fields, default=fields[0], label="Layout of field", view=types.DropdownView())
        inputs.bool("overwrite", default=False, label="Replace a field of that name")
        return types.Property(inputs, view=types.View(label="Import pose predictions"))

    def execute(self, ctx):
        summary = import_predictions(ctx.dataset, ctx.params)
        ctx.ops.reload_dataset()
        return {k: v for k, v in summary.items() if not isinstance(v, dict)} | {"left_out": _left_out(summary)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        for key, label in (("field", "Field"), ("layout", "Layout"), ("left_out", "Left out")):
            outputs.str(key, label=label)
        outputs.int("predictions", label="Predictions")
        outputs.int("images", label="Images")
        return types.Property(outputs)


def import_predictions(dataset, params: dict) -> dict:
    """The predictions operator's work: ``load_predictions`` with the form's values."""
    from fiftyone_pose.fo.predictions import load_predictions

    return load_predictions(
        dataset,
        params["path"],
        label_field=params.get("label_field") or "predictions",
        gt_field=params.get("gt_field") or None,
        overwrite=bool(params.get("overwrite")),
        progress=False,
    )


def _left_out(summary: dict) -> str:
    return "; ".join(f"{n} {reason}" for reason, n in (summary.get("notes") or {}).items()) or "nothing"


class EvaluatePoses(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="evaluate_poses",
            label="Evaluate poses",
            description="Predictions against ground truth: COCO/CrowdPose/whole-body OKS AP, PCKh or PCK, per person",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        from fiftyone_pose.fo.evaluation_views import EVALUATION_VIEWS

        inputs = types.Object()
        fields = pose_fields(ctx.dataset) if ctx.dataset is not None else []
        inputs.enum("gt_field", fields, default=fields[0] if fields else None, label="Ground truth",
                    view=types.DropdownView(), required=True)  # fmt: skip
        inputs.enum("pred_field", fields, default=fields[1] if len(fields) > 1 else None, label="Predictions",
                    view=types.DropdownView(), required=True)  # fmt: skip
        inputs.str("eval_key", label="Evaluation key", default="eval", required=True)
        inputs.enum("method", ["auto", "oks", "pckh", "pck"], default="auto", label="Metric", view=types.DropdownView())
        inputs.enum("show", ["nothing", *EVALUATION_VIEWS], default="worst_images", label="Then show",
                    view=types.DropdownView())  # fmt: skip
        inputs.bool("chain", default=False, label="Evaluate the current view (off: the whole dataset)")
        return types.Property(inputs, view=types.View(label="Evaluate poses"))

    def execute(self, ctx):
        base = ctx.view if ctx.params.get("chain") else ctx.dataset
        results, view = evaluate_collection(base, ctx.params)
        if view is not None:
            ctx.ops.set_view(view)
        return {"report": "\n".join(results.lines), "notes": _left_out({"notes": results.notes})}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("report", label="Summary", view=types.CodeView(language="text"))
        outputs.str("notes", label="Left out")
        return types.Property(outputs)


def evaluate_collection(collection, params: dict):
    """The evaluation operator's work: ``fiftyone_pose.evaluate`` with the form's values, and the
    evaluation view chosen to show (None for "nothing")."""
    from fiftyone_pose.fo.evaluation import evaluate
    from fiftyone_pose.fo.evaluation_views import EVALUATION_VIEWS

    method = params.get("method") or "auto"
    eval_key = params.get("eval_key") or "eval"
    results = evaluate(
        collection,
        params["pred_field"],
        params.get("gt_field"),
        eval_key=eval_key,
        metric=None if method == "auto" else method,
        progress=False,
    )
    show = params.get("show") or "nothing"
    if show == "nothing":
        return results, None
    if show not in EVALUATION_VIEWS:
        raise PoseUsageError(f"unknown view {show!r}; one of: nothing, {', '.join(EVALUATION_VIEWS)}")
    if show == "persons_with_worst_joint":  # the joint given, else the one most often the worst
        counts = collection.count_values(f"{params['pred_field']}.keypoints.{eval_key}_worst")
        counts.pop(None, None)
        joint = params.get("joint") or (max(counts, key=counts.get) if counts else None)
        if joint is None:
            return results, None
        return results, EVALUATION_VIEWS[show](collection, eval_key, joint)
    return results, EVALUATION_VIEWS[show](collection, eval_key)


def register(p):
    for cls in (ImportPoseDataset, ExportPoseView, CuratePoses, PoseStatistics):
        p.register(cls)
    for cls in (ImportPosePredictions, EvaluatePoses):
        p.register(cls)


# ---------------------------------------------------------------------------------------- install

_SHIM = '''"""fiftyone-pose App plugin, installed by `fiftyone-pose plugin install`.

The operators live in the installed fiftyone_pose package; this folder only points FiftyOne at them.
"""

from fiftyone_pose.plugin import register  # noqa: F401
'''


def plugins_dir() -> Path:
    """The user's FiftyOne plugins directory (``FIFTYONE_PLUGINS_DIR`` or ``fo.config.plugins_dir``)."""
    import fiftyone as fo

    directory = os.environ.get("FIFTYONE_PLUGINS_DIR") or fo.config.plugins_dir
    if not directory:
        raise ValueError("FiftyOne has no plugins directory; set FIFTYONE_PLUGINS_DIR or pass --dir")
    return Path(directory).expanduser()


def install(directory: str | os.PathLike | None = None) -> Path:
    """Write the plugin folder (``fiftyone.yml`` + a two-line ``__init__.py``) into ``directory``
    (default: the FiftyOne plugins directory); replaces an earlier install. Returns the folder."""
    root = Path(directory).expanduser() if directory else plugins_dir()
    target = root / PLUGIN_FOLDER
    tmp = root / f".{PLUGIN_FOLDER}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir(parents=True)
    try:
        yml = resources.files(__name__).joinpath("fiftyone.yml").read_text()
        (tmp / "fiftyone.yml").write_text(yml)
        (tmp / "__init__.py").write_text(_SHIM)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
