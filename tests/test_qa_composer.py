"""Question understanding and the grounded composer: MEGC wordings, free-form routing, answers in the training style."""

from __future__ import annotations

import dataclasses

import pytest

from faceqa.errors import InvalidInputError
from faceqa.facs import LabelledExpression, parse_aus
from faceqa.megc.io import read_qa_file, read_qa_labels
from faceqa.qa import Composer, Facts, facts_from_labels, parse_question
from faceqa.qa.facts import AUFact, EventFact

MEGC = [
    ("What is the coarse expression class?", "coarse", {}),
    ("What is the fine-grained expression class?", "fine", {}),
    ("What is the action unit?", "aus", {"plural": False}),
    ("What are the action units?", "aus", {"plural": True}),
    ("Is the action unit brow lowerer shown on the face?", "au_present", {"au": 4}),
    ("Is the action unit lip corner puller located on the left or right face?", "au_side", {"au": 12}),
    ("What is the action unit present, and based on it, what is the fine-grained expression and the coarse "
     "expression class?", "compound", {"plural": False}),
    ("What are the action units present, and based on them, what is the fine-grained expression and the coarse "
     "expression class?", "compound", {"plural": True}),
    ("Please analyse the micro-expression shown in this video in detail.", "analysis", {}),
    ("Provide a detailed analysis of the micro-expression observed in this clip.", "analysis", {}),
    ("How many expression events appear in this video?", "count", {"event_kind": None}),
    ("How many micro-expression events appear in this video?", "count", {"event_kind": "micro"}),
    ("How many macro-expression events appear in this video?", "count", {"event_kind": "macro"}),
    ("What distinct action units appear in this video?", "distinct_aus", {}),
    ("What is the expression type of the 10-th expression event in this video?", "event_type", {"index": 10}),
]
FREE = [
    ("Are these two the same person?", "verify"),
    ("Who is this?", "identity"),
    ("How many faces are in the picture?", "face_count"),
    ("When does she smile?", "when"),
    ("Did she frown?", "check"),
    ("What is the head pose?", "head_pose"),
    ("Is the video sharp enough?", "quality"),
    ("How does she feel?", "emotion"),
    ("Is AU12 present?", "au_present"),
    ("What is the type of the last event?", "event_type"),
    ("Tell me about this clip", "describe"),
]


@pytest.mark.parametrize("text, kind, attrs", MEGC)
def test_megc_wordings(text, kind, attrs):
    q = parse_question(text)
    assert q.kind == kind and q.is_megc
    for k, v in attrs.items():
        assert getattr(q, k) == v


@pytest.mark.parametrize("text, kind", FREE)
def test_free_form_routing(text, kind):
    assert parse_question(text).kind == kind


def test_targets_and_empty_question():
    assert parse_question("When does she smile?").target.aus == (12,)
    assert parse_question("Was there any micro-expression?").target.label == "micro-expression"
    assert parse_question("What is the type of the last event?").index == -1
    with pytest.raises(InvalidInputError, match="question is empty"):
        parse_question("  ")


def _answers(facts, questions):
    composer = Composer()
    return [composer.answer(parse_question(q), facts).text for q in questions]


def test_labels_answers_in_megc_style():
    facts = facts_from_labels(parse_aus("4+R7"), convention="samm")
    assert (facts.fine, facts.coarse) == ("anger", "negative")
    assert _answers(facts, [m[0] for m in MEGC[:8]]) == [
        "negative", "anger", "brow lowerer", "brow lowerer, lid tightener", "yes", "left",  # AU12 absent: the prior
        "The action unit present is: brow lowerer. Therefore, the fine-grained expression class is anger, and the "
        "coarse expression class is negative.",
        "The action units present are: brow lowerer, lid tightener. Therefore, the fine-grained expression class is "
        "anger, and the coarse expression class is negative."]
    assert _answers(facts, ["Is the action unit dimpler shown on the face?",
                            "Is the action unit lid tightener located on the left or right face?"]) == ["no", "right"]
    detail = _answers(facts, ["Please analyse the micro-expression shown in this video in detail."])[0]
    assert detail.startswith("The action units present are: brow lowerer, lid tightener.")
    assert detail.endswith("The lid tightener is shown on the right face.")


def test_lvqa_answers_from_labelled_events():
    ev = [LabelledExpression("x", "s", "v", tuple(parse_aus(a)), onset=on, offset=off, expression_type=t)
          for a, on, off, t in [("12", 40, 50, "micro"), ("4+R10", 10, 90, "macro"), ("12+6", 100, 104, None)]]
    facts = facts_from_labels([a for e in ev for a in e.aus], ev, fps=30.0)
    questions = [m[0] for m in MEGC[10:14]] + ["What is the expression type of the 3-th expression event in this "
                                               "video?", "What is the expression type of the 9-th expression "
                                               "event in this video?"]
    assert _answers(facts, questions) == ["3", "2", "1", "brow lowerer, cheek raiser, upper lip raiser, "
                                          "lip corner puller", "micro-expression", "macro-expression"]


def test_video_facts_fill_plural_answers_from_the_ranking():
    facts = Facts("video", aus=[AUFact(12, "lip corner puller", "R", 0.9, 0.1, 0.9)],
                  ranked=[AUFact(12, "lip corner puller", "R", 0.9, 0.1, 0.9), AUFact(6, "cheek raiser", "both", 0.2,
                                                                                       0.2, 0.18)],
                  fine="happiness", coarse="positive", fine_scores={"happiness": 0.7}, coarse_scores={"positive": 0.8},
                  events=[EventFact(1, "micro", 30, 36, 43, 1.0, 1.2, 1.43, 0.9,
                                    [AUFact(12, "lip corner puller", "R", 0.9)], "happiness", "positive")])
    assert _answers(facts, ["What are the action units?", "Is the action unit cheek raiser located on the left or "
                            "right face?", "Is the action unit cheek raiser shown on the face?",
                            "When does she smile?", "Did she frown?"]) == [
        "lip corner puller, cheek raiser", "left", "no", "The smile appears from 1.00 s to 1.43 s (frames 30-43).",
        "No, no frown is seen in this clip."]


@pytest.mark.realdata
def test_composer_reproduces_the_training_answers(shared_data):
    """Given a clip's labelled AUs (and, for the compound sentence, its classes), every AU, yes/no, side and
    compound answer of the MEGC 2025 training file is reproduced character for character."""
    path = shared_data / "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl"
    clips = {c.clip: c for c in read_qa_labels(path)}
    composer = Composer()
    checked = 0
    for row in read_qa_file(path).rows:
        q = parse_question(row.question)
        if q.kind not in ("aus", "au_present", "au_side", "compound"):
            continue
        clip = clips[row.clip]
        facts = dataclasses.replace(facts_from_labels(clip.aus), fine=clip.fine, coarse=clip.coarse)
        assert composer.answer(q, facts).text == row.answer, row
        checked += 1
    assert checked == 133 + 266 + 30 + 133


def test_missing_template_is_a_clear_error(tmp_path):
    (tmp_path / "coarse.txt").write_text("{coarse}\n")
    composer = Composer(tmp_path)
    facts = facts_from_labels(parse_aus("12"))
    assert composer.answer(parse_question("What is the coarse expression class?"), facts).text == "positive"
    with pytest.raises(InvalidInputError, match="answer template 'fine': missing template"):
        composer.answer(parse_question("What is the fine-grained expression class?"), facts)
    with pytest.raises(InvalidInputError, match="answer template folder not found"):
        Composer(tmp_path / "none").answer(parse_question("What is the coarse expression class?"), facts)
