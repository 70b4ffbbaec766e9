"""The grounded composer: answers by filling the templates in ``prompts/composer/`` from the facts.

The templates are found file by file in the prompt folders (:mod:`faceqa.resources`: ``$FACEQA_PROMPTS``,
``./prompts``, the packaged copy), so a user may reword one answer form by writing just that file.

No model runs here: each answer states only what :class:`~faceqa.qa.facts.Facts` holds, in the
exact wording of the MEGC training answers (single labels, AU names joined by ``", "``, and the
compound sentence "The action unit(s) present is/are: ... Therefore, the fine-grained expression
class is ..., and the coarse expression class is ...").

Choices the templates do not show:

- **How many AUs.** "What is the action unit?" is answered with the strongest AU, "What are the
  action units?" with every active AU and at least two (filled from the strength ranking when
  only one crossed the threshold): in the MEGC files the question's number always matches the
  number of AUs in the answer. The compound question follows the same rule and picks the
  singular or plural sentence by the question's own number.
- **Side.** The labelled side, else the side with the larger activity, else ``left`` (18 of the
  30 side answers in the MEGC 2025 training file).
- **N-th event beyond the events found.** ``macro-expression``, the commoner kind (3346 of the
  4206 CAS(ME)^3 part A events).
- **Confidence** (0..1): the deduction's probability of the class stated (emotion answers); the
  mean activity of the AUs stated (AU answers; 1 for labels); for absence, one minus the AU's
  measured activity; the smaller of the two for compound answers; for counts and event types from
  video, the mean peak of the spotted events (0.5 with none), 1 for labels.
- **Quality verdict.** Clip score >= 0.6 "good enough for face analysis", >= 0.35 "usable with
  care", else "poor".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.perception.identity import DEFAULT_THRESHOLD
from faceqa.qa.facts import AUFact, EventFact, Facts
from faceqa.qa.kinds import kind_spec
from faceqa.qa.questions import Question, Target
from faceqa.resources import prompt_files

DEFAULT_SIDE = "left"
DEFAULT_EVENT_KIND = "macro"
GOOD_QUALITY = 0.6
USABLE_QUALITY = 0.35
FRONTAL_DEG = 15.0


@dataclass(frozen=True)
class Composed:
    """A composed answer and how sure the facts make it."""

    text: str
    confidence: float


class Composer:
    """Fills answer templates from facts.

    Args:
        templates: folder of ``<name>.txt`` templates (``str.format`` fields), used alone; default: each
            template from the first prompt folder that has it (:func:`faceqa.resources.prompt_files`).
    """

    def __init__(self, templates: str | Path | None = None):
        self.templates_dir = Path(templates) if templates is not None else None

    @cached_property
    def templates(self) -> dict[str, str]:
        """Template name -> text (trailing newline stripped), read once."""
        if self.templates_dir is None:
            paths = prompt_files("composer")
        elif self.templates_dir.is_dir():
            paths = {p.stem: p for p in sorted(self.templates_dir.glob("*.txt"))}
        else:
            raise InvalidInputError(f"{self.templates_dir}: answer template folder not found")
        return {name: p.read_text(encoding="utf-8").rstrip("\n") for name, p in paths.items()}

    def fill(self, name: str, **fields) -> str:
        """Template ``name`` filled with ``fields``."""
        try:
            return self.templates[name].format(**fields)
        except KeyError as exc:
            raise InvalidInputError(f"answer template {name!r}: missing template or field {exc}") from None

    def answer(self, question: Question, facts: Facts) -> Composed:
        """The answer to one parsed question from the facts."""
        return getattr(self, kind_spec(question.kind).handler)(question, facts)

    # --- MEGC ME-VQA -------------------------------------------------------------------------

    def _coarse(self, q: Question, f: Facts) -> Composed:
        return Composed(self.fill("coarse", coarse=f.coarse), f.coarse_scores.get(f.coarse, 0.0))

    def _fine(self, q: Question, f: Facts) -> Composed:
        return Composed(self.fill("fine", fine=f.fine), f.fine_scores.get(f.fine, 0.0))

    def _aus(self, q: Question, f: Facts) -> Composed:
        aus = stated_aus(f, q.plural)
        if not aus:
            return Composed(self.fill("no_aus"), 0.0)
        return Composed(self.fill("aus", au_names=au_names(aus)), _mean_score(aus))

    def _au_present(self, q: Question, f: Facts) -> Composed:
        fact = f.au(q.au) if q.au is not None else None
        if fact is not None:
            return Composed(self.fill("au_present", yes_no="yes"), fact.score)
        measured = f.measured(q.au) if q.au is not None else None
        return Composed(self.fill("au_present", yes_no="no"), 1.0 - (measured.score if measured else 0.0))

    def _au_side(self, q: Question, f: Facts) -> Composed:
        fact = (f.au(q.au) or f.measured(q.au)) if q.au is not None else None
        side, confidence = DEFAULT_SIDE, 0.5
        if fact is not None and fact.side in ("L", "R"):
            side, confidence = ("left" if fact.side == "L" else "right"), fact.score
        elif fact is not None and fact.left is not None and fact.right is not None and fact.left != fact.right:
            side = "left" if fact.left > fact.right else "right"
            confidence = max(fact.left, fact.right) / (fact.left + fact.right)
        return Composed(self.fill("au_side", side=side), confidence)

    def _compound_text(self, aus: list[AUFact], f: Facts, plural: bool) -> str:
        names = au_names(aus) if aus else "none"
        return self.fill("compound_many" if plural else "compound_one", au_names=names, fine=f.fine, coarse=f.coarse)

    def _compound(self, q: Question, f: Facts) -> Composed:
        aus = stated_aus(f, q.plural)
        confidence = min(_mean_score(aus), f.fine_scores.get(f.fine, 0.0))
        return Composed(self._compound_text(aus, f, q.plural), confidence)

    def _analysis(self, q: Question, f: Facts) -> Composed:
        aus = list(f.aus) or f.ranked[:1]
        sides = "".join(self.fill("analysis_side", au_name=a.name, side="left" if a.side == "L" else "right")
                        for a in aus if a.side in ("L", "R"))
        timing = ""
        fr = f.frames
        if f.source == "video" and f.fps and all(fr.get(k) is not None for k in ("onset", "apex", "offset")):
            duration_ms = round((fr["offset"] - fr["onset"]) / f.fps * 1000)
            timing = self.fill("analysis_timing", onset=fr["onset"], apex=fr["apex"], offset=fr["offset"],
                               duration_ms=duration_ms, kind="micro" if duration_ms <= 500 else "macro")
        text = self.fill("analysis", compound=self._compound_text(aus, f, len(aus) > 1), sides=sides, timing=timing)
        return Composed(text, min(_mean_score(aus), f.fine_scores.get(f.fine, 0.0)))

    # --- MEGC ME-LVQA ------------------------------------------------------------------------

    def _event_confidence(self, f: Facts) -> float:
        if f.source == "labels":
            return 1.0
        peaks = [min(1.0, e.peak / 5.0) for e in f.events if e.peak is not None]  # peaks are 0-5 intensities
        return float(np.mean(peaks)) if peaks else 0.5

    def _count(self, q: Question, f: Facts) -> Composed:
        return Composed(self.fill("count", count=f.counts[q.event_kind or "expression"]), self._event_confidence(f))

    def _distinct_aus(self, q: Question, f: Facts) -> Composed:
        aus = f.distinct_aus() or f.ranked[:1]
        if not aus:
            return Composed(self.fill("no_aus"), 0.0)
        return Composed(self.fill("distinct_aus", au_names=au_names(aus)), _mean_score(aus))

    def _event_type(self, q: Question, f: Facts) -> Composed:
        n = q.index if q.index is not None else 1
        event = (f.events[n - 1] if 0 < n <= len(f.events) else f.events[-1] if n == -1 and f.events else None)
        if event is None:
            return Composed(self.fill("event_type", kind=DEFAULT_EVENT_KIND), 0.3)
        return Composed(self.fill("event_type", kind=event.kind), self._event_confidence(f))

    # --- free-form, from the face tools ------------------------------------------------------

    def _verify(self, q: Question, f: Facts) -> Composed:
        v = f.verification
        if v is None:
            return Composed(self.fill("verify_need_two"), 0.0)
        d, t = float(v["distance"]), float(v["threshold"])
        confidence = min(1.0, abs(d - t) / t + 0.5)
        return Composed(self.fill("verify_same" if v["same"] else "verify_different", distance=d, threshold=t),
                        confidence)

    def _identity(self, q: Question, f: Facts) -> Composed:
        faces = (f.identities or {}).get("faces") or []
        if not faces:
            return Composed(self.fill("identity_none"), 0.0)
        threshold = float(f.identities.get("threshold", DEFAULT_THRESHOLD))
        parts, confidences = [], []
        for face in faces:
            matches = face.get("matches") or []
            if face.get("known"):
                parts.append(self.fill("identity_known", face_id=face["face_id"], identity=face["identity"],
                                       distance=float(face["distance"])))
                confidences.append(1.0 - float(face["distance"]) / (2 * threshold))
            elif matches:
                parts.append(self.fill("identity_unknown", face_id=face["face_id"], closest=matches[0]["person"],
                                       distance=float(matches[0]["distance"]), threshold=threshold))
                confidences.append(min(1.0, float(matches[0]["distance"]) / (2 * threshold)))
            else:
                parts.append(self.fill("identity_empty", face_id=face["face_id"]))
                confidences.append(0.0)
        return Composed(" ".join(parts), float(np.mean(confidences)))

    def _face_count(self, q: Question, f: Facts) -> Composed:
        faces = f.faces or {}
        tracks = faces.get("faces", [])
        count = len(tracks)
        word = "face" if count == 1 else "faces"
        if faces.get("kind") in ("image", "array"):
            return Composed(self.fill("face_count_image", count=count, faces=word), 0.9)
        return Composed(self.fill("face_count_video", count=count, faces=word, frames=faces.get("frames_analyzed", 0),
                                  together=faces.get("max_faces_per_frame", count)), 0.8)

    def _spans(self, events: list[EventFact]) -> str:
        return "; ".join(self.fill("span", onset_s=e.onset_s or 0.0, offset_s=e.offset_s or 0.0, onset=e.onset,
                                   offset=e.offset) for e in events)

    def _when(self, q: Question, f: Facts) -> Composed:
        found = matching_events(f, q.target)
        if not found:
            return Composed(self.fill("when_none", label=q.target.label), self._event_confidence(f))
        return Composed(self.fill("when_found", label=q.target.label, spans=self._spans(found)),
                        self._event_confidence(f))

    def _check(self, q: Question, f: Facts) -> Composed:
        if f.source == "image":
            expected = _CLASSIFIER_OF.get(q.target.fine or "")
            if not f.emotion_scores or expected is None:
                return Composed(self.fill("check_image_unknown", label=q.target.label), 0.0)
            top = max(f.emotion_scores, key=lambda k: f.emotion_scores[k])
            p = float(f.emotion_scores.get(expected, 0.0))
            name = "check_image_yes" if top == expected else "check_image_no"
            return Composed(self.fill(name, label=top, score=f.emotion_scores[top]), p if top == expected else 1 - p)
        found = matching_events(f, q.target)
        if not found:
            return Composed(self.fill("check_no", label=q.target.label), self._event_confidence(f))
        return Composed(self.fill("check_yes", label=q.target.label, spans=self._spans(found)),
                        self._event_confidence(f))

    def _head_pose(self, q: Question, f: Facts) -> Composed:
        tracks = [t for t in (f.faces or {}).get("faces", []) if "mean_pose" in t]
        if not tracks:
            return Composed(self.fill("head_pose_none"), 0.0)
        main = max(tracks, key=lambda t: (t.get("frames", 0), t.get("mean_size_px", 0)))
        yaw, pitch, roll = (float(main["mean_pose"][k]) for k in ("yaw", "pitch", "roll"))
        over = f", mean over {main['frames']} frames" if main.get("frames", 1) > 1 else ""
        return Composed(self.fill("head_pose", description=pose_description(yaw, pitch), yaw=yaw, pitch=pitch,
                                  roll=roll, over=over), 0.8)

    def _quality(self, q: Question, f: Facts) -> Composed:
        r = f.quality or {}
        score = float(r.get("score", 0.0))
        comps = r.get("components") or {}
        weakest = min(comps, key=lambda k: comps[k]) if comps else "face presence"
        verdict = ("good enough for face analysis" if score >= GOOD_QUALITY else
                   "usable with care" if score >= USABLE_QUALITY else "poor")
        return Composed(self.fill("quality", score=score, verdict=verdict, weakest=weakest,
                                  weakest_score=float(comps.get(weakest, 0.0)), coverage=float(r.get("coverage", 0.0))),
                        0.8)

    def _classifier_sentence(self, f: Facts) -> str:
        if not f.emotion_scores:
            return ""
        top = max(f.emotion_scores, key=lambda k: f.emotion_scores[k])
        return self.fill("emotion_classifier", label=top, score=f.emotion_scores[top])

    def _emotion(self, q: Question, f: Facts) -> Composed:
        if f.source == "image":
            if not f.emotion_scores:
                return Composed(self.fill("emotion_none"), 0.0)
            top = max(f.emotion_scores, key=lambda k: f.emotion_scores[k])
            return Composed(self.fill("emotion_image", label=top, score=f.emotion_scores[top]),
                            f.emotion_scores[top])
        aus = list(f.aus) or f.ranked[:1]
        return Composed(self.fill("emotion", fine=f.fine, coarse=f.coarse, au_names=au_names(aus) or "no action unit",
                                  classifier=self._classifier_sentence(f)), f.fine_scores.get(f.fine, 0.0))

    def _describe(self, q: Question, f: Facts) -> Composed:
        if f.events:
            items = "; ".join(self.fill("event_item", kind=e.kind, onset_s=e.onset_s or 0.0, offset_s=e.offset_s or 0.0,
                                        au_names=au_names(e.aus), fine=e.fine) for e in f.events)
            events = self.fill("events_some", count=len(f.events),
                               events_word="event" if len(f.events) == 1 else "events", items=items)
        else:
            events = self.fill("events_none")
        emotion = self._emotion(q, f)
        return Composed(self.fill("describe", events=events, emotion=emotion.text), emotion.confidence)


_CLASSIFIER_OF = {"happiness": "happy", "sadness": "sad", "anger": "angry", "fear": "fear", "disgust": "disgust",
                  "surprise": "surprise"}


def au_names(aus: list[AUFact]) -> str:
    """AU facts -> ``"brow lowerer, lid tightener"`` (the MEGC answer form)."""
    return ", ".join(a.name for a in aus)


def _mean_score(aus: list[AUFact]) -> float:
    return float(np.mean([a.score for a in aus])) if aus else 0.0


def stated_aus(facts: Facts, plural: bool) -> list[AUFact]:
    """The AUs an answer states: the strongest one (singular question), or every active AU and at
    least two, filled from the strength ranking (plural)."""
    if not plural:
        return (facts.aus or [a for a in facts.ranked if a.score > 0])[:1]
    aus = list(facts.aus)
    for a in facts.ranked:
        if len(aus) >= 2:
            break
        if a.score > 0 and all(b.au != a.au for b in aus):
            aus.append(a)
    return aus


def matching_events(facts: Facts, target: Target | None) -> list[EventFact]:
    """The events that show ``target``: by kind (micro/macro), by AU, or by deduced fine class."""
    if target is None or target.label == "expression":
        return list(facts.events)
    if target.label in ("micro-expression", "macro-expression"):
        return [e for e in facts.events if e.kind == target.label.split("-")[0]]
    return [e for e in facts.events
            if any(a.au in target.aus for a in e.aus) or (target.fine is not None and e.fine == target.fine)]


def pose_description(yaw: float, pitch: float) -> str:
    """Words for a head pose (yaw > 0: turned towards the image's left; pitch > 0: tilted up)."""
    parts = []
    if abs(yaw) > FRONTAL_DEG:
        parts.append(f"turned towards the image's {'left' if yaw > 0 else 'right'}")
    if abs(pitch) > FRONTAL_DEG:
        parts.append(f"tilted {'up' if pitch > 0 else 'down'}")
    return " and ".join(parts) or "roughly frontal"
