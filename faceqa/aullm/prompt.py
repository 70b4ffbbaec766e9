"""Prompt templates with slots for the content and instruction tokens and the semantic premises.

A template file in ``prompts/`` (``aullm_v1.txt``, ``aullm_v2.txt``) has a ``[system]`` and a
``[user]`` section. The user section holds ``{content}`` and ``{instruction}`` (the evidence
tokens), optionally ``{premises}`` (the premises as text: AUs with confidence and side, the
interval), optionally ``{candidates}`` (the deduced emotion candidates, filled only for questions
that need them) and, last, ``{question}``. The prompt is rendered with the tokenizer's chat
template and cut into a shared *prefix* (everything before the first per-question slot: system
text, evidence slots, premises) and a per-question *suffix* (candidates, question, the assistant
turn's header). ``{content}``/``{instruction}`` are not tokens of the vocabulary: they are
positions whose input embeddings are the projector's and the graph's outputs, so the base model's
vocabulary and embeddings stay untouched; ``{premises}`` and ``{candidates}`` are plain text,
tokenized per clip.

Version 1 (``aullm_v1``) has no premises and no candidates; bundles trained with it still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.llm.chat import chat_prompt
from faceqa.resources import find_prompt

_MARK = "\x00{}\x00"
PREFIX_SLOTS = ("content", "instruction", "premises")
"""Slots of the shared prefix (in the order a template may place them)."""
SUFFIX_SLOTS = ("candidates", "question")
"""Slots of the per-question suffix."""


def prompt_path(name: str) -> Path:
    """The file of prompt template ``name`` (e.g. ``"aullm_v2"``), as :func:`faceqa.resources.find_prompt` finds it."""
    return find_prompt(f"{name}.txt")


def read_template(text: str) -> tuple[str, str]:
    """(system, user) sections of a template's text (``#`` lines are comments), slots checked."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.strip() in ("[system]", "[user]"):
            current = line.strip()[1:-1]
            sections[current] = []
        elif current:
            sections[current].append(line)
    system = "\n".join(sections.get("system", [])).strip()
    user = "\n".join(sections.get("user", [])).strip()
    if not user.endswith("{question}") or "{content}" not in user or "{instruction}" not in user:
        raise InvalidInputError("prompt template: [user] must hold {content} and {instruction} and end with {question}")
    first_suffix = min(user.index("{" + s + "}") for s in SUFFIX_SLOTS if "{" + s + "}" in user)
    if any(user.find("{" + s + "}") > first_suffix for s in PREFIX_SLOTS):
        raise InvalidInputError("prompt template: {content}, {instruction} and {premises} must come before "
                                "{candidates} and {question}")
    return system, user


@dataclass
class Layout:
    """The prompt cut for a tokenizer: prefix parts (token-id lists and slot names) and the suffix text."""

    prefix: list[list[int] | str]  # token ids, or "content"/"instruction"/"premises" slots
    suffix_template: str  # with "{question}" (and "{candidates}" in version 2)

    @property
    def has_premises(self) -> bool:
        """The template reads the premises as text."""
        return "premises" in self.prefix

    @property
    def has_candidates(self) -> bool:
        """The template has a slot for the emotion candidates."""
        return "{candidates}" in self.suffix_template

    def suffix_text(self, question: str, candidates: str = "") -> str:
        """The text after the evidence, for one question (``candidates`` empty when it needs none)."""
        return self.suffix_template.replace("{candidates}", candidates).replace("{question}", question)

    def suffix_ids(self, tokenizer, question: str, candidates: str = "") -> list[int]:
        """Token ids of the part after the evidence, for one question."""
        return tokenizer(self.suffix_text(question, candidates), add_special_tokens=False)["input_ids"]


def build_layout(tokenizer, template_text: str) -> Layout:
    """Render ``template_text`` with the tokenizer's chat template and cut it into prefix and suffix."""
    system, user = read_template(template_text)
    marked = user
    for slot in PREFIX_SLOTS + SUFFIX_SLOTS:
        marked = marked.replace("{" + slot + "}", _MARK.format(slot))
    rendered = chat_prompt(tokenizer, system, marked)
    cut = min(rendered.index(_MARK.format(s)) for s in SUFFIX_SLOTS if _MARK.format(s) in rendered)
    head, tail = rendered[:cut], rendered[cut:]
    prefix: list[list[int] | str] = []
    for i, piece in enumerate(head.split("\x00")):
        if i % 2:
            prefix.append(piece)
        elif piece:
            prefix.append(tokenizer(piece, add_special_tokens=False)["input_ids"])
    for slot in SUFFIX_SLOTS:
        tail = tail.replace(_MARK.format(slot), "{" + slot + "}")
    return Layout(prefix, tail)
