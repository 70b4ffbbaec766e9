"""Audio-video offset from the lips and the voice (``faceqa av-sync``).

Two lip signals of the one tracked speaker (:mod:`faceqa.audiovisual.mouth`: the main face within one
shot): the mesh's inner-lip opening and the darkness of the mouth (an open mouth shows its dark
inside), and the log energy of the 300-3000 Hz band of the audio are put on one 10 ms grid on the
file's clock and band-passed to 0.5-8 Hz (:data:`BAND`: phrases and syllables; slower drift and the
mesh's frame-to-frame jitter removed). The normalised cross-correlation of each lip signal with the
voice is taken at every lag within ``max_lag_s`` over the pairs (video frame with the face, audio
10 ms with speech by Silero VAD: lips also move without a voice, and music fills the gaps), and the
two curves are averaged, each weighted by its own best value (the signal that follows the voice
better counts more). The best lag, refined by a parabola, is the offset: ``offset_ms`` > 0 when the
audio lags the video (the sound of a syllable comes after the mouth that makes it). ``confidence`` in
[0, 1] says how much the best peak stands above the best one at least 150 ms away from it (0: another
lag fits as well, as when lips and music keep one beat; 1: no other lag fits at all); ``correlation``
is the peak's value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from faceqa.audiovisual.mouth import MouthTrack
from faceqa.media.audio import AudioTrack

HOP_S = 0.01
BAND = (0.5, 8.0)
"""Both signals are band-passed to this range (Hz) before they are correlated."""
SPEECH = 0.2
"""An audio frame counts as speech where Silero VAD's probability (smoothed over 0.5 s) reaches this."""


@dataclass
class SyncResult:
    """An audio-video offset estimate."""

    offset_ms: float
    confidence: float
    correlation: float
    lags_ms: np.ndarray = field(repr=False)
    curve: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {"offset_ms": round(self.offset_ms, 1), "confidence": round(self.confidence, 3),
                "correlation": round(self.correlation, 3)}


def voice_envelope(audio: AudioTrack, band: tuple[float, float] = (300.0, 3000.0)) -> tuple[np.ndarray, np.ndarray]:
    """(times on the file's clock, log RMS of the speech band) every 10 ms."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, band, "bandpass", fs=audio.rate, output="sos")
    y = sosfiltfilt(sos, np.asarray(audio.samples, np.float64)) if len(audio.samples) > 30 else audio.samples
    hop = int(round(HOP_S * audio.rate))
    n = len(y) // hop
    rms = np.sqrt((np.asarray(y[:n * hop]).reshape(n, hop) ** 2).mean(1) + 1e-10)
    return audio.start_s + (np.arange(n) + 0.5) * HOP_S, np.log(rms)


def _band(x: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(2, BAND, "bandpass", fs=1.0 / HOP_S, output="sos"), x)


def _ncc(m: np.ndarray, e: np.ndarray, face: np.ndarray, speech: np.ndarray, k: int) -> float:
    n = len(m)
    if k >= 0:
        a, b, w = m[:n - k], e[k:], face[:n - k] & speech[k:]
    else:
        a, b, w = m[-k:], e[:n + k], face[-k:] & speech[:n + k]
    a, b = a[w], b[w]
    if len(a) < 10:
        return 0.0
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def speech_frames(grid: np.ndarray, audio: AudioTrack) -> np.ndarray:
    """Which times of ``grid`` (file clock) the audio speaks at (:data:`SPEECH`); all of them where it
    speaks for under 1 s in all (no voice to go by: the whole sound is used)."""
    from faceqa.perception.voice import speech_at

    speech = speech_at(grid - audio.start_s, audio, smooth_s=0.5) >= SPEECH
    return speech if speech.sum() * HOP_S >= 1.0 else np.ones(len(grid), bool)


def estimate_offset(track: MouthTrack, audio: AudioTrack, max_lag_s: float = 1.0) -> SyncResult:
    """The audio's lag behind the video (ms) from the lip opening and the voice envelope."""
    from faceqa.errors import InvalidInputError

    ok = track.valid
    if ok.sum() < 10:
        raise InvalidInputError(f"{track.path}: too few frames with a face to measure audio-video sync")
    ta, env = voice_envelope(audio)
    lo, hi = max(track.times_s[0], ta[0]), min(track.times_s[-1], ta[-1])
    if hi - lo < 1.0:
        raise InvalidInputError(f"{track.path}: audio and video overlap for under 1 s")
    grid = np.arange(lo, hi, HOP_S)
    face = np.interp(grid, track.times_s, ok.astype(float)) > 0.99
    e = _band(np.interp(grid, ta, env))
    speech = speech_frames(grid, audio)
    lags = np.arange(-int(round(max_lag_s / HOP_S)), int(round(max_lag_s / HOP_S)) + 1)
    curves = []
    for signal in (track.opening, track.darkness):
        if signal is None or np.isfinite(signal).sum() < 10:
            continue
        have = np.isfinite(signal)
        m = _band(np.interp(grid, track.times_s[have], signal[have]))
        curves.append(np.array([_ncc(m, e, face, speech, int(k)) for k in lags]))
    weights = np.array([max(c.max(), 1e-6) for c in curves])
    curve = (weights[:, None] * np.array(curves)).sum(0) / weights.sum()
    j = int(np.argmax(curve))
    lag = float(lags[j])
    if 0 < j < len(curve) - 1:
        den = curve[j - 1] - 2 * curve[j] + curve[j + 1]
        if den < 0:
            lag += 0.5 * (curve[j - 1] - curve[j + 1]) / den
    far = np.abs(lags - lags[j]) * HOP_S >= 0.15
    peak = float(curve[j])
    rival = float(curve[far].max()) if far.any() else 0.0
    confidence = float(np.clip((peak - max(rival, 0.0)) / peak, 0.0, 1.0)) if peak > 0 else 0.0
    return SyncResult(lag * HOP_S * 1000.0, confidence, peak, lags * HOP_S * 1000.0, curve)


def shift_audio(audio: AudioTrack, offset_ms: float) -> AudioTrack:
    """``audio`` made to lag by ``offset_ms`` (< 0: to lead): samples delayed or advanced, length kept."""
    k = int(round(offset_ms / 1000.0 * audio.rate))
    x = audio.samples
    y = np.r_[np.zeros(k, x.dtype), x][:len(x)] if k >= 0 else np.r_[x[-k:], np.zeros(-k, x.dtype)]
    return AudioTrack(y, audio.rate, audio.path, audio.start_s)


def av_sync(video: str | os.PathLike, max_lag_s: float = 1.0, track: MouthTrack | None = None) -> SyncResult:
    """Estimate the audio-video offset of ``video`` (see the module's doc)."""
    from faceqa.audiovisual.mouth import mouth_track
    from faceqa.media.audio import read_audio

    audio = read_audio(video)
    return estimate_offset(track or mouth_track(video), audio, max_lag_s)
