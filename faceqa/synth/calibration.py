"""Measure what each AU does at full intensity (FACS E) on a given face: the displacement of the
anatomical point that FACS describes for it, in IOD, read from the muscle model itself.

``python -m faceqa.synth.calibration`` prints the table for the astronaut portrait; the values
documented in ``faceqa/synth/actions.py`` come from it.
"""

from __future__ import annotations

import numpy as np

from faceqa.synth.actions import action
from faceqa.synth.anatomy import SIGN, Anatomy
from faceqa.synth.layers import Field

LANDMARKS = {
    1: "brow head", 2: "outer brow", 4: "brow head / mid-brow", 5: "upper lid margin", 6: "infraorbital cheek",
    7: "lower lid margin", 9: "nasal ala", 10: "upper lip (between philtrum and corner)", 12: "lip corner",
    14: "lip corner", 15: "lip corner", 17: "chin boss", 20: "lip corner", 23: "lip corner", 24: "upper lip border",
    25: "lip gap mid-mouth", 26: "menton (chin)", 27: "menton (chin)", 43: "upper lid (eye closed)",
    45: "upper lid (eye closed)",
}


def _at(f: Field | None, i: int = 0) -> np.ndarray:
    if f is None:
        return np.zeros(2)
    return np.array([float(np.ravel(f[0])[i]), float(np.ravel(f[1])[i])])


def displacement(a: Anatomy, au: int, side: str, point: np.ndarray, layer: str = "common") -> np.ndarray:
    """(dU, dV) in IOD of ``point`` under ``au`` at E; ``layer``: "common", "top" or "bottom" (adds
    that layer's extra in the region that splits there)."""
    u, v = np.array([point[0]]), np.array([point[1]])
    d = action(a, au, side, u, v)
    out = _at(d.common)
    if layer != "common":
        for t, b in d.splits.values():
            out = out + _at(t if layer == "top" else b)
    return out


def _mid(poly: np.ndarray) -> np.ndarray:
    c = 0.5 * (poly[0, 0] + poly[-1, 0])
    return np.array([c, np.interp(c, poly[:, 0], poly[:, 1])])


def calibration(a: Anatomy, side: str = "L") -> dict[int, dict[str, float]]:
    """Per AU: the displacement of its FACS landmark on ``side`` at E (IOD): ``up`` (+ = up),
    ``out`` (+ = away from the midline) and ``size`` (length), plus AU-specific extras."""
    sg = SIGN[side]
    res: dict[int, dict[str, float]] = {}

    def rec(au, d, **extra):
        res[au] = {"up": round(-d[1], 4), "out": round(sg * d[0], 4), "size": round(float(np.hypot(*d)), 4),
                   **{k: round(float(v), 4) for k, v in extra.items()}}

    rec(1, displacement(a, 1, side, a.brow_point(side, 0.1)))
    rec(2, displacement(a, 2, side, a.brow_point(side, 0.75)))
    mid_brow = displacement(a, 4, side, a.brow_point(side, 0.5))
    rec(4, displacement(a, 4, side, a.brow_point(side, 0.05)), mid_brow_medial=-sg * mid_brow[0])
    rec(5, displacement(a, 5, side, _mid(a.upper_lid[side]), "top"))
    rec(6, displacement(a, 6, side, a.eye_centre[side] + (sg * 0.05, 0.38)),
        lower_lid_up=-displacement(a, 6, side, _mid(a.lower_lid[side]), "bottom")[1])
    rec(7, displacement(a, 7, side, _mid(a.lower_lid[side]), "bottom"),
        upper_lid_down=displacement(a, 7, side, _mid(a.upper_lid[side]), "top")[1])
    c = a.mouth_centre[0]
    lip = np.array([c + sg * 0.1, np.interp(c + sg * 0.1, a.upper_lip[:, 0], a.upper_lip[:, 1])])
    rec(9, displacement(a, 9, side, a.ala[side]), upper_lip_up=-displacement(a, 9, side, lip, "top")[1],
        brow_head_down=displacement(a, 9, side, a.brow_point(side, 0.05))[1])
    u10 = c + sg * 0.17
    up10 = np.array([u10, np.interp(u10, a.upper_lip[:, 0], a.upper_lip[:, 1])])
    lo10 = np.array([u10, np.interp(u10, a.lower_lip[:, 0], a.lower_lip[:, 1])])
    rec(10, displacement(a, 10, side, up10, "top"), lower_lip_up=-displacement(a, 10, side, lo10, "bottom")[1])
    for au in (12, 14, 15, 20, 23):
        rec(au, displacement(a, au, "both" if au == 23 else side, a.corner[side]))
    lower_mid = np.array([c, np.interp(c, a.lower_lip[:, 0], a.lower_lip[:, 1])])
    lower_red = np.array([c, 0.5 * (lower_mid[1] + np.interp(c, a.lip_line[:, 0], a.lip_line[:, 1]))])
    rec(17, displacement(a, 17, "both", a.pogonion), lower_lip_up=-displacement(a, 17, "both", lower_red)[1])
    upper_mid = np.array([c, np.interp(c, a.upper_lip[:, 0], a.upper_lip[:, 1])])
    rec(24, displacement(a, 24, "both", upper_mid), lower_lip_up=-displacement(a, 24, "both", lower_mid)[1])
    line = np.array([c, np.interp(c, a.lip_line[:, 0], a.lip_line[:, 1])])
    for au in (25, 26, 27):
        gap = displacement(a, au, "both", line, "bottom")[1] - displacement(a, au, "both", line, "top")[1]
        point = line if au == 25 else a.menton
        rec(au, displacement(a, au, "both", point, "bottom"), gap=gap)
    for au in (43, 45):
        up = _mid(a.upper_lid[side])
        lo = np.array([up[0], np.interp(up[0], a.lower_lid[side][:, 0], a.lower_lid[side][:, 1])])
        closed = (lo[1] + displacement(a, au, side, lo, "bottom")[1]
                  - up[1] - displacement(a, au, side, up, "top")[1])
        rec(au, displacement(a, au, side, up, "top"), aperture_before=lo[1] - up[1], aperture_after=closed)
    return dict(sorted(res.items()))


def main() -> None:
    """Print the calibration table for the astronaut portrait."""
    from faceqa.synth.anatomy import anatomy_from_mesh
    from faceqa.synth.clips import find_landmarks
    from faceqa.synth.faces import astronaut_face

    a = anatomy_from_mesh(find_landmarks(astronaut_face()))
    for au, row in calibration(a).items():
        print(f"AU{au:<3d} {LANDMARKS[au]:<40s} " + "  ".join(f"{k}={v:+.3f}" for k, v in row.items()))


if __name__ == "__main__":
    main()
