"""Synthetic expression clips from one real face photo, with exact ground truth.

The face's mesh is found once; its anatomy places the muscle model (``faceqa.synth.actions``);
each frame sums the AU amounts of the events (level x intensity), blinks and speech, warps the
face by the muscle field, then moves the whole frame by the head motion. Unit fields are cached
per face, so a 90-frame clip renders in well under a second.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceqa.media.writer import write_frames
from faceqa.synth.actions import BILATERAL_ONLY, check_au
from faceqa.synth.anatomy import anatomy_from_mesh
from faceqa.synth.head import apply_head, head_matrix, head_pose_at
from faceqa.synth.spec import ClipSpec, Distractors, InjectedAU, InjectedEvent, ground_truth
from faceqa.synth.talking import talking_track
from faceqa.synth.warp import FaceWarper

EXPRESSION_AUS = (1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 20)
"""AUs the random generator injects as the expression to spot, by default (``aus=`` widens it:
the generator also makes 5, 23, 24, 25, 26, 27, 43 and 45)."""
SYMMETRIC_AUS = frozenset({9, 17, 23, 24}) | BILATERAL_ONLY
"""AUs the random generator always injects on both sides."""
POSED = (((6, 0.5), (12, 0.7)), ((1, 0.6), (2, 0.6), (5, 0.3)), ((4, 0.5), (7, 0.4)), ((12, 0.5),),
         ((15, 0.5), (17, 0.4)), ((10, 0.4), (9, 0.3)))
"""Posed (held) expressions: smile, surprise brows, frown, polite smile, sad mouth, disgust."""

_WARPERS: OrderedDict[tuple, FaceWarper] = OrderedDict()
_MESHES: OrderedDict[str, np.ndarray] = OrderedDict()


def face_warper(image: np.ndarray, landmarks: np.ndarray) -> FaceWarper:
    """A :class:`FaceWarper` for this face, shared across clips (small LRU cache)."""
    key = (hashlib.sha1(np.ascontiguousarray(landmarks[:468, :2], np.float32).tobytes()).hexdigest(),
           image.shape[:2])
    if key in _WARPERS:
        _WARPERS.move_to_end(key)
        return _WARPERS[key]
    w = FaceWarper(anatomy_from_mesh(landmarks), image.shape)
    _WARPERS[key] = w
    while len(_WARPERS) > 4:
        _WARPERS.popitem(last=False)
    return w


def find_landmarks(image: np.ndarray, name: str = "image") -> np.ndarray:
    """The largest face's 468-point mesh (cached per image content)."""
    from faceqa.perception.detection import largest_face
    from faceqa.perception.mesh import roi_from_detection

    key = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
    if key not in _MESHES:
        mesh = _mesh_model()
        _MESHES[key] = mesh(image, roi_from_detection(largest_face(image, name=name[:80]))).landmarks
        while len(_MESHES) > 16:
            _MESHES.popitem(last=False)
    return _MESHES[key]


_MESH = None


def _mesh_model():
    global _MESH
    if _MESH is None:
        from faceqa.perception.mesh import FaceMesh

        _MESH = FaceMesh()
    return _MESH


def frame_amounts(spec: ClipSpec, frame: int, talk: dict | None = None) -> dict[tuple[int, str], float]:
    """{(au, side): intensity} at ``frame``: events, blinks and (given its track) speech, summed."""
    out: dict[tuple[int, str], float] = {}

    def add(key, k):
        if k > 0:
            out[key] = out.get(key, 0.0) + k

    for ev in spec.events:
        lvl = ev.level(frame)
        if lvl > 0:
            for a in ev.aus:
                add((a.au, a.side), lvl * a.intensity)
    d = spec.distractors
    n = d.blink_length(spec.fps)
    for b in d.blinks:
        if b <= frame < b + n:
            x = (frame - b + 0.5) / n
            close = 0.35  # fast closing, slower opening
            lvl = np.sin(0.5 * np.pi * x / close) if x < close else np.cos(0.5 * np.pi * (x - close) / (1 - close))
            add((45, "both"), float(lvl) ** 0.7)
    if talk is not None and d.talking and d.talking[0] <= frame <= d.talking[1]:
        for key, track in talk.items():
            add(key, float(track[frame - d.talking[0]]))
    lids = [k for k in out if k[0] in (43, 45)]
    per_eye = {s: sum(out[k] for k in lids if k[1] in (s, "both")) for s in ("R", "L")}
    if max(per_eye.values()) > 1.0:  # a lid cannot close further than shut
        for key in lids:
            del out[key]
        for s, closed in per_eye.items():
            if closed > 0:
                out[(45, s)] = min(1.0, closed)
    return out


