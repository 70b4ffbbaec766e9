"""Identification benchmarks on labelled embeddings, run through the real :class:`Gallery` API.

:func:`leave_one_image_out` (closed set): each image in turn is the query, every other image is
enrolled under its label; rank-1 is the fraction whose best match is the right person.
:func:`leave_one_identity_out` (open set): each person in turn is left out of the gallery, so
every one of their images should be answered "unknown".
Each fold uses a fresh in-memory SQLite gallery.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from faceqa.errors import InvalidInputError
from faceqa.gallery.gallery import Gallery
from faceqa.gallery.sqlite_store import SQLiteStore
from faceqa.perception.identity import DEFAULT_THRESHOLD


def _fold_gallery(vectors: np.ndarray, labels: list[str], sources: list[str], keep: np.ndarray,
                  threshold: float) -> Gallery:
    gallery = Gallery(SQLiteStore(":memory:"), threshold=threshold)
    for name in sorted({labels[i] for i in np.flatnonzero(keep)}):
        idx = [i for i in np.flatnonzero(keep) if labels[i] == name]
        gallery.enroll(name, vectors[idx], [sources[i] for i in idx])
    return gallery


def _checked(embeddings: ArrayLike, labels: Sequence[str], sources: Sequence[str] | None
             ) -> tuple[np.ndarray, list[str], list[str]]:
    vectors = np.asarray(embeddings, np.float32)
    labels = [str(x) for x in labels]
    sources = [str(s) for s in sources] if sources is not None else [str(i) for i in range(len(labels))]
    if vectors.ndim != 2 or len(vectors) != len(labels) or len(sources) != len(labels):
        raise InvalidInputError(f"embeddings {vectors.shape}, {len(labels)} labels and {len(sources)} sources: "
                                "expected one label and one source per embedding row")
    if len(set(labels)) < 2:
        raise InvalidInputError("labels: identification needs at least two persons")
    return vectors, labels, sources


def leave_one_image_out(embeddings: ArrayLike, labels: Sequence[str], sources: Sequence[str] | None = None,
                        threshold: float = DEFAULT_THRESHOLD, top_k: int = 5) -> dict:
    """Closed-set rank-1 / rank-k, leaving each image out in turn.

    Only images whose person keeps another image in the gallery are queried. Returns ``queries``,
    ``rank1``, ``rank{top_k}``, ``rank1_accepted`` (right person *and* within ``threshold``) and
    ``errors`` (one dict per wrong rank-1: source, truth, predicted, distance).
    """
    vectors, labels, sources = _checked(embeddings, labels, sources)
    hits1 = hitsk = accepted = 0
    errors = []
    queried = [i for i in range(len(labels)) if labels.count(labels[i]) > 1]
    for i in queried:
        keep = np.ones(len(labels), bool)
        keep[i] = False
        with _fold_gallery(vectors, labels, sources, keep, threshold) as gallery:
            answer = gallery.identify(vectors[i], top_k=top_k)
        ranked = [m.person for m in answer.matches]
        hits1 += ranked[0] == labels[i]
        hitsk += labels[i] in ranked
        accepted += answer.identity == labels[i]
        if ranked[0] != labels[i]:
            errors.append({"source": sources[i], "truth": labels[i], "predicted": ranked[0],
                           "distance": answer.matches[0].distance})
    n = max(len(queried), 1)
    return {"queries": len(queried), "persons": len(set(labels)), "threshold": float(threshold),
            "rank1": hits1 / n, f"rank{top_k}": hitsk / n, "rank1_accepted": accepted / n, "errors": errors}


def leave_one_identity_out(embeddings: ArrayLike, labels: Sequence[str], sources: Sequence[str] | None = None,
                           threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Open-set rejection: each person's images queried against a gallery without that person.

    Returns ``queries``, ``unknown_rate`` (answered "unknown", the right answer) and
    ``false_accepts`` (source, truth, accepted-as, distance).
    """
    vectors, labels, sources = _checked(embeddings, labels, sources)
    rejected = 0
    false_accepts = []
    for person in sorted(set(labels)):
        keep = np.array([label != person for label in labels])
        with _fold_gallery(vectors, labels, sources, keep, threshold) as gallery:
            for i in np.flatnonzero(~keep):
                answer = gallery.identify(vectors[i], top_k=1)
                if answer.identity is None:
                    rejected += 1
                else:
                    false_accepts.append({"source": sources[i], "truth": person, "accepted_as": answer.identity,
                                          "distance": answer.distance})
    return {"queries": len(labels), "threshold": float(threshold), "unknown_rate": rejected / len(labels),
            "false_accepts": false_accepts}
