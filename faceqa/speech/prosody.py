"""Pitch and energy of speech, per 10 ms frame.

Energy is the RMS level in dBFS over a 25 ms window. Pitch (F0) is read from the normalised
autocorrelation over a 40 ms window: the lag of its highest peak between ``fmin`` and ``fmax``,
taking the shortest lag within 10 % of the best one (no octave
errors), refined by a parabola; a frame is voiced where that peak reaches ``voicing`` and the level is
within 35 dB of the loudest frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceqa.media.audio import AudioTrack

HOP_S = 0.01


@dataclass
class Prosody:
    """Per-frame ``times_s`` (frame centres), ``energy_db`` and ``f0_hz`` (NaN where unvoiced)."""

    times_s: np.ndarray
    energy_db: np.ndarray
    f0_hz: np.ndarray

    def between(self, start_s: float, end_s: float) -> tuple[float, float]:
        """(mean F0 in Hz or NaN, mean energy in dB) of the frames in [start_s, end_s)."""
        m = (self.times_s >= start_s) & (self.times_s < end_s)
        if not m.any():
            return float("nan"), float("nan")
        f0 = self.f0_hz[m]
        voiced = f0[np.isfinite(f0)]
        return (float(voiced.mean()) if len(voiced) else float("nan")), float(self.energy_db[m].mean())


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    n = max(0, 1 + (len(x) - size) // hop)
    if n == 0:
        return np.zeros((0, size), np.float32)
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]


def prosody(audio: AudioTrack, fmin: float = 70.0, fmax: float = 400.0, voicing: float = 0.6) -> Prosody:
    """Energy and F0 of ``audio`` every 10 ms."""
    x = np.asarray(audio.samples, np.float32)
    rate = audio.rate
    hop = int(round(HOP_S * rate))
    win = int(round(0.04 * rate))
    frames = _frames(x, win, hop)
    n = len(frames)
    times = (np.arange(n) * hop + win / 2) / rate
    centre = frames[:, (win - int(0.025 * rate)) // 2:(win + int(0.025 * rate)) // 2]
    energy = 10 * np.log10(np.mean(centre.astype(np.float64) ** 2, axis=1) + 1e-10)
    f0 = np.full(n, np.nan)
    if n:
        w = frames * np.hanning(win)[None, :]
        w = w - w.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(w, 2 * win, axis=1)
        ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :win]
        wac = np.fft.irfft(np.abs(np.fft.rfft(np.hanning(win), 2 * win)) ** 2)[:win]
        ac = ac / np.maximum(ac[:, :1], 1e-12) / np.maximum(wac / wac[0], 1e-3)
        lo, hi = int(rate / fmax), min(win - 2, int(rate / fmin))
        seg = ac[:, lo:hi]
        best = seg.max(axis=1, keepdims=True)
        local = np.zeros_like(seg, bool)
        local[:, 1:-1] = (seg[:, 1:-1] >= seg[:, :-2]) & (seg[:, 1:-1] >= seg[:, 2:])
        k = np.argmax(local & (seg >= 0.9 * best), axis=1)  # the shortest lag near the best: no octave drops
        peak = seg[np.arange(n), k]
        lag = (k + lo).astype(np.float64)
        inner = (k > 0) & (k < seg.shape[1] - 1)
        a, b, c = (ac[np.arange(n), (lag + d).astype(int).clip(0, win - 1)] for d in (-1, 0, 1))
        den = a - 2 * b + c
        shift = np.where(inner & (den < 0), 0.5 * (a - c) / np.where(den < 0, den, -1), 0.0)
        voiced = (peak >= voicing) & (energy >= energy.max() - 35)
        f0 = np.where(voiced, rate / (lag + shift), np.nan)
    return Prosody(times, energy.astype(np.float32), f0.astype(np.float32))