def _talk(spec: ClipSpec) -> dict | None:
    d = spec.distractors
    if not d.talking:
        return None
    return talking_track(d.talking[1] - d.talking[0] + 1, spec.fps, d.talking_hz, d.talking_amplitude,
                         seed=spec.seed + 7919)


def render_frames(image: np.ndarray, landmarks: np.ndarray, spec: ClipSpec) -> Iterator[np.ndarray]:
    """Yield the clip's RGB frames one by one."""
    warper = face_warper(image, landmarks)
    a = warper.anatomy
    talk = _talk(spec)
    h, w = image.shape[:2]
    centre = tuple(float(v) for v in landmarks[:468, :2].mean(0))
    axes = np.column_stack([a.ex, a.ey])
    for f in range(spec.n_frames):
        amounts = frame_amounts(spec, f, talk)
        pose = head_pose_at(spec.distractors, f, spec.fps, spec.seed)
        for axis in ("yaw", "pitch"):
            if abs(pose[axis]) > 0.05:
                amounts[(axis, "both")] = pose[axis]
        frame = warper.warp(image, amounts)
        m = head_matrix(spec.distractors, f, spec.fps, spec.seed, centre, (h, w), a.iod, axes)
        yield apply_head(frame, m)


def check_spec(spec: ClipSpec) -> None:
    """Raise ValueError for an AU, side or intensity the generator cannot make."""
    for ev in spec.events:
        for a in ev.aus:
            check_au(a.au, a.side)
            if not 0.0 <= a.intensity <= 1.0:
                raise ValueError(f"AU{a.au}: intensity must be in [0, 1] (1.0 = FACS E), got {a.intensity}")


def write_truth(truth: dict, out: Path) -> Path:
    """Write a truth dict beside a clip: ``<folder>/truth.json`` or ``<out>.json``."""
    path = out / "truth.json" if out.suffix == "" else out.with_suffix(".json")
    path.write_text(json.dumps(truth, indent=2))
    return path


def make_clip(source, spec: ClipSpec, out: str | Path, landmarks: np.ndarray | None = None) -> dict:
    """Write a synthetic clip made from a real face image, and its ground truth as JSON.

    Args:
        source: image path or RGB array with one clearly visible face (the largest is used).
        spec: events and distractors (intensities: 1.0 = FACS E).
        out: a folder (frames ``img00000.jpg`` ... as the micro-expression datasets ship them,
            JPEG quality 95, truth in ``truth.json``), a ``.avi`` (lossless FFV1) or a ``.mp4``
            (mp4v; its compression noise is ~0.01 IOD of apparent motion), truth in ``<out>.json``.
        landmarks: the face's mesh (found with the perception models when not given).
    Returns the ground-truth dict (also written beside the clip).
    """
    from faceqa.media import read_image

    image = read_image(source) if not isinstance(source, np.ndarray) else np.ascontiguousarray(source)
    check_spec(spec)
    if landmarks is None:
        landmarks = find_landmarks(image, name=str(source) if not isinstance(source, np.ndarray) else "image")
    out = Path(out)
    write_frames(render_frames(image, landmarks, spec), out, spec.fps)
    truth = ground_truth(spec)
    if not isinstance(source, np.ndarray):
        truth["source"] = str(source)
    write_truth(truth, out)
    return truth


def _span(rng: np.random.Generator, n: int, length: int, event: tuple[int, int], overlap: bool, lo: int = 0
          ) -> tuple[int, int] | None:
    """A span of ``length`` frames in [lo, n) that overlaps ``event`` (``overlap``) or keeps clear
    of it by 2 frames; None when there is no room."""
    starts = np.arange(lo, n - length + 1)
    hits = (starts <= event[1]) & (starts + length - 1 >= event[0])
    clear = (starts + length - 1 < event[0] - 2) | (starts > event[1] + 2)
    ok = starts[hits if overlap else clear]
    if len(ok) == 0:
        return None
    start = int(rng.choice(ok))
    return start, start + length - 1


