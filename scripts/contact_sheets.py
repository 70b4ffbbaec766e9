"""Contact sheets of a video's frames, for labelling expression events by eye (tests/data/real_events.json).

    python scripts/contact_sheets.py VIDEO OUT/ [--step 3] [--start 0] [--end LAST] [--region face]
                                     [--cols 6] [--rows 5] [--size 220] [--box X0,Y0,X1,Y1]
                                     [--detector ../shared/data/models/yunet/yunet_s_640_640.onnx]

Decodes every frame sequentially with OpenCV, so a frame's index is its 0-based position in decoding
order (the label file's protocol), and writes PNG sheets of every ``--step``-th frame from ``--start``
to ``--end``, ``--cols`` x ``--rows`` tiles each, every tile stamped with its frame index. Each tile
is the face's box (``--region face``), its upper or lower half (``eyes``, ``mouth``) or the whole
frame (``full``). The box is the median over the clip of OpenCV's stock YuNet face detector
(``--detector``; every 5th frame, in a first pass), 30 % wider on each side, unless ``--box`` sets it; without a
detector file, or where no face is found, tiles show the whole frame. Labellers use it instead of
faceqa on purpose: the labels must not come from the detector they judge, so this script imports
nothing from faceqa, and the box only frames the thumbnails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DETECTOR = REPO.parent / "shared" / "data" / "models" / "yunet" / "yunet_s_640_640.onnx"
REGIONS = ("face", "eyes", "mouth", "full")
DETECT_SIZE = 640


def frames(video: Path) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame (BGR)) for every frame of ``video`` in decoding order, one at a time; ValueError naming
    the file when none decodes."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    n = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield n, frame
            n += 1
    finally:
        cap.release()
    if not n:
        raise ValueError(f"{video}: no frame could be decoded (not a video, or corrupt)")


def face_box(sample: Iterable[np.ndarray], detector: Path | None) -> tuple[int, int, int, int] | None:
    """The median YuNet face box (x0, y0, x1, y1) over the ``sample`` frames, widened by 30 % on each side
    and kept inside the frame; None without a detector file or when no face is found."""
    import cv2

    if detector is None or not detector.is_file():
        return None
    net = cv2.FaceDetectorYN.create(str(detector), "", (DETECT_SIZE, DETECT_SIZE), 0.6)
    found, width, height = [], 0, 0
    for frame in sample:
        height, width = frame.shape[:2]
        faces = net.detect(cv2.resize(frame, (DETECT_SIZE, DETECT_SIZE)))[1]
        if faces is not None and len(faces):
            scale = np.array([width, height, width, height], np.float64) / DETECT_SIZE
            found.append(max(faces, key=lambda f: f[2] * f[3])[:4] * scale)
    if not found:
        return None
    x, y, w, h = np.median(np.array(found), axis=0)
    return (int(max(0, x - 0.3 * w)), int(max(0, y - 0.3 * h)),
            int(min(width, x + 1.3 * w)), int(min(height, y + 1.3 * h)))


def region_box(box: tuple[int, int, int, int] | None, region: str, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The part of the frame (x0, y0, x1, y1) a tile shows: the face ``box`` or its upper or lower half,
    or the whole frame (for ``full`` or without a box)."""
    height, width = shape[:2]
    if box is None or region == "full":
        return 0, 0, width, height
    x0, y0, x1, y1 = box
    middle = (y0 + y1) // 2
    return {"face": box, "eyes": (x0, y0, x1, middle), "mouth": (x0, middle, x1, y1)}[region]


def tile(frame: np.ndarray, box: tuple[int, int, int, int], size: int, index: int) -> np.ndarray:
    """``frame``'s ``box`` scaled to fit a ``size`` x ``size`` tile, stamped with its frame ``index``."""
    import cv2

    x0, y0, x1, y1 = box
    crop = frame[y0:y1, x0:x1]
    scale = size / max(crop.shape[:2])
    crop = cv2.resize(crop, (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale))))
    out = np.zeros((size, size, 3), np.uint8)
    out[:crop.shape[0], :crop.shape[1]] = crop
    cv2.putText(out, str(index), (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
    return out


def sheets(tiles: list[tuple[int, np.ndarray]], cols: int, rows: int) -> list[tuple[list[int], np.ndarray]]:
    """(frame indices, sheet image) for each group of ``cols * rows`` of the (frame index, :func:`tile`)
    ``tiles``; a short last row is filled with black tiles."""
    out = []
    per = cols * rows
    for start in range(0, len(tiles), per):
        group = [i for i, _ in tiles[start:start + per]]
        images = [image for _, image in tiles[start:start + per]]
        images += [np.zeros_like(images[0])] * (-len(images) % cols)
        grid = [np.hstack(images[r:r + cols]) for r in range(0, len(images), cols)]
        out.append((group, np.vstack(grid)))
    return out


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``"X0,Y0,X1,Y1"`` -> the box; exits with a message naming ``--box`` when it is not four integers
    with X0 < X1 and Y0 < Y1."""
    try:
        box = tuple(int(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or box[0] >= box[2] or box[1] >= box[3]:
        sys.exit(f"--box {text!r}: expected four integers X0,Y0,X1,Y1 with X0 < X1 and Y0 < Y1")
    return box


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, decode the video, write the sheets and print their paths."""
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("out", type=Path, help="the folder to write the sheets to")
    ap.add_argument("--step", type=int, default=3, help="every STEP-th frame (1: every frame)")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--end", type=int, default=None, help="the last frame (default: the clip's last)")
    ap.add_argument("--region", choices=REGIONS, default="face")
    ap.add_argument("--cols", type=int, default=6)
    ap.add_argument("--rows", type=int, default=5)
    ap.add_argument("--size", type=int, default=220, help="tile size in pixels")
    ap.add_argument("--box", default=None, help="X0,Y0,X1,Y1: the face box, set by hand")
    ap.add_argument("--detector", type=Path, default=DETECTOR, help="a YuNet .onnx file for the face box")
    args = ap.parse_args(argv)
    if not args.video.is_file():
        sys.exit(f"{args.video}: no such file")
    if min(args.step, args.cols, args.rows, args.size) < 1:
        sys.exit("--step, --cols, --rows and --size must be at least 1")
    box = parse_box(args.box) if args.box else None
    end = float("inf") if args.end is None else args.end
    tiles, region, n = [], None, 0
    try:
        if box is None:  # a first pass for the face box, every 5th frame
            box = face_box((frame for i, frame in frames(args.video) if i % 5 == 0), args.detector)
        for i, frame in frames(args.video):  # frames are tiled as they come: memory holds tiles, not the clip
            n = i + 1
            if args.start <= i <= end and (i - args.start) % args.step == 0:
                region = region or region_box(box, args.region, frame.shape)
                tiles.append((i, tile(frame, region, args.size, i)))
    except ValueError as e:
        sys.exit(str(e))
    if not tiles:
        sys.exit(f"no frame in {args.start}..{min(end, n - 1)} ({n} decoded)")
    print(f"{args.video}: {n} frames; tiles show {region}")
    args.out.mkdir(parents=True, exist_ok=True)
    for group, sheet in sheets(tiles, args.cols, args.rows):
        path = args.out / f"{args.region}_{group[0]:05d}_{group[-1]:05d}_step{args.step}.png"
        cv2.imwrite(str(path), sheet)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
