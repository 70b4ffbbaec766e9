"""``faceqa mouth-roi VIDEO --out mouth.npy``: mouth crops as AV-HuBERT reads them, and lip activity."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``mouth-roi`` subcommand."""
    p = sub.add_parser("mouth-roi", help="export the mouth region for AV-HuBERT (96x96 gray, 25 fps)",
                       description="Track the main face and write its mouth as grayscale 96x96 crops at 25 fps "
                                   "(eye line levelled, centred on the mouth; AV-HuBERT uses the 88x88 centre crop), "
                                   "and report the frames where the lips move like speech.")
    p.add_argument("video", metavar="VIDEO", help="video file or folder of frames")
    p.add_argument("--out", required=True, metavar="FILE", help=".npy (T, 96, 96) uint8, or .mp4/.avi")
    p.add_argument("--fps", type=float, default=25.0, help="output frame rate (default 25)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and report."""
    from faceqa.audiovisual.mouth import export_mouth_rois, mouth_track, visual_voice_activity
    from faceqa.evidence.talking import spans

    track = mouth_track(args.video)
    r = export_mouth_rois(args.video, args.out, fps=args.fps, track=track)
    active = visual_voice_activity(track)
    r["lip_activity_s"] = [[round(float(track.times_s[a]), 2), round(float(track.times_s[b]), 2)]
                           for a, b in spans(active)]
    if args.json:
        print_json(r)
    else:
        print(f"{args.video}: {r['frames']} mouth crops {r['size']}x{r['size']} at {r['fps']:g} fps -> {r['out']} "
              f"(face in {r['face_frames']} source frames); lips active in {len(r['lip_activity_s'])} span(s)")
    return 0
