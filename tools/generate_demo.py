"""Deterministic generator of the built-in demo dataset (COCO person keypoints).

Every image is drawn here (stick figures on simple backgrounds), so the dataset
contains no third-party images and the annotated keypoints are exactly the
points where the figures' joints are drawn.

Run ``python tools/generate_demo.py`` from the repository to rewrite
``fiftyone_pose/demo/person_keypoints_demo.json`` and ``fiftyone_pose/demo/images/`` (the
generated data ships in the package; this generator does not).

Design notes
------------
* All randomness comes from one ``numpy.random.default_rng(SEED)``.
* The JSON depends only on numpy and pycocotools, never on how Pillow
  rasterises: visibility is decided geometrically (a joint is ``v=1`` when a
  shape drawn later -- another person or an occluding grey box -- covers it or
  comes within ``_COVER_MARGIN`` px of it), and areas/masks are computed with
  ``pycocotools.mask``.  Pillow is only used to paint the pixels.
* Figures are painted at ``SS``x supersampling and box-downsampled, so float
  keypoints are painted at their sub-pixel positions.  Coordinates use the
  pixel-centre convention: keypoint ``(x, y)`` is the centre of pixel
  ``(round(x), round(y))``.
* Colours: backgrounds are pale and unsaturated (chroma <= 26, max channel >=
  178 before JPEG); figure parts are saturated or dark, occluders are mid grey
  (118..171).  See ``is_figure_colour``.
* The JSON depends on numpy's ``default_rng`` streams; a numpy release that
  changed them would change the data (the determinism test would notice).
"""

from __future__ import annotations

import colorsys
import json
import math
import pathlib

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

SEED = 20250917
SS = 4  # supersampling factor used while painting
JPEG_QUALITY = 85
JSON_NAME = "person_keypoints_demo.json"
IMAGES_DIRNAME = "images"

KEYPOINT_NAMES = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
# COCO skeleton, 1-based, in the order of the official person_keypoints json
SKELETON = [
    [16, 14],
    [14, 12],
    [17, 15],
    [15, 13],
    [12, 13],
    [6, 12],
    [7, 13],
    [6, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [9, 11],
    [2, 3],
    [1, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [5, 7],
]
NUM_KP = len(KEYPOINT_NAMES)
FACE = (0, 1, 2, 3, 4)

N_IMAGES = 30
# Scene plan (indices into the 30 images); everything else is random.
EMPTY_IMAGES = {6, 17, 25}  # no person at all (still listed in "images")
CROWD_IMAGES = {10, 22}  # one iscrowd=1 region each
FLOAT_IMAGES = {2, 5, 9, 13, 16, 20, 24, 28}  # keypoints with 2 decimals
SUBFOLDER_IMAGES = {26, 29}  # file_name "extra/<name>.jpg"
OCCLUDER_IMAGES = {1, 3, 8, 12, 15, 19, 21, 27, 29}  # grey boxes over joints
TINY_IMAGES = {4, 11, 18, 23}  # far-away figures with a box but no keypoints
FORCED_OUT_OF_FRAME = {0, 7, 14, 26}  # at least one person partly outside

_COVER_MARGIN = 1.0  # px; a joint this close to a later-drawn shape is v=1
_P_SKIP_VISIBLE = 0.02  # annotator left a visible joint unlabelled
_P_SKIP_OCCLUDED = 0.12  # annotator left an occluded joint unlabelled
_MIN_LABELLED_HEIGHT = 75.0  # px; head radius >= 6 px, so the face is readable

SKIN_TONES = [
    (241, 194, 160),
    (226, 170, 124),
    (198, 134, 90),
    (160, 100, 62),
    (120, 74, 44),
    (88, 55, 36),
]
HAIR_COLOURS = [(40, 28, 22), (70, 45, 25), (20, 20, 24), (150, 70, 30), (95, 60, 35)]
EYE_COLOUR = (28, 26, 34)
NOSE_COLOUR = (96, 40, 34)
SHOE_COLOUR = (45, 40, 45)

LICENSES = [
    {"url": "https://example.org/licenses/cc0-1.0", "id": 1, "name": "CC0 1.0 (synthetic image)"},
    {"url": "https://example.org/licenses/cc-by-4.0", "id": 2, "name": "CC BY 4.0 (synthetic image)"},
    {"url": "https://example.org/licenses/apache-2.0", "id": 3, "name": "Apache 2.0 (synthetic image)"},
]
INFO = {
    "description": "fiftyone-pose demo: synthetic stick-figure person keypoints (COCO format)",
    "url": "https://example.org/fiftyone-pose/demo",
    "version": "1.0",
    "year": 2025,
    "contributor": "fiftyone-pose",
    "date_created": "2025/09/17",
}


def category() -> dict:
    return {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(KEYPOINT_NAMES),
        "skeleton": [list(e) for e in SKELETON],
    }


def is_figure_colour(rgb) -> bool:
    """True for pixels painted by a figure (saturated or dark), False for
    background pixels (pale, chroma <= 26, max >= 178).  The thresholds leave
    room for JPEG error."""
    r, g, b = (int(c) for c in rgb[:3])
    return (max(r, g, b) - min(r, g, b)) >= 48 or max(r, g, b) <= 125


# --------------------------------------------------------------------------
# small geometry helpers
# --------------------------------------------------------------------------


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))


