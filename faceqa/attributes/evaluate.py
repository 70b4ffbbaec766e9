"""The metrics of the facial-beauty-prediction literature and k-fold cross-validation of a regressor.

Pearson correlation (PC), mean absolute error (MAE) and root mean squared error (RMSE), each fold
scored on its held-out part and averaged over folds. Folds are random, or follow a group column
(every sample of a group lands in the same fold: frames of one video segment, photos of one person),
so near-duplicates do not sit on both sides of a split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from faceqa.errors import InvalidInputError


def pearson(y: np.ndarray, p: np.ndarray) -> float:
    """Pearson correlation of targets and predictions (NaN when either is constant)."""
    y, p = np.asarray(y, np.float64).ravel(), np.asarray(p, np.float64).ravel()
    yc, pc = y - y.mean(), p - p.mean()
    den = np.sqrt((yc**2).sum() * (pc**2).sum())
    return float((yc * pc).sum() / den) if den > 0 else float("nan")


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """``{"pearson", "mae", "rmse"}`` of targets ``y`` and predictions ``p``."""
    err = np.asarray(p, np.float64).ravel() - np.asarray(y, np.float64).ravel()
    return {"pearson": pearson(y, p), "mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean()))}


def fold_indices(n: int, k: int, groups: Sequence[Any] | None = None, seed: int = 0) -> list[np.ndarray]:
    """``k`` disjoint held-out index arrays covering ``range(n)``; with ``groups``, whole groups per fold
    (groups shuffled, then dealt largest first to the fold with the fewest samples)."""
    if k < 2:
        raise InvalidInputError(f"k-fold needs at least 2 folds, got {k}")
    rng = np.random.default_rng(seed)
    if groups is None:
        if n < k:
            raise InvalidInputError(f"{n} samples cannot be split into {k} folds")
        order = rng.permutation(n)
        return [np.sort(order[i::k]) for i in range(k)]
    labels = np.asarray([str(g) for g in groups])
    if len(labels) != n:
        raise InvalidInputError(f"{len(labels)} group labels for {n} samples")
    names = rng.permutation(np.unique(labels))
    if len(names) < k:
        raise InvalidInputError(f"{len(names)} groups cannot be split into {k} folds")
    members = {g: np.flatnonzero(labels == g) for g in names}
    folds: list[list[int]] = [[] for _ in range(k)]
    for g in sorted(names, key=lambda g: -len(members[g])):
        min(folds, key=len).extend(members[g].tolist())
    return [np.sort(np.asarray(f, dtype=int)) for f in folds]


def cross_validate(make_model: Callable[[], Any], x: np.ndarray, y: np.ndarray, k: int = 5,
                   groups: Sequence[Any] | None = None, seed: int = 0,
                   on_fold: Callable[[int], None] | None = None) -> dict:
    """k-fold scores of the models ``make_model()`` builds (each with ``fit`` and ``predict``).

    Returns ``{"folds": [{"pearson", "mae", "rmse", "fit_s", "n_train", "n_test"}, ...], "mean": {...},
    "std": {...}, "pooled": metrics of all held-out predictions together}``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64).ravel()
    held = np.empty_like(y)
    folds = []
    for i, test in enumerate(fold_indices(len(y), k, groups, seed)):
        train = np.setdiff1d(np.arange(len(y)), test)
        model = make_model()
        t0 = time.perf_counter()
        model.fit(x[train], y[train])
        fit_s = time.perf_counter() - t0
        held[test] = model.predict(x[test])
        folds.append(regression_metrics(y[test], held[test]) | {"fit_s": fit_s, "n_train": len(train),
                                                                 "n_test": len(test)})
        if on_fold is not None:
            on_fold(i)
    keys = ("pearson", "mae", "rmse", "fit_s")
    return {"folds": folds,
            "mean": {key: float(np.mean([f[key] for f in folds])) for key in keys},
            "std": {key: float(np.std([f[key] for f in folds])) for key in keys},
            "pooled": regression_metrics(y, held)}
