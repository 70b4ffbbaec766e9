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
    p.add_argument("--json", action="store_true",
                   help='print {"same": bool, "distance": float, "threshold": float, "model": str}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify the two images and print the answer."""
    from faceqa.perception.identity import verify

    result = verify(args.image_a, args.image_b, threshold=args.threshold, model=args.model)
    if args.json:
        print_json(result)
    else:
        verdict = "same person" if result["same"] else "different people"
        print(f"{verdict}: distance {result['distance']:.3f} "
              f"({'<=' if result['same'] else '>'} threshold {result['threshold']:.3f}, {result['model']})")
    return 0
