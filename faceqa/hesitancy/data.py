"""Training data for the hesitancy model, in the BAH layout faceqa reads (``--data BAH_FORMAT_DIR``).

::

    BAH_FORMAT_DIR/
      labels.csv            columns: video (path relative to the folder), label (0/1 or a class name),
                            optional split (train / val / test; without it a seeded 20 % is held out)
      <the videos>          any format faceqa reads, with their sound
      features/<name>.json  the measured cues, written on first use and reused (delete to re-measure)

The BAH corpus (ABAW 10) ships per-participant videos with video-level ambivalence/hesitancy labels;
write its labels into ``labels.csv`` with the released split, and the videos stay where they are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.hesitancy.cues import MODALITIES, HesitancyCues


@dataclass
class Sample:
    """One labelled video: its cue vectors per modality (None: missing), label index and split."""

    video: str
    vectors: dict[str, np.ndarray | None]
    label: int
    split: str


def cues_from_dict(d: dict) -> HesitancyCues:
    """A :class:`HesitancyCues` back from its :meth:`~HesitancyCues.to_dict`."""
    return HesitancyCues(d["path"], d["duration_s"], d.get("face"), d.get("speech"), d.get("text"),
                         d.get("conflict"), d.get("transcript", ""), d.get("timing_s", {}))


def load_bah(folder: str | os.PathLike, measure=None, seed: int = 0) -> tuple[list[Sample], list[str]]:
    """Read ``labels.csv`` and each video's cues (measured with ``measure`` (default
    :func:`~faceqa.hesitancy.cues.hesitancy_cues`) and cached under ``features/``); returns the samples
    and the class names (sorted label values)."""
    import pandas as pd

    from faceqa.errors import InvalidInputError, MediaNotFoundError
    from faceqa.hesitancy.cues import hesitancy_cues

    root = Path(folder)
    labels_csv = root / "labels.csv"
    if not labels_csv.is_file():
        raise MediaNotFoundError(f"{root}: no labels.csv (columns video, label[, split]) in the BAH folder")
    table = pd.read_csv(labels_csv)
    missing = {"video", "label"} - set(table.columns)
    if missing:
        raise InvalidInputError(f"{labels_csv}: missing column(s) {', '.join(sorted(missing))}")
    if table.empty:
        raise InvalidInputError(f"{labels_csv}: no rows")
    classes = sorted(str(v) for v in table["label"].unique())
    if len(classes) < 2:
        raise InvalidInputError(f"{labels_csv}: needs at least two classes, found {classes}")
    if "split" not in table.columns:
        rng = np.random.default_rng(seed)
        table["split"] = np.where(rng.random(len(table)) < 0.2, "val", "train")
    cache = root / "features"
    cache.mkdir(exist_ok=True)
    measure = measure or hesitancy_cues
    samples = []
    for row in table.itertuples(index=False):
        video = root / str(row.video)
        cached = cache / (Path(str(row.video)).as_posix().replace("/", "__") + ".json")
        if cached.is_file():
            cues = cues_from_dict(json.loads(cached.read_text()))
        else:
            if not video.exists():
                raise MediaNotFoundError(f"{video}: listed in {labels_csv} but not found")
            cues = measure(video)
            cached.write_text(json.dumps(cues.to_dict()))
        samples.append(Sample(str(row.video), cues.vectors(), classes.index(str(row.label)), str(row.split)))
    return samples, classes


def dims_of(samples: list[Sample]) -> dict[str, int]:
    """Input width of each modality present in at least one sample."""
    dims = {}
    for m in MODALITIES:
        widths = {len(s.vectors[m]) for s in samples if s.vectors.get(m) is not None}
        if len(widths) > 1:
            from faceqa.errors import InvalidInputError

            raise InvalidInputError(f"modality {m!r} has different widths across videos: {sorted(widths)}")
        if widths:
            dims[m] = widths.pop()
    return dims
