"""MEGC metrics against hand-computed cases: BLEU, ROUGE-1, AU F1 variants, counts, UF1/UAR, spotting, STRS."""

from __future__ import annotations

import json
import math

import pytest

from faceqa.cli.main import main
from faceqa.megc.evaluate import read_au_set, read_class, read_count, read_event_kind, read_fine, set_f1
from faceqa.megc.text_metrics import corpus_bleu, rouge1, sentence_bleu


def test_sentence_bleu_one_word_match_is_nltk_method1():
    # p1 = 1, p2..p4 = 0.1 / 1 (no bigrams: denominator 1): 0.1 ** (3/4)
    assert sentence_bleu("negative", "negative") == pytest.approx(0.1 ** 0.75)
    assert sentence_bleu("Negative", "negative") == pytest.approx(0.1 ** 0.75)  # lower-cased
    assert sentence_bleu("negative", "negative.") == 0.0  # punctuation stays on the token: no unigram match
    assert sentence_bleu("negative", "") == 0.0
    assert sentence_bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)


def test_sentence_bleu_hand_computed():
    ref = "the action units present are: brow lowerer"  # 7 tokens
    hyp = "the action units are brow lowerer"  # 6 tokens
    # unigrams 5/6 ("are" != "are:"), bigrams 3/5, trigrams 1/4, 4-grams 0/3 -> 0.1/3; BP exp(1 - 7/6)
    expected = math.exp(1 - 7 / 6) * math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4)
                                               + math.log(0.1 / 3)) / 4)
    assert sentence_bleu(ref, hyp) == pytest.approx(expected)
    # a longer hypothesis has no brevity penalty
    assert sentence_bleu("a b", "a b c") == pytest.approx(math.exp((math.log(2 / 3) + math.log(1 / 2)
                                                                    + math.log(0.1) + math.log(0.1)) / 4))


def test_corpus_bleu_hand_computed():
    refs, hyps = ["a b c d", "a b c d e"], ["a b c d", "a b x d e"]
    # summed: p1 8/9, p2 5/7, p3 2/5, p4 1/3; lengths 9 and 9: BP 1
    assert corpus_bleu(refs, hyps) == pytest.approx((8 / 9 * 5 / 7 * 2 / 5 * 1 / 3) ** 0.25)
    assert corpus_bleu(["a b"], ["a b"]) == 0.0  # no 3- or 4-grams anywhere: unsmoothed corpus BLEU is 0
    with pytest.raises(ValueError):
        corpus_bleu(["a"], [])


def test_rouge1_hand_computed():
    r = rouge1("The action unit present is: lip corner puller.", "lip corner puller")
    assert (r.precision, r.recall) == (1.0, 3 / 8)
    assert r.f1 == pytest.approx(2 * 3 / 8 / (1 + 3 / 8))
    clipped = rouge1("a a b", "a a a")  # overlap min(2, 3) = 2
    assert (clipped.precision, clipped.recall) == (2 / 3, 2 / 3)
    assert rouge1("a", "").f1 == 0.0


