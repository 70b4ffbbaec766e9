"""Spotting expression intervals in AU-intensity curves: onset, apex, offset; micro vs macro.

Input: per-frame AU intensities on the 0-5 FACS scale (:mod:`~faceqa.evidence.au_intensity`),
relative to the person's neutral reference, and the talking spans
(:mod:`~faceqa.evidence.talking`). The spotting signal is, per frame, the strongest intensity of
any AU that makes an expression:

- blinks (AU45) never do, and the lid AUs (5, 6, 7) are ignored while the eyes blink;
- while the person talks, of the mouth only the lip-corner puller (12: a smile held through
  speech) counts, read from its sustained part (a rolling low percentile, ``talk_percentile`` over
  ``talk_smooth_s``: speech keeps returning the lips to rest between syllables, a held smile does
  not) and ``talk_factor`` times weaker; every other mouth movement there is speech; upper-face
  AUs count as always; outside talking a jaw drop is an expression like any other;
- frames of fast head rotation (over ``max_head_speed_dps``, measured across 0.1 s,
  :func:`fast_head`) are not read: their values are interpolated from the frames on either side,
  so a held expression is not cut into pieces when finding intervals; the configuration split below
  still sees them as unread (zero), so outside talking a quick head movement ends a configuration
  (in a chain of posed faces it is where one face gives way to the next).

Each AU's signal gives intervals: peaks above ``threshold`` (and above the signal's own noise
floor), each extended left and right while the signal stays above the floor plus ``edge`` times the
peak's excess over it (hysteresis), then on down the slope while the signal keeps falling and stays
above ``foot`` times that excess, so onset and offset land where the rise began and the fall ended;
intervals closer than ``merge_gap_s`` merge. Intervals of different AUs that overlap by
``group_iou`` or more group into one. Each run of overlapping groups is then read as the
expressions it holds (:mod:`~faceqa.evidence.configurations`: an exact piecewise-constant fit of
the face's measured shape in noise units, ``split_penalty`` per piece of at least ``split_min_s``,
neighbouring pieces joined while their shapes point the same way, cosine at least
``split_similar``), so a grin turning straight into a frown gives two events; a run during which
the person mostly talks is one event (speech keeps moving the face, so neither a change of
configuration nor a dip between overlapping intervals there is evidence of a new expression); with
``talk_strict`` above 0, such a run gives instead only the groups of its brow-raise and smile
intervals (:data:`TALK_RUN_AUS`), each as an event, and none when it has none: fewer false events
in speech, some expressions spoken through lost (figures in ``benchmarks/REAL_EVENTS.md``).
Events shorter than ``min_duration_s`` are dropped; events never overlap.
An event lasting at most 0.5 s is a micro-expression (MEGC's convention), a longer one macro; both
are found in every mode, and an expression that fills most of a clip is one event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from faceqa.evidence.au_intensity import INTENSITY_AUS, MOUTH_AUS, letter
from faceqa.evidence.configurations import split_configurations
from faceqa.facs.units import au_by_number

if TYPE_CHECKING:
    from faceqa.facs.deduction import Deduction

MICRO_MAX_S = 0.5
TALK_AUS = frozenset({12})
"""The mouth AU that can start an event while the person talks: a smile held through speech; every
other mouth movement there is taken as speech."""
TALK_RUN_AUS = frozenset({1, 2, 12})
"""With ``talk_strict``, the AUs whose intervals are still events inside a run the person talks
through: the brow raises and the smile, the expressions read best through speech."""
LID_AUS = frozenset({5, 6, 7})
"""AUs whose measures a blink moves; ignored in frames where the eyes blink."""
EMOTION_RELATIVE = 0.5
"""The AUs that carry an expression (and that an emotion is deduced from) reach this share of the
strongest AU's intensity."""


@dataclass
class ActiveAU:
    """An AU read in an interval: number, side ("L", "R" or "both"), confidence (0..1) and intensity (0-5)."""

    au: int
    side: str
    score: float
    intensity: float = 0.0

    @property
    def letter(self) -> str:
        """FACS intensity letter (A..E)."""
        return letter(self.intensity)


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
    talking: bool = False

    @property
    def duration_s(self) -> float:
        """Seconds from onset to offset."""
        return self.offset_s - self.onset_s

    def to_dict(self, emotion: Deduction | None = None, digits: int | None = None) -> dict[str, Any]:
        """The one JSON form of an event, which the CLI, the agent tools and :func:`events_dataframe` use.

        Keys: onset, apex, offset (frames), onset_s, apex_s, offset_s, duration_s, kind, peak,
        talking, aus (each: au, name, side, score, intensity, letter) and, when ``emotion`` (the
        deduction from the event's AUs) is given, emotion (fine, coarse). ``digits`` rounds the
        seconds and intensities.
        """
        def num(value: float) -> float:
            return float(value) if digits is None else round(float(value), digits)

        d: dict[str, Any] = {
            "onset": int(self.onset), "apex": int(self.apex), "offset": int(self.offset),
            "onset_s": num(self.onset_s), "apex_s": num(self.apex_s), "offset_s": num(self.offset_s),
            "duration_s": num(self.duration_s), "kind": self.kind, "peak": num(self.peak),
            "talking": bool(self.talking),
            "aus": [{"au": a.au, "name": au_by_number(a.au).name, "side": a.side, "score": float(a.score),
                     "intensity": num(a.intensity), "letter": a.letter} for a in self.aus]}
        if emotion is not None:
            d["emotion"] = {"fine": emotion.fine, "coarse": emotion.coarse}
        return d


