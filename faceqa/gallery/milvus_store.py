"""The Milvus gallery backend, through pymilvus's ``MilvusClient``.

The same code talks to Milvus Lite (``uri`` is a local path ending ``.db``: an embedded server
that keeps its data in that folder, for one process at a time: a second process opening it gets
:class:`~faceqa.errors.GalleryBusyError` at once, naming the fix) and to a Milvus cluster or Zilliz
Cloud (``uri`` is ``http(s)://host:port``, with ``token`` for authentication).

The collection (default ``faceqa_gallery``) has fields ``id`` (INT64, auto), ``person`` (VARCHAR),
``source`` (VARCHAR) and ``vector`` (FLOAT_VECTOR, 128-D), metric L2 and a FLAT index by default,
so results are exact; pass ``index_type`` / ``index_params`` / ``search_params`` for an
approximate index on a large cluster (e.g. ``"IVF_FLAT"``, ``{"nlist": 1024}``, ``{"nprobe": 32}``).
Milvus reports squared L2; this backend returns euclidean distances like every other.
It uses Strong consistency, so a search sees every write acknowledged before it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from faceqa.errors import GalleryBusyError, InvalidInputError
from faceqa.gallery.store import (
    DIM,
    MAX_PERSON_BYTES,
    MAX_SOURCE_BYTES,
    Hit,
    VectorStore,
    check_person,
    euclidean_from_squared,
)

DEFAULT_COLLECTION = "faceqa_gallery"
MAX_TOPK = 16384
"""The most results one Milvus search returns; larger ``k`` is clamped to this."""

_REMOTE = re.compile(r"^(https?|tcp|grpc|unix)://", re.IGNORECASE)
_FIELDS = ("id", "person", "source", "vector")
_ITERATOR_LOGGER = "pymilvus.client.iterator.query_iterator"


@contextmanager
def _quiet(logger: str, enabled: bool) -> Iterator[None]:
    """Silence ``logger`` inside the block when ``enabled``."""
    log = logging.getLogger(logger)
    before = log.disabled
    log.disabled = before or enabled
    try:
        yield
    finally:
        log.disabled = before


def _lock_holder(st: os.stat_result) -> int | None:
    """The pid holding a flock on the file of ``st`` (from /proc/locks), or None where unknown."""
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == wanted:
                    return int(fields[4])
    except (OSError, ValueError):
        return None
    return None


def _check_lite_free(path: Path) -> None:
    """Refuse a Milvus Lite folder that another process holds (Milvus Lite locks ``LOCK`` in it with flock)."""
    import fcntl

    lock = path / "LOCK"
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return  # a new gallery, or no lock file: Milvus Lite decides
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        if _lock_holder(os.fstat(fd)) == os.getpid():
            return  # Milvus Lite of this very process holds it (a gallery opened before): it is reused
        raise GalleryBusyError(
            f"{path}: open in another process; Milvus Lite serves a gallery to one process at a time (close the "
            "other one, or use a Milvus server URI or a SQLite gallery for several processes)") from None
    finally:
        os.close(fd)


def _person_filter(person: str) -> str:
    """A Milvus boolean expression selecting ``person`` (quotes and backslashes escaped)."""
    return f"person == {json.dumps(person, ensure_ascii=False)}"


class MilvusStore(VectorStore):
    """A gallery in one Milvus collection.

    Args:
        uri: a Milvus Lite path ending ``.db`` (its folder is created if missing) or a server URI.
        collection: collection name; created on first use with the schema above.
        dim: vector length; an existing collection must have the same.
        index_type, index_params: the vector index built when the collection is created.
        search_params: extra search parameters for that index (e.g. ``{"nprobe": 32}``).
        token: ``"user:password"`` or an API key for a secured server.
        db_name: Milvus database (server only; default database when empty).
        timeout: seconds to wait for each server call (None: pymilvus's default).
    """

    def __init__(self, uri: str | Path, collection: str = DEFAULT_COLLECTION, dim: int = DIM,
                 index_type: str = "FLAT", index_params: dict[str, Any] | None = None,
                 search_params: dict[str, Any] | None = None, token: str = "", db_name: str = "",
                 timeout: float | None = None) -> None:
        try:
            from pymilvus import MilvusClient, MilvusException
        except ImportError:
            raise InvalidInputError(
                f"{uri}: a Milvus gallery needs pymilvus (and milvus-lite for a local file): "
                "pip install 'faceqa[milvus]'") from None
        self._error = MilvusException
        uri = str(uri)
        self.lite = not _REMOTE.match(uri)
        if self.lite:
            path = Path(uri).expanduser()
            if path.suffix != ".db":
                raise InvalidInputError(f"{uri}: a Milvus Lite gallery path must end with .db")
            if path.exists() and not path.is_dir():
                raise InvalidInputError(f"{uri}: is a file; Milvus Lite keeps a gallery in a folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            _check_lite_free(path)
            uri = str(path)
        self.location = f"{uri}#{collection}"
        self.dim = dim
        self.collection = collection
        self._search_params = {"metric_type": "L2", "params": dict(search_params or {})}
        self._timeout = timeout
        self._unflushed = False
        try:
            self._client = MilvusClient(uri=uri, token=token, db_name=db_name, timeout=timeout)
        except MilvusException as exc:
            raise InvalidInputError(f"{uri}: cannot connect to Milvus ({exc.message})") from None
        try:
            if self._client.has_collection(collection, timeout=timeout):
                self._check_collection()
                self._client.load_collection(collection, timeout=timeout)
            else:
                self._create_collection(index_type, dict(index_params or {}))
        except MilvusException as exc:
            self._client.close()
            raise InvalidInputError(f"{self.location}: cannot open Milvus collection ({exc.message})") from None
        except InvalidInputError:
            self._client.close()
            raise

    def _create_collection(self, index_type: str, index_params: dict[str, Any]) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("person", DataType.VARCHAR, max_length=MAX_PERSON_BYTES)
        schema.add_field("source", DataType.VARCHAR, max_length=MAX_SOURCE_BYTES)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        self._client.create_collection(self.collection, schema=schema, consistency_level="Strong",
                                       timeout=self._timeout)
        index = self._client.prepare_index_params()
        index.add_index(field_name="vector", index_type=index_type, metric_type="L2", params=index_params)
        # sync=False: the collection is empty, so there is nothing to wait for (and Milvus Lite
        # lacks the timestamp call that pymilvus's wait makes).
        self._client.create_index(self.collection, index, timeout=self._timeout, sync=False)
        self._client.load_collection(self.collection, timeout=self._timeout)

    def _check_collection(self) -> None:
        """Refuse a collection that is not a faceqa gallery of this dimension."""
        info = self._client.describe_collection(self.collection, timeout=self._timeout)
        fields = {f["name"]: f for f in info["fields"]}
        missing = [name for name in _FIELDS if name not in fields]
        if missing:
            raise InvalidInputError(f"{self.location}: not a faceqa gallery (no field {', '.join(missing)})")
        dim = int(fields["vector"]["params"].get("dim", -1))
        if dim != self.dim:
            raise InvalidInputError(f"{self.location}: gallery holds {dim}-D vectors, asked for {self.dim}-D")

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a client method, turning a server error into a one-line InvalidInputError."""
        try:
            return getattr(self._client, method)(*args, timeout=self._timeout, **kwargs)
        except self._error as exc:
            raise InvalidInputError(f"{self.location}: Milvus {what} failed ({exc.message})") from None

    def _add(self, person: str, vectors: np.ndarray, sources: list[str]) -> list[int]:
        rows = [{"person": person, "source": source, "vector": vector}
                for vector, source in zip(vectors, sources, strict=True)]
        result = self._call("insert", "insert", self.collection, rows)
        self._unflushed = True
        return [int(i) for i in result["ids"]]

    def _sync(self) -> None:
        """Milvus Lite searches flushed segments much faster than fresh inserts: flush after writes."""
        if self.lite and self._unflushed:
            self._call("flush", "flush", self.collection)
            self._unflushed = False

    def _search(self, vector: np.ndarray, k: int) -> list[Hit]:
        self._sync()
        result = self._call("search", "search", self.collection, data=[vector], limit=min(k, MAX_TOPK),
                            output_fields=["person", "source"], search_params=self._search_params)
        hits = [Hit(h["entity"]["person"], h["entity"]["source"], euclidean_from_squared(h["distance"]))
                for h in result[0]]
        return sorted(hits, key=lambda h: h.distance)

    def _count(self, expr: str) -> int:
        rows = self._call("count", "query", self.collection, filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def _rows(self, fields: list[str]) -> list[dict[str, Any]]:
        """Every stored row's ``fields``, through a query iterator."""
        rows: list[dict[str, Any]] = []
        # Milvus Lite has no server timestamps; pymilvus warns and correctly falls back to its own.
        with _quiet(_ITERATOR_LOGGER, self.lite):
            iterator = self._call("query", "query_iterator", self.collection, batch_size=8192,
                                  output_fields=fields)
        try:
            while batch := iterator.next():
                rows.extend(batch)
        except self._error as exc:
            raise InvalidInputError(f"{self.location}: Milvus query failed ({exc.message})") from None
        finally:
            iterator.close()
        return rows

    def persons(self) -> dict[str, int]:
        """Every stored person and how many vectors each has, sorted by name."""
        counts = Counter(row["person"] for row in self._rows(["person"]))
        return dict(sorted(counts.items()))

    def sources(self) -> list[tuple[str, str]]:
        """(person, source label) of every stored vector, by person then id."""
        rows = sorted(self._rows(["person", "source"]), key=lambda r: (r["person"], r["id"]))
        return [(r["person"], r["source"]) for r in rows]

    def remove(self, person: str) -> int:
        """Delete every vector of ``person``; return how many were deleted."""
        expr = _person_filter(check_person(person))
        n = self._count(expr)
        if n:
            self._call("delete", "delete", self.collection, filter=expr)
            self._unflushed = True
        return n

    def count(self) -> int:
        """Number of stored vectors."""
        return self._count("")

    def get_meta(self, key: str) -> str | None:
        """The collection property ``faceqa.<key>``, or None."""
        info = self._call("describe", "describe_collection", self.collection)
        return (info.get("properties") or {}).get(f"faceqa.{key}")

    def set_meta(self, key: str, value: str) -> None:
        """Set the collection property ``faceqa.<key>``."""
        self._call("alter", "alter_collection_properties", self.collection, properties={f"faceqa.{key}": value})

    def close(self) -> None:
        """Release this client's connection (the Milvus Lite server stops at process exit)."""
        self._client.close()
