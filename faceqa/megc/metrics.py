"""MEGC metrics: expression spotting (IoU >= 0.5), recognition (accuracy, UF1, UAR) and STRS.

**Spotting** (MEGC 2020-2026 long-video spotting). Intervals are inclusive frame ranges
``[onset, offset]``; ``IoU = |P ∩ G| / |P ∪ G|`` counted in frames. Within each video and each
expression type (micro / macro), a prediction and a ground-truth interval may match when their
IoU >= 0.5, one to one; the matching taken is a maximum one (the most TP pairs, then the largest
summed IoU; scipy's ``linear_sum_assignment``), so the count does not depend on input order.
Matched predictions are TP, unmatched predictions FP, unmatched ground truth FN. Precision =
TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R) (0 where a denominator is 0), for micro, macro,
and overall (the summed counts of both types).

**Recognition.** Accuracy; UF1 = mean over classes of per-class F1; UAR = mean over classes of
per-class recall (MEGC's unweighted F1 and average recall). Classes default to those in the
ground truth; a prediction outside them is simply wrong.

**STRS** (spot-then-recognise score; Liong, See & Chan, "Spot-then-recognize: a
micro-expression analysis network for seamless evaluation of long videos", Signal Processing:
Image Communication 110, 2023; MEGC 2023+ STR task, reference script
github.com/genbing99/STRS-Metric)::

    STRS = F1_spotting x F1_analysis

F1_spotting is the spotting F1 above over all intervals. F1_analysis is computed on the spotted
TP pairs whose ground-truth emotion is one of the analysed emotions (default: every emotion in
the ground truth): per emotion, one-vs-rest TP/FP/FN of predicted vs true emotion; P and R are the
means of the per-emotion precisions and recalls, and F1_analysis = 2PR/(P+R). An emotion with no
pair scores precision = recall = 0, so missed emotions lower the score, as in the reference.
Three deliberate differences from the reference script: matching is a maximum one-to-one
matching (the script takes predictions in order, each matching the first free ground truth with
IoU >= 0.5 and, lacking a ``break``, possibly several of them); per-emotion counts are exact
(the script scores 0 for an emotion when its one-vs-rest confusion matrix collapses to one cell,
e.g. when every pair is that emotion and right); and UAR is the mean recall (the script reports
the mean precision under that name).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from faceqa.errors import InvalidInputError

ExpressionType = Literal["micro", "macro"]
IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class Interval:
    """An expression interval in a video (inclusive frames).

    Attributes:
        video: video id; intervals only match within the same video.
        onset, offset: first and last frame, ``onset <= offset``.
        type: ``"micro"`` or ``"macro"``.
        emotion: the emotion label (for STRS), or None.
    """

    video: str
    onset: int
    offset: int
    type: ExpressionType = "micro"
    emotion: str | None = None

    def __post_init__(self) -> None:
        if self.offset < self.onset:
            raise InvalidInputError(f"interval {self.video}:{self.onset}-{self.offset}: offset before onset")
        if self.type not in ("micro", "macro"):
            raise InvalidInputError(f"interval {self.video}:{self.onset}-{self.offset}: type {self.type!r} "
                                    "is not 'micro' or 'macro'")

    @property
    def length(self) -> int:
        """Frames in the interval."""
        return self.offset - self.onset + 1


def interval_iou(a: Interval, b: Interval) -> float:
    """Intersection over union of two intervals, in frames (inclusive ends)."""
    inter = max(0, min(a.offset, b.offset) - max(a.onset, b.onset) + 1)
    return inter / (a.length + b.length - inter)


@dataclass(frozen=True)
class Match:
    """A true-positive pair: a prediction and the ground truth it spotted."""

    predicted: Interval
    truth: Interval
    iou: float


@dataclass(frozen=True)
class Matching:
    """The one-to-one matching of predictions to ground truth."""

    pairs: tuple[Match, ...]
    false_positives: tuple[Interval, ...]
    false_negatives: tuple[Interval, ...]


def match_intervals(
    predicted: Iterable[Interval], truth: Iterable[Interval], iou_threshold: float = IOU_THRESHOLD
) -> Matching:
    """Match predictions to ground truth one to one per (video, type): most pairs, then most IoU."""
    from scipy.optimize import linear_sum_assignment  # imported here: scipy.optimize is slow to import

    groups: dict[tuple[str, str], tuple[list[Interval], list[Interval]]] = defaultdict(lambda: ([], []))
    for p in predicted:
        groups[(p.video, p.type)][0].append(p)
    for t in truth:
        groups[(t.video, t.type)][1].append(t)
    pairs: list[Match] = []
    fps: list[Interval] = []
    fns: list[Interval] = []
    for preds, gts in groups.values():
        iou = np.array([[interval_iou(p, g) for g in gts] for p in preds]).reshape(len(preds), len(gts))
        valid = iou >= iou_threshold
        # each valid pair is worth more than any IoU sum of fewer pairs: most pairs first, then most IoU
        gain = np.where(valid, min(len(preds), len(gts)) + 1 + iou, 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        chosen = [(i, j) for i, j in zip(rows, cols, strict=True) if valid[i, j]]
        pairs += [Match(preds[i], gts[j], float(iou[i, j])) for i, j in chosen]
        used_p, used_g = {i for i, _ in chosen}, {j for _, j in chosen}
        fps += [p for i, p in enumerate(preds) if i not in used_p]
        fns += [g for j, g in enumerate(gts) if j not in used_g]
    return Matching(tuple(pairs), tuple(fps), tuple(fns))


@dataclass(frozen=True)
class Counts:
    """TP / FP / FN with precision, recall and F1 (0 where undefined)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """TP / (TP + FP)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        """2PR / (P + R)."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


