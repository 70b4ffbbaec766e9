"""``faceqa analyze MEDIA``: faces, mesh, head pose, expression and quality, frame by frame.

``faceqa analyze DIR_OR_GLOB --out OUT_DIR/ [--workers N | --ray auto|ADDRESS]`` analyses a corpus:
one table per clip (``OUT_DIR/<clip>.parquet``, written atomically; a clip whose table exists is
skipped, so a rerun resumes), failures with their reason in ``OUT_DIR/failures.csv``, one summary line
per clip in ``OUT_DIR/summary.jsonl`` (:mod:`faceqa.batch`).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from pathlib import Path

from faceqa.batch import flush_records
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
    p.add_argument("media", help="image, video file (mp4/avi/mov/...) or folder of frames; with --out OUT_DIR/: a "
                                 "folder of clips or a glob pattern (quoted, e.g. 'videos/**/*.mp4')")
    p.add_argument("--out", help="write the per-frame table here (.csv or .parquet); a folder (ending in / or "
                                 "existing): one table per clip of a corpus")
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
    b = p.add_argument_group("a corpus (--out OUT_DIR/)")
    b.add_argument("--workers", type=int, metavar="N",
                   help="clips analysed in parallel (default 1; with --ray: the cluster's CPUs)")
    b.add_argument("--ray", metavar="auto|ADDRESS",
                   help="run the clips on Ray: auto (a running cluster, else a local one) or a cluster address; "
                        "needs faceqa[ray]")
    b.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="table format (default parquet)")
    p.set_defaults(func=run)


def batch_mode(args: argparse.Namespace) -> bool:
    """Whether the command analyses a corpus (``--out`` is a folder) rather than one media."""
    out = args.out or ""
    return out.endswith(("/", os.sep)) or os.path.isdir(out) or (args.workers or 1) > 1 or args.ray is not None


def run(args: argparse.Namespace) -> int:
    """Run the perception pass and report."""
    from faceqa.errors import InvalidInputError

    if batch_mode(args):
        return run_batch(args)
    if glob.has_magic(args.media) and not os.path.exists(args.media):
        raise InvalidInputError(f"{args.media}: a glob pattern analyses a corpus: give --out OUT_DIR/")
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
                flush_records(writer, pending, analysis)
        if writer is not None:
            flush_records(writer, pending, analysis)
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


def run_batch(args: argparse.Namespace) -> int:
    """Analyse every clip of a corpus into OUT_DIR (see the module docstring)."""
    from faceqa import batch
    from faceqa.errors import InvalidInputError
    from faceqa.megc.labels import write_csv
    from faceqa.safeio import check_path, display

    if not args.out:
        raise InvalidInputError("--workers/--ray analyse a corpus: give --out OUT_DIR/")
    out_dir = check_path(args.out, "--out")
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"{display(out_dir)}: --out for a corpus must be a folder")
    clips = batch.list_clips(args.media)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"{display(out_dir)}: cannot create the output folder ({exc.strerror})") from None
    tasks = [batch.AnalyzeTask(key, str(path), str(out_dir / f"{key}.{args.format}")) for key, path in clips]
    todo = [t for t in tasks if not os.path.exists(t.out)]
    worker = batch.AnalyzeWorker(args.fps, args.start, args.end, args.every, args.max_faces, args.iris,
                                 None if args.emotion == "none" else args.emotion,
                                 None if args.landmarks == "none" else args.landmarks)
    failures, done, start = [], 0, time.perf_counter()
    with open(out_dir / "summary.jsonl", "a", encoding="utf-8", errors="backslashreplace") as summary:
        for r in batch.run_batch(todo, worker, args.workers, args.ray, progress=not args.no_progress,
                                 desc=f"analyze {Path(args.media).name}"):
            if r.ok:
                done += 1
                line = {"clip": r.task.key, "media": r.task.media, "out": r.task.out,
                        "frames_analyzed": r.value["frames_analyzed"], "frames_with_face": r.value["frames_with_face"],
                        "faces": len(r.value["faces"]), "seconds": round(r.seconds, 3), "peak_mb": round(r.peak_mb)}
                summary.write(json.dumps(line) + "\n")
                summary.flush()
            else:
                failures.append({"clip": r.task.key, "media": r.task.media, "error": r.error})
    failures_csv = out_dir / "failures.csv"
    if failures:
        write_csv(failures_csv, failures, ("clip", "media", "error"))
    elif failures_csv.exists():
        failures_csv.unlink()
    seconds = time.perf_counter() - start
    result = {"clips": len(tasks), "analysed": done, "already_done": len(tasks) - len(todo), "failed": len(failures),
              "seconds": round(seconds, 2), "clips_per_second": round(done / seconds, 3) if seconds > 0 else 0.0,
              "out": str(out_dir), "failures": str(failures_csv) if failures else None}
    if args.json:
        print_json(result)
    else:
        print(f"{display(out_dir)}: {done} clip(s) analysed, {result['already_done']} already done, "
              f"{len(failures)} failed, of {len(tasks)} ({result['clips_per_second']:.2f} clips/s)")
        if failures:
            print(f"  failures and their reasons: {failures_csv}")
    return 0


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
