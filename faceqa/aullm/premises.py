"""Semantic premises: what the evidence says, written as text the LLM reads beside its tokens.

AULLM++ injects visual evidence "as actionable semantic premises". The content and instruction
tokens carry it as embeddings; prompt version 2 (``prompts/aullm_v2.txt``) also writes it out:

- **AUs** (prefix, every question): the AUs stated at 50% or more (from labels in FACS number
  order, as the datasets write them; from video strongest first), with that confidence as a
  percentage and the side; when fewer than two are stated, the next most probable ones (at least
  5%), so a plural question can still be answered from the premises. Where they come from depends
  on the evidence:

  - AU labels (:func:`build_premises`): the graph's AU head, its probability as the confidence and
    the side from the oracle AU channel; AUs that a label names but that are not nodes of the
    relation graph are passed through at 100% (and count toward those two);
  - video (:func:`readout_premises`): the evidence read-out that ``spot``, ``aus`` and the composer
    state (one read-out for every answerer): the active AUs that carry the expression are stated,
    strongest first, at 90% plus a tenth of their intensity share (intensity C, 3 of 5, reads 96%);
    the fill is not written (listed weak AUs made the LLM say "yes" to them) but a plural answer
    may still name it.
- **Interval** (prefix, when known): onset, apex and offset frames and the duration.
- **Candidates** (suffix, only for the questions about the emotion class): the fine classes the
  AU -> emotion deduction (:func:`~faceqa.facs.deduction.deduce`) gives the stated AUs (from video:
  the AUs that carry the expression, as the composer deduces), top
  three with their probabilities, and the most probable coarse class (by summed probability,
  which can differ from the top fine class's coarse class).

Example::

    AUs: brow lowerer 98% both, lid tightener 91% right.
    Interval: frames 40-52, apex 46, 0.40 s.
    Candidates: anger 62%, disgust 30%, sadness 5%; negative 93%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from faceqa.evidence.spotting import EMOTION_RELATIVE
from faceqa.facs.au_codes import AUCode
from faceqa.facs.units import au_by_number

THRESHOLD = 0.5
"""AU head probability from which an AU is stated (and given to the deduction)."""
MIN_LISTED = 2
"""AUs listed at least (below the threshold when needed), for plural questions."""
FLOOR = 0.05
"""Probability below which an AU is never listed."""
TOP_FINE = 3
"""Fine-class candidates written."""
EMOTION_KINDS = frozenset({"coarse", "fine", "compound", "analysis", "emotion", "describe"})
"""Question kinds whose prompt carries the emotion candidates."""
BILATERAL_RATIO = 0.5
"""The weaker side's share of the stronger from which motion reads as both sides (as the evidence's spotting)."""


@dataclass
class PremiseAU:
    """One AU as the premises state it."""

    au: int
    name: str
    confidence: float
    side: str | None = None  # "left" | "right" | "both" | None (not known)


@dataclass
class Premises:
    """The premises about one clip (see the module docstring)."""

    aus: list[PremiseAU] = field(default_factory=list)
    interval: dict | None = None  # onset, apex, offset (frames), fps
    fine: dict[str, float] = field(default_factory=dict)
    coarse: dict[str, float] = field(default_factory=dict)
    fill: list[PremiseAU] = field(default_factory=list)  # not written: names a plural answer may add

    @property
    def stated(self) -> list[PremiseAU]:
        """The AUs at or above :data:`THRESHOLD` (those the deduction weighed)."""
        return [a for a in self.aus if a.confidence >= THRESHOLD]

    def text(self) -> str:
        """The prefix premises: AUs and interval."""
        items = [f"{a.name} {_pct(a.confidence)}" + (f" {a.side}" if a.side else "") for a in self.aus]
        lines = [f"AUs: {', '.join(items) if items else 'none'}."]
        iv = self.interval or {}
        if iv.get("onset") is not None and iv.get("offset") is not None:
            line = f"Interval: frames {iv['onset']}-{iv['offset']}"
            if iv.get("apex") is not None:
                line += f", apex {iv['apex']}"
            if iv.get("fps"):
                line += f", {(iv['offset'] - iv['onset']) / iv['fps']:.2f} s"
            lines.append(line + ".")
        return "\n".join(lines)

    def candidates_text(self) -> str:
        """The per-question candidates line (with its newline), or "" when there are none."""
        if not self.fine and not self.coarse:
            return ""
        fine = sorted(self.fine.items(), key=lambda kv: -kv[1])[:TOP_FINE]
        parts = ", ".join(f"{c} {_pct(p)}" for c, p in fine)
        if self.coarse:
            coarse, p = max(self.coarse.items(), key=lambda kv: kv[1])
            parts += f"; {coarse} {_pct(p)}"
        return f"Candidates: {parts}.\n"

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return {"aus": [a.__dict__ for a in self.aus], "interval": self.interval, "fine": self.fine,
                "coarse": self.coarse, "fill": [a.__dict__ for a in self.fill]}


def _pct(p: float) -> str:
    return f"{int(round(100 * float(p)))}%"


def side_from_node(row: np.ndarray) -> str | None:
    """The side of one AU node's features: the oracle presence columns when filled, else the L/R motion."""
    left, right = float(row[4]), float(row[5])
    if left <= 0 and right <= 0:
        left, right = float(row[0]), float(row[1])
    top = max(left, right)
    if top <= 0:
        return None
    if min(left, right) >= BILATERAL_RATIO * top:
        return "both"
    return "left" if left > right else "right"


