"""Raw image measurements behind the quality scores: detail, noise, exposure and directional blur.

All take a gray uint8 image (a face crop or a whole frame) and return plain floats in gray levels
(0-255) or fractions; :mod:`faceqa.quality.scores` maps them to [0, 1].
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ANALYSIS_SIZE = 112
"""Face crops larger than this are area-averaged to it (square) before measuring, so faces of any
size are measured at one scale; smaller ones are measured as they are (no interpolation, which
would colour the noise)."""

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
LAPLACIAN_NOISE_GAIN = 20.0
"""Variance of ``cv2.Laplacian`` (3x3, 4-neighbour) on white noise of variance 1: 4 x 1 + 16."""


def analysis_crop(gray: np.ndarray) -> np.ndarray:
    """``gray`` area-averaged to :data:`ANALYSIS_SIZE` square when larger, else unchanged."""
    if max(gray.shape[:2]) <= ANALYSIS_SIZE:
        return gray
    return cv2.resize(gray, (ANALYSIS_SIZE, ANALYSIS_SIZE), interpolation=cv2.INTER_AREA)


def noise_sigma(gray: np.ndarray) -> float:
    """Standard deviation of white noise, Immerkaer's fast estimator (1996), in gray levels.

    The 3x3 mask (difference of two Laplacians) cancels linear ramps; the mean absolute response
    times sqrt(pi / 2) / 6 estimates sigma. Fine texture reads as a little noise (about 1-3 on sharp
    face photos).
    """
    h, w = gray.shape[:2]
    if h < 3 or w < 3:
        return 0.0
    response = cv2.filter2D(gray.astype(np.float64), cv2.CV_64F, _IMMERKAER)[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * np.abs(response).sum() / (6.0 * (w - 2) * (h - 2)))


def detail(gray: np.ndarray) -> float:
    """Variance of the Laplacian minus what the estimated noise contributes to it (>= 0), gray levels^2.

    Blur lowers it; noise, which raises the plain Laplacian variance, is taken out.
    """
    lap = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    return max(0.0, lap - LAPLACIAN_NOISE_GAIN * noise_sigma(gray) ** 2)


def directional_ratio(gray: np.ndarray) -> float:
    """Weakest over strongest of the second-derivative energies along 0, 45, 90 and 135 degrees.

    Measured after a Gaussian of sigma 1 px (so noise does not dominate). Motion blur along one
    direction removes detail along it only, so the ratio drops (face photos: 0.23-0.73, median
    0.56; the astronaut 0.68, smeared 9 px horizontally 0.11); defocus blur lowers all four and
    leaves it about as is.
    """
    g = cv2.GaussianBlur(gray.astype(np.float64), (0, 0), 1.0)
    if min(g.shape[:2]) < 3:
        return 1.0
    c = g[1:-1, 1:-1]
    energies = np.array([
        ((g[1:-1, 2:] - 2 * c + g[1:-1, :-2]) ** 2).mean(),
        ((g[2:, 2:] - 2 * c + g[:-2, :-2]) ** 2).mean() / 4.0,  # step sqrt(2): second difference x 2
        ((g[2:, 1:-1] - 2 * c + g[:-2, 1:-1]) ** 2).mean(),
        ((g[2:, :-2] - 2 * c + g[:-2, 2:]) ** 2).mean() / 4.0,
    ])
    return float(energies.min() / energies.max()) if energies.max() > 0 else 1.0


def brightness(gray: np.ndarray) -> float:
    """Mean gray level as a fraction, 0 (black) to 1 (white)."""
    return float(gray.mean()) / 255.0


def clipped_fraction(gray: np.ndarray, low: int = 2, high: int = 253) -> float:
    """Share of pixels at or below ``low`` or at or above ``high`` (crushed shadows, blown highlights)."""
    return float(((gray <= low) | (gray >= high)).mean())
