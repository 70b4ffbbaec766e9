"""Verification metrics for an identity embedding: ROC AUC, equal error rate, accuracy at a threshold.

Every function takes ``dist`` (one euclidean distance per pair) and ``same`` (True where the pair
is one person); "accept" means ``dist <= threshold``. :func:`pairs_from_labels` builds the pairs
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


def roc_auc(dist: np.ndarray, same: np.ndarray) -> float:
    """Probability that a same pair is closer than a different pair (ties count half)."""
    s, d = dist[same][:, None], dist[~same][None, :]
    return float(((s < d).sum() + 0.5 * (s == d).sum()) / (s.size * d.size))


def equal_error_rate(dist: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(EER, threshold): where false accepts and false rejects are closest, their mean."""
    best = (np.inf, 0.0, 0.0)
    for t in np.unique(dist):
        far = float(np.mean(dist[~same] <= t))
        frr = float(np.mean(dist[same] > t))
        if abs(far - frr) < best[0]:
            best = (abs(far - frr), (far + frr) / 2, float(t))
    return best[1], best[2]


def accuracy(dist: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Fraction of pairs decided right when ``distance <= threshold`` means the same person."""
    return float(np.mean((dist <= threshold) == same))


def best_intervals(dist: np.ndarray, same: np.ndarray) -> tuple[float, list[tuple[float, float]]]:
    """(best accuracy, [(low, high), ...]): every threshold interval [low, high) that reaches it."""
    cuts = np.unique(dist)
    accs = np.array([accuracy(dist, same, t) for t in cuts])
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