def _scale_colour(c, f: float) -> tuple[int, int, int]:
    return tuple(int(round(min(255, x * f))) for x in c)


def _rot(v, ang):
    c, s = math.cos(ang), math.sin(ang)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _seg_dist(p, a, b) -> float:
    p, a, b = (np.asarray(x, float) for x in (p, a, b))
    ab = b - a
    den = float(ab @ ab)
    t = 0.0 if den == 0 else min(1.0, max(0.0, float((p - a) @ ab) / den))
    return float(np.linalg.norm(p - (a + t * ab)))


def _convex_hull(points) -> np.ndarray:
    pts = sorted(set((float(x), float(y)) for x, y in points))
    if len(pts) <= 2:
        return np.array(pts)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def _poly_dist(p, poly) -> float:
    """Distance from p to a convex polygon (0 inside)."""
    p = np.asarray(p, float)
    n = len(poly)
    inside_sign = None
    inside = True
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        c = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
        sgn = c >= 0
        if inside_sign is None:
            inside_sign = sgn
        elif sgn != inside_sign and abs(c) > 1e-12:
            inside = False
    if inside:
        return 0.0
    return min(_seg_dist(p, poly[i], poly[(i + 1) % n]) for i in range(n))


def _clip_poly_to_rect(poly, x0, y0, x1, y1) -> list[tuple[float, float]]:
    """Sutherland-Hodgman clip of a polygon against an axis-aligned rect."""
    out = [tuple(map(float, p)) for p in poly]
    for axis, bound, keep_ge in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if not out:
            break
        inp, out = out, []
        for i in range(len(inp)):
            cur, prev = inp[i], inp[i - 1]
            cur_in = cur[axis] >= bound if keep_ge else cur[axis] <= bound
            prev_in = prev[axis] >= bound if keep_ge else prev[axis] <= bound
            if cur_in != prev_in:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
            if cur_in:
                out.append(cur)
    return out


# --------------------------------------------------------------------------
# shapes: used both to paint (Pillow, supersampled) and to hit-test (exact)
# --------------------------------------------------------------------------


class Shape:
    """kind: 'capsule' (a, b, r), 'disk' (c, r), 'poly' (pts), 'cap' (hair
    chord: c, r, start, end).  ``ow`` is the outline width in px (part of the
    shape for hit-testing)."""

    def __init__(self, kind, geom, fill, outline=None, ow=0.0):
        self.kind, self.geom, self.fill, self.outline, self.ow = kind, geom, fill, outline, ow

    def dist(self, p) -> float:
        g = self.geom
        if self.kind == "capsule":
            return max(0.0, _seg_dist(p, g[0], g[1]) - g[2] - self.ow)
        if self.kind in ("disk", "cap"):
            return max(0.0, float(np.linalg.norm(np.asarray(p) - g[0])) - g[1] - self.ow)
        if self.kind == "poly":
            return max(0.0, _poly_dist(p, g) - self.ow)
        raise ValueError(self.kind)

    def hull_points(self) -> list:
        g = self.geom
        pad = self.ow
        out = []
        if self.kind == "capsule":
            for c in (g[0], g[1]):
                out += _circle_pts(c, g[2] + pad, 12)
        elif self.kind in ("disk", "cap"):
            out += _circle_pts(g[0], g[1] + pad, 24)
        else:
            out += [tuple(p) for p in g]
        return out


def _circle_pts(c, r, n):
    return [(c[0] + r * math.cos(2 * math.pi * k / n), c[1] + r * math.sin(2 * math.pi * k / n)) for k in range(n)]


def _s(v: float) -> float:
    """output-pixel coordinate (pixel-centre convention) -> supersampled canvas"""
    return (v + 0.5) * SS - 0.5


def _paint(draw: ImageDraw.ImageDraw, shape: Shape) -> None:
    g = shape.geom
    if shape.kind == "capsule":
        a, b, r = g
        w = max(1, int(round(2 * r * SS)))
        draw.line([(_s(a[0]), _s(a[1])), (_s(b[0]), _s(b[1]))], fill=shape.fill, width=w)
        for c in (a, b):
            draw.ellipse([_s(c[0]) - r * SS, _s(c[1]) - r * SS, _s(c[0]) + r * SS, _s(c[1]) + r * SS], fill=shape.fill)
    elif shape.kind == "disk":
        c, r = g
        rr = (r + shape.ow) * SS
        box = [_s(c[0]) - rr, _s(c[1]) - rr, _s(c[0]) + rr, _s(c[1]) + rr]
        if shape.outline is not None and shape.ow > 0:
            draw.ellipse(box, fill=shape.outline)
            rr = r * SS
            box = [_s(c[0]) - rr, _s(c[1]) - rr, _s(c[0]) + rr, _s(c[1]) + rr]
        draw.ellipse(box, fill=shape.fill)
    elif shape.kind == "cap":
        c, r, start, end = g
        rr = r * SS
        box = [_s(c[0]) - rr, _s(c[1]) - rr, _s(c[0]) + rr, _s(c[1]) + rr]
        draw.chord(box, start, end, fill=shape.fill)
    elif shape.kind == "poly":
        pts = [(_s(x), _s(y)) for x, y in g]
        if shape.outline is not None and shape.ow > 0:
            draw.polygon(pts, fill=shape.fill, outline=shape.outline, width=max(1, int(round(shape.ow * SS))))
        else:
            draw.polygon(pts, fill=shape.fill)
    else:
        raise ValueError(shape.kind)


