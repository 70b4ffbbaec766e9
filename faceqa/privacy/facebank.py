"""The face bank of k-Same: aligned, shape-normalised faces of *other* people, with their identity vectors.

The gallery keeps identity vectors only, so k-Same takes its faces from a bank built from
ordinary photos, one face each (for instance the images a gallery was enrolled from). Each photo's
largest face is meshed (468 points) and embedded (SFace 128-D); a similarity transform puts its eye
centres at :data:`EYE_POSITIONS` of a :data:`TEMPLATE_SIZE`-pixel square; the mean of all aligned
meshes is the bank's *template* shape, and every face is warped piecewise-affinely onto it. So the
faces line up feature by feature, and the mean of any k of them is a sharp average face.

To protect a face, the k bank faces nearest it in identity space are averaged, the average is
warped from the template onto the face's own mesh (keeping its pose and expression), shifted to the
face's mean colour, and blended inside the mesh outline with a ramp of :data:`FEATHER` x face size.

A bank is saved as one ``.npz`` (``faces`` (N, S, S, 3) uint8, ``embeddings`` (N, 128) float32,
``labels`` (N,) str, ``template`` (468, 2) float32, ``version``); :meth:`FaceBank.open` takes such a
file or a folder of photos. The embeddings are the default identity model's (SFace), as are the
thresholds that compare them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import ArrayLike

from faceqa.errors import FaceQAError, InvalidInputError, MediaNotFoundError, MediaReadError, NoFaceError
from faceqa.landmarks import LEFT_EYE, RIGHT_EYE
from faceqa.privacy.warp import piecewise_warp

TEMPLATE_SIZE = 160
"""Side in pixels of the bank's aligned faces."""

EYE_POSITIONS = ((0.35, 0.40), (0.65, 0.40))
"""Where the (subject's right, left) eye centres go in the aligned face, as fractions of its side."""

FEATHER = 0.04
"""Width of the blend ramp inside the face outline, as a fraction of the face size."""

FORMAT_VERSION = 2
"""2: embeddings by SFace (the default identity model); version-1 banks held dlib's and must be rebuilt."""


@dataclass
class _Face:
    crop: np.ndarray
    points: np.ndarray
    embedding: np.ndarray


def _measure(image: np.ndarray, name: str) -> _Face:
    """The eye-aligned crop, aligned mesh points and identity vector of the largest face in ``image``."""
    from faceqa.evidence.align import apply
    from faceqa.perception.detection import largest_face
    from faceqa.perception.geometry import similarity
    from faceqa.perception.identity import get_embedder
    from faceqa.perception.mesh import FaceMesh, roi_from_detection, roi_from_landmarks

    detection = largest_face(image, name=name)
    mesh = FaceMesh()
    result = mesh(image, roi_from_detection(detection))
    result = mesh(image, roi_from_landmarks(result.landmarks))
    if result.score < 0.5:
        raise NoFaceError(f"{name}: the face mesh does not fit the detected face (presence {result.score:.2f})")
    pts = result.landmarks[:468, :2].astype(np.float64)
    eyes = np.stack([pts[list(RIGHT_EYE)].mean(axis=0), pts[list(LEFT_EYE)].mean(axis=0)])
    m = similarity(eyes, np.array(EYE_POSITIONS) * TEMPLATE_SIZE)
    crop = cv2.warpAffine(image, m, (TEMPLATE_SIZE, TEMPLATE_SIZE), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)
    return _Face(crop, apply(m, pts), get_embedder().embed(image, detection, result.landmarks))


