"""mmpose's RTMPose mapping tables and its ``KeypointConverter``, read from the released wheel.

The tests compare this package's keypoint mappings with what RTMPose trains with. mmpose cannot
be imported here (it needs mmcv, a compiled package), so the wheel is downloaded with pip and
read as a zip: the training configs are parsed with ``ast`` and their mapping tables evaluated
with no builtins but ``range``/``dict``; ``mmpose/datasets/transforms/converting.py`` is executed
with two stand-ins: mmcv's ``BaseTransform`` (whose ``__call__`` runs ``transform``) and mmpose's
transform registry (whose decorator returns the class). ``KeypointConverter`` itself runs as
released.
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = "1.3.2"
WHEEL = f"mmpose-{VERSION}-py2.py3-none-any.whl"
#: the wheel PyPI serves for mmpose 1.3.2 (a different file fails the tests rather than changing them)
SHA256 = "70a77b4e5fc96a9295012ab0505b975f192b22372b2f59e3110200c1462576b6"
CONFIGS = "mmpose/.mim/"
#: the config folders holding RTMPose's multi-dataset training: Body8 (COCO-17 and Halpe-26) and Cocktail14
FAMILIES = ("configs/body_2d_keypoint/rtmpose/body8/", "configs/wholebody_2d_keypoint/rtmpose/cocktail14/")


def download(cache_dir: Path) -> Path:
    """The mmpose wheel in ``cache_dir`` (downloaded with pip the first time), checked against ``SHA256``."""
    path = cache_dir / WHEEL
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"mmpose=={VERSION}", "--no-deps", "-q", "-d", str(cache_dir)],
            check=True,
            capture_output=True,
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{path} has sha256 {digest}, expected {SHA256}")
    return path


@dataclass(frozen=True)
class Converter:
    """One ``KeypointConverter`` in a training config: the dataset it converts and its table."""

    config: str  # path inside the wheel, from "configs/"
    dataset_type: str  # mmpose dataset class, e.g. "MpiiDataset"
    table_name: str
    num_keypoints: int
    table: list[tuple[Any, int]]


def _evaluate(tree: ast.Module) -> dict[str, Any]:
    """The config's top-level names whose values are plain data (tables, strings, numbers, dicts)."""
    names: dict[str, Any] = {"__builtins__": {"range": range, "dict": dict}}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = eval(compile(ast.Expression(node.value), "config", "eval"), names)
            except Exception:  # e.g. a value built from a loop variable: not a table
                continue
    return names


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def converters(wheel: Path) -> list[Converter]:
    """Every ``KeypointConverter`` of every RTMPose Body8 and Cocktail14 config in the wheel."""
    out = []
    with zipfile.ZipFile(wheel) as z:
        for member in sorted(z.namelist()):
            config = member[len(CONFIGS) :]
            if not member.startswith(CONFIGS) or not config.startswith(FAMILIES) or not config.endswith(".py"):
                continue
            tree = ast.parse(z.read(member).decode())
            names = _evaluate(tree)

            def value(node: ast.expr, names=names) -> Any:
                return eval(compile(ast.Expression(node), "config", "eval"), names)

            for call in ast.walk(tree):
                pipeline = isinstance(call, ast.Call) and _keyword(call, "pipeline")
                if not isinstance(pipeline, ast.List) or _keyword(call, "type") is None:
                    continue
                for step in pipeline.elts:
                    kind = isinstance(step, ast.Call) and _keyword(step, "type")
                    if kind is None or kind is False or value(kind) != "KeypointConverter":
                        continue
                    mapping = _keyword(step, "mapping")
                    out.append(
                        Converter(
                            config=config,
                            dataset_type=value(_keyword(call, "type")),
                            table_name=ast.unparse(mapping),
                            num_keypoints=value(_keyword(step, "num_keypoints")),
                            table=[tuple(pair) for pair in value(mapping)],
                        )
                    )
    return out


def dataset_info(wheel: Path, name: str) -> dict[str, Any]:
    """``dataset_info`` of ``configs/_base_/datasets/<name>.py`` (keypoint names, swaps, links, sigmas)."""
    with zipfile.ZipFile(wheel) as z:
        source = z.read(f"{CONFIGS}configs/_base_/datasets/{name}.py").decode()
    return _evaluate(ast.parse(source))["dataset_info"]


def keypoint_converter(wheel: Path) -> type:
    """mmpose's ``KeypointConverter`` class, executed from the wheel with stand-ins for mmcv and the registry."""

    class BaseTransform:  # mmcv.transforms.BaseTransform: calling a transform runs ``transform``
        def __call__(self, results: dict) -> dict:
            return self.transform(results)

    class Registry:  # mmpose.registry.TRANSFORMS: registering returns the class unchanged
        def register_module(self, *args: Any, **kwargs: Any):
            return lambda cls: cls

    stubs = {
        "mmcv": types.ModuleType("mmcv"),
        "mmcv.transforms": types.ModuleType("mmcv.transforms"),
        "mmpose": types.ModuleType("mmpose"),
        "mmpose.registry": types.ModuleType("mmpose.registry"),
    }
    stubs["mmcv.transforms"].BaseTransform = BaseTransform
    stubs["mmpose.registry"].TRANSFORMS = Registry()
    path = "mmpose/datasets/transforms/converting.py"
    with zipfile.ZipFile(wheel) as z:
        source = z.read(path).decode()
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        namespace: dict[str, Any] = {"__name__": "mmpose.datasets.transforms.converting"}
        exec(compile(source, path, "exec"), namespace)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return namespace["KeypointConverter"]
