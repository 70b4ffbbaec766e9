"""MEGC spotting metrics, recognition scores and STRS on hand-computed cases."""

from __future__ import annotations

import pytest

from faceqa.errors import InvalidInputError
from faceqa.megc.metrics import (
    Counts,
    Interval,
    interval_iou,
    match_intervals,
    recognition_scores,
    spotting_scores,
    strs_score,
)


def iv(onset: int, offset: int, video: str = "v", kind: str = "micro", emotion: str | None = None) -> Interval:
    return Interval(video, onset, offset, kind, emotion)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ((0, 9), (0, 9), 1.0),
        ((0, 9), (5, 14), 5 / 15),
        ((10, 19), (12, 21), 8 / 12),
        ((0, 4), (5, 9), 0.0),  # adjacent, no shared frame
        ((0, 4), (4, 9), 1 / 10),  # one shared frame
        ((3, 3), (3, 3), 1.0),
    ],
)
def test_iou_counts_inclusive_frames(a, b, iou):
    assert interval_iou(iv(*a), iv(*b)) == pytest.approx(iou)
    assert interval_iou(iv(*b), iv(*a)) == pytest.approx(iou)


def test_interval_validation():
    with pytest.raises(InvalidInputError, match="offset before onset"):
        iv(10, 9)
    with pytest.raises(InvalidInputError, match="'blink'"):
        iv(1, 2, kind="blink")


def test_counts():
    c = Counts(2, 2, 1)
    assert (c.precision, c.recall, c.f1) == pytest.approx((0.5, 2 / 3, 4 / 7))
    assert Counts(0, 0, 0).f1 == 0 and Counts(0, 3, 0).precision == 0
    assert c + Counts(1, 0, 0) == Counts(3, 2, 1)


def test_spotting_micro_macro_overall():
    truth = [iv(10, 20), iv(100, 150, kind="macro"), iv(5, 10, video="w")]
    predicted = [
        iv(12, 22),  # IoU 9/13 with the micro GT: TP
        iv(200, 210),  # FP
        iv(90, 140, kind="macro"),  # IoU 41/61 with the macro GT: TP
        iv(5, 10, video="w", kind="macro"),  # right frames, wrong type: FP (macro) and the GT is FN
    ]
    r = spotting_scores(predicted, truth)
    assert r.micro == Counts(1, 1, 1) and r.macro == Counts(1, 1, 0) and r.overall == Counts(2, 2, 1)
    assert (r.micro.f1, r.macro.f1, r.overall.f1) == pytest.approx((0.5, 2 / 3, 4 / 7))
    assert sorted(m.iou for m in r.matching.pairs) == pytest.approx([41 / 61, 9 / 13])


def test_below_threshold_is_not_a_match():
    r = spotting_scores([iv(0, 9)], [iv(5, 14)])  # IoU 1/3
    assert r.overall == Counts(0, 1, 1)
    assert spotting_scores([iv(0, 9)], [iv(5, 14)], iou_threshold=0.3).overall == Counts(1, 0, 0)


def test_one_to_one():
    truth = [iv(0, 9)]
    r = spotting_scores([iv(0, 9), iv(1, 9)], truth)  # both overlap the one GT
    assert r.overall == Counts(1, 1, 0)
    assert r.matching.pairs[0].predicted == iv(0, 9)  # the higher IoU wins
    r = spotting_scores([iv(0, 9)], [iv(0, 9), iv(1, 9)])  # one prediction, two GT
    assert r.overall == Counts(1, 0, 1)


def test_maximum_matching_not_first_come():
    # P1 overlaps G1 (IoU 10/12) and G2 (12/20); P2 overlaps only G1 (8/10). Taking P1 -> G1 first
    # (input order, or highest IoU) would leave P2 and G2 unmatched; the maximum matching pairs both.
    g1, g2 = iv(0, 9), iv(0, 19)
    p1, p2 = iv(0, 11), iv(0, 7)
    m = match_intervals([p1, p2], [g1, g2])
    assert {(x.predicted, x.truth) for x in m.pairs} == {(p1, g2), (p2, g1)}
    assert m.false_positives == () and m.false_negatives == ()


def test_empty_inputs():
    assert spotting_scores([], [iv(0, 9)]).overall == Counts(0, 0, 1)
    assert spotting_scores([iv(0, 9)], []).overall == Counts(0, 1, 0)
    assert spotting_scores([], []).overall.f1 == 0


def test_recognition_scores_by_hand():
    s = recognition_scores(["a", "a", "b", "c"], ["a", "b", "b", "a"])
    assert s.accuracy == 0.5
    assert s.per_class == {"a": Counts(1, 1, 1), "b": Counts(1, 1, 0), "c": Counts(0, 0, 1)}
    assert s.uf1 == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert s.uar == pytest.approx((0.5 + 1 + 0) / 3)
    assert s.precision == pytest.approx((0.5 + 0.5 + 0) / 3)
    with pytest.raises(InvalidInputError, match="3 true labels but 2"):
        recognition_scores(["a", "b", "c"], ["a", "b"])


def test_strs_reference_example():
    """The example of the STRS reference script (Liong et al. 2023): STRS = 0.6 x 1/3 = 0.2."""
    truth = [
        iv(45, 85, "EP02_01f", emotion="happiness"),
        iv(130, 160, "EP03_02", emotion="others"),
        iv(20, 75, "EP04_02", emotion="others"),
        iv(45, 95, "EP01_11f", emotion="repression"),
        iv(30, 140, "EP02_04f", emotion="repression"),
    ]
    predicted = [
        iv(10, 70, "EP02_01f", emotion="happiness"),  # IoU 26/76: FP and FN
        iv(100, 170, "EP03_02", emotion="others"),  # IoU 31/71: FP and FN
        iv(0, 70, "EP04_02", emotion="others"),  # TP, right emotion
        iv(20, 90, "EP01_11f", emotion="happiness"),  # TP, wrong emotion
        iv(70, 140, "EP02_04f", emotion="happiness"),  # TP, wrong emotion
    ]
    r = strs_score(predicted, truth)
    assert r.spotting == Counts(3, 2, 2) and r.spotting.f1 == pytest.approx(0.6)
    # happiness: P 0 (2 FP), R 0 (no GT); others: P 1, R 1; repression: P 0, R 0 (2 FN)
    assert (r.analysis.precision, r.analysis.recall, r.analysis.f1) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert r.strs == pytest.approx(0.2)


def test_strs_all_right_equals_spotting_f1():
    truth = [iv(0, 9, emotion="happiness"), iv(50, 59, emotion="surprise"), iv(100, 109, emotion="surprise")]
    predicted = [iv(0, 9, emotion="happiness"), iv(51, 60, emotion="surprise"), iv(300, 310, emotion="surprise")]
    r = strs_score(predicted, truth)
    assert r.spotting == Counts(2, 1, 1) and r.analysis.f1 == 1.0
    assert r.strs == pytest.approx(2 / 3)
    with pytest.raises(InvalidInputError, match="emotion"):
        strs_score(predicted, [iv(0, 9)])
