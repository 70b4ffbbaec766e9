"""The person's neutral reference: what their face looks like at rest, per face track.

- ``clip`` mode (an MEGC clip, or any short clip): the onset, i.e. the clip's first frame. FACS
  codes an expression by what changes from its onset.
- ``long`` mode: a rolling reference. Around every moment, within ``window_s`` seconds, a
  ``share`` of the frames are taken as the person at rest there, and the reference is their
  median. Two ways of choosing them, each right where the other fails:

  - *calm* (:func:`calm_rest`): the frames showing the least expression (summed AU intensity)
    relative to a first guess, in two rounds, the first from the track's first frame. Right when
    the person rests between expressions, or starts at rest; but from a smiling first guess the
    rest frames read as nothing on the non-negative AU scale, so a person who smiles most of the
    time gets their smile as reference;
  - *rising* (:func:`rising_rest`): the frames the others rise from (:func:`excess`: the least read
    above the window's other frames on signed AU readings, summed over AUs). It keeps the rest of a
    constant smiler, but antagonist AUs (a pucker reads as a negative stretch) can make an extreme
    pose look like a rest in a chain of posed faces.

  Each stretch takes the one from which its frames are best explained as AU activations: the
  smaller mean :func:`~faceqa.evidence.au_intensity.unexplained` change over the window (a
  reference that is an expression leaves changes that would need negative AUs). A long
  expression cannot become the reference unless it fills more than ``1 - share`` of the window;
  slow drift (lighting, posture) is followed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from faceqa.evidence.au_intensity import expression_energy, expression_readings, unexplained

WINDOW_S = 12.0
SHARE = 0.15
STEP_S = 0.5
MISFIT_STEP = 3
"""Every how many frames the misfit of each reference is measured (interpolated in between)."""


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


def rolling_rest(y: np.ndarray, cost: Callable[[int, int], np.ndarray], fps: float, window_s: float = WINDOW_S,
                 share: float = SHARE, step_s: float = STEP_S) -> np.ndarray:
    """(T, D) reference: per frame, the median of ``y`` over the least-cost ``share`` of its window's
    frames, where ``cost(lo, hi)`` gives the cost of rows ``lo..hi-1`` (inf or NaN: not a candidate).

    Computed every ``step_s`` seconds and interpolated in between.
    """
    n = len(y)
    half = max(1, int(round(window_s * fps / 2)))
    step = max(1, int(round(step_s * fps)))
    centres = np.unique(np.r_[np.arange(0, n, step), n - 1])
    refs = np.zeros((len(centres), y.shape[1]))
    for k, c in enumerate(centres):
        lo, hi = max(0, c - half), min(n, c + half + 1)
        window = np.asarray(cost(lo, hi), np.float64)
        ok = np.isfinite(window)
        if not ok.any():
            refs[k] = refs[k - 1] if k else 0.0
            continue
        cut = np.quantile(window[ok], share)
        rows = lo + np.flatnonzero(ok & (window <= cut))
        refs[k] = np.nanmedian(y[rows], axis=0)
    pos = np.arange(n)
    return np.stack([np.interp(pos, centres, refs[:, d]) for d in range(y.shape[1])], axis=1)


def calm_rest(y: np.ndarray, fps: float, window_s: float = WINDOW_S, share: float = SHARE) -> np.ndarray:
    """The *calm* rolling rest of measurements ``y`` (T, D) (see the module docstring)."""
    ref = np.zeros_like(y)
    for _ in range(2):
        energy = expression_energy(y - ref)
        ref = rolling_rest(y, lambda lo, hi, e=energy: e[lo:hi], fps, window_s, share)
    return ref


def rising_rest(y: np.ndarray, fps: float, window_s: float = WINDOW_S, share: float = SHARE) -> np.ndarray:
    """The *rising* rolling rest of measurements ``y`` (T, D) (see the module docstring)."""
    readings = expression_readings(y)
    return rolling_rest(y, lambda lo, hi: excess(readings[lo:hi]), fps, window_s, share)


def misfit(y_rel: np.ndarray, fps: float, window_s: float = WINDOW_S) -> np.ndarray:
    """(T,) mean over each frame's window of the change (``y_rel``: relative to a reference) that no
    non-negative AUs explain, measured every :data:`MISFIT_STEP` frames."""
    from scipy.ndimage import uniform_filter1d

    rows = np.arange(0, len(y_rel), MISFIT_STEP)
    per_row = np.nan_to_num(unexplained(y_rel[rows]))
    per_frame = np.interp(np.arange(len(y_rel)), rows, per_row)
    return uniform_filter1d(per_frame, max(1, int(round(window_s * fps))), mode="nearest")


def long_reference(y: np.ndarray, fps: float, window_s: float = WINDOW_S, share: float = SHARE) -> np.ndarray:
    """Rolling rest reference of measurements ``y`` (T, D): per frame the calm or the rising rest,
    whichever leaves the window's changes better explained by AUs (see the module docstring)."""
    calm = calm_rest(y, fps, window_s, share)
    rising = rising_rest(y, fps, window_s, share)
    better = misfit(y - rising, fps, window_s) < misfit(y - calm, fps, window_s)
    return np.where(better[:, None], rising, calm)
