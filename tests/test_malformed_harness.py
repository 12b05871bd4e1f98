"""The malformed-input harness over every registered format (see ``tests/mutations.py``).

For each format with a sample hook, hypothesis draws mutations of its valid files, kind by kind,
and every one must end in one of two ways: the file still reads and round-trips, or exactly one
``PoseFormatError`` whose one line names the file, the record and the field (and the CLI exits 2,
writing nothing). The counts are printed (CI logs show them) and must be 100% right.

The FiftyOne side: images whose size must be read from an unreadable file, and mutated files
imported for real, end in a complete dataset or in an error with no dataset left behind.

``FIFTYONE_POSE_HARNESS_EXAMPLES`` (mutations per format and kind, default 40) and
``FIFTYONE_POSE_HARNESS_RANDOM=1`` (a fresh random draw instead of the fixed CI one) widen a
local hunt, ``FIFTYONE_POSE_HARNESS_LOG=FILE`` lists every outcome for review; CI runs the
bounded, reproducible default.
"""

from __future__ import annotations

import copy
import os
import re
import uuid
from collections import Counter
from pathlib import Path

import orjson
import pytest
from helpers import coco_doc, png
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from mutations import (
    KINDS,
    SAMPLES,
    Mutation,
    _record_context,
    check,
    has_targets,
    materialize,
    mutation_strategy,
    samples_of,
)

from fiftyone_pose import formats
from fiftyone_pose.core.compare import first_difference
from fiftyone_pose.core.errors import PoseFormatError

EXAMPLES = int(os.environ.get("FIFTYONE_POSE_HARNESS_EXAMPLES", "40"))
RANDOM = os.environ.get("FIFTYONE_POSE_HARNESS_RANDOM") == "1"
LOG = os.environ.get("FIFTYONE_POSE_HARNESS_LOG")  # append every outcome to this file (for review)
HARNESS_FORMATS = sorted(n for n in formats.REGISTRY if n in SAMPLES)


def _settings(max_examples: int):
    # no shrinking: every example is counted once and every failure is listed, not just the first
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def test_every_registered_format_has_a_sample_hook():
    """A new format joins the harness by adding valid samples to ``SAMPLES`` in tests/mutations.py."""
    missing = sorted(set(formats.REGISTRY) - set(SAMPLES))
    assert missing == [], f"registered formats without a malformed-input hook (tests/mutations.py SAMPLES): {missing}"


@pytest.mark.parametrize("name", HARNESS_FORMATS)
def test_hook_samples_are_valid(name, tmp_path):
    """The base of every mutation reads and round-trips, so each finding comes from its mutation."""
    for sample in samples_of(name):
        file = sorted(sample.files)[0]
        unchanged = Mutation("none", file, "unchanged", (), sample.files[file])
        outcome = check(name, sample, unchanged, tmp_path)
        assert outcome.result == "read", f"{name} sample {sample.label!r}: {outcome.detail}"


