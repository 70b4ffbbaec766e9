"""Find the media of an MEGC question row (or a labelled clip) under a media root, with its frame range and frame rate.

Layouts accepted under ``ROOT`` (tried in this order; each name may be a folder of frames, a
file, or a video file ``<name>.mp4``/``.avi``/``.mov``/... ):

1. ``ROOT/<clip>``: the clip itself, named as the question file names it (``image_id`` in 2025
   files, e.g. ``006_1_2`` or ``dzw_a1_338``; ``video`` in 2026 files, e.g. ``dzw_a1``, ``SAMM-1``);
2. ``ROOT/<subject>/<clip>``;
3. ``ROOT/<subject>/<filename>`` (the datasets' own layout: CAS(ME)^3 ``dzw/a1``, SAMM ``006/006_1_2``);
4. ``ROOT/<filename>``;
5. ``ROOT/<subject>_<filename>``;
6. for a 2026 ``video`` ``<subject>_<rest>`` (``dzw_a1``, ``1_001_2``): ``ROOT/<subject>/<rest>`` and ``ROOT/<rest>``.

The ``onset_frame``/``offset_frame`` of a 2025 test row select frames of the recording (layouts
3-6, by frame number: a frame file's own number, a video's 0-based position). A clip found as
itself (layouts 1-2) is used whole unless those frame numbers exist in it. A reversed range is
read in order (the published SAMM 2025 test file has one clip with onset 1495, offset 1494).

Names are taken as relative paths under ``ROOT`` only: a name that is absolute or climbs out with
``..`` (from the question file's ``video``, ``subject`` or ``filename``) is never looked up.

Frame rates (folders of frames carry none): SAMM and CASME II 200 fps, SMIC 100 fps
(SMIC-HS), CAS(ME)^3 30 fps; a video file's own rate otherwise; ``fps`` overrides all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faceqa.errors import EmptyMediaError, InvalidInputError, MediaNotFoundError
from faceqa.media import open_media
from faceqa.media.sources import VIDEO_EXTS

DATASET_FPS = {"samm": 200.0, "casme2": 200.0, "smic": 100.0, "casme3": 30.0}
"""Recording frame rate per dataset."""
DATASET_CONVENTION = {"samm": "samm", "casme3": "casme3"}
"""Labelling convention of the AU -> emotion deduction per dataset (others: shared weights)."""


class ClipRef(Protocol):
    """What is needed to find a clip's media: a :class:`~faceqa.megc.io.QARow`, or a
    :class:`~faceqa.facs.annotations.LabelledExpression` (which has no ``filename``)."""

    clip: str
    subject: str | None
    dataset: str | None
    onset: int | None
    offset: int | None


@dataclass(frozen=True)
class MediaRef:
    """Where a row's media is: path, inclusive frame range (None = all) and frame rate (None = the file's)."""

    path: Path
    start: int | None
    end: int | None
    fps: float | None


def candidate_names(row: ClipRef) -> list[tuple[str, bool]]:
    """(relative name, is the clip itself) to try, in the documented order, without repeats."""
    names: list[tuple[str, bool]] = [(row.clip, True)]
    subject, filename = row.subject, getattr(row, "filename", None)
    if subject:
        names.append((f"{subject}/{row.clip}", True))
    if subject and filename:
        names.append((f"{subject}/{filename}", False))
    if filename:
        names.append((filename, False))
    if subject and filename:
        names.append((f"{subject}_{filename}", False))
    if not filename and "_" in row.clip:
        first, rest = row.clip.split("_", 1)
        names += [(f"{first}/{rest}", False), (rest, False)]
    unique: dict[str, bool] = {}
    for name, whole in names:
        unique.setdefault(name, whole)
    return list(unique.items())


def _stays_inside(name: str) -> bool:
    """Whether ``name`` is a relative path that does not leave the folder it is joined to."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and "\x00" not in name


def _existing(root: Path, name: str) -> Path | None:
    p = root / name
    if p.exists():
        return p
    return next((p.with_name(p.name + ext) for ext in sorted(VIDEO_EXTS) if p.with_name(p.name + ext).is_file()),
                None)


def find_media(root: str | Path, row: ClipRef, fps: float | None = None) -> MediaRef:
    """The media of a question row or labelled clip under ``root``; MediaNotFoundError lists the places tried."""
    root = Path(root)
    if not root.is_dir():
        raise MediaNotFoundError(f"{root}: media root folder not found")
    rate = fps or DATASET_FPS.get(row.dataset or "")
    tried = []
    candidates = candidate_names(row)
    if not any(_stays_inside(name) for name, _ in candidates):
        raise InvalidInputError(f"{row.clip}: names a file outside the media root {root} (absolute or '..'); "
                                "refused")
    for name, whole in candidates:
        if not _stays_inside(name):
            continue
        try:
            path = _existing(root, name)
        except OSError:  # a name too long for the file system, or not a folder on the way
            path = None
        tried.append(name)
        if path is None:
            continue
        start, end = row.onset, row.offset
        if start is not None and end is not None and end < start:
            start, end = end, start
        if whole and (start is not None or end is not None):
            try:
                open_media(path, fps=rate, start=start, end=end)
            except EmptyMediaError:
                start = end = None
        return MediaRef(path, start, end, fps if fps else rate if path.is_dir() else None)
    raise MediaNotFoundError(f"{row.clip}: no media under {root} (tried {', '.join(tried)}, as folders or "
                             f"{'/'.join(sorted(VIDEO_EXTS))} files)")