@dataclass
class FaceBank:
    """Shape-normalised faces with identity vectors (see the module docstring).

    Attributes:
        faces: (N, S, S, 3) uint8 faces, each warped onto ``template``.
        embeddings: (N, 128) float32 identity vectors.
        labels: where each face came from (file names).
        template: (468, 2) float32 mean mesh in face pixels.
        location: the file or folder it was read from, for messages.
        skipped: photos left out while building (no usable face), with the reason.
    """

    faces: np.ndarray
    embeddings: np.ndarray
    labels: list[str]
    template: np.ndarray
    location: str = "<memory>"
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.faces)

    @classmethod
    def build(cls, images: Iterable[str | os.PathLike[str] | np.ndarray], labels: Sequence[str] | None = None,
              location: str = "<memory>", progress: bool = False, skip_unusable: bool = False) -> FaceBank:
        """A bank from photos (paths or RGB arrays), the largest face of each.

        With ``skip_unusable``, photos without a usable face are left out (``skipped`` lists them);
        otherwise their error is raised.
        """
        from faceqa.media import as_rgb, read_image

        items = list(images)
        names = list(labels) if labels is not None else [
            str(x) if not isinstance(x, np.ndarray) else f"array {i}" for i, x in enumerate(items)]
        if len(names) != len(items):
            raise InvalidInputError(f"face bank: {len(names)} labels for {len(items)} images")
        measured: list[_Face] = []
        kept: list[str] = []
        skipped: list[str] = []
        iterator = zip(items, names, strict=True)
        if progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, total=len(items), desc="face bank", unit="face", leave=False)
        for item, name in iterator:
            try:
                rgb = as_rgb(item, name) if isinstance(item, np.ndarray) else read_image(item)
                measured.append(_measure(rgb, name))
                kept.append(name)
            except FaceQAError as exc:
                if not skip_unusable:
                    raise
                skipped.append(f"{name} ({exc})")
        if not measured:
            raise NoFaceError(f"face bank {location}: no usable face among {len(items)} image(s)")
        template = np.mean([f.points for f in measured], axis=0)
        faces = np.stack([_to_template(f, template) for f in measured])
        return cls(faces, np.stack([f.embedding for f in measured]).astype(np.float32), kept,
                   template.astype(np.float32), location, skipped)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], progress: bool = False) -> FaceBank:
        """A bank from every image in ``folder`` (images without a usable face are skipped)."""
        from faceqa.media.sources import IMAGE_EXTS

        path = Path(folder)
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
        if not files:
            raise InvalidInputError(f"{path}: face bank folder holds no images ({', '.join(sorted(IMAGE_EXTS))})")
        return cls.build(files, [p.name for p in files], location=str(path), progress=progress, skip_unusable=True)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaceBank:
        """Read a bank saved by :meth:`save`."""
        p = Path(path)
        if not p.is_file():
            raise MediaNotFoundError(f"{p}: no such face bank file")
        try:
            with np.load(p, allow_pickle=False) as data:
                version = int(data["version"])
                faces, embeddings = data["faces"], data["embeddings"]
                labels, template = [str(x) for x in data["labels"]], data["template"]
        except (OSError, ValueError, KeyError) as exc:
            raise MediaReadError(f"{p}: not a face bank .npz ({exc})") from None
        if version != FORMAT_VERSION or faces.ndim != 4 or not len(faces) == len(embeddings) == len(labels) \
                or embeddings.shape[1:] != (128,) or template.shape != (468, 2):
            raise MediaReadError(f"{p}: face bank version {version} or array shapes not understood")
        return cls(faces, embeddings.astype(np.float32), labels, template.astype(np.float32), str(p))

    @classmethod
    def open(cls, path: str | os.PathLike[str], progress: bool = False) -> FaceBank:
        """A saved ``.npz`` bank, or a bank built from a folder of photos."""
        p = Path(path)
        if p.is_dir():
            return cls.from_folder(p, progress=progress)
        return cls.load(p)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bank to one ``.npz`` file (the suffix is added if missing); returns its path."""
        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_name(p.name + ".npz")
        if not p.parent.is_dir():
            raise InvalidInputError(f"{p}: folder {p.parent} does not exist")
        np.savez_compressed(p, faces=self.faces, embeddings=self.embeddings, labels=np.array(self.labels),
                            template=self.template, version=np.int64(FORMAT_VERSION))
        return p

    def nearest(self, embedding: ArrayLike, k: int, exclude_within: float | None = None) -> np.ndarray:
        """Indices of the ``k`` bank faces nearest ``embedding``; with ``exclude_within``, faces at that
        distance or closer (the same person) are not eligible."""
        d = np.linalg.norm(self.embeddings - np.asarray(embedding, np.float32), axis=1)
        order = np.argsort(d, kind="stable")
        if exclude_within is not None:
            order = order[d[order] > exclude_within]
        if len(order) < k:
            raise InvalidInputError(f"face bank {self.location}: {len(order)} eligible face(s) of {len(self)}, "
                                    f"k-Same with k={k} needs at least {k}")
        return order[:k]

    def average(self, indices: ArrayLike) -> np.ndarray:
        """The pixel mean of the chosen faces (template shape), uint8."""
        return np.round(self.faces[np.asarray(indices)].astype(np.float32).mean(axis=0)).astype(np.uint8)

    def paste(self, image: np.ndarray, face: np.ndarray, landmarks: np.ndarray) -> None:
        """Warp ``face`` (template shape) onto the mesh ``landmarks`` of ``image`` and blend it in place."""
        pts = np.asarray(landmarks)[:468, :2]
        warped = piecewise_warp(face, self.template, pts, image.shape[:2])
        if warped is None:
            return
        patch, cover, (x0, y0) = warped
        h, w = cover.shape
        size = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1.0))
        inside = cv2.distanceTransform((cover > 0).astype(np.uint8), cv2.DIST_L2, 3)
        alpha = np.clip(inside / max(FEATHER * size, 1.0), 0.0, 1.0)[:, :, None]
        region = image[y0:y0 + h, x0:x0 + w].astype(np.float32)
        core = alpha[:, :, 0] > 0.5
        if not core.any():
            return
        shift = region[core].mean(axis=0) - patch[core].astype(np.float32).mean(axis=0)
        blended = alpha * np.clip(patch.astype(np.float32) + shift, 0, 255) + (1 - alpha) * region
        image[y0:y0 + h, x0:x0 + w] = np.round(blended).astype(np.uint8)


def _to_template(face: _Face, template: np.ndarray) -> np.ndarray:
    """``face.crop`` warped so its mesh lies on ``template`` (pixels outside the mesh stay as aligned)."""
    out = face.crop.copy()
    warped = piecewise_warp(face.crop, face.points, template, out.shape[:2])
    if warped is not None:
        patch, cover, (x0, y0) = warped
        h, w = cover.shape
        region = out[y0:y0 + h, x0:x0 + w]
        region[cover > 0] = patch[cover > 0]
    return out
