"""Held-out evaluation: the LLM answerer and the composer side by side, on every held-out clip.

Each held-out clip's MEGC questions (:func:`~faceqa.train.examples.qa_examples`: coarse, fine,
AU list, AU present (a yes and a no), side, compound) are answered twice on the same facts: by
the bundle's :class:`~faceqa.aullm.answerer.LLMAnswerer` and by the grounded
:class:`~faceqa.qa.composer.Composer`, under two kinds of evidence:

- ``labels``: the oracle AU labels, exactly as ``faceqa megc predict --au-labels`` answers
  (:func:`~faceqa.qa.facts.facts_from_labels`; the LLM's features come from the answerer's own
  code path);
- ``video``: a stand-in for video evidence that needs no video: the motion the labelled AUs would
  produce (:func:`~faceqa.aullm.features.synthetic_displacement`, with weak distractor AUs and
  noise); the LLM reads features computed from it, the composer facts read from it with the
  evidence pass's own AU read-out (:func:`~faceqa.evidence.spotting.active_aus`). It is generated
  data: it ranks the answerers on the same footing, it does not measure accuracy on real video.

With ``lvqa``, the ME-LVQA question types (event counts, distinct AUs, N-th event type) are asked
about the held-out subjects' CAS(ME)^3 part A long videos, from their labelled events.

Both answerers get the same AU -> emotion deduction: the one fitted on the training subjects
only (:class:`~faceqa.train.batches.Deductions`), so no figure rests on a held-out label. Every
random choice (which AU a yes/no question names, the synthesised motion) is seeded per clip, so
any clip can be answered again alone and give the same row.

Figures per question type: those the kind's entry in :data:`faceqa.qa.kinds.KINDS` keeps
(``figures``) of :func:`faceqa.megc.evaluate.score_kind`, the MEGC evaluation's own metric, rounded
to 4 places; its headline (:data:`~faceqa.qa.kinds.HEADLINE`) decides routing:

- ``coarse``, ``fine``: UF1, UAR (MEGC's unweighted F1 and average recall), accuracy;
- ``aus``: F1 between the predicted and true AU sets (averaged over questions);
- ``au_present``, ``au_side``: accuracy;
- ``compound``: its AU-set F1, fine UF1 and coarse UF1, and their mean (``score``);
- ``count``: exact-match accuracy and MAE; ``distinct_aus``: set F1; ``event_type``: accuracy, UF1;
- ``text``: sentence BLEU-4 (method-1 smoothing), corpus BLEU-4 and ROUGE-1 F over every answer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np
from tqdm import tqdm

from faceqa.aullm.answerer import UNSEEN, dataset_key
from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import LabelledExpression
from faceqa.qa.kinds import HEADLINE, SCORED_KINDS, kind_spec
from faceqa.train.examples import qa_examples

ANSWERERS = ("llm", "composer")


def kind_metrics(kind: str, refs: list[str], preds: list[str]) -> dict:
    """The figures of one question type that ``scores.json`` keeps (see the module docstring)."""
    from faceqa.megc.evaluate import score_kind

    figures = kind_spec(kind).figures
    if not figures:
        raise InvalidInputError(f"no held-out figure for question type {kind!r}")
    scores = score_kind(kind, refs, preds)
    return {f: round(float(scores[f]), 4) for f in figures} | {"n": scores["n"]}


def text_metrics(refs: list[str], preds: list[str]) -> dict:
    """Sentence BLEU-4 (mean), corpus BLEU-4 and ROUGE-1 F (mean) of answers against references."""
    from faceqa.megc.text_metrics import corpus_bleu, rouge1, sentence_bleu

    return {"bleu4": round(float(np.mean([sentence_bleu(r, p) for r, p in zip(refs, preds, strict=True)])), 4),
            "corpus_bleu4": round(corpus_bleu(refs, preds), 4),
            "rouge1": round(float(np.mean([rouge1(r, p).f1 for r, p in zip(refs, preds, strict=True)])), 4)}


def row_clip(row: dict) -> tuple:
    """What identifies the clip a held-out row is about: dataset, subject, clip name and the labelled onset and
    offset (CAS(ME)^3 names its clips a, b, ... per subject, and one clip can hold several expressions)."""
    labels = row.get("labels") or {}
    return row["dataset"], row.get("subject"), row["clip"], labels.get("onset"), labels.get("offset")


def compare(rows: list[dict]) -> dict:
    """Per scope (``overall`` and each dataset) and question type: ``n`` and each answerer's figures."""
    out: dict = {}
    scopes = ["overall"] + sorted({r["dataset"] for r in rows})
    for scope in scopes:
        sel = [r for r in rows if scope == "overall" or r["dataset"] == scope]
        per: dict = {"questions": len(sel), "clips": len({row_clip(r) for r in sel})}
        for kind in SCORED_KINDS:
            k_rows = [r for r in sel if r["kind"] == kind]
            if not k_rows:
                continue
            refs = [r["reference"] for r in k_rows]
            per[kind] = {"n": len(k_rows)} | {who: {k: v for k, v in kind_metrics(kind, refs, [r[who] for r in k_rows])
                                                    .items() if k != "n"} for who in ANSWERERS}
        refs = [r["reference"] for r in sel]
        per["text"] = {who: text_metrics(refs, [r[who] for r in sel]) for who in ANSWERERS}
        out[scope] = per
    return out


