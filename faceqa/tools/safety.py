"""What the agent tools may read and how much work one call may ask for.

A :class:`ToolPolicy` guards every path a tool receives from an agent:

- **Allowed roots.** A path is read only when it lies under one of the allowed folders (default:
  the current directory). Relative paths are taken from the first root. A path that leaves every
  root, by ``..`` or by being absolute elsewhere, is refused before anything on disk is touched;
  a path whose real location (every symbolic link followed) lies outside is refused too, and so is
  a frame folder holding a frame that links outside. These checks of names are a first filter; what
  decides is the file actually opened: inside :meth:`ToolPolicy.confined` (every tool call) each
  input is opened first and its real location checked on the open file
  (:func:`faceqa.safeio.open_input`), so a file swapped for a link between the check and the
  read is refused. FIFOs, devices and sockets are never opened for reading.
- **Caps.** Files over ``max_file_mb`` (frame folders: their frames together), images or videos
  over ``max_pixels`` per frame, selections lasting over ``max_duration_s`` and calls that would
  analyse over ``max_frames`` frames are refused with a message that says what to change. Video
  decoding is bounded by the checked frame range, so a header that understates the frame count
  cannot make a call run longer.
- **Arguments.** A path that is not text, a frame rate that is not a finite number in (0, 10000],
  frame numbers that are not whole numbers >= 0 are refused with a one-line error.
- **URLs.** ``http(s)://`` addresses are refused unless ``allow_urls``; when allowed, the file is
  downloaded (size-capped, with a per-read timeout and a total deadline, see
  :mod:`faceqa.tools.fetch`) into a private temporary folder that :meth:`ToolPolicy.close` removes.
- **Outputs.** A tool that writes (de-identification) writes only to a new path under a root,
  never over an existing file.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import stat
import tempfile
import warnings
import weakref
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from faceqa.errors import AccessDeniedError, FaceQAError, InvalidInputError, LimitExceededError, MediaNotFoundError
from faceqa.media import MediaInfo, open_media
from faceqa.media.sources import IMAGE_EXTS
from faceqa.safeio import check_path, confined, open_input, opened, os_error, stat_path

URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
"""Anything that starts like ``scheme://`` is treated as a URL, never as a file name."""


@dataclass(frozen=True)
class CheckedMedia:
    """A media path that passed the policy, with the frame range a tool must use.

    ``path`` is the real path to open; ``name`` is what the caller wrote (for messages and results);
    ``end`` is the caller's ``end`` or, for videos, the last frame the checks counted.
    """

    path: Path
    name: str
    info: MediaInfo
    start: int | None
    end: int | None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


