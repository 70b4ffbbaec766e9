"""Identification against a gallery on the deepface identity clusters (61 images, 13 persons).

Embeds the largest face of every image in ``faces/deepface/identities_derived.csv`` once, then
prints, through the real :class:`faceqa.gallery.Gallery` API:

- closed set, leave one image out: rank-1, rank-5, and rank-1 accepted within the threshold;
- open set, leave one person out: the fraction of their images answered "unknown";
- verification on every pair of those images: ROC AUC, EER and accuracy at the threshold.

Usage: ``python scripts/evaluate_identification.py [DATA_DIR] [--threshold T] [--json]``
(DATA_DIR defaults to ../shared/data beside the checkout).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from faceqa.errors import FaceQAError
from faceqa.gallery.evaluate import leave_one_identity_out, leave_one_image_out
from faceqa.perception.calibration import pairs_from_labels, verification_report
from faceqa.perception.identity import DEFAULT_THRESHOLD, embed_largest_face

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CLUSTERS = Path("faces/deepface/identities_derived.csv")
IMAGES = Path("faces/deepface/images")


def read_clusters(data_dir: Path) -> list[tuple[str, str]]:
    """(file name, identity cluster) rows of the derived identities CSV."""
    with open(data_dir / CLUSTERS, newline="") as fh:
        return [(r["file"], r["identity_cluster"]) for r in csv.DictReader(fh)]


def embed_all(data_dir: Path, rows: list[tuple[str, str]]) -> tuple[np.ndarray, list[str], list[str]]:
    """(embeddings, labels, file names) of the images whose largest face could be embedded."""
    vectors, labels, files = [], [], []
    for name, label in tqdm(rows, desc="embedding", unit="image", leave=False):
        try:
            vectors.append(embed_largest_face(data_dir / IMAGES / name))
        except FaceQAError as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        labels.append(label)
        files.append(name)
    return np.stack(vectors), labels, files


def main(argv: list[str] | None = None) -> int:
    """Embed the cluster images and print the identification and verification figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA,
                        help="the shared data folder (holds faces/deepface/)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help=f"acceptance distance (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not (args.data_dir / CLUSTERS).is_file():
        print(f"evaluate_identification: {args.data_dir / CLUSTERS}: no such file", file=sys.stderr)
        return 2
    rows = read_clusters(args.data_dir)
    start = time.perf_counter()
    vectors, labels, files = embed_all(args.data_dir, rows)
    elapsed = time.perf_counter() - start
    closed = leave_one_image_out(vectors, labels, files, threshold=args.threshold)
    opened = leave_one_identity_out(vectors, labels, files, threshold=args.threshold)
    verification = verification_report(*pairs_from_labels(vectors, labels), args.threshold)
    if args.json:
        print(json.dumps({"images": len(files), "closed_set": closed, "open_set": opened,
                          "verification": verification}, indent=2))
        return 0
    print(f"images: {len(files)}/{len(rows)} embedded in {elapsed:.1f} s, {len(set(labels))} persons")
    print(f"closed set, leave one image out ({closed['queries']} queries): rank-1 {closed['rank1']:.4f}, "
          f"rank-5 {closed['rank5']:.4f}, rank-1 within {args.threshold:.2f}: {closed['rank1_accepted']:.4f}")
    for e in closed["errors"]:
        print(f"  wrong: {e['source']} ({e['truth']}) -> {e['predicted']} at {e['distance']:.3f}")
    print(f"open set, leave one person out ({opened['queries']} queries): answered unknown "
          f"{opened['unknown_rate']:.4f}")
    for e in opened["false_accepts"]:
        print(f"  false accept: {e['source']} ({e['truth']}) -> {e['accepted_as']} at {e['distance']:.3f}")
    v = verification
    print(f"verification on all {v['pairs']} pairs ({v['same_pairs']} same): ROC AUC {v['roc_auc']:.4f}, "
          f"EER {v['eer']:.4f} at {v['eer_threshold']:.3f}, accuracy at {v['threshold']:.2f}: {v['accuracy']:.4f} "
          f"(FAR {v['false_accept_rate']:.4f}, FRR {v['false_reject_rate']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
