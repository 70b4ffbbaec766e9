"""How each AU moves the skin, as displacements at mesh landmarks, for synthesising expressions.

Each AU warp is a set of (landmarks, (out, up) displacement in inter-ocular distances at full
intensity) on one side of the face; ``out`` points away from the midline, ``up`` towards the
forehead. :func:`displacement_field` spreads them over the image with Gaussian kernels (sigma
``SIGMA_IOD`` IOD), so the eye corners, nose and face outline, which the alignment relies on, stay
put.
"""

from __future__ import annotations

import numpy as np

SIGMA_IOD = 0.11

# (right-side landmarks, left-side landmarks or None for midline, (out, up) displacement)
AU_WARPS: dict[int, tuple[tuple[tuple[int, ...], tuple[int, ...] | None, tuple[float, float]], ...]] = {
    1: (((107, 66, 55, 65), (336, 296, 285, 295), (0.0, 0.09)),),
    2: (((70, 63, 46, 53), (300, 293, 276, 283), (0.0, 0.09)),),
    4: (((107, 66, 55, 65), (336, 296, 285, 295), (-0.04, -0.07)), ((9, 8), None, (0.0, -0.03))),
    5: (((159, 158, 160), (386, 385, 387), (0.0, 0.035)),),
    6: (((117, 118, 101), (346, 347, 330), (0.0, 0.06)), ((145, 144, 153), (374, 373, 380), (0.0, 0.015))),
    7: (((145, 144, 153), (374, 373, 380), (0.0, 0.04)),),
    9: (((198, 49), (420, 279), (0.0, 0.05)),),
    10: (((37, 40, 39), (267, 270, 269), (0.0, 0.05)),),
    12: (((61, 57), (291, 287), (0.05, 0.07)),),
    14: (((61, 57), (291, 287), (-0.045, 0.0)),),
    15: (((61, 57), (291, 287), (0.0, -0.06)),),
    17: (((199, 175, 152), None, (0.0, 0.05)),),
    20: (((61, 57), (291, 287), (0.07, -0.015)),),
    24: (((0, 13), None, (0.0, -0.02)), ((14, 17), None, (0.0, 0.03))),
    25: (((14, 17), None, (0.0, -0.045)),),
    26: (((14, 17), None, (0.0, -0.05)), ((199, 175, 152), None, (0.0, -0.08))),
    45: (((159, 158, 160), (386, 385, 387), (0.0, -0.06)),),
}
"""AU -> warps. Sides follow the subject: the right side is on the image's left."""


def _iod(landmarks: np.ndarray) -> float:
    right = landmarks[[33, 133], :2].mean(0)
    left = landmarks[[362, 263], :2].mean(0)
    return float(np.linalg.norm(left - right))


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (image axes) of the face's "towards its left" and "up" directions."""
    right = landmarks[[33, 133], :2].mean(0)
    left = landmarks[[362, 263], :2].mean(0)
    x = (left - right) / (np.linalg.norm(left - right) + 1e-9)
    up = np.array([x[1], -x[0]])
    return x, up


def displacement_field(landmarks: np.ndarray, shape: tuple[int, int], aus: list[tuple[int, str, float]]
                       ) -> np.ndarray:
    """Per-pixel displacement (H, W, 2) in pixels that moves the skin as the given AUs would.

    Args:
        landmarks: the face's mesh landmarks (N, 2+) in image pixels.
        shape: (height, width) of the image.
        aus: (au, side "L"/"R"/"both", intensity 0..1) triples.
    """
    h, w = shape
    iod = _iod(landmarks)
    xaxis, up = face_axes(landmarks)
    sigma = SIGMA_IOD * iod
    anchors, vectors = [], []
    for au, side, intensity in aus:
        if au not in AU_WARPS:
            raise ValueError(f"no synthetic warp for AU{au}; known: {sorted(AU_WARPS)}")
        for right_ix, left_ix, (out, upv) in AU_WARPS[au]:
            sides = ["C"] if left_ix is None else (["L", "R"] if side == "both" else [side])
            for s in sides:
                ix = right_ix if s in ("R", "C") else left_ix
                out_dir = xaxis if s == "L" else (-xaxis if s == "R" else np.zeros(2))
                vec = (out * out_dir + upv * up) * iod * intensity
                for i in ix:
                    anchors.append(landmarks[i, :2])
                    vectors.append(vec)
    field = np.zeros((h, w, 2), np.float32)
    if not anchors:
        return field
    anchors = np.asarray(anchors, np.float32)
    vectors = np.asarray(vectors, np.float32)
    x0, y0 = np.maximum(anchors.min(0) - 4 * sigma, 0).astype(int)
    x1, y1 = np.minimum(anchors.max(0) + 4 * sigma, [w - 1, h - 1]).astype(int)
    yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
    acc = np.zeros((y1 - y0 + 1, x1 - x0 + 1, 2), np.float32)
    norm = np.zeros(acc.shape[:2], np.float32)
    for a, v in zip(anchors, vectors, strict=True):
        k = np.exp(-((xx - a[0]) ** 2 + (yy - a[1]) ** 2) / (2 * sigma**2))
        acc += k[..., None] * v
        norm += k
    # average overlapping kernels of one AU group rather than summing them, but keep the falloff
    acc /= np.maximum(norm, 1.0)[..., None]
    field[y0:y1 + 1, x0:x1 + 1] = acc
    return field