@pytest.mark.parametrize("name", HARNESS_FORMATS)
def test_malformed_inputs_read_or_fail_clearly(name, tmp_path, capsys):
    samples = samples_of(name)
    stats: dict[str, Counter] = {}
    wrong: list[str] = []

    def run_kind(kind: str, usable: list, counts: Counter) -> None:
        @_settings(EXAMPLES)
        @given(st.data())
        def run(data):
            sample = data.draw(st.sampled_from(usable), label="sample")
            mutation = data.draw(mutation_strategy(sample, kind), label="mutation")
            if mutation is None:
                return
            outcome = check(name, sample, mutation, tmp_path)
            counts[outcome.result] += 1
            if LOG:
                with open(LOG, "a") as f:
                    f.write(f"{name}\t{outcome.result}\t{mutation}\t{outcome.detail}\n")
            if outcome.result == "wrong":
                wrong.append(f"[{sample.label}] {mutation}\n      -> {outcome.detail}")

        run()

    for kind in KINDS:
        usable = [s for s in samples if has_targets(s, kind)]
        if usable:
            run_kind(kind, usable, stats.setdefault(kind, Counter()))

    tried = sum(sum(c.values()) for c in stats.values())
    right = sum(c["error"] for c in stats.values())
    valid = sum(c["read"] for c in stats.values())
    with capsys.disabled():
        print(f"\nmalformed-input harness [{name}]: {tried} mutations tried, {right} rejected with the right error, "
              f"{valid} still valid and round-trip, {len(wrong)} wrong")  # fmt: skip
        for kind, c in stats.items():
            print(
                f"  {kind:<19} {sum(c.values()):>4} tried  {c['error']:>4} right error  "
                f"{c['read']:>4} valid  {c['wrong']:>3} wrong"
            )
    assert wrong == [], f"{len(wrong)} of {tried} mutations broke the contract:\n  " + "\n  ".join(wrong[:40])
    assert right + valid == tried
    # every kind with targets really ran (hypothesis stops early where a sample has few distinct targets)
    assert all(sum(c.values()) > 0 for c in stats.values()), stats
    assert stats["truncate"].total() == EXAMPLES
    assert tried >= 2 * EXAMPLES
    # JSON samples take key and type mutations; a format of .mat files only (LSP) takes variable
    # mutations; a format of text files (YOLO) token mutations
    kinds = set(stats)
    assert "truncate" in kinds and ({"delete_key", "change_type"} <= kinds or kinds & {"mat_variable", "text_token"})


def _pinned(name: str, label: str, path: tuple, value=None, delete: bool = False):
    """A mutation of the sample ``label`` of format ``name`` at ``path`` (set to ``value`` or deleted)."""
    sample = next(s for s in samples_of(name) if s.label == label)
    doc = copy.deepcopy(sample.files[sample.main])
    holder = doc
    for p in path[:-1]:
        holder = holder[p]
    if delete:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    in_record, in_field, record = _record_context(sample.files[sample.main], path)
    what = f"del {path}" if delete else f"{path} = {value!r}"
    return sample, Mutation("pinned", sample.main, what, path, doc, in_record, in_field, record)


#: the mutations that found bugs (fixed), pinned: (format, sample, path, value or DELETE, the error after
#: the file name (a regex for formats whose record names are still settling) or None = reads)
DELETE = object()
PINNED = [
    ("coco", "custom-layout", ("categories", 0, "skeleton"), [[1, 2], [2]],
     "categories[0] (id 3): field 'skeleton': expected pairs of keypoint numbers 1..3, found [2]"),
    ("coco", "custom-layout", ("categories", 0, "skeleton"), [[1, 9]],
     "categories[0] (id 3): field 'skeleton': expected pairs of keypoint numbers 1..3, found [1, 9]"),
    ("coco", "custom-layout", ("categories", 0, "skeleton"), "x",
     "categories[0] (id 3): field 'skeleton': expected pairs of keypoint numbers 1..3, found 'x'"),
    ("coco", "example", ("categories", 0, "keypoints"), 5,
     "categories[0] (id 1): field 'keypoints': expected a list of names, found 5"),
    ("coco", "example", ("categories", 0, "keypoints"), "nose",
     "categories[0] (id 1): field 'keypoints': expected a list of names, found 'nose'"),
    ("coco", "example", ("images", 0, "height"), None, None),  # was: written back without "height"
    ("coco", "example", ("images", 0, "width"), 0, None),  # was: written back without "width"
    ("coco", "example", ("categories",), DELETE, None),  # was: a default category added on writing
    ("coco", "custom-layout", ("categories",), DELETE, None),  # was: written file unreadable (category 3 unknown)
    ("ochuman", "native", ("images", 0, "annotations", 0, "keypoints"), DELETE,
     r"images\[0\].*annotations\[0\].*: field 'keypoints': required key is missing"),  # was: written back as null
    ("ochuman", "native", ("images", 0, "width"), 2**64,  # orjson reads it as the float 1.8e19
     r"images\[0\] .*: field 'width': expected a non-negative whole number, found 1.8446744073709552e\+19"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "label", "path", "value", "error"), PINNED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PINNED)]
)
def test_pinned_mutations_that_found_bugs(tmp_path, name, label, path, value, error):
    sample, mutation = _pinned(name, label, path, None if value is DELETE else value, delete=value is DELETE)
    outcome = check(name, sample, mutation, tmp_path)
    if error is None:
        assert (outcome.result, outcome.detail) == ("read", "reads and round-trips")
    else:
        assert outcome.result == "error", outcome.detail
        text = outcome.detail.split(": ", 1)[1]
        assert text == error or re.fullmatch(error, text), text


