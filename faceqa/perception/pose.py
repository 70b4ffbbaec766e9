"""Head pose (yaw, pitch, roll in degrees) from the 3-D face mesh.

The mesh is in camera-like axes (x right, y down, z away from the camera, same scale as x). A
face frame is built from the eye line (outer corners 33 -> 263) and the mouth-to-eyes direction;
its forward axis gives yaw and pitch, the eye line gives roll. Signs: yaw > 0 when the face turns
towards the image's left, pitch > 0 when the face tilts up, roll > 0 when the eye line turns
clockwise in the image.
"""

from __future__ import annotations

import math

import numpy as np

from faceqa.landmarks import OUTER_EYE_CORNERS

_MOUTH = (61, 291)


def face_axes(landmarks: np.ndarray) -> np.ndarray:
    """3x3 rotation whose columns are the face's right, down and backward axes in camera space."""
    p = landmarks[:, :3].astype(np.float64)
    ex = p[OUTER_EYE_CORNERS[1]] - p[OUTER_EYE_CORNERS[0]]
    ex /= np.linalg.norm(ex) + 1e-9
    down = (p[_MOUTH[0]] + p[_MOUTH[1]]) / 2 - (p[OUTER_EYE_CORNERS[0]] + p[OUTER_EYE_CORNERS[1]]) / 2
    ey = down - ex * float(down @ ex)
    ey /= np.linalg.norm(ey) + 1e-9
    ez = np.cross(ex, ey)
    return np.stack([ex, ey, ez], axis=1)


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees for one face's (468+, 3) mesh landmarks."""
    r = face_axes(landmarks)
    fx, fy, fz = -r[:, 2]  # forward: out of the face, towards the camera when frontal
    yaw = math.degrees(math.atan2(-fx, -fz))
    pitch = math.degrees(math.atan2(-fy, math.hypot(fx, fz)))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll
