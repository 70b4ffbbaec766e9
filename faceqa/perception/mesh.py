"""MediaPipe Face Mesh on LiteRT: 468 3-D landmarks, optionally 478 with the two irises.

The mesh runs on a rotated square crop around the face (from a detection, or from the previous
frame's landmarks when tracking), as MediaPipe's face-landmark graph does. Landmark indices are
MediaPipe's: 33/133 are the outer/inner corners of the subject's right eye (image left), 263/362
the left eye's, 1 the nose tip, 152 the chin, 10 the forehead top; 468-472 are the right iris
(centre first) and 473-477 the left iris.

The iris model runs on a crop along each eye from its image-left corner to its image-right one,
with the subject's left eye mirrored, so that both look like the eye it was trained on (outer
corner on the crop's left, upper lid on top), as MediaPipe's iris graph feeds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceqa.landmarks import LEFT_EYE_INNER, LEFT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE_OUTER
from faceqa.models import get_model
from faceqa.perception.detection import Detection
from faceqa.perception.geometry import ROI, invert_points, roi_from_points

MESH_INPUT = 192
IRIS_INPUT = 64
ROI_SCALE = 1.5
"""Crop side relative to the face box (MediaPipe's face-landmark ROI scale)."""

_IRIS_ROI_SCALE = 2.3


@dataclass
class MeshResult:
    """Landmarks (N, 3) in image pixels, the face-presence score, and the crop ROI used."""

    landmarks: np.ndarray
    score: float
    roi: ROI

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Bounding box of the 468 face landmarks."""
        pts = self.landmarks[:468, :2]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        return float(x0), float(y0), float(x1), float(y1)


def roi_from_detection(det: Detection) -> ROI:
    """Mesh crop for a detection: rotated along the eye line, 1.5x the box's long side."""
    return roi_from_points(det.keypoints[0], det.keypoints[1], det.bbox, ROI_SCALE)


def roi_from_landmarks(landmarks: np.ndarray) -> ROI:
    """Mesh crop for the next frame from this frame's landmarks (the tracking step)."""
    pts = landmarks[:468, :2]
    box = (*pts.min(0), *pts.max(0))
    return roi_from_points(landmarks[RIGHT_EYE_OUTER], landmarks[LEFT_EYE_OUTER], box, ROI_SCALE)


class FaceMesh:
    """The 468-point mesh model, with the iris model on demand (``iris=True`` gives 478 points)."""

    def __init__(self, iris: bool = False):
        self.iris = iris
        self._mesh = get_model("face_mesh")

    def __call__(self, image: np.ndarray, roi: ROI) -> MeshResult:
        """Landmarks of the face inside ``roi`` of an RGB uint8 image."""
        patch, m = roi.crop(image, MESH_INPUT)
        tensor = patch.astype(np.float32) * (1.0 / 255.0)
        raw, flag = self._mesh(tensor[None])
        pts = invert_points(m, raw.reshape(468, 3))
        score = float(1.0 / (1.0 + np.exp(-np.clip(flag.reshape(-1)[0], -80, 80))))
        if self.iris:
            pts = np.concatenate([pts, *(iris for _, iris in eye_contours(image, pts))], axis=0)
        return MeshResult(pts, score, roi)


def eye_contours(image: np.ndarray, pts: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per eye (the subject's right, then left): the iris model's 71 eye-contour points and 5 iris
    points, in image pixels, for the mesh landmarks ``pts`` of an RGB uint8 image. The crop runs
    along the eye from its image-left corner to its image-right one; the subject's left eye is
    mirrored, so its outer corner is on the crop's left like the right eye's."""
    out = []
    for a, b, flip in ((RIGHT_EYE_OUTER, RIGHT_EYE_INNER, False), (LEFT_EYE_INNER, LEFT_EYE_OUTER, True)):
        p, q = pts[a, :2], pts[b, :2]
        box = (min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1]))
        roi = roi_from_points(p, q, box, _IRIS_ROI_SCALE)
        roi = ROI(roi.cx, roi.cy, float(np.linalg.norm(q - p)) * _IRIS_ROI_SCALE + 1e-3, roi.angle)
        patch, m = roi.crop(image, IRIS_INPUT, flip=flip)
        contour, iris = get_model("iris")(patch.astype(np.float32)[None] * (1.0 / 255.0))
        out.append((invert_points(m, contour.reshape(-1, 3)), invert_points(m, iris.reshape(5, 3))))
    return out


def draw_mesh(image: np.ndarray, landmarks: np.ndarray, color: tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
    """A copy of ``image`` with the landmarks drawn as dots (for quick visual checks)."""
    out = image.copy()
    r = max(1, round(max(image.shape[:2]) / 500))
    for x, y in landmarks[:, :2].astype(int):
        cv2.circle(out, (int(x), int(y)), r, color, -1)
    return out
