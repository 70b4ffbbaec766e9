"""Regional optical flow on the aligned face, integrated into displacement from the reference.

For frame t the flow is computed from a key frame to the aligned face and pooled as the median flow vector inside each
FACS region disc, minus the median flow of rigid skin (nose bridge, forehead) that absorbs what
the alignment left. The displacement of frame t from the track's first frame is the key frame's
own displacement plus that flow. The first frame is the first key; a frame becomes the new key
when it is at least ``key_every_s`` after the last and close to it (no region moved more than
``calm`` IOD: never in the middle of an expression), or ``key_max_s`` after it regardless (the
face's appearance has changed too much for one flow). Errors thus add up only at a few, calm key
changes; motion away and back cancels, so the value returns to zero when the face returns to its
reference state. Units: inter-ocular distances.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceqa.evidence.regions import REFERENCE_REGION, REGION_BY_NAME, region_keys

FLOW_METHODS = ("farneback", "dis", "dis-fine")
"""``farneback`` (default: the most accurate on skin's faint texture, ~3 ms at 128 px), ``dis``
(DIS, ~1.5 ms, underestimates small motions by ~30%), ``dis-fine`` (DIS at full resolution)."""


def _flow_fn(method: str):
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
    if method not in FLOW_METHODS:
        raise ValueError(f"flow method must be one of {FLOW_METHODS}, got {method!r}")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    dis.setFinestScale(0 if method == "dis-fine" else 1)
    return lambda a, b: dis.calc(a, b, None)


def _disc(size: int, centre: np.ndarray, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    inside = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2
    if not inside.any():
        cx = int(np.clip(round(centre[0]), 0, size - 1))
        cy = int(np.clip(round(centre[1]), 0, size - 1))
        inside[cy, cx] = True
    return np.flatnonzero(inside)


class RegionalMotion:
    """Displacement of every FACS region of one aligned face track, frame by frame.

    Args:
        fps: frame rate.
        size: side of the aligned face in pixels.
        iod: inter-ocular distance in the aligned face (the unit of the output).
        method: one of :data:`FLOW_METHODS`.
        key_every_s, key_max_s, calm: key-frame renewal (see the module docstring).
    """

    def __init__(self, fps: float, size: int, iod: float, method: str = "farneback", key_every_s: float = 1.0,
                 key_max_s: float = 4.0, calm: float = 0.005):
        self.key_every = max(1, int(round(key_every_s * fps)))
        self.key_max = max(self.key_every, int(round(key_max_s * fps)))
        self.calm = calm
        self.size = size
        self.iod = iod
        self.keys = region_keys()
        self._flow = _flow_fn(method)
        self._key: np.ndarray | None = None
        self._key_disp: np.ndarray | None = None
        self._since_key = 0
        self._index: np.ndarray | None = None
        self._padding: np.ndarray | None = None
        self._middle: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _build_masks(self, aligned_landmarks: np.ndarray) -> None:
        masks = []
        for name, side in self.keys:
            region = REGION_BY_NAME[name]
            centre = aligned_landmarks[list(region.landmarks("R" if side == "C" else side))].mean(0)
            masks.append(_disc(self.size, centre, region.radius * self.iod))
        ref = [_disc(self.size, aligned_landmarks[i], 0.08 * self.iod) for i in REFERENCE_REGION]
        masks.append(np.unique(np.concatenate(ref)))
        # one padded (regions, pixels) index table, so every region's median is one vectorised sort
        counts = np.array([len(m) for m in masks])
        self._index = np.zeros((len(masks), int(counts.max())), np.int64)
        for k, m in enumerate(masks):
            self._index[k, :len(m)] = m
        self._padding = np.arange(self._index.shape[1])[None, :] >= counts[:, None]
        self._middle = (np.arange(len(masks)), (counts - 1) // 2, counts // 2)

    def _pooled(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        flow = self._flow(a, b).reshape(-1, 2).astype(np.float64)
        values = flow[self._index]  # (regions + 1, pixels, 2)
        values[self._padding] = np.inf  # padding sorts last
        values.sort(axis=1)
        rows, low, high = self._middle
        medians = (values[rows, low] + values[rows, high]) / 2.0
        return medians[:-1] - medians[-1]

    def update(self, face: np.ndarray, aligned_landmarks: np.ndarray) -> np.ndarray:
        """Region displacements (K, 2) in inter-ocular distances (x right, y down in the aligned face)."""
        if self._key is None:
            self._build_masks(aligned_landmarks)
            self._key, self._key_disp = face, np.zeros((len(self.keys), 2), np.float32)
            return self._key_disp.copy()
        step = (self._pooled(self._key, face) / self.iod).astype(np.float32)
        disp = self._key_disp + step
        self._since_key += 1
        calm = float(np.abs(step).max()) < self.calm
        if (self._since_key >= self.key_every and calm) or self._since_key >= self.key_max:
            self._key, self._key_disp, self._since_key = face, disp, 0
        return disp
