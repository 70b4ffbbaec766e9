"""Identify the faces of an image or a video against a :class:`Gallery`.

- Image: every detected face is embedded in its detector box (as the threshold was calibrated)
  and identified.
- Video or frame folder: faces are tracked (:class:`~faceqa.perception.FacePipeline`) and each
  track is identified once, on its best frame: the sharpest (``quality_sharpness``) among the
  frames where the head is within :data:`FRONTAL_DEG` of frontal in yaw and pitch, or the
  sharpest of all when it never is. Only a crop around the face of the current best frame is
  kept per track, so memory stays flat. On that crop the detector is run again and the detection
  overlapping the track box is embedded (the mesh box is used if none does).

:func:`embed_faces` and :func:`embed_largest` are ready-made ``embed_fn`` for
:meth:`Gallery.enroll_images` and :meth:`Gallery.identify_image`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.errors import FaceQAError, GalleryModelError, InvalidInputError, NoFaceError
from faceqa.gallery.gallery import Gallery, Identification
from faceqa.gallery.store import check_k
from faceqa.media import Frame, MediaInfo, open_media, read_image
from faceqa.perception.detection import FaceDetector
from faceqa.perception.geometry import iou
from faceqa.perception.identity import embed_largest_face, get_embedder
from faceqa.perception.quality import face_quality
from faceqa.perception.records import FaceRecord

FRONTAL_DEG = 30.0
"""A track's best frame is chosen among frames with |yaw| and |pitch| at most this many degrees."""

CROP_MARGIN = 0.5
"""Margin kept around a track's best face box, as a fraction of the box side on each side."""


def embed_faces(path: str | os.PathLike[str], model: str | None = None) -> list[np.ndarray]:
    """One 128-D embedding per face the detector finds in the image at ``path`` (best first),
    by identity model ``model`` (default: the default model)."""
    image = read_image(path)
    faces = FaceDetector().detect(image)
    return list(get_embedder(model).embed_many(image, faces))


def embed_largest(path: str | os.PathLike[str], model: str | None = None) -> list[np.ndarray]:
    """The embedding of the largest face in the image at ``path``, as a one-item list."""
    return [embed_largest_face(Path(path), embedder=get_embedder(model))]


@dataclass
class BestFrame:
    """The best frame seen so far for one track: a crop around the face, the crop's top-left corner
    in the frame, the face box inside the crop, and how many frames the track was seen in."""

    frame: int
    time_s: float
    key: tuple[bool, float]
    crop: np.ndarray
    origin: tuple[int, int]
    box: tuple[float, float, float, float]
    frames: int = 1


def _crop(image: np.ndarray, bbox: tuple[float, float, float, float]
          ) -> tuple[np.ndarray, tuple[int, int], tuple[float, float, float, float]]:
    """(crop with :data:`CROP_MARGIN` around ``bbox``, its top-left corner, ``bbox`` in crop pixels)."""
    x0, y0, x1, y1 = bbox
    m = CROP_MARGIN * max(x1 - x0, y1 - y0)
    h, w = image.shape[:2]
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    cx1, cy1 = min(w, int(x1 + m) + 1), min(h, int(y1 + m) + 1)
    return image[cy0:cy1, cx0:cx1].copy(), (cx0, cy0), (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0)


class BestFrames:
    """Each track's best frame, as a consumer of a perception stream (see the module docstring)."""

    def __init__(self) -> None:
        self.tracks: dict[int, BestFrame] = {}

    def add(self, frame: Frame, records: list[FaceRecord]) -> None:
        """Take one frame and its face records; keep a crop where a track's face is better than before."""
        for r in records:
            frontal = r.pose is not None and abs(r.pose[0]) <= FRONTAL_DEG and abs(r.pose[1]) <= FRONTAL_DEG
            key = (frontal, face_quality(frame.image, r.bbox, r.det_score)["sharpness"])
            old = self.tracks.get(r.face_id)
            if old is None or key > old.key:
                crop, origin, box = _crop(frame.image, r.bbox)
                self.tracks[r.face_id] = BestFrame(frame.index, frame.time_s, key, crop, origin, box,
                                                   1 if old is None else old.frames + 1)
            else:
                old.frames += 1


def embed_best(b: BestFrame, model: str | None = None) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """(embedding, box in frame pixels) of a track's best face by identity model ``model``, in the
    detection that overlaps the track box most (the mesh box when none does)."""
    found = [d for d in FaceDetector().detect(b.crop) if iou(d.bbox, b.box) > 0.3]
    face = max(found, key=lambda d: iou(d.bbox, b.box)) if found else b.box
    box = face.bbox if found else b.box
    ox, oy = b.origin
    return get_embedder(model).embed(b.crop, face), (box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy)


def _face_entry(face_id: int, frame: int, time_s: float, bbox, frames: int, answer: Identification) -> dict:
    return {"face_id": face_id, "frame": frame, "time_s": round(float(time_s), 4),
            "bbox": [round(float(v), 1) for v in bbox], "frames": frames, **answer.to_dict()}


def check_identify_args(top_k: int, threshold: float | None) -> None:
    """InvalidInputError for a bad ``top_k`` or ``threshold`` (before any media is read)."""
    check_k(top_k)
    if threshold is not None and not (isinstance(threshold, int | float) and math.isfinite(threshold)
                                      and threshold >= 0):
        raise InvalidInputError(f"threshold={threshold!r}: expected a finite distance >= 0")


