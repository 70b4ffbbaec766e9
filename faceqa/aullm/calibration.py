"""Calibration of the LLM's closed-set answers, fitted on training clips ("calibrate before use").

**Class priors.** A model fine-tuned on imbalanced labels leans towards the frequent classes: on
the shipped bundle's training clips it gives "negative" 64% of the coarse probability and
"contempt" almost none. MEGC scores classes by unweighted F1 and recall, where every class counts
the same, so the class answers divide that habit out. For each label set (``role``: ``"fine"``,
``"coarse"``) the bundle stores the LLM's mean probability of each label over a sample of training
clips, p̄(y) (each choice's option scores softmaxed over its own options), and the decoder picks

    argmax_y  log p(y | clip, question) - strength * log p̄(y)

(``strength`` 1 is the rule that maximises expected unweighted recall when p̄ is the model's class
prior; 0 turns calibration off). p̄ is floored at :data:`FLOOR` so that a label the model never
says is not forced on every clip.

**The premises' candidates.** The emotion questions' premises (:mod:`~faceqa.aullm.premises`)
carry the AU -> emotion deduction's probability q(y) of every class. The LLM reads them as text;
the decoder can also weigh them in as a product of experts, adding ``weight * log q(y)`` (q floored
at :data:`FLOOR`) to each option's score: 0 leaves the choice to the LLM alone, a large weight
hands it to the deduction (the composer's answer).

With ``strength = "fit"`` each role takes the pair of :data:`STRENGTHS` x :data:`WEIGHTS` that
gives the best unweighted F1 on the same training clips (ties: the smallest weight, then the
strength nearest 1).

**When an AU list ends.** Before each further AU name the decoder compares the token that ends
the list with the separator; it stops when ``logit(end) - logit(",") >= stop_bias``. The bias is
fitted on the training clips' AU questions: each list is decoded to its end once (never stopping
early), the margin recorded at every point where it could have stopped, and the bias that gives
the best mean AU F1 against the labels is kept (0, the uncalibrated rule, on ties).

The file is ``calibration.json`` in the bundle (``faceqa.choice_calibration/3``; ``/1`` files,
one strength and no stop bias, and ``/2`` files, no premise weight, still load); bundles without
it decode uncalibrated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError

FILE = "calibration.json"
FORMAT = "faceqa.choice_calibration/3"
FORMATS = ("faceqa.choice_calibration/1", "faceqa.choice_calibration/2", FORMAT)
FLOOR = 0.01
"""Smallest mean probability a label's prior is taken as."""
CLASS_KINDS = ("coarse", "fine")
"""Question kinds whose answers are class choices (their priors are measured)."""
LIST_KINDS = ("aus",)
"""Question kinds whose answers are AU lists (their stop bias is fitted)."""
STOP = "stop"
"""The trace role of an AU list's stop decisions."""
STOP_PAD = 1.0
"""Half the length (logits) taken for a run of best stop biases that no recorded margin bounds on one side."""
STRENGTHS = tuple(i / 4 for i in range(9))
"""Strengths tried when the strength is fitted: 0 to 2 in steps of 0.25."""
WEIGHTS = tuple(i / 2 for i in range(9))
"""Premise weights tried when the strength is fitted: 0 to 4 in steps of 0.5."""


@dataclass(frozen=True)
class Calibration:
    """What the decoder corrects: class priors with a strength per role, the weight per role of the
    premises' candidates, and the AU-list stop bias."""

    priors: dict[str, dict[str, float]] = field(default_factory=dict)
    strength: dict[str, float] = field(default_factory=dict)
    stop_bias: float = 0.0
    premise_weight: dict[str, float] = field(default_factory=dict)

    @cached_property
    def offsets(self) -> dict[str, dict[str, float]]:
        """Role -> label -> the log prior subtracted from that option's score."""
        return {role: role_offsets(per, self.strength.get(role, 1.0)) for role, per in self.priors.items()}

    def option_offsets(self, role: str, labels: Sequence[str], evidence: Sequence[float] = ()) -> list[float]:
        """What the decoder subtracts from each option's score of a ``role`` choice (:func:`option_offsets`)."""
        return option_offsets(self.offsets.get(role, {}), labels, evidence, self.premise_weight.get(role, 0.0))


def label_priors(trace: Iterable[dict]) -> dict[str, dict[str, float]]:
    """Role -> label -> mean probability of that label where it was offered, from a decoder trace.

    Class entries are ``{"role", "labels", "scores"}`` (raw option log-probabilities), as
    :class:`~faceqa.aullm.decoding.Decoder` records them; stop entries are skipped.
    """
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for entry in trace:
        if entry["role"] == STOP:
            continue
        probs = _softmax(entry["scores"])
        role = entry["role"]
        for label, p in zip(entry["labels"], probs, strict=True):
            sums.setdefault(role, {})[label] = sums.get(role, {}).get(label, 0.0) + float(p)
            counts.setdefault(role, {})[label] = counts.get(role, {}).get(label, 0) + 1
    return {role: {label: round(s / counts[role][label], 5) for label, s in per.items()}
            for role, per in sums.items()}


