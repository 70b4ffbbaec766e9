"""``faceqa av-sync VIDEO``: the audio-video offset from the lips and the voice."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``av-sync`` subcommand."""
    p = sub.add_parser("av-sync", help="estimate the audio-video offset of a talking-face video",
                       description="Cross-correlate the lip opening of the main face with the voice's energy; "
                                   "offset_ms > 0 when the audio lags the video.")
    p.add_argument("video", metavar="VIDEO", help="video file with a face and a sound track")
    p.add_argument("--max-lag-ms", type=float, default=1000.0, help="largest offset searched (default 1000)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Estimate and print the offset."""
    from faceqa.audiovisual.sync import av_sync

    r = av_sync(args.video, max_lag_s=args.max_lag_ms / 1000.0).to_dict()
    r = {"video": args.video, **r}
    if args.json:
        print_json(r)
    else:
        lag = "lags" if r["offset_ms"] >= 0 else "leads"
        print(f"{args.video}: audio {lag} video by {abs(r['offset_ms']):.0f} ms "
              f"(confidence {r['confidence']:.2f}, correlation {r['correlation']:.2f})")
    return 0
