"""``FaceQA`` / ``faceqa ask``: answers on synthetic clips agree with the injected AUs; the LLM answerer contract."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from faceqa.cli.main import main
from faceqa.errors import ModelUnavailableError
from faceqa.facs import parse_aus
from faceqa.qa import FaceQA, facts_from_labels
from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

MEGC_QUESTIONS = [
    "What is the action unit?",
    "Is the action unit lip corner puller located on the left or right face?",
    "Is the action unit lip corner puller shown on the face?",
    "What is the coarse expression class?",
    "What is the fine-grained expression class?",
    "What is the action unit present, and based on it, what is the fine-grained expression and the coarse "
    "expression class?",
]


@pytest.fixture(scope="module")
def face(astronaut):
    return np.ascontiguousarray(astronaut[0:360, 45:405])


@pytest.fixture(scope="module")
def smile_clip(tmp_path_factory, face):
    folder = tmp_path_factory.mktemp("qa") / "au12R"
    make_clip(face, ClipSpec(75, 30.0, [InjectedEvent(30, 36, 43, [InjectedAU(12, "R", 0.7)])]), folder)
    return folder


@pytest.fixture(scope="module")
def frown_clip(tmp_path_factory, face):
    folder = tmp_path_factory.mktemp("qa") / "au4_7"
    frown = [InjectedAU(4, "both", 0.8), InjectedAU(7, "both", 0.4)]
    make_clip(face, ClipSpec(60, 30.0, [InjectedEvent(20, 27, 34, frown)]), folder)
    return folder


def test_smile_clip_answers_match_the_injected_au(smile_clip):
    answers = FaceQA(answerer="composer").ask_many(smile_clip, MEGC_QUESTIONS + ["When does she smile?"], fps=30,
                                                   onset=25, offset=55)
    texts = [a.text for a in answers]
    assert texts[:5] == ["lip corner puller", "right", "yes", "positive", "happiness"]
    assert texts[5] == ("The action unit present is: lip corner puller. Therefore, the fine-grained expression class "
                        "is happiness, and the coarse expression class is positive.")
    assert texts[6].startswith("The smile appears from 1.")
    a = answers[0]
    assert a.answerer == "composer" and a.kind == "aus" and 0 < a.confidence <= 1 and a.note is None
    top = a.evidence["aus"][0]
    assert (top["au"], top["side"]) == (12, "R") and top["right"] > top["left"]
    assert a.evidence["frames"]["onset"] == 25 and 30 <= a.evidence["frames"]["apex"] <= 43
    assert a.evidence["counts"]["micro"] == 1
    assert [c["name"] for c in a.tool_calls] == ["analyze_clip", "deduce"]
    assert json.loads(json.dumps(a.to_dict()))["text"] == "lip corner puller"


def test_frown_clip_is_negative(frown_clip):
    qa = FaceQA(answerer="composer", convention="samm")
    texts = [a.text for a in qa.ask_many(frown_clip, ["What are the action units?", "What is the coarse expression "
                                                      "class?", "Did she frown?"], fps=30)]
    # the corrugator of the generated frown also reads as a weaker inner brow raiser (AU1) on this face
    named = texts[0].split(", ")
    assert named[0] == "brow lowerer" and "lid tightener" in named and texts[1] == "negative"
    assert texts[2].startswith("Yes: the frown appears from")


def test_ask_cli(smile_clip, capsys):
    assert main(["ask", str(smile_clip), "What are the action units?", "--fps", "30", "--onset", "25", "--offset",
                 "55", "--no-llm", "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"].split(", ")[0] == "lip corner puller" and out["answerer"] == "composer"
    assert main(["ask", str(smile_clip), "What is the coarse expression class?", "How many micro-expression events "
                 "appear in this video?", "--fps", "30", "--no-llm", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "positive" in text and "\n1\n" in text
    assert main(["ask", str(smile_clip / "missing.mp4"), "Who is this?", "--no-llm"]) == 2
    assert "missing.mp4: no such file" in capsys.readouterr().err


def test_one_pass_per_clip_gives_the_same_facts_whatever_is_asked(smile_clip, monkeypatch):
    from faceqa.qa import clip as clip_module

    passes = []
    run = clip_module._run
    monkeypatch.setattr(clip_module, "_run", lambda *args: passes.append(args) or run(*args))
    clip_module.CLIP_CACHE.clear()
    qa = FaceQA(answerer="composer")
    alone = qa.ask(smile_clip, "What is the action unit?", fps=30, onset=25, offset=55)
    batch = qa.ask_many(smile_clip, ["What is the action unit?", "What emotion does she show?",
                                     "How many faces are there?", "Is the video sharp enough?"],
                        fps=30, onset=25, offset=55)
    assert len(passes) == 1  # the second call reused the first one's pass
    assert alone.evidence == batch[0].evidence  # the facts (the LLM's input) do not depend on the batch
    assert alone.evidence["emotion_scores"] and alone.evidence["faces"]["frames_with_face"] == 31
    assert alone.evidence["quality"]["frames_analyzed"] == 6  # 31 frames at 30 fps, 5 a second
    qa.ask(smile_clip, "What is the action unit?", fps=30, onset=26, offset=55)
    assert len(passes) == 2  # another range is another clip


def test_free_form_questions_on_a_still(face, tmp_path):
    from PIL import Image

    still = tmp_path / "face.png"
    Image.fromarray(face).save(still)
    qa = FaceQA(answerer="composer", gallery=str(tmp_path / "gallery.sqlite"))
    answers = qa.ask_many(still, ["How many faces are there?", "What is the head pose?", "Is the image sharp enough?",
                                  "Who is this?", "Are these the same person?", "What are the action units?"],
                          compare=still)
    texts = {a.kind: a.text for a in answers}
    assert texts["face_count"] == "I see 1 face in the image."
    assert texts["head_pose"].startswith("The head is roughly frontal: yaw")
    assert texts["quality"].startswith("Quality 0.") and "good enough for face analysis" in texts["quality"]
    assert "the gallery holds no enrolled person" in texts["identity"]
    assert texts["verify"].startswith("Yes, these are the same person (distance 0.000")
    assert texts["aus"] == "none: no facial movement could be measured"
    names = {c["name"] for a in answers for c in a.tool_calls}
    assert {"analyze_clip", "identify", "verify", "deduce"} <= names
    assert answers[0].evidence["faces"]["faces"][0]["frames"] == 1


def _fake_answerer(monkeypatch, answer=None, bundle="bundle-dir", load=None, route=None):
    module = types.ModuleType("faceqa.aullm.answerer")
    module.default_bundle_path = lambda: bundle

    class Fake:
        def answer(self, facts, evidence, questions, dataset=None, deduction_model=None):
            return answer(facts, evidence, questions)

        def route(self, kind, source, dataset=None):
            if route is None:
                return types.SimpleNamespace(llm=True, reason="measured")
            return route(kind, source, dataset)

    module.load_answerer = load or (lambda path: Fake())
    monkeypatch.setitem(sys.modules, "faceqa.aullm.answerer", module)


QUESTIONS = ["What is the coarse expression class?", "Who is this?"]


def test_llm_answers_megc_questions_and_the_composer_the_tools(monkeypatch):
    seen = {}

    def answer(facts, evidence, questions):
        seen.update(facts=facts, evidence=evidence, questions=questions)
        return ["llm says negative"]

    _fake_answerer(monkeypatch, answer)
    facts = facts_from_labels(parse_aus("4+7"))
    a, b = FaceQA().answer_facts(facts, QUESTIONS)
    assert (a.text, a.answerer, a.note, a.route) == ("llm says negative", "llm", None, "measured")
    assert a.tool_calls[-1]["name"] == "llm.answer"
    assert b.answerer == "composer" and b.text == "No face is found, so nobody can be identified."
    assert b.route is None  # a tool question: the LLM never takes it
    assert seen == {"facts": facts, "evidence": None, "questions": [QUESTIONS[0]]}


def test_auto_routes_each_question_type_by_measured_merit(monkeypatch):
    """auto: the LLM answers only the types its bundle measured at least as good as the composer; llm: all."""
    asked = []

    def answer(facts, evidence, questions):
        asked.append(list(questions))
        return [f"llm: {q}" for q in questions]

    def route(kind, source, dataset):
        good = kind == "fine" and source == "labels" and dataset == "samm"
        return types.SimpleNamespace(llm=good, reason=f"{kind}/{source}/{dataset}")

    _fake_answerer(monkeypatch, answer, route=route)
    facts = facts_from_labels(parse_aus("4+7"))
    qs = ["What is the coarse expression class?", "What is the fine-grained expression class?"]
    coarse, fine = FaceQA().answer_facts(facts, qs, dataset="samm")
    assert (coarse.answerer, fine.answerer) == ("composer", "llm") and asked == [[qs[1]]]
    assert coarse.route == "coarse/labels/samm" and coarse.text == "negative" and coarse.note is None
    assert [a.answerer for a in FaceQA().answer_facts(facts, qs, dataset="casme3")] == ["composer", "composer"]
    assert [a.answerer for a in FaceQA(answerer="llm").answer_facts(facts, qs)] == ["llm", "llm"]
    assert [a.answerer for a in FaceQA(answerer="composer").answer_facts(facts, qs)] == ["composer", "composer"]


def test_llm_failure_falls_back_to_the_composer(monkeypatch):
    def broken(facts, evidence, questions):
        raise RuntimeError("out of memory")

    _fake_answerer(monkeypatch, broken)
    a = FaceQA(answerer="llm").answer_facts(facts_from_labels(parse_aus("12")), QUESTIONS[:1])[0]
    assert (a.text, a.answerer) == ("positive", "composer")
    assert "the LLM answerer failed (RuntimeError: out of memory)" in a.note
    _fake_answerer(monkeypatch, lambda f, e, q: [])  # a wrong number of answers is a failure too
    assert FaceQA().answer_facts(facts_from_labels(parse_aus("12")), QUESTIONS[:1])[0].answerer == "composer"


def test_llm_availability(monkeypatch):
    facts = facts_from_labels(parse_aus("12"))
    monkeypatch.setitem(sys.modules, "faceqa.aullm.answerer", None)  # not built: import fails
    assert FaceQA().answer_facts(facts, QUESTIONS[:1])[0].answerer == "composer"
    with pytest.raises(ModelUnavailableError, match="cannot be imported"):
        FaceQA(answerer="llm").answer_facts(facts, QUESTIONS[:1])
    _fake_answerer(monkeypatch, bundle=None)  # built, but no bundle installed
    assert FaceQA().answer_facts(facts, QUESTIONS[:1])[0].note is None
    with pytest.raises(ModelUnavailableError, match="no adapter bundle is installed"):
        FaceQA(answerer="llm").answer_facts(facts, QUESTIONS[:1])

    def bad_load(path):
        raise OSError(f"{path}: adapter_model.safetensors missing")

    _fake_answerer(monkeypatch, load=bad_load)
    a = FaceQA().answer_facts(facts, QUESTIONS[:1])[0]
    assert a.answerer == "composer" and "did not load" in a.note
    with pytest.raises(ModelUnavailableError, match="adapter_model.safetensors missing"):
        FaceQA(answerer="llm", bundle="b").answer_facts(facts, QUESTIONS[:1])
