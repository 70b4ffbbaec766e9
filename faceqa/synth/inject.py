"""Injecting synthetic expressions into real video: the muscle model follows the face frame by frame.

Two passes over the video. The first runs the perception pipeline (detection + mesh tracking) and
keeps the mesh of the main face (the track seen in most frames); the landmarks are smoothed over
time with a zero-phase Gaussian (``smooth_s``), so the muscle field is placed steadily and the
warp does not jitter with the mesh's noise, while real motion (speech, head turns) is followed.
The second pass re-decodes each frame and, where an event is active, warps it by the muscle field
of that frame's anatomy at the event's level. Frames are written as they come; the truth (event
frames relative to the written clip) goes beside the clip as for :func:`~faceqa.synth.make_clip`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from faceqa.media import open_media
from faceqa.media.sources import MediaInfo
from faceqa.media.writer import write_frames
from faceqa.synth.anatomy import anatomy_from_mesh
from faceqa.synth.clips import check_spec, frame_amounts, write_truth
from faceqa.synth.spec import ClipSpec, Distractors, InjectedEvent, ground_truth
from faceqa.synth.warp import FaceWarper


def smooth_track(landmarks: list[np.ndarray | None], sigma: float) -> list[np.ndarray | None]:
    """Zero-phase Gaussian smoothing over time of a landmark track with gaps (None stays None)."""
    if sigma <= 0:
        return landmarks
    n = len(landmarks)
    have = np.array([lm is not None for lm in landmarks])
    if not have.any():
        return landmarks
    shape = next(lm for lm in landmarks if lm is not None).shape
    stack = np.zeros((n, *shape))
    for i, lm in enumerate(landmarks):
        if lm is not None:
            stack[i] = lm
    r = max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    out: list[np.ndarray | None] = []
    for i in range(n):
        if not have[i]:
            out.append(None)
            continue
        lo, hi = max(0, i - r), min(n, i + r + 1)
        w = k[lo - i + r:hi - i + r] * have[lo:hi]
        out.append(np.tensordot(w / w.sum(), stack[lo:hi], axes=1))
    return out


def face_track(video, fps: float | None = None, start: int | None = None, end: int | None = None,
               pipeline=None) -> tuple[list[np.ndarray | None], MediaInfo]:
    """The main face's (468, 2) mesh per frame of ``video`` (None where it is not found), and the media info."""
    from faceqa.perception import FacePipeline

    pipe = pipeline or FacePipeline(emotion=None, quality=False)
    media = open_media(video, fps=fps, start=start, end=end)
    per_frame: list[dict[int, np.ndarray]] = []
    for _, records in pipe.stream(media):
        per_frame.append({r.face_id: r.landmarks[:468, :2].copy() for r in records if r.landmarks is not None})
    counts = Counter(fid for faces in per_frame for fid in faces)
    if not counts:
        return [None] * len(per_frame), media.info
    main = counts.most_common(1)[0][0]
    return [faces.get(main) for faces in per_frame], media.info


def inject_into_video(video: str | Path, events: list[InjectedEvent], out: str | Path, fps: float | None = None,
                      start: int | None = None, end: int | None = None, smooth_s: float = 0.05,
                      pipeline=None) -> dict:
    """Write ``video`` (frames ``start``..``end``, inclusive) with synthetic expression events
    injected into its main face, and the ground truth beside it.

    Args:
        video: a video file or a folder of frames.
        events: the events, in frames of the written clip (0 = frame ``start`` of the video);
            intensities with 1.0 = FACS E (micro-expressions are about 0.15-0.5).
        out: a folder of frames, a ``.avi`` (lossless; best for subtle events) or a ``.mp4``.
        fps: frame rate (default: the video's own; 30 for a frame folder).
        smooth_s: standard deviation (seconds) of the temporal smoothing of the landmarks.
        pipeline: a ``FacePipeline`` to reuse (default: a fresh one without emotion/quality).
    Returns the truth dict: as ``make_clip``'s, plus ``source``, ``source_start`` and
    ``face_missing`` (frames where an event was due but no face was found, left unchanged).
    """
    track, info = face_track(video, fps=fps, start=start, end=end, pipeline=pipeline)
    spec = ClipSpec(len(track), info.fps, list(events), Distractors(), 0)
    check_spec(spec)
    track = smooth_track(track, smooth_s * info.fps)
    missing: list[int] = []

    def frames():
        media = open_media(video, fps=fps, start=start, end=end)
        for k, frame in enumerate(media.frames()):
            amounts = frame_amounts(spec, k) if k < len(track) else {}
            if not amounts:
                yield frame.image
            elif track[k] is None:
                missing.append(k)
                yield frame.image
            else:
                warper = FaceWarper(anatomy_from_mesh(track[k]), frame.image.shape)
                yield warper.warp(frame.image, amounts)

    out = Path(out)
    write_frames(frames(), out, info.fps)
    truth = ground_truth(spec)
    truth.update(source=str(video), source_start=int(start or 0), background="real video", face_missing=missing)
    write_truth(truth, out)
    return truth
