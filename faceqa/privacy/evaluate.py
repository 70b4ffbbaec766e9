"""How well a de-identification protects, and what it keeps: FDeID-Toolbox's three dimensions.

Faces are found (and meshed) in the *original*; every measure compares that face with the same
place in the *protected* frame, as an attacker who knows where the face is would.

privacy
    ``verification_success_rate``: share of faces the identity model (SFace 128-D, threshold 1.10)
    still verifies as the same person, embedding both aligned on the original face's mesh;
    ``mean_identity_distance``; ``reidentification_rate``: among faces the gallery identifies in the
    original, the share it still identifies as that person when protected (None without a gallery
    or with no face known to it).
utility
    ``emotion_agreement``: share of faces whose top expression class (``fer``) is unchanged;
    ``landmark_nme``: mean distance between the 468 mesh points fitted on the original and on the
    protected face (mesh run in the original's crop), over the outer-eye-corner distance;
    ``detection_rate``: share of faces the detector still finds (IoU > 0.3);
    ``au_correlation`` (videos): mean Pearson correlation over AU columns ``au_{n}_{L|R}`` of
    :func:`~faceqa.evidence.extract.extract_evidence` between original and protected, over the
    ``au_frames`` frames where the evidence stage found the face in both (None for an image, when the
    face is not found in 3 protected frames, or when no column varies in both).
quality
    ``psnr_db`` and ``ssim`` (``skimage.metrics``, data range 255, colour) on the face region (the
    face box grown by 15% per side), where the method changes pixels.

A video is sampled at no more than ``max_frames`` evenly spaced frames for the per-face measures.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.landmarks import OUTER_EYE_CORNERS
from faceqa.media import open_media
from faceqa.perception.geometry import iou
from faceqa.perception.identity import DEFAULT_THRESHOLD, distance
from faceqa.privacy.methods import Target

REGION_MARGIN = 0.15
"""The face region of the quality measures: the face box grown by this fraction of its size per side."""



@dataclass
class _Tally:
    distances: list[float] = field(default_factory=list)
    reid_known: int = 0
    reid_hits: int = 0
    emotion_same: list[bool] = field(default_factory=list)
    nme: list[float] = field(default_factory=list)
    detected: list[bool] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)


def landmark_nme(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean point distance of the 468 mesh points, over the reference's outer-eye-corner distance."""
    a, b = reference[:468, :2].astype(np.float64), other[:468, :2].astype(np.float64)
    iod = float(np.linalg.norm(a[OUTER_EYE_CORNERS[0]] - a[OUTER_EYE_CORNERS[1]]))
    return float(np.linalg.norm(a - b, axis=1).mean() / max(iod, 1e-6))