def _softmax(scores: Sequence[float]) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    p = np.exp(s - s.max())
    return p / p.sum()


def role_offsets(priors: dict[str, float], strength: float = 1.0) -> dict[str, float]:
    """One label set's per-option offsets: ``strength * log(max(prior, FLOOR))``."""
    if strength < 0:
        raise InvalidInputError(f"calibration strength must be >= 0, got {strength}")
    return {label: strength * math.log(max(float(p), FLOOR)) for label, p in priors.items()}


def option_offsets(prior_offsets: dict[str, float], labels: Sequence[str], evidence: Sequence[float] = (),
                   weight: float = 0.0) -> list[float]:
    """What is subtracted from each option's score: its prior offset (:func:`role_offsets`) minus
    ``weight * log(max(q, FLOOR))`` of the premises' probability ``q`` (``evidence``; none: 0)."""
    out = [prior_offsets.get(label, 0.0) for label in labels]
    if evidence and weight:
        out = [o - weight * math.log(max(float(q), FLOOR)) for o, q in zip(out, evidence, strict=True)]
    return out


def offsets(priors: dict[str, dict[str, float]], strength: float = 1.0) -> dict[str, dict[str, float]]:
    """The decoder's per-option offsets of every label set (:func:`role_offsets`)."""
    return {role: role_offsets(per, strength) for role, per in priors.items()}


def calibrated_choice(entry: dict, offsets_of_role: dict[str, float], weight: float = 0.0) -> str:
    """The label a traced class choice takes under ``offsets_of_role`` and the premise ``weight``."""
    labels = entry["labels"]
    scores = np.asarray(entry["scores"]) - np.asarray(option_offsets(offsets_of_role, labels,
                                                                     entry.get("evidence", ()), weight))
    return labels[int(np.argmax(scores))]


def stopped_list(entry: dict, bias: float) -> list[str]:
    """The AU names a traced list (decoded to its end) says when it stops at ``margin >= bias``."""
    for said, margin in entry["margins"]:
        if margin >= bias:
            return entry["said"][:said]
    return list(entry["said"])


def fit_choice(entries: Sequence[dict], priors: dict[str, float], role: str) -> tuple[float, float, dict]:
    """The strength and premise weight (:data:`STRENGTHS` x :data:`WEIGHTS`) with the best unweighted
    F1 on ``entries`` (with ``gold``).

    Ties go to the smallest weight, then the strength nearest 1. Returns both and a table: the
    F1 of every strength at the chosen weight and of every weight at the chosen strength.
    """
    from faceqa.megc.evaluate import score_kind

    gold = [e["gold"] for e in entries]
    weights = WEIGHTS if any(e.get("evidence") for e in entries) else (0.0,)
    f1 = {(s, w): round(score_kind(role, gold, [calibrated_choice(e, role_offsets(priors, s), w)
                                                for e in entries])["uf1"], 4)
          for s in STRENGTHS for w in weights}
    best = max(f1.values())
    strength, weight = min((k for k in f1 if f1[k] == best), key=lambda k: (k[1], abs(k[0] - 1.0)))
    return strength, weight, {"by_strength": {s: f1[s, weight] for s in STRENGTHS},
                              "by_premise_weight": {w: f1[strength, w] for w in weights}}


def fit_stop_bias(entries: Sequence[dict]) -> tuple[float, dict[str, float]]:
    """The stop bias with the best mean AU F1 on ``entries`` (lists decoded to their end, with ``gold``),
    as far from the margins on either side as those clips allow.

    A list stops at its first margin >= the bias, so the F1 changes only at the recorded margins:
    each stretch between two neighbouring margins is scored once. Of the best stretches, the run of
    neighbours holding the one nearest 0 is kept and the bias is its middle (a run open at one end is
    taken to end 2 x :data:`STOP_PAD` past the outermost margin), so that on new clips a list ends neither
    earlier nor later than the calibration clips needed. Returns it and ``{"uncalibrated", "fitted"}``
    mean AU F1 (at 0 and at the bias).
    """
    from faceqa.megc.evaluate import score_kind

    if not entries:
        return 0.0, {}
    gold = [e["gold"] for e in entries]

    def f1(bias: float) -> float:
        return score_kind("aus", gold, [", ".join(stopped_list(e, bias)) for e in entries])["f1"]

    margins = sorted({m for e in entries for _, m in e["margins"]})
    at_zero = round(f1(0.0), 4)
    if not margins:
        return 0.0, {"uncalibrated": at_zero, "fitted": at_zero}
    bounds = [margins[0] - 2 * STOP_PAD, *margins, margins[-1] + 2 * STOP_PAD]
    scored = [f1((a + b) / 2) for a, b in pairwise(bounds)]
    best = max(scored)
    k = min((i for i, v in enumerate(scored) if v == best), key=lambda i: abs(bounds[i] + bounds[i + 1]))
    lo, hi = k, k
    while lo > 0 and scored[lo - 1] == best:
        lo -= 1
    while hi + 1 < len(scored) and scored[hi + 1] == best:
        hi += 1
    bias = round((bounds[lo] + bounds[hi + 1]) / 2, 4)  # inside the run of best stretches: its F1 is the best
    return bias, {"uncalibrated": at_zero, "fitted": round(best, 4)}