# --------------------------------------------------------------------------
# stick figures
# --------------------------------------------------------------------------


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _sample_pose(rng, preset: str) -> dict:
    """Angles in degrees in the body frame: 0 = straight down, 90 = sideways
    outwards, 180 = straight up.  'fore'/'shin' are absolute angles of the
    distal segment.  'fs_*' are foreshortening factors (limb towards camera)."""

    def arm(lo, hi, dlo, dhi, fs=(0.85, 1.0)):
        a = _u(rng, lo, hi)
        return {"a": a, "b": a + _u(rng, dlo, dhi), "fs1": _u(rng, *fs), "fs2": _u(rng, *fs)}

    def leg(lo, hi, dlo, dhi, fs=(0.93, 1.0)):
        a = _u(rng, lo, hi)
        return {"a": a, "b": a + _u(rng, dlo, dhi), "fs1": _u(rng, *fs), "fs2": _u(rng, *fs)}

    stand_arm = lambda: arm(4, 22, -5, 20)  # noqa: E731
    stand_leg = lambda: leg(2, 12, -8, 3)  # noqa: E731
    lean = float(np.clip(rng.normal(0, 5), -14, 14))
    side = int(rng.integers(2))  # which side does the asymmetric thing
    if preset == "stand":
        arms, legs = [stand_arm(), stand_arm()], [stand_leg(), stand_leg()]
    elif preset == "walk":
        arms = [arm(-8, 28, 0, 45, (0.75, 1.0)) for _ in range(2)]
        legs = [leg(-4, 16, -12, 8, (0.85, 1.0)) for _ in range(2)]
    elif preset == "wave":
        arms = [stand_arm(), None]
        w = arm(75, 130, 0, 0)
        w["b"] = _u(rng, 150, 190)
        arms[1] = w
        legs = [stand_leg(), stand_leg()]
    elif preset == "arms_up":
        arms = [arm(135, 172, -10, 15), arm(135, 172, -10, 15)]
        legs = [stand_leg(), leg(5, 20, -6, 4)]
    elif preset == "star":
        arms = [arm(70, 115, -15, 25), arm(70, 115, -15, 25)]
        legs = [leg(18, 35, -5, 5), leg(18, 35, -5, 5)]
    elif preset == "squat":
        arms = [arm(10, 60, -10, 20, (0.5, 0.8)), arm(10, 60, -10, 20, (0.5, 0.8))]
        legs = []
        for _ in range(2):
            g = leg(25, 45, 0, 0, (0.55, 0.7))
            g["b"] = _u(rng, -12, 8)
            g["fs2"] = _u(rng, 0.9, 1.0)
            legs.append(g)
    elif preset == "hips":
        arms = [arm(35, 55, -110, -85), arm(35, 55, -110, -85)]
        legs = [stand_leg(), stand_leg()]
    elif preset == "kick":
        arms = [arm(30, 80, -10, 30), arm(30, 80, -10, 30)]
        legs = [leg(-5, 8, -6, 3), leg(45, 80, -10, 20)]
        lean = -abs(lean) - 4
    elif preset == "point":
        p = arm(80, 100, -5, 5)
        arms = [stand_arm(), p]
        legs = [stand_leg(), stand_leg()]
    else:
        raise ValueError(preset)
    if side:  # asymmetric element on the other side
        arms, legs = arms[::-1], legs[::-1]
        lean = -lean
    return {"arms": arms, "legs": legs, "lean": lean, "preset": preset}


PRESETS = ["stand", "walk", "wave", "arms_up", "star", "squat", "hips", "kick", "point"]
PRESET_P = np.array([0.22, 0.2, 0.12, 0.07, 0.08, 0.06, 0.09, 0.06, 0.10])


