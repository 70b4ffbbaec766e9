"""What a synthetic clip contains: events (AUs with onset/apex/offset), distractors, and its
ground truth as JSON (written beside every clip, read back with :func:`spec_from_truth`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from faceqa.synth.actions import FACS_LEVELS

MICRO_MAX_S = 0.5
"""An event lasting at most this long (onset to offset) is a micro-expression."""


@dataclass
class InjectedAU:
    """An AU in a synthetic event: FACS number, side ("L", "R" or "both"; the SUBJECT's side,
    so "R" is on the image's left) and intensity in [0, 1] where 1.0 = FACS E (maximum)."""

    au: int
    side: str = "both"
    intensity: float = 1.0


@dataclass
class InjectedEvent:
    """One expression: frames of onset, apex and offset, and its AUs.

    The level rises from 0 at ``onset`` to 1 at ``apex`` (raised cosine), stays at 1 for ``hold``
    frames (a held, posed expression), and falls back to 0 at ``offset``. ``role`` is
    ``"expression"`` for the event a spotter should find, ``"posed"`` for a held macro expression
    that other events may ride on (it is in the truth as its own event).
    """

    onset: int
    apex: int
    offset: int
    aus: list[InjectedAU]
    hold: int = 0
    role: str = "expression"

    def __post_init__(self):
        self.aus = [a if isinstance(a, InjectedAU) else InjectedAU(**a) for a in self.aus]
        if not self.onset <= self.apex <= self.apex + self.hold <= self.offset:
            raise ValueError(f"need onset <= apex <= apex + hold <= offset, got {self.onset}, {self.apex}, "
                             f"{self.hold}, {self.offset}")

    def kind(self, fps: float) -> str:
        """"micro" when onset-to-offset lasts at most 0.5 s, else "macro"."""
        return "micro" if (self.offset - self.onset) / fps <= MICRO_MAX_S else "macro"

    def level(self, frame: int) -> float:
        """Intensity profile in [0, 1] at ``frame``."""
        if frame <= self.onset or frame >= self.offset:
            return 0.0
        if frame <= self.apex:
            x = (frame - self.onset) / max(1, self.apex - self.onset)
            return 0.5 - 0.5 * math.cos(math.pi * x)
        release = self.apex + self.hold
        if frame <= release:
            return 1.0
        x = (frame - release) / max(1, self.offset - release)
        return 0.5 + 0.5 * math.cos(math.pi * x)


@dataclass
class Distractors:
    """Motion that is not the expression to spot; any of it may overlap the events.

    Attributes:
        head_shift_px, head_rotation_deg: amplitudes of a slow head sway (translation, in-plane roll).
        head_scale: amplitude of a slow zoom sway (fraction, 0.02 = 2%).
        head_yaw_deg, head_pitch_deg: amplitudes of a slow turn/nod sway (perspective warp).
        head_turns: ``(start, end, yaw_deg, pitch_deg)`` look-aways: the head turns out and back.
        blinks: start frames of blinks (AU45), each ``blink_frames`` long (0: 0.15 s).
        talking: ``(start, end)`` frames (inclusive) of speech: jaw and lips at ``talking_hz``
            syllables per second, irregular, scaled by ``talking_amplitude``.
    """

    head_shift_px: float = 0.0
    head_rotation_deg: float = 0.0
    blinks: list[int] = field(default_factory=list)
    blink_frames: int = 0
    talking: tuple[int, int] | None = None
    talking_hz: float = 4.0
    head_scale: float = 0.0
    head_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    head_turns: list[tuple[int, int, float, float]] = field(default_factory=list)
    talking_amplitude: float = 1.0

    def __post_init__(self):
        if self.talking is not None:
            self.talking = (int(self.talking[0]), int(self.talking[1]))
        self.head_turns = [tuple(t) for t in self.head_turns]

    def blink_length(self, fps: float) -> int:
        """Frames per blink."""
        return self.blink_frames or max(2, round(0.15 * fps))


@dataclass
class ClipSpec:
    """Everything that defines one synthetic clip."""

    n_frames: int
    fps: float
    events: list[InjectedEvent]
    distractors: Distractors = field(default_factory=Distractors)
    seed: int = 0


def distractor_spans(spec: ClipSpec) -> dict[str, list[list[int]]]:
    """Frame spans (inclusive) of each kind of distractor and of posed expressions."""
    d = spec.distractors
    n = d.blink_length(spec.fps)
    return {
        "blinks": [[b, b + n - 1] for b in d.blinks],
        "talking": [list(d.talking)] if d.talking else [],
        "head_turns": [[int(t[0]), int(t[1])] for t in d.head_turns],
        "posed": [[e.onset, e.offset] for e in spec.events if e.role == "posed"],
    }


def ground_truth(spec: ClipSpec) -> dict:
    """The clip's ground truth as a JSON-ready dict: events with their kind and times in seconds,
    the distractors, and the frame spans of each distractor."""
    events = []
    for ev in spec.events:
        d = asdict(ev)
        d.update(kind=ev.kind(spec.fps), onset_s=ev.onset / spec.fps, apex_s=ev.apex / spec.fps,
                 offset_s=ev.offset / spec.fps)
        events.append(d)
    return {"fps": spec.fps, "n_frames": spec.n_frames, "seed": spec.seed, "events": events,
            "distractors": asdict(spec.distractors), "spans": distractor_spans(spec),
            "intensity_scale": {"max": "FACS E = 1.0", **FACS_LEVELS}}


def spec_from_truth(truth: dict) -> ClipSpec:
    """The :class:`ClipSpec` back from a ground-truth dict (as written by ``make_clip``)."""
    keys = set(InjectedEvent.__dataclass_fields__)
    events = [InjectedEvent(**{k: v for k, v in e.items() if k in keys}) for e in truth["events"]]
    dkeys = set(Distractors.__dataclass_fields__)
    dist = Distractors(**{k: v for k, v in truth.get("distractors", {}).items() if k in dkeys})
    return ClipSpec(int(truth["n_frames"]), float(truth["fps"]), events, dist, int(truth.get("seed", 0)))
