"""Open images, video files and folders of frames as one streaming sequence of RGB frames.

``open_media(path)`` returns a :class:`Media`; iterating it yields :class:`Frame` objects one
at a time, so memory stays flat however long the video is. Frame ``index`` is the frame's own
number: 0-based position for a video, the number in the file name for a frame folder (CASME II
``img46.jpg`` is 46, SAMM ``006_1_2_0001.jpg`` is 1), so the onset/offset fields of the MEGC
files select frames directly. ``time_s`` counts from the first frame of the source.
"""

from __future__ import annotations

import math
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceqa.deadline import check_deadline
from faceqa.errors import EmptyMediaError, InvalidInputError, LimitExceededError, MediaReadError
from faceqa.media.ordering import frame_number, natural_key
from faceqa.safeio import MAX_FPS, MAX_PIXELS, check_path, display, opened, os_error, stat_path

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".wmv", ".mpg", ".mpeg"})
MAX_FRAME_COUNT = 2**31 - 1
"""Largest frame number or count (a header claiming more is clamped)."""
DEFAULT_FOLDER_FPS = 30.0
"""Frame rate assumed for a folder of frames when none is given (CAS(ME)^3 is 30 fps;
pass ``fps=200`` for SAMM and CASME II)."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is RGB uint8 of shape (H, W, 3)."""

    index: int
    time_s: float
    image: np.ndarray


@dataclass(frozen=True)
class MediaInfo:
    """What is known about a source before decoding it all."""

    path: str
    kind: str  # "image" | "video" | "frames" | "array"
    fps: float
    n_frames: int  # frames that iteration will yield (after range and stride)
    width: int
    height: int


def read_image(path: str | Path) -> np.ndarray:
    """Read one image file as RGB uint8, honouring EXIF rotation; grayscale and RGBA become RGB.

    The file is opened first and checked (:func:`faceqa.safeio.open_input`); an image over
    :data:`~faceqa.safeio.MAX_PIXELS` is refused from its header, or for a JPEG decoded reduced.
    """
    name = display(path)
    with opened(path) as (fd, _), os.fdopen(os.dup(fd), "rb") as f:
        try:
            with warnings.catch_warnings():  # faceqa's own pixel limit (below) decides, not PIL's warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(f)
            with im:
                im = _within_pixel_limit(im, name)
                im = ImageOps.exif_transpose(im)
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    im = Image.alpha_composite(background, rgba)
                arr = np.asarray(im.convert("RGB"))
        except Image.DecompressionBombError:
            raise LimitExceededError(f"{name}: image is too large to decode (over {MAX_PIXELS:,} pixels, "
                                     "$FACEQA_MAX_PIXELS)") from None
        except UnidentifiedImageError:
            raise MediaReadError(f"{name}: not a readable image (unknown format or corrupt data)") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise MediaReadError(f"{name}: cannot read image ({exc})") from None
    if arr.size == 0:
        raise EmptyMediaError(f"{name}: image has no pixels")
    return np.ascontiguousarray(arr)


def _within_pixel_limit(im: Image.Image, name: str) -> Image.Image:
    """``im`` if its size is within the pixel limit; a JPEG set to decode reduced to fit; else refused."""
    width, height = im.size
    if width * height <= MAX_PIXELS:
        return im
    if im.format == "JPEG":  # libjpeg decodes at 1/2, 1/4 or 1/8 per side directly
        for scale in (2, 4, 8):
            size = (math.ceil(width / scale), math.ceil(height / scale))
            if size[0] * size[1] <= MAX_PIXELS:
                im.draft("RGB", size)
                if im.size[0] * im.size[1] <= MAX_PIXELS:
                    return im
                break
    raise LimitExceededError(f"{name}: image is {width}x{height} ({width * height:,} pixels), over the "
                             f"{MAX_PIXELS:,}-pixel limit ($FACEQA_MAX_PIXELS)")


