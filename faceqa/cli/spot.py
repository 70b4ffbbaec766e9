"""``faceqa spot MEDIA``: spot expression intervals (onset/apex/offset, micro vs macro, AUs, side),
with the emotion deduced from each event's AUs."""

from __future__ import annotations

import argparse

from faceqa.cli.output import print_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``spot`` subcommand."""
    p = sub.add_parser("spot", help="spot micro- and macro-expressions in a video (onset, apex, offset, AUs)",
                       description="Spot expression intervals in a video or frame folder from pose-normalised "
                                   "mesh geometry and regional facial motion, with head motion and blinks "
                                   "suppressed and talking marked.")
    p.add_argument("media", help="video file or folder of frames")
    p.add_argument("--fps", type=float, help="frame rate (SAMM/CASME II: 200; default: the video's, or 30)")
    p.add_argument("--start", type=int, help="first frame index")
    p.add_argument("--end", type=int, help="last frame index (inclusive)")
    p.add_argument("--mode", choices=["auto", "clip", "long"], default="auto",
                   help="reference: first frame (clip) or rolling baseline (long); auto: clip up to 6 s")
    p.add_argument("--json", action="store_true", help="print the events as JSON")
    p.add_argument("--plot", metavar="PNG",
                   help="save a timeline of AU intensities (FACS A-E) with the events and talking shaded")
    p.add_argument("--out", metavar="CSV", help="write the per-frame evidence table (.csv or .parquet)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a spotting parameter of faceqa.evidence.spotting.SpotConfig (e.g. threshold=2.5, "
                        "split_penalty=500); repeatable")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Spot and report."""
    from faceqa.cli._args import parse_params
    from faceqa.evidence.extract import extract_evidence
    from faceqa.evidence.spotting import expression_aus, spot_config
    from faceqa.facs.deduction import deduce
    from faceqa.facs.units import au_by_number
    from faceqa.safeio import check_output

    config = spot_config(parse_params(args.param))
    if args.plot:  # outputs checked before the long pass
        from faceqa.evidence.plot import check_plot_path

        check_plot_path(args.plot)
    if args.out:
        check_output(args.out, overwrite=True)
    ev = extract_evidence(args.media, fps=args.fps, start=args.start, end=args.end, mode=args.mode,
                          config=config, progress=not args.no_progress)
    if args.plot:
        from faceqa.evidence.plot import plot_timeline

        plot_timeline(ev, args.plot)
    if args.out:
        from faceqa.perception.export import save_table

        save_table(ev.table, args.out)
    emotions = [deduce(expression_aus(e.aus)) for e in ev.events]
    if args.json:
        print_json({"media": ev.info.path, "fps": ev.fps, "mode": ev.mode, "frames": len(ev.table),
                    "talking": [{"onset": a, "offset": b} for a, b in ev.talking_spans()],
                    "events": [e.to_dict(emotion=d) for e, d in zip(ev.events, emotions, strict=True)]})
        return 0
    talk = ev.talking_spans()
    print(f"{ev.info.path}: {len(ev.table)} frames at {ev.fps:g} fps ({ev.mode} mode), {len(ev.events)} event(s)"
          + (f"; talking in {len(talk)} span(s)" if talk else ""))
    for e, d in zip(ev.events, emotions, strict=True):
        aus = ", ".join(f"AU{a.au} {au_by_number(a.au).name} ({a.side}, {a.letter or '-'})" for a in e.aus)
        print(f"  {e.kind:5s} onset {e.onset} ({e.onset_s:.2f}s)  apex {e.apex} ({e.apex_s:.2f}s)  "
              f"offset {e.offset} ({e.offset_s:.2f}s): {aus} -> likely {d.fine} ({d.coarse})"
              + ("  [while talking]" if e.talking else ""))
    if args.plot:
        print(f"  timeline saved to {args.plot}")
    return 0
