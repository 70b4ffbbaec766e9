"""Speech-like mouth motion: the jaw and lips moving at a syllable rate with irregular amplitude.

A talking span is cut into words of 1-4 syllables with short pauses between some words. Each
syllable opens the jaw (AU26, 0.15-0.55 of its maximum: a chin drop of 0.05-0.2 IOD, as in
conversational speech) and parts the lips (AU25) with a sine-squared pulse over the syllable;
its vowel may round the lips (AU23) or spread them (AU20), and a bilabial consonant (p/b/m) may
press them shut (AU24) at its start. Everything is drawn from a seeded generator, so a span is
reproducible.
"""

from __future__ import annotations

import numpy as np

TalkTrack = dict[tuple[int, str], np.ndarray]
"""Per-frame AU amounts over a span: {(au, side): array of intensities}."""


def talking_track(n_frames: int, fps: float, rate_hz: float = 4.0, amplitude: float = 1.0,
                  seed: int = 0) -> TalkTrack:
    """AU amounts for ``n_frames`` of speech at ``rate_hz`` syllables per second."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / fps
    dur = n_frames / fps
    jaw, lips, rnd, spread, press = (np.zeros(n_frames) for _ in range(5))
    s = 0.0
    while s < dur:
        for _ in range(int(rng.integers(1, 5))):  # a word
            length = float(rng.uniform(0.65, 1.4)) / rate_hz
            inside = (t >= s) & (t < s + length)
            x = (t[inside] - s) / length
            pulse = np.sin(np.pi * x) ** 2
            jaw[inside] += rng.uniform(0.15, 0.55) * pulse
            lips[inside] += rng.uniform(0.4, 1.0) * pulse
            r = rng.random()
            if r < 0.3:
                rnd[inside] += rng.uniform(0.3, 0.7) * pulse
            elif r < 0.55:
                spread[inside] += rng.uniform(0.15, 0.4) * pulse
            if rng.random() < 0.2:
                press[inside] += rng.uniform(0.3, 0.7) * np.sin(np.pi * np.clip(2 * x, 0, 1)) ** 2 * (x < 0.5)
            s += length
        if rng.random() < 0.4:
            s += float(rng.uniform(0.1, 0.3))  # a pause between words
    last = (n_frames - 1) / fps
    ramp = np.clip(np.minimum(t, last - t) / 0.08, 0.0, 1.0)  # speech starts and stops smoothly
    k = amplitude * ramp
    return {(26, "both"): jaw * k, (25, "both"): lips * k, (23, "both"): rnd * k, (20, "both"): spread * k,
            (24, "both"): press * k}
