"""Train the twin-aware head (:mod:`faceqa.perception.twin`) and save it for ``faceqa verify --twin-aware``.

Input is a CSV with columns ``file`` (relative to ``--images``), ``identity`` and optionally
``twin`` (the identity of that person's twin; leave empty when none). For ND_TWIN (licensed from
the University of Notre Dame, not shipped): one row per photo with the subject id as
``identity`` and the co-twin's subject id as ``twin``. Every image is detected, meshed, aligned
and passed once through the frozen SFace-torch network; the head then trains on the pooled region
features with each anchor's twin as its impostor (the hardest other identity when none is named).

``--mirror-twins`` adds every photo's mirror image as a new identity, the twin of the original:
a stand-in for twins (a face and its mirror are the same point for SFace) on data without them.
Without arguments it trains on the deepface photos in ../shared/data that way. ``--videos`` adds
the main person's faces in ``--per-clip`` frames of each shared video clip, one identity per clip
(:mod:`faceqa.perception.video_faces`). ``--threshold-scale`` multiplies the head's threshold
(the training threshold fits the training people; ``scripts/evaluate_twin_head.py`` calibrates the
scale that keeps held-out people's genuine pairs) and ``--sface-floor`` asks the head only where
SFace's distance is at least that (near-threshold cases).

    python scripts/train_twin_head.py [CSV --images DIR] [--mirror-twins] [--videos] [--steps 300] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from faceqa.errors import FaceQAError

DEEPFACE = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "deepface"
DEFAULT_CSV = DEEPFACE / "identities_derived.csv"


def read_list(path: Path) -> list[tuple[str, str, str]]:
    """(file, identity, twin identity or '') rows of the training CSV."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"file", "identity"} <= set(rows[0]):
        raise FaceQAError(f"{path}: expected a CSV with columns file, identity[, twin]")
    return [(r["file"], r["identity"], (r.get("twin") or "").strip()) for r in rows]


def main(argv: list[str] | None = None) -> int:
    """Build the features, train, save; exit 2 on bad input."""
    from faceqa.media import read_image
    from faceqa.perception.detection import FaceDetector, largest_face
    from faceqa.perception.twin import (
        batched_features,
        crop_and_boxes,
        mirror,
        save_head,
        train_twin_head,
        user_head_path,
    )
    from faceqa.perception.video_faces import shared_video_faces

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--images", type=Path, default=DEEPFACE / "images", help="folder the CSV's files are in")
    parser.add_argument("--identity-column", default="identity_cluster",
                        help="column holding the identity when the CSV is the deepface list")
    parser.add_argument("--mirror-twins", action="store_true", help="add mirror images as twins")
    parser.add_argument("--videos", action="store_true", help="add the shared video clips' faces")
    parser.add_argument("--per-clip", type=int, default=24, help="frames sampled per shared clip (--videos)")
    parser.add_argument("--threshold-scale", type=float, default=1.0, help="multiply the trained threshold")
    parser.add_argument("--sface-floor", type=float, default=None,
                        help="ask the head only when the SFace distance is at least this (default: always)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (more can be slower on a busy CPU)")
    parser.add_argument("--out", type=Path, default=None, help="head file (default $FACEQA_HOME/twin_head.pt)")
    args = parser.parse_args(argv)
    try:
        if args.csv.name == "identities_derived.csv":
            with open(args.csv, newline="") as fh:
                rows = [(r["file"], r[args.identity_column], "") for r in csv.DictReader(fh)]
            args.mirror_twins = True
        else:
            rows = read_list(args.csv)
        detector = FaceDetector()
        crops, boxes, names = [], [], []
        for file, identity, _ in rows:
            image = read_image(args.images / file)
            crop, box = crop_and_boxes(image, largest_face(image, detector, name=file))
            crops.append(crop)
            boxes.append(box)
            names.append(identity)
        if args.videos:
            video = shared_video_faces(per_clip=args.per_clip)
            crops += list(video.crops)
            boxes += list(video.boxes)
            names += video.labels
    except (FaceQAError, OSError) as exc:
        print(f"train_twin_head: {exc}", file=sys.stderr)
        return 2
    ids = {name: i for i, name in enumerate(sorted(set(names)))}
    labels = [ids[n] for n in names]
    twins = {ids[i]: ids[t] for _, i, t in rows if t and t in ids}
    if args.mirror_twins:
        k = len(ids)
        mirrored = [mirror(c, b) for c, b in zip(crops, boxes, strict=True)]
        crops += [m[0] for m in mirrored]
        boxes += [m[1] for m in mirrored]
        labels += [lab + k for lab in labels[: len(names)]]
        twins.update({i: i + k for i in range(k)})
    import torch

    torch.set_num_threads(args.threads)
    pooled, glob = batched_features(np.stack(crops), np.stack(boxes))
    head, report = train_twin_head(pooled, glob, labels, twins, steps=args.steps)
    threshold = report.threshold * args.threshold_scale
    out = save_head(head, threshold, args.out or user_head_path(), sface_floor=args.sface_floor)
    print(f"trained on {len(crops)} faces, {len(set(labels))} identities, {len(twins)} twin pairs; "
          f"loss {report.losses[0]:.3f} -> {report.losses[-1]:.3f}; threshold {report.threshold:.3f} x "
          f"{args.threshold_scale} = {threshold:.3f}; saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
