"""``faceqa quality MEDIA``: frame and clip quality in [0, 1] (sharpness, noise, exposure, motion blur,
face size, pose)."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``quality`` subcommand."""
    p = sub.add_parser("quality", help="score image / video quality and face quality per frame and per clip",
                       description="Score each frame's main face (sharpness, noise, exposure, motion blur, face size, "
                                   "pose) and the whole frame in [0, 1], and the clip as the mean over frames "
                                   "(frames without a face count 0).")
    p.add_argument("media", metavar="MEDIA", help="image, video file or folder of frames")
    p.add_argument("--every", type=int, default=1, metavar="N", help="analyse one frame in N (default 1)")
    p.add_argument("--frames", action="store_true", help="include every frame's scores in --json output")
    p.add_argument("--out", metavar="CSV", help="write the per-frame scores to this .csv file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Assess the media and report."""
    from pathlib import Path

    from faceqa.errors import InvalidInputError
    from faceqa.perception.export import save_table
    from faceqa.quality import assess_quality, frames_table
    from faceqa.safeio import check_output

    if args.out and Path(args.out).suffix.lower() != ".csv":
        raise InvalidInputError(f"{args.out}: --out must be a .csv file")
    if args.out:
        check_output(args.out, overwrite=True)
    result = assess_quality(args.media, every=args.every, frames=bool(args.frames or args.out),
                            progress=not args.no_progress)
    if args.out:
        save_table(frames_table(result), args.out)
        result["out"] = args.out
        if not args.frames:
            del result["frames"]
    if args.json:
        print_json(result)
    else:
        _print(result)
    return 0


def _print(r: dict) -> None:
    print(f"{r['media']}: {r['kind']}, {r['frames_analyzed']} frame(s) analysed, face in {r['coverage']:.0%}")
    face = "n/a" if r["face_score"] is None else f"{r['face_score']:.2f}"
    print(f"  score {r['score']:.2f} (faces {face}, whole frames {r['image_score']:.2f})")
    if r["components"]:
        print("  " + "  ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in r["components"].items()))
    if r["frames_analyzed"] > 1:
        worst = "; ".join(f"frame {w['frame']} ({w['time_s']:.2f} s) {w['score']:.2f}, weakest {w['weakest']}"
                          for w in r["worst_frames"])
        print(f"  worst: {worst}")
    if "out" in r:
        print(f"  per-frame scores written to {r['out']}")
