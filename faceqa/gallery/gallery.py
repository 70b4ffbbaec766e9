"""Compare a face with a gallery of known faces: enrol, identify (open set), list, remove.

A :class:`Gallery` stores several 128-D identity embeddings per person (one per enrolled image)
in any :class:`~faceqa.gallery.store.VectorStore`. :meth:`Gallery.identify` ranks persons by the
euclidean distance of their *closest* stored vector to the query, and answers ``"unknown"`` when
even the best is farther than the threshold (open-set identification).

The image-level methods take an embedding function ``embed_fn(path) -> list of (128,) vectors``
(one per face found), so the face detector and embedder stay outside this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from faceqa.errors import GalleryModelError, InvalidInputError, NoFaceError
from faceqa.gallery.open import open_store
from faceqa.gallery.store import DIM, Hit, VectorStore, check_k, check_person, check_vectors
from faceqa.perception.identity import DEFAULT_MODEL, THRESHOLDS
from faceqa.safeio import check_path, stat_path

LEGACY_MODEL = "dlib"
"""The model of a gallery that records none: every gallery made before the model was recorded used dlib."""

UNKNOWN = "unknown"
"""The answer when no enrolled person is within the threshold (so no person may be called this)."""

EmbedFn = Callable[[Path], Sequence[ArrayLike]]
"""``embed_fn(path)``: one 128-D identity vector per face found in the image at ``path``."""


@dataclass(frozen=True)
class Match:
    """One enrolled person, ranked by the distance of their closest vector to the query.

    ``source`` is the label of that closest vector (e.g. the enrolment image); ``known`` is
    whether ``distance`` is within the threshold.
    """

    person: str
    distance: float
    source: str
    known: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"person": self.person, "distance": self.distance, "source": self.source, "known": self.known}


@dataclass(frozen=True)
class Identification:
    """The answer for one query face: ranked matches and the open-set decision.

    ``matches`` holds up to ``top_k`` persons, closest first, whether within the threshold or not.
    """

    matches: list[Match]
    threshold: float

    @property
    def identity(self) -> str | None:
        """The best match's name if it is within the threshold, else None (an unknown face)."""
        if self.matches and self.matches[0].known:
            return self.matches[0].person
        return None

    @property
    def label(self) -> str:
        """The best match's name, or :data:`UNKNOWN`."""
        return self.identity or UNKNOWN

    @property
    def distance(self) -> float | None:
        """Distance to the closest enrolled vector (None for an empty gallery)."""
        return self.matches[0].distance if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``identity`` (a name or "unknown"), ``known``, ``distance``, ``threshold``,
        ``matches``."""
        return {"identity": self.label, "known": self.identity is not None, "distance": self.distance,
                "threshold": self.threshold, "matches": [m.to_dict() for m in self.matches]}


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) \
            or threshold < 0:
        raise InvalidInputError(f"threshold={threshold!r}: expected a finite distance >= 0")
    return float(threshold)


def _check_name(name: str) -> str:
    check_person(name)
    if name != name.strip():
        raise InvalidInputError(f"person name {name!r}: has leading or trailing spaces")
    if name.lower() == UNKNOWN:
        raise InvalidInputError(f"person name {name!r}: reserved for faces that match nobody")
    return name


def _existing(path: str | os.PathLike[str]) -> Path:
    p = check_path(path, "image")
    stat_path(p)  # MediaNotFoundError (or another one-line error) when it cannot be reached
    return p


class Gallery:
    """Known faces in a vector store; open with :meth:`open` or wrap a store you built.

    The store records which identity model (``sface``, ``dlib``) made its vectors and at which
    threshold; an empty gallery records ``model`` when opened, one that records nothing is
    :data:`LEGACY_MODEL`. Vectors of two models are not comparable, so :meth:`enroll` and
    :meth:`identify` refuse to run (GalleryModelError) when ``model`` differs from the recorded
    one; listing and removing still work, and :func:`faceqa.gallery.recognize.reembed` moves a
    gallery to another model.

    Args:
        store: where the vectors live (:class:`~faceqa.gallery.sqlite_store.SQLiteStore`,
            :class:`~faceqa.gallery.milvus_store.MilvusStore`, or any other VectorStore).
        threshold: default acceptance distance for :meth:`identify` (default: the recorded one,
            else the model's documented threshold).
        model: the identity model the caller embeds with (default: the library's default model).
    """

    def __init__(self, store: VectorStore, threshold: float | None = None, model: str | None = None) -> None:
        if store.dim != DIM:
            raise InvalidInputError(f"{store.location}: holds {store.dim}-D vectors, a gallery needs {DIM}-D")
        self.store = store
        self.model = DEFAULT_MODEL if model is None else model
        if self.model not in THRESHOLDS:
            raise InvalidInputError(f"model {model!r}: expected one of {', '.join(THRESHOLDS)}")
        recorded = store.get_meta("model")
        if recorded != self.model and store.count() == 0:  # an empty gallery takes the caller's model
            self.record_model(self.model)
            recorded = self.model
        self.recorded_model = recorded or LEGACY_MODEL
        saved = store.get_meta("threshold")
        default = float(saved) if saved is not None else THRESHOLDS[self.recorded_model]
        self.threshold = _check_threshold(default if threshold is None else threshold)

    @classmethod
    def open(cls, uri: str | os.PathLike[str] | None = None, threshold: float | None = None,
             model: str | None = None, **options: Any) -> Gallery:
        """Open the gallery at ``uri`` (see :mod:`faceqa.gallery.open`; default ``$FACEQA_HOME``)."""
        return cls(open_store(uri, **options), threshold=threshold, model=model)

    def record_model(self, model: str) -> None:
        """Record ``model`` and its documented threshold as what made this gallery's vectors."""
        self.store.set_meta("model", model)
        self.store.set_meta("threshold", repr(THRESHOLDS[model]))
        self.recorded_model = model

    def check_model(self) -> None:
        """GalleryModelError unless the vectors were made by :attr:`model`."""
        if self.recorded_model != self.model:
            raise GalleryModelError(
                f"{self.location}: its vectors were made by {self.recorded_model!r}, this run embeds with "
                f"{self.model!r}; run `faceqa gallery reembed --gallery {self.location}` to re-compute them "
                f"with {self.model!r}, or use --model {self.recorded_model}")

    @property
    def location(self) -> str:
        """Where the gallery is stored, for messages."""
        return self.store.location

    def enroll(self, name: str, embeddings: ArrayLike, sources: Sequence[str] | None = None) -> list[int]:
        """Add ``embeddings`` ((n, 128) or one (128,) vector) to person ``name``, all or none.

        ``sources`` labels each vector (e.g. its image path); empty labels when omitted. A name
        already enrolled gains the new vectors. Returns the new vector ids.
        """
        _check_name(name)
        self.check_model()
        matrix = check_vectors(embeddings, DIM)
        return self.store.add(name, matrix, [""] * len(matrix) if sources is None else sources)

    def enroll_images(self, name: str, paths: Iterable[str | os.PathLike[str]], embed_fn: EmbedFn) -> list[int]:
        """Enrol one face from each image in ``paths`` under ``name``, in one atomic write.

        Each image must hold exactly one face (``embed_fn`` returns one vector); the vectors are
        labelled with their image paths. Nothing is stored if any image fails.
        """
        _check_name(name)
        self.check_model()
        vectors: list[np.ndarray] = []
        sources: list[str] = []
        for path in map(_existing, paths):
            found = list(embed_fn(path))
            if not found:
                raise NoFaceError(f"{path}: no face found; enrolment needs one face per image")
            if len(found) > 1:
                raise InvalidInputError(f"{path}: {len(found)} faces found; enrolment needs exactly one "
                                        "face per image (crop it, or embed only the largest face)")
            vector = check_vectors(found[0], DIM)
            if len(vector) != 1:
                raise InvalidInputError(f"{path}: embed_fn gave a {vector.shape} array for one face, "
                                        f"expected ({DIM},)")
            vectors.append(vector[0])
            sources.append(str(path))
        if not vectors:
            raise InvalidInputError(f"enrol {name!r}: no images given")
        return self.store.add(name, np.stack(vectors), sources)

    def identify(self, embedding: ArrayLike, top_k: int = 5, threshold: float | None = None) -> Identification:
        """Rank enrolled persons by their closest vector to ``embedding``; open-set decision at
        ``threshold`` (default: the gallery's)."""
        top_k = check_k(top_k)
        self.check_model()
        limit = self.threshold if threshold is None else _check_threshold(threshold)
        # The first top_k distinct persons among the m nearest vectors are the top_k persons by
        # closest vector; widen m until there are that many or the store has no more.
        m = 4 * top_k
        while True:
            hits = self.store.search(embedding, m)
            best: dict[str, Hit] = {}
            for hit in hits:
                best.setdefault(hit.person, hit)
            if len(best) >= top_k or len(hits) < m:
                break
            m *= 4
        matches = [Match(h.person, h.distance, h.source, h.distance <= limit)
                   for h in list(best.values())[:top_k]]
        return Identification(matches, limit)

    def identify_image(self, path: str | os.PathLike[str], embed_fn: EmbedFn, top_k: int = 5,
                       threshold: float | None = None) -> list[Identification]:
        """Identify every face ``embed_fn`` finds in the image at ``path``, in its order."""
        p = _existing(path)
        found = list(embed_fn(p))
        if not found:
            raise NoFaceError(f"{p}: no face found")
        return [self.identify(v, top_k=top_k, threshold=threshold) for v in found]

    def remove(self, name: str) -> int:
        """Delete person ``name`` and all their vectors; return how many vectors went."""
        removed = self.store.remove(check_person(name))
        if removed == 0:
            raise InvalidInputError(f"{name!r}: no such person in gallery {self.location}")
        return removed

    def list(self) -> dict[str, int]:
        """Every enrolled person with their number of vectors, sorted by name."""
        return self.store.persons()

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Gallery({self.location!r}, model={self.recorded_model!r}, threshold={self.threshold})"
