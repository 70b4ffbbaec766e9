"""The mouth over time: lip opening, visual voice activity, and mouth crops in AV-HuBERT's format.

The main face is tracked through the video with the perception pipeline's 468-point mesh: the face
seen in most frames *of one shot*. A face tracker follows a face by its place in the frame, so across
a cut it may carry one id from the speaker to whoever appears there next (in the Hamilton clip, from
the singer to a laughing listener); the video is therefore cut into shots (:func:`shot_starts`) and
the (face id, shot) pair seen in most frames is kept. The lip opening is the distance between the
inner lips' midpoints (mesh 13 and 14) over the inter-ocular distance (outer eye corners 33 and 263,
IOD), so it does not change with the face's size; the mouth's darkness (:func:`mouth_darkness`) is
a second, image-based signal. Frame times are on the file's clock (a video stream may start after its audio stream).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

UPPER_LIP, LOWER_LIP, MOUTH_LEFT, MOUTH_RIGHT, EYE_R, EYE_L = 13, 14, 61, 291, 33, 263
ROI_SIZE = 96
"""AV-HuBERT's mouth crop: 96x96 grayscale; its models train and test on the 88x88 centre crop."""
ROI_CENTRE_CROP = 88
ROI_FPS = 25.0
ROI_SCALE = 1.1
"""The crop's side in IODs (the face's eye-corner distance), upright (the eye line levelled)."""
THUMB = (64, 36)
"""Frames are compared for shot cuts as grayscale thumbnails of this size."""
CUT_LEVEL, CUT_RATIO = 20.0, 4.0
"""A cut: the thumbnail changes by >= ``CUT_LEVEL`` grey levels on average, and by >= ``CUT_RATIO``
times the video's median frame-to-frame change (camera motion and speech move it by 1-15 levels)."""


@dataclass
class MouthTrack:
    """Per video frame: ``times_s`` on the file's clock, the lip ``opening`` in IOD (NaN: no face),
    the main face's (468, 2) mesh (None: no face) and the mouth's ``darkness`` (:func:`mouth_darkness`)."""

    path: str
    fps: float
    times_s: np.ndarray
    opening: np.ndarray
    landmarks: list
    darkness: np.ndarray | None = None

    @property
    def valid(self) -> np.ndarray:
        """Frames with a face."""
        return np.isfinite(self.opening)


def lip_opening(landmarks: np.ndarray) -> float:
    """Inner-lip distance over the inter-ocular distance of one (468, 2) mesh."""
    iod = float(np.linalg.norm(landmarks[EYE_L] - landmarks[EYE_R]))
    return float(np.linalg.norm(landmarks[LOWER_LIP] - landmarks[UPPER_LIP])) / max(iod, 1e-6)


def mouth_darkness(gray: np.ndarray, landmarks: np.ndarray) -> float:
    """How dark the mouth is against the face: 1 - (mean of a box on the lips) / (median of the face's
    box), with the lips' box centred between the inner lips, as wide as the mouth and half as tall.
    An open mouth shows its dark inside (a painted one too, where the mesh under-reads the opening)."""
    w = float(np.linalg.norm(landmarks[MOUTH_RIGHT] - landmarks[MOUTH_LEFT]))
    cx, cy = landmarks[[UPPER_LIP, LOWER_LIP]].mean(0)
    h, wd = gray.shape
    x0, x1 = int(max(0, cx - 0.4 * w)), int(min(wd, cx + 0.4 * w + 1))
    y0, y1 = int(max(0, cy - 0.25 * w)), int(min(h, cy + 0.25 * w + 1))
    fx0, fy0 = np.maximum(landmarks.min(0).astype(int), 0)
    fx1, fy1 = landmarks.max(0).astype(int) + 1
    if x1 <= x0 or y1 <= y0 or fx1 <= fx0 or fy1 <= fy0:
        return float("nan")
    ref = float(np.median(gray[fy0:fy1, fx0:fx1])) + 1.0
    return 1.0 - float(gray[y0:y1, x0:x1].mean()) / ref


def shot_starts(changes: np.ndarray) -> np.ndarray:
    """Shot index per frame from ``changes[i]``, the mean absolute grey-level change from frame i-1 to
    frame i (``changes[0]`` is ignored): a new shot starts where the change is a cut (``CUT_LEVEL``,
    ``CUT_RATIO``)."""
    changes = np.asarray(changes, np.float64)
    if len(changes) < 2:
        return np.zeros(len(changes), int)
    cut = (changes >= CUT_LEVEL) & (changes >= CUT_RATIO * np.median(changes[1:]))
    cut[0] = False
    return np.cumsum(cut)


def main_face(per_frame: list[dict], shots: np.ndarray) -> list:
    """Per frame, the entry of the (face id, shot) pair found in most frames of ``per_frame`` (a dict
    face id -> entry per frame), else None."""
    from collections import Counter

    counts = Counter((fid, shots[i]) for i, faces in enumerate(per_frame) for fid in faces)
    if not counts:
        return [None] * len(per_frame)
    fid, shot = counts.most_common(1)[0][0]
    return [faces.get(fid) if shots[i] == shot else None for i, faces in enumerate(per_frame)]


