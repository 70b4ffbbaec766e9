"""Mesh geometry of the aligned face, in inter-ocular distances (IOD).

Every feature grows when the matching action grows, so a positive delta from the reference
means "more of it":

==========================  ==========================================================  ========
feature                     definition (aligned face, y down)                           AUs
==========================  ==========================================================  ========
``brow_inner_{L,R}``        eye-centre y - inner-brow y                                 1 (+), 4 (-)
``brow_outer_{L,R}``        eye-centre y - outer-brow y                                 2
``brow_gap``                distance between the inner brow ends                        4 (-)
``lid_aperture_{L,R}``      lower-lid y - upper-lid y                                   5 (+), 7/43/45 (-)
``lip_corner_up_{L,R}``     nose-tip y - lip-corner y                                   12 (+), 15 (-)
``lip_corner_out_{L,R}``    |lip-corner x - midline x|                                  12, 20 (+), 14 (-)
``mouth_open``              lower inner lip y - upper inner lip y                       25, 26
``nose_wrinkle_{L,R}``      - distance from the nose side to the inner eye corner       9
==========================  ==========================================================  ========
"""

from __future__ import annotations

import numpy as np

from faceqa.landmarks import LEFT_EYE, LEFT_EYE_INNER, RIGHT_EYE, RIGHT_EYE_INNER

_SIDES = {"R": {"inner": 107, "outer": 70, "eye": RIGHT_EYE, "upper": 159, "lower": 145, "corner": 61,
                "nose": 198, "inner_eye": RIGHT_EYE_INNER},
          "L": {"inner": 336, "outer": 300, "eye": LEFT_EYE, "upper": 386, "lower": 374, "corner": 291,
                "nose": 420, "inner_eye": LEFT_EYE_INNER}}

FEATURES = tuple(
    [f"{name}_{s}" for name in ("brow_inner", "brow_outer") for s in ("L", "R")]
    + ["brow_gap"]
    + [f"lid_aperture_{s}" for s in ("L", "R")]
    + [f"lip_corner_{k}_{s}" for k in ("up", "out") for s in ("L", "R")]
    + ["mouth_open"]
    + [f"nose_wrinkle_{s}" for s in ("L", "R")]
)
"""Feature names, in the column order of the evidence table (prefixed ``geom_`` there)."""


def mesh_features(lm: np.ndarray, iod: float) -> np.ndarray:
    """The :data:`FEATURES` vector for aligned landmarks ``lm`` (N, 2) and the IOD in pixels."""
    midline = (lm[1, 0] + lm[168, 0]) / 2
    vals = {}
    for s, ix in _SIDES.items():
        eye_y = lm[list(ix["eye"]), 1].mean()
        vals[f"brow_inner_{s}"] = eye_y - lm[ix["inner"], 1]
        vals[f"brow_outer_{s}"] = eye_y - lm[ix["outer"], 1]
        vals[f"lid_aperture_{s}"] = lm[ix["lower"], 1] - lm[ix["upper"], 1]
        vals[f"lip_corner_up_{s}"] = lm[1, 1] - lm[ix["corner"], 1]
        vals[f"lip_corner_out_{s}"] = abs(lm[ix["corner"], 0] - midline)
        vals[f"nose_wrinkle_{s}"] = -float(np.linalg.norm(lm[ix["nose"]] - lm[ix["inner_eye"]]))
    vals["brow_gap"] = float(np.linalg.norm(lm[107] - lm[336]))
    vals["mouth_open"] = lm[14, 1] - lm[13, 1]
    return np.array([vals[f] for f in FEATURES], np.float32) / iod
