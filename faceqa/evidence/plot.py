"""Timeline plot: AU activity curves over time with the spotted intervals shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceqa.evidence.au_activity import AU_MOTIONS


def plot_timeline(evidence, path: str | Path, top: int = 6, title: str | None = None) -> Path:
    """Save a PNG of the ``top`` AUs (those named in events first, then by mean activity; both sides)
    and the spotting signal, with the events shaded (red micro, blue macro)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from faceqa.evidence.facs import au_by_number

    t = evidence.table
    time = t["time_s"].to_numpy()
    in_events = {a.au for e in evidence.events for a in e.aus}
    ranked = []
    for m in AU_MOTIONS:
        both = np.nan_to_num(t[[f"au_{m.au}_L", f"au_{m.au}_R"]].to_numpy())
        ranked.append((m.au in in_events, float(both.mean()) if len(both) else 0.0, -m.au))
    chosen = [-au for *_, au in sorted(ranked, reverse=True)[:top]]
    fig, (ax, ax_sig) = plt.subplots(2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    colors = plt.get_cmap("tab10")
    for i, au in enumerate(chosen):
        name = au_by_number(au).name
        ax.plot(time, t[f"au_{au}_L"], color=colors(i), lw=1.4, label=f"AU{au} {name} (L)")
        ax.plot(time, t[f"au_{au}_R"], color=colors(i), lw=1.0, ls="--", label=f"AU{au} (R)")
    ax_sig.plot(time, t["signal"], color="black", lw=1.0, label="spotting signal")
    for e in evidence.events:
        color = "tab:red" if e.kind == "micro" else "tab:blue"
        for a in (ax, ax_sig):
            a.axvspan(e.onset_s, e.offset_s, color=color, alpha=0.15)
        ax.axvline(e.apex_s, color=color, lw=0.8, alpha=0.6)
        label = "+".join(f"{a.side if a.side in ('L', 'R') else ''}{a.au}" for a in e.aus[:4])
        ax.text(e.apex_s, 1.02, f"{e.kind} {label}", fontsize=7, ha="center", va="bottom", color=color)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("AU activity")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax_sig.set_xlabel("time (s)")
    ax_sig.legend(fontsize=7, loc="upper left")
    ax.set_title(title or f"{Path(evidence.info.path).name}: {len(evidence.events)} event(s) "
                          "(red: micro, blue: macro)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
