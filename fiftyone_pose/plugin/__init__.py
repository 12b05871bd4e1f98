"""The fiftyone-pose App plugin: operators that call the same functions as Python and the CLI.

- ``import_pose_dataset``: a pose file (format picker, auto-detect) into a new dataset, with progress;
- ``export_pose_view``: the dataset, current view or selection to a pose file (format picker);
- ``curate_poses``: one of the curation views of ``fiftyone_pose.fo.views`` from a form, set as the
  App's view (chained onto the current view, or on the whole dataset);
- ``pose_statistics``: the pose summary and per-joint visibility table of the current view;
- ``import_pose_predictions``: a COCO results list (model predictions) into a field of the dataset;
- ``evaluate_poses``: predictions against ground truth (the reference tools' numbers), stored as an
  evaluation run for the Model Evaluation panel, optionally showing one of its views.

A user error (``PoseError``) shows in the App as the line the CLI prints, with the options it
suggests named as the form's fields; the import, which streams its progress, sends the error in
its stream, so the dialog shows it instead of waiting.

``fiftyone-pose plugin install`` writes a small plugin folder into the FiftyOne plugins directory
whose ``__init__.py`` imports ``register`` from here (see ``install``). Imports are absolute so
FiftyOne can also load this folder itself as a plugin.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import traceback
from importlib import resources
from pathlib import Path

import fiftyone.operators as foo
import fiftyone.operators.types as types
from fiftyone.operators.executor import ExecutionResult
from fiftyone.operators.message import GeneratedMessage, MessageType

from fiftyone_pose import formats
from fiftyone_pose.core import mappings, skeleton
from fiftyone_pose.core.errors import CHOOSE, Option, PoseError, PoseUsageError, Spelling
from fiftyone_pose.fo import views as pose_views
from fiftyone_pose.fo.adapter import INFO_KEY, pose_fields
from fiftyone_pose.formats import yolo

PLUGIN_NAME = "@fiftyone-pose/pose"
PLUGIN_FOLDER = "fiftyone-pose"
OPERATORS = ("import_pose_dataset", "export_pose_view", "curate_poses", "pose_statistics")
OPERATORS = OPERATORS + ("import_pose_predictions", "evaluate_poses")


def _field_input(ctx, inputs) -> str | None:
    fields = pose_fields(ctx.dataset) if ctx.dataset is not None else []
    if len(fields) > 1:
        inputs.enum("label_field", fields, default=fields[0], label="Keypoints field", view=types.DropdownView())
    return ctx.params.get("label_field") or (fields[0] if fields else None)


def _layouts(ctx, field: str | None) -> list[str]:
    """The layouts the field's skeleton converts to (every layout when the field has no recorded skeleton)."""
    recorded = ctx.dataset.info.get(INFO_KEY, {}).get(field, {}).get("skeleton") if ctx.dataset and field else None
    return mappings.targets(skeleton.Skeleton.from_dict(recorded)) if recorded else skeleton.available()


def _formats(importing: bool) -> list[str]:
    """The formats an import reads (not model predictions, which are added to a dataset) or an export writes."""
    return sorted(n for n in formats.REGISTRY if not (importing and formats.is_predictions(n)))


class OperatorError(Exception):
    """A user error as the App shows it: the CLI's line, options named as the form's fields."""


def form_spelling(inputs: types.Object) -> Spelling:
    """Names an option as the form field the user fills in (the CLI names its flag)."""

    def spell(option: Option) -> str | None:
        field = inputs.properties.get(option.name)
        if field is None:
            return None
        label = field.view.label or option.name
        if option.value is CHOOSE:
            return f"choose '{label}'"
        return f"tick '{label}'" if option.value is True else f"set '{label}' to {option.value}"

    return spell


class _PoseOperator(foo.Operator):
    def error_line(self, ctx, error: PoseError) -> str:
        """``error`` as the CLI prints it, its options named as this operator's form fields."""
        return error.render(form_spelling(self.resolve_input(ctx).type))


