"""Calibrate the face-verification thresholds on the deepface pivot pairs, every recognizer side by side.

Embeds every distinct image of ``faces/deepface/face-recognition-pivot.csv`` once per model
(largest face, the default detector, :func:`faceqa.perception.identity.get_embedder`), then
prints for each model ROC AUC, the equal error rate, accuracy at its documented threshold and
the thresholds that give the best accuracy, and a side-by-side table.

Usage: ``python scripts/calibrate_verification.py [DATA_DIR] [--models sface,dlib]``
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
from faceqa.media import read_image
from faceqa.perception.calibration import accuracy, best_intervals, equal_error_rate, roc_auc
from faceqa.perception.detection import FaceDetector, largest_face
from faceqa.perception.identity import MODELS, THRESHOLDS, distance, get_embedder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIRS = Path("faces/deepface/face-recognition-pivot.csv")
IMAGES = Path("faces/deepface/images")


def read_pairs(data_dir: Path) -> list[tuple[str, str, bool]]:
    """(file_a, file_b, same) rows of the pivot CSV, with the path prefix stripped."""
    with open(data_dir / PAIRS, newline="") as fh:
        return [(r["file_x"].rsplit("/", 1)[-1], r["file_y"].rsplit("/", 1)[-1], r["decision"] == "Yes")
                for r in csv.DictReader(fh)]


def calibrate(model: str, faces: dict[str, tuple[np.ndarray, object]], pairs: list[tuple[str, str, bool]]) -> dict:
    """Embed the detected faces with ``model`` and score the pairs; prints the details, returns the summary."""
    embedder = get_embedder(model)
    start = time.perf_counter()
    embeddings = {name: embedder.embed(image, face) for name, (image, face) in faces.items()}
    elapsed = time.perf_counter() - start
    kept = [(a, b, s) for a, b, s in pairs if a in embeddings and b in embeddings]
    dist = np.array([distance(embeddings[a], embeddings[b]) for a, b, _ in kept])
    same = np.array([s for _, _, s in kept])
    eer, eer_t = equal_error_rate(dist, same)
    best, intervals = best_intervals(dist, same)
    low, high = max(intervals, key=lambda iv: iv[1] - iv[0])
    threshold = THRESHOLDS[model]
    print(f"== {model}: {len(embeddings)} faces embedded in {elapsed:.1f} s "
          f"({1000 * elapsed / max(len(embeddings), 1):.0f} ms each, alignment included)")
    print(f"pairs: {len(kept)}/{len(pairs)} ({int(same.sum())} same, {int((~same).sum())} different)")
    print(f"distance: same mean {dist[same].mean():.3f} max {dist[same].max():.3f}; "
          f"different mean {dist[~same].mean():.3f} min {dist[~same].min():.3f}")
    print(f"ROC AUC: {roc_auc(dist, same):.4f}")
    print(f"EER: {eer:.4f} at threshold {eer_t:.3f}")
    print(f"accuracy at {threshold:.3f}: {accuracy(dist, same, threshold):.4f}")
    spans = ", ".join(f"[{a:.3f}, {b:.3f})" for a, b in intervals)
    print(f"best accuracy: {best:.4f} for thresholds in {spans}")
    print(f"best threshold: {(low + high) / 2:.3f} (middle of the widest of those intervals)")
    return {"model": model, "threshold": threshold, "accuracy": accuracy(dist, same, threshold),
            "auc": roc_auc(dist, same), "eer": eer, "best": best}


def main(argv: list[str] | None = None) -> int:
    """Detect the pivot faces once, embed and score them with every model; exit 2 when the data is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA,
                        help="the shared data folder (holds faces/deepface/)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated recognizers (default {','.join(MODELS)})")
    args = parser.parse_args(argv)
    if not (args.data_dir / PAIRS).is_file():
        print(f"calibrate_verification: {args.data_dir / PAIRS}: no such file", file=sys.stderr)
        return 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        for m in models:
            get_embedder(m)
    except FaceQAError as exc:
        print(f"calibrate_verification: {exc}", file=sys.stderr)
        return 2
    pairs = read_pairs(args.data_dir)
    detector = FaceDetector()
    faces = {}
    for name in sorted({n for a, b, _ in pairs for n in (a, b)}):
        try:
            image = read_image(args.data_dir / IMAGES / name)
            faces[name] = (image, largest_face(image, detector, name=name))
        except FaceQAError as exc:
            print(f"skipped: {exc}")
    rows = [calibrate(m, faces, pairs) for m in models]
    print(f"\n{'model':<8} {'threshold':>9} {'accuracy':>9} {'AUC':>7} {'EER':>7} {'best acc':>9}")
    for r in rows:
        print(f"{r['model']:<8} {r['threshold']:>9.3f} {r['accuracy']:>9.4f} {r['auc']:>7.4f} {r['eer']:>7.4f} "
              f"{r['best']:>9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
