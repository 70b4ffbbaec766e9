"""``faceqa lipsync STILL_IMAGE AUDIO --out talking.mp4``: a still face speaking the audio."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``lipsync`` subcommand."""
    p = sub.add_parser("lipsync", help="make a talking-head video from a still face and speech",
                       description="Drive the mouth of the face in STILL_IMAGE from the speech in AUDIO (phones -> "
                                   "visemes -> mesh-guided mouth warps), with blinks and small head motion; writes an "
                                   "H.264 + AAC .mp4 in sync with the audio.")
    p.add_argument("image", metavar="STILL_IMAGE", help="photo with one clearly visible face")
    p.add_argument("audio", metavar="AUDIO", help="speech: a .wav/.mp3 or a video's sound track")
    p.add_argument("--out", required=True, metavar="MP4", help="the video to write")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25, AV-HuBERT's)")
    p.add_argument("--head-deg", type=float, default=1.5, help="head motion amplitude in degrees (default 1.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the blinks and head motion")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render and report."""
    from faceqa.audiovisual.lipsync import lipsync

    r = lipsync(args.image, args.audio, args.out, fps=args.fps, head_deg=args.head_deg, seed=args.seed)
    if args.json:
        print_json(r)
    else:
        print(f"{r['out']}: {r['frames']} frames at {r['fps']:g} fps ({r['duration_s']:.1f} s) from {r['image']}")
    return 0