def fit_calibration(measured: Sequence[dict], strength: float | str = 1.0) -> tuple[Calibration, dict]:
    """The calibration fitted on :func:`measure`'s entries, and what the fit found (for the card).

    ``strength``: one strength for every role (and no premise weight), or ``"fit"`` (per role, the
    strength and the premise weight, see :func:`fit_choice`).
    """
    classes = [e for e in measured if e["role"] != STOP]
    if not classes:
        raise InvalidInputError("no class question among the calibration clips")
    priors = label_priors(classes)
    strengths, weights, report = {}, {}, {}
    for role in priors:
        if strength == "fit":
            strengths[role], weights[role], tried = fit_choice([e for e in classes if e["role"] == role],
                                                               priors[role], role)
            report[f"{role}_uf1_by_strength"] = tried["by_strength"]
            report[f"{role}_uf1_by_premise_weight"] = tried["by_premise_weight"]
        else:
            strengths[role], weights[role] = float(strength), 0.0
    bias, stop = fit_stop_bias([e for e in measured if e["role"] == STOP])
    report |= {"strength": strengths, "premise_weight": weights, "stop_bias": bias, "au_f1": stop}
    return Calibration(priors, strengths, bias, weights), report


def save_calibration(folder: str | Path, calibration: Calibration, fitted_on: str, report: dict | None = None) -> Path:
    """Write ``calibration.json`` into a bundle folder."""
    path = Path(folder) / FILE
    path.write_text(json.dumps({"format": FORMAT, "strength": calibration.strength, "stop_bias": calibration.stop_bias,
                                "premise_weight": calibration.premise_weight, "floor": FLOOR, "fitted_on": fitted_on,
                                "fit": report or {},
                                "priors": calibration.priors}, indent=2) + "\n")
    return path


def load_calibration(folder: str | Path) -> Calibration:
    """The calibration of a bundle (an empty one when it has no ``calibration.json``)."""
    path = Path(folder) / FILE
    if not path.is_file():
        return Calibration()
    try:
        saved = json.loads(path.read_text())
        if saved.get("format") not in FORMATS:
            raise InvalidInputError(f"{path}: format {saved.get('format')!r}, expected {FORMAT!r}")
        priors = saved["priors"]
        strength = saved["strength"]
        strengths = ({r: float(s) for r, s in strength.items()} if isinstance(strength, dict)
                     else {r: float(strength) for r in priors})
        weights = {r: float(w) for r, w in (saved.get("premise_weight") or {}).items()}
        if any(s < 0 for s in strengths.values()) or any(w < 0 for w in weights.values()):
            raise InvalidInputError(f"{path}: calibration strength and premise weight must be >= 0, "
                                    f"got {strength} and {weights}")
        return Calibration(priors, strengths, float(saved.get("stop_bias", 0.0)), weights)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(f"{path}: not a calibration file ({exc})") from exc


def measure(answerer, clips, deductions=None, progress: bool = True) -> list[dict]:
    """The decoder trace of ``answerer``'s LLM on the class and AU questions of ``clips``, with ``gold``.

    Each clip is answered as the held-out evaluation answers it (AU-label evidence), uncalibrated,
    AU lists decoded to their end, with the deduction model ``deductions.for_clip(clip)`` gives (a
    training clip's out-of-fold model) when given. Every entry gains the question's ``gold`` answer.
    """
    from tqdm.auto import tqdm

    from faceqa.aullm.answerer import dataset_key
    from faceqa.megc.media import DATASET_CONVENTION
    from faceqa.qa.facts import facts_from_labels
    from faceqa.qa.questions import parse_question
    from faceqa.train.evaluate import clip_rng
    from faceqa.train.examples import qa_examples

    decoder = answerer.model.decoder()
    saved, saved_trace = decoder.calibration, decoder.trace
    decoder.calibration = Calibration(stop_bias=math.inf)
    measured: list[dict] = []
    try:
        for clip in tqdm(clips, desc="calibration", unit="clip", disable=not progress, leave=False):
            examples = [e for e in qa_examples(clip, clip_rng(0, clip)) if e.kind in CLASS_KINDS + LIST_KINDS]
            if not examples:
                continue
            ds = dataset_key(clip.dataset)
            model = deductions.for_clip(clip) if deductions is not None else None
            facts = facts_from_labels(list(clip.aus), clip=clip.clip, convention=DATASET_CONVENTION.get(ds or ""),
                                      model=model)
            decoder.trace = []
            answerer.decode(answerer.features(facts, None), facts, [parse_question(e.question) for e in examples],
                            answerer.vocab_for(ds), model)
            if len(decoder.trace) != len(examples):
                raise RuntimeError(f"calibration: {len(decoder.trace)} traced choices for {len(examples)} questions")
            measured += [entry | {"gold": e.answer} for entry, e in zip(decoder.trace, examples, strict=True)]
    finally:
        decoder.calibration, decoder.trace = saved, saved_trace
    return measured
