"""Typed perception results and their pandas form.

A :class:`FaceRecord` is one face in one frame. :func:`to_dataframe` turns records into the
per-frame table (one row per face per frame) with these column families:

==================  ==========================================================================
``frame``           frame index (video position, or the number in a frame file's name)
``time_s``          seconds from the start of the source
``face_id``         track id, stable across frames while the face stays in view
``bbox_x0..y1``     face box in pixels (``bbox_x0``, ``bbox_y0``, ``bbox_x1``, ``bbox_y1``)
``det_score``       detector confidence in [0, 1] (mesh face-presence score while tracking)
``pose_yaw/pitch/roll``  head pose in degrees (yaw > 0: the face turns to the image's left)
``emotion_*``       7-class probabilities: angry, disgust, fear, happy, sad, surprise, neutral
``quality_*``       ``quality_sharpness``, ``quality_brightness``, ``quality_face_px``, ``quality_det_score``
``x_i``, ``y_i``    mesh landmark i in pixels (with ``landmarks="columns"``), or one
                    ``landmarks`` column holding an (N, 3) array (``landmarks="array"``)
==================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The 7 expression classes, in the column order of every ``emotion_*`` output."""


@dataclass
class FaceRecord:
    """One face in one frame.

    Attributes:
        frame, time_s: where in the source.
        face_id: track id (stable across frames of a video).
        bbox: (x0, y0, x1, y1) in pixels.
        det_score: detection or tracking confidence in [0, 1].
        landmarks: (468, 3) or (478, 3) mesh points in pixels (z in the same scale), or None.
        pose: (yaw, pitch, roll) in degrees, or None.
        emotion: class -> probability over :data:`EMOTIONS`, or None when not computed.
        quality: ``sharpness``, ``brightness``, ``face_px``, ``det_score``.
        embedding: 128-D identity vector, or None (computed on demand).
    """

    frame: int
    time_s: float
    face_id: int
    bbox: tuple[float, float, float, float]
    det_score: float
    landmarks: np.ndarray | None = None
    pose: tuple[float, float, float] | None = None
    emotion: dict[str, float] | None = None
    quality: dict[str, float] = field(default_factory=dict)
    embedding: np.ndarray | None = None

    @property
    def size_px(self) -> float:
        """Face size in pixels: the mean of box width and height."""
        x0, y0, x1, y1 = self.bbox
        return float((x1 - x0 + y1 - y0) / 2)

    def summary(self) -> dict:
        """A compact JSON-friendly dict (no landmarks or embedding)."""
        out = {
            "frame": self.frame, "time_s": round(self.time_s, 4), "face_id": self.face_id,
            "bbox": [round(float(v), 1) for v in self.bbox], "det_score": round(float(self.det_score), 4),
        }
        if self.pose is not None:
            out["pose"] = dict(zip(("yaw", "pitch", "roll"), (round(float(v), 2) for v in self.pose),
                                   strict=True))
        if self.emotion is not None:
            out["emotion"] = {k: round(float(v), 4) for k, v in self.emotion.items()}
        if self.quality:
            out["quality"] = {k: round(float(v), 4) for k, v in self.quality.items()}
        return out


def to_dataframe(records: Iterable[FaceRecord], landmarks: str | None = "columns"):
    """Records -> pandas DataFrame with the documented column families.

    Args:
        records: face records (any order; the table keeps it).
        landmarks: ``"columns"`` for ``x_i``/``y_i`` columns, ``"array"`` for one ``landmarks``
            column of (N, 3) arrays, None to leave landmarks out.
    """
    import pandas as pd

    if landmarks not in ("columns", "array", None):
        raise ValueError(f"landmarks must be 'columns', 'array' or None, got {landmarks!r}")
    rows = []
    lm_blocks = []
    for r in records:
        row = {"frame": r.frame, "time_s": r.time_s, "face_id": r.face_id,
               "bbox_x0": r.bbox[0], "bbox_y0": r.bbox[1], "bbox_x1": r.bbox[2], "bbox_y1": r.bbox[3],
               "det_score": r.det_score}
        yaw, pitch, roll = r.pose if r.pose is not None else (np.nan, np.nan, np.nan)
        row.update(pose_yaw=yaw, pose_pitch=pitch, pose_roll=roll)
        for e in EMOTIONS:
            row[f"emotion_{e}"] = r.emotion.get(e, np.nan) if r.emotion else np.nan
        for q in ("sharpness", "brightness", "face_px", "det_score"):
            row[f"quality_{q}"] = r.quality.get(q, np.nan)
        if landmarks == "array":
            row["landmarks"] = r.landmarks
        rows.append(row)
        if landmarks == "columns":
            lm_blocks.append(r.landmarks)
    df = pd.DataFrame(rows, columns=_base_columns() + (["landmarks"] if landmarks == "array" else []))
    if landmarks == "columns" and rows:
        n = max((b.shape[0] for b in lm_blocks if b is not None), default=0)
        if n:
            xy = np.full((len(rows), n, 2), np.nan, dtype=np.float32)
            for i, b in enumerate(lm_blocks):
                if b is not None:
                    xy[i, : b.shape[0]] = b[:, :2]
            cols = {f"x_{i}": xy[:, i, 0] for i in range(n)} | {f"y_{i}": xy[:, i, 1] for i in range(n)}
            df = pd.concat([df, pd.DataFrame(cols, index=df.index)], axis=1)
    return df


def _base_columns() -> list[str]:
    return (["frame", "time_s", "face_id", "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1", "det_score",
             "pose_yaw", "pose_pitch", "pose_roll"]
            + [f"emotion_{e}" for e in EMOTIONS]
            + ["quality_sharpness", "quality_brightness", "quality_face_px", "quality_det_score"])
