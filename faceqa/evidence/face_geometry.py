"""Facial geometry from the 3-D mesh in a pose-normalised, person-centred frame (IOD units).

The first frame of a face track fixes the canonical frame from the mesh itself, in 3-D: origin at
the midpoint of the eye centres, ``x`` along the eye line towards the subject's left, ``y``
perpendicular to it towards the chin, ``z`` away from the camera, unit = the inter-ocular distance
(IOD). Every later frame is put into that frame by a least-squares 3-D similarity fitted on
landmarks that expressions barely move (:data:`~faceqa.evidence.regions.STABLE_POINTS`), so head
turns, nods and distance to the camera are taken out before anything is measured.

:data:`MEASURES` are distances in that frame; each grows with the action it names:

=========================  =====================================================  ==============
measure                    definition (canonical frame, y down)                   AUs
=========================  =====================================================  ==============
``brow_inner_{L,R}``       eye-centre y - inner-brow y                            1 (+), 4 (-)
``brow_outer_{L,R}``       eye-centre y - outer-brow y                            2 (+)
``brow_gap``               x distance between the inner brow ends                 4 (-)
``eye_open_{L,R}``         lower-lid y - upper-lid y                              5 (+), 43/45 (-)
``lower_lid_{L,R}``        eye-corner-line y - lower-lid y                        7, 6 (+)
``nose_wrinkle_{L,R}``     - distance from the nose wing to the inner eye corner  9 (+)
``upper_lip_{L,R}``        - distance from the nose base to the upper lip         10 (+)
``corner_up_{L,R}``        nose-base y - lip-corner y                             12 (+), 15 (-)
``corner_out_{L,R}``       x distance from the midline to the lip corner          12, 20 (+), 14/18 (-)
``mouth_open``             lower inner-lip y - upper inner-lip y                  25 (+)
``jaw_drop``               chin y - nose-tip y                                    26, 27 (+)
``lip_thickness``          red-margin heights of both lips, summed                23, 24 (-), 28
``chin_lip``               - distance from the lower lip to the chin              17 (+)
=========================  =====================================================  ==============
"""

from __future__ import annotations

import numpy as np

from faceqa.evidence.regions import STABLE_POINTS
from faceqa.landmarks import LEFT_EYE, LEFT_EYE_INNER, RIGHT_EYE, RIGHT_EYE_INNER

_SIDE = {
    "R": {"inner": (107, 55), "outer": (70, 46), "upper": 159, "lower": 145, "eye": RIGHT_EYE, "corner": 61,
          "wing": (98, 64), "inner_eye": RIGHT_EYE_INNER, "lip": 37},
    "L": {"inner": (336, 285), "outer": (300, 276), "upper": 386, "lower": 374, "eye": LEFT_EYE, "corner": 291,
          "wing": (327, 294), "inner_eye": LEFT_EYE_INNER, "lip": 267},
}
_PER_SIDE = ("brow_inner", "brow_outer", "eye_open", "lower_lid", "nose_wrinkle", "upper_lip", "corner_up",
             "corner_out")
MEASURES: tuple[str, ...] = tuple(f"{m}_{s}" for m in _PER_SIDE for s in ("L", "R")) + (
    "brow_gap", "mouth_open", "jaw_drop", "lip_thickness", "chin_lip")
"""Measure names, in the order of :func:`face_measures` (``face_*`` columns of the evidence table)."""
_NOSE_TIP, _NOSE_BASE, _CHIN = 1, 2, 152
_UPPER_OUTER, _UPPER_INNER, _LOWER_INNER, _LOWER_OUTER = 0, 13, 14, 17
_MIDLINE = (1, 168, 6, 197)


def similarity_3d(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(scale, rotation 3x3, translation) of the least-squares similarity mapping src (N, 3) onto dst (Umeyama)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    fix = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[-1] = -1.0
    rot = u @ np.diag(fix) @ vt
    var = (s**2).sum() / len(src)
    scale = float((sig * fix).sum() / var) if var > 0 else 1.0
    return scale, rot, mu_d - scale * rot @ mu_s


def face_frame(landmarks: np.ndarray) -> np.ndarray:
    """The (468, 3) landmarks of one face in its own frontal frame (origin eye midpoint, IOD units)."""
    pts = np.asarray(landmarks[:468, :3], np.float64)
    right, left = pts[list(RIGHT_EYE)].mean(0), pts[list(LEFT_EYE)].mean(0)
    iod = float(np.linalg.norm(left - right))
    x = (left - right) / iod
    down = pts[_CHIN] - (left + right) / 2
    y = down - x * (down @ x)
    y /= np.linalg.norm(y)
    axes = np.stack([x, y, np.cross(x, y)])
    return (pts - (left + right) / 2) @ axes.T / iod


class CanonicalFace:
    """Puts the frames of one face track into the canonical frame fixed by its first frame."""

    def __init__(self) -> None:
        self._stable: np.ndarray | None = None

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        """(468, 3) canonical coordinates (IOD) of one frame's mesh landmarks (pixels, with z)."""
        pts = np.asarray(landmarks[:468, :3], np.float64)
        if self._stable is None:
            ref = face_frame(pts)
            self._stable = ref[list(STABLE_POINTS)]
            return ref
        scale, rot, t = similarity_3d(pts[list(STABLE_POINTS)], self._stable)
        return scale * pts @ rot.T + t


def face_measures(c: np.ndarray) -> np.ndarray:
    """The :data:`MEASURES` (float32) of canonical landmarks ``c`` (468, 3)."""
    x, y = c[:, 0], c[:, 1]
    midline = float(x[list(_MIDLINE)].mean())
    vals: dict[str, float] = {}
    for s, ix in _SIDE.items():
        eye_y = y[list(ix["eye"])].mean()
        vals[f"brow_inner_{s}"] = eye_y - y[list(ix["inner"])].mean()
        vals[f"brow_outer_{s}"] = eye_y - y[list(ix["outer"])].mean()
        vals[f"eye_open_{s}"] = y[ix["lower"]] - y[ix["upper"]]
        vals[f"lower_lid_{s}"] = eye_y - y[ix["lower"]]
        wing = c[list(ix["wing"]), :2].mean(0)
        vals[f"nose_wrinkle_{s}"] = -float(np.linalg.norm(wing - c[ix["inner_eye"], :2]))
        vals[f"upper_lip_{s}"] = -(y[ix["lip"]] - y[_NOSE_BASE])
        vals[f"corner_up_{s}"] = y[_NOSE_BASE] - y[ix["corner"]]
        vals[f"corner_out_{s}"] = abs(x[ix["corner"]] - midline)
    vals["brow_gap"] = abs(x[336] - x[107])
    vals["mouth_open"] = y[_LOWER_INNER] - y[_UPPER_INNER]
    vals["jaw_drop"] = y[_CHIN] - y[_NOSE_TIP]
    vals["lip_thickness"] = (y[_UPPER_INNER] - y[_UPPER_OUTER]) + (y[_LOWER_OUTER] - y[_LOWER_INNER])
    vals["chin_lip"] = -(y[_CHIN] - y[_LOWER_OUTER])
    return np.array([vals[m] for m in MEASURES], np.float32)
