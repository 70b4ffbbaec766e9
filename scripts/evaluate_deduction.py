"""Accuracy of AU -> emotion deduction, per subject held out; optionally refit the shipped model.

    python scripts/evaluate_deduction.py [--data ../shared/data] [--write]

Datasets (label files in the shared data folder):

- ``casme3``: CAS(ME)^3 part A micro-expressions (860, 94 subjects): fine = the 7 emotion
  labels (others included), coarse = positive / negative / surprise (others left out);
- ``samm``: SAMM clips of the MEGC 2025 ME-VQA training file (133, 28 subjects), AU, fine and
  coarse answers parsed from the QA rows grouped by image_id;
- ``casme3_c``: CAS(ME)^3 part C (165 MEs, coarse labels only): never used in fitting, scored
  with the model fitted on all of the above (others left out).

SMIC rows of the MEGC file carry no AU answers and cannot be scored.

Methods: ``prototype`` (best Jaccard prototype match; no match -> others), ``model`` (the
logistic model under the dataset's labelling convention) and ``model/shared`` (shared weights,
convention unknown). Model rows are leave-one-subject-out: each subject's expressions are scored
by a model fitted on every other expression of both datasets. ``--write`` fits on everything and
writes faceqa/data/au_emotion_model.json.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from faceqa.facs.annotations import CASME3_PART_C_CSV, LabelledExpression, read_casme3_part_c
from faceqa.facs.au_codes import au_numbers
from faceqa.facs.au_graph import dumps_compact_json
from faceqa.facs.deduction import (
    MODEL_PATH,
    DeductionModel,
    coarse_from,
    fit_deduction_model,
    prototype_match,
)
from faceqa.facs.emotion_classes import COARSE_CLASSES, COARSE_OF
from faceqa.megc.gold import deduction_training_data
from faceqa.megc.metrics import recognition_scores

REPO = Path(__file__).resolve().parents[1]
Predictions = tuple[list[str], list[str | None]]


def predict_model(model: DeductionModel, items: Sequence[LabelledExpression], convention: str | None) -> Predictions:
    """Fine and coarse predictions of ``model`` for ``items``."""
    probs = model.probabilities(model.features(au_numbers(e.aus) for e in items), convention)
    fine, coarse = [], []
    for row in probs:
        scores = {c: float(p) for c, p in zip(model.classes, row, strict=True) if p > 0}
        best = max(scores, key=lambda c: scores[c])
        fine.append(best)
        coarse.append(coarse_from(scores, best)[0])
    return fine, coarse


def predict_prototype(items: Sequence[LabelledExpression]) -> Predictions:
    """Fine and coarse predictions from the best prototype alone."""
    fine = [(m[0] if (m := prototype_match(au_numbers(e.aus))) else "others") for e in items]
    return fine, [COARSE_OF[f] for f in fine]


def loso(groups: dict[str, list[LabelledExpression]], name: str, shared: bool) -> Predictions:
    """Leave-one-subject-out predictions for group ``name``."""
    items = groups[name]
    fine: list[str] = [""] * len(items)
    coarse: list[str | None] = [None] * len(items)
    for subject in sorted({e.subject for e in items}):
        held = [i for i, e in enumerate(items) if e.subject == subject]
        train = {k: [e for e in v if not (k == name and e.subject == subject)] for k, v in groups.items()}
        model = fit_deduction_model(train)
        f, c = predict_model(model, [items[i] for i in held], None if shared else name)
        for i, fi, ci in zip(held, f, c, strict=True):
            fine[i], coarse[i] = fi, ci
    return fine, coarse


def score_row(items: Sequence[LabelledExpression], preds: Predictions) -> dict[str, float | int]:
    """Fine and coarse accuracy / UF1 / UAR (coarse over items with a coarse label)."""
    fine_pred, coarse_pred = preds
    row: dict[str, float | int] = {"n": len(items)}
    if all(e.fine for e in items):
        s = recognition_scores([e.fine for e in items], fine_pred)
        row |= {"fine_acc": s.accuracy, "fine_uf1": s.uf1, "fine_uar": s.uar}
    keep = [i for i, e in enumerate(items) if e.coarse]
    s = recognition_scores([items[i].coarse for i in keep], [coarse_pred[i] for i in keep], classes=COARSE_CLASSES)
    return row | {"n_coarse": len(keep), "coarse_acc": s.accuracy, "coarse_uf1": s.uf1, "coarse_uar": s.uar}


def main() -> None:
    """Evaluate, print the table (or JSON), and write the refitted model with --write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("FACEQA_TEST_DATA", str(REPO.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data), help="the shared data folder")
    parser.add_argument("--write", action="store_true", help=f"refit on all data and write {MODEL_PATH.name}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    groups, sources = deduction_training_data(args.data)
    part_c = read_casme3_part_c(args.data / CASME3_PART_C_CSV)
    full = fit_deduction_model(groups, sources=sources)
    results: list[dict[str, object]] = []
    for name, items in groups.items():
        results.append({"dataset": name, "method": "prototype"} | score_row(items, predict_prototype(items)))
        results.append({"dataset": name, "method": "model"} | score_row(items, loso(groups, name, shared=False)))
        results.append({"dataset": name, "method": "model/shared"} | score_row(items, loso(groups, name, shared=True)))
    results.append({"dataset": "casme3_c", "method": "prototype"} | score_row(part_c, predict_prototype(part_c)))
    for convention in ("casme3", None):
        method = f"model ({convention or 'shared'}), fit on all"
        row = score_row(part_c, predict_model(full, part_c, convention))
        results.append({"dataset": "casme3_c", "method": method} | row)

    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(f"{'dataset':9} {'method':28} {'n':>4} | fine acc   UF1   UAR | coarse n  acc   UF1   UAR")
        for r in results:
            fine = (f"{r['fine_acc']:.3f} {r['fine_uf1']:.3f} {r['fine_uar']:.3f}" if "fine_acc" in r
                    else "    -     -     -")
            print(f"{r['dataset']:9} {r['method']:28} {r['n']:>4} |    {fine} |    {r['n_coarse']:>4} "
                  f"{r['coarse_acc']:.3f} {r['coarse_uf1']:.3f} {r['coarse_uar']:.3f}")
        print("SMIC (MEGC 2025 training QA): no AU answers, not scored.")
    if args.write:
        MODEL_PATH.write_text(dumps_compact_json(full.to_json()), encoding="utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
