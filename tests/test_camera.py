"""Camera projection (``core.camera``): OpenCV's ``projectPoints`` run on the same inputs where the
two models agree (pinhole and radial distortion), Human3.6M's published model as its authors'
``ProjectPointRadial.m`` writes it (transcribed column by column in ``benchmarks/generate.py``),
and the moves between world and camera frames. No database."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fiftyone_pose.core.camera import Camera, point_errors, project, project_each, to_world_each

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed

from benchmarks.generate import project_point_radial  # noqa: E402


def rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def camera(rng: np.random.Generator, tangential: bool = True) -> Camera:
    """A Human3.6M-like camera: f ~ 1145 px, c ~ (512, 515), its distortion magnitudes."""
    return Camera(
        R=rotation(rng),
        T=rng.normal(0, 3, 3),
        f=rng.uniform(900, 1400, 2),
        c=rng.uniform(400, 600, 2),
        k=rng.uniform([-0.3, 0.1, -0.01], [-0.1, 0.3, 0.01]),
        p=rng.uniform(-3e-3, 3e-3, 2) if tangential else np.zeros(2),
        width=1000,
        height=1002,
    )


def in_view(rng: np.random.Generator, n: int) -> np.ndarray:
    """Camera-frame points a Human3.6M camera sees: 3-7 m deep, within about 25 degrees of its axis."""
    z = rng.uniform(3, 7, n)
    return np.stack([rng.uniform(-0.45, 0.45, n) * z, rng.uniform(-0.45, 0.45, n) * z, z], axis=1)


def opencv(points: np.ndarray, cam: Camera) -> np.ndarray:
    K = np.array([[cam.f[0], 0, cam.c[0]], [0, cam.f[1], cam.c[1]], [0, 0, 1]])
    dist = np.array([cam.k[0], cam.k[1], cam.p[0], cam.p[1], cam.k[2]])
    out, _ = cv2.projectPoints(points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, dist)
    return out.reshape(-1, 2)


@pytest.mark.parametrize("seed", range(5))
def test_radial_model_equals_opencv(seed):
    rng = np.random.default_rng(seed)
    cam = camera(rng, tangential=False)
    points = in_view(rng, 500)
    assert np.abs(project(points, cam.f, cam.c, cam.k, cam.p) - opencv(points, cam)).max() < 1e-9
    # through the world frame: OpenCV's rvec/tvec from the same extrinsics
    world = cam.to_world(points)
    rvec, _ = cv2.Rodrigues(cam.R.T)
    K = np.array([[cam.f[0], 0, cam.c[0]], [0, cam.f[1], cam.c[1]], [0, 0, 1]])
    ref, _ = cv2.projectPoints(world.reshape(-1, 1, 3), rvec, -cam.R.T @ cam.T, K, np.r_[cam.k[:2], 0, 0, cam.k[2]])
    assert np.abs(cam.project(cam.to_camera(world)) - ref.reshape(-1, 2)).max() < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_published_model_equals_the_authors_projection(seed):
    rng = np.random.default_rng(seed)
    cam = camera(rng)
    world = cam.to_world(in_view(rng, 500))
    theirs = project_point_radial(world, cam.R.T, cam.T.reshape(3, 1), cam.f, cam.c, cam.k, cam.p)
    ours = cam.project(cam.to_camera(world))
    assert np.abs(ours - theirs).max() < 1e-9
    # and it is not OpenCV's tangential model, which doubles the xy, x^2, y^2 terms: under a pixel apart here
    gap = np.abs(ours - opencv(cam.to_camera(world), cam)).max()
    assert 1e-3 < gap < 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 12), st.integers(1, 17))
def test_per_person_cameras_equal_one_camera_at_a_time(seed, n, k):
    rng = np.random.default_rng(seed)
    cams = [camera(rng) for _ in range(3)]
    index = rng.integers(-1, 3, n)
    points = np.stack([in_view(rng, k) for _ in range(n)]) if n else np.zeros((0, k, 3))
    world = to_world_each(points, cams, index)
    uv = project_each(points, cams, index)
    assert np.array_equal(np.isnan(uv).all(axis=(1, 2)), index < 0) and np.isnan(world[index < 0]).all()
    for i in np.flatnonzero(index >= 0):
        cam = cams[index[i]]
        assert np.allclose(world[i], cam.to_world(points[i]), atol=1e-12)
        assert np.array_equal(uv[i], cam.project(points[i]))
    assert np.allclose(project_each(world, cams, index, world=True), uv, atol=1e-6, equal_nan=True)


def test_points_behind_the_camera_have_no_image():
    cam = camera(np.random.default_rng(0))
    uv = cam.project(np.array([[0.1, 0.2, 5.0], [0.1, 0.2, 0.0], [0.1, 0.2, -3.0]]))
    assert np.isfinite(uv[0]).all() and np.isnan(uv[1:]).all()


def test_frames_round_trip_and_errors():
    rng = np.random.default_rng(3)
    cam = camera(rng)
    world = rng.normal(size=(20, 3))
    assert np.allclose(cam.to_world(cam.to_camera(world)), world, atol=1e-12)
    assert np.allclose(cam.to_camera(cam.T), 0)  # T is the camera centre
    assert np.allclose(cam.R.T @ (world[0] - cam.T), cam.to_camera(world[0]))  # mmpose's convention
    moved = replace(cam, c=cam.c + [3.0, 4.0])
    points = in_view(rng, 7)
    assert np.allclose(point_errors(cam.project(points), moved.project(points)), 5.0)
