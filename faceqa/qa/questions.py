"""Question understanding: every MEGC question type, and free-form questions routed to the face tools.

:func:`parse_question` reads a question into a :class:`Question` whose ``kind`` says what is
asked (every kind is in the table :data:`faceqa.qa.kinds.KINDS`). MEGC ME-VQA (2025, v2 2026) and
ME-LVQA (2026) kinds, as the published files word them:

==============  ===========================================================================
``coarse``      "What is the coarse expression class?"
``fine``        "What is the fine-grained expression class?"
``aus``         "What is the action unit?" / "What are the action units?" (``plural``)
``au_present``  "Is the action unit brow lowerer shown on the face?" (``au``)
``au_side``     "Is the action unit dimpler located on the left or right face?" (``au``)
``compound``    "What are the action units present, and based on them, what is the
                fine-grained expression and the coarse expression class?" (``plural``)
``analysis``    "Please analyse the micro-expression shown in this video in detail." (v2)
``count``       "How many [micro-|macro-]expression events appear in this video?"
                (``event_kind``: None, ``"micro"`` or ``"macro"``)
``distinct_aus`` "What distinct action units appear in this video?"
``event_type``  "What is the expression type of the 5-th expression event in this video?"
                (``index``, 1-based; -1 for "last")
==============  ===========================================================================

Free-form kinds, each answered by a face tool: ``verify`` (are these the same person),
``identity`` (who is this), ``face_count`` (how many faces), ``when`` (when does she smile:
``target``), ``check`` (is she smiling: ``target``), ``head_pose``, ``quality`` (is the video
sharp enough), ``emotion`` (how does she feel) and ``describe`` (anything else: a summary of
what the evidence shows). The rules are ordered: the MEGC wordings first, then the tools.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faceqa.errors import InvalidInputError
from faceqa.facs.units import ActionUnit, action_units, au_by_number, normalise_name
from faceqa.qa.kinds import KINDS

FINE_QUESTION = "What is the fine-grained expression class?"
"""MEGC's wording of the fine-class question."""
PRESENCE_CANDIDATES = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 24, 25, 26)
"""The AUs a presence question about an absent AU may name (as the training questions do)."""


@dataclass(frozen=True)
class Target:
    """What a "when"/"is she" question looks for: a label, the AUs that show it, or an emotion class.

    Attributes:
        label: the wording used in answers ("smile", "frown", "surprise").
        aus: AU numbers any of which shows it (empty when the emotion decides).
        fine: the fine emotion class that shows it, or None.
    """

    label: str
    aus: tuple[int, ...] = ()
    fine: str | None = None


TARGETS: tuple[tuple[str, Target], ...] = (
    (r"smil\w*|grin\w*|laugh\w*", Target("smile", (12,), "happiness")),
    (r"frown\w*|scowl\w*", Target("frown", (4,))),
    (r"rais\w* (?:\w+ )?(?:eye)?brows?|brow raise\w*", Target("brow raise", (1, 2))),
    (r"surpris\w*|astonish\w*", Target("surprise", (), "surprise")),
    (r"disgust\w*|wrinkl\w* (?:\w+ )?nose", Target("disgust", (9, 10), "disgust")),
    (r"sad\w*|unhapp\w*", Target("sadness", (), "sadness")),
    (r"ang(?:er|ry)\w*|annoy\w*|mad\b", Target("anger", (), "anger")),
    (r"fear\w*|afraid|scared|frighten\w*", Target("fear", (), "fear")),
    (r"contempt\w*|smirk\w*", Target("contempt", (14,), "contempt")),
    (r"happ(?:y|iness)", Target("happiness", (), "happiness")),
    (r"blink\w*", Target("blink", (45,))),
    (r"micro[- ]?expressions?", Target("micro-expression")),
    (r"macro[- ]?expressions?", Target("macro-expression")),
    (r"(?:facial )?expressions?|mov\w*|react\w*", Target("expression")),
)
"""Words of free-form questions -> what they look for (first match wins)."""

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "last": -1}


@dataclass(frozen=True)
class Question:
    """A parsed question.

    Attributes:
        text: the question as asked.
        kind: what is asked (see the module docstring).
        plural: the question asks for several AUs ("What are the action units?").
        au: the AU number a presence or side question names.
        index: the event an ``event_type`` question names (1-based; -1 = last).
        event_kind: for ``count``: None (all events), ``"micro"`` or ``"macro"``.
        target: for ``when`` and ``check``: what to look for.
    """

    text: str
    kind: str
    plural: bool = False
    au: int | None = None
    index: int | None = None
    event_kind: str | None = None
    target: Target | None = None

    @property
    def is_megc(self) -> bool:
        """True for the kinds of the MEGC question files."""
        spec = KINDS.get(self.kind)
        return spec is not None and spec.task != "tool"

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        d = {"kind": self.kind, "plural": self.plural, "au": self.au, "index": self.index,
             "event_kind": self.event_kind}
        if self.target is not None:
            d["target"] = {"label": self.target.label, "aus": list(self.target.aus), "fine": self.target.fine}
        return {k: v for k, v in d.items() if v not in (None, False)}


def _names_by_length() -> list[tuple[str, ActionUnit]]:
    pairs = [(normalise_name(n), au) for au in action_units() for n in (au.name, *au.aliases)]
    return sorted(pairs, key=lambda p: -len(p[0]))


