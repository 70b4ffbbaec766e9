"""Alignment of every frame to a canonical face, so head motion does not read as facial motion.

The first frame of a track fixes the canonical face: a similarity transform puts its eye centres
at fixed places of a ``size`` x ``size`` crop. Every later frame is mapped onto that frame's
aligned stable points (:data:`~faceqa.evidence.regions.STABLE_POINTS`) by a least-squares
similarity (Umeyama), so only non-rigid facial motion is left between aligned frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceqa.evidence.regions import STABLE_POINTS
from faceqa.landmarks import LEFT_EYE, RIGHT_EYE
from faceqa.perception.geometry import similarity

EYE_Y = 0.36
EYE_X = (0.32, 0.68)


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine transform to (N, 2) points."""
    return pts @ m[:, :2].T + m[:, 2]


class FaceAligner:
    """Aligns the frames of one face track; the first call fixes the canonical face."""

    def __init__(self, size: int = 128):
        self.size = size
        self._template: np.ndarray | None = None
        self.iod = EYE_X[1] * size - EYE_X[0] * size
        """Distance between the eye centres in the aligned face, in pixels."""

    def reset(self) -> None:
        """Forget the canonical face (the next frame fixes a new one)."""
        self._template = None

    def transform(self, landmarks: np.ndarray) -> np.ndarray:
        """The 2x3 transform from image pixels to the aligned face for this frame's landmarks."""
        pts = landmarks[:, :2].astype(np.float64)
        if self._template is None:
            right = pts[list(RIGHT_EYE)].mean(0)
            left = pts[list(LEFT_EYE)].mean(0)
            dst = np.array([[EYE_X[0], EYE_Y], [EYE_X[1], EYE_Y]]) * self.size
            m = similarity(np.stack([right, left]), dst)
            self._template = apply(m, pts[list(STABLE_POINTS)])
            return m
        return similarity(pts[list(STABLE_POINTS)], self._template)

    def align(self, gray: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(aligned gray face, aligned landmarks (N, 2)) for one frame."""
        m = self.transform(landmarks)
        face = cv2.warpAffine(gray, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        return face, apply(m, landmarks[:, :2].astype(np.float64))