@dataclass(frozen=True)
class SpottingResult:
    """Spotting counts per expression type and overall, with the matching they came from."""

    micro: Counts
    macro: Counts
    overall: Counts
    matching: Matching


def spotting_scores(
    predicted: Iterable[Interval], truth: Iterable[Interval], iou_threshold: float = IOU_THRESHOLD
) -> SpottingResult:
    """MEGC spotting TP/FP/FN, precision, recall, F1 for micro, macro and overall."""
    m = match_intervals(predicted, truth, iou_threshold)

    def counts(kind: str) -> Counts:
        return Counts(
            sum(p.truth.type == kind for p in m.pairs),
            sum(i.type == kind for i in m.false_positives),
            sum(i.type == kind for i in m.false_negatives),
        )

    micro, macro = counts("micro"), counts("macro")
    return SpottingResult(micro, macro, micro + macro, m)


@dataclass(frozen=True)
class RecognitionScores:
    """Classification scores over a class list.

    Attributes:
        accuracy: fraction of samples predicted right.
        uf1: mean per-class F1.
        uar: mean per-class recall.
        precision, recall: mean per-class precision and recall.
        f1: 2PR/(P+R) of those means (STRS's F1_analysis).
        per_class: class -> Counts (one-vs-rest).
        n: samples scored.
    """

    accuracy: float
    uf1: float
    uar: float
    precision: float
    recall: float
    f1: float
    per_class: dict[str, Counts]
    n: int


def recognition_scores(
    truth: Sequence[str], predicted: Sequence[str | None], classes: Sequence[str] | None = None
) -> RecognitionScores:
    """Accuracy, UF1, UAR (and macro P/R/F1) of predicted vs true labels over ``classes``."""
    if len(truth) != len(predicted):
        raise InvalidInputError(f"{len(truth)} true labels but {len(predicted)} predictions")
    classes = sorted(set(truth)) if classes is None else list(classes)
    if not classes:
        raise InvalidInputError("no classes to score: the ground truth is empty")
    per_class = {
        c: Counts(
            sum(t == c and p == c for t, p in zip(truth, predicted, strict=True)),
            sum(t != c and p == c for t, p in zip(truth, predicted, strict=True)),
            sum(t == c and p != c for t, p in zip(truth, predicted, strict=True)),
        )
        for c in classes
    }
    mean_p = sum(c.precision for c in per_class.values()) / len(classes)
    mean_r = sum(c.recall for c in per_class.values()) / len(classes)
    return RecognitionScores(
        accuracy=sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth) if truth else 0.0,
        uf1=sum(c.f1 for c in per_class.values()) / len(classes),
        uar=mean_r,
        precision=mean_p,
        recall=mean_r,
        f1=2 * mean_p * mean_r / (mean_p + mean_r) if mean_p + mean_r else 0.0,
        per_class=per_class,
        n=len(truth),
    )


@dataclass(frozen=True)
class STRSResult:
    """Spot-then-recognise score and its two factors.

    Attributes:
        strs: ``spotting.f1 * analysis.f1``.
        spotting: spotting counts over all intervals.
        analysis: recognition scores on the spotted pairs (``analysis.f1`` is F1_analysis).
    """

    strs: float
    spotting: Counts
    analysis: RecognitionScores


def strs_score(
    predicted: Iterable[Interval],
    truth: Iterable[Interval],
    emotions: Sequence[str] | None = None,
    iou_threshold: float = IOU_THRESHOLD,
) -> STRSResult:
    """STRS = spotting F1 x analysis F1 on the spotted pairs (see module doc)."""
    truth = list(truth)
    result = spotting_scores(predicted, truth, iou_threshold)
    if emotions is None:
        emotions = sorted({t.emotion for t in truth if t.emotion is not None})
    if not emotions:
        raise InvalidInputError("STRS needs ground-truth intervals with an emotion")
    pairs = [p for p in result.matching.pairs if p.truth.emotion in emotions]
    true_labels = [p.truth.emotion for p in pairs]
    analysis = recognition_scores(true_labels, [p.predicted.emotion for p in pairs], classes=emotions)
    return STRSResult(result.overall.f1 * analysis.f1, result.overall, analysis)
