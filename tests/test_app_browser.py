"""The App on the built-in demo dataset, with the plugin installed: its REST endpoints, and a real
headless Chromium showing the samples, the skeleton edges and the plugin's operators.

The App runs in a background process (``tests/app_server.py``) on a free port of 127.0.0.1. The
browser tests are skipped where no Chromium is installed (``apt-get install chromium``; CI installs
it) or Python's ``playwright`` is missing; the REST tests always run. Screenshots are saved under
``$FIFTYONE_POSE_ARTIFACTS`` (default: ``<tmp>/fiftyone-pose-artifacts``) and the path printed;
with ``FIFTYONE_POSE_UPDATE_DOCS=1`` the README's ``docs/app-skeletons.png`` is rewritten too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from app_server import BOX_COLOR, DATASET, H36M_DATASET, NO_SKELETON, SKELETON_COLOR

from fiftyone_pose.cli import main as cli_main
from fiftyone_pose.demo.run import demo_paths
from fiftyone_pose.plugin import OPERATORS, PLUGIN_NAME

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
try:
    import playwright.sync_api  # noqa: F401

    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False
browser_test = pytest.mark.skipif(
    not (CHROMIUM and HAVE_PLAYWRIGHT), reason="needs Debian's chromium (apt-get install chromium) and playwright"
)
# no update checks, sync, crash reports or other calls home: the machine has no network but the registries
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-default-apps", "--disable-domain-reliability", "--disable-breakpad",
    "--disable-client-side-phishing-detection", "--metrics-recording-only", "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]  # fmt: skip
LABELS = ["Import pose dataset", "Export pose view", "Curate poses", "Pose statistics"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts():
    path = Path(os.environ.get("FIFTYONE_POSE_ARTIFACTS") or Path(tempfile.gettempdir()) / "fiftyone-pose-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def app(fo_db, tmp_path_factory):
    """The App serving the demo datasets with the plugin installed; yields its URL."""
    fo_db.list_datasets()  # the database runs before the App's process starts
    plugins = tmp_path_factory.mktemp("plugins")
    assert cli_main(["plugin", "install", "--dir", str(plugins)]) == 0
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "FIFTYONE_PLUGINS_DIR": str(plugins), "FIFTYONE_DO_NOT_TRACK": "true"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("app_server.py")), str(port),
             str(tmp_path_factory.mktemp("h36m-app"))],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the App did not start (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            if "serving" in log.read_text():
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the App's process and the server it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for name in (DATASET, NO_SKELETON, H36M_DATASET):
            if fo_db.dataset_exists(name):
                fo_db.delete_dataset(name)


def _post(url: str, path: str, payload: dict):
    req = urllib.request.Request(
        url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read().decode()
    return body


# ------------------------------------------------------------------------------------ REST


def test_server_lists_the_operators(app):
    listed = json.loads(_post(app, "/operators", {"dataset_name": DATASET}))
    uris = {op["uri"] for op in listed["operators"]}
    assert {f"{PLUGIN_NAME}/{name}" for name in OPERATORS} <= uris
    assert not [e for e in listed["errors"] if "pose" in json.dumps(e)]


def test_server_executes_the_operators(app, tmp_path, fo_db):
    res = json.loads(_post(app, "/operators/execute", {
        "operator_uri": f"{PLUGIN_NAME}/curate_poses", "dataset_name": DATASET,
        "params": {"filter": "persons_with_visible", "min_count": 8},
    }))  # fmt: skip
    assert res["error"] is None and res["result"] == {"images": 27, "persons": 72}
    set_view = [r for r in res["executor"]["requests"] if r["operator_uri"] == "set_view"]
    assert set_view and set_view[0]["params"]["view"][0]["kwargs"][0] == ["field", "ground_truth"]

    out = tmp_path / "all.json"
    res = json.loads(_post(app, "/operators/execute", {
        "operator_uri": f"{PLUGIN_NAME}/export_pose_view", "dataset_name": DATASET,
        "params": {"path": str(out), "format": "coco", "view_target": "DATASET"},
    }))  # fmt: skip
    assert res["error"] is None and res["result"]["persons"] == 90
    assert len(json.loads(out.read_text())["annotations"]) == 90

    labels, _ = demo_paths()
    name = "fiftyone-pose-imported-by-the-app"
    stream = _post(app, "/operators/execute/generator", {
        "operator_uri": f"{PLUGIN_NAME}/import_pose_dataset", "dataset_name": DATASET,
        "params": {"path": str(labels), "format": "auto", "name": name, "overwrite": True},
    })  # fmt: skip
    messages = [json.loads(line) for line in stream.splitlines() if line.strip()]
    ops = [m["body"]["operator_uri"] for m in messages if m.get("cls") == "InvocationRequest"]
    assert ops[0] == "set_progress" and ops[-1] == "open_dataset", messages
    try:
        assert fo_db.load_dataset(name).count("ground_truth.keypoints") == 90
    finally:
        fo_db.delete_dataset(name)


def _stream(url: str, operator: str, params: dict, **request) -> list[dict]:
    body = _post(url, "/operators/execute/generator", {
        "operator_uri": f"{PLUGIN_NAME}/{operator}", "dataset_name": DATASET, "params": params, **request,
    })  # fmt: skip
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _invoked(messages: list[dict]) -> list[tuple[str, dict]]:
    return [(m["body"]["operator_uri"], m["body"]["params"]) for m in messages if m.get("cls") == "InvocationRequest"]


def test_a_failed_import_shows_the_error_line_in_the_app(app, tmp_path):
    """The stream used to end after 'set_progress 0' and the dialog waited forever: it now ends
    with the failure in the form the App reads (an ExecutionResult's error), the CLI's line."""
    from fiftyone_pose import formats

    bad = tmp_path / "mystery.json"
    bad.write_text("[1, 2]")
    messages = _stream(app, "import_pose_dataset", {"path": str(bad), "format": "auto", "name": "never-made"})
    known = ", ".join(sorted(formats.REGISTRY))
    line = f"{bad}: cannot tell the format from the content; choose 'Format' (one of: {known})"
    assert messages[-1]["error"] == line and messages[-1]["error_message"] == line
    ops = _invoked(messages)
    assert ops[-2:] == [
        ("set_progress", {"label": line, "progress": 0.0}),
        ("notify", {"message": line, "variant": "error"}),
    ]
    assert "open_dataset" not in [op for op, _ in ops]

    labels, _ = demo_paths()  # a dataset of that name exists: the form's checkbox is named
    messages = _stream(app, "import_pose_dataset", {"path": str(labels), "name": DATASET})
    assert messages[-1]["error"] == (
        f"dataset '{DATASET}' already exists; tick 'Replace a dataset of that name' to replace it"
    )


def test_importing_from_the_sample_modal_closes_it_before_opening_the_new_dataset(app, fo_db):
    labels, _ = demo_paths()
    name = "fiftyone-pose-imported-from-the-modal"
    sample_id = fo_db.load_dataset(DATASET).first().id
    params = {"path": str(labels), "name": name, "overwrite": True}
    try:
        ops = [op for op, _ in _invoked(_stream(app, "import_pose_dataset", params, current_sample=sample_id))]
        assert ops[-2:] == ["close_sample", "open_dataset"], ops
        ops = [op for op, _ in _invoked(_stream(app, "import_pose_dataset", params))]  # no modal open
        assert ops[-1] == "open_dataset" and "close_sample" not in ops
    finally:
        if fo_db.dataset_exists(name):
            fo_db.delete_dataset(name)


# ------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser, url: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    # FIFTYONE_DO_NOT_TRACK removes the consent banner; this the promotional popover
    page.add_init_script("window.localStorage.setItem('fiftyone-enterprise-tooltip-seen', 'true')")
    page.goto(url)
    return page


def _color_pixels(path: Path, hex_color: str, tol: int = 65, region: tuple[int, int] | None = None) -> int:
    """Pixels of ``hex_color`` (within ``tol`` per channel), in the columns ``region`` if given."""
    from PIL import Image

    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    if region is not None:
        img = img[:, region[0] : region[1]]
    return int((np.abs(img - rgb).max(axis=-1) <= tol).sum())


def _saved(artifacts: Path, name: str) -> Path:
    path = artifacts / name
    print(f"screenshot: {path}")
    return path


@browser_test
def test_grid_shows_the_samples(app, browser, artifacts):
    page = _page(browser, f"{app}/datasets/{DATASET}")
    page.wait_for_selector("[data-cy=fo-grid] canvas", timeout=90_000)
    page.get_by_text("30 samples").wait_for(timeout=30_000)
    page.wait_for_timeout(3000)  # let the tiles draw their labels
    assert page.locator("[data-cy=fo-grid] canvas").count() >= 8
    grid = _saved(artifacts, "app-grid.png")
    page.locator("[data-cy=fo-grid]").screenshot(path=grid)
    assert _color_pixels(grid, SKELETON_COLOR) > 2000  # keypoints are drawn on the tiles
    assert _color_pixels(grid, BOX_COLOR) > 2000  # and the persons' boxes
    page.close()


@browser_test
def test_skeleton_edges_are_drawn(app, browser, artifacts, fo_db):
    """The sample view of the demo's largest person: with the dataset's skeleton the keypoints'
    colour covers several times more pixels than without it (the edges, not only the points)."""
    counts = {}
    for name in (DATASET, NO_SKELETON):
        ds = fo_db.load_dataset(name)
        areas = ds.values(fo_db.ViewField("ground_truth.keypoints").map(fo_db.ViewField("area")).max())
        sample_id = ds.values("id")[int(np.nanargmax(np.array(areas, dtype=float)))]
        page = _page(browser, f"{app}/datasets/{name}?id={sample_id}")
        page.wait_for_selector("[data-cy=modal-looker-container] canvas", timeout=90_000)
        page.wait_for_timeout(4000)
        shot = _saved(artifacts, f"app-sample-{name}.png")
        page.locator("[data-cy=modal-looker-container]").screenshot(path=shot)
        counts[name] = _color_pixels(shot, SKELETON_COLOR)
        if name == DATASET:
            page.screenshot(path=_saved(artifacts, "app-skeletons.png"))
            if os.environ.get("FIFTYONE_POSE_UPDATE_DOCS"):
                page.screenshot(path=ROOT / "docs" / "app-skeletons.png")
        page.close()
    assert counts[NO_SKELETON] > 100, counts  # the points alone
    assert counts[DATASET] >= 3 * counts[NO_SKELETON], counts


@browser_test
def test_operator_browser_lists_and_runs_the_plugin(app, browser, artifacts):
    page = _page(browser, f"{app}/datasets/{DATASET}")
    page.wait_for_selector("[data-cy=fo-grid] canvas", timeout=90_000)
    page.click("[data-cy=action-browse-operations]")
    page.fill("[data-cy=operators-browser-search]", "pose")
    for label in LABELS:
        page.get_by_text(label, exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=_saved(artifacts, "app-operators.png"))
    # the curation form, run from the App: the grid then shows the curated view
    page.get_by_text("Curate poses", exact=True).first.click()
    page.get_by_text("Persons with N visible points (v = 2)").first.wait_for(timeout=30_000)
    page.get_by_text("at least this many visible points").first.wait_for(timeout=30_000)  # from the docstring
    page.locator("form input[type=number]").first.fill("8")  # min count
    page.screenshot(path=_saved(artifacts, "app-curate-form.png"))
    page.get_by_role("button", name="Execute").click()
    page.get_by_text("27 samples").wait_for(timeout=60_000)
    page.get_by_text("Persons shown").wait_for(timeout=30_000)
    page.screenshot(path=_saved(artifacts, "app-curated.png"))
    page.close()


def _run_import(page, path: str, name: str) -> None:
    """Fill the Import pose dataset form (path, dataset name) and execute it."""
    page.locator("[data-cy=action-browse-operations]").last.click()  # the modal's, when it is open
    page.fill("[data-cy=operators-browser-search]", "pose")
    page.get_by_text("Import pose dataset", exact=True).first.click()
    page.get_by_text("Annotation file").first.wait_for(timeout=30_000)
    text = page.locator("form input[type=string]")  # path, images folder, dataset name, field
    text.nth(0).fill(path)
    text.nth(2).fill(name)
    page.get_by_role("button", name="Execute").click()


@browser_test
def test_a_failed_import_shows_its_error_in_the_dialog(app, browser, artifacts, tmp_path):
    bad = tmp_path / "mystery.json"
    bad.write_text("[1, 2]")
    page = _page(browser, f"{app}/datasets/{DATASET}")
    page.wait_for_selector("[data-cy=fo-grid] canvas", timeout=90_000)
    _run_import(page, str(bad), "never-made")
    page.get_by_text(f"{bad}: cannot tell the format from the content; choose 'Format'").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert page.get_by_text("Failed to execute operator").count() == 0  # every step of the failure ran
    page.screenshot(path=_saved(artifacts, "app-import-error.png"))
    page.close()


@browser_test
def test_an_import_from_the_sample_modal_opens_the_new_dataset(app, browser, artifacts, fo_db):
    labels, _ = demo_paths()
    name = "fiftyone-pose-from-the-modal"
    sample_id = fo_db.load_dataset(DATASET).first().id
    page = _page(browser, f"{app}/datasets/{DATASET}?id={sample_id}")
    try:
        page.wait_for_selector("[data-cy=modal-looker-container] canvas", timeout=90_000)
        _run_import(page, str(labels), name)
        page.wait_for_url(f"**/datasets/{name}**", timeout=120_000)
        page.get_by_text("30 samples").wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        assert page.locator("[data-cy=modal-looker-container]").count() == 0
        assert page.get_by_text("not found").count() == 0
        page.screenshot(path=_saved(artifacts, "app-import-from-modal.png"))
    finally:
        page.close()
        if fo_db.dataset_exists(name):
            fo_db.delete_dataset(name)


@browser_test
def test_h36m_group_shows_four_views_and_the_3d_skeleton(app, browser, artifacts, fo_db):
    """A Human3.6M group (tests/app_server.py imports a generated file grouped, with cameras): the
    carousel holds the four camera views, and the 3D viewer draws the skeleton's left and right
    sides in their colours."""
    from fiftyone_pose.fo.h36m import SIDE_COLORS

    ds = fo_db.load_dataset(H36M_DATASET)
    group_id = ds.first().group.id
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.add_init_script(
        "window.localStorage.setItem('fiftyone-enterprise-tooltip-seen', 'true');"
        "window.localStorage.setItem('fo-3d-annotation-tips-dismissed', 'true')"
    )
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(2):  # on a loaded machine the App has once come up without the modal: load it again
        page.goto(f"{app}/datasets/{H36M_DATASET}?groupId={group_id}")
        try:
            page.wait_for_selector("[data-cy=group-carousel] canvas", timeout=60_000)
            break
        except PlaywrightTimeout:
            page.screenshot(path=_saved(artifacts, f"app-h36m-group-not-open-{attempt}.png"))
    else:
        pytest.fail("the group's modal did not open (screenshots saved)")
    page.wait_for_selector("[data-cy=looker3d] canvas", timeout=90_000)
    page.get_by_text("All assets loaded successfully!").wait_for(timeout=60_000)
    page.wait_for_timeout(4000)  # the carousel's images and the scene's first frames
    carousel_items = page.locator("[data-cy=group-carousel] canvas").count()
    carousel = _saved(artifacts, "app-h36m-carousel.png")
    page.locator("[data-cy=group-carousel]").screenshot(path=carousel)
    viewer = _saved(artifacts, "app-h36m-3d.png")
    page.locator("[data-cy=looker3d]").screenshot(path=viewer)
    page.screenshot(path=_saved(artifacts, "app-h36m-group.png"))
    if os.environ.get("FIFTYONE_POSE_UPDATE_DOCS"):
        page.screenshot(path=ROOT / "docs" / "app-h36m-group.png")
    page.close()
    from PIL import Image

    # the four views: four thumbnails side by side, each with its person's keypoints drawn in colour
    img = np.asarray(Image.open(carousel).convert("RGB")).astype(int)
    coloured = (img.max(axis=-1) - img.min(axis=-1)) > 80
    width = coloured.shape[1]
    strips = [int(coloured[:, i * width // 4 : (i + 1) * width // 4].sum()) for i in range(4)]
    assert carousel_items >= 4 and min(strips) > 40, (carousel_items, strips)
    # the 3D skeleton: its left side cyan, its right side pink-red (lit, so told apart by hue), below the
    # viewer's axes gizmo and above its toolbar
    r, g, b = np.moveaxis(np.asarray(Image.open(viewer).convert("RGB")).astype(int)[150:-80], -1, 0)
    assert SIDE_COLORS["left"] == "#00d5ff" and SIDE_COLORS["right"] == "#ff3d6e"
    left, right = int(((g - r > 60) & (b - r > 60)).sum()), int(((r - g > 100) & (b - g > 20)).sum())
    assert left > 300 and right > 300, (left, right)


@browser_test
def test_h36m_sequences_step_through_the_frames(app, browser, artifacts, fo_db):
    """The saved view ``sequences``: a dynamic group per (subject, action, camera), whose modal
    pages through the sequence's frames (two here) in order."""
    first = fo_db.load_dataset(H36M_DATASET).load_saved_view("sequences").first().id
    page = _page(browser, f"{app}/datasets/{H36M_DATASET}?view=sequences&id={first}")
    bar = page.locator("[data-cy=dynamic-group-pagination-bar]")
    bar.wait_for(timeout=60_000)
    assert bar.get_by_text("2", exact=True).count() == 1
    page.screenshot(path=_saved(artifacts, "app-h36m-sequence.png"))
    page.close()
