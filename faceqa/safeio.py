"""Opening input files and writing output files safely: the one place faceqa touches a path.

Inputs (:func:`open_input`, :func:`opened`):

- a path is checked as text first (type, NUL byte, a name over 255 bytes or a path over 4096),
  so a bad name is a one-line error, never an ``OSError`` from deep inside a library;
- a file is opened *before* anything is decided about it (``O_NONBLOCK``, so a FIFO never blocks),
  then the opened file is checked: only regular files (and folders where asked) are read, never a
  FIFO, a device or a socket;
- native decoders (OpenCV, PyAV) get ``/proc/self/fd/N`` of the opened file, an ASCII name for
  the very file that was checked: a file name that is not valid UTF-8 cannot reach them (it made
  OpenCV crash), and a name swapped for a link after the check changes nothing;
- inside :func:`confined` (the agent tools) the opened file's real location must pass the given
  test (e.g. lie under the allowed folders), checked on the open file, not on its name.

Outputs (:func:`check_output`, :func:`atomic_output`): written only to regular files, in an existing
folder; an existing target is replaced only when asked (``overwrite``); devices, FIFOs, sockets,
folders and symbolic links are refused. A file is written under a temporary ASCII name in the same
folder and renamed over the target when complete, so a crash never leaves half a file.

Pixel limit: images and video frames over :data:`MAX_PIXELS` (``$FACEQA_MAX_PIXELS``, default 50
million, e.g. 8660x5773) are refused, except JPEGs, which are decoded reduced (1/2, 1/4 or 1/8 per
side) to fit under it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from faceqa.errors import AccessDeniedError, InvalidInputError, MediaNotFoundError, MediaReadError

NAME_MAX = 255
PATH_MAX = 4096


def _max_pixels() -> int:
    text = os.environ.get("FACEQA_MAX_PIXELS", "")
    try:
        value = int(text)
    except ValueError:
        return 50_000_000
    return value if value > 0 else 50_000_000


MAX_PIXELS = _max_pixels()
"""Largest image or video frame decoded, in pixels (``$FACEQA_MAX_PIXELS``; JPEGs over it are decoded reduced)."""
MAX_FPS = 10_000.0
"""Highest frame rate accepted (high-speed cameras record a few thousand frames per second)."""

_CONFINE: ContextVar[tuple[Callable[[Path], bool], str] | None] = ContextVar("faceqa_confine", default=None)
_HAS_PROC_FD = sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd")


def display(path: str | os.PathLike | bytes) -> str:
    """``path`` as printable text (bytes that are not UTF-8 shown as ``\\xNN``)."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def check_path(path: object, what: str = "path") -> Path:
    """``path`` as a Path after checks on its text alone (type, NUL byte, length)."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputError(f"{what}: expected a file path, got {type(path).__name__}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise InvalidInputError(f"{what}: the path is empty")
    if "\x00" in text:
        raise InvalidInputError(f"{display(text.replace(chr(0), ''))}: the path holds a NUL byte")
    raw = os.fsencode(text)
    if len(raw) > PATH_MAX:
        raise InvalidInputError(f"{display(raw[:60])}...: path is {len(raw)} bytes long, over the "
                                f"{PATH_MAX}-byte limit")
    for part in raw.split(b"/"):
        if len(part) > NAME_MAX:
            raise InvalidInputError(f"{display(raw[:60])}...: a file name is {len(part)} bytes long, over the "
                                    f"{NAME_MAX}-byte limit")
    return Path(text)


def os_error(path: str | os.PathLike, exc: OSError, action: str = "cannot read") -> Exception:
    """The FaceQAError for an ``OSError`` met on ``path`` (not found, not allowed, name too long, ...)."""
    name = display(path)
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return MediaNotFoundError(f"{name}: no such file or folder")
    if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL):
        return InvalidInputError(f"{name}: {action} ({reason})")
    return MediaReadError(f"{name}: {action} ({reason})")


def stat_path(path: str | os.PathLike) -> os.stat_result:
    """``os.stat`` of a checked path, its errors as FaceQAErrors."""
    p = check_path(path)
    try:
        return os.stat(p)
    except OSError as exc:
        raise os_error(p, exc) from None


def _kind_name(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


@contextmanager
def confined(allowed: Callable[[Path], bool], describe: str) -> Iterator[None]:
    """Inside this block every input opened must have a real location for which ``allowed`` is true;
    ``describe`` says in errors where inputs may lie (e.g. "the allowed folders")."""
    token = _CONFINE.set((allowed, describe))
    try:
        yield
    finally:
        _CONFINE.reset(token)


def current_confinement() -> tuple[Callable[[Path], bool], str] | None:
    """The confinement in force (pass it to a worker thread with :func:`confined`), or None."""
    return _CONFINE.get()


def opened_location(fd: int) -> Path | None:
    """The real path of an open file (from ``/proc/self/fd``), or None where the system does not say."""
    if not _HAS_PROC_FD:
        return None
    target = os.readlink(f"/proc/self/fd/{fd}")
    return Path(target.removesuffix(" (deleted)"))


def open_input(path: str | os.PathLike, folder_ok: bool = False) -> int:
    """Open ``path`` for reading and return the descriptor, after checking the *opened* file: a regular
    file (or a folder when ``folder_ok``), inside the current confinement. Never blocks on a FIFO."""
    p = check_path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket or a FIFO opened for writing elsewhere
            raise MediaReadError(f"{display(p)}: not a regular file") from None
        raise os_error(p, exc) from None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or (folder_ok and stat.S_ISDIR(mode))):
            raise MediaReadError(f"{display(p)}: is {_kind_name(mode)}, not a media file")
        confinement = _CONFINE.get()
        if confinement is not None:
            allowed, describe = confinement
            real = opened_location(fd)
            if real is None:
                real = Path(os.path.realpath(p))
            if not allowed(real):
                raise AccessDeniedError(f"{display(p)}: the file opened lies outside {describe}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def native_name(fd: int, path: str | os.PathLike) -> str:
    """A name a native decoder can open for the open file ``fd`` of ``path``: ``/proc/self/fd/N``
    where the system has it, else the path itself (refused when it is not valid UTF-8)."""
    if _HAS_PROC_FD:
        return f"/proc/self/fd/{fd}"
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{display(text)}: the file name is not valid UTF-8; rename the file") from None
    return text


@contextmanager
def opened(path: str | os.PathLike, folder_ok: bool = False) -> Iterator[tuple[int, str]]:
    """``(descriptor, native name)`` of the checked, open ``path`` (see :func:`open_input`), closed after."""
    fd = open_input(path, folder_ok)
    try:
        yield fd, native_name(fd, path)
    finally:
        os.close(fd)


def check_output(path: object, overwrite: bool = False, folder: bool = False, what: str = "output") -> Path:
    """Where an output may be written: in an existing folder, as a new file, or over a regular file when
    ``overwrite`` (``folder``: the output is a folder of files, which must be new or, with ``overwrite``,
    an existing folder). Refuses devices, FIFOs, sockets and symbolic links."""
    p = check_path(path, what)
    parent = p.parent
    try:
        parent_mode = os.stat(parent).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InvalidInputError(f"{display(p)}: folder {display(parent)} does not exist") from None
        raise os_error(parent, exc, "cannot write there") from None
    if not stat.S_ISDIR(parent_mode):
        raise InvalidInputError(f"{display(p)}: {display(parent)} is not a folder")
    try:
        mode = os.lstat(p).st_mode
    except FileNotFoundError:
        _probe_writable(p)
        return p
    except OSError as exc:
        raise os_error(p, exc, "cannot write there") from None
    if folder and stat.S_ISDIR(mode):
        if not overwrite:
            raise InvalidInputError(f"{display(p)}: already exists; pass --overwrite to replace its files")
        return p
    if not stat.S_ISREG(mode):
        raise InvalidInputError(f"{display(p)}: is {_kind_name(mode)}; {what}s are written to regular files only")
    if folder:
        raise InvalidInputError(f"{display(p)}: is a file, expected a folder")
    if not overwrite:
        raise InvalidInputError(f"{display(p)}: already exists; pass --overwrite to replace it")
    return p


def _probe_writable(p: Path) -> None:
    """Create and remove a file beside ``p``: a folder that takes no new file (read-only, /proc) is found
    before any work is done, not at the end."""
    try:
        fd, name = tempfile.mkstemp(prefix=".faceqa-probe-", dir=p.parent)
    except OSError as exc:
        raise os_error(p, exc, "cannot write there") from None
    os.close(fd)
    os.unlink(name)


@contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = True, what: str = "output") -> Iterator[Path]:
    """Yield a temporary path (ASCII name, same suffix, same folder) to write; renamed over ``path`` when
    the block ends without error, removed otherwise. ``path`` is checked with :func:`check_output`."""
    target = check_output(path, overwrite=overwrite, what=what)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".faceqa-", suffix=target.suffix.encode("ascii", "ignore").decode(),
                                        dir=target.parent)
    except OSError as exc:
        raise os_error(target, exc, "cannot write there") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not overwrite and os.path.lexists(target):
            raise InvalidInputError(f"{display(target)}: appeared while it was being written; not replaced")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise os_error(target, exc, "cannot write") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: str | os.PathLike, overwrite: bool = False, what: str = "output") -> Iterator[Path]:
    """Like :func:`atomic_output` for an output that is a folder of files (a new folder, or with
    ``overwrite`` one that replaces an existing folder)."""
    target = check_output(path, overwrite=overwrite, folder=True, what=what)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".faceqa-", dir=target.parent))
    except OSError as exc:
        raise os_error(target, exc, "cannot write there") from None
    try:
        yield tmp
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_error(target, exc, "cannot write") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """A text file's content: UTF-8, or UTF-8/16/32 with a byte-order mark; anything else is a one-line
    error naming the line of the first undecodable byte. Opened with :func:`open_input` (never a FIFO)."""
    p = check_path(path, what)
    with opened(p) as (fd, _), os.fdopen(os.dup(fd), "rb") as f:
        try:
            raw = f.read()
        except OSError as exc:
            raise os_error(p, exc) from None
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError(f"{display(p)}:{line}: not {encoding.upper()} text (byte 0x{raw[exc.start]:02x}); "
                                "save the file as UTF-8") from None


def read_csv(path: str | os.PathLike, what: str = "CSV file") -> tuple[list[str], list[dict[str, str]]]:
    """(column names, rows as dicts) of a CSV file read with :func:`read_text`; a malformed file (a field
    over the csv module's size limit, a NUL byte, ...) is a one-line error naming the line."""
    import csv
    import io

    p = check_path(path, what)
    reader = csv.DictReader(io.StringIO(read_text(p, what), newline=""))
    try:
        rows = list(reader)
        columns = [c.strip() for c in reader.fieldnames or []]
    except csv.Error as exc:
        raise InvalidInputError(f"{display(p)}:{reader.line_num}: not a readable CSV row ({exc})") from None
    return columns, [{(k.strip() if isinstance(k, str) else k): v for k, v in row.items()} for row in rows]
