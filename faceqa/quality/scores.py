"""Quality scores in [0, 1] from the raw measurements, and how they combine.

Face components, measured on the face box with :mod:`faceqa.quality.measures`:

``sharpness``
    ``1 - exp(-detail / 150)``, detail the noise-corrected Laplacian variance at the 112 px
    analysis scale. The 62 deepface photos measure 180-1400 (median 520; scores 0.69-1.0); the
    astronaut 602 (0.98), blurred with sigma 1 px 73 (0.39), with sigma 2 px 18 (0.11).
``noise``
    ``1 / (1 + (sigma / 10)^2)``, sigma the noise estimate in gray levels on the full-resolution
    face: 3 -> 0.92, 5 -> 0.80, 10 -> 0.5, 20 -> 0.2.
``exposure``
    ``ramp(b; 0.05 -> 0.25) * ramp(b; 0.95 -> 0.75) * (1 - clipped)``: b the mean brightness
    (0-1), so 1 on [0.25, 0.75] and falling linearly to 0 at 0.05 and 0.95, times the share of
    pixels neither crushed to black nor blown to white.
``motion_blur``
    ``ramp(r; 0.05 -> 0.30)``, r the directional ratio: 1 for r >= 0.30 (95% of the deepface
    photos; the lowest, 0.23, scores 0.72), 0 for r <= 0.05 (a 15 px horizontal smear); a 5 px
    smear gives about 0.85, 9 px 0.25.
``size``
    ``clip(log(px / 24) / log(112 / 24), 0, 1)``, px the mean side of the face box: 0 at 24 px,
    1 from 112 px (the analysis scale) up; 56 px -> 0.55.
``pose``
    ``ramp(a; 60 -> 15)``, a = sqrt(yaw^2 + pitch^2) in degrees: 1 within 15 degrees of frontal,
    0 from 60.

``ramp(x; z -> o)`` is 0 at z, 1 at o, linear between and clipped outside. A face's ``score`` is
the weighted geometric mean of its components (:data:`FACE_WEIGHTS`, each floored at
:data:`FLOOR`), so it falls whenever any one component falls, and one unusable component (a
20 px face, a black frame) pulls it near 0. The whole-frame ``image`` score combines sharpness,
noise, exposure and motion blur the same way (:data:`IMAGE_WEIGHTS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DETAIL_SCALE = 150.0
NOISE_SCALE = 10.0
DARK_RAMP = (0.05, 0.25)
BRIGHT_RAMP = (0.95, 0.75)
MOTION_RAMP = (0.05, 0.30)
SIZE_RANGE = (24.0, 112.0)
POSE_RAMP = (60.0, 15.0)
FLOOR = 1e-3

FACE_WEIGHTS = {"sharpness": 0.25, "noise": 0.15, "exposure": 0.15, "motion_blur": 0.15, "size": 0.15,
                "pose": 0.15}
"""Weights of the face components in a face's score (they sum to 1)."""

IMAGE_WEIGHTS = {"sharpness": 0.4, "noise": 0.2, "exposure": 0.2, "motion_blur": 0.2}
"""Weights of the whole-frame components in a frame's image score (they sum to 1)."""


def ramp(x: float, zero_at: float, one_at: float) -> float:
    """0 at ``zero_at``, 1 at ``one_at``, linear between, clipped to [0, 1] (either direction)."""
    return min(1.0, max(0.0, (x - zero_at) / (one_at - zero_at)))


def sharpness_score(detail: float) -> float:
    """``1 - exp(-detail / DETAIL_SCALE)``."""
    return 1.0 - math.exp(-max(detail, 0.0) / DETAIL_SCALE)


def noise_score(sigma: float) -> float:
    """``1 / (1 + (sigma / NOISE_SCALE)^2)``."""
    return 1.0 / (1.0 + (sigma / NOISE_SCALE) ** 2)


def exposure_score(brightness: float, clipped: float) -> float:
    """Plateau on mean brightness [0.25, 0.75], times the unclipped share."""
    return ramp(brightness, *DARK_RAMP) * ramp(brightness, *BRIGHT_RAMP) * (1.0 - clipped)


def motion_blur_score(ratio: float) -> float:
    """``ramp(ratio; 0.05 -> 0.30)``."""
    return ramp(ratio, *MOTION_RAMP)


def face_size_score(px: float) -> float:
    """``log(px / 24) / log(112 / 24)`` clipped to [0, 1]."""
    low, high = SIZE_RANGE
    return min(1.0, max(0.0, math.log(max(px, 1e-6) / low) / math.log(high / low)))


def pose_score(yaw: float, pitch: float) -> float:
    """``ramp(sqrt(yaw^2 + pitch^2); 60 -> 15)`` (degrees)."""
    return ramp(math.hypot(yaw, pitch), *POSE_RAMP)


def combine(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Weighted geometric mean of ``scores`` (each floored at :data:`FLOOR`) over the keys of ``weights``."""
    total = sum(weights.values())
    return math.exp(sum(w * math.log(max(scores[k], FLOOR)) for k, w in weights.items()) / total)
