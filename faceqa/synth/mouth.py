"""Jaw and lips: the mandible rotating about the temporomandibular joints (AU26 jaw drop, AU27
mouth stretch, talking) and the lips parting, pressing or tightening (AU25, AU24, AU23).

Jaw. The mandible rotates about the transverse axis through both temporomandibular joints (TMJ),
which lie ~1.35 IOD behind the chin (the mandible's length from condyle to chin is ~10 cm, the
IOD ~6.3 cm). For a small rotation ``theta`` a point of the lower face at forward distance ``f``
from that axis moves down by ``f * theta`` in a frontal view; ``f`` is largest at the midline
(chin, lower lip) and falls towards the jaw angles, modelled as ``f(u) = f0 * (1 - (u/W)^2)`` with
W = 1.15 x the face's half width at the jaw. Skin between the cheekbone and the mandible
stretches: the jaw's motion fades out upwards over ``CHEEK_REACH`` above the lip line (the lip
corners take ``CORNER_SHARE`` of it) and below the chin over ``NECK_REACH`` (the chin slides over
the neck).

Lips. Between the corners the upper lip belongs to the top layer and the lower lip to the bottom
layer of the mouth region, so a jaw drop or AU25 opens a lens-shaped gap (widest mid-mouth,
closed at the corners) that the renderer paints as the mouth cavity.
"""

from __future__ import annotations

import numpy as np

from faceqa.synth.anatomy import Anatomy
from faceqa.synth.layers import Deformation
from faceqa.synth.muscles import bump, ramp

TMJ_DEPTH = 1.35
"""Forward distance (IOD) from the TMJ axis to the chin and lower lip: chin drop = TMJ_DEPTH * theta."""
CHEEK_REACH = 0.45
NECK_REACH = 0.9
CORNER_SHARE = 0.5


def lip_coordinate(a: Anatomy, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Signed height below the lip split line (IOD; negative above, flat beyond the corners)."""
    line = a.lip_line
    return V - np.interp(U, line[:, 0], line[:, 1])


def opening_shape(a: Anatomy, U: np.ndarray) -> np.ndarray:
    """Lens profile of the mouth opening: 1 mid-mouth, 0 at and beyond the lip corners."""
    c = a.mouth_centre[0]
    x = (U - c) / a.mouth_half_width
    return np.clip(1.0 - x * x, 0.0, 1.0)


def jaw(a: Anatomy, U: np.ndarray, V: np.ndarray, chin_drop: float) -> Deformation:
    """The mandible rotated so that the chin drops by ``chin_drop`` IOD (face-down axis)."""
    t = lip_coordinate(a, U, V)
    c = a.mouth_centre[0]
    w = 1.15 * a.half_width(float(a.menton[1]) - 0.35)
    depth = np.clip(1.0 - ((U - c) / w) ** 2, 0.0, 1.0)
    neck = 1.0 - ramp(V, float(a.menton[1]) + 0.02, float(a.menton[1]) + NECK_REACH)
    drop = chin_drop * depth * neck
    outside = np.where(t < 0, CORNER_SHARE * ramp(t, -CHEEK_REACH, 0.0),
                       CORNER_SHARE + (1.0 - CORNER_SHARE) * ramp(t, 0.0, 0.3))
    lower = ramp(t, -0.3, 0.0)
    om = opening_shape(a, U)
    zero = np.zeros_like(U)
    common = (zero, drop * outside)
    top = (zero, -om * drop * outside)
    bottom = (zero, om * drop * (lower - outside))
    return Deformation(common, {"mouth": (top, bottom)})


def _lip_profile(t: np.ndarray, above: float, below: float) -> np.ndarray:
    """1 on the lip line, falling to 0 at ``above`` IOD above it and ``below`` IOD below."""
    return np.where(t < 0, bump(t, 0.0, above), bump(t, 0.0, below))


def lips_part(a: Anatomy, U: np.ndarray, V: np.ndarray, upper_up: float, lower_down: float) -> Deformation:
    """Lips apart without the jaw: the upper lip up by ``upper_up``, the lower down by ``lower_down``
    (IOD, mid-mouth; lens-shaped across the mouth)."""
    t = lip_coordinate(a, U, V)
    om = opening_shape(a, U)
    zero = np.zeros_like(U)
    top = (zero, -upper_up * om * _lip_profile(t, 0.25, 0.3))
    bottom = (zero, lower_down * om * _lip_profile(t, 0.25, 0.35))
    return Deformation(None, {"mouth": (top, bottom)})


def lip_press(a: Anatomy, U: np.ndarray, V: np.ndarray, peak: float, side_weight: np.ndarray | float = 1.0
              ) -> Deformation:
    """Lips pressed together (AU24): each red lip squeezed towards the line the lips meet on. The
    motion is ``peak`` IOD at the lip's outer (vermilion) border, zero on the line, and fades out
    as far again beyond the border."""
    t = lip_coordinate(a, U, V)
    line = np.interp(U, a.lip_line[:, 0], a.lip_line[:, 1])
    up = np.maximum(line - np.interp(U, a.upper_lip[:, 0], a.upper_lip[:, 1]), 0.04)
    lo = np.maximum(np.interp(U, a.lower_lip[:, 0], a.lower_lip[:, 1]) - line, 0.04)
    x = np.abs(t) / np.where(t < 0, up, lo)
    prof = np.where(x <= 1.0, np.sin(0.5 * np.pi * np.clip(x, 0, 1)), np.cos(0.5 * np.pi * np.clip(x - 1.0, 0, 1)))
    across = bump(U, a.mouth_centre[0], 1.1 * a.mouth_half_width)
    dv = -np.sign(t) * peak * prof * across * side_weight
    return Deformation((np.zeros_like(U), dv), {})
