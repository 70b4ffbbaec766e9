"""Turning training clips into model batches: evidence features, premises, packed questions, counterfactuals.

A step takes a few clips and *all* their MEGC questions (:func:`~faceqa.train.examples.qa_examples`,
or a random subset of ``questions_per_clip``). Per clip:

1. evidence features (synthesised from the AU labels with the oracle channel randomly dropped, or
   computed from its video in media mode);
2. the AU head's probabilities on them (no gradient), and from those the premises text and, for
   the emotion questions, the candidates text (:mod:`faceqa.aullm.premises`), with the clip's
   dataset convention and a deduction model that was not fitted on the clip's subject
   (:class:`Deductions`), so the candidates are as reliable in training as on new subjects;
3. the questions, packed behind one copy of the prefix (:meth:`faceqa.aullm.model.AULLM.packed_nll`).

With counterfactuals (CCR steps), each clip also gets a changed-AU twin (its evidence rebuilt from
the changed labels, or its measured evidence with the removed AU masked out in media mode), whose
premises are written from the twin's evidence, and the answers the change contradicts are scored
under it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from faceqa.aullm.answerer import dataset_key
from faceqa.aullm.ccr import counterfactual_aus, mask_features
from faceqa.aullm.features import MEASURED, EvidenceFeatures, collate, features_from_labels
from faceqa.aullm.premises import EMOTION_KINDS, build_premises
from faceqa.facs.annotations import LabelledExpression
from faceqa.megc.media import DATASET_CONVENTION, DATASET_FPS
from faceqa.train.examples import QAExample, subject_key

FeatureFn = Callable[[QAExample, np.random.Generator], EvidenceFeatures]


@dataclass
class Batch:
    """Model inputs for one optimisation step (see :meth:`faceqa.aullm.model.AULLM.forward`)."""

    features: EvidenceFeatures
    questions: list[str]
    answers: list[str]
    au_targets: torch.Tensor
    groups: list[int] = field(default_factory=list)
    premises: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    counterfactual: EvidenceFeatures | None = None
    counterfactual_targets: torch.Tensor | None = None
    ccr_mask: torch.Tensor | None = None
    counterfactual_premises: list[str] | None = None
    counterfactual_candidates: list[str] | None = None

    def model_kwargs(self) -> dict:
        """Keyword arguments for :meth:`faceqa.aullm.model.AULLM.forward`."""
        return {"feats": self.features, "questions": self.questions, "answers": self.answers,
                "au_targets": self.au_targets, "groups": self.groups or None, "premises": self.premises or None,
                "candidates": self.candidates or None, "counterfactual": self.counterfactual,
                "counterfactual_targets": self.counterfactual_targets, "ccr_mask": self.ccr_mask,
                "counterfactual_premises": self.counterfactual_premises,
                "counterfactual_candidates": self.counterfactual_candidates}


def au_targets(aus, node_aus: tuple[int, ...]) -> torch.Tensor:
    """Multi-hot (N,) over the graph's AU nodes."""
    present = {a.number for a in aus}
    return torch.tensor([float(a in present) for a in node_aus])


def annotation_features(node_aus: tuple[int, ...], oracle_dropout: float = 0.5) -> FeatureFn:
    """Annotation-evidence mode: features synthesised from each clip's AU labels, fresh every call."""
    return lambda ex, rng: features_from_labels(list(ex.clip.aus), node_aus, rng, oracle_dropout)


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


class Deductions:
    """AU -> emotion deduction models fitted on the training subjects only.

    ``heldout``: fitted on every training subject (the deduction the held-out evaluation gives both
    answerers); ``for_clip(clip)``: a model fitted without the clip's subject's fold (``folds``
    groups of training subjects), so a training clip's candidates are as reliable as a new subject's.
    With no data root (or ``folds`` 0) every clip gets the shipped model.
    """

    def __init__(self, data_root: str | Path | None, train_clips: list[LabelledExpression], folds: int = 4,
                 seed: int = 0):
        self.heldout = None
        self.fold_of: dict[str, int] = {}
        self.models: list = []
        if data_root is None or folds <= 0 or not (Path(data_root) / "labels").is_dir():
            return
        from faceqa.facs.deduction import fit_deduction_model
        from faceqa.megc.gold import deduction_training_data

        groups, _ = deduction_training_data(data_root)
        keys = {subject_key(c) for c in train_clips}
        groups = {k: [e for e in v if subject_key(e) in keys] for k, v in groups.items()}
        if not any(groups.values()):
            return
        self.heldout = fit_deduction_model(groups)
        subjects = sorted(keys)
        order = np.random.default_rng(seed).permutation(len(subjects))
        self.fold_of = {subjects[j]: i % folds for i, j in enumerate(order)}
        for f in range(folds):
            self.models.append(fit_deduction_model(
                {k: [e for e in v if self.fold_of.get(subject_key(e)) != f] for k, v in groups.items()}))

    def for_clip(self, clip: LabelledExpression):
        """The deduction model for a training clip's candidates (None: the shipped one)."""
        fold = self.fold_of.get(subject_key(clip))
        return self.models[fold] if fold is not None else None


