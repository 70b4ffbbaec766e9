"""``faceqa megc predict|evaluate|gold-from-annotations|heldout``: the MEGC ME-VQA and ME-LVQA challenges."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceqa.cli.output import print_json

ALL_EXPRESSIONS = "casme3_partA_all_expressions_v2.csv"
ME_LABELS = "casme3_partA_ME_labels_v2.csv"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``megc`` subcommand and its own subcommands."""
    p = sub.add_parser("megc", help="MEGC ME-VQA / ME-LVQA: predict, evaluate, build gold answers",
                       description="Answer MEGC question files (ME-VQA 2025, ME-VQA v2 2026, ME-LVQA 2026) into "
                                   "submission files, score them with the challenge metrics, and build gold "
                                   "answers from expert annotations.")
    msub = p.add_subparsers(dest="megc_command", metavar="COMMAND")
    msub.required = True

    pr = msub.add_parser("predict", help="answer a question file into a submission file",
                         description=("Answer every row of an MEGC question file. Media are looked up under "
                                      "--media-root as ROOT/<clip>, ROOT/<subject>/<clip>, ROOT/<subject>/<filename>, "
                                      "ROOT/<filename>, ROOT/<subject>_<filename>, and for a 2026 video id "
                                      "<subject>_<rest> ROOT/<subject>/<rest> and ROOT/<rest> (folders of frames "
                                      "or video files <name>.mp4/.avi/...); the 2025 onset/offset frames select the "
                                      "clip. Rows whose media fail get an empty answer and a line in "
                                      "<out>.errors.csv; a rerun resumes and retries them."))
    pr.add_argument("--questions", required=True, type=Path, metavar="FILE.jsonl", help="MEGC question file")
    pr.add_argument("--out", required=True, type=Path, metavar="PRED.jsonl", help="submission file to write")
    pr.add_argument("--media-root", type=Path, metavar="DIR", help="folder with the videos or frame folders")
    pr.add_argument("--au-labels", type=Path, metavar="FILE.csv",
                    help="oracle AU evidence per clip (columns video, aus[, onset, apex, offset, type]) instead "
                         "of video")
    pr.add_argument("--answerer", choices=["auto", "llm", "composer"], default="auto",
                    help="auto (default): per question type, the LLM where the bundle's held-out score is at least "
                         "the composer's, else the composer; llm: the LLM for every question it can take; composer: "
                         "no LLM")
    pr.add_argument("--no-llm", action="store_true", help="the grounded composer only (= --answerer composer)")
    pr.add_argument("--bundle", metavar="DIR", help="adapter bundle of the LLM answerer (default: the installed one)")
    pr.add_argument("--fps", type=float, help="frame rate for every clip (default: SAMM 200, CAS(ME)^3 30, ...)")
    pr.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming an existing --out")
    pr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    pr.add_argument("--workers", type=int, metavar="N",
                    help="clips answered in parallel (default 1; with --ray: the cluster's CPUs)")
    pr.add_argument("--ray", metavar="auto|ADDRESS",
                    help="answer the clips on Ray: auto (a running cluster, else a local one) or a cluster address; "
                         "needs faceqa[ray]")
    pr.set_defaults(func=run_predict)

    ev = msub.add_parser("evaluate", help="score a submission file against gold answers",
                         description="UF1/UAR (coarse, fine), AU F1, yes/no and side accuracy, BLEU (sentence, "
                                     "smoothed; corpus BLEU-4), ROUGE-1; for ME-LVQA count MAE/RMSE, AU-set F1 and "
                                     "Jaccard, event-type UF1/UAR, and spotting F1 / STRS from events CSVs (found "
                                     "beside the files as <stem>.events.csv). Per dataset and overall.")
    ev.add_argument("--pred", required=True, type=Path, metavar="PRED.jsonl")
    ev.add_argument("--gold", required=True, type=Path, metavar="GOLD.jsonl")
    ev.add_argument("--pred-events", type=Path, metavar="CSV", help="predicted events (default PRED.events.csv)")
    ev.add_argument("--gold-events", type=Path, metavar="CSV", help="gold events (default GOLD.events.csv)")
    ev.add_argument("--json", action="store_true", help="print the full report as JSON")
    ev.set_defaults(func=run_evaluate)

    go = msub.add_parser("gold-from-annotations", help="ME-LVQA gold answers from the CAS(ME)^3 annotations",
                         description="Build ME-LVQA gold answers (event counts, distinct AUs, N-th event type) for "
                                     f"the CAS(ME)^3 part A long videos from {ALL_EXPRESSIONS} (video id "
                                     "<Subject>_<Filename>, e.g. spNO.1_a), and their events CSV.")
    go.add_argument("--annotations", required=True, type=Path, metavar="DIR",
                    help=f"folder with {ALL_EXPRESSIONS} (and {ME_LABELS} for the emotions)")
    go.add_argument("--out", required=True, type=Path, metavar="GOLD.jsonl")
    go.add_argument("--questions", type=Path, metavar="FILE.jsonl",
                    help="ME-LVQA question file to answer (default: generate questions for every video)")
    go.add_argument("--events-out", type=Path, metavar="CSV", help="events CSV (default GOLD.events.csv)")
    go.add_argument("--events-per-video", type=int, default=2, help="N-th event questions per generated video")
    go.add_argument("--seed", type=int, default=0, help="seed of the drawn N-th event questions")
    go.set_defaults(func=run_gold)

    ho = msub.add_parser("heldout", help="emotion scores on held-out subjects from oracle AU labels",
                         description="Answer the MEGC 2025 training questions from the AU answers alone, the "
                                     "AU -> emotion deduction refitted with each group of SAMM subjects held out.")
    ho.add_argument("--data", required=True, type=Path, metavar="DIR", help="the shared data folder")
    ho.add_argument("--folds", type=int, default=4, help="groups of SAMM subjects (default 4)")
    ho.add_argument("--json", action="store_true", help="print the report as JSON")
    ho.set_defaults(func=run_heldout)


