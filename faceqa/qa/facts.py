"""The facts an answer rests on: AUs with sides and scores, emotion classes with scores, events, frames.

Facts are built from one of two sources and answer every question kind the same way:

- :func:`facts_from_evidence`: the evidence pass over a video (:class:`~faceqa.evidence.extract.Evidence`):
  the AUs of the asked interval (change from its onset, strongest first, with side and L/R
  activity), every measured AU ranked by strength, the spotted events, the onset/apex/offset frames;
- :func:`facts_from_labels`: oracle AU labels (FACS codes or MEGC names, optionally events with
  onset/offset/type), so the deduction and answer stages run without video.

In both, the fine and coarse emotion classes come from :func:`~faceqa.facs.deduction.deduce`
over the AU numbers, under the dataset's labelling ``convention``; each event gets its own.
The face-tool results of free-form questions (faces, identities, verification, quality) are
attached by :class:`~faceqa.qa.api.FaceQA` as it calls the tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from faceqa.evidence.spotting import MICRO_MAX_S, expression_aus
from faceqa.facs.annotations import LabelledExpression
from faceqa.facs.au_codes import AUCode
from faceqa.facs.deduction import Deduction, DeductionModel, deduce
from faceqa.facs.units import au_by_number

RANK_EXCLUDED = frozenset({45})
"""AUs left out of the strength ranking (blinks are not expressions)."""


@dataclass
class AUFact:
    """One AU as an answer may state it.

    Attributes:
        au: FACS number.
        name: MEGC name ("lip corner puller").
        side: ``"L"``, ``"R"``, ``"both"``, or None when the source does not say.
        score: activity 0..1 (video) or 1.0 (labels).
        left, right: activity per side (video only).
    """

    au: int
    name: str
    side: str | None = None
    score: float = 1.0
    left: float | None = None
    right: float | None = None


@dataclass
class EventFact:
    """One expression event (1-based ``index`` in onset order) with its AUs and deduced emotion."""

    index: int
    kind: str  # "micro" | "macro"
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    onset_s: float | None = None
    apex_s: float | None = None
    offset_s: float | None = None
    peak: float | None = None
    aus: list[AUFact] = field(default_factory=list)
    fine: str | None = None
    coarse: str | None = None


@dataclass
class Facts:
    """Everything the answerers may state about one clip or video.

    Attributes:
        source: ``"video"`` (the evidence pass), ``"labels"`` (oracle AU labels) or ``"image"``
            (a still: no motion, so no AUs).
        clip: clip or video id, when known.
        media: media path, when answered from media.
        fps: frame rate of the frames below.
        convention: labelling convention used for the deduction (``casme3``, ``samm``, None).
        aus: the AUs of the asked interval: strongest first (video) or as written (labels).
        ranked: every measured AU by strength (video only), for when a question needs an AU
            and none crossed the activity threshold.
        fine, coarse: deduced emotion classes; ``fine_scores``/``coarse_scores`` their probabilities.
        rationale: the deduction's one-paragraph reason.
        events: spotted (video) or labelled events, in onset order.
        frames: ``onset``, ``apex``, ``offset``, ``n_frames`` of the asked interval, where known.
        faces, identities, verification, quality: face-tool results, when a question needed them.
        emotion_scores: the expression classifier's mean scores for the main face, when run.
    """

    source: str
    clip: str | None = None
    media: str | None = None
    fps: float | None = None
    convention: str | None = None
    aus: list[AUFact] = field(default_factory=list)
    ranked: list[AUFact] = field(default_factory=list)
    fine: str | None = None
    coarse: str | None = None
    fine_scores: dict[str, float] = field(default_factory=dict)
    coarse_scores: dict[str, float] = field(default_factory=dict)
    rationale: str = ""
    events: list[EventFact] = field(default_factory=list)
    frames: dict[str, Any] = field(default_factory=dict)
    faces: dict | None = None
    identities: dict | None = None
    verification: dict | None = None
    quality: dict | None = None
    emotion_scores: dict[str, float] | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Events per kind: ``expression`` (all), ``micro``, ``macro``."""
        micro = sum(e.kind == "micro" for e in self.events)
        return {"expression": len(self.events), "micro": micro, "macro": len(self.events) - micro}

    def distinct_aus(self) -> list[AUFact]:
        """The distinct AUs of all events (or of the clip when there are none), by AU number."""
        pool = [a for e in self.events for a in e.aus] or self.aus
        best: dict[int, AUFact] = {}
        for a in pool:
            if a.au not in best or a.score > best[a.au].score:
                best[a.au] = a
        return [best[k] for k in sorted(best)]

    def au(self, number: int) -> AUFact | None:
        """The clip AU with this number, or None when it is not among :attr:`aus`."""
        return next((a for a in self.aus if a.au == number), None)

    def measured(self, number: int) -> AUFact | None:
        """This AU's measurement in :attr:`ranked` (video), or None."""
        return next((a for a in self.ranked if a.au == number), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every field plus ``counts``; empty tool results left out."""
        d = asdict(self)
        d["counts"] = self.counts
        for key in ("faces", "identities", "verification", "quality", "emotion_scores"):
            if d[key] is None:
                del d[key]
        return d


def _emotion(numbers: Sequence[int], convention: str | None, model: DeductionModel | None) -> Deduction:
    return deduce([int(a) for a in numbers], convention, model=model)


def _apply_emotion(facts: Facts, numbers: Sequence[int], model: DeductionModel | None) -> None:
    d = _emotion(numbers, facts.convention, model)
    facts.fine, facts.coarse = d.fine, d.coarse
    facts.fine_scores = {k: round(v, 4) for k, v in sorted(d.scores.items(), key=lambda kv: -kv[1])}
    facts.coarse_scores = {k: round(v, 4) for k, v in sorted(d.coarse_scores.items(), key=lambda kv: -kv[1])}
    facts.rationale = d.rationale


def au_facts_from_codes(codes: Iterable[AUCode]) -> list[AUFact]:
    """AU codes -> AU facts in written order, one per AU number.

    The side is the code's ``L``/``R``; ``"both"`` when both are written (``L1+R1``); None when no
    code of that AU names a side (the label does not say).
    """
    sides: dict[int, set[str]] = {}
    for c in codes:
        sides.setdefault(c.number, set()).update({c.side} if c.side else set())
    out = []
    for number, s in sides.items():
        side = "both" if s == {"L", "R"} else next(iter(s)) if s else None
        out.append(AUFact(number, au_by_number(number).name, side, 1.0))
    return out


def facts_from_labels(aus: Sequence[AUCode], events: Sequence[LabelledExpression] = (), *, clip: str | None = None,
                      fps: float | None = None, convention: str | None = None,
                      model: DeductionModel | None = None) -> Facts:
    """Facts from oracle labels: the clip's AU codes and, for long videos, its labelled events.

    An event's kind is its ``expression_type`` when given, else micro when it lasts at most 0.5 s
    at ``fps`` (micro when neither is known: an ME-VQA clip is a micro-expression).
    """
    facts = Facts("labels", clip=clip, fps=fps, convention=convention, aus=au_facts_from_codes(aus))
    _apply_emotion(facts, [a.au for a in facts.aus], model)
    ordered = sorted(events, key=lambda e: (e.onset if e.onset is not None else -1, e.offset or -1))
    for i, e in enumerate(ordered, 1):
        kind = e.expression_type
        if kind is None:
            long = fps and e.onset is not None and e.offset is not None and (e.offset - e.onset) / fps > MICRO_MAX_S
            kind = "macro" if long else "micro"
        ev_aus = au_facts_from_codes(e.aus)
        d = _emotion([a.au for a in ev_aus], convention, model)
        facts.events.append(EventFact(
            i, kind, e.onset, e.apex, e.offset,
            *(None if (f is None or not fps) else round(f / fps, 4) for f in (e.onset, e.apex, e.offset)),
            None, ev_aus, d.fine, d.coarse))
    if len(ordered) == 1:
        e = ordered[0]
        facts.frames = {k: v for k, v in (("onset", e.onset), ("apex", e.apex), ("offset", e.offset)) if v is not None}
    return facts


def _interval(evidence, onset: int | None, offset: int | None) -> tuple[int | None, int | None]:
    """The interval asked about: the given one; else the whole clip, or in a long video its strongest event."""
    if onset is not None or offset is not None or evidence.mode == "clip" or not evidence.events:
        return onset, offset
    best = max(evidence.events, key=lambda e: e.peak)
    return best.onset, best.offset


def _apex(evidence, onset: int | None, offset: int | None) -> int | None:
    table = evidence.table
    frames = table["frame"].to_numpy()
    keep = np.ones(len(frames), bool)
    if onset is not None:
        keep &= frames >= onset
    if offset is not None:
        keep &= frames <= offset
    signal = table["signal"].to_numpy()
    if not keep.any() or np.all(np.isnan(signal[keep])):
        return None
    return int(frames[keep][int(np.nanargmax(signal[keep]))])


def facts_from_evidence(evidence, onset: int | None = None, offset: int | None = None, *, clip: str | None = None,
                        convention: str | None = None, model: DeductionModel | None = None) -> Facts:
    """Facts from the evidence pass over a video, frame folder or image.

    The asked interval is [onset, offset] when given; else the whole clip (clip mode), or the
    strongest spotted event of a long video. Its AUs are read as the change from its first frame.
    ``frames`` holds the given interval (apex: the spotting signal's peak in it), else the
    strongest spotted event's onset/apex/offset, else the whole clip.
    """
    info = evidence.info
    still = info.kind in ("image", "array") or len(evidence.table) < 2
    facts = Facts("image" if still else "video", clip=clip, media=info.path, fps=evidence.fps, convention=convention)
    on, off = _interval(evidence, onset, offset)
    frames = evidence.table["frame"].to_numpy()
    if onset is None and offset is None and evidence.events:
        best = max(evidence.events, key=lambda e: e.peak)
        facts.frames = {"onset": best.onset, "apex": best.apex, "offset": best.offset,
                        "n_frames": int(((frames >= best.onset) & (frames <= best.offset)).sum())}
    elif len(frames):
        lo = on if on is not None else int(frames.min())
        hi = off if off is not None else int(frames.max())
        facts.frames = {"onset": lo, "apex": _apex(evidence, on, off), "offset": hi,
                        "n_frames": int(((frames >= lo) & (frames <= hi)).sum())}
    carrying: list[int] = []
    if not still:
        summary = evidence.au_summary(on, off)
        sides = {int(r.au): (float(r.L), float(r.R)) for r in summary.itertuples()}
        active = evidence.active_aus(on, off)
        facts.aus = [AUFact(a.au, au_by_number(a.au).name, a.side, float(a.score), *sides.get(a.au, (None, None)))
                     for a in active]
        carrying = expression_aus(active)
        facts.ranked = [AUFact(int(r.au), str(r.name), str(r.side), float(r.peak), float(r.L), float(r.R))
                        for r in summary.itertuples() if int(r.au) not in RANK_EXCLUDED]
    numbers = carrying or [a.au for a in facts.ranked[:1] if a.score > 0]
    _apply_emotion(facts, numbers, model)
    for i, e in enumerate(evidence.events, 1):
        ev_aus = [AUFact(a.au, au_by_number(a.au).name, a.side, float(a.score)) for a in e.aus]
        d = _emotion(expression_aus(e.aus), convention, model)
        facts.events.append(EventFact(i, e.kind, e.onset, e.apex, e.offset, round(e.onset_s, 4), round(e.apex_s, 4),
                                      round(e.offset_s, 4), round(float(e.peak), 4), ev_aus, d.fine, d.coarse))
    return facts