def clip_interval(clip: LabelledExpression) -> dict | None:
    """The labelled onset/apex/offset of a clip with its dataset's frame rate, or None."""
    if clip.onset is None or clip.offset is None:
        return None
    return {"onset": clip.onset, "apex": clip.apex, "offset": clip.offset,
            "fps": DATASET_FPS.get(dataset_key(clip.dataset) or "")}


def clip_premises(model, feats: list[EvidenceFeatures], clips: list[LabelledExpression], deductions: Deductions | None,
                  labels_shown: list[bool]) -> tuple[list[str], list[str]]:
    """(premises text, candidates text) per clip, from the AU head on ``feats``.

    ``labels_shown[i]``: the clip's oracle channel is filled (then labelled AUs that are not graph
    nodes are passed through, as at inference with AU labels).
    """
    probs = model.au_probabilities(collate(feats)).cpu().numpy()
    texts, cands = [], []
    for i, clip in enumerate(clips):
        p = build_premises(probs[i], model.node_aus, feats[i].nodes.cpu().numpy(),
                           list(clip.aus) if labels_shown[i] else [], clip_interval(clip),
                           DATASET_CONVENTION.get(dataset_key(clip.dataset) or ""),
                           deductions.for_clip(clip) if deductions is not None else None)
        texts.append(p.text())
        cands.append(p.candidates_text())
    return texts, cands


def _contradicted(ex: QAExample, removed: int | None) -> bool:
    """Does removing AU ``removed`` from the evidence contradict this example's answer?"""
    if removed is None or removed not in MEASURED:
        return False
    if ex.kind in ("aus", "compound"):
        return True
    return ex.kind in ("present", "side") and ex.about_au == removed


def make_batch(clip_examples: list[list[QAExample]], model, rng: np.random.Generator, features: FeatureFn,
               counterfactuals: bool, synthesise: bool = True, deductions: Deductions | None = None) -> Batch:
    """One packed batch: ``clip_examples[b]`` are the questions asked about clip ``b`` (see the module docstring)."""
    node_aus = model.node_aus
    clips = [exs[0].clip for exs in clip_examples]
    feats = [features(exs[0], rng) for exs in clip_examples]
    shown = [bool(f.nodes[:, 4:].abs().sum() > 0) for f in feats]
    batch = Batch(collate(feats), [], [], torch.stack([au_targets(c.aus, node_aus) for c in clips]))
    flat: list[QAExample] = []
    for b, exs in enumerate(clip_examples):
        for ex in exs:
            flat.append(ex)
            batch.groups.append(b)
            batch.questions.append(ex.question)
            batch.answers.append(ex.answer)
    if model.uses_premises:
        batch.premises, cands = clip_premises(model, feats, clips, deductions, shown)
        batch.candidates = [cands[g] if ex.kind in EMOTION_KINDS else "" for ex, g in zip(flat, batch.groups,
                                                                                          strict=True)]
    if counterfactuals:
        twins, targets, removed_by_clip, twin_clips = [], [], [], []
        for b, clip in enumerate(clips):
            changed, removed = counterfactual_aus(list(clip.aus), MEASURED, rng)
            if synthesise:
                twins.append(features_from_labels(changed, node_aus, rng, 0.0 if shown[b] else 1.0))
            else:
                changed = [a for a in clip.aus if a.number != removed]
                twins.append(mask_features(features(clip_examples[b][0], rng), removed, node_aus))
            targets.append(au_targets(changed, node_aus))
            removed_by_clip.append(removed)
            twin_clips.append(LabelledExpression(clip.dataset, clip.subject, clip.clip, tuple(changed), clip.fine,
                                                 clip.coarse, clip.onset, clip.apex, clip.offset))
        batch.counterfactual = collate(twins)
        batch.counterfactual_targets = torch.stack(targets)
        batch.ccr_mask = torch.tensor([float(_contradicted(ex, removed_by_clip[g]))
                                       for ex, g in zip(flat, batch.groups, strict=True)])
        if model.uses_premises:
            batch.counterfactual_premises, cands = clip_premises(model, twins, twin_clips, deductions, shown)
            batch.counterfactual_candidates = [cands[g] if ex.kind in EMOTION_KINDS else ""
                                               for ex, g in zip(flat, batch.groups, strict=True)]
    return batch
