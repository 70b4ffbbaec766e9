"""``faceqa megc predict``: official rows, AU labels, media lookup, failed rows, resume; held-out emotion."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from faceqa.cli.main import main
from faceqa.megc.io import SUBMISSION_KEYS, read_qa_file
from faceqa.megc.predict import Predictor, predict
from faceqa.qa import FaceQA
from faceqa.synth import ClipSpec, InjectedAU, InjectedEvent, make_clip

COARSE = "What is the coarse expression class?"
FINE = "What is the fine-grained expression class?"
AUS = "What is the action unit?"
SIDE = "Is the action unit lip corner puller located on the left or right face?"
COMPOUND = ("What is the action unit present, and based on it, what is the fine-grained expression and the coarse "
            "expression class?")


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _question_file(path, clips):
    rows = []
    for clip, subject, filename, onset, offset in clips:
        for k, q in enumerate((COARSE, FINE, AUS, SIDE, COMPOUND), 1):
            rows.append({"id": f"samm_test_{clip}_{k}", "dataset": "samm_test", "image_id": clip, "subject": subject,
                         "filename": filename, "onset_frame": onset, "offset_frame": offset, "question": q,
                         "answer": ""})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def media_root(tmp_path_factory, astronaut):
    """ROOT/<subject>/<filename>/ frames of a recording with a right-side AU12 micro-expression at 30-43."""
    root = tmp_path_factory.mktemp("media")
    spec = ClipSpec(70, 30.0, [InjectedEvent(30, 36, 43, [InjectedAU(12, "R", 0.5)])])
    make_clip(np.ascontiguousarray(astronaut[0:360, 45:405]), spec, root / "7" / "007_1")
    return root


@pytest.mark.realdata
def test_every_question_file_predicts_official_rows(shared_data, tmp_path):
    """Each published file, answered from (empty) oracle labels: one row per question, in order, official keys."""
    for path in sorted((shared_data / "vqa").rglob("*.jsonl")):
        qa = read_qa_file(path)
        labels = tmp_path / f"{path.stem}.csv"
        labels.write_text("video,aus\n" + "".join(f"{c},4+R10\n" for c in qa.clips()))
        out = tmp_path / f"{path.stem}.pred.jsonl"
        s = predict(path, out, au_labels=labels, qa=FaceQA(answerer="composer"), progress=False)
        rows = _rows(out)
        assert s.answered == len(qa.rows) == len(rows) and s.failed == 0 and s.errors is None
        assert all(tuple(r) == SUBMISSION_KEYS and r["answer"] for r in rows)
        assert [r["video_id"] for r in rows] == [r.qid for r in qa.rows]
        assert [r["video"] for r in rows] == [r.clip for r in qa.rows]


@pytest.mark.realdata
def test_heldout_emotion_scores_from_oracle_aus(shared_data, capsys):
    """Emotion questions of the MEGC 2025 training file, AUs from its answers, SAMM subjects held out (4 folds)."""
    assert main(["megc", "heldout", "--data", str(shared_data), "--folds", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    samm, smic = report["datasets"]["samm"], report["datasets"]["smic"]
    assert samm["fine"]["uf1"] >= 0.80 and samm["fine"]["uar"] >= 0.80
    assert samm["coarse"]["uf1"] >= 0.88 and samm["coarse"]["uar"] >= 0.88
    assert samm["aus"]["f1"] == 1.0 and samm["au_present"]["accuracy"] == 1.0
    assert samm["au_side"]["accuracy"] == 1.0  # sides of the "left or right" answers kept in the labels
    assert samm["text"]["rouge1_f"] >= 0.95
    assert smic["coarse"]["n"] == 164  # no AU answers: answered from the class prior


def test_predict_from_media_and_failed_rows(media_root, tmp_path, capsys):
    questions = _question_file(tmp_path / "q.jsonl", [("7_007_1_25", 7, "007_1", 25, 55),
                                                      ("8_008_1_10", 8, "008_1", 10, 40)])
    out = tmp_path / "pred.jsonl"
    assert main(["megc", "predict", "--questions", str(questions), "--media-root", str(media_root), "--out", str(out),
                 "--no-llm", "--fps", "30", "--no-progress"]) == 0
    assert "5 rows answered, 0 kept from an earlier run, 5 failed" in capsys.readouterr().out
    rows = _rows(out)
    answers = {r["question"]: r["answer"] for r in rows[:5]}
    assert answers[AUS] == "lip corner puller" and answers[SIDE] == "right"
    assert answers[COARSE] == "positive" and answers[FINE] == "happiness"
    assert answers[COMPOUND] == ("The action unit present is: lip corner puller. Therefore, the fine-grained "
                                 "expression class is happiness, and the coarse expression class is positive.")
    assert all(r["answer"] == "" for r in rows[5:])
    with (tmp_path / "pred.errors.csv").open() as f:
        errors = list(csv.DictReader(f))
    assert [e["video_id"] for e in errors] == [f"samm_test_8_008_1_10_{k}" for k in range(1, 6)]
    assert "8_008_1_10: no media under" in errors[0]["error"]


def test_resume_redoes_only_unfinished_and_failed_rows(tmp_path, monkeypatch):
    questions = _question_file(tmp_path / "q.jsonl", [(f"c{i}", 1, f"f{i}", 0, 10) for i in range(4)])
    labels = tmp_path / "labels.csv"
    labels.write_text("video,aus\nc0,12\nc1,4+7\nc2,R14\n")  # c3 has no labels and no media root: fails
    out = tmp_path / "pred.jsonl"
    s = predict(questions, out, au_labels=labels, qa=FaceQA(answerer="composer"), progress=False)
    assert (s.answered, s.failed, s.resumed) == (15, 5, 0)
    first = _rows(out)
    out.write_text("".join(json.dumps(r) + "\n" for r in first[:7]))  # interrupted inside clip c1
    labels.write_text("video,aus\nc0,12\nc1,4+7\nc2,R14\nc3,9\n")
    seen = []
    original = Predictor.answer_clip

    def spy(self, rows):
        seen.append((rows[0].clip, len(rows)))
        return original(self, rows)

    monkeypatch.setattr(Predictor, "answer_clip", spy)
    s = predict(questions, out, au_labels=labels, qa=FaceQA(answerer="composer"), progress=False)
    assert seen == [("c1", 3), ("c2", 5), ("c3", 5)]  # c0 and the first two rows of c1 were kept
    assert (s.answered, s.failed, s.resumed, s.errors) == (13, 0, 7, None)
    rows = _rows(out)
    assert [r["video_id"] for r in rows] == [r["video_id"] for r in first] and rows[:15] == first[:15]
    assert all(r["answer"] for r in rows)
    assert not (tmp_path / "pred.errors.csv").exists()
    other = _question_file(tmp_path / "other.jsonl", [("z", 1, "z", 0, 1)])
    with pytest.raises(Exception, match="is not in the question file; pass --overwrite"):
        predict(other, out, au_labels=labels, qa=FaceQA(answerer="composer"), progress=False)


def test_lvqa_predict_writes_events_for_spotting(tmp_path, capsys):
    questions = tmp_path / "lvqa.jsonl"
    qs = ["How many expression events appear in this video?", "How many micro-expression events appear in this video?",
          "What distinct action units appear in this video?",
          "What is the expression type of the 2-th expression event in this video?"]
    questions.write_text("".join(json.dumps({"video_id": f"casme3_test_v1_{k}", "video": "v1", "question": q,
                                             "answer": ""}) + "\n" for k, q in enumerate(qs, 1)))
    labels = tmp_path / "events.csv"
    labels.write_text("video,onset,apex,offset,type,aus,emotion\nv1,40,45,50,micro,12,happiness\n"
                      "v1,10,20,90,macro,4+R10,\n")
    out = tmp_path / "pred.jsonl"
    assert main(["megc", "predict", "--questions", str(questions), "--au-labels", str(labels), "--out", str(out),
                 "--no-llm", "--no-progress"]) == 0
    assert [r["answer"] for r in _rows(out)] == ["2", "1", "brow lowerer, upper lip raiser, lip corner puller",
                                                 "micro-expression"]  # events in onset order: macro at 10, micro at 40
    with (tmp_path / "pred.events.csv").open() as f:
        events = list(csv.DictReader(f))
    assert [(e["onset"], e["type"], e["aus"]) for e in events] == [("10", "macro", "4+R10"), ("40", "micro", "12")]
    assert events[1]["emotion"] == "happiness"
    capsys.readouterr()
    gold = tmp_path / "gold.jsonl"
    gold.write_text(questions.read_text().replace('"answer": ""', '"answer": "2"', 1))
    (tmp_path / "gold.events.csv").write_text(labels.read_text())
    assert main(["megc", "evaluate", "--pred", str(out), "--gold", str(gold), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["spotting"]["overall"]["f1"] == 1.0
    assert report["overall"]["count"]["by_event_kind"]["expression"]["accuracy"] == 1.0


def test_predict_needs_labels_or_media(tmp_path):
    questions = _question_file(tmp_path / "q.jsonl", [("c0", 1, "f0", 0, 10)])
    with pytest.raises(Exception, match="give a media root"):
        predict(questions, tmp_path / "p.jsonl", qa=FaceQA(answerer="composer"), progress=False)
