"""Label-prior calibration of class answers, and class-balanced clip sampling."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from faceqa.aullm.bundle import create_model, from_pretrained, save_pretrained
from faceqa.aullm.calibration import (
    FLOOR,
    FORMAT,
    STOP,
    STRENGTHS,
    WEIGHTS,
    Calibration,
    calibrated_choice,
    fit_calibration,
    fit_stop_bias,
    label_priors,
    load_calibration,
    offsets,
    save_calibration,
    stopped_list,
)
from faceqa.aullm.config import AULLMConfig
from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import parse_aus
from faceqa.train.loop import class_balance


def test_priors_average_each_choice_softmax_per_role():
    trace = [{"role": "coarse", "labels": ["positive", "negative"], "scores": [math.log(0.2), math.log(0.8)]},
             {"role": "coarse", "labels": ["positive", "negative"], "scores": [math.log(0.6), math.log(0.4)]},
             {"role": "fine", "labels": ["anger", "contempt"], "scores": [0.0, -50.0]}]
    priors = label_priors(trace)
    assert priors["coarse"] == pytest.approx({"positive": 0.4, "negative": 0.6})
    assert priors["fine"]["anger"] == pytest.approx(1.0) and priors["fine"]["contempt"] < 1e-9
    off = offsets(priors, 0.5)
    assert off["coarse"]["negative"] == pytest.approx(0.5 * math.log(0.6))
    assert off["fine"]["contempt"] == pytest.approx(0.5 * math.log(FLOOR))  # floored: never forced on every clip
    assert offsets(priors, 0.0)["coarse"]["positive"] == 0.0
    with pytest.raises(InvalidInputError, match="strength"):
        offsets(priors, -1.0)


def test_calibration_file_round_trip_old_format_and_bad_files(tmp_path):
    assert load_calibration(tmp_path) == Calibration()  # no file: uncalibrated
    cal = Calibration({"coarse": {"positive": 0.25, "negative": 0.75}}, {"coarse": 1.5}, 2.5, {"coarse": 0.5})
    save_calibration(tmp_path, cal, "test", {"stop_bias": 2.5})
    loaded = load_calibration(tmp_path)
    assert loaded == cal and loaded.offsets["coarse"]["positive"] == pytest.approx(1.5 * math.log(0.25))
    (tmp_path / "calibration.json").write_text(json.dumps(
        {"format": "faceqa.choice_calibration/1", "strength": 1.0, "priors": {"fine": {"anger": 0.5}}}))
    old = load_calibration(tmp_path)  # the first format: one strength, no stop bias
    assert old.strength == {"fine": 1.0} and old.stop_bias == 0.0 and old.premise_weight == {}
    (tmp_path / "calibration.json").write_text(json.dumps({"format": "other/1"}))
    with pytest.raises(InvalidInputError, match="format"):
        load_calibration(tmp_path)
    for broken in ("{", json.dumps({"format": FORMAT, "strength": {"fine": -1}, "priors": {}}),
                   json.dumps({"format": FORMAT, "strength": {"fine": 1}, "premise_weight": {"fine": -2},
                               "priors": {}})):
        (tmp_path / "calibration.json").write_text(broken)
        with pytest.raises(InvalidInputError, match="calibration"):
            load_calibration(tmp_path)


def test_fitted_strength_is_the_best_unweighted_f1_on_the_calibration_clips():
    """Three clips of the rare class the model under-scores: dividing the prior out recovers them."""
    labels = ["positive", "negative", "surprise"]
    entries = ([{"role": "coarse", "labels": labels, "scores": [-1.0, -0.6, -3.0], "gold": "positive"}] * 3
               + [{"role": "coarse", "labels": labels, "scores": [-3.0, -0.1, -4.0], "gold": "negative"}] * 6
               + [{"role": "coarse", "labels": labels, "scores": [-3.0, -2.0, -0.2], "gold": "surprise"}] * 2)
    calibration, report = fit_calibration(entries, "fit")
    tried = report["coarse_uf1_by_strength"]
    assert tried[0.0] < 1.0 == tried[calibration.strength["coarse"]]
    assert calibration.strength["coarse"] in STRENGTHS and calibration.strength["coarse"] > 0
    assert calibrated_choice(entries[0], calibration.offsets["coarse"]) == "positive"
    fixed, _ = fit_calibration(entries, 0.5)
    assert fixed.strength == {"coarse": 0.5}
    with pytest.raises(InvalidInputError, match="no class question"):
        fit_calibration([{"role": STOP, "said": ["brow lowerer"], "margins": [], "gold": "brow lowerer"}])


def test_premise_weight_is_fitted_where_the_candidates_know_better():
    """The LLM says anger for every clip; the premises' candidates are right: a weight is fitted that
    follows them, and a bare trace (no evidence) fits no weight."""
    labels = ["anger", "disgust"]
    entries = [{"role": "fine", "labels": labels, "scores": [-0.2, -1.8], "evidence": [0.9, 0.1], "gold": "anger"},
               {"role": "fine", "labels": labels, "scores": [-0.2, -1.8], "evidence": [0.05, 0.95], "gold": "disgust"}]
    calibration, report = fit_calibration(entries * 3, "fit")
    weight = calibration.premise_weight["fine"]
    assert weight in WEIGHTS and weight > 0 and report["fine_uf1_by_premise_weight"][0.0] < 1.0
    assert [calibrated_choice(e, calibration.offsets["fine"], weight) for e in entries] == ["anger", "disgust"]
    assert min(w for w, f1 in report["fine_uf1_by_premise_weight"].items() if f1 == 1.0) == weight  # the smallest
    bare = [{k: v for k, v in e.items() if k != "evidence"} for e in entries]
    assert fit_calibration(bare * 3, "fit")[0].premise_weight == {"fine": 0.0}
    assert fit_calibration(entries, 1.0)[0].premise_weight == {"fine": 0.0}  # a fixed strength weighs no premises


def test_grounded_class_choices_carry_the_premises_and_the_weight_moves_the_answer(tiny_llm_dir):
    """grounded() hands each class choice its candidates; the decoder traces them, and a weight on the
    runner-up's candidate probability makes it the answer."""
    from faceqa.aullm.decoding import Choice, grounded

    grammar = grounded(_coarse_grammar(), ["brow lowerer"], {"coarse": {"positive": 0.2, "negative": 0.8}})
    assert grammar == (Choice(("positive", "negative", "surprise"), "coarse", (0.2, 0.8, 0.0)),)
    model, feats = _tiny_model_and_clip(tiny_llm_dir)
    question = ["What is the coarse expression class?"]
    decoder = model.decoder()
    first, entry = _traced_answer(model, feats, question, grammar)
    assert entry["evidence"] == [0.2, 0.8, 0.0] and first == calibrated_choice(entry, {})
    other = next(lb for lb in entry["labels"] if lb != first)
    evidence = tuple(0.99 if lb == other else 0.01 for lb in entry["labels"])
    margin = max(entry["scores"]) - min(entry["scores"])
    decoder.calibration = Calibration(premise_weight={"coarse": (margin + 1.0) / math.log(99)})
    assert model.answer(feats, question, grammars=[(Choice(grammar[0].options, "coarse", evidence),)])[0] == other
    decoder.trace, decoder.calibration = None, Calibration()


