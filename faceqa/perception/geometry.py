"""Rotated square regions of interest and the affine crops between image and model input."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ROI:
    """A square region: centre (cx, cy) and side ``size`` in pixels, rotated by ``angle`` radians.

    ``angle`` is the rotation of the face in the image (image axes, y down, clockwise positive);
    cropping undoes it so the model sees an upright face.
    """

    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def crop_matrix(self, out_size: int) -> np.ndarray:
        """2x3 affine matrix mapping image pixels to the ``out_size`` x ``out_size`` crop."""
        s = out_size / self.size
        c, si = math.cos(-self.angle), math.sin(-self.angle)
        half = out_size / 2.0
        return np.array([
            [s * c, -s * si, half - s * (c * self.cx - si * self.cy)],
            [s * si, s * c, half - s * (si * self.cx + c * self.cy)],
        ], dtype=np.float64)

    def crop(self, image: np.ndarray, out_size: int, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The rotated crop resized to ``out_size`` and the 2x3 matrix that made it."""
        m = self.crop_matrix(out_size)
        if flip:
            m = np.array([[-1.0, 0.0, out_size], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0, 0, 1]])
        patch = cv2.warpAffine(image, m, (out_size, out_size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        return patch, m


def invert_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (N, 2+) crop coordinates back to image pixels with the inverse of affine ``m``.

    Extra columns (z) are scaled by the crop's scale so depth stays in image pixels.
    """
    inv = cv2.invertAffineTransform(m)
    out = pts.astype(np.float32).copy()
    out[:, :2] = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
    if pts.shape[1] > 2:
        out[:, 2:] = pts[:, 2:] * math.sqrt(abs(np.linalg.det(inv[:, :2])))
    return out


def roi_from_points(p_from: np.ndarray, p_to: np.ndarray, box: tuple[float, float, float, float],
                    scale: float) -> ROI:
    """Square ROI around ``box`` scaled by ``scale`` (long side), rotated along p_from -> p_to."""
    x0, y0, x1, y1 = box
    angle = math.atan2(float(p_to[1] - p_from[1]), float(p_to[0] - p_from[0]))
    return ROI((x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0) * scale, angle)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (rotation, uniform scale, translation) mapping (N, 2) points src onto dst
    (Umeyama's closed form, no reflection)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rot = u @ np.diag(sign) @ vt
    var = (s**2).sum() / len(src)
    scale = float((sig * sign).sum() / var) if var > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m