def answered_like_unseen(vocab: dict) -> list[str]:
    """The datasets of a bundle's class vocabulary (dataset -> :class:`~faceqa.aullm.decoding.ClassVocab`)
    whose questions it answers as it answers a dataset it never saw (coarse from fine, or not, as the generic
    vocabulary)."""
    from faceqa.aullm.decoding import GENERIC_VOCAB

    return sorted(ds for ds, v in vocab.items() if v.coarse_from_fine == GENERIC_VOCAB.coarse_from_fine)


def score_modes(rows: list[dict], like_unseen: Sequence[str] = ()) -> dict:
    """Per evidence mode, :func:`compare` of its rows, with an :data:`UNSEEN` scope after ``overall``: the
    figures over the rows of the datasets in ``like_unseen`` (none: no such scope)."""
    out: dict = {}
    for mode in sorted({r["mode"] for r in rows}):
        sel = [r for r in rows if r["mode"] == mode]
        per = compare(sel)
        like = [r for r in sel if r["dataset"] in like_unseen]
        if like:
            per = {"overall": per.pop("overall"), UNSEEN: compare(like)["overall"]} | per
        out[mode] = per
    return out


def routing_table(scores: dict) -> dict:
    """mode -> scope -> kind -> ``{"llm": x, "composer": y, "answerer": ...}`` from :func:`compare` output per mode."""
    table: dict = {}
    for mode, per_scope in scores.items():
        for scope, per in per_scope.items():
            for kind, fig in per.items():
                if kind not in HEADLINE or not isinstance(fig, dict):
                    continue
                key = HEADLINE[kind]
                llm, comp = fig["llm"][key], fig["composer"][key]
                table.setdefault(mode, {}).setdefault(scope, {})[kind] = {
                    "llm": llm, "composer": comp, "n": fig["n"], "answerer": "llm" if llm >= comp else "composer"}
    return table


def clip_rng(seed: int, clip: LabelledExpression) -> np.random.Generator:
    """The generator of one clip's random choices (the same whichever clips are scored with it)."""
    return np.random.default_rng([seed, zlib.crc32(f"{clip.dataset}/{clip.subject}/{clip.clip}".encode())])


