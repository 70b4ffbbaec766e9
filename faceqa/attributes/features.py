"""Face features for attribute regression: a table of feature sets, computed on the largest face of an image.

Every image goes through the perception models once (detector, 468-point mesh); the largest face
gives a :class:`FaceSample` (its RGB crop aligned on the eyes, its landmarks and box), and each
chosen feature set turns samples into columns:

============  =====  ==============================================================================
set           dim    what (module)
============  =====  ==============================================================================
``cnn``       2024   EfficientNet-Lite0 ImageNet maps of the aligned 224x224 crop, averaged at the end
                     of five stages and of the head, concatenated (:mod:`faceqa.attributes.cnn`)
``geometry``  22     mesh ratios, openness, symmetry and head pose (:mod:`faceqa.attributes.geometry`)
``identity``  128    dlib ResNet identity embedding (:mod:`faceqa.perception.identity`)
``sface``     128    SFace identity embedding from the mesh's 5-point alignment (the default recognizer)
============  =====  ==============================================================================

The table is open: :func:`register_feature_set` adds a set (another identity model, for example)
that models trained later can name; a saved model records the sets and their column names and
refuses features whose columns differ.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from faceqa.errors import FaceQAError, InvalidInputError, NoFaceError
from faceqa.landmarks import LEFT_EYE, RIGHT_EYE

EYE_Y = 0.40
EYE_X = (0.34, 0.66)
"""Where the eye centres land in an aligned crop, as fractions of its side."""

DEFAULT_SETS = ("cnn", "geometry")


@dataclass
class FaceSample:
    """The largest face of one image: its name, RGB image, box, (468+, 3) landmarks and aligned crop."""

    name: str
    image: np.ndarray
    bbox: tuple[float, float, float, float]
    landmarks: np.ndarray
    crop: np.ndarray


def align_crop(image: np.ndarray, landmarks: np.ndarray, size: int = 224) -> np.ndarray:
    """The face cut so that the eye centres sit level at :data:`EYE_X`, :data:`EYE_Y` of a ``size`` square."""
    pts = np.asarray(landmarks, np.float64)[:, :2]
    src = np.stack([pts[list(RIGHT_EYE)].mean(0), pts[list(LEFT_EYE)].mean(0)])
    dst = np.array([[EYE_X[0], EYE_Y], [EYE_X[1], EYE_Y]]) * size
    vs, vd = src[1] - src[0], dst[1] - dst[0]
    scale = np.linalg.norm(vd) / max(np.linalg.norm(vs), 1e-6)
    angle = np.arctan2(vd[1], vd[0]) - np.arctan2(vs[1], vs[0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = np.hstack([rot, (dst[0] - rot @ src[0])[:, None]])
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class FeatureSet:
    """One family of feature columns: ``compute`` maps face samples to an (n, len(columns)) array."""

    name: str
    description: str
    columns: Callable[[], list[str]]
    compute: Callable[[Sequence[FaceSample]], np.ndarray]


def _cnn(faces: Sequence[FaceSample]) -> np.ndarray:
    from faceqa.attributes.cnn import multistage_features

    return multistage_features(np.stack([f.crop for f in faces]))


def _cnn_columns() -> list[str]:
    from faceqa.attributes.cnn import cnn_columns

    return cnn_columns()


def _geometry(faces: Sequence[FaceSample]) -> np.ndarray:
    from faceqa.attributes.geometry import geometry_features

    return np.stack([geometry_features(f.landmarks) for f in faces])


def _geometry_columns() -> list[str]:
    from faceqa.attributes.geometry import GEOMETRY_COLUMNS

    return list(GEOMETRY_COLUMNS)


def _identity(faces: Sequence[FaceSample]) -> np.ndarray:
    from faceqa.perception.identity import FaceEmbedder

    embedder = FaceEmbedder()
    return np.stack([embedder.embed(f.image, f.bbox) for f in faces])


def _sface(faces: Sequence[FaceSample]) -> np.ndarray:
    from faceqa.perception.identity import get_embedder

    embedder = get_embedder("sface")
    crops = np.stack([embedder.crops(f.image, [f.bbox], [f.landmarks])[0] for f in faces])
    return embedder.embed_crops(crops)


FEATURE_SETS: dict[str, FeatureSet] = {}
"""Every feature set by name (see the module docstring)."""


def register_feature_set(feature_set: FeatureSet) -> None:
    """Add (or replace) a feature set in :data:`FEATURE_SETS`."""
    FEATURE_SETS[feature_set.name] = feature_set


for _set in (
    FeatureSet("cnn", "EfficientNet-Lite0 multi-stage pooled maps of the aligned crop", _cnn_columns, _cnn),
    FeatureSet("geometry", "mesh ratios, openness, symmetry, head pose", _geometry_columns, _geometry),
    FeatureSet("identity", "dlib ResNet 128-D identity embedding", lambda: [f"id_{i}" for i in range(128)],
               _identity),
    FeatureSet("sface", "SFace 128-D identity embedding", lambda: [f"sface_{i}" for i in range(128)], _sface),
):
    register_feature_set(_set)


def parse_sets(sets: str | Sequence[str]) -> tuple[str, ...]:
    """Feature set names from ``"cnn,geometry"`` or a sequence; InvalidInputError names an unknown one."""
    names = tuple(s.strip() for s in (sets.split(",") if isinstance(sets, str) else sets) if s.strip())
    if not names:
        raise InvalidInputError("choose at least one feature set")
    unknown = [n for n in names if n not in FEATURE_SETS]
    if unknown:
        raise InvalidInputError(f"unknown feature set {unknown[0]!r}; choose from {', '.join(FEATURE_SETS)}")
    return names


ImageInput = str | os.PathLike | np.ndarray


class FaceFeaturizer:
    """Finds the largest face of each image and computes the chosen feature sets on it.

    Args:
        sets: feature set names (default :data:`DEFAULT_SETS`), or ``"cnn,geometry"``.
        batch: faces computed together (bounds memory: images are dropped after each batch).
    """

    def __init__(self, sets: str | Sequence[str] = DEFAULT_SETS, batch: int = 16):
        self.sets = parse_sets(sets)
        self.batch = batch

    @cached_property
    def _pipeline(self):
        from faceqa.perception import FacePipeline

        return FacePipeline(max_faces=5, emotion=None, quality=False)

    def columns(self) -> list[str]:
        """Every feature column, set after set."""
        return [c for s in self.sets for c in FEATURE_SETS[s].columns()]

    def sizes(self) -> list[int]:
        """The number of columns of each set, in order (the regressors' ``blocks``)."""
        return [len(FEATURE_SETS[s].columns()) for s in self.sets]

    def locate(self, image: ImageInput, name: str | None = None) -> FaceSample:
        """The largest face of an image (path or RGB array); NoFaceError names the image when there is none."""
        from faceqa.media import as_rgb, read_image

        if isinstance(image, str | os.PathLike):
            label, rgb = name or os.fspath(image), read_image(image)
        else:
            label, rgb = name or "image", as_rgb(image, name or "image")
        records = [r for r in self._pipeline.analyze_image(rgb) if r.landmarks is not None]
        if not records:
            raise NoFaceError(f"{label}: no face found")
        best = max(records, key=lambda r: r.size_px)
        return FaceSample(label, rgb, best.bbox, best.landmarks, align_crop(rgb, best.landmarks))

    def transform(self, faces: Sequence[FaceSample]) -> np.ndarray:
        """Features (n, len(columns)) float64 of located faces."""
        if not faces:
            return np.zeros((0, len(self.columns())))
        return np.hstack([np.asarray(FEATURE_SETS[s].compute(faces), np.float64) for s in self.sets])

    def iter_batches(self, images: Sequence[ImageInput], names: Sequence[str] | None = None,
                     progress: bool = False) -> Iterator[tuple[list[int], np.ndarray, dict[int, str]]]:
        """For each batch of images: (indices with a face, their features, index -> error of the others)."""
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(images), unit="face", desc="features", leave=False)
        try:
            for start in range(0, len(images), self.batch):
                faces, kept, failed = [], [], {}
                for i in range(start, min(start + self.batch, len(images))):
                    label = names[i] if names is not None else None
                    try:
                        faces.append(self.locate(images[i], label))
                        kept.append(i)
                    except FaceQAError as exc:
                        failed[i] = str(exc)
                    if bar is not None:
                        bar.update(1)
                yield kept, self.transform(faces), failed
        finally:
            if bar is not None:
                bar.close()

    def features(self, images: Sequence[ImageInput], names: Sequence[str] | None = None,
                 progress: bool = False) -> tuple[np.ndarray, list[int], dict[int, str]]:
        """(features of the images with a face, their indices, index -> error for the others)."""
        blocks, kept, failed = [], [], {}
        for k, x, f in self.iter_batches(images, names, progress):
            blocks.append(x)
            kept.extend(k)
            failed.update(f)
        x = np.vstack(blocks) if blocks else np.zeros((0, len(self.columns())))
        return x, kept, failed

