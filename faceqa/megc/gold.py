"""Gold answers and oracle labels built from expert annotations.

**ME-LVQA gold from CAS(ME)^3** (:func:`lvqa_gold`). The part A annotation
(``casme3_partA_all_expressions_v2.csv``: 4206 micro- and macro-expressions, columns Subject,
Filename, Onset, Apex, Offset, AU, Expression type) names a long video by two columns: Subject
(``spNO.1``) and Filename (the elicitation clip, ``a``..``m``). The video id is
``<Subject>_<Filename>`` (``spNO.1_a``), the ``<subject>_<clip>`` pattern of the ME-LVQA test file's
``video`` field (``dzw_a1``). The test file's videos (subjects dzw, gcf, smy, wy) are the
challenge's held-out recordings and are not in the public annotation, so gold is built for the
part A videos. Per video, events in onset order (ties by offset); the answers, in the forms of
the ME-LVQA questions:

- "How many expression events appear in this video?" -> the event count (``"7"``); likewise
  micro- and macro-expression events;
- "What distinct action units appear in this video?" -> the distinct AU names by AU number
  (``"brow lowerer, upper lip raiser"``);
- "What is the expression type of the N-th expression event in this video?" ->
  ``"micro-expression"`` / ``"macro-expression"``.

Rows: ``video_id`` ``casme3_<video>_<k>``, ``video``, ``question``, ``answer``. Given an ME-LVQA
question file, its rows are answered instead (videos absent from the annotation are reported);
otherwise each video gets the four fixed questions and ``events_per_video`` N-th-event questions
(N drawn without repeats by a seeded generator, as the test files draw theirs). The events go to
an events CSV (:mod:`~faceqa.megc.labels`) with the fine emotion of the micro-expressions (joined
from ``casme3_partA_ME_labels_v2.csv`` on subject, filename and onset+offset, else apex, else onset:
the two files disagree on the frames of a few events), for spotting and STRS, and usable as
``--au-labels``.

**Oracle AU labels from ME-VQA answers** (:func:`au_labels_from_qa`): one row per clip of an
answered ME-VQA file (``video`` = ``image_id``, ``aus`` = the AU answer as FACS codes, with the side
of each AU a "left or right" answer gives: ``4+R7``).

**The deduction model's training set** (:func:`deduction_training_data`): CAS(ME)^3 part A
micro-expressions and the SAMM clips of the MEGC 2025 ME-VQA training file, for
:func:`~faceqa.facs.deduction.fit_deduction_model`.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import CASME3_ME_CSV, LabelledExpression, read_casme3_part_a
from faceqa.facs.au_codes import AUCode, format_au_codes, format_au_names
from faceqa.megc.io import MEGC2025_TRAIN_QA, read_qa_labels
from faceqa.megc.labels import event_row
from faceqa.qa.questions import parse_question

COUNT_QUESTIONS = (
    ("expression", "How many expression events appear in this video?"),
    ("micro", "How many micro-expression events appear in this video?"),
    ("macro", "How many macro-expression events appear in this video?"),
)
DISTINCT_QUESTION = "What distinct action units appear in this video?"
EVENT_TYPE_QUESTION = "What is the expression type of the {n}-th expression event in this video?"


def _emotion_index(me_labels: str | os.PathLike) -> dict[tuple, LabelledExpression]:
    """ME labels by (subject, clip, onset, offset), (subject, clip, "apex", apex) and (subject, clip, "onset",
    onset): the two files disagree on a few frames (an offset 0, a swapped onset and apex), never on all three."""
    index: dict[tuple, LabelledExpression] = {}
    for e in read_casme3_part_a(Path(me_labels)):
        for key in ((e.subject, e.clip, e.onset, e.offset), (e.subject, e.clip, "apex", e.apex),
                    (e.subject, e.clip, "onset", e.onset)):
            index.setdefault(key, e)
    return index


def casme3_videos(all_expressions: str | os.PathLike, me_labels: str | os.PathLike | None = None,
                  ) -> dict[str, list[LabelledExpression]]:
    """CAS(ME)^3 part A events per video id ``<Subject>_<Filename>``, in onset order, the
    micro-expressions carrying the fine emotion of the ME labels file when given (matched on onset
    and offset, else apex, else onset)."""
    index = _emotion_index(me_labels) if me_labels is not None else {}
    videos: dict[str, list[LabelledExpression]] = defaultdict(list)
    for e in read_casme3_part_a(Path(all_expressions)):
        if e.expression_type == "micro" and index:
            labelled = next((index[k] for k in ((e.subject, e.clip, e.onset, e.offset), (e.subject, e.clip, "apex",
                             e.apex), (e.subject, e.clip, "onset", e.onset)) if k in index), None)
            if labelled is not None:
                e = LabelledExpression(e.dataset, e.subject, e.clip, e.aus, labelled.fine, labelled.coarse,
                                       e.onset, e.apex, e.offset, e.expression_type)
        videos[f"{e.subject}_{e.clip}"].append(e)
    return {v: sorted(evs, key=lambda e: (e.onset, e.offset)) for v, evs in videos.items()}


def lvqa_answer(question: str, events: list[LabelledExpression]) -> str:
    """The gold answer to one ME-LVQA question about a video with these events (onset order)."""
    q = parse_question(question)
    if q.kind == "count":
        kind = q.event_kind
        return str(sum(1 for e in events if kind is None or e.expression_type == kind))
    if q.kind == "distinct_aus":
        return format_au_names(AUCode(n) for n in sorted({a.number for e in events for a in e.aus}))
    if q.kind == "event_type":
        n = q.index if q.index != -1 else len(events)
        if n is None or not 0 < n <= len(events):
            raise InvalidInputError(f"{question!r}: the video has {len(events)} events")
        return f"{events[n - 1].expression_type}-expression"
    raise InvalidInputError(f"{question!r} is not an ME-LVQA question")


def lvqa_gold(videos: dict[str, list[LabelledExpression]], questions: list[tuple[str, str, str]] | None = None,
              events_per_video: int = 2, seed: int = 0, prefix: str = "casme3",
              ) -> tuple[list[dict], list[dict], list[str]]:
    """(gold rows, events-CSV rows, problems) for ME-LVQA (see the module docstring).

    ``questions``: (video_id, video, question) rows to answer; None to generate them.
    A problem (a video not annotated, an N beyond its events) skips that row and is listed.
    """
    rows, problems = [], []
    if questions is None:
        rng = np.random.default_rng(seed)
        questions = []
        for video, events in videos.items():
            texts = [t for _, t in COUNT_QUESTIONS] + [DISTINCT_QUESTION]
            picks = rng.choice(len(events), size=min(events_per_video, len(events)), replace=False) + 1
            texts += [EVENT_TYPE_QUESTION.format(n=int(n)) for n in picks]
            questions += [(f"{prefix}_{video}_{k}", video, t) for k, t in enumerate(texts, 1)]
    for qid, video, text in questions:
        if video not in videos:
            problems.append(f"{qid}: video {video!r} is not in the annotation")
            continue
        try:
            rows.append({"video_id": qid, "video": video, "question": text, "answer": lvqa_answer(text, videos[video])})
        except InvalidInputError as exc:
            problems.append(f"{qid}: {exc}")
    wanted = {v for _, v, _ in questions}
    events = [event_row(v, e.onset, e.apex, e.offset, e.expression_type or "micro", e.aus, e.fine)
              for v, evs in videos.items() if v in wanted for e in evs]
    return rows, events, problems


def au_labels_from_qa(path: str | os.PathLike) -> list[dict[str, str]]:
    """AU-labels rows (``video``, ``aus``) from the answers of an ME-VQA file (see the module docstring)."""
    return [{"video": c.clip, "aus": format_au_codes(c.aus)} for c in read_qa_labels(path)]


def deduction_training_data(data_root: str | os.PathLike,
                            ) -> tuple[dict[str, list[LabelledExpression]], list[dict[str, Any]]]:
    """The shipped deduction model's training set from the shared data folder, grouped by convention.

    ``casme3``: CAS(ME)^3 part A micro-expressions; ``samm``: the SAMM clips of the MEGC 2025
    ME-VQA training file with AU and fine answers. Also returns the sources (path, sha256, count).
    """
    root = Path(data_root)
    casme3 = [e for e in read_casme3_part_a(root / CASME3_ME_CSV) if e.fine]
    samm = [e for e in read_qa_labels(root / MEGC2025_TRAIN_QA) if e.dataset == "samm" and e.fine and e.aus]
    groups = {"casme3": casme3, "samm": samm}
    sources = [
        {"path": rel, "sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest(), "expressions": len(g)}
        for rel, g in ((CASME3_ME_CSV, casme3), (MEGC2025_TRAIN_QA, samm))
    ]
    return groups, sources
