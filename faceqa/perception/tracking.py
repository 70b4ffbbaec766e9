"""Face tracking over a video, MediaPipe-style.

Each track follows its face by running the mesh on a crop derived from the previous frame's
landmarks. The crop is kept as it was while the new one would differ by less than a small
dead band (2% of its size in position, 3% in size, 0.03 rad in angle): otherwise the
landmarks -> crop -> landmarks loop oscillates by a pixel on a still face, which downstream
motion analysis would read as facial motion. A new face's mesh is run a second time from its own
landmarks, so its first frame is measured like every tracked one. The detector runs only when
no face is tracked, or every ``redetect_every`` frames to pick up new faces. A face lost and
re-found near where it was within ``max_lost`` frames keeps its id, so ids stay stable across
frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceqa.perception.detection import FaceDetector
from faceqa.perception.geometry import ROI, iou
from faceqa.perception.mesh import FaceMesh, MeshResult, roi_from_detection, roi_from_landmarks


@dataclass
class TrackedFace:
    """A face in the current frame: its track id, mesh, and confidence."""

    face_id: int
    mesh: MeshResult
    det_score: float
    detected: bool  # True on frames where the detector (not tracking) found it


@dataclass
class _Lost:
    face_id: int
    bbox: tuple[float, float, float, float]
    frame: int


class FaceTracker:
    """Stateful tracker: call :meth:`update` once per frame, in order.

    Args:
        detector, mesh: the models to use.
        max_faces: most faces tracked at once.
        redetect_every: frames between detector runs while faces are tracked.
        min_presence: mesh face-presence score below which a track is lost.
        max_lost: frames a lost track's id is kept for re-identification.
        hog_every: while nothing is tracked, run the slow dlib fallback every this many frames.
        min_start_score: detection score a face needs to start a track. Videos use 0.6, since
            BlazeFace fires at 0.50-0.56 on cartoon faces for a frame or two; single images use 0.5.
    """

    def __init__(self, detector: FaceDetector, mesh: FaceMesh, max_faces: int = 5, redetect_every: int = 30,
                 min_presence: float = 0.5, max_lost: int = 30, hog_every: int = 15,
                 min_start_score: float = 0.6):
        self.detector = detector
        self.mesh = mesh
        self.max_faces = max_faces
        self.redetect_every = max(1, redetect_every)
        self.min_presence = min_presence
        self.max_lost = max_lost
        self.hog_every = max(1, hog_every)
        self.min_start_score = min_start_score
        self._active: list[TrackedFace] = []
        self._lost: list[_Lost] = []
        self._next_id = 0
        self._since_detect = 0
        self._since_hog = self.hog_every

    def reset(self) -> None:
        """Forget every track (for a new, unrelated video)."""
        self.__init__(self.detector, self.mesh, self.max_faces, self.redetect_every, self.min_presence,
                      self.max_lost, self.hog_every, self.min_start_score)

    def update(self, image: np.ndarray, frame: int) -> list[TrackedFace]:
        """Track, and if due detect, the faces in this frame."""
        kept = []
        for t in self._active:
            res = self.mesh(image, stable_roi(t.mesh.roi, roi_from_landmarks(t.mesh.landmarks)))
            if res.score >= self.min_presence:
                kept.append(TrackedFace(t.face_id, res, res.score, False))
            else:
                self._lost.append(_Lost(t.face_id, t.mesh.bbox, frame))
        self._active = _dedupe(kept)
        self._lost = [lost for lost in self._lost if frame - lost.frame <= self.max_lost]
        self._since_detect += 1
        self._since_hog += 1
        if not self._active or (self._since_detect >= self.redetect_every and len(self._active) < self.max_faces):
            self._detect(image, frame)
        return list(self._active)

    def _detect(self, image: np.ndarray, frame: int) -> None:
        self._since_detect = 0
        use_hog = not self._active and self._since_hog >= self.hog_every
        if use_hog:
            self._since_hog = 0
        for det in self.detector.detect(image, fallback=use_hog):
            if len(self._active) >= self.max_faces or det.score < self.min_start_score:
                break
            if any(_overlaps(det.bbox, t.mesh.bbox) for t in self._active):
                continue
            res = self.mesh(image, roi_from_detection(det))
            if res.score < self.min_presence:
                continue
            res = self.mesh(image, roi_from_landmarks(res.landmarks))
            if res.score < self.min_presence:
                continue
            self._active.append(TrackedFace(self._claim_id(res.bbox), res, det.score, True))

    def _claim_id(self, bbox: tuple[float, float, float, float]) -> int:
        best = max(self._lost, key=lambda lost: iou(lost.bbox, bbox), default=None)
        if best is not None and iou(best.bbox, bbox) > 0.3:
            self._lost.remove(best)
            return best.face_id
        self._next_id += 1
        return self._next_id - 1


def stable_roi(previous: ROI, new: ROI, move: float = 0.02, scale: float = 0.03, turn: float = 0.03) -> ROI:
    """``previous`` while ``new`` lies within the dead band around it, else ``new``."""
    shift = ((new.cx - previous.cx) ** 2 + (new.cy - previous.cy) ** 2) ** 0.5
    if (shift < move * previous.size and abs(new.size / previous.size - 1) < scale
            and abs(new.angle - previous.angle) < turn):
        return previous
    return new


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return iou(a, b) > 0.2 or (b[0] <= cx <= b[2] and b[1] <= cy <= b[3])


def _dedupe(faces: list[TrackedFace]) -> list[TrackedFace]:
    """Drop the younger of two tracks that have converged on the same face."""
    out: list[TrackedFace] = []
    for f in sorted(faces, key=lambda t: t.face_id):
        if all(iou(f.mesh.bbox, g.mesh.bbox) < 0.5 for g in out):
            out.append(f)
    return out
