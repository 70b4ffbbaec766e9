"""Synthetic expression clips from a real face: chosen AUs with onset/apex/offset, intensity and
side, optionally with head motion, blinks and talking as distractors; written as a video with its
ground truth (JSON).

The face's mesh is found once on the source image; each frame warps the image by the AU
displacement field scaled by the event's intensity profile (raised-cosine rise from onset to apex
and fall to offset), then applies the head motion to the whole frame.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceqa.media.writer import write_frames
from faceqa.synth.au_warps import AU_WARPS, displacement_field

EXPRESSION_AUS = (1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 20)
"""AUs the random generator injects as expressions (25/26/45 are kept for distractors)."""
MIDLINE_AUS = frozenset(au for au, warps in AU_WARPS.items() if all(w[1] is None for w in warps))
"""AUs that move only midline regions (chin, lip centres): they have no side."""


@dataclass
class InjectedAU:
    """An AU in a synthetic event: number, side ("L", "R" or "both") and intensity (0..1]."""

    au: int
    side: str = "both"
    intensity: float = 1.0


@dataclass
class InjectedEvent:
    """One synthetic expression: frames of onset, apex and offset, and its AUs."""

    onset: int
    apex: int
    offset: int
    aus: list[InjectedAU]

    def kind(self, fps: float) -> str:
        """"micro" when onset-to-offset lasts at most 0.5 s, else "macro"."""
        return "micro" if (self.offset - self.onset) / fps <= 0.5 else "macro"

    def level(self, frame: int) -> float:
        """Intensity profile in [0, 1] at ``frame``."""
        if frame <= self.onset or frame >= self.offset:
            return 0.0
        if frame <= self.apex:
            x = (frame - self.onset) / max(1, self.apex - self.onset)
            return 0.5 - 0.5 * math.cos(math.pi * x)
        x = (frame - self.apex) / max(1, self.offset - self.apex)
        return 0.5 + 0.5 * math.cos(math.pi * x)


@dataclass
class Distractors:
    """Motion that is not an expression: head sway (pixels/degrees), blinks (frames), talking span."""

    head_shift_px: float = 0.0
    head_rotation_deg: float = 0.0
    blinks: list[int] = field(default_factory=list)
    blink_frames: int = 0
    talking: tuple[int, int] | None = None
    talking_hz: float = 4.0


@dataclass
class ClipSpec:
    """Everything that defines one synthetic clip."""

    n_frames: int
    fps: float
    events: list[InjectedEvent]
    distractors: Distractors = field(default_factory=Distractors)
    seed: int = 0


def _head_motion(spec: ClipSpec, frame: int, centre: tuple[float, float]) -> np.ndarray | None:
    d = spec.distractors
    if not (d.head_shift_px or d.head_rotation_deg):
        return None
    t = frame / spec.fps
    phase = spec.seed * 0.7
    dx = d.head_shift_px * math.sin(2 * math.pi * 0.4 * t + phase)
    dy = 0.5 * d.head_shift_px * math.sin(2 * math.pi * 0.27 * t + 2 * phase)
    ang = d.head_rotation_deg * math.sin(2 * math.pi * 0.33 * t + 3 * phase)
    m = cv2.getRotationMatrix2D(centre, ang, 1.0)
    m[:, 2] += (dx, dy)
    return m


def _distractor_aus(spec: ClipSpec, frame: int) -> list[tuple[int, str, float]]:
    d = spec.distractors
    out = []
    for b in d.blinks:
        half = max(1, d.blink_frames // 2)
        if abs(frame - (b + half)) < half:
            out.append((45, "both", 1.0 - abs(frame - (b + half)) / half))
    if d.talking and d.talking[0] <= frame <= d.talking[1]:
        t = (frame - d.talking[0]) / spec.fps
        out.append((26, "both", 0.35 * (0.5 - 0.5 * math.cos(2 * math.pi * d.talking_hz * t))))
        out.append((25, "both", 0.6 * (0.5 - 0.5 * math.cos(2 * math.pi * d.talking_hz * t))))
    return out


def render_frames(image: np.ndarray, landmarks: np.ndarray, spec: ClipSpec):
    """Yield the clip's RGB frames one by one."""
    h, w = image.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    unit = {}
    for ev in spec.events:
        for a in ev.aus:
            unit[(a.au, a.side)] = displacement_field(landmarks, (h, w), [(a.au, a.side, 1.0)])
    centre = tuple(float(v) for v in landmarks[:468, :2].mean(0))
    for f in range(spec.n_frames):
        field_ = np.zeros((h, w, 2), np.float32)
        for ev in spec.events:
            lvl = ev.level(f)
            if lvl > 0:
                for a in ev.aus:
                    field_ += unit[(a.au, a.side)] * (lvl * a.intensity)
        extra = _distractor_aus(spec, f)
        if extra:
            field_ += displacement_field(landmarks, (h, w), extra)
        frame = image
        if field_.any():
            frame = cv2.remap(image, gx - field_[..., 0], gy - field_[..., 1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
        m = _head_motion(spec, f, centre)
        if m is not None:
            frame = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        yield frame


def ground_truth(spec: ClipSpec) -> dict:
    """The clip's ground truth as a JSON-ready dict (events with kind and seconds, distractors)."""
    events = []
    for ev in spec.events:
        d = asdict(ev)
        d.update(kind=ev.kind(spec.fps), onset_s=ev.onset / spec.fps, apex_s=ev.apex / spec.fps,
                 offset_s=ev.offset / spec.fps)
        events.append(d)
    return {"fps": spec.fps, "n_frames": spec.n_frames, "seed": spec.seed, "events": events,
            "distractors": asdict(spec.distractors)}


def make_clip(source, spec: ClipSpec, out: str | Path, landmarks: np.ndarray | None = None) -> dict:
    """Write a synthetic clip made from a real face image, and its ground truth as JSON.

    Args:
        source: image path or RGB array with one clearly visible face.
        spec: events and distractors.
        out: a folder (frames ``img00000.jpg`` ... as the micro-expression datasets ship them,
            JPEG quality 95, truth in ``truth.json``), a ``.avi`` (lossless FFV1) or a ``.mp4``
            (mp4v; its compression noise is ~0.01 IOD of apparent motion), truth in ``<out>.json``.
        landmarks: the face's mesh (found with the perception pipeline when not given).
    Returns the ground-truth dict (also written beside the clip).
    """
    from faceqa.media import read_image
    from faceqa.perception.detection import largest_face
    from faceqa.perception.mesh import FaceMesh, roi_from_detection

    image = read_image(source) if not isinstance(source, np.ndarray) else source
    if landmarks is None:
        landmarks = FaceMesh()(image, roi_from_detection(largest_face(image, name=str(source)[:80]))).landmarks
    for ev in spec.events:
        for a in ev.aus:
            if a.au not in AU_WARPS:
                raise ValueError(f"no synthetic warp for AU{a.au}")
    out = Path(out)
    write_frames(render_frames(image, landmarks, spec), out, spec.fps)
    truth = ground_truth(spec)
    truth_path = out / "truth.json" if out.suffix == "" else out.with_suffix(".json")
    truth_path.write_text(json.dumps(truth, indent=2))
    return truth


def random_clip_spec(seed: int, fps: float = 30.0, duration_s: float = 3.0, distractors: bool = True,
                     micro: bool | None = None) -> ClipSpec:
    """A random one-event clip: an expression AU (random side, intensity 0.7-1, micro or macro),
    with, when ``distractors``, head sway, a blink, and in about 40% of clips 0.8 s of talking
    (jaw and lips at 4 Hz) where there is room away from the event."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fps))
    is_micro = bool(rng.integers(2)) if micro is None else micro
    dur = rng.uniform(0.25, 0.45) if is_micro else rng.uniform(0.7, 1.4)
    length = max(4, int(round(dur * fps)))
    onset = int(rng.integers(int(0.8 * fps), n - length - int(0.3 * fps)))
    apex = onset + int(round(length * rng.uniform(0.35, 0.55)))
    au = int(rng.choice(EXPRESSION_AUS))
    side = "both" if au in MIDLINE_AUS else str(rng.choice(["L", "R", "both"]))
    event = InjectedEvent(onset, apex, onset + length, [InjectedAU(au, side, float(rng.uniform(0.7, 1.0)))])
    dist = Distractors()
    if distractors:
        dist.head_shift_px = float(rng.uniform(2, 6))
        dist.head_rotation_deg = float(rng.uniform(0.5, 2.0))
        blink_len = max(2, int(round(0.15 * fps)))
        free = [f for f in range(int(0.2 * fps), n - blink_len) if f + blink_len < onset - 3 or f > event.offset + 3]
        dist.blinks = [int(rng.choice(free))] if free else []
        dist.blink_frames = blink_len
        talk_len = int(round(0.8 * fps))
        gap = int(0.3 * fps)
        room = [s for s in (0, event.offset + gap) if s + talk_len < (onset - gap if s == 0 else n)]
        if room and rng.random() < 0.4:
            start = int(room[int(rng.integers(len(room)))])
            dist.talking = (start, start + talk_len)
    return ClipSpec(n, fps, [event], dist, seed)
