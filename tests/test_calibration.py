"""Verification metrics: the n log n implementations agree with the pairwise definitions they replace."""

from __future__ import annotations

import time

import numpy as np
import pytest

from faceqa.perception.calibration import (
    accuracy,
    best_intervals,
    equal_error_rate,
    intervals_at_best,
    roc_auc,
    verification_report,
)


def reference_auc(dist: np.ndarray, same: np.ndarray) -> float:
    """Every same pair against every different pair (the quadratic definition)."""
    s, d = dist[same][:, None], dist[~same][None, :]
    return float(((s < d).sum() + 0.5 * (s == d).sum()) / (s.size * d.size))


def reference_eer(dist: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Each distance tried as the threshold in turn (the quadratic definition)."""
    best = (np.inf, 0.0, 0.0)
    for t in np.unique(dist):
        far = float(np.mean(dist[~same] <= t))
        frr = float(np.mean(dist[same] > t))
        if abs(far - frr) < best[0]:
            best = (abs(far - frr), (far + frr) / 2, float(t))
    return best[1], best[2]


def reference_intervals(dist: np.ndarray, same: np.ndarray) -> tuple[float, list[tuple[float, float]]]:
    """Accuracy at each distance by a full pass over the pairs (the quadratic definition)."""
    cuts = np.unique(dist)
    return intervals_at_best(cuts, np.array([accuracy(dist, same, t) for t in cuts]))


def _pairs(rng: np.random.Generator, n: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    same = rng.random(n) < 0.4
    dist = np.where(same, rng.normal(0.4, 0.12, n), rng.normal(0.8, 0.12, n))
    return (np.round(dist, decimals) if decimals is not None else dist), same


@pytest.mark.parametrize(("seed", "n", "decimals"), [(0, 50, None), (1, 400, 2), (2, 1000, 1), (3, 7, None)])
def test_metrics_match_the_pairwise_definitions(seed, n, decimals):
    dist, same = _pairs(np.random.default_rng(seed), n, decimals)  # rounding makes ties
    same[:2] = [True, False]
    assert roc_auc(dist, same) == pytest.approx(reference_auc(dist, same), abs=1e-12)
    assert equal_error_rate(dist, same) == reference_eer(dist, same)
    assert best_intervals(dist, same) == reference_intervals(dist, same)


def test_a_million_pairs_take_well_under_a_second():
    dist, same = _pairs(np.random.default_rng(4), 1_000_000, 3)
    start = time.perf_counter()
    report = verification_report(dist, same, 0.6)
    best_intervals(dist, same)
    assert time.perf_counter() - start < 5.0  # the pairwise versions need minutes here
    assert 0.95 < report["roc_auc"] < 1 and 0 < report["eer"] < 0.1 and report["pairs"] == 1_000_000
