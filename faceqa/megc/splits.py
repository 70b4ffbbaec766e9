"""Subject-wise folds: a subject's clips are all held out together, so no face is seen in both parts."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def subject_folds(subjects: Iterable[str], folds: int, seed: int | None = None) -> list[set[str]]:
    """The distinct subjects dealt into ``min(folds, subjects)`` groups, round robin.

    In sorted order when ``seed`` is None (group k holds the k-th, k+folds-th, ... subject), else in
    an order shuffled by ``seed``. ``folds`` at least the subject count is leave-one-subject-out.
    """
    ordered = sorted(set(subjects))
    if seed is not None:
        ordered = [ordered[j] for j in np.random.default_rng(seed).permutation(len(ordered))]
    n = min(folds, len(ordered))
    return [set(ordered[k::n]) for k in range(n)]
