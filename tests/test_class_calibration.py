"""Label-prior calibration of class answers, and class-balanced clip sampling."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from faceqa.aullm.bundle import create_model, from_pretrained, save_pretrained
from faceqa.aullm.calibration import FLOOR, label_priors, load_calibration, offsets, save_calibration
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


def test_calibration_file_round_trip_and_bad_files(tmp_path):
    assert load_calibration(tmp_path) == {}  # no file: uncalibrated
    save_calibration(tmp_path, {"coarse": {"positive": 0.25, "negative": 0.75}}, 1.0, "test")
    assert load_calibration(tmp_path)["coarse"]["positive"] == pytest.approx(math.log(0.25))
    (tmp_path / "calibration.json").write_text(json.dumps({"format": "other/1"}))
    with pytest.raises(InvalidInputError, match="format"):
        load_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text("{")
    with pytest.raises(InvalidInputError, match="not a calibration file"):
        load_calibration(tmp_path)


def test_offsets_move_the_choice_and_the_bundle_carries_them(tiny_llm_dir, tmp_path):
    """The decoder's raw option scores are traced; a prior on the winner hands the answer to the runner-up."""
    from faceqa.aullm.features import collate, features_from_labels

    torch.manual_seed(0)
    model = create_model(AULLMConfig(base_model=str(tiny_llm_dir), hidden=32))
    feats = collate([features_from_labels(parse_aus("4+7"), model.node_aus, np.random.default_rng(0))])
    question = ["What is the coarse expression class?"]
    decoder = model.decoder()
    decoder.trace = []
    first = model.answer(feats, question, grammars=[_coarse_grammar()])[0]
    (entry,) = decoder.trace
    assert entry["role"] == "coarse" and entry["labels"] == ["positive", "negative", "surprise"]
    ranked = [entry["labels"][i] for i in np.argsort(entry["scores"])[::-1]]
    assert first == ranked[0]
    margin = sorted(entry["scores"])[-1] - sorted(entry["scores"])[-2]
    decoder.calibration = {"coarse": {ranked[0]: margin + 1.0}}  # log prior of the winner: above the margin
    assert model.answer(feats, question, grammars=[_coarse_grammar()])[0] == ranked[1]
    decoder.trace = None
    save_pretrained(model, tmp_path / "b")
    save_calibration(tmp_path / "b", {"coarse": {ranked[0]: 0.9, ranked[1]: 0.05, ranked[2]: 0.05}}, 1.0, "test")
    loaded = from_pretrained(tmp_path / "b")
    assert loaded.decoder().calibration["coarse"][ranked[0]] == pytest.approx(math.log(0.9))


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
