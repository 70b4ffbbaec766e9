"""FACS action units as muscle actions, calibrated so that intensity 1.0 = FACS E (maximum).

Each AU is built from the muscle that produces it (Ekman & Friesen's FACS manual names them),
placed on the face from :class:`~faceqa.synth.anatomy.Anatomy`. ``sg`` = +1 on the subject's left,
-1 on the right. Attachments (A) are bony origins projected on the frontal image; insertions (I)
are skin points. All numbers are in IOD (inter-ocular distance, eye centre to eye centre).

=====  =============================  ===================================================  ==========================
AU     muscle(s)                      model: attachment A -> insertion I, or centre        at E (calibrated, IOD)
=====  =============================  ===================================================  ==========================
1      frontalis, pars medialis       A 0.8 above the brow head (galea), I brow head       brow head up 0.12
2      frontalis, pars lateralis      A 0.8 above the brow's lateral quarter, I there      outer brow up 0.11
4      corrugator supercilii;         A medial superciliary arch, I mid-brow (medial);     mid-brow 0.09 medial;
       depressor supercilii/procerus  A nasal bone, I brow head (down)                     brow head 0.09 down
5      levator palpebrae superioris   eyelid model: upper margin up, lid skin follows      upper lid margin up 0.06
6      orbicularis oculi, orbital     sphincter round the eye, lower-lateral sectors       cheek below the eye up
                                      strongest; lower lid pushed up                       0.074; lower lid up 0.02
7      orbicularis oculi, palpebral   eyelid model: lower margin up, upper a little down   lower lid up 0.05,
                                                                                           upper lid down 0.015
9      levator labii sup. alaeque     A frontal process of the maxilla; I nasal ala and    ala 0.08 (up 0.07);
       nasi (+ procerus)              upper lip beside the philtrum; brow head down        upper lip up 0.045
10     levator labii superioris       A infraorbital margin, I upper lip between philtrum  upper lip up 0.10,
                                      and corner (upper-lip layer only)                    lower lip still
12     zygomaticus major              A cheekbone (0.15 inside the outline, 0.42 below     lip corner 0.25:
                                      the eye line), I lip corner (modiolus)               up 0.20, out 0.15
14     buccinator                     A lateral to the corner at the molars, I corner      lip corner out 0.06
15     depressor anguli oris          A mandible's lower border, I lip corner              lip corner down 0.10
17     mentalis                       A incisive fossa, I chin boss; lower lip pushed up   chin up 0.08, lower lip
                                                                                           up 0.04
20     risorius / platysma            A parotid fascia lateral to the corner, I corner     corner out 0.13, down 0.03
23     orbicularis oris, marginal     sphincter round the mouth, horizontal sectors        corners 0.04 inwards
24     orbicularis oris, pressing     each red lip squeezed onto the line they meet on     lip borders 0.035 inwards
25     depressor labii / relaxed      lips apart (lens-shaped gap, closed at corners)      gap 0.075 mid-mouth
       orbicularis oris
26     jaw drop (masseter relaxed)    mandible rotated about the TMJ axis                  chin down 0.35
27     pterygoids, digastric          jaw further, corners in, upper lip up                chin down 0.60
43     levator relaxed: eyes closed   eyelid model: upper lid covers 88%, lower 12%        aperture closed
45     blink                          as 43, over ~0.1-0.25 s                              aperture closed at apex
=====  =============================  ===================================================  ==========================

References for the magnitudes: a broad smile moves the lip corner 10-15 mm (~0.2-0.25 IOD); a
brow raise lifts the brow 8-10 mm; a relaxed jaw drop lowers the chin 2-2.5 cm, a wide-open mouth
3.5-4.5 cm; the palpebral fissure is ~10 mm high (0.16 IOD). Intensities scale the displacement
linearly; the FACS letters are about A = 0.15, B = 0.3, C = 0.5, D = 0.75, E = 1.0
(:data:`FACS_LEVELS`), so a micro-expression at A-C moves a few percent of the IOD.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from faceqa.synth.anatomy import SIGN, Anatomy
from faceqa.synth.eyelids import eyelids
from faceqa.synth.layers import Deformation
from faceqa.synth.mouth import jaw, lip_coordinate, lip_press, lips_part
from faceqa.synth.muscles import LinearMuscle, Sphincter, bump, linear_field, ramp, sphincter_field

FACS_LEVELS = {"A": 0.15, "B": 0.3, "C": 0.5, "D": 0.75, "E": 1.0}
"""Intensity for each FACS letter (trace, slight, marked, severe, maximum)."""

AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser", 6: "cheek raiser",
    7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser", 12: "lip corner puller", 14: "dimpler",
    15: "lip corner depressor", 17: "chin raiser", 20: "lip stretcher", 23: "lip tightener", 24: "lip pressor",
    25: "lips part", 26: "jaw drop", 27: "mouth stretch", 43: "eyes closed", 45: "blink",
}
"""Every AU the generator can make, with its FACS name."""

BILATERAL_ONLY = frozenset({25, 26, 27})
"""AUs of the jaw and lip opening: one mandible, so no side (only "both")."""

CHIN_DROP_26, CHIN_DROP_27 = 0.35, 0.60

AT_E = {1: 0.12, 2: 0.11, 4: 0.113, 5: 0.06, 6: 0.074, 7: 0.05, 9: 0.08, 10: 0.10, 12: 0.25, 14: 0.06, 15: 0.10,
        17: 0.08, 20: 0.13, 23: 0.04, 24: 0.035, 25: 0.06, 26: 0.35, 27: 0.60, 43: 0.094, 45: 0.094}
"""Displacement (IOD) at E of each AU's landmark, as measured by ``faceqa.synth.calibration`` (the
``size`` column) on the astronaut; the table above gives the direction and the secondary motions."""


def _linear(U, V, att, ins, zone, beyond, peak) -> Deformation:
    du, dv = linear_field(U, V, LinearMuscle(tuple(att), tuple(ins), zone, beyond, peak))
    return Deformation((du, dv))


def _upper_lip_only(a: Anatomy, U, V, d: Deformation) -> Deformation:
    """Restrict a common field near the mouth to the upper-lip (top) layer: the lower lip stays."""
    t = lip_coordinate(a, U, V)
    q = opening_shape_wide(a, U) * ramp(t, -0.45, -0.3)
    du, dv = d.common
    return Deformation((du * (1 - q), dv * (1 - q)), {"mouth": ((du * q, dv * q), None)})


def opening_shape_wide(a: Anatomy, U) -> np.ndarray:
    """1 between the lip corners, 0 from 0.06 IOD beyond them."""
    c, hw = a.mouth_centre[0], a.mouth_half_width
    x = np.clip((np.abs(U - c) - hw) / 0.06, 0.0, 1.0)
    return 1.0 - x * x * (3 - 2 * x)


def _half(a: Anatomy, side: str, U) -> np.ndarray | float:
    """Weight of one side of a midline muscle (1 on that side, 0 on the other, smooth at the midline)."""
    if side == "both":
        return 1.0
    return ramp(SIGN[side] * (U - a.mouth_centre[0]), -0.08, 0.08)


def _au1(a, s, U, V):
    ins = a.brow_point(s, 0.1)
    return _linear(U, V, ins + (-SIGN[s] * 0.02, -0.8), ins, 20, 0.25, 0.12)


def _au2(a, s, U, V):
    ins = a.brow_point(s, 0.75)
    return _linear(U, V, ins + (SIGN[s] * 0.06, -0.8), ins, 20, 0.25, 0.11)


def _procerus(a, s, U, V, peak):
    sg = SIGN[s]
    ins = a.inner_brow(s) + (-sg * 0.02, 0.0)
    return _linear(U, V, (sg * 0.04, float(a.nasion[1]) + 0.3), ins, 30, 0.18, peak)


def _au4(a, s, U, V):
    sg = SIGN[s]
    corr = _linear(U, V, (sg * 0.07, float(a.inner_brow(s)[1]) + 0.07), a.brow_point(s, 0.55) + (0, -0.02),
                   25, 0.2, 0.09)
    return corr + _procerus(a, s, U, V, 0.085)


def _au5(a, s, U, V):
    return eyelids(a, s, U, V, upper=-0.06)


def _au6(a, s, U, V):
    sg = SIGN[s]

    def weight(c, d):
        return (0.25 + 0.75 * np.clip(d, 0, 1)) * (0.8 + 0.2 * sg * c)

    ring = Sphincter(tuple(a.eye_centre[s] + (0, 0.03)), (0.6, 0.46), 0.11, inner=0.4, outer=1.55, weight=weight)
    du, dv = sphincter_field(U, V, ring)
    medial = ramp(sg * (U - a.nasion[0]), 0.02, 0.2)  # the muscle ends at the side of the nose
    return Deformation((du * medial, dv * medial)) + eyelids(a, s, U, V, lower=-0.02)


def _au7(a, s, U, V):
    return eyelids(a, s, U, V, upper=0.015, lower=-0.05)


def _inner_canthus(a: Anatomy, s: str) -> np.ndarray:
    up = a.upper_lid[s]
    return up[np.argmin(np.abs(up[:, 0]))]


def _upper_lip_at(a: Anatomy, u: float) -> np.ndarray:
    return np.array([u, np.interp(u, a.upper_lip[:, 0], a.upper_lip[:, 1])])


def _au9(a, s, U, V):
    sg = SIGN[s]
    att = (sg * 0.09, float(_inner_canthus(a, s)[1]) + 0.1)
    ala = _linear(U, V, att, a.ala[s], 20, 0.15, 0.08)
    lip = _upper_lip_only(a, U, V, _linear(U, V, att, _upper_lip_at(a, a.mouth_centre[0] + sg * 0.1), 10, 0.12,
                                           0.045))
    return ala + lip + _procerus(a, s, U, V, 0.03)


def _au10(a, s, U, V):
    sg = SIGN[s]
    att = (sg * 0.27, float(a.eye_centre[s][1]) + 0.3)
    ins = _upper_lip_at(a, a.mouth_centre[0] + sg * 0.17) + (0, 0.01)
    return _upper_lip_only(a, U, V, _linear(U, V, att, ins, 20, 0.15, 0.10))


def zygoma(a: Anatomy, s: str) -> np.ndarray:
    """Zygomaticus major's origin: the cheekbone, 0.15 IOD inside the face outline, 0.42 below the eye line."""
    v = float(a.eye_centre[s][1]) + 0.42
    return np.array([SIGN[s] * (a.half_width(v) - 0.15), v])


