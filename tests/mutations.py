"""The malformed-input harness: valid sample files per format, mutations of them, and the contract.

Every registered format joins by adding a hook to ``SAMPLES`` (``@sample_hook("name")``): a
function returning one or more ``Sample`` s, i.e. valid files as the format's reader expects them.
``tests/test_malformed_harness.py`` fails for a registered format without a hook.

The mutations are generic (they know JSON trees, text tokens, bytes and MATLAB variables, not
formats): truncation at a byte offset, deleted keys, changed types (string for number, null,
wrongly nested), wrong list lengths (keypoints and boxes), negative / zero / NaN / infinite sizes,
duplicated ids and records, references to ids that do not exist, and in ``.mat`` files missing,
unknown or renamed variables and struct fields and values of the wrong shape or type.
``check(...)`` runs one mutated sample through the reader and says what, if anything, broke the
contract:

- the file still reads, and then it round-trips (written and read again gives the same bytes; a
  ``lossless`` sample's own format gives back the mutated document itself), or
- the reader raises exactly one ``PoseFormatError`` whose text is one line naming the file, a
  record (index, with the id where there is one) and the field where the mutation was inside a
  record; never another exception type;
- ``detect`` (the format's, and the sniffing over every registered format) never raises anything
  but "cannot tell the format", and ``fiftyone-pose convert`` agrees: exit 0 and one output file,
  or exit 2, one ``fiftyone-pose: error: ...`` line and no file at all.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from helpers import coco_doc
from hypothesis import strategies as st

from fiftyone_pose import cli, formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError
from fiftyone_pose.formats.protocol import Confidence, Peek

# ------------------------------------------------------------------------------------ samples


@dataclass
class Sample:
    """Valid input of one format: files by relative path, and what the reader is given (``main``:
    one of the files, or a folder holding them, e.g. MHP's ``pose_annos``).

    A file's content is a JSON document (dict or list, written as compact JSON), ``str`` (text),
    ``bytes`` or a ``MatFile``. ``lossless``: writing what was read in the same format gives back
    the document.
    """

    files: dict[str, Any]
    main: str
    lossless: bool = False
    read_options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def mutable_files(self) -> list[str]:
        return sorted(self.files)


#: format name -> function returning its valid samples (one Sample or a list)
SAMPLES: dict[str, Callable[[], Sample | list[Sample]]] = {}


def sample_hook(name: str) -> Callable:
    def register(fn: Callable[[], Sample | list[Sample]]) -> Callable:
        SAMPLES[name] = fn
        return fn

    return register


def samples_of(name: str) -> list[Sample]:
    made = SAMPLES[name]()
    return list(made) if isinstance(made, (list, tuple)) else [made]


@sample_hook("coco")
def _coco_samples() -> list[Sample]:
    from benchmarks.generate import generate_coco

    image_list = coco_doc()  # the test-set flavor: images and categories, no annotations
    del image_list["annotations"]
    custom = {  # a layout no shipped skeleton has: names and edges come from the category
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
                   {"id": 2, "file_name": "b.jpg", "width": 32, "height": 32}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 3, "keypoints": [1, 2, 2, 3.5, 4, 1, 0, 0, 0], "num_keypoints": 2,
             "bbox": [1, 2, 2.5, 2], "area": 5.0, "iscrowd": 0},
            {"id": 11, "image_id": 2, "category_id": 3, "keypoints": [5, 6, 2, 7, 8, 2, 9, 10, 2], "num_keypoints": 3,
             "bbox": [5, 6, 4, 4], "area": 16, "iscrowd": 0, "segmentation": [[5, 6, 9, 6, 9, 10]]},
        ],
        "categories": [{"id": 3, "name": "critter", "keypoints": ["head", "neck", "tail"],
                        "skeleton": [[1, 2], [2, 3]]}],
    }  # fmt: skip
    return [
        Sample({"person_keypoints.json": coco_doc()}, "person_keypoints.json", lossless=True, label="example"),
        Sample(
            {"person_keypoints.json": generate_coco(3, seed=5)},
            "person_keypoints.json",
            lossless=True,
            label="generated",
        ),
        Sample({"image_info.json": image_list}, "image_info.json", lossless=True, label="image-info"),
        Sample({"critters.json": custom}, "critters.json", lossless=True, label="custom-layout"),
    ]


@sample_hook("coco_wholebody")
def _wholebody_samples() -> list[Sample]:
    from helpers_wholebody import wholebody_doc

    from benchmarks.generate import generate_coco

    return [
        Sample({"coco_wholebody.json": wholebody_doc()}, "coco_wholebody.json", lossless=True, label="example"),
        Sample(
            {"coco_wholebody.json": generate_coco(2, layout="wholebody", seed=3)},
            "coco_wholebody.json",
            lossless=True,
            label="generated",
        ),
    ]


@sample_hook("halpe")
def _halpe_samples() -> list[Sample]:
    from helpers_wholebody import halpe_doc

    from benchmarks.generate import generate_coco

    return [
        Sample({"halpe_val_v1.json": halpe_doc()}, "halpe_val_v1.json", lossless=True, label="example"),
        Sample(
            {"halpe_val_v1.json": generate_coco(2, layout="halpe", seed=3)},
            "halpe_val_v1.json",
            lossless=True,
            label="generated",
        ),
    ]


@sample_hook("aic")
def _aic_samples() -> list[Sample]:
    from dataset_docs import aic_coco_doc, aic_native_doc

    return [
        Sample(
            {"keypoint_validation_annotations.json": aic_native_doc()},
            "keypoint_validation_annotations.json",
            lossless=True,
            label="native",
        ),
        Sample({"aic_val.json": aic_coco_doc()}, "aic_val.json", lossless=True, label="coco"),
    ]


@sample_hook("mhp")
def _mhp_samples() -> list[Sample]:
    from dataset_docs import mhp_coco_doc, mhp_mat_person

    def person(seed: float, flags: list[int]) -> np.ndarray:
        return np.asarray(mhp_mat_person(seed, flags), dtype=np.float64)

    pose_annos = {
        "pose_annos/14.mat": MatFile({"person_0": person(0, [0] * 14 + [1, 2]), "person_1": person(7, [0] * 16)}),
        "pose_annos/27.mat": MatFile({"person_0": person(3, [0] * 16)}),
        "pose_annos/3.mat": MatFile({}),  # an image without persons
    }
    return [
        Sample({"mhp_val.json": mhp_coco_doc()}, "mhp_val.json", lossless=True, label="coco"),
        Sample(pose_annos, "pose_annos", label="mat-folder"),
        Sample({"14.mat": pose_annos["pose_annos/14.mat"]}, "14.mat", label="mat-file"),
    ]


@sample_hook("crowdpose")
def _crowdpose_samples() -> list[Sample]:
    from dataset_docs import crowdpose_doc

    return [Sample({"crowdpose_val.json": crowdpose_doc()}, "crowdpose_val.json", lossless=True, label="example")]


@sample_hook("ochuman")
def _ochuman_samples() -> list[Sample]:
    from dataset_docs import ochuman_coco_doc, ochuman_native_doc

    return [
        Sample({"ochuman.json": ochuman_native_doc()}, "ochuman.json", lossless=True, label="native"),
        Sample({"ochuman_coco_format_val_range_0.00_1.00.json": ochuman_coco_doc()},
               "ochuman_coco_format_val_range_0.00_1.00.json", lossless=True, label="coco"),
    ]  # fmt: skip


@sample_hook("humanart")
def _humanart_samples() -> list[Sample]:
    from dataset_docs import humanart_doc

    return [
        Sample({"validation_humanart.json": humanart_doc()}, "validation_humanart.json", lossless=True, label="example")
    ]


@sample_hook("posetrack")
def _posetrack_samples() -> list[Sample]:
    from posetrack_docs import merged_doc, video_doc

    return [
        Sample({"000342_mpii_test.json": video_doc()}, "000342_mpii_test.json", lossless=True, label="video"),
        Sample({"posetrack18_val.json": merged_doc()}, "posetrack18_val.json", lossless=True, label="merged"),
    ]


@sample_hook("h36m")
def _h36m_samples() -> list[Sample]:
    from h36m_docs import h36m_coco_doc, h36m_npz_arrays, npz_bytes

    small = {k: v[:3] for k, v in h36m_npz_arrays().items()}  # an npz is bytes: cut at any offset
    return [
        Sample({"h36m_test.npz": npz_bytes(small)}, "h36m_test.npz", label="npz"),
        Sample({"h36m_train.npz": npz_bytes(small, compressed=True)}, "h36m_train.npz", label="npz-compressed"),
        Sample({"h36m_coco.json": h36m_coco_doc()}, "h36m_coco.json", lossless=True, label="coco"),
    ]


@sample_hook("lsp")
def _lsp_samples() -> list[Sample]:
    def triplets(n: int, seed: float) -> np.ndarray:  # (n, 14, 3): sub-pixel x, y and 0/1 flags
        i, j = np.meshgrid(np.arange(n), np.arange(14), indexing="ij")
        return np.stack([20.5 + 7.25 * j + seed + i, 150.125 - 9.5 * j + 2 * i, (i + j) % 3 == 0], axis=2).astype(
            np.float64
        )

    c = np.ascontiguousarray  # (scipy's savemat writes text only from C-ordered arrays)
    return [
        Sample({"lsp_dataset/joints.mat": MatFile({"joints": c(triplets(3, 0.0).transpose(2, 1, 0))})},
               "lsp_dataset", label="lsp-folder"),
        Sample({"joints.mat": MatFile({"joints": c(triplets(4, 1.5).transpose(1, 2, 0))})},
               "joints.mat", label="lspet-file"),
        Sample({"lsp_one.mat": MatFile({"joints": c(triplets(1, 3.0)[0].T.astype(np.int16))})},
               "lsp_one.mat", label="lsp-one-image-int16"),
    ]  # fmt: skip


@sample_hook("mpii_trb")
def _mpii_trb_samples() -> list[Sample]:
    from mpii_trb_docs import mpii_trb_doc

    return [Sample({"mpii_trb_val.json": mpii_trb_doc()}, "mpii_trb_val.json", lossless=True, label="example")]


@sample_hook("pytorch_pose")
def _pytorch_pose_samples() -> list[Sample]:
    from pytorch_pose_docs import coco_pp_doc, leeds_doc, mpi_doc

    return [
        Sample({"mpii_annotations.json": mpi_doc()}, "mpii_annotations.json", lossless=True, label="mpi"),
        Sample({"LEEDS_annotations.json": leeds_doc()}, "LEEDS_annotations.json", lossless=True, label="leeds"),
        Sample(
            {"coco_annotations_2017.json": coco_pp_doc()}, "coco_annotations_2017.json", lossless=True, label="coco"
        ),
    ]


@sample_hook("coco_results")
def _coco_results_samples() -> list[Sample]:
    from results_docs import detection_results, keypoint_results, wholebody_results

    return [
        Sample({"results.json": keypoint_results()}, "results.json", lossless=True, label="keypoints"),
        Sample({"wholebody_results.json": wholebody_results()}, "wholebody_results.json", lossless=True, label="wb"),
        Sample({"detections.json": detection_results()}, "detections.json", lossless=True, label="detections"),
    ]


@sample_hook("mpii")
def _mpii_samples() -> list[Sample]:
    from mpii_docs import mpii_hrnet_doc, mpii_hrnet_test_doc, mpii_release

    return [
        Sample({"valid.json": mpii_hrnet_doc()}, "valid.json", lossless=True, label="hrnet"),
        Sample({"mpii_test.json": mpii_hrnet_test_doc()}, "mpii_test.json", lossless=True, label="hrnet-test"),
        Sample({"mpii_human_pose_v1_u12_1.mat": MatFile(mpii_release())}, "mpii_human_pose_v1_u12_1.mat", label="mat"),
    ]


@sample_hook("yolo")
def _yolo_samples() -> list[Sample]:
    from yolo_docs import coco8_files

    files = {name: content for name, content in coco8_files().items() if content != ""}  # mutable text only
    bare = {  # no yaml: the split is the folder, the number of points comes from the rows
        name.replace("coco8/", "bare/"): content for name, content in files.items() if not name.endswith(".yaml")
    }
    return [Sample(files, "coco8", label="coco8"), Sample(bare, "bare", label="no-yaml")]


# ------------------------------------------------------------------------------ serialisation


@dataclass
class MatFile:
    """A MATLAB (v5) file: variable name -> numpy array, or dict (a struct: field -> value), as
    ``scipy.io.savemat`` writes them; values nest: a struct array is a record array of objects
    (``dtype=[(field, object), ...]``), a cell array an object array, text a ``str``."""

    variables: dict[str, Any]


def content_kind(content: Any) -> str:
    if isinstance(content, MatFile):
        return "mat"
    if isinstance(content, bytes):
        return "binary"
    if isinstance(content, str):
        return "text"
    return "json"


#: a number token JSON allows but float64 cannot hold (orjson rejects it, json reads inf)
_RAW = "\x00raw:"


def raw_token(token: str) -> str:
    """A placeholder that ``encode_file`` writes as the bare JSON token ``token``."""
    return f"{_RAW}{token}\x00"


def encode_file(content: Any) -> bytes:
    if isinstance(content, MatFile):
        from scipy.io import savemat

        buf = io.BytesIO()
        savemat(buf, content.variables)
        return buf.getvalue()
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode()
    text = json.dumps(content, separators=(",", ":"))  # NaN/Infinity come out as such (not JSON)
    return re.sub(r'"\\u0000raw:(.*?)\\u0000"', r"\1", text).encode()


def is_json(content: Any) -> bool:
    return content_kind(content) == "json"


# ---------------------------------------------------------------------------------- mutations


@dataclass
class Mutation:
    kind: str
    file: str
    what: str  # human-readable: the path and the change
    path: tuple = ()  # where in a JSON document (() for the root or for byte/text mutations)
    content: Any = None  # the mutated file content (JSON document, str or bytes)
    in_record: bool = False  # the change is inside a record (an element of a list of objects)
    in_field: bool = False  # ... and inside one of its fields (so the error must name a field)
    record: str = ""  # the record's path, e.g. ``images[0]``

    def __str__(self) -> str:
        return f"{self.kind} {self.file}: {self.what}"


KINDS = (
    "truncate",
    "delete_key",
    "change_type",
    "wrong_length",
    "bad_size",
    "duplicate_id",
    "dangling_reference",
    "text_token",
    "mat_variable",
)
#: the kinds each kind of file can take; a kind without targets in a sample is skipped
KINDS_OF = {
    "json": KINDS[:-2],
    "text": ("truncate", "text_token"),
    "binary": ("truncate",),
    "mat": ("truncate", "mat_variable"),
}

_SIZE_KEY = re.compile(r"(width|height|area|bbox|box|size|scale|^w$|^h$)", re.I)
_ID_REF = re.compile(r".+_id$")


def show_path(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _walk(node: Any, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))


def _signature(path: tuple) -> tuple:
    return tuple("*" if isinstance(p, int) else p for p in path)


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _targets(doc: Any, kind: str) -> dict[tuple, list[tuple]]:
    """Paths a kind can mutate, grouped by signature (``annotations.*.bbox``) so that each field
    is drawn as often as any other, however many values it has."""
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for path, v in _walk(doc):
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        ok = {
            "delete_key": bool(path) and isinstance(path[-1], str),
            "change_type": True,
            "wrong_length": isinstance(v, list) and len(v) > 0 and all(map(_is_number, v)),
            "bad_size": _is_number(v) and bool(_SIZE_KEY.search(key)),
            "duplicate_id": isinstance(v, list) and sum(isinstance(r, dict) and "id" in r for r in v) >= 2,
            "dangling_reference": bool(path)
            and isinstance(path[-1], str)
            and bool(_ID_REF.match(path[-1]))
            and (_is_number(v) or isinstance(v, str)),
        }.get(kind, False)
        if ok:
            groups[_signature(path)].append(path)
    return groups


def _wrong_values(v: Any) -> list[Any]:
    """Values of another type than ``v`` (and wrongly nested versions of it)."""
    common = [None, [v], {"value": v}]
    if type(v) is bool:
        return common + ["true", 1.5, []]
    if type(v) is int:
        return common + [str(v), 0.5, float(v) + 0.5, True, [], {}, 2**64, -(2**63) - 1]
    if type(v) is float:
        return common + [str(v), True, [], "nan"]
    if isinstance(v, str):
        return common + [5, 0, 1.5, True, [], {}]
    if isinstance(v, list):
        return common + ["x", 5, {}, [v], [str(x) for x in v], [None] * len(v), [[x] for x in v[:3]]]
    if isinstance(v, dict):
        return common + ["x", 5, [], [v], {k: None for k in v}, {k: [val] for k, val in v.items()}]
    return [0, "x", [], {}, True]  # v is None


def _record_context(doc: Any, path: tuple) -> tuple[bool, bool, str]:
    """(inside a record, inside a field of it, the record's path): a record is an element of a
    list of objects, e.g. ``annotations[3]`` or ``images[0].annotations[1]``; its fields are its keys."""
    node, last_record = doc, None
    for pos, p in enumerate(path):
        if isinstance(p, int) and isinstance(node, list) and node and all(isinstance(r, dict) for r in node):
            last_record = pos
        node = node[p]
    if last_record is None:
        return False, False, ""
    return True, any(isinstance(p, str) for p in path[last_record + 1 :]), show_path(path[: last_record + 1])


@st.composite
def json_mutation(draw, doc: Any, file: str, kind: str) -> Mutation | None:
    """One mutation of ``kind`` applied to a copy of ``doc`` (None if the document has no target)."""
    m = draw(_json_mutation(doc, file, kind))
    if m is not None and m.path:
        m.in_record, m.in_field, m.record = _record_context(doc, m.path)
    return m


@st.composite
def _json_mutation(draw, doc: Any, file: str, kind: str) -> Mutation | None:
    if kind == "truncate":
        raw = encode_file(doc)
        offset = draw(st.integers(0, len(raw) - 1))
        return Mutation(kind, file, f"cut at byte {offset} of {len(raw)}", (), raw[:offset])
    groups = _targets(doc, kind)
    if not groups:
        return None
    sig = draw(st.sampled_from(sorted(groups, key=repr)))
    path = draw(st.sampled_from(groups[sig]))
    doc = copy.deepcopy(doc)
    old = _get(doc, path)
    where = show_path(path)
    if kind == "delete_key":
        del _get(doc, path[:-1])[path[-1]]
        return Mutation(kind, file, f"del {where}", path, doc)
    if kind == "change_type":
        new = draw(st.sampled_from(_wrong_values(old)))
        return Mutation(kind, file, f"{where} = {new!r:.60} (was {old!r:.40})", path, _set(doc, path, new))
    if kind == "wrong_length":
        how = draw(st.sampled_from(["drop last", "add one", "add three", "empty", "half"]))
        new = {
            "drop last": old[:-1],
            "add one": old + [old[-1]],
            "add three": old + [0, 0, 0],
            "empty": [],
            "half": old[: len(old) // 2],
        }[how]
        return Mutation(kind, file, f"{where}: {how} ({len(old)} -> {len(new)} values)", path, _set(doc, path, new))
    if kind == "bad_size":
        new = draw(
            st.sampled_from(
                [0, -1, -640, -0.5, -1e-9, math.nan, math.inf, -math.inf, raw_token("1e400"), raw_token("-1e400")]
            )
        )
        shown = new.strip("\x00").replace(_RAW.strip("\x00"), "") if isinstance(new, str) else new
        return Mutation(kind, file, f"{where} = {shown} (was {old!r})", path, _set(doc, path, new))
    if kind == "duplicate_id":
        with_id = [i for i, r in enumerate(old) if isinstance(r, dict) and "id" in r]
        i = draw(st.sampled_from(with_id))
        j = draw(st.sampled_from([x for x in with_id if x != i]))
        if draw(st.booleans()):
            old[j]["id"] = copy.deepcopy(old[i]["id"])
            return Mutation(kind, file, f"{where}[{j}].id = {where}[{i}].id ({old[i]['id']!r})", path + (j, "id"), doc)
        old.insert(j, copy.deepcopy(old[i]))
        return Mutation(
            kind, file, f"{where}[{i}] copied to {where}[{j}] (id {old[i]['id']!r} twice)", path + (j,), doc
        )
    if kind == "dangling_reference":
        ids = [v for _, v in _walk(doc) if type(v) is int]
        new = (max(ids) + 12345) if isinstance(old, int) else f"{old}-missing"
        if isinstance(old, float):
            new = float(max(ids) + 12345)
        return Mutation(kind, file, f"{where} = {new!r} (no such record; was {old!r})", path, _set(doc, path, new))
    raise ValueError(kind)


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@st.composite
def text_mutation(draw, raw: bytes, file: str, kind: str) -> Mutation | None:
    """Byte-level mutations for files that are not JSON documents (text and binary formats)."""
    if kind == "truncate":
        offset = draw(st.integers(0, max(len(raw) - 1, 0)))
        return Mutation(kind, file, f"cut at byte {offset} of {len(raw)}", (), raw[:offset])
    if kind == "text_token":
        tokens = [m.span() for m in _NUMBER.finditer(raw)]
        lines = raw.splitlines(keepends=True)
        how = draw(st.sampled_from(["token", "drop line", "repeat line"] if tokens else ["drop line", "repeat line"]))
        if how == "token":
            lo, hi = draw(st.sampled_from(tokens))
            new = draw(
                st.sampled_from([b"x", b"", b"-1", b"nan", b"inf", b"1e400", b"0.5", b"99999999999999999999999"])
            )
            return Mutation(kind, file, f"number {raw[lo:hi]!r} at byte {lo} -> {new!r}", (), raw[:lo] + new + raw[hi:])
        if not lines:
            return None
        i = draw(st.integers(0, len(lines) - 1))
        new_lines = lines[:i] + lines[i + 1 :] if how == "drop line" else lines[: i + 1] + lines[i:]
        return Mutation(kind, file, f"{how} {i + 1}", (), b"".join(new_lines))
    return None


def _wrong_mat_values(arr: Any) -> list[tuple[str, Any]]:
    """Replacements for a .mat variable (or struct field) of the wrong shape, type or value."""
    out: list[tuple[str, Any]] = [("a string", "not numbers"), ("an empty array", np.zeros((0, 0))),
                                  ("a cell array", np.array([[1.0], "x"], dtype=object)),
                                  ("a struct", {"x": np.ones((2, 2))})]  # fmt: skip
    if type(arr) in (int, float):  # a 1 x 1 array
        out += [
            ("as text", str(arr)),
            ("a NaN", np.nan),
            ("two values", np.array([[arr, arr]])),
            ("out of range", -arr - 1e6),
        ]
    if isinstance(arr, str):
        out += [("a number", 5.0), ("a char matrix", np.array([arr, arr]))]
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "iuf" and arr.size:
        out += [("the last row dropped", arr[:-1]),
                ("a column added", np.hstack([arr, arr[:, :1]])) if arr.ndim == 2 else ("1-D", arr.ravel()),
                ("transposed", arr.T), ("flattened", arr.ravel()),
                ("a NaN", np.where(np.arange(arr.size).reshape(arr.shape) == 0, np.nan, arr)),
                ("an infinity", np.where(np.arange(arr.size).reshape(arr.shape) == arr.size - 1, np.inf, arr)),
                ("as text", arr.astype(str)), ("as booleans", arr > 0)]  # fmt: skip
    return out


@st.composite
def mat_mutation(draw, mat: MatFile, file: str, kind: str) -> Mutation | None:
    """Missing variables and struct fields, unknown ones, and values of the wrong shape or type."""
    if kind == "truncate":
        raw = encode_file(mat)
        offset = draw(st.integers(0, len(raw) - 1))
        return Mutation(kind, file, f"cut at byte {offset} of {len(raw)}", (), raw[:offset])
    variables = copy.deepcopy(mat.variables)
    # targets: every variable and every value inside one: struct fields, struct-array elements'
    # fields ((element, field) pairs), cell elements
    targets = list(_mat_targets(variables))
    ops = ["add an unknown variable"] + (["delete", "rename", "replace"] if targets else [])
    op = draw(st.sampled_from(ops))
    if op == "add an unknown variable":
        variables["unexpected_variable"] = np.ones((2, 3))
        return Mutation(kind, file, op, ("unexpected_variable",), MatFile(variables))
    target = draw(st.sampled_from(targets))
    holder, key = _mat_get(variables, target[:-1]), target[-1]
    where = _mat_where(target)
    if op != "replace" and isinstance(key, int):
        op = "replace"  # a cell element has no name to delete or rename
    if op == "delete":  # a missing variable, or a struct (array) without one of its fields
        if isinstance(key, tuple):
            _mat_set(variables, target[:-1], _renamed_field(holder, key[1], None))
        else:
            del holder[key]
        return Mutation(kind, file, f"del {where}", target, MatFile(variables))
    if op == "rename":
        name = key[1] if isinstance(key, tuple) else key
        if isinstance(key, tuple):
            _mat_set(variables, target[:-1], _renamed_field(holder, name, f"{name}_renamed"))
        else:
            holder[f"{name}_renamed"] = holder.pop(name)
        return Mutation(kind, file, f"{where} renamed to {name}_renamed", target, MatFile(variables))
    how, value = draw(st.sampled_from(_wrong_mat_values(_mat_get(variables, target))))
    _mat_set(variables, target, value)
    return Mutation(kind, file, f"{where}: {how}", target, MatFile(variables))


def _mat_targets(node: Any, path: tuple = ()) -> Iterable[tuple]:
    """Paths of the values inside a MatFile's variables: a key (variable or struct field), an
    (element, field) pair of a struct array, or the index of a cell element (flat, C order)."""
    if isinstance(node, dict):
        steps = list(node)
    elif isinstance(node, np.ndarray) and node.dtype.names:
        steps = [(i, f) for i in range(node.size) for f in node.dtype.names]
    elif isinstance(node, np.ndarray) and node.dtype == object:
        steps = list(range(node.size))
    else:
        return
    for step in steps:
        yield path + (step,)
        yield from _mat_targets(_mat_get(node, (step,)), path + (step,))


def _mat_get(node: Any, path: tuple) -> Any:
    for step in path:
        node = (
            node[step[1]].flat[step[0]]
            if isinstance(step, tuple)
            else node.flat[step]
            if isinstance(step, int)
            else node[step]
        )
    return node


def _mat_set(root: Any, path: tuple, value: Any) -> None:
    holder, step = _mat_get(root, path[:-1]), path[-1]
    if isinstance(step, tuple):
        holder[step[1]][np.unravel_index(step[0], holder.shape)] = value
    elif isinstance(step, int):
        holder[np.unravel_index(step, holder.shape)] = value
    else:
        holder[step] = value


def _renamed_field(array: np.ndarray, field: str, new: str | None) -> Any:
    """A struct array with ``field`` renamed to ``new`` (None: dropped) in every element."""
    names = [(n, new if n == field else n) for n in array.dtype.names if n != field or new is not None]
    if not names:
        return np.zeros((0, 0))
    out = np.zeros(array.shape, dtype=[(n2, object) for _, n2 in names])
    for n, n2 in names:
        out[n2] = array[n]
    return out


def _mat_where(path: tuple) -> str:
    """``RELEASE.annolist(2).annorect{1}``-like text of a path (1-based, as MATLAB counts)."""
    out = ""
    for step in path:
        out += (
            f"({step[0] + 1}).{step[1]}"
            if isinstance(step, tuple)
            else f"{{{step + 1}}}"
            if isinstance(step, int)
            else ("." if out else "") + step
        )
    return out


def mutation_strategy(sample: Sample, kind: str) -> st.SearchStrategy[Mutation | None]:
    files = [f for f in sample.mutable_files() if kind in KINDS_OF[content_kind(sample.files[f])]]
    if not files:
        return st.none()

    def one(file: str):
        content = sample.files[file]
        if is_json(content):
            return json_mutation(content, file, kind)
        if isinstance(content, MatFile):
            return mat_mutation(content, file, kind)
        return text_mutation(encode_file(content), file, kind)

    return st.sampled_from(files).flatmap(one)


def has_targets(sample: Sample, kind: str) -> bool:
    for content in sample.files.values():
        if kind not in KINDS_OF[content_kind(content)]:
            continue
        if not is_json(content) or kind == "truncate" or _targets(content, kind):
            return True
    return False


# ---------------------------------------------------------------------------------- the check


@dataclass
class Outcome:
    result: str  # "error" (the right error), "read" (still valid, round-trips) or "wrong"
    detail: str  # the error text, or what broke the contract


#: how a record is named: ``annotations[12]``, ``annotations[12] (id 900017)``, ``images[3] (id 7, path)``,
#: ``images[0].annotations[1]``
RECORD = re.compile(r"^[A-Za-z_]\w*\[\d+\](\.[A-Za-z_]\w*\[\d+\])*( \(.+\))?$")
#: how a JSON syntax error is located
POSITION = re.compile(r"^line \d+ column \d+ \(byte \d+\)$")


def materialize(sample: Sample, mutation: Mutation | None, root: Path) -> dict[str, Path]:
    """Write the sample (with the mutated file) under ``root``; returns relative name -> path."""
    out = {}
    for name, content in sample.files.items():
        if mutation is not None and name == mutation.file:
            content = mutation.content
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_file(content))
        out[name] = path
    return out


def _error_problems(
    err: PoseFormatError, paths: dict[str, Path], main: Path, mutation: Mutation, syntax: bool, sample_content: Any
) -> list[str]:
    """What is wrong with ``err`` as the answer to ``mutation``; ``syntax``: the mutated file is no
    longer parseable JSON (NaN, 1e400, a cut), so the error must locate the line and column."""
    text = str(err)
    problems = []
    if type(err) is not PoseFormatError:
        problems.append(f"{type(err).__name__} instead of PoseFormatError")
    if "\n" in text or "\r" in text:
        problems.append("the message has more than one line")
    files = {os.fspath(p) for p in paths.values()} | {os.fspath(main)}
    if err.path not in files:
        problems.append(f"names file {err.path!r}, not one of the input files")
    elif not text.startswith(f"{err.path}: "):
        problems.append("the message does not start with the file")
    if syntax:
        if not (err.record and POSITION.match(err.record)):
            problems.append(f"the file is not JSON, but the error does not locate line and column: {err.record!r}")
        return problems
    binary = mutation.kind == "truncate" and content_kind(sample_content) in ("binary", "mat")
    if mutation.kind in ("truncate", "text_token") and err.record and POSITION.match(err.record):
        pass  # a syntax error of a text format, located by line and column
    elif binary:
        pass  # a cut binary file (.mat): unreadable as a whole, there is no record to name
    elif mutation.path == () and mutation.kind not in ("truncate", "text_token"):
        pass  # the whole document replaced: nothing smaller to name
    elif not err.record:
        problems.append("names no record")
    elif mutation.in_record and not RECORD.match(err.record):
        problems.append(f"record {err.record!r} is not named by index (and id)")
    nested = bool(err.record) and err.record.startswith(f"{mutation.record}.")  # e.g. images[0].annotations[2]
    if mutation.in_field and not err.field and not nested:
        problems.append("names no field although the mutation is inside a record's field")
    return problems


def _round_trip_problems(name: str, sample: Sample, main: Path, mutated: Any, data: Any, work: Path) -> list[str]:
    if formats.places_media(name):
        return _folder_round_trip_problems(name, main, data, work)
    first, second = work / "first.out", work / "second.out"
    formats.write(data, first, name)
    again = formats.get(name).read(first)
    formats.write(again, second, name)
    problems = []
    if first.read_bytes() != second.read_bytes():
        problems.append(f"write(read(written)) differs from written ({name})")
    if sample.lossless and is_json(mutated):
        diff = first_difference(orjson.loads(first.read_bytes()), mutated)
        if diff:
            problems.append(f"not lossless: {diff}")
    return problems


def _folder_round_trip_problems(name: str, main: Path, data: Any, work: Path) -> list[str]:
    """A format written as a folder (YOLO): written, read and written again, the same label files."""
    first, second = work / "first.out", work / "second.out"
    formats.write(data, first, name, images_dir=formats.images_dir(main, name))
    formats.write(formats.read(first, name), second, name, images_dir=formats.images_dir(first, name))

    def texts(root: Path) -> dict[str, bytes]:
        return {os.fspath(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.txt"))}

    return [] if texts(first) == texts(second) else [f"write(read(written)) differs from written ({name})"]


def _cli_problems(name: str, main: Path, work: Path, expected_error: str | None) -> list[str]:
    out_dir = work / "cli"
    out_dir.mkdir()
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(["convert", os.fspath(main), os.fspath(out_dir / "out.json"), "--from", name, "--to", name])
    lines = stderr.getvalue().splitlines()
    written = sorted(os.listdir(out_dir))
    if expected_error is None:
        if code != 0 or written != ["out.json"]:
            return [f"convert: exit {code}, files {written}, stderr {lines}"]
        return []
    problems = []
    if code != 2:
        problems.append(f"convert exits {code}, not 2")
    if lines != [f"fiftyone-pose: error: {expected_error}"]:
        problems.append(f"convert prints {lines!r}")
    if written:
        problems.append(f"convert left files {written}")
    return problems


def check(name: str, sample: Sample, mutation: Mutation, tmp_root: Path) -> Outcome:
    """Run one mutated sample through the reader (and the CLI) and judge the outcome."""
    work = Path(tempfile.mkdtemp(dir=tmp_root))
    try:
        paths = materialize(sample, mutation, work / "in")
        main = work / "in" / sample.main  # a file, or a folder of files
        module = formats.get(name)
        problems = []
        try:
            score = module.detect(Peek(main))
            if not isinstance(score, Confidence):
                problems.append(f"detect returned {score!r}")
        except Exception as e:  # noqa: BLE001 - anything here is a finding
            problems.append(f"detect raised {type(e).__name__}: {e}")
        try:  # sniffing runs every registered format's detect on this file
            formats.detect(main)
        except PoseFormatError:
            pass  # "cannot tell the format": a fine answer for a mutated file
        except Exception as e:  # noqa: BLE001
            problems.append(f"formats.detect raised {type(e).__name__}: {e}")
        syntax = False
        if is_json(sample.files[mutation.file]):
            try:
                orjson.loads(encode_file(mutation.content))
            except orjson.JSONDecodeError:
                syntax = True
        try:
            data = module.read(main, **sample.read_options)
        except PoseFormatError as e:
            problems += _error_problems(e, paths, main, mutation, syntax, sample.files[mutation.file])
            problems += _cli_problems(name, main, work, str(e))
            return Outcome("wrong" if problems else "error", "; ".join(problems) or str(e))
        except Exception as e:  # noqa: BLE001
            tb = traceback.extract_tb(e.__traceback__)[-1]
            return Outcome(
                "wrong", f"{type(e).__name__}: {e} (at {Path(tb.filename).name}:{tb.lineno}) " + "; ".join(problems)
            )
        try:
            mutated = (
                orjson.loads(encode_file(mutation.content))
                if mutation.file == sample.main and is_json(mutation.content)
                else None
            )
        except orjson.JSONDecodeError:
            mutated = None
        try:
            problems += _round_trip_problems(name, sample, main, mutated, data, work)
        except Exception as e:  # noqa: BLE001
            tb = traceback.extract_tb(e.__traceback__)[-1]
            problems.append(
                f"reads, but the round trip raises {type(e).__name__}: {e} (at {Path(tb.filename).name}:{tb.lineno})"
            )
        problems += _cli_problems(name, main, work, None)
        return Outcome("wrong" if problems else "read", "; ".join(problems) or "reads and round-trips")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------- subprocesses and the database
# (shared by the interruption, own-database, concurrency and determinism tests; FiftyOne is
# imported lazily so the pure tests above never start it)

#: the installed console script
EXE = shutil.which("fiftyone-pose", path=os.path.dirname(sys.executable)) or "fiftyone-pose"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a ``fiftyone-pose`` subprocess: this session's scratch database
    (``FIFTYONE_DATABASE_NAME`` from conftest, and the port of the running mongod once the test
    process has connected), no progress bars, plus ``extra``."""
    env = dict(os.environ)
    env.setdefault("FIFTYONE_SHOW_PROGRESS_BARS", "false")
    env.update(extra)
    return env


def run_cli(*args: Any, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *map(str, args)], env=env or cli_env(), capture_output=True, text=True, timeout=timeout)


def start_cli(*args: Any, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``fiftyone-pose ARGS``; it answers SIGINT even where the tests run as a background job
    (which ignores SIGINT, and Python installs no KeyboardInterrupt handler for an ignored SIGINT)."""
    return subprocess.Popen(
        [EXE, *map(str, args)],
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def dataset_state(name: str) -> tuple[str, int] | None:
    """(dataset id, number of samples) of the dataset called ``name``, read from the database
    directly (no FiftyOne dataset object: another process may be changing it), or None."""
    import fiftyone.core.odm as foo

    conn = foo.get_db_conn()
    doc = conn.datasets.find_one({"name": name}, {"sample_collection_name": True})
    if doc is None:
        return None
    return str(doc["_id"]), conn[doc["sample_collection_name"]].count_documents({})


def temp_datasets() -> dict[str, int]:
    """Datasets being built (or left by killed imports) -> their number of samples so far."""
    import fiftyone.core.odm as foo

    from fiftyone_pose.fo.api import TEMP_PREFIX

    conn = foo.get_db_conn()
    docs = conn.datasets.find({"name": {"$regex": f"^{TEMP_PREFIX}"}}, {"name": True, "sample_collection_name": True})
    return {d["name"]: conn[d["sample_collection_name"]].count_documents({}) for d in docs}


def collections() -> set[str]:
    import fiftyone.core.odm as foo

    return set(foo.get_db_conn().list_collection_names())


def wait_until(
    condition: Callable[[], Any], proc: subprocess.Popen | None = None, timeout: float = 120, what: str = ""
) -> Any:
    """Poll ``condition`` every 5 ms until it returns something truthy (which is returned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {what}: {err[-2000:]}")
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")
