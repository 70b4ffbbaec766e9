"""A chat about one loaded image or video: the person asks, an answerer replies with its evidence.

Two answerers:

- :class:`LocalAnswerer`: faceqa's own question answering (:class:`faceqa.qa.FaceQA`; the local LLM
  with an adapter bundle, or the grounded composer). Each question is answered from the media on
  its own, so the answer always carries the evidence it came from; the clip is analysed once
  (:func:`faceqa.qa.clip.analyze_clip` keeps the pass), so follow-up questions answer at once.
- :class:`AgentAnswerer`: any LangChain chat model (e.g. an OpenAI-compatible endpoint, see
  :mod:`faceqa.chat.endpoint`) that calls the faceqa tools through
  :func:`faceqa.tools.agent.run_agent`. The conversation is kept, so follow-up questions ("and
  on which side?") are read in context; loading other media starts a new conversation.

>>> session = ChatSession(LocalAnswerer("composer"))           # doctest: +SKIP
>>> session.load("clip.mp4")                                     # doctest: +SKIP
>>> session.ask("When does she smile?").text                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from faceqa.errors import InvalidInputError
from faceqa.media import MediaInfo, open_media


@dataclass(frozen=True)
class LoadedMedia:
    """The media a chat is about, with the frame rate and onset/offset the person set."""

    path: Path
    name: str
    info: MediaInfo
    fps: float | None = None
    onset: int | None = None
    offset: int | None = None

    def describe(self) -> str:
        """One line: name, kind, frames, frame rate, duration, size."""
        i = self.info
        if i.kind == "image":
            return f"{self.name}: image, {i.width}x{i.height}"
        span = ""
        if self.onset is not None or self.offset is not None:
            span = f", frames {self.onset or 0}..{'end' if self.offset is None else self.offset}"
        return (f"{self.name}: {i.kind}, {i.n_frames} frames at {i.fps:g} fps ({i.n_frames / i.fps:.1f} s), "
                f"{i.width}x{i.height}{span}")


@dataclass
class ChatReply:
    """One answer: its text, the evidence behind it, a confidence if the answerer gives one, the tool calls,
    and a note (e.g. why the composer answered instead of the LLM)."""

    text: str
    answerer: str
    evidence: dict[str, Any] | None = None
    confidence: float | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"text": self.text, "answerer": self.answerer, "evidence": self.evidence,
                "confidence": self.confidence, "tool_calls": self.tool_calls, "note": self.note}


class Answerer(Protocol):
    """What a :class:`ChatSession` asks: answer a question about the loaded media (or None)."""

    name: str

    def answer(self, question: str, media: LoadedMedia | None) -> ChatReply:
        """The reply to ``question``."""

    def media_loaded(self, media: LoadedMedia) -> None:
        """New media was loaded (start afresh)."""


class LocalAnswerer:
    """faceqa's question answering (``answerer``: ``"auto"``, ``"composer"`` or ``"llm"``; ``bundle``: adapter
    folder; ``gallery``: gallery URI for who-is-this questions)."""

    def __init__(self, answerer: str = "auto", bundle: str | os.PathLike[str] | None = None,
                 gallery: str | os.PathLike[str] | None = None):
        from faceqa.qa import FaceQA

        self.qa = FaceQA(answerer=answerer, bundle=bundle, gallery=gallery)
        self.name = f"faceqa ({answerer})"

    def answer(self, question: str, media: LoadedMedia | None) -> ChatReply:
        """Answer from the media with :meth:`FaceQA.ask`."""
        if media is None:
            raise InvalidInputError("no media loaded: load an image or a video first (/load PATH)")
        a = self.qa.ask(media.path, question, fps=media.fps, onset=media.onset, offset=media.offset)
        return ChatReply(a.text, a.answerer, evidence=a.evidence, confidence=a.confidence,
                         tool_calls=list(a.tool_calls), note=a.note)

    def media_loaded(self, media: LoadedMedia) -> None:
        """Nothing to reset: every answer is computed from the media."""


class AgentAnswerer:
    """A chat model calling the faceqa tools; keeps the conversation for follow-up questions.

    Args:
        model: any LangChain chat model that supports tool calling.
        toolkit: the :class:`~faceqa.tools.FaceQAToolkit` whose tools the model may call; the folder
            of media loaded into the session is added to its allowed folders.
        max_steps: most model turns per question.
    """

    def __init__(self, model: BaseChatModel, toolkit, max_steps: int = 8):
        self.model = model
        self.toolkit = toolkit
        self.tools = toolkit.get_tools()
        self.max_steps = max_steps
        self.history: list[BaseMessage] = []
        self.name = getattr(model, "model", None) or type(model).__name__

    def system_prompt(self, media: LoadedMedia | None) -> str:
        """The system message: the agent's instructions and what media is loaded."""
        from faceqa.tools.agent import SYSTEM_PROMPT

        if media is None:
            return f"{SYSTEM_PROMPT} No media is loaded yet."
        extra = "".join(f", {k} {v}" for k, v in (("fps", media.fps), ("onset frame", media.onset),
                                                    ("offset frame", media.offset)) if v is not None)
        return (f"{SYSTEM_PROMPT} The person is asking about {media.describe()}. Pass this path to the tools: "
                f"{media.path}{extra}.")

    def answer(self, question: str, media: LoadedMedia | None) -> ChatReply:
        """Run the agent loop on ``question`` with the conversation so far (EndpointError when the model's
        endpoint fails)."""
        from faceqa.chat.endpoint import endpoint_error
        from faceqa.tools.agent import run_agent

        try:
            result = run_agent(self.model, self.tools, question, history=self.history,
                               system=self.system_prompt(media), max_steps=self.max_steps)
        except Exception as exc:
            error = endpoint_error(exc)
            if error is None:
                raise
            raise error from exc
        self.history = result.messages[1:]
        evidence = {c["name"]: c["result"] for c in result.tool_calls if c["status"] == "success"} or None
        return ChatReply(result.answer, self.name, evidence=evidence, tool_calls=result.tool_calls)

    def media_loaded(self, media: LoadedMedia) -> None:
        """Allow the media's folder and start a new conversation."""
        self.toolkit.policy.add_root(media.path if media.path.is_dir() else media.path.parent)
        self.history = []


class ChatSession:
    """A conversation about one media at a time: :meth:`load` it, then :meth:`ask` questions."""

    def __init__(self, answerer: Answerer):
        self.answerer = answerer
        self.media: LoadedMedia | None = None
        self.turns: list[tuple[str, ChatReply]] = []

    def load(self, media: str | os.PathLike[str], fps: float | None = None, onset: int | None = None,
             offset: int | None = None) -> LoadedMedia:
        """Open ``media`` (checks it is readable and the range selects frames) and make it the subject."""
        name = os.fspath(media)
        info = open_media(name, fps=fps, start=onset, end=offset).info
        self.media = LoadedMedia(Path(os.path.abspath(name)), name, info, fps, onset, offset)
        self.turns = []
        self.answerer.media_loaded(self.media)
        return self.media

    def ask(self, question: str) -> ChatReply:
        """The answer to ``question`` about the loaded media."""
        if not question.strip():
            raise InvalidInputError("the question is empty")
        reply = self.answerer.answer(question.strip(), self.media)
        self.turns.append((question, reply))
        return reply
