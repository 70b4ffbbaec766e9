"""Hand-labelled expression events in real videos, and how spotted events are scored against them.

The label file (``tests/data/real_events.json``) holds, per clip, its path under the data folder
(with its ``source`` and ``sha256`` for clips from outside the shared data), fps, frame count, a
``split`` (``tune`` or ``report``), the labelled ``events`` (onset / apex / offset as 0-based
decoded frame indices, FACS AUs, side, micro/macro, intensity, ``uncertain``) and the spans where
the person is ``talking`` or moving the head; its ``protocol`` field says how they were labelled.

Scoring (:func:`score_clip`), per clip:

- predicted and labelled events match one to one at IoU >= 0.5 in frames (MEGC's criterion; the
  micro/macro type is reported but not required to agree, since a hand-fixed boundary can move an
  event across 0.5 s); the matching maximises the number of pairs, then the summed IoU;
- labelled events marked ``uncertain`` are don't-care: a prediction matched to one counts neither
  as a hit nor as a false event, and an uncertain event left unmatched is not a miss;
- a hit is *AU-correct* when the predicted AUs include at least one labelled AU; since naming many
  AUs makes that easy, the naming is also scored AU by AU over the hits: *AU precision* (the named
  AUs that are labelled) and *AU label recall* (the labelled AUs that were named, counting only the
  AUs the detector reads when ``readable_aus`` is given);
- a false event "in talking" is an unmatched prediction whose interval lies mostly (> half its
  frames) inside labelled talking spans; the rate is per minute of labelled talking;
- talking itself is scored frame by frame when the frames the evidence pass marked as talking are
  given: precision and recall of those frames against the labelled talking spans.
- each miss is told apart by what the spotter did there (:data:`MISS_KINDS`): *unseen* (no spotted
  event overlaps it), *too long* (the spotted event overlapping it most is longer: it ran on, or
  joined the expression to a neighbour) or *too short* (it is shorter: only part of the expression
  was spotted, or the expression was cut into pieces).

With a few dozen events the figures are uncertain; :meth:`ClipScore.summary` gives 95 % Wilson
score intervals (:func:`wilson_interval`) for the event precision and recall.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.megc.metrics import Counts, Interval, interval_iou, match_intervals

SPLITS = ("tune", "report")
TARGETS = {"recall": 0.8, "precision": 0.7, "false_per_talking_min": 1.0}
"""The acceptance targets on held-out real clips (issue 9): event recall and precision at IoU >= 0.5,
and at most this many false events per minute of labelled talking."""
MISS_KINDS = ("unseen", "too_long", "too_short")
"""How a labelled event was missed: no spotted event overlaps it, or the one overlapping it most (by
IoU) is longer or shorter than it."""


@dataclass(frozen=True)
class LabelledEvent:
    """One hand-labelled expression event (frames are 0-based decoded indices)."""

    onset: int
    apex: int
    offset: int
    aus: tuple[int, ...]
    side: str = "both"
    kind: str = "macro"
    intensity: str | None = None
    uncertain: bool = False
    note: str = ""


@dataclass(frozen=True)
class LabelledClip:
    """A real clip with its labelled events and talking / head-motion spans."""

    name: str
    path: str
    fps: float
    n_frames: int
    split: str
    events: tuple[LabelledEvent, ...]
    talking: tuple[tuple[int, int], ...] = ()
    head_motion: tuple[tuple[int, int], ...] = ()
    description: str = ""
    source: str = ""
    """Where the video comes from when it is not in the shared data folder (repository, path, commit)."""
    sha256: str = ""
    """The labelled file's SHA-256, when given: another file under the same path is not scored."""

    def is_labelled_file(self, path: str | Path) -> bool:
        """Whether ``path`` holds the labelled file (its SHA-256 is the clip's; any file when none is given)."""
        return self.is_labelled_data(Path(path).read_bytes())

    def is_labelled_data(self, data: bytes) -> bool:
        """Whether ``data`` is the labelled file's content (see :meth:`is_labelled_file`)."""
        import hashlib

        return not self.sha256 or hashlib.sha256(data).hexdigest() == self.sha256

    @property
    def talking_s(self) -> float:
        """Seconds of labelled talking."""
        return sum(b - a + 1 for a, b in self.talking) / self.fps


