"""Talking spans: the person speaks where the mouth opens and closes at syllable rate, or where the
audio holds speech while their mouth moves.

- Mouth rhythm: a syllable is a local maximum of the mouth opening (inner-lip distance, IOD, from
  the pose-normalised mesh) that stands at least ``prominence`` above the troughs around it. Runs
  of at least ``min_syllables`` such maxima, each within ``max_gap_s`` of the previous one, are
  talking; the span reaches ``pad_s`` beyond the first and last syllable. A single wide-open mouth
  (a jaw drop, a scream, a yawn) is one maximum, not a run, so it is not talking. Where the video
  has sound that carries a voice (speech probability at least ``speech_threshold`` somewhere), a
  run during which that probability never reaches ``voice_veto`` is not talking either: the mouth
  moves at syllable rate but nobody speaks (pulling faces, chewing, miming to silence). A track
  with no voice anywhere (muted, music only) vetoes nothing.
- Voice: where the video's audio track holds speech (probability at least ``speech_threshold``,
  :mod:`~faceqa.perception.voice`) and the mouth opening varies by at least ``moving`` within
  ``moving_s`` (someone else talking over a still face is not this person talking).
- Pauses: two talking spans less than ``bridge_s`` apart are one (a breath or a closed-lip pause
  between words is still talking).
- Talkers: a face that talks through at least ``talker_share`` of its frames is read again with
  syllables of ``talker_prominence``: someone who talks that much keeps talking in the quieter
  stretches (a murmur, words said with the lips half shut), and there the mouth's small movements
  are speech, not expressions. A face that seldom talks keeps the stricter ``prominence``, so a
  chain of pulled faces is not taken for speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TalkingConfig:
    """Syllable detection: prominence (IOD), spacing and run length; the audio's say (see the module docstring)."""

    prominence: float = 0.03
    min_syllables: int = 3
    max_gap_s: float = 0.8
    min_gap_s: float = 0.1
    pad_s: float = 0.4
    speech_threshold: float = 0.5
    moving: float = 0.02
    moving_s: float = 0.6
    voice_veto: float = 0.3
    bridge_s: float = 0.5
    talker_share: float = 0.3
    talker_prominence: float = 0.015


def talking_mask(mouth_open: np.ndarray, fps: float, config: TalkingConfig = TalkingConfig(),
                 speech: np.ndarray | None = None) -> np.ndarray:
    """Boolean (T,) mask of frames inside talking spans, from the mouth opening (T,) in IOD (NaN = no
    face) and, when the video has sound, the speech probability at each frame (T,)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    x = np.asarray(mouth_open, np.float64)
    mask = np.zeros(len(x), bool)
    valid = np.isfinite(x)
    if valid.sum() < 3:
        return mask
    filled = np.interp(np.arange(len(x)), np.flatnonzero(valid), x[valid])
    voiced = None
    if speech is not None:
        speech = np.asarray(speech, np.float64)
        if (speech >= config.speech_threshold).any():
            voiced = speech >= config.voice_veto
        width = max(1, int(round(config.moving_s * fps)))
        moving = maximum_filter1d(filled, width) - minimum_filter1d(filled, width) >= config.moving
        mask |= (speech >= config.speech_threshold) & moving
    gap = int(round(config.bridge_s * fps))
    out = bridged(_syllable_runs(filled, fps, config.prominence, config, voiced, mask) & valid, gap)
    if config.talker_prominence < config.prominence and out.mean() >= config.talker_share:
        out = bridged(_syllable_runs(filled, fps, config.talker_prominence, config, voiced, out) & valid, gap)
    return out


def _syllable_runs(filled: np.ndarray, fps: float, prominence: float, config: TalkingConfig,
                   voiced: np.ndarray | None, mask: np.ndarray) -> np.ndarray:
    """``mask`` (not changed) or-ed with the spans of syllable runs of ``prominence`` in the mouth opening."""
    from scipy.signal import find_peaks

    out = mask.copy()
    peaks, _ = find_peaks(filled, prominence=prominence, distance=max(1, int(round(config.min_gap_s * fps))))
    pad = int(round(config.pad_s * fps))
    runs = np.split(peaks, np.flatnonzero(np.diff(peaks) > config.max_gap_s * fps) + 1) if len(peaks) else []
    for run in runs:
        a, b = max(0, run[0] - pad), min(len(filled), run[-1] + pad + 1)
        if len(run) >= config.min_syllables and (voiced is None or voiced[a:b].any()):
            out[a:b] = True
    return out


def bridged(mask: np.ndarray, gap: int) -> np.ndarray:
    """``mask`` with the gaps of at most ``gap`` frames between two of its spans filled."""
    out = np.asarray(mask, bool).copy()
    runs = spans(out)
    for (_, end), (start, _) in zip(runs[:-1], runs[1:], strict=True):
        if start - end - 1 <= gap:
            out[end + 1:start] = True
    return out


def spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) index runs where ``mask`` is True."""
    m = np.r_[False, np.asarray(mask, bool), False]
    d = np.diff(m.astype(np.int8))
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True)]