def test_answer_readers():
    assert read_class("Negative.", ("positive", "negative", "surprise")) == "negative"
    assert read_class("it is a positive one", ("positive", "negative", "surprise")) == "positive"
    assert read_fine("Happy") == "happiness" and read_fine("the class is sadness") == "sadness"
    assert read_au_set("brow lowerer, right lid tightener and AU12") == ({4, 7, 12}, 0)
    assert read_au_set("nonsense, dimpler") == ({14}, 1)
    assert read_count("3") == 3 and read_count("three events") == 3 and read_count("none") is None
    assert read_event_kind("Micro-expression") == "micro" and read_event_kind("macro-expression") == "macro"
    assert set_f1(set(), set()) == 1.0 and set_f1({1}, {2}) == 0.0


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _evaluate(tmp_path, capsys, gold, pred, extra=()):
    g, p = _write(tmp_path / "gold.jsonl", gold), _write(tmp_path / "pred.jsonl", pred)
    assert main(["megc", "evaluate", "--pred", str(p), "--gold", str(g), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_vqa_hand_computed(tmp_path, capsys):
    coarse = [("positive", "positive"), ("negative", "negative"), ("negative", "positive"), ("surprise", "negative")]
    aus = [("brow lowerer, lid tightener", "brow lowerer"), ("lip corner puller", "lip corner puller, cheek raiser"),
           ("dimpler", "nonsense words")]
    gold, pred = [], []
    for i, (g, p) in enumerate(coarse):
        q = "What is the coarse expression class?"
        gold.append({"video_id": f"samm_test_c{i}_1", "video": f"c{i}", "question": q, "answer": g})
        pred.append({"video_id": f"samm_test_c{i}_1", "video": f"c{i}", "question": q, "answer": p})
    for i, (g, p) in enumerate(aus):
        q = "What are the action units?"
        gold.append({"video_id": f"samm_test_c{i}_2", "video": f"c{i}", "question": q, "answer": g})
        pred.append({"video_id": f"samm_test_c{i}_2", "video": f"c{i}", "question": q, "answer": p})
    gold.append({"video_id": "samm_test_c0_3", "video": "c0", "question": "Is the action unit dimpler shown on the "
                 "face?", "answer": "yes"})
    report = _evaluate(tmp_path, capsys, gold, pred)
    assert report["missing"] == 1 and report["extra"] == 0
    c = report["overall"]["coarse"]
    # positive: P 1/2 R 1 F 2/3; negative: P 1/2 R 1/2 F 1/2; surprise: F 0 R 0
    assert c["uf1"] == pytest.approx((2 / 3 + 1 / 2) / 3) and c["uar"] == pytest.approx(0.5)
    assert c["accuracy"] == 0.5
    a = report["overall"]["aus"]
    assert a["f1"] == pytest.approx(4 / 9)  # 2/3, 2/3, 0
    assert a["f1_micro"] == pytest.approx(4 / 7)  # TP 2, FP 1, FN 2
    assert a["f1_macro"] == pytest.approx(0.5)  # AU4 1, AU7 0, AU12 1, AU14 0 (AU6 not in gold)
    assert a["unparsed"] == 1
    assert report["overall"]["au_present"] == {"n": 1, "accuracy": 0.0}  # missing prediction: wrong
    assert set(report["datasets"]) == {"samm"}
    t = report["overall"]["text"]
    assert t["n"] == 8 and 0 < t["bleu"] < 1 and 0 < t["rouge1_f"] < 1


def test_evaluate_lvqa_counts_types_spotting(tmp_path, capsys):
    qs = [("How many expression events appear in this video?", "3", "3"),
          ("How many micro-expression events appear in this video?", "0", "2"),
          ("How many macro-expression events appear in this video?", "5", "none"),
          ("What distinct action units appear in this video?", "brow lowerer, dimpler", "brow lowerer"),
          ("What is the expression type of the 1-th expression event in this video?", "micro-expression",
           "micro-expression"),
          ("What is the expression type of the 2-th expression event in this video?", "macro-expression",
           "micro-expression")]
    gold = [{"video_id": f"casme3_test_v1_{k}", "video": "v1", "question": q, "answer": g}
            for k, (q, g, _) in enumerate(qs, 1)]
    pred = [{"video_id": f"casme3_test_v1_{k}", "video": "v1", "question": q, "answer": p}
            for k, (q, _, p) in enumerate(qs, 1)]
    (tmp_path / "gold.events.csv").write_text("video,onset,apex,offset,type,aus,emotion\n"
                                              "v1,10,15,20,micro,12,happiness\nv1,100,150,200,macro,4,\n")
    (tmp_path / "pred.events.csv").write_text("video,onset,apex,offset,type,aus,emotion\n"
                                              "v1,11,15,20,micro,12,happiness\nv1,300,350,400,macro,4,anger\n")
    report = _evaluate(tmp_path, capsys, gold, pred)
    o = report["overall"]
    counts = o["count"]  # errors 0, +2, -5 ("none" reads 0)
    assert counts["mae"] == pytest.approx(7 / 3) and counts["rmse"] == pytest.approx(math.sqrt(29 / 3))
    assert counts["accuracy"] == pytest.approx(1 / 3) and counts["unparsed"] == 1
    assert counts["by_event_kind"]["micro"]["mae"] == 2
    assert o["distinct_aus"]["f1"] == pytest.approx(2 / 3) and o["distinct_aus"]["jaccard"] == 0.5
    assert o["event_type"]["accuracy"] == 0.5 and o["event_type"]["uar"] == 0.5
    sp = o["spotting"]["overall"]
    assert (sp["tp"], sp["fp"], sp["fn"]) == (1, 1, 1) and sp["f1"] == 0.5
    assert o["strs"]["strs"] == pytest.approx(0.5) and o["strs"]["pairs"] == 1
    assert report["datasets"]["casme3"]["strs"]["strs"] == pytest.approx(0.5)


def test_evaluate_text_report_and_bad_files(tmp_path, capsys):
    row = {"video_id": "x_1", "video": "x", "question": "What is the coarse expression class?", "answer": "positive"}
    g, p = _write(tmp_path / "g.jsonl", [row]), _write(tmp_path / "p.jsonl", [row | {"answer": "Positive"}])
    assert main(["megc", "evaluate", "--pred", str(p), "--gold", str(g)]) == 0
    out = capsys.readouterr().out
    assert "coarse" in out and "accuracy 1.0000" in out
    (tmp_path / "bad.jsonl").write_text('{"video_id": "x_1", "video": "x", "answer": "a"}\n')
    assert main(["megc", "evaluate", "--pred", str(tmp_path / "bad.jsonl"), "--gold", str(g)]) == 2
    assert "bad.jsonl:1: field 'question' missing" in capsys.readouterr().err