def test_stop_bias_is_fitted_on_lists_decoded_to_their_end():
    """Lists that stop one AU early at 0 (margin 0.5 >= 0) are completed by a bias above 0.5, not beyond 3: the
    bias is the middle of the stretch of biases that does both."""
    three = {"role": STOP, "said": ["brow lowerer", "lid tightener", "inner brow raiser"],
             "margins": [(2, 0.5)], "gold": "brow lowerer, lid tightener, inner brow raiser"}
    two = {"role": STOP, "said": ["brow lowerer", "lid tightener", "lip corner puller"],
           "margins": [(2, 3.0)], "gold": "brow lowerer, lid tightener"}
    assert stopped_list(three, 0.0) == three["said"][:2] and stopped_list(three, 0.6) == three["said"]
    bias, f1 = fit_stop_bias([three, three, two])
    assert bias == 1.75 and f1["fitted"] == 1.0 > f1["uncalibrated"]  # midway between the margins it must pass
    assert fit_stop_bias([two]) == (2.0, {"uncalibrated": 1.0, "fitted": 1.0})  # 3.0 bounds it above only
    assert fit_stop_bias([three]) == (1.5, {"uncalibrated": 0.8, "fitted": 1.0})  # 0.5 bounds it below only


def test_offsets_move_the_choice_and_the_bundle_carries_them(tiny_llm_dir, tmp_path):
    """The decoder's raw option scores are traced; a prior on the winner hands the answer to the runner-up."""
    model, feats = _tiny_model_and_clip(tiny_llm_dir)
    question = ["What is the coarse expression class?"]
    decoder = model.decoder()
    first, entry = _traced_answer(model, feats, question, _coarse_grammar())
    assert entry["role"] == "coarse" and entry["labels"] == ["positive", "negative", "surprise"]
    ranked = [entry["labels"][i] for i in np.argsort(entry["scores"])[::-1]]
    assert first == ranked[0]
    margin = sorted(entry["scores"])[-1] - sorted(entry["scores"])[-2]
    strength = (margin + 1.0) / math.log(2)  # the others' prior is half the winner's: they gain margin + 1
    decoder.calibration = Calibration({"coarse": {ranked[0]: 1.0, ranked[1]: 0.5, ranked[2]: 0.5}},
                                      {"coarse": strength})
    assert model.answer(feats, question, grammars=[_coarse_grammar()])[0] == ranked[1]
    decoder.trace = None
    save_pretrained(model, tmp_path / "b")
    saved = Calibration({"coarse": {ranked[0]: 0.9, ranked[1]: 0.05, ranked[2]: 0.05}}, {"coarse": 1.0}, 1.5)
    save_calibration(tmp_path / "b", saved, "test")
    loaded = from_pretrained(tmp_path / "b")
    assert loaded.decoder().calibration == saved
    assert loaded.decoder().calibration.offsets["coarse"][ranked[0]] == pytest.approx(math.log(0.9))