def facts_from_motion(series: np.ndarray, convention: str | None = None, model=None):
    """Facts from a region-displacement series (T, R, 2) read as the evidence pass reads video.

    The AUs active in it (:func:`~faceqa.evidence.spotting.active_aus` on the peak strengths, put
    on the 0-5 intensity scale), every measured AU ranked by strength, and the emotion deduced from
    the AUs that carry the expression (or the strongest one when none is active), as
    :func:`~faceqa.qa.facts.facts_from_evidence` does.
    """
    from faceqa.evidence.au_activity import AU_MOTIONS, au_activity
    from faceqa.evidence.au_intensity import INTENSITY_AUS
    from faceqa.evidence.spotting import active_aus, expression_aus, side_of
    from faceqa.facs.deduction import deduce
    from faceqa.facs.units import au_by_number
    from faceqa.qa.facts import RANK_EXCLUDED, AUFact, Facts

    strength = au_activity(np.nan_to_num(series), saturate=False).max(axis=0)
    facts = Facts("video", convention=convention)
    sides = {m.au: (float(strength[2 * j]), float(strength[2 * j + 1])) for j, m in enumerate(AU_MOTIONS)}
    row = np.zeros(2 * len(INTENSITY_AUS))  # the read-out's layout; activity 1.0 (full displacement) is E, 5
    for au, (left, right) in sides.items():
        if au in INTENSITY_AUS:
            j = INTENSITY_AUS.index(au)
            row[2 * j:2 * j + 2] = 5.0 * left, 5.0 * right
    active = active_aus(row)
    facts.aus = [AUFact(a.au, au_by_number(a.au).name, a.side, float(a.score), min(sides[a.au][0], 1.0),
                        min(sides[a.au][1], 1.0)) for a in active]
    ranked = sorted(((max(left, right), au, left, right) for au, (left, right) in sides.items()
                     if au not in RANK_EXCLUDED), key=lambda t: (-t[0], t[1]))
    facts.ranked = [AUFact(au, au_by_number(au).name, side_of(left, right), min(top, 1.0), min(left, 1.0),
                           min(right, 1.0)) for top, au, left, right in ranked]
    numbers = expression_aus(active) or [a.au for a in facts.ranked[:1] if a.score > 0]
    d = deduce(numbers, convention, model=model)
    facts.fine, facts.coarse = d.fine, d.coarse
    facts.fine_scores = {k: round(v, 4) for k, v in sorted(d.scores.items(), key=lambda kv: -kv[1])}
    facts.coarse_scores = {k: round(v, 4) for k, v in sorted(d.coarse_scores.items(), key=lambda kv: -kv[1])}
    facts.rationale = d.rationale
    return facts


def answer_clip(answerer, clip: LabelledExpression, mode: str, deduction_model=None, seed: int = 0,
                composer=None) -> list[dict]:
    """One held-out clip's rows: its MEGC questions answered by the LLM and by the composer (same facts)."""
    from faceqa.aullm.features import features_from_displacement, synthetic_displacement
    from faceqa.megc.media import DATASET_CONVENTION
    from faceqa.qa.composer import Composer
    from faceqa.qa.facts import facts_from_labels
    from faceqa.qa.questions import parse_question

    composer = composer or Composer()
    rng = clip_rng(seed, clip)
    examples = qa_examples(clip, rng)
    if not examples:
        return []
    ds = dataset_key(clip.dataset)
    convention = DATASET_CONVENTION.get(ds or "")
    if mode == "labels":
        facts = facts_from_labels(list(clip.aus), clip=clip.clip, convention=convention, model=deduction_model)
        feats = answerer.features(facts, None)
    elif mode == "video":
        series = synthetic_displacement(list(clip.aus), rng)
        facts = facts_from_motion(series, convention, deduction_model)
        feats = features_from_displacement(series, answerer.model.node_aus)
    else:
        raise InvalidInputError(f"evidence mode must be 'labels' or 'video', got {mode!r}")
    questions = [e.question for e in examples]
    llm = answerer.answer_features(feats, facts, questions, ds, deduction_model)
    parsed = [parse_question(q) for q in questions]
    comp = [composer.answer(q, facts).text for q in parsed]
    labels = clip_labels(clip)
    return [{"mode": mode, "dataset": ds, "subject": clip.subject, "clip": clip.clip, "kind": q.kind,
             "question": e.question, "reference": e.answer, "llm": a, "composer": c, "labels": labels}
            for e, q, a, c in zip(examples, parsed, llm, comp, strict=True)]


def clip_labels(clip: LabelledExpression) -> dict:
    """A held-out clip's labels as a row records them (:func:`clip_from_labels` reads them back)."""
    from faceqa.facs.au_codes import format_au_codes

    return {"dataset": clip.dataset, "aus": format_au_codes(clip.aus), "fine": clip.fine, "coarse": clip.coarse,
            "onset": clip.onset, "apex": clip.apex, "offset": clip.offset}


def clip_from_labels(row: dict) -> LabelledExpression:
    """The clip a held-out row was asked about (inverse of :func:`clip_labels`)."""
    from faceqa.facs.au_codes import parse_au_codes

    lab = row["labels"]
    return LabelledExpression(lab["dataset"], row["subject"], row["clip"], tuple(parse_au_codes(lab["aus"] or "")),
                              lab["fine"], lab["coarse"], lab["onset"], lab["apex"], lab["offset"])


