"""The person's neutral reference: what their face looks like at rest, per face track.

- ``clip`` mode (an MEGC clip, or any short clip): the onset, i.e. the clip's first frame. FACS
  codes an expression by what changes from its onset.
- ``long`` mode: a rolling reference. Around every moment, within ``window_s`` seconds, the
  ``share`` of frames that show the least expression (the smallest summed AU intensity relative to
  the current reference) are taken as the person at rest there, and the reference is their median.
  Two rounds: the first measures expression from the track's first frame, the second from the
  first round's reference. A long expression cannot become the reference unless it fills more than
  ``1 - share`` of the window, and slow drift (lighting, the flow's key frames, posture) is followed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WINDOW_S = 12.0
SHARE = 0.15
STEP_S = 0.5


def rolling_rest(y: np.ndarray, energy: np.ndarray, fps: float, window_s: float = WINDOW_S,
                 share: float = SHARE, step_s: float = STEP_S) -> np.ndarray:
    """(T, D) reference: per frame, the median of ``y`` over the least-``energy`` ``share`` of its window.

    Computed every ``step_s`` seconds and interpolated in between; NaN rows are ignored.
    """
    n = len(y)
    half = max(1, int(round(window_s * fps / 2)))
    step = max(1, int(round(step_s * fps)))
    centres = np.unique(np.r_[np.arange(0, n, step), n - 1])
    e = np.where(np.isfinite(energy), energy, np.inf)
    refs = np.zeros((len(centres), y.shape[1]))
    for k, c in enumerate(centres):
        lo, hi = max(0, c - half), min(n, c + half + 1)
        window = e[lo:hi]
        ok = np.isfinite(window)
        if not ok.any():
            refs[k] = refs[k - 1] if k else 0.0
            continue
        cut = np.quantile(window[ok], share)
        rows = lo + np.flatnonzero(ok & (window <= cut))
        refs[k] = np.nanmedian(y[rows], axis=0)
    pos = np.arange(n)
    return np.stack([np.interp(pos, centres, refs[:, d]) for d in range(y.shape[1])], axis=1)


def long_reference(y: np.ndarray, fps: float, expression: Callable[[np.ndarray], np.ndarray],
                   window_s: float = WINDOW_S, share: float = SHARE) -> np.ndarray:
    """Two-round rolling rest reference of measurements ``y`` (T, D) (see the module docstring).

    ``expression(y_rel)`` gives each frame's expression energy for measurements relative to a reference.
    """
    ref = np.zeros_like(y)
    for _ in range(2):
        ref = rolling_rest(y, expression(y - ref), fps, window_s, share)
    return ref
