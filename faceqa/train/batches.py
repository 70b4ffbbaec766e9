"""Turning training examples into model batches: evidence features, AU targets, counterfactuals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceqa.aullm.ccr import counterfactual_aus, mask_features
from faceqa.aullm.features import MEASURED, EvidenceFeatures, collate, features_from_labels
from faceqa.train.examples import QAExample

FeatureFn = Callable[[QAExample, np.random.Generator], EvidenceFeatures]


@dataclass
class Batch:
    """Model inputs for one optimisation step."""

    features: EvidenceFeatures
    questions: list[str]
    answers: list[str]
    au_targets: torch.Tensor
    counterfactual: EvidenceFeatures | None = None
    counterfactual_targets: torch.Tensor | None = None
    ccr_mask: torch.Tensor | None = None

    def model_kwargs(self) -> dict:
        """Keyword arguments for :meth:`faceqa.aullm.model.AULLM.forward`."""
        return {"feats": self.features, "questions": self.questions, "answers": self.answers,
                "au_targets": self.au_targets, "counterfactual": self.counterfactual,
                "counterfactual_targets": self.counterfactual_targets, "ccr_mask": self.ccr_mask}


def au_targets(aus, node_aus: tuple[int, ...]) -> torch.Tensor:
    """Multi-hot (N,) over the graph's AU nodes."""
    present = {a.number for a in aus}
    return torch.tensor([float(a in present) for a in node_aus])


def annotation_features(node_aus: tuple[int, ...]) -> FeatureFn:
    """Annotation-evidence mode: features synthesised from each clip's AU labels, fresh every call."""
    return lambda ex, rng: features_from_labels(list(ex.clip.aus), node_aus, rng)


def media_features(root: str | Path, node_aus: tuple[int, ...], fps: float | None = None,
                   crops: bool = False) -> FeatureFn:
    """Media mode: features from each clip's video evidence (onset..offset), computed once and cached;
    ``crops`` keeps the aligned face crops for a vision encoder."""
    from faceqa.aullm.features import features_from_evidence
    from faceqa.evidence.extract import extract_evidence
    from faceqa.megc.media import find_media
    from faceqa.perception import FacePipeline

    root = Path(root)
    pipe = FacePipeline(emotion=None, quality=False)
    cache: dict[tuple[str, str], EvidenceFeatures] = {}

    def features(ex: QAExample, rng: np.random.Generator) -> EvidenceFeatures:
        key = (ex.clip.dataset, ex.clip.clip)
        if key not in cache:
            ref = find_media(root, ex.clip)
            ev = extract_evidence(ref.path, fps=fps, start=ref.start, end=ref.end, mode="clip", pipeline=pipe,
                                  keep_faces=crops)
            cache[key] = features_from_evidence(ev, node_aus)
        return cache[key]

    return features


def _contradicted(ex: QAExample, removed: int | None) -> bool:
    """Does removing AU ``removed`` from the evidence contradict this example's answer?"""
    if removed is None or removed not in MEASURED:
        return False
    if ex.kind in ("aus", "compound"):
        return True
    return ex.kind in ("present", "side") and ex.about_au == removed


def make_batch(examples: list[QAExample], node_aus: tuple[int, ...], rng: np.random.Generator,
               features: FeatureFn, counterfactuals: bool, synthesise: bool = True) -> Batch:
    """One batch; with ``counterfactuals`` each clip also gets a changed-AU twin: its evidence rebuilt from
    the changed labels (``synthesise``, annotation mode) or its measured evidence with the removed AU
    masked out (media mode)."""
    feats = [features(ex, rng) for ex in examples]
    batch = Batch(collate(feats), [e.question for e in examples], [e.answer for e in examples],
                  torch.stack([au_targets(e.clip.aus, node_aus) for e in examples]))
    if counterfactuals:
        twins, targets, mask = [], [], []
        for ex in examples:
            changed, removed = counterfactual_aus(list(ex.clip.aus), MEASURED, rng)
            if synthesise:
                twins.append(features_from_labels(changed, node_aus, rng))
            else:
                changed = [a for a in ex.clip.aus if a.number != removed]
                twins.append(mask_features(features(ex, rng), removed, node_aus))
            targets.append(au_targets(changed, node_aus))
            mask.append(float(_contradicted(ex, removed)))
        batch.counterfactual = collate(twins)
        batch.counterfactual_targets = torch.stack(targets)
        batch.ccr_mask = torch.tensor(mask)
    return batch
