"""The perception pass: one streaming run over a media source.

``FacePipeline.stream(media)`` decodes frames one at a time and yields each frame's
:class:`FaceRecord` list (boxes, 468/478-point mesh, head pose, expression, quality, and the
identity embedding when asked), so memory stays flat however long the video is.
``FacePipeline.analyze(...)`` collects everything into an :class:`Analysis` with a DataFrame view.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from faceqa.media import Frame, Media, MediaInfo, open_media
from faceqa.media.prefetch import prefetch
from faceqa.perception.detection import FaceDetector
from faceqa.perception.mesh import FaceMesh
from faceqa.perception.pose import head_pose
from faceqa.perception.records import FaceRecord, to_dataframe
from faceqa.perception.tracking import FaceTracker, TrackedFace


@dataclass
class Analysis:
    """Everything one perception pass found: media info, per-face records, frames visited."""

    info: MediaInfo
    records: list[FaceRecord] = field(default_factory=list)
    frames: int = 0

    def to_dataframe(self, landmarks: str | None = "columns"):
        """Per-face-per-frame table (see :mod:`faceqa.perception.records` for the columns)."""
        return to_dataframe(self.records, landmarks=landmarks)

    @property
    def frames_with_face(self) -> int:
        """Number of visited frames with at least one face."""
        return len({r.frame for r in self.records})

    def summary(self) -> dict:
        """A compact description: counts, tracks, mean pose and dominant expression per track."""
        tracks: dict[int, list[FaceRecord]] = {}
        for r in self.records:
            tracks.setdefault(r.face_id, []).append(r)
        faces = []
        for fid, recs in sorted(tracks.items()):
            item = {"face_id": fid, "frames": len(recs), "first_s": round(recs[0].time_s, 3),
                    "last_s": round(recs[-1].time_s, 3), "mean_size_px": round(np.mean([r.size_px for r in recs]), 1)}
            poses = np.array([r.pose for r in recs if r.pose is not None])
            if len(poses):
                item["mean_pose"] = dict(zip(("yaw", "pitch", "roll"), np.round(poses.mean(0), 1).tolist(),
                                             strict=True))
            emos = [r.emotion for r in recs if r.emotion]
            if emos:
                keys = list(emos[0])
                mean = np.mean([[e[k] for k in keys] for e in emos], axis=0)
                item["expression"] = keys[int(np.argmax(mean))]
                item["expression_scores"] = {k: round(float(v), 3) for k, v in zip(keys, mean, strict=True)}
            faces.append(item)
        return {"media": self.info.path, "kind": self.info.kind, "fps": self.info.fps,
                "width": self.info.width, "height": self.info.height, "frames_analyzed": self.frames,
                "frames_with_face": self.frames_with_face, "faces": faces}


class FacePipeline:
    """Detection/tracking + mesh + pose, with optional expression, quality and identity.

    Args:
        max_faces: most faces per frame.
        iris: add the 10 iris points (478 landmarks; ~2.5 ms more per face).
        emotion: ``"fer"`` (fast, default), ``"facex"``, or None to skip.
        quality: compute per-face quality (sharpness, brightness, size, confidence).
        identity: compute the 128-D identity embedding on every face (slow; off by default:
            use :meth:`embed` on demand).
        redetect_every: frames between detector runs while tracking (default: about 1 s).
    """

    def __init__(self, max_faces: int = 5, iris: bool = False, emotion: str | None = "fer",
                 quality: bool = True, identity: bool = False, redetect_every: int | None = None):
        self.max_faces = max_faces
        self.iris = iris
        self.emotion = emotion
        self.quality = quality
        self.identity = identity
        self.redetect_every = redetect_every

    @cached_property
    def detector(self) -> FaceDetector:
        """The face detector (loaded on first use)."""
        return FaceDetector()

    @cached_property
    def mesh(self) -> FaceMesh:
        """The face-mesh model (loaded on first use)."""
        return FaceMesh(iris=self.iris)

    @cached_property
    def _emotion(self):
        from faceqa.perception.expression import EmotionClassifier

        return EmotionClassifier(self.emotion)

    @cached_property
    def embedder(self):
        """The identity embedder (dlib ResNet, loaded on first use)."""
        from faceqa.perception.identity import FaceEmbedder

        return FaceEmbedder()

    def _record(self, frame: Frame, face: TrackedFace) -> FaceRecord:
        lm = face.mesh.landmarks
        bbox = face.mesh.bbox
        rec = FaceRecord(frame.index, frame.time_s, face.face_id, bbox, float(face.det_score), lm,
                         head_pose(lm))
        if self.emotion:
            rec.emotion = self._emotion.predict(frame.image, bbox)
        if self.quality:
            from faceqa.perception.quality import face_quality

            rec.quality = face_quality(frame.image, bbox, float(face.det_score))
        if self.identity:
            rec.embedding = self.embedder.embed(frame.image, bbox)
        return rec

    def tracker(self, info: MediaInfo) -> FaceTracker:
        """A fresh tracker for one source (videos and frame folders track; stills detect once)."""
        every = self.redetect_every or max(1, round(info.fps))
        still = info.kind in ("image", "array")
        return FaceTracker(self.detector, self.mesh, max_faces=self.max_faces, redetect_every=every,
                           hog_every=1 if still else max(1, every // 2), min_start_score=0.5 if still else 0.6)

    def stream(self, media: Media, progress: bool | Callable[[int], None] = False,
               ) -> Iterator[tuple[Frame, list[FaceRecord]]]:
        """Yield (frame, records) for each frame of ``media``, one at a time.

        ``progress``: True for a tqdm bar on stderr, or a callable given the frame count so far.
        """
        tracker = self.tracker(media.info)
        bar = None
        if progress is True:
            from tqdm import tqdm

            bar = tqdm(total=len(media), unit="frame", desc=os.path.basename(media.info.path) or "media",
                       leave=False)
        try:
            for n, frame in enumerate(prefetch(media.frames()), 1):
                faces = tracker.update(frame.image, frame.index)
                yield frame, [self._record(frame, f) for f in faces]
                if bar is not None:
                    bar.update(1)
                elif callable(progress):
                    progress(n)
        finally:
            if bar is not None:
                bar.close()

    def analyze(self, source, fps: float | None = None, start: int | None = None, end: int | None = None,
                every: int = 1, progress: bool = False) -> Analysis:
        """Run the whole pass over an image, video, frame folder or array and collect the records."""
        media = source if isinstance(source, Media) else open_media(source, fps=fps, start=start, end=end,
                                                                    every=every)
        result = Analysis(media.info)
        for _, records in self.stream(media, progress=progress):
            result.frames += 1
            result.records.extend(records)
        return result

    def analyze_image(self, image: np.ndarray) -> list[FaceRecord]:
        """All faces in one RGB image (detector with dlib fallback, mesh, pose, ...)."""
        return self.analyze(image).records

    def embed(self, image: np.ndarray, record: FaceRecord) -> np.ndarray:
        """The 128-D identity embedding of one face record in ``image`` (computed on demand)."""
        record.embedding = self.embedder.embed(image, record.bbox)
        return record.embedding
