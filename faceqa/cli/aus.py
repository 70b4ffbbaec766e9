"""``faceqa aus MEDIA``: action-unit intensities of a clip (change from its onset frame), FACS 0-5 / A-E."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``aus`` subcommand."""
    p = sub.add_parser("aus", help="action-unit intensities of a clip, per side (change from the onset frame)")
    p.add_argument("media", help="video file or folder of frames")
    p.add_argument("--onset", type=int, help="onset frame (the reference; default: the first frame)")
    p.add_argument("--offset", type=int, help="offset frame (default: the last frame)")
    p.add_argument("--fps", type=float, help="frame rate (SAMM/CASME II: 200; default: the video's, or 30)")
    p.add_argument("--all", action="store_true", help="list every measured AU, not only the active ones")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure and report AU intensities."""
    from faceqa.evidence.extract import extract_evidence

    ev = extract_evidence(args.media, fps=args.fps, start=args.onset, end=args.offset, mode="clip",
                          progress=not args.no_progress)
    summary = ev.au_summary()
    if not args.all:
        summary = summary[summary["active"]]
    frames = ev.table["frame"]
    if args.json:
        print_json({"media": ev.info.path, "onset": int(frames.iloc[0]), "offset": int(frames.iloc[-1]),
                    "fps": ev.fps, "aus": summary.to_dict(orient="records")})
        return 0
    print(f"{ev.info.path}: frames {frames.iloc[0]}..{frames.iloc[-1]} at {ev.fps:g} fps")
    if summary.empty:
        print("  no active AU")
    for r in summary.itertuples(index=False):
        print(f"  AU{r.au:<3d} {r.name:<24s} {r.intensity:.1f} {r.letter or '-'}  "
              f"(L {r.L:.1f}  R {r.R:.1f})  side {r.side}"
              + ("" if r.active else "  (inactive)"))
    return 0
