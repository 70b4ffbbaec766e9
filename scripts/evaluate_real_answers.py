"""The LLM and the composer asked about the hand-labelled real events (tests/data/real_events.json).

    python scripts/evaluate_real_answers.py [--split tune|report|all] [--clips d3 d10] [--bundle DIR]
                                            [--data ../shared/data [--data more/]] [--csv rows.csv]

For every labelled event not marked uncertain, the evidence pass over its onset..offset (as
``faceqa ask --onset --offset``), then the AU-list question and two presence questions asked of
both answerers from the same facts (:mod:`faceqa.qa.labelled_answers`). Prints, per clip and
overall, each answerer's mean AU-set F1 against the labelled AUs and its presence accuracy;
``--csv`` writes every question with both answers (loads in pandas). Clips are looked for in every
``--data`` folder in turn, as in ``evaluate_real_events.py``; a clip found in none is left out with
a line saying why.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_real_events import LABELS, _data_dirs, find_video  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Ask both answerers about the labelled events and print their scores."""
    from dataclasses import replace

    import pandas as pd

    from faceqa.evidence.labelled_events import load_labelled_clips
    from faceqa.qa.labelled_answers import ANSWERERS, answer_events, score_rows

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("tune", "report", "all"), default="all")
    ap.add_argument("--clips", nargs="*", help="only these clips (names in the label file)")
    ap.add_argument("--bundle", help="adapter bundle of the LLM (default: the installed one)")
    ap.add_argument("--data", action="append", default=[],
                    help="a folder holding the clips under their labelled paths (repeatable, searched in order; "
                         "default ../shared/data or $FACEQA_TEST_DATA)")
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--csv", help="write every question with both answers here")
    args = ap.parse_args(argv)
    roots = _data_dirs(args.data)
    clips = []
    for name, clip in load_labelled_clips(args.labels).items():
        if args.split not in (clip.split, "all") or (args.clips and name not in args.clips):
            continue
        video, why = find_video(clip, roots)
        if video is None:
            print(f"{name:>24}: left out: {why}")
            continue
        clips.append(replace(clip, path=str(video.resolve())))  # absolute: found in whichever folder had it
    rows = answer_events(clips, roots[0], bundle=args.bundle)
    for name in [c.name for c in clips] + ["overall"]:
        mine = rows if name == "overall" else [r for r in rows if r["clip"] == name]
        scores = score_rows(mine)
        errors = sum("error" in r for r in mine)
        print(f"{name:>24}: " + " | ".join(
            f"{who} AU F1 {s['au_f1']:.3f} ({s['au_lists']} lists), presence {s['presence_accuracy']:.3f} "
            f"({s['presence_questions']})" for who, s in scores.items())
              + (f" | {errors} event(s) not answered" if errors else ""))
    if args.csv:
        pd.DataFrame(rows).to_csv(args.csv, index=False)
        print(f"{len(rows)} rows ({', '.join(ANSWERERS)} answers) -> {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
