"""The person's neutral reference: what their face looks like at rest, per face track.

- ``clip`` mode (an MEGC clip, or any short clip): the onset, i.e. the clip's first frame. FACS
  codes an expression by what changes from its onset.
- ``long`` mode: a rolling reference. Around every moment, within ``window_s`` seconds, the
  ``share`` of frames that the others rise *from* (:func:`excess`: the least read above the
  window's other frames, summed over AUs) are taken as the person at rest there, and the reference
  is their median. The rest is found from signed AU readings of the frames themselves, not from
  their distance to a first guess: a person who smiles most of the time still has a rest, because
  their smiles read above it (AU12), whereas measured from a smiling guess the rest frames would
  read as nothing on the non-negative AU scale, look calmest, and the smile would become the
  reference. Slow drift (lighting, posture) is followed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WINDOW_S = 12.0
SHARE = 0.15
STEP_S = 0.5


def excess(readings: np.ndarray) -> np.ndarray:
    """(W,) how far each frame's readings (W, K) lie above the other frames': the sum over the K
    columns of the mean over frames of ``max(0, a_frame - a_other)``. Rows with NaN give inf."""
    a = np.asarray(readings, np.float64)
    ok = np.isfinite(a).all(axis=1)
    out = np.full(len(a), np.inf)
    if not ok.any():
        return out
    good = a[ok]
    total = np.zeros(len(good))
    for column in good.T:
        ordered = np.sort(column)
        below = np.searchsorted(ordered, column, side="left")
        sums = np.r_[0.0, np.cumsum(ordered)]
        total += column * below - sums[below]
    out[ok] = total / len(good)
    return out


def rolling_rest(y: np.ndarray, readings: np.ndarray, fps: float, window_s: float = WINDOW_S,
                 share: float = SHARE, step_s: float = STEP_S) -> np.ndarray:
    """(T, D) reference: per frame, the median of ``y`` over the least-:func:`excess` ``share`` of
    its window's frames (``readings`` (T, K): signed AU readings of each frame).

    Computed every ``step_s`` seconds and interpolated in between; rows with NaN readings are ignored.
    """
    n = len(y)
    half = max(1, int(round(window_s * fps / 2)))
    step = max(1, int(round(step_s * fps)))
    centres = np.unique(np.r_[np.arange(0, n, step), n - 1])
    refs = np.zeros((len(centres), y.shape[1]))
    for k, c in enumerate(centres):
        lo, hi = max(0, c - half), min(n, c + half + 1)
        cost = excess(readings[lo:hi])
        ok = np.isfinite(cost)
        if not ok.any():
            refs[k] = refs[k - 1] if k else 0.0
            continue
        cut = np.quantile(cost[ok], share)
        rows = lo + np.flatnonzero(ok & (cost <= cut))
        refs[k] = np.nanmedian(y[rows], axis=0)
    pos = np.arange(n)
    return np.stack([np.interp(pos, centres, refs[:, d]) for d in range(y.shape[1])], axis=1)


def long_reference(y: np.ndarray, fps: float, readings: Callable[[np.ndarray], np.ndarray],
                   window_s: float = WINDOW_S, share: float = SHARE) -> np.ndarray:
    """Rolling rest reference of measurements ``y`` (T, D) (see the module docstring).

    ``readings(y)`` gives each frame's signed AU readings (T, K).
    """
    return rolling_rest(y, readings(y), fps, window_s, share)
