"""Identity embeddings and 1:1 face verification with dlib's ResNet (128-D, 99.38% on LFW).

A face is aligned with dlib's 5-point shape predictor (eye corners and nose base; the 68-point
model is not used: it was trained on iBUG 300-W, which is not for commercial use), cut as a
150x150 chip and embedded by ``dlib_face_recognition_resnet_model_v1``. Two faces are the same
person when the euclidean distance of their embeddings is at most the threshold.

Boxes: the shape predictor was trained on dlib HOG detector boxes. BlazeFace boxes are square,
share the HOG box's centre and are about 7% larger (median HOG/BlazeFace side ratio 0.93 on the
61 deepface photos), so :data:`BOX_SCALE` shrinks a box about its centre before alignment.
Verification accuracy barely depends on it (0.989 to 0.993 at 0.6 for scales 0.8 to 1.25),
because the predictor re-fits the points inside the box.

Threshold: dlib documents 0.6, tuned on the 6000 LFW pairs. Checked on the 280 deepface pivot
pairs (140 same, 140 different; ``scripts/calibrate_verification.py``) with BlazeFace boxes:
ROC AUC 0.9998, EER 0.007 at 0.568, accuracy 0.989 at 0.6. The best accuracy there, 0.993 (two
errors), holds on [0.552, 0.557), [0.568, 0.597) and [0.609, 0.697); 0.6 falls in the one-pair
dip between the last two (a same pair at 0.609). Same-person pairs average 0.39 (max 0.61),
different-person pairs 0.88 (min 0.56), so every threshold from 0.57 to 0.69 is within one
pair of the best on this set, and 280 pairs give no reason to move off dlib's value:
:data:`DEFAULT_THRESHOLD` is 0.6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.media import as_rgb, read_image
from faceqa.models import get_model
from faceqa.perception.detection import FaceDetector, largest_face
from faceqa.perception.quality import as_box

DEFAULT_THRESHOLD = 0.6
"""Euclidean distance at or below which two embeddings are the same person (see module docstring)."""

BOX_SCALE = 0.93
"""Detector boxes are scaled by this about their centre to match the dlib HOG boxes the aligner expects."""

EMBEDDING_DIM = 128

ImageInput = str | Path | np.ndarray


class FaceEmbedder:
    """dlib 5-point alignment + ResNet embedding (the registry's ``dlib_shape5`` and ``dlib_resnet``)."""

    def __init__(self, box_scale: float = BOX_SCALE):
        self.box_scale = box_scale

    def _rectangle(self, bbox: Sequence[float]):
        import dlib

        x0, y0, x1, y1 = as_box(bbox)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        hw, hh = (x1 - x0) * self.box_scale / 2, (y1 - y0) * self.box_scale / 2
        return dlib.rectangle(round(cx - hw), round(cy - hh), round(cx + hw), round(cy + hh))

    def embed(self, image_rgb: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
        """The (128,) float32 embedding of the face in ``bbox`` (x0, y0, x1, y1 pixels)."""
        return self.embed_many(image_rgb, [bbox])[0]

    def embed_many(self, image_rgb: np.ndarray, bboxes: Sequence[Sequence[float]]) -> np.ndarray:
        """Embeddings (N, 128) float32 of several faces in one image, in one dlib call."""
        import dlib

        if len(bboxes) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        predictor, net = get_model("dlib_shape5"), get_model("dlib_resnet")
        image = as_rgb(image_rgb)
        shapes = dlib.full_object_detections()
        for b in bboxes:
            shapes.append(predictor(image, self._rectangle(b)))
        return np.array(net.compute_face_descriptor(image, shapes), dtype=np.float32)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))



def _load(image: ImageInput, name: str) -> tuple[np.ndarray, str]:
    if isinstance(image, str | Path):
        return read_image(image), str(image)
    return as_rgb(image, name), name


def embed_largest_face(image: ImageInput, name: str = "image", detector: FaceDetector | None = None,
                       embedder: FaceEmbedder | None = None) -> np.ndarray:
    """Embedding of the largest face in an image (array or path); NoFaceError names the path or ``name``."""
    rgb, label = _load(image, name)
    face = largest_face(rgb, detector, name=label)
    return (embedder or FaceEmbedder()).embed(rgb, face.bbox)


def verify(image_a: ImageInput, image_b: ImageInput, threshold: float | None = None) -> dict:
    """Whether the largest faces of two images (arrays or paths) are the same person.

    Returns ``{"same": bool, "distance": float, "threshold": float}``; ``threshold`` defaults to
    :data:`DEFAULT_THRESHOLD`. Missing or unreadable files raise the media errors, an image
    without a face raises NoFaceError naming it.
    """
    t = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not math.isfinite(t) or t <= 0:
        raise InvalidInputError(f"threshold: expected a positive distance, got {threshold!r}")
    d = distance(embed_largest_face(image_a, "image_a"), embed_largest_face(image_b, "image_b"))
    return {"same": d <= t, "distance": d, "threshold": t}