def as_rgb(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an in-memory image and return it as contiguous RGB uint8."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInputError(f"{name}: expected an HxW, HxWx3 or HxWx4 array, got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.max(initial=0) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


class Media:
    """A streaming source of frames. Build it with :func:`open_media`."""

    def __init__(self, info: MediaInfo, frames: list | None, start: int | None, end: int | None,
                 every: int, array: np.ndarray | None = None):
        self.info = info
        self._files = frames
        self._start = start
        self._end = end
        self._every = every
        self._array = array

    def __len__(self) -> int:
        return self.info.n_frames

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    @property
    def span(self) -> tuple[int, int]:
        """(first, last) frame index that iteration yields (a video's last one as its header counts)."""
        if self._files is not None:
            kept = self._files[::self._every]
            return kept[0][0], kept[-1][0]
        first = self._start or 0
        return first, first + (self.info.n_frames - 1) * self._every

    def frames(self) -> Iterator[Frame]:
        """Yield frames one at a time (decoded lazily; nothing is kept); stops with TimeLimitError when
        the current :func:`faceqa.deadline.deadline` passes."""
        for frame in self._frames():
            check_deadline()
            yield frame

    def _frames(self) -> Iterator[Frame]:
        if self.info.kind == "array":
            yield Frame(0, 0.0, self._array)
        elif self.info.kind == "image":
            yield Frame(0, 0.0, read_image(self.info.path))
        elif self.info.kind == "frames":
            yield from self._folder_frames()
        else:
            yield from self._video_frames()

    def _folder_frames(self) -> Iterator[Frame]:
        for k, (number, pos, path) in enumerate(self._files):
            if k % self._every == 0:
                yield Frame(number, pos / self.info.fps, read_image(path))  # each frame size-checked

    def _video_frames(self) -> Iterator[Frame]:
        cap = _open_capture(self.info.path)
        try:
            index = 0
            start = self._start or 0
            while index < start:
                if not cap.grab():
                    return
                index += 1
            end = self._end if self._end is not None else float("inf")
            while index <= end:
                if (index - start) % self._every:
                    if not cap.grab():
                        return
                else:
                    ok, bgr = cap.read()
                    if not ok or bgr is None:
                        return
                    yield Frame(index, index / self.info.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                index += 1
        finally:
            cap.release()


def _open_capture(path: str) -> cv2.VideoCapture:
    """An OpenCV capture of the checked, open file (so a non-UTF-8 name or a FIFO never reaches FFmpeg)."""
    with opened(path) as (_, native):
        cap = cv2.VideoCapture(native, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise MediaReadError(f"{display(path)}: cannot open video (corrupt file or unsupported codec)")
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    if width * height > MAX_PIXELS:
        cap.release()
        raise LimitExceededError(f"{display(path)}: video frames are {width}x{height}, over the {MAX_PIXELS:,}-pixel "
                                 "limit ($FACEQA_MAX_PIXELS)")
    return cap


def _probe_video(path: Path, fps: float | None) -> tuple[float, int, int, int]:
    cap = _open_capture(str(path))
    try:
        ok, bgr = cap.read()
        if not ok or bgr is None:
            raise MediaReadError(f"{display(path)}: video holds no decodable frame (corrupt or empty)")
        file_fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        height, width = bgr.shape[:2]
    finally:
        cap.release()
    use_fps = fps or (file_fps if 0 < file_fps < MAX_FPS else 30.0)
    return float(use_fps), min(max(count, 1), MAX_FRAME_COUNT), width, height


def _list_frames(folder: Path) -> list[tuple[int, int, Path]]:
    """(frame number, position in the folder, path) for each image, in natural order."""
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise os_error(folder, exc) from None
    files = sorted((p for p in entries if p.suffix.lower() in IMAGE_EXTS and p.is_file()),
                   key=lambda p: natural_key(p.name))
    numbers = [frame_number(p) for p in files]
    if any(n is None for n in numbers) or len(set(numbers)) != len(numbers):
        numbers = list(range(len(files)))
    return [(n, pos, p) for pos, (n, p) in enumerate(zip(numbers, files, strict=True))]


def _strided_count(n: int, every: int) -> int:
    return (n + every - 1) // every if n > 0 else 0


def open_media(
    source: str | os.PathLike | np.ndarray,
    fps: float | None = None,
    start: int | None = None,
    end: int | None = None,
    every: int = 1,
) -> Media:
    """Open an image, a video file, a folder of frames, or an in-memory RGB array.

    Args:
        source: path to a jpg/png/... image, an mp4/avi/mov/... video, a folder of frame
            images (natural numeric order), or an RGB/gray/RGBA numpy array.
        fps: frame rate; defaults to the video's own, or 30 for a folder of frames
            (SAMM and CASME II are 200 fps, CAS(ME)^3 is 30).
        start, end: inclusive frame range by frame ``index`` (onset/offset as in the MEGC files).
        every: keep one frame in ``every``.

    Raises:
        MediaNotFoundError, MediaReadError, EmptyMediaError, InvalidInputError.
    """
    _check_selection(fps, start, end, every)
    if start is not None and end is not None and end < start:
        raise InvalidInputError(f"frame range is empty: start {start} > end {end}")
    if isinstance(source, np.ndarray):
        arr = as_rgb(source, "array")
        h, w = arr.shape[:2]
        return Media(MediaInfo("<array>", "array", fps or 1.0, 1, w, h), None, None, None, 1, arr)

    path = check_path(source, "media")
    st = stat_path(path)
    if stat.S_ISDIR(st.st_mode):
        files = _list_frames(path)
        if not files:
            raise EmptyMediaError(f"{display(path)}: folder holds no image frames ({', '.join(sorted(IMAGE_EXTS))})")
        files = [(n, pos, p) for n, pos, p in files
                 if (start is None or n >= start) and (end is None or n <= end)]
        if not files:
            raise EmptyMediaError(f"{display(path)}: no frame in range {start}..{end}")
        first = read_image(files[0][2])
        h, w = first.shape[:2]
        info = MediaInfo(str(path), "frames", float(fps or DEFAULT_FOLDER_FPS),
                         _strided_count(len(files), every), w, h)
        return Media(info, files, start, end, every)

    if not stat.S_ISREG(st.st_mode):
        raise MediaReadError(f"{display(path)}: is {_kind(st.st_mode)}, not a media file")
    if st.st_size == 0:
        raise EmptyMediaError(f"{display(path)}: file is empty")
    ext = path.suffix.lower()
    if ext in IMAGE_EXTS or (ext not in VIDEO_EXTS and _looks_like_image(path)):
        arr = read_image(path)
        h, w = arr.shape[:2]
        return Media(MediaInfo(str(path), "image", fps or 1.0, 1, w, h), None, None, None, 1)
    use_fps, count, w, h = _probe_video(path, fps)
    first = start or 0
    last = min(end, count - 1) if end is not None else count - 1
    if first > last:
        raise EmptyMediaError(f"{display(path)}: no frame in range {start}..{end} (video has {count} frames)")
    info = MediaInfo(str(path), "video", use_fps, _strided_count(last - first + 1, every), w, h)
    return Media(info, None, start, end, every)


def _looks_like_image(path: Path) -> bool:
    with opened(path) as (fd, _), os.fdopen(os.dup(fd), "rb") as f:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                Image.open(f).close()
            return True
        except Image.DecompressionBombError:
            return True  # an image; read_image refuses it with the pixel limit
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            return False


def _kind(mode: int) -> str:
    return "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"


def _check_selection(fps: object, start: object, end: object, every: object) -> None:
    """Types and bounds of the frame selection (one-line errors, never a hang on ``fps=1e300``)."""
    if isinstance(every, bool) or not isinstance(every, int | np.integer) or not 1 <= every <= MAX_FRAME_COUNT:
        raise InvalidInputError(f"every must be a whole number in 1..{MAX_FRAME_COUNT}, got {every!r}")
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, int | float | np.number)
                            or not math.isfinite(fps) or not 0 < fps <= MAX_FPS):
        raise InvalidInputError(f"fps must be a number in (0, {MAX_FPS:g}], got {fps!r}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)
                                  or not 0 <= value <= MAX_FRAME_COUNT):
            raise InvalidInputError(f"{name} must be a frame number in 0..{MAX_FRAME_COUNT}, got {value!r}")