def region_quality(original: np.ndarray, protected: np.ndarray, region: tuple[int, int, int, int]
                   ) -> tuple[float, float]:
    """(PSNR in dB, SSIM) of ``protected`` against ``original`` inside ``region`` (x0, y0, x1, y1)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    x0, y0, x1, y1 = region
    a, b = original[y0:y1, x0:x1], protected[y0:y1, x0:x1]
    if np.array_equal(a, b):
        return math.inf, 1.0
    win = min(7, min(a.shape[:2]) // 2 * 2 - 1)
    ssim = structural_similarity(a, b, channel_axis=2, data_range=255, win_size=win) if win >= 3 else math.nan
    return float(peak_signal_noise_ratio(a, b, data_range=255)), float(ssim)


def au_correlation(original, protected, progress: bool = False) -> tuple[float | None, int]:
    """(mean Pearson r over the AU activity columns of the two videos' evidence, frames where both were
    measured); r is None when fewer than 3 such frames or no column varies in both."""
    from faceqa.evidence.au_intensity import intensity_columns
    from faceqa.evidence.extract import extract_evidence

    a = extract_evidence(original, progress=progress).table
    b = extract_evidence(protected, progress=progress).table
    n = min(len(a), len(b))
    x_all, y_all = a[intensity_columns()].to_numpy(np.float64)[:n], b[intensity_columns()].to_numpy(np.float64)[:n]
    both = np.isfinite(x_all).all(axis=1) & np.isfinite(y_all).all(axis=1)
    rs = []
    if both.sum() >= 3:
        for x, y in zip(x_all[both].T, y_all[both].T, strict=True):
            if x.std() > 1e-6 and y.std() > 1e-6:
                rs.append(float(np.corrcoef(x, y)[0, 1]))
    return (float(np.mean(rs)) if rs else None), int(both.sum())


class _Tools:
    """The models the measures use (loaded once, by the registry)."""

    def __init__(self) -> None:
        from faceqa.perception.expression import EmotionClassifier
        from faceqa.perception.identity import get_embedder
        from faceqa.perception.pipeline import FacePipeline

        self.pipeline = FacePipeline(max_faces=10, emotion="fer", quality=False)
        self.embedder = get_embedder()
        self.emotion = EmotionClassifier("fer")


def _measure_frame(tools: _Tools, original: np.ndarray, protected: np.ndarray, records: list, gallery,
                   threshold: float, tally: _Tally) -> None:
    from faceqa.perception.mesh import roi_from_landmarks

    if not records:
        return
    boxes = [r.bbox for r in records]
    meshes = [r.landmarks for r in records]  # the original face's geometry aligns both images
    before = tools.embedder.embed_many(original, boxes, meshes)
    after = tools.embedder.embed_many(protected, boxes, meshes)
    found = tools.pipeline.detector.detect(protected)
    emotions = tools.emotion.predict_batch(protected, boxes)
    h, w = original.shape[:2]
    for r, e0, e1, emo in zip(records, before, after, emotions, strict=True):
        tally.distances.append(distance(e0, e1))
        if gallery is not None:
            who = gallery.identify(e0, top_k=1, threshold=threshold).identity
            if who is not None:
                tally.reid_known += 1
                tally.reid_hits += gallery.identify(e1, top_k=1, threshold=threshold).identity == who
        if r.emotion:
            tally.emotion_same.append(max(r.emotion, key=r.emotion.get) == max(emo, key=emo.get))
        refit = tools.pipeline.mesh(protected, roi_from_landmarks(r.landmarks))
        tally.nme.append(landmark_nme(r.landmarks, refit.landmarks))
        tally.detected.append(any(iou(d.bbox, r.bbox) > 0.3 for d in found))
        region = Target(r.face_id, r.landmarks).region(REGION_MARGIN, w, h)
        if region is not None:
            psnr, ssim = region_quality(original, protected, region)
            tally.psnr.append(psnr)
            tally.ssim.append(ssim)


def _mean(values: list) -> float | None:
    """Mean of the non-NaN values; None when there are none or the mean is infinite (untouched faces)."""
    kept = [float(v) for v in values if not math.isnan(float(v))]
    mean = float(np.mean(kept)) if kept else math.nan
    return mean if math.isfinite(mean) else None


def evaluate_deid(original: str | os.PathLike[str], protected: str | os.PathLike[str], gallery=None,
                  threshold: float = DEFAULT_THRESHOLD, max_frames: int = 60, au: bool = True,
                  progress: bool = False) -> dict:
    """Privacy, utility and quality of ``protected`` against ``original`` (same size and frame count).

    Args:
        original, protected: two images, or two videos / frame folders of equal length.
        gallery: an open :class:`~faceqa.gallery.Gallery` for the re-identification rate (or None).
        threshold: verification / identification threshold.
        max_frames: most video frames sampled for the per-face measures.
        au: compute the AU activity correlation of a video (two more perception passes).
        progress: tqdm bars.
    Returns ``{"privacy": {...}, "utility": {...}, "quality": {...}, "faces_evaluated", "frames_evaluated"}``
    (see the module docstring).
    """
    a, b = open_media(original), open_media(protected)
    still = a.info.kind in ("image", "array")
    if (a.info.width, a.info.height) != (b.info.width, b.info.height):
        raise InvalidInputError(f"{protected}: {b.info.width}x{b.info.height}, the original {original} is "
                                f"{a.info.width}x{a.info.height}; compare a protected copy with its own original")
    if still != (b.info.kind in ("image", "array")) or (not still and abs(len(a) - len(b)) > 1):
        raise InvalidInputError(f"{protected}: {len(b)} frame(s), the original {original} has {len(a)}")
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
        raise InvalidInputError(f"max_frames={max_frames!r}: expected a positive integer")
    every = max(1, math.ceil(min(len(a), len(b)) / max_frames))
    tools = _Tools()
    tally = _Tally()
    frames = 0
    stream = tools.pipeline.stream(open_media(original, every=every), progress=progress and not still)
    for (frame, records), other in zip(stream, open_media(protected, every=every).frames(), strict=False):
        frames += 1
        _measure_frame(tools, frame.image, other.image, records, gallery, threshold, tally)
    d = tally.distances
    au_r, au_frames = au_correlation(original, protected, progress) if au and not still else (None, 0)
    return {
        "privacy": {"verification_success_rate": _mean([x <= threshold for x in d]),
                    "mean_identity_distance": _mean(d), "threshold": float(threshold),
                    "reidentification_rate": tally.reid_hits / tally.reid_known if tally.reid_known else None,
                    "reid_faces": tally.reid_known},
        "utility": {"emotion_agreement": _mean(tally.emotion_same), "landmark_nme": _mean(tally.nme),
                    "detection_rate": _mean(tally.detected),
                    "au_correlation": au_r, "au_frames": au_frames},
        "quality": {"psnr_db": _mean(tally.psnr), "ssim": _mean(tally.ssim), "region": "face box + 15%"},
        "faces_evaluated": len(d), "frames_evaluated": frames,
    }