def test_the_contract_check_catches_broken_readers(tmp_path, monkeypatch):
    """The harness is not vacuous: a reader that leaks an exception, names no record or field,
    prints several lines or drops data silently is judged wrong."""
    from fiftyone_pose.formats import coco

    sample = samples_of("coco")[0]
    doc = copy.deepcopy(sample.files[sample.main])
    doc["annotations"][3]["keypoints"][4] = "1"
    mutation = Mutation("change_type", sample.main, "annotations[3].keypoints[4] = '1'",
                        ("annotations", 3, "keypoints", 4), doc,
                        in_record=True, in_field=True, record="annotations[3]")  # fmt: skip
    assert check("coco", sample, mutation, tmp_path).result == "error"  # the real reader: right

    def raising(exc):
        def read(path, **kwargs):
            raise exc(path) if callable(exc) else exc

        return read

    broken = {
        "KeyError": raising(KeyError("keypoints")),
        "no record": raising(lambda p: PoseFormatError("bad", path=p)),
        "no field": raising(lambda p: PoseFormatError("bad", path=p, record="annotations[3] (id 3)")),
        "two lines": raising(
            lambda p: PoseFormatError("bad\nworse", path=p, record="annotations[3]", field="keypoints")
        ),
        "no file": raising(lambda p: PoseFormatError("bad", record="annotations[3]", field="keypoints")),
    }
    for what, read in broken.items():
        monkeypatch.setattr(coco, "read", read)
        outcome = check("coco", sample, mutation, tmp_path)
        assert outcome.result == "wrong", what
    monkeypatch.undo()

    real_read = coco.read

    def forgetful(path, **kwargs):  # drops an extra key: reads, but the round trip is not lossless
        data = real_read(path, **kwargs)
        data.persons.extras[3].pop("source_note", None)
        return data

    monkeypatch.setattr(coco, "read", forgetful)
    unchanged = Mutation("none", sample.main, "unchanged", (), sample.files[sample.main])
    outcome = check("coco", sample, unchanged, tmp_path)
    assert outcome.result == "wrong" and "not lossless" in outcome.detail


# ------------------------------------------------------------------------------ FiftyOne side


