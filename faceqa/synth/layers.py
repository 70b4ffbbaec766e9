"""Layered regions: where skin slides over something (lids over the eyeball, lips apart over the mouth).

A smooth displacement field cannot open a mouth or close an eye: the lips must separate and the
upper lid must *cover* the eyeball. Around the eyes and the mouth the warp therefore has three
layers, separated by two lines in face coordinates:

- **top**: skin above ``line1`` (upper lid margin; the lip split line),
- **bottom**: skin below ``line2`` (lower lid margin; the same lip split line),
- **mid**: what lies between (the visible eyeball; for the mouth, the cavity that opens).

Each layer has its own displacement field; the renderer composites them by coverage (top first,
then bottom, then mid). Between the eye corners / lip corners ``span`` marks where the layers may
differ; outside a region's ``box`` all three fields coincide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceqa.synth.anatomy import SIDES, Anatomy


@dataclass(frozen=True)
class SplitRegion:
    """One layered region in face coordinates (IOD).

    Attributes:
        name: ``"eye_R"``, ``"eye_L"`` or ``"mouth"``.
        line1, line2: (k, 2) polylines sorted by u (upper and lower boundary of the mid layer).
        span: (u0, u1) where the layers may differ.
        box: (u0, u1, v0, v1) outside which a region's layer fields coincide.
        cavity: the mid layer is a mouth cavity to paint (True) or skin/eyeball to stretch (False).
    """

    name: str
    line1: np.ndarray
    line2: np.ndarray
    span: tuple[float, float]
    box: tuple[float, float, float, float]
    cavity: bool

    def v1(self, u: np.ndarray) -> np.ndarray:
        """Height of line1 at columns ``u`` (flat beyond its ends)."""
        return np.interp(u, self.line1[:, 0], self.line1[:, 1])

    def v2(self, u: np.ndarray) -> np.ndarray:
        """Height of line2 at columns ``u`` (flat beyond its ends)."""
        return np.interp(u, self.line2[:, 0], self.line2[:, 1])

    def span_weight(self, u: np.ndarray, taper: float = 0.04) -> np.ndarray:
        """1 between the corners, falling smoothly to 0 ``taper`` IOD beyond them."""
        u0, u1 = self.span
        x = np.maximum(u0 - u, u - u1) / taper
        x = np.clip(x, 0.0, 1.0)
        return 1.0 - x * x * (3.0 - 2.0 * x)

    def inside(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Whether points lie in the region's box."""
        u0, u1, v0, v1 = self.box
        return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


def split_regions(a: Anatomy) -> dict[str, SplitRegion]:
    """The three layered regions of a face: both eyes and the mouth."""
    out = {}
    for s in SIDES:
        up, lo = a.upper_lid[s], a.lower_lid[s]
        u0, u1 = float(up[0, 0]), float(up[-1, 0])
        top = float(up[:, 1].min()) - 0.42
        bottom = float(lo[:, 1].max()) + 0.32
        out[f"eye_{s}"] = SplitRegion(f"eye_{s}", up, lo, (u0, u1), (u0 - 0.06, u1 + 0.06, top, bottom), False)
    line = a.lip_line
    u0, u1 = float(line[0, 0]), float(line[-1, 0])
    top = float(line[:, 1].min()) - 0.5
    bottom = float(a.menton[1]) + 1.05
    out["mouth"] = SplitRegion("mouth", line, line, (u0, u1), (u0 - 0.06, u1 + 0.06, top, bottom), True)
    return out


Field = tuple[np.ndarray, np.ndarray]
"""A displacement (dU, dV) in IOD on face coordinates."""


def add_fields(a: Field | None, b: Field | None) -> Field | None:
    """Sum of two fields, either of which may be None (no motion)."""
    if a is None:
        return b
    if b is None:
        return a
    return a[0] + b[0], a[1] + b[1]


@dataclass
class Deformation:
    """An action's displacement at full intensity, in IOD on face coordinates.

    ``common`` moves every layer; ``splits[region] = (top, bottom)`` is what the top and bottom
    layers of that region move *in addition* (vanishing outside the region's box; either may be
    None). The mid layer's motion is derived from them by the renderer.
    """

    common: Field | None = None
    splits: dict[str, tuple[Field | None, Field | None]] = field(default_factory=dict)

    def __add__(self, other: Deformation) -> Deformation:
        splits = dict(self.splits)
        for name, (t, b) in other.splits.items():
            t0, b0 = splits.get(name, (None, None))
            splits[name] = (add_fields(t0, t), add_fields(b0, b))
        return Deformation(add_fields(self.common, other.common), splits)

    def scaled(self, k: float) -> Deformation:
        """The same deformation times ``k``."""
        def sc(f: Field | None) -> Field | None:
            return None if f is None else (f[0] * k, f[1] * k)
        return Deformation(sc(self.common), {n: (sc(t), sc(b)) for n, (t, b) in self.splits.items()})
