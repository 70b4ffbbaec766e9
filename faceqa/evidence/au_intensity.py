"""AU intensity per frame and side on FACS's A-E scale, by explaining the face's change with AUs.

What is measured, per frame, as change from the person's neutral reference (IOD units):

- the pose-normalised mesh measures of :mod:`~faceqa.evidence.face_geometry` (mouth opening, jaw
  drop, lip-corner height and width, brow heights, eye aperture, ...), per side where they have one;
- the optical-flow displacement of each FACS region (:mod:`~faceqa.evidence.regions`), as
  (out, up) per side, for the subtle skin motion the mesh misses.

Each AU has a *signature*: the change it makes to every one of those numbers at intensity E
(FACS maximum), one signature per side for lateral AUs, one for midline AUs (25, 26, 17, 24).
A frame's AU intensities ``a >= 0`` are the non-negative least-squares solution of::

    minimise || W (y - B a) ||^2 + ridge * ||a||^2     subject to a >= 0

with ``y`` the frame's measured changes, ``B`` the signatures as columns and ``W`` each number's
inverse nominal noise level (:func:`noise_levels`). Solving
for all AUs at once *explains away* what one AU does to another's measures: a broad smile raises
the nose wings and thins the lips, but the smile's signature already says so, so no AU9 or AU24 is
invented; an open jaw lowers the lips, which AU26's signature explains, so it is never read as
AU15. Intensities are on the 0-5 scale: 1 trace (A), 2 slight (B), 3 marked (C), 4 severe (D),
5 maximum (E) (:func:`letter`), uncapped, so a broad smile (~4-5), a jaw drop (3-5) and a brief
brow twitch (1-2) are readable side by side and nothing is pinned at a ceiling.

The signatures (:data:`SIGNATURES`, :data:`FLOW_SIGNATURES`) are written from the FACS manual's
appearance changes and checked against the tuning clips of the hand-labelled real set
(``tests/data/real_events.json``).
"""

from __future__ import annotations

import numpy as np

from faceqa.evidence.face_geometry import MEASURES
from faceqa.evidence.regions import REGIONS, region_keys

SIGNATURES: dict[int, dict[str, float]] = {
    1: {"brow_inner": 0.12, "brow_outer": 0.04},
    2: {"brow_outer": 0.12, "brow_inner": 0.03},
    4: {"brow_inner": -0.08, "brow_outer": -0.03, "brow_gap": -0.06, "eye_open": -0.01},
    5: {"eye_open": 0.05},
    6: {"lower_lid": 0.03, "eye_open": -0.04, "brow_inner": -0.02, "brow_outer": -0.03, "nose_wrinkle": 0.02,
        "corner_up": 0.01},
    7: {"lower_lid": 0.04, "eye_open": -0.04},
    9: {"nose_wrinkle": 0.06, "upper_lip": 0.03, "brow_inner": -0.02, "brow_gap": -0.01},
    10: {"upper_lip": 0.08, "mouth_open": 0.03, "nose_wrinkle": 0.02},
    12: {"corner_up": 0.15, "corner_out": 0.12, "lower_lid": 0.01, "nose_wrinkle": 0.05, "upper_lip": 0.04,
         "lip_thickness": -0.02},
    14: {"corner_out": -0.08, "corner_up": 0.01, "lip_thickness": -0.01},
    15: {"corner_up": -0.12, "corner_out": 0.01, "chin_lip": 0.02},
    17: {"chin_lip": 0.10, "corner_up": -0.02, "lip_thickness": 0.01},
    18: {"corner_out": -0.12, "lip_thickness": 0.03},
    20: {"corner_out": 0.12, "corner_up": -0.01, "lip_thickness": -0.02},
    24: {"lip_thickness": -0.06, "corner_out": -0.01},
    25: {"mouth_open": 0.25, "chin_lip": 0.08, "corner_up": -0.03},
    26: {"jaw_drop": 0.30, "mouth_open": 0.30, "corner_up": -0.08, "corner_out": 0.04, "lip_thickness": 0.03},
    45: {"eye_open": -0.15, "lower_lid": 0.01},
}
"""AU -> change of each mesh measure (base name, IOD) at intensity E; per-side measures take the
AU's side, midline measures (``brow_gap``, ``mouth_open``, ``jaw_drop``, ``lip_thickness``,
``chin_lip``) take the full change from a midline AU and half of it from each side of a lateral AU."""

