"""Verification metrics for an identity embedding: ROC AUC, equal error rate, accuracy at a threshold.

Every function takes ``dist`` (one euclidean distance per pair) and ``same`` (True where the pair
is one person); "accept" means ``dist <= threshold``. Each runs in O(n log n) for n pairs (sorting and
binary search), so millions of pairs are fine. :func:`pairs_from_labels` builds the pairs
of every two embeddings of a labelled set (e.g. identity clusters).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def pairs_from_labels(embeddings: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(dist, same) for every unordered pair i < j of ``embeddings`` (n, d) labelled by ``labels`` (n,)."""
    x = np.asarray(embeddings, np.float64)
    lab = np.asarray(labels)
    i, j = np.triu_indices(len(x), k=1)
    return np.linalg.norm(x[i] - x[j], axis=1), lab[i] == lab[j]


def _sorted_split(dist: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(same-pair distances, different-pair distances), each sorted."""
    dist = np.asarray(dist, np.float64)
    same = np.asarray(same, bool)
    return np.sort(dist[same]), np.sort(dist[~same])


def _accepted(sorted_dist: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How many of ``sorted_dist`` are at most each threshold (binary search, n log n)."""
    return np.searchsorted(sorted_dist, thresholds, side="right")


def roc_auc(dist: np.ndarray, same: np.ndarray) -> float:
    """Probability that a same pair is closer than a different pair (ties count half).

    The Mann-Whitney U statistic from the ranks of all distances (ties get their mean rank).
    """
    from scipy.stats import rankdata

    s, d = _sorted_split(dist, same)
    ranks = rankdata(np.concatenate([s, d]))
    u = ranks[len(s):].sum() - len(d) * (len(d) + 1) / 2  # pairs with the different pair farther
    return float(u / (len(s) * len(d)))


def equal_error_rate(dist: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where false accepts and false rejects are closest, their mean.

    Thresholds are the distances themselves; of equally close ones, the smallest is returned.
    """
    s, d = _sorted_split(dist, same)
    cuts = np.unique(np.concatenate([s, d]))
    far = _accepted(d, cuts) / len(d)
    frr = (len(s) - _accepted(s, cuts)) / len(s)
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2), float(cuts[i])


def accuracy(dist: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Fraction of pairs decided right when ``distance <= threshold`` means the same person."""
    return float(np.mean((dist <= threshold) == same))


def best_intervals(dist: np.ndarray, same: np.ndarray) -> tuple[float, list[tuple[float, float]]]:
    """(best accuracy, [(low, high), ...]): every threshold interval [low, high) that reaches it."""
    s, d = _sorted_split(dist, same)
    cuts = np.unique(np.concatenate([s, d]))
    return intervals_at_best(cuts, (_accepted(s, cuts) + len(d) - _accepted(d, cuts)) / (len(s) + len(d)))


def intervals_at_best(cuts: np.ndarray, accs: np.ndarray) -> tuple[float, list[tuple[float, float]]]:
    """(best accuracy, [(low, high), ...]) from the accuracy ``accs`` at each sorted distinct threshold ``cuts``."""
    top = accs.max()
    intervals: list[tuple[float, float]] = []
    for i in np.flatnonzero(accs == top):
        low, high = float(cuts[i]), float(cuts[min(i + 1, len(cuts) - 1)])
        if intervals and intervals[-1][1] == low:
            intervals[-1] = (intervals[-1][0], high)
        else:
            intervals.append((low, high))
    return float(top), intervals


def verification_report(dist: np.ndarray, same: np.ndarray, threshold: float) -> dict[str, float | int]:
    """ROC AUC, EER (and its threshold), accuracy and false accept / reject rates at ``threshold``."""
    dist = np.asarray(dist, np.float64)
    same = np.asarray(same, bool)
    eer, eer_threshold = equal_error_rate(dist, same)
    return {"pairs": int(len(dist)), "same_pairs": int(same.sum()), "roc_auc": roc_auc(dist, same),
            "eer": eer, "eer_threshold": eer_threshold, "threshold": float(threshold),
            "accuracy": accuracy(dist, same, threshold),
            "false_accept_rate": float(np.mean(dist[~same] <= threshold)),
            "false_reject_rate": float(np.mean(dist[same] > threshold))}
