"""Recognition against a gallery of known faces, on SQLite (default) or Milvus storage.

>>> from faceqa.gallery import Gallery
>>> with Gallery.open("/tmp/people.sqlite") as gallery:          # doctest: +SKIP
...     gallery.enroll("ada", vectors, sources=["ada1.jpg", "ada2.jpg"])
...     print(gallery.identify(query).label)
"""

from faceqa.gallery.gallery import LEGACY_MODEL, UNKNOWN, EmbedFn, Gallery, Identification, Match
from faceqa.gallery.milvus_store import MilvusStore
from faceqa.gallery.open import default_gallery_uri, faceqa_home, open_store, resolve_uri
from faceqa.gallery.sqlite_store import SQLiteStore
from faceqa.gallery.store import DIM, Hit, VectorStore
from faceqa.perception.identity import DEFAULT_THRESHOLD

__all__ = [
    "DEFAULT_THRESHOLD",
    "DIM",
    "LEGACY_MODEL",
    "UNKNOWN",
    "EmbedFn",
    "Gallery",
    "Hit",
    "Identification",
    "Match",
    "MilvusStore",
    "SQLiteStore",
    "VectorStore",
    "default_gallery_uri",
    "faceqa_home",
    "open_store",
    "resolve_uri",
]
