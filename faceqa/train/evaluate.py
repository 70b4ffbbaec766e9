"""Held-out scoring of an AULLM++ model on labelled clips, with the MEGC metrics.

For every held-out clip the model answers the clip's MEGC questions (see
:func:`faceqa.train.examples.qa_examples`) from its evidence features. Scores:

- coarse and fine class: UF1 and UAR (MEGC's unweighted F1 and average recall) and accuracy;
- AUs: F1 between the predicted and true AU sets of each "what are the action units" answer,
  averaged over clips (sample-averaged set F1; an unparseable answer is the empty set);
- yes/no presence and left/right side: accuracy;
- every answer against its reference: sentence BLEU-4 (method-1 smoothing, averaged), corpus
  BLEU-4 and ROUGE-1 F, as :mod:`faceqa.megc.text_metrics` defines them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from faceqa.errors import InvalidInputError
from faceqa.evidence.annotations import LabelledExpression
from faceqa.evidence.au_codes import parse_aus
from faceqa.evidence.spotting_metrics import recognition_scores
from faceqa.train.examples import qa_examples


def au_set_f1(predicted: str, truth: str) -> float:
    """F1 between the AU sets named in two answers (an unparseable prediction is the empty set)."""
    gold = {a.number for a in parse_aus(truth)}
    try:
        pred = {a.number for a in parse_aus(predicted)}
    except InvalidInputError:
        pred = set()
    if not gold and not pred:
        return 1.0
    tp = len(gold & pred)
    return 2 * tp / (len(gold) + len(pred)) if gold or pred else 0.0


def score_answers(rows: list[dict]) -> dict:
    """Scores from answered rows (``kind``, ``answer``, ``reference``), as in the module docstring."""
    from faceqa.megc.text_metrics import corpus_bleu, rouge1, sentence_bleu

    def by(kind):
        return [r for r in rows if r["kind"] == kind]

    out: dict = {"questions": len(rows)}
    for kind in ("coarse", "fine"):
        sel = by(kind)
        if sel:
            s = recognition_scores([r["reference"] for r in sel], [r["answer"].strip().lower() for r in sel])
            out[kind] = {"uf1": round(s.uf1, 4), "uar": round(s.uar, 4), "accuracy": round(s.accuracy, 4), "n": s.n}
    aus = by("aus")
    if aus:
        out["au_f1"] = round(float(np.mean([au_set_f1(r["answer"], r["reference"]) for r in aus])), 4)
    for kind in ("present", "side"):
        sel = by(kind)
        if sel:
            out[f"{kind}_accuracy"] = round(float(np.mean([r["answer"].strip().lower() == r["reference"]
                                                            for r in sel])), 4)
    out["bleu4"] = round(float(np.mean([sentence_bleu(r["reference"], r["answer"]) for r in rows])), 4)
    out["corpus_bleu4"] = round(corpus_bleu([r["reference"] for r in rows], [r["answer"] for r in rows]), 4)
    out["rouge1"] = round(float(np.mean([rouge1(r["reference"], r["answer"]).f1 for r in rows])), 4)
    return out


def answer_clips(model, clips: list[LabelledExpression], features: Callable, seed: int = 0,
                 progress: bool = True) -> list[dict]:
    """Answer every clip's MEGC questions; rows with clip, kind, question, answer and reference."""
    rng = np.random.default_rng(seed)
    rows = []
    for clip in tqdm(clips, desc="evaluating", unit="clip", disable=not progress, leave=False):
        examples = qa_examples(clip, rng)
        if not examples:
            continue
        answers = model.answer(features(examples[0], rng), [e.question for e in examples])
        rows += [{"dataset": clip.dataset, "subject": clip.subject, "clip": clip.clip, "kind": e.kind,
                  "question": e.question, "answer": a, "reference": e.answer}
                 for e, a in zip(examples, answers, strict=True)]
    return rows


def evaluate_model(model, clips: list[LabelledExpression], features: Callable, seed: int = 0,
                   progress: bool = True) -> dict:
    """Overall and per-dataset scores of ``model`` on ``clips``."""
    rows = answer_clips(model, clips, features, seed, progress)
    if not rows:
        raise InvalidInputError("no held-out question to score")
    scores = {"overall": score_answers(rows)}
    for ds in sorted({r["dataset"] for r in rows}):
        scores[ds] = score_answers([r for r in rows if r["dataset"] == ds])
    return scores
