"""The one table of question kinds: what each needs, who answers it, how it is scored.

Every kind :func:`~faceqa.qa.questions.parse_question` can return has a :class:`KindSpec` in
:data:`KINDS`, read by:

- :mod:`~faceqa.qa.api` (which passes to run, which kinds the LLM answerer may take);
- :class:`~faceqa.qa.composer.Composer` (the handler that answers it from the facts);
- :mod:`~faceqa.megc.evaluate` (:func:`~faceqa.megc.evaluate.score_kind` scores gold and predicted
  answers of a kind; the report's section for a kind is named by the kind);
- :mod:`~faceqa.train.evaluate` (the held-out figures and the routing headline of each kind) and
  :mod:`~faceqa.aullm.answerer` (the figure it names when it routes a kind).

Passes: ``evidence`` (the AU evidence pass: AUs, events, deduced emotion), ``faces`` (face tracks:
counts, pose, expression classifier), ``quality`` (clip quality), ``identify`` (the gallery of
known people), ``verify`` (the second media of "are these the same person"). ``evidence``, ``faces``
and ``quality`` come from the one pass over the clip (:func:`~faceqa.qa.clip.analyze_clip`);
``identify`` and ``verify`` are run only for the questions that need them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from faceqa.errors import InvalidInputError

Task = Literal["me-vqa", "me-lvqa", "tool"]

PASS_EVIDENCE = "evidence"
PASS_FACES = "faces"
PASS_QUALITY = "quality"
PASS_IDENTIFY = "identify"
PASS_VERIFY = "verify"


@dataclass(frozen=True)
class KindSpec:
    """One question kind.

    Attributes:
        name: the kind, as :attr:`~faceqa.qa.questions.Question.kind` names it.
        task: ``me-vqa`` (ME-VQA 2025 and v2 2026), ``me-lvqa`` (ME-LVQA 2026) or ``tool`` (free form).
        passes: the analysis passes its answer rests on (see the module docstring).
        handler: the :class:`~faceqa.qa.composer.Composer` method answering it.
        llm: the LLM answerer may answer it (else the composer always does).
        metric: the headline figure of :func:`~faceqa.megc.evaluate.score_kind` for it (the one
            held-out routing compares), or None when it is scored by text only or not at all.
        metric_label: how routing names that figure in its reasons.
        title: how the bundle card names the kind and its figure.
        figures: the figures of :func:`~faceqa.megc.evaluate.score_kind` a bundle's ``scores.json``
            keeps for it (their names are those of every bundle so far).
    """

    name: str
    task: Task
    passes: tuple[str, ...]
    handler: str
    llm: bool
    metric: str | None = None
    metric_label: str | None = None
    title: str | None = None
    figures: tuple[str, ...] = ()


_E, _F, _Q = PASS_EVIDENCE, PASS_FACES, PASS_QUALITY
_RECOGNITION = ("uf1", "uar", "accuracy")

KINDS: dict[str, KindSpec] = {k.name: k for k in (
    KindSpec("coarse", "me-vqa", (_E,), "_coarse", True, "uf1", "coarse UF1", "coarse class (UF1)", _RECOGNITION),
    KindSpec("fine", "me-vqa", (_E,), "_fine", True, "uf1", "fine UF1", "fine class (UF1)", _RECOGNITION),
    KindSpec("aus", "me-vqa", (_E,), "_aus", True, "f1", "AU F1", "AU list (AU F1)", ("f1",)),
    KindSpec("au_present", "me-vqa", (_E,), "_au_present", True, "accuracy", "accuracy",
             "AU present (accuracy)", ("accuracy",)),
    KindSpec("au_side", "me-vqa", (_E,), "_au_side", True, "accuracy", "accuracy", "AU side (accuracy)",
             ("accuracy",)),
    KindSpec("compound", "me-vqa", (_E,), "_compound", True, "score", "compound score",
             "compound (mean of AU F1, fine UF1, coarse UF1)",
             ("score", "au_f1", "fine_uf1", "coarse_uf1")),
    KindSpec("analysis", "me-vqa", (_E,), "_analysis", True),
    KindSpec("count", "me-lvqa", (_E,), "_count", True, "accuracy", "exact-match accuracy",
             "LVQA event count (accuracy)", ("accuracy", "mae")),
    KindSpec("distinct_aus", "me-lvqa", (_E,), "_distinct_aus", True, "f1", "AU-set F1",
             "LVQA distinct AUs (set F1)", ("f1",)),
    KindSpec("event_type", "me-lvqa", (_E,), "_event_type", True, "accuracy", "accuracy",
             "LVQA N-th event type (accuracy)", ("accuracy", "uf1")),
    KindSpec("verify", "tool", (PASS_VERIFY,), "_verify", False),
    KindSpec("identity", "tool", (_F, PASS_IDENTIFY), "_identity", False),
    KindSpec("face_count", "tool", (_F,), "_face_count", False),
    KindSpec("when", "tool", (_E,), "_when", False),
    KindSpec("check", "tool", (_E,), "_check", False),
    KindSpec("head_pose", "tool", (_F,), "_head_pose", False),
    KindSpec("quality", "tool", (_Q,), "_quality", False),
    KindSpec("emotion", "tool", (_E, _F), "_emotion", True),
    KindSpec("describe", "tool", (_E, _F), "_describe", True),
)}
"""Every question kind, MEGC kinds first (ME-VQA, then ME-LVQA), then the free-form ones."""

MEGC_VQA_KINDS = frozenset(k for k, s in KINDS.items() if s.task == "me-vqa")
"""Kinds of the ME-VQA files (2025 and v2 2026)."""
MEGC_LVQA_KINDS = frozenset(k for k, s in KINDS.items() if s.task == "me-lvqa")
"""Kinds of the ME-LVQA files (2026)."""
TOOL_KINDS = frozenset(k for k, s in KINDS.items() if s.task == "tool")
"""Free-form kinds."""
LLM_KINDS = frozenset(k for k, s in KINDS.items() if s.llm)
"""Kinds the LLM answerer is asked (the tool read-outs stay with the composer)."""
SCORED_KINDS = tuple(k for k, s in KINDS.items() if s.metric is not None)
"""Kinds with a headline figure, in table order."""
HEADLINE = {k: KINDS[k].metric for k in SCORED_KINDS}
"""Kind -> the figure held-out routing compares."""


def kind_spec(kind: str) -> KindSpec:
    """The table entry of ``kind``; InvalidInputError for a kind the table does not hold."""
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidInputError(f"unknown question kind {kind!r}; known: {', '.join(KINDS)}") from None


def passes_for(kinds: Iterable[str]) -> frozenset[str]:
    """The passes the answers to questions of these kinds need together."""
    return frozenset(p for k in kinds for p in kind_spec(k).passes)