def load_labelled_clips(path: str | Path) -> dict[str, LabelledClip]:
    """Read a label file; raise :class:`~faceqa.errors.InvalidInputError` naming a bad field."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: label file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: not a JSON label file ({exc})") from None
    clips = doc.get("clips") if isinstance(doc, dict) else None
    if not isinstance(clips, dict):
        raise InvalidInputError(f"{path}: expected an object with a 'clips' mapping")
    out = {}
    for name, c in clips.items():
        where = f"{path}: clip {name!r}"
        try:
            events = tuple(
                LabelledEvent(int(e["onset"]), int(e["apex"]), int(e["offset"]), tuple(int(a) for a in e["aus"]),
                              str(e.get("side", "both")), str(e.get("kind", "macro")), e.get("intensity"),
                              bool(e.get("uncertain", False)), str(e.get("note", "")))
                for e in c["events"])
            clip = LabelledClip(name, str(c["path"]), float(c["fps"]), int(c["n_frames"]), str(c["split"]), events,
                                tuple((int(a), int(b)) for a, b in c.get("talking", [])),
                                tuple((int(a), int(b)) for a, b in c.get("head_motion", [])),
                                str(c.get("description", "")), str(c.get("source", "")), str(c.get("sha256", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{where}: bad or missing field ({type(exc).__name__}: {exc})") from None
        if clip.split not in SPLITS:
            raise InvalidInputError(f"{where}: split must be one of {SPLITS}, got {clip.split!r}")
        for e in events:
            if not e.onset <= e.apex <= e.offset:
                raise InvalidInputError(f"{where}: event {e.onset}-{e.apex}-{e.offset} is not onset <= apex <= offset")
        out[name] = clip
    return out


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion ``successes / trials`` (95 % for ``z`` 1.96), or
    None without trials; unlike the normal approximation it stays inside [0, 1] for small counts."""
    if trials <= 0:
        return None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PredictedEvent:
    """A spotted event as scored here: inclusive frames and the AU numbers it names."""

    onset: int
    offset: int
    aus: tuple[int, ...]
    kind: str = "macro"


