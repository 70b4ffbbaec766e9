"""The user cache directory, and cache entries built once from a source file, safe under concurrent use.

The root is ``$FACEQA_CACHE``, else ``$XDG_CACHE_HOME/faceqa``, else ``~/.cache/faceqa``. An entry
``<root>/<name>/`` holds the built files and ``manifest.json``::

    {"format": 1, "build_id": "<uuid4 hex>",
     "source": {"path": ..., "size": ..., "mtime_ns": ..., "sha256_head": ...},
     "files": {"model.safetensors": 538090408, ...}}

The entry is valid while the source file has the recorded path, size, mtime and sha256 of its first
MiB, and every listed file is present with its recorded size. Otherwise it is rebuilt: in a
temporary folder beside it, under an exclusive ``fcntl`` lock on ``<root>/<name>.lock``, then
renamed into place, so a second process waits for the first and then reuses its result, and
a crash mid-build leaves no half-written entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from faceqa.errors import ModelUnavailableError

CACHE_ENV = "FACEQA_CACHE"
MANIFEST = "manifest.json"
FORMAT = 1
_HEAD_BYTES = 1 << 20


def cache_root() -> Path:
    """The faceqa cache directory (it may not exist yet)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "faceqa"


def source_fingerprint(path: Path) -> dict:
    """Size and the sha256 of the first and last MiB of ``path``: what a cache entry depends on.

    Content only, not the file's path or time: the same wheel installed in two virtual
    environments (a checkout and a fresh clone, say) shares one cache entry.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(_HEAD_BYTES)).hexdigest()
        fh.seek(max(0, size - _HEAD_BYTES))
        tail = hashlib.sha256(fh.read(_HEAD_BYTES)).hexdigest()
    return {"size": size, "sha256_head": head, "sha256_tail": tail}


def read_manifest(entry: Path) -> dict | None:
    """The manifest of cache folder ``entry``, or None when it is missing or unreadable."""
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def is_valid(entry: Path, fingerprint: dict) -> bool:
    """True when ``entry`` was built from a source with ``fingerprint`` and all its files are intact."""
    manifest = read_manifest(entry)
    if manifest is None or manifest.get("format") != FORMAT or manifest.get("source") != fingerprint:
        return False
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, size in files.items():
        f = entry / rel
        if not f.is_file() or f.stat().st_size != size:
            return False
    return True


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path`` (created if needed) for the ``with`` block."""
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def ensure_entry(name: str, source: Path, build: Callable[[Path], None], *, rebuild: bool = False) -> Path:
    """The cache folder ``name`` built from ``source`` by ``build(folder)``; built once when missing or stale.

    ``rebuild=True`` replaces a valid-looking entry too (use it when loading the entry failed).
    Raises ModelUnavailableError when the cache directory cannot be written.
    """
    root = cache_root()
    entry = root / name
    fingerprint = source_fingerprint(source)
    if not rebuild and is_valid(entry, fingerprint):
        return entry
    seen = _build_id(entry)
    lock = root / f"{name}.lock"
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock.touch(exist_ok=True)
    except OSError as err:
        raise ModelUnavailableError(
            f"cache {root}: cannot write there ({err.strerror}); set {CACHE_ENV} to a writable folder") from None
    with file_lock(lock):
        # another process may have (re)built it while this one waited for the lock
        if is_valid(entry, fingerprint) and (not rebuild or _build_id(entry) != seen):
            return entry
        _remove_leftovers(root, name)
        _build_into(root, entry, fingerprint, build)
    return entry


def _build_id(entry: Path) -> str | None:
    """The unique id each build writes into its manifest (None when there is no manifest)."""
    return (read_manifest(entry) or {}).get("build_id")


def _remove_leftovers(root: Path, name: str) -> None:
    """Delete temporary folders of builds that crashed (the caller holds the entry's lock)."""
    for leftover in root.glob(f".{name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _build_into(root: Path, entry: Path, fingerprint: dict, build: Callable[[Path], None]) -> None:
    """Run ``build`` in a temporary folder, write the manifest, then swap the folder in for ``entry``."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.build.", dir=root))
    try:
        build(tmp)
        files = {str(f.relative_to(tmp)): f.stat().st_size for f in sorted(tmp.rglob("*")) if f.is_file()}
        manifest = {"format": FORMAT, "build_id": uuid.uuid4().hex, "source": fingerprint, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if entry.exists():
            old = root / f".{entry.name}.old.{os.getpid()}"
            entry.rename(old)
            tmp.rename(entry)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(entry)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
