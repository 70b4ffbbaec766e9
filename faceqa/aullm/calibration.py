"""Label-prior calibration of the LLM's class choices ("calibrate before use").

A model fine-tuned on imbalanced labels leans towards the frequent classes: on the shipped bundle's
training clips it gives "negative" 64% of the coarse probability and "contempt" almost none. MEGC
scores classes by unweighted F1 and recall, where every class counts the same, so the class answers
divide that habit out. For each label set (``role``: ``"fine"``, ``"coarse"``) the bundle stores
the LLM's mean probability of each label over a sample of training clips, p̄(y) (each choice's
option scores softmaxed over its own options), and the decoder picks

    argmax_y  log p(y | clip, question) - strength * log p̄(y)

(``strength`` 1 is the rule that maximises expected unweighted recall when p̄ is the model's class
prior; 0 turns calibration off). p̄ is floored at :data:`FLOOR` so that a label the model never
says is not forced on every clip. The file is ``calibration.json`` in the bundle; bundles without it
decode uncalibrated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from faceqa.errors import InvalidInputError

FILE = "calibration.json"
FORMAT = "faceqa.choice_calibration/1"
FLOOR = 0.01
"""Smallest mean probability a label's prior is taken as."""
CLASS_KINDS = ("coarse", "fine")
"""Question kinds asked of training clips to measure the priors."""


def label_priors(trace: Iterable[dict]) -> dict[str, dict[str, float]]:
    """Role -> label -> mean probability of that label where it was offered, from a decoder trace.

    Each trace entry is ``{"role", "labels", "scores"}`` (raw option log-probabilities), as
    :class:`~faceqa.aullm.decoding.Decoder` records them.
    """
    sums: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, int]] = {}
    for entry in trace:
        scores = np.asarray(entry["scores"], dtype=np.float64)
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        role = entry["role"]
        for label, p in zip(entry["labels"], probs, strict=True):
            sums.setdefault(role, {})[label] = sums.get(role, {}).get(label, 0.0) + float(p)
            counts.setdefault(role, {})[label] = counts.get(role, {}).get(label, 0) + 1
    return {role: {label: round(s / counts[role][label], 5) for label, s in per.items()}
            for role, per in sums.items()}


def offsets(priors: dict[str, dict[str, float]], strength: float = 1.0) -> dict[str, dict[str, float]]:
    """The decoder's per-option offsets: ``strength * log(max(prior, FLOOR))``."""
    if strength < 0:
        raise InvalidInputError(f"calibration strength must be >= 0, got {strength}")
    return {role: {label: strength * math.log(max(float(p), FLOOR)) for label, p in per.items()}
            for role, per in priors.items()}


def save_calibration(folder: str | Path, priors: dict, strength: float, fitted_on: str) -> Path:
    """Write ``calibration.json`` into a bundle folder."""
    path = Path(folder) / FILE
    path.write_text(json.dumps({"format": FORMAT, "strength": strength, "floor": FLOOR, "fitted_on": fitted_on,
                                "priors": priors}, indent=2) + "\n")
    return path


def load_calibration(folder: str | Path) -> dict[str, dict[str, float]]:
    """The decoder offsets of a bundle (empty when it has no ``calibration.json``)."""
    path = Path(folder) / FILE
    if not path.is_file():
        return {}
    try:
        saved = json.loads(path.read_text())
        if saved.get("format") != FORMAT:
            raise InvalidInputError(f"{path}: format {saved.get('format')!r}, expected {FORMAT!r}")
        return offsets(saved["priors"], float(saved["strength"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{path}: not a calibration file ({exc})") from exc


def measure_priors(answerer, clips, deductions=None, progress: bool = True) -> dict[str, dict[str, float]]:
    """The label priors of ``answerer``'s LLM over the class questions of ``clips`` (AU-label evidence).

    Each clip is answered as the held-out evaluation answers it, uncalibrated, with the deduction
    model ``deductions.for_clip(clip)`` gives (a training clip's out-of-fold model) when given.
    """
    from tqdm.auto import tqdm

    from faceqa.aullm.answerer import dataset_key
    from faceqa.megc.media import DATASET_CONVENTION
    from faceqa.qa.facts import facts_from_labels
    from faceqa.train.evaluate import clip_rng
    from faceqa.train.examples import qa_examples

    decoder = answerer.model.decoder()
    saved, decoder.calibration, decoder.trace = decoder.calibration, {}, []
    try:
        for clip in tqdm(clips, desc="calibration", unit="clip", disable=not progress, leave=False):
            questions = [e.question for e in qa_examples(clip, clip_rng(0, clip)) if e.kind in CLASS_KINDS]
            if not questions:
                continue
            ds = dataset_key(clip.dataset)
            model = deductions.for_clip(clip) if deductions is not None else None
            facts = facts_from_labels(list(clip.aus), clip=clip.clip, convention=DATASET_CONVENTION.get(ds or ""),
                                      model=model)
            answerer.answer_features(answerer.features(facts, None), facts, questions, ds, model)
        trace = decoder.trace
    finally:
        decoder.calibration, decoder.trace = saved, None
    if not trace:
        raise InvalidInputError("no class question among the calibration clips")
    return label_priors(trace)
