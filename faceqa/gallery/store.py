"""The gallery's storage interface: labelled vectors in, nearest vectors out.

A :class:`VectorStore` keeps face embeddings, each labelled with the ``person`` it belongs to
and the ``source`` it came from (an image path, or any short label), and finds the stored
vectors nearest a query by euclidean distance. Backends implement the ``_add`` / ``_search``
hooks and the bookkeeping methods; this base class checks every argument first, so all
backends accept and reject exactly the same inputs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from faceqa.errors import InvalidInputError

DIM = 128
"""Length of a face identity embedding (dlib's ResNet descriptor)."""

MAX_PERSON_BYTES = 256
"""Longest person name, in UTF-8 bytes."""

MAX_SOURCE_BYTES = 4096
"""Longest source label, in UTF-8 bytes."""


class Hit(NamedTuple):
    """One stored vector near a query: who, from where, and how far (euclidean)."""

    person: str
    source: str
    distance: float


def check_person(person: str) -> str:
    """Return ``person`` if it is a usable name: non-empty text, no control characters, short."""
    if not isinstance(person, str):
        raise InvalidInputError(f"person name {person!r}: expected a string, got {type(person).__name__}")
    if not person.strip():
        raise InvalidInputError("person name: is empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in person):
        raise InvalidInputError(f"person name {person!r}: contains control characters")
    if len(person.encode("utf-8")) > MAX_PERSON_BYTES:
        raise InvalidInputError(f"person name {person[:40]!r}...: longer than {MAX_PERSON_BYTES} bytes")
    return person


def check_vectors(vectors: ArrayLike, dim: int) -> np.ndarray:
    """``vectors`` as a C-contiguous float32 (n, dim) matrix; one (dim,) vector counts as n = 1."""
    try:
        arr = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"vectors: not a numeric array ({exc})") from None
    if arr.ndim == 1 and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InvalidInputError(f"vectors: expected shape (n, {dim}), got {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInputError("vectors: none given")
    if not np.isfinite(arr).all():
        raise InvalidInputError("vectors: contain NaN or infinite values")
    return np.ascontiguousarray(arr)


def check_query(vector: ArrayLike, dim: int) -> np.ndarray:
    """``vector`` as a finite float32 (dim,) array."""
    try:
        arr = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"query vector: not a numeric array ({exc})") from None
    if arr.shape not in ((dim,), (1, dim)):
        raise InvalidInputError(f"query vector: expected shape ({dim},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidInputError("query vector: contains NaN or infinite values")
    return np.ascontiguousarray(arr.reshape(dim))


def check_sources(sources: Sequence[str], n: int) -> list[str]:
    """``sources`` as a list of ``n`` short strings, one per vector."""
    if isinstance(sources, str):
        raise InvalidInputError(f"sources: expected one label per vector, got the single string {sources!r}")
    labels = list(sources)
    if len(labels) != n:
        raise InvalidInputError(f"sources: {len(labels)} labels for {n} vectors")
    for label in labels:
        if not isinstance(label, str):
            raise InvalidInputError(f"source label {label!r}: expected a string")
        if len(label.encode("utf-8")) > MAX_SOURCE_BYTES:
            raise InvalidInputError(f"source label {label[:40]!r}...: longer than {MAX_SOURCE_BYTES} bytes")
    return labels


def check_k(k: int) -> int:
    """``k`` if it is a positive integer."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInputError(f"k={k!r}: expected a positive integer")
    return int(k)


def euclidean_from_squared(d2: float) -> float:
    """Euclidean distance from a squared one, clamping tiny negative rounding errors to zero."""
    return math.sqrt(max(float(d2), 0.0))


class VectorStore(ABC):
    """Labelled vectors with exact (or index-approximated) nearest-neighbour search.

    Use as a context manager, or call :meth:`close`. ``location`` names the store in messages.
    """

    dim: int
    location: str

    def add(self, person: str, vectors: ArrayLike, sources: Sequence[str]) -> list[int]:
        """Store ``vectors`` (n, dim) for ``person``, one ``sources`` label each, all or none.

        Returns the new vectors' ids, in order.
        """
        matrix = check_vectors(vectors, self.dim)
        return self._add(check_person(person), matrix, check_sources(sources, len(matrix)))

    def search(self, vector: ArrayLike, k: int) -> list[Hit]:
        """The ``k`` stored vectors nearest ``vector``, closest first (fewer if the store is smaller)."""
        return self._search(check_query(vector, self.dim), check_k(k))

    @abstractmethod
    def _add(self, person: str, vectors: np.ndarray, sources: list[str]) -> list[int]:
        """Store checked inputs in one atomic write; return the new ids."""

    @abstractmethod
    def _search(self, vector: np.ndarray, k: int) -> list[Hit]:
        """Nearest stored vectors to a checked (dim,) float32 query, closest first."""

    @abstractmethod
    def persons(self) -> dict[str, int]:
        """Every stored person and how many vectors each has, sorted by name."""

    @abstractmethod
    def sources(self) -> list[tuple[str, str]]:
        """(person, source label) of every stored vector, by person."""

    @abstractmethod
    def remove(self, person: str) -> int:
        """Delete every vector of ``person``; return how many were deleted (0 if none)."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored vectors."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None:
        """The gallery-level setting ``key`` (e.g. ``model``, ``threshold``), or None when never set."""

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Record the gallery-level setting ``key``."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the store is unusable afterwards."""

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"
