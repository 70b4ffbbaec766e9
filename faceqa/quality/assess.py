"""Quality of every frame and of a whole clip, from one perception pass.

A frame's ``score`` is the score of its main (largest) face (see :mod:`faceqa.quality.scores`),
0 when it shows no face: it says how far that frame's face evidence can be trusted. Its ``image``
scores rate the whole frame (sharpness, noise, exposure, motion blur), face or not.

A clip's ``score`` is the mean frame score (frames without a face count 0), ``face_score`` the
mean over frames with a face, ``coverage`` the share of frames with a face, ``image_score`` the
mean whole-frame score, and ``components`` the mean of each face component.
"""

from __future__ import annotations

import math
import os

import cv2
import numpy as np

from faceqa.media import Frame, MediaInfo, open_media
from faceqa.perception.quality import clip_box
from faceqa.perception.records import FaceRecord
from faceqa.quality import measures, scores

IMAGE_SIZE = 256
"""Whole frames are area-averaged to fit this many pixels before the image detail and blur measures."""

WORST = 3
"""Frames listed as the clip's worst."""


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in d.items()}


def face_scores(image: np.ndarray, record: FaceRecord) -> dict[str, float]:
    """The six face components and their combined ``score`` for one face record of ``image``."""
    x0, y0, x1, y1 = clip_box(record.bbox, image.shape[1], image.shape[0])
    gray = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    small = measures.analysis_crop(gray)
    yaw, pitch = (record.pose[0], record.pose[1]) if record.pose is not None else (0.0, 0.0)
    parts = {
        "sharpness": scores.sharpness_score(measures.detail(small)),
        "noise": scores.noise_score(measures.noise_sigma(gray)),
        "exposure": scores.exposure_score(measures.brightness(gray), measures.clipped_fraction(gray)),
        "motion_blur": scores.motion_blur_score(measures.directional_ratio(small)),
        "size": scores.face_size_score(record.size_px),
        "pose": scores.pose_score(yaw, pitch),
    }
    return {**parts, "score": scores.combine(parts, scores.FACE_WEIGHTS)}


def image_scores(image: np.ndarray) -> dict[str, float]:
    """Whole-frame sharpness, noise, exposure, motion blur and their combined ``score``."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    f = min(1.0, IMAGE_SIZE / max(h, w))
    small = gray if f == 1.0 else cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))),
                                             interpolation=cv2.INTER_AREA)
    parts = {
        "sharpness": scores.sharpness_score(measures.detail(small)),
        "noise": scores.noise_score(measures.noise_sigma(gray)),
        "exposure": scores.exposure_score(measures.brightness(small), measures.clipped_fraction(small)),
        "motion_blur": scores.motion_blur_score(measures.directional_ratio(small)),
    }
    return {**parts, "score": scores.combine(parts, scores.IMAGE_WEIGHTS)}


def assess_frame(image: np.ndarray, records: list[FaceRecord]) -> dict:
    """One frame's quality: ``score`` (main face, 0 without one), ``faces``, ``face_id``, ``face``
    (its components, or None) and ``image`` (whole-frame components)."""
    main = max(records, key=lambda r: r.size_px, default=None)
    face = face_scores(image, main) if main is not None else None
    return {"score": face["score"] if face else 0.0, "faces": len(records),
            "face_id": main.face_id if main is not None else None, "face": face, "image": image_scores(image)}


def summarize(frames: list[dict]) -> dict:
    """Clip-level figures from per-frame results (see the module docstring)."""
    with_face = [f for f in frames if f["face"] is not None]
    comps = list(scores.FACE_WEIGHTS)
    out = {
        "score": float(np.mean([f["score"] for f in frames])) if frames else 0.0,
        "face_score": float(np.mean([f["score"] for f in with_face])) if with_face else None,
        "coverage": len(with_face) / len(frames) if frames else 0.0,
        "image_score": float(np.mean([f["image"]["score"] for f in frames])) if frames else 0.0,
        "components": {c: float(np.mean([f["face"][c] for f in with_face])) for c in comps} if with_face else None,
    }
    worst = sorted(frames, key=lambda f: f["score"])[:WORST]
    out["worst_frames"] = [
        {"frame": f["frame"], "time_s": f["time_s"], "score": round(f["score"], 4),
         "weakest": min(comps, key=lambda c: f["face"][c]) if f["face"] else "no face"} for f in worst]
    return out


class QualityCollector:
    """Quality as a consumer of a perception stream: :meth:`add` each frame, then :meth:`result`."""

    def __init__(self) -> None:
        self.frames: list[dict] = []

    def add(self, frame: Frame, records: list[FaceRecord]) -> None:
        """Score one frame and its face records."""
        self.frames.append({"frame": frame.index, "time_s": round(frame.time_s, 4),
                            **assess_frame(frame.image, records)})

    def result(self, info: MediaInfo, frames: bool = False) -> dict:
        """The JSON-ready result of :func:`assess_quality` for the frames added from the source ``info``."""
        summary = summarize(self.frames)
        out = {"media": info.path, "kind": info.kind, "frames_analyzed": len(self.frames),
               **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary.items()}}
        if out["components"]:
            out["components"] = _rounded(out["components"])
        if frames:
            out["frames"] = [{**f, "score": round(f["score"], 4), "face": _rounded(f["face"]) if f["face"] else None,
                              "image": _rounded(f["image"])} for f in self.frames]
        return out


def assess_quality(source: str | os.PathLike[str] | np.ndarray, every: int = 1, frames: bool = False,
                   progress: bool = False, pipeline=None) -> dict:
    """Quality of an image, a video or a frame folder, per frame and for the whole clip.

    Args:
        source: media path or RGB array.
        every: analyse one frame in ``every``.
        frames: include the per-frame results (``frames``: frame, time_s, score, faces, face_id,
            face components, image components).
        progress: tqdm bar over the frames.
        pipeline: the :class:`~faceqa.perception.FacePipeline` that finds the faces (default: one
            without expression and per-face quality).
    Returns a JSON-ready dict: ``media``, ``kind``, ``frames_analyzed``, ``score``, ``face_score``,
    ``coverage``, ``image_score``, ``components``, ``worst_frames`` (and ``frames``).
    """
    from faceqa.perception.pipeline import FacePipeline

    media = open_media(source, every=every)
    pipe = pipeline or FacePipeline(emotion=None, quality=False)
    collector = QualityCollector()
    for frame, records in pipe.stream(media, progress=progress and len(media) > 1):
        collector.add(frame, records)
    return collector.result(media.info, frames)


def frames_table(result: dict):
    """The ``frames`` of an :func:`assess_quality` result (run with ``frames=True``) as a DataFrame:
    ``frame``, ``time_s``, ``score``, ``faces``, ``face_id``, ``face_*`` and ``image_*`` columns."""
    import pandas as pd

    rows = []
    for f in result["frames"]:
        row = {"frame": f["frame"], "time_s": f["time_s"], "score": f["score"], "faces": f["faces"],
               "face_id": f["face_id"]}
        row |= {f"face_{k}": (f["face"] or {}).get(k, math.nan) for k in [*scores.FACE_WEIGHTS, "score"]}
        row |= {f"image_{k}": v for k, v in f["image"].items()}
        rows.append(row)
    table = pd.DataFrame(rows)
    table["face_id"] = table["face_id"].astype("Int64")
    return table