def _answer(gallery: Gallery | str | os.PathLike[str] | None, info: MediaInfo, frames_analyzed: int,
            threshold: float | None, identify_all: Callable[[Gallery], list[dict]]) -> dict:
    """The result dict of :func:`identify_media`, with the faces ``identify_all`` finds in the open gallery."""
    own = not isinstance(gallery, Gallery)
    g = Gallery.open(gallery) if own else gallery
    try:
        faces = identify_all(g)
        if not faces:
            raise NoFaceError(f"{info.path}: no face found")
        return {"media": info.path, "kind": info.kind, "gallery": g.location, "persons": len(g.list()),
                "threshold": g.threshold if threshold is None else float(threshold),
                "frames_analyzed": frames_analyzed, "faces": faces}
    finally:
        if own:
            g.close()


def identify_tracks(best: dict[int, BestFrame], info: MediaInfo, frames_analyzed: int,
                    gallery: Gallery | str | os.PathLike[str] | None = None, top_k: int = 5,
                    threshold: float | None = None) -> dict:
    """Identify each track's best face (from :class:`BestFrames`) against ``gallery``.

    Returns the dict of :func:`identify_media`; raises NoFaceError when there is no track.
    """
    check_identify_args(top_k, threshold)

    def identify_all(g: Gallery) -> list[dict]:
        faces = []
        for face_id, b in sorted(best.items()):
            vector, box = embed_best(b, g.model)
            faces.append(_face_entry(face_id, b.frame, b.time_s, box, b.frames,
                                     g.identify(vector, top_k=top_k, threshold=threshold)))
        return faces

    return _answer(gallery, info, frames_analyzed, threshold, identify_all)


def identify_media(path: str | os.PathLike[str] | np.ndarray, gallery: Gallery | str | os.PathLike[str] | None = None,
                   top_k: int = 5, threshold: float | None = None, every: int = 1, max_faces: int = 10,
                   progress: bool = False) -> dict:
    """Who is in an image or a video, answered open-set against ``gallery``.

    Args:
        path: image, video file or folder of frames (or an RGB array).
        gallery: an open :class:`Gallery`, or a gallery URI (default: ``$FACEQA_HOME/gallery.sqlite``).
        top_k: ranked persons reported per face.
        threshold: acceptance distance (default: the gallery's).
        every: for videos, analyse one frame in ``every``.
        max_faces: most faces tracked at once in a video.
        progress: show a tqdm bar over the video frames.

    Returns a JSON-ready dict: ``media``, ``kind``, ``gallery``, ``persons`` (enrolled),
    ``threshold``, ``frames_analyzed`` and ``faces``, one per detected face (image) or face track
    (video), each with ``face_id``, ``frame``/``time_s`` (of the frame used), ``bbox``, ``frames``
    (frames the track was seen in), ``identity`` (a name or "unknown"), ``known``, ``distance`` and
    ``matches`` (person, distance, source, known; closest first). Raises NoFaceError when no face
    is found.
    """
    check_identify_args(top_k, threshold)  # bad settings fail before the video is read, not after
    media = open_media(path, every=every)
    if media.info.kind not in ("image", "array"):
        from faceqa.perception.pipeline import FacePipeline

        best, n = BestFrames(), 0
        for frame, records in FacePipeline(max_faces=max_faces, emotion=None, quality=False).stream(media, progress):
            best.add(frame, records)
            n += 1
        return identify_tracks(best.tracks, media.info, n, gallery, top_k, threshold)
    image = next(iter(media.frames())).image
    found = FaceDetector().detect(image)

    def identify_all(g: Gallery) -> list[dict]:
        vectors = get_embedder(g.model).embed_many(image, found)
        return [_face_entry(i, 0, 0.0, d.bbox, 1, g.identify(v, top_k=top_k, threshold=threshold))
                for i, (d, v) in enumerate(zip(found, vectors, strict=True))]

    return _answer(gallery, media.info, 1, threshold, identify_all)


def reembed(gallery: Gallery, model: str | None = None) -> dict:
    """Re-compute every vector of ``gallery`` with identity model ``model`` (default: the gallery's
    requested model), from the enrolment images its vectors are labelled with, and record the model.

    All or nothing: when an enrolment image is gone (or shows no face), nothing changes and
    GalleryModelError names the persons to remove and enrol again. Returns ``gallery``,
    ``model``, ``threshold``, ``from`` (the old model), ``persons`` and ``vectors``.
    """
    target = gallery.model if model is None else model
    threshold = get_embedder(target).threshold
    by_person: dict[str, list[str]] = {}
    for person, source in gallery.store.sources():
        by_person.setdefault(person, []).append(source)
    vectors: dict[str, list[np.ndarray]] = {}
    lost: dict[str, str] = {}
    for person, sources in by_person.items():
        for source in sources:
            try:
                if not source:
                    raise InvalidInputError("no enrolment image recorded")
                vectors.setdefault(person, []).append(embed_largest(source, target)[0])
            except FaceQAError as exc:
                lost.setdefault(person, str(exc))
    if lost:
        names = ", ".join(sorted(lost))
        first = next(iter(lost.values()))
        raise GalleryModelError(f"{gallery.location}: cannot re-embed {names} ({first}); remove and enrol "
                                "them again (`faceqa gallery remove NAME`, `faceqa gallery enroll NAME IMAGE...`)")
    old = gallery.recorded_model
    for person, sources in by_person.items():
        gallery.store.remove(person)
        gallery.store.add(person, np.stack(vectors[person]), sources)
    gallery.record_model(target)
    gallery.model = target
    gallery.threshold = threshold
    return {"gallery": gallery.location, "model": target, "threshold": threshold, "from": old,
            "persons": len(by_person), "vectors": sum(len(v) for v in by_person.values())}