class Figure:
    """A stick person. ``joints`` is a (17, 2) float array in output-pixel
    coordinates (after quantisation), ``shapes`` the painted shapes in order."""

    def __init__(self, rng, height: float, facing_back: bool, detailed: bool, pose: dict):
        self.H = H = float(height)
        self.back = facing_back
        self.detailed = detailed
        self.pose = pose
        self.wf = _u(rng, 0.6, 1.0)  # torso turn (width factor)
        self.t = max(2.8, 0.045 * H) if detailed else max(1.0, 0.06 * H)
        self.r = 0.08 * H
        self.head_tilt = math.radians(_u(rng, -12, 12))
        self.yaw = _u(rng, -0.18, 0.18)
        # colours
        self.col_left = _hsv(_u(rng, -0.1, 0.12), _u(rng, 0.75, 1.0), _u(rng, 0.65, 0.95))
        self.col_right = _hsv(_u(rng, 0.5, 0.72), _u(rng, 0.75, 1.0), _u(rng, 0.6, 0.9))
        self.col_left_leg = _scale_colour(self.col_left, _u(rng, 0.7, 0.9))
        self.col_right_leg = _scale_colour(self.col_right, _u(rng, 0.7, 0.9))
        self.col_torso = _hsv(_u(rng, 0, 1), _u(rng, 0.7, 1.0), _u(rng, 0.55, 0.9))
        self.skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
        self.hair = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))]
        self._build_raw()

    # --- geometry at the origin (hip centre at 0, 0) ---
    def _build_raw(self):
        H, wf, p = self.H, self.wf, self.pose
        lean = math.radians(p["lean"])
        up = _rot(np.array([0.0, -1.0]), lean)
        right = _rot(np.array([1.0, 0.0]), lean)
        # person's left side is on the image right when facing the camera
        sl = -1.0 if self.back else 1.0
        hip_c = np.zeros(2)
        sh_c = hip_c + 0.29 * H * up
        j = np.zeros((NUM_KP, 2))
        j[5] = sh_c + sl * 0.115 * H * wf * right
        j[6] = sh_c - sl * 0.115 * H * wf * right
        j[11] = hip_c + sl * 0.075 * H * wf * right
        j[12] = hip_c - sl * 0.075 * H * wf * right

        def limb_dir(ang_deg, side):
            a = math.radians(ang_deg)
            return math.cos(a) * (-up) + math.sin(a) * side * right

        # arms: index 0 = person's left
        for k, (s_idx, e_idx, w_idx) in enumerate(((5, 7, 9), (6, 8, 10))):
            side = sl if k == 0 else -sl
            arm = p["arms"][k]
            j[e_idx] = j[s_idx] + 0.165 * H * arm["fs1"] * limb_dir(arm["a"], side)
            j[w_idx] = j[e_idx] + 0.15 * H * arm["fs2"] * limb_dir(arm["b"], side)
        for k, (h_idx, k_idx, a_idx) in enumerate(((11, 13, 15), (12, 14, 16))):
            side = sl if k == 0 else -sl
            leg = p["legs"][k]
            j[k_idx] = j[h_idx] + 0.23 * H * leg["fs1"] * limb_dir(leg["a"], side)
            j[a_idx] = j[k_idx] + 0.23 * H * leg["fs2"] * limb_dir(leg["b"], side)
        head_up = _rot(up, self.head_tilt)
        head_right = _rot(right, self.head_tilt)
        self.neck = sh_c
        self.head_c = sh_c + (0.06 * H + self.r) * head_up
        r, hc = self.r, self.head_c
        j[0] = hc + (self.yaw * 1.3 * r) * head_right + 0.22 * r * (-head_up)
        j[1] = hc + (sl * 0.4 + self.yaw) * r * head_right + 0.12 * r * head_up
        j[2] = hc + (-sl * 0.4 + self.yaw) * r * head_right + 0.12 * r * head_up
        j[3] = hc + sl * 0.98 * r * head_right - 0.05 * r * head_up
        j[4] = hc - sl * 0.98 * r * head_right - 0.05 * r * head_up
        self.up, self.right, self.head_up, self.head_right, self.sl = up, right, head_up, head_right, sl
        self.joints = j

    def lowest_y(self) -> float:
        return float(max(self.joints[15][1], self.joints[16][1]) + 0.5 * self.t + 0.02 * self.H)

    def place(self, dx: float, dy: float, float_coords: bool) -> None:
        """Translate, quantise the joints (int or 2 decimals) and build the
        shapes from the quantised joints so drawing == annotation."""
        d = np.array([dx, dy])
        self.joints = self.joints + d
        q = np.round(self.joints, 2) if float_coords else np.round(self.joints)
        self.joints = q
        self.head_c = self.head_c + d
        self.neck = self.neck + d
        self._build_shapes()

    def _build_shapes(self):
        j, t, r = self.joints, self.t, self.r
        S = []
        dark = lambda c: _scale_colour(c, 0.72)  # noqa: E731
        cl, cr = self.col_left, self.col_right
        cll, crl = self.col_left_leg, self.col_right_leg
        # torso quad, slightly wider than the joints
        out_r = self.right * (0.5 * t)
        quad = [j[5] + self.sl * out_r, j[6] - self.sl * out_r, j[12] - self.sl * out_r, j[11] + self.sl * out_r]
        quad = _convex_hull(quad)  # ensure convex & ordered
        S.append(Shape("poly", quad, self.col_torso, dark(self.col_torso), max(0.6, 0.12 * t)))
        # legs (far leg first does not matter in a frontal view)
        for (h, k, a), col in (((12, 14, 16), crl), ((11, 13, 15), cll)):
            S.append(Shape("capsule", (j[h], j[k], 0.55 * t), col))
            S.append(Shape("capsule", (j[k], j[a], 0.5 * t), col))
            # shoe: short segment outwards from the ankle
            side = 1.0 if j[a][0] >= j[h][0] else -1.0
            toe = j[a] + np.array([side * 0.05 * self.H, 0.012 * self.H])
            S.append(Shape("capsule", (j[a], toe, 0.45 * t), SHOE_COLOUR))
            for idx in (h, k, a):
                S.append(Shape("disk", (j[idx], 0.7 * t), dark(col)))
        # neck
        S.append(Shape("capsule", (self.neck, self.head_c, 0.4 * t), self.skin))
        # arms
        for (s, e, w), col in (((6, 8, 10), cr), ((5, 7, 9), cl)):
            S.append(Shape("capsule", (j[s], j[e], 0.5 * t), col))
            S.append(Shape("capsule", (j[e], j[w], 0.45 * t), col))
            d = j[w] - j[e]
            n = float(np.linalg.norm(d)) or 1.0
            S.append(Shape("disk", (j[w] + d / n * 0.9 * t, 0.62 * t), self.skin))  # hand
            for idx in (s, e, w):
                S.append(Shape("disk", (j[idx], 0.7 * t), dark(col)))
        # head
        hc = self.head_c
        ear_r = max(0.8, 0.26 * r)
        tilt_deg = math.degrees(self.head_tilt)
        skin_dark = _scale_colour(self.skin, 0.8)
        if not self.back:
            if self.detailed:
                for idx in (3, 4):
                    S.append(Shape("disk", (j[idx], ear_r), self.skin, skin_dark, max(0.4, 0.05 * r)))
            S.append(Shape("disk", (hc, r), self.skin, skin_dark, max(0.5, 0.07 * r)))
            S.append(Shape("cap", (hc, r * 1.02, 200 + tilt_deg, 340 + tilt_deg), self.hair))
            if self.detailed:
                eye_r = max(1.0, 0.15 * r)
                S.append(Shape("disk", (j[1], eye_r), EYE_COLOUR))
                S.append(Shape("disk", (j[2], eye_r), EYE_COLOUR))
                S.append(Shape("disk", (j[0], max(1.0, 0.14 * r)), NOSE_COLOUR))
                mouth_c = hc - 0.55 * r * self.head_up + self.yaw * r * self.head_right
                S.append(
                    Shape(
                        "capsule",
                        (
                            mouth_c - 0.22 * r * self.head_right,
                            mouth_c + 0.22 * r * self.head_right,
                            max(0.4, 0.05 * r),
                        ),
                        NOSE_COLOUR,
                    )
                )
        else:
            S.append(Shape("disk", (hc, r), self.hair, skin_dark, max(0.5, 0.07 * r)))
            if self.detailed:
                for idx in (3, 4):
                    S.append(Shape("disk", (j[idx], ear_r), self.skin, skin_dark, max(0.4, 0.05 * r)))
        self.shapes = S

    def labelable(self) -> list[int]:
        """Joints an annotator would label if visible (back view: no face)."""
        if self.back:
            return [i for i in range(NUM_KP) if i not in (0, 1, 2)]
        return list(range(NUM_KP))

    def polygon(self, w: int, h: int) -> list[tuple[float, float]]:
        pts = []
        for sh in self.shapes:
            pts += sh.hull_points()
        hull = _convex_hull(pts)
        return _clip_poly_to_rect(hull, 0.0, 0.0, float(w), float(h))


