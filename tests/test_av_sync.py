"""Audio-video sync: shot cuts, the speaker's track, and the offset on signals with a known lag."""

from __future__ import annotations

import numpy as np
import pytest

from faceqa.audiovisual.mouth import MouthTrack, main_face, shot_starts
from faceqa.media.audio import AudioTrack

FPS, RATE = 25.0, 16000


def test_shot_starts_marks_cuts_not_motion():
    changes = np.full(12, 2.0)
    changes[4] = 30.0  # a cut
    changes[8] = 12.0  # a fast pan: large, but under the cut level
    assert shot_starts(changes).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    busy = np.full(6, 8.0)
    busy[3] = 25.0  # over the level, but not 4x the clip's usual change
    assert shot_starts(busy).max() == 0
    assert shot_starts(np.array([40.0])).tolist() == [0]


def test_main_face_does_not_cross_a_cut():
    """The tracker kept face 2's id across the cut from the speaker to a listener: only the speaker's
    shot is the speaker's track, and a face seen longer within one shot wins over it."""
    shots = np.array([0] * 4 + [1] * 7 + [2] * 4)
    per_frame = [{0: "a"}] * 4 + [{2: "speaker"}] * 7 + [{2: "listener"}] * 4
    assert main_face(per_frame, shots) == [None] * 4 + ["speaker"] * 7 + [None] * 4
    shots = np.array([0] * 6 + [1] * 5 + [2] * 4)
    per_frame = [{0: "a"}] * 6 + [{2: "speaker"}] * 5 + [{2: "listener"}] * 4
    assert main_face(per_frame, shots) == ["a"] * 6 + [None] * 9
    assert main_face([{}, {}], np.zeros(2, int)) == [None, None]


def _syllables(t: np.ndarray, seed: int = 0) -> np.ndarray:
    """A mouth-opening-like signal: bumps of 80-200 ms at 3-6 per second, with pauses."""
    rng = np.random.default_rng(seed)
    centres, c = [], 0.3
    while c < t[-1]:
        centres.append(c)
        c += rng.uniform(0.15, 0.35) + (0.6 if rng.random() < 0.1 else 0.0)
    widths = rng.uniform(0.04, 0.1, len(centres))
    return sum(np.exp(-0.5 * ((t - c) / w) ** 2) for c, w in zip(centres, widths, strict=True))


@pytest.mark.parametrize("lag_ms", [-240, 0, 130])
def test_estimate_offset_finds_a_known_lag(lag_ms):
    """Lips that open with syllables and a noise 'voice' loud in the same syllables, ``lag_ms`` later."""
    from faceqa.audiovisual.sync import estimate_offset

    duration = 6.0
    times = np.arange(int(duration * FPS)) / FPS
    opening = 0.05 + 0.3 * _syllables(times)
    ts = np.arange(int(duration * RATE)) / RATE
    noise = np.random.default_rng(1).standard_normal(len(ts))
    voice = (0.01 + _syllables(ts - lag_ms / 1000.0)) * noise * 0.2
    track = MouthTrack("synthetic.mp4", FPS, times, opening, [None] * len(times))
    r = estimate_offset(track, AudioTrack(voice.astype(np.float32), RATE, "synthetic.mp4"))
    assert abs(r.offset_ms - lag_ms) <= 20
    assert 0.3 < r.confidence <= 1 and r.correlation > 0.5
