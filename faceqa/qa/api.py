"""``FaceQA``: ask questions about a face in an image, a video or a folder of frames.

>>> qa = FaceQA()                                              # doctest: +SKIP
>>> qa.ask("clip.mp4", "What are the action units?").text      # doctest: +SKIP
'lip corner puller, cheek raiser'

Per clip, the questions are parsed (:mod:`~faceqa.qa.questions`), the clip is analysed in one pass
(:func:`~faceqa.qa.clip.analyze_clip`: evidence, faces, expression, quality and identity best frames
from one stream, cached, so follow-up questions about the same clip reuse it), the
:class:`~faceqa.qa.facts.Facts` are built from it (the same facts whichever questions are asked,
plus the gallery's answer for who-is-this and the verification for same-person questions), and
each question is answered:

- by the LLM answerer of an adapter bundle (``faceqa.aullm.answerer.load_answerer(bundle)``,
  whose ``.answer(facts, evidence, questions, dataset=..., deduction_model=...)`` gets the
  :class:`~faceqa.qa.facts.Facts`, the :class:`~faceqa.evidence.extract.Evidence` or None, the
  question texts, the dataset the questions come from (None for a user's media) and the deduction
  model the composer uses) for the MEGC, emotion and describe questions: with ``answerer="llm"``
  always; with ``answerer="auto"`` (the default) only for the question types where the bundle
  measured it at least as good as the composer on held-out subjects: its ``.route(kind, source,
  dataset)`` decides, from the bundle's ``scores.json`` (an answerer without ``route`` is never
  preferred in auto mode);
- by the grounded :class:`~faceqa.qa.composer.Composer` otherwise: for the tool questions (faces,
  identity, verification, pose, quality), with ``answerer="composer"``, where routing prefers it,
  and whenever the LLM answerer fails (the :class:`Answer` then says so in ``note``).

Every :class:`Answer` says which answerer gave it (``answerer``) and, for questions the LLM could
have answered, why (``route``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from faceqa.errors import FaceQAError, InvalidInputError, ModelUnavailableError, NoFaceError
from faceqa.facs.deduction import DeductionModel
from faceqa.qa.clip import ClipAnalysis, analyze_clip
from faceqa.qa.composer import Composer
from faceqa.qa.facts import Facts
from faceqa.qa.kinds import LLM_KINDS, PASS_IDENTIFY, PASS_VERIFY, passes_for
from faceqa.qa.questions import Question, parse_question

if TYPE_CHECKING:
    from faceqa.perception import FacePipeline

ANSWERERS = ("auto", "composer", "llm")

Media = str | os.PathLike | np.ndarray


@dataclass
class Answer:
    """An answer with what it rests on.

    Attributes:
        question: the question as asked.
        text: the answer.
        kind: the question kind (:mod:`~faceqa.qa.questions`).
        evidence: the facts the answer came from (:meth:`Facts.to_dict`: events, AUs with sides
            and scores, frames, emotion scores, identities, quality).
        confidence: 0..1 (see :mod:`~faceqa.qa.composer`).
        tool_calls: the tools run for it, each ``{"name": ..., "args": {...}}``.
        answerer: ``"composer"`` or ``"llm"``.
        note: why the composer answered where the LLM was meant to, or what was missing.
        route: why this answerer was chosen for this question type (auto routing), when the LLM was
            a candidate.
    """

    question: str
    text: str
    kind: str
    evidence: dict[str, Any]
    confidence: float
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    answerer: str = "composer"
    note: str | None = None
    route: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _media_name(media: Media) -> str:
    return "<array>" if isinstance(media, np.ndarray) else str(media)


class FaceQA:
    """Question answering about faces.

    Args:
        answerer: ``"auto"`` (per question type, the LLM where the installed bundle's held-out score
            is at least the composer's, else the composer), ``"composer"`` (no LLM) or ``"llm"`` (the
            LLM for every question it can take; raise ModelUnavailableError when none loads).
        bundle: adapter bundle folder for the LLM answerer (default: the installed one).
        pipeline: the tracker of the clip pass (:func:`~faceqa.qa.clip.analyze_clip`'s default when None).
        gallery: gallery URI or open :class:`~faceqa.gallery.Gallery` for "who is this" questions.
        convention: default labelling convention of the AU -> emotion deduction (``casme3``,
            ``samm`` or None for the shared weights).
        deduction_model: a fitted :class:`~faceqa.facs.deduction.DeductionModel` (default: shipped).
        templates: answer template folder of the composer (default ``prompts/composer``).
        progress: show progress bars over video frames.
    """

    def __init__(self, answerer: str = "auto", bundle: str | Path | None = None, pipeline: FacePipeline | None = None,
                 gallery=None,
                 convention: str | None = None, deduction_model: DeductionModel | None = None,
                 templates: str | Path | None = None, progress: bool = False):
        if answerer not in ANSWERERS:
            raise InvalidInputError(f"answerer must be one of {ANSWERERS}, got {answerer!r}")
        self.answerer = answerer
        self.bundle = bundle
        self.pipeline = pipeline
        self.gallery = gallery
        self.convention = convention
        self.deduction_model = deduction_model
        self.composer = Composer(templates)
        self.progress = progress
        self._llm = None
        self._llm_loaded = False
        self._llm_note: str | None = None
        self._llm_path: str | None = None

    # --- the LLM answerer --------------------------------------------------------------------

    def llm(self) -> Any:
        """The loaded LLM answerer, or None (composer mode, none installed, or it failed to load in auto)."""
        if self._llm_loaded:
            return self._llm
        self._llm_loaded = True
        if self.answerer == "composer":
            return None
        try:
            from faceqa.aullm.answerer import default_bundle_path, load_answerer
        except ImportError as exc:
            if self.answerer == "llm":
                raise ModelUnavailableError(f"the LLM answerer (faceqa.aullm.answerer) cannot be imported ({exc}); "
                                            "answer with the composer instead (--no-llm)") from None
            return None
        path = self.bundle if self.bundle is not None else default_bundle_path()
        if path is None:
            if self.answerer == "llm":
                raise ModelUnavailableError("no adapter bundle is installed: pass one with --bundle DIR, or answer "
                                            "with the composer (--no-llm)")
            return None
        self._llm_path = str(path)
        try:
            self._llm = load_answerer(path)
        except Exception as exc:  # any failure of a third-party model load falls back in auto mode
            if self.answerer == "llm":
                if isinstance(exc, FaceQAError):
                    raise
                raise ModelUnavailableError(f"{path}: the LLM answerer does not load ({exc})") from exc
            self._llm_note = f"LLM bundle {path} did not load ({exc}); answered by the composer"
        return self._llm

    # --- asking ------------------------------------------------------------------------------

    def ask(self, media: Media, question: str, fps: float | None = None, onset: int | None = None,
            offset: int | None = None, compare: Media | None = None) -> Answer:
        """Answer one question about ``media`` (image, video file, frame folder or RGB array).

        ``onset``/``offset`` (frames) restrict the clip, as the MEGC files do; ``compare`` is a
        second image or video for "are these the same person".
        """
        return self.ask_many(media, [question], fps=fps, onset=onset, offset=offset, compare=compare)[0]

    def ask_many(self, media: Media, questions: Sequence[str], fps: float | None = None, onset: int | None = None,
                 offset: int | None = None, compare: Media | None = None, clip: str | None = None,
                 convention: str | None = None, dataset: str | None = None) -> list[Answer]:
        """Answer several questions about one clip from one (cached) pass over it.

        ``clip`` names the clip in the facts; ``convention`` overrides the instance's deduction convention;
        ``dataset`` names the dataset the questions come from (routing and the LLM's class vocabulary).
        """
        parsed = [parse_question(q) for q in questions]
        passes = passes_for(q.kind for q in parsed)
        conv = convention if convention is not None else self.convention
        calls: list[dict[str, Any]] = []
        analysis = self._analyze(media, fps, onset, offset, calls)
        facts = analysis.facts(onset, offset, clip=clip, convention=conv, model=self.deduction_model)
        calls.append({"name": "deduce", "args": {"aus": [a.au for a in facts.aus], "convention": conv}})
        note = "no face was found in the media" if not analysis.faces["frames_with_face"] else None
        if PASS_IDENTIFY in passes:
            self._identify(media, analysis, facts, calls)
        if PASS_VERIFY in passes and compare is not None:
            self._verify(media, compare, facts, calls)
        return self._answer(parsed, facts, analysis.evidence, calls, note, dataset)

    def answer_facts(self, facts: Facts, questions: Sequence[str], evidence=None,
                     tool_calls: Sequence[dict[str, Any]] = (), dataset: str | None = None) -> list[Answer]:
        """Answer questions from ready-made facts (e.g. :func:`~faceqa.qa.facts.facts_from_labels`);
        ``dataset`` as in :meth:`ask_many`."""
        return self._answer([parse_question(q) for q in questions], facts, evidence, list(tool_calls), None, dataset)

    def _routes(self, parsed: list[Question], facts: Facts, dataset: str | None, llm) -> dict[int, tuple[bool, str]]:
        """Question index -> (the LLM answers it, why), for the questions the LLM could take."""
        out: dict[int, tuple[bool, str]] = {}
        for i, q in enumerate(parsed):
            if q.kind not in LLM_KINDS:
                continue
            if self.answerer == "composer":
                out[i] = (False, "answerer='composer'")
            elif llm is None:
                out[i] = (False, "no LLM answerer")
            elif self.answerer == "llm":
                out[i] = (True, "answerer='llm'")
            elif hasattr(llm, "route"):
                r = llm.route(q.kind, facts.source, dataset)
                out[i] = (bool(r.llm), r.reason)
            else:
                out[i] = (False, "the LLM answerer reports no held-out scores to route by")
        return out

    def _answer(self, parsed: list[Question], facts: Facts, evidence, calls: list[dict[str, Any]],
                note: str | None, dataset: str | None = None) -> list[Answer]:
        composed = [self.composer.answer(q, facts) for q in parsed]
        texts: list[str | None] = [None] * len(parsed)
        llm_note = None
        candidates = [i for i, q in enumerate(parsed) if q.kind in LLM_KINDS]
        llm = self.llm() if candidates else None
        routes = self._routes(parsed, facts, dataset, llm)
        ask_llm = [i for i in candidates if routes[i][0]]
        if candidates and self._llm_note:
            llm_note = self._llm_note
        if llm is not None and ask_llm:
            llm_calls = [*calls, {"name": "llm.answer", "args": {"bundle": self._llm_path,
                                                                 "questions": len(ask_llm)}}]
            try:
                out = llm.answer(facts, evidence, [parsed[i].text for i in ask_llm], dataset=dataset,
                                 deduction_model=self.deduction_model)
                if len(out) != len(ask_llm) or not all(isinstance(t, str) and t.strip() for t in out):
                    raise ValueError(f"expected {len(ask_llm)} non-empty answers, got {out!r:.200}")
                for i, text in zip(ask_llm, out, strict=True):
                    texts[i] = text.strip()
                calls = llm_calls
            except Exception as exc:  # the contract: any LLM failure falls back to the composer
                llm_note = f"the LLM answerer failed ({type(exc).__name__}: {exc}); answered by the composer"
        evidence_dict = facts.to_dict()
        answers = []
        for i, (q, c) in enumerate(zip(parsed, composed, strict=True)):
            by_llm = texts[i] is not None
            failed = q.kind in LLM_KINDS and not by_llm and (i in ask_llm or llm is None)
            notes = [n for n in (note, llm_note if failed else None) if n]
            answers.append(Answer(q.text, texts[i] if by_llm else c.text, q.kind, evidence_dict,
                                  round(float(c.confidence), 4), list(calls), "llm" if by_llm else "composer",
                                  "; ".join(notes) or None, routes[i][1] if i in routes else None))
        return answers

    # --- tools -------------------------------------------------------------------------------

    def _analyze(self, media: Media, fps, onset, offset, calls) -> ClipAnalysis:
        mode = "clip" if onset is not None or offset is not None else "auto"
        calls.append({"name": "analyze_clip", "args": {"media": _media_name(media), "fps": fps, "start": onset,
                                                       "end": offset, "mode": mode}})
        return analyze_clip(media, fps=fps, start=onset, end=offset, mode=mode, pipeline=self.pipeline,
                            progress=self.progress)

    def _identify(self, media: Media, analysis: ClipAnalysis, facts: Facts, calls) -> None:
        calls.append({"name": "identify", "args": {"media": _media_name(media), "tracks": len(analysis.best)}})
        try:
            facts.identities = analysis.identify(self.gallery)
        except NoFaceError:
            facts.identities = {"media": _media_name(media), "faces": []}

    def _verify(self, media: Media, compare: Media, facts: Facts, calls) -> None:
        from faceqa.perception.identity import verify

        calls.append({"name": "verify", "args": {"image_a": _media_name(media), "image_b": _media_name(compare)}})
        facts.verification = verify(_still(media), _still(compare))


def _still(media: Media) -> Media:
    """An image path or array as is; for a video or frame folder, its first frame."""
    from faceqa.media import open_media

    m = open_media(media)
    if m.info.kind in ("image", "array"):
        return media
    return next(iter(m)).image
