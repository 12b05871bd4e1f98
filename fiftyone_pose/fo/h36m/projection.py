"""The ``projected`` field and ``reprojection_error`` of Human3.6M's image samples: the 3D points
through each view's camera, and how far the 2D points are from them."""

from __future__ import annotations

import fiftyone as fo
import numpy as np

from ...core.camera import point_errors, project_each
from ...core.model import PoseData
from .. import documents
from .. import rawbson as rb
from .frames import CameraTable
from .layout import ERROR_FIELD, PROJECTED

_NOTE_NO_CAMERA = "persons whose (subject, camera) has no parameters in the cameras file (not projected)"


class Projector:
    """The ``projected`` field and ``reprojection_error`` of image samples, a batch at a time."""

    def __init__(
        self,
        data: PoseData,
        points: np.ndarray,
        world: bool,
        cams: CameraTable,
        notes: dict[str, int],
    ) -> None:
        self.data, self.points, self.world, self.cams = data, points, world, cams
        p = data.persons
        self.order = np.argsort(p.image_index, kind="stable")
        self.starts = np.searchsorted(p.image_index[self.order], np.arange(len(data.images) + 1))
        missing = int((cams.image[p.image_index] < 0).sum())
        if missing:
            notes[_NOTE_NO_CAMERA] = notes.get(_NOTE_NO_CAMERA, 0) + missing
        self.means: list[np.ndarray] = []
        self.head = rb.element_head(rb.DOCUMENT, PROJECTED)
        self.keypoint = documents.label_defaults(fo.Keypoint, ("label", "points")) + rb.string("label", "person")

    def elements(self, lo: int, hi: int, widths: np.ndarray, heights: np.ndarray) -> list[bytes]:
        p = self.data.persons
        rows = self.order[self.starts[lo] : self.starts[hi]]
        camera = self.cams.image[p.image_index[rows]]
        rows, camera = rows[camera >= 0], camera[camera >= 0]
        n, m = len(rows), hi - lo
        uv = project_each(self.points[rows], self.cams.cameras, camera, self.world)
        errors = point_errors(p.keypoints[rows], uv)
        counted = np.isfinite(errors).sum(axis=1)
        with np.errstate(invalid="ignore"):  # no finite error: NaN
            mean = np.where(np.isfinite(errors), errors, 0).sum(axis=1) / counted
        self.means.append(mean)
        image = p.image_index[rows] - lo
        rank = np.arange(n) - np.searchsorted(image, image)
        wh = np.stack([widths, heights], axis=1).astype(np.float64)[image]
        items = rb.document(
            rb.DOCUMENT,
            rb.index_heads(rb.DOCUMENT, rank),
            rb.concat([
                rb.object_ids(documents.ID, rb.new_object_ids(n)),
                rb.const(n, self.keypoint),
                rb.pair_array("points", (uv - self.data.origin) / wh[:, None, :]),
                rb.integers(["person_id"], p.ids[rows, None]),
                rb.array("errors", errors, False),
                rb.numbers(["mean_error"], mean[:, None], False, present=~np.isnan(mean)[:, None]),
            ]),
        ).rows() if n else []  # fmt: skip
        worst = np.full(m, -np.inf)
        np.fmax.at(worst, image, mean)
        has_error = np.isfinite(worst)
        sample = rb.numbers([ERROR_FIELD], np.where(has_error, worst, 0)[:, None], False, present=has_error[:, None])
        errors_bytes = sample.rows()
        bounds = np.searchsorted(image, np.arange(m + 1)).tolist()
        out = []
        for j in range(m):
            a, b = bounds[j], bounds[j + 1]
            own = self.head + documents.label_list(fo.Keypoints, "keypoints", b"".join(items[a:b])) if b > a else b""
            out.append(own + errors_bytes[j])
        return out

    def statistics(self) -> dict[str, float | int]:
        """Median, 95th percentile and largest of the persons' mean reprojection errors (pixels)."""
        means = np.concatenate(self.means) if self.means else np.zeros(0)
        means = means[~np.isnan(means)]
        if not len(means):
            return {"persons": 0}
        median, p95 = np.percentile(means, [50, 95]).tolist()
        return {
            "persons": len(means),
            "median": round(median, 3),
            "p95": round(p95, 3),
            "max": round(float(means.max()), 3),
        }
