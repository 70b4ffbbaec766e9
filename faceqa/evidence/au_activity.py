"""AU activity per frame and side, in [0, 1], from regional displacement.

For AU ``a`` on side ``s``::

    activity(a, s, t) = clip( mean over the AU's regions r of  d_r,s(t) . u_r  /  full_a , 0, 1 )

where ``d_r,s(t)`` is region r's displacement on side s from the reference, in inter-ocular
distances (IOD), expressed in face axes (``out``: away from the face midline, ``up``: towards the
forehead), ``u_r`` is the unit direction in which the AU moves that region (FACS), and
``full_a`` is the displacement (IOD) that counts as full intensity. Midline regions give the
same value on both sides. AU25 (lips part) uses the lower-minus-upper lip displacement.

The table below is :data:`AU_MOTIONS`; numbers are FACS, directions (out, up).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceqa.evidence.regions import region_keys


@dataclass(frozen=True)
class AUMotion:
    """How one AU moves the face: (region, (out, up) direction) pairs and full-intensity displacement."""

    au: int
    moves: tuple[tuple[str, tuple[float, float]], ...]
    full: float
    relative_to: str | None = None  # subtract this region's displacement first (AU25)


AU_MOTIONS: tuple[AUMotion, ...] = (
    AUMotion(1, (("inner_brow", (0.0, 1.0)),), 0.05),
    AUMotion(2, (("outer_brow", (0.0, 1.0)),), 0.05),
    AUMotion(4, (("inner_brow", (-0.45, -0.89)), ("glabella", (0.0, -1.0))), 0.04),
    AUMotion(5, (("upper_lid", (0.0, 1.0)),), 0.03),
    AUMotion(6, (("cheek", (0.0, 1.0)),), 0.04),
    AUMotion(7, (("lower_lid", (0.0, 1.0)),), 0.03),
    AUMotion(9, (("nose_side", (0.0, 1.0)),), 0.04),
    AUMotion(10, (("upper_lip", (0.0, 1.0)),), 0.04),
    AUMotion(12, (("lip_corner", (0.55, 0.83)),), 0.06),
    AUMotion(14, (("lip_corner", (-1.0, 0.0)),), 0.04),
    AUMotion(15, (("lip_corner", (0.0, -1.0)),), 0.04),
    AUMotion(17, (("chin", (0.0, 1.0)),), 0.04),
    AUMotion(20, (("lip_corner", (0.98, -0.2)),), 0.05),
    AUMotion(24, (("upper_lip_centre", (0.0, -1.0)), ("lower_lip_centre", (0.0, 1.0))), 0.03),
    AUMotion(25, (("lower_lip_centre", (0.0, -1.0)),), 0.05, relative_to="upper_lip_centre"),
    AUMotion(26, (("chin", (0.0, -1.0)),), 0.08),
    AUMotion(45, (("upper_lid", (0.0, -1.0)),), 0.04),
)
"""The AUs measured from motion. AU45 (blink) is measured so that blinks can be recognised and
left out of spotting."""


def au_columns() -> list[str]:
    """Activity column names: ``au_{n}_{L|R}`` for every measured AU."""
    return [f"au_{m.au}_{s}" for m in AU_MOTIONS for s in ("L", "R")]


def au_displacement(disp: np.ndarray) -> np.ndarray:
    """Signed displacement (T, 2 * len(AU_MOTIONS)) of each AU's regions along its FACS direction, in IOD.

    ``disp`` holds each (region, side) of :func:`~faceqa.evidence.regions.region_keys` in aligned
    image axes (x right, y down), in IOD units; the result is the mean over the AU's regions of the
    displacement projected on the AU's direction, per side, in :func:`au_columns` order.
    """
    keys = {k: i for i, k in enumerate(region_keys())}
    out = np.zeros((disp.shape[0], 2 * len(AU_MOTIONS)), np.float32)
    for j, m in enumerate(AU_MOTIONS):
        for k, side in enumerate(("L", "R")):
            proj = []
            for region, (o, u) in m.moves:
                d = _face_axes(disp, keys, region, side)
                if m.relative_to:
                    d = d - _face_axes(disp, keys, m.relative_to, side)
                proj.append(d[:, 0] * o + d[:, 1] * u)
            out[:, 2 * j + k] = np.mean(proj, axis=0)
    return out


def au_activity(disp: np.ndarray, saturate: bool = True) -> np.ndarray:
    """Activities (T, 2 * len(AU_MOTIONS)) in :func:`au_columns` order from displacements (T, K, 2).

    The activity is :func:`au_displacement` over the AU's full-intensity displacement, floored at 0.
    With ``saturate=False`` the values are not capped at 1 (the AU's strength in multiples of its
    full intensity), which ranks AUs within a strong expression where several reach 1.
    """
    full = np.repeat(np.array([m.full for m in AU_MOTIONS], np.float32), 2)
    value = np.clip(au_displacement(disp) / full, 0.0, None)
    return np.minimum(value, 1.0) if saturate else value


def _face_axes(disp: np.ndarray, keys: dict, region: str, side: str) -> np.ndarray:
    """(T, 2) displacement of ``region`` on ``side`` as (out, up)."""
    if (region, "C") in keys:
        d = disp[:, keys[(region, "C")]]
        return np.stack([np.zeros(len(d), d.dtype), -d[:, 1]], axis=1)
    d = disp[:, keys[(region, side)]]
    out_sign = 1.0 if side == "L" else -1.0  # the subject's left is on the image's right
    return np.stack([out_sign * d[:, 0], -d[:, 1]], axis=1)
