"""Calibrate the face-verification threshold on the deepface pivot pairs.

Embeds every distinct image of ``faces/deepface/face-recognition-pivot.csv`` once (largest
face, the default detector and :class:`faceqa.perception.identity.FaceEmbedder`), then prints
ROC AUC, the equal error rate, accuracy at the default threshold and the thresholds that give
the best accuracy.

Usage: ``python scripts/calibrate_verification.py [DATA_DIR] [--threshold T]``
(DATA_DIR defaults to ../shared/data beside the checkout).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from faceqa.errors import FaceQAError
from faceqa.perception.calibration import accuracy, best_intervals, equal_error_rate, roc_auc
from faceqa.perception.identity import DEFAULT_THRESHOLD, distance, embed_largest_face

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIRS = Path("faces/deepface/face-recognition-pivot.csv")
IMAGES = Path("faces/deepface/images")


def read_pairs(data_dir: Path) -> list[tuple[str, str, bool]]:
    """(file_a, file_b, same) rows of the pivot CSV, with the path prefix stripped."""
    with open(data_dir / PAIRS, newline="") as fh:
        return [(r["file_x"].rsplit("/", 1)[-1], r["file_y"].rsplit("/", 1)[-1], r["decision"] == "Yes")
                for r in csv.DictReader(fh)]


def main(argv: list[str] | None = None) -> int:
    """Embed the pivot images, print the metrics; exit 2 when the data is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA,
                        help="the shared data folder (holds faces/deepface/)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help=f"threshold to report accuracy at (default {DEFAULT_THRESHOLD})")
    args = parser.parse_args(argv)
    if not (args.data_dir / PAIRS).is_file():
        print(f"calibrate_verification: {args.data_dir / PAIRS}: no such file", file=sys.stderr)
        return 2
    pairs = read_pairs(args.data_dir)
    names = sorted({n for a, b, _ in pairs for n in (a, b)})
    start = time.perf_counter()
    embeddings = {}
    for name in names:
        try:
            embeddings[name] = embed_largest_face(args.data_dir / IMAGES / name)
        except FaceQAError as exc:
            print(f"skipped: {exc}")
    elapsed = time.perf_counter() - start
    kept = [(a, b, s) for a, b, s in pairs if a in embeddings and b in embeddings]
    dist = np.array([distance(embeddings[a], embeddings[b]) for a, b, _ in kept])
    same = np.array([s for _, _, s in kept])
    eer, eer_t = equal_error_rate(dist, same)
    best, intervals = best_intervals(dist, same)
    low, high = max(intervals, key=lambda iv: iv[1] - iv[0])
    print(f"images: {len(embeddings)}/{len(names)} embedded in {elapsed:.1f} s "
          f"({1000 * elapsed / max(len(names), 1):.0f} ms each, reading and detection included)")
    print(f"pairs: {len(kept)}/{len(pairs)} ({int(same.sum())} same, {int((~same).sum())} different)")
    print(f"distance: same mean {dist[same].mean():.3f} max {dist[same].max():.3f}; "
          f"different mean {dist[~same].mean():.3f} min {dist[~same].min():.3f}")
    print(f"ROC AUC: {roc_auc(dist, same):.4f}")
    print(f"EER: {eer:.4f} at threshold {eer_t:.3f}")
    print(f"accuracy at {args.threshold:.3f}: {accuracy(dist, same, args.threshold):.4f}")
    spans = ", ".join(f"[{a:.3f}, {b:.3f})" for a, b in intervals)
    print(f"best accuracy: {best:.4f} for thresholds in {spans}")
    print(f"best threshold: {(low + high) / 2:.3f} (middle of the widest of those intervals)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
