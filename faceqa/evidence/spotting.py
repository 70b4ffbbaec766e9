"""Spotting expression intervals in AU-activity curves: onset, apex, offset; micro vs macro.

The spotting signal is, per frame, the strongest activity of any expression AU (talking and
blink AUs 25, 26 and 45 left out), each AU's own median over the segment subtracted first, with
frames of fast head rotation (over ``max_head_speed_dps``, measured across 0.1 s) zeroed, lip
AUs ignored while the mouth oscillates as in speech and lid AUs while the eyes blink. The noise
level is the signal's resting level plus ``noise_k`` times its frame-to-frame noise (see
:func:`noise_level`).

Peaks above ``threshold`` and above the noise level become events. Each extends left and right
while the signal stays above the noise level plus ``edge`` times the peak's excess over it
(hysteresis), then on down the slope while the signal keeps falling and stays above ``foot``
times that excess, so onset and offset land where the rise began and the fall ended; apex is the
peak. Events closer than ``merge_gap_s`` merge; events shorter than ``min_duration_s`` are
dropped. Events whose total duration is at most 0.5 s are micro-expressions (MEGC's
convention), longer ones macro.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from faceqa.evidence.au_activity import AU_MOTIONS, DISTRACTOR_AUS

MICRO_MAX_S = 0.5
MOUTH_AUS = frozenset({10, 12, 14, 15, 17, 20, 24})
LID_AUS = frozenset({5, 6, 7})
"""AUs whose regions a blink moves; ignored in frames where AU45 (blink) is active."""


@dataclass
class ActiveAU:
    """An AU active in an event: number, side ("L", "R" or "both") and activity at the apex."""

    au: int
    side: str
    score: float


@dataclass
class Event:
    """One spotted expression interval (frames are the source's own frame indices)."""

    onset: int
    apex: int
    offset: int
    onset_s: float
    apex_s: float
    offset_s: float
    kind: str  # "micro" | "macro"
    peak: float
    aus: list[ActiveAU] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Seconds from onset to offset."""
        return self.offset_s - self.onset_s

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class SpotConfig:
    """Spotting parameters (see the module docstring)."""

    threshold: float = 0.45
    edge: float = 0.3
    foot: float = 0.1
    min_duration_s: float = 0.15
    merge_gap_s: float = 0.1
    au_threshold: float = 0.3
    au_relative: float = 0.4
    bilateral_ratio: float = 0.5
    max_head_speed_dps: float = 60.0
    noise_k: float = 4.0
    talk_window_s: float = 1.0
    talk_min_cycles: int = 3


DEFAULT_CONFIG = SpotConfig()


def spotting_signal(activity: np.ndarray, fps: float, pose: np.ndarray | None = None,
                    config: SpotConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Per-frame spotting signal from activities (T, 2*n_aus) and optional pose (T, 3) degrees."""
    aus = [m.au for m in AU_MOTIONS]
    talking = talking_mask(activity, fps, config)
    j45 = [m.au for m in AU_MOTIONS].index(45)
    blinking = np.nanmax(activity[:, 2 * j45:2 * j45 + 2], axis=1) > 0.5
    cols = []
    for j, au in enumerate(aus):
        if au in DISTRACTOR_AUS:
            continue
        a = np.maximum(activity[:, 2 * j], activity[:, 2 * j + 1])
        if au in MOUTH_AUS:
            a = np.where(talking, 0.0, a)
        if au in LID_AUS:
            a = np.where(blinking, 0.0, a)
        cols.append(a)
    if cols:
        stacked = np.nan_to_num(np.stack(cols, axis=1))
        signal = np.clip(stacked - np.median(stacked, axis=0), 0.0, None).max(axis=1)
    else:
        signal = np.zeros(len(activity))
    lag = max(1, int(round(0.1 * fps)))
    if pose is not None and len(pose) > lag:
        p = np.nan_to_num(pose)
        speed = np.abs(p[lag:] - p[:-lag]).max(axis=1) * fps / lag
        speed = np.r_[np.zeros(lag), speed]
        signal = np.where(speed > config.max_head_speed_dps, 0.0, signal)
    return signal


def noise_level(signal: np.ndarray, k: float) -> float:
    """The signal's resting level (10th percentile) plus ``k`` times its frame-to-frame noise.

    The noise is the robust standard deviation (1.4826 MAD) of the first differences over sqrt(2):
    jitter, unlike expressions, changes from one frame to the next, so this holds however much of
    the video is expressive.
    """
    if len(signal) < 3:
        return 0.0
    d = np.diff(signal)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2)
    return float(np.percentile(signal, 10)) + k * sigma