FLOW_SIGNATURES: dict[int, tuple[tuple[str, float, float], ...]] = {
    1: (("inner_brow", 0.0, 0.10),),
    2: (("outer_brow", 0.0, 0.10),),
    4: (("inner_brow", -0.035, -0.07), ("glabella", 0.0, -0.04)),
    5: (("upper_lid", 0.0, 0.05),),
    6: (("cheek", 0.0, 0.07), ("lower_lid", 0.0, 0.02)),
    7: (("lower_lid", 0.0, 0.04),),
    9: (("nose_side", 0.0, 0.06), ("upper_lip", 0.0, 0.03)),
    10: (("upper_lip", 0.0, 0.08),),
    12: (("lip_corner", 0.08, 0.12), ("cheek", 0.0, 0.02), ("upper_lip", 0.0, 0.04)),
    14: (("lip_corner", -0.06, 0.0),),
    18: (("lip_corner", -0.10, 0.0),),
    15: (("lip_corner", 0.0, -0.08),),
    17: (("chin", 0.0, 0.06), ("lower_lip_centre", 0.0, 0.03)),
    20: (("lip_corner", 0.10, -0.02),),
    24: (("upper_lip_centre", 0.0, -0.02), ("lower_lip_centre", 0.0, 0.03)),
    25: (("lower_lip_centre", 0.0, -0.06),),
    26: (("lower_lip_centre", 0.0, -0.15), ("chin", 0.0, -0.20), ("lip_corner", 0.0, -0.05)),
    45: (("upper_lid", 0.0, -0.10),),
}
"""AU -> (region, out, up) displacement of its FACS regions at intensity E (IOD)."""

INTENSITY_AUS: tuple[int, ...] = tuple(SIGNATURES)
"""The AUs read, in column order."""
MIDLINE_AUS = frozenset({17, 18, 24, 25, 26})
"""AUs with one value for the face (both sides' columns hold it)."""
DISTRACTOR_AUS = frozenset({25, 26, 45})
"""AUs that talking and blinking produce; an event made of these alone is not an expression."""
MOUTH_AUS = frozenset({10, 12, 14, 15, 17, 18, 20, 24, 25, 26})
"""AUs that speech moves: read from their slow part while the person talks."""
GEOMETRY_NOISE = 0.006
FLOW_NOISE = 0.008
MOUTH_FLOW_NOISE = 0.02
"""Nominal noise (IOD) of a mesh measure and of a region's flow: the weights of the fit."""
MOUTH_REGIONS = frozenset({"upper_lip", "lip_corner", "lower_lip", "upper_lip_centre", "lower_lip_centre", "chin"})
"""Regions whose flow fails once the lips part (teeth and the mouth's inside appear)."""
RIDGE = 0.05
"""Ridge weight (in units of the weighted residual): a little preference for fewer, weaker AUs."""
FLOW_EXPLAINED = 0.5
"""Share of a frame's flow that the AUs must explain for the flow's reading to count."""
MAX_INTENSITY = 6.0
"""The most an AU can read: a little beyond E (5), for expressions bigger than the signature's E."""

_LETTERS = ((4.5, "E"), (3.5, "D"), (2.5, "C"), (1.5, "B"), (0.5, "A"))
_MIDLINE_MEASURES = frozenset(m for m in MEASURES if not m.endswith(("_L", "_R")))


def letter(intensity: float) -> str:
    """FACS intensity letter of a value on the 0-5 scale: A (trace) .. E (maximum), "" below 0.5."""
    return next((name for low, name in _LETTERS if intensity >= low), "")


def intensity_columns() -> list[str]:
    """Intensity column names: ``au_{n}_{L|R}`` for every AU of :data:`INTENSITY_AUS`."""
    return [f"au_{au}_{s}" for au in INTENSITY_AUS for s in ("L", "R")]


def flow_rows() -> list[tuple[str, str, int]]:
    """(region, side, component) of each flow number: component 0 = out (from the midline), 1 = up."""
    return [(name, side, c) for name, side in region_keys() for c in (0, 1)]


def flow_measurements(disp: np.ndarray) -> np.ndarray:
    """Region displacements (T, K, 2) in aligned image axes -> (T, 2K) as (out, up) per side, IOD."""
    disp = np.asarray(disp, np.float64)
    out = np.empty((disp.shape[0], 2 * disp.shape[1]))
    for k, (_, side) in enumerate(region_keys()):
        sign = 0.0 if side == "C" else (1.0 if side == "L" else -1.0)  # the subject's left is on the image's right
        out[:, 2 * k] = sign * disp[:, k, 0]
        out[:, 2 * k + 1] = -disp[:, k, 1]
    return out


