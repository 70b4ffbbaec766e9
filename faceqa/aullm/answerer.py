"""The LLM answerer behind :class:`faceqa.qa.FaceQA`: an adapter bundle answering from evidence tokens.

``load_answerer(bundle)`` loads an AULLM++ bundle once; ``answer(facts, evidence, questions)``
turns the clip's evidence into content and instruction tokens and answers every question with
one shared prefix (KV cache reused, greedy decoding). The evidence features come from the
video evidence when there is one (the asked onset..offset interval), and from the facts' AU
labels otherwise (the ``--au-labels`` mode: motion synthesised from the labels, a fixed seed so
answers are reproducible, plus the oracle AU channel).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceqa.aullm.features import (
    EvidenceFeatures,
    features_from_displacement,
    features_from_evidence,
    oracle_sides,
    synthetic_displacement,
)
from faceqa.evidence.au_codes import AUCode
from faceqa.resources import default_bundle


def default_bundle_path() -> Path | None:
    """The installed bundle, as :func:`faceqa.resources.default_bundle` finds it; None if there is none."""
    return default_bundle()


def _codes(facts) -> list[AUCode]:
    side = {"L": "L", "R": "R"}
    return [AUCode(a.au, side.get(a.side), None) for a in facts.aus]


class LLMAnswerer:
    """A loaded bundle answering questions about one clip at a time."""

    def __init__(self, model):
        self.model = model

    def features(self, facts, evidence) -> EvidenceFeatures:
        """The evidence features for one clip: from video evidence if given, else from the facts' AUs."""
        nodes = self.model.node_aus
        if evidence is not None:
            frames = facts.frames or {}
            return features_from_evidence(evidence, nodes, frames.get("onset"), frames.get("offset"),
                                          emotion=facts.emotion_scores)
        codes = _codes(facts)
        series = synthetic_displacement(codes, np.random.default_rng(0), distractors=0.0)
        return features_from_displacement(series, nodes, oracle=oracle_sides(codes))

    def answer(self, facts, evidence, questions: list[str]) -> list[str]:
        """Answers to ``questions`` about the clip that ``facts``/``evidence`` describe."""
        return self.model.answer(self.features(facts, evidence), list(questions))


def load_answerer(bundle: str | Path | None = None) -> LLMAnswerer:
    """Load ``bundle`` (default: :func:`default_bundle_path`) on its base model."""
    from faceqa.aullm.bundle import from_pretrained
    from faceqa.errors import ModelUnavailableError

    path = Path(bundle) if bundle is not None else default_bundle_path()
    if path is None:
        raise ModelUnavailableError("no AULLM++ bundle installed (adapters/default or $FACEQA_BUNDLE)")
    return LLMAnswerer(from_pretrained(path))