def _au12(a, s, U, V):
    return _linear(U, V, zygoma(a, s), a.corner[s], 22, 0.35, 0.25)


def _au14(a, s, U, V):
    return _linear(U, V, a.corner[s] + (SIGN[s] * 0.45, -0.05), a.corner[s], 25, 0.22, 0.06)


def _au15(a, s, U, V):
    att = (float(a.corner[s][0]) + SIGN[s] * 0.1, float(a.menton[1]) - 0.1)
    return _linear(U, V, att, a.corner[s], 22, 0.25, 0.10)


def _au17(a, s, U, V):
    sg = SIGN[s]
    c = a.mouth_centre[0]
    lip_v = float(np.interp(c, a.lower_lip[:, 0], a.lower_lip[:, 1]))
    line_v = float(np.interp(c, a.lip_line[:, 0], a.lip_line[:, 1]))
    chin = _linear(U, V, (c + sg * 0.05, lip_v + 0.07), (c + sg * 0.07, float(a.pogonion[1])), 35, 0.25, 0.057)
    across = bump(U, c, 0.9 * a.mouth_half_width) * _half(a, s, U)
    push = -0.04 * across * bump(V, 0.5 * (lip_v + line_v), 0.22)
    return chin + Deformation((np.zeros_like(U), push))


