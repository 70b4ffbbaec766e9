"""AU -> emotion deduction: prototypes, the shipped model, a refit from the real labels, held-out accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceqa.errors import InvalidInputError
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import AUCode, au_numbers, parse_au_codes
from faceqa.facs.deduction import (
    MODEL_PATH,
    DeductionModel,
    coarse_from,
    deduce,
    fit_deduction_model,
    load_deduction_model,
    prototype_match,
)
from faceqa.facs.emotion_classes import COARSE_CLASSES, coarse_of, normalise_coarse, normalise_fine
from faceqa.megc.gold import deduction_training_data
from faceqa.megc.io import read_qa_labels
from faceqa.megc.metrics import recognition_scores


def test_emotion_vocabulary():
    assert normalise_fine("Happy") == "happiness" and normalise_fine("sad") == "sadness"
    assert normalise_fine("Others") == "others"
    assert coarse_of("contempt") == "negative" and coarse_of("surprise") == "surprise"
    assert coarse_of("others") is None and normalise_coarse("others") is None
    with pytest.raises(InvalidInputError, match="'joy'"):
        normalise_fine("joy")
    with pytest.raises(InvalidInputError, match="'neutral'"):
        normalise_coarse("neutral")


def test_prototype_match():
    assert prototype_match([6, 12]) == ("happiness", (6, 12), 1.0)
    assert prototype_match([1, 2, 5, 26])[0] == "surprise"
    assert prototype_match([9])[0] == "disgust"
    assert prototype_match([]) is None and prototype_match([61]) is None
    assert prototype_match([4, 9])[0] == "anger" and prototype_match([4, 9], prefer="disgust")[0] == "disgust"


@pytest.mark.parametrize(
    ("aus", "convention", "fine", "coarse"),
    [
        ("6+12", None, "happiness", "positive"),
        ("lip corner puller, cheek raiser", "samm", "happiness", "positive"),
        ("1+2+5+26", None, "surprise", "surprise"),
        ("1+4+15", "samm", "sadness", "negative"),
        ("nose wrinkler, upper lip raiser", "samm", "disgust", "negative"),
        ("4", "samm", "anger", "negative"),  # SAMM calls a lone brow lowerer anger ...
        ("4", "casme3", "disgust", "negative"),  # ... CAS(ME)^3 mostly disgust
        ("R14", "samm", "contempt", "negative"),
        ("20", None, "fear", "negative"),
    ],
)
def test_deduce_known_patterns(aus, convention, fine, coarse):
    d = deduce(aus, convention)
    assert (d.fine, d.coarse) == (fine, coarse)
    assert abs(sum(d.scores.values()) - 1) < 1e-9 and abs(sum(d.coarse_scores.values()) - 1) < 1e-9
    assert d.scores[fine] == max(d.scores.values())
    assert f"Fine class {fine}, coarse class {coarse}." in d.rationale


def test_deduce_inputs_and_rationale():
    by_codes = deduce([AUCode(9), AUCode(10)], "casme3")
    assert deduce([9, 10], "casme3") == by_codes == deduce("9+R10", "casme3")
    assert "nose wrinkler (AU9)" in by_codes.rationale and "casme3 labelling" in by_codes.rationale
    samm = deduce("9", "samm")
    assert "contempt" in samm.scores and "others" not in samm.scores
    casme3 = deduce("9", "casme3")
    assert "others" in casme3.scores and "contempt" not in casme3.scores
    unseen = deduce("4+45", "casme3")
    assert "not weighed: blink (AU45)" in unseen.rationale
    empty = deduce("", None)
    assert empty.coarse in COARSE_CLASSES and empty.rationale.startswith("No action units given.")


def test_deduce_errors():
    with pytest.raises(InvalidInputError, match="'smic'"):
        deduce("6+12", "smic")
    with pytest.raises(InvalidInputError, match="'3'"):
        deduce("3+12")
    with pytest.raises(InvalidInputError, match="number 40"):
        deduce([40])


def test_coarse_from_others():
    scores = {"others": 0.5, "happiness": 0.3, "anger": 0.1, "disgust": 0.1}
    coarse, coarse_scores = coarse_from(scores, "others")
    assert coarse == "positive" and coarse_scores == pytest.approx({"positive": 0.6, "negative": 0.4, "surprise": 0})
    assert coarse_from(scores, "anger")[0] == "negative"


def _expr(aus: str, fine: str, subject: str = "s") -> LabelledExpression:
    return LabelledExpression("toy", subject, "c", tuple(parse_au_codes(aus)), fine, coarse_of(fine))


def test_fit_small_set_and_round_trip(tmp_path):
    groups = {
        "a": [_expr("6+12", "happiness")] * 5 + [_expr("4", "disgust")] * 5 + [_expr("5", "others")] * 3,
        "b": [_expr("6+12", "happiness")] * 3 + [_expr("4", "anger")] * 3,
    }
    model = fit_deduction_model(groups)
    assert model.classes == ("happiness", "anger", "disgust", "others")
    assert model.conventions["b"][0] == ("happiness", "anger")
    assert deduce("4", "a", model=model).fine == "disgust"
    assert deduce("4", "b", model=model).fine == "anger"
    assert deduce("5", "a", model=model).fine == "others"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    again = load_deduction_model(path)
    assert again.classes == model.classes and np.allclose(again.weight, model.weight, atol=1e-6)
    with pytest.raises(InvalidInputError, match="no expressions"):
        fit_deduction_model({"a": [LabelledExpression("toy", "s", "c", ())]})


def test_shipped_model_loads():
    model = load_deduction_model()
    assert set(model.conventions) == {"casme3", "samm"}
    assert model.weight.shape == (len(model.classes), len(model.aus)) and MODEL_PATH.is_file()
    with pytest.raises(InvalidInputError, match="format"):
        DeductionModel.from_json({"format": "other"})


@pytest.mark.realdata
def test_refit_equals_shipped_model(shared_data):
    groups, sources = deduction_training_data(shared_data)
    assert len(groups["casme3"]) == 860 and len(groups["samm"]) == 133
    refit = fit_deduction_model(groups, sources=sources)
    shipped = load_deduction_model()
    assert refit.classes == shipped.classes and refit.aus == shipped.aus
    assert list(refit.sources) == list(shipped.sources)
    assert np.allclose(refit.weight, shipped.weight, atol=1e-4)
    assert np.allclose(refit.bias, shipped.bias, atol=1e-4)
    for name, (subset, dw, db) in shipped.conventions.items():
        assert refit.conventions[name][0] == subset
        assert np.allclose(refit.conventions[name][1], dw, atol=1e-4)
        assert np.allclose(refit.conventions[name][2], db, atol=1e-4)


@pytest.mark.realdata
def test_grouped_cross_validation_accuracy(shared_data):
    """4 folds of subjects per dataset; floors well below the leave-one-subject-out numbers."""
    groups, _ = deduction_training_data(shared_data)
    floors = {"casme3": (0.40, 0.72), "samm": (0.80, 0.88)}  # (fine accuracy, coarse accuracy)
    for name, items in groups.items():
        subjects = sorted({e.subject for e in items})
        fine_true, fine_pred, coarse_true, coarse_pred = [], [], [], []
        for fold in range(4):
            held = set(subjects[fold::4])
            train = {k: [e for e in v if not (k == name and e.subject in held)] for k, v in groups.items()}
            model = fit_deduction_model(train)
            for e in (e for e in items if e.subject in held):
                d = deduce(au_numbers(e.aus), name, model=model)
                fine_true.append(e.fine)
                fine_pred.append(d.fine)
                if e.coarse:
                    coarse_true.append(e.coarse)
                    coarse_pred.append(d.coarse)
        fine = recognition_scores(fine_true, fine_pred)
        coarse = recognition_scores(coarse_true, coarse_pred)
        assert fine.accuracy >= floors[name][0], (name, fine)
        assert coarse.accuracy >= floors[name][1], (name, coarse)
        majority = max(coarse_true.count(c) for c in set(coarse_true)) / len(coarse_true)
        assert coarse.uf1 > 1 / len(COARSE_CLASSES) and coarse.accuracy > majority - 0.01


@pytest.mark.realdata
def test_megc_training_answers_agree_with_vocabulary(shared_data):
    clips = read_qa_labels(shared_data / "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl")
    assert len(clips) == 297
    for c in clips:
        if c.fine:
            assert coarse_of(c.fine) == c.coarse
    sided = [a for c in clips for a in c.aus if a.side]
    assert len(sided) == 30  # one per "left or right" question
