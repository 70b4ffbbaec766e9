"""Face detection: MediaPipe BlazeFace (short and full range) on LiteRT, dlib HOG as fallback.

BlazeFace gives a box and 6 keypoints per face (in this order: right eye, left eye, nose tip,
mouth centre, right ear tragion, left ear tragion; "right" is the subject's right, on the image's
left). dlib's HOG detector, which also covers turned faces, is tried when BlazeFace finds nothing;
its detections carry keypoints estimated from the box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from faceqa.errors import NoFaceError
from faceqa.models import get_model
from faceqa.perception.geometry import iou


@dataclass
class Detection:
    """One detected face: ``bbox`` (x0, y0, x1, y1) pixels, ``score`` in [0, 1], 6 ``keypoints``."""

    bbox: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray = field(repr=False)
    source: str = "blazeface"

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return max(0.0, self.bbox[2] - self.bbox[0]) * max(0.0, self.bbox[3] - self.bbox[1])


# SSD anchor layouts of the two BlazeFace models (MediaPipe's ssd_anchors_calculator options).
_VARIANTS = {
    "short": {"model": "blazeface_short", "size": 128, "strides": (8, 16, 16, 16), "interp": True},
    "full": {"model": "blazeface_full", "size": 192, "strides": (4,), "interp": False},
}


def ssd_anchors(size: int, strides: tuple[int, ...], interpolated: bool) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], in the order the BlazeFace heads emit them."""
    anchors = []
    layer = 0
    while layer < len(strides):
        last = layer
        repeats = 0
        while last < len(strides) and strides[last] == strides[layer]:
            last += 1
            repeats += 2 if interpolated else 1
        fm = size // strides[layer]
        ys, xs = np.meshgrid((np.arange(fm) + 0.5) / fm, (np.arange(fm) + 0.5) / fm, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        anchors.append(np.repeat(centres, repeats, axis=0))
        layer = last
    return np.concatenate(anchors).astype(np.float32)


class BlazeFace:
    """One BlazeFace model. ``detect(image)`` returns faces above ``min_score`` after weighted NMS."""

    def __init__(self, variant: str = "full", min_score: float = 0.5, nms_iou: float = 0.3):
        if variant not in _VARIANTS:
            raise ValueError(f"BlazeFace variant must be one of {sorted(_VARIANTS)}, got {variant!r}")
        v = _VARIANTS[variant]
        self.variant = variant
        self.size = v["size"]
        self.min_score = min_score
        self.nms_iou = nms_iou
        self._model = get_model(v["model"])
        self._anchors = ssd_anchors(self.size, v["strides"], v["interp"])

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        h, w = image.shape[:2]
        scale = self.size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        small = cv2.resize(image, (nw, nh), interpolation=interp)
        canvas = np.zeros((self.size, self.size, 3), np.float32)
        px, py = (self.size - nw) // 2, (self.size - nh) // 2
        canvas[py:py + nh, px:px + nw] = small.astype(np.float32) * (2.0 / 255.0) - 1.0
        return canvas, scale, px, py

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 image, best first."""
        tensor, scale, px, py = self._letterbox(image)
        raw_boxes, raw_scores = self._model(tensor[None])
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -80, 80)))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        pts = raw_boxes.reshape(-1, 8, 2)[keep] / self.size
        anchors = self._anchors[keep]
        centre = pts[:, 0] + anchors
        half = pts[:, 1] / 2.0
        kps = pts[:, 2:] + anchors[:, None, :]
        # canvas [0, 1] coordinates -> image pixels
        to_img = np.array([self.size, self.size], np.float32)
        offset = np.array([px, py], np.float32)
        boxes = np.concatenate([(centre - half) * to_img - offset, (centre + half) * to_img - offset], axis=1)
        boxes /= scale
        kps = (kps * to_img - offset) / scale
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return weighted_nms(boxes[valid], scores[keep][valid], kps[valid], self.nms_iou, "blazeface")


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, kps: np.ndarray, threshold: float,
                 source: str) -> list[Detection]:
    """MediaPipe's weighted non-maximum suppression: overlapping boxes are score-averaged."""
    order = np.argsort(-scores)
    boxes, scores, kps = boxes[order], scores[order], kps[order]
    used = np.zeros(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if used[i]:
            continue
        group = [j for j in range(i, len(scores)) if not used[j] and iou(tuple(boxes[i]), tuple(boxes[j])) > threshold]
        used[group] = True
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(0) / w.sum()
        kp = (kps[group] * w[:, :, None]).sum(0) / w.sum()
        out.append(Detection(tuple(float(v) for v in box), float(scores[i]), kp.astype(np.float32), source))
    return out


class HogDetector:
    """dlib's HOG face detector (frontal and turned faces), for when BlazeFace finds nothing."""

    def __init__(self, max_side: int = 800, upsample: int = 1):
        import dlib

        self._det = dlib.get_frontal_face_detector()
        self.max_side = max_side
        self.upsample = upsample

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in an RGB uint8 image, best first; scores squashed into [0, 1]."""
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if scale < 1:
            gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        rects, raw, _ = self._det.run(gray, self.upsample, -0.2)
        out = []
        for r, s in zip(rects, raw, strict=True):
            box = (r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale)
            out.append(Detection(box, 1.0 / (1.0 + math.exp(-2.0 * s)), box_keypoints(box), "dlib_hog"))
        return sorted(out, key=lambda d: -d.score)


def box_keypoints(box: tuple[float, float, float, float]) -> np.ndarray:
    """BlazeFace-style keypoints placed at their average positions inside a frontal face box."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    rel = np.array([[0.30, 0.38], [0.70, 0.38], [0.50, 0.58], [0.50, 0.78], [0.05, 0.45], [0.95, 0.45]],
                   np.float32)
    return np.stack([x0 + rel[:, 0] * w, y0 + rel[:, 1] * h], axis=1).astype(np.float32)


class FaceDetector:
    """The default detector: BlazeFace short + full range merged, then dlib HOG if both find nothing.

    Args:
        variants: BlazeFace models to run ("short" for faces within ~2 m, "full" for small faces).
        min_score: detection threshold.
        hog_fallback: try dlib HOG when BlazeFace finds no face.
    """

    def __init__(self, variants: tuple[str, ...] = ("short", "full"), min_score: float = 0.5,
                 hog_fallback: bool = True):
        self.variants = variants
        self.min_score = min_score
        self.hog_fallback = hog_fallback

    @cached_property
    def _models(self) -> list[BlazeFace]:
        return [BlazeFace(v, self.min_score) for v in self.variants]

    @cached_property
    def _hog(self) -> HogDetector:
        return HogDetector()

    def detect(self, image: np.ndarray, fallback: bool | None = None) -> list[Detection]:
        """Faces in an RGB uint8 image, sorted by score (best first)."""
        found: list[Detection] = []
        for m in self._models:
            found.extend(m.detect(image))
        if len(self._models) > 1 and found:
            boxes = np.array([d.bbox for d in found], np.float32)
            scores = np.array([d.score for d in found], np.float32)
            kps = np.stack([d.keypoints for d in found])
            found = weighted_nms(boxes, scores, kps, 0.3, "blazeface")
        if not found and (self.hog_fallback if fallback is None else fallback):
            found = self._hog.detect(image)
        return sorted(found, key=lambda d: -d.score)


def largest_face(image: np.ndarray, detector: FaceDetector | None = None, name: str = "image") -> Detection:
    """The largest face in ``image``; raises NoFaceError naming ``name`` when there is none."""
    faces = (detector or FaceDetector()).detect(image)
    if not faces:
        raise NoFaceError(f"{name}: no face found")
    return max(faces, key=lambda d: d.area)

