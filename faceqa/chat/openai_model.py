"""A LangChain chat model over any OpenAI-compatible ``/v1/chat/completions`` endpoint (stdlib HTTP).

Works with OpenAI itself and with the local servers that speak the same protocol (vLLM,
llama.cpp's server, Ollama, LM Studio, text-generation-inference). Tools bound with
:meth:`OpenAICompatibleChat.bind_tools` are sent in the request's ``tools`` field, and the
``tool_calls`` of the reply become the ``AIMessage``'s tool calls, so the model can drive
:func:`faceqa.tools.agent.run_agent`.

>>> model = OpenAICompatibleChat(endpoint="http://localhost:8000/v1", model="qwen2.5-7b-instruct")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import SecretStr

from faceqa.errors import FaceQAError


class EndpointError(FaceQAError):
    """An OpenAI-compatible endpoint could not be reached, or answered with an error or an unreadable body."""


def completions_url(endpoint: str) -> str:
    """The chat-completions URL of ``endpoint`` (a base such as ``http://host:8000/v1``, or the full URL)."""
    url = endpoint.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise EndpointError(f"endpoint {endpoint!r}: expected an http(s) URL such as http://localhost:8000/v1")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def _error_detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:200]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message", err))[:200]
    return str(err or data)[:200]


def post_json(url: str, body: dict, api_key: str | None, timeout_s: float) -> dict:
    """POST ``body`` as JSON and return the JSON reply (EndpointError on any failure)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise EndpointError(f"{url}: HTTP {exc.code} ({_error_detail(exc.read())})") from None
    except (urllib.error.URLError, OSError) as exc:
        raise EndpointError(f"{url}: cannot reach the endpoint ({getattr(exc, 'reason', exc)})") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise EndpointError(f"{url}: the reply is not JSON") from None


def parse_reply(data: dict, url: str = "endpoint") -> AIMessage:
    """The ``AIMessage`` of a chat-completions reply: text, and tool calls with their JSON arguments parsed."""
    try:
        message = data["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(f"{url}: the reply has no choices[0].message") from None
    calls, invalid = [], []
    for i, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        call_id = call.get("id") or f"call_{i}"
        arguments = fn.get("arguments") or "{}"
        try:
            args = arguments if isinstance(arguments, dict) else json.loads(arguments)
        except ValueError:
            args = None
        if isinstance(args, dict) and fn.get("name"):
            calls.append(tool_call(name=fn["name"], args=args, id=call_id))
        else:
            invalid.append(invalid_tool_call(name=fn.get("name"), args=str(arguments), id=call_id,
                                             error="arguments are not a JSON object"))
    return AIMessage(content=message.get("content") or "", tool_calls=calls, invalid_tool_calls=invalid,
                     response_metadata={"model_name": data.get("model"), "finish_reason":
                                        data["choices"][0].get("finish_reason")})


class OpenAICompatibleChat(BaseChatModel):
    """Chat model over an OpenAI-compatible endpoint.

    Attributes:
        endpoint: base URL (``http://host:port/v1``) or the full chat-completions URL.
        model: model name sent with each request.
        api_key: sent as ``Authorization: Bearer``; None sends none (most local servers need none).
        timeout_s: seconds to wait for a reply.
        temperature: sampling temperature (None: the server's default).
        max_tokens: most tokens per reply (None: the server's default).
    """

    endpoint: str
    model: str
    api_key: SecretStr | None = None
    timeout_s: float = 120.0
    temperature: float | None = 0.0
    max_tokens: int | None = None

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "model": self.model}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any):
        """This model with ``tools`` (LangChain tools, functions or schemas) sent in every request."""
        extra = {"tool_choice": tool_choice} if tool_choice else {}
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **extra, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        url = completions_url(self.endpoint)
        body: dict[str, Any] = {"model": self.model, "messages": convert_to_openai_messages(messages)}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if stop:
            body["stop"] = stop
        body.update(kwargs)
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        data = post_json(url, body, key, self.timeout_s)
        return ChatResult(generations=[ChatGeneration(message=parse_reply(data, url))],
                          llm_output={"model_name": data.get("model"), "usage": data.get("usage")})
