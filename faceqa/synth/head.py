"""Head motion: sway (translation, roll, zoom, small turns and nods) and look-aways (a turn out
and back).

A turn (yaw) or nod (pitch) has two parts. The whole frame moves by a homography: the face, taken
as a plane through its centre, rotates in 3-D and is projected with a pinhole camera whose focal
length is the frame's larger side (~53 degree field of view), so the near half grows and the far
half shrinks; the head, ~1.15 IOD deep from its rotation axis to the face's outline, also
shifts sideways (or up) by that depth times the angle. On top, inside the face outline, a
parallax field moves what stands out of that plane further: a dome 0.35 IOD high at the face's
centre and the nose 0.3 IOD more, as a face turning in front of its outline does (a warper
pseudo-unit per degree, see :func:`parallax`). Signs follow faceqa.perception: yaw > 0 turns the
face towards the image's left, pitch > 0 tilts it up.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from faceqa.synth.anatomy import Anatomy
from faceqa.synth.layers import Deformation
from faceqa.synth.spec import Distractors

HEAD_DEPTH = 1.15
"""Distance (IOD) from the neck's rotation axes to the face outline: a turn shifts the face by this x angle."""
DOME, NOSE = 0.35, 0.3


def parallax(a: Anatomy, U: np.ndarray, V: np.ndarray, axis: str) -> Deformation:
    """Displacement per degree of yaw (``axis="yaw"``) or pitch (``"pitch"``) of what stands out
    of the face outline's plane: a dome over the face (0 on the outline) and the nose."""
    oval = a.oval
    cu, cv = oval.mean(0)
    ru, rv = np.abs(oval[:, 0] - cu).max(), np.abs(oval[:, 1] - cv).max()
    rho2 = ((U - cu) / ru) ** 2 + ((V - cv) / rv) ** 2
    nose_v = 0.3 * a.nasion[1] + 0.7 * a.nose_tip[1]
    nose = NOSE * np.exp(-((U - a.nose_tip[0]) / 0.13) ** 2 - ((V - nose_v) / 0.22) ** 2)
    height = (DOME * np.clip(1.0 - rho2, 0.0, 1.0) + nose) * np.clip((1.0 - rho2) / 0.1, 0.0, 1.0)
    k = -math.radians(1.0) * height
    zero = np.zeros_like(U)
    return Deformation((k, zero) if axis == "yaw" else (zero, k))


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    return ry @ rx


def perspective(yaw_deg: float, pitch_deg: float, centre: tuple[float, float], focal: float) -> np.ndarray:
    """3x3 homography of a face plane turned by yaw/pitch about ``centre`` (pixels)."""
    cx, cy = centre
    r = _rotation(yaw_deg, pitch_deg)
    src = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * focal * 0.25
    pts = np.column_stack([src, np.zeros(4)]) @ r.T
    z = focal + pts[:, 2]
    dst = focal * pts[:, :2] / z[:, None]
    return cv2.getPerspectiveTransform((src + (cx, cy)).astype(np.float32), (dst + (cx, cy)).astype(np.float32))


def head_pose_at(d: Distractors, frame: int, fps: float, seed: int) -> dict[str, float]:
    """Head motion at ``frame``: dx, dy (pixels), roll (degrees), scale, yaw, pitch (degrees)."""
    t = frame / fps
    ph = seed * 0.7
    out = {
        "dx": d.head_shift_px * math.sin(2 * math.pi * 0.4 * t + ph),
        "dy": 0.5 * d.head_shift_px * math.sin(2 * math.pi * 0.27 * t + 2 * ph),
        "roll": d.head_rotation_deg * math.sin(2 * math.pi * 0.33 * t + 3 * ph),
        "scale": 1.0 + d.head_scale * math.sin(2 * math.pi * 0.21 * t + 4 * ph),
        "yaw": d.head_yaw_deg * math.sin(2 * math.pi * 0.29 * t + 5 * ph),
        "pitch": d.head_pitch_deg * math.sin(2 * math.pi * 0.23 * t + 6 * ph),
    }
    for start, end, yaw, pitch in d.head_turns:
        if start < frame < end:
            x = (frame - start) / (end - start)
            k = math.sin(math.pi * x) ** 2
            out["yaw"] += yaw * k
            out["pitch"] += pitch * k
    return out


def head_matrix(d: Distractors, frame: int, fps: float, seed: int, centre: tuple[float, float],
                size: tuple[int, int], iod: float = 0.0, roll_axes: np.ndarray | None = None) -> np.ndarray | None:
    """The frame's 3x3 whole-frame head-motion homography (None when the head is still).

    ``iod`` (pixels) and ``roll_axes`` (2x2, columns = the face's u and v axes in the image) give
    the sideways/upward shift of a turn (``HEAD_DEPTH`` x angle); without them there is none."""
    p = head_pose_at(d, frame, fps, seed)
    if not any((p["dx"], p["dy"], p["roll"], p["scale"] - 1.0, p["yaw"], p["pitch"])):
        return None
    m = np.eye(3)
    if p["yaw"] or p["pitch"]:
        m = perspective(p["yaw"], p["pitch"], centre, float(max(size)))
        if iod:
            axes = np.eye(2) if roll_axes is None else roll_axes
            shift = -HEAD_DEPTH * iod * np.array([math.radians(p["yaw"]), math.radians(p["pitch"])])
            t = np.eye(3)
            t[:2, 2] = axes @ shift
            m = t @ m
    sim = np.eye(3)
    sim[:2] = cv2.getRotationMatrix2D(centre, p["roll"], p["scale"])
    sim[:2, 2] += (p["dx"], p["dy"])
    return sim @ m


def apply_head(frame: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    """Warp a whole frame by a head-motion homography."""
    if m is None:
        return frame
    h, w = frame.shape[:2]
    return cv2.warpPerspective(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
