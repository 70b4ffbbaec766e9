"""Splitting a run of expressive frames into the expressions it holds.

The per-AU peak picking of :mod:`~faceqa.evidence.spotting` finds *where* the face is expressive;
when one expression turns straight into another (a grin into a frown, with no rest between), the
grouped intervals chain into one long event, or a short event sits inside a long one. This module
reads such a run as a sequence of *configurations*:

1. :func:`piecewise_constant` fits the face's *shape* over the run with constant pieces, exactly
   (optimal partitioning, PELT-pruned): the shape is the measured change from the person's
   reference (mesh measures and regional flow, :func:`~faceqa.evidence.au_intensity.measurements`)
   in units of each measurement's noise, and each new piece must lower the squared error by
   ``penalty`` (noise units squared, summed over the measurements) and last ``min_len`` frames. The
   measurements, not the AU intensities read from them, are fitted: the reading can swap one AU for
   another between frames of one face (a smile read now as AU12, now as AU9), the measured shape
   does not;
2. :func:`split_configurations` keeps the pieces in which some AU's mean intensity reaches
   ``active``, and joins neighbouring kept pieces that show the same expression: their mean shapes
   point the same way (cosine similarity at least ``similar``), so an expression that grows or
   fades stays one event while a face that changes shape starts a new one; a piece too short to be
   an event joins its neighbour, and the first and last kept pieces reach to the run's ends (quiet
   pieces there are the rise and the fall). The pieces of different runs, and of one run, never
   overlap, so neither do the events.

A run during which the person mostly talks is not split (see :func:`spot_intervals
<faceqa.evidence.spotting.spot_intervals>`): speech keeps moving the face, so changes of
configuration there are not evidence of a new expression.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def piecewise_constant(x: np.ndarray, penalty: float, min_len: int = 1) -> list[tuple[int, int]]:
    """The exact least-squares fit of ``x`` (T, D) by constant pieces, ``penalty`` per piece.

    Returns the pieces as half-open row ranges ``(start, stop)`` covering 0..T in order; every piece
    is at least ``min_len`` rows long (a shorter ``x`` is one piece). Optimal partitioning with PELT
    pruning (Killick et al. 2012), so it stays near linear in T on real signals.
    """
    x = np.asarray(x, float)
    if x.ndim == 1:
        x = x[:, None]
    n = len(x)
    min_len = max(1, int(min_len))
    if n < 2 * min_len:
        return [(0, n)] if n else []
    s1 = np.vstack([np.zeros(x.shape[1]), np.cumsum(x, axis=0)])
    s2 = np.r_[0.0, np.cumsum((x ** 2).sum(axis=1))]
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    back = np.zeros(n + 1, int)
    cand = np.zeros(0, int)
    pruned: deque[tuple[int, np.ndarray]] = deque()
    for b in range(min_len, n + 1):
        cand = np.r_[cand, b - min_len] if np.isfinite(best[b - min_len]) else cand
        while pruned and pruned[0][0] <= b:  # a cut before b + min_len could still need them
            cand = np.setdiff1d(cand, pruned.popleft()[1], assume_unique=True)
        cost = s2[b] - s2[cand] - ((s1[b] - s1[cand]) ** 2).sum(axis=1) / (b - cand)
        total = best[cand] + cost + penalty
        k = int(np.argmin(total))
        best[b], back[b] = total[k], cand[k]
        pruned.append((b + min_len, cand[best[cand] + cost > best[b]]))
    pieces, b = [], n
    while b > 0:
        pieces.append((int(back[b]), b))
        b = back[b]
    return pieces[::-1]


def similar_shapes(first: np.ndarray, second: np.ndarray, similar: float) -> bool:
    """Whether two mean shapes (measured changes) show one expression: their cosine similarity is at
    least ``similar`` (a shape and a stronger or weaker copy of it are one expression)."""
    norms = float(np.linalg.norm(first) * np.linalg.norm(second))
    return norms > 0 and float(first @ second) / norms >= similar


def split_configurations(shape: np.ndarray, intensity: np.ndarray, penalty: float, min_len: int, active: float,
                         similar: float, min_event: int = 1) -> list[tuple[int, int]]:
    """The expressions in a run, as inclusive row ranges (a, b).

    Steps 1-2 of the module docstring: constant pieces of the run's ``shape`` (T, D) (measured change
    in noise units) of at least ``min_len`` rows; the active ones, by the AU ``intensity`` (T, n_aus)
    of the same rows; the outer ones reaching to the run's ends; neighbours join when their shapes
    are similar or when either is shorter than ``min_event`` rows (too short to be one of its own).
    Events still shorter than ``min_event`` are left out.
    """
    kept = [[a, b] for a, b in piecewise_constant(shape, penalty, min_len)
            if intensity[a:b].mean(axis=0).max() >= active]
    if not kept:
        return []
    kept[0][0], kept[-1][1] = 0, len(shape)  # the run's edges are where the rise began and the fall ended
    out: list[list[int]] = []
    for a, b in kept:
        if out and out[-1][1] == a:
            prev_a, prev_b = out[-1]
            if (min(prev_b - prev_a, b - a) < min_event
                    or similar_shapes(shape[prev_a:prev_b].mean(axis=0), shape[a:b].mean(axis=0), similar)):
                out[-1][1] = b
                continue
        out.append([a, b])
    return [(a, b - 1) for a, b in out if b - a >= min_event]
