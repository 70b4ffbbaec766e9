"""Talking spans from the mouth's opening: speech opens and closes the lips at syllable rate.

A syllable is a local maximum of the mouth opening (inner-lip distance, IOD, from the
pose-normalised mesh) that stands at least ``prominence`` above the troughs around it. Runs of
at least ``min_syllables`` such maxima, each within ``max_gap_s`` of the previous one, are
talking; the span reaches ``pad_s`` beyond the first and last syllable. A single wide-open
mouth (a jaw drop, a scream, a yawn) is one maximum, not a run, so it is not talking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TalkingConfig:
    """Syllable detection: prominence (IOD), spacing and run length."""

    prominence: float = 0.05
    min_syllables: int = 3
    max_gap_s: float = 0.6
    min_gap_s: float = 0.1
    pad_s: float = 0.4


def talking_mask(mouth_open: np.ndarray, fps: float, config: TalkingConfig = TalkingConfig()) -> np.ndarray:
    """Boolean (T,) mask of frames inside talking spans, from the mouth opening (T,) in IOD (NaN = no face)."""
    from scipy.signal import find_peaks

    x = np.asarray(mouth_open, np.float64)
    mask = np.zeros(len(x), bool)
    valid = np.isfinite(x)
    if valid.sum() < 3:
        return mask
    filled = np.interp(np.arange(len(x)), np.flatnonzero(valid), x[valid])
    peaks, _ = find_peaks(filled, prominence=config.prominence,
                          distance=max(1, int(round(config.min_gap_s * fps))))
    if len(peaks) < config.min_syllables:
        return mask
    gap = config.max_gap_s * fps
    pad = int(round(config.pad_s * fps))
    runs = np.split(peaks, np.flatnonzero(np.diff(peaks) > gap) + 1)
    for run in runs:
        if len(run) >= config.min_syllables:
            mask[max(0, run[0] - pad): min(len(x), run[-1] + pad + 1)] = True
    return mask & valid


def spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) index runs where ``mask`` is True."""
    m = np.r_[False, np.asarray(mask, bool), False]
    d = np.diff(m.astype(np.int8))
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True)]