def _au20(a, s, U, V):
    att = a.corner[s] + (SIGN[s] * 0.7, 0.15)
    return _linear(U, V, att, a.corner[s], 20, 0.3, 0.13)


def _oris(a, s, U, V, peak):
    def weight(c, d):
        return 0.4 + 0.6 * c * c

    ring = Sphincter(tuple(a.mouth_centre), (a.mouth_half_width, 0.2), peak, inner=0.2, outer=1.6, weight=weight)
    du, dv = sphincter_field(U, V, ring)
    h = _half(a, s, U)
    return Deformation((du * h, dv * h))


def _au23(a, s, U, V):
    return _oris(a, s, U, V, 0.04)


def _au24(a, s, U, V):
    return lip_press(a, U, V, 0.035, _half(a, s, U))


def _au25(a, s, U, V):
    return lips_part(a, U, V, 0.015, 0.06)


def _au26(a, s, U, V):
    return jaw(a, U, V, CHIN_DROP_26)


def _au27(a, s, U, V):
    return jaw(a, U, V, CHIN_DROP_27) + lips_part(a, U, V, 0.03, 0.0) + _oris(a, s, U, V, 0.03)


def _au43(a, s, U, V):
    return eyelids(a, s, U, V, closure=1.0)


_ACTIONS: dict[int, Callable[..., Deformation]] = {
    1: _au1, 2: _au2, 4: _au4, 5: _au5, 6: _au6, 7: _au7, 9: _au9, 10: _au10, 12: _au12, 14: _au14, 15: _au15,
    17: _au17, 20: _au20, 23: _au23, 24: _au24, 25: _au25, 26: _au26, 27: _au27, 43: _au43, 45: _au43,
}
_SIDED_AS_ONE = frozenset({23, 24})  # one midline muscle model, weighted to a side when asked


def check_au(au: int, side: str) -> None:
    """Raise ValueError for an AU the generator cannot make or a side it cannot have."""
    if au not in _ACTIONS:
        raise ValueError(f"no synthetic action for AU{au} (available: {sorted(_ACTIONS)})")
    if side not in ("L", "R", "both"):
        raise ValueError(f"side must be 'L', 'R' or 'both', got {side!r}")
    if au in BILATERAL_ONLY and side != "both":
        raise ValueError(f"AU{au} moves the jaw/lips as one: side must be 'both', got {side!r}")


def action(a: Anatomy, au: int, side: str, U: np.ndarray, V: np.ndarray) -> Deformation:
    """The deformation of ``au`` on ``side`` ("L", "R", "both") at intensity 1.0 (FACS E)."""
    check_au(au, side)
    fn = _ACTIONS[au]
    if au in BILATERAL_ONLY or au in _SIDED_AS_ONE:
        return fn(a, side, U, V)
    sides = ("R", "L") if side == "both" else (side,)
    out = Deformation()
    for s in sides:
        out = out + fn(a, s, U, V)
    return out