# --------------------------------------------------------------------------
# backgrounds (pale, low saturation)
# --------------------------------------------------------------------------


def _pastel(rng, vlo=0.72, vhi=0.95, smax=0.1):
    return np.array(_hsv(_u(rng, 0, 1), _u(rng, 0.03, smax), _u(rng, vlo, vhi)), float)


def _vgrad(c0, c1, H, W, y0=0, y1=None):
    y1 = H if y1 is None else y1
    t = np.linspace(0, 1, max(1, y1 - y0))[:, None, None]
    return np.broadcast_to(c0 * (1 - t) + c1 * t, (max(1, y1 - y0), W, 3))


def _background(rng, w: int, h: int, kind: str) -> tuple[Image.Image, float]:
    """Returns the supersampled background and the horizon / floor line y (in
    output pixels)."""
    W, H = w * SS, h * SS
    arr = np.zeros((H, W, 3), float)
    if kind == "outdoor":
        hor = _u(rng, 0.36, 0.52) * h
        hy = int(round(_s(hor)))
        sky0 = np.array(_hsv(_u(rng, 0.52, 0.62), _u(rng, 0.07, 0.11), _u(rng, 0.85, 0.93)), float)
        sky1 = np.array(_hsv(_u(rng, 0.52, 0.62), _u(rng, 0.03, 0.08), _u(rng, 0.93, 0.98)), float)
        g0 = np.array(_hsv(_u(rng, 0.12, 0.3), _u(rng, 0.07, 0.11), _u(rng, 0.76, 0.85)), float)
        g1 = np.array(_hsv(_u(rng, 0.12, 0.3), _u(rng, 0.05, 0.1), _u(rng, 0.7, 0.8)), float)
        arr[:hy] = _vgrad(sky0, sky1, hy, W)
        arr[hy:] = _vgrad(g0, g1, H - hy, W)
        img = Image.fromarray(arr.round().astype(np.uint8))
        d = ImageDraw.Draw(img)
        # distant hills
        hill = tuple(int(x) for x in _pastel(rng, 0.78, 0.86, 0.09))
        xs = np.linspace(-0.1 * w, 1.1 * w, 9)
        ys = hor - rng.uniform(0.02, 0.12, size=xs.size) * h
        pts = [(_s(x), _s(y)) for x, y in zip(xs, ys)] + [(_s(1.1 * w), _s(hor)), (_s(-0.1 * w), _s(hor))]
        d.polygon(pts, fill=hill)
        if rng.random() < 0.6:  # pale sun
            cx, cy, rr = _u(rng, 0.1, 0.9) * w, _u(rng, 0.08, 0.25) * h, _u(rng, 0.04, 0.07) * w
            d.ellipse([_s(cx - rr), _s(cy - rr), _s(cx + rr), _s(cy + rr)], fill=_hsv(0.14, 0.1, 0.99))
        return img, hor
    if kind == "indoor":
        floor = _u(rng, 0.55, 0.7) * h
        fy = int(round(_s(floor)))
        wall = _pastel(rng, 0.82, 0.94)
        fl = _pastel(rng, 0.72, 0.82)
        arr[:fy] = _vgrad(wall, wall * 0.96, fy, W)
        arr[fy:] = _vgrad(fl, fl * 1.04, H - fy, W)
        img = Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8))
        d = ImageDraw.Draw(img)
        base = tuple(int(x) for x in _pastel(rng, 0.72, 0.78, 0.08))
        d.rectangle([0, _s(floor) - 0.012 * h * SS, W, _s(floor) + 0.008 * h * SS], fill=base)
        for _ in range(int(rng.integers(1, 3))):  # windows / pictures
            ww, wh = _u(rng, 0.12, 0.22) * w, _u(rng, 0.15, 0.25) * h
            x0, y0 = _u(rng, 0.02, 0.98) * w - ww / 2, _u(rng, 0.06, 0.2) * h
            d.rectangle([_s(x0), _s(y0), _s(x0 + ww), _s(y0 + wh)], fill=base)
            inner = tuple(int(x) for x in _pastel(rng, 0.9, 0.97, 0.1))
            b = 0.012 * w
            d.rectangle([_s(x0 + b), _s(y0 + b), _s(x0 + ww - b), _s(y0 + wh - b)], fill=inner)
        return img, floor
    if kind == "stripes":
        floor = _u(rng, 0.6, 0.72) * h
        fy = int(round(_s(floor)))
        c0, c1 = _pastel(rng, 0.84, 0.95, 0.09), _pastel(rng, 0.8, 0.9, 0.09)
        period = _u(rng, 0.06, 0.14) * w * SS
        xs = np.arange(W)
        stripe = ((xs // period) % 2).astype(bool)
        arr[:fy] = np.where(stripe[None, :, None], c0, c1)
        fl = _pastel(rng, 0.74, 0.84)
        arr[fy:] = _vgrad(fl * 0.97, fl, H - fy, W)
        return Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8)), floor
    # "studio": smooth vertical gradient
    c0, c1 = _pastel(rng, 0.88, 0.96), _pastel(rng, 0.74, 0.84)
    arr[:] = _vgrad(c0, c1, H, W)
    return Image.fromarray(arr.round().astype(np.uint8)), _u(rng, 0.5, 0.65) * h