_AU_NAMES = _names_by_length()
_AU_CODE = re.compile(r"\bau\s*(\d{1,2})\b")


def find_au(text: str) -> int | None:
    """The AU a phrase names: an MEGC/FACS name ("lip corner puller") or a code ("AU12"); None if none."""
    norm = normalise_name(text)
    m = _AU_CODE.search(norm)
    if m is not None:
        try:
            return au_by_number(int(m.group(1))).number
        except InvalidInputError:
            return None
    for name, au in _AU_NAMES:
        if re.search(rf"\b{re.escape(name)}\b", norm):
            return au.number
    return None


def find_target(text: str) -> Target | None:
    """What a free-form question looks for ("smile", "frown", an emotion), or None."""
    low = text.lower()
    for pattern, target in TARGETS:
        if re.search(rf"\b(?:{pattern})", low):
            return target
    au = find_au(low)
    return Target(au_by_number(au).name, (au,)) if au is not None else None


def _event_index(q: str) -> int | None:
    m = re.search(r"\b(\d+)\s*-?\s*(?:th|st|nd|rd)\b", q) or re.search(r"\bevent\s+(?:number\s+|no\.?\s*)?(\d+)\b", q)
    if m is not None:
        return int(m.group(1))
    for word, n in _ORDINALS.items():
        if re.search(rf"\b{word}\b", q):
            return n
    return None


def _megc_kind(q: str, text: str) -> Question | None:
    has_au = re.search(r"\baction units?\b|\baus?\b|\bau\s*\d", q) is not None
    plural = re.search(r"\baction units\b|\baus\b|\bwhat are\b", q) is not None
    if has_au and "fine-grained" in q and "coarse" in q:
        return Question(text, "compound", plural=plural)
    if re.search(r"\banaly[sz]\w*\b|\bin detail\b|\bdetailed\b", q) and re.search(r"expression|clip|video", q):
        return Question(text, "analysis")
    if has_au and re.search(r"\bleft or right\b|\bwhich side\b|\bright or left\b", q):
        return Question(text, "au_side", au=find_au(q))
    if has_au and re.search(r"^(?:is|are|does|do|was)\b", q):
        au = find_au(q)
        if au is not None:
            return Question(text, "au_present", au=au)
    if has_au and re.search(r"\bdistinct\b|\bappear\w*\b.*\bvideo\b", q):
        return Question(text, "distinct_aus", plural=True)
    if has_au and re.search(r"^(?:what|which|list|name)\b", q):
        return Question(text, "aus", plural=plural)
    if re.search(r"\bcoarse\b", q):
        return Question(text, "coarse")
    if re.search(r"\bfine[- ]grained\b", q):
        return Question(text, "fine")
    if re.search(r"\btype\b", q) and re.search(r"\bevent\b", q) and (index := _event_index(q)) is not None:
        return Question(text, "event_type", index=index)
    if re.search(r"\bhow many\b|\bnumber of\b|\bcount\b", q) and re.search(r"expression|event", q):
        kind = "micro" if re.search(r"\bmicro", q) else "macro" if re.search(r"\bmacro", q) else None
        return Question(text, "count", event_kind=kind)
    return None


def _tool_kind(q: str, text: str) -> Question:
    if re.search(r"\bsame (?:person|people|individual|face|man|woman)\b|\bmatch\w*\b|\bverif\w*", q):
        return Question(text, "verify")
    if re.search(r"\bhow many\b.*\b(?:faces?|people|persons?)\b|\bnumber of (?:faces|people)\b", q):
        return Question(text, "face_count")
    if re.search(r"\bwho\b|\bidentif\w*|\brecogni[sz]\w*|\bname of\b|\bwhat is (?:his|her|their) name\b", q):
        return Question(text, "identity")
    if re.search(r"\bsharp\w*|\bblur\w*|\bquality\b|\bgood enough\b|\bfocus\w*|\bexposure\b|\bnois\w*|"
                 r"\btoo (?:dark|bright)\b|\busable\b", q):
        return Question(text, "quality")
    if re.search(r"\bhead pose\b|\bpose\b|\byaw\b|\bpitch\b|\broll\b|\blooking\b|\bfacing\b|\bhead (?:turn|tilt)\w*|"
                 r"\borientation\b", q):
        return Question(text, "head_pose")
    target = find_target(q)
    if re.search(r"^\s*when\b|\bat what (?:time|point|moment)\b|\bwhat time\b|\bwhich frames?\b", q):
        return Question(text, "when", target=target or Target("expression"))
    if target is not None and re.search(r"^(?:is|does|did|was|are|has|do)\b", q):
        return Question(text, "check", target=target)
    if re.search(r"\bemotion\w*|\bfeel\w*|\bmood\b|\bexpression\b|\bhow (?:does|did) (?:s?he|they) look\b", q):
        return Question(text, "emotion")
    return Question(text, "describe")


def parse_question(text: str) -> Question:
    """Read a question (MEGC wording or free form) into a :class:`Question`.

    Raises InvalidInputError for an empty question.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("question is empty: ask something about the face, e.g. 'What are the action units?'")
    q = re.sub(r"\s+", " ", text.strip().lower())
    return _megc_kind(q, text) or _tool_kind(q, text)
