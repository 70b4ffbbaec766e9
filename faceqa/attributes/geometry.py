"""Face-shape measures from the 468-point mesh: ratios, openness, symmetry and head pose.

Points are taken into the face frame of :func:`~faceqa.perception.pose.face_axes` (x along the eye
line, y down the face, z out of it), so in-plane rotation and most of the head turn drop out, and
lengths are divided by the inter-ocular distance (IOD, between the eye centres, in 3-D). "Right"
and "left" are the subject's (``r`` is on the image's left).

=======================  ==================================================================
column                   meaning
=======================  ==================================================================
``geo_eye_open_r/l``     eyelid gap (159-145, 386-374) / that eye's width
``geo_brow_r/l``         brow middle (105, 334) above the eye centre / IOD
``geo_mouth_width``      lip corners (61-291) / IOD
``geo_mouth_open``       inner lip gap (13-14) / mouth width
``geo_lip_height``       outer lips (0-17) / IOD
``geo_corner_lift_r/l``  lip corner above the lips' middle / IOD (a smile lifts it)
``geo_nose_length``      nose bridge (168) to tip (1) / IOD
``geo_nose_width``       alae (98-327) / IOD
``geo_face_width``       cheek outline (234-454) / IOD
``geo_face_height``      forehead (10) to chin (152) / IOD
``geo_lower_face``       nose tip (1) to chin (152) / IOD
``geo_width_height``     face width / face height
``geo_asym_eye``         (eye_open_r - eye_open_l) / their sum
``geo_asym_brow``        (brow_r - brow_l) / their sum
``geo_asym_corner``      corner_lift_r - corner_lift_l
``geo_asym_half``        (half width r - half width l) / face width, half widths from the nose tip in the image
``geo_yaw/pitch/roll``   head pose in degrees / 90
=======================  ==================================================================
"""

from __future__ import annotations

import numpy as np

from faceqa.landmarks import LEFT_EYE, RIGHT_EYE
from faceqa.perception.pose import face_axes, head_pose

GEOMETRY_COLUMNS = (
    "geo_eye_open_r", "geo_eye_open_l", "geo_brow_r", "geo_brow_l", "geo_mouth_width", "geo_mouth_open",
    "geo_lip_height", "geo_corner_lift_r", "geo_corner_lift_l", "geo_nose_length", "geo_nose_width",
    "geo_face_width", "geo_face_height", "geo_lower_face", "geo_width_height", "geo_asym_eye", "geo_asym_brow",
    "geo_asym_corner", "geo_asym_half", "geo_yaw", "geo_pitch", "geo_roll",
)


def _ratio(a: float, b: float) -> float:
    return float((a - b) / (a + b)) if abs(a + b) > 1e-9 else 0.0


def geometry_features(landmarks: np.ndarray) -> np.ndarray:
    """The :data:`GEOMETRY_COLUMNS` (float32) of one face's (468+, 3) mesh landmarks in pixels."""
    p = np.asarray(landmarks, np.float64)[:, :3]
    eye_r, eye_l = p[list(RIGHT_EYE)].mean(0), p[list(LEFT_EYE)].mean(0)
    iod = float(np.linalg.norm(eye_l - eye_r)) or 1.0
    f = (p - (eye_r + eye_l) / 2) @ face_axes(p) / iod  # face frame, IOD units

    def dist(i: int, j: int) -> float:
        return float(np.linalg.norm(f[i] - f[j]))

    eye_open_r = dist(159, 145) / max(dist(*RIGHT_EYE), 1e-6)
    eye_open_l = dist(386, 374) / max(dist(*LEFT_EYE), 1e-6)
    centre_r, centre_l = f[list(RIGHT_EYE)].mean(0), f[list(LEFT_EYE)].mean(0)
    brow_r, brow_l = centre_r[1] - f[105, 1], centre_l[1] - f[334, 1]
    mouth_width = dist(61, 291)
    lips_mid = (f[13, 1] + f[14, 1]) / 2
    lift_r, lift_l = lips_mid - f[61, 1], lips_mid - f[291, 1]
    face_width, face_height = dist(234, 454), dist(10, 152)
    img = p[:, :2]
    half_r, half_l = np.linalg.norm(img[1] - img[234]), np.linalg.norm(img[454] - img[1])
    yaw, pitch, roll = head_pose(p)
    values = [
        eye_open_r, eye_open_l, brow_r, brow_l, mouth_width, dist(13, 14) / max(mouth_width, 1e-6), dist(0, 17),
        lift_r, lift_l, dist(168, 1), dist(98, 327), face_width, face_height, dist(1, 152),
        face_width / max(face_height, 1e-6), _ratio(eye_open_r, eye_open_l), _ratio(brow_r, brow_l),
        lift_r - lift_l, float((half_r - half_l) / max(half_r + half_l, 1e-6)), yaw / 90, pitch / 90, roll / 90,
    ]
    return np.asarray(values, np.float32)