def random_clip_spec(seed: int, fps: float = 30.0, duration_s: float = 3.0, distractors: bool = True,
                     micro: bool | None = None, overlap: float = 0.5, posed: float = 0.2,
                     talking: float = 0.4, turns: float = 0.25, aus: tuple[int, ...] = EXPRESSION_AUS) -> ClipSpec:
    """A random clip with one expression event to spot (``events[0]``), seeded.

    The event is one AU drawn from ``aus`` (random side unless symmetric), micro (0.25-0.45 s, FACS A-C: intensity
    0.15-0.5) or macro (0.7-1.4 s, B-D: 0.3-0.75). With ``distractors``: head sway (shift, roll,
    zoom, small turns and nods) always; one or two blinks; in a share ``talking`` of clips a speech
    span; in a share ``turns`` a look-away (8-20 degrees of yaw); in a share ``posed`` a held posed
    expression (``events[1]``, role "posed", macro) on which the event rides. The first blink, the
    speech span and the look-away each overlap the event with probability ``overlap`` and keep clear
    of it otherwise (where the clip has room).
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fps))
    is_micro = bool(rng.integers(2)) if micro is None else micro
    dur = rng.uniform(0.25, 0.45) if is_micro else rng.uniform(0.7, 1.4)
    length = max(4, int(round(dur * fps)))
    latest = n - length - max(1, int(0.3 * fps))
    if latest < 1:
        raise ValueError(f"a {duration_s} s clip is too short for a {length / fps:.2f} s event")
    onset = int(rng.integers(min(int(0.8 * fps), latest), latest + 1))
    apex = onset + max(1, int(round(length * rng.uniform(0.35, 0.55))))
    au = int(rng.choice(aus))
    side = "both" if au in SYMMETRIC_AUS else str(rng.choice(["L", "R", "both"]))
    intensity = float(rng.uniform(0.15, 0.5) if is_micro else rng.uniform(0.3, 0.75))
    event = InjectedEvent(onset, apex, onset + length, [InjectedAU(au, side, round(intensity, 3))])
    events = [event]
    dist = Distractors()
    if distractors:
        ev_span = (event.onset, event.offset)
        dist.head_shift_px = float(rng.uniform(2, 6))
        dist.head_rotation_deg = float(rng.uniform(0.5, 2.0))
        dist.head_scale = float(rng.uniform(0.0, 0.02))
        dist.head_yaw_deg = float(rng.uniform(0.0, 4.0))
        dist.head_pitch_deg = float(rng.uniform(0.0, 3.0))
        dist.blink_frames = max(2, int(round(rng.uniform(0.1, 0.25) * fps)))
        for k in range(int(rng.integers(1, 3))):  # the first blink may fall inside the event
            span = _span(rng, n, dist.blink_frames, ev_span, k == 0 and rng.random() < overlap, int(0.1 * fps))
            if span and all(abs(span[0] - b) > 2 * dist.blink_frames for b in dist.blinks):
                dist.blinks.append(span[0])
        dist.blinks.sort()
        if rng.random() < talking:
            span = _span(rng, n, int(round(rng.uniform(0.8, 2.0) * fps)), ev_span, rng.random() < overlap)
            if span:
                dist.talking = span
                dist.talking_hz = float(rng.uniform(3.0, 6.0))
                dist.talking_amplitude = float(rng.uniform(0.6, 1.2))
        if rng.random() < turns:
            span = _span(rng, n, int(round(rng.uniform(0.6, 1.5) * fps)), ev_span, rng.random() < overlap)
            if span:
                yaw = float(rng.uniform(8, 20)) * float(rng.choice([-1, 1]))
                dist.head_turns.append((span[0], span[1], yaw, float(rng.uniform(-5, 5))))
        if rng.random() < posed:
            p_on = max(0, event.onset - int(round(rng.uniform(0.3, 0.8) * fps)))
            p_apex = p_on + max(1, int(round(0.3 * fps)))
            p_off = min(n - 1, event.offset + int(round(rng.uniform(0.3, 0.8) * fps)))
            hold = max(0, p_off - int(round(0.3 * fps)) - p_apex)
            if p_apex <= event.onset and p_apex + hold <= p_off:
                aus = POSED[int(rng.integers(len(POSED)))]
                events.append(InjectedEvent(p_on, p_apex, p_off, [InjectedAU(a, "both", k) for a, k in aus],
                                            hold=hold, role="posed"))
    return ClipSpec(n, fps, events, dist, seed)
