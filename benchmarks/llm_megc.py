"""``faceqa megc predict --au-labels`` with the installed bundle: auto routing vs the composer vs the LLM, per type.

Builds MEGC 2025-format question files with known answers and oracle AU labels, runs the real
``predict`` for each answerer (``auto``, the default; ``composer``, i.e. ``--no-llm``; ``llm``) and
scores every question type with the figures of the bundle's card (:mod:`faceqa.train.evaluate`):

- ``heldout``: the clips of the bundle's held-out subjects (``scores.json`` -> ``split``), with
  their datasets' names (so routing uses that dataset's figures);
- ``outside``: CAS(ME)^3 part C (165 micro-expressions of other recordings, coarse emotion only),
  named as a dataset the bundle never saw (``casme3c``): the generic class vocabulary, the overall
  routing figures, the shared deduction weights.

Prints a table per set and whether ``auto`` scores at least ``composer`` on every question type.

    python benchmarks/llm_megc.py [--bundle DIR] [--data ../shared/data] [--sets heldout outside]
                                  [--answerers auto composer llm] [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clips_for(set_name: str, data: Path, bundle: Path, limit: int):
    """(dataset name for the files, clips) of one question set."""
    from faceqa.facs.annotations import read_casme3_part_c
    from faceqa.train.examples import load_clips, subject_key

    if set_name == "heldout":
        held = set(json.loads((bundle / "scores.json").read_text())["split"]["held_out_subjects"])
        clips = [c for c in load_clips(data) if subject_key(c) in held]
    elif set_name == "outside":
        clips = [c for c in read_casme3_part_c(data / "labels/casme3_official/casme3_partC_ME_labels.csv")
                 if c.coarse]
    else:
        raise SystemExit(f"unknown set {set_name!r}")
    return clips[:limit] if limit else clips


def write_files(set_name: str, clips, folder: Path) -> tuple[Path, Path]:
    """(question file with answers, AU-labels CSV) in MEGC 2025 format."""
    from faceqa.aullm.answerer import dataset_key
    from faceqa.facs.au_codes import format_au_codes
    from faceqa.megc.labels import write_csv
    from faceqa.train.evaluate import clip_rng
    from faceqa.train.examples import qa_examples

    rows, labels = [], []
    for n, clip in enumerate(clips):
        ds = "casme3c" if set_name == "outside" else dataset_key(clip.dataset)
        clip_id = f"{ds}_{clip.subject}_{clip.clip}_{clip.onset if clip.onset is not None else n}"
        subject = str(clip.subject)
        for k, ex in enumerate(qa_examples(clip, clip_rng(0, clip))):
            rows.append({"id": f"{clip_id}_{k}", "dataset": ds, "image_id": clip_id, "subject": subject,
                         "filename": clip_id, "question": ex.question, "answer": ex.answer})
        labels.append({"video": clip_id, "aus": format_au_codes(clip.aus)})
    qfile, lfile = folder / f"{set_name}.jsonl", folder / f"{set_name}_aus.csv"
    qfile.write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_csv(lfile, labels, ("video", "aus"))
    return qfile, lfile


def per_type(gold: Path, pred: Path) -> dict:
    """Question type -> headline figure (and n) of a prediction file against the gold answers."""
    from faceqa.qa.kinds import HEADLINE
    from faceqa.qa.questions import parse_question
    from faceqa.train.evaluate import kind_metrics

    answers = {json.loads(line)["video_id"]: json.loads(line)["answer"] for line in pred.read_text().splitlines()}
    by_kind: dict[str, tuple[list[str], list[str]]] = {}
    for line in gold.read_text().splitlines():
        r = json.loads(line)
        refs, preds = by_kind.setdefault(parse_question(r["question"]).kind, ([], []))
        refs.append(r["answer"])
        preds.append(answers.get(r["id"], ""))
    return {k: {"n": len(refs), "value": kind_metrics(k, refs, preds)[HEADLINE[k]]}
            for k, (refs, preds) in by_kind.items()}


def main() -> None:
    """Build, predict, score, print."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=REPO / "adapters" / "default")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--sets", nargs="+", default=["heldout", "outside"])
    ap.add_argument("--answerers", nargs="+", default=["auto", "composer", "llm"])
    ap.add_argument("--limit", type=int, default=0, help="clips per set (0: all)")
    ap.add_argument("--out", type=Path, help="keep the files here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from faceqa.megc.predict import predict
    from faceqa.qa import FaceQA

    if not (args.bundle / "scores.json").is_file():
        sys.exit(f"{args.bundle}: no bundle with held-out scores")
    folder = args.out or Path(tempfile.mkdtemp(prefix="faceqa-llm-megc-"))
    folder.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    shared: dict = {}
    for set_name in args.sets:
        clips = clips_for(set_name, args.data, args.bundle, args.limit)
        qfile, lfile = write_files(set_name, clips, folder)
        report[set_name] = {"clips": len(clips)}
        for who in args.answerers:
            qa = FaceQA(answerer=who, bundle=args.bundle)
            if who != "composer" and "llm" in shared:  # load the bundle once
                qa._llm, qa._llm_loaded, qa._llm_path = shared["llm"], True, str(args.bundle)
            out = folder / f"{set_name}_{who}.jsonl"
            t = time.perf_counter()
            predict(qfile, out, au_labels=lfile, qa=qa, overwrite=True, progress=False)
            if who != "composer":
                shared.setdefault("llm", qa.llm())
            report[set_name][who] = per_type(qfile, out) | {"seconds": round(time.perf_counter() - t, 1)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for set_name, rep in report.items():
        print(f"\n{set_name}: {rep['clips']} clips ({folder})")
        kinds = [k for k in rep[args.answerers[0]] if k != "seconds"]
        print(f"  {'question type':14s} {'n':>5s} " + " ".join(f"{w:>9s}" for w in args.answerers))
        for k in kinds:
            vals = " ".join(f"{rep[w][k]['value']:9.3f}" for w in args.answerers)
            print(f"  {k:14s} {rep[args.answerers[0]][k]['n']:5d} {vals}")
        print("  seconds        " + " ".join(f"{rep[w]['seconds']:9.1f}" for w in args.answerers))
        if "auto" in rep and "composer" in rep:
            worse = [k for k in kinds if rep["auto"][k]["value"] < rep["composer"][k]["value"]]
            print(f"  auto >= composer on every type: {'yes' if not worse else 'NO: ' + ', '.join(worse)}")


if __name__ == "__main__":
    main()
