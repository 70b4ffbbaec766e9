"""Muscle models: Waters (1987) linear muscles and elliptical sphincters, on face coordinates.

Every function takes face coordinates ``U, V`` (arrays, IOD) and returns the skin displacement
``(dU, dV)`` in IOD at full contraction; fields scale linearly with contraction (small-deformation
model), so a unit field can be computed once per face and scaled per frame.

Linear muscle (Waters, "A muscle model for animating three-dimensional facial expression",
SIGGRAPH 1987): a muscle vector from its bony **attachment** A to its skin **insertion** I. Skin
inside a cone with apex A (half-angle ``zone_deg`` around A->I) is pulled towards A by

    d(p) = peak * angular(p) * radial(p) * (A - p) / |A - p|

with angular = cos(pi/2 * angle / zone) (1 on the muscle axis, 0 at the cone's edge) and radial a
C1 profile that rises from 0 at A to 1 at the insertion (sin(pi/2 * D / Rs), Rs = |A - I|) and
falls back to 0 at ``beyond`` past it (cos). ``peak`` is the displacement of the insertion at full
contraction (FACS E), i.e. the calibration handle.

Sphincter (orbicularis oris / oculi): skin pulled towards a centre C with an elliptical ring
profile: 0 inside ``inner``, rising to 1 on the ring (elliptical radius 1), falling to 0 at ``outer``;
a per-direction weight (``weight(cos_a, sin_a)``, angles of p - C in face axes) shapes the sectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _smooth01(x: np.ndarray) -> np.ndarray:
    """C1 smoothstep on [0, 1] (0 below, 1 above)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class LinearMuscle:
    """A Waters linear muscle in face coordinates (IOD)."""

    attachment: tuple[float, float]
    insertion: tuple[float, float]
    zone_deg: float = 20.0
    beyond: float = 0.25
    peak: float = 0.1


@dataclass(frozen=True)
class Sphincter:
    """An elliptical sphincter in face coordinates (IOD)."""

    centre: tuple[float, float]
    axes: tuple[float, float]
    peak: float
    inner: float = 0.3
    outer: float = 1.6
    weight: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


def linear_field(U: np.ndarray, V: np.ndarray, m: LinearMuscle) -> tuple[np.ndarray, np.ndarray]:
    """Displacement (dU, dV) of the skin at full contraction of a linear muscle."""
    au, av = m.attachment
    axu, axv = m.insertion[0] - au, m.insertion[1] - av
    rs = float(np.hypot(axu, axv))
    du, dv = U - au, V - av
    d = np.hypot(du, dv) + 1e-9
    cos_t = np.clip((du * axu + dv * axv) / (d * rs), -1.0, 1.0)
    ang = np.arccos(cos_t)
    zone = np.radians(m.zone_deg)
    angular = np.cos(0.5 * np.pi * np.clip(ang / zone, 0.0, 1.0))
    radial = np.where(d <= rs, np.sin(0.5 * np.pi * np.clip(d / rs, 0.0, 1.0)),
                      np.cos(0.5 * np.pi * np.clip((d - rs) / m.beyond, 0.0, 1.0)))
    mag = m.peak * angular * radial / d
    return -du * mag, -dv * mag


def sphincter_field(U: np.ndarray, V: np.ndarray, s: Sphincter) -> tuple[np.ndarray, np.ndarray]:
    """Displacement (dU, dV) of the skin at full contraction of a sphincter (towards its centre)."""
    du, dv = U - s.centre[0], V - s.centre[1]
    rho = np.hypot(du / s.axes[0], dv / s.axes[1])
    d = np.hypot(du, dv) + 1e-9
    rise = np.sin(0.5 * np.pi * np.clip((rho - s.inner) / (1.0 - s.inner), 0.0, 1.0))
    fall = np.cos(0.5 * np.pi * np.clip((rho - 1.0) / (s.outer - 1.0), 0.0, 1.0))
    prof = np.where(rho <= 1.0, rise, fall)
    if s.weight is not None:
        prof = prof * s.weight(du / d, dv / d)
    mag = s.peak * prof / d
    return -du * mag, -dv * mag


def bump(x: np.ndarray, centre: float, half_width: float) -> np.ndarray:
    """A raised-cosine bump: 1 at ``centre``, 0 beyond ``half_width`` from it."""
    return 0.5 + 0.5 * np.cos(np.pi * np.clip(np.abs(x - centre) / half_width, 0.0, 1.0))


def ramp(x: np.ndarray, start: float, end: float) -> np.ndarray:
    """Smooth 0 -> 1 as ``x`` goes from ``start`` to ``end`` (either order)."""
    return _smooth01((x - start) / (end - start))
