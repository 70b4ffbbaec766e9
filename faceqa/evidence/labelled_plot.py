"""Pictures of spotting scored against the hand labels (``scripts/evaluate_real_events.py --plot``):
one clip (the AU intensities, the labelled and the spotted events, and talking as labelled and as
detected, on one frame axis), and a sweep of one spotting parameter (the trade-off it moves along,
with the acceptance targets marked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceqa.evidence.au_intensity import INTENSITY_AUS
from faceqa.evidence.labelled_events import TARGETS, ClipScore, LabelledClip, PredictedEvent
from faceqa.evidence.plot import intensity_axis, save_figure
from faceqa.evidence.talking import spans

ROWS = ("labelled", "spotted", "talking (labelled)", "talking (detected)")
"""The lanes under the curves, top to bottom."""


def outcome(score: ClipScore, event: PredictedEvent) -> str:
    """"hit", "false" or "don't care" for a spotted event scored in ``score``."""
    if any(p is event for _, p, _ in score.matched):
        return "hit"
    if any(p is event for p in score.false):
        return "false"
    return "don't care"


def _chosen_aus(table, clip: LabelledClip, predicted: list[PredictedEvent], top: int) -> list[int]:
    named = {au for e in clip.events for au in e.aus} | {au for p in predicted for au in p.aus}
    ranked = sorted(((au in named, float(np.nan_to_num(table[[f"au_{au}_L", f"au_{au}_R"]].to_numpy()).max(
        initial=0.0)), au) for au in INTENSITY_AUS if au != 45), reverse=True)
    return [au for *_, au in ranked[:top]]


def plot_labelled_clip(table, clip: LabelledClip, predicted: list[PredictedEvent], score: ClipScore,
                       path: str | Path, top: int = 6) -> Path:
    """Save a PNG of ``clip`` scored: the ``top`` AUs' intensity (the stronger side; AUs named in the
    labels or the spotted events first, then by peak), and lanes for the labelled events (green;
    pale when uncertain), the spotted ones (blue hit, red false, grey don't care) and talking as
    labelled and as the evidence pass detected it (``table``: the evidence table, with ``frame``,
    ``talking`` and ``au_*`` columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from faceqa.facs.units import au_by_number

    frames = table["frame"].to_numpy()
    fig, (ax, lanes) = plt.subplots(2, 1, figsize=(13, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    colors = plt.get_cmap("tab10")
    for i, au in enumerate(_chosen_aus(table, clip, predicted, top)):
        both = np.fmax(table[f"au_{au}_L"].to_numpy(float), table[f"au_{au}_R"].to_numpy(float))
        ax.plot(frames, both, color=colors(i), lw=1.1, label=f"AU{au} {au_by_number(au).name}")
    intensity_axis(ax)
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    lane = {name: len(ROWS) - 1 - k for k, name in enumerate(ROWS)}

    def bar(row: str, a: int, b: int, color: str, alpha: float = 0.8) -> None:
        lanes.broken_barh([(a, b - a + 1)], (lane[row] - 0.35, 0.7), facecolor=color, alpha=alpha,
                          edgecolor="white", lw=0.8)

    for e in clip.events:
        bar("labelled", e.onset, e.offset, "tab:green", 0.35 if e.uncertain else 0.85)
        ax.axvspan(e.onset, e.offset, color="tab:green", alpha=0.06 if e.uncertain else 0.12, lw=0)
    shades = {"hit": "tab:blue", "false": "tab:red", "don't care": "grey"}
    for p in predicted:
        bar("spotted", p.onset, p.offset, shades[outcome(score, p)], 0.7)
    for a, b in clip.talking:
        bar("talking (labelled)", a, b, "dimgrey", 0.6)
    for a, b in spans(table["talking"].to_numpy(bool)):
        bar("talking (detected)", int(frames[a]), int(frames[b]), "dimgrey", 0.6)
    lanes.set_yticks([lane[r] for r in ROWS], ROWS, fontsize=8)
    lanes.set_ylim(-0.6, len(ROWS) - 0.4)
    lanes.set_xlabel("frame (0-based decoded index); spotted: blue hit, red false, grey don't care; "
                     "labelled: pale = uncertain")
    s = score.summary()
    ax.set_title(f"{clip.name} ({clip.split}): P {s['precision']:.2f} R {s['recall']:.2f} F1 {s['f1']:.2f}, "
                 f"{s['hits']} hit(s), {s['false']} false, {s['missed']} missed", fontsize=10)
    ax.set_xlim(0, max(clip.n_frames, int(frames.max(initial=0)) + 1))
    return save_figure(fig, path)


def plot_sweep(name: str, rows: list[dict], path: str | Path) -> Path:
    """Save a PNG of a sweep of the spotting parameter ``name``: per split, precision against recall
    and false events per minute of talking against recall, one point per value (labelled with it; of
    values that land on one point, the first names it),
    with the region that meets :data:`~faceqa.evidence.labelled_events.TARGETS` shaded. ``rows``: one
    dict per value, ``{"value": v, split: overall summary, ...}`` (a split's summary as
    :func:`~faceqa.evidence.labelled_events.overall_summary` gives it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = [k for k in rows[0] if k != "value"] if rows else []
    fig, (pr, fr) = plt.subplots(1, 2, figsize=(12, 5))
    top_rate = max([TARGETS["false_per_talking_min"] * 2] + [r[s]["false_per_talking_min"] or 0.0
                                                              for r in rows for s in splits])
    for ax, low, high in ((pr, TARGETS["precision"], 1.0), (fr, 0.0, TARGETS["false_per_talking_min"])):
        ax.add_patch(plt.Rectangle((TARGETS["recall"], low), 1 - TARGETS["recall"], high - low,
                                   color="tab:green", alpha=0.15, lw=0))
    for k, split in enumerate(splits):
        color = plt.get_cmap("tab10")(k)
        recall = [r[split]["recall"] for r in rows]
        for ax, y in ((pr, [r[split]["precision"] for r in rows]),
                      (fr, [r[split]["false_per_talking_min"] for r in rows])):
            ax.plot(recall, y, "o-", color=color, label=split)
            named: set[tuple[float, float]] = set()
            for x, v, value in zip(recall, y, (r["value"] for r in rows), strict=True):
                if v is not None and (x, v) not in named:  # values that land on one point: the first names it
                    named.add((x, v))
                    ax.annotate(f"{value:g}", (x, v), textcoords="offset points", xytext=(4, 4), fontsize=7)
    pr.set(xlim=(0, 1), ylim=(0, 1), xlabel="recall (IoU >= 0.5)", ylabel="precision")
    fr.set(xlim=(0, 1), ylim=(0, top_rate * 1.1), xlabel="recall (IoU >= 0.5)",
           ylabel="false events per minute of talking")
    for ax in (pr, fr):
        ax.grid(alpha=0.3)
        if splits:
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"spotting parameter {name}: each point one value; green = the acceptance targets", fontsize=10)
    return save_figure(fig, path)