def lvqa_videos(data_root, subjects: Iterable[str]) -> dict[str, list[LabelledExpression]]:
    """The CAS(ME)^3 part A long videos of these subject keys (``casme3:spNO.1``), with their events."""
    from pathlib import Path

    from faceqa.facs.annotations import CASME3_ME_CSV
    from faceqa.megc.gold import casme3_videos

    wanted = {s.split(":", 1)[1] for s in subjects if s.startswith("casme3:")}
    root = Path(data_root)
    all_csv = (root / CASME3_ME_CSV).parent / "casme3_partA_all_expressions_v2.csv"
    if not wanted or not all_csv.is_file():
        return {}
    videos = casme3_videos(all_csv, root / CASME3_ME_CSV)
    return {v: evs for v, evs in videos.items() if evs and evs[0].subject in wanted}


def answer_video(answerer, video: str, events: list[LabelledExpression], deduction_model=None, seed: int = 0,
                 composer=None) -> list[dict]:
    """One long video's ME-LVQA rows from its labelled events, answered by the LLM and the composer."""
    from faceqa.megc.gold import lvqa_gold
    from faceqa.qa.composer import Composer
    from faceqa.qa.facts import facts_from_labels
    from faceqa.qa.questions import parse_question

    composer = composer or Composer()
    seed_v = int(np.random.default_rng([seed, zlib.crc32(video.encode())]).integers(1 << 30))
    gold, _, _ = lvqa_gold({video: events}, None, 2, seed_v)
    aus = list(dict.fromkeys(a for e in events for a in e.aus))
    facts = facts_from_labels(aus, events, clip=video, fps=30.0, convention="casme3", model=deduction_model)
    questions = [g["question"] for g in gold]
    llm = answerer.answer_features(answerer.features(facts, None), facts, questions, "casme3", deduction_model)
    parsed = [parse_question(q) for q in questions]
    comp = [composer.answer(q, facts).text for q in parsed]
    return [{"mode": "labels", "dataset": "casme3", "subject": events[0].subject, "clip": video, "kind": q.kind,
             "question": g["question"], "reference": g["answer"], "llm": a, "composer": c}
            for g, q, a, c in zip(gold, parsed, llm, comp, strict=True)]


def evaluate_answerers(answerer, clips: list[LabelledExpression], deduction_model=None, seed: int = 0,
                       modes: tuple[str, ...] = ("labels", "video"), videos: dict | None = None,
                       progress: bool = True, workers: int = 1, bundle=None) -> tuple[dict, list[dict]]:
    """(scores, rows): every clip (and long video) answered by both answerers, compared per mode.

    With ``workers`` > 1 the clips are answered in that many processes, each loading ``bundle``
    (the saved form of ``answerer``) on one thread; the rows come back in the same order.
    """
    from faceqa.qa.composer import Composer

    tasks = [("clip", clip, mode) for mode in modes for clip in clips]
    tasks += [("video", video, events) for video, events in (videos or {}).items()]
    bar = tqdm(total=len(tasks), desc="held-out", unit="clip", disable=not progress, leave=False)
    rows: list[dict] = []
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if bundle is None:
            raise InvalidInputError("evaluating in several processes needs the bundle's folder")
        init = (str(bundle), deduction_model.to_json() if deduction_model is not None else None, seed)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=init) as pool:
            for part in pool.map(_answer_task, tasks):
                rows += part
                bar.update(1)
    else:
        _WORKER.update(answerer=answerer, deduction=deduction_model, seed=seed, composer=Composer())
        try:
            for task in tasks:
                rows += _answer_task(task)
                bar.update(1)
        finally:
            _WORKER.clear()
    bar.close()
    if not rows:
        raise InvalidInputError("no held-out question to score")
    return score_modes(rows, answered_like_unseen(answerer.vocab)), rows


_WORKER: dict = {}
"""What :func:`_answer_task` answers with, in this process."""


def _init_worker(bundle: str, deduction: dict | None, seed: int) -> None:
    import torch

    from faceqa.aullm.answerer import load_answerer
    from faceqa.facs.deduction import DeductionModel
    from faceqa.qa.composer import Composer

    torch.set_num_threads(1)
    _WORKER.update(answerer=load_answerer(bundle), seed=seed, composer=Composer(),
                   deduction=DeductionModel.from_json(deduction) if deduction is not None else None)


def _answer_task(task: tuple) -> list[dict]:
    w = _WORKER
    if task[0] == "clip":
        return answer_clip(w["answerer"], task[1], task[2], w["deduction"], w["seed"], w["composer"])
    return answer_video(w["answerer"], task[1], task[2], w["deduction"], w["seed"], w["composer"])
