"""A minimal tool-calling agent loop over any LangChain chat model.

The loop, in full::

    messages = [system, *history, question]
    repeat up to max_steps times:
        reply = model.invoke(messages)          # the model bound to the tools
        if reply has no tool calls: return reply as the answer
        run each tool call, append its ToolMessage (errors become error ToolMessages)

The model is bound to the tools with ``bind_tools``; a model without tool binding (a scripted
test model) is used as it is. A tool the model names but that does not exist, and arguments that
fail the tool's schema, come back to the model as error messages rather than stopping the loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool

from faceqa.errors import FaceQAError

SYSTEM_PROMPT = (
    "You answer questions about the faces in images and videos. Use the tools to measure; never guess what "
    "a tool can measure. Quote frame numbers, seconds and action units from the tool results, and say when "
    "a tool found nothing or refused the input."
)


class AgentStepLimitError(FaceQAError):
    """The model kept calling tools past the step limit without giving an answer."""


@dataclass
class AgentResult:
    """The final answer, the whole transcript, and every tool call made (name, args, result or error)."""

    answer: str
    messages: list[BaseMessage]
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def _text(message: AIMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content).strip()


def _bind(model: BaseChatModel, tools: Sequence[BaseTool]):
    """The model with the tools bound, or the bare model when its class does not implement tool binding."""
    if type(model).bind_tools is BaseChatModel.bind_tools:
        return model
    return model.bind_tools(list(tools))


def run_tool_call(call: dict[str, Any], tools: dict[str, BaseTool]) -> ToolMessage:
    """Run one tool call of a model's reply; an unknown tool gives an error ``ToolMessage``."""
    tool = tools.get(call["name"])
    if tool is None:
        return ToolMessage(f"unknown tool {call['name']!r}; available: {', '.join(sorted(tools))}",
                           tool_call_id=call["id"], name=call["name"], status="error")
    return tool.invoke({**call, "type": "tool_call"})


def run_agent(model: BaseChatModel, tools: Sequence[BaseTool], question: str,
              history: Sequence[BaseMessage] = (), system: str | None = SYSTEM_PROMPT,
              max_steps: int = 8) -> AgentResult:
    """Let ``model`` answer ``question``, calling ``tools`` as it asks, for at most ``max_steps`` model turns.

    ``history`` holds earlier turns of a conversation (without the system message). Raises
    AgentStepLimitError when the model has not answered within ``max_steps`` turns.
    """
    by_name = {t.name: t for t in tools}
    bound = _bind(model, tools)
    messages: list[BaseMessage] = ([SystemMessage(system)] if system else []) + list(history)
    messages.append(HumanMessage(question))
    calls: list[dict[str, Any]] = []
    for _ in range(max_steps):
        reply = bound.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return AgentResult(_text(reply), messages, calls)
        for call in reply.tool_calls:
            result = run_tool_call(call, by_name)
            messages.append(result)
            calls.append({"name": call["name"], "args": call["args"], "status": result.status,
                          "result": result.artifact if result.artifact is not None else result.content})
    raise AgentStepLimitError(f"agent: no answer after {max_steps} model turns of tool calls")
