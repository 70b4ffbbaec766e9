"""The LLM answerer behind :class:`faceqa.qa.FaceQA`: an adapter bundle answering from evidence.

``load_answerer(bundle)`` loads an AULLM++ bundle once. For one clip, ``answer(facts, evidence,
questions, dataset=...)``:

1. turns the clip's evidence into features: from the video evidence when there is one (the asked
   onset..offset interval), else from the facts' AU labels (the ``--au-labels`` mode: motion
   synthesised from the labels with a fixed seed, so answers are reproducible, plus the oracle
   AU channel);
2. writes the premises (:mod:`~faceqa.aullm.premises`: the AUs with confidence and side, the
   interval, and for the emotion questions the candidates the AU -> emotion deduction gives those
   AUs), for bundles whose prompt reads them (version 2): from video, the evidence read-out that
   the composer states too (one read-out); from AU labels, the graph's AU head;
3. answers every question after one shared prefix, closed-set questions under constraints
   (:mod:`~faceqa.aullm.decoding`) with the class vocabulary of the question's dataset as the
   bundle saw it in training, or the generic MEGC vocabulary for a dataset it never saw; AU lists
   name only AUs the premises list (or their unwritten fill), and class choices weigh in the
   premises' candidates as the bundle's calibration says (:func:`~faceqa.aullm.decoding.grounded`);
4. where the dataset has fine classes, a coarse answer is the coarse class of the LLM's own fine
   answer, the rule the composer follows, so the two answers never disagree.

``route(kind, source, dataset)`` says whether the LLM should answer a question type: only where
the bundle's held-out score for that type (``scores.json`` -> ``routing``) is at least the
composer's on the same clips, under the same kind of evidence (AU labels or video) and for the
same dataset when the bundle was scored on it; else over the held-out clips of the datasets it
answers as it answers one it never saw (those with fine classes, ``unseen`` in the table; a bundle
scored before that scope existed: over all its held-out clips).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.aullm.decoding import GENERIC_VOCAB, ClassVocab, grammar_for, grounded
from faceqa.aullm.features import (
    EvidenceFeatures,
    features_from_displacement,
    features_from_evidence,
    oracle_sides,
    synthetic_displacement,
)
from faceqa.aullm.premises import EMOTION_KINDS, Premises, build_premises, readout_premises
from faceqa.facs.au_codes import AUCode
from faceqa.resources import default_bundle


def default_bundle_path() -> Path | None:
    """The installed bundle, as :func:`faceqa.resources.default_bundle` finds it; None if there is none."""
    return default_bundle()


def dataset_key(name: str | None) -> str | None:
    """A dataset name as bundles record it: ``casme3_a`` (CAS(ME)^3 part A) -> ``casme3``; lower case."""
    if not name:
        return None
    key = str(name).strip().lower()
    return {"casme3_a": "casme3"}.get(key, key)


def evidence_mode(source: str) -> str:
    """``"labels"`` for facts from oracle AU labels, else ``"video"`` (the evidence pass)."""
    return "labels" if source == "labels" else "video"


def label_codes(facts) -> list[AUCode]:
    """The facts' AUs as codes with sides (``both`` written as an L and an R code)."""
    out = []
    for a in facts.aus:
        if a.side in ("L", "R"):
            out.append(AUCode(a.au, a.side))
        elif a.side == "both":
            out += [AUCode(a.au, "L"), AUCode(a.au, "R")]
        else:
            out.append(AUCode(a.au))
    return out


@dataclass(frozen=True)
class Route:
    """Who answers a question type, and why."""

    llm: bool
    reason: str


UNSEEN = "unseen"
"""The routing scope for questions about a dataset the bundle never saw: the held-out clips of the
datasets it answers the way it answers an unseen one (with fine classes, so that a coarse answer is
the coarse class of the fine one; :func:`faceqa.train.evaluate.answered_like_unseen`)."""


