"""Timeline plot: AU intensity curves (FACS 0-5 scale) with the spotted events and talking shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError
from faceqa.evidence.au_intensity import INTENSITY_AUS
from faceqa.evidence.talking import spans
from faceqa.safeio import atomic_output, check_output, display


def check_plot_path(path: str | Path) -> Path:
    """``path`` if a plot can be saved there (a format matplotlib writes, a regular file in an existing folder)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = check_output(path, overwrite=True, what="plot")
    kinds = FigureCanvasAgg.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in kinds:
        raise InvalidInputError(f"{display(path)}: a plot is saved as {', '.join('.' + k for k in sorted(kinds))}")
    return path


def intensity_axis(ax) -> None:
    """Label a matplotlib axis with the FACS A-E intensity scale (0-5), with light horizontal grid lines."""
    ax.set_yticks([0, 1, 2, 3, 4, 5], ["0", "1 A", "2 B", "3 C", "4 D", "5 E"])
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylabel("AU intensity (FACS A-E)")


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """Lay out and save a matplotlib figure at ``path`` (checked by :func:`check_plot_path`, written
    atomically), then close it, saved or not."""
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        path = check_plot_path(path)
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
    return path


def plot_timeline(evidence, path: str | Path, top: int = 6, title: str | None = None) -> Path:
    """Save a PNG of the ``top`` AUs (those named in events first, then by mean intensity; both sides)
    on the A-E intensity scale, and the spotting signal, with the events shaded (red micro, blue
    macro) and the talking spans marked (grey)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from faceqa.facs.units import au_by_number

    t = evidence.table
    time = t["time_s"].to_numpy()
    in_events = {a.au for e in evidence.events for a in e.aus}
    ranked = []
    for au in INTENSITY_AUS:
        both = np.nan_to_num(t[[f"au_{au}_L", f"au_{au}_R"]].to_numpy())
        ranked.append((au in in_events, float(both.mean()) if len(both) else 0.0, -au))
    chosen = [-au for *_, au in sorted(ranked, reverse=True)[:top]]
    fig, (ax, ax_sig) = plt.subplots(2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    colors = plt.get_cmap("tab10")
    for i, au in enumerate(chosen):
        name = au_by_number(au).name
        ax.plot(time, t[f"au_{au}_L"], color=colors(i), lw=1.4, label=f"AU{au} {name} (L)")
        ax.plot(time, t[f"au_{au}_R"], color=colors(i), lw=1.0, ls="--", label=f"AU{au} (R)")
    ax_sig.plot(time, t["signal"], color="black", lw=1.0, label="spotting signal")
    talking = t["talking"].to_numpy(bool)
    for a, b in spans(talking):
        for axis in (ax, ax_sig):
            axis.axvspan(time[a], time[b], color="grey", alpha=0.12, lw=0)
    for e in evidence.events:
        color = "tab:red" if e.kind == "micro" else "tab:blue"
        for a in (ax, ax_sig):
            a.axvspan(e.onset_s, e.offset_s, color=color, alpha=0.15)
        ax.axvline(e.apex_s, color=color, lw=0.8, alpha=0.6)
        label = "+".join(f"{a.side if a.side in ('L', 'R') else ''}{a.au}{a.letter}" for a in e.aus[:4])
        ax.text(e.apex_s, 5.55, f"{e.kind} {label}", fontsize=7, ha="center", va="bottom", color=color)
    top_value = max(5.5, float(np.nanmax(t[[f"au_{au}_{s}" for au in chosen for s in "LR"]].to_numpy(),
                                         initial=0.0)) + 0.3)
    ax.set_ylim(0, top_value + 0.6)
    intensity_axis(ax)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax_sig.set_xlabel("time (s)" + ("; grey: talking" if talking.any() else ""))
    ax_sig.legend(fontsize=7, loc="upper left")
    ax.set_title(title or f"{Path(evidence.info.path).name}: {len(evidence.events)} event(s) "
                          "(red: micro, blue: macro)", fontsize=10)
    return save_figure(fig, path, dpi=110)