# --------------------------------------------------------------------------
# scene assembly
# --------------------------------------------------------------------------


def _round2(x) -> float:
    return round(float(x), 2)


def _poly_area_bbox(poly, h, w):
    flat = [_round2(v) for p in poly for v in p]
    rles = mask_utils.frPyObjects([flat], h, w)
    rle = mask_utils.merge(rles)
    area = float(mask_utils.area(rle))
    xs, ys = flat[0::2], flat[1::2]
    bbox = [_round2(min(xs)), _round2(min(ys)), _round2(max(xs) - min(xs)), _round2(max(ys) - min(ys))]
    return flat, area, bbox


def _uncompressed_rle(m: np.ndarray) -> list[int]:
    flat = np.asarray(m, dtype=np.uint8).reshape(-1, order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = [int(x) for x in np.diff(bounds)]
    if flat.size and flat[0] == 1:
        runs = [0] + runs
    return runs


def _make_tiny(rng, H, x_feet, y_feet):
    pose = _sample_pose(rng, str(rng.choice(["stand", "walk", "walk", "wave"])))
    f = Figure(rng, H, bool(rng.random() < 0.3), False, pose)
    f.place(x_feet, y_feet - f.lowest_y(), True)
    return f


def _scene(rng, idx: int, w: int, h: int, trace: list | None = None):
    """Paint one image. Returns (PIL image, list of annotation dicts without
    ids).  ``trace`` (debugging aid) receives the painted entities in order."""
    if idx in CROWD_IMAGES:
        kind = "outdoor"
    else:
        kind = str(rng.choice(["outdoor", "indoor", "stripes", "studio"], p=[0.4, 0.25, 0.15, 0.2]))
    img, horizon = _background(rng, w, h, kind)
    draw = ImageDraw.Draw(img)
    float_coords = idx in FLOAT_IMAGES
    entities = []  # (kind, object) in painting order
    anns = []

    # crowd region: a blob of many tiny figures near the horizon
    if idx in CROWD_IMAGES:
        cx = _u(rng, 0.25, 0.75) * w
        spread = _u(rng, 0.18, 0.28) * w
        tinies = []
        for _ in range(int(rng.integers(22, 34))):
            x = cx + rng.normal(0, spread / 2.2)
            y = horizon + abs(rng.normal(0, 0.03 * h)) + 0.01 * h
            tinies.append(_make_tiny(rng, _u(rng, 9, 15), x, y))
        tinies.sort(key=lambda f: f.lowest_y())
        polys = []
        for f in tinies:
            entities.append(("crowd", f))
            poly = f.polygon(w, h)
            if len(poly) >= 3:
                polys.append([_round2(v) for p in poly for v in p])
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
        m = mask_utils.decode(rle)
        counts = _uncompressed_rle(m)
        anns.append(
            {
                "segmentation": {"size": [h, w], "counts": counts},
                "num_keypoints": 0,
                "area": int(mask_utils.area(rle)),
                "iscrowd": 1,
                "keypoints": [0] * (3 * NUM_KP),
                "bbox": [_round2(v) for v in mask_utils.toBbox(rle)],
                "category_id": 1,
                "_entity": None,
            }
        )

    # far-away figures with a box only
    if idx in TINY_IMAGES:
        for _ in range(int(rng.integers(1, 4))):
            x = _u(rng, 0.08, 0.92) * w
            y = horizon + _u(rng, 0.0, 0.06) * h
            f = _make_tiny(rng, _u(rng, 14, 26), x, y)
            entities.append(("tiny", f))

    # labelled persons
    persons = []
    if idx not in EMPTY_IMAGES:
        n = int(rng.choice([1, 2, 3, 4, 5], p=[0.24, 0.26, 0.2, 0.15, 0.15]))
        if idx in (0, 19):
            n = 5
        hmax = {1: 0.9, 2: 0.8, 3: 0.68, 4: 0.55, 5: 0.48}[n] * h
        hmin = max(_MIN_LABELLED_HEIGHT, 0.45 * hmax)
        slots = np.linspace(0, w, n + 1)
        order = rng.permutation(n)
        force_out = idx in FORCED_OUT_OF_FRAME
        for k in range(n):
            for _attempt in range(50):
                H = _u(rng, hmin, hmax)
                pose = _sample_pose(rng, str(rng.choice(PRESETS, p=PRESET_P)))
                f = Figure(rng, H, bool(rng.random() < 0.15), True, pose)
                rel = (H - hmin) / max(1.0, hmax - hmin)
                feet = horizon + (0.35 + 0.6 * rel) * (h - horizon) + _u(rng, -0.03, 0.03) * h
                s = order[k]
                x = _u(rng, slots[s], slots[s + 1])
                out = force_out and k == 0 or rng.random() < 0.15
                if out:
                    mode = int(rng.integers(3))
                    if mode == 0:
                        x = -_u(rng, 0.0, 0.12) * H
                    elif mode == 1:
                        x = w + _u(rng, 0.0, 0.12) * H
                    else:
                        feet = h + _u(rng, 0.1, 0.35) * H
                f.place(x, feet - f.lowest_y(), float_coords)
                inside = sum(_inside(p, w, h) for p in f.joints)
                if inside < 5:
                    continue
                if f.joints[:, 1].min() < 0.02 * h and not out:
                    continue  # head out at the top only when intended
                if out and inside == NUM_KP:
                    continue
                break
            persons.append(f)
        persons.sort(key=lambda f: f.lowest_y())  # far (higher on screen) first
        for f in persons:
            entities.append(("person", f))

    # occluding grey boxes ("objects") in front of some joints
    if idx in OCCLUDER_IMAGES:
        targets = sorted(persons, key=lambda f: -f.H)[: 1 + int(len(persons) > 2)] if persons else []
        if not targets:
            targets = [None]
        for f in targets:
            if f is None:  # a box in an otherwise empty scene
                x0, y0 = _u(rng, 0.1, 0.6) * w, _u(rng, 0.5, 0.7) * h
                x1, y1 = x0 + _u(rng, 0.15, 0.3) * w, y0 + _u(rng, 0.15, 0.3) * h
            else:
                region = str(rng.choice(["legs", "lower", "arm", "one_leg", "side"]))
                sets = {
                    "legs": [13, 14, 15, 16],
                    "lower": [11, 12, 13, 14],
                    "arm": [[7, 9], [8, 10]][int(rng.integers(2))],
                    "one_leg": [[13, 15], [14, 16]][int(rng.integers(2))],
                    "side": [[5, 7, 11], [6, 8, 12]][int(rng.integers(2))],
                }[region]
                pts = f.joints[sets]
                pad = 1.6 * f.t + _u(rng, 0, 0.05) * f.H
                x0, y0 = pts[:, 0].min() - pad, pts[:, 1].min() - pad
                x1, y1 = pts[:, 0].max() + pad, pts[:, 1].max() + pad
                if region in ("legs", "one_leg") and rng.random() < 0.6:
                    y1 = h + 5  # box standing on the ground
                if region in ("arm", "side"):
                    y1 = max(y1, y0 + 0.2 * f.H)
            g = int(rng.integers(118, 172))
            corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            box = Shape("poly", corners, (g, g, g), (g - 28, g - 28, g - 28), 1.2)
            entities.append(("occluder", box))

    # paint everything in order
    for kind_e, obj in entities:
        if kind_e == "occluder":
            _paint(draw, obj)
            gx = obj.geom
            # plank lines so it reads as an object, not a hole
            (x0, y0), (x1, _), (_, y1) = gx[0], gx[1], gx[2]
            lc = tuple(min(255, c + 18) for c in obj.fill)
            for fr in (0.33, 0.66):
                yy = _s(y0 + fr * (y1 - y0))
                draw.line([(_s(x0) + 2 * SS, yy), (_s(x1) - 2 * SS, yy)], fill=lc, width=SS)
        else:
            for sh in obj.shapes:
                _paint(draw, sh)

    # visibility: covered by any shape painted later (other entity) -> v=1
    for pos, (kind_e, obj) in enumerate(entities):
        if kind_e != "person":
            continue
        later = []
        for k2, o2 in entities[pos + 1 :]:
            later += [o2] if k2 == "occluder" else o2.shapes
        kps = []
        for i in range(NUM_KP):
            x, y = obj.joints[i]
            if i not in obj.labelable() or not _inside((x, y), w, h):
                kps += [0, 0, 0]
                continue
            covered = any(sh.dist((x, y)) <= _COVER_MARGIN for sh in later)
            v = 1 if covered else 2
            if rng.random() < (_P_SKIP_OCCLUDED if covered else _P_SKIP_VISIBLE):
                kps += [0, 0, 0]
                continue
            if float_coords:
                kps += [_round2(x), _round2(y), v]
            else:
                kps += [int(x), int(y), v]
        poly = obj.polygon(w, h)
        flat, area, bbox = _poly_area_bbox(poly, h, w)
        anns.append(
            {
                "segmentation": [flat],
                "num_keypoints": sum(1 for v in kps[2::3] if v > 0),
                "area": area,
                "iscrowd": 0,
                "keypoints": kps,
                "bbox": bbox,
                "category_id": 1,
                "_entity": obj,
            }
        )
    for kind_e, obj in entities:
        if kind_e == "tiny":
            flat, area, bbox = _poly_area_bbox(obj.polygon(w, h), h, w)
            anns.append(
                {
                    "segmentation": [flat],
                    "num_keypoints": 0,
                    "area": area,
                    "iscrowd": 0,
                    "keypoints": [0] * (3 * NUM_KP),
                    "bbox": bbox,
                    "category_id": 1,
                    "_entity": obj,
                }
            )
    if trace is not None:
        trace.append(entities)
    out = img.reduce(SS)
    return out, anns


def _inside(p, w, h) -> bool:
    return 0.0 <= p[0] <= w - 1 and 0.0 <= p[1] <= h - 1


def build(rng=None, trace: list | None = None):
    """Build (coco_dict, {file_name: PIL image}) without touching the disk."""
    rng = np.random.default_rng(SEED) if rng is None else rng
    images, annotations, files = [], [], {}
    image_id = 1000042
    ann_id = 900001
    for idx in range(N_IMAGES):
        w, h = ((400, 300), (320, 240))[int(rng.random() < 0.4)]
        img, anns = _scene(rng, idx, w, h, trace)
        name = f"{image_id:012d}.jpg"
        if idx in SUBFOLDER_IMAGES:
            name = "extra/" + name
        date = (
            f"2024-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d} "
            f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}"
        )
        images.append(
            {
                "license": int(rng.integers(1, len(LICENSES) + 1)),
                "file_name": name,
                "coco_url": f"http://images.example.org/demo/{name}",
                "height": h,
                "width": w,
                "date_captured": date,
                "flickr_url": f"http://farm{int(rng.integers(1, 9))}.static.example.org/demo/{name}",
                "id": image_id,
            }
        )
        files[name] = img
        for a in anns:
            a = {k: v for k, v in a.items() if k != "_entity"}
            a["image_id"] = image_id
            a["id"] = ann_id
            # COCO key order
            annotations.append(
                {
                    k: a[k]
                    for k in (
                        "segmentation",
                        "num_keypoints",
                        "area",
                        "iscrowd",
                        "keypoints",
                        "image_id",
                        "bbox",
                        "category_id",
                        "id",
                    )
                }
            )
            ann_id += int(rng.integers(1, 6))
        image_id += int(rng.integers(3, 97))
    coco = {
        "info": dict(INFO),
        "licenses": [dict(x) for x in LICENSES],
        "images": images,
        "annotations": annotations,
        "categories": [category()],
    }
    return coco, files


def generate(out_dir: pathlib.Path) -> pathlib.Path:
    """Write ``person_keypoints_demo.json`` and ``images/`` into ``out_dir``;
    returns the json path.  Stale ``*.jpg`` under ``out_dir/images`` that are
    not part of the dataset are removed."""
    out_dir = pathlib.Path(out_dir)
    img_dir = out_dir / IMAGES_DIRNAME
    coco, files = build()
    written = set()
    for name, img in files.items():
        p = img_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        img.save(p, format="JPEG", quality=JPEG_QUALITY, optimize=True, subsampling=0)
        written.add(p.resolve())
    for p in img_dir.rglob("*.jpg"):
        if p.resolve() not in written:
            p.unlink()
    json_path = out_dir / JSON_NAME
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump(coco, fh, indent=None)
    return json_path


if __name__ == "__main__":
    path = generate(pathlib.Path(__file__).resolve().parents[1] / "fiftyone_pose" / "demo")
    print(path)
