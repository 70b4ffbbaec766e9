"""The embedded default gallery backend: one SQLite file, exact search with numpy.

The file holds two tables: ``meta`` (``schema``, ``dim``, ``metric``) and ``vectors``
(``id``, ``person``, ``source``, ``vector`` as a little-endian float32 blob). The database runs
in WAL mode with ``synchronous=FULL``: each :meth:`SQLiteStore.add` is one transaction, so a crash
in the middle of an enrolment leaves nothing of it behind and loses nothing committed before.

Search keeps every vector in one in-memory float32 matrix. The matrix is dropped after this
handle writes, and reloaded when ``PRAGMA data_version`` shows that another connection (another
process, or another handle in this one) has committed a change, so every handle sharing the
file searches what is committed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.gallery.store import DIM, Hit, VectorStore, check_person

SCHEMA_VERSION = "1"

_CREATE = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY AUTOINCREMENT, person TEXT NOT NULL, "
    "source TEXT NOT NULL, vector BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS vectors_person ON vectors (person)",
)

_MARGIN = 1e-4
"""Relative slack on the fast squared-distance estimate when picking exact-rerank candidates.

The estimate ``|x|^2 - 2 x.q + |q|^2`` in float32 is off by at most about
``128 * 2^-24 * (|x|^2 + |q|^2)`` (~1e-5 relative); every vector whose estimate lies within
``_MARGIN * (max |x|^2 + |q|^2)`` of the k-th smallest is re-measured exactly, so the k returned
are the true k nearest."""


def _to_blob(vector: np.ndarray) -> bytes:
    """One float32 vector as the bytes stored in the ``vector`` column."""
    return vector.astype("<f4", copy=False).tobytes()


@dataclass(frozen=True)
class _Matrix:
    """Every stored vector, loaded for search; ``version`` is the data_version it was read at."""

    version: int
    ids: np.ndarray  # (n,) int64
    persons: list[str]
    sources: list[str]
    vectors: np.ndarray  # (n, dim) float32
    sqnorms: np.ndarray  # (n,) float32
    max_sqnorm: float


class SQLiteStore(VectorStore):
    """A gallery in one SQLite file at ``path`` (created with its folder if missing).

    Args:
        path: the database file.
        dim: vector length; an existing file must have been created with the same.
        timeout: seconds to wait for another writer's lock before failing.
    """

    def __init__(self, path: str | Path, dim: int = DIM, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self.dim = dim
        if self.path.is_dir():
            raise InvalidInputError(f"{self.path}: is a folder, expected a SQLite gallery file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._cache: _Matrix | None = None
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as exc:
            raise InvalidInputError(f"{self.path}: cannot open SQLite gallery ({exc})") from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise InvalidInputError(f"{self.path}: not a usable SQLite gallery ({exc})") from None
        except InvalidInputError:
            self._conn.close()
            raise

    def _init_schema(self) -> None:
        with self._transaction():
            for statement in _CREATE:
                self._conn.execute(statement)
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                self._conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                       [("schema", SCHEMA_VERSION), ("dim", str(self.dim)),
                                        ("metric", "euclidean")])
                return
        if meta.get("schema") != SCHEMA_VERSION:
            raise InvalidInputError(f"{self.path}: gallery schema {meta.get('schema')!r}, "
                                    f"this faceqa reads schema {SCHEMA_VERSION!r}")
        if meta.get("dim") != str(self.dim):
            raise InvalidInputError(f"{self.path}: gallery holds {meta.get('dim')}-D vectors, "
                                    f"asked for {self.dim}-D")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (KeyboardInterrupt included)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _add(self, person: str, vectors: np.ndarray, sources: list[str]) -> list[int]:
        with self._lock:
            self._cache = None
            ids = []
            with self._transaction():
                for vector, source in zip(vectors, sources, strict=True):
                    cursor = self._conn.execute(
                        "INSERT INTO vectors (person, source, vector) VALUES (?, ?, ?)",
                        (person, source, _to_blob(vector)))
                    ids.append(int(cursor.lastrowid))
            return ids

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _matrix(self) -> _Matrix:
        """The cached matrix, reloaded if this handle wrote or another connection committed."""
        with self._lock:
            if self._cache is not None and self._cache.version == self._data_version():
                return self._cache
            self._cache = None
            self._conn.execute("BEGIN")  # one snapshot for the count and the rows
            try:
                version = self._data_version()
                n = int(self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
                ids = np.empty(n, np.int64)
                vectors = np.empty((n, self.dim), np.float32)
                persons, sources = [], []
                rows = self._conn.execute("SELECT id, person, source, vector FROM vectors ORDER BY id")
                for i, (row_id, person, source, blob) in enumerate(rows):  # row by row: no second copy
                    ids[i] = row_id
                    vectors[i] = np.frombuffer(blob, dtype="<f4")
                    persons.append(person)
                    sources.append(source)
            finally:
                self._conn.execute("COMMIT")
            sqnorms = np.einsum("ij,ij->i", vectors, vectors)
            self._cache = _Matrix(version, ids, persons, sources, vectors, sqnorms,
                                  float(sqnorms.max()) if n else 0.0)
            return self._cache

    def _search(self, vector: np.ndarray, k: int) -> list[Hit]:
        m = self._matrix()
        n = len(m.ids)
        if n == 0:
            return []
        k = min(k, n)
        qq = float(vector @ vector)
        if k < n:
            estimate = m.sqnorms - 2.0 * (m.vectors @ vector) + np.float32(qq)
            kth = np.partition(estimate, k - 1)[k - 1]
            candidates = np.flatnonzero(estimate <= kth + _MARGIN * (m.max_sqnorm + qq))
        else:
            candidates = np.arange(n)
        diff = m.vectors[candidates].astype(np.float64) - vector.astype(np.float64)
        exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        order = np.lexsort((m.ids[candidates], exact))[:k]
        return [Hit(m.persons[i], m.sources[i], float(exact[j]))
                for j, i in zip(order, candidates[order], strict=True)]

    def persons(self) -> dict[str, int]:
        """Every stored person and how many vectors each has, sorted by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT person, COUNT(*) FROM vectors GROUP BY person ORDER BY person").fetchall()
        return dict(rows)

    def sources(self) -> list[tuple[str, str]]:
        """(person, source label) of every stored vector, by person then id."""
        with self._lock:
            return [tuple(r) for r in self._conn.execute("SELECT person, source FROM vectors ORDER BY person, id")]

    def remove(self, person: str) -> int:
        """Delete every vector of ``person`` in one transaction; return how many were deleted."""
        check_person(person)
        with self._lock:
            self._cache = None
            with self._transaction():
                cursor = self._conn.execute("DELETE FROM vectors WHERE person = ?", (person,))
            return int(cursor.rowcount)

    def count(self) -> int:
        """Number of stored vectors."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        """The value stored under ``key`` in the ``meta`` table, or None."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` in the ``meta`` table."""
        with self._transaction():
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Close the database connection and drop the cached matrix."""
        with self._lock:
            self._cache = None
            self._conn.close()