def run_predict(args: argparse.Namespace) -> int:
    """Predict and report what was written."""
    from faceqa.megc.predict import predict
    from faceqa.qa import FaceQA

    answerer = "composer" if args.no_llm else args.answerer
    s = predict(args.questions, args.out, media_root=args.media_root, au_labels=args.au_labels,
                qa=FaceQA(answerer=answerer, bundle=args.bundle), fps=args.fps, overwrite=args.overwrite,
                progress=not args.no_progress, workers=args.workers, ray=args.ray)
    print(f"{s.out}: {s.answered} rows answered, {s.resumed} kept from an earlier run, {s.failed} failed "
          f"({s.questions} questions; {s.questions_per_second:.1f} q/s)")
    if s.torn_line is not None:
        print(f"  dropped line {s.torn_line} of {s.out}: cut short by an interrupted run (its clip was answered again)")
    if s.errors:
        print(f"  errors: {s.errors}")
    if s.events:
        print(f"  events: {s.events}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Score and print."""
    from faceqa.megc.evaluate import evaluate, format_report

    report = evaluate(args.pred, args.gold, args.pred_events, args.gold_events)
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


def run_gold(args: argparse.Namespace) -> int:
    """Write the gold file and its events CSV."""
    from faceqa.errors import InvalidInputError
    from faceqa.megc.gold import casme3_videos, lvqa_gold
    from faceqa.megc.io import read_qa_file, write_jsonl
    from faceqa.megc.labels import write_csv
    from faceqa.megc.predict import side_paths

    me = args.annotations / ME_LABELS
    videos = casme3_videos(args.annotations / ALL_EXPRESSIONS, me if me.is_file() else None)
    questions = None
    if args.questions is not None:
        questions = [(r.qid, r.clip, r.question) for r in read_qa_file(args.questions).rows]
    rows, events, problems = lvqa_gold(videos, questions, args.events_per_video, args.seed)
    if not rows:
        why = problems[0] if problems else "no questions"
        raise InvalidInputError(f"{args.questions or args.annotations}: no gold row could be built ({why}); the "
                                f"annotation covers the part A videos ({', '.join(list(videos)[:3])}, ...)")
    write_jsonl(args.out, rows)
    events_out = args.events_out or side_paths(args.out)[1]
    write_csv(events_out, events)
    print(f"{args.out}: {len(rows)} gold rows for {len({r['video'] for r in rows})} videos; events: {events_out}")
    for p in problems:
        print(f"  skipped {p}", file=sys.stderr)
    return 0


def run_heldout(args: argparse.Namespace) -> int:
    """Score the held-out protocol and print."""
    from faceqa.megc.evaluate import format_report
    from faceqa.megc.heldout import heldout_report

    report = heldout_report(args.data, args.folds)
    if args.json:
        print_json(report)
    else:
        print(report["protocol"])
        print(format_report(report))
    return 0
