"""Protect every face of an image, a video or a frame folder, frame by frame, with no frame left unprotected.

Faces are tracked with the detector run on *every* frame (not only every second, as for analysis),
so a face entering the picture is protected from its first detected frame. A detector or tracker
can still miss a face for a frame or two (motion blur, a hand, a fast turn); two rules cover that:

- *carry forward*: a track not found in a frame keeps its last mesh for up to ``hold`` frames;
- *back-fill*: frames wait in a buffer of ``hold`` frames before they are written, so a track found
  now (new, or found again after a gap) is also applied to the buffered frames since it was last
  seen.

A carried or back-filled face is grown by :data:`GROW_PER_FRAME` per frame of distance from the
frame it was measured in, as a margin for the motion in between. Memory holds ``hold`` frames.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.media import Frame, Media, open_media
from faceqa.media.sources import IMAGE_EXTS
from faceqa.media.writer import write_frames
from faceqa.perception.tracking import FaceTracker
from faceqa.privacy.methods import Method, Target
from faceqa.safeio import atomic_folder, atomic_output, check_path, display
from faceqa.safeio import check_output as files_check_output

HOLD_S = 0.3
"""Default carry-forward / back-fill window in seconds (at least 2 frames)."""

GROW_PER_FRAME = 0.05
"""A carried or back-filled face grows by this fraction of its size per frame of distance."""

VIDEO_OUTPUTS = (".mp4", ".avi")
"""Video outputs: ``.mp4`` (mp4v) or ``.avi`` (lossless FFV1); a path without suffix is a frame folder."""


@dataclass
class DeidStats:
    """What a protection pass did: frames written, faces protected (per frame), and how many of those
    came from tracking, carrying forward or back-filling."""

    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    carried: int = 0
    backfilled: int = 0
    tracks: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return {"frames": self.frames, "frames_with_faces": self.frames_with_faces, "faces_protected": self.faces,
                "carried": self.carried, "backfilled": self.backfilled, "tracks": len(self.tracks)}


@dataclass
class _Slot:
    pos: int
    image: np.ndarray
    targets: dict[int, Target]


def hold_frames(fps: float, hold_s: float = HOLD_S) -> int:
    """The carry-forward / back-fill window in frames for a frame rate."""
    return max(2, round(hold_s * fps))


def protection_tracker(media: Media, max_faces: int = 10) -> FaceTracker:
    """A tracker that runs the detector on every frame (the dlib fallback twice a second while no face is seen)."""
    from faceqa.perception.detection import FaceDetector
    from faceqa.perception.mesh import FaceMesh

    still = media.info.kind in ("image", "array")
    return FaceTracker(FaceDetector(), FaceMesh(), max_faces=max_faces, redetect_every=1,
                       hog_every=1 if still else max(1, round(media.info.fps / 2)), min_start_score=0.5)


def protected_frames(frames: Iterable[Frame], method: Method, tracker: FaceTracker, hold: int,
                     stats: DeidStats | None = None) -> Iterator[np.ndarray]:
    """Yield each frame with every face protected, ``hold`` frames behind the input (see the module docstring)."""
    stats = stats if stats is not None else DeidStats()
    method.reset()
    buffer: deque[_Slot] = deque()
    last: dict[int, tuple[int, np.ndarray]] = {}  # track id -> (position, landmarks) where last found

    def emit(slot: _Slot) -> np.ndarray:
        stats.frames += 1
        stats.faces += len(slot.targets)
        stats.frames_with_faces += bool(slot.targets)
        return method.protect(slot.image, list(slot.targets.values())) if slot.targets else slot.image

    for pos, frame in enumerate(frames):
        found = {f.face_id: f.mesh.landmarks for f in tracker.update(frame.image, frame.index)}
        slot = _Slot(pos, frame.image, {fid: Target(fid, lm) for fid, lm in found.items()})
        for fid, lm in found.items():
            seen = last[fid][0] if fid in last else -1
            for old in buffer:
                if old.pos > seen and fid not in old.targets:
                    old.targets[fid] = Target(fid, lm).grown(1 + GROW_PER_FRAME * (pos - old.pos))
                    stats.backfilled += 1
        for fid, (seen, lm) in last.items():
            if fid not in found:
                slot.targets[fid] = Target(fid, lm).grown(1 + GROW_PER_FRAME * (pos - seen))
                stats.carried += 1
        last.update({fid: (pos, lm) for fid, lm in found.items()})
        last = {fid: v for fid, v in last.items() if pos + 1 - v[0] <= hold}
        stats.tracks.update(found)
        buffer.append(slot)
        if len(buffer) > hold:
            yield emit(buffer.popleft())
    while buffer:
        yield emit(buffer.popleft())


def check_output(media: Media, out: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """``out`` if it suits the source: an image file for an image, a .mp4/.avi or a new folder otherwise;
    an existing file (or non-empty folder) only with ``overwrite``, never the input itself, never a device,
    FIFO or link (:func:`faceqa.safeio.check_output`)."""
    p = check_path(out, "--out")
    if os.path.lexists(p) and os.path.realpath(p) == os.path.realpath(media.info.path):
        raise InvalidInputError(f"{display(p)}: the output would overwrite the input")
    suffix = p.suffix.lower()
    empty_folder = not suffix and os.path.isdir(p) and not os.path.islink(p) and not any(p.iterdir())
    files_check_output(p, overwrite=overwrite or empty_folder, folder=not suffix and media.info.kind not in
                       ("image", "array"))
    if media.info.kind in ("image", "array"):
        if suffix not in IMAGE_EXTS:
            raise InvalidInputError(f"{p}: an image is written to an image file ({', '.join(sorted(IMAGE_EXTS))})")
    elif suffix and suffix not in VIDEO_OUTPUTS:
        raise InvalidInputError(f"{p}: a video is written to {' or '.join(VIDEO_OUTPUTS)}, or to a folder of "
                                "frames (a path without suffix)")
    return p


def protect_media(source: str | os.PathLike[str], out: str | os.PathLike[str], method: Method,
                  hold_s: float = HOLD_S, max_faces: int = 10, progress: bool = False,
                  overwrite: bool = False) -> DeidStats:
    """Protect every face of an image, a video or a frame folder and write the result to ``out``.

    Images go to an image file; videos and frame folders to ``.mp4`` (mp4v), ``.avi`` (lossless
    FFV1) or a folder of ``img00000.jpg`` frames, at the source's frame rate. The output is written
    under a temporary name and renamed when complete; an existing one is replaced only with ``overwrite``.
    """
    media = open_media(source)
    target = check_output(media, out, overwrite)
    hold = hold_frames(media.info.fps, hold_s)
    stats = DeidStats()
    frames: Iterable[Frame] = media.frames()
    if progress and len(media) > 1:
        from tqdm import tqdm

        frames = tqdm(frames, total=len(media), desc=f"deid {method.name}", unit="frame", leave=False)
    protected = protected_frames(frames, method, protection_tracker(media, max_faces), hold, stats)
    if media.info.kind in ("image", "array"):
        from PIL import Image

        with atomic_output(target, overwrite=True) as tmp:
            Image.fromarray(next(protected)).save(tmp, quality=95, format=Image.registered_extensions()[
                target.suffix.lower()])
    elif target.suffix:
        with atomic_output(target, overwrite=True) as tmp:
            write_frames(protected, tmp, media.info.fps)
    else:
        with atomic_folder(target, overwrite=True) as tmp:
            write_frames(protected, tmp, media.info.fps)
    return stats
