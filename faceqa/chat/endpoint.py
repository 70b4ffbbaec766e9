"""A chat model over any OpenAI-compatible endpoint: langchain-openai's ``ChatOpenAI`` with a base URL.

Works with OpenAI itself and with the local servers that speak the same protocol (vLLM, llama.cpp's
server, Ollama, LM Studio, text-generation-inference). Streaming, retries, ``tool_choice`` and usage
metadata come with ``ChatOpenAI``; the model drives :func:`faceqa.tools.agent.run_agent` like any
LangChain chat model. Needs the ``openai`` extra: ``pip install 'faceqa[openai]'``.

>>> model = endpoint_model("http://localhost:8000/v1", "qwen2.5-7b-instruct")  # doctest: +SKIP
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from faceqa.errors import FaceQAError, ModelUnavailableError

NO_KEY = "EMPTY"
"""The key sent when none is given (the OpenAI client always sends one; local servers ignore it)."""


class EndpointError(FaceQAError):
    """An OpenAI-compatible endpoint could not be reached, or answered with an error."""


def base_url(endpoint: str) -> str:
    """The base URL of ``endpoint`` (``http://host:8000/v1``; a full ``.../chat/completions`` URL is cut back)."""
    url = endpoint.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise EndpointError(f"endpoint {endpoint!r}: expected an http(s) URL such as http://localhost:8000/v1")
    return url.removesuffix("/chat/completions")


def endpoint_model(endpoint: str, model: str, api_key: str | None = None, timeout_s: float = 120.0,
                   max_retries: int = 2, temperature: float | None = 0.0) -> BaseChatModel:
    """``ChatOpenAI`` for the OpenAI-compatible ``endpoint`` serving ``model``.

    ``api_key``: sent as ``Authorization: Bearer`` (None: :data:`NO_KEY`, for local servers that take no key);
    ``max_retries``: retries of connection errors, 429 and 5xx answers; ``temperature`` None: the server's.
    """
    url = base_url(endpoint)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise ModelUnavailableError("an OpenAI-compatible endpoint needs langchain-openai: "
                                    "pip install 'faceqa[openai]'") from None
    return ChatOpenAI(base_url=url, model=model, api_key=api_key or NO_KEY, timeout=timeout_s,
                      max_retries=max_retries, temperature=temperature)


def endpoint_error(exc: BaseException) -> EndpointError | None:
    """The one-line :class:`EndpointError` for an error of the OpenAI client, None for any other exception."""
    try:
        import openai
    except ImportError:
        return None
    if isinstance(exc, openai.APIStatusError):
        body = exc.body.get("message", exc.body) if isinstance(exc.body, dict) else exc.body
        return EndpointError(f"{exc.request.url}: HTTP {exc.status_code} ({str(body or exc.message)[:200]})")
    if isinstance(exc, openai.APIConnectionError):
        return EndpointError(f"{exc.request.url}: cannot reach the endpoint ({exc.message})")
    return None