def _make_image(path: Path, how: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "directory":
        path.mkdir()
    elif how == "symlink-loop":
        path.symlink_to(path.name)
    elif how != "missing":
        path.write_bytes(IMAGE_FILES[how])


IMAGE_FILES = {
    "empty": b"",
    "garbage": b"\x00\x01 not an image \xfe" * 40,
    "jpeg-start-only": b"\xff\xd8\xff",
    "png-signature-only": b"\x89PNG\r\n\x1a\n",
    "png-bad-crc": png(33, 17)[:29] + b"\x00\x00\x00\x00" + png(33, 17)[33:],
    "png-zero-width": png(0, 17, pixels=False),
    "png-huge-header": png(200_000, 200_000, pixels=False),  # a "decompression bomb" header
    "readable-png": png(33, 17),
}
UNREADABLE = ["missing", "directory", "symlink-loop"] + [k for k in IMAGE_FILES if k != "readable-png"]


@pytest.mark.parametrize("name", HARNESS_FORMATS)
def test_unreadable_image_for_size_probing_fails_clearly_and_leaves_nothing(fo_db, name, tmp_path, capsys):
    """An image without a size in the file is measured from its header; when that cannot be read
    the import fails naming the file, the image record and the field, and no dataset remains."""
    from fiftyone_pose.fo import api

    if formats.is_predictions(name):
        pytest.skip("model predictions are added to a dataset, not imported as one (tests/test_predictions.py)")
    sample = samples_of(name)[0]
    materialize(sample, None, tmp_path / "in")
    src = tmp_path / "in" / sample.main
    before = sorted(fo_db.list_datasets())
    counts = Counter()
    for k, how in enumerate(UNREADABLE + ["readable-png"]):
        data = formats.read(src, name, **sample.read_options)
        if len(data.images) == 0:
            pytest.skip(f"the {name} sample has no images")
        i = k % len(data.images)
        unknown = (data.images.widths <= 0) | (data.images.heights <= 0)  # e.g. AI Challenger lists no sizes
        data.images.widths[unknown], data.images.heights[unknown] = 640, 480
        data.images.widths[i] = data.images.heights[i] = 0
        images_dir = tmp_path / f"images-{k}"
        _make_image(images_dir / data.images.file_names[i], how)
        dataset_name = f"probe-{uuid.uuid4().hex[:8]}"
        try:
            ds = api.create_dataset(data, images_dir, dataset_name)
        except PoseFormatError as e:
            e = e.with_path(src)
            assert how != "readable-png", str(e)
            text = str(e)
            assert "\n" not in text
            assert text.startswith(f"{src}: images[{i}] (id {data.images.ids[i]}, "
                                   f"{images_dir / data.images.file_names[i]}): "
                                   "field 'width': "), text  # fmt: skip
            assert sorted(fo_db.list_datasets()) == before, how
            counts["error"] += 1
            continue
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"{how}: {type(e).__name__} instead of PoseFormatError: {e}")
        try:
            assert how == "readable-png", f"{how}: imported although the image cannot be read"
            metadata = ds.match({"image_id": int(data.images.ids[i])}).first().metadata
            assert (metadata.width, metadata.height) == (33, 17)
        finally:
            ds.delete()
        counts["read"] += 1
    assert sorted(fo_db.list_datasets()) == before
    with capsys.disabled():
        print(f"\nsize probing [{name}]: {len(UNREADABLE)} unreadable images, {counts['error']} right errors, "
              f"{counts['read']} readable image measured, 0 datasets left")  # fmt: skip
    assert counts == {"error": len(UNREADABLE), "read": 1}


def _accept_sizes_from_headers(fo_doc, pure_doc, data) -> None:
    """Where the file gives no width/height FiftyOne reads it from the image (counted in the
    import's notes as "image sizes read from image headers") and the export writes it: accept an
    absent key written with the header's value (33 x 17); null and 0 are written back as given."""
    if not (isinstance(fo_doc, dict) and isinstance(fo_doc.get("images"), list)):
        return
    for j, rec in enumerate(pure_doc.get("images") or ()):
        if not (
            isinstance(rec, dict) and j < len(fo_doc["images"]) and data.images.widths[j] * data.images.heights[j] == 0
        ):
            continue
        for key, header in (("width", 33), ("height", 17)):
            if key not in rec and fo_doc["images"][j].get(key) == header:
                rec[key] = header


def test_a_size_the_file_gives_is_kept_when_the_other_is_read_from_the_image(fo_db, dataset_name, tmp_path):
    """Pinned (found by the harness): an image with a height but no width used to take both from
    the image header, so the file's height was replaced on export and the points normalised by it."""
    from fiftyone_pose.fo import api

    doc = coco_doc()
    del doc["images"][1]["width"]  # sub/dir/9.jpg: height 375 stays the file's
    src = tmp_path / "person_keypoints.json"
    src.write_bytes(orjson.dumps(doc))
    (tmp_path / "sub" / "dir").mkdir(parents=True)
    (tmp_path / "sub" / "dir" / "9.jpg").write_bytes(IMAGE_FILES["readable-png"])  # a 33 x 17 image
    ds = api.load(src, name=dataset_name)
    metadata = ds.match({"image_id": 3000000000}).first().metadata
    assert (metadata.width, metadata.height) == (33, 375)
    out = tmp_path / "out.json"
    api.export(ds, out)
    written = orjson.loads(out.read_bytes())["images"][1]
    assert (written["width"], written["height"]) == (33, 375)  # the header's width (counted), the file's height


FO_KINDS = ("change_type", "delete_key", "bad_size", "wrong_length", "duplicate_id", "dangling_reference")
FO_EXAMPLES = int(os.environ.get("FIFTYONE_POSE_HARNESS_FO_EXAMPLES", "24"))


