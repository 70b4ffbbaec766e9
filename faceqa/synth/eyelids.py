"""Eyelid model: the upper lid sweeps down over the eyeball (blink AU45, eyes closed AU43) or up
(upper lid raiser AU5); the lower lid rises (lid tightener AU7, cheek raiser AU6).

Lids are the top and bottom layers of the eye's :class:`~faceqa.synth.layers.SplitRegion`: the
upper-lid layer slides over the eyeball (it covers it; it is not squashed), the lower lid likewise
from below, and when a lid opens further the eyeball between the margins is stretched to fill.

A margin displacement is given per eye column ``u``; the skin above the upper margin follows it
with a fall-off that reaches zero before the brow (the lid skin unfolds from the crease), the skin
below the lower margin with a fall-off of ``LOWER_REACH`` IOD onto the cheek.
"""

from __future__ import annotations

import numpy as np

from faceqa.synth.anatomy import Anatomy
from faceqa.synth.layers import Deformation
from faceqa.synth.muscles import ramp

LOWER_REACH = 0.18
"""How far below the lower lid margin (IOD) its motion fades out."""


def lid_shape(a: Anatomy, side: str, u: np.ndarray) -> np.ndarray:
    """Lateral profile of lid motion: 1 mid-eye, 0 at and beyond the two canthi (half sine)."""
    up = a.upper_lid[side]
    u0, u1 = float(up[0, 0]), float(up[-1, 0])
    x = np.clip((u - u0) / (u1 - u0), 0.0, 1.0)
    return np.sin(np.pi * x)


def upper_lid(a: Anatomy, side: str, U: np.ndarray, V: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """dV of the upper-lid layer when its margin moves down by ``shift`` (IOD per pixel column;
    negative = up). Above the margin the motion fades to zero before the brow; below the margin it
    is carried on (the layer continues under the lid) and fades out below the lower lid."""
    v1 = np.interp(U, a.upper_lid[side][:, 0], a.upper_lid[side][:, 1])
    v2 = np.interp(U, a.lower_lid[side][:, 0], a.lower_lid[side][:, 1])
    brow = np.interp(U, a.brow[side][:, 0], a.brow[side][:, 1])
    reach = np.clip(0.8 * (v1 - brow), 0.1, 0.35)
    t = V - v1
    up = ramp(t, -reach, 0.0)
    down = 1.0 - ramp(V, v2 + 0.05, v2 + 0.25)
    return shift * np.where(t < 0, up, down)


def lower_lid(a: Anatomy, side: str, U: np.ndarray, V: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """dV of the lower-lid layer when its margin moves down by ``shift`` (negative = up)."""
    v1 = np.interp(U, a.upper_lid[side][:, 0], a.upper_lid[side][:, 1])
    v2 = np.interp(U, a.lower_lid[side][:, 0], a.lower_lid[side][:, 1])
    t = V - v2
    down = 1.0 - ramp(t, 0.0, LOWER_REACH)
    up = ramp(V, v1 - 0.25, v1 - 0.05)
    return shift * np.where(t > 0, down, up)


def eyelids(a: Anatomy, side: str, U: np.ndarray, V: np.ndarray, upper: float = 0.0, lower: float = 0.0,
            closure: float = 0.0) -> Deformation:
    """Lid motion of one eye as a layered deformation.

    Args:
        upper: upper margin displacement mid-eye (IOD, + = down), shaped by :func:`lid_shape`.
        lower: lower margin displacement mid-eye (IOD, + = down).
        closure: fraction of the local aperture closed (1 = shut): the upper lid travels 88% of the
            gap and the lower lid 12%, so that they meet.
    """
    zero = np.zeros_like(U)
    shape = lid_shape(a, side, U)
    gap = a.lid_gap(side, U)
    up_shift = upper * shape + 0.88 * closure * gap
    lo_shift = lower * shape - 0.12 * closure * gap
    top = (zero, upper_lid(a, side, U, V, up_shift)) if (upper or closure) else None
    bottom = (zero, lower_lid(a, side, U, V, lo_shift)) if (lower or closure) else None
    return Deformation(None, {f"eye_{side}": (top, bottom)})
