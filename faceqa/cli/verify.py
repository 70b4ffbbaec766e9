"""``faceqa verify``: are the largest faces in two images the same person?"""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``verify`` subcommand."""
    from faceqa.perception.identity import DEFAULT_MODEL, MODELS, THRESHOLDS

    defaults = ", ".join(f"{m} {t}" for m, t in THRESHOLDS.items())
    p = sub.add_parser("verify", help="tell whether the largest faces in two images are the same person",
                       description="Compare the largest face of each image by a 128-D identity embedding "
                                   f"(default {DEFAULT_MODEL}); same person when the euclidean distance is at "
                                   "most the threshold.")
    p.add_argument("image_a", metavar="IMAGE_A", help="first image file")
    p.add_argument("image_b", metavar="IMAGE_B", help="second image file")
    p.add_argument("--model", choices=MODELS, default=None, help=f"identity model (default {DEFAULT_MODEL})")
    p.add_argument("--threshold", type=float, default=None,
                   help=f"distance at or below which the faces match (default per model: {defaults})")
    p.add_argument("--twin-aware", action="store_true",
                   help="also ask the trained twin head (SFace only): same only when both agree")
    p.add_argument("--twin-head", metavar="PATH", default=None,
                   help="trained twin head file (default $FACEQA_HOME/twin_head.pt; scripts/train_twin_head.py)")
    p.add_argument("--json", action="store_true",
                   help='print {"same": bool, "distance": float, "threshold": float, "model": str}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the two images and print the answer."""
    from faceqa.errors import InvalidInputError
    from faceqa.perception.identity import verify

    if args.twin_aware:
        from faceqa.perception.twin import verify_twin_aware

        if args.model not in (None, "sface"):
            raise InvalidInputError(f"--twin-aware: the twin head reads SFace's features, not {args.model!r}")
        result = verify_twin_aware(args.image_a, args.image_b, head_path=args.twin_head, threshold=args.threshold)
    else:
        result = verify(args.image_a, args.image_b, threshold=args.threshold, model=args.model)
    if args.json:
        print_json(result)
        return 0
    verdict = "same person" if result["same"] else "different people"
    line = (f"{verdict}: distance {result['distance']:.3f} "
            f"({'<=' if result['distance'] <= result['threshold'] else '>'} threshold {result['threshold']:.3f}, "
            f"{result['model']})")
    if args.twin_aware:
        line += (f"; twin distance {result['twin_distance']:.3f} "
                 f"({'<=' if result['twin_distance'] <= result['twin_threshold'] else '>'} "
                 f"{result['twin_threshold']:.3f})")
        floor = result["twin_sface_floor"]
        if floor is not None and result["distance"] < floor:
            line += f", not asked: SFace distance below the head's floor {floor:.3f}"
    print(line)
    return 0