def _columns() -> list[tuple[int, str]]:
    """(AU, side) of each unknown: "L" and "R" for lateral AUs, "C" for midline ones."""
    return [(au, "C") if au in MIDLINE_AUS else (au, s) for au in INTENSITY_AUS
            for s in (("C",) if au in MIDLINE_AUS else ("L", "R"))]


def basis() -> np.ndarray:
    """The signature matrix B (measurements x unknowns): geometry rows, then flow rows."""
    cols = _columns()
    index = {m: i for i, m in enumerate(MEASURES)}
    frows = {r: i for i, r in enumerate(flow_rows())}
    central = {r.name for r in REGIONS if r.central}
    b = np.zeros((len(MEASURES) + len(frows), len(cols)))
    for j, (au, side) in enumerate(cols):
        sides = ("L", "R") if side == "C" else (side,)
        for name, value in SIGNATURES[au].items():
            if name in _MIDLINE_MEASURES:
                b[index[name], j] += value * (1.0 if side == "C" else 0.5)
            else:
                for s in sides:
                    b[index[f"{name}_{s}"], j] += value
        for region, out, up in FLOW_SIGNATURES.get(au, ()):
            if region in central:
                b[len(MEASURES) + frows[(region, "C", 1)], j] += up * (1.0 if side == "C" else 0.5)
                continue
            for s in sides:
                b[len(MEASURES) + frows[(region, s, 0)], j] += out
                b[len(MEASURES) + frows[(region, s, 1)], j] += up
    return b


def noise_levels(geometry: float = GEOMETRY_NOISE, flow: float = FLOW_NOISE,
                 mouth_flow: float = MOUTH_FLOW_NOISE) -> np.ndarray:
    """Nominal noise level (IOD) of each measurement: geometry rows, then flow rows (the mouth regions'
    flow, which lip shapes and teeth disturb most, counts less)."""
    mouth = [region in MOUTH_REGIONS for region, _, _ in flow_rows()]
    return np.concatenate([np.full(len(MEASURES), geometry), np.where(mouth, mouth_flow, flow)])


