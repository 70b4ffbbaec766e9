"""Spotting and AU read-out on the hand-labelled real clips (tests/data/real_events.json).

    python scripts/evaluate_real_events.py [--split tune|report|all] [--clips d3 d10] [--mode auto]
                                           [--data ../shared/data [--data more/]] [--json out.json]
                                           [--plot DIR] [--verbose] [--cache DIR]
                                           [--param split_penalty=500 ...] [--sweep threshold=1.5,2,3]

Prints, per clip and overall for each split: events labelled / predicted, hits at IoU >= 0.5
(MEGC's criterion), how the misses were missed (no spotted event there, or the nearest one too
long or too short), precision, recall, F1, the share of hits whose named AUs include a labelled
AU, recall counting only such AU-correct hits, the AU naming scored AU by AU over the hits (how
many AUs a hit names, the share of them that are labelled, the share of the labelled AUs the
detector reads that it named), and false events per minute of labelled talking (see
:mod:`faceqa.evidence.labelled_events` for the rules, don't-care events included); overall, the
95 % Wilson intervals of the precision and recall, since a few dozen events leave them uncertain.
Clips from outside the shared data (their ``source`` in the label file) are looked for in every
``--data`` folder in turn; a clip that is in none of them, or whose file is not the labelled one
(SHA-256), is left out with a line saying so, and the others are scored.
``--verbose`` lists every hit, miss and false event; ``--param NAME=VALUE`` scores the spotting
with a parameter of :class:`~faceqa.evidence.spotting.SpotConfig` changed (choose on the tune
split, then look at the report split once). ``--cache DIR`` keeps each clip's measurements (the
evidence pass's per-frame table) in DIR and, on the next run, only re-reads them with the current
spotting code and settings (:meth:`~faceqa.evidence.extract.Evidence.respot`): a ``--param`` sweep
takes seconds instead of minutes. A clip is measured again when its file, ``--mode`` or the code
that measures (perception, media, alignment, flow, mesh measures, the evidence pass) has changed.
``--sweep NAME=V1,V2,...`` then scores every clip again at each value of one spotting parameter and
prints one line per value with each split's figures (in the JSON under ``sweep``); with ``--plot`` it
also draws the trade-off the parameter moves along (``sweep_NAME.png``), with the acceptance targets
(:data:`~faceqa.evidence.labelled_events.TARGETS`) marked.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import pickle
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "data" / "real_events.json"
MEASURING_CODE = ("faceqa/perception", "faceqa/media", "faceqa/evidence/align.py", "faceqa/evidence/motion.py",
                  "faceqa/evidence/face_geometry.py", "faceqa/evidence/mesh_features.py",
                  "faceqa/evidence/regions.py", "faceqa/evidence/extract.py")
"""The code whose change makes a cached clip be measured again (see ``--cache``)."""


def _data_dirs(args: list[str]) -> list[Path]:
    """The data folders to look for the clips in: every ``--data``, else the shared one."""
    if args:
        missing = [a for a in args if not Path(a).is_dir()]
        if missing:
            sys.exit(f"--data {missing[0]}: not a folder")
        return [Path(a) for a in args]
    for c in [os.environ.get("FACEQA_TEST_DATA"), REPO.parent / "shared" / "data"]:
        if c and Path(c).is_dir():
            return [Path(c)]
    sys.exit("the real data folder was not found: pass --data or set FACEQA_TEST_DATA")


def find_video(clip, roots: list[Path]) -> tuple[Path | None, str]:
    """(the clip's video, "") from the first data folder that has it, or (None, why it is left out): not
    found (with where it comes from), or a file that is not the labelled one (its SHA-256 differs)."""
    for root in roots:
        path = root / clip.path
        if path.is_file():
            if not clip.is_labelled_file(path):
                return None, f"{path} is not the labelled file (its SHA-256 differs)"
            return path, ""
    where = f" (get it from {clip.source})" if clip.source else ""
    return None, f"{clip.path} is in none of {', '.join(map(str, roots))}{where}"


@functools.cache
def measuring_fingerprint() -> str:
    """A short hash of the code in :data:`MEASURING_CODE` (file names and contents)."""
    digest = hashlib.sha256()
    for entry in MEASURING_CODE:
        path = REPO / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(REPO)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def measure(clip, video: Path, mode: str, config, pipeline, cache: Path | None):
    """(the labelled ``clip``'s :class:`~faceqa.evidence.extract.Evidence` from ``video``, spotted with
    ``config``; whether it came from ``cache``). ``pipeline()`` gives the perception pipeline when the
    clip must be measured."""
    from faceqa.evidence.extract import extract_evidence

    if cache is None:
        return extract_evidence(video, mode=mode, pipeline=pipeline(), config=config), False
    name = clip.name
    file_hash = clip.sha256 or hashlib.sha256(video.read_bytes()).hexdigest()  # find_video checked a given one
    kept = cache / f"{name}-{file_hash[:12]}-{mode}-{measuring_fingerprint()}.pkl"
    if kept.is_file():
        try:
            with kept.open("rb") as f:
                return pickle.load(f).respot(config), True
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError) as e:
            print(f"{name:>24}: the cached measurements {kept} are unreadable ({type(e).__name__}): measuring again")
    evidence = extract_evidence(video, mode=mode, pipeline=pipeline(), config=config)
    partial = kept.with_suffix(".part")
    with partial.open("wb") as f:
        pickle.dump(evidence, f)
    partial.replace(kept)
    return evidence, False


def predicted_events(evidence) -> list:
    """An :class:`~faceqa.evidence.extract.Evidence`'s events as scored predictions."""
    from faceqa.evidence.labelled_events import PredictedEvent

    return [PredictedEvent(e.onset, e.offset, tuple(a.au for a in e.aus), e.kind) for e in evidence.events]


def score_evidence(clip, evidence):
    """The labelled ``clip``'s :class:`~faceqa.evidence.labelled_events.ClipScore` for ``evidence``'s events
    (its talking frames and the AUs the detector reads included)."""
    from faceqa.evidence.au_intensity import INTENSITY_AUS
    from faceqa.evidence.labelled_events import score_clip

    t = evidence.table
    return score_clip(clip, predicted_events(evidence), talking_frames=t["frame"][t["talking"].astype(bool)],
                      readable_aus=INTENSITY_AUS)


def parse_sweep(text: str, config) -> tuple[str, list[float]]:
    """``"threshold=3,1.5,2"`` -> ("threshold", [1.5, 2.0, 3.0]): the values sorted, each once, each checked
    as a spotting parameter (:func:`~faceqa.evidence.spotting.spot_config` on ``config``);
    InvalidInputError naming the problem."""
    from faceqa.errors import InvalidInputError
    from faceqa.evidence.spotting import spot_config

    name, sep, listed = text.partition("=")
    try:
        values = [float(v) for v in listed.split(",")] if sep and name.strip() else []
    except ValueError:
        values = []
    if not values:
        raise InvalidInputError(f"{text!r}: expected NAME=V1,V2,... with numbers")
    for value in values:
        spot_config({name.strip(): value}, base=config)
    return name.strip(), sorted(set(values))


def sweep_scores(measured: dict, name: str, values: list[float], config) -> list[dict]:
    """One row per value of the spotting parameter ``name``: ``{"value": v, split: overall summary}`` for
    every split of ``measured`` ({split: [(labelled clip, Evidence), ...]}), re-spotted with ``config``
    and ``name`` = v."""
    from faceqa.evidence.labelled_events import overall_summary
    from faceqa.evidence.spotting import spot_config

    rows = []
    for value in values:
        changed = spot_config({name: value}, base=config)
        rows.append({"value": value} | {split: overall_summary([score_evidence(clip, ev.respot(changed))
                                                                for clip, ev in items])
                                        for split, items in measured.items()})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the evidence pass on the labelled clips and print the scores."""
    from faceqa.cli._args import parse_params
    from faceqa.errors import InvalidInputError
    from faceqa.evidence.labelled_events import load_labelled_clips, overall_summary
    from faceqa.evidence.labelled_plot import plot_labelled_clip, plot_sweep
    from faceqa.evidence.spotting import spot_config
    from faceqa.perception import FacePipeline

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("tune", "report", "all"), default="all")
    ap.add_argument("--clips", nargs="*", help="only these clips (names in the label file)")
    ap.add_argument("--mode", default="auto", choices=("auto", "clip", "long"))
    ap.add_argument("--data", action="append", default=[],
                    help="a folder holding the clips under their labelled paths (repeatable, searched in order; "
                         "default ../shared/data or $FACEQA_TEST_DATA)")
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--plot", metavar="DIR", help="save a picture of each scored clip in this folder")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="a spotting parameter (SpotConfig in faceqa.evidence.spotting), e.g. split_penalty=500; "
                         "repeatable")
    ap.add_argument("--cache", metavar="DIR",
                    help="keep each clip's measurements in this folder; later runs only re-spot them (a clip is "
                         "measured again when its file, --mode or the code that measures changes)")
    ap.add_argument("--sweep", metavar="NAME=V1,V2,...",
                    help="then score the clips at each of these values of one spotting parameter, one line per "
                         "value (with --plot, a picture of the trade-off, sweep_NAME.png, beside the clips' pictures)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        config = spot_config(parse_params(args.param))
    except InvalidInputError as e:
        sys.exit(f"--param: {e}")
    try:
        sweep = parse_sweep(args.sweep, config) if args.sweep else None
    except InvalidInputError as e:
        sys.exit(f"--sweep: {e}")
    roots = _data_dirs(args.data)
    clips = load_labelled_clips(args.labels)
    if args.plot:
        try:
            Path(args.plot).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            sys.exit(f"--plot {args.plot}: cannot make that folder ({e.strerror or e})")
    cache = Path(args.cache) if args.cache else None
    if cache is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            sys.exit(f"--cache {args.cache}: cannot make that folder ({e.strerror or e})")
    pipeline = functools.cache(lambda: FacePipeline(emotion=None, quality=False))  # loaded when a clip is measured

    report: dict = {}
    measured: dict[str, list] = {}
    for split in ("tune", "report"):
        if args.split not in (split, "all"):
            continue
        scores = []
        rows = {}
        for name, clip in clips.items():
            if clip.split != split or (args.clips and name not in args.clips):
                continue
            video, why = find_video(clip, roots)
            if video is None:
                print(f"{name:>24}: left out: {why}")
                rows[name] = {"left_out": why}
                continue
            t0 = time.perf_counter()
            ev, cached = measure(clip, video, args.mode, config, pipeline, cache)
            score = score_evidence(clip, ev)
            if args.plot:
                plot_labelled_clip(ev.table, clip, predicted_events(ev), score, Path(args.plot) / f"{name}.png")
            scores.append(score)
            if sweep is not None:
                measured.setdefault(split, []).append((clip, ev))
            rows[name] = score.summary() | {"mode": ev.mode, "seconds": round(time.perf_counter() - t0, 1),
                                            "from_cache": cached}
            _print_row(name, rows[name])
            if args.verbose:
                _print_details(score)
        if scores:
            rows["overall"] = overall_summary(scores)
            _print_row(f"{split} overall", rows["overall"])
            _print_intervals(rows["overall"])
            print()
        if rows:
            report[split] = rows
    if sweep is not None and not measured:
        print("--sweep: no clip was scored, so there is nothing to sweep")
    elif sweep is not None:
        name, values = sweep
        report["sweep"] = {"parameter": name, "rows": sweep_scores(measured, name, values, config)}
        for row in report["sweep"]["rows"]:
            _print_sweep_row(name, row)
        if args.plot:
            print(f"trade-off: {plot_sweep(name, report['sweep']['rows'], Path(args.plot) / f'sweep_{name}.png')}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def _print_row(name: str, r: dict) -> None:
    rate = r["false_per_talking_min"]
    print(f"{name:>24}: labelled {r['labelled']:>2} predicted {r['predicted']:>2} hits {r['hits']:>2} "
          f"(missed: unseen {r['missed_unseen']}, spotted too long {r['missed_too_long']}, too short "
          f"{r['missed_too_short']}) P {r['precision']:.2f} R {r['recall']:.2f} F1 {r['f1']:.2f} | "
          f"AU-correct {r['au_share']:.2f} of hits, "
          f"recall {r['au_recall']:.2f}; AUs named per hit {_share(r['aus_per_hit'])}, P {r['au_precision']:.2f} "
          f"R {r['au_label_recall']:.2f} | talking {r['talking_s']:.0f} s, false there "
          f"{r['false_in_talking']} ({_share(rate)}/min) | talking frames "
          f"marked {r['talking_frames_marked']}, P {_share(r['talking_precision'])} R {_share(r['talking_recall'])}")


def _print_sweep_row(name: str, row: dict) -> None:
    print(f"{name}={row['value']:g}: " + " | ".join(
        f"{split} P {r['precision']:.2f} R {r['recall']:.2f} F1 {r['f1']:.2f} "
        f"false/talking min {_share(r['false_per_talking_min'])} mean clip F1 {_share(r['mean_clip_f1'])} "
        f"false on clips with nothing to find {r['false_without_events']}"
        for split, r in row.items() if split != "value"))


def _print_intervals(r: dict) -> None:
    p, rc, mean = r["precision_ci95"], r["recall_ci95"], r["mean_clip_f1"]
    unseen = (f" (it cannot see the {r['clips_without_events']} clip(s) with nothing to find: "
              f"{r['false_without_events']} false event(s) there)") if r["clips_without_events"] else ""
    print(f"{'':>24}  95 % Wilson intervals: precision {_span(p)}, recall {_span(rc)}; mean F1 over the clips "
          f"with labelled events {'-' if mean is None else f'{mean:.3f}'}{unseen}")


def _span(ci: list[float] | None) -> str:
    return "-" if ci is None else f"{ci[0]:.2f}-{ci[1]:.2f}"


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _print_details(score) -> None:
    for e, p, iou in score.matched:
        print(f"      hit   {e.onset}-{e.offset} AU{e.aus} <- {p.onset}-{p.offset} AU{list(p.aus)} IoU {iou:.2f}")
    for e, kind in zip(score.missed, score.miss_kinds, strict=True):
        print(f"      miss  {e.onset}-{e.offset} AU{list(e.aus)} ({kind.replace('_', ' ')}) {e.note}")
    for p in score.false:
        print(f"      false {p.onset}-{p.offset} AU{list(p.aus)} ({p.kind})")


if __name__ == "__main__":
    sys.exit(main())
