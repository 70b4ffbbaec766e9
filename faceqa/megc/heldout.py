"""Emotion questions on held-out subjects, answered from oracle AU labels (the ``--au-labels`` path).

The MEGC 2025 ME-VQA training answers give each clip's AUs (with the sides of the "left or right"
answers); those become the oracle AU labels (:func:`~faceqa.megc.gold.au_labels_from_qa`), and
every question of the file is answered through :class:`~faceqa.megc.predict.Predictor` by the
composer, the emotion deduced from the AUs alone. The protocol is the deduction module's (its
test ``test_grouped_cross_validation_accuracy``): SAMM subjects, sorted, are split into ``folds``
groups (``subjects[k::folds]``); the clips of group k are answered by a deduction model fitted on
CAS(ME)^3 part A and the SAMM clips of the other groups
(:func:`~faceqa.facs.deduction.fit_deduction_model`), under the ``samm`` convention
(``folds=28``, one per SAMM subject, is the leave-one-subject-out protocol of
``scripts/evaluate_deduction.py``; on this data it gives the same answers as 4 folds). SMIC clips
carry no AU answers and SMIC is never fitted on: they are answered, from no AUs, with the shared
weights of the model fitted on all data, and their coarse scores show what the deduction does
without evidence.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from faceqa.errors import InvalidInputError
from faceqa.facs.au_codes import parse_au_codes
from faceqa.facs.deduction import fit_deduction_model
from faceqa.megc.evaluate import evaluate_rows
from faceqa.megc.gold import au_labels_from_qa, deduction_training_data
from faceqa.megc.io import MEGC2025_TRAIN_QA, QARow, parse_row, read_qa_file
from faceqa.megc.labels import ClipLabels
from faceqa.megc.predict import Predictor
from faceqa.megc.splits import subject_folds
from faceqa.qa.api import FaceQA


def heldout_predictions(data_root: str | os.PathLike, folds: int = 4) -> tuple[list[QARow], list[dict[str, Any]]]:
    """(gold rows, predicted submission rows) of the MEGC 2025 training file (see the module docstring)."""
    if folds < 2:
        raise InvalidInputError(f"folds must be at least 2 (a fold's subjects are held out of the fit), got {folds}")
    root = Path(data_root)
    gold = read_qa_file(root / MEGC2025_TRAIN_QA)
    labels = {r["video"]: ClipLabels(r["video"], parse_au_codes(r["aus"])) for r in au_labels_from_qa(gold.path)}
    groups, _ = deduction_training_data(root)
    clips = gold.clips()
    samm_subjects = [rows[0].subject for rows in clips.values() if rows[0].dataset == "samm"]
    if folds > len(set(samm_subjects)):
        raise InvalidInputError(f"folds must be at most {len(set(samm_subjects))} (one per SAMM subject: "
                                f"leave-one-subject-out), got {folds}")
    plan = [(held, fit_deduction_model({k: [e for e in v if not (k == "samm" and e.subject in held)]
                                        for k, v in groups.items()}))
            for held in subject_folds(samm_subjects, folds)]
    full = fit_deduction_model(groups)
    answers: dict[str, str] = {}
    for rows in clips.values():
        first = rows[0]
        model = next((m for held, m in plan if first.dataset == "samm" and first.subject in held), full)
        predictor = Predictor(FaceQA(answerer="composer", deduction_model=model), au_labels=labels)
        for r, a in zip(rows, predictor.answer_clip(rows), strict=True):
            answers[r.qid] = a.text
    return gold.rows, [r.submission(answers[r.qid]) for r in gold.rows]


def heldout_report(data_root: str | os.PathLike, folds: int = 4) -> dict[str, Any]:
    """The evaluation report (:func:`~faceqa.megc.evaluate.evaluate_rows`) of :func:`heldout_predictions`."""
    gold, pred = heldout_predictions(data_root, folds)
    report = evaluate_rows([parse_row(obj, "predictions", n) for n, obj in enumerate(pred, 1)], gold)
    return {"protocol": f"{folds} SAMM subject folds, oracle AU labels from the answers"} | report
