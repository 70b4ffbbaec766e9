"""Prompt templates with slots for the content and instruction tokens.

A template file in ``prompts/`` (``aullm_v1.txt``) has a ``[system]`` and a ``[user]`` section;
the user section holds ``{content}``, ``{instruction}`` and, last, ``{question}``. The prompt is
rendered with the tokenizer's chat template and cut into a shared *prefix* (everything up to the
question: system text, evidence slots) and a per-question *suffix*. Slots are not tokens of the
vocabulary: they are positions whose input embeddings are the projector's and the graph's outputs,
so the base model's vocabulary and embeddings stay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faceqa.errors import InvalidInputError
from faceqa.llm.chat import chat_prompt
from faceqa.resources import find_prompt

_MARK = "\x00{}\x00"


def prompt_path(name: str) -> Path:
    """The file of prompt template ``name`` (e.g. ``"aullm_v1"``), as :func:`faceqa.resources.find_prompt` finds it."""
    return find_prompt(f"{name}.txt")


def read_template(text: str) -> tuple[str, str]:
    """(system, user) sections of a template's text (``#`` lines are comments)."""
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
    return system, user


@dataclass
class Layout:
    """The prompt cut for a tokenizer: prefix parts (token-id lists and slot names) and the suffix text."""

    prefix: list[list[int] | str]  # token ids, or "content"/"instruction" slots
    suffix_template: str  # with "{question}"

    def suffix_ids(self, tokenizer, question: str) -> list[int]:
        """Token ids of the part after the evidence, for one question."""
        return tokenizer(self.suffix_template.replace("{question}", question), add_special_tokens=False)["input_ids"]


def build_layout(tokenizer, template_text: str) -> Layout:
    """Render ``template_text`` with the tokenizer's chat template and cut it into prefix and suffix."""
    system, user = read_template(template_text)
    marked = user.replace("{content}", _MARK.format("content")).replace(
        "{instruction}", _MARK.format("instruction")).replace("{question}", _MARK.format("question"))
    rendered = chat_prompt(tokenizer, system, marked)
    head, _, tail = rendered.partition(_MARK.format("question"))
    prefix: list[list[int] | str] = []
    for i, piece in enumerate(head.split("\x00")):
        if i % 2:
            prefix.append(piece)
        elif piece:
            prefix.append(tokenizer(piece, add_special_tokens=False)["input_ids"])
    return Layout(prefix, "{question}" + tail)
