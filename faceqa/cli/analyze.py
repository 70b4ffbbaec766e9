"""``faceqa analyze MEDIA``: faces, mesh, head pose, expression and quality, frame by frame."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json
from faceqa.media import open_media
from faceqa.perception.export import TableWriter
from faceqa.perception.pipeline import Analysis, FacePipeline

CHUNK = 256


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` subcommand."""
    p = sub.add_parser("analyze", help="detect and track faces; mesh, pose, expression, quality per frame",
                       description="Analyse an image, a video or a folder of frames. Writes one row per face "
                                   "per frame to --out (CSV or Parquet) and prints a summary.")
    p.add_argument("media", help="image, video file (mp4/avi/mov/...) or folder of frames")
    p.add_argument("--out", help="write the per-frame table here (.csv or .parquet)")
    p.add_argument("--every", type=int, default=1, metavar="N", help="analyse one frame in N (default 1)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--fps", type=float, help="frame rate (default: the video's; 30 for a frame folder)")
    p.add_argument("--start", type=int, help="first frame index (e.g. the onset frame)")
    p.add_argument("--end", type=int, help="last frame index, inclusive (e.g. the offset frame)")
    p.add_argument("--max-faces", type=int, default=5, help="most faces per frame (default 5)")
    p.add_argument("--iris", action="store_true", help="478 landmarks (adds the irises)")
    p.add_argument("--emotion", choices=["fer", "facex", "none"], default="fer",
                   help="expression classifier (default fer)")
    p.add_argument("--landmarks", choices=["columns", "array", "none"], default="columns",
                   help="landmarks in --out as x_i/y_i columns, one array column (Parquet), or none")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the perception pass and report."""
    media = open_media(args.media, fps=args.fps, start=args.start, end=args.end, every=args.every)
    pipe = FacePipeline(max_faces=args.max_faces, iris=args.iris,
                        emotion=None if args.emotion == "none" else args.emotion)
    analysis = Analysis(media.info)
    writer = TableWriter(args.out, None if args.landmarks == "none" else args.landmarks) if args.out else None
    pending = []
    show_bar = not args.no_progress and len(media) > 1
    try:
        for _, records in pipe.stream(media, progress=show_bar):
            analysis.frames += 1
            pending.extend(records)
            if writer is not None and len(pending) >= CHUNK:
                _flush(writer, pending, analysis)
        if writer is not None:
            _flush(writer, pending, analysis)
        else:
            analysis.records.extend(pending)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.close()
    summary = analysis.summary()
    if args.out:
        summary["out"] = args.out
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _flush(writer: TableWriter, pending: list, analysis: Analysis) -> None:
    writer.write(pending)
    for r in pending:  # keep only what the summary needs
        r.landmarks = None
    analysis.records.extend(pending)
    pending.clear()


def _print_summary(s: dict) -> None:
    print(f"{s['media']}: {s['kind']} {s['width']}x{s['height']}, {s['frames_analyzed']} frame(s) analysed, "
          f"face in {s['frames_with_face']}")
    if not s["faces"]:
        print("  no face found")
    for f in s["faces"]:
        pose = f.get("mean_pose", {})
        line = (f"  face {f['face_id']}: {f['frames']} frame(s) {f['first_s']:.2f}-{f['last_s']:.2f} s, "
                f"~{f['mean_size_px']:.0f} px, yaw {pose.get('yaw', 0):+.0f} pitch {pose.get('pitch', 0):+.0f} "
                f"roll {pose.get('roll', 0):+.0f} deg")
        if "expression" in f:
            line += f", expression {f['expression']} ({f['expression_scores'][f['expression']]:.2f})"
        print(line)
    if "out" in s:
        print(f"  table written to {s['out']}")