class LLMAnswerer:
    """A loaded bundle answering questions about one clip at a time.

    Args:
        model: the :class:`~faceqa.aullm.model.AULLM`.
        vocab: dataset -> class vocabulary seen in training (``vocab.json``).
        routing: evidence mode -> dataset (or ``unseen``, ``overall``) -> question kind ->
            ``{"llm": x, "composer": y}``.
    """

    def __init__(self, model, vocab: dict[str, ClassVocab] | None = None, routing: dict | None = None):
        self.model = model
        self.vocab = vocab or {}
        self.routing = routing or {}

    def vocab_for(self, dataset: str | None) -> ClassVocab:
        """The class vocabulary for questions about ``dataset`` (generic when the bundle never saw it)."""
        return self.vocab.get(dataset_key(dataset) or "", GENERIC_VOCAB)

    def route(self, kind: str, source: str, dataset: str | None = None) -> Route:
        """Whether the LLM answers questions of ``kind`` (see the module docstring)."""
        from faceqa.qa.kinds import KINDS

        mode = evidence_mode(source)
        table = self.routing.get(mode) or {}
        key = dataset_key(dataset)
        scope = key if key in table else UNSEEN if UNSEEN in table else "overall"
        entry = (table.get(scope) or {}).get(kind)
        if entry is None or entry.get("llm") is None:
            return Route(False, f"no held-out score of the LLM for {kind} questions ({mode} evidence)")
        spec = KINDS.get(kind)
        metric = spec.metric_label if spec is not None and spec.metric_label else "score"
        where = f"{scope}, {'AU labels' if mode == 'labels' else 'video'} evidence"
        llm, comp = float(entry["llm"]), float(entry["composer"])
        if llm >= comp:
            return Route(True, f"held-out {metric} {llm:.3f} >= composer {comp:.3f} ({where})")
        return Route(False, f"held-out {metric} {llm:.3f} < composer {comp:.3f} ({where})")

    def features(self, facts, evidence) -> EvidenceFeatures:
        """The evidence features for one clip: from video evidence if given, else from the facts' AUs."""
        nodes = self.model.node_aus
        if evidence is not None:
            frames = facts.frames or {}
            return features_from_evidence(evidence, nodes, frames.get("onset"), frames.get("offset"),
                                          emotion=facts.emotion_scores)
        codes = label_codes(facts)
        series = synthetic_displacement(codes, np.random.default_rng(0), distractors=0.0)
        return features_from_displacement(series, nodes, oracle=oracle_sides(codes))

    def premises(self, facts, feats: EvidenceFeatures, deduction_model=None) -> Premises:
        """The premises about the clip: its AUs (the video read-out, or the AU head on labels), the
        interval, the emotion candidates."""
        from faceqa.aullm.features import collate

        frames = facts.frames or {}
        interval = None
        if frames.get("onset") is not None and frames.get("offset") is not None:
            interval = {"onset": frames["onset"], "apex": frames.get("apex"), "offset": frames["offset"],
                        "fps": facts.fps}
        if facts.source == "video":
            return readout_premises(facts, interval)
        probs = self.model.au_probabilities(collate([feats]))[0].cpu().numpy()
        extra = label_codes(facts) if facts.source == "labels" else []
        return build_premises(probs, self.model.node_aus, feats.nodes.cpu().numpy(), extra, interval,
                              facts.convention, deduction_model)

    def answer(self, facts, evidence, questions: list[str], dataset: str | None = None,
               deduction_model=None) -> list[str]:
        """Answers to ``questions`` about the clip that ``facts``/``evidence`` describe."""
        return self.answer_features(self.features(facts, evidence), facts, questions, dataset, deduction_model)

    def answer_features(self, feats: EvidenceFeatures, facts, questions: list[str], dataset: str | None = None,
                        deduction_model=None) -> list[str]:
        """Answers from ready features (the training evaluation's path; :meth:`answer` builds them).

        Where the dataset has fine classes (:attr:`~faceqa.aullm.decoding.ClassVocab.coarse_from_fine`),
        a coarse answer is the coarse class of the LLM's fine answer (asked as well when the
        questions lack it), as the composer derives its coarse class from its fine one; a fine
        answer without a coarse class (``others``) leaves the coarse question to be decoded itself."""
        from faceqa.facs.emotion_classes import COARSE_OF
        from faceqa.qa.questions import FINE_QUESTION, parse_question

        parsed = [parse_question(q) for q in questions]
        vocab = self.vocab_for(dataset)
        if vocab.coarse_from_fine and any(q.kind == "coarse" for q in parsed):
            rest = [q for q in parsed if q.kind != "coarse"]
            if not any(q.kind == "fine" for q in rest):
                rest.append(parse_question(FINE_QUESTION))
            said = self.decode(feats, facts, rest, vocab, deduction_model)
            coarse = COARSE_OF.get(said[[q.kind for q in rest].index("fine")])
            if coarse:
                rest_said = iter(said)
                return [coarse if q.kind == "coarse" else next(rest_said) for q in parsed]
        return self.decode(feats, facts, parsed, vocab, deduction_model)

    def decode(self, feats: EvidenceFeatures, facts, parsed: list, vocab: ClassVocab,
               deduction_model=None) -> list[str]:
        """Every parsed question decoded as asked, under its grammar in ``vocab`` (no coarse class derived
        from the fine one: the choices :func:`~faceqa.aullm.calibration.measure` records)."""
        questions = [q.text for q in parsed]
        grammars = [grammar_for(q, vocab) for q in parsed]
        if not self.model.uses_premises:
            return self.model.answer(feats, questions, grammars=grammars)
        premises = self.premises(facts, feats, deduction_model)
        names = [a.name for a in premises.aus + premises.fill]
        classes = {"fine": premises.fine, "coarse": premises.coarse}
        grammars = [grounded(g, names, classes) for g in grammars]
        cands = premises.candidates_text()
        return self.model.answer(feats, questions, premises=premises.text(),
                                 candidates=[cands if q.kind in EMOTION_KINDS else "" for q in parsed],
                                 grammars=grammars)


def read_vocab(folder: Path) -> dict[str, ClassVocab]:
    """The bundle's class vocabularies per dataset (``vocab.json``; empty for older bundles)."""
    path = Path(folder) / "vocab.json"
    if not path.is_file():
        return {}
    return {k: ClassVocab.from_dict(v) for k, v in json.loads(path.read_text()).items()}


def read_routing(folder: Path) -> dict:
    """The bundle's routing table (``scores.json`` -> ``routing``; empty for older bundles)."""
    path = Path(folder) / "scores.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text()).get("routing") or {}


def load_answerer(bundle: str | Path | None = None) -> LLMAnswerer:
    """Load ``bundle`` (default: :func:`default_bundle_path`) on its base model."""
    from faceqa.aullm.bundle import from_pretrained
    from faceqa.errors import ModelUnavailableError

    path = Path(bundle) if bundle is not None else default_bundle_path()
    if path is None:
        raise ModelUnavailableError("no AULLM++ bundle installed (adapters/default or $FACEQA_BUNDLE)")
    return LLMAnswerer(from_pretrained(path), read_vocab(path), read_routing(path))
