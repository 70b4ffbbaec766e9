"""Writing frames back out: frame folders and videos."""

from __future__ import annotations

from pathlib import Path

import cv2


def write_frames(frames, out: Path, fps: float) -> None:
    """Write RGB frames to a frame folder, a lossless ``.avi`` (FFV1) or an ``.mp4`` (mp4v).

    A folder gets ``img00000.jpg``, ``img00001.jpg``, ... (JPEG quality 95), numbered from 0 like
    the frame indices of a video, so :func:`faceqa.media.open_media` gives them back with the
    same indices. Frames are written as they come (an iterator is never held in memory).
    """
    if out.suffix == "":
        out.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            cv2.imwrite(str(out / f"img{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
        return
    writer = None
    for frame in frames:
        if writer is None:
            h, w = frame.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*("FFV1" if out.suffix.lower() == ".avi" else "mp4v"))
            writer = cv2.VideoWriter(str(out), fourcc, fps, (w, h))
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    if writer is not None:
        writer.release()
