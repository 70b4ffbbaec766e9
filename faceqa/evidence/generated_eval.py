"""How the evidence pass does on clips from the independent generator (:mod:`faceqa.synth`).

Used by the tests and by ``benchmarks/evidence.py``: random clips are generated on one face, the
evidence pass runs on each, and the spotted events are matched to every event of the truth (MEGC
rule, IoU >= 0.5); the AU read-out is checked on the event to spot (``events[0]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.megc.metrics import Interval, SpottingResult, spotting_scores


@dataclass(frozen=True)
class GeneratedScores:
    """Spotting scores over the clips, and the shares of clips whose injected AU is among the two strongest
    read in its interval (``au_top2``) and whose side is read right (``side``)."""

    clips: int
    spotting: SpottingResult
    au_top2: float
    side: float

    def summary(self) -> dict:
        """The figures as a flat dict (rounded)."""
        o = self.spotting.overall
        return {"clips": self.clips, "f1": round(o.f1, 3), "precision": round(o.precision, 3),
                "recall": round(o.recall, 3), "au_top2": round(self.au_top2, 3), "side": round(self.side, 3)}


def score_generated_clips(face: np.ndarray, seeds: Iterable[int], folder: str | Path, pipeline=None,
                          distractors: bool = True, fps_of: Callable[[int], float] = lambda seed: 30.0,
                          duration_s: float = 3.0) -> GeneratedScores:
    """Generate ``random_clip_spec(seed)`` clips of ``face`` (RGB) into ``folder`` and score the evidence pass.

    ``fps_of(seed)`` gives each clip's frame rate; ``pipeline`` is reused for every clip.
    """
    from faceqa.evidence.extract import extract_evidence
    from faceqa.synth import make_clip, random_clip_spec

    predicted, truth = [], []
    top2 = side_ok = n = 0
    for seed in seeds:
        fps = fps_of(seed)
        spec = random_clip_spec(seed, fps=fps, duration_s=duration_s, distractors=distractors)
        clip = Path(folder) / f"clip{seed}"
        make_clip(face, spec, clip)
        ev = extract_evidence(clip, fps=fps, pipeline=pipeline, progress=False)
        truth.extend(Interval(str(seed), g.onset, g.offset, g.kind(fps)) for g in spec.events)
        predicted.extend(Interval(str(seed), e.onset, e.offset, e.kind) for e in ev.events)
        target = spec.events[0]
        injected = target.aus[0]
        summary = ev.au_summary(target.onset, target.offset)
        top2 += injected.au in list(summary["au"][:2])
        side_ok += summary.set_index("au").loc[injected.au, "side"] == injected.side
        n += 1
    return GeneratedScores(n, spotting_scores(predicted, truth), top2 / max(n, 1), side_ok / max(n, 1))
