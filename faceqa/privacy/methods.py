"""De-identification methods: one config dataclass per method, each protecting faces given by their mesh.

A face to protect is a :class:`Target`: its track id and its face-mesh landmarks (N, 3) in
pixels. Every method's :meth:`Method.protect` returns a protected copy of the frame.

========  ==========================================================================================
method    what it does
========  ==========================================================================================
blur      Gaussian blur of the face region, sigma = ``strength`` x face size
pixelate  the face region averaged into blocks, ``blocks`` across the face
mask      the face region filled with ``color``
eyebar    a bar in ``color`` over both eyes, along the eye line (from the mesh eye contours)
ksame     the face replaced by the average of the ``k`` nearest faces of a :class:`FaceBank`
          (k-Same), warped onto this face's mesh (see :mod:`faceqa.privacy.facebank`)
========  ==========================================================================================

Face size is the longer side of the landmarks' bounding box; the *face region* is that box grown
by ``margin`` x face size on every side (so hairline, ears and jaw are covered).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import cv2
import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.perception.identity import DEFAULT_THRESHOLD
from faceqa.privacy.facebank import FaceBank

RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
"""Face-mesh indices of the eyelid contours (subject's right eye, then left)."""


@dataclass(frozen=True)
class Target:
    """One face to protect: its track id and its mesh landmarks (N >= 468, 3) in pixels."""

    face_id: int
    landmarks: np.ndarray = field(repr=False)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Bounding box (x0, y0, x1, y1) of the 468 face landmarks."""
        pts = self.landmarks[:468, :2]
        return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())

    @property
    def size(self) -> float:
        """Face size in pixels: the longer side of :attr:`box`."""
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, y1 - y0, 1.0)

    def region(self, margin: float, width: int, height: int) -> tuple[int, int, int, int] | None:
        """:attr:`box` grown by ``margin`` x size per side, as integer pixels inside the image (None if outside)."""
        x0, y0, x1, y1 = self.box
        m = margin * self.size
        ix0, iy0 = max(0, math.floor(x0 - m)), max(0, math.floor(y0 - m))
        ix1, iy1 = min(width, math.ceil(x1 + m)), min(height, math.ceil(y1 + m))
        return (ix0, iy0, ix1, iy1) if ix1 > ix0 and iy1 > iy0 else None

    def grown(self, factor: float) -> Target:
        """The same face with its landmarks scaled by ``factor`` about their centre (a safety margin)."""
        pts = self.landmarks.astype(np.float32).copy()
        centre = pts[:468, :2].mean(axis=0)
        pts[:, :2] = centre + (pts[:, :2] - centre) * factor
        return Target(self.face_id, pts)


def _check_range(name: str, value: float, low: float, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low \
            or (high is not None and value > high):
        limits = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidInputError(f"{name}={value!r}: expected a number {limits}")


def _check_color(color: Sequence[int]) -> tuple[int, int, int]:
    try:
        rgb = tuple(int(c) for c in color)
    except (TypeError, ValueError):
        raise InvalidInputError(f"color={color!r}: expected three 0-255 values (R, G, B)") from None
    if len(rgb) != 3 or any(not 0 <= c <= 255 for c in rgb):
        raise InvalidInputError(f"color={color!r}: expected three 0-255 values (R, G, B)")
    return rgb  # type: ignore[return-value]


class Method(ABC):
    """A de-identification method; subclasses are dataclasses holding its settings."""

    name: ClassVar[str]

    def protect(self, image: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
        """A copy of the RGB ``image`` with every target face protected."""
        out = np.ascontiguousarray(image).copy()
        for target in targets:
            self.apply(out, target)
        return out

    @abstractmethod
    def apply(self, image: np.ndarray, target: Target) -> None:
        """Protect one face of ``image`` in place."""

    def reset(self) -> None:  # noqa: B027 - a no-op hook: only k-Same keeps per-track state
        """Forget per-track state before a new, unrelated source."""

    def config(self) -> dict[str, Any]:
        """The method's name and settings, JSON-ready."""
        return {"method": self.name, **{f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                                        if f.init and f.name != "bank"}}


@dataclass
class Blur(Method):
    """Gaussian blur of the face region; ``strength`` is sigma as a fraction of the face size."""

    strength: float = 0.1
    margin: float = 0.15
    name: ClassVar[str] = "blur"

    def __post_init__(self) -> None:
        _check_range("strength", self.strength, 0.005, 2.0)
        _check_range("margin", self.margin, 0.0, 1.0)

    def apply(self, image: np.ndarray, target: Target) -> None:
        """Blur the face region in place (the blur reads pixels around it, so its edge is smooth)."""
        h, w = image.shape[:2]
        region = target.region(self.margin, w, h)
        if region is None:
            return
        x0, y0, x1, y1 = region
        sigma = self.strength * target.size
        pad = math.ceil(3 * sigma)
        px0, py0, px1, py1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
        blurred = gaussian_blur(image[py0:py1, px0:px1], sigma)
        image[y0:y1, x0:x1] = blurred[y0 - py0:y1 - py0, x0 - px0:x1 - px0]


BLUR_DIRECT_SIGMA = 6.0
"""Above this sigma (pixels) :func:`gaussian_blur` blurs a downscaled copy: the same result, far faster."""


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``image`` with ``sigma`` pixels; a wide blur is done at a scale where sigma is
    :data:`BLUR_DIRECT_SIGMA` (the blurred image holds no detail finer than that) and scaled back."""
    if sigma <= BLUR_DIRECT_SIGMA:
        return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    h, w = image.shape[:2]
    f = BLUR_DIRECT_SIGMA / sigma
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), BLUR_DIRECT_SIGMA, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class Pixelate(Method):
    """The face region averaged into square blocks, ``blocks`` of them across the face size."""

    blocks: int = 8
    margin: float = 0.15
    name: ClassVar[str] = "pixelate"

    def __post_init__(self) -> None:
        if isinstance(self.blocks, bool) or not isinstance(self.blocks, int) or not 2 <= self.blocks <= 256:
            raise InvalidInputError(f"blocks={self.blocks!r}: expected an integer in [2, 256]")
        _check_range("margin", self.margin, 0.0, 1.0)

    def apply(self, image: np.ndarray, target: Target) -> None:
        """Pixelate the face region in place."""
        h, w = image.shape[:2]
        region = target.region(self.margin, w, h)
        if region is None:
            return
        x0, y0, x1, y1 = region
        block = max(1.0, target.size / self.blocks)
        small = (max(1, round((x1 - x0) / block)), max(1, round((y1 - y0) / block)))
        coarse = cv2.resize(image[y0:y1, x0:x1], small, interpolation=cv2.INTER_AREA)
        image[y0:y1, x0:x1] = cv2.resize(coarse, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)


@dataclass
class Mask(Method):
    """The face region filled with one colour."""

    color: tuple[int, int, int] = (0, 0, 0)
    margin: float = 0.15
    name: ClassVar[str] = "mask"

    def __post_init__(self) -> None:
        self.color = _check_color(self.color)
        _check_range("margin", self.margin, 0.0, 1.0)

    def apply(self, image: np.ndarray, target: Target) -> None:
        """Fill the face region in place."""
        region = target.region(self.margin, image.shape[1], image.shape[0])
        if region is not None:
            x0, y0, x1, y1 = region
            image[y0:y1, x0:x1] = self.color


@dataclass
class EyeBar(Method):
    """A bar over both eyes along the eye line, from the mesh eyelid contours.

    The bar spans the two eye contours plus ``extend`` x the eye-centre distance at each end, and
    is ``height`` x that distance tall (or taller, to cover the contours with a little room).
    """

    color: tuple[int, int, int] = (0, 0, 0)
    extend: float = 0.3
    height: float = 0.45
    name: ClassVar[str] = "eyebar"

    def __post_init__(self) -> None:
        self.color = _check_color(self.color)
        _check_range("extend", self.extend, 0.0, 2.0)
        _check_range("height", self.height, 0.05, 2.0)

    def corners(self, target: Target) -> np.ndarray:
        """The bar's four corners (4, 2) in pixels."""
        pts = target.landmarks[:, :2].astype(np.float64)
        right, left = pts[list(RIGHT_EYE_CONTOUR)], pts[list(LEFT_EYE_CONTOUR)]
        rc, lc = right.mean(axis=0), left.mean(axis=0)
        d = max(float(np.linalg.norm(lc - rc)), 1.0)
        u = (lc - rc) / d
        v = np.array([-u[1], u[0]])
        mid = (rc + lc) / 2
        eyes = np.concatenate([right, left]) - mid
        along, across = eyes @ u, eyes @ v
        a0, a1 = along.min() - self.extend * d, along.max() + self.extend * d
        half = max(self.height * d / 2, float(np.abs(across).max()) + 0.1 * d)
        return np.array([mid + a * u + s * half * v for a, s in ((a0, -1), (a1, -1), (a1, 1), (a0, 1))])

    def apply(self, image: np.ndarray, target: Target) -> None:
        """Draw the bar in place."""
        cv2.fillConvexPoly(image, np.round(self.corners(target)).astype(np.int32), self.color,
                           lineType=cv2.LINE_AA)


@dataclass
class KSame(Method):
    """k-Same: each face becomes the average of the ``k`` faces of ``bank`` nearest it in identity
    space, warped onto its own mesh and blended inside the face outline.

    With ``exclude_same``, bank faces within ``threshold`` of the face (the same person, per the
    verification threshold) are skipped, so the average is made of other people only. The choice is
    made once per track, on the track's first frame, so the replacement face does not flicker.
    """

    bank: FaceBank | None = None
    k: int = 5
    exclude_same: bool = True
    threshold: float = DEFAULT_THRESHOLD
    name: ClassVar[str] = "ksame"
    _faces: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.bank, FaceBank):
            raise InvalidInputError("ksame: needs a face bank (a folder of face images or a saved bank .npz)")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise InvalidInputError(f"k={self.k!r}: expected a positive integer")
        _check_range("threshold", self.threshold, 0.0)

    def reset(self) -> None:
        """Forget the per-track average faces."""
        self._faces.clear()

    def config(self) -> dict[str, Any]:
        """Name, settings, and the bank's location and size."""
        return {**super().config(), "bank": self.bank.location, "bank_faces": len(self.bank)}

    def average_for(self, image: np.ndarray, target: Target) -> np.ndarray:
        """The k-Same average face (bank template shape) for this target's track, computed once."""
        if target.face_id not in self._faces:
            from faceqa.perception.identity import get_embedder

            embedding = get_embedder().embed(image, target.box, target.landmarks)
            chosen = self.bank.nearest(embedding, self.k, self.threshold if self.exclude_same else None)
            self._faces[target.face_id] = self.bank.average(chosen)
        return self._faces[target.face_id]

    def apply(self, image: np.ndarray, target: Target) -> None:
        """Replace the face in place by its track's average face, matched to its mean colour."""
        self.bank.paste(image, self.average_for(image, target), target.landmarks)


METHODS: dict[str, type[Method]] = {m.name: m for m in (Blur, Pixelate, Mask, EyeBar, KSame)}
"""Every method by name."""


def check_options(name: str, options: dict[str, Any]) -> type[Method]:
    """The method class called ``name``, after checking that it takes every option in ``options``."""
    if name not in METHODS:
        raise InvalidInputError(f"de-identification method {name!r}: choose one of {', '.join(METHODS)}")
    cls = METHODS[name]
    allowed = {f.name for f in fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidInputError(f"method {name!r}: unknown option(s) {', '.join(unknown)}; "
                                f"it takes {', '.join(sorted(allowed))}")
    return cls


def make_method(name: str, **options: Any) -> Method:
    """The method called ``name`` with ``options`` (its dataclass fields); unknown names or options raise."""
    return check_options(name, options)(**options)
