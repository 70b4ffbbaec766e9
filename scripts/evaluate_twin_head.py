"""Leave-one-identity-out figures of the twin head on the deepface photos and the shared video clips.

Faces: every photo of ``faces/deepface/identities_derived.csv`` (13 identities) and the main
person's faces in ``--per-clip`` frames of each shared clip (7 identities,
:mod:`faceqa.perception.video_faces`); each face's mirror image is its twin. For each identity a
head is trained on the others (:func:`faceqa.perception.twin_eval.leave_one_identity_out`) and
scored on it: mirror separation, genuine pairs kept, and the 280 deepface pivot pairs (each in the
fold of its first photo) SFace alone vs twin-aware.

The threshold scale is calibrated on the *video* identities' folds only (the smallest scale that
keeps 99% of their held-out genuine pairs), then applied to the deepface folds, so the pivot-pair
figures are not tuned on the pivot photos. Printed for the training threshold (scale 1), the
calibrated scale, and both with an SFace floor (the head asked only above that SFace distance).

``--save PATH`` then trains one head on every identity (same steps) and saves it with the
calibrated threshold scale and ``--floor`` (how ``adapters/twin_head/twin_head.pt`` was made);
``--records FILE`` keeps the per-fold records, and ``--from-records FILE`` reads them back instead
of running the folds again.

    .venv/bin/python scripts/evaluate_twin_head.py [--steps 100] [--per-clip 24] [--cache /tmp/twin.pt]
        [--records /tmp/folds.npz | --from-records /tmp/folds.npz] [--save adapters/twin_head/twin_head.pt]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from faceqa.errors import FaceQAError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEEPFACE = Path("faces/deepface")


def deepface_faces(data: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(crops, region boxes, identities, file names) of the deepface photos with an identity."""
    from faceqa.media import read_image
    from faceqa.perception.detection import FaceDetector, largest_face
    from faceqa.perception.twin import crop_and_boxes

    with open(data / DEEPFACE / "identities_derived.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    detector = FaceDetector()
    crops, boxes = [], []
    for r in rows:
        image = read_image(data / DEEPFACE / "images" / r["file"])
        crop, box = crop_and_boxes(image, largest_face(image, detector, name=r["file"]))
        crops.append(crop)
        boxes.append(box)
    return np.stack(crops), np.stack(boxes), [r["identity_cluster"] for r in rows], [r["file"] for r in rows]


def features(data: Path, per_clip: int, cache: Path | None):
    """:class:`TwinFeatures` of the deepface photos then the video faces (read from / written to ``cache``)."""
    import torch

    from faceqa.perception.twin_eval import TwinFeatures, twin_features
    from faceqa.perception.video_faces import shared_video_faces

    if cache is not None and cache.is_file():
        saved = torch.load(cache, weights_only=False)
        if saved.get("per_clip") == per_clip:
            return TwinFeatures(saved["pooled"], saved["glob"], np.asarray(saved["sface"]), saved["labels"],
                                saved["names"])
    crops, boxes, labels, names = deepface_faces(data)
    video = shared_video_faces(data, per_clip=per_clip)
    feats = twin_features(np.concatenate([crops, video.crops]), np.concatenate([boxes, video.boxes]),
                          labels + video.labels, names + [f"{Path(c).stem}:{f}" for c, f in
                                                          zip(video.clips, video.frames, strict=True)])
    if cache is not None:
        torch.save({"per_clip": per_clip, "pooled": feats.pooled, "glob": feats.glob, "sface": feats.sface,
                    "labels": feats.labels, "names": feats.names}, cache)
    return feats


def pivot_pairs(data: Path, names: list[str]) -> list[tuple[int, int, bool]]:
    """The deepface pivot pairs as (face index, face index, same person), those whose photos are in ``names``."""
    at = {n: i for i, n in enumerate(names)}
    with open(data / DEEPFACE / "face-recognition-pivot.csv", newline="") as fh:
        rows = [(r["file_x"].rsplit("/", 1)[-1], r["file_y"].rsplit("/", 1)[-1], r["decision"] == "Yes")
                for r in csv.DictReader(fh)]
    return [(at[a], at[b], s) for a, b, s in rows if a in at and b in at]


def read_records(path: Path) -> list:
    """The folds written by ``--records``."""
    from faceqa.perception.twin_eval import Fold

    with np.load(path) as z:
        names = sorted({k.split("|")[0] for k in z.files})
        return [Fold(n, float(z[f"{n}|threshold"]), z[f"{n}|mirror"], z[f"{n}|genuine"], z[f"{n}|pairs"])
                for n in names]


def main(argv: list[str] | None = None) -> int:
    """Build or read the features, run the folds, print the figures as JSON; exit 2 when the data is missing."""
    import torch

    from faceqa.perception.identity import SFACE_THRESHOLD
    from faceqa.perception.twin import save_head, train_twin_head
    from faceqa.perception.twin_eval import calibrate_scale, leave_one_identity_out, mirror_twin_labels, summarise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--steps", type=int, default=100, help="training steps per fold")
    parser.add_argument("--per-clip", type=int, default=24, help="frames sampled per shared clip")
    parser.add_argument("--floor", type=float, default=0.9, help="SFace floor of the floored variants")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--cache", type=Path, default=None, help="torch file caching the features")
    parser.add_argument("--records", type=Path, default=None, help="write the per-fold records here (.npz)")
    parser.add_argument("--from-records", type=Path, default=None, help="read the per-fold records instead")
    parser.add_argument("--save", type=Path, default=None, help="train a head on everything and save it here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        feats = features(args.data, args.per_clip, args.cache)
        pairs = pivot_pairs(args.data, feats.names)
    except (FaceQAError, OSError) as exc:
        print(f"evaluate_twin_head: {exc}", file=sys.stderr)
        return 2

    def log(fold) -> None:
        print(f"{fold.identity}: threshold {fold.threshold:.3f}, mirror separated "
              f"{np.mean(fold.mirror[:, 1] > 1):.2f}, genuine kept "
              f"{np.mean(fold.genuine[:, 1] <= 1) if len(fold.genuine) else float('nan'):.2f}", flush=True)

    if args.from_records is not None:
        folds = read_records(args.from_records)
    else:
        folds = leave_one_identity_out(feats, pairs, steps=args.steps, log=log)
    if args.records is not None:
        np.savez(args.records, **{f"{f.identity}|{part}": np.asarray(getattr(f, part)) for f in folds
                                  for part in ("threshold", "mirror", "genuine", "pairs")})
    video = [f for f in folds if f.identity.startswith("video_")]
    photo = [f for f in folds if not f.identity.startswith("video_")]
    scale = calibrate_scale(video)
    out = {"faces": len(feats), "identities": len(folds), "steps": args.steps, "calibrated_scale": round(scale, 4)}
    for name, part in (("all", folds), ("video", video), ("deepface", photo)):
        out[name] = [summarise(part, SFACE_THRESHOLD, s, floor) for s in (1.0, scale)
                     for floor in (None, args.floor)]
    print(json.dumps(out, indent=1), flush=True)
    if args.save is not None:
        y, twins = mirror_twin_labels(feats.labels)
        head, report = train_twin_head(feats.pooled, feats.glob, y, twins, steps=args.steps)
        path = save_head(head, report.threshold * scale, args.save, sface_floor=args.floor)
        print(f"saved {path} ({path.stat().st_size} bytes): trained on {len(y)} faces, {len(set(y))} identities, "
              f"loss {report.losses[0]:.3f} -> {report.losses[-1]:.3f}, threshold {report.threshold:.3f} x "
              f"{scale:.3f}, SFace floor {args.floor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