def measurements(face: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """The measurement vectors (T, M + 2K): geometry changes then flow (out, up) per region side."""
    return np.concatenate([np.asarray(face, np.float64), flow_measurements(disp)], axis=1)


MOUTH_OPENED = 0.05
"""Opening of the lips (IOD) beyond the reference from which the mouth regions' flow is not trusted."""


def _mouth_flow_rows() -> np.ndarray:
    rows = np.zeros(len(MEASURES) + 2 * len(region_keys()), bool)
    for i, (region, _, _) in enumerate(flow_rows()):
        rows[len(MEASURES) + i] = region in MOUTH_REGIONS
    return rows


def _bounded_nnls(a_mat: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """min ||A x - rhs|| with 0 <= x <= :data:`MAX_INTENSITY`: NNLS, then any unknown over the bound is
    fixed at it and the others are solved again (an AU can be at most a little beyond E; what it
    cannot explain stays unexplained instead of inflating a small AU)."""
    from scipy.optimize import nnls

    n = a_mat.shape[1]
    fixed = np.zeros(n, bool)
    x = np.zeros(n)
    for _ in range(3):
        free = ~fixed
        x[free] = nnls(a_mat[:, free], rhs - a_mat[:, fixed] @ x[fixed], maxiter=20 * n)[0]
        over = free & (x > MAX_INTENSITY)
        if not over.any():
            break
        x[over] = MAX_INTENSITY
        fixed |= over
    return x


def expression_energy(y: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """A fast (T,) measure of how much expression each frame shows: the summed positive part of the
    unconstrained ridge solution over the expression AUs (blinks and lips part / jaw drop left out).
    Used to find the frames at rest; NaN rows give NaN."""
    y = np.asarray(y, np.float64)
    w = 1.0 / noise_levels()
    bw = basis() / 5.0 * w[:, None]
    cols = _columns()
    solve = np.linalg.solve(bw.T @ bw + ridge * np.eye(len(cols)), bw.T)  # (n, D)
    a = np.nan_to_num(y * w) @ solve.T
    keep = [k for k, (au, _) in enumerate(cols) if au not in DISTRACTOR_AUS]
    energy = np.clip(a[:, keep], 0.0, None).sum(axis=1)
    return np.where(np.isfinite(y).all(axis=1), energy, np.nan)


def solve_intensity(y: np.ndarray, sigma: np.ndarray | None = None, lips_apart: np.ndarray | None = None,
                    ridge: float = RIDGE) -> np.ndarray:
    """Intensities (T, 2 * len(INTENSITY_AUS)) in :func:`intensity_columns` order from measurements (T, D)
    (see :func:`solve_with_fit`, which also says how much of each frame's change the AUs explain)."""
    return solve_with_fit(y, sigma, lips_apart, ridge)[0]


def solve_with_fit(y: np.ndarray, sigma: np.ndarray | None = None, lips_apart: np.ndarray | None = None,
                   ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Intensities (T, 2 * len(INTENSITY_AUS)) in :func:`intensity_columns` order from measurements (T, D).

    Args:
        y: :func:`measurements` relative to the neutral reference.
        sigma: each measurement's noise level (default :func:`noise_levels`).
        lips_apart: (T,) frames where the lips have parted (teeth and the mouth's inside appear): the
            mouth regions' flow is left out there. Default: where ``y``'s mouth opening exceeds
            :data:`MOUTH_OPENED`.
        ridge: weight of the preference for weaker AUs.
    Rows with a NaN measurement give zeros.

    Returns the intensities and, per frame, the share (0..1) of the weighted squared change that the
    AUs explain (1 where nothing changed).
    """
    y = np.asarray(y, np.float64)
    w = 1.0 / (noise_levels() if sigma is None else np.asarray(sigma, np.float64))
    b = basis() / 5.0  # unknowns on the 0-5 scale: B a / 5 is the change
    cols = _columns()
    solved = np.zeros((len(y), len(cols)))
    ok = np.isfinite(y).all(axis=1)
    apart = (np.nan_to_num(y[:, MEASURES.index("mouth_open")]) > MOUTH_OPENED if lips_apart is None
             else np.asarray(lips_apart, bool))
    explained = np.ones(len(y))
    pad = np.zeros(len(cols))
    for group, wg in ((ok & ~apart, w), (ok & apart, np.where(_mouth_flow_rows(), 0.0, w))):
        a_mat = np.vstack([b * wg[:, None], np.sqrt(ridge) * np.eye(len(cols))])
        for t in np.flatnonzero(group):
            solved[t] = _bounded_nnls(a_mat, np.concatenate([y[t] * wg, pad]))
            total = float(((y[t] * wg) ** 2).sum())
            if total > 0:
                explained[t] = 1.0 - float(((y[t] * wg - a_mat[:len(wg)] @ solved[t]) ** 2).sum()) / total
    out = np.zeros((len(y), 2 * len(INTENSITY_AUS)), np.float32)
    where = {au: j for j, au in enumerate(INTENSITY_AUS)}
    for k, (au, side) in enumerate(cols):
        j = where[au]
        if side in ("C", "L"):
            out[:, 2 * j] = solved[:, k]
        if side in ("C", "R"):
            out[:, 2 * j + 1] = solved[:, k]
    return out, explained


def fused_intensity(y: np.ndarray, sigma: np.ndarray | None = None, flow_ok: np.ndarray | None = None,
                    ridge: float = RIDGE) -> np.ndarray:
    """Per AU and side, the larger of the intensities solved from the mesh geometry alone and from the
    regional flow alone (``y``, ``sigma``, ``ridge`` as :func:`solve_intensity`).

    The two see different things: the mesh follows large, real expressions (a broad smile, a jaw
    drop) but barely moves for subtle skin motion; the flow sees subtle motion (micro-expressions)
    but fails where the mouth opens, over long spans, and when the head has turned away from the
    reference (the 2-D aligned face then shows parallax, not expression). ``flow_ok`` (T,) marks
    the frames where the flow is valid; elsewhere only the geometry counts; so does it where the AUs
    explain less than :data:`FLOW_EXPLAINED` of the flow (motion that no AU makes: a head turn, a
    hand, a failed flow).
    """
    sigma = noise_levels() if sigma is None else np.asarray(sigma, np.float64)
    geometry = np.arange(len(sigma)) < len(MEASURES)
    geo = solve_intensity(y, np.where(geometry, sigma, np.inf), ridge=ridge)
    flow, explained = solve_with_fit(y, np.where(geometry, np.inf, sigma), ridge=ridge)
    ok = explained >= FLOW_EXPLAINED
    if flow_ok is not None:
        ok &= np.asarray(flow_ok, bool)
    flow[~ok] = 0.0
    return np.maximum(geo, flow)