def talking_mask(activity: np.ndarray, fps: float, config: SpotConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Frames inside speech-like mouth motion: AU25/26 crossing 0.3 at least ``talk_min_cycles`` times
    within ``talk_window_s``."""
    idx = {m.au: j for j, m in enumerate(AU_MOTIONS)}
    mouth = np.max(np.stack([activity[:, 2 * idx[a]] for a in (25, 26)], axis=1), axis=1)
    up = np.flatnonzero(np.diff((mouth > 0.3).astype(np.int8)) == 1)
    mask = np.zeros(len(activity), bool)
    win = max(1, int(round(config.talk_window_s * fps)))
    for i, start in enumerate(up):
        j = np.searchsorted(up, start + win)
        if j - i >= config.talk_min_cycles:
            mask[max(0, start - win // 2): min(len(mask), up[j - 1] + win)] = True
    return mask


def spot(activity: np.ndarray, frames: np.ndarray, times: np.ndarray, fps: float,
         pose: np.ndarray | None = None, config: SpotConfig = DEFAULT_CONFIG) -> list[Event]:
    """Spot events in one face's activity curves; ``frames``/``times`` label the rows."""
    signal = spotting_signal(activity, fps, pose, config)
    return events_from_signal(signal, activity, frames, times, fps, config)


def events_from_signal(signal: np.ndarray, activity: np.ndarray, frames: np.ndarray, times: np.ndarray,
                       fps: float, config: SpotConfig = DEFAULT_CONFIG) -> list[Event]:
    """Hysteresis peak picking on a spotting signal, then AU read-out at each apex."""
    n = len(signal)
    floor = noise_level(signal, config.noise_k)
    high = max(config.threshold, floor)
    intervals = []
    i = 0
    while i < n:
        if signal[i] < high:
            i += 1
            continue
        j = i
        while j + 1 < n and signal[j + 1] >= high:
            j += 1
        apex = i + int(np.argmax(signal[i:j + 1]))
        low = floor + config.edge * (signal[apex] - floor)
        a, b = apex, apex
        while a > 0 and signal[a - 1] >= low:
            a -= 1
        while b + 1 < n and signal[b + 1] >= low:
            b += 1
        foot = floor + config.foot * (signal[apex] - floor)
        while a > 0 and foot < signal[a - 1] < signal[a]:  # down the slope to where the rise began
            a -= 1
        while b + 1 < n and foot < signal[b + 1] < signal[b]:
            b += 1
        intervals.append([a, apex, b])
        i = b + 1
    merged: list[list[int]] = []
    gap = config.merge_gap_s * fps
    for iv in intervals:
        if merged and iv[0] - merged[-1][2] <= gap:
            prev = merged[-1]
            prev[1] = prev[1] if signal[prev[1]] >= signal[iv[1]] else iv[1]
            prev[2] = iv[2]
        else:
            merged.append(iv)
    events = []
    for a, apex, b in merged:
        dur = times[b] - times[a]
        if dur + 1.0 / fps < config.min_duration_s:
            continue
        events.append(Event(int(frames[a]), int(frames[apex]), int(frames[b]), float(times[a]),
                             float(times[apex]), float(times[b]),
                             "micro" if dur <= MICRO_MAX_S else "macro", float(signal[apex]),
                             active_aus(activity[apex], config)))
    return events


def side_of(left: float, right: float, bilateral_ratio: float = 0.5) -> str:
    """"both" when the weaker side reaches ``bilateral_ratio`` of the stronger, else "L" or "R"."""
    top = max(left, right)
    if top <= 0 or min(left, right) >= bilateral_ratio * top:
        return "both"
    return "L" if left > right else "R"


def active_aus(row: np.ndarray, config: SpotConfig = DEFAULT_CONFIG, include_distractors: bool = False,
               ) -> list[ActiveAU]:
    """AUs active in one row (2*n_aus,) of AU strengths, strongest first, with their side.

    An AU is active when its strength reaches ``au_threshold`` and ``au_relative`` times the
    strongest AU's (so in a strong expression only the AUs that carry it are listed); strengths may
    exceed 1 (see :func:`~faceqa.evidence.au_activity.au_activity` with ``saturate=False``), the
    reported score is capped at 1. Talking/blink AUs (25, 26, 45) are left out unless asked for.
    """
    cands = []
    for j, m in enumerate(AU_MOTIONS):
        if m.au in DISTRACTOR_AUS and not include_distractors:
            continue
        left, right = float(row[2 * j]), float(row[2 * j + 1])
        cands.append((max(left, right), m.au, side_of(left, right, config.bilateral_ratio)))
    strongest = max((c[0] for c in cands), default=0.0)
    out = [ActiveAU(au, side, round(min(1.0, top), 4)) for top, au, side in cands
           if top >= config.au_threshold and top >= config.au_relative * strongest]
    return sorted(out, key=lambda a: (-a.score, a.au))


def events_dataframe(events: list[Event]):
    """Events as a pandas DataFrame: onset/apex/offset (frame and s), kind, peak, aus ("12R+6")."""
    import pandas as pd

    rows = []
    for e in events:
        d = e.to_dict()
        d["aus"] = "+".join(f"{a.side if a.side in ('L', 'R') else ''}{a.au}" for a in e.aus)
        d["duration_s"] = round(e.duration_s, 4)
        rows.append(d)
    cols = ["onset", "apex", "offset", "onset_s", "apex_s", "offset_s", "duration_s", "kind", "peak", "aus"]
    return pd.DataFrame(rows, columns=cols)