def mouth_track(video: str | os.PathLike, pipeline=None) -> MouthTrack:
    """Track the main face of ``video`` (the face seen in most frames of one shot) and read its lips."""
    import cv2

    from faceqa.errors import NoFaceError
    from faceqa.media import open_media
    from faceqa.media.audio import video_start_s
    from faceqa.perception import FacePipeline

    pipe = pipeline or FacePipeline(emotion=None, quality=False)
    media = open_media(video)
    per_frame: list[dict[int, tuple[np.ndarray, float]]] = []
    changes, previous = [], None
    for frame, records in pipe.stream(media):
        gray = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        thumb = cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        changes.append(0.0 if previous is None else float(np.abs(thumb - previous).mean()))
        previous = thumb
        faces = {}
        for r in records:
            if r.landmarks is None:
                continue
            lm = r.landmarks[:468, :2].copy()
            faces[r.face_id] = (lm, mouth_darkness(gray, lm))
        per_frame.append(faces)
    found = main_face(per_frame, shot_starts(np.array(changes)))
    if all(f is None for f in found):
        raise NoFaceError(f"{video}: no face found to read the mouth from")
    landmarks = [None if f is None else f[0] for f in found]
    opening = np.array([np.nan if f is None else lip_opening(f[0]) for f in found])
    dark = np.array([np.nan if f is None else f[1] for f in found])
    times = video_start_s(video) + np.arange(len(found)) / media.info.fps
    return MouthTrack(str(video), float(media.info.fps), times, opening, landmarks, dark)


def _filled(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.zeros(len(x))
    return np.interp(np.arange(len(x)), np.flatnonzero(ok), x[ok])


def visual_voice_activity(track: MouthTrack, window_s: float = 0.3, opening_range: float = 0.03,
                          darkness_range: float = 0.06) -> np.ndarray:
    """Boolean per frame: the lips move like speech. Within ``window_s`` around the frame the lip
    opening varies by at least ``opening_range`` IOD, or the mouth's darkness by ``darkness_range``."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    w = max(1, int(round(window_s * track.fps)))
    active = np.zeros(len(track.opening), bool)
    for signal, least in ((track.opening, opening_range), (track.darkness, darkness_range)):
        if signal is None:
            continue
        x = _filled(signal)
        active |= maximum_filter1d(x, w) - minimum_filter1d(x, w) >= least
    return active & track.valid


def _roi(image: np.ndarray, lm: np.ndarray, size: int) -> np.ndarray:
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    eye = lm[EYE_L] - lm[EYE_R]
    angle = np.degrees(np.arctan2(eye[1], eye[0]))
    side = ROI_SCALE * float(np.linalg.norm(eye))
    centre = (lm[[UPPER_LIP, LOWER_LIP, MOUTH_LEFT, MOUTH_RIGHT]].mean(0))
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), size / side)
    m[:, 2] += np.array([size / 2, size / 2]) - centre
    return cv2.warpAffine(gray, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def export_mouth_rois(video: str | os.PathLike, out: str | os.PathLike, fps: float = ROI_FPS,
                      size: int = ROI_SIZE, track: MouthTrack | None = None) -> dict:
    """Write the mouth region of ``video`` as AV-HuBERT reads it: grayscale ``size`` x ``size`` crops
    (eye line levelled, side ``ROI_SCALE`` IOD, centred on the mouth) resampled to ``fps`` (nearest
    frame); the model's input is the 88x88 centre crop of each. ``out`` is a ``.npy`` (T, 96, 96)
    uint8 array or a video (``.mp4``/``.avi``). Frames without a face repeat the last crop (a black
    crop before the first face). Returns what was written."""
    from faceqa.errors import InvalidInputError
    from faceqa.media import open_media
    from faceqa.media.writer import write_frames

    out = Path(out)
    if out.suffix.lower() not in (".npy", ".mp4", ".avi"):
        raise InvalidInputError(f"{out}: the mouth crops go to a .npy, .mp4 or .avi file")
    track = track or mouth_track(video)
    t0 = track.times_s[0]
    n_out = int(np.floor((track.times_s[-1] - t0) * fps + 1e-6)) + 1
    src = np.clip(np.round((np.arange(n_out) / fps) * track.fps).astype(int), 0, len(track.landmarks) - 1)
    wanted: dict[int, list[int]] = {}
    for k, s in enumerate(src):
        wanted.setdefault(int(s), []).append(k)
    crops = np.zeros((n_out, size, size), np.uint8)
    last = None
    for i, frame in enumerate(open_media(video).frames()):
        if i not in wanted:
            continue
        lm = track.landmarks[i] if i < len(track.landmarks) else None
        if lm is not None:
            last = _roi(frame.image, lm, size)
        for k in wanted[i]:
            crops[k] = last if last is not None else 0
    if out.suffix.lower() == ".npy":
        np.save(out, crops)
    else:
        write_frames((np.repeat(c[..., None], 3, axis=2) for c in crops), out, fps)
    return {"out": str(out), "frames": n_out, "fps": fps, "size": size, "centre_crop": ROI_CENTRE_CROP,
            "face_frames": int(track.valid.sum())}
