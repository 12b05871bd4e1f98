"""Calibrated cameras: moving 3D points between world and camera frames, and projecting them to pixels.

Conventions (those of mmpose's Human3.6M ``cameras.pkl``, column vectors, metres):
``X_world = R @ X_cam + T`` and ``X_cam = R.T @ (X_world - T)``: ``R`` rotates camera
coordinates into the world, ``T`` is the camera centre in the world. The camera looks along
+z, x to the right and y down in the image.

The distortion model is the one Human3.6M's authors published with their calibration
(``ProjectPointRadial.m`` of their release code): with ``x, y`` the point divided by its depth
and ``r2 = x^2 + y^2``,

    radial = 1 + k1 r2 + k2 r2^2 + k3 r2^3
    tan    = p1 y + p2 x
    x_d    = x (radial + tan) + p2 r2
    y_d    = y (radial + tan) + p1 r2
    u, v   = f * (x_d, y_d) + c

Its tangential terms are OpenCV's (Brown-Conrady) with the ``x y``, ``x^2`` and ``y^2`` terms
halved: with Human3.6M's coefficients (|p| < 2e-3) the two differ by less than half a pixel,
and the dataset's 2D points were made with this one. Without tangential coefficients both are
the same radial model. Everything is vectorised over any leading shape: no loop per point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """One calibrated camera (see the module docstring for the conventions).

    ``R`` (3, 3), ``T`` (3,) metres, focal lengths ``f`` (2,) and principal point ``c`` (2,) in
    pixels, radial ``k`` (3,) and tangential ``p`` (2,) distortion; ``width``/``height`` of its
    images in pixels (0 where unknown).
    """

    R: np.ndarray
    T: np.ndarray
    f: np.ndarray
    c: np.ndarray
    k: np.ndarray
    p: np.ndarray
    width: int = 0
    height: int = 0

    def to_camera(self, world: np.ndarray) -> np.ndarray:
        """World points (..., 3) in this camera's frame."""
        return (np.asarray(world, dtype=np.float64) - self.T) @ self.R

    def to_world(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) in the world frame."""
        return np.asarray(points, dtype=np.float64) @ self.R.T + self.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) as pixels (..., 2), distorted (NaN behind the camera)."""
        return project(points, self.f, self.c, self.k, self.p)


def project(points: np.ndarray, f: np.ndarray, c: np.ndarray, k: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) as pixels (..., 2) through the published distortion model.

    The parameters broadcast against the points' leading shape: ``f`` and ``c`` (..., 2), ``k``
    (..., 3), ``p`` (..., 2); e.g. one camera's (2,) arrays, or per person (N, 1, 2) for points
    (N, K, 3). A point at or behind the camera's centre (depth <= 0) has no image: NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    depth = points[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = np.where(depth > 0, points[..., :2] / depth, np.nan)
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    k, p = np.asarray(k, dtype=np.float64), np.asarray(p, dtype=np.float64)
    radial = 1 + r2 * (k[..., 0] + r2 * (k[..., 1] + r2 * k[..., 2]))
    tan = p[..., 0] * y + p[..., 1] * x
    scale = (radial + tan)[..., None]
    distorted = xy * scale + r2[..., None] * p[..., ::-1]
    return distorted * f + c


def point_errors(points: np.ndarray, projected: np.ndarray) -> np.ndarray:
    """Pixel distance (...,) between 2D points (..., 2) and their projections (..., 2)."""
    return np.hypot(points[..., 0] - projected[..., 0], points[..., 1] - projected[..., 1])


def project_each(points: np.ndarray, cameras: list[Camera], index: np.ndarray, world: bool = False) -> np.ndarray:
    """Pixels (N, K, 2) of N persons' points (N, K, 3), person ``i`` seen by ``cameras[index[i]]``
    (``index`` -1: no camera, NaN). ``world``: the points are in the world frame, else each in
    its camera's frame."""
    out = np.full((*points.shape[:-1], 2), np.nan)
    has = index >= 0
    if has.any():
        i = index[has]
        R, T, f, c, k, p = (np.stack([getattr(cam, a) for cam in cameras])[i][:, None] for a in "RTfckp")
        x = np.asarray(points[has], dtype=np.float64)
        if world:
            x = np.einsum("nkj,nji->nki", x - T, R[:, 0])  # R.T @ (X - T), as rows
        out[has] = project(x, f, c, k, p)
    return out


def to_world_each(points: np.ndarray, cameras: list[Camera], index: np.ndarray) -> np.ndarray:
    """World points (N, K, 3) of N persons' camera-frame points, person ``i`` in the frame of
    ``cameras[index[i]]`` (``index`` -1: NaN)."""
    out = np.full(points.shape, np.nan)
    has = index >= 0
    if has.any():
        i = index[has]
        R, T = np.stack([cam.R for cam in cameras])[i], np.stack([cam.T for cam in cameras])[i]
        out[has] = np.einsum("nkj,nij->nki", np.asarray(points[has], dtype=np.float64), R) + T[:, None]
    return out
