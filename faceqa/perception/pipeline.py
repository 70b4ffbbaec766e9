"""The perception pass: one streaming run over a media source.

``FacePipeline.stream(media)`` decodes frames one at a time and yields each frame's
:class:`FaceRecord` list (boxes, 468/478-point mesh, head pose, expression, quality, and the
identity embedding when asked), so memory stays flat however long the video is.
``FacePipeline.analyze(...)`` collects everything into an :class:`Analysis` with a DataFrame view.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import groupby

import numpy as np

from faceqa.media import Frame, Media, MediaInfo, open_media
from faceqa.media.prefetch import prefetch
from faceqa.perception.detection import FaceDetector
from faceqa.perception.mesh import FaceMesh
from faceqa.perception.pose import head_pose
from faceqa.perception.records import FaceRecord, to_dataframe
from faceqa.perception.tracking import FaceTracker, TrackedFace


class TrackSummary:
    """Per-track counts, timing, mean size, pose and expression, taken one frame at a time.

    Only sums are kept, so memory does not grow with the video. Expression means are over the
    records that carry expression scores (a pass may classify only some frames).
    """

    def __init__(self) -> None:
        self.frames_with_face = 0
        self.max_faces_per_frame = 0
        self._tracks: dict[int, dict] = {}

    def add(self, records: Sequence[FaceRecord]) -> None:
        """Take the face records of one frame."""
        if records:
            self.frames_with_face += 1
            self.max_faces_per_frame = max(self.max_faces_per_frame, len(records))
        for r in records:
            t = self._tracks.setdefault(r.face_id, {"frames": 0, "first_s": r.time_s, "size": 0.0, "pose": [],
                                                    "emotion": None, "emotions": 0})
            t["frames"] += 1
            t["last_s"] = r.time_s
            t["size"] += r.size_px
            if r.pose is not None:
                t["pose"].append(r.pose)
            if r.emotion:
                t["emotion"] = {k: (t["emotion"] or {}).get(k, 0.0) + v for k, v in r.emotion.items()}
                t["emotions"] += 1

    def faces(self) -> list[dict]:
        """One dict per track: ``face_id``, ``frames``, ``first_s``, ``last_s``, ``mean_size_px``, and
        ``mean_pose`` (yaw/pitch/roll), ``expression`` and ``expression_scores`` where known."""
        out = []
        for fid, t in sorted(self._tracks.items()):
            item = {"face_id": fid, "frames": t["frames"], "first_s": round(t["first_s"], 3),
                    "last_s": round(t["last_s"], 3), "mean_size_px": round(t["size"] / t["frames"], 1)}
            if t["pose"]:
                item["mean_pose"] = dict(zip(("yaw", "pitch", "roll"), np.round(np.mean(t["pose"], axis=0), 1).tolist(),
                                             strict=True))
            if t["emotion"]:
                mean = {k: v / t["emotions"] for k, v in t["emotion"].items()}
                item["expression"] = max(mean, key=mean.get)
                item["expression_scores"] = {k: round(float(v), 3) for k, v in mean.items()}
            out.append(item)
        return out

    def summary(self, info: MediaInfo, frames_analyzed: int) -> dict:
        """The media, frame counts (``frames_analyzed``, ``frames_with_face``, ``max_faces_per_frame``) and
        :meth:`faces`."""
        return {"media": info.path, "kind": info.kind, "fps": info.fps, "width": info.width, "height": info.height,
                "frames_analyzed": frames_analyzed, "frames_with_face": self.frames_with_face,
                "max_faces_per_frame": self.max_faces_per_frame, "faces": self.faces()}


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
        """A compact description: counts, tracks, mean pose and dominant expression per track
        (see :class:`TrackSummary`)."""
        tracks = TrackSummary()
        for _, frame_records in groupby(self.records, key=lambda r: r.frame):
            tracks.add(list(frame_records))
        return tracks.summary(self.info, self.frames)


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

    @property
    def settings(self) -> tuple:
        """The constructor arguments: two pipelines with equal settings yield the same records."""
        return self.max_faces, self.iris, self.emotion, self.quality, self.identity, self.redetect_every

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
        """The default identity embedder (SFace, loaded on first use)."""
        from faceqa.perception.identity import get_embedder

        return get_embedder()

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
            rec.embedding = self.embedder.embed(frame.image, bbox, lm)
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
        record.embedding = self.embedder.embed(image, record.bbox, record.landmarks)
        return record.embedding