class ToolPolicy:
    """The folders, sizes and URLs an agent-facing tool may use (see the module docstring).

    Args:
        allowed_roots: folders the tools may read (default: the current directory).
        max_file_mb: largest file (or frame folder, all frames together) in megabytes.
        max_frames: most frames one call may analyse (after ``every``).
        max_duration_s: longest selected span of a video or frame folder, in seconds.
        max_pixels: largest frame, in pixels (width x height).
        allow_urls: download ``http(s)://`` media instead of refusing it.
        url_timeout_s: network timeout of one read of a download.
        url_deadline_s: longest a whole download may take.
        max_call_s: longest one tool call may run (it stops at the next frame after).
    """

    def __init__(self, allowed_roots: Sequence[str | os.PathLike[str]] | None = None, max_file_mb: float = 500.0,
                 max_frames: int = 5000, max_duration_s: float = 600.0, max_pixels: int = 4096 * 4096,
                 allow_urls: bool = False, url_timeout_s: float = 30.0, url_deadline_s: float = 120.0,
                 max_call_s: float = 300.0):
        roots = list(allowed_roots) if allowed_roots else [Path.cwd()]
        checked = []
        for r in roots:
            p = Path(os.path.abspath(os.fspath(r)))
            if not p.is_dir():
                raise InvalidInputError(f"allowed root {r}: not an existing folder")
            checked.append(p)
        for name, value in (("max_file_mb", max_file_mb), ("max_frames", max_frames),
                            ("max_duration_s", max_duration_s), ("max_pixels", max_pixels),
                            ("url_timeout_s", url_timeout_s), ("url_deadline_s", url_deadline_s),
                            ("max_call_s", max_call_s)):
            if isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidInputError(f"{name}: expected a positive number, got {value!r}")
        self.roots: tuple[Path, ...] = tuple(checked)
        self._real_roots = tuple(Path(os.path.realpath(p)) for p in checked)
        self.max_bytes = int(max_file_mb * 1e6)
        self.max_frames = int(max_frames)
        self.max_duration_s = float(max_duration_s)
        self.max_pixels = int(max_pixels)
        self.allow_urls = bool(allow_urls)
        self.url_timeout_s = float(url_timeout_s)
        self.url_deadline_s = float(url_deadline_s)
        self.max_call_s = float(max_call_s)
        self._downloads: dict[str, Path] = {}
        self._download_dir: Path | None = None
        self._cleanup: weakref.finalize | None = None

    def add_root(self, folder: str | os.PathLike[str]) -> None:
        """Allow one more folder (e.g. the folder of media a person named on the command line)."""
        p = Path(os.path.abspath(os.fspath(folder)))
        if not p.is_dir():
            raise InvalidInputError(f"allowed root {folder}: not an existing folder")
        if p not in self.roots:
            self.roots += (p,)
            self._real_roots += (Path(os.path.realpath(p)),)

    def describe(self) -> str:
        """One line saying what the policy allows (for logs and system prompts)."""
        roots = ", ".join(str(r) for r in self.roots)
        return (f"reads under {roots}; files up to {_megabytes(self.max_bytes)}, {self.max_frames} frames, "
                f"{self.max_duration_s:g} s, {self.max_call_s:g} s a call; "
                f"URLs {'allowed' if self.allow_urls else 'refused'}")

    # -- paths ---------------------------------------------------------------------------------

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path`` after the root checks (a download, for an allowed URL).

        Raises AccessDeniedError (outside the roots, a link leading out, a URL while URLs are off),
        InvalidInputError (an empty path).
        """
        if not isinstance(path, str | os.PathLike):
            raise InvalidInputError(f"media path: expected text, got {type(path).__name__}")
        text = os.fspath(path)
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("media path is empty")
        if "\x00" in text:
            raise AccessDeniedError(f"{text!r}: path holds a NUL byte")
        if URL_PATTERN.match(text):
            return self._download(text)
        return self._contained(str(check_path(text, "media path")))

    def _contained(self, text: str) -> Path:
        p = Path(text)
        absolute = p if p.is_absolute() else self.roots[0] / p
        lexical = Path(os.path.normpath(absolute))
        if not any(_inside(lexical, r) for r in (*self.roots, *self._real_roots)):
            raise AccessDeniedError(f"{text}: outside the allowed folders ({', '.join(map(str, self.roots))})")
        try:
            real = Path(os.path.realpath(absolute))
        except OSError as exc:
            raise os_error(text, exc) from None
        if not self._real_inside(real):
            raise AccessDeniedError(f"{text}: a symbolic link leads outside the allowed folders")
        return real

    def _real_inside(self, real: Path) -> bool:
        extra = (self._download_dir,) if self._download_dir is not None else ()
        return any(_inside(real, r) for r in (*self._real_roots, *extra))

    def output_path(self, path: str | os.PathLike[str]) -> Path:
        """Where a tool may write ``path``: under a root, in an existing folder, not over an existing file."""
        if not isinstance(path, str | os.PathLike):
            raise InvalidInputError(f"output path: expected text, got {type(path).__name__}")
        text = os.fspath(path)
        if URL_PATTERN.match(text or ""):
            raise AccessDeniedError(f"{text}: outputs are written to files, not URLs")
        real = self.resolve(text)
        if os.path.lexists(real):
            raise AccessDeniedError(f"{text}: already exists; tools never overwrite files")
        if not real.parent.is_dir():
            raise InvalidInputError(f"{text}: folder {Path(text).parent} does not exist")
        return real

    def allows(self, real: Path) -> bool:
        """Whether a file whose real location is ``real`` may be read (under a root or the download folder)."""
        return self._real_inside(Path(real))

    def confined(self) -> AbstractContextManager[None]:
        """A block inside which every input opened must really lie under the roots (checked on the open
        file, see :func:`faceqa.safeio.confined`); each tool call runs inside one."""
        return confined(self.allows, f"the allowed folders ({', '.join(map(str, self.roots))})")

    # -- media ---------------------------------------------------------------------------------

    def check_media(self, path: str | os.PathLike[str], fps: float | None = None, start: int | None = None,
                    end: int | None = None, every: int = 1) -> CheckedMedia:
        """Resolve ``path`` and check the file and the frame selection against every cap."""
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InvalidInputError(f"every must be a whole number >= 1, got {every!r}")
        real = self.resolve(path)
        name = os.fspath(path)
        if not os.path.exists(real):
            raise MediaNotFoundError(f"{name}: no such file or folder")
        try:
            with self.confined():
                st = stat_path(real)
                if stat.S_ISDIR(st.st_mode):
                    self._check_folder(real, name)
                else:
                    self._check_file(real, name)
                info = open_media(real, fps=fps, start=start, end=end).info
        except FaceQAError as exc:  # name the media as the caller wrote it, not by its real path
            text = str(exc)
            if str(real) not in text:
                raise
            raise type(exc)(text.replace(str(real), name)) from None
        if info.width * info.height > self.max_pixels:
            raise LimitExceededError(f"{name}: frames are {info.width}x{info.height}, over the "
                                     f"{self.max_pixels:,}-pixel limit")
        if info.kind in ("video", "frames"):
            duration = info.n_frames / info.fps
            if duration > self.max_duration_s:
                raise LimitExceededError(f"{name}: the selection lasts {duration:.1f} s, over the "
                                         f"{self.max_duration_s:g} s limit; choose a start/end frame range")
            frames = math.ceil(info.n_frames / every)
            if frames > self.max_frames:
                raise LimitExceededError(f"{name}: {frames} frames to analyse, over the {self.max_frames}-frame "
                                         "limit; analyse one frame in `every` or choose a start/end frame range")
        if info.kind == "video":
            first = start or 0
            end = first + info.n_frames - 1
        return CheckedMedia(real, name, info, start, end)

    def _check_file(self, real: Path, name: str) -> None:
        fd = open_input(real)  # a FIFO, device or socket is refused here, before any read
        try:
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > self.max_bytes:
            raise LimitExceededError(f"{name}: file is {_megabytes(size)}, over the {_megabytes(self.max_bytes)} "
                                     "limit")
        self._check_image_header(real, name)

    def _check_folder(self, real: Path, name: str) -> None:
        total = 0
        try:
            entries = list(real.iterdir())
        except OSError as exc:
            raise os_error(name, exc) from None
        for entry in entries:
            if entry.suffix.lower() not in IMAGE_EXTS:
                continue
            if not self._real_inside(Path(os.path.realpath(entry))):
                raise AccessDeniedError(f"{name}: frame {entry.name} is a symbolic link leading outside the "
                                        "allowed folders")
            if entry.is_file():
                total += entry.stat().st_size
        if total > self.max_bytes:
            raise LimitExceededError(f"{name}: frames total {_megabytes(total)}, over the "
                                     f"{_megabytes(self.max_bytes)} limit")

    def _check_image_header(self, real: Path, name: str) -> None:
        """Refuse oversized images from their header alone (before any pixel is decoded)."""
        from PIL import Image, UnidentifiedImageError

        try:
            with opened(real) as (fd, _), os.fdopen(os.dup(fd), "rb") as f, warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the pixel cap below decides
                with Image.open(f) as im:
                    width, height = im.size
        except Image.DecompressionBombError:
            raise LimitExceededError(f"{name}: image is too large to decode safely") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            return  # not an image: a video, or unreadable (open_media reports it)
        if width * height > self.max_pixels:
            raise LimitExceededError(f"{name}: image is {width}x{height}, over the {self.max_pixels:,}-pixel limit")

    # -- URLs ----------------------------------------------------------------------------------

    def _download(self, url: str) -> Path:
        if not self.allow_urls:
            raise AccessDeniedError(f"{url}: fetching URLs is disabled; give a file under the allowed folders")
        if url in self._downloads:
            return self._downloads[url]
        from faceqa.tools.fetch import fetch_url

        if self._download_dir is None:
            self._download_dir = Path(os.path.realpath(tempfile.mkdtemp(prefix="faceqa-fetch-")))
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._download_dir, True)
        target = fetch_url(url, self._download_dir / str(len(self._downloads)), self.max_bytes, self.url_timeout_s,
                           self.url_deadline_s)
        self._downloads[url] = target
        return target

    def close(self) -> None:
        """Remove downloaded files (the policy stays usable; later downloads start afresh)."""
        if self._cleanup is not None:
            self._cleanup()
        self._cleanup = None
        self._download_dir = None
        self._downloads.clear()