@dataclass
class ClipScore:
    """Scores of one clip (or of several, summed with ``+``)."""

    hits: int = 0
    au_hits: int = 0
    false_events: int = 0
    misses: int = 0
    false_in_talking: int = 0
    talking_s: float = 0.0
    dont_care: int = 0
    talk_frames_hit: int = 0
    talk_frames_extra: int = 0
    talk_frames_missed: int = 0
    aus_named: int = 0
    aus_named_labelled: int = 0
    aus_labelled: int = 0
    aus_labelled_named: int = 0
    matched: list[tuple[LabelledEvent, PredictedEvent, float]] = field(default_factory=list)
    false: list[PredictedEvent] = field(default_factory=list)
    missed: list[LabelledEvent] = field(default_factory=list)
    miss_kinds: list[str] = field(default_factory=list)
    """The :data:`MISS_KINDS` entry of each of ``missed``, in the same order."""

    def miss_counts(self) -> dict[str, int]:
        """How many misses of each of :data:`MISS_KINDS`."""
        return {kind: self.miss_kinds.count(kind) for kind in MISS_KINDS}

    @property
    def counts(self) -> Counts:
        """Hits, false events and misses as MEGC TP / FP / FN."""
        return Counts(self.hits, self.false_events, self.misses)

    @property
    def labelled(self) -> int:
        """The labelled events that count (hits and misses; don't-care events left out)."""
        return self.hits + self.misses

    @property
    def precision(self) -> float:
        """Hits / (hits + false events)."""
        return self.counts.precision

    @property
    def recall(self) -> float:
        """Hits / (hits + misses), IoU >= 0.5 only."""
        return self.counts.recall

    @property
    def au_recall(self) -> float:
        """Hits that also name a labelled AU, over all (certain) labelled events."""
        return self.au_hits / self.labelled if self.labelled else 0.0

    @property
    def f1(self) -> float:
        """2PR / (P + R) of precision and recall."""
        return self.counts.f1

    @property
    def au_share(self) -> float:
        """Share of hits whose predicted AUs include a labelled AU."""
        return self.au_hits / self.hits if self.hits else 0.0

    @property
    def au_precision(self) -> float:
        """Over the hits: the named AUs that are labelled, over all named AUs."""
        return self.aus_named_labelled / self.aus_named if self.aus_named else 0.0

    @property
    def au_label_recall(self) -> float:
        """Over the hits: the labelled (readable) AUs that were named, over all labelled (readable) AUs."""
        return self.aus_labelled_named / self.aus_labelled if self.aus_labelled else 0.0

    @property
    def false_per_talking_min(self) -> float | None:
        """False events inside talking per minute of labelled talking (None without talking)."""
        return self.false_in_talking / (self.talking_s / 60.0) if self.talking_s else None

    @property
    def talking_precision(self) -> float | None:
        """Share of the frames marked talking that lie in labelled talking (None when none were marked)."""
        marked = self.talk_frames_hit + self.talk_frames_extra
        return self.talk_frames_hit / marked if marked else None

    @property
    def talking_recall(self) -> float | None:
        """Share of the labelled talking frames marked talking (None without labelled talking)."""
        labelled = self.talk_frames_hit + self.talk_frames_missed
        return self.talk_frames_hit / labelled if labelled else None

    def __add__(self, other: ClipScore) -> ClipScore:
        return ClipScore(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def summary(self) -> dict:
        """The figures as a flat dict (rounded)."""
        rate = self.false_per_talking_min

        def rounded(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        def interval(k: int, n: int) -> list[float] | None:
            ci = wilson_interval(k, n)
            return None if ci is None else [round(ci[0], 3), round(ci[1], 3)]

        return {"labelled": self.labelled, "predicted": self.hits + self.false_events,
                "hits": self.hits, "au_hits": self.au_hits, "false": self.false_events, "missed": self.misses,
                **{f"missed_{kind}": n for kind, n in self.miss_counts().items()},
                "dont_care": self.dont_care, "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3), "precision_ci95": interval(self.hits, self.hits + self.false_events),
                "recall_ci95": interval(self.hits, self.labelled),
                "au_recall": round(self.au_recall, 3), "au_share": round(self.au_share, 3),
                "au_precision": round(self.au_precision, 3), "au_label_recall": round(self.au_label_recall, 3),
                "aus_per_hit": round(self.aus_named / self.hits, 2) if self.hits else None,
                "talking_s": round(self.talking_s, 1), "false_in_talking": self.false_in_talking,
                "false_per_talking_min": None if rate is None else round(rate, 2),
                "talking_frames_marked": self.talk_frames_hit + self.talk_frames_extra,
                "talking_precision": rounded(self.talking_precision), "talking_recall": rounded(self.talking_recall)}


def mean_clip_f1(scores: Iterable[ClipScore]) -> float | None:
    """The mean F1 over the clips that have labelled events that count (not all don't-care): the
    criterion the label file's tune clips choose settings by, since pooled figures let the clip with the
    most events (``d6``) decide. None when no clip has such events."""
    f1s = [s.f1 for s in scores if s.labelled]
    return sum(f1s) / len(f1s) if f1s else None


def overall_summary(scores: Sequence[ClipScore]) -> dict:
    """The :meth:`ClipScore.summary` of a split's clip ``scores`` summed, with their ``mean_clip_f1`` and,
    since that mean cannot see them, the clips with nothing to find (no labelled event that counts)
    and the false events spotted there (``clips_without_events``, ``false_without_events``)."""
    mean_f1 = mean_clip_f1(scores)
    empty = [s for s in scores if not s.labelled]
    return sum(scores, ClipScore()).summary() | {"mean_clip_f1": None if mean_f1 is None else round(mean_f1, 3),
                                                 "clips_without_events": len(empty),
                                                 "false_without_events": sum(s.false_events for s in empty)}


def _inside(a: int, b: int, spans: Iterable[tuple[int, int]]) -> int:
    return sum(max(0, min(b, y) - max(a, x) + 1) for x, y in spans)


def score_clip(clip: LabelledClip, predicted: Sequence[PredictedEvent], iou_threshold: float = 0.5,
               talking_frames: Iterable[int] | None = None, readable_aus: Collection[int] | None = None) -> ClipScore:
    """Match predictions to the clip's labelled events and count hits, AU hits, misses and false events;
    with ``talking_frames`` (the frame indices the evidence pass marked as talking), also count the
    talking frames marked inside, outside and missing from the labelled talking spans. ``readable_aus``:
    the AUs the detector can name (default all), for the AU label recall."""
    # the emotion field carries each interval's index, so equal spans stay apart
    truth = [Interval("v", e.onset, e.offset, "macro", str(i)) for i, e in enumerate(clip.events)]
    preds = [Interval("v", p.onset, p.offset, "macro", str(i)) for i, p in enumerate(predicted)]
    m = match_intervals(preds, truth, iou_threshold)
    score = ClipScore(talking_s=clip.talking_s)
    for pair in m.pairs:
        e = clip.events[int(pair.truth.emotion)]
        p = predicted[int(pair.predicted.emotion)]
        if e.uncertain:
            score.dont_care += 1
            continue
        score.hits += 1
        named, labelled = set(p.aus), set(e.aus)
        readable = labelled if readable_aus is None else labelled & set(readable_aus)
        score.au_hits += bool(named & labelled)
        score.aus_named += len(named)
        score.aus_named_labelled += len(named & labelled)
        score.aus_labelled += len(readable)
        score.aus_labelled_named += len(readable & named)
        score.matched.append((e, p, pair.iou))
    uncertain = [e for e in clip.events if e.uncertain]
    for i in m.false_positives:
        p = predicted[int(i.emotion)]
        # a prediction overlapping an unmatched uncertain event is not held against the spotter
        if any(min(p.offset, e.offset) >= max(p.onset, e.onset) for e in uncertain):
            score.dont_care += 1
            continue
        score.false_events += 1
        score.false.append(p)
        if 2 * _inside(p.onset, p.offset, clip.talking) > p.offset - p.onset + 1:
            score.false_in_talking += 1
    for t in m.false_negatives:
        e = clip.events[int(t.emotion)]
        if not e.uncertain:
            score.misses += 1
            score.missed.append(e)
            score.miss_kinds.append(miss_kind(e, predicted))
    if talking_frames is not None:
        marked = {int(f) for f in talking_frames}
        labelled = {f for a, b in clip.talking for f in range(a, b + 1)}
        score.talk_frames_hit = len(marked & labelled)
        score.talk_frames_extra = len(marked - labelled)
        score.talk_frames_missed = len(labelled - marked)
    return score


def miss_kind(event: LabelledEvent, predicted: Sequence[PredictedEvent]) -> str:
    """How a missed labelled ``event`` was missed (one of :data:`MISS_KINDS`): "unseen" when no
    prediction overlaps it, else "too_long" or "too_short" by the length of the prediction that
    overlaps it with the highest IoU (a tie in length counts as too short)."""
    truth = Interval("v", event.onset, event.offset)

    def iou(p: PredictedEvent) -> float:
        return interval_iou(Interval("v", p.onset, p.offset), truth)

    best = max(predicted, key=iou, default=None)
    if best is None or iou(best) == 0.0:
        return "unseen"
    return "too_long" if best.offset - best.onset > event.offset - event.onset else "too_short"