def test_the_stop_bias_decides_where_an_au_list_ends(tiny_llm_dir):
    """Traced stop margins replay the decoder: a bias below the first margin stops there, above all never."""
    from faceqa.aullm.decoding import GENERIC_VOCAB, AUList

    model, feats = _tiny_model_and_clip(tiny_llm_dir)
    question = ["What are the action units?"]
    grammar = [(AUList(GENERIC_VOCAB.au_names[:5], 2, 5),)]
    decoder = model.decoder()
    decoder.trace, decoder.calibration = [], Calibration(stop_bias=math.inf)
    full = model.answer(feats, question, grammars=grammar)[0]
    (entry,) = decoder.trace
    assert full == ", ".join(entry["said"]) and len(entry["said"]) == 5
    assert [k for k, _ in entry["margins"]] == [2, 3, 4]
    margins = [m for _, m in entry["margins"]]
    for bias in (margins[0] - 0.01, margins[1] + 0.01, max(margins) + 1):
        decoder.calibration = Calibration(stop_bias=bias)
        assert model.answer(feats, question, grammars=grammar)[0] == ", ".join(stopped_list(entry, bias))
    decoder.trace = None


def _tiny_model_and_clip(tiny_llm_dir):
    """A tiny random AULLM++ model and one clip's features (4+7)."""
    from faceqa.aullm.features import collate, features_from_labels

    torch.manual_seed(0)
    model = create_model(AULLMConfig(base_model=str(tiny_llm_dir), hidden=32))
    return model, collate([features_from_labels(parse_aus("4+7"), model.node_aus, np.random.default_rng(0))])


def _traced_answer(model, feats, question: list[str], grammar) -> tuple[str, dict]:
    """The answer under ``grammar`` and its one traced choice (the decoder keeps tracing)."""
    decoder = model.decoder()
    decoder.trace = []
    answer = model.answer(feats, question, grammars=[grammar])[0]
    (entry,) = decoder.trace
    return answer, entry


def _coarse_grammar():
    from faceqa.aullm.decoding import grammar_for
    from faceqa.qa.questions import parse_question

    return grammar_for(parse_question("What is the coarse expression class?"))


def _clip(dataset: str, fine: str | None, coarse: str, i: int) -> LabelledExpression:
    return LabelledExpression(dataset, "1", f"c{i}", (), fine, coarse, None, None, None)


def test_class_balance_weights_cells_by_their_size():
    clips = ([_clip("samm", "anger", "negative", i) for i in range(8)] + [_clip("samm", "contempt", "negative", 8)]
             + [_clip("smic", None, "positive", i) for i in range(9, 11)])
    assert class_balance(clips, 0.0) == pytest.approx(np.full(11, 1 / 11))
    even = class_balance(clips, 1.0)  # one third per (dataset, class) cell; SMIC by its coarse class
    assert even[:8].sum() == pytest.approx(1 / 3) and even[8] == pytest.approx(1 / 3)
    assert even[9:].sum() == pytest.approx(1 / 3)
    half = class_balance(clips, 0.5)
    assert even[8] > half[8] > 1 / 11
