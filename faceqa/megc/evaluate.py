"""``faceqa megc evaluate``: score a prediction file against a gold file with the MEGC metrics.

Rows are joined on the row key (``video_id`` / ``id``); a prediction whose key is not in the gold
file is joined on (clip, question) when that is unique. A gold row without a prediction scores
as an empty answer (wrong everywhere) and is counted in ``missing``. Each gold row is scored by
its question kind (:func:`~faceqa.qa.questions.parse_question`), per dataset (``samm``,
``casme3``, ``smic``, ...; see :func:`~faceqa.megc.io.dataset_of`) and overall. A kind's figures
come from :func:`score_kind` (which the held-out evaluation of :mod:`faceqa.train.evaluate` calls
too); the report's section of a kind is named by the kind (:data:`faceqa.qa.kinds.KINDS`), and
its headline figure is the one the table names.

ME-VQA (2025, v2 2026):

- ``coarse``, ``fine``: accuracy, **UF1** (mean per-class F1) and **UAR** (mean per-class recall)
  over the classes present in the gold answers (a predicted class outside them is just wrong);
  an answer is read as a class when it is one (``Happy`` -> happiness) or names exactly one.
- ``aus`` ("What is/are the action unit(s)?"): **AU F1**, set-based on AU numbers (sides
  ignored) with three averages: ``f1`` the mean over questions of ``2|P∩G| / (|P|+|G|)`` (1 when
  both are empty; the headline), ``f1_micro`` from TP/FP/FN summed over questions, ``f1_macro``
  the mean over the AUs in the gold answers of per-AU F1. Answer items that name no AU are
  counted in ``unparsed``.
- ``au_present`` (yes/no), ``au_side`` (left/right): accuracy.
- ``compound``: the AU-set F1 of its AU list (``au_f1``), the UF1 of its fine and coarse classes,
  and ``score``, the mean of the three.
- ``text`` over every row (and ``text_by_kind``): mean sentence **BLEU** (method-1 smoothing),
  corpus **BLEU-4**, mean **ROUGE-1** precision / recall / F1 (:mod:`~faceqa.megc.text_metrics`).
  Gold rows with an empty answer are left out of the text scores (``analysis`` has no other).

ME-LVQA (2026):

- ``count``: exact-match ``accuracy``, **MAE** and **RMSE** over all count questions, and per
  event kind (expression / micro / macro) in ``by_event_kind`` (an answer without a number reads
  as 0 and is counted in ``unparsed``);
- ``distinct_aus``: mean per-question set **F1** and **Jaccard** of AU numbers;
- ``event_type``: accuracy, UF1 and UAR over micro / macro;
- ``spotting`` and ``strs``, when event files are given (the CSV layout of
  :mod:`~faceqa.megc.labels`): MEGC spotting TP/FP/FN/P/R/F1 (IoU >= 0.5, per video and type) and
  STRS = spotting F1 x analysis F1 (:func:`~faceqa.megc.metrics.strs_score`), the
  analysis on the coarse class of each event's fine emotion (events without one, ``others`` and
  macro-expressions in the CAS(ME)^3 annotations, are spotted but not analysed).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faceqa.errors import FaceQAError, InvalidInputError
from faceqa.facs.au_codes import parse_aus
from faceqa.facs.emotion_classes import COARSE_CLASSES, FINE_CLASSES, coarse_of, normalise_fine
from faceqa.megc.io import QARow, read_qa_file
from faceqa.megc.labels import ClipLabels, read_au_labels
from faceqa.megc.metrics import Interval, recognition_scores, spotting_scores, strs_score
from faceqa.megc.text_metrics import corpus_bleu, rouge1, sentence_bleu
from faceqa.qa.kinds import SCORED_KINDS
from faceqa.qa.questions import find_au, parse_question

_WORD_NUMBERS = {w: i for i, w in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
_FINE_WORDS = {"happy": "happiness", "sad": "sadness", "angry": "anger", "disgusted": "disgust",
               "fearful": "fear", "surprised": "surprise", "other": "others"}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def read_class(text: str, classes: Sequence[str], aliases: dict[str, str] | None = None) -> str:
    """The class an answer states: itself, or the one class word it contains; else the text as is."""
    aliases = aliases or {}
    key = text.strip().lower().rstrip(".")
    key = aliases.get(key, key)
    if key in classes:
        return key
    found = {aliases.get(w, w) for w in _words(text)} & set(classes)
    return found.pop() if len(found) == 1 else key


def read_fine(text: str) -> str:
    """A fine class from an answer (MEGC spelling; aliases such as ``happy`` read)."""
    label = read_class(text, FINE_CLASSES, _FINE_WORDS)
    try:
        return normalise_fine(label)
    except FaceQAError:
        return label


def read_au_set(text: str) -> tuple[set[int], int]:
    """(AU numbers named, items naming none) of an AU answer (names or codes such as ``4+R7``, sides
    ignored): the whole answer read as AU names or codes, else item by item."""
    try:
        return {a.number for a in parse_aus(text)}, 0
    except InvalidInputError:
        pass
    items = [s for s in re.split(r"\s*(?:[,;+]|\band\b)\s*", text.strip().lower().rstrip(".")) if s]
    numbers, unparsed = set(), 0
    for item in items:
        au = find_au(item)
        if au is None:
            unparsed += 1
        else:
            numbers.add(au)
    return numbers, unparsed


_COMPOUND = re.compile(r"present (?:is|are):\s*(.*?)\.\s*Therefore, the fine-grained expression class is\s+(\w+),"
                       r"\s*and the coarse expression class is\s+(\w+)", re.IGNORECASE | re.DOTALL)


def read_compound(text: str) -> tuple[set[int], str | None, str | None]:
    """(AU numbers, fine class, coarse class) of a compound answer (empty/None where unreadable)."""
    m = _COMPOUND.search(text or "")
    if m is None:
        return set(), None, None
    return read_au_set(m.group(1))[0], read_fine(m.group(2)), read_class(m.group(3), COARSE_CLASSES)


def read_count(text: str) -> int | None:
    """The first number in an answer (digits or an English word up to twenty), or None."""
    m = re.search(r"\d+", text)
    if m:
        return int(m.group(0))
    return next((_WORD_NUMBERS[w] for w in _words(text) if w in _WORD_NUMBERS), None)


def read_event_kind(text: str) -> str:
    """``micro`` or ``macro`` from an event-type answer (the text itself when it names neither)."""
    low = text.lower()
    has_micro, has_macro = "micro" in low, "macro" in low
    return "micro" if has_micro and not has_macro else "macro" if has_macro and not has_micro else low.strip()


def _yes_no(text: str) -> str:
    words = _words(text)
    return words[0] if words and words[0] in ("yes", "no") else text.strip().lower()


def _side(text: str) -> str:
    words = set(_words(text))
    return "left" if "left" in words and "right" not in words else "right" if "right" in words else text.lower()


def set_f1(pred: set, gold: set) -> float:
    """2|P∩G| / (|P|+|G|); 1 when both are empty."""
    return 1.0 if not pred and not gold else 2 * len(pred & gold) / (len(pred) + len(gold))


def jaccard(pred: set, gold: set) -> float:
    """|P∩G| / |P∪G|; 1 when both are empty."""
    return 1.0 if not pred and not gold else len(pred & gold) / len(pred | gold)


def _recognition(truth: list[str], pred: list[str]) -> dict[str, Any]:
    s = recognition_scores(truth, pred)
    return {"n": s.n, "accuracy": s.accuracy, "uf1": s.uf1, "uar": s.uar}


def _au_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    sample, unparsed = [], 0
    tp = fp = fn = 0
    per_au: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for gold, pred in pairs:
        g, _ = read_au_set(gold)
        p, bad = read_au_set(pred)
        unparsed += bad
        sample.append(set_f1(p, g))
        tp, fp, fn = tp + len(p & g), fp + len(p - g), fn + len(g - p)
        for a in p | g:
            per_au[a][0] += a in p and a in g
            per_au[a][1] += a in p and a not in g
            per_au[a][2] += a in g and a not in p
    gold_aus = [a for a, (t, _, n) in per_au.items() if t + n > 0]
    macro = [2 * per_au[a][0] / (2 * per_au[a][0] + per_au[a][1] + per_au[a][2]) for a in gold_aus]
    return {"n": len(pairs), "f1": float(np.mean(sample)),
            "f1_micro": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
            "f1_macro": float(np.mean(macro)) if macro else 0.0, "unparsed": unparsed}


def _text_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    pairs = [(g, p) for g, p in pairs if g.strip()]
    if not pairs:
        return {"n": 0}
    rouges = [rouge1(g, p) for g, p in pairs]
    return {"n": len(pairs), "bleu": float(np.mean([sentence_bleu(g, p) for g, p in pairs])),
            "bleu_corpus": corpus_bleu([g for g, _ in pairs], [p for _, p in pairs]),
            "rouge1_p": float(np.mean([r.precision for r in rouges])),
            "rouge1_r": float(np.mean([r.recall for r in rouges])),
            "rouge1_f": float(np.mean([r.f1 for r in rouges]))}


def _count_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    errors, unparsed = [], 0
    for gold, pred in pairs:
        g, p = read_count(gold), read_count(pred)
        if p is None:
            unparsed, p = unparsed + 1, 0
        errors.append(p - (g or 0))
    e = np.asarray(errors, float)
    return {"n": len(pairs), "accuracy": float((e == 0).mean()), "mae": float(np.abs(e).mean()),
            "rmse": float(math.sqrt((e ** 2).mean())), "unparsed": unparsed}


def _compound_scores(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    gold = [read_compound(g) for g, _ in pairs]
    got = [read_compound(p) for _, p in pairs]
    f1 = float(np.mean([set_f1(p[0], g[0]) for g, p in zip(gold, got, strict=True)]))
    fine = recognition_scores([g[1] or "" for g in gold], [p[1] or "" for p in got]).uf1
    coarse = recognition_scores([g[2] or "" for g in gold], [p[2] or "" for p in got]).uf1
    return {"n": len(pairs), "score": (f1 + fine + coarse) / 3, "au_f1": f1, "fine_uf1": fine, "coarse_uf1": coarse}


def score_kind(kind: str, gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """The figures of one question kind over gold and predicted answers (in pairs; at least one),
    its headline (:data:`faceqa.qa.kinds.HEADLINE`) among them (see the module docstring).

    InvalidInputError for a kind scored by its text only (``analysis``, the free-form kinds).
    """
    pairs = list(zip(gold, pred, strict=True))
    if not pairs:
        raise InvalidInputError(f"no {kind} answers to score")
    if kind == "coarse":
        return _recognition([read_class(g, COARSE_CLASSES) for g, _ in pairs],
                            [read_class(p, COARSE_CLASSES) for _, p in pairs])
    if kind == "fine":
        return _recognition([read_fine(g) for g, _ in pairs], [read_fine(p) for _, p in pairs])
    if kind == "aus":
        return _au_scores(pairs)
    if kind == "au_present":
        return {"n": len(pairs), "accuracy": float(np.mean([_yes_no(g) == _yes_no(p) for g, p in pairs]))}
    if kind == "au_side":
        return {"n": len(pairs), "accuracy": float(np.mean([_side(g) == _side(p) for g, p in pairs]))}
    if kind == "compound":
        return _compound_scores(pairs)
    if kind == "count":
        return _count_scores(pairs)
    if kind == "distinct_aus":
        sets = [(read_au_set(g)[0], read_au_set(p)[0]) for g, p in pairs]
        return {"n": len(sets), "f1": float(np.mean([set_f1(p, g) for g, p in sets])),
                "jaccard": float(np.mean([jaccard(p, g) for g, p in sets]))}
    if kind == "event_type":
        return _recognition([read_event_kind(g) for g, _ in pairs], [read_event_kind(p) for _, p in pairs])
    raise InvalidInputError(f"question kind {kind!r} has no figures but its text scores")


def score_rows(rows: list[tuple[QARow, str]]) -> dict[str, Any]:
    """The metrics of one group of (gold row, predicted answer) pairs (see the module docstring)."""
    by_kind: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)
    for gold, pred in rows:
        if gold.answer.strip():
            q = parse_question(gold.question)
            by_kind[q.kind].append((gold.answer, pred, q))
    out: dict[str, Any] = {"n": len(rows)}
    for kind in SCORED_KINDS:
        if by_kind[kind]:
            out[kind] = score_kind(kind, [g for g, _, _ in by_kind[kind]], [p for _, p, _ in by_kind[kind]])
    if by_kind["count"]:
        groups = {k: [(g, p) for g, p, q in by_kind["count"] if (q.event_kind or "expression") == k]
                  for k in ("expression", "micro", "macro")}
        out["count"]["by_event_kind"] = {k: _count_scores(pairs) for k, pairs in groups.items() if pairs}
    out["text"] = _text_scores([(g.answer, p) for g, p in rows])
    out["text_by_kind"] = {k: _text_scores([(g, p) for g, p, _ in v]) for k, v in sorted(by_kind.items()) if v}
    return out


def _intervals(labels: dict[str, ClipLabels], videos: set[str]) -> list[Interval]:
    out = []
    for clip, lab in labels.items():
        if clip not in videos:
            continue
        for e in lab.events:
            coarse = coarse_of(e.fine) if e.fine else None
            out.append(Interval(clip, e.onset, e.offset, e.expression_type or "micro", coarse))
    return out


def spotting_section(pred_events: dict[str, ClipLabels], gold_events: dict[str, ClipLabels],
                     videos: set[str]) -> dict[str, Any]:
    """Spotting counts and STRS over ``videos`` (those of the gold question rows)."""
    pred, gold = _intervals(pred_events, videos), _intervals(gold_events, videos)
    s = spotting_scores(pred, gold)
    counts = {name: {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": c.precision, "recall": c.recall, "f1": c.f1}
              for name, c in (("micro", s.micro), ("macro", s.macro), ("overall", s.overall))}
    out: dict[str, Any] = {"spotting": counts}
    if any(i.emotion for i in gold):
        r = strs_score(pred, gold, emotions=[c for c in COARSE_CLASSES if any(i.emotion == c for i in gold)])
        out["strs"] = {"strs": r.strs, "spotting_f1": r.spotting.f1, "analysis_f1": r.analysis.f1,
                       "pairs": r.analysis.n}
    return out


def join(pred: list[QARow], gold: list[QARow]) -> tuple[list[tuple[QARow, str]], int, int]:
    """(gold row, predicted answer) pairs, the number of gold rows without a prediction, and of
    predictions matching no gold row."""
    by_key = {r.qid: r for r in pred}
    by_text: dict[tuple[str, str], list[QARow]] = defaultdict(list)
    for r in pred:
        by_text[(r.clip, r.question)].append(r)
    used: set[str] = set()
    pairs, missing = [], 0
    for g in gold:
        p = by_key.get(g.qid)
        if p is None and len(by_text[(g.clip, g.question)]) == 1:
            p = by_text[(g.clip, g.question)][0]
        if p is None or p.qid in used:
            missing += 1
            pairs.append((g, ""))
            continue
        used.add(p.qid)
        pairs.append((g, p.answer))
    return pairs, missing, len(pred) - len(used)


def evaluate_rows(pred: list[QARow], gold: list[QARow], pred_events: dict[str, ClipLabels] | None = None,
                  gold_events: dict[str, ClipLabels] | None = None) -> dict[str, Any]:
    """Score predicted rows against gold rows, per dataset and overall (spotting when both event sets are given)."""
    pairs, missing, extra = join(pred, gold)
    report: dict[str, Any] = {"rows": len(gold), "missing": missing, "extra": extra}
    groups: dict[str, list[tuple[QARow, str]]] = defaultdict(list)
    for g, p in pairs:
        groups[g.dataset or "unknown"].append((g, p))
    report["overall"] = score_rows(pairs)
    report["datasets"] = {name: score_rows(rows) for name, rows in sorted(groups.items())}
    if pred_events is not None and gold_events is not None:
        report["overall"].update(spotting_section(pred_events, gold_events, {g.clip for g, _ in pairs}))
        for name, rows in groups.items():
            report["datasets"][name].update(spotting_section(pred_events, gold_events, {g.clip for g, _ in rows}))
    return report


def evaluate(pred: str | Path, gold: str | Path, pred_events: str | Path | None = None,
             gold_events: str | Path | None = None) -> dict[str, Any]:
    """Score a prediction file against a gold file, per dataset and overall.

    ``pred_events``/``gold_events`` (events CSVs) default to ``<stem>.events.csv`` beside each
    file when that exists; spotting and STRS are scored when both are present.
    """
    pred_file, gold_file = read_qa_file(pred), read_qa_file(gold)
    pe, ge = (Path(x) if x is not None else _beside(f) for x, f in ((pred_events, pred), (gold_events, gold)))
    events = pe is not None and ge is not None and pe.is_file() and ge.is_file()
    report: dict[str, Any] = {"pred": str(pred), "gold": str(gold), "format": gold_file.format}
    if events:
        report["events"] = {"pred": str(pe), "gold": str(ge)}
    return report | evaluate_rows(pred_file.rows, gold_file.rows, read_au_labels(pe) if events else None,
                                  read_au_labels(ge) if events else None)


def _beside(path: str | Path) -> Path | None:
    from faceqa.megc.predict import side_paths

    events = side_paths(path)[1]
    return events if events.is_file() else None


def _fmt(section: dict[str, Any], key: str, fields: Sequence[str]) -> str | None:
    if key not in section:
        return None
    s = section[key]
    return f"{key:13s} n={s['n']:<5d} " + "  ".join(f"{f} {s[f]:.4f}" for f in fields)


def format_report(report: dict[str, Any]) -> str:
    """The report as a readable text table."""
    lines = [f"{report.get('gold', 'gold')} ({report.get('format', 'MEGC')}): {report['rows']} rows, "
             f"{report['missing']} without a prediction, {report['extra']} predictions matching no gold row"]
    for name, section in [("overall", report["overall"]), *report["datasets"].items()]:
        lines.append(f"[{name}] {section['n']} rows")
        for key, fields in (("coarse", ("accuracy", "uf1", "uar")), ("fine", ("accuracy", "uf1", "uar")),
                            ("aus", ("f1", "f1_micro", "f1_macro")), ("au_present", ("accuracy",)),
                            ("au_side", ("accuracy",)), ("compound", ("score", "au_f1", "fine_uf1", "coarse_uf1")),
                            ("distinct_aus", ("f1", "jaccard")), ("event_type", ("accuracy", "uf1", "uar"))):
            if (line := _fmt(section, key, fields)) is not None:
                lines.append("  " + line)
        if "count" in section:
            count = section["count"]
            for kind, c in [("all", count), *count["by_event_kind"].items()]:
                lines.append(f"  count/{kind:8s} n={c['n']:<5d} mae {c['mae']:.4f}  rmse {c['rmse']:.4f}  "
                             f"accuracy {c['accuracy']:.4f}")
        t = section["text"]
        if t.get("n"):
            lines.append(f"  text          n={t['n']:<5d} bleu {t['bleu']:.4f}  bleu_corpus {t['bleu_corpus']:.4f}  "
                         f"rouge1_p {t['rouge1_p']:.4f}  rouge1_r {t['rouge1_r']:.4f}  rouge1_f {t['rouge1_f']:.4f}")
        if "spotting" in section:
            sp = section["spotting"]
            lines.append("  spotting      " + "  ".join(
                f"{k} tp {v['tp']} fp {v['fp']} fn {v['fn']} f1 {v['f1']:.4f}" for k, v in sp.items()))
        if "strs" in section:
            s = section["strs"]
            lines.append(f"  strs          {s['strs']:.4f} (spotting f1 {s['spotting_f1']:.4f} x analysis f1 "
                         f"{s['analysis_f1']:.4f}, {s['pairs']} pairs)")
    return "\n".join(lines)