@pytest.mark.parametrize("name", HARNESS_FORMATS)
def test_mutated_files_import_completely_or_not_at_all(fo_db, name, tmp_path, capsys):
    """Mutated files imported for real: a complete dataset that exports what the pure writer
    writes, or a ``PoseFormatError`` and the dataset list exactly as before (no temp dataset)."""
    from fiftyone_pose.fo import api

    if formats.is_predictions(name):
        pytest.skip("model predictions are added to a dataset, not imported as one (tests/test_predictions.py)")
    samples = [s for s in samples_of(name) if any(has_targets(s, k) for k in FO_KINDS)]
    if not samples:
        pytest.skip(f"no {name} sample has JSON records to mutate")
    before = sorted(fo_db.list_datasets())
    counts = Counter()
    # readable images beside the file, so files that give no image sizes (AI Challenger) import too
    image_names = {}
    for k, sample in enumerate(samples):
        materialize(sample, None, tmp_path / f"valid-{k}")
        image_names[id(sample)] = formats.read(
            tmp_path / f"valid-{k}" / sample.main, name, **sample.read_options
        ).images.file_names
    wrong: list[str] = []

    @_settings(FO_EXAMPLES)
    @given(st.data())
    def run(data):
        sample = data.draw(st.sampled_from(samples), label="sample")
        kind = data.draw(st.sampled_from([k for k in FO_KINDS if has_targets(sample, k)]), label="kind")
        mutation = data.draw(mutation_strategy(sample, kind), label="mutation")
        if mutation is None:
            return
        work = tmp_path / uuid.uuid4().hex[:8]
        materialize(sample, mutation, work / "in")
        src = work / "in" / sample.main
        for file_name in image_names[id(sample)]:
            image = (src if src.is_dir() else src.parent) / file_name
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(IMAGE_FILES["readable-png"])
        dataset_name = f"mut-{uuid.uuid4().hex[:8]}"
        try:
            ds = api.load(src, format=name, name=dataset_name, **sample.read_options)
        except PoseFormatError as e:
            left = sorted(set(fo_db.list_datasets()) - set(before))
            if left or "\n" in str(e) or e.path != os.fspath(src):
                wrong.append(f"{mutation}: {e!s:.200}; datasets left: {left}")
            counts["error"] += 1
            return
        except Exception as e:  # noqa: BLE001
            wrong.append(f"{mutation}: {type(e).__name__}: {e!s:.200}")
            counts["wrong"] += 1
            return
        try:
            expected = formats.read(src, name, **sample.read_options)
            if len(ds) != len(expected.images):
                wrong.append(f"{mutation}: {len(ds)} samples, the file has {len(expected.images)} images")
            formats.write(expected, work / "pure.out", name)
            api.export(ds, work / "fo.out", name)
            # the same document (values, number types, key sets; key order is not significant), but
            # for one counted adjustment: a size the file lacks is written as read from the image
            fo_doc, pure_doc = (
                orjson.loads((work / "fo.out").read_bytes()),
                orjson.loads((work / "pure.out").read_bytes()),
            )
            _accept_sizes_from_headers(fo_doc, pure_doc, expected)
            diff = first_difference(fo_doc, pure_doc)
            if diff:
                wrong.append(f"{mutation}: the export of the imported dataset differs from the pure round trip: {diff}")
            counts["read"] += 1
        except Exception as e:  # noqa: BLE001
            wrong.append(f"{mutation}: imported, then {type(e).__name__}: {e!s:.200}")
        finally:
            ds.delete()

    run()
    half_imported = sorted(set(fo_db.list_datasets()) - set(before))
    tried = sum(counts.values())
    with capsys.disabled():
        print(f"\nFiftyOne import of mutated files [{name}]: {tried} tried, {counts['error']} right errors, "
              f"{counts['read']} complete datasets (export = pure writer), "
              f"{len(half_imported)} half-imported datasets")  # fmt: skip
    assert wrong == [], "\n".join(wrong[:30])
    assert half_imported == []
    assert api.leftover_datasets() == [n for n in before if n.startswith(api.TEMP_PREFIX)]
    assert tried >= 0.9 * FO_EXAMPLES