def _side_of_codes(codes: Sequence[AUCode], number: int) -> str | None:
    sides = {c.side for c in codes if c.number == number}
    if sides == {"L"}:
        return "left"
    if sides == {"R"}:
        return "right"
    return "both" if sides else None


def build_premises(probs, node_aus: Sequence[int], nodes, extra: Sequence[AUCode] = (),
                   interval: dict | None = None, convention: str | None = None, deduction_model=None,
                   candidates: bool = True) -> Premises:
    """Premises from the AU head's probabilities (N,) over ``node_aus`` and the node features (N, 6).

    ``extra``: labelled AUs that are not graph nodes (stated at 100%); ``interval``: onset, apex,
    offset, fps; the candidates come from the deduction (``deduction_model`` or the shipped one)
    under ``convention``.
    """
    from faceqa.facs.deduction import deduce

    probs = np.asarray(probs, dtype=np.float64)
    nodes = np.asarray(nodes, dtype=np.float64)
    nodes_set = set(int(a) for a in node_aus)
    seen: set[int] = set()
    passed = []
    for c in extra:
        if c.number in nodes_set or c.number in seen:
            continue
        seen.add(c.number)
        passed.append(PremiseAU(c.number, au_by_number(c.number).name, 1.0, _side_of_codes(extra, c.number)))
    order = np.argsort(-probs, kind="stable")
    listed: list[PremiseAU] = []
    for i in order:
        p = float(probs[i])
        if p < FLOOR or (p < THRESHOLD and len(listed) + len(passed) >= MIN_LISTED):
            break
        au = int(node_aus[i])
        listed.append(PremiseAU(au, au_by_number(au).name, round(p, 2), side_from_node(nodes[i])))
    stated = sorted([a for a in listed if a.confidence >= THRESHOLD] + passed, key=lambda a: a.au)
    weak = [a for a in listed if a.confidence < THRESHOLD]
    premises = Premises(stated + weak, interval)
    if candidates:
        d = deduce([a.au for a in premises.stated], convention, model=deduction_model)
        premises.fine = {k: round(v, 4) for k, v in d.scores.items()}
        premises.coarse = {k: round(v, 4) for k, v in d.coarse_scores.items()}
    return premises


_SIDE_WORDS = {"L": "left", "R": "right", "both": "both"}


def readout_premises(facts, interval: dict | None = None, candidates: bool = True) -> Premises:
    """Premises from the evidence read-out of video ``facts`` (:func:`~faceqa.qa.facts.facts_from_evidence`).

    Stated: the read-out's active AUs (``facts.aus``, score = intensity / 5, at most 1) that carry the
    expression (at least :data:`~faceqa.evidence.spotting.EMOTION_RELATIVE` of the strongest, the
    AUs the composer deduces the emotion from), strongest first, at ``0.9 + score / 10`` (as sure as
    the AU head states a labelled AU, the order kept in the figures). When fewer than
    :data:`MIN_LISTED`, the next strongest AUs (``facts.ranked``, at least :data:`FLOOR` at
    ``score / 2``) are the ``fill``: names a plural answer may use, not written in the text. The
    candidates are the facts' own deduction (``fine_scores``, ``coarse_scores``), so the LLM weighs
    what the composer states.
    """
    def said(a, confidence: float) -> PremiseAU:
        return PremiseAU(a.au, a.name, round(confidence, 2), _SIDE_WORDS.get(a.side or ""))

    top = max((a.score for a in facts.aus), default=0.0)
    stated = [said(a, 0.9 + 0.1 * a.score) for a in facts.aus if a.score >= EMOTION_RELATIVE * top]
    seen = {a.au for a in stated}
    fill = []
    for a in facts.ranked:
        if len(stated) + len(fill) >= MIN_LISTED or 0.5 * a.score < FLOOR:
            break
        if a.au not in seen:
            seen.add(a.au)
            fill.append(said(a, 0.5 * a.score))
    premises = Premises(sorted(stated, key=lambda a: -a.confidence), interval, fill=fill)
    if candidates:
        premises.fine = {k: round(float(v), 4) for k, v in facts.fine_scores.items()}
        premises.coarse = {k: round(float(v), 4) for k, v in facts.coarse_scores.items()}
    return premises
