"""Turn a gallery URI into a storage backend.

==========================================  ============================================
URI                                         backend
==========================================  ============================================
(none)                                      SQLite at ``$FACEQA_HOME/gallery.sqlite``
                                            (``FACEQA_HOME`` defaults to ``~/.faceqa``)
``sqlite:///abs/path.db``, ``sqlite://rel``  SQLite at the path after ``sqlite://``
``milvus-lite:///abs/path.db``              Milvus Lite at the path after ``milvus-lite://``
``path.milvus.db``, or an existing folder   Milvus Lite (it keeps its data in that folder)
ending ``.db``
``path.db``, ``path.sqlite``, ``.sqlite3``  SQLite
``http(s)://host:port``                     Milvus server (cluster or standalone)
``milvus://host:port``                      Milvus server, same as ``http://host:port``
==========================================  ============================================

A Milvus URI may end with ``?collection=NAME`` to use a collection other than
``faceqa_gallery`` (several galleries on one server or file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

from faceqa.errors import InvalidInputError
from faceqa.gallery.milvus_store import MilvusStore
from faceqa.gallery.sqlite_store import SQLiteStore
from faceqa.gallery.store import VectorStore

Backend = Literal["sqlite", "milvus-lite", "milvus"]

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def faceqa_home() -> Path:
    """``$FACEQA_HOME``, or ``~/.faceqa`` when unset."""
    return Path(os.environ.get("FACEQA_HOME") or "~/.faceqa").expanduser()


def default_gallery_uri() -> str:
    """Where the gallery lives when no URI is given: ``$FACEQA_HOME/gallery.sqlite``."""
    return str(faceqa_home() / "gallery.sqlite")


def resolve_uri(uri: str | os.PathLike[str] | None = None) -> tuple[Backend, str, dict[str, str]]:
    """Which backend ``uri`` names, the path or server address to hand it, and the options the
    URI carries (``collection`` for Milvus)."""
    text = str(uri) if uri is not None else ""
    if not text.strip():
        return "sqlite", default_gallery_uri(), {}
    base, _, query = text.partition("?")
    backend, location = _classify(base)
    if backend == "sqlite":
        if query:
            raise InvalidInputError(f"gallery URI {text!r}: ?options apply to Milvus galleries only")
        return backend, location, {}
    return backend, location, _milvus_options(text, query)


def _classify(text: str) -> tuple[Backend, str]:
    """Backend and location for a URI without its ``?query``."""
    lower = text.lower()
    if lower.startswith("sqlite://"):
        return "sqlite", _path_part(text, "sqlite://")
    if lower.startswith("milvus-lite://"):
        return "milvus-lite", _path_part(text, "milvus-lite://")
    if lower.startswith("milvus://"):
        return "milvus", "http://" + text[len("milvus://"):]
    if lower.startswith(("http://", "https://")):
        return "milvus", text
    if "://" in text:
        raise InvalidInputError(f"gallery URI {text!r}: unknown scheme; use a .sqlite/.db path, "
                                "sqlite:///path, milvus-lite:///path.db, http(s)://host:port or milvus://host:port")
    path = Path(text).expanduser()
    if lower.endswith(".milvus.db") or (lower.endswith(".db") and path.is_dir()):
        return "milvus-lite", str(path)
    if lower.endswith(SQLITE_SUFFIXES):
        return "sqlite", str(path)
    raise InvalidInputError(f"gallery path {text!r}: expected a name ending .sqlite or .db (SQLite) "
                            "or .milvus.db (Milvus Lite)")


def _milvus_options(uri: str, query: str) -> dict[str, str]:
    """The ``collection=NAME`` query of a Milvus URI, as constructor options."""
    if not query:
        return {}
    options = parse_qs(query, keep_blank_values=True)
    names = options.get("collection", [""])
    if set(options) != {"collection"} or len(names) != 1 or not names[0]:
        raise InvalidInputError(f"gallery URI {uri!r}: the only URI option is ?collection=NAME")
    return {"collection": names[0]}


def _path_part(uri: str, prefix: str) -> str:
    path = uri[len(prefix):]
    if not path:
        raise InvalidInputError(f"gallery URI {uri!r}: no path after {prefix}")
    return str(Path(path).expanduser())


def open_store(uri: str | os.PathLike[str] | None = None, **options: Any) -> VectorStore:
    """Open (creating if needed) the gallery store that ``uri`` names.

    ``options`` go to the backend's constructor: ``dim`` for both; ``timeout`` for SQLite;
    ``collection``, ``index_type``, ``index_params``, ``search_params``, ``token``, ``db_name``,
    ``timeout`` for Milvus.
    """
    backend, location, uri_options = resolve_uri(uri)
    if backend == "sqlite":
        return SQLiteStore(location, **options)
    return MilvusStore(location, **{**uri_options, **options})
