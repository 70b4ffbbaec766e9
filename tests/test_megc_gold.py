"""``faceqa megc gold-from-annotations``: ME-LVQA gold answers and events from the CAS(ME)^3 annotations."""

from __future__ import annotations

import csv
import json

import pytest

from faceqa.cli.main import main
from faceqa.facs import LabelledExpression, parse_aus
from faceqa.megc.gold import lvqa_answer, lvqa_gold


def _event(aus, onset, offset, kind, fine=None):
    return LabelledExpression("casme3_a", "s", "c", tuple(parse_aus(aus)), fine=fine, onset=onset, offset=offset,
                              expression_type=kind)


def test_lvqa_answers_hand_made():
    events = [_event("4+R10", 10, 90, "macro"), _event("12", 40, 50, "micro", "happiness"), _event("L12+6", 95, 99,
                                                                                                    "micro")]
    assert lvqa_answer("How many expression events appear in this video?", events) == "3"
    assert lvqa_answer("How many macro-expression events appear in this video?", events) == "1"
    assert lvqa_answer("What distinct action units appear in this video?", events) == ("brow lowerer, cheek raiser, "
                                                                                       "upper lip raiser, lip corner "
                                                                                       "puller")
    assert lvqa_answer("What is the expression type of the 2-th expression event in this video?", events) == \
        "micro-expression"
    rows, ev, problems = lvqa_gold({"s_c": events}, [("q1", "s_c", "What is the expression type of the 4-th "
                                                      "expression event in this video?"), ("q2", "x_y", "How many "
                                                      "expression events appear in this video?")])
    assert rows == [] and len(ev) == 3 and problems == [
        "q1: 'What is the expression type of the 4-th expression event in this video?': the video has 3 events",
        "q2: video 'x_y' is not in the annotation"]
    rows, _, _ = lvqa_gold({"s_c": events}, events_per_video=2, seed=1)
    assert [r["video_id"] for r in rows] == [f"casme3_s_c_{k}" for k in range(1, 7)]


@pytest.mark.realdata
def test_gold_from_casme3_annotations(shared_data, tmp_path, capsys):
    ann = shared_data / "labels/casme3_official"
    out = tmp_path / "gold.jsonl"
    assert main(["megc", "gold-from-annotations", "--annotations", str(ann), "--out", str(out)]) == 0
    assert "5567 gold rows for 956 videos" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    first = {r["question"]: r["answer"] for r in rows if r["video"] == "spNO.1_a"}
    assert first["How many expression events appear in this video?"] == "4"  # 37, 268, 355 (micro), 596
    assert first["How many micro-expression events appear in this video?"] == "1"
    assert first["What distinct action units appear in this video?"] == ("brow lowerer, upper lid raiser, upper lip "
                                                                         "raiser, lip corner depressor, nostril "
                                                                         "dilater")
    with (tmp_path / "gold.events.csv").open() as f:
        events = list(csv.DictReader(f))
    assert len(events) == 4206 and sum(e["type"] == "micro" for e in events) == 860
    assert sum(bool(e["emotion"]) for e in events) == 860  # every micro-expression gets its ME-label emotion
    test = shared_data / "vqa/megc2026_lvqa/me_lvqa_casme3_test_to_answer.jsonl"
    assert main(["megc", "gold-from-annotations", "--annotations", str(ann), "--out", str(tmp_path / "t.jsonl"),
                 "--questions", str(test)]) == 2
    assert "video 'dzw_a1' is not in the annotation" in capsys.readouterr().err