@dataclass(frozen=True)
class SpotConfig:
    """Spotting and AU read-out parameters (see the module docstring); intensities on the 0-5 scale."""

    threshold: float = 2.0
    edge: float = 0.5
    foot: float = 0.1
    min_duration_s: float = 0.15
    merge_gap_s: float = 0.2
    noise_k: float = 4.0
    au_threshold: float = 1.0
    au_relative: float = 0.35
    bilateral_ratio: float = 0.5
    blink_threshold: float = 2.0
    max_head_speed_dps: float = 60.0
    talk_smooth_s: float = 0.8
    talk_percentile: float = 20.0
    talk_factor: float = 1.5
    group_iou: float = 0.3
    split_penalty: float = 1000.0
    split_similar: float = 0.6
    split_min_s: float = 0.1
    talk_strict: float = 0.0


DEFAULT_CONFIG = SpotConfig()


def spot_config(values: Mapping[str, Any], base: SpotConfig = DEFAULT_CONFIG) -> SpotConfig:
    """``base`` with the named parameters replaced (``{"split_penalty": 500}``); an unknown name or a
    value that is not a finite number >= 0 is refused with an error naming it."""
    from faceqa.errors import InvalidInputError

    names = [f.name for f in fields(SpotConfig)]
    for name, value in values.items():
        if name not in names:
            raise InvalidInputError(f"unknown spotting parameter {name!r}; known: {', '.join(names)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"spotting parameter {name}={value!r}: expected a finite number >= 0")
    return replace(base, **{name: float(value) for name, value in values.items()})


def despiked(rows: np.ndarray) -> np.ndarray:
    """Per-frame values (T, n) with NaN as 0 and single-frame spikes taken out (a 3-frame median)."""
    from scipy.ndimage import median_filter

    rows = np.nan_to_num(rows)
    return median_filter(rows, size=(3, 1), mode="nearest") if len(rows) >= 3 else rows


def talked_through(talking: np.ndarray, start: int, stop: int) -> bool:
    """Whether the person talks during most of rows [start, stop] of a talking mask."""
    return bool(np.asarray(talking, bool)[start:stop + 1].mean() > 0.5)


def _rolling_low(x: np.ndarray, width: int, percentile: float) -> np.ndarray:
    from scipy.ndimage import percentile_filter

    return percentile_filter(x, percentile, size=(max(1, width) | 1, 1), mode="nearest")


def au_signals(intensity: np.ndarray, fps: float, pose: np.ndarray | None = None,
               talking: np.ndarray | None = None, config: SpotConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Per-frame, per-AU spotting signals (T, n_aus) in :data:`INTENSITY_AUS` order (column of AU45 all 0).

    From intensities (T, 2*n_aus) (the larger side), with the optional pose (T, 3) degrees and
    talking mask (T,) applied as the module docstring says.
    """
    n = len(intensity)
    per_au = np.nan_to_num(np.maximum(intensity[:, 0::2], intensity[:, 1::2]))  # (T, n_aus)
    blinking = per_au[:, INTENSITY_AUS.index(45)] >= config.blink_threshold
    talk = np.zeros(n, bool) if talking is None else np.asarray(talking, bool)
    mouth = [j for j, au in enumerate(INTENSITY_AUS) if au in MOUTH_AUS]
    slow = _rolling_low(per_au[:, mouth], int(round(config.talk_smooth_s * fps)), config.talk_percentile)
    slow /= config.talk_factor
    out = np.zeros_like(per_au)
    for j, au in enumerate(INTENSITY_AUS):
        if au == 45:
            continue
        a = per_au[:, j]
        if au in LID_AUS:
            a = np.where(blinking, 0.0, a)
        if au in MOUTH_AUS:
            a = np.where(talk, slow[:, mouth.index(j)] if au in TALK_AUS else 0.0, a)
        out[:, j] = a
    fast = np.zeros(n, bool) if pose is None else fast_head(pose, fps, config.max_head_speed_dps)
    if fast.any():
        steady = np.flatnonzero(~fast)
        if not len(steady):
            return np.zeros_like(out)
        for j in range(out.shape[1]):
            out[fast, j] = np.interp(np.flatnonzero(fast), steady, out[steady, j])
    return out


def fast_head(pose: np.ndarray, fps: float, max_speed_dps: float) -> np.ndarray:
    """Boolean (T,) mask of the frames where the head (pose (T, 3), degrees) turns faster than
    ``max_speed_dps``, measured across 0.1 s."""
    lag = max(1, int(round(0.1 * fps)))
    if len(pose) <= lag:
        return np.zeros(len(pose), bool)
    p = np.nan_to_num(np.asarray(pose, np.float64))
    speed = np.abs(p[lag:] - p[:-lag]).max(axis=1) * fps / lag
    return np.r_[np.zeros(lag), speed] > max_speed_dps


def spotting_signal(intensity: np.ndarray, fps: float, pose: np.ndarray | None = None,
                    talking: np.ndarray | None = None, config: SpotConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Per-frame spotting signal: the strongest of :func:`au_signals`."""
    return au_signals(intensity, fps, pose, talking, config).max(axis=1)


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


def intervals_from_signal(signal: np.ndarray, fps: float, config: SpotConfig = DEFAULT_CONFIG,
                          ) -> list[tuple[int, int, int]]:
    """Hysteresis peak picking: (onset, apex, offset) row indices of the events in a spotting signal."""
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
    return [(a, apex, b) for a, apex, b in merged if (b - a + 1) / fps >= config.min_duration_s]


def group_intervals(per_au: list[list[tuple[int, int, int]]], signal: np.ndarray, group_iou: float,
                    ) -> list[tuple[int, int, int]]:
    """Expression events from AU intervals: intervals of different AUs that overlap with IoU >=
    ``group_iou`` (linked in chains) form one event spanning them all; apex is the peak of ``signal``
    in it. A held smile and a frown that starts near its end stay two events; a sad face turning into
    a smile gives two events, not one."""
    items = [(a, b) for ivs in per_au for a, _, b in ivs]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (a1, b1) in enumerate(items):
        for j in range(i + 1, len(items)):
            a2, b2 = items[j]
            inter = min(b1, b2) - max(a1, a2) + 1
            if inter > 0 and inter / (max(b1, b2) - min(a1, a2) + 1) >= group_iou:
                parent[root(i)] = root(j)
    groups: dict[int, list[tuple[int, int]]] = {}
    for i, item in enumerate(items):
        groups.setdefault(root(i), []).append(item)
    out = []
    for members in groups.values():
        a, b = min(m[0] for m in members), max(m[1] for m in members)
        out.append((a, a + int(np.argmax(signal[a:b + 1])), b))
    return sorted(out)


def spot_intervals(signals: np.ndarray, shape: np.ndarray, fps: float, config: SpotConfig = DEFAULT_CONFIG,
                   talking: np.ndarray | None = None, unread: np.ndarray | None = None,
                   ) -> list[tuple[int, int, int]]:
    """(onset, apex, offset) rows of the expression events in per-AU signals (T, n_aus) (:func:`au_signals`).

    Each AU's own intervals (:func:`intervals_from_signal`) are grouped (:func:`group_intervals`);
    each run of overlapping groups is then read as the expressions it holds
    (:func:`~faceqa.evidence.configurations.split_configurations`, fitted to ``shape`` (T, D): the
    face's measured change from its reference in units of each measurement's noise), unless the
    person talks (``talking`` (T,) mask) through most of it: then the whole run is one event, or,
    with ``talk_strict`` above 0, each group of its :data:`TALK_RUN_AUS` intervals is one.
    ``unread`` (T,) marks frames whose readings were bridged (:func:`fast_head`): the split sees them
    as zero.
    """
    min_event = max(1, int(np.ceil(config.min_duration_s * fps - 1e-9)))  # frames
    per_au = [intervals_from_signal(signals[:, j], fps, config) for j in range(signals.shape[1])]
    peak = signals.max(axis=1)

    def grouped(intervals: list[list[tuple[int, int, int]]]) -> list[tuple[int, int, int]]:
        return [g for g in group_intervals(intervals, peak, config.group_iou) if g[2] - g[0] + 1 >= min_event]

    groups = grouped(per_au)
    if config.talk_strict > 0:
        talk_groups = grouped([ivs if au in TALK_RUN_AUS else []
                               for au, ivs in zip(INTENSITY_AUS, per_au, strict=True)])
    x = despiked(np.clip(np.nan_to_num(signals), 0.0, 5.0))
    strongest = x.max(axis=1)
    talk = _frame_mask(talking, len(x), "talking")
    unread = _frame_mask(unread, len(x), "unread")[:, None]
    x = np.where(unread, 0.0, x)
    shape = np.asarray(shape, np.float64)
    if shape.ndim != 2 or len(shape) != len(x):
        raise ValueError(f"shape of shape {shape.shape} for {len(x)} frames of signals")
    shape = np.where(unread, 0.0, despiked(shape))
    min_len = max(1, int(round(config.split_min_s * fps)))
    spans: list[tuple[int, int]] = []
    for s0, s1 in _runs(groups):
        if not talked_through(talk, s0, s1):
            spans += [(s0 + a, s0 + b) for a, b in split_configurations(
                shape[s0:s1 + 1], x[s0:s1 + 1], config.split_penalty, min_len, config.au_threshold,
                config.split_similar, min_event)]
        elif config.talk_strict > 0:  # each group lies inside one run; overlapping ones are one event
            spans += _runs([g for g in talk_groups if s0 <= g[0] <= s1])
        else:
            spans.append((s0, s1))
    return sorted((a, a + int(np.argmax(strongest[a:b + 1])), b) for a, b in spans)


def _frame_mask(mask: np.ndarray | None, n: int, what: str) -> np.ndarray:
    """A per-frame boolean mask of length ``n`` (all False for None); ValueError for another length."""
    out = np.zeros(n, bool) if mask is None else np.asarray(mask, bool)
    if out.shape != (n,):
        raise ValueError(f"{what} mask of shape {out.shape} for {n} frames of signals")
    return out


def _runs(groups: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The inclusive row ranges covered by overlapping or touching groups."""
    runs: list[list[int]] = []
    for a, _, b in sorted(groups):
        if runs and a <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    return [(a, b) for a, b in runs]


def make_event(frames: np.ndarray, times: np.ndarray, a: int, apex: int, b: int, peak: float,
               aus: list[ActiveAU], talking: bool = False) -> Event:
    """An :class:`Event` for rows a..b (apex) of a table with ``frames`` and ``times``."""
    kind = "micro" if times[b] - times[a] <= MICRO_MAX_S else "macro"
    return Event(int(frames[a]), int(frames[apex]), int(frames[b]), float(times[a]), float(times[apex]),
                 float(times[b]), kind, round(float(peak), 4), aus, talking)


def side_of(left: float, right: float, bilateral_ratio: float = 0.5) -> str:
    """"both" when the weaker side reaches ``bilateral_ratio`` of the stronger, else "L" or "R"."""
    top = max(left, right)
    if top <= 0 or min(left, right) >= bilateral_ratio * top:
        return "both"
    return "L" if left > right else "R"


def active_aus(row: np.ndarray, config: SpotConfig = DEFAULT_CONFIG, include_distractors: bool = False,
               talking: bool = False) -> list[ActiveAU]:
    """AUs active in one row (2*n_aus,) of intensities (0-5), strongest first, with their side.

    An AU is active when its intensity reaches ``au_threshold`` and ``au_relative`` times the
    strongest AU's (so in a strong expression only the AUs that carry it are listed). The score is
    the intensity over 5, capped at 1. A blink (45) is left out unless ``include_distractors``; so
    are the mouth AUs that speech moves (all but 12) when the interval is ``talking``.
    """
    skip = set() if include_distractors else {45} | (set(MOUTH_AUS - TALK_AUS) if talking else set())
    cands = []
    for j, au in enumerate(INTENSITY_AUS):
        if au in skip:
            continue
        left, right = float(row[2 * j]), float(row[2 * j + 1])
        cands.append((max(left, right), au, side_of(left, right, config.bilateral_ratio)))
    strongest = max((c[0] for c in cands), default=0.0)
    out = [ActiveAU(au, side, round(min(1.0, top / 5.0), 4), round(top, 3)) for top, au, side in cands
           if top >= config.au_threshold and top >= config.au_relative * strongest]
    return sorted(out, key=lambda a: (-a.intensity, a.au))


def expression_aus(aus: Sequence[ActiveAU]) -> list[int]:
    """The numbers of the AUs that carry an expression: those at least :data:`EMOTION_RELATIVE` of the
    strongest, in the given order. Weaker AUs are still named, but a faint shadow of a strong AU (a
    smile pulling the upper lip a little) does not change the emotion deduced from it."""
    strongest = max((a.intensity for a in aus), default=0.0)
    return [a.au for a in aus if a.intensity >= EMOTION_RELATIVE * strongest]


def events_dataframe(events: list[Event]):
    """Events as a pandas DataFrame: onset/apex/offset (frame and s), kind, peak, aus ("12R+6")."""
    import pandas as pd

    rows = []
    for e in events:
        d = e.to_dict(digits=4)
        d["aus"] = "+".join(f"{a.side if a.side in ('L', 'R') else ''}{a.au}" for a in e.aus)
        rows.append(d)
    cols = ["onset", "apex", "offset", "onset_s", "apex_s", "offset_s", "duration_s", "kind", "peak", "aus", "talking"]
    return pd.DataFrame(rows, columns=cols)
