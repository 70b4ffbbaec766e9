"""Generated media for tests: videos written with OpenCV from real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """Write RGB frames to an mp4 (mp4v) with OpenCV."""
    import cv2

    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    return path


def shifted_frames(image: np.ndarray, n: int, step: float = 2.0, size: tuple[int, int] = (320, 320)) -> list:
    """``n`` crops of ``image`` that drift right/down by ``step`` px per frame (a camera pan)."""
    h, w = size
    out = []
    for i in range(n):
        dx = int(round(40 + step * i))
        dy = int(round(20 + step * i / 2))
        out.append(np.ascontiguousarray(image[dy:dy + h, dx:dx + w]))
    return out