class _Failure(GeneratedMessage):
    """A generator operator's failure, sent in its stream as FiftyOne sends an operator's failure
    before streaming (an ``ExecutionResult`` with ``error``): the App's dialog shows ``error``.
    An exception instead would end the stream, and the dialog would wait forever."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(MessageType.ERROR, ExecutionResult, ExecutionResult(error=error, error_message=message))

    def to_json(self) -> dict:
        return self.body.to_json()


class ImportPoseDataset(_PoseOperator):
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
        inputs.enum(
            "format", ["auto"] + _formats(importing=True), default="auto", label="Format", view=types.DropdownView()
        )
        inputs.str("images_dir", label="Images folder", description="default: the file's folder")
        inputs.str("name", label="Dataset name", required=True)
        inputs.str("label_field", label="Keypoints field", default="ground_truth")
        inputs.bool("overwrite", default=False, label="Replace a dataset of that name")
        inputs.bool("require_images", default=False, label="Refuse the import when an image file is not found")
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

        if ctx.delegated:  # the orchestrator records a failure from the exception
            work()
            if state["error"] is not None:
                raise state["error"]
        else:
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            while thread.is_alive():
                yield ctx.ops.set_progress(progress=state["progress"], label=state["label"])
                thread.join(0.25)
        error = state["error"]
        if error is not None:
            if isinstance(error, PoseError):
                line = details = self.error_line(ctx, error)
            else:  # a bug: its traceback, so it gets reported
                line, details = str(error) or type(error).__name__, "".join(traceback.format_exception(error))
            yield ctx.ops.set_progress(progress=state["progress"], label=line)  # the dialog's line
            yield ctx.ops.notify(line, variant="error")
            yield _Failure(details, line)
            return
        ds = state["dataset"]
        yield ctx.ops.set_progress(progress=1.0, label=f"imported {len(ds)} images into '{ds.name}'")
        if p.get("open", True) and not ctx.delegated:
            if ctx.current_sample:  # the modal shows a sample of the dataset being left
                yield ctx.ops.close_sample()
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
        require_images=bool(params.get("require_images")),
    )


class ExportPoseView(_PoseOperator):
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
        folder = ctx.params.get("format") == yolo.NAME  # a YOLO dataset is a folder of images and labels
        label = "Output folder" if folder else "Output file"
        inputs.str("path", label=label, description="path on the App server's machine", required=True)
        inputs.enum(
            "format",
            _formats(importing=False),
            label="Format",
            description="default: the format the dataset was imported from (COCO with a layout)",
            view=types.DropdownView(),
        )
        field = _field_input(ctx, inputs)
        inputs.enum(
            "layout",
            _layouts(ctx, field),
            label="Keypoint layout",
            description=(
                "convert the persons to this layout first, as its mapping says (e.g. MPII onto COCO or Halpe-26); "
                "the list holds the layouts this field's skeleton converts to"
            ),
            view=types.DropdownView(),
        )
        if ctx.params.get("format") == yolo.NAME:
            inputs.enum(
                "export_media",
                list(yolo.MEDIA_MODES),
                default=yolo.DEFAULT_MEDIA,
                label="Images",
                description="how the images get into <path>/images/<split>/ (symlink: trains as is, copies nothing)",
                view=types.DropdownView(),
            )
            inputs.str(
                "split_tags",
                label="Split tags",
                description="comma-separated sample tags that name splits (default: train,val,test); "
                "untagged: one split 'train'",
            )
        inputs.bool("overwrite", default=False, label="Replace an existing file")
        return types.Property(inputs, view=types.View(label="Export pose view"))

    def execute(self, ctx):
        from fiftyone_pose.fo.api import export

        p = ctx.params
        options = {}
        if p.get("format") == yolo.NAME:
            options["export_media"] = p.get("export_media") or yolo.DEFAULT_MEDIA
            if p.get("split_tags"):
                options["split_tags"] = [t.strip() for t in p["split_tags"].split(",") if t.strip()]
        try:
            data = export(
                ctx.target_view(),
                p["path"],
                p.get("format"),
                p.get("label_field"),
                progress=False,
                overwrite=bool(p.get("overwrite")),
                layout=p.get("layout"),
                **options,
            )
        except PoseError as e:
            raise OperatorError(self.error_line(ctx, e)) from None
        counts = data.summary()  # persons, and crowd regions apart
        persons = counts["persons"] + counts["crowd_regions"]
        return {"path": os.fspath(ctx.params["path"]), "images": len(data.images), "persons": persons}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("path", label="Written")
        outputs.int("images", label="Images")
        outputs.int("persons", label="Persons")
        return types.Property(outputs)


class CuratePoses(_PoseOperator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="curate_poses",
            label="Curate poses",
            description=(
                "Filter persons by visibility, joints, crowd, size, border, annotation errors, duplicates, swaps, "
                "body parts, crowd index, occlusion, scene"
            ),
            dynamic=True,
        )

    def resolve_input(self, ctx):
        """The form: a view of ``fiftyone_pose.fo.views`` and its options, as its signature and
        docstring declare them (``view_parameters``)."""
        inputs = types.Object()
        choices = types.Dropdown(label="Filter")
        for name in pose_views.CURATION_VIEWS:
            choices.add_choice(name, label=pose_views.view_summary(name))
        inputs.enum("filter", choices.values(), default="persons_with_visible", label="Filter", view=choices)
        field = _field_input(ctx, inputs)
        name = ctx.params.get("filter") or "persons_with_visible"
        if name in pose_views.CURATION_VIEWS:
            for param in pose_views.view_parameters(name):
                _option_input(inputs, param, ctx.dataset, field)
        inputs.bool("chain", default=True, label="Apply to the current view (off: to the whole dataset)")
        return types.Property(inputs, view=types.View(label="Curate poses"))

    def execute(self, ctx):
        base = ctx.view if ctx.params.get("chain", True) else ctx.dataset
        try:
            view = curate(base, ctx.params)
        except PoseError as e:
            raise OperatorError(self.error_line(ctx, e)) from None
        ctx.ops.set_view(view)
        field = ctx.params.get("label_field") or pose_fields(base)[0]
        return {"images": len(view), "persons": view.count(f"{field}.keypoints")}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("images", label="Images shown")
        outputs.int("persons", label="Persons shown")
        return types.Property(outputs)


def _option_input(inputs: types.Object, param: pose_views.ViewParameter, dataset, field: str | None) -> None:
    """The form field of one view option: a dropdown for choices (one or several), a checkbox for
    a flag (a true / false dropdown when it may be left unset), a number, or a list."""
    kwargs = {"label": param.name.replace("_", " "), "description": param.help, "required": param.required}
    if param.choices is not None or param.source is not None:
        values = pose_views.parameter_choices(dataset, param, field) if dataset is not None and field else []
        if param.many:
            view = types.AutocompleteView(choices=[types.Choice(v) for v in values], allow_user_input=False)
            inputs.list(param.name, types.String(), default=param.default, view=view, **kwargs)
        else:
            inputs.enum(param.name, values, default=param.default, view=types.DropdownView(), **kwargs)
    elif param.type is bool:
        if param.default is None:
            inputs.enum(param.name, ["true", "false"], view=types.DropdownView(), **kwargs)
        else:
            inputs.bool(param.name, default=param.default, **kwargs)
    elif param.many:
        inputs.list(param.name, types.Number() if param.type is not str else types.String(), **kwargs)
    elif param.type is int:
        inputs.int(param.name, default=param.default, **kwargs)
    elif param.type is float:
        inputs.float(param.name, default=param.default, **kwargs)
    else:
        inputs.str(param.name, default=param.default, **kwargs)


def curate(collection, params: dict):
    """The curation operator's work: the view named ``params["filter"]`` with the form's values."""
    name = params.get("filter") or "persons_with_visible"
    if name not in pose_views.CURATION_VIEWS:
        raise PoseUsageError(f"unknown filter {name!r}; one of: {', '.join(pose_views.CURATION_VIEWS)}")
    values = {p.name: params.get(p.name) for p in pose_views.view_parameters(name)}
    return pose_views.apply_view(collection, name, params.get("label_field"), **values)


class PoseStatistics(_PoseOperator):
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

        try:
            summary = pose_summary(ctx.view, ctx.params.get("label_field"))
            table = joint_table(ctx.view, ctx.params.get("label_field"))
        except PoseError as e:
            raise OperatorError(self.error_line(ctx, e)) from None
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
        raise PoseUsageError("FiftyOne has no plugins directory; set FIFTYONE_PLUGINS_DIR or ", Option("directory"))
    return Path(directory).expanduser()


def installed(directory: str | os.PathLike | None = None) -> Path | None:
    """The plugin folder this package installed in ``directory`` (default: the FiftyOne plugins
    directory), or None."""
    target = (Path(directory).expanduser() if directory else plugins_dir()) / PLUGIN_FOLDER
    yml = target / "fiftyone.yml"
    return target if yml.is_file() and f'name: "{PLUGIN_NAME}"' in yml.read_text() else None


def uninstall(directory: str | os.PathLike | None = None) -> Path:
    """Remove the plugin folder from ``directory`` (default: the FiftyOne plugins directory);
    only a folder that holds this plugin is removed. Returns the folder removed."""
    target = installed(directory)
    if target is None:
        where = Path(directory).expanduser() if directory else plugins_dir()
        raise PoseUsageError(f"the plugin {PLUGIN_NAME} is not installed in {where}")
    shutil.rmtree(target)
    return target


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
